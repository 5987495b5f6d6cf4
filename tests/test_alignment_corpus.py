"""Alignment on awkward text, for v3 (MeCab + WordPiece, slow), multilingual-e5 (SentencePiece) and English WordPiece.

Every input is checked against a recomputation that does not use the code under test: each token's
span, normalised by the tokenizer's own normaliser (fast: ``backend_tokenizer.normalizer``; v3:
NFKC, as ``MecabTokenizer`` does), must spell the token's piece; an ``[UNK]`` span must be what the
tokenizer itself turns into ``[UNK]``; spans are in order inside the text and cover every character
the tokenizer keeps, sharing one only where normalisation expanded it (``ﬁ`` -> ``f`` + ``##i``).
At word level, every label is exactly the text the user typed, and a token that no word holds is
listed with its reason, never given to a neighbour.
"""
import functools
import importlib.util
import re
import unicodedata

import numpy as np
import pytest
import torch

import attn_utils as au
from attn_utils import words as W
from attn_utils.models import LoadedModel

pytestmark = pytest.mark.skipif(importlib.util.find_spec("fugashi") is None, reason="needs fugashi + unidic-lite")

CORPUS = [
    # half-width kana, with and without (semi-)voiced marks
    "ﾊﾟﾝを食べた", "ﾊﾞｽに乗る", "ｶﾀｶﾅの半角文字", "ﾎﾟｹｯﾄﾓﾝｽﾀｰ", "ｳﾞｧｲｵﾘﾝを弾く", "ｱｲｳｴｵ ｧｨｩ ｯ ｰ",
    "ﾟﾞから始まる", "ﾊﾟﾊﾟﾊﾟﾊﾟ",
    # combining marks
    "か\u3099っこうへ行く", "は\u309aんを買う", "\u3099かな", "e\u0301te\u0301 au cafe\u0301", "a\u0315\u0301b",
    # full-width letters and digits, circled numbers, other compatibility characters
    "Ｔｏｋｙｏ　２０２４年", "ＡＢＣ株式会社のＣＥＯが来日した。", "１２３４５６７８９０円", "ｈｔｔｐｓ：／／ｅｘａｍｐｌｅ．ｃｏｍ",
    "①②③の順に", "第⑩章と㉑番", "℃と㎏と№1", "Ⅻ章 ⅱ ½ ²", "㍿と㍻と㌔",
    # ligatures and letters that expand
    "ﬁle ﬂow ﬀ", "ǅ ﬁx İstanbul ß ŉ",
    # emoji: ZWJ sequences, variation selectors, skin tones
    "👨‍👩‍👧と猫", "🏳️‍🌈 rainbow", "☺️ ok ❤️", "👍🏽 thumbs up", "text with 😀😀😀 run", "😀",
    # spaces: NBSP, ideographic, thin, hair, zero-width, line separator, BOM, tabs and newlines
    "x\u00a0y\u00a0z", "犬\u3000が\u3000走る", "a\u2009b\u200ac", "word\u200bword", "漢字\u2028改行", "\ufeffBOM付き",
    "\t犬\nが\r\n走る",
    # leading and trailing space
    "  leading and trailing  ", "   犬が走る   ", "犬が走る  ",
    # mixed scripts
    "Tokyo東京とOsaka大阪", "Привет мир и 日本語", "안녕하세요 世界", "日本語の文。English sentence. 混在！",
    # long runs of punctuation
    "!!!???。。。、、、", "…… ‼ ⁉ ……です", "――――ー〜〜", "Wait...!!! (really?) [yes] {no}",
    # accents and case for the uncased WordPiece
    "Café DÉJÀ vu, naïve résumé!", "The dog chased the cat",
]
NAMES = {"v3": "tohoku-nlp/bert-base-japanese-v3", "e5": "intfloat/multilingual-e5-small", "en": "bert-base-uncased"}


@functools.cache
def load(kind):
    """Each tokenizer once per module (e5's takes a second or two to build); no test here changes one."""
    return au.load_tokenizer(NAMES[kind])


@pytest.fixture(scope="module", params=list(NAMES))
def tok(request):
    return load(request.param)


