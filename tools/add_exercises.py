"""Insert the exercises (「練習」) into the notebooks, idempotently.

Usage:
    python tools/add_exercises.py                      # every notebook listed below, in place
    python tools/add_exercises.py notebooks/01_*.ipynb  # only these
    python tools/add_exercises.py --check              # exit 1 if a notebook is not up to date

Each exercise becomes five cells, in this order:

1. markdown ``### 練習 N: title`` with the task;
2. the learner's code cell, holding a placeholder (``None`` or ``...``);
3. the self-check cell (``ex.check_...``): prints a friendly note while the
   placeholder is there, says what is wrong, or passes;
4. markdown ``<details><summary>模範解答</summary>`` with the model answer;
5. the model answer as a code cell tagged ``solution``, hidden in Jupyter
   (``jupyter.source_hidden``) and folded in Colab (``cellView: form``,
   ``#@title``); it runs under nbval and re-runs the self-check, so the
   checks and answers cannot rot.

Every inserted cell carries ``metadata.exercise = {"id", "part"}``; running
the script again removes those cells and inserts the current text, so the
result does not depend on how often it ran. Exercises are placed by anchors
(a regular expression over cell sources) and numbered in notebook order.
"""
from __future__ import annotations

import argparse
import copy
import re
import sys
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
IMPORT = "from attn_utils import exercises as ex"


@dataclass
class Exercise:
    """One exercise: where it goes, what it asks, how it is checked and answered.

    Attributes:
        id: stable name, e.g. ``"01-softmax"`` (used to find the cells again).
        anchor: regular expression matched against cell sources (multiline).
        where: ``"end_of_section"`` (before the next heading of the same or a higher
            level after the matching heading), ``"after"`` or ``"before"`` the matching cell.
        needs: names the notebook must define before the anchor (checked, reported).
    """

    id: str
    anchor: str
    title: str
    task: str
    placeholder: str
    check: str
    solution: str
    explanation: str
    where: str = "end_of_section"
    needs: list[str] = field(default_factory=list)


