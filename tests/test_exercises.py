"""Self-checks of the exercises: a right answer passes, a wrong one fails with its Japanese message,
a placeholder (None / ...) prints a friendly note instead of failing."""
import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")

import attn_utils as au  # noqa: E402
from attn_utils import exercises as ex  # noqa: E402
from attn_utils.exercises import checks  # noqa: E402

from conftest import SEED_TEXT  # noqa: E402


def passes(capsys, check, *args, **kwargs):
    check(*args, **kwargs)
    out = capsys.readouterr().out
    assert out.startswith("✅"), out
    return out


def fails(check, message, *args, **kwargs):
    with pytest.raises(ex.ExerciseError, match=message) as info:
        check(*args, **kwargs)
    assert isinstance(info.value, AssertionError)
    return str(info.value)


def random_attention(tokens, layers=3, heads=4, seed=0):
    rng = np.random.default_rng(seed)
    n = len(tokens)
    return au.Attention(list(tokens), rng.dirichlet(np.ones(n), size=(layers, heads, n)))


# --- the generic machinery ---------------------------------------------------------------


def test_rows_not_summing_to_one_fail_with_the_largest_error():
    msg = fails(ex.check_rows_sum_to_one, r"行の和が 1 になっていません \(最大の誤差: 0.03\)",
                np.array([[0.5, 0.47, 0.0], [0.2, 0.3, 0.5]]))
    assert "AssertionError" not in msg


def test_rows_that_sum_to_one_by_column_get_the_axis_hint():
    w = np.array([[0.7, 0.4], [0.3, 0.6]])
    fails(ex.check_rows_sum_to_one, "axis", w)


def test_placeholders_print_the_friendly_note_and_do_not_fail(capsys):
    for placeholder in (None, ...):
        ex.check_rows_sum_to_one(placeholder)
        ex.check_shape(placeholder, (2, 2))
        ex.check_close(placeholder, [1.0])
        ex.check_softmax(placeholder)
        ex.check_scaling_entropy(placeholder, np.zeros(3), lm=None, text="")
        assert capsys.readouterr().out.count(ex.NOT_YET) == 5


def test_a_function_that_still_returns_its_placeholder_counts_as_unanswered(capsys):
    def my_softmax(scores):
        ...

    ex.check_softmax(my_softmax)
    assert ex.NOT_YET in capsys.readouterr().out


def test_a_learner_function_that_raises_is_reported_in_one_line():
    fails(ex.check_softmax, "my_softmax を呼ぶとエラーになりました: ZeroDivisionError", lambda s: 1 / 0)


def test_generic_checks_name_shape_value_argmax_type_and_equality():
    fails(ex.check_shape, r"形が違います: \(5, 5\) のはずですが、\(5,\) でした", np.zeros(5), (5, 5))
    fails(ex.check_close, "最大の誤差: 0.1", np.array([1.0, 2.1]), np.array([1.0, 2.0]))
    fails(ex.check_close, "NaN", np.array([np.nan]), np.array([1.0]))
    fails(ex.check_argmax, "いちばん大きいのは 'dog'", "cat", pd.Series({"dog": 0.5, "cat": 0.3}))
    fails(ex.check_argmax, "候補にありません", "cow", {"dog": 0.5, "cat": 0.3})
    fails(ex.check_type, "list のはずですが、dict", {}, list)
    fails(ex.check_equal, "のはずですが", [1, 2], [1, 3])
    for ok in [lambda: ex.check_shape(np.zeros((5, 5)), (5, None)), lambda: ex.check_close([1.0], [1.0 + 1e-9]),
               lambda: ex.check_argmax("dog", {"dog": 0.5, "cat": 0.5}), lambda: ex.check_type([], list),
               lambda: ex.check_rows_sum_to_one(np.full((3, 4), 0.25)), lambda: ex.check_equal("a", "a")]:
        ok()


def test_every_exercise_check_has_a_title_and_is_exported():
    assert len(ex.CHECKS) >= 20
    for name, check in ex.CHECKS.items():
        assert check.title.startswith("練習"), name


# --- notebook 01 -------------------------------------------------------------------------


