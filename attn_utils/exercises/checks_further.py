"""One self-check per exercise (「練習」) of notebooks 04-06: Japanese, beyond weights, syntax heads.

As in :mod:`.checks`, each check recomputes the right answer from the data it is
given, reads answers in every natural form, and names the common mistake a
wrong answer matches.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .checks import _guess_verdict, _rollout_mistakes, _smoothed_entropy, rollout_layers, row_entropy
from .core import (
    ExerciseError,
    keyed_numbers,
    _short,
    as_layer_head,
    call_learner,
    check_close,
    check_shape,
    diagnose,
    exercise,
    is_tensor,
    judge_key,
    same,
    to_array,
    to_number,
)

SPECIALS = ("[CLS]", "[SEP]", "<s>", "</s>", "[PAD]", "<pad>")


def _as_list(answer: Any, name: str, what: str) -> list:
    """A list from a list, tuple, numpy array, pandas Series/Index or dict (its keys, in order)."""
    if isinstance(answer, str):
        raise ExerciseError(f"{name} が文字列 1 つです。{what}のリストにしましょう (例: [\"...\", \"...\"])。")
    if isinstance(answer, (set, frozenset)):
        raise ExerciseError(f"{name} が集合 (set) なので順番がありません。文に出てくる順のリスト (list) にしましょう。")
    if isinstance(answer, Mapping):
        return list(answer.keys())
    if hasattr(answer, "tolist") and not is_tensor(answer):
        return list(answer.tolist())
    if isinstance(answer, (list, tuple)):
        return list(answer)
    if hasattr(answer, "__iter__") and hasattr(answer, "__next__"):  # zip(...), map(...), a generator: read it once
        return list(answer)
    raise ExerciseError(f"{name} は{what}のリストのはずですが、{type(answer).__name__} でした。")


# --- notebook 04: Japanese ---------------------------------------------------------------


@exercise("練習 (WordPiece で分かれた単語)", expects="2 つ以上のサブワードに分かれた MeCab の単語の、文に出てくる順のリスト")
def check_split_words(answer: Any, *, tokenizer: Any, text: str) -> str:
    """The MeCab words of ``text`` that WordPiece cuts into two or more pieces, in sentence order (repeats kept)."""
    words = tokenizer.word_tokenizer.tokenize(text)
    pieces = {w: tokenizer.subword_tokenizer.tokenize(w) for w in words}
    want = [w for w in words if len(pieces[w]) > 1]
    got = [str(w) for w in _as_list(answer, "split_words", "単語")]
    if got == want:
        return f"{len(words)} 単語のうち {len(want)} 語が分かれます: {want}"
    all_pieces = {p for w in want for p in pieces[w]}
    if got and all(w in all_pieces or w.startswith("##") for w in got) and not set(got) <= set(want):
        raise ExerciseError("サブワード (WordPiece の断片) が入っています。答えるのは分かれる前の MeCab の単語です "
                            f"(例: {want[0]!r})。" if want else "サブワードではなく MeCab の単語で答えます。")
    if got == want[::-1] and len(want) > 1:
        raise ExerciseError("順番が逆です: 文に出てくる順に並べましょう。")
    if sorted(got) == sorted(want):
        raise ExerciseError(f"単語はそろっていますが、順番が違います: 文に出てくる順 ({want}) に並べましょう。")
    if set(got) == set(want) and len(got) > len(want):
        raise ExerciseError("同じ単語が重複しています: 文に 1 回しか出てこない単語は 1 回だけ入れます。")
    if got == words:
        raise ExerciseError("MeCab の単語がすべて入っています。WordPiece で 2 つ以上に分かれた単語だけを選びます "
                            "(len(tok.subword_tokenizer.tokenize(w)) > 1)。")
    extra = [w for w in got if w not in want]
    missing = [w for w in want if w not in got]
    raise ExerciseError("分かれた単語が合っていません。" + (f" 足りない: {missing}。" if missing else "")
                        + (f" 分かれていないのに入っている: {extra}。" if extra else ""))


def _particle_scores(weights: np.ndarray, tokens: Sequence[str], q: int, layer: int, *, exclude_self: bool = True,
                     exclude_specials: bool = True, heads: Any = None) -> np.ndarray:
    row = (weights[layer, :, q].mean(0) if heads is None else weights[layer, heads, q]).astype(float).copy()
    for i, tok in enumerate(tokens):
        if (exclude_self and i == q) or (exclude_specials and tok in SPECIALS):
            row[i] = -np.inf
    return row


@exercise("練習 (予想してから確かめる: 助詞はどこを見る?)", guess=0,
          expects="prediction (予想) と answer は単語のラベル (文字列) か位置 (整数)")
def check_particle_target(prediction: Any, answer: Any, *, words: Any, particle: str, layer: int) -> str:
    """The word ``particle`` attends to most (head mean of one layer, itself and specials excluded).

    ``prediction`` is the learner's guess: while it is empty (``None``, ``""``) the
    check asks for it first; afterwards it only says whether the guess was right.
    """
    w = np.asarray(words.weights, dtype=float)
    q = words.position(particle)
    toks = list(words.tokens)
    scores = _particle_scores(w, toks, q, layer)
    other_layer = 0 if layer % words.num_layers != 0 else -1
    pos, how = judge_key(answer, scores, words.labels, f"「{particle}」がいちばん見る単語", toks, [
        (f"それは「{particle}」自身です。自分自身は除きます。", lambda: _particle_scores(w, toks, q, layer, exclude_self=False)),
        ("特殊トークン ([CLS]・[SEP]、<s>・</s>) は除きます。", lambda: _particle_scores(w, toks, q, layer, exclude_specials=False)),
        ("別の層を見ていませんか? 最終層は layer=-1 です (0 から数えて)。", lambda: _particle_scores(w, toks, q, other_layer)),
        ("ヘッド 0 だけを見ていませんか? 全ヘッドの平均 (mean(axis=0)) を使います。",
         lambda: _particle_scores(w, toks, q, layer, heads=0)),
        ("ヘッドの最大を取っていませんか? 全ヘッドの平均 (mean(axis=0)) を使います。",
         lambda: np.where(np.isfinite(scores), w[layer, :, q].max(0), -np.inf)),
        (f"それは「{particle}」を見ている単語 (列) です。行 = query なので、「{particle}」の行で最大の単語を探します。",
         lambda: np.where(np.isfinite(scores), w[layer, :, :, q].mean(0), -np.inf)),
    ])
    verdict = _guess_verdict(prediction, pos, words.labels, toks)
    return (f"第 {layer % words.num_layers} 層 (0 から数えて; ヘッド平均) で「{particle}」→「{words.labels[pos]}」"
            f"({scores[pos]:.2f}; {how} で答えました)。{verdict}")


def _values_by_text(values: Any, texts: Sequence[str], name: str, what: str) -> dict[str, float]:
    """``{text: number}`` from a dict, a pandas Series indexed by the texts or a one-column DataFrame."""
    __tracebackhide__ = True
    return keyed_numbers(values, texts, name=name, key_word="文", what=what, label=lambda t: f"「{t}」の{what}")


def _shares_by_text(shares: Any, texts: Sequence[str], name: str) -> dict[str, float]:
    """``{text: share}`` from a dict, a pandas Series (index = texts), a one-column DataFrame or a list in the order of ``texts``."""
    if isinstance(shares, (list, tuple, np.ndarray)) or is_tensor(shares):
        values = to_array(shares, name).ravel()
        if values.size != len(texts):
            raise ExerciseError(f"{name} は文をキーにした辞書 {{文: 割合}} にしましょう ({len(texts)} 文: {list(texts)})。")
        return dict(zip(texts, map(float, values)))
    return _values_by_text(shares, texts, name, "割合")


@exercise("練習 (語順を入れ替える)", expects="文をキーにした辞書 {文: 割合 (0〜1)}")
def check_order_shares(shares: Any, *, atts: Mapping[str, Any], query: str, a: str, b: str) -> str:
    """``shares[text]``: the share of heads where ``query -> a`` outweighs ``query -> b`` (word level).

    Accepts a dict, a pandas Series indexed by the texts, or a list in the order of ``atts``.
    """
    texts = list(atts)
    got = _shares_by_text(shares, texts, "shares")
    want = {t: float((att.pair(query, a) > att.pair(query, b)).to_numpy().mean()) for t, att in atts.items()}
    g, w = np.array([got[t] for t in texts]), np.array([want[t] for t in texts])
    if same(g, w, atol=1e-6, rtol=0):
        return ", ".join(f"{t}: {want[t]:.0%}" for t in texts)
    n_heads = np.array([att.pair(query, a).size for att in atts.values()], dtype=float)
    diagnose(g, w, [
        (f"a と b が逆です: 「{query} → {a}」が「{query} → {b}」より大きいヘッドの割合です。",
         lambda: np.array([float((att.pair(query, b) > att.pair(query, a)).to_numpy().mean()) for att in atts.values()])),
        ("パーセント (×100) になっています。割合は 0〜1 の数にしましょう。", lambda: w * 100),
        ("ヘッドの数のままです。割合にするには全ヘッドの数で割ります (.mean())。", lambda: w * n_heads),
        ("2 つの文の値が入れ替わっています。", lambda: w[::-1]),
    ], atol=1e-6, rtol=0)
    for t in texts:
        check_close(got[t], want[t], atol=1e-6, rtol=0, name=f"「{t}」の割合")
    raise AssertionError("unreachable")  # pragma: no cover


#: Accepted spellings of the three readings of :func:`check_order_flip` (compared after stripping blanks,
#: quotes and a final 。, English case-insensitively).
ORDER_READINGS = {"役割": "役割", "role": "役割", "位置": "位置", "position": "位置",
                  "決められない": "決められない", "どちらとも言えない": "決められない", "undecided": "決められない"}


def _reading_of(reading: Any) -> str:
    """One of the three readings from the learner's string (English spellings too)."""
    __tracebackhide__ = True
    choices = "\"役割\"、\"位置\"、\"決められない\" のどれか"
    if not isinstance(reading, str):
        raise ExerciseError(f"reading は {choices} (文字列) にしましょう。いまは {type(reading).__name__} ({_short(reading, 40)}) です。")
    text = reading.strip().strip("\"'「」『』").strip().rstrip("。.").strip()
    found = ORDER_READINGS.get(text, ORDER_READINGS.get(text.lower()))
    if found is None:
        raise ExerciseError(f"reading は {choices} にしましょう。いまは {reading!r} です。")
    return found


