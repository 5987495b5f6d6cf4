"""One self-check per exercise (「練習」) of notebooks 01-03, and the reference computations all checks share.

Each check recomputes the right answer itself, from the data it is given
(never from a stored number), so it stays true for whichever model ran.
Learner answers come first (positional); the data to check against is passed
by keyword. A check that takes a learner's *function* calls it on inputs of its
own (several shapes, rows of zeros, very large scores), so a function that only
works on the notebook's example, or numbers typed in from a printed table,
cannot pass. When an answer is wrong, the check recomputes what the common
mistakes give (the wrong axis, log2, the global maximum, 1-based layers, the
transposed map ...) and names the mistake the answer matches.
"""
from __future__ import annotations

import inspect
from typing import Any, Callable, Sequence

import numpy as np

from .core import (
    ExerciseError,
    _fmt_shape,
    as_position,
    call_learner,
    check_close,
    check_rows_sum_to_one,
    check_shape,
    diagnose,
    exercise,
    judge_head,
    judge_key,
    same,
    to_array,
    to_number,
)

# --- reference computations (plain numpy, written out so the check never trusts the code it checks) ---


def row_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy (nats) of every row of ``[..., query, key]``, averaged over queries -> ``[...]``; 0 log 0 = 0."""
    return _row_entropies(weights).mean(-1)


def softmax_rows(scores: np.ndarray) -> np.ndarray:
    """Row-wise softmax of ``[..., key]`` with the row maximum subtracted first."""
    e = np.exp(scores - scores.max(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def rollout_layers(weights: np.ndarray, residual: float = 0.5) -> np.ndarray:
    """Rollout ``A'_{L-1} ... A'_1 A'_0`` of ``[layer, head, query, key]`` with ``A' = (1-r) mean_h A + r I``."""
    n = weights.shape[-1]
    result = np.eye(n)
    for layer in np.asarray(weights, dtype=np.float64):
        a = (1 - residual) * layer.mean(0) + residual * np.eye(n)
        result = (a / a.sum(-1, keepdims=True)) @ result
    return result


def previous_token_share(weights: np.ndarray) -> np.ndarray:
    """``[layer, head]``: the share of rows 1..n-1 whose largest weight is on the token just before."""
    w = np.asarray(weights)
    n = w.shape[-1]
    return (w[..., 1:, :].argmax(-1) == np.arange(n - 1)).mean(-1)


def _smoothed_entropy(weights: np.ndarray, eps: float = 1e-4) -> np.ndarray:
    """Clark et al.'s entropy: rows smoothed to ``(1 - eps) a + eps / n`` first (a near miss of the plain one)."""
    w = np.asarray(weights, dtype=np.float64)
    return row_entropy((1 - eps) * w + eps / w.shape[-1])


def _row_entropies(weights: np.ndarray, log: Callable = np.log) -> np.ndarray:
    """Entropy of every row ``[..., query]`` (``log`` chooses the base; 0 log 0 = 0)."""
    w = np.asarray(weights, dtype=np.float64)
    return -(w * log(np.where(w > 0, w, 1.0))).sum(-1)


# --- notebook 01: Q, K, V from scratch -------------------------------------------------

#: Inputs every my_softmax meets: random rows (one of them square, so a missing keepdims shows),
#: very large scores, and rows far apart (where subtracting the *global* maximum gives 0 / 0).
_SOFTMAX_INPUTS = (
    ("乱数のスコア (4, 6)", np.random.default_rng(0).normal(size=(4, 6)) * 3),
    ("乱数のスコア (5, 5)", np.random.default_rng(1).normal(size=(5, 5)) * 3),
    ("1 行だけのスコア", np.random.default_rng(2).normal(size=(1, 7))),
    ("大きなスコア [[1000, 1001, 1002], [-1000, 0, 1000]]", np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])),
    ("離れた行 [[-1000, -999], [0, 1]]", np.array([[-1000.0, -999.0], [0.0, 1.0]])),
)


def _softmax_mistakes(s: np.ndarray) -> list[tuple[str, Callable[[], Any]]]:
    def e_row():
        return np.exp(s - s.max(-1, keepdims=True))

    return [
        ("全体の最大値 (scores.max()) を引いていませんか? 最大値から遠い行は exp がすべて 0 になり 0 / 0 = NaN です。"
         "各行の最大値 scores.max(axis=-1, keepdims=True) を引きましょう。",
         lambda: np.exp(s - s.max()) / np.exp(s - s.max()).sum(-1, keepdims=True)),
        ("exp の前に各行の最大値を引いていないので、大きなスコアで exp があふれて NaN や inf が出ました。"
         "各行の最大値 (scores.max(axis=-1, keepdims=True)) を引きましょう (結果は変わらず、あふれなくなります)。",
         lambda: np.exp(s) / np.exp(s).sum(-1, keepdims=True)),
        ("列ごとに割っています (axis=0)。行ごとなら axis=-1 (と keepdims=True) です。",
         lambda: e_row() / e_row().sum(0, keepdims=True)),
        ("列ごとに割っています (axis=0)。行ごとなら axis=-1 (と keepdims=True) です。",
         lambda: np.exp(s - s.max(0, keepdims=True)) / np.exp(s - s.max(0, keepdims=True)).sum(0, keepdims=True)),
        ("全体の和で割っています。行ごとの和 (sum(axis=-1, keepdims=True)) で割りましょう。",
         lambda: e_row() / e_row().sum()),
        ("全体の和で割っています。行ごとの和 (sum(axis=-1, keepdims=True)) で割りましょう。",
         lambda: np.exp(s - s.max()) / np.exp(s - s.max()).sum()),
        ("行の和で割るときに keepdims=True を付けましたか? 付けないと i 列目が i 行目の和で割られます。",
         lambda: e_row() / e_row().sum(-1)),
        ("最大値を引くときに keepdims=True を付けましたか? 付けないと i 列目から i 行目の最大値が引かれます。",
         lambda: np.exp(s - s.max(-1)) / np.exp(s - s.max(-1)).sum(-1, keepdims=True)),
        ("行の和で割っていません: exp を取ったあと、行ごとの和で割って確率にしましょう。", e_row),
        ("log を取った値 (log softmax) になっています。確率は exp(...) / 和 です。",
         lambda: np.log(softmax_rows(s))),
    ]


