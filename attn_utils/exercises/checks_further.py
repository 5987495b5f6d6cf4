"""One self-check per exercise (「練習」) of notebooks 04-06: Japanese, beyond weights, syntax heads.

As in :mod:`.checks`, each check recomputes the right answer from the data it is given.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .checks import rollout_layers, row_entropy
from .core import ExerciseError, call_learner, check_argmax, check_close, check_equal, check_shape, exercise


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
    return (f"第 {layer % words.num_layers} 層 (0 から数えて; ヘッド平均) で「{particle}」→「{answer}」({scores[answer]:.2f})。{verdict}。")


@exercise("練習 (語順を入れ替える)")
def check_order_shares(shares: Any, *, atts: Mapping[str, Any], query: str, a: str, b: str) -> str:
    """``shares[text]``: the share of heads where ``query -> a`` outweighs ``query -> b`` (word level)."""
    if not isinstance(shares, Mapping) or set(shares) != set(atts):
        raise ExerciseError(f"答えは文をキーにした辞書にしましょう: {list(atts)}")
    for text, att in atts.items():
        want = float((att.pair(query, a) > att.pair(query, b)).to_numpy().mean())
        check_close(shares[text], want, atol=1e-9, name=f"「{text}」の割合")
    return ", ".join(f"{t}: {s:.0%}" for t, s in shares.items())


#: Accepted spellings of the three readings of :func:`check_order_flip`.
ORDER_READINGS = {"役割": "役割", "role": "役割", "位置": "位置", "position": "位置",
                  "決められない": "決められない", "どちらとも言えない": "決められない", "undecided": "決められない"}


@exercise("練習 (語順を入れ替える: 1 つのヘッドで)")
def check_order_flip(diffs: Any, reading: Any, *, atts: Mapping[str, Any], query: str, a: str, b: str,
                     layer: int, head: int, threshold: float = 0.05) -> str:
    """``diffs[text]`` = weight(query -> a) - weight(query -> b) in one head; ``reading`` by the rule below.

    Rule (stated in the notebook before measuring): both ``|diff| >= threshold`` and the same sign ->
    "役割" (the same noun wins in both orders); both ``>= threshold`` and opposite signs -> "位置"
    (the noun in the same place wins); otherwise "決められない".
    """
    if hasattr(diffs, "to_dict") and not isinstance(diffs, Mapping):
        diffs = diffs.to_dict()                                   # a pandas Series indexed by the texts
    if not isinstance(diffs, Mapping) or set(diffs) != set(atts):
        raise ExerciseError(f"diffs は文をキーにした辞書にしましょう: {list(atts)}")
    L = H = None
    want = {}
    for text, att in atts.items():
        L, H = att.layer_index(layer), att.head_index(head)
        w = att.weights[L, H, att.position(query)].astype(np.float64)
        want[text] = float(w[att.position(a)] - w[att.position(b)])
    got = {}
    for text in atts:
        value = diffs[text]
        try:
            got[text] = float(np.asarray(value, dtype=np.float64).reshape(()))
        except (TypeError, ValueError):
            raise ExerciseError(f"「{text}」の値は数 1 つにしましょう (いまは {type(value).__name__})。") from None
    if all(abs(got[t] + want[t]) < 1e-5 for t in atts) and any(abs(want[t]) > 1e-5 for t in atts):
        raise ExerciseError(f"符号が逆です: 「{query}→{a}」から「{query}→{b}」を引きます。")
    for text, att in atts.items():
        mean_heads = att.weights[L, :, att.position(query)].mean(0).astype(np.float64)
        if abs(got[text] - want[text]) > 1e-5 and abs(got[text] - (mean_heads[att.position(a)]
                                                                   - mean_heads[att.position(b)])) < 1e-5:
            raise ExerciseError(f"「{text}」がヘッドの平均になっています。ヘッド {H} だけを使います。")
        check_close(got[text], want[text], atol=1e-5, name=f"「{text}」の差")
    if not isinstance(reading, str) or reading.strip() not in ORDER_READINGS:
        raise ExerciseError("reading は \"役割\"、\"位置\"、\"決められない\" のどれかにしましょう。")
    d = list(want.values())
    big = all(abs(x) >= threshold for x in d)
    right = ("役割" if np.sign(d[0]) == np.sign(d[1]) else "位置") if big else "決められない"
    values = "、".join(f"{v:+.3f}" for v in d)
    if ORDER_READINGS[reading.strip()] != right:
        why = (f"差は {values} で、どちらかの大きさが {threshold} に届きません" if not big else
               f"差は {values} で、2 文で符号が{'同じ' if right == '役割' else '逆'}です")
        raise ExerciseError(f"読み方が違います: {why}。決めておいた規則では「{right}」です。")
    note = " (2 文とも同じ名詞なので、名詞そのものに沿う可能性は残ります)" if right == "役割" else ""
    return f"第 {L} 層・ヘッド {H}: 差 {values} → {right}{note}"


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

    Word ``i`` (1-based) predicts ``i + k`` clipped to the sentence, ``max(0, min(i + k, n))`` with
    0 = root: Clark et al.'s ``offset_predictor`` and :func:`attn_utils.syntax_baseline`.
    """
    if not isinstance(accuracy, Mapping) or sorted(accuracy) != sorted(offsets):
        raise ExerciseError(f"答えはオフセット {list(offsets)} をキーにした辞書にしましょう。")
    hits = {k: 0 for k in offsets}
    unclipped = {k: 0 for k in offsets}
    total = 0
    for sent in sentences:
        heads = _field(sent, "heads")
        for i, (h, r) in enumerate(zip(heads, _field(sent, "relations")), start=1):
            if _matches(r, relation):
                total += 1
                for k in offsets:
                    hits[k] += int(h == max(0, min(i + k, len(heads))))
                    unclipped[k] += int(h == i + k)
    if not total:
        raise ExerciseError(f"関係 {relation!r} の単語が 1 つもありません。")
    want = {k: hits[k] / total for k in offsets}
    if hits != unclipped and all(np.isclose(accuracy[k], unclipped[k] / total) for k in offsets):
        raise ExerciseError("文の外に出た予測を、文の端に切り詰めましょう: max(0, min(i + k, n)) (n は文の単語数、0 は ROOT)。")
    if all(-k in want for k in offsets) and any(not np.isclose(want[k], want[-k]) for k in offsets) \
            and all(np.isclose(accuracy[k], want[-k]) for k in offsets):
        raise ExerciseError("オフセットの向きが逆です: k = +1 は「すぐ右の単語」(i + 1) です。")
    for k in offsets:
        check_close(accuracy[k], want[k], atol=1e-9, name=f"オフセット {k:+d} の正解率")
    best = max(want, key=want.get)
    return f"{relation} ({total} 語): 最良のオフセットは {best:+d} ({want[best]:.0%})。"
__all__ = [name for name in dir() if name.startswith("check_")]
