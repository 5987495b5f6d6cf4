"""Give each notebook its frame, idempotently: 「この回で学ぶこと」 at the top, 「まとめ」 with a link onward
at the end, and 「予想してから実行しよう」 prompts around the key figures.

Usage:
    python tools/add_frame.py                       # every notebook listed below, in place
    python tools/add_frame.py notebooks/01_*.ipynb

Inserted cells carry ``metadata.frame = "<id>"``; a re-run replaces them. An
existing 「まとめ」 written by hand is kept: the script only appends the link
to the next notebook (as its own cell) when the summary lacks it. The run
time in 「この回で学ぶこと」 is kept from the notebook if present (it is
written by tools/measure_times.py), otherwise taken from docs/teaching.md.
"""
from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
TEACHING = ROOT / "docs" / "teaching.md"
ORDER = ["01_qkv_from_scratch.ipynb", "02_bert_attention.ipynb", "03_layer_comparison.ipynb",
         "04_japanese_bert.ipynb", "05_beyond_weights.ipynb", "06_syntax_heads.ipynb"]
TITLES = {
    "01_qkv_from_scratch.ipynb": "01. Q・K・V をゼロから計算する",
    "02_bert_attention.ipynb": "02. BERT の attention を取り出して眺める",
    "03_layer_comparison.ipynb": "03. 層ごと・ヘッドごとに比べる",
    "04_japanese_bert.ipynb": "04. 日本語 BERT で「犬が猫を追う」",
    "05_beyond_weights.ipynb": "05. 重みの先へ",
    "06_syntax_heads.ipynb": "06. 構文を見るヘッド",
}


@dataclass
class Prediction:
    """A 「予想してから実行しよう」 prompt before the cell matching ``anchor`` and a computed comparison after it."""

    id: str
    anchor: str
    prompt: str
    compare: str


@dataclass
class Insert:
    """Extra cells (a markdown explanation and its code) placed right after the cell matching ``anchor``."""

    id: str
    anchor: str
    markdown: str
    code: str


@dataclass
class Frame:
    points: list[str]
    prerequisites: str
    minutes: int
    summary: list[str] = field(default_factory=list)  # used only when the notebook has no まとめ of its own
    predictions: list[Prediction] = field(default_factory=list)
    inserts: list[Insert] = field(default_factory=list)


