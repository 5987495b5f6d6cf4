"""One self-check per exercise (「練習」) of notebooks 01-03, and the reference computations all checks share.

Each check recomputes the right answer itself, from the data it is given
(never from a stored number), so it stays true for whichever model ran.
Learner answers come first (positional); the data to check against is passed
by keyword. Messages name the likely mistake where one is common (a reversed
axis, log2 instead of ln, layers multiplied in the wrong order).
"""
from __future__ import annotations

from typing import Any, Callable, Sequence

import numpy as np

from .core import (
    ExerciseError,
    as_layer_head,
    call_learner,
    check_argmax,
    check_close,
    check_equal,
    check_rows_sum_to_one,
    check_shape,
    exercise,
)

# --- reference computations (plain numpy, written out so the check never trusts the code it checks) ---


def row_entropy(weights: np.ndarray) -> np.ndarray:
    """Entropy (nats) of every row of ``[..., query, key]``, averaged over queries -> ``[...]``; 0 log 0 = 0."""
    w = np.asarray(weights, dtype=np.float64)
    return -(w * np.log(np.where(w > 0, w, 1.0))).sum(-1).mean(-1)


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


# --- notebook 01: Q, K, V from scratch -------------------------------------------------


@exercise("練習 (softmax を自分で書く)")
def check_softmax(my_softmax: Callable) -> str:
    """``my_softmax(scores)`` turns each row of a 2-d array into probabilities."""
    rng = np.random.default_rng(0)
    scores = rng.normal(size=(4, 6)) * 3
    got = call_learner(my_softmax, scores.copy(), name="my_softmax")
    check_shape(got, scores.shape, "my_softmax の出力")
    check_rows_sum_to_one(got, name="my_softmax の出力")
    check_close(got, softmax_rows(scores), atol=1e-6, name="my_softmax の出力")
    big = np.array([[1000.0, 1001.0, 1002.0], [-1000.0, 0.0, 1000.0]])
    got_big = np.asarray(call_learner(my_softmax, big.copy(), name="my_softmax"), dtype=float)
    if not np.isfinite(got_big).all():
        raise ExerciseError("大きなスコア (1000 など) で NaN や inf が出ました。exp の前に各行の最大値を引きましょう "
                            "(結果は変わらず、あふれなくなります)。")
    check_close(got_big, softmax_rows(big), atol=1e-6, name="大きなスコアでの出力")
    return "行の和は 1、大きなスコアでもあふれません。"


@exercise("練習 (冠詞を隠すマスク)")
def check_article_mask(mask: Any, w_masked: Any, *, tokens: Sequence[str], Q: np.ndarray, K: np.ndarray) -> str:
    """``mask`` hides the key columns of the articles; ``w_masked`` are the weights with it."""
    n = len(tokens)
    check_shape(mask, (n, n), "mask")
    mask = np.asarray(mask)
    if mask.dtype != bool:
        raise ExerciseError(f"mask は True/False の配列 (dtype=bool) にしましょう。いまは {mask.dtype} です。")
    articles = np.array([t.lower() in ("the", "a", "an") for t in tokens])
    want_mask = np.broadcast_to(~articles, (n, n))
    if np.array_equal(mask, ~want_mask):
        raise ExerciseError("True と False が逆です: True は「見てよい」、False は「隠す」です。")
    check_equal(mask.tolist(), want_mask.tolist(), "mask (冠詞の列だけ False)")
    check_shape(w_masked, (n, n), "w_masked")
    check_rows_sum_to_one(w_masked, name="w_masked")
    w = np.asarray(w_masked, dtype=float)
    if np.abs(w[:, articles]).max() > 1e-9:
        raise ExerciseError("冠詞の列の重みが 0 になっていません。mask を scaled_dot_product に渡しましたか?")
    scores = np.where(want_mask, Q @ K.T / np.sqrt(Q.shape[-1]), -np.inf)
    check_close(w, softmax_rows(scores), atol=1e-6, name="w_masked")
    return "隠した列は 0、残りの列は元の比率のまま和が 1 になりました。"