@exercise("練習 (語順を入れ替える: 1 つのヘッドで)",
          expects="diffs は文をキーにした辞書 {文: 差 (数 1 つ)}、reading は \"役割\"、\"位置\"、\"決められない\" のどれか")
def check_order_flip(diffs: Any, reading: Any, *, atts: Mapping[str, Any], query: str, a: str, b: str,
                     layer: int, head: int, threshold: float = 0.05) -> str:
    """``diffs[text]`` = weight(query -> a) - weight(query -> b) in one head; ``reading`` by the rule below.

    Rule (stated in the notebook before measuring): both ``|diff| >= threshold`` and the same sign ->
    "役割" (the same noun wins in both orders); both ``>= threshold`` and opposite signs -> "位置"
    (the noun in the same place wins); otherwise "決められない".

    ``diffs`` may be a dict, a pandas Series indexed by the texts or a one-column DataFrame; each value
    one number in any form (float, numpy scalar, 0-d tensor). A list is refused: it does not say which
    difference belongs to which sentence. ``layer`` and ``head`` are 0-based (negative from the end).
    """
    texts = list(atts)
    first = next(iter(atts.values()))
    w_all = {t: np.asarray(att.weights, dtype=np.float64) for t, att in atts.items()}
    L, H = (int(s) for s in first.weights.shape[:2])
    layer, head = as_layer_head((layer, head), "layer, head", (L, H))
    if isinstance(diffs, (list, tuple, np.ndarray)) or is_tensor(diffs):
        raise ExerciseError(f"diffs は文をキーにした辞書 {{文: 差}} にしましょう: リストでは、どの差がどちらの文のものか"
                            f"分かりません (文: {texts})。")
    got = _values_by_text(diffs, texts, "diffs", "差")
    pos = {t: (att.position(query), att.position(a), att.position(b)) for t, att in atts.items()}

    def diff(l: Any = None, h: Any = None, q_is_key: bool = False, x: str = "a", y: str = "b",
             texts_: Sequence[str] = texts) -> np.ndarray:
        """What a learner computes: the head (l, h) (None = mean), query and key swapped, other nouns."""
        out = []
        for t in texts_:
            q, ia, ib = pos[t]
            ix, iy = {"a": ia, "b": ib}[x], {"a": ia, "b": ib}[y]
            w = w_all[t]
            w = w.mean(0, keepdims=True) if l is None else w[[l]]
            w = w.mean(1, keepdims=True) if h is None else w[:, [h]]
            w = w[0, 0]
            row_x, row_y = (w[ix, q], w[iy, q]) if q_is_key else (w[q, ix], w[q, iy])
            out.append(row_x - row_y)
        return np.array(out)

    want = diff(layer, head)
    g = np.array([got[t] for t in texts])
    tol = dict(atol=1e-5, rtol=0)
    if not same(g, want, **tol):
        qa, qb = f"「{query} → {a}」", f"「{query} → {b}」"
        cands: list[tuple[str, Callable[[], Any]]] = [
            (f"符号が逆です: {qa}の重みから{qb}の重みを引きます (a − b)。", lambda: -want),
            (f"2 つの文の値が入れ替わっています: キーの文の差を入れましょう (文: {texts})。", lambda: want[::-1]),
            ("差の絶対値になっています: 符号 (どちらの名詞が大きいか) が読み方を決めるので、符号付きの差のままにします。",
             lambda: np.abs(want)),
            (f"引き算の順番が文によって違います: どちらの文でも{qa} − {qb} (名詞で引きます。何番目の名詞かではありません)。",
             lambda: want * np.array([1, -1] + [1] * (len(want) - 2))),
            (f"引き算の順番が文によって違います: どちらの文でも{qa} − {qb} (名詞で引きます。何番目の名詞かではありません)。",
             lambda: want * np.array([-1, 1] + [1] * (len(want) - 2))),
            (f"query と key が逆です: {query} の行 ({query} が見る側) の重みです (att.pair({query!r}, {a!r}))。",
             lambda: diff(layer, head, q_is_key=True)),
            (f"ヘッドの平均になっています。第 {layer} 層のヘッド {head} だけを使います。", lambda: diff(layer, None)),
            (f"層の平均になっています。第 {layer} 層のヘッド {head} だけを使います。", lambda: diff(None, head)),
            ("全層・全ヘッドの平均になっています。1 つのヘッド (layer, head) だけを使います。", lambda: diff(None, None)),
            (f"{qb}を引いていません: 差 ({qa} − {qb}) にしましょう。", lambda: np.array(
                [w_all[t][layer, head, pos[t][0], pos[t][1]] for t in texts])),
            (f"{qb}だけになっています: {qa}から{qb}を引いた差にしましょう。", lambda: np.array(
                [w_all[t][layer, head, pos[t][0], pos[t][2]] for t in texts])),
            ("パーセント (×100) になっています: 重みの差 (-1〜1) のままにしましょう。", lambda: want * 100),
            (f"比 ({qa} ÷ {qb}) になっています: 差 (引き算) にしましょう。", lambda: np.array(
                [w_all[t][layer, head, pos[t][0], pos[t][1]] / w_all[t][layer, head, pos[t][0], pos[t][2]] for t in texts])),
        ]
        diagnose(g, want, cands, **tol)  # (diagnose also names values rounded to the printed digits)
        for l2, h2 in np.ndindex(L, H):  # the right computation on another head: say which one, and why it may be
            if (l2, h2) != (layer, head) and same(g, diff(l2, h2), **tol):
                hint = ""
                if (l2, h2) == (head, layer):
                    hint = " (層, ヘッド) の順番が逆ではありませんか? pair(...) の表は [layer, head] (行 = 層、列 = ヘッド) です。"
                elif (l2, h2) in ((layer - 1, head - 1), (layer + 1, head + 1)) or (l2 == layer and abs(h2 - head) == 1) \
                        or (h2 == head and abs(l2 - layer) == 1):
                    hint = " 番号が 1 つずれていませんか? layer と head は 0 から数えた番号です (そのまま [layer, head] で引きます)。"
                raise ExerciseError(f"それは第 {l2} 層ヘッド {h2} の差です。第 {layer} 層ヘッド {head} の差を入れましょう。{hint}")
        for t, x, y in zip(texts, g, want):
            check_close(x, y, name=f"「{t}」の差", **tol)
    right_reading = _reading_of(reading)
    d = list(want)
    big = all(abs(x) >= threshold for x in d)
    right = ("役割" if np.sign(d[0]) == np.sign(d[1]) else "位置") if big else "決められない"
    values = "、".join(f"{v:+.3f}" for v in d)
    if right_reading != right:
        why = (f"差は {values} で、どちらかの大きさが {threshold} に届きません" if not big else
               f"差は {values} で、2 文で符号が{'同じ' if right == '役割' else '逆'}です")
        raise ExerciseError(f"読み方が違います: {why}。決めておいた規則では「{right}」です。")
    note = " (2 文とも同じ名詞なので、名詞そのものに沿う可能性は残ります)" if right == "役割" else ""
    return f"第 {layer} 層・ヘッド {head}: 差 {values} → {right}{note}"


