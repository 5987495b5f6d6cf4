"""One self-check per exercise (「練習」) of notebooks 01-06.

Each check recomputes the right answer itself, from the data it is given
(never from a stored number), so it stays true for whichever model ran.
Learner answers come first (positional); the data to check against is passed
by keyword. Messages name the likely mistake where one is common (a reversed
axis, log2 instead of ln, layers multiplied in the wrong order).
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

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
    if want[layer, head] < top - 1e-9:
        l2, h2 = map(int, np.unravel_index(want.argmax(), want.shape))
        raise ExerciseError(f"第 {layer} 層ヘッド {head} の割合は {want[layer, head]:.0%} ですが、"
                            f"もっと高いヘッドがあります (たとえば第 {l2} 層ヘッド {h2}: {top:.0%})。")
    return f"第 {layer} 層ヘッド {head}: {len(att) - 1} 行中 {top:.0%} が直前のトークンを最も見ています。"


@exercise("練習 (主語と目的語を入れ替える)")
def check_strongest_pair_head(best: Any, *, att: Any, query: str, key: str) -> str:
    """The (layer, head) with the largest ``query -> key`` weight in ``att``."""
    table = att.pair(query, key)
    layer, head = as_layer_head(best, "best")
    values = table.to_numpy()
    top = values.max()
    if values[layer, head] < top - 1e-9:
        l2, h2 = map(int, np.unravel_index(values.argmax(), values.shape))
        raise ExerciseError(f"第 {layer} 層ヘッド {head} の {query} → {key} は {values[layer, head]:.2f} ですが、"
                            f"最大は第 {l2} 層ヘッド {h2} の {top:.2f} です。att.pair と au.strongest_head を使いましょう。")
    return f"{query} → {key} が最大のヘッド: 第 {layer} 層ヘッド {head} ({top:.2f})。"


@exercise("練習 ([CLS] を最も見るヘッドを描く)")
def check_cls_head_figure(best: Any, fig: Any, *, att: Any, token: str = "[CLS]") -> str:
    """The head whose rows put the most weight (mean over queries) on ``token``, and its heatmap."""
    share = att.weights[..., att.position(token)].mean(-1)  # [layer, head]
    layer, head = as_layer_head(best, "best")
    if share[layer, head] < share.max() - 1e-9:
        l2, h2 = map(int, np.unravel_index(share.argmax(), share.shape))
        raise ExerciseError(f"第 {layer} 層ヘッド {head} の {token} への重みは平均 {share[layer, head]:.2f} ですが、"
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


@exercise("練習 (サブワードの重みを足して単語にする)")
def check_word_weight(weight: Any, *, pieces: Any, words: Any, layer: int, head: int, query: str, word: str) -> str:
    """The word-level weight ``query -> word``: the sum of ``query``'s weights on ``word``'s pieces."""
    want = float(words.frame(layer, head).loc[query, word])
    got = np.asarray(weight, dtype=float)
    check_shape(got, (), "答え (数 1 つ)")
    n_pieces = len(pieces.tokens) - len(words.tokens) + 1
    if n_pieces > 1 and np.isclose(got * n_pieces, want, atol=1e-5):
        raise ExerciseError("サブワードの重みを平均していませんか? key 側は合計します (どのサブワードへの重みも、その単語への重み)。")
    check_close(got, want, atol=1e-5, name=f"{query} → {word} の重み")
    return f"{query} → {word} = {want:.3f} (words.frame と同じ)。"


# --- notebook 04: Japanese ---------------------------------------------------------------


@exercise("練習 (WordPiece で分かれた単語)")
def check_split_words(answer: Any, *, tokenizer: Any, text: str) -> str:
    """The MeCab words of ``text`` that WordPiece cuts into two or more pieces, in order."""
    words = tokenizer.word_tokenizer.tokenize(text)
    want = [w for w in words if len(tokenizer.subword_tokenizer.tokenize(w)) > 1]
    if not isinstance(answer, (list, tuple)):
        raise ExerciseError(f"答えは単語のリストにしましょう (いまは {type(answer).__name__})。")
    extra = [w for w in answer if w not in want]
    missing = [w for w in want if w not in answer]
    if extra or missing:
        raise ExerciseError("分かれた単語が合っていません。" + (f" 足りない: {missing}。" if missing else "")
                            + (f" 分かれていないのに入っている: {extra}。" if extra else ""))
    return f"{len(words)} 単語のうち {len(want)} 語が分かれます: {want}"


@exercise("練習 (予想してから確かめる: 助詞はどこを見る?)")
def check_particle_target(prediction: Any, answer: Any, *, words: Any, particle: str, layer: int) -> str:
    """The word ``particle`` attends to most (head mean of one layer, itself and specials excluded)."""
    row = words.weights[layer, :, words.position(particle)].mean(0).astype(float)  # [key]
    for i, tok in enumerate(words.tokens):
        if i == words.position(particle) or tok in ("[CLS]", "[SEP]", "<s>", "</s>"):
            row[i] = -np.inf
    scores = dict(zip(words.labels, row))
    check_argmax(answer, scores, name=f"「{particle}」がいちばん見る単語")
    verdict = "予想どおり" if prediction == answer else f"予想 ({prediction}) とは違いました"
    return f"第 {layer} 層 (ヘッド平均) で「{particle}」→「{answer}」({scores[answer]:.2f})。{verdict}。"


@exercise("練習 (語順を入れ替える)")
def check_order_shares(shares: Any, *, atts: Mapping[str, Any], query: str, a: str, b: str) -> str:
    """``shares[text]``: the share of heads where ``query -> a`` outweighs ``query -> b`` (word level)."""
    if not isinstance(shares, Mapping) or set(shares) != set(atts):
        raise ExerciseError(f"答えは文をキーにした辞書にしましょう: {list(atts)}")
    for text, att in atts.items():
        want = float((att.pair(query, a) > att.pair(query, b)).to_numpy().mean())
        check_close(shares[text], want, atol=1e-9, name=f"「{text}」の割合")
    return ", ".join(f"{t}: {s:.0%}" for t, s in shares.items())


@exercise("練習 (学習で何が変わる? 乱数の重みと比べる)")
def check_entropy_pair(trained: Any, untrained: Any, *, att_trained: Any, att_untrained: Any) -> str:
    """Mean row entropy over all layers and heads, divided by ln n, for a trained and an untrained model."""
    want_t = row_entropy(att_trained.weights).mean() / np.log(len(att_trained))
    want_u = row_entropy(att_untrained.weights).mean() / np.log(len(att_untrained))
    if np.isclose(trained, want_u, atol=1e-4) and np.isclose(untrained, want_t, atol=1e-4):
        raise ExerciseError("2 つが入れ替わっています。")
    check_close(trained, want_t, atol=1e-4, name="trained (÷ ln n)")
    check_close(untrained, want_u, atol=1e-4, name="untrained (÷ ln n)")
    return f"学習済み {want_t:.2f}、乱数 {want_u:.2f} (1 = 一様)。"


# --- notebook 05: beyond weights ---------------------------------------------------------


@exercise("練習 (重みとノルムで 1 位は同じ?)")
def check_weight_vs_norm(top_by_weight: Any, top_by_norm: Any, *, att: Any, norms: np.ndarray, query: str,
                         layer: int, head: int) -> str:
    """The key labels with the largest weight and the largest norm ``||alpha f(x)||`` in ``query``'s row."""
    q = att.position(query)
    by_weight = dict(zip(att.labels, att.weights[layer, head, q].astype(float)))
    by_norm = dict(zip(att.labels, np.asarray(norms)[layer, head, q].astype(float)))
    check_argmax(top_by_weight, by_weight, name="重みで 1 位の key")
    check_argmax(top_by_norm, by_norm, name="ノルムで 1 位の key")
    return "同じ key です。" if top_by_weight == top_by_norm else "重みとノルムで 1 位が違います。"