def test_softmax_check_accepts_a_stable_softmax_and_names_each_mistake(capsys):
    passes(capsys, ex.check_softmax, au.softmax)
    fails(ex.check_softmax, "NaN や inf", lambda s: np.exp(s) / np.exp(s).sum(-1, keepdims=True))
    fails(ex.check_softmax, r"列ごとに割っています \(axis=0\)", lambda s: np.exp(s) / np.exp(s).sum(0, keepdims=True))
    fails(ex.check_softmax, "形が違います", lambda s: au.softmax(s)[0])


TOY_TOKENS = ["The", "dog", "chased", "the", "cat"]


def toy_qk():
    rng = np.random.default_rng(1)
    return rng.normal(size=(5, 2)), rng.normal(size=(5, 2))


def test_article_mask_check_wants_article_columns_hidden(capsys):
    Q, K = toy_qk()
    articles = np.array([t.lower() == "the" for t in TOY_TOKENS])
    mask = np.broadcast_to(~articles, (5, 5)).copy()
    _, w = au.scaled_dot_product(Q, K, np.eye(5), mask=mask)
    passes(capsys, ex.check_article_mask, mask, w, tokens=TOY_TOKENS, Q=Q, K=K)
    fails(ex.check_article_mask, "True と False が逆", ~mask, w, tokens=TOY_TOKENS, Q=Q, K=K)
    _, unmasked = au.scaled_dot_product(Q, K, np.eye(5))
    fails(ex.check_article_mask, "mask=mask を au.scaled_dot_product に渡しましたか", mask, unmasked, tokens=TOY_TOKENS, Q=Q, K=K)
    passes(capsys, ex.check_article_mask, mask.astype(int), w, tokens=TOY_TOKENS, Q=Q, K=K)  # 1/0 works as True/False


def test_split_merge_check_catches_the_reshape_without_transpose(capsys):
    from test_exercise_matrix import merge_np as merge  # the matrix's model solution
    from test_exercise_matrix import split_np as split

    passes(capsys, ex.check_split_merge, split, merge)
    fails(ex.check_split_merge, "transpose", lambda M, h: M.reshape(h, M.shape[0], -1), merge)
    fails(ex.check_split_merge, r"transpose\(1, 0, 2\) で \(T, h, d_head\) に戻して", split, lambda H: H.reshape(H.shape[1], -1))


def test_dot_std_check_calls_the_learners_measurement_on_its_own_dimensions(capsys):
    def dot_std(d):
        rng = np.random.default_rng(0)
        return (rng.normal(size=(20000, d)) * rng.normal(size=(20000, d))).sum(-1).std()

    passes(capsys, ex.check_dot_std, dot_std, dims=[4, 16, 64, 256])
    fails(ex.check_dot_std, "割った後", lambda d: dot_std(d) / np.sqrt(d))
    fails(ex.check_dot_std, "分散", lambda d: dot_std(d) ** 2)
    fails(ex.check_dot_std, "測っていません", lambda d: np.sqrt(d))
    fails(ex.check_dot_std, "測る関数を渡しましょう", [2.0, 4.0, 8.0, 16.0], dims=[4, 16, 64, 256])


def test_scaling_entropy_check_on_the_bundled_model(capsys, minilm):
    scaled, _ = au.recompute_attention(minilm, SEED_TEXT)
    unscaled, _ = au.recompute_attention(minilm, SEED_TEXT, scale=False)
    h_s, h_u = checks.row_entropy(scaled).mean(-1), checks.row_entropy(unscaled).mean(-1)
    out = passes(capsys, ex.check_scaling_entropy, h_s, h_u, lm=minilm, text=SEED_TEXT)
    assert f"/ {minilm.model.config.num_hidden_layers} 層" in out
    fails(ex.check_scaling_entropy, "入れ替わっています", h_u, h_s, lm=minilm, text=SEED_TEXT)
    fails(ex.check_scaling_entropy, "log2", h_s / np.log(2), h_u / np.log(2), lm=minilm, text=SEED_TEXT)
    fails(ex.check_scaling_entropy, "entropy_unscaled の値が合っていません", h_s, h_u + 0.05, lm=minilm, text=SEED_TEXT)


# --- notebook 02 -------------------------------------------------------------------------


@pytest.fixture(scope="module")
def seed_att(minilm):
    return au.extract(minilm, SEED_TEXT)