@exercise("練習 (ヘッドに分けて、つなぎ直す)")
def check_split_merge(split_heads: Callable, merge_heads: Callable) -> str:
    """``split_heads(M, h)``: ``(T, d_model) -> (h, T, d_head)``; ``merge_heads`` undoes it."""
    M = np.arange(5 * 8, dtype=float).reshape(5, 8)
    for h in (2, 4):
        d = 8 // h
        parts = call_learner(split_heads, M, h, name="split_heads")
        check_shape(parts, (h, 5, d), f"split_heads(M, {h}) の出力")
        parts = np.asarray(parts)
        for i in range(h):
            if not np.array_equal(parts[i], M[:, i * d:(i + 1) * d]):
                hint = (" M.reshape(h, T, d) とするとトークンと次元が混ざります。"
                        "まず (T, h, d) に reshape してから transpose(1, 0, 2) しましょう。")
                raise ExerciseError(f"ヘッド {i} が M の列 {i * d}〜{(i + 1) * d - 1} になっていません。{hint}")
        back = call_learner(merge_heads, parts, name="merge_heads")
        check_shape(back, M.shape, "merge_heads の出力")
        check_close(back, M, atol=0, rtol=0, name="merge_heads(split_heads(M, h))")
    return "ヘッド i は列のブロック i、merge_heads(split_heads(M)) は M に戻ります (h = 2, 4)。"


@exercise("練習 (内積の標準偏差と √d)")
def check_dot_std(stds: Any, *, dims: Sequence[int]) -> str:
    """``stds[i]``: the standard deviation of q·k for random q, k of dimension ``dims[i]``."""
    check_shape(stds, (len(dims),), "stds")
    got = np.asarray(stds, dtype=float)
    want = np.sqrt(np.asarray(dims, dtype=float))
    if np.allclose(got, 1.0, atol=0.1) and want.max() > 2:
        raise ExerciseError("どれもほぼ 1 です: √d で割った後の値を測っていませんか? 割る前の内積を測りましょう。")
    if np.allclose(got, want**2, rtol=0.1):
        raise ExerciseError("標準偏差ではなく分散 (var) を測っていませんか? np.std を使いましょう。")
    ratio = got / want
    if np.abs(ratio - 1).max() > 0.1:
        i = int(np.argmax(np.abs(ratio - 1)))
        raise ExerciseError(f"d = {dims[i]} で {got[i]:.3g} でした。乱数を 1 万組以上使うと √d = {want[i]:.3g} の "
                            "±10% に入るはずです。各成分が平均 0・分散 1 の乱数になっているか確かめましょう。")
    return f"標準偏差は √d にほぼ等しい (比: {', '.join(f'{r:.2f}' for r in ratio)})。"


@exercise("練習 (√d を外すとエントロピーは?)")
def check_scaling_entropy(entropy_scaled: Any, entropy_unscaled: Any, *, lm: Any, text: str) -> str:
    """Per-layer mean row entropy ``[layer]`` of the model's attention with and without dividing by √d."""
    from ..scratch import recompute_attention

    scaled, _ = recompute_attention(lm, text)
    unscaled, _ = recompute_attention(lm, text, scale=False)
    want_s, want_u = row_entropy(scaled).mean(-1), row_entropy(unscaled).mean(-1)  # [layer]
    L = len(want_s)
    check_shape(entropy_scaled, (L,), "entropy_scaled (層ごとの値)")
    check_shape(entropy_unscaled, (L,), "entropy_unscaled (層ごとの値)")
    got_s, got_u = np.asarray(entropy_scaled, float), np.asarray(entropy_unscaled, float)
    if np.allclose(got_s, want_u, atol=1e-3) and np.allclose(got_u, want_s, atol=1e-3):
        raise ExerciseError("2 つが入れ替わっています: entropy_scaled が √d で割ったほうです。")
    if np.allclose(got_s, want_s / np.log(2), atol=1e-3):
        raise ExerciseError("log2 を使っていませんか? このシリーズのエントロピーは自然対数 (np.log, 単位 nat) です。")
    check_close(got_s, want_s, atol=1e-3, name="entropy_scaled")
    check_close(got_u, want_u, atol=1e-3, name="entropy_unscaled")
    lower = int((want_u < want_s).sum())
    return f"√d を外すと {lower} / {L} 層でエントロピーが下がりました (attention が一点に集中する)。"


# --- notebook 02: BERT's attention --------------------------------------------------------


@exercise("練習 (いちばん見られている key)")
def check_top_key(answer: Any, *, att: Any, query: str, layer: int = -1, head: int = 0) -> str:
    """The key label that ``query`` weights most in one head."""
    row = att.frame(layer, head).loc[query]
    check_argmax(answer, row, name=f"{query} がいちばん見る key")
    return f"{query} → {answer} ({row[answer]:.2f})。"