@exercise("練習 (rollout の残差の重み)")
def check_my_rollout(my_rollout: Callable, *, att: Any) -> str:
    """``my_rollout(weights, residual)``: rollout of ``[layer, head, query, key]`` -> ``[query, key]``."""
    for r in (0.5, 0.0, 0.9):
        got = call_learner(my_rollout, att.weights.copy(), r, name="my_rollout")
        check_shape(got, (len(att), len(att)), f"my_rollout(weights, {r}) の出力")
        want = rollout_layers(att.weights, r)
        if np.allclose(np.asarray(got, float), rollout_layers(att.weights[::-1], r), atol=1e-5) \
                and not np.allclose(want, rollout_layers(att.weights[::-1], r), atol=1e-5):
            raise ExerciseError("層を掛ける順番が逆です: 新しい層を左から掛けます (R = A'_l @ R)。")
        check_close(got, want, atol=1e-5, name=f"residual = {r} のとき")
    return "residual = 0.5, 0.0, 0.9 で au.rollout と一致しました。"


@exercise("練習 (トークンを隠すと表現はどれだけ動く?)")
def check_masking_change(change: Any, *, lm: Any, text: str, query: str, token: str) -> str:
    """``||h' - h|| / ||h||`` of ``query``'s last hidden state when ``token`` is masked out."""
    from ..analysis import token_ablation

    table = token_ablation(lm, text, query)
    want = float(table.loc[token, "change"])
    check_shape(change, (), "答え (数 1 つ)")
    check_close(change, want, atol=1e-4, rtol=1e-3, name="変化の割合 ||h' - h|| / ||h||")
    return f"{token} を隠すと {query} の表現が {want:.1%} 動きます。"