# ----------------------------------------------------------------------------------------------
# Notebook 01: Q, K, V from scratch
# ----------------------------------------------------------------------------------------------
NB01 = [
    Exercise(
        id="01-softmax",
        anchor=r"^### ステップ 3",
        where="after",
        title="softmax を自分で書く",
        task="""`au.softmax` を使わずに、スコアの行列の**各行**を確率 (0 以上、和が 1) に変える関数 `my_softmax(scores)` を書きましょう。

- 各行から、その行の最大値を引いてから `np.exp` を取ります (結果は同じで、大きな値でもあふれません)。
- 行ごとの和で割ります。`axis=-1` と `keepdims=True` が役に立ちます。

自己チェックは、乱数のスコア、`1000` のような大きなスコアで試し、行の和と `au.softmax` との一致を確かめます。""",
        placeholder='''def my_softmax(scores):
    """scores: (query, key) の配列 → 各行の和が 1 になった配列"""
    # ここにコードを書く
    ...''',
        check="ex.check_softmax(my_softmax)",
        solution='''def my_softmax(scores):
    """scores: (query, key) の配列 → 各行の和が 1 になった配列"""
    shifted = scores - scores.max(axis=-1, keepdims=True)   # 各行の最大値を引く (あふれ防止)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)                 # 行ごとの和で割る''',
        explanation="""最大値を引かずに `np.exp(1000)` を計算すると `inf` になり、`inf / inf` で `NaN` が出ます。
最大値を引くと各行の最大の項が `exp(0) = 1` になるので、あふれは起きません。分子と分母に同じ `exp(-max)` が掛かるだけなので、結果は変わりません。""",
    ),
    Exercise(
        id="01-dot-std",
        anchor=r"^### ステップ 2",
        where="after",
        title="内積の大きさは次元とともにどう育つ?",
        task="""平均 0・分散 1 の乱数ベクトル $q, k$ を 2 万組作り、内積 $q \\cdot k$ の標準偏差を $d = 4, 16, 64, 256$ について測って、リスト `stds` に入れましょう。
**予想してから**計算してください: 次元が 4 倍になると、標準偏差は何倍になるでしょうか。""",
        placeholder='''rng = np.random.default_rng(0)
dims = [4, 16, 64, 256]
stds = None   # ここに: 各 d での q·k の標準偏差のリスト (dims と同じ順)''',
        check="ex.check_dot_std(stds, dims=dims)",
        solution='''rng = np.random.default_rng(0)
dims = [4, 16, 64, 256]
stds = []
for d in dims:
    q = rng.normal(size=(20000, d))            # 平均 0・分散 1 の乱数ベクトルを 2 万本
    k = rng.normal(size=(20000, d))
    stds.append((q * k).sum(axis=-1).std())    # 内積 q·k の標準偏差
pd.DataFrame({"内積の標準偏差": stds, "√d": np.sqrt(dims)}, index=pd.Index(dims, name="d")).round(2)''',
        explanation="""$q \\cdot k = \\sum_{i=1}^{d} q_i k_i$ は**独立な**分散 1 の項を $d$ 個足したものなので、分散は $d$、標準偏差は $\\sqrt{d}$ です (次元が 4 倍なら 2 倍)。
スコアを $\\sqrt{d}$ で割ると、次元によらず標準偏差がほぼ 1 にそろい、softmax が極端になりません。""",
    ),
    Exercise(
        id="01-article-mask",
        anchor=r"^`\[PAD\]` の列は 0 になり",
        where="after",
        title="冠詞を誰にも見せないマスク",
        task="""2 節の例で、冠詞 (`The`, `the`) を **key として**誰も見られないようにするマスク `mask` (形 `(5, 5)`, `dtype=bool`, True = 見てよい) を作り、
`au.scaled_dot_product(Q, K, V, mask=mask)` で重み `w_masked` を計算しましょう。

**予想してから実行しよう:** `chased` の行で、`dog` と `cat` への重みの**比**はマスクの前後で変わるでしょうか。""",
        placeholder='''mask = None       # ここに: (query, key) の True/False の配列。冠詞の列だけ False
w_masked = None   # ここに: mask を使った attention の重み''',
        check="ex.check_article_mask(mask, w_masked, tokens=tokens, Q=Q, K=K)",
        solution='''is_article = np.array([t.lower() == "the" for t in tokens])   # key ごとに: 冠詞なら True
mask = np.tile(~is_article, (len(tokens), 1))                  # どの query の行でも、冠詞の列だけ False
_, w_masked = au.scaled_dot_product(Q, K, V, mask=mask)
i, dog, cat = tokens.index("chased"), tokens.index("dog"), tokens.index("cat")
print(f"chased の dog / cat の比: マスクなし {weights[i, dog] / weights[i, cat]:.3f}, "
      f"マスクあり {w_masked[i, dog] / w_masked[i, cat]:.3f}")
pd.DataFrame(w_masked, index=tokens, columns=tokens).round(3)''',
        explanation="""隠した列の `exp` が 0 になるだけで、残りの列は同じ分母で割り直されます。だから残った key どうしの**比は変わらず**、和が 1 になるよう全体が大きくなります。
上の出力の 2 つの比が等しいことが、それを示しています。""",
        needs=["tokens", "Q", "K", "V", "weights"],
    ),
    Exercise(
        id="01-split-heads",
        anchor=r"^2 つのヘッドは同じ文を見ていても",
        where="after",
        title="ヘッドに分けて、つなぎ直す",
        task="""3 節の `split_heads` は `T` と `h` を外から借りていました。形だけから計算する版を書きましょう。

- `my_split_heads(M, h)`: `(T, d_model)` → `(h, T, d_head)`、ただし `d_head = d_model // h`。ヘッド `i` は `M` の列 `i*d_head` 〜 `(i+1)*d_head - 1` です。
- `my_merge_heads(H)`: `(h, T, d_head)` → `(T, h*d_head)`。`my_merge_heads(my_split_heads(M, h))` が `M` に戻ること。

ヒント: `reshape` は要素を順番に詰め直すだけです。いきなり `(h, T, d_head)` に reshape するとどうなるか、`np.arange` の小さな行列で試してみましょう。""",
        placeholder='''def my_split_heads(M, h):
    # ここにコードを書く
    ...


def my_merge_heads(H):
    # ここにコードを書く
    ...''',
        check="ex.check_split_merge(my_split_heads, my_merge_heads)",
        solution='''def my_split_heads(M, h):
    T, d_model = M.shape
    return M.reshape(T, h, d_model // h).transpose(1, 0, 2)    # (T, h, d_head) → (h, T, d_head)


def my_merge_heads(H):
    h, T, d_head = H.shape
    return H.transpose(1, 0, 2).reshape(T, h * d_head)         # (h, T, d_head) → (T, h, d_head) → (T, d_model)


M = np.arange(5 * 4).reshape(5, 4)
print(my_split_heads(M, 2)[1])   # ヘッド 1 = M の列 2, 3''',
        explanation="""`M.reshape(h, T, d_head)` は行をまたいで要素を詰め直すので、「ヘッド 0」に 1 行目と 2 行目の値が混ざってしまいます。
まず各行を `(h, d_head)` に切り (`reshape(T, h, d_head)`)、それから軸を入れ替える (`transpose(1, 0, 2)`) のが正しい順番です。つなぎ直すときはその逆をたどります。""",
    ),
    Exercise(
        id="01-no-scaling",
        anchor=r"^自分で書いた数行の行列計算が",
        where="after",
        title="√d で割るのをやめると?",
        task="""読み込んだモデル `lm` で、$\\sqrt{d}$ で割った attention と割らない attention の**エントロピー** (行の広がり) を層ごとに比べましょう
($d$ はヘッドあたりの次元 `d_head`。bert-base は 64、同梱の MiniLM は 32)。

- `au.recompute_attention(lm, TEXT)` と `au.recompute_attention(lm, TEXT, scale=False)` が、それぞれ `[layer, head, query, key]` の重みを返します (戻り値の 1 つ目)。
- 各行のエントロピー $H = -\\sum_k a_k \\ln a_k$ (自然対数、$0 \\ln 0 = 0$) を計算し、ヘッドと query について平均して、層ごとの配列 `entropy_scaled`, `entropy_unscaled` (形 `(layer,)`) にします。

**予想してから実行しよう:** 割らないと、エントロピーは上がる? 下がる?""",
        placeholder='''entropy_scaled = None     # ここに: ÷√d ありの、層ごとの平均エントロピー (layer,)
entropy_unscaled = None   # ここに: ÷√d なし''',
        check="ex.check_scaling_entropy(entropy_scaled, entropy_unscaled, lm=lm, text=TEXT)",
        solution='''d_head = lm.model.config.hidden_size // lm.model.config.num_attention_heads
print(f"{lm.caption}: d_head = {d_head}, √d_head = {d_head ** 0.5:.2f}")
scaled, _ = au.recompute_attention(lm, TEXT)                 # [layer, head, query, key]
unscaled, _ = au.recompute_attention(lm, TEXT, scale=False)


def mean_entropy(w):
    H = -(w * np.log(np.where(w > 0, w, 1.0))).sum(axis=-1)   # 各行のエントロピー [layer, head, query]
    return H.mean(axis=(1, 2))                                 # ヘッドと query で平均 → [layer]


entropy_scaled, entropy_unscaled = mean_entropy(scaled), mean_entropy(unscaled)
lower = int((entropy_unscaled < entropy_scaled).sum())
print(f"√d で割らないと、{lower} / {len(entropy_scaled)} 層でエントロピーが下がった")
pd.DataFrame({"÷√d あり": entropy_scaled, "÷√d なし": entropy_unscaled}).rename_axis("layer")''',
        explanation="""割らないとスコアの幅が $\\sqrt{d}$ 倍 (上の出力の √d_head) に広がり、softmax が鋭くなって各行がほぼ 1 つのトークンに集中します。
学習された重みは割ることを前提にしているので、割らないと attention は極端に偏ります。何層で下がったかは上の出力の行が示しています。""",
        needs=["lm", "TEXT"],
    ),
]