def _normalised_entropy(weights: np.ndarray) -> float:
    return float(row_entropy(weights).mean() / np.log(weights.shape[-1]))


@exercise("練習 (乱数の重みのモデルと比べる)", expects="trained と untrained: それぞれ数 1 つ (全層・全ヘッド・全行の平均エントロピー ÷ ln n)")
def check_entropy_pair(trained: Any, untrained: Any, *, att_trained: Any, att_untrained: Any) -> str:
    """Mean row entropy over all layers, heads and rows, divided by ln n, for a trained and an untrained model."""
    hint = " 全層・全ヘッド・全行で平均した 1 つの数にしましょう (.mean())。"
    t = to_number(trained, "trained", hint=hint)
    u = to_number(untrained, "untrained", hint=hint)
    wt, wu = np.asarray(att_trained.weights, np.float64), np.asarray(att_untrained.weights, np.float64)
    want_t, want_u = _normalised_entropy(wt), _normalised_entropy(wu)
    tol = dict(atol=2e-5, rtol=0)
    if same([t, u], [want_t, want_u], **tol):
        return f"学習済み {want_t:.2f}、乱数 {want_u:.2f} (1 = 一様)。"
    if same([t, u], [want_u, want_t], **tol):
        raise ExerciseError("2 つが入れ替わっています: trained が学習済みのモデル (lm) です。")
    for got, want, w, name in ((t, want_t, wt, "trained"), (u, want_u, wu, "untrained")):
        if same(got, want, **tol):
            continue
        n = w.shape[-1]
        diagnose(got, want, [
            ("ln n で割っていません: 一様なら 1 になるよう、平均エントロピーを ln n (np.log(len(att))) で割ります。",
             lambda: want * np.log(n)),
            ("log2 でエントロピーを計算して ln n で割っていませんか? 自然対数 np.log で計算しましょう。", lambda: want / np.log(2)),
            ("ln n ではなく n で割っていませんか? np.log(n) で割ります。", lambda: want * np.log(n) / n),
            ("特殊トークンを除いた数で ln を取っていませんか? n は行の長さ (特殊トークンも含むトークン数、len(att)) です。",
             lambda: want * np.log(n) / np.log(n - 2)),
            ("Clark らの平滑化 ((1 - 1e-4) a + 1e-4 / n) をしていませんか? ここでは平滑化しない素のエントロピーです。",
             lambda: float(_smoothed_entropy(w).mean() / np.log(n))),
            ("query について平均ではなく合計していませんか?", lambda: want * n),
        ], **tol)
        check_close(got, want, name=f"{name} (÷ ln n)", **tol)
    raise AssertionError("unreachable")  # pragma: no cover