def _expect_top(values: np.ndarray, layer: int, head: int, message: Callable[[int, int], str]) -> None:
    """Fail with ``message(best_layer, best_head)`` unless ``values[layer, head]`` is the largest of ``[layer, head]``."""
    __tracebackhide__ = True
    if values[layer, head] < values.max() - 1e-9:
        l2, h2 = map(int, np.unravel_index(values.argmax(), values.shape))
        raise ExerciseError(message(l2, h2))


@exercise("練習 (直前のトークンを見るヘッドを探す)")
def check_previous_token_head(prev_share: Any, best: Any, *, att: Any) -> str:
    """``prev_share[layer, head]`` and the head where it is largest."""
    want = previous_token_share(att.weights)
    check_shape(prev_share, want.shape, "prev_share ([layer, head])")
    if np.allclose(np.asarray(prev_share, float), previous_token_share(np.swapaxes(att.weights, -1, -2)), atol=1e-6) \
            and not np.allclose(want, previous_token_share(np.swapaxes(att.weights, -1, -2))):
        raise ExerciseError("行と列が逆です: 行 = query (見ている側) の argmax が、1 つ前の位置 (i - 1) かどうかを数えます。")
    check_close(prev_share, want, atol=1e-6, name="prev_share")
    layer, head = as_layer_head(best, "best")
    top = want.max()
    _expect_top(want, layer, head, lambda l2, h2: f"第 {layer} 層ヘッド {head} の割合は {want[layer, head]:.0%} ですが、"
                f"もっと高いヘッドがあります (たとえば第 {l2} 層ヘッド {h2}: {top:.0%})。")
    return f"第 {layer} 層ヘッド {head}: {len(att) - 1} 行中 {top:.0%} が直前のトークンを最も見ています。"


@exercise("練習 (主語と目的語を入れ替える)")
def check_strongest_pair_head(best: Any, *, att: Any, query: str, key: str) -> str:
    """The (layer, head) with the largest ``query -> key`` weight in ``att``."""
    table = att.pair(query, key)
    layer, head = as_layer_head(best, "best")
    values = table.to_numpy()
    top = values.max()
    _expect_top(values, layer, head, lambda l2, h2: f"第 {layer} 層ヘッド {head} の {query} → {key} は {values[layer, head]:.2f} ですが、"
                f"最大は第 {l2} 層ヘッド {h2} の {top:.2f} です。att.pair と au.strongest_head を使いましょう。")
    return f"{query} → {key} が最大のヘッド: 第 {layer} 層ヘッド {head} ({top:.2f})。"


@exercise("練習 ([CLS] を最も見るヘッドを描く)")
def check_cls_head_figure(best: Any, fig: Any, *, att: Any, token: str = "[CLS]") -> str:
    """The head whose rows put the most weight (mean over queries) on ``token``, and its heatmap."""
    share = att.weights[..., att.position(token)].mean(-1)  # [layer, head]
    layer, head = as_layer_head(best, "best")
    _expect_top(share, layer, head, lambda l2, h2: f"第 {layer} 層ヘッド {head} の {token} への重みは平均 {share[layer, head]:.2f} ですが、"
                f"最大は第 {l2} 層ヘッド {h2} の {share.max():.2f} です。")
    images = [im for ax in getattr(fig, "axes", []) for im in ax.get_images()]
    if not images:
        raise ExerciseError("fig に図 (ヒートマップ) が見つかりません。fig = au.plot_heatmap(...) の戻り値を入れましょう。")
    if not any(np.allclose(np.asarray(im.get_array()), att.weights[layer, head], atol=1e-6) for im in images):
        raise ExerciseError(f"図に描かれた行列が第 {layer} 層ヘッド {head} の重みと一致しません。")
    return f"第 {layer} 層ヘッド {head} は平均 {share.max():.0%} の重みを {token} に置いています。"


# --- notebook 03: layers and heads -------------------------------------------------------