@exercise("練習 (固定オフセットの基準を自分で計算する)")
def check_offset_accuracy(accuracy: Any, *, examples: Sequence[Mapping[str, int]], dep: str, head: str,
                          offsets: Sequence[int]) -> str:
    """``accuracy[k]``: how often the word at ``dep + k`` is the ``head`` word."""
    if not isinstance(accuracy, Mapping) or sorted(accuracy) != sorted(offsets):
        raise ExerciseError(f"答えはオフセット {list(offsets)} をキーにした辞書にしましょう。")
    want = {k: float(np.mean([ex[dep] + k == ex[head] for ex in examples])) for k in offsets}
    flipped = {k: want.get(-k) for k in offsets}
    if all(v is not None for v in flipped.values()) and want != flipped \
            and all(np.isclose(accuracy[k], flipped[k]) for k in offsets):
        raise ExerciseError("オフセットの向きが逆です: k = -1 は「1 語前」、つまり dep - 1 の位置です。")
    for k in offsets:
        check_close(accuracy[k], want[k], atol=1e-9, name=f"オフセット {k:+d} の正解率")
    best = max(want, key=want.get)
    return f"最良のオフセットは {best:+d} 語 ({want[best]:.0%})。"


# --- notebook 06: syntax heads -----------------------------------------------------------


def _field(sentence: Any, name: str) -> Any:
    """``sentence.words`` for a treebank Sentence, ``sentence["words"]`` for a plain dict."""
    return getattr(sentence, name) if hasattr(sentence, name) else sentence[name]


def _matches(label: str, relation: str) -> bool:
    """UD subtypes count under their base relation too (``nsubj:outer`` is an ``nsubj``)."""
    return label == relation or label.split(":")[0] == relation


@exercise("練習 (依存関係を読む)")
def check_relation_pairs(pairs: Any, *, sentence: Any, relation: str) -> str:
    """``[(dependent word, head word), ...]`` for every word whose relation (or its base) is ``relation``."""
    words, heads, rels = (_field(sentence, f) for f in ("words", "heads", "relations"))
    want = [(w, words[h - 1] if h > 0 else "ROOT") for w, h, r in zip(words, heads, rels) if _matches(r, relation)]
    got = [tuple(p) for p in pairs] if isinstance(pairs, (list, tuple)) else pairs
    if isinstance(got, list) and got == [(h, d) for d, h in want] and want != got:
        raise ExerciseError("組の順番が逆です: (依存する単語, その主辞) の順にしましょう。")
    check_equal(got, want, f"{relation} の組")
    return f"{relation}: {want}"