FRAMES: dict[str, Frame] = {
    "01_qkv_from_scratch.ipynb": Frame(
        points=[
            "attention の重みが $\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})$ の 1 行であることを、小さな例で手計算して確かめる",
            "$\\sqrt{d_k}$ で割る理由を、内積の大きさと次元の関係から説明できるようになる",
            "マルチヘッドで形が `(T, d_model)` → `(h, T, d_head)` → `(T, d_model)` と変わる様子を追う",
            "マスクで、見てはいけないトークンを隠す",
            "自分の計算が、読み込んだ本物のモデル (BERT 型) の attention と 1e-5 以内で一致することを確かめる",
        ],
        prerequisites="Python と numpy の基本 (配列の形、`@`、`sum(axis=...)`)、行列の積、指数関数と対数。機械学習の知識は要りません。",
        minutes=45,
        summary=[
            "attention の重みは $\\mathrm{softmax}(QK^\\top/\\sqrt{d_k})$ の各行で、行の和は 1。出力は value をその重みで混ぜたもの。",
            "$\\sqrt{d_k}$ で割るのは、内積の標準偏差が $\\sqrt{d_k}$ に比例して育つのを打ち消すため。割らないと attention は一点に集中する。",
            "マルチヘッドは列を $h$ 個に分けて別々に計算し、つなぎ直して $W_O$ を掛ける。",
            "マスクは softmax の前にスコアを $-\\infty$ にすること。隠さなかった key どうしの重みの比は変わらない。",
            "BERT 型のモデルの attention の重みも、この式そのもの (読み込んだモデルで、全層 1e-5 以内で一致)。",
        ],
        predictions=[
            Prediction(
                id="01-softmax-row",
                anchor=r"^weights = au\.softmax\(scaled",
                prompt="`chased` の行で、重みがいちばん大きくなるのは `dog` と `cat` のどちらでしょうか。何倍くらいの差でしょうか。"
                       "スコアの表 (上) の `chased` の行を見て予想してから、下の 2 つのセルを実行しましょう (2 つ目のセルが答えを数えます)。",
                compare="",  # the NBVAL_CHECK_OUTPUT cell after the table prints dog, cat and their ratio
            ),
        ],
        inserts=[
            Insert(
                id="01-toy",
                anchor=r"^scaled = scores / np\.sqrt\(d_k\)",
                markdown="""**動かしてみよう.** query $q$ と 2 つの key $k_1, k_2$ を平面上のベクトルにし、スコア $q \\cdot k / \\sqrt{d}$ と softmax の重みを並べました。
Colab や JupyterLab で実行すると、スライダーで $q, k_1, k_2$ と $\\sqrt{d}$ を動かせます ($\\sqrt{d}$ を大きくすると重みは 0.5 ずつに近づき、小さくすると片方に集中します)。
GitHub 上や自動実行 (テスト) では、同じ図が静止画で表示されます。""",
                code="toy = au.attention_toy(q=(1.0, 0.5), k1=(1.0, 0.0), k2=(0.0, 1.0), sqrt_d=1.0)",
            ),
            Insert(
                id="01-shapes",
                anchor=r"reshape 版とループ版は一致",
                markdown="""形の流れを 1 枚の図にします。1 つの四角が 1 つの数で、重なった四角がヘッドです ($T$ = トークン数、$d_{head} = d_{model} / h$)。
上のセルの `split_heads` が 2 列目から 3 列目へ、`concat` が右から 2 番目への変化です。""",
                code="""import matplotlib.pyplot as plt

fig = au.plot_shapes(seq_len=T, d_model=d_model, heads=h)
plt.show()""",
            ),
        ],
    ),
    "02_bert_attention.ipynb": Frame(
        points=[
            "本物の BERT に文を入れ、attention を `[layer, head, query, key]` のテンソルとして取り出す",
            "1 つのヘッドを、トークン付きの表とヒートマップとして読む (行 = query、列 = key)",
            "同じトークンでもヘッドによって見る先が違うことを、全層・全ヘッドの比較で確かめる",
            "[CLS]・[SEP] に重みが集まる理由と、SDPA で attention が取り出せない落とし穴を知る",
        ],
        prerequisites="01 (Q・K・V と softmax、マルチヘッドの形)。pandas の DataFrame の `.loc` が読めること。",
        minutes=40,
        predictions=[
            Prediction(
                id="02-dog-vs-cat",
                anchor=r"^to_dog = att\.pair\(\"chased\", \"dog\"\)",
                prompt="全層・全ヘッドのうち、`chased → dog` の重みが `chased → cat` より大きいヘッドは半分より多いでしょうか、少ないでしょうか。"
                       "主語 (`dog`) と目的語 (`cat`) のどちらがよく見られると思うか、予想してから実行しましょう (2 つ下のセルが割合を数えます)。",
                compare="",
            ),
            Prediction(
                id="02-special",
                anchor=r"^cls_pos, sep_pos = att\.tokens\.index",
                prompt="`[CLS]` と `[SEP]` のどちらが多くの重みを集めるでしょうか。それぞれ、一様 (1/n) より多いでしょうか。予想してから実行しましょう "
                       "(次のセルが、一様を超えた層の数を数えます)。",
                compare="",
            ),
        ],
    ),
    "03_layer_comparison.ipynb": Frame(
        points=[
            "関係の強さを、層の平均ではなくヘッドの単位で比べる",
            "エントロピーで、広く見るヘッドと一点を見るヘッドを区別する",
            "200 文あまりのコーパスで、[CLS]・[SEP]・句読点への重みと位置のヘッドを数える (1 文の印象を統計で確かめる)",
            "rollout で層を通した流れを近似し、単語レベルの表示でサブワードをまとめる",
        ],
        prerequisites="02 (attention の取り出し、`att.frame`・`att.pair`)。対数 (ln) の計算。",
        minutes=40,
        predictions=[
            Prediction(
                id="03-entropy",
                anchor=r"^ent = pd\.DataFrame\(au\.entropy\(att\)",
                prompt="72 ヘッドのうち、広く見るヘッド (ほぼ一様) と一点を見るヘッドのどちらが多いでしょうか。浅い層と深い層で違うでしょうか。"
                       "予想してから実行しましょう (次のセルが数えます)。",
                compare="",
            ),
            Prediction(
                id="03-rollout",
                anchor=r"^raw_last = pd\.Series",
                prompt="rollout では残差の分 ($0.5I$) を層ごとに混ぜます。`chased` から自分自身への重みは、生の最終層の重みより大きくなるでしょうか、小さくなるでしょうか。",
                compare='''print(f"chased → chased: 生の最終層 (ヘッド平均) {raw_last['chased']:.2f} / rollout {rolled['chased']:.2f} → "
      + ("rollout のほうが大きい" if rolled["chased"] > raw_last["chased"] else "rollout のほうが小さい"))''',
            ),
        ],
    ),
    "04_japanese_bert.ipynb": Frame(
        points=[
            "日本語のトークン化 (NFKC → MeCab → WordPiece) と、multilingual-e5 の SentencePiece の違いを見る",
            "単語 (形態素) 単位の attention で、助詞「が」「を」と動詞「追う」がどこを見るかを調べる",
            "語順と役割を入れ替えた文の組で、ヘッドが「助詞の示す役割」と「位置」のどちらに沿うかを、測る前に決めた基準で確かめる",
            "同じ多言語モデルで英語と日本語を並べ、違う関係どうしの相関を基準にして読む",
            "学習していない (乱数の重みの) モデルや一様な attention と比べて、学習で何が生まれるかを見る",
        ],
        prerequisites="02 と 03 (attention の表、`att.pair`、エントロピー、`att.to_words()`)。日本語の文法 (格助詞) の基本。",
        minutes=45,
    ),
    "05_beyond_weights.ipynb": Frame(
        points=[
            "重み $\\alpha$ だけでなく、運ばれるベクトルの長さ $\\lVert \\alpha f(x) \\rVert$ (ノルム) で attention を測る",
            "rollout と生の重みを層ごとに比べる",
            "ヘッドの probing を、位置だけで答える基準と比べて評価する",
            "トークンを隠す摂動実験で、attention が「説明」になるかを確かめる",
        ],
        prerequisites="01 (value と $W_O$)、03 (rollout、位置のヘッド)。相関係数の意味。",
        minutes=45,
        predictions=[
            Prediction(
                id="05-norm",
                anchor=r"^fig, axes = plt\.subplots\(1, 2, figsize=\(13, 3\.8\)",
                prompt="重みの代わりにノルム $\\lVert \\alpha f(x) \\rVert$ で測ると、`[CLS]`・`[SEP]`・句読点の割合は増えるでしょうか、減るでしょうか。"
                       "3 種類とも同じ向きに動くでしょうか。予想してから実行しましょう (図の下の出力が数えます)。",
                compare="",
            ),
            Prediction(
                id="05-ablation",
                anchor=r"^def spearman",
                prompt="`chased` が最も attention を向けるトークンと、隠したときに `chased` の表現が最も動くトークンは、同じだと思いますか。予想してから実行しましょう。",
                compare="",
            ),
        ],
    ),
    "06_syntax_heads.ipynb": Frame(
        points=[
            "ヘッドを「自分以外で最も見る単語 = 主辞」と答える分類器として読む (Clark ら 2019 の方法)",
            "固定オフセットという手ごわい基準を作り、ヘッドと比べる",
            "英語と日本語のツリーバンクで、依存関係ごとの最良のヘッドを表にする (選ぶ文と報告する文を分ける)",
            "学習していないモデルで同じ表を作り、対照にする",
            "同じモデルで英語と日本語を比べ、それでも残る違い (トークナイザ・データ) を見分ける",
        ],
        prerequisites="03 (位置のヘッド、単語レベルの表示)、04 (日本語の単語)、05 (probing と基準)。依存構造の基本 (主辞と依存語)。",
        minutes=45,
    ),
}


