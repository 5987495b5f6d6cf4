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


def test_scaled_dot_product_on_batched_non_square_inputs():
    """[batch, query, d] against [batch, key, d] with query != key != d: each item is softmax(q k^T / sqrt d) v."""
    rng = np.random.default_rng(1)
    q, k, v = rng.normal(size=(2, 3, 4)), rng.normal(size=(2, 5, 4)), rng.normal(size=(2, 5, 6))
    mask = rng.random((2, 3, 5)) > 0.3
    mask[..., 0] = True  # every query may look somewhere
    for m in (None, mask):
        out, w = au.scaled_dot_product(q, k, v, mask=m)
        assert out.shape == (2, 3, 6) and w.shape == (2, 3, 5)
        for b in range(2):
            scores = q[b] @ k[b].T / 2.0  # sqrt(d) = 2
            if m is not None:
                scores = np.where(m[b], scores, -np.inf)
            expected = np.exp(scores - scores.max(-1, keepdims=True))
            expected /= expected.sum(-1, keepdims=True)
            np.testing.assert_allclose(w[b], expected, atol=1e-12)
            np.testing.assert_allclose(out[b], expected @ v[b], atol=1e-12)
    _, unscaled = au.scaled_dot_product(q, k, v, scale=False)
    np.testing.assert_allclose(unscaled[0], au.softmax(q[0] @ k[0].T), atol=1e-12)


def test_softmax_along_a_chosen_axis():
    x = np.random.default_rng(2).normal(size=(3, 4))
    np.testing.assert_allclose(au.softmax(x, axis=0).sum(0), 1.0)
    np.testing.assert_allclose(au.softmax(x, axis=0), au.softmax(x.T).T)


def test_encoder_layers_of_wrapped_bare_and_other_models(tokenizer):
    import torch
    from transformers import BertConfig, BertForMaskedLM

    from attn_utils.scratch import encoder_layers

    cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=16, num_hidden_layers=1,
                     num_attention_heads=2, intermediate_size=16, attn_implementation="eager")
    mlm = BertForMaskedLM(cfg)  # a head model: the encoder sits under .bert (its base_model)
    assert encoder_layers(mlm) == list(mlm.bert.encoder.layer) and len(encoder_layers(mlm)) == 1

    class Bare(torch.nn.Module):  # no base_model attribute at all
        def __init__(self, encoder):
            super().__init__()
            self.encoder = encoder

    assert encoder_layers(Bare(mlm.bert.encoder)) == list(mlm.bert.encoder.layer)
    with pytest.raises(TypeError, match="Linear has no encoder"):
        encoder_layers(torch.nn.Linear(2, 2))