# ----------------------------------------------------------------------------------------------
# Notebook 02: BERT's attention
# ----------------------------------------------------------------------------------------------
NB02 = [
    Exercise(
        id="02-top-key",
        anchor=r"^## 4\. `chased` の行を全ヘッドで比べる",
        where="before",
        title="表から答えを引き出す",
        task="""**予想してから実行しよう:** 最終層・ヘッド 0 で、`chased` はどの key にいちばん重みを置いているでしょうか。ヒートマップを見て予想を書き、
それから `att.frame(...)` の `chased` の行から、最大の key の**ラベル**を取り出して `top_key` に入れましょう (`.loc[...]` と `.idxmax()`)。""",
        placeholder='''my_guess = "dog"   # 予想 (書き換えてよい)
top_key = None     # ここに: 最終層・ヘッド 0 で chased が最も見る key のラベル''',
        check='ex.check_top_key(top_key, att=att, query="chased", layer=-1, head=0)',
        solution='''my_guess = "dog"
top_key = att.frame(layer=-1, head=0).loc["chased"].idxmax()
print(f"予想: {my_guess} / 実際: {top_key} → " + ("当たり" if my_guess == top_key else "はずれ"))''',
        explanation="""`att.frame(layer, head)` は行 = query、列 = key の DataFrame なので、`.loc["chased"]` が `chased` の行 (和は 1)、`.idxmax()` が最大の列のラベルです。
最も重い key が意味のある単語でなく `[CLS]` などの特殊トークンになることも多く、その理由は 5 節で扱います。""",
        needs=["att"],
    ),
    Exercise(
        id="02-previous-token-head",
        anchor=r"^### 線で見る",
        where="before",
        title="直前のトークンを見るヘッドを自分で探す",
        task="""どのトークンでも**1 つ前**のトークンを最も見る「位置のヘッド」を、自分の手で探しましょう。長めの文 `att_long` を使います。

1. 各層・各ヘッドについて、行 (query) `i = 1, ..., n-1` のうち、最大の重みが key `i - 1` にある行の割合を `prev_share` (形 `[layer, head]`) に入れる。
2. その割合が最大のヘッドを `best = (layer, head)` にする。

ヒント: `att_long.weights[:, :, 1:, :].argmax(axis=-1)` が、行 1 以降の「最も見る key の位置」です。""",
        placeholder='''att_long = au.extract(lm, "The quick brown fox jumps over the lazy dog near the old river bank")
prev_share = None   # ここに: [layer, head] の割合
best = None         # ここに: (layer, head)''',
        check="ex.check_previous_token_head(prev_share, best, att=att_long)",
        solution='''att_long = au.extract(lm, "The quick brown fox jumps over the lazy dog near the old river bank")
n = len(att_long)
top = att_long.weights[:, :, 1:, :].argmax(axis=-1)       # 行 1..n-1 が最も見る key の位置 [layer, head, n-1]
prev_share = (top == np.arange(n - 1)).mean(axis=-1)      # 行 i の最大が i-1 なら「直前を見た」
best = tuple(int(i) for i in np.unravel_index(prev_share.argmax(), prev_share.shape))
print(f"直前を最もよく見るヘッド: 第 {best[0]} 層ヘッド {best[1]} ({prev_share.max():.0%} の行)")''',
        explanation="""位置のヘッドは単語の意味に関係なく隣を見ます。1 文で「`chased` が `dog` を見る」ヘッドを見つけても、それがこのヘッドなら、主語を選んでいるのではなく
1 つ前を見ているだけかもしれません。03 では多数の文で同じことを確かめます。""",
        needs=["lm"],
    ),
    Exercise(
        id="02-swap-subject-object",
        anchor=r"^### 線で見る",
        where="before",
        title="主語と目的語を入れ替える",
        task="""文を "The cat chased the dog" に変えると、`chased → dog` が最大のヘッドは元の文と同じでしょうか。
`att_swap` でそのヘッドを `best_swap = (layer, head)` として求め、元の文 (`att`) での最大のヘッドと比べましょう (`att.pair` と `au.strongest_head`)。

そのヘッドは何を見ているのでしょうか: 「dog という単語」、「主語の位置」、それとも 4 節で調べた「直前のトークン」?""",
        placeholder='''att_swap = au.extract(lm, "The cat chased the dog")
best_swap = None   # ここに: (layer, head)''',
        check='ex.check_strongest_pair_head(best_swap, att=att_swap, query="chased", key="dog")',
        solution='''att_swap = au.extract(lm, "The cat chased the dog")
best_swap = au.strongest_head(att_swap.pair("chased", "dog"))[:2]
best_orig = au.strongest_head(att.pair("chased", "dog"))[:2]
print(f"元の文: 第 {best_orig[0]} 層ヘッド {best_orig[1]} / 入れ替えた文: 第 {best_swap[0]} 層ヘッド {best_swap[1]} → "
      + ("同じヘッド" if best_orig == best_swap else "違うヘッド"))''',
        explanation="""入れ替えた文では `dog` は `chased` の**後ろ**にあります。元の文で最大だったのが直前を見る位置のヘッドなら (4 節の出力で、そのヘッドが直前を見る割合を確かめました)、
入れ替えた文ではそのヘッドは `cat` を見るので、別のヘッドが最大になるはずです。「dog という単語」を見るヘッドなら同じヘッドのままです。
上の出力の「同じ / 違う」が、このモデルでの答えです。位置のヘッドかどうかは 03 の 4 節で、多数の文の統計から確かめます。""",
        needs=["lm", "att"],
    ),
    Exercise(
        id="02-cls-head",
        anchor=r"^## 6\. 落とし穴",
        where="before",
        title="[CLS] を最も見るヘッドを描く",
        task="""全層・全ヘッドのうち、各行 (query) から `[CLS]` への重みの**平均**が最大のヘッドを `cls_head = (layer, head)` として求め、
そのヘッドのヒートマップを `au.plot_heatmap` で描いて `fig` に入れましょう。""",
        placeholder='''cls_head = None   # ここに: (layer, head)
fig = None        # ここに: au.plot_heatmap(...) の戻り値''',
        check="ex.check_cls_head_figure(cls_head, fig, att=att)",
        solution='''cls_share = att.weights[:, :, :, att.position("[CLS]")].mean(axis=-1)   # [layer, head]: [CLS] への重みの行平均
cls_head = tuple(int(i) for i in np.unravel_index(cls_share.argmax(), cls_share.shape))
fig = au.plot_heatmap(att, *cls_head)
plt.show()
print(f"第 {cls_head[0]} 層ヘッド {cls_head[1]}: 平均 {cls_share.max():.0%} の重みが [CLS] へ")''',
        explanation="""このヘッドでは、どのトークンも重みの多くを `[CLS]` に置いています。Clark らが「何もしない (no-op)」ための置き場と論じたのは `[SEP]` と句読点で、
`[CLS]` については論じていません (bert-base の `[CLS]` は次文予測で文全体をまとめるよう訓練されます)。
重みが大きいからといって多くの情報が運ばれているとは限らないことを、05 でベクトルのノルムを使って確かめます。""",
        needs=["att"],
    ),
]