# --- notebook 05: beyond weights ---------------------------------------------------------


@exercise("練習 (重みとノルムで 1 位は同じ?)", expects="top_by_weight と top_by_norm: key のラベル (文字列) か位置 (整数)")
def check_weight_vs_norm(top_by_weight: Any, top_by_norm: Any, *, att: Any, norms: Any, query: str,
                         layer: int, head: int) -> str:
    """The keys (labels or 0-based positions) with the largest weight and the largest norm ``||alpha f(x)||``."""
    q = att.position(query)
    w = np.asarray(att.weights, dtype=float)
    nm = to_array(norms, "norms")
    by_weight, by_norm = w[layer, head, q], nm[layer, head, q]
    toks = list(att.tokens)
    pw, how_w = judge_key(top_by_weight, by_weight, att.labels, "重みで 1 位の key", toks, [
        ("top_by_weight がノルムで 1 位の key です: 2 つが入れ替わっていませんか?", lambda: by_norm),
        (f"それは列 ({query} を見ている query) の最大です。{query} の行 (query) で最大の key を探します。",
         lambda: w[layer, head, :, q]),
        ("それは最小の key です: argmax / idxmax を使いましょう。", lambda: -by_weight),
    ])
    pn, how_n = judge_key(top_by_norm, by_norm, att.labels, "ノルムで 1 位の key", toks, [
        ("top_by_norm が重みで 1 位の key です: ノルム (norms) の行で最大の key を探します。", lambda: by_weight),
        (f"それは列 ({query} を見ている query) の最大です。{query} の行 (query) で最大の key を探します。",
         lambda: nm[layer, head, :, q]),
        ("それは最小の key です: argmax / idxmax を使いましょう。", lambda: -by_norm),
    ])
    same_key = "同じ key です。" if pw == pn else "重みとノルムで 1 位が違います。"
    return f"重み: {att.labels[pw]} ({how_w})、ノルム: {att.labels[pn]} ({how_n})。{same_key}"