@pytest.fixture(scope="module")
def lm(tok):
    """A 2-layer random BertModel over the tokenizer: alignment needs tokens, not trained weights."""
    from transformers import BertConfig, BertModel

    torch.manual_seed(0)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=8, attn_implementation="eager")
    return LoadedModel(BertModel(cfg).eval(), tok, name="tiny", source="untrained", loaded="config")


# --- the independent recomputation ------------------------------------------------------------
def normaliser(tok):
    """The tokenizer's own normalisation (fast: its normalizer; v3: NFKC, as MecabTokenizer)."""
    if getattr(tok, "is_fast", False):
        norm = tok.backend_tokenizer.normalizer
        return norm.normalize_str if norm is not None else (lambda s: s)
    return lambda s: unicodedata.normalize("NFKC", s)


def piece_text(tok, token):
    return token[2:] if token.startswith("##") else token.replace("\u2581", " ")


def squeeze(s):
    return "".join(s.split())


def uncuttable(norm, s):
    """Text whose normalisation has several characters but no cut of ``s`` normalises part by part:
    ``ﬁ`` -> ``fi``, or ``a`` + U+0315 + U+0301 -> ``á`` + U+0315 (the marks reordered)."""
    return len(norm(s)) > 1 and not any(norm(s[:k]) + norm(s[k:]) == norm(s) for k in range(1, len(s)))


def clusters(spans, positions):
    """Runs of tokens (positions with a span) whose spans overlap: they share an expanded character."""
    out = []
    for p in positions:
        a, b = spans[p]
        if out and a < out[-1][2]:
            out[-1][0].append(p)
            out[-1][2] = max(out[-1][2], b)
        else:
            out.append([[p], a, b])
    return out


def check_token_spans(tok, text):
    enc = tok(text, return_special_tokens_mask=True)
    ids, special = enc["input_ids"], enc["special_tokens_mask"]
    tokens = tok.convert_ids_to_tokens(ids)
    spans = au.token_spans(tok, text, ids)
    norm, unk = normaliser(tok), tok.unk_token
    assert len(spans) == len(ids)
    for t, s, sp in zip(tokens, spans, special):
        if sp:
            assert s is None, (text, t)
        else:
            assert s is not None and 0 <= s[0] <= s[1] <= len(text), (text, t, s)
    real = [i for i, s in enumerate(spans) if s is not None and s[1] > s[0]]
    for i, j in zip(real, real[1:]):  # in order; an overlap only inside one character that normalises to several
        (a1, b1), (a2, b2) = spans[i], spans[j]
        assert a1 <= a2, (text, spans)
        if a2 < b1:
            shared = text[a2:b1]
            assert uncuttable(norm, shared), (text, tokens[i], tokens[j], shared)
    for members, a, b in clusters(spans, real):
        pieces = [tokens[p] for p in members]
        if unk in pieces:  # [UNK]: the tokenizer itself, on the span alone, gives these pieces
            again = [p.removeprefix("##") for p in tok.tokenize(text[a:b])]
            assert again == [p.removeprefix("##") for p in pieces], (text, text[a:b], pieces, again)
        else:
            assert squeeze(norm(text[a:b])) == squeeze("".join(piece_text(tok, p) for p in pieces)), (
                text, text[a:b], pieces)
    for p, s in enumerate(spans):  # a token without characters is a bare "▁" standing for white space
        if s is not None and s[1] <= s[0]:
            assert tokens[p] == "\u2581", (text, tokens[p], s)
    covered = set()
    for p in real:
        covered.update(range(*spans[p]))
    kept = {i for i, ch in enumerate(text) if squeeze(norm(ch))}  # characters the tokenizer does not drop
    assert kept <= covered, (text, sorted(kept - covered), [text[i] for i in sorted(kept - covered)])
    return tokens, spans


@pytest.mark.parametrize("text", CORPUS)
def test_token_spans_spell_each_piece_in_the_original_text(tok, text):
    check_token_spans(tok, text)