# ----------------------------------------------------------------------------------------------
# Notebook 03: layers and heads
# ----------------------------------------------------------------------------------------------
NB03 = [
    Exercise(
        id="03-entropy",
        anchor=r"^## 3\.",
        where="before",
        title="エントロピーを自分で計算する",
        task="""`au.entropy` を使わずに、`[layer, head, query, key]` の重みから、各ヘッドの**行のエントロピーの平均** (`[layer, head]`) を返す関数 `my_entropy(weights)` を書きましょう。

- $H = -\\sum_k a_k \\ln a_k$ (自然対数)。重みがちょうど 0 の所は $0 \\ln 0 = 0$ と数えます (そのままだと `nan` になります)。
- query (行) について平均します。""",
        placeholder='''def my_entropy(weights):
    """[layer, head, query, key] → [layer, head]"""
    # ここにコードを書く
    ...''',
        check="ex.check_row_entropy(my_entropy, att=att)",
        solution='''def my_entropy(weights):
    """[layer, head, query, key] → [layer, head]"""
    safe = np.where(weights > 0, weights, 1.0)         # log(0) を避ける (0 の項は 0 × log 1 = 0 になる)
    H = -(weights * np.log(safe)).sum(axis=-1)         # 各行のエントロピー [layer, head, query]
    return H.mean(axis=-1)                             # query で平均


mine = my_entropy(att.weights)
broadest = tuple(int(i) for i in np.unravel_index(mine.argmax(), mine.shape))
sharpest = tuple(int(i) for i in np.unravel_index(mine.argmin(), mine.shape))
print(f"最も広く見るヘッド: 第 {broadest[0]} 層ヘッド {broadest[1]}、最も一点を見るヘッド: 第 {sharpest[0]} 層ヘッド {sharpest[1]}")''',
        explanation="""エントロピーは「何個のトークンに均等に散らばっているか」の対数と考えると直観的です: $k$ 個に均等なら $\\ln k$。
上の 2 つのヘッドのヒートマップを `au.plot_heatmap(att, *broadest)`、`au.plot_heatmap(att, *sharpest)` で描いて、広いヘッドと鋭いヘッドの違いを見てみましょう。""",
        needs=["att"],
    ),
    Exercise(
        id="03-next-head",
        anchor=r"^## 5\.",
        where="before",
        title="直後を見るヘッドをコーパスで探す",
        task="""コーパスの統計 `stats` (行 = `(layer, head)`) から、**直後のトークン**への重み (列 `next`) が最大のヘッドを `best_next = (layer, head)` として求めましょう。
そのヘッドの 1 文でのヒートマップ (`au.plot_heatmap(att, layer, head)`) も描いて、対角線のすぐ右が濃いことを確かめましょう。""",
        placeholder='''best_next = None   # ここに: (layer, head)''',
        check='ex.check_stats_argmax(best_next, stats=stats, column="next")',
        solution='''best_next = stats["next"].idxmax()                  # (layer, head)
print(f"第 {best_next[0]} 層ヘッド {best_next[1]}: 直後への重み {stats.loc[best_next, 'next']:.0%} (コーパス平均)")
fig = au.plot_heatmap(att, *best_next)
plt.show()''',
        explanation="""`stats` の行の見出し (index) が `(layer, head)` の組なので、`idxmax()` がそのまま答えになります。
ヒートマップで対角線のすぐ右 (行 $i$ の列 $i+1$) が濃ければ、このヘッドは 1 文でも「次のトークン」を見ています。""",
        needs=["stats", "att"],
    ),
    Exercise(
        id="03-rollout-by-hand",
        anchor=r"^rollout は層ごとの混ぜ合わせ",
        where="after",
        title="rollout を 3 層分、手で計算する",
        task="""第 0〜2 層だけの rollout を、`au.rollout` を使わずに計算して `rolled` (形 `(n, n)`) に入れましょう。各層で:

1. ヘッドを平均する: `A = att.weights[layer].mean(axis=0)`
2. 残差の分を混ぜる: `A = 0.5 * A + 0.5 * I` (`I = np.eye(n)`)
3. 行の和を 1 にする
4. それまでの結果に**左から**掛ける: `rolled = A @ rolled` (最初は `rolled = I`)""",
        placeholder='''n = len(att)
rolled = None   # ここに: 第 0〜2 層の rollout (n, n)''',
        check="ex.check_rollout_three(rolled, att=att)",
        solution='''n = len(att)
rolled = np.eye(n)
for layer in range(3):
    A = att.weights[layer].mean(axis=0)          # ヘッドの平均 [query, key]
    A = 0.5 * A + 0.5 * np.eye(n)                # 残差接続の分
    A = A / A.sum(axis=-1, keepdims=True)        # 行の和を 1 に
    rolled = A @ rolled                          # 新しい層を左から掛ける
reference = au.rollout(au.Attention(att.tokens, att.weights[:3]))
print(f"au.rollout (3 層) との最大の差: {np.abs(rolled - reference).max():.1e}")''',
        explanation="""層 $l$ の出力は層 $l-1$ の出力を混ぜたものなので、「入力のトークン $j$ から層 $l$ の query $i$ へ」の流れは $A'_l A'_{l-1} \\cdots A'_0$ の $(i, j)$ 成分です。
掛ける順番を逆にすると、最後の層が最初に効くことになってしまいます (自己チェックはこの間違いを見分けます)。""",
        needs=["att"],
    ),
    Exercise(
        id="03-word-weight",
        anchor=r"^## まとめ",
        where="before",
        title="サブワードの重みを足して単語にする",
        task="""`extraordinarily` は WordPiece で `extra ##ord ##ina ##rily` の 4 つのサブワードに分かれました。
第 0 層・ヘッド 0 で、`uncovered` から単語 `extraordinarily` への重みを、サブワードの表 `split.frame(0, 0)` から**自分で**計算して `word_weight` に入れましょう。
`words.frame(0, 0)` の値と一致するはずです。""",
        placeholder='''word_weight = None   # ここに: uncovered → extraordinarily (第 0 層・ヘッド 0)''',
        check='ex.check_word_weight(word_weight, pieces=split, words=words, layer=0, head=0, query="uncovered", word="extraordinarily")',
        solution='''pieces = ["extra", "##ord", "##ina", "##rily"]
word_weight = split.frame(0, 0).loc["uncovered", pieces].sum()     # key 側はサブワードの重みの合計
print(f"サブワードの合計: {word_weight:.4f} / words.frame: {words.frame(0, 0).loc['uncovered', 'extraordinarily']:.4f}")''',
        explanation="""key 側を**合計**するのは、「どのサブワードを見ても、その単語を見たことになる」からです。こうすると行の和は 1 のままです。
query 側 (単語が複数のサブワードから見る場合) は、各サブワードの行を**平均**します。""",
        needs=["split", "words"],
    ),
]