#: Extra inputs for my_rollout beyond the notebook's attention: another number of layers and tokens.
def _rollout_inputs(att: Any) -> list[tuple[str, np.ndarray, float]]:
    rand = np.random.default_rng(5).dirichlet(np.ones(4), size=(3, 2, 4))  # [3 layers, 2 heads, 4, 4]
    w = np.asarray(att.weights, dtype=np.float64)
    return [("att.weights", w, 0.5), ("att.weights", w, 0.0), ("att.weights", w, 0.9),
            ("3 層・2 ヘッド・4 トークンの乱数の重み", rand, 0.3)]


@exercise("練習 (rollout の残差の重み)", expects="[layer, head, query, key] の重みと residual から [query, key] の配列を返す関数 my_rollout(weights, residual)")
def check_my_rollout(my_rollout: Callable, *, att: Any) -> str:
    """``my_rollout(weights, residual)``: rollout of ``[layer, head, query, key]`` -> ``[query, key]`` (numpy or torch)."""
    for what, w, r in _rollout_inputs(att):
        n = w.shape[-1]
        got = to_array(call_learner(my_rollout, w.copy(), r, name="my_rollout"), "my_rollout の出力")
        want = rollout_layers(w, r)
        where = f"{what}、residual = {r} のとき: "
        if same(got, want, atol=2e-6, rtol=1e-5):
            continue
        try:
            check_shape(got, (n, n), "my_rollout の出力")
            diagnose(got, want, _rollout_mistakes(w, r, want) + [
                ("residual を使っていません (いつも 0.5 になっています)。引数の residual で A' = (1 - r) A + r I とします。",
                 lambda: rollout_layers(w, 0.5)),
                ("最後の層だけです: すべての層を順に掛け合わせます。", lambda: rollout_layers(w[-1:], r)),
            ], atol=2e-6, rtol=1e-5)
            check_close(got, want, atol=2e-6, rtol=1e-5, name="my_rollout の出力")
        except ExerciseError as err:
            raise ExerciseError(where + str(err)) from None
    return "residual = 0.5, 0.0, 0.9 と別の形の重みで au.rollout と一致しました。"


def _hidden_pair(lm: Any, text: str, query: str, token: str) -> tuple[Any, Any, Any]:
    """``(h, h_masked, h_replaced)``: the query's last hidden state as is, with ``token`` masked out, with it as [MASK]."""
    import torch

    from ..extract import extract, model_inputs

    att = extract(lm, text)
    q, k = att.position(query), att.position(token)
    enc = model_inputs(lm.model, lm.tokenizer(text, return_tensors="pt"))
    with torch.inference_mode():
        h = lm.model(**enc).last_hidden_state[0, q]
        mask = enc["attention_mask"].clone()
        mask[0, k] = 0
        h_masked = lm.model(**{**enc, "attention_mask": mask}).last_hidden_state[0, q]
        h_replaced = None
        mask_id = getattr(lm.tokenizer, "mask_token_id", None)
        if mask_id is not None:
            ids = enc["input_ids"].clone()
            ids[0, k] = mask_id
            h_replaced = lm.model(**{**enc, "input_ids": ids}).last_hidden_state[0, q]
    return h, h_masked, h_replaced


@exercise("練習 (トークンを隠すと表現はどれだけ動く?)", expects="数 1 つ: ||h' - h|| / ||h||")
def check_masking_change(change: Any, *, lm: Any, text: str, query: str, token: str) -> str:
    """``||h' - h|| / ||h||`` of ``query``'s last hidden state when ``token`` is masked out (as ``au.token_ablation``)."""
    from ..analysis import token_ablation

    table = token_ablation(lm, text, query)
    want = float(table.loc[token, "change"])
    got = to_number(change, "change", hint=" ||h' - h|| / ||h|| の 1 つの数にしましょう (float(...))。")
    tol = dict(atol=1e-6, rtol=1e-4)
    if same(got, want, **tol):
        return f"{token} を隠すと {query} の表現が {want:.1%} 動きます。"
    h, h2, h3 = (None if v is None else v.double() for v in _hidden_pair(lm, text, query, token))
    cands: list[tuple[str, Callable[[], Any]]] = [
        ("||h' - h|| で止まっています: 元の表現の大きさ ||h|| で割って割合にします。", lambda: float((h2 - h).norm())),
        ("||h'|| で割っています: 割るのは元の表現の大きさ ||h|| です。", lambda: float((h2 - h).norm() / h2.norm())),
        ("パーセント (×100) になっています: 割合のまま (0.05 なら 5%) にしましょう。", lambda: want * 100),
        ("cos の距離 (1 - cos) になっています: ここではベクトルの差の長さの割合 ||h' - h|| / ||h|| です。",
         lambda: float(1 - (h2 @ h) / (h2.norm() * h.norm()))),
    ]
    if h3 is not None:
        cands.append(("トークンを [MASK] に置き換えていませんか? ここでは attention mask のその位置を 0 にして、"
                      "誰からも見えなくします (入力の単語はそのまま)。", lambda: float((h3 - h).norm() / h.norm())))
    diagnose(got, want, cands, **tol)
    check_close(got, want, name="変化の割合 ||h' - h|| / ||h||", **tol)
    raise AssertionError("unreachable")  # pragma: no cover