def test_top_key_check(capsys, seed_att):
    row = seed_att.frame(-1, 0).loc["chased"]
    passes(capsys, ex.check_top_key, row.idxmax(), att=seed_att, query="chased")
    fails(ex.check_top_key, "idxmin ではなく idxmax", row.idxmin(), att=seed_att, query="chased")


def test_previous_token_head_check(capsys, seed_att):
    share = checks.previous_token_share(seed_att.weights)
    best = np.unravel_index(share.argmax(), share.shape)
    passes(capsys, ex.check_previous_token_head, share, tuple(map(int, best)), att=seed_att)
    worst = tuple(map(int, np.unravel_index(share.argmin(), share.shape)))
    fails(ex.check_previous_token_head, "もっと高いヘッドがあります", share, worst, att=seed_att)
    fails(ex.check_previous_token_head, "2 つの整数の組", share, "layer 0", att=seed_att)
    fails(ex.check_previous_token_head, "prev_share の値が合っていません", share * 0.5, best, att=seed_att)


def test_strongest_pair_head_check(capsys, minilm):
    att = au.extract(minilm, "The cat chased the dog")
    layer, head, _ = au.strongest_head(att.pair("chased", "dog"))
    passes(capsys, ex.check_strongest_pair_head, (layer, head), att=att, query="chased", key="dog")
    values = att.pair("chased", "dog").to_numpy()
    low = tuple(map(int, np.unravel_index(values.argmin(), values.shape)))
    fails(ex.check_strongest_pair_head, "最大は第", low, att=att, query="chased", key="dog")


def test_cls_head_figure_check_compares_the_drawn_matrix(capsys, seed_att):
    import matplotlib.pyplot as plt

    share = seed_att.weights[..., 0].mean(-1)
    layer, head = map(int, np.unravel_index(share.argmax(), share.shape))
    fig = au.plot_heatmap(seed_att, layer, head)
    passes(capsys, ex.check_cls_head_figure, (layer, head), fig, att=seed_att)
    other = au.plot_heatmap(seed_att, layer, (head + 1) % seed_att.num_heads)
    fails(ex.check_cls_head_figure, f"図は第 {layer} 層ヘッド {(head + 1) % seed_att.num_heads} の重みです", (layer, head), other, att=seed_att)
    fails(ex.check_cls_head_figure, "見つかりません", (layer, head), plt.figure(), att=seed_att)
    plt.close("all")


# --- notebook 03 -------------------------------------------------------------------------


def test_row_entropy_check_names_log2_sum_sign_and_nan(capsys, seed_att):
    def right(w):
        return -(w * np.log(np.where(w > 0, w, 1.0))).sum(-1).mean(-1)

    passes(capsys, ex.check_row_entropy, right, att=seed_att)
    fails(ex.check_row_entropy, "NaN", lambda w: -(w * np.log(w)).sum(-1).mean(-1), att=seed_att)
    fails(ex.check_row_entropy, "log2", lambda w: right(w) / np.log(2), att=seed_att)
    fails(ex.check_row_entropy, "合計していませんか", lambda w: right(w) * w.shape[-2], att=seed_att)
    fails(ex.check_row_entropy, "符号が逆", lambda w: -right(w), att=seed_att)


def test_rollout_three_check_names_order_and_residual(capsys, seed_att):
    three = au.Attention(seed_att.tokens, seed_att.weights[:3])
    passes(capsys, ex.check_rollout_three, au.rollout(three), att=seed_att)
    reversed_order = au.Attention(seed_att.tokens, seed_att.weights[:3][::-1].copy())
    fails(ex.check_rollout_three, "順番が逆", au.rollout(reversed_order), att=seed_att)
    fails(ex.check_rollout_three, "残差", au.rollout(three, residual=0.0), att=seed_att)


def test_stats_argmax_check(capsys, seed_att):
    stats = au.head_metrics(seed_att)
    passes(capsys, ex.check_stats_argmax, stats["next"].idxmax(), stats=stats)
    fails(ex.check_stats_argmax, "最大は第", stats["next"].idxmin(), stats=stats)