# ----------------------------------------------------------------------------------------------
# Notebook 05: beyond weights
# ----------------------------------------------------------------------------------------------
NB05 = [
    Exercise(
        id="05-weight-vs-norm",
        anchor=r"^## 2\.",
        where="before",
        title="重みとノルムで 1 位は同じ?",
        task="""上で選んだヘッド (第 `layer` 層・ヘッド `head`) について、query `chased` の行で
重み $\\alpha$ が最大の key を `top_by_weight`、ノルム $\\lVert \\alpha f(x) \\rVert$ (`norms`) が最大の key を `top_by_norm` に入れましょう (どちらもラベル)。

**予想してから実行しよう:** 2 つは同じになるでしょうか。""",
        placeholder='''top_by_weight = None   # ここに: 重みで 1 位の key のラベル
top_by_norm = None     # ここに: ノルムで 1 位の key のラベル''',
        check='ex.check_weight_vs_norm(top_by_weight, top_by_norm, att=att, norms=norms, query="chased", layer=layer, head=head)',
        solution='''q = att.position("chased")
by_weight = pd.Series(att.weights[layer, head, q], index=att.labels)
by_norm = pd.Series(norms[layer, head, q], index=att.labels)
top_by_weight, top_by_norm = by_weight.idxmax(), by_norm.idxmax()
print(f"第 {layer} 層ヘッド {head}, query chased: 重みの 1 位 {top_by_weight} ({by_weight.max():.2f}), "
      f"ノルムの 1 位 {top_by_norm} → " + ("同じ" if top_by_weight == top_by_norm else "違う"))''',
        explanation="""$\\lVert \\alpha_{ij} f(x_j) \\rVert = \\alpha_{ij} \\lVert f(x_j) \\rVert$ なので、重みが大きくても $f(x_j)$ が短いトークン ([SEP] や句読点に多い) はノルムでは順位が下がります。""",
        needs=["att", "norms", "layer", "head"],
    ),
    Exercise(
        id="05-rollout-residual",
        anchor=r"^生の重みはその層だけを単独で見たもの",
        where="after",
        title="rollout の残差の重みを変える",
        task="""残差の重み `residual` を引数に取る rollout `my_rollout(weights, residual)` を書きましょう
(`weights` は `[layer, head, query, key]`、戻り値は `[query, key]`)。各層で $A' = (1 - r)\\,\\bar A + r I$ (ヘッド平均 $\\bar A$)、行を正規化し、左から掛けます。

書けたら、`residual` を 0 と 0.9 にしたとき `chased` の行がどう変わるかを見ましょう。""",
        placeholder='''def my_rollout(weights, residual):
    # ここにコードを書く
    ...''',
        check="ex.check_my_rollout(my_rollout, att=seed)",
        solution='''def my_rollout(weights, residual):
    n = weights.shape[-1]
    result = np.eye(n)
    for layer in weights:                                      # layer: [head, query, key]
        A = (1 - residual) * layer.mean(axis=0) + residual * np.eye(n)
        A = A / A.sum(axis=-1, keepdims=True)
        result = A @ result                                    # 新しい層を左から
    return result


q = seed.position("chased")
pd.DataFrame({r: my_rollout(seed.weights, r)[q] for r in (0.0, 0.5, 0.9)}, index=seed.labels).T \\
    .rename_axis("residual").round(2)''',
        explanation="""`residual = 0` は残差を無視して attention だけを掛け合わせるもので、層を重ねるほど行が似通い、少数のトークンに重みが集まります。
`residual` を大きくすると、自分自身 (`chased`) の列が多く残ります。論文の 0.5 は「残差と attention が半分ずつ」という仮定です。""",
        needs=["seed"],
    ),
    Exercise(
        id="05-offset-baseline",
        anchor=r"この注釈付きの文は語順が",
        where="after",
        title="固定オフセットの基準を自分で計算する",
        task="""「目的語から $k$ 語ずれた位置の単語を動詞と答える」基準の正解率を、$k = -3, \\dots, 3$ について計算し、辞書 `offset_acc` (`{k: 正解率}`) に入れましょう。
`examples` の各要素は `{"text", "subj", "verb", "obj"}` で、位置は `text.split()` の 0 始まりの番号です。

(変数名 `ex` は自己チェックのモジュールに使っているので、ループの変数は `e` などにしましょう。)""",
        placeholder='''offsets = range(-3, 4)
offset_acc = None   # ここに: {k: 正解率}''',
        check='ex.check_offset_accuracy(offset_acc, examples=examples, dep="obj", head="verb", offsets=offsets)',
        solution='''offsets = range(-3, 4)
offset_acc = {k: float(np.mean([e["obj"] + k == e["verb"] for e in examples])) for k in offsets}
best_k = max(offset_acc, key=offset_acc.get)
print(f"最良のオフセット: {best_k:+d} 語 ({offset_acc[best_k]:.0%})")
pd.Series(offset_acc, name="正解率").rename_axis("オフセット k").round(3)''',
        explanation="""英語の他動詞文では目的語が動詞の少し後ろに来るので、「2 語前 ($k = -2$、冠詞を挟む)」のような単純な規則がよく当たります。
ヘッドの正解率は、この基準と並べて初めて意味を持ちます。""",
        needs=["examples"],
    ),
    Exercise(
        id="05-masking",
        anchor=r"^## まとめ",
        where="before",
        title="トークンを隠す実験を自分で",
        task="""`au.token_ablation` の中身を、1 つのトークンについて自分で書きましょう。
文 `text` で `cat` を attention mask で隠し (`attention_mask` のその位置を 0 に)、最終層の `chased` の表現 $h$ の変化 $\\lVert h' - h \\rVert / \\lVert h \\rVert$ を `change` に入れます。""",
        placeholder='''import torch

text = "The old dog slowly chased the small black cat"
change = None   # ここに: ||h' - h|| / ||h||''',
        check='ex.check_masking_change(change, lm=lm, text=text, query="chased", token="cat")',
        solution='''import torch

text = "The old dog slowly chased the small black cat"
enc = lm.tokenizer(text, return_tensors="pt")
tokens = lm.tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
q, k = tokens.index("chased"), tokens.index("cat")
with torch.no_grad():
    h = lm.model(**enc).last_hidden_state[0, q]                    # そのままの chased
    mask = enc["attention_mask"].clone()
    mask[0, k] = 0                                                 # 全層で、誰も cat を見られない
    h_masked = lm.model(**{**enc, "attention_mask": mask}).last_hidden_state[0, q]
change = float((h_masked - h).norm() / h.norm())
print(f"cat を隠すと chased の表現が {change:.1%} 動いた")''',
        explanation="""attention mask の 0 は「その key のスコアを $-\\infty$ にする」ことで、01 の 4 節のマスクと同じ仕組みです。
`cat` の情報は直接の attention だけでなく、他のトークンを経由しても `chased` に届くので、変化には全層の影響が含まれます。""",
        needs=["lm"],
    ),
]