def _offset_dict(accuracy: Any, offsets: Sequence[int], name: str) -> dict[int, float]:
    """``{k: accuracy}`` from a dict (int or "+1" keys), a pandas Series indexed by k, or a list in the order of offsets."""
    offsets = [int(k) for k in offsets]
    if hasattr(accuracy, "columns") and hasattr(accuracy, "squeeze") and accuracy.shape[1] == 1:
        accuracy = accuracy.iloc[:, 0]  # a DataFrame of one column, indexed by k
    if hasattr(accuracy, "to_dict") and hasattr(accuracy, "index") and not hasattr(accuracy, "columns"):
        accuracy = accuracy.to_dict()
    if isinstance(accuracy, Mapping):
        out = {}
        for key, value in accuracy.items():
            try:
                k = int(key)
            except (TypeError, ValueError):
                raise ExerciseError(f"{name} のキー {key!r} がオフセット (整数) ではありません。キーは {offsets} です。") from None
            out[k] = to_number(value, f"オフセット {k:+d} の正解率")
        if sorted(out) != sorted(offsets):
            raise ExerciseError(f"{name} のキーは {offsets} のはずですが、{sorted(out)} でした。")
        return out
    if isinstance(accuracy, (list, tuple, np.ndarray)) or is_tensor(accuracy):
        values = to_array(accuracy, name).ravel()
        if values.size == len(offsets):
            return dict(zip(offsets, map(float, values)))
    raise ExerciseError(f"答えはオフセット {offsets} をキーにした辞書 {{k: 正解率}} にしましょう "
                        f"(いまは {type(accuracy).__name__}: {_short(accuracy, 80)})。")


def _judge_offsets(got: dict[int, float], want: dict[int, float], offsets: Sequence[int],
                   cands: list[tuple[str, Callable[[], dict[int, float]]]]) -> None:
    __tracebackhide__ = True
    ks = [int(k) for k in offsets]
    g, w = np.array([got[k] for k in ks]), np.array([want[k] for k in ks])
    tol = dict(atol=1e-6, rtol=0)  # float32 accuracies pass; rounding to 4 printed digits (5e-5) does not
    if same(g, w, **tol):
        return
    diagnose(g, w, [(hint, (lambda thunk=thunk: np.array([thunk()[k] for k in ks]))) for hint, thunk in cands] + [
        ("パーセント (×100) になっています: 正解率は 0〜1 の割合にしましょう。", lambda: w * 100),
    ], **tol)
    for k in ks:
        check_close(got[k], want[k], name=f"オフセット {k:+d} の正解率", **tol)


@exercise("練習 (固定オフセットの基準を自分で計算する)", expects="オフセットをキーにした辞書 {k: 正解率 (0〜1)}")
def check_offset_accuracy(accuracy: Any, *, examples: Sequence[Mapping[str, int]], dep: str, head: str,
                          offsets: Sequence[int]) -> str:
    """``accuracy[k]``: how often the word at ``dep + k`` is the ``head`` word (dict, Series or list in offset order)."""
    got = _offset_dict(accuracy, offsets, "offset_acc")

    def acc(shift: int = 0, sign: int = 1, count: bool = False) -> dict[int, float]:
        f = np.sum if count else np.mean
        return {k: float(f([e[dep] + sign * k + shift == e[head] for e in examples])) for k in offsets}

    want = acc()
    _judge_offsets(got, want, offsets, [
        (f"オフセットの向きが逆です: k = -1 は「1 語前」、つまり {dep} - 1 の位置です ({dep} + k == {head} で数えます)。",
         lambda: acc(sign=-1)),
        ("当たった数のままです: 例の数で割って割合にします (np.mean)。", lambda: acc(count=True)),
        ("位置が 1 つずれています: 位置は text.split() の 0 始まりの番号で、予測は {dep} + k です。".format(dep=dep),
         lambda: acc(shift=1)),
        ("位置が 1 つずれています: 位置は text.split() の 0 始まりの番号で、予測は {dep} + k です。".format(dep=dep),
         lambda: acc(shift=-1)),
    ])
    best = max(want, key=want.get)
    return f"最良のオフセットは {best:+d} 語 ({want[best]:.0%})。"


# --- notebook 06: syntax heads -----------------------------------------------------------


def _field(sentence: Any, name: str) -> Any:
    """``sentence.words`` for a treebank Sentence, ``sentence["words"]`` for a plain dict."""
    return getattr(sentence, name) if hasattr(sentence, name) else sentence[name]


def _matches(label: str, relation: str) -> bool:
    """UD subtypes count under their base relation too (``nsubj:outer`` is an ``nsubj``)."""
    return label == relation or label.split(":")[0] == relation


def _pairs_of(pairs: Any) -> list[tuple]:
    if hasattr(pairs, "itertuples") and hasattr(pairs, "columns"):  # a DataFrame with two columns
        if pairs.shape[1] != 2:
            raise ExerciseError(f"表の列が {pairs.shape[1]} 本です: (依存する単語, 主辞) の 2 列にしましょう。")
        return [tuple(r) for r in pairs.itertuples(index=False)]
    items = _as_list(pairs, "答え", "(依存する単語, 主辞) の組")
    out = []
    for p in items:
        if isinstance(p, str) or not hasattr(p, "__len__") or len(p) != 2:
            raise ExerciseError(f"組 {_short(p, 60)} が (依存する単語, 主辞の単語) の 2 つ組になっていません。")
        out.append(tuple(p))
    return out


