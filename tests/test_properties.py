"""Laws that hold on any input, tried on random ones (hypothesis).

Random attention is the softmax of random normals; random token lists mix
duplicates, [CLS]/[SEP], ``##`` pieces, Japanese, punctuation and tokens
that already look like labels (``the_1``). Example counts stay modest so the
unit suite stays fast.
"""
from unittest import mock

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

import attn_utils as au
from attn_utils.extract import SPECIAL_TOKENS
from attn_utils.words import join_pieces as _join_pieces
from attn_utils.words import piece_groups


def _word_groups(tokens, word_ids):
    """How Attention.to_words groups pieces when it has no character spans."""
    return piece_groups(tokens, word_ids, SPECIAL_TOKENS)
from conftest import tiny

VOCAB = ["the", "dog", "cat", "chased", "##s", "##ing", "un", "##believ", "[CLS]", "[SEP]", ".", ",", "?",
         "犬", "が", "猫", "を", "追う", "。", "「", "」", "##た", "the_1", "x_2", "Ġ,", "▁.", "Ġdog"]
# Attention weights are float32: a row sums to 1 only within ~1e-7, so the renormalised diagonal of
# rollout can sit a few 1e-8 under residual ** (l+1) (hypothesis found 0.499999995 for 0.5).
FLOAT32_ROWS = 1e-6
FAST = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
MODEL = settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])

tokens_st = st.lists(st.sampled_from(VOCAB), min_size=1, max_size=9)


@st.composite
def attentions(draw, max_layers=3, max_heads=3, word_ids=False):
    """An Attention over random tokens with rows softmax(normal); optionally random word ids."""
    tokens = draw(tokens_st)
    n = len(tokens)
    L = draw(st.integers(1, max_layers))
    H = draw(st.integers(1, max_heads))
    scale = draw(st.sampled_from([0.1, 1.0, 5.0]))
    scores = draw(arrays(np.float64, (L, H, n, n),
                         elements=st.floats(-3, 3, allow_nan=False, allow_infinity=False)))
    w = au.softmax(scale * scores)
    ids = None
    if word_ids:  # non-decreasing word ids, None for some tokens (specials)
        ids, word = [], 0
        for _ in range(n):
            kind = draw(st.sampled_from(["same", "next", "none"]))
            if kind == "none":
                ids.append(None)
            else:
                if kind == "next" or not ids:
                    word += 1
                ids.append(word)
    return au.Attention(tokens, w, ids)


