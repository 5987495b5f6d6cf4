"""Attention's documented contract in detail: names, metadata, messages and word grouping.

Written against mutants that survived the older tests (docs/mutation.md): each
test asserts a documented property, not the text of one mutant.
"""
import sys

import numpy as np
import pytest

import attn_utils as au
from attn_utils.extract import SPECIAL_TOKENS
from attn_utils.words import piece_groups


def _word_groups(tokens, word_ids):
    """How Attention.to_words groups pieces when it has no character spans."""
    return piece_groups(tokens, word_ids, SPECIAL_TOKENS)
from conftest import SEED_TEXT


def uniform(tokens, layers=2, heads=3, word_ids=None, **kw):
    n = len(tokens)
    return au.Attention(list(tokens), np.full((layers, heads, n, n), 1.0 / n), word_ids, **kw)


def lopsided(tokens, layers=2, heads=3, seed=0, **kw):
    rng = np.random.default_rng(seed)
    w = au.softmax(rng.normal(size=(layers, heads, len(tokens), len(tokens))))
    return au.Attention(list(tokens), w, **kw)


# --- repr, defaults, metadata --------------------------------------------------------------------

def test_repr_names_sizes_caption_and_tokens():
    att = uniform(["[CLS]", "the", "dog", "[SEP]"], caption="MiniLM-L6 (bundled)")
    text = repr(att)
    assert text == "Attention(4 tokens, 2 layers x 3 heads, MiniLM-L6 (bundled)): [CLS] the dog [SEP]"
    assert repr(uniform(["a", "b"])) == "Attention(2 tokens, 2 layers x 3 heads): a b"


def test_frame_defaults_to_the_last_layer_and_head_zero():
    att = lopsided(["[CLS]", "a", "b", "[SEP]"], layers=3, heads=4)
    np.testing.assert_array_equal(att.frame().to_numpy(), att.weights[2, 0])
    np.testing.assert_array_equal(att.query("a").to_numpy(), att.weights[2, :, 1])


def test_query_and_pair_name_their_axes_and_remember_the_tokens():
    att = lopsided(["[CLS]", "a", "b", "a", "[SEP]"])
    q = att.query("b", layer=0)
    assert q.index.name == "head" and q.columns.name == "key"
    assert list(q.index) == list(range(att.num_heads)) and list(q.columns) == att.labels
    assert q.attrs["query"] == "b"
    p = att.pair("a_1", 2)
    assert p.attrs["pair"] == ("a_1", "b")
    assert p.index.name == "layer" and p.columns.name == "head"


def test_word_ids_text_and_caption_survive_to_words():
    att = uniform(["[CLS]", "un", "##like", "ly", "[SEP]"], word_ids=[None, 0, 0, 0, None],
                  text="unlikely", caption="tiny")
    words = att.to_words()
    assert words.tokens == ["[CLS]", "unlikely", "[SEP]"]
    assert words.word_ids == [0, 1, 2] and words.text == "unlikely" and words.caption == "tiny"
    again = words.to_words()  # word level is a fixed point
    assert again.tokens == words.tokens
    np.testing.assert_allclose(again.weights, words.weights, atol=1e-7)


# --- word grouping ------------------------------------------------------------------------------

def test_word_ids_decide_the_words_even_without_hash_pieces():
    """MeCab / SentencePiece words: pieces without ``##`` join when the tokenizer says so."""
    att = lopsided(["[CLS]", "東京", "都", "に", "住む", "[SEP]"], word_ids=[None, 0, 0, 1, 2, None])
    words = att.to_words()
    assert words.tokens == ["[CLS]", "東京都", "に", "住む", "[SEP]"]
    np.testing.assert_allclose(words.weights[:, :, 0, 1], att.weights[:, :, 0, 1:3].sum(-1), atol=1e-6)
    np.testing.assert_allclose(words.weights[:, :, 1, 0], att.weights[:, :, 1:3, 0].mean(-1), atol=1e-6)


def test_hash_pieces_join_their_word_when_there_are_no_word_ids():
    tokens = ["[CLS]", "un", "##believ", "##able", "dog", "##s", "[SEP]"]
    assert _word_groups(tokens, None) == [[0], [1, 2, 3], [4, 5], [6]]
    assert uniform(tokens).to_words().tokens == ["[CLS]", "unbelievable", "dogs", "[SEP]"]
    # a piece right after a special token has no word to join
    assert _word_groups(["[CLS]", "##s", "dog", "[SEP]"], None) == [[0], [1], [2], [3]]
    assert _word_groups(["##a", "##b"], None) == [[0, 1]]


def test_special_tokens_and_repeated_word_ids():
    # None never joins, even next to another None; a word id joins only its own run
    assert _word_groups(["[CLS]", "[SEP]", "a", "b", "c"], [None, None, 0, 0, 1]) == [[0], [1], [2, 3], [4]]