def measured_seconds(nb_name: str) -> str:
    """The run time of ``nb_name`` in docs/teaching.md's table ("—" until measured)."""
    m = re.search(rf"^\|\s*\[{nb_name[:2]}\][^|]*\|\s*([^|]+?)\s*\|", TEACHING.read_text(), re.M)
    return m.group(1) if m else "—"


INTRO_END = "<!-- /この回で学ぶこと -->"


def intro_text(frame: Frame, seconds: str) -> str:
    """The 「この回で学ぶこと」 block (it lives at the end of the title cell, after the badge and the overview)."""
    points = "\n".join(f"- {p}" for p in frame.points)
    return (f"## この回で学ぶこと\n\n{points}\n\n**前提**: {frame.prerequisites}\n\n"
            f"**所要時間**: 授業で約 {frame.minutes} 分 (読む・練習を含む)。全セルの実行: 約 {seconds} 秒 "
            "(オフライン、2 コアの CPU で計測。`tools/measure_times.py`)\n\n"
            f"用語は [用語集](00_glossary.md) にまとめてあります。\n{INTRO_END}")


def set_intro(title_cell, frame: Frame, default_seconds: str) -> None:
    """Put the block at the end of the title cell, replacing an earlier one (keeping its measured time)."""
    src = title_cell.source
    seconds = default_seconds
    if "## この回で学ぶこと" in src:
        head, old = src.split("## この回で学ぶこと", 1)
        m = re.search(r"全セルの実行: 約 (\d+) 秒", old)
        seconds = m.group(1) if m else seconds
        rest = old.split(INTRO_END, 1)[1] if INTRO_END in old else ""
        src = head.rstrip() + rest
    title_cell.source = src.rstrip() + "\n\n" + intro_text(frame, seconds)