@exercise("練習 (依存関係を読む)", expects="(依存する単語, その主辞の単語) の組のリスト (文に出てくる順)")
def check_relation_pairs(pairs: Any, *, sentence: Any, relation: str) -> str:
    """``[(dependent word, head word), ...]`` for every word whose relation (or its base) is ``relation``.

    Accepts a list/tuple of tuples or lists, or a DataFrame with two columns; the head of the root is "ROOT".
    """
    words, heads, rels = (list(_field(sentence, f)) for f in ("words", "heads", "relations"))

    def pairs_with(head_of: Callable[[int], Any], match: Callable[[str], bool] = lambda r: _matches(r, relation)):
        return [(w, head_of(h)) for w, h, r in zip(words, heads, rels) if match(r)]

    want = pairs_with(lambda h: words[h - 1] if h > 0 else "ROOT")
    got = _pairs_of(pairs)
    if got == want:
        return f"{relation}: {want}"
    if got and any(isinstance(a, (int, np.integer)) and not isinstance(a, bool) for p in got for a in p):
        raise ExerciseError("番号ではなく単語で答えましょう: (example.words[i], example.words[h - 1]) の組です "
                            "(heads の番号 h は 1 始まりなので、主辞の単語は words[h - 1])。")
    if got == [(h, d) for d, h in want]:
        raise ExerciseError("組の順番が逆です: (依存する単語, その主辞) の順にしましょう。")
    if got == pairs_with(lambda h: words[h] if 0 <= h < len(words) else "ROOT") or \
            got == pairs_with(lambda h: words[h] if h < len(words) else None):
        raise ExerciseError("主辞が 1 つ右にずれています: heads は 1 始まり (0 = ROOT) なので、words[h - 1] で引きます。")
    if got == pairs_with(lambda h: words[h - 1] if h > 0 else "ROOT", lambda r: r == relation) and got != want:
        raise ExerciseError(f"下位分類 ({relation}:xxx) の単語が抜けています: r.split(\":\")[0] == {relation!r} で比べましょう。")
    if got == want[::-1] or (sorted(map(str, got)) == sorted(map(str, want)) and got != want):
        raise ExerciseError("組はそろっていますが、順番が違います: 文に出てくる順に並べましょう。")
    raise ExerciseError(f"{relation} の組が違います: {_short(want)} のはずですが、{_short(got)} でした。")


def _head_accuracy_variants() -> dict[str, Callable[[np.ndarray, list[int]], float]]:
    """What common mistakes compute, by hint."""

    def run(m, heads, *, self_out=True, root_out=True, plus=1, axis=-1, count=False, scale=1.0):
        m = np.array(m, dtype=float)
        if self_out:
            np.fill_diagonal(m, -np.inf)
        pred = m.argmax(axis) + plus
        hs = np.array(heads)
        keep = hs > 0 if root_out else np.ones(len(hs), bool)
        hits = pred[keep] == hs[keep]
        return float(hits.sum() if count else hits.mean() * scale) if keep.any() else 0.0

    return {
        "right": run,
        "行と列が逆です: 各単語の行 (query, axis=-1) で argmax を取ります。列 (axis=0) ではありません。":
            lambda m, h: run(m, h, axis=0),
        "行と列が逆で、自分自身も除いていません: 各単語の行 (axis=-1) で、対角成分を -inf にしてから argmax を取ります。":
            lambda m, h: run(m, h, axis=0, self_out=False),
        "自分自身への重みを除いていますか? 単語は自分を最も見ることがありますが、自分は答えになりません "
        "(対角成分を -inf にしてから argmax を取りましょう)。": lambda m, h: run(m, h, self_out=False),
        "文の根 (heads が 0 の単語) も数えていませんか? 根には主辞がないので除きます。": lambda m, h: run(m, h, root_out=False),
        "heads は 1 始まりです (0 = 根)。argmax の位置 (0 始まり) に 1 を足して比べましょう。": lambda m, h: run(m, h, plus=0),
        "当たった数のままです: 数えた単語の数で割って割合にしましょう (.mean())。": lambda m, h: run(m, h, count=True),
        "パーセント (×100) になっています: 0〜1 の割合にしましょう。": lambda m, h: run(m, h, scale=100.0),
    }


def _head_accuracy_inputs() -> list[tuple[np.ndarray, list[int]]]:
    # word 0's head is word 1 (1-based: 2), word 1 is the root, word 2's head is word 1 but it looks at itself most.
    inputs = [(np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.1, 0.3, 0.6]]), [2, 0, 2])]
    rng = np.random.default_rng(0)
    for n in (4, 7, 10, 6, 9):
        m = rng.dirichlet(np.ones(n), size=n)
        m[np.arange(n), np.arange(n)] += rng.random(n) * 0.5  # words that look at themselves, as real heads do
        m /= m.sum(-1, keepdims=True)
        hs = [int(v) for v in rng.integers(0, n + 1, size=n)]
        hs = [h if h != i + 1 else 0 for i, h in enumerate(hs)]
        inputs.append((m, hs))
    return inputs


@exercise("練習 (ヘッドを分類器として使う)", expects="att_map ([単語, 単語]) と heads (1 始まり、0 = 根) から正解率 (0〜1 の数) を返す関数 head_accuracy(att_map, heads)")
def check_head_accuracy(head_accuracy: Callable) -> str:
    """``head_accuracy(att_map, heads)``: the share of words (heads[i] > 0) whose largest other weight is their head.

    ``att_map`` is ``[word, word]`` (no special tokens), ``heads`` 1-based with 0 = root.
    Tried on a hand-made example and five random maps; a wrong function is matched
    against what each common mistake computes on all of them.
    """
    variants = _head_accuracy_variants()
    inputs = _head_accuracy_inputs()
    got = []
    for m, hs in inputs:
        got.append(to_number(call_learner(head_accuracy, m.copy(), list(hs), name="head_accuracy"),
                             "head_accuracy の戻り値", hint=" 正解率 (0〜1 の数 1 つ) を返しましょう。"))
    want = [variants["right"](m, hs) for m, hs in inputs]
    if same(got, want, atol=1e-6, rtol=0):
        return "自分自身を除いた argmax が主辞と一致する割合を、手作りと乱数の 6 つの例で確かめました。"
    diagnose(got, want, [(hint, (lambda f=f: [f(m, hs) for m, hs in inputs])) for hint, f in variants.items()
                         if hint != "right"], atol=1e-6, rtol=0)
    bad = next(i for i in range(len(inputs)) if abs(got[i] - want[i]) > 1e-6)
    which = "手作りの例 (3 語)" if bad == 0 else f"{len(inputs[bad][1])} 語の乱数の例"
    raise ExerciseError(f"{which} での正解率が {got[bad]:.4g} でした (正しくは {want[bad]:.4g})。")