def test_extracted_word_ids_are_the_fast_tokenizers(minilm):
    text = "Archaeologists uncovered well-preserved mosaics"
    att = au.extract(minilm, text)
    assert att.word_ids == minilm.tokenizer(text).word_ids()
    assert att.text == text and att.caption == minilm.caption
    (batched,) = au.extract(minilm, [text])
    assert batched.word_ids == att.word_ids and batched.text == text


# --- messages name what is wrong and what is valid ----------------------------------------------

def test_index_errors_say_which_index_and_the_valid_range():
    att = uniform(["[CLS]", "a", "[SEP]"], layers=2, heads=3)
    with pytest.raises(au.AttentionError, match=r"head 3 is out of range: valid are 0\.\.2 \(or -3\.\.-1"):
        att.frame(0, 3)
    with pytest.raises(au.AttentionError, match=r"layer -3 is out of range: valid are 0\.\.1"):
        att.frame(-3, 0)
    with pytest.raises(au.AttentionError, match=r"token position 7 is out of range: valid are 0\.\.2"):
        att.query(7)
    with pytest.raises(au.AttentionError, match=r"head must be an integer in 0\.\.2"):
        att.frame(0, "1")
    with pytest.raises(au.AttentionError, match=r"layer must be an integer.*True"):
        att.frame(True)


def test_bad_token_errors_list_every_token_with_its_position():
    att = uniform(["[CLS]", "A", "a", "a", "[SEP]"])
    with pytest.raises(au.AttentionError) as err:
        att.position(2.5)
    assert "2.5" in str(err.value) and "0:[CLS], 1:A, 2:a, 3:a, 4:[SEP]" in str(err.value)
    with pytest.raises(au.AttentionError) as err:
        att.position("a")  # exact matches first: two of them, "A" is not one
    msg = str(err.value)
    assert "occurs 2 times" in msg and "2 / 'a_2' or 3 / 'a_3'" in msg and "'A'" not in msg.split(";")[0]
    assert att.position("A") == 1 and att.position(np.int64(4)) == 4
    with pytest.raises(au.AttentionError, match="'b' is not one of the tokens"):
        att.position("b")


def test_case_is_forgiven_only_when_it_is_unambiguous():
    att = uniform(["[CLS]", "Dog", "cat", "[SEP]"])
    assert att.position("dog") == 1 and att.position("CAT") == 2
    both = uniform(["[CLS]", "Dog", "dog", "[SEP]"])
    assert both.position("dog") == 2 and both.position("Dog") == 1
    with pytest.raises(au.AttentionError, match="2 times"):
        both.position("DOG")


def test_constructor_rejects_mismatched_shapes():
    with pytest.raises(au.AttentionError, match=r"\[layer, head, query, key\]"):
        au.Attention(["a", "b"], np.ones((2, 2)) / 2)
    with pytest.raises(au.AttentionError, match="3 tokens"):
        au.Attention(["a", "b", "c"], np.ones((1, 1, 2, 2)) / 2)


# --- progress bars ------------------------------------------------------------------------------

def test_progress_bar_only_when_asked_or_in_a_terminal_with_several_batches(minilm, capsys, monkeypatch):
    extract_module = sys.modules["attn_utils.extract"]  # au.extract is the function

    texts = [SEED_TEXT, "A second sentence.", "A third one."]
    au.extract(minilm, texts, batch_size=1, progress=False)
    assert "extract" not in capsys.readouterr().err
    au.extract(minilm, texts, batch_size=1, progress=True)
    err = capsys.readouterr().err
    assert "extract" in err and "3/3" in err and "batch" in err
    monkeypatch.setattr(extract_module, "_stderr_is_terminal", lambda: True)
    au.extract(minilm, texts, batch_size=2)  # default, in a terminal: several batches -> a bar
    assert "extract" in capsys.readouterr().err
    au.extract(minilm, texts, batch_size=8)  # default: one batch -> none
    assert "extract" not in capsys.readouterr().err
    monkeypatch.setattr(extract_module, "_stderr_is_terminal", lambda: False)
    au.extract(minilm, texts, batch_size=1)  # default, not a terminal (notebook, CI): none
    assert "extract" not in capsys.readouterr().err


def test_weights_are_stored_as_float32_from_any_array_like():
    att = au.Attention(["a", "b"], [[[[0.25, 0.75], [1.0, 0.0]]]])  # nested lists, float64 values
    assert isinstance(att.weights, np.ndarray) and att.weights.dtype == np.float32
    assert att.weights.shape == (1, 1, 2, 2) and (att.num_layers, att.num_heads, len(att)) == (1, 1, 2)