# ----------------------------------------------------------------------------------------------
# Notebook 04: Japanese (anchors follow the rebuilt notebook; `lm` is its Japanese model, `TEXT` its sentence)
# ----------------------------------------------------------------------------------------------
NB04 = [
    Exercise(
        id="04-split-words",
        anchor=r"^## 2\.",
        where="before",
        title="WordPiece で分かれた単語を探す",
        task="""v3 のトークナイザは、まず MeCab で単語に分け (`tok.word_tokenizer`)、次に各単語を WordPiece でサブワードに分けます (`tok.subword_tokenizer`)。
文 `text` の MeCab の単語のうち、WordPiece で **2 つ以上のサブワードに分かれた単語**を、文に出てくる順のリスト `split_words` にしましょう。

**予想してから実行しよう:** どの単語が分かれると思いますか? 語彙 (32,768 語) に入っていそうもない単語を探してみましょう。""",
        placeholder='''tok = au.load_tokenizer("tohoku-nlp/bert-base-japanese-v3")
text = "昨日、祖母が手作りのマフィンを焼いてくれた。"
split_words = None   # ここに: 2 つ以上のサブワードに分かれた MeCab の単語のリスト''',
        check="ex.check_split_words(split_words, tokenizer=tok, text=text)",
        solution='''tok = au.load_tokenizer("tohoku-nlp/bert-base-japanese-v3")
text = "昨日、祖母が手作りのマフィンを焼いてくれた。"
words = tok.word_tokenizer.tokenize(text)                      # MeCab の単語
split_words = [w for w in words if len(tok.subword_tokenizer.tokenize(w)) > 1]
for w in split_words:
    print(w, "→", tok.subword_tokenizer.tokenize(w))''',
        explanation="""語彙にない単語だけが分かれます。続きのサブワードには `##` が付きます。
`att.to_words()` はこの逆をして、サブワードの重みを単語にまとめます (key 側は合計、query 側は平均)。""",
    ),
    Exercise(
        id="04-particle-target",
        anchor=r"^## 3\.",
        where="before",
        title="「を」はどこを見る? 予想してから確かめる",
        task="""「今日、犬が猫を追う」(`TEXT`) の単語単位の attention で、**最終層** (ヘッドの平均) の「を」が最も重みを置く単語はどれでしょうか。
自分自身と特殊トークン ([CLS]・[SEP]、e5 では `<s>`・`</s>`) は除きます。まず `my_guess` に予想を書き、それから計算して `answer` に入れましょう。""",
        placeholder='''words_ja = au.extract(lm, TEXT).to_words()
my_guess = "猫"   # 予想 (書き換えてよい)
answer = None     # ここに: 最終層 (ヘッド平均) で「を」が最も見る単語''',
        check='ex.check_particle_target(my_guess, answer, words=words_ja, particle="を", layer=-1)',
        solution='''words_ja = au.extract(lm, TEXT).to_words()
my_guess = "猫"
row = pd.Series(words_ja.weights[-1, :, words_ja.position("を")].mean(axis=0), index=words_ja.labels)
answer = row.drop(["を", "[CLS]", "[SEP]", "<s>", "</s>"], errors="ignore").idxmax()
print(f"予想: {my_guess} / 実際: {answer} ({row[answer]:.2f}) → " + ("当たり" if my_guess == answer else "はずれ"))''',
        explanation="""日本語の格助詞は直前の名詞に付いて、その名詞の役割 (「を」なら目的語) を示します。
「を」が前の名詞「猫」を見るなら隣 (位置) を、動詞「追う」を見るなら係る先を見ている、と読むことができます。ただし 1 文の 1 層だけで決めず、他の層も見てみましょう。""",
        needs=["lm", "TEXT"],
    ),
    Exercise(
        id="04-word-order",
        anchor=r"^## 4\.",
        where="before",
        title="語順を入れ替えても、「追う」は同じ名詞を見る?",
        task="""「今日、犬が猫を追う」と「今日、猫を犬が追う」の 2 文で、**単語単位**の「追う → 犬」の重みが「追う → 猫」より大きいヘッドの割合 (全層・全ヘッドのうち) を求め、
辞書 `shares` (`{文: 割合}`) に入れましょう (`att.pair(query, key)` は `[layer, head]` の表です)。
2 文とも「犬」が主語 (が) ですが、動詞に近い名詞は 1 文目では「猫」、2 文目では「犬」です。

**予想してから実行しよう:** ヘッドが役割に沿うなら割合は 2 文で近く、位置に沿うなら大きく変わるはずです。どちらになると思いますか?""",
        placeholder='''order_atts = {t: au.extract(lm, t).to_words() for t in ["今日、犬が猫を追う", "今日、猫を犬が追う"]}
shares = None   # ここに: {文: 追う→犬 > 追う→猫 のヘッドの割合}''',
        check='ex.check_order_shares(shares, atts=order_atts, query="追う", a="犬", b="猫")',
        solution='''order_atts = {t: au.extract(lm, t).to_words() for t in ["今日、犬が猫を追う", "今日、猫を犬が追う"]}
shares = {t: float((a.pair("追う", "犬") > a.pair("追う", "猫")).to_numpy().mean()) for t, a in order_atts.items()}
for t, share in shares.items():
    print(f"{t}: 追う→犬 のほうが大きいヘッド {share:.0%}")''',
        explanation="""2 文で割合がほぼ同じなら、ヘッドは位置ではなく、助詞が示す役割 (か、名詞そのもの) に沿っている、と読めます。大きく入れ替わるなら位置に沿っています。
ただし 2 つの名詞への重みはどちらも小さいことが多く (2 節)、「大きいほう」は小さな差で決まります。本文の 3 節では 4 文と前もって決めたしきい値で判定しています。""",
        needs=["lm"],
    ),
    Exercise(
        id="04-untrained",
        anchor=r"^## まとめ",
        where="before",
        title="学習で何が変わる? 乱数の重みと比べる",
        task="""5 節の、同じ形で重みが乱数のモデル `random_lm` と、学習済みのモデル `lm` で、
文 `text` の attention の**行のエントロピーの平均**を $\\ln n$ で割った値 (1 = 一様、0 = 1 点に集中) を計算し、`trained`, `untrained` に入れましょう (全層・全ヘッド・全行の平均)。

**予想してから実行しよう:** 学習すると attention は鋭くなる? 平らになる?""",
        placeholder='''text = "昨日、犬が公園で猫を追いかけた。"
att_trained, att_untrained = au.extract(lm, text), au.extract(random_lm, text)
trained = None     # ここに: 学習済み (÷ ln n)
untrained = None   # ここに: 乱数の重み (÷ ln n)''',
        check="ex.check_entropy_pair(trained, untrained, att_trained=att_trained, att_untrained=att_untrained)",
        solution='''text = "昨日、犬が公園で猫を追いかけた。"
att_trained, att_untrained = au.extract(lm, text), au.extract(random_lm, text)


def normalised_entropy(att):
    w = att.weights.astype(float)
    H = -(w * np.log(np.where(w > 0, w, 1.0))).sum(axis=-1)   # [layer, head, query]
    return H.mean() / np.log(len(att))


trained, untrained = normalised_entropy(att_trained), normalised_entropy(att_untrained)
print(f"学習済み {trained:.2f} / 乱数 {untrained:.2f} (1 = 一様)")''',
        explanation="""乱数の重みは小さいので query と key の内積がほぼ 0 になり、どの行もほぼ一様 (1 に近い) になります (5 節の表の「一様な attention」の行と同じ理由)。
学習によって、特定のトークンを選んで見るヘッドが生まれます。その差が上の 2 つの数字です。""",
        needs=["lm", "random_lm"],
    ),
]