@exercise("練習 (エントロピーを自分で計算する)")
def check_row_entropy(my_entropy: Callable, *, att: Any) -> str:
    """``my_entropy(weights)``: ``[layer, head, query, key] -> [layer, head]``, mean row entropy in nats."""
    one_hot = np.zeros((1, 1, 3, 3))
    one_hot[0, 0, [0, 1, 2], [0, 0, 1]] = 1.0  # rows with exact zeros: 0 log 0 must count as 0
    got = np.asarray(call_learner(my_entropy, one_hot, name="my_entropy"), dtype=float)
    if np.isnan(got).any():
        raise ExerciseError("重みが 0 の所で NaN になりました (0 × log 0)。0 の項は 0 として数えましょう "
                            "(例: np.log(np.where(w > 0, w, 1)))。")
    want = row_entropy(att.weights)
    got = call_learner(my_entropy, att.weights.copy(), name="my_entropy")
    check_shape(got, want.shape, "my_entropy の出力 ([layer, head])")
    got = np.asarray(got, dtype=float)
    if np.allclose(got, want / np.log(2), rtol=1e-3):
        raise ExerciseError("log2 を使っていませんか? 自然対数 np.log (単位 nat) で計算しましょう。")
    if np.allclose(got, want * len(att), rtol=1e-3):
        raise ExerciseError("query について合計していませんか? 行ごとのエントロピーを query について平均します。")
    if np.allclose(got, -want, rtol=1e-3):
        raise ExerciseError("符号が逆です: H = -Σ a log a です (エントロピーは 0 以上)。")
    check_close(got, want, atol=1e-4, name="my_entropy の出力")
    return f"一様なら ln n = {np.log(len(att)):.2f}、1 点に集中なら 0 です。"


@exercise("練習 (rollout を 3 層分、手で計算する)")
def check_rollout_three(rolled: Any, *, att: Any) -> str:
    """Rollout of layers 0, 1, 2: ``A'_2 A'_1 A'_0`` with ``A' = 0.5 mean_h A + 0.5 I``."""
    w = att.weights[:3]
    n = len(att)
    check_shape(rolled, (n, n), "rolled")
    got = np.asarray(rolled, dtype=float)
    if np.allclose(got, rollout_layers(w[::-1]), atol=1e-5) and not np.allclose(got, rollout_layers(w), atol=1e-5):
        raise ExerciseError("掛ける順番が逆です: 後の層を左から掛けます (A'_2 @ A'_1 @ A'_0)。")
    if np.allclose(got, rollout_layers(w, residual=0.0), atol=1e-5):
        raise ExerciseError("残差の分 (0.5 × 単位行列) を足し忘れていませんか? A' = 0.5 A + 0.5 I です。")
    check_rows_sum_to_one(got, name="rolled")
    check_close(got, rollout_layers(w), atol=1e-5, name="rolled")
    return "au.rollout を 3 層に切った結果と同じです。"


@exercise("練習 (直後を見るヘッドをコーパスで探す)")
def check_stats_argmax(best: Any, *, stats: Any, column: str = "next") -> str:
    """The (layer, head) with the largest ``stats[column]``."""
    layer, head = as_layer_head(best, "best")
    col = stats[column]
    if col.loc[(layer, head)] < col.max() - 1e-12:
        l2, h2 = col.idxmax()
        raise ExerciseError(f"第 {layer} 層ヘッド {head} の {column} は {col.loc[(layer, head)]:.2f} ですが、"
                            f"最大は第 {l2} 層ヘッド {h2} の {col.max():.2f} です。stats[{column!r}].idxmax() を使えます。")
    return f"第 {layer} 層ヘッド {head}: {column} = {col.max():.2f} (コーパス平均)。"


def _pieces_of(pieces: Any, words: Any, word: str) -> int:
    """How many tokens of ``pieces`` make up ``word`` of ``words`` (by character spans when known)."""
    w_spans, t_spans = getattr(words, "spans", None), getattr(pieces, "spans", None)
    if w_spans is not None and t_spans is not None:
        start, end = w_spans[words.position(word)]
        return sum(1 for sp in t_spans if sp is not None and start <= sp[0] and sp[1] <= end)
    return len(pieces.tokens) - len(words.tokens) + 1  # hand-built objects: assume this is the only split word


@exercise("練習 (サブワードの重みを足して単語にする)")
def check_word_weight(weight: Any, *, pieces: Any, words: Any, layer: int, head: int, query: str, word: str) -> str:
    """The word-level weight ``query -> word``: the sum of ``query``'s weights on ``word``'s pieces."""
    want = float(words.frame(layer, head).loc[query, word])
    got = np.asarray(weight, dtype=float)
    check_shape(got, (), "答え (数 1 つ)")
    n_pieces = _pieces_of(pieces, words, word)
    if n_pieces > 1 and np.isclose(got * n_pieces, want, atol=1e-5):
        raise ExerciseError("サブワードの重みを平均していませんか? key 側は合計します (どのサブワードへの重みも、その単語への重み)。")
    check_close(got, want, atol=1e-5, name=f"{query} → {word} の重み")
    return f"{query} → {word} = {want:.3f} (words.frame と同じ)。"
__all__ = [name for name in dir() if name.startswith("check_")]