@exercise("練習 (softmax を自分で書く)", expects="各行を確率 (0 以上、行の和が 1) に変えた同じ形の配列を返す関数 my_softmax(scores)")
def check_softmax(my_softmax: Callable) -> str:
    """``my_softmax(scores)`` turns each row of a 2-d array into probabilities (numpy or torch)."""
    for what, scores in _SOFTMAX_INPUTS:
        got = to_array(call_learner(my_softmax, scores.copy(), name="my_softmax"), "my_softmax の出力")
        want = softmax_rows(scores)
        if same(got, want, atol=1e-6, rtol=1e-5):
            continue
        name = "my_softmax の出力"
        try:
            diagnose(got, want, _softmax_mistakes(scores), atol=1e-6, rtol=1e-5)
            check_shape(got, scores.shape, name)
            if not np.isfinite(got).all():
                raise ExerciseError("NaN や inf が出ました。exp の前に各行の最大値を引きましょう。")
            check_rows_sum_to_one(got, atol=1e-6, name=name)
            check_close(got, want, atol=1e-6, rtol=1e-5, name=name)
        except ExerciseError as err:
            raise ExerciseError(f"{what} で: {err}") from None
    return "行の和は 1、大きなスコアや離れた行でもあふれません。"


@exercise("練習 (冠詞を隠すマスク)", expects="mask は (トークン数, トークン数) の True/False (または 1/0) の配列、"
          "w_masked は mask を使った attention の重み (同じ形)")
def check_article_mask(mask: Any, w_masked: Any, *, tokens: Sequence[str], Q: np.ndarray, K: np.ndarray) -> str:
    """``mask`` hides the key columns of the articles (True = may attend); ``w_masked`` are the weights with it.

    The mask may be bool or 0/1 ints, numpy, torch or a DataFrame; ``(n,)`` (one value per key) works too.
    """
    n = len(tokens)
    m = to_array(mask, "mask")
    if m.shape not in ((n, n), (n,)):
        raise ExerciseError(f"mask の形が違います: ({n}, {n}) (query × key) のはずですが、{_fmt_shape(m.shape)} でした。")
    if not np.isin(m, (0.0, 1.0)).all():
        raise ExerciseError("mask は True/False (または 1/0) の配列にしましょう。True (1) が「見てよい」です。")
    m = np.broadcast_to(m.astype(bool), (n, n))
    articles = np.array([t.lower() in ("the", "a", "an") for t in tokens])
    want_mask = np.broadcast_to(~articles, (n, n))
    if not np.array_equal(m, want_mask):
        if np.array_equal(m, ~want_mask):
            raise ExerciseError("True と False が逆です: True は「見てよい」、False は「隠す」です。")
        if np.array_equal(m, want_mask.T):
            raise ExerciseError("行 (query) を隠しています。誰からも見られないようにするには、冠詞の**列** (key) を False にします。")
        if np.array_equal(m, want_mask & want_mask.T):
            raise ExerciseError("冠詞の行まで隠しています。隠すのは列 (key) だけです: 冠詞自身は他の単語を見てかまいません。")
        for variant in ({t for t in tokens if t.lower() == "the" and t == "The"},
                        {t for t in tokens if t.lower() == "the" and t != "The"}):
            partial = np.broadcast_to(~np.array([t in variant for t in tokens]), (n, n))
            if variant and np.array_equal(m, partial):
                raise ExerciseError("冠詞の一部しか隠れていません: 大文字の The と小文字の the の両方です "
                                    "(t.lower() == \"the\" で比べましょう)。")
        wrong = [tokens[j] for j in range(n) if not np.array_equal(m[:, j], want_mask[:, j])]
        raise ExerciseError(f"mask が違います: 冠詞 ({', '.join(t for t, a in zip(tokens, articles) if a)}) の列だけを "
                            f"False にします。違っている列: {wrong}")
    w = to_array(w_masked, "w_masked")
    if w.shape == (n, np.shape(Q)[-1]) or (w.ndim == 2 and w.shape[0] == n and w.shape[1] != n):
        raise ExerciseError("w_masked の形が (トークン数, 次元) です: au.scaled_dot_product は (出力, 重み) の 2 つを返します。"
                            "2 つ目の重みを入れましょう (_, w_masked = ...)。")
    check_shape(w, (n, n), "w_masked")
    scores = Q @ K.T / np.sqrt(Q.shape[-1])
    want = softmax_rows(np.where(want_mask, scores, -np.inf))
    if not same(w, want, atol=1e-6, rtol=1e-5):
        plain = softmax_rows(scores)
        diagnose(w, want, [
            ("w_masked が隠す前の重みと同じです: mask=mask を au.scaled_dot_product に渡しましたか?", lambda: plain),
            ("softmax の後で冠詞の列を 0 にしただけでは、行の和が 1 になりません。スコアを -inf にしてから softmax します "
             "(au.scaled_dot_product(Q, K, V, mask=mask))。", lambda: np.where(want_mask, plain, 0.0)),
            ("√d で割っていません: スコアは Q K^T / √d です (au.scaled_dot_product が割ります)。",
             lambda: softmax_rows(np.where(want_mask, Q @ K.T, -np.inf))),
            ("w_masked が転置されています: 行 = query、列 = key のままにしましょう。", lambda: want.T),
            ("True と False が逆の mask で計算した重みです: True は「見てよい」です。",
             lambda: softmax_rows(np.where(~want_mask, scores, -np.inf))),
        ])
        check_rows_sum_to_one(w, atol=1e-6, name="w_masked")
        if np.abs(w[:, articles]).max() > 1e-9:
            raise ExerciseError("冠詞の列の重みが 0 になっていません。mask を scaled_dot_product に渡しましたか?")
        check_close(w, want, atol=1e-6, rtol=1e-5, name="w_masked")
    return "隠した列は 0、残りの列は元の比率のまま和が 1 になりました。"


#: (T, d_model, h) for the split/merge check: several shapes, so a function that borrows T or h from outside fails.
_SPLIT_SHAPES = ((5, 8, 2), (5, 8, 4), (7, 12, 3), (3, 6, 6))