# ----------------------------------------------------------------------------------------------
# Notebook 06: syntax heads (`example` is one English sentence, `en` / `treebanks` the treebanks)
# ----------------------------------------------------------------------------------------------
NB06 = [
    Exercise(
        id="06-relation-pairs",
        anchor=r"^ヘッドを分類器として使う手順は",
        where="before",
        title="依存関係を読む",
        task="""上の文 `example` で、関係が `det` (限定詞) の単語それぞれについて、(その単語, その主辞の単語) の組をリスト `det_pairs` にしましょう。
`example.words` (単語)、`example.heads` (主辞の番号、**1 始まり**、0 = ROOT)、`example.relations` (関係) を使います。""",
        placeholder='''det_pairs = None   # ここに: [(限定詞, 主辞), ...] 文に出てくる順''',
        check='ex.check_relation_pairs(det_pairs, sentence=example, relation="det")',
        solution='''det_pairs = [(w, example.words[h - 1]) for w, h, r in zip(example.words, example.heads, example.relations)
             if r.split(":")[0] == "det"]
det_pairs''',
        explanation="""`heads` は 1 始まりなので、Python のリストで引くときは `h - 1` です。英語の限定詞の主辞は、たいていすぐ右の名詞です。
このことが、次の節の「固定オフセット」の基準が強い理由です。""",
        needs=["example"],
    ),
    Exercise(
        id="06-head-accuracy",
        anchor=r"^## 2\. 基準",
        where="before",
        title="ヘッドを分類器として使う",
        task="""1 つのヘッドの単語単位の地図 `att_map` (`[単語, 単語]`、特殊トークンなし) と正解の `heads` (1 始まり、0 = ROOT) から、
「各単語が**自分以外で**最も重みを置く単語 = 主辞の予測」の正解率を返す関数 `head_accuracy(att_map, heads)` を書きましょう。ROOT の単語は数えません。""",
        placeholder='''def head_accuracy(att_map, heads):
    # ここにコードを書く
    ...''',
        check="ex.check_head_accuracy(head_accuracy)",
        solution='''def head_accuracy(att_map, heads):
    m = np.array(att_map, dtype=float)
    np.fill_diagonal(m, -np.inf)              # 自分自身は答えにしない
    predicted = m.argmax(axis=-1) + 1         # 0 始まりの位置 → 1 始まりの番号
    heads = np.array(heads)
    keep = heads > 0                          # ROOT には主辞がない
    return float((predicted[keep] == heads[keep]).mean())


inner = words.weights[layer, head][1:-1, 1:-1]    # 上の 1 文の地図から [CLS]/[SEP] を除く
print(f"L{layer}-H{head}: {head_accuracy(inner, example.heads):.0%}")''',
        explanation="""Clark らのコードも同じ規則です (自分自身と [CLS]・[SEP] を除いた argmax)。ここでは [CLS]・[SEP] の行と列を最初に切り落としているので、対角成分だけを除けば足ります。""",
        needs=["words", "example", "layer", "head"],
    ),
    Exercise(
        id="06-offsets-en",
        anchor=r"^## 3\. Table 1",
        where="before",
        title="ツリーバンクで固定オフセットの基準を計算する",
        task="""英語のツリーバンク `en` の関係 `amod` (形容詞 → 名詞) について、「いつも $k$ 語先の単語を主辞と答える」予測の正解率を $k = -3, \\dots, 2$ で計算し、辞書 `amod_offsets` にしましょう。
単語 $i$ (1 始まり) の予測は $i + k$ です。UD の下位分類 (`amod:xxx`) も `amod` に数えます。""",
        placeholder='''offsets = range(-3, 3)
amod_offsets = None   # ここに: {k: 正解率}''',
        check='ex.check_treebank_offsets(amod_offsets, sentences=en, relation="amod", offsets=offsets)',
        solution='''offsets = range(-3, 3)
hits, total = {k: 0 for k in offsets}, 0
for s in en:
    for i, (h, r) in enumerate(zip(s.heads, s.relations), start=1):
        if r.split(":")[0] == "amod":
            total += 1
            for k in offsets:
                hits[k] += h == i + k
amod_offsets = {k: hits[k] / total for k in offsets}
pd.Series(amod_offsets, name=f"amod ({total} 語)").rename_axis("k").round(3)''',
        explanation="""英語の形容詞はすぐ後ろの名詞を修飾することが多いので、$k = +1$ がよく当たります。ヘッドの正解率は、この強い基準と比べて初めて意味を持ちます。""",
        needs=["en"],
    ),
    Exercise(
        id="06-offsets-ja-case",
        anchor=r"^## 3\. Table 1",
        where="before",
        title="日本語の助詞 (case) の最良のオフセット",
        task="""**予想してから実行しよう:** 日本語の助詞 (UD の関係 `case`: 格助詞「が」「を」「に」「の」、係助詞「は」「も」など) は、どの単語に係るでしょうか。最良のオフセット $k$ を予想してから、
日本語のツリーバンク `treebanks["ja"]` で $k = -3, \\dots, 2$ の正解率を計算し、辞書 `case_offsets` にしましょう。""",
        placeholder='''offsets = range(-3, 3)
case_offsets = None   # ここに: {k: 正解率}''',
        check='ex.check_treebank_offsets(case_offsets, sentences=treebanks["ja"], relation="case", offsets=offsets)',
        solution='''offsets = range(-3, 3)
hits, total = {k: 0 for k in offsets}, 0
for s in treebanks["ja"]:
    for i, (h, r) in enumerate(zip(s.heads, s.relations), start=1):
        if r.split(":")[0] == "case":
            total += 1
            for k in offsets:
                hits[k] += h == i + k
case_offsets = {k: hits[k] / total for k in offsets}
best_k = max(case_offsets, key=case_offsets.get)
print(f"case ({total} 語): 最良のオフセット {best_k:+d} ({case_offsets[best_k]:.0%})")''',
        explanation="""UD では助詞は**前の名詞**に係る (名詞が主辞) ので、$k = -1$ がよく当たります。だから日本語の `case` では位置の基準がとても強く、
ヘッドがそれを上回るのは難しくなります。主語 (`nsubj`) から述語への係りは遠いことが多く、位置の基準は弱くなります。
一方、目的語 (`obj`) は「名詞 を 述語」の形が多いので $k = +2$ がよく当たります (このノートブックの 5 節で数えています)。""",
        needs=["treebanks"],
    ),
]