def test_word_weight_check_wants_the_sum_of_pieces(capsys, minilm):
    pieces = au.extract(minilm, "The archaeologists uncovered an extraordinarily well-preserved mosaic.")
    words = pieces.to_words()
    cols = [t for t in pieces.labels if t in ("extra", "##ord", "##ina", "##rily")]
    assert len(cols) == 4
    row = pieces.frame(0, 0).loc["uncovered", cols]
    kw = dict(pieces=pieces, words=words, layer=0, head=0, query="uncovered", word="extraordinarily")
    passes(capsys, ex.check_word_weight, row.sum(), **kw)
    fails(ex.check_word_weight, "平均していませんか", row.mean(), **kw)


# --- notebook 04 -------------------------------------------------------------------------


class FakeJapaneseTokenizer:
    """The two halves of BertJapaneseTokenizer: MeCab words, then WordPiece pieces of each word."""

    class _Words:
        def tokenize(self, text):
            return ["昨日", "、", "犬", "が", "公園", "で", "走っ", "た"]

    class _Pieces:
        def tokenize(self, word):
            return {"昨日": ["昨", "##日"], "公園": ["公", "##園"]}.get(word, [word])

    word_tokenizer, subword_tokenizer = _Words(), _Pieces()


def test_split_words_check(capsys):
    kw = dict(tokenizer=FakeJapaneseTokenizer(), text="昨日、犬が公園で走った")
    passes(capsys, ex.check_split_words, ["昨日", "公園"], **kw)
    fails(ex.check_split_words, "足りない: \\['公園'\\]", ["昨日"], **kw)
    fails(ex.check_split_words, "分かれていないのに入っている: \\['犬'\\]", ["昨日", "公園", "犬"], **kw)


def test_particle_target_check_ignores_itself_and_specials(capsys):
    words = random_attention(["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"])
    row = words.weights[-1, :, 4].mean(0).copy()
    row[[0, 4, 6]] = -1
    answer = words.labels[int(row.argmax())]
    out = passes(capsys, ex.check_particle_target, "猫", answer, words=words, particle="を", layer=-1)
    assert ("予想どおり" in out) == (answer == "猫")
    wrong = words.labels[int(np.argsort(row)[-2])]
    fails(ex.check_particle_target, "いちばん大きいのは", "猫", wrong, words=words, particle="を", layer=-1)


def test_order_shares_check(capsys):
    atts = {t: random_attention(["[CLS]"] + (["犬", "が", "猫", "を", "追う"] if t.startswith("犬") else
                                             ["猫", "を", "犬", "が", "追う"]) + ["[SEP]"], seed=i)
            for i, t in enumerate(["犬が猫を追う", "猫を犬が追う"])}
    shares = {t: float((a.pair("追う", "犬") > a.pair("追う", "猫")).to_numpy().mean()) for t, a in atts.items()}
    passes(capsys, ex.check_order_shares, shares, atts=atts, query="追う", a="犬", b="猫")
    flipped = {t: 1 - s for t, s in shares.items()}
    fails(ex.check_order_shares, "a と b が逆です", flipped, atts=atts, query="追う", a="犬", b="猫")
    passes(capsys, ex.check_order_shares, list(shares.values()), atts=atts, query="追う", a="犬", b="猫")  # in atts' order
    fails(ex.check_order_shares, "辞書", list(shares.values())[:1], atts=atts, query="追う", a="犬", b="猫")


def test_entropy_pair_check(capsys):
    trained = random_attention(["[CLS]", "a", "b", "c", "[SEP]"], seed=1)
    peaked = trained.weights ** 4
    trained = au.Attention(trained.tokens, peaked / peaked.sum(-1, keepdims=True))
    untrained = random_attention(["[CLS]", "a", "b", "c", "[SEP]"], seed=2)
    t = checks.row_entropy(trained.weights).mean() / np.log(5)
    u = checks.row_entropy(untrained.weights).mean() / np.log(5)
    passes(capsys, ex.check_entropy_pair, t, u, att_trained=trained, att_untrained=untrained)
    fails(ex.check_entropy_pair, "入れ替わって", u, t, att_trained=trained, att_untrained=untrained)


# --- notebook 05 -------------------------------------------------------------------------