@exercise("練習 (ヘッドを分類器として使う)")
def check_head_accuracy(head_accuracy: Callable) -> str:
    """``head_accuracy(att_map, heads)``: the share of words (heads[i] > 0) whose largest other weight is their head.

    ``att_map`` is ``[word, word]`` (no special tokens), ``heads`` 1-based with 0 = root.
    """
    # word 0's head is word 1 (1-based: 2), word 1 is the root, word 2's head is word 1 but it looks at itself most.
    att_map = np.array([[0.1, 0.7, 0.2], [0.5, 0.3, 0.2], [0.1, 0.3, 0.6]])
    heads = [2, 0, 2]
    got = float(np.asarray(call_learner(head_accuracy, att_map, heads, name="head_accuracy"), dtype=float))
    if np.isclose(got, 0.5):
        raise ExerciseError("自分自身への重みを除いていますか? 単語 2 は自分を最も見ていますが、自分は答えになりません "
                            "(対角成分を -inf にしてから argmax を取りましょう)。")
    if np.isclose(got, 2 / 3):
        raise ExerciseError("文の根 (heads が 0 の単語) も数えていませんか? 根には主辞がないので除きます。")
    if np.isclose(got, 0.0):
        raise ExerciseError("heads は 1 始まりです (0 = 根)。argmax の位置 (0 始まり) に 1 を足して比べましょう。")
    check_close(got, 1.0, atol=1e-9, name="手作りの例 (3 語) での正解率")
    rng = np.random.default_rng(0)
    for n in (4, 7, 10):
        m = rng.dirichlet(np.ones(n), size=n)
        hs = [int(v) for v in rng.integers(0, n + 1, size=n)]
        hs = [h if h != i + 1 else 0 for i, h in enumerate(hs)]
        masked = m.copy()
        np.fill_diagonal(masked, -np.inf)
        pred = masked.argmax(-1) + 1
        keep = np.array(hs) > 0
        want = float((pred[keep] == np.array(hs)[keep]).mean()) if keep.any() else 0.0
        check_close(call_learner(head_accuracy, m, hs, name="head_accuracy"), want, atol=1e-9,
                    name=f"{n} 語の乱数の例での正解率")
    return "自分自身を除いた argmax が主辞と一致する割合を、手作りと乱数の例で確かめました。"


@exercise("練習 (ツリーバンクで固定オフセットの基準)")
def check_treebank_offsets(accuracy: Any, *, sentences: Sequence[Any], relation: str, offsets: Sequence[int]) -> str:
    """``accuracy[k]``: over the words with ``relation``, how often the word ``k`` places away is the head.

    Word ``i`` (1-based) predicts ``i + k``; heads are 1-based with 0 = root, so a prediction outside
    the sentence is simply wrong.
    """
    if not isinstance(accuracy, Mapping) or sorted(accuracy) != sorted(offsets):
        raise ExerciseError(f"答えはオフセット {list(offsets)} をキーにした辞書にしましょう。")
    hits = {k: 0 for k in offsets}
    total = 0
    for sent in sentences:
        for i, (h, r) in enumerate(zip(_field(sent, "heads"), _field(sent, "relations")), start=1):
            if _matches(r, relation):
                total += 1
                for k in offsets:
                    hits[k] += int(h == i + k)
    if not total:
        raise ExerciseError(f"関係 {relation!r} の単語が 1 つもありません。")
    want = {k: hits[k] / total for k in offsets}
    if all(-k in want for k in offsets) and any(not np.isclose(want[k], want[-k]) for k in offsets) \
            and all(np.isclose(accuracy[k], want[-k]) for k in offsets):
        raise ExerciseError("オフセットの向きが逆です: k = +1 は「すぐ右の単語」(i + 1) です。")
    for k in offsets:
        check_close(accuracy[k], want[k], atol=1e-9, name=f"オフセット {k:+d} の正解率")
    best = max(want, key=want.get)
    return f"{relation} ({total} 語): 最良のオフセットは {best:+d} ({want[best]:.0%})。"