@pytest.mark.parametrize("text", CORPUS)
def test_word_labels_are_exactly_the_original_text(lm, text):
    att = au.extract(lm, text)
    words = att.to_words()
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    japanese = bool(re.search(r"[\u3040-\u30ff\u3400-\u9fff\uff66-\uff9f]", text))
    if not japanese:  # white-space words, recomputed here; none merged (each token lies inside one)
        expected = [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
        assert [s for s in words.spans if s is not None] == expected, text
    reasons = {entry: reason for entry, _, reason in words.left_out}
    prev = 0
    for entry, (label, span) in enumerate(zip(words.tokens, words.spans)):
        if span is None:
            assert label in att.tokens, (text, label)  # a special token, or a token left out: its own label
            continue
        a, b = span
        assert label == text[a:b] and a < b and prev <= a, (text, label, span)
        prev = b
    for entry, token, reason in words.left_out:  # left out: no word's character, and said why
        assert words.tokens[entry] == token and words.spans[entry] is None
        assert repr(token) in reason and ("covers no character" in reason or "outside every word" in reason)
    # every token is inside its word: no character moved to a neighbour
    groups = W.align(att.spans, W.check_words(W.word_spans(text), len(text))).groups
    for entry, members in enumerate(groups):
        for t in members:
            s, ws = att.spans[t], words.spans[entry]
            if ws is not None:
                assert ws[0] <= s[0] and s[1] <= ws[1], (text, att.tokens[t], s, ws)
            elif s is not None:
                assert entry in reasons, (text, att.tokens[t])
                assert not any(text[i].strip() and any(w and w[0] <= i < w[1] for w in words.spans)
                               for i in range(s[0], max(s[1], s[0] + 1)) if i < len(text))


# --- the cases the issue names, word for word -----------------------------------------------------
def labels(lm, text):
    return au.extract(lm, text).to_words().tokens


def _tiny_lm(kind):
    """A one-layer random BERT over the real tokenizer ``kind`` (weights do not matter for alignment)."""
    from transformers import BertConfig, BertModel

    tok = load(kind)
    cfg = BertConfig(vocab_size=len(tok), hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                     intermediate_size=8, attn_implementation="eager")
    return LoadedModel(BertModel(cfg).eval(), tok, name=f"tiny-{kind}", source="untrained", loaded="config")


@pytest.fixture(scope="module")
def v3_lm():
    return _tiny_lm("v3")


@pytest.fixture(scope="module")
def e5_lm():
    return _tiny_lm("e5")


def test_half_width_kana_keep_their_marks(v3_lm):
    tok = v3_lm.tokenizer
    ids = tok("ﾊﾟﾝを食べた")["input_ids"]
    assert au.token_spans(tok, "ﾊﾟﾝを食べた", ids) == [None, (0, 3), (3, 4), (4, 6), (6, 7), None]
    assert labels(v3_lm, "ﾊﾟﾝを食べた") == ["[CLS]", "ﾊﾟﾝ", "を", "食べ", "た", "[SEP]"]


def test_a_combining_voiced_mark_stays_with_its_kana(v3_lm):
    assert labels(v3_lm, "か\u3099っこうへ行く") == ["[CLS]", "か\u3099っこう", "へ", "行く", "[SEP]"]


def test_a_run_of_unknowns_gets_the_characters_it_stands_for(v3_lm):
    text = "👨\u200d👩\u200d👧と猫"
    tok = v3_lm.tokenizer
    ids = tok(text)["input_ids"]
    assert tok.convert_ids_to_tokens(ids)[1:6] == ["[UNK]"] * 5
    assert [text[a:b] for a, b in au.token_spans(tok, text, ids)[1:-1]] == [
        "👨", "\u200d", "👩", "\u200d", "👧", "と", "猫"]
    assert labels(v3_lm, text)[-3:] == ["と", "猫", "[SEP]"]  # と is not grouped with the emoji


def test_a_bare_word_mark_after_the_last_word_is_left_out_with_its_reason(e5_lm):
    words = au.extract(e5_lm, "犬が走る  ").to_words()
    assert words.tokens == ["<s>", "犬", "が", "走る", "\u2581", "</s>"] and "" not in words.tokens
    assert words.spans[4] is None
    (entry, token, reason), = words.left_out
    assert (entry, token) == (4, "\u2581") and "covers no character of any word" in reason
    # the same "▁" before a word belongs to it: nothing is left out
    assert au.extract(e5_lm, " 犬が走る").to_words().left_out == []


def test_a_token_outside_every_given_word_is_left_out_not_given_to_a_neighbour(minilm):
    att = au.extract(minilm, "The dog ran")
    words = att.to_words(words=[(0, 3), (8, 11)])
    assert words.tokens == ["[CLS]", "The", "dog", "ran", "[SEP]"]
    assert words.spans == [None, (0, 3), None, (8, 11), None]
    assert words.left_out == [(2, "dog", "token 2 'dog' covers only characters outside every word ('dog' at (4, 7)); "
                                         "it stays an entry of its own")]


# --- clear errors ---------------------------------------------------------------------------------
@pytest.mark.parametrize("bad, kind", [([(0.0, 3.0)], "float"), ([(0, 3.5)], "float"), ([(True, 3)], "bool"),
                                       ([(0, np.float32(3))], "float32")])
def test_word_offsets_that_are_not_integers_are_a_type_error(minilm, bad, kind):
    att = au.extract(minilm, "The dog ran")
    with pytest.raises(TypeError, match=f"of type {kind}") as info:
        att.to_words(words=bad)
    assert isinstance(info.value, au.AttentionTypeError) and "integer character offsets" in str(info.value)
    assert att.to_words(words=[(np.int64(0), np.int32(3))]).tokens[1] == "The"  # numpy integers are integers


@pytest.mark.parametrize("empty", [[], (), np.zeros((0, 2), dtype=int)])
def test_no_words_is_a_value_error_not_token_level(minilm, empty):
    att = au.extract(minilm, "The dog ran")
    with pytest.raises(ValueError, match=r"to_words\(words=\[\]\) has no word"):
        att.to_words(words=empty)


@pytest.mark.parametrize("name", [["tohoku-nlp/bert-base-japanese-v3"], ("bert-base-uncased",), None, 3])
def test_load_tokenizer_of_a_non_string_names_it_and_the_valid_names(name):
    with pytest.raises(TypeError) as info:
        au.load_tokenizer(name)
    message = str(info.value)
    assert isinstance(info.value, au.AttentionTypeError)
    assert f"got {type(name).__name__} {name!r}" in message and "bert-base-uncased" in message
    assert "intfloat/multilingual-e5-small" in message


@pytest.mark.parametrize("text", CORPUS + ["a\u0315\u0301b", "\u1100\u1161\u11a8\u1100", "ﾊﾟﾟ", "\u3099\u3099"])
def test_the_normalisation_map_cuts_the_text_into_pieces_that_normalise_alone(text):
    nfkc = lambda s: unicodedata.normalize("NFKC", s)  # noqa: E731
    normalised, origin = W.normalize_with_map(text)
    assert normalised == nfkc(text) and len(origin) == len(normalised)
    pieces = list(dict.fromkeys(origin))  # distinct spans, in order
    assert [a for a, _ in pieces] == sorted(a for a, _ in pieces)
    assert all(b1 <= a2 for (_, b1), (a2, _) in zip(pieces, pieces[1:]))  # in order, not overlapping
    assert "".join(nfkc(text[a:b]) for a, b in pieces) == normalised  # each piece normalises on its own
    for j, (a, b) in enumerate(origin):  # and holds the characters that point at it
        assert normalised[j] in nfkc(text[a:b])
    dropped = set(range(len(text))) - {i for a, b in pieces for i in range(a, b)}
    assert all(nfkc(text[i]) == "" for i in dropped)


def test_half_width_marks_compose_with_their_kana_in_the_map():
    assert W.normalize_with_map("ﾊﾟﾝ") == ("パン", [(0, 2), (2, 3)])
    assert W.normalize_with_map("か\u3099き") == ("がき", [(0, 2), (2, 3)])
    assert W.normalize_with_map("ﬁx") == ("fix", [(0, 1), (0, 1), (1, 2)])


def test_v3_ids_truncated_inside_a_word_keep_their_spans(v3_lm):
    tok, text = v3_lm.tokenizer, "ｶﾀｶﾅの半角文字"
    ids = tok(text, truncation=True, max_length=5)["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["[CLS]", "カタカナ", "の", "半", "[SEP]"]  # "##角" cut off
    assert au.token_spans(tok, text, ids) == [None, (0, 4), (4, 5), (5, 6), None]