def test_my_rollout_check(capsys, seed_att):
    passes(capsys, ex.check_my_rollout, lambda w, r: checks.rollout_layers(w, r), att=seed_att)
    fails(ex.check_my_rollout, "順番が逆", lambda w, r: checks.rollout_layers(w[::-1], r), att=seed_att)
    fails(ex.check_my_rollout, "residual = 0.0 のとき", lambda w, r: checks.rollout_layers(w, 0.5), att=seed_att)


def test_masking_change_check(capsys, minilm):
    import torch

    text = "The old dog chased the cat"
    enc = minilm.tokenizer(text, return_tensors="pt")
    tokens = minilm.tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
    q, k = tokens.index("chased"), tokens.index("cat")
    with torch.no_grad():
        h = minilm.model(**enc).last_hidden_state[0, q]
        mask = enc["attention_mask"].clone()
        mask[0, k] = 0
        h2 = minilm.model(**{**enc, "attention_mask": mask}).last_hidden_state[0, q]
    change = float((h2 - h).norm() / h.norm())
    kw = dict(lm=minilm, text=text, query="chased", token="cat")
    passes(capsys, ex.check_masking_change, change, **kw)
    fails(ex.check_masking_change, r"\|\|h' - h\|\| で止まっています", float((h2 - h).norm()), **kw)
    fails(ex.check_masking_change, "変化の割合", change * 1.01, **kw)


def test_offset_accuracy_check(capsys):
    examples = au.load_probe_set()
    offsets = range(-3, 4)
    right = {k: float(np.mean([e["obj"] + k == e["verb"] for e in examples])) for k in offsets}
    kw = dict(examples=examples, dep="obj", head="verb", offsets=offsets)
    passes(capsys, ex.check_offset_accuracy, right, **kw)
    fails(ex.check_offset_accuracy, "向きが逆", {k: right[-k] for k in offsets}, **kw)
    passes(capsys, ex.check_offset_accuracy, list(right.values()), **kw)  # a list in the order of the offsets
    fails(ex.check_offset_accuracy, "辞書", list(right.values())[:3], **kw)


# --- notebook 06 -------------------------------------------------------------------------

SENTENCE = {"words": ["The", "dog", "chased", "the", "cat"], "heads": [2, 3, 0, 5, 3],
            "relations": ["det", "nsubj", "root", "det", "obj"]}


def test_relation_pairs_check(capsys):
    passes(capsys, ex.check_relation_pairs, [("The", "dog"), ("the", "cat")], sentence=SENTENCE, relation="det")
    fails(ex.check_relation_pairs, "順番が逆", [("dog", "The"), ("cat", "the")], sentence=SENTENCE, relation="det")
    sub = {**SENTENCE, "relations": ["det", "nsubj:outer", "root", "det", "obj"]}
    passes(capsys, ex.check_relation_pairs, [("dog", "chased")], sentence=sub, relation="nsubj")


def test_head_accuracy_check_names_self_root_and_one_based_mistakes(capsys):
    def right(att_map, heads):
        m = np.array(att_map, dtype=float)
        np.fill_diagonal(m, -np.inf)
        heads = np.array(heads)
        keep = heads > 0
        return float(((m.argmax(-1) + 1)[keep] == heads[keep]).mean())

    def with_self(att_map, heads):
        heads = np.array(heads)
        keep = heads > 0
        return float(((np.asarray(att_map).argmax(-1) + 1)[keep] == heads[keep]).mean())

    def with_root(att_map, heads):
        m = np.array(att_map, dtype=float)
        np.fill_diagonal(m, -np.inf)
        return float(((m.argmax(-1) + 1) == np.array(heads)).mean())

    passes(capsys, ex.check_head_accuracy, right)
    fails(ex.check_head_accuracy, "自分自身", with_self)
    fails(ex.check_head_accuracy, "根", with_root)


def test_weight_vs_norm_check(capsys, minilm, seed_att):
    norms = au.norm_attention(minilm, SEED_TEXT)
    q = seed_att.position("chased")
    w, n = seed_att.weights[2, 3, q], norms[2, 3, q]
    kw = dict(att=seed_att, norms=norms, query="chased", layer=2, head=3)
    passes(capsys, ex.check_weight_vs_norm, seed_att.labels[int(w.argmax())], seed_att.labels[int(n.argmax())], **kw)
    fails(ex.check_weight_vs_norm, "ノルムで 1 位の key|最小の key|入れ替わって", seed_att.labels[int(w.argmax())],
          seed_att.labels[int(n.argmin())], **kw)


