"""The from-scratch arithmetic and its agreement with a real BERT layer."""
import numpy as np
import pytest

import attn_utils as au
from conftest import SEED_TEXT


def test_softmax_rows_sum_to_one_and_are_stable():
    x = np.array([[1.0, 2.0, 3.0], [1000.0, 1000.0, 1000.0]])
    s = au.softmax(x)
    np.testing.assert_allclose(s.sum(-1), 1.0)
    np.testing.assert_allclose(s[1], 1 / 3)
    np.testing.assert_allclose(s[0], np.exp([1, 2, 3]) / np.exp([1, 2, 3]).sum())


def test_scaled_dot_product_by_hand():
    q = np.array([[1.0, 0.0]])
    k = np.array([[1.0, 0.0], [0.0, 1.0]])
    v = np.array([[10.0], [20.0]])
    out, w = au.scaled_dot_product(q, k, v)
    a = np.exp(1 / np.sqrt(2))
    np.testing.assert_allclose(w, [[a / (a + 1), 1 / (a + 1)]])
    np.testing.assert_allclose(out, w @ v)
    _, masked = au.scaled_dot_product(q, k, v, mask=np.array([[True, False]]))
    np.testing.assert_allclose(masked, [[1.0, 0.0]])


def test_recompute_matches_model_on_every_layer(minilm):
    mine, theirs = au.recompute_attention(minilm, SEED_TEXT)
    assert mine.shape == theirs.shape == (6, 12, 7, 7)
    per_layer = np.abs(mine - theirs).max(axis=(1, 2, 3))
    assert (per_layer < 1e-5).all(), per_layer
    np.testing.assert_allclose(theirs, au.extract(minilm, SEED_TEXT).weights, atol=1e-6)


def test_recompute_without_scaling_does_not_match(minilm):
    """The check can fail: attention without the 1/sqrt(d) scaling is not BERT's."""
    unscaled, theirs = au.recompute_attention(minilm, SEED_TEXT, scale=False)
    assert np.abs(unscaled - theirs).max() > 1e-2
    # without scaling the rows are sharper: lower entropy on average
    def ent(a):
        return -(a * np.log(a + 1e-12)).sum(-1).mean()
    assert ent(unscaled) < ent(theirs)


def test_recompute_rejects_non_bert(tiny_model):
    if tiny_model.name == "tiny-distilbert":
        with pytest.raises(TypeError, match="BERT-style") as err:  # checked before the model runs
            au.recompute_attention(tiny_model, SEED_TEXT)
        assert isinstance(err.value, au.AttentionError)
    else:
        mine, theirs = au.recompute_attention(tiny_model, SEED_TEXT)
        np.testing.assert_allclose(mine, theirs, atol=1e-5)
