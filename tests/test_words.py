"""Word-level alignment by character spans: the same words whatever the tokenizer."""
import importlib.util
import unicodedata

import numpy as np
import pytest
import torch

import attn_utils as au
from attn_utils import words as W
from attn_utils.models import LoadedModel

from test_tokenizers import SENTENCES

needs_mecab = pytest.mark.skipif(importlib.util.find_spec("fugashi") is None,
                                 reason="needs fugashi (pip install fugashi unidic-lite)")
DOG = "犬が猫を追う"


def tiny_over(tokenizer, name):
    """A 2-layer random BertModel over a real tokenizer: alignment needs tokens, not trained weights."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tokenizer), hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, attn_implementation="eager")
    return LoadedModel(BertModel(cfg).eval(), tokenizer, name=name, source="untrained", loaded="config")


@pytest.fixture(scope="module")
def v3_tiny():
    return tiny_over(au.load_tokenizer("tohoku-nlp/bert-base-japanese-v3"), "tiny-v3")


@needs_mecab
def test_v3_japanese_words_are_mecab_words(v3_tiny):
    words = au.extract(v3_tiny, DOG).to_words()
    assert words.tokens == ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"]
    assert words.merged_words == 0


def test_english_wordpiece_gives_whitespace_words(minilm):
    att = au.extract(minilm, "The dog chased the unbelievably cat")
    assert len(att.tokens) > 8  # "unbelievably" is several pieces
    words = att.to_words()
    assert words.tokens == ["[CLS]", "The", "dog", "chased", "the", "unbelievably", "cat", "[SEP]"]
    assert words.spans[1:-1] == W.word_spans("The dog chased the unbelievably cat")


@needs_mecab
def test_word_rows_sum_to_one_keys_summed_queries_averaged(v3_tiny):
    text = "ｶﾀｶﾅの半角文字"  # v3: カタカナ の 半 ##角 文字
    att = au.extract(v3_tiny, text)
    pieces = [att.tokens.index("半"), att.tokens.index("##角")]
    words = att.to_words()
    w = words.tokens.index("半角")
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    np.testing.assert_allclose(words.weights[:, :, 0, w], att.weights[:, :, 0, pieces].sum(-1), atol=1e-6)
    np.testing.assert_allclose(words.weights[:, :, w, 0], att.weights[:, :, pieces, 0].mean(-1), atol=1e-6)
    assert words.tokens[1] == "ｶﾀｶﾅ"  # words are written as in the original text


@needs_mecab
def test_explicit_word_spans_are_used(v3_tiny):
    att = au.extract(v3_tiny, DOG)
    words = att.to_words(words=[(0, 2), (2, 4), (4, 6)])
    assert words.tokens == ["[CLS]", "犬が", "猫を", "追う", "[SEP]"]
    assert words.spans == [None, (0, 2), (2, 4), (4, 6), None]
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("bad", [[(0, 99)], [(2, 4), (0, 2)], [(0, 3), (2, 4)], [(1, 1)], ["ab"], 5])
def test_bad_word_spans_are_a_clear_error(minilm, bad):
    att = au.extract(minilm, "The dog ran")
    with pytest.raises(au.AttentionError, match="start"):
        att.to_words(words=bad)


def test_straddling_token_merges_the_words_and_is_counted():
    # token 1 covers "ab|c": it straddles words "ab" and "cd"
    spans = [None, (0, 3), (3, 4), (5, 7), None]
    words = [(0, 2), (2, 4), (5, 7)]
    assert W.group_tokens(spans, words) == [[0], [1, 2], [3], [4]]
    assert W.count_straddled(spans, words) == 1
    assert W.count_straddled(spans, [(0, 3), (3, 4), (5, 7)]) == 0


def test_special_tokens_and_bare_boundary_pieces():
    # <s> ▁ 犬 が </s>: the bare "▁" (empty span at 0) belongs to the word starting there
    spans = [None, (0, 0), (0, 1), (1, 2), None]
    assert W.group_tokens(spans, [(0, 1), (1, 2)]) == [[0], [1, 2], [3], [4]]


def test_hand_built_attention_without_spans_keeps_piece_grouping():
    tokens = ["[CLS]", "un", "##believ", "##able", "[SEP]"]
    w = np.full((1, 1, 5, 5), 0.2, dtype=np.float32)
    words = au.Attention(tokens, w).to_words()
    assert words.tokens == ["[CLS]", "unbelievable", "[SEP]"]
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-6)
    with pytest.raises(au.AttentionError, match="span"):
        au.Attention(tokens, w).to_words(words=[(0, 3)])


@needs_mecab
def test_v3_token_spans_cover_each_piece_in_order():
    tok = au.load_tokenizer("tohoku-nlp/bert-base-japanese-v3")
    for text in SENTENCES:
        ids = tok(text)["input_ids"]
        spans = au.token_spans(tok, text, ids)
        prev = 0
        for piece, span in zip(tok.convert_ids_to_tokens(ids), spans):
            if piece in ("[CLS]", "[SEP]"):
                assert span is None
                continue
            a, b = span
            assert prev <= a < b, (text, piece, span)  # in order, never empty
            if piece != "[UNK]":  # "…" is NFKC "...": three "." pieces share its one character
                assert piece.removeprefix("##") in unicodedata.normalize("NFKC", text[a:b]), (text, piece)
            prev = a


@pytest.mark.parametrize("text", ["Café Déjà vu, naïve résumé!", "The dog chased the cat", "ＡＢＣ  and  über-cool"])
def test_slow_alignment_equals_fast_offsets(text):
    try:  # transformers 5: BertTokenizer is the fast one, the Python one is BertTokenizerLegacy
        from transformers import BertTokenizerLegacy
    except ImportError:  # transformers 4.x: BertTokenizer is the Python (slow) one
        from transformers import BertTokenizer as BertTokenizerLegacy

    fast = au.load_tokenizer("bert-base-uncased")
    slow = BertTokenizerLegacy(vocab_file=str(au.bundled_model_dir() / "vocab.txt"), do_lower_case=True)
    assert fast.is_fast and not slow.is_fast
    ids = fast(text)["input_ids"]
    assert slow(text)["input_ids"] == ids
    assert W.token_spans(slow, text, ids) == W.token_spans(fast, text, ids)


@needs_mecab
def test_word_spans_map_back_to_original_characters():
    text = "ＡＢＣ株式会社のＣＥＯが来日した。"
    assert [text[a:b] for a, b in W.word_spans(text)] == ["ＡＢＣ", "株式", "会社", "の", "ＣＥＯ", "が", "来日", "し", "た", "。"]
    assert W.word_spans("The dog  chased.") == [(0, 3), (4, 7), (9, 16)]
    assert W.word_spans("ねこ", lang="en") == [(0, 2)]