def next_link(name: str) -> str:
    i = ORDER.index(name)
    if i + 1 < len(ORDER):
        nxt = ORDER[i + 1]
        return f"次へ: [{TITLES[nxt]}]({nxt})　/　[用語集](00_glossary.md)"
    return "これでシリーズは終わりです。用語の確認は [用語集](00_glossary.md) で、授業での使い方は `docs/teaching.md` にあります。"


def apply(nb, name: str, frame: Frame) -> None:
    old_intro = [c for c in nb.cells if c.metadata.get("frame") == "intro"]  # earlier layout: its own cell
    seconds = measured_seconds(name)
    if old_intro:
        m = re.search(r"全セルの実行: 約 (\d+) 秒", old_intro[0].source)
        seconds = m.group(1) if m else seconds
    nb.cells = [c for c in nb.cells if "frame" not in c.metadata]
    # predictions, before the anchor cell, comparison after it
    for p in frame.predictions:
        pattern = re.compile(p.anchor, re.M)
        idx = next((i for i, c in enumerate(nb.cells) if pattern.search(c.source)), None)
        if idx is None:
            raise LookupError(f"{name}: prediction {p.id}: no cell matches {p.anchor!r}")
        prompt = nbformat.v4.new_markdown_cell(f"**予想してから実行しよう:** {p.prompt}", metadata={"frame": f"predict-{p.id}"})
        compare = nbformat.v4.new_code_cell(p.compare, metadata={"frame": f"compare-{p.id}"})
        prompt.id, compare.id = f"frame-predict-{p.id}"[:64], f"frame-compare-{p.id}"[:64]
        if p.compare:  # empty: the anchor cell itself prints the comparison
            nb.cells[idx + 1:idx + 1] = [compare]
        nb.cells[idx:idx] = [prompt]
    for ins in frame.inserts:
        pattern = re.compile(ins.anchor, re.M)
        idx = next((i for i, c in enumerate(nb.cells) if pattern.search(c.source)), None)
        if idx is None:
            raise LookupError(f"{name}: insert {ins.id}: no cell matches {ins.anchor!r}")
        text = nbformat.v4.new_markdown_cell(ins.markdown, metadata={"frame": f"insert-{ins.id}"})
        code = nbformat.v4.new_code_cell(ins.code, metadata={"frame": f"insert-code-{ins.id}"})
        text.id, code.id = f"frame-insert-{ins.id}"[:64], f"frame-insert-code-{ins.id}"[:64]
        nb.cells[idx + 1:idx + 1] = [text, code]
    # intro at the end of the title cell (cell 1 stays the setup cell)
    set_intro(nb.cells[0], frame, seconds)
    # summary: keep a hand-written one, add the link onward
    md = [c for c in nb.cells if c.cell_type == "markdown"]
    own = [c for c in md[-3:] if re.search(r"^## まとめ", c.source, re.M)]
    if not own:
        points = "\n".join(f"- {s}" for s in frame.summary)
        cell = nbformat.v4.new_markdown_cell(f"## まとめ\n\n{points}", metadata={"frame": "summary"})
        cell.id = "frame-summary"
        nb.cells.append(cell)
    link = nbformat.v4.new_markdown_cell(next_link(name), metadata={"frame": "next"})
    link.id = "frame-next"
    nb.cells.append(link)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    args = parser.parse_args(argv)
    paths = args.notebooks or [ROOT / "notebooks" / n for n in FRAMES]
    status = 0
    for path in paths:
        if path.name not in FRAMES:
            print(f"{path.name}: no frame defined; known: {sorted(FRAMES)}", file=sys.stderr)
            status = 2
            continue
        nb = nbformat.read(path, as_version=4)
        before = {(c.metadata["frame"], c.source): c for c in nb.cells if "frame" in c.metadata and c.cell_type == "code"}
        try:
            apply(nb, path.name, FRAMES[path.name])
        except LookupError as err:
            print(err, file=sys.stderr)
            status = 2
            continue
        for c in nb.cells:  # a re-run keeps the outputs of code cells whose source did not change
            old = before.get((c.metadata.get("frame"), c.source)) if c.cell_type == "code" else None
            if old is not None:
                c.outputs, c.execution_count = old.outputs, old.execution_count
        nbformat.write(nb, path)
        print(f"{path.name}: framed")
    return status


if __name__ == "__main__":
    sys.exit(main())