@FAST
@given(attentions())
def test_rows_sum_to_one_in_every_view(att):
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    l, h = att.num_layers - 1, 0
    np.testing.assert_allclose(att.frame(l, h).sum(axis=1).to_numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(att.query(0, layer=l).sum(axis=1).to_numpy(), 1.0, atol=1e-5)
    np.testing.assert_allclose(au.softmax(np.log(att.weights + 1e-30)).sum(-1), 1.0, atol=1e-6)


@FAST
@given(st.one_of(attentions(), attentions(word_ids=True)))
def test_to_words_keeps_rows_summing_to_one_and_sums_keys_means_queries(att):
    words = att.to_words()
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    groups = _word_groups(att.tokens, att.word_ids)
    assert sorted(i for g in groups for i in g) == list(range(len(att)))  # a partition, in order
    assert [i for g in groups for i in g] == list(range(len(att)))
    assert len(words) == len(groups) and words.tokens == [_join_pieces([att.tokens[i] for i in g]) for g in groups]
    for a, ga in enumerate(groups):
        for b, gb in enumerate(groups):
            expected = att.weights[:, :, ga][:, :, :, gb].sum(-1).mean(-1)
            np.testing.assert_allclose(words.weights[:, :, a, b], expected, atol=1e-5)


@FAST
@given(attentions(max_layers=6), st.floats(0.0, 1.0))
def test_rollout_rows_sum_to_one_and_diagonal_at_least_residual_power(att, residual):
    steps = au.rollout(att, residual=residual, all_layers=True)
    assert steps.shape == (att.num_layers, len(att), len(att))
    np.testing.assert_allclose(steps.sum(-1), 1.0, atol=1e-9)
    assert (steps >= -1e-12).all()
    for layer in range(att.num_layers):  # R_l = A'_l ... A'_0: the diagonal keeps residual ** (l+1)
        assert (np.diag(steps[layer]) >= residual ** (layer + 1) - FLOAT32_ROWS).all()
    np.testing.assert_allclose(au.rollout(att, residual=residual), steps[-1])
    r = au.rollout(att)
    assert (np.diag(r) >= 0.5 ** att.num_layers - FLOAT32_ROWS).all()


@FAST
@given(attentions())
def test_frame_tidy_query_and_pair_agree_with_weights(att):
    L, H, n, _ = att.weights.shape
    t = att.tidy()
    assert len(t) == att.weights.size
    np.testing.assert_array_equal(t["weight"].to_numpy(), att.weights.ravel())
    for col, axis in (("layer", 0), ("head", 1), ("query_pos", 2), ("key_pos", 3)):
        idx = np.indices(att.weights.shape)[axis].ravel()
        np.testing.assert_array_equal(t[col].to_numpy(), idx)
    assert list(t["query"]) == [att.labels[i] for i in t["query_pos"]]
    assert list(t["key"]) == [att.labels[i] for i in t["key_pos"]]
    for layer in range(L):
        for head in range(H):
            f = att.frame(layer, head)
            np.testing.assert_array_equal(f.to_numpy(), att.weights[layer, head])
            assert list(f.index) == att.labels == list(f.columns)
    for q in range(n):
        np.testing.assert_array_equal(att.query(q, layer=L - 1).to_numpy(), att.weights[-1, :, q, :])
        np.testing.assert_array_equal(att.query(att.labels[q], layer=0).to_numpy(), att.weights[0, :, q, :])
        np.testing.assert_array_equal(att.pair(q, n - 1 - q).to_numpy(), att.weights[:, :, q, n - 1 - q])


@FAST
@given(tokens_st)
def test_labels_are_unique_and_map_onto_their_tokens(tokens):
    att = au.Attention(tokens, np.full((1, 1, len(tokens), len(tokens)), 1 / len(tokens)))
    assert len(att.labels) == len(set(att.labels)) == len(tokens)
    for i, (label, token) in enumerate(zip(att.labels, tokens)):
        assert label.startswith(token)
        assert att.position(label) == i
        if tokens.count(token) == 1 and token not in att.labels[:i] + att.labels[i + 1:]:
            assert label == token  # a token that occurs once keeps its own text
        if tokens.count(token) > 1:
            assert label != token
    for i, token in enumerate(tokens):
        if sum(t.lower() == token.lower() for t in tokens) == 1 and token not in att.labels[:i] + att.labels[i + 1:]:
            assert att.position(token) == i


@FAST
@given(attentions())
def test_entropy_is_between_zero_and_log_n(att):
    e = au.entropy(att)
    assert e.shape == (att.num_layers, att.num_heads)
    assert (e >= -1e-9).all() and (e <= np.log(len(att)) + 1e-6).all()


# --- on models ----------------------------------------------------------------------------------

WORDS = ["the", "dog", "chased", "a", "cat", "unbelievably", "archaeologists", ",", ".", "?", "犬", "猫", "が",
         "Tokyo", "42", "well-known", "don't"]
texts_st = st.lists(st.sampled_from(WORDS), min_size=1, max_size=12).map(" ".join)


@MODEL
@given(st.lists(texts_st, min_size=1, max_size=5), st.integers(1, 4))
def test_batched_extraction_equals_single_extraction(minilm, texts, batch_size):
    batched = au.extract(minilm, texts, batch_size=batch_size, progress=False)
    assert len(batched) == len(texts)
    for text, b in zip(texts, batched):
        s = au.extract(minilm, text)
        assert b.tokens == s.tokens and b.word_ids == s.word_ids and b.text == s.text == text
        np.testing.assert_allclose(b.weights, s.weights, atol=1e-5)


@pytest.fixture(scope="module")
def tiny_bert(tokenizer):
    return tiny("bert", tokenizer)


@MODEL
@given(texts_st)
def test_extracted_rows_sum_to_one_and_tokens_are_the_tokenizers(tiny_bert, text):
    att = au.extract(tiny_bert, text)
    tok = tiny_bert.tokenizer
    assert att.tokens == tok.convert_ids_to_tokens(tok(text)["input_ids"])
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    words = att.to_words()
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    assert words.tokens[0] == "[CLS]" and words.tokens[-1] == "[SEP]"


@st.composite
def _ordered_words_and_spans(draw):
    """Ordered, non-overlapping word spans (empty words and gaps included) and token spans over them."""
    cuts = sorted(draw(st.lists(st.integers(0, 30), min_size=0, max_size=12)))
    words = [(cuts[i], cuts[i + 1]) for i in range(0, len(cuts) - 1, 2)]
    spans = draw(st.lists(st.one_of(st.none(), st.tuples(st.integers(0, 32), st.integers(0, 32))), max_size=10))
    return words, spans


@given(_ordered_words_and_spans())
@settings(max_examples=300, deadline=None)
def test_bisected_word_hits_equal_the_scan(case):
    """align() bisects ordered words: the same (first, last) word as scanning every word, and the same grouping."""
    from attn_utils import words as W

    words, spans = case
    assert W._ordered(words)
    starts, ends = [a for a, _ in words], [b for _, b in words]
    for span in spans:
        if span is not None:
            assert W._words_hit(span, words, starts, ends) == W._words_hit(span, words)
    fast = W.align(spans, words)
    with mock.patch.object(W, "_ordered", return_value=False):  # the scan over every word
        scanned = W.align(spans, words)
    assert fast == scanned
    assert sorted(t for g in fast.groups for t in g) == list(range(len(spans)))