NOTEBOOKS: dict[str, list[Exercise]] = {
    "01_qkv_from_scratch.ipynb": NB01,
    "02_bert_attention.ipynb": NB02,
    "03_layer_comparison.ipynb": NB03,
    "04_japanese_bert.ipynb": NB04,
    "05_beyond_weights.ipynb": NB05,
    "06_syntax_heads.ipynb": NB06,
}


# ----------------------------------------------------------------------------------------------
# The mechanism
# ----------------------------------------------------------------------------------------------


def _meta(ex_id: str, part: str, **extra) -> dict:
    return {"exercise": {"id": ex_id, "part": part}, **extra}


def cells_for(ex: Exercise, number: int) -> list:
    """The five cells of one exercise (task, learner cell, self-check, folded answer, hidden solution)."""
    v4 = nbformat.v4
    check = f"# 自己チェック: 実行すると答えを確かめます\n{IMPORT}\n\n{ex.check}"
    cells = [
        v4.new_markdown_cell(f"### 練習 {number}: {ex.title}\n\n{ex.task}", metadata=_meta(ex.id, "task")),
        v4.new_code_cell(ex.placeholder, metadata=_meta(ex.id, "answer", tags=["exercise"])),
        v4.new_code_cell(check, metadata=_meta(ex.id, "check", tags=["self-check"])),
        v4.new_markdown_cell(
            f"<details><summary>模範解答</summary>\n\n```python\n{ex.solution}\n```\n\n{ex.explanation}\n\n</details>",
            metadata=_meta(ex.id, "answer-text")),
        v4.new_code_cell(
            f"#@title 模範解答 (実行すると自己チェックも通ります)\n{ex.solution}\n\n{IMPORT}\n{ex.check}",
            metadata=_meta(ex.id, "solution", tags=["solution"], jupyter={"source_hidden": True}, cellView="form")),
    ]
    for cell in cells:  # stable ids, so a second run changes nothing
        cell.id = f"ex-{ex.id}-{cell.metadata['exercise']['part']}"[:64]
    return cells


def _heading_level(source: str) -> int | None:
    m = re.match(r"(#{1,6}) ", source.lstrip())
    return len(m.group(1)) if m else None


def find_anchor(cells: list, ex: Exercise) -> int:
    """The index to insert before; raises LookupError naming the anchor when nothing matches."""
    pattern = re.compile(ex.anchor, re.M)
    for i, cell in enumerate(cells):
        if pattern.search(cell.source):
            if ex.where == "before":
                return i
            if ex.where == "after":
                return i + 1
            level = _heading_level(cell.source) or 6
            for j in range(i + 1, len(cells)):
                if cells[j].cell_type == "markdown" and (_heading_level(cells[j].source) or 7) <= level \
                        and "exercise" not in cells[j].metadata:
                    return j
            return len(cells)
    raise LookupError(f"{ex.id}: no cell matches the anchor {ex.anchor!r}")


def _defines(cells: list, name: str) -> bool:
    pattern = re.compile(rf"(^|[\s,(]){re.escape(name)}\s*(,[^=\n]*)?=(?!=)|^def {re.escape(name)}\b|for {re.escape(name)}\b", re.M)
    return any(c.cell_type == "code" and pattern.search(c.source) for c in cells)


def strip_exercises(nb) -> int:
    """Remove every cell this script inserted; returns how many."""
    before = len(nb.cells)
    nb.cells = [c for c in nb.cells if "exercise" not in c.metadata]
    return before - len(nb.cells)


def apply(nb, exercises: list[Exercise]) -> list[str]:
    """Insert ``exercises`` into ``nb`` (after removing earlier copies); returns warnings."""
    strip_exercises(nb)
    warnings = []
    placed = []  # (index in the stripped notebook, order, exercise)
    for order, ex in enumerate(exercises):
        index = find_anchor(nb.cells, ex)
        missing = [n for n in ex.needs if not _defines(nb.cells[:index], n)]
        if missing:
            warnings.append(f"{ex.id}: {missing} not defined before the anchor")
        placed.append((index, order, ex))
    for number, (index, order, ex) in enumerate(sorted(placed, key=lambda p: (p[0], p[1])), start=1):
        ex.number = number  # type: ignore[attr-defined]
    for index, order, ex in sorted(placed, key=lambda p: (p[0], p[1]), reverse=True):
        nb.cells[index:index] = cells_for(ex, ex.number)  # type: ignore[attr-defined]
    return warnings


def process(path: Path, check_only: bool = False) -> bool:
    """Bring one notebook up to date; returns True when it already was."""
    exercises = NOTEBOOKS[path.name]
    nb = nbformat.read(path, as_version=4)
    original = copy.deepcopy(nb)
    for w in apply(nb, exercises):
        print(f"{path.name}: warning: {w}", file=sys.stderr)
    # keep the outputs of cells whose source did not change (so a re-run does not blank them)
    old = {(c.metadata.get("exercise", {}).get("id"), c.metadata.get("exercise", {}).get("part")): c
           for c in original.cells if "exercise" in c.metadata}
    for c in nb.cells:
        key = (c.metadata.get("exercise", {}).get("id"), c.metadata.get("exercise", {}).get("part"))
        prev = old.get(key)
        if prev is not None and c.cell_type == "code" and prev.source == c.source:
            c.outputs, c.execution_count = prev.outputs, prev.execution_count
    same = nbformat.writes(nb) == nbformat.writes(original)
    if not check_only and not same:
        nbformat.write(nb, path)
    print(f"{path.name}: {len(exercises)} exercises " + ("up to date" if same else ("NOT up to date" if check_only else "written")))
    return same


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="only report; exit 1 when a notebook is not up to date")
    args = parser.parse_args(argv)
    paths = args.notebooks or [ROOT / "notebooks" / name for name in NOTEBOOKS]
    unknown = [p for p in paths if p.name not in NOTEBOOKS]
    if unknown:
        parser.error(f"no exercises for {[p.name for p in unknown]}; known: {sorted(NOTEBOOKS)}")
    results, failed = [], []
    for p in paths:
        try:
            results.append(process(p, check_only=args.check))
        except LookupError as err:  # an anchor the notebook no longer has: say which, write nothing
            print(f"{p.name}: {err}", file=sys.stderr)
            failed.append(p.name)
    if failed:
        return 2
    return 0 if all(results) or not args.check else 1


if __name__ == "__main__":
    sys.exit(main())