@exercise("練習 (ヘッドに分けて、つなぎ直す)", expects="split_heads(M, h) は (h, T, d_head) の配列、merge_heads(H) は (T, h*d_head) の配列を返す関数")
def check_split_merge(split_heads: Callable, merge_heads: Callable) -> str:
    """``split_heads(M, h)``: ``(T, d_model) -> (h, T, d_head)``; ``merge_heads`` undoes it (numpy or torch)."""
    for T, d_model, h in _SPLIT_SHAPES:
        where = f"M の形 ({T}, {d_model})、h = {h} のとき: "
        try:
            _split_merge_once(split_heads, merge_heads, T, d_model, h)
        except ExerciseError as err:
            raise ExerciseError(str(err) if str(err).startswith("M の形") else where + str(err)) from None
    return "ヘッド i は列のブロック i、merge_heads(split_heads(M)) は M に戻ります (4 通りの形で確かめました)。"


def _split_merge_once(split_heads: Callable, merge_heads: Callable, T: int, d_model: int, h: int) -> None:
    __tracebackhide__ = True
    d = d_model // h
    M = np.arange(T * d_model, dtype=float).reshape(T, d_model)
    where = f"M の形 ({T}, {d_model})、h = {h} のとき: "
    want = M.reshape(T, h, d).transpose(1, 0, 2)
    parts = to_array(call_learner(split_heads, M.copy(), h, name="split_heads"), "split_heads の出力")
    if not np.array_equal(parts, want):
        try:
            diagnose(parts, want, [
                ("M.reshape(h, T, d_head) では行をまたいで詰め直すので、トークンと次元が混ざります。"
                 "まず (T, h, d_head) に reshape してから transpose(1, 0, 2) しましょう。", lambda: M.reshape(h, T, d)),
                ("(T, h, d_head) のままです。transpose(1, 0, 2) で (h, T, d_head) にしましょう。",
                 lambda: M.reshape(T, h, d)),
                ("ヘッド i が M の飛び飛びの列になっています。ヘッド i は連続した列のブロック i*d_head 〜 (i+1)*d_head - 1 です: "
                 "reshape(T, h, d_head) の順に切りましょう。", lambda: M.reshape(T, d, h).transpose(2, 0, 1)),
                ("軸の順番が違います: (h, T, d_head) になるよう transpose(1, 0, 2) です。",
                 lambda: M.reshape(T, h, d).transpose(1, 2, 0)),
            ], atol=0, rtol=0)
        except ExerciseError as err:
            raise ExerciseError(where + str(err)) from None
        check_shape(parts, (h, T, d), where + "split_heads の出力")
        bad = next(i for i in range(h) if not np.array_equal(parts[i], want[i]))
        raise ExerciseError(where + f"ヘッド {bad} が M の列 {bad * d}〜{(bad + 1) * d - 1} になっていません。")
    back = to_array(call_learner(merge_heads, want.copy(), name="merge_heads"), "merge_heads の出力")
    if not np.array_equal(back, M):
        try:
            diagnose(back, M, [
                ("(h, T, d_head) をそのまま reshape すると、ヘッドとトークンが混ざります。まず transpose(1, 0, 2) で "
                 "(T, h, d_head) に戻してから reshape(T, h * d_head) しましょう。", lambda: want.reshape(T, d_model)),
                ("軸の戻し方が違います: transpose(1, 0, 2) で (T, h, d_head) にしてから reshape します。",
                 lambda: want.transpose(1, 2, 0).reshape(T, d_model)),
            ], atol=0, rtol=0)
        except ExerciseError as err:
            raise ExerciseError(where + str(err)) from None
        check_shape(back, M.shape, where + "merge_heads の出力")
        check_close(back, M, atol=0, rtol=0, name=where + "merge_heads(split_heads(M, h))")


