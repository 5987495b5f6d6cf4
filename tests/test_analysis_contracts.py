"""analysis: arguments, thresholds, token choices and table metadata, on hand-made matrices."""
import numpy as np
import pandas as pd
import pytest

import attn_utils as au
from attn_utils.analysis import CLARK_SMOOTHING, METRICS


def lopsided(tokens, layers=2, heads=3, seed=0):
    rng = np.random.default_rng(seed)
    return au.Attention(list(tokens), au.softmax(rng.normal(scale=2.0, size=(layers, heads, len(tokens), len(tokens)))))


TOKENS = ["[CLS]", "the", "dog", ",", "ran", ".", "[SEP]"]


def test_entropy_smoothing_is_clarks_mixture_and_must_be_below_one():
    att = lopsided(TOKENS)
    n = len(TOKENS)
    for eps in (0.0, CLARK_SMOOTHING, 0.3):
        a = (1 - eps) * att.weights.astype(np.float64) + eps / n
        by_hand = -(a * np.log(a)).sum(-1).mean(-1)
        np.testing.assert_allclose(au.entropy(att, smoothing=eps), by_hand, rtol=1e-6)
    np.testing.assert_allclose(au.entropy(att), au.entropy(att, smoothing=0.0))
    for bad in (-0.1, 1.0, 2.0):
        with pytest.raises(au.AttentionError, match=r"smoothing must be in \[0, 1\)"):
            au.entropy(att, smoothing=bad)


def test_rollout_rejects_a_residual_outside_0_1_and_names_it():
    att = lopsided(TOKENS)
    for bad in (-0.01, 1.01):
        with pytest.raises(au.AttentionError, match=r"residual must be in 0\.\.1"):
            au.rollout(att, residual=bad)


def test_head_metrics_count_the_special_tokens_asked_for():
    tokens = ["<s>", "the", "dog", ".", "</s>"]
    att = lopsided(tokens)
    m = au.head_metrics(att, cls_token="<s>", sep_token="</s>")
    np.testing.assert_allclose(m["cls"].to_numpy(), att.weights[..., 0].mean(-1).ravel(), rtol=1e-6)
    np.testing.assert_allclose(m["sep"].to_numpy(), att.weights[..., 4].mean(-1).ravel(), rtol=1e-6)
    default = au.head_metrics(att)  # no [CLS] / [SEP] among these tokens
    assert (default["cls"] == 0).all() and (default["sep"] == 0).all()


def test_head_metrics_table_shape_names_and_text_count():
    att = lopsided(TOKENS)
    m = au.head_metrics(att)
    assert list(m.columns) == list(METRICS)
    assert m.index.names == ["layer", "head"] and list(m.index) == [(l, h) for l in range(2) for h in range(3)]
    assert m.attrs["texts"] == 1
    np.testing.assert_allclose(m["punct"].to_numpy(), att.weights[..., [3, 5]].sum(-1).mean(-1).ravel(), rtol=1e-6)


def test_head_stats_counts_its_texts_and_checks_its_arguments(minilm):
    texts = ["The dog ran.", "A cat sat, then slept."]
    stats = au.head_stats(minilm, texts, batch_size=1, progress=False)
    assert stats.attrs["texts"] == 2 and list(stats.columns) == list(METRICS)
    with pytest.raises(au.AttentionError, match="positive integer"):
        au.head_stats(minilm, texts, batch_size=0)
    with pytest.raises(au.AttentionError, match="empty"):
        au.head_stats(minilm, ["fine", "  "])


def test_positional_heads_threshold_is_strict_and_ties_look_back():
    index = pd.MultiIndex.from_tuples([(0, 0), (0, 1), (1, 0), (1, 1)], names=["layer", "head"])
    stats = pd.DataFrame({"prev": [0.5, 0.6, 0.1, 0.7], "next": [0.1, 0.6, 0.8, 0.2]}, index=index)
    rows = au.positional_heads(stats)
    assert list(rows.index) == [(0, 1), (1, 0), (1, 1)]  # exactly 0.5 is not "more than half"
    on_next = stats.assign(prev=0.0, next=[0.5, 0.1, 0.1, 0.1])
    assert len(au.positional_heads(on_next)) == 0  # nor on the next token
    assert list(rows["looks_at"]) == ["previous", "next", "previous"]
    assert list(rows.columns) == ["prev", "next", "looks_at"]
    assert list(au.positional_heads(stats, threshold=0.65).index) == [(1, 0), (1, 1)]
    assert list(au.positional_heads(stats, threshold=0.4).index) == [(0, 0), (0, 1), (1, 0), (1, 1)]


def test_unknown_corpus_names_the_available_ones():
    with pytest.raises(ValueError, match=r"Unknown corpus 'xx'; available: en"):
        au.load_corpus("xx")
    assert au.load_corpus() == au.load_corpus("en")


def test_strongest_head_skips_missing_cells():
    table = pd.DataFrame([[np.nan, 0.2], [0.9, np.nan]], index=pd.Index([3, 4], name="layer"),
                         columns=pd.Index([7, 8], name="head"))
    assert au.strongest_head(table) == (4, 7, pytest.approx(0.9))
    layer, head, value = au.strongest_head(table)
    assert isinstance(layer, int) and isinstance(head, int) and isinstance(value, float)


def test_token_ablation_leaves_out_special_tokens_and_the_query(minilm):
    text = "The dog chased the cat."
    table = au.token_ablation(minilm, text, "dog")
    att = au.extract(minilm, text)
    assert list(table.index) == [lab for lab, tok in zip(att.labels, att.tokens)
                                 if tok not in ("[CLS]", "[SEP]") and lab != "dog"]
    assert table.index.name == "key"
    assert list(table.columns) == ["change", "attention", "last_layer", "rollout"]
    assert (table["change"] > 0).all() and (table["change"] < 10).all()
    q = att.position("dog")
    keys = [att.position(k) for k in table.index]
    np.testing.assert_allclose(table["attention"].to_numpy(), att.weights[:, :, q][..., keys].mean(axis=(0, 1)), rtol=1e-6)
