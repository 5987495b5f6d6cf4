"""extract() and Attention: shapes, normalisation, labels, batching, errors."""
import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from conftest import SEED_TEXT

SENTENCES = [
    SEED_TEXT,
    "An unbelievably long sentence, with commas, goes here.",
    "Hi",
    "Attention rollout multiplies the layers through, one after another.",
]


@pytest.fixture(scope="module")
def att(minilm):
    return au.extract(minilm, SEED_TEXT)


def test_tokens_are_the_tokenizers(att, tokenizer):
    assert att.tokens == tokenizer.convert_ids_to_tokens(tokenizer(SEED_TEXT)["input_ids"])
    assert att.tokens == ["[CLS]", "the", "dog", "chased", "the", "cat", "[SEP]"]


def test_weights_shape_dtype_and_rows_sum_to_one(att, minilm):
    n = len(att.tokens)
    assert att.weights.dtype == np.float32
    assert att.weights.shape == (minilm.num_layers, minilm.num_heads, n, n)
    assert (att.num_layers, att.num_heads) == (6, 12)
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    assert (att.weights >= 0).all()


def test_labels_unique_and_aligned_with_tokens(att):
    assert len(set(att.labels)) == len(att.labels) == len(att.tokens)
    assert att.labels == ["[CLS]", "the_1", "dog", "chased", "the_4", "cat", "[SEP]"]
    for label, token in zip(att.labels, att.tokens):
        assert label == token or label.startswith(token + "_")


@pytest.mark.parametrize("layer,head", [(0, 0), (-1, 0), (3, 11), (-6, -12)])
def test_frame_is_query_by_key(att, layer, head):
    f = att.frame(layer, head)
    assert isinstance(f, pd.DataFrame)
    assert list(f.index) == att.labels and list(f.columns) == att.labels
    assert f.index.name == "query" and f.columns.name == "key"
    assert f.index.is_unique and f.columns.is_unique
    np.testing.assert_array_equal(f.to_numpy(), att.weights[layer, head])
    # row = query: the "chased" row is the weights chased -> every key
    np.testing.assert_array_equal(f.loc["chased"].to_numpy(), att.weights[layer, head, 3])


def test_query_by_token_label_or_position(att):
    by_token = att.query("chased", layer=2)
    assert list(by_token.index) == list(range(12)) and list(by_token.columns) == att.labels
    np.testing.assert_array_equal(by_token.to_numpy(), att.weights[2, :, 3, :])
    pd.testing.assert_frame_equal(by_token, att.query(3, layer=2))
    np.testing.assert_array_equal(att.query("the_4").to_numpy(), att.weights[-1, :, 4, :])
    assert att.query("Chased").attrs["query"] == "chased"  # forgiving about case


def test_query_absent_or_ambiguous_lists_tokens(att):
    with pytest.raises(au.AttentionError) as err:
        att.query("mouse")
    assert "0:[CLS]" in str(err.value) and "3:chased" in str(err.value)
    with pytest.raises(au.AttentionError) as err:
        att.query("the")
    assert "2 times" in str(err.value) and "'the_1'" in str(err.value) and "'the_4'" in str(err.value)


@pytest.mark.parametrize("bad,valid", [(6, "0..5"), (-7, "0..5"), (1.5, "0..5")])
def test_layer_out_of_range_names_range(att, bad, valid):
    with pytest.raises(au.AttentionError, match=valid.replace(".", r"\.")):
        att.frame(layer=bad)


def test_head_out_of_range_names_range(att):
    with pytest.raises(au.AttentionError, match=r"0\.\.11"):
        att.frame(0, head=12)


def test_pair_is_layer_by_head(att):
    p = att.pair("chased", "dog")
    assert p.shape == (6, 12) and p.index.name == "layer" and p.columns.name == "head"
    np.testing.assert_array_equal(p.to_numpy(), att.weights[:, :, 3, 2])


def test_tidy_roundtrip(att):
    t = att.tidy()
    assert list(t.columns) == ["layer", "head", "query_pos", "query", "key_pos", "key", "weight"]
    assert len(t) == att.weights.size
    back = t.pivot_table(index=["layer", "head", "query_pos"], columns="key_pos", values="weight")
    np.testing.assert_array_equal(back.to_numpy().reshape(att.weights.shape), att.weights)
    row = t[(t["layer"] == 1) & (t["head"] == 2) & (t["query"] == "chased") & (t["key"] == "cat")]
    assert row["weight"].item() == att.weights[1, 2, 3, 5]