def test_treebank_offsets_check_reads_sentences_and_counts_subtypes(capsys):
    class Sent:  # attribute access, as au.load_treebank's sentences
        words, heads = SENTENCE["words"], SENTENCE["heads"]
        relations = ["det", "nsubj:outer", "root", "det", "obj"]

    sentences = [SENTENCE, Sent()]
    offsets = range(-3, 3)
    # det: "The"(1)->2 and "the"(4)->5 in both sentences: offset +1 is always right; +2 is clipped to the last
    # word (5) for "the"(4), as Clark et al.'s offset_predictor and au.syntax_baseline clip, so half right
    right = {k: {1: 1.0, 2: 0.5}.get(k, 0.0) for k in offsets}
    kw = dict(sentences=sentences, relation="det", offsets=offsets)
    passes(capsys, ex.check_treebank_offsets, right, **kw)
    fails(ex.check_treebank_offsets, r"オフセット \+1 の正解率", {k: 0.0 for k in offsets}, **kw)
    nsubj = {k: float(k == 1) for k in offsets}  # dog(2) -> chased(3); the subtype counts as nsubj
    fails(ex.check_treebank_offsets, "切り詰めていません", {k: float(k == 1) for k in offsets}, **kw)
    passes(capsys, ex.check_treebank_offsets, nsubj, sentences=sentences, relation="nsubj", offsets=offsets)