def _call_measure(measure: Callable, d: int) -> float:
    required = 1
    try:
        params = [p for p in inspect.signature(measure).parameters.values()
                  if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        required = len(params)
    except (TypeError, ValueError):
        pass
    args = (d, np.random.default_rng()) if required == 2 else (d,)
    return to_number(call_learner(measure, *args, name="dot_std", torch_ok=False), f"dot_std({d}) の戻り値",
                     hint=" 1 つの d について、内積の標準偏差を 1 つ返しましょう。")


@exercise("練習 (内積の標準偏差と √d)", expects="次元 d を受け取り、乱数で測った内積 q·k の標準偏差 (数 1 つ) を返す関数 dot_std(d)")
def check_dot_std(dot_std: Any, *, dims: Sequence[int] | None = None) -> str:
    """``dot_std(d)``: the measured standard deviation of q·k for random q, k of dimension ``d``.

    The check calls the function with dimensions it draws itself (not the
    notebook's), so printed numbers typed in cannot pass, and rejects ``sqrt(d)``
    returned without measuring (a measurement always has sampling noise).
    ``dot_std(d, rng)`` also works (the check passes a generator). ``dims`` is
    accepted for the notebook's call and not used.
    """
    if not callable(dot_std):
        raise ExerciseError("測る関数を渡しましょう (数のリストではありません): def dot_std(d): で、乱数の q, k を作って "
                            "内積の標準偏差を返し、ex.check_dot_std(dot_std) とします。自己チェックはノートブックと違う d で"
                            "関数を呼んで確かめるので、表の数を書き写しても通りません。")
    rng = np.random.default_rng()
    test_dims = sorted(int(d) for d in rng.choice([6, 10, 12, 20, 24, 36, 48, 80, 100, 120], size=3, replace=False))
    got = np.array([_call_measure(dot_std, d) for d in test_dims])
    return _dot_std_verdict(got, test_dims)


def _dot_std_verdict(got: np.ndarray, test_dims: Sequence[int]) -> str:
    """check_dot_std's verdict on the measured standard deviations ``got`` at the dimensions it drew."""
    want = np.sqrt(test_dims)
    if np.allclose(got, want, rtol=1e-9, atol=0):
        raise ExerciseError("どの d でも √d ぴったりです: 測っていませんね。乱数の q, k を作って内積 (q * k).sum(axis=-1) の "
                            "標準偏差を測りましょう (測った値は √d の近くで少しゆれます)。")
    ratio = got / want
    if np.abs(ratio - 1).max() <= 0.1:
        return f"d = {', '.join(map(str, test_dims))} で測った標準偏差は √d にほぼ等しい (比: {', '.join(f'{r:.2f}' for r in ratio)})。"
    if np.allclose(got, 1.0, atol=0.15):
        raise ExerciseError("どの d でもほぼ 1 です: √d で割った後の値を測っていませんか? 割る前の内積を測りましょう。")
    if np.allclose(got / np.asarray(test_dims, float), 1.0, atol=0.15):
        raise ExerciseError("標準偏差ではなく分散 (var) を測っていませんか? np.std を使いましょう。")
    # spread 1 / √d: q·k made with the mean over the d components instead of their sum, or q and k
    # normalised to length 1 (both give exactly this)
    if np.allclose(got * np.sqrt(test_dims), 1.0, atol=0.15):
        raise ExerciseError("ほぼ 0 です (d が大きいほど小さく、ほぼ 1/√d): 内積を成分の平均 (mean(axis=-1)) で作ったか、"
                            "q, k を長さ 1 に正規化していませんか? 各成分を平均 0・分散 1 の乱数のままにして、"
                            "成分ごとの積の和 (sum(axis=-1)) をとりましょう。")
    # the mean of q·k instead of its spread: about N(0, d / n) for n pairs, so a few hundredths of √d at most
    # (by the ratio at each d, not by the largest value against the smallest √d: three close dimensions
    # then took the uniform numbers' 0.22 √d for 0)
    if np.abs(ratio).max() < 0.1:
        raise ExerciseError("ほぼ 0 です: 内積の平均 (mean) を測っていませんか? ばらつき (np.std) を測りましょう。")
    if np.allclose(ratio, np.sqrt(1 / 9 - 1 / 16) / 1.0, atol=0.05) or np.allclose(ratio, np.sqrt(1 / 9), atol=0.05):
        raise ExerciseError("rng.random (0〜1 の一様乱数) を使っていませんか? 平均 0・分散 1 の乱数は rng.normal です。")
    i = int(np.argmax(np.abs(ratio - 1)))
    raise ExerciseError(f"d = {test_dims[i]} で {got[i]:.3g} でした。乱数を 1 万組以上使うと √d = {want[i]:.3g} の ±10% に"
                        "入るはずです。各成分が平均 0・分散 1 の乱数 (rng.normal) か、内積を足す軸 (axis=-1) が正しいか、"
                        "確かめましょう。")


@exercise("練習 (√d を外すとエントロピーは?)", expects="entropy_scaled と entropy_unscaled: それぞれ層ごとの平均エントロピー (形 (layer,))")
def check_scaling_entropy(entropy_scaled: Any, entropy_unscaled: Any, *, lm: Any, text: str) -> str:
    """Per-layer mean row entropy ``[layer]`` (nats) of the model's attention with and without dividing by √d."""
    from ..scratch import recompute_attention

    scaled, _ = recompute_attention(lm, text)
    unscaled, _ = recompute_attention(lm, text, scale=False)
    scaled, unscaled = np.asarray(scaled, np.float64), np.asarray(unscaled, np.float64)
    want_s, want_u = row_entropy(scaled).mean(-1), row_entropy(unscaled).mean(-1)  # [layer]
    L, H, n = scaled.shape[0], scaled.shape[1], scaled.shape[-1]
    got_s, got_u = to_array(entropy_scaled, "entropy_scaled"), to_array(entropy_unscaled, "entropy_unscaled")
    tol = dict(atol=5e-5, rtol=1e-5)
    if same(got_s, want_s, **tol) and same(got_u, want_u, **tol):
        lower = int((want_u < want_s).sum())
        return f"√d を外すと {lower} / {L} 層でエントロピーが下がりました (attention が一点に集中する)。"
    if same(got_s, want_u, **tol) and same(got_u, want_s, **tol):
        raise ExerciseError("2 つが入れ替わっています: entropy_scaled が √d で割ったほう (recompute_attention の既定) です。")
    for got, want, w, name in ((got_s, want_s, scaled, "entropy_scaled"), (got_u, want_u, unscaled, "entropy_unscaled")):
        if same(got, want, **tol):
            continue
        if got.shape == (L, H):
            raise ExerciseError(f"{name} の形が (layer, head) です。ヘッドと query の両方について平均して、層ごとの値 "
                                f"(形 ({L},)) にしましょう: mean(axis=(1, 2))。")
        if got.ndim == 0:
            raise ExerciseError(f"{name} が数 1 つです。層ごとの値 (形 ({L},)) にしましょう: ヘッドと query についてだけ平均します。")
        if np.isnan(got).any():
            raise ExerciseError(f"{name} に NaN があります: 重みがちょうど 0 の所で 0 × log 0 になっています。"
                                "0 の項は 0 と数えましょう (例: np.log(np.where(w > 0, w, 1)))。")
        rows = _row_entropies(w)  # [layer, head, query]
        other_w = unscaled if name == "entropy_scaled" else scaled
        diagnose(got, want, [
            ("log2 を使っていませんか? このシリーズのエントロピーは自然対数 (np.log, 単位 nat) です。", lambda: want / np.log(2)),
            ("log10 を使っていませんか? このシリーズのエントロピーは自然対数 (np.log, 単位 nat) です。", lambda: want / np.log(10)),
            ("層の順番が逆です: 第 0 層から順に、層ごとの値を並べます。", lambda: want[::-1]),
            ("entropy_scaled と entropy_unscaled が同じ重みから計算されています: entropy_unscaled は "
             "recompute_attention(..., scale=False) (√d で割らない) の重みで、entropy_scaled は √d で割った重み (既定) です。",
             lambda: row_entropy(other_w).mean(-1)),
            ("ヘッドを平均した重みのエントロピーになっています: 先にヘッドごと・行ごとにエントロピーを計算し、それから平均します "
             "(平均した重みのエントロピーは、エントロピーの平均より大きくなります)。", lambda: row_entropy(w.mean(1))),
            ("ln n で割っていませんか? ここでは割らないエントロピー (nat) をそのまま平均します。", lambda: want / np.log(n)),
            ("Clark らの平滑化 ((1 - 1e-4) a + 1e-4 / n) をしていませんか? ここでは平滑化しない素のエントロピーです "
             "(差は 1e-3 ほどですが、見分けられます)。", lambda: _smoothed_entropy(w).mean(-1)),
            ("query について合計していませんか? 行ごとのエントロピーを query とヘッドについて平均します。", lambda: rows.sum(-1).mean(-1)),
            ("ヘッドについて合計していませんか? ヘッドについても平均します。", lambda: rows.mean(-1).sum(-1)),
            ("層ではなくヘッドごとの値になっています: 残す軸は層 (axis=0) で、ヘッドと query (axis=(1, 2)) について平均します。",
             lambda: rows.mean(axis=(0, 2))),
            ("符号が逆です: H = -Σ a log a です (エントロピーは 0 以上)。", lambda: -want),
            ("key ではなく query の軸で足していませんか? 行 (query) ごとに、key について (axis=-1) 足します。",
             lambda: (-(w * np.log(np.where(w > 0, w, 1.0))).sum(-2)).mean(-1).mean(-1)),
        ], **tol)
        check_close(got, want, name=name, **tol)
    raise AssertionError("unreachable")  # pragma: no cover


# --- notebook 02: BERT's attention --------------------------------------------------------


def _guess_verdict(guess: Any, pos: int, labels: Sequence[str], tokens: Sequence[str] | None = None) -> str:
    if guess is None or guess is ...:
        return ""
    try:
        g, _ = as_position(guess, labels, "予想", tokens)
    except ExerciseError:
        return f" 予想 ({guess}) は候補の中にありませんでした。"
    return " 予想どおりでした。" if g == pos else f" 予想 ({labels[g]}) とは違いました。"


_NO_GUESS = None


@exercise("練習 (いちばん見られている key)", expects="key のラベル (文字列、例: 'dog') か位置 (整数)")
def check_top_key(answer: Any, *, att: Any, query: str, layer: int = -1, head: int = 0, guess: Any = _NO_GUESS) -> str:
    """The key (label or 0-based position) that ``query`` weights most in one head; ``guess=`` is compared if given."""
    q = att.position(query)
    w = np.asarray(att.weights, dtype=float)
    scores = w[layer, head, q]
    pos, how = judge_key(answer, scores, att.labels, f"{query} がいちばん見る key", att.tokens, [
        ("それは列 (この token を見ている query) の最大です。行 = query なので、att.frame(...).loc[query] の行で最大の key を探します。",
         lambda: w[layer, head, :, q]),
        ("それは最小の key です: idxmin ではなく idxmax を使いましょう。", lambda: -scores),
        ("別の層を見ていませんか? 最終層は layer=-1 です。", lambda: w[0, head, q]),
        ("ヘッドの平均になっていませんか? ヘッド 0 の表 (att.frame(layer=-1, head=0)) の行を見ます。", lambda: w[layer, :, q].mean(0)),
    ])
    return f"{query} → {att.labels[pos]} ({scores[pos]:.2f}; {how} で答えました)。" + _guess_verdict(guess, pos, att.labels,
                                                                                                att.tokens)


def _expect_top(values: np.ndarray, layer: int, head: int, message: Callable[[int, int], str]) -> None:
    """Fail with ``message(best_layer, best_head)`` unless ``values[layer, head]`` is the largest of ``[layer, head]``."""
    __tracebackhide__ = True
    if values[layer, head] < values.max() - 1e-9:
        l2, h2 = map(int, np.unravel_index(values.argmax(), values.shape))
        raise ExerciseError(message(l2, h2))


@exercise("練習 (直前のトークンを見るヘッドを探す)", expects="prev_share は [layer, head] の割合の配列、best は (層, ヘッド) の組 (0 始まり)")
def check_previous_token_head(prev_share: Any, best: Any, *, att: Any) -> str:
    """``prev_share[layer, head]`` and the head where it is largest (0-based; negative indices allowed)."""
    w = np.asarray(att.weights, dtype=float)
    n = w.shape[-1]
    L, H = w.shape[:2]
    want = previous_token_share(w)
    got = to_array(prev_share, "prev_share")
    if got.shape == (H, L) and L != H:
        raise ExerciseError(f"prev_share の形が (head, layer) = {got.shape} です。[layer, head] = ({L}, {H}) の順にしましょう。")
    if not same(got, want, atol=1e-9, rtol=0):
        diagnose(got, want, [
            ("行と列が逆です: 行 = query (見ている側) ごとに argmax を取り (axis=-1)、それが 1 つ前の位置 (i - 1) かどうかを数えます。",
             lambda: previous_token_share(np.swapaxes(w, -1, -2))),
            ("直後 (i + 1) を数えていませんか? 直前 (i - 1) のトークンです。",
             lambda: (w[..., :-1, :].argmax(-1) == np.arange(1, n)).mean(-1)),
            ("自分自身 (i) と比べていませんか? 行 1 以降の argmax を np.arange(n - 1) (= i - 1) と比べます。",
             lambda: (w[..., 1:, :].argmax(-1) == np.arange(1, n)).mean(-1)),
            ("行 0 も数えていませんか? 行 0 には直前のトークンがないので、行 1〜n-1 の n - 1 行で割合を取ります。",
             lambda: (w.argmax(-1) == np.arange(n) - 1).mean(-1)),
            ("直前への重みの平均になっています。数えるのは「最大の重みが直前にある行」の割合です (argmax)。",
             lambda: w[..., np.arange(1, n), np.arange(n - 1)].mean(-1)),
            ("行の数を数えたままです。割合にするには n - 1 で割ります (.mean(axis=-1))。",
             lambda: (w[..., 1:, :].argmax(-1) == np.arange(n - 1)).sum(-1)),
        ], atol=1e-6, rtol=0)
        check_close(got, want, atol=1e-9, rtol=0, name="prev_share")
    layer, head = judge_head(best, want, "best", lambda l, h, l2, h2: (
        f"第 {l} 層ヘッド {h} の割合は {want[l, h]:.0%} ですが、もっと高いヘッドがあります (たとえば第 {l2} 層ヘッド {h2}: "
        f"{want.max():.0%})。"))
    return f"第 {layer} 層ヘッド {head}: {n - 1} 行中 {want.max():.0%} が直前のトークンを最も見ています。"


@exercise("練習 (主語と目的語を入れ替える)", expects="(層, ヘッド) の組 (0 始まり)")
def check_strongest_pair_head(best: Any, *, att: Any, query: str, key: str) -> str:
    """The (layer, head) with the largest ``query -> key`` weight in ``att``."""
    values = att.pair(query, key).to_numpy(dtype=float)
    layer, head = judge_head(best, values, "best", lambda l, h, l2, h2: (
        f"第 {l} 層ヘッド {h} の {query} → {key} は {values[l, h]:.2f} ですが、最大は第 {l2} 層ヘッド {h2} の "
        f"{values.max():.2f} です。att.pair と au.strongest_head を使いましょう。"), candidates=[
        (f"query と key が逆です: {key} → {query} ではなく、att.pair({query!r}, {key!r}) ({query} が {key} を見る重み) です。",
         lambda: att.pair(key, query).to_numpy(dtype=float)),
    ])
    return f"{query} → {key} が最大のヘッド: 第 {layer} 層ヘッド {head} ({values.max():.2f})。"


def _drawn_matrices(fig: Any) -> list[np.ndarray]:
    """The matrices drawn in ``fig``: imshow/matshow images and pcolormesh/seaborn meshes."""
    out = []
    for ax in fig.axes:
        for im in ax.get_images():
            out.append(np.asarray(im.get_array(), dtype=float))
        for coll in ax.collections:
            arr = coll.get_array() if hasattr(coll, "get_array") else None
            if arr is None or not hasattr(coll, "get_coordinates"):
                continue
            arr = np.ma.filled(np.ma.asarray(arr, dtype=float), np.nan)
            rows, cols = (s - 1 for s in coll.get_coordinates().shape[:2])
            if arr.size == rows * cols:
                out.append(arr.reshape(rows, cols))
    return out


@exercise("練習 ([CLS] を最も見るヘッドを描く)", expects="cls_head は (層, ヘッド) の組、fig は au.plot_heatmap(...) が返す図 (Figure)")
def check_cls_head_figure(best: Any, fig: Any, *, att: Any, token: str = "[CLS]") -> str:
    """The head whose rows put the most weight (mean over queries) on ``token``, and a heatmap of it.

    ``fig`` is a matplotlib Figure holding an imshow/matshow image or a pcolormesh
    (seaborn) mesh of that head's ``[query, key]`` weights.
    """
    from matplotlib.axes import Axes
    from matplotlib.figure import Figure

    w = np.asarray(att.weights, dtype=float)
    col = att.position(token)
    share = w[..., col].mean(-1)  # [layer, head]
    cands = [(f"それは平均ではなく最大の重みで選んだヘッドです。各行から {token} への重みの平均 (mean(axis=-1)) で比べます。",
              lambda: w[..., col].max(-1))]
    if token == "[CLS]" and "[SEP]" in att.tokens:
        cands.append(("それは [SEP] を最も見るヘッドです。[CLS] の列 (att.position('[CLS]')) を使いましょう。",
                      lambda: w[..., att.position("[SEP]")].mean(-1)))
    layer, head = judge_head(best, share, "cls_head", lambda l, h, l2, h2: (
        f"第 {l} 層ヘッド {h} の {token} への重みは平均 {share[l, h]:.2f} ですが、最大は第 {l2} 層ヘッド {h2} の "
        f"{share.max():.2f} です。"), candidates=cands)
    if isinstance(fig, Axes):
        raise ExerciseError("fig が Axes (ax、図の中の 1 枠) です。図全体 (Figure) を入れましょう: fig = ax.figure、または "
                            "fig = au.plot_heatmap(...) の戻り値をそのまま。")
    if not isinstance(fig, Figure):
        raise ExerciseError(f"fig は matplotlib の図 (Figure) のはずですが、{type(fig).__name__} でした。"
                            "fig = au.plot_heatmap(...) の戻り値を入れましょう。")
    drawn = _drawn_matrices(fig)
    if not drawn:
        raise ExerciseError("fig に図 (ヒートマップ) が見つかりません。fig = au.plot_heatmap(...) の戻り値を入れましょう。")
    want = w[layer, head]
    if any(m.shape == want.shape and np.allclose(m, want, atol=1e-6) for m in drawn):
        return f"第 {layer} 層ヘッド {head} は平均 {share.max():.0%} の重みを {token} に置いています。"
    if any(m.shape == want.shape and np.allclose(m, want.T, atol=1e-6) for m in drawn):
        raise ExerciseError("図の行列が転置されています: 行 = query、列 = key のまま描きましょう。")
    for m in drawn:
        for l2, h2 in np.ndindex(*w.shape[:2]):
            if m.shape == want.shape and np.allclose(m, w[l2, h2], atol=1e-6):
                hint = " 1 始まりの番号で描いていませんか?" if (l2, h2) == (layer + 1, head + 1) else ""
                raise ExerciseError(f"図は第 {l2} 層ヘッド {h2} の重みです。第 {layer} 層ヘッド {head} を描きましょう。{hint}")
    raise ExerciseError(f"図に描かれた行列が第 {layer} 層ヘッド {head} の重みと一致しません。")


# --- notebook 03: layers and heads -------------------------------------------------------


def _entropy_inputs(att: Any) -> list[tuple[str, np.ndarray]]:
    zeros = np.array([[[[1.0, 0.0, 0.0], [0.5, 0.5, 0.0], [0.2, 0.3, 0.5]],
                       [[0.0, 1.0, 0.0], [1 / 3, 1 / 3, 1 / 3], [0.25, 0.75, 0.0]]]])  # [1, 2, 3, 3]: exact zeros
    rect = np.random.default_rng(3).dirichlet(np.ones(6), size=(2, 3, 4))  # [2, 3, 4 queries, 6 keys]
    return [("0 を含む重み ([.5, .5, 0] の行など)", zeros), ("query 4 × key 6 の乱数の重み", rect),
            ("att.weights", np.asarray(att.weights).copy())]


@exercise("練習 (エントロピーを自分で計算する)", expects="[layer, head, query, key] の重みから [layer, head] の配列を返す関数 my_entropy(weights)")
def check_row_entropy(my_entropy: Callable, *, att: Any) -> str:
    """``my_entropy(weights)``: ``[layer, head, query, key] -> [layer, head]``, mean row entropy in nats (0 log 0 = 0).

    Tried on rows with exact zeros (a row ``[.5, .5, 0]`` has entropy ln 2), on
    a non-square map (query != key) and on ``att.weights``; tolerance 1e-5 nats,
    so Clark's smoothed entropy (off by ~1e-3) does not pass.
    """
    for what, w in _entropy_inputs(att):
        got = to_array(call_learner(my_entropy, w.copy(), name="my_entropy"), "my_entropy の出力")
        want = row_entropy(w)
        tol = dict(atol=1e-5, rtol=1e-6)
        if same(got, want, **tol):
            continue
        rows = _row_entropies(w)
        where = f"{what} で: "
        if got.shape == rows.shape and got.shape != want.shape:
            raise ExerciseError(where + "出力が [layer, head, query] (行ごとのエントロピー) のままです。query について平均して "
                                "[layer, head] にしましょう (.mean(axis=-1))。")
        with np.errstate(all="ignore"):  # scipy.stats.entropy(w) without axis=: normalised along axis 0 (layers)
            p0 = w / w.sum(0, keepdims=True)  # 0 / 0 = NaN where a column is all zeros, as scipy gives
            terms = np.where(np.isnan(p0), np.nan, -p0 * np.log(np.where(p0 > 0, p0, 1.0)))
            scipy_axis0 = terms.sum(0).mean(-1)
        if same(got, scipy_axis0, atol=1e-5, rtol=1e-6):
            raise ExerciseError(where + "scipy.stats.entropy は axis を指定しないと最初の軸 (axis=0、ここでは層) で計算します。"
                                "行ごとなら axis=-1 を付けましょう: scipy.stats.entropy(w, axis=-1).mean(-1)。")
        if np.isnan(got).any():
            raise ExerciseError(where + "重みが 0 の所で NaN になりました (0 × log 0)。0 の項は 0 として数えましょう "
                                "(例: np.log(np.where(w > 0, w, 1)))。")
        try:
            diagnose(got, want, [
                ("log2 を使っていませんか? 自然対数 np.log (単位 nat) で計算しましょう。", lambda: want / np.log(2)),
                ("log10 を使っていませんか? 自然対数 np.log (単位 nat) で計算しましょう。", lambda: want / np.log(10)),
                ("query について合計していませんか? 行ごとのエントロピーを query について平均します。", lambda: rows.sum(-1)),
                ("key について平均していませんか? 1 行の中では key について足し (sum)、それから query について平均します。",
                 lambda: (rows / w.shape[-1]).mean(-1)),
                ("符号が逆です: H = -Σ a log a です (エントロピーは 0 以上)。", lambda: -want),
                ("0 を含む行のエントロピーが 0 になっています: 行ごとの NaN を 0 にする (np.nan_to_num) と、"
                 "[.5, .5, 0] の行 (正しくは ln 2 = 0.693) も 0 になります。0 の項だけを 0 と数えましょう "
                 "(例: np.log(np.where(w > 0, w, 1)))。",
                 lambda: np.nan_to_num(-(w * np.log(w)).sum(-1)).mean(-1)),
                ("Clark らの平滑化 ((1 - 1e-4) a + 1e-4 / n) をしていませんか? ここでは平滑化しない素のエントロピーです "
                 "(差は 1e-3 ほどですが、見分けられます)。", lambda: _smoothed_entropy(w)),
                ("key ではなく query の軸で足していませんか? 行 (query) ごとに key について (axis=-1) 足します。",
                 lambda: (-(w * np.log(np.where(w > 0, w, 1.0))).sum(-2)).mean(-1)),
            ], **tol)
        except ExerciseError as err:
            raise ExerciseError(where + str(err)) from None
        check_close(got, want, name=where + "my_entropy の出力 ([layer, head])", **tol)
    return f"一様なら ln n = {np.log(len(att)):.2f}、1 点に集中なら 0 です。"


def _rollout_product(weights: np.ndarray, residual: float, matmul: Callable) -> np.ndarray:
    n = weights.shape[-1]
    result = np.eye(n)
    for layer in weights:
        a = (1 - residual) * layer.mean(0) + residual * np.eye(n)
        result = matmul(a / a.sum(-1, keepdims=True), result)
    return result


def _rollout_mistakes(w: np.ndarray, r: float, want: np.ndarray) -> list[tuple[str, Callable[[], Any]]]:
    n = w.shape[-1]
    return [
        ("掛ける順番が逆です: 後の層を左から掛けます (rolled = A @ rolled、つまり A'_2 @ A'_1 @ A'_0)。",
         lambda: rollout_layers(w[::-1], r)),
        ("残差の分 (単位行列) を混ぜ忘れていませんか? A' = (1 - r) A + r I です。", lambda: rollout_layers(w, 0.0)),
        ("残差の重みが逆です: A' = (1 - r) × (ヘッド平均) + r × I です。", lambda: rollout_layers(w, 1 - r)),
        ("要素ごとの積 (*) になっています。層を重ねるのは行列の積 (@) です。", lambda: _rollout_product(w, r, np.multiply)),
        ("ヘッドではなく query の軸で平均していませんか? ヘッドの平均は layer.mean(axis=0) です。",
         lambda: _rollout_product(w.mean(-2, keepdims=True).repeat(n, -2), r, np.matmul)),
        ("結果が転置されています: 行 = query、列 = key のままにしましょう。", lambda: want.T),
        ("行の和を 1 にし忘れていませんか? 残差を混ぜたあと、各行を行の和で割ります。",
         lambda: _rollout_plus_identity(w)),
        ("ヘッドの平均ではなく最大を取っていませんか? ヘッドは平均します (mean(axis=0))。",
         lambda: _rollout_product(w.max(1, keepdims=True), r, np.matmul)),
    ]


def _rollout_plus_identity(weights: np.ndarray) -> np.ndarray:
    """A common slip: ``A + I`` (rows summing to 2) multiplied without dividing by the row sums."""
    n = weights.shape[-1]
    result = np.eye(n)
    for layer in weights:
        result = (layer.mean(0) + np.eye(n)) @ result
    return result


@exercise("練習 (rollout を 3 層分、手で計算する)", expects="第 0〜2 層の rollout: (トークン数, トークン数) の配列")
def check_rollout_three(rolled: Any, *, att: Any) -> str:
    """Rollout of layers 0, 1, 2: ``A'_2 A'_1 A'_0`` with ``A' = 0.5 mean_h A + 0.5 I``."""
    w_all = np.asarray(att.weights, dtype=np.float64)
    w = w_all[:3]
    n = len(att)
    want = rollout_layers(w)
    got = to_array(rolled, "rolled")
    check_shape(got, (n, n), "rolled")
    if not same(got, want, atol=2e-6, rtol=1e-5):
        diagnose(got, want, _rollout_mistakes(w, 0.5, want) + [
            ("全部の層を掛けていませんか? 第 0〜2 層の 3 層だけです (range(3))。", lambda: rollout_layers(w_all)),
            ("2 層しか掛けていません: 第 0、1、2 層の 3 層です (range(3))。", lambda: rollout_layers(w_all[:2])),
            ("第 1〜3 層を掛けていませんか? 層は 0 から数えます: 第 0、1、2 層 (range(3))。", lambda: rollout_layers(w_all[1:4])),
            ("最後の 3 層を掛けていませんか? 最初の 3 層、第 0〜2 層です (weights[:3])。", lambda: rollout_layers(w_all[-3:])),
            ("ヘッド 0 だけを使っていませんか? 各層でヘッドを平均します (layer.mean(axis=0))。", lambda: rollout_layers(w[:, :1])),
        ], atol=2e-6, rtol=1e-5)
        check_rows_sum_to_one(got, atol=1e-5, name="rolled")
        check_close(got, want, atol=2e-6, rtol=1e-5, name="rolled")
    return "au.rollout を 3 層に切った結果と同じです。"


@exercise("練習 (直後を見るヘッドをコーパスで探す)", expects="(層, ヘッド) の組 (0 始まり; stats[...].idxmax() がそのまま使えます)")
def check_stats_argmax(best: Any, *, stats: Any, column: str = "next") -> str:
    """The (layer, head) with the largest ``stats[column]`` (``stats`` indexed by ``(layer, head)``)."""
    grid = stats[column].unstack()
    values = grid.to_numpy(dtype=float)
    others = [c for c in stats.columns if c != column and np.issubdtype(stats[c].dtype, np.number)]

    def other(c: str) -> Callable[[], np.ndarray]:
        return lambda: stats[c].unstack().to_numpy(dtype=float)

    layer, head = judge_head(best, values, "best", lambda l, h, l2, h2: (
        f"第 {l} 層ヘッド {h} の {column} は {values[l, h]:.2f} ですが、最大は第 {l2} 層ヘッド {h2} の {values.max():.2f} です。"
        f"stats[{column!r}].idxmax() を使えます。"),
        candidates=[(f"それは列 {c!r} が最大のヘッドです。使う列は {column!r} です。", other(c)) for c in others])
    return f"第 {layer} 層ヘッド {head}: {column} = {values.max():.2f} (コーパス平均)。"


def _piece_positions(pieces: Any, words: Any, word: str) -> list[int]:
    """The positions in ``pieces`` of the tokens that make up ``word`` (by character spans when known)."""
    w_spans, t_spans = getattr(words, "spans", None), getattr(pieces, "spans", None)
    if w_spans is not None and t_spans is not None:
        start, end = w_spans[words.position(word)]
        return [i for i, sp in enumerate(t_spans) if sp is not None and start <= sp[0] and sp[1] <= end]
    toks = list(pieces.tokens)
    for i, tok in enumerate(toks):  # hand-built objects: the run of pieces that spells the word
        text = ""
        for j in range(i, len(toks)):
            text += toks[j][2:] if j > i and toks[j].startswith("##") else toks[j]
            if text.lower() == word.lower():
                return list(range(i, j + 1))
            if not word.lower().startswith(text.lower()):
                break
    return []


def _pieces_of(pieces: Any, words: Any, word: str) -> int:
    """How many tokens of ``pieces`` make up ``word`` of ``words``."""
    found = _piece_positions(pieces, words, word)
    return len(found) if found else len(pieces.tokens) - len(words.tokens) + 1


@exercise("練習 (サブワードの重みを足して単語にする)", expects="数 1 つ (query → 単語 の重み)")
def check_word_weight(weight: Any, *, pieces: Any, words: Any, layer: int, head: int, query: str, word: str) -> str:
    """The word-level weight ``query -> word``: the sum of ``query``'s weights on ``word``'s pieces (tolerance 2e-6)."""
    want = float(words.frame(layer, head).loc[query, word])
    got = to_number(weight, f"{query} → {word} の重み", hint=" サブワードの重みを合計した 1 つの数にしましょう (.sum())。")
    if abs(got - want) <= 2e-6 + 1e-5 * abs(want):
        return f"{query} → {word} = {want:.3f} (words.frame と同じ)。"
    n_pieces = _pieces_of(pieces, words, word)
    cands: list[tuple[str, Callable[[], Any]]] = [
        ("サブワードの重みを平均していませんか? key 側は合計します (どのサブワードへの重みも、その単語への重み)。",
         lambda: want / n_pieces),
        ("向きが逆です: 行 = query ("
         f"{query}) の、列 = key ({word} のサブワード) の重みを足します。", lambda: words.frame(layer, head).loc[word, query]),
        ("行全体を足していませんか? 足すのは単語のサブワードの列だけです (行全体の和は 1)。", lambda: 1.0),
        ("別の層を見ていませんか? 問題の層とヘッド (第 0 層・ヘッド 0) の表を使います。",
         lambda: words.frame(-1, head).loc[query, word]),
    ]
    n_heads = int(np.shape(words.weights)[1]) if hasattr(words, "weights") else 0  # hand-built stand-ins may lack it
    cands += [(f"ヘッド {h2} の重みです: 問題のヘッド ({head}) の表を使います (words.frame(layer, head))。",
               (lambda h2=h2: words.frame(layer, h2).loc[query, word])) for h2 in range(n_heads) if h2 != head % n_heads]
    positions = _piece_positions(pieces, words, word)
    try:
        qrow = np.asarray(pieces.weights, dtype=float)[layer, head, pieces.position(query)]
    except Exception:
        qrow = None
    if positions and qrow is not None:
        part = qrow[positions]
        cands += [
            ("最初のサブワードの重みだけです: 単語の重みは、その単語のすべてのサブワードへの重みの合計です。", lambda: part[0]),
            ("最後のサブワードの重みだけです: 単語の重みは、その単語のすべてのサブワードへの重みの合計です。", lambda: part[-1]),
            ("サブワードの重みの最大を取っていませんか? 合計 (.sum()) します。", lambda: part.max()),
        ]
    diagnose(got, want, cands, atol=2e-6, rtol=1e-5)
    check_close(got, want, atol=2e-6, rtol=1e-5, name=f"{query} → {word} の重み")
    raise AssertionError("unreachable")  # pragma: no cover


__all__ = [name for name in dir() if name.startswith("check_")]