def test_batched_equals_single(minilm):
    batched = au.extract(minilm, SENTENCES, batch_size=3)
    assert len(batched) == len(SENTENCES)
    for text, b in zip(SENTENCES, batched):
        s = au.extract(minilm, text)
        assert b.tokens == s.tokens and "[PAD]" not in b.tokens
        assert b.weights.shape == s.weights.shape
        np.testing.assert_allclose(b.weights, s.weights, atol=1e-5)
        np.testing.assert_allclose(b.weights.sum(-1), 1.0, atol=1e-5)


def test_to_words_merges_pieces_and_keeps_rows_normalised(minilm):
    att = au.extract(minilm, "An unbelievably long sentence")
    assert "##bly" in att.tokens
    words = att.to_words()
    assert words.tokens == ["[CLS]", "An", "unbelievably", "long", "sentence", "[SEP]"]  # words as written in the text
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    pieces = [i for i, t in enumerate(att.tokens) if i >= 2 and i <= 2 + 4]  # un ##bel ##ie ##va ##bly
    assert "".join(att.tokens[i].lstrip("#") for i in pieces) == "unbelievably"
    # key side sums the pieces, query side averages them
    np.testing.assert_allclose(words.weights[:, :, 0, 2], att.weights[:, :, 0, pieces].sum(-1), atol=1e-6)
    np.testing.assert_allclose(words.weights[:, :, 2, 0], att.weights[:, :, pieces, 0].mean(-1), atol=1e-6)


@pytest.mark.parametrize("bad", ["", "   ", 42, None, ["ok", 3], []])
def test_bad_text_is_a_clear_error(minilm, bad):
    with pytest.raises(au.AttentionError):
        au.extract(minilm, bad)


def test_tiny_models_of_each_family(tiny_model):
    att = au.extract(tiny_model, SEED_TEXT)
    assert att.weights.shape == (2, 4, 7, 7)
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    batched = au.extract(tiny_model, [SEED_TEXT, SENTENCES[1]], batch_size=2)
    np.testing.assert_allclose(batched[0].weights, att.weights, atol=1e-5)


def test_sdpa_model_does_what_the_installed_transformers_does(tokenizer):
    """SDPA differs by version: 4.40 has no SDPA for BERT (it refuses to build one); 4.41-4.x
    falls back to eager when attentions are asked for, giving eager's weights; 5.x returns
    an empty tuple, which extract() turns into an error that names the fix."""
    import transformers
    from transformers import BertConfig, BertModel

    version = tuple(int(x) for x in transformers.__version__.split(".")[:2])
    shape = dict(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=1,
                 num_attention_heads=2, intermediate_size=32)
    if version < (4, 41):
        with pytest.raises(ValueError, match="scaled_dot_product_attention"):
            BertModel(BertConfig(**shape, attn_implementation="sdpa"))
        return
    torch.manual_seed(0)
    sdpa = BertModel(BertConfig(**shape, attn_implementation="sdpa")).eval()
    lm = au.LoadedModel(sdpa, tokenizer, "sdpa", "stand-in", "config")
    if version >= (5, 0):
        with pytest.raises(au.AttentionError, match="eager"):
            au.extract(lm, SEED_TEXT)
        return
    eager = BertModel(BertConfig(**shape, attn_implementation="eager")).eval()
    eager.load_state_dict(sdpa.state_dict())
    expected = au.extract(au.LoadedModel(eager, tokenizer, "eager", "stand-in", "config"), SEED_TEXT)
    np.testing.assert_allclose(au.extract(lm, SEED_TEXT).weights, expected.weights, atol=1e-6)


def test_progress_default_is_silent_off_a_terminal_and_text_on_one(monkeypatch):
    from tqdm.std import tqdm as text_tqdm

    import importlib

    ex = importlib.import_module("attn_utils.extract")

    monkeypatch.setattr(ex, "_stderr_is_terminal", lambda: False)  # Jupyter, nbconvert, CI logs
    assert isinstance(ex._batches(100, 10, None, "x"), range)
    monkeypatch.setattr(ex, "_stderr_is_terminal", lambda: True)
    bar = ex._batches(100, 10, None, "x")
    assert type(bar) is text_tqdm  # plain text, never a widget, when chosen by default
    bar.close()
    assert isinstance(ex._batches(10, 10, None, "x"), range)  # one batch: no bar
    assert isinstance(ex._batches(100, 10, False, "x"), range)
    forced = ex._batches(100, 10, True, "x")
    assert not isinstance(forced, range)
    forced.close()