def _order_atts(d1, d2, layer=1, head=2):
    """Two word-level attentions (犬 first / 犬 second) whose head (layer, head) has 追う→犬 − 追う→猫 = d1, d2."""
    atts = {}
    for i, (text, toks, d) in enumerate([("犬が猫を追う", ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"], d1),
                                         ("猫を犬が追う", ["[CLS]", "猫", "を", "犬", "が", "追う", "[SEP]"], d2)]):
        att = random_attention(toks, seed=i)
        w = att.weights.copy()
        row = np.full(7, 0.1)
        row[toks.index("犬")], row[toks.index("猫")] = 0.2 + d / 2, 0.2 - d / 2
        row[0] = 1 - row[1:].sum()
        w[layer, head, 5] = row
        atts[text] = au.Attention(toks, w)
    return atts


@pytest.mark.parametrize("d1, d2, reading", [(0.1, 0.08, "役割"), (-0.1, 0.08, "位置"), (0.1, 0.02, "決められない"),
                                             (-0.06, -0.3, "役割"), (0.3, -0.06, "位置"), (0.04, -0.3, "決められない")])
def test_order_flip_check_applies_the_stated_rule(capsys, d1, d2, reading):
    atts = _order_atts(d1, d2)
    kw = dict(atts=atts, query="追う", a="犬", b="猫", layer=1, head=2)
    diffs = {t: float(a.weights[1, 2, 5, a.position("犬")] - a.weights[1, 2, 5, a.position("猫")]) for t, a in atts.items()}
    np.testing.assert_allclose(list(diffs.values()), [d1, d2], atol=1e-6)
    out = passes(capsys, ex.check_order_flip, diffs, reading, **kw)
    assert reading in out
    for other in {"役割", "位置", "決められない"} - {reading}:
        fails(ex.check_order_flip, f"読み方が違います.*「{reading}」", diffs, other, **kw)


def test_order_flip_check_accepts_other_forms_and_names_the_mistakes(capsys):
    import pandas as pd

    atts = _order_atts(-0.1, 0.08)
    kw = dict(atts=atts, query="追う", a="犬", b="猫", layer=1, head=2)
    diffs = {t: a.weights[1, 2, 5, a.position("犬")] - a.weights[1, 2, 5, a.position("猫")] for t, a in atts.items()}
    passes(capsys, ex.check_order_flip, diffs, "位置", **kw)                       # numpy float32 values
    passes(capsys, ex.check_order_flip, pd.Series(diffs), "position", **kw)       # a Series, the English word
    passes(capsys, ex.check_order_flip, {t: np.array(v) for t, v in diffs.items()}, " 位置", **kw)
    passes(capsys, ex.check_order_flip, diffs, "位置", **{**kw, "layer": -2, "head": -2})  # negative indices
    fails(ex.check_order_flip, "符号が逆", {t: -v for t, v in diffs.items()}, "位置", **kw)
    mean = {t: float(a.weights[1, :, 5, a.position("犬")].mean() - a.weights[1, :, 5, a.position("猫")].mean())
            for t, a in atts.items()}
    fails(ex.check_order_flip, "ヘッドの平均", mean, "位置", **kw)
    off_by_one = {t: float(a.weights[1, 3, 5, a.position("犬")] - a.weights[1, 3, 5, a.position("猫")])
                  for t, a in atts.items()}
    fails(ex.check_order_flip, "それは第 1 層ヘッド 3 の差です.*1 つずれて", off_by_one, "位置", **kw)   # the head it is
    swapped = dict(zip(diffs, list(diffs.values())[::-1]))
    fails(ex.check_order_flip, "2 つの文の値が入れ替わっています", swapped, "位置", **kw)
    fails(ex.check_order_flip, "の差 の値が合っていません", {t: v + 0.01 for t, v in diffs.items()}, "位置", **kw)
    fails(ex.check_order_flip, "辞書", list(diffs.values()), "位置", **kw)
    fails(ex.check_order_flip, "辞書", {"犬が猫を追う": 0.1}, "位置", **kw)
    fails(ex.check_order_flip, "数 1 つ", {t: [v, v] for t, v in diffs.items()}, "位置", **kw)
    fails(ex.check_order_flip, "どれか", diffs, "位置に沿う", **kw)
    fails(ex.check_order_flip, "どれか", diffs, 1, **kw)
    ex.check_order_flip(None, None, **kw)
    assert "まだ答えがありません" in capsys.readouterr().out


def test_treebank_offsets_check_clips_at_the_sentence_ends_as_the_library(capsys):
    tb = au.load_treebank("en_ewt")
    offsets = range(-3, 3)
    library = au.syntax_baseline(tb, all_offsets=True).loc["amod"]
    clipped = {k: float(library[k]) for k in offsets}
    passes(capsys, ex.check_treebank_offsets, clipped, sentences=tb, relation="amod", offsets=offsets)
    hits, total = {k: 0 for k in offsets}, 0
    for s in tb:
        for i, (h, r) in enumerate(zip(s.heads, s.relations), start=1):
            if r.split(":")[0] == "amod":
                total += 1
                for k in offsets:
                    hits[k] += h == i + k
    unclipped = {k: hits[k] / total for k in offsets}
    assert unclipped != clipped  # amod at +2: a prediction past the last word is clipped onto it
    fails(ex.check_treebank_offsets, "切り詰め", unclipped, sentences=tb, relation="amod", offsets=offsets)


def test_dot_std_hints_hold_for_every_set_of_dimensions_the_check_can_draw():
    """check_dot_std draws 3 of 10 dimensions at random; its hint must not depend on the draw. (It did: for
    (20, 24, 36) and (80, 100, 120) the uniform-noise answer was told it measured the mean.)"""
    import itertools

    from attn_utils.exercises import ExerciseError
    from attn_utils.exercises.checks import _dot_std_verdict

    def hint(got, dims):
        try:
            return _dot_std_verdict(np.asarray(got, float), dims)
        except ExerciseError as err:
            return str(err)

    for dims in itertools.combinations([6, 10, 12, 20, 24, 36, 48, 80, 100, 120], 3):
        d = np.asarray(dims, float)
        assert "ほぼ等しい" in hint(np.sqrt(d) * np.array([1.03, 0.97, 1.01]), list(dims)), dims
        assert "rng.random" in hint(np.sqrt(7 / 144 * d) * np.array([1.02, 0.98, 1.0]), list(dims)), dims
        assert "平均 (mean)" in hint(np.sqrt(d / 20000) * np.array([1.5, -0.8, 0.3]), list(dims)), dims
        assert "ほぼ 0" in hint(np.zeros(3), list(dims)), dims  # the spread of one number
        assert "mean(axis=-1)" in hint(np.array([1.01, 0.99, 1.0]) / np.sqrt(d), list(dims)), dims
        assert "分散" in hint(d * 1.01, list(dims)), dims
        assert "割った後" in hint(np.array([1.01, 0.98, 1.02]), list(dims)), dims