def _as_sentences(sentences: Sequence[Any]) -> list[Any]:
    """Treebank Sentences; plain dicts with words/heads/relations become Sentences."""
    from ..treebank import Sentence

    out = []
    for s in sentences:
        if isinstance(s, Sentence):
            out.append(s)
        else:
            words = list(_field(s, "words"))
            out.append(Sentence(words=words, heads=[int(h) for h in _field(s, "heads")],
                                relations=list(_field(s, "relations")), text=" ".join(words), spans=[]))
    return out


def _offset_counts(sentences: Sequence[Any], relation: str, offsets: Sequence[int], *, clip: bool = True,
                   sign: int = 1, start: int = 1, exact: bool = False, count: bool = False, low: int = 0
                   ) -> dict[int, float]:
    """What a learner computes with one of the common slips (unclipped, flipped, 0-based, subtypes left out, counts)."""
    hits = {k: 0 for k in offsets}
    unclipped = {k: 0 for k in offsets}
    total = 0
    for sent in sentences:
        heads, rels = sent.heads, sent.relations
        n = len(heads)
        for i, (h, r) in enumerate(zip(heads, rels), start=start):
            if not (r == relation if exact else _matches(r, relation)):
                continue
            total += 1
            for k in offsets:
                pred = i + sign * k
                if clip:
                    pred = max(low, min(pred, n))
                hits[k] += int(h == pred)
    return {k: (hits[k] if count else hits[k] / max(total, 1)) for k in offsets}


@exercise("練習 (ツリーバンクで固定オフセットの基準)", expects="オフセットをキーにした辞書 {k: 正解率 (0〜1)}")
def check_treebank_offsets(accuracy: Any, *, sentences: Sequence[Any], relation: str, offsets: Sequence[int]) -> str:
    """``accuracy[k]``: over the words with ``relation`` (subtypes included), how often the word ``k`` places away is the head.

    One definition with the library: the numbers are :func:`attn_utils.syntax_baseline`'s
    (Clark et al.'s ``offset_predictor``): word ``i`` (1-based) predicts ``i + k``
    **clipped to the sentence** (``max(0, min(i + k, n))``: before the first word is the
    root 0, past the last word is the last word).
    """
    from ..syntax import OFFSETS, syntax_baseline

    sents = _as_sentences(sentences)
    ks = [int(k) for k in offsets]
    outside = [k for k in ks if k not in OFFSETS]
    if outside:
        raise ExerciseError(f"この自己チェックは Clark らのオフセット {list(OFFSETS)} を確かめます ({outside} は範囲外)。")
    got = _offset_dict(accuracy, ks, "答え")
    table = syntax_baseline(sents, all_offsets=True)
    if relation not in table.index:
        raise ExerciseError(f"関係 {relation!r} の単語が 1 つもありません。")
    want = {k: float(table.loc[relation, k]) for k in ks}
    _judge_offsets(got, want, ks, [
        ("文の端で切り詰めていません: 予測 i + k が文の外に出たら、端の単語にします (0 より前は 0 = ROOT、最後の単語より後は"
         "最後の単語; max(0, min(i + k, n)))。Clark らと au.syntax_baseline の定義です。",
         lambda: _offset_counts(sents, relation, ks, clip=False)),
        ("文の前の端で、最初の単語 (1) に切り詰めていませんか? 0 より前は ROOT (0) にします (max(0, min(i + k, n)))。",
         lambda: _offset_counts(sents, relation, ks, low=1)),
        ("オフセットの向きが逆です: k = +1 は「すぐ右の単語」(i + 1) です。", lambda: _offset_counts(sents, relation, ks, sign=-1)),
        ("オフセットの向きが逆です: k = +1 は「すぐ右の単語」(i + 1) です。",
         lambda: _offset_counts(sents, relation, ks, sign=-1, clip=False)),
        ("単語の番号が 0 始まりです: heads は 1 始まりなので、enumerate(..., start=1) で数えます。",
         lambda: _offset_counts(sents, relation, ks, start=0)),
        ("単語の番号が 0 始まりです: heads は 1 始まりなので、enumerate(..., start=1) で数えます。",
         lambda: _offset_counts(sents, relation, ks, start=0, clip=False)),
        (f"下位分類 ({relation}:xxx) の単語が抜けています: r.split(\":\")[0] == {relation!r} で比べましょう。",
         lambda: _offset_counts(sents, relation, ks, exact=True)),
        ("当たった数のままです: その関係の単語の数で割って割合にします。", lambda: _offset_counts(sents, relation, ks, count=True)),
    ])
    n = int(table.loc[relation, "n"])
    best = max(want, key=want.get)
    return f"{relation} ({n} 語): 最良のオフセットは {best:+d} ({want[best]:.0%})。au.syntax_baseline と同じ定義 (文の端で切り詰め) です。"


__all__ = [name for name in dir() if name.startswith("check_")]
