"""Small, exact checks of words.py and exercises.core that mutation testing showed were missing."""
import importlib.util
from types import SimpleNamespace

import numpy as np
import pytest

import attn_utils as au
from attn_utils import words as W
from attn_utils.exercises import core

needs_mecab = pytest.mark.skipif(importlib.util.find_spec("fugashi") is None, reason="needs fugashi")


def cut(text, spans):
    return [text[a:b] for a, b in spans]


# --- word_spans (MeCab on NFKC text, mapped back) --------------------------------------
@needs_mecab
def test_one_character_that_nfkc_turns_into_two_words_stays_one_word():
    assert W.word_spans("㍿の犬") == [(0, 1), (1, 2), (2, 3)]  # 株式 / 会社 both come from "㍿"
    assert W.word_spans("犬の㍿") == [(0, 1), (1, 2), (2, 3)]  # the merged word is not the first one
    assert W.word_spans("本日㍿式") == [(0, 2), (2, 3), (3, 4)]


@needs_mecab
def test_a_word_starting_inside_an_expanded_character_extends_to_its_own_end():
    # "㍻年" -> "平成年" -> 平 / 成年: 成年 starts inside "㍻" and ends at "年"
    assert W.word_spans("㍻年") == [(0, 2)]


@needs_mecab
def test_repeated_words_are_found_after_the_previous_word():
    assert cut("犬が犬を追う", W.word_spans("犬が犬を追う")) == ["犬", "が", "犬", "を", "追う"]
    assert W.word_spans("犬が犬を追う") == [(0, 1), (1, 2), (2, 3), (3, 4), (4, 6)]
    assert W.word_spans("ねえねえ") == [(0, 2), (2, 4)]
    # "㍻成" -> "平成成" -> 平成 / 成: the second 成 is searched after the whole of 平成
    assert W.word_spans("㍻成") == [(0, 1), (1, 2)]
    assert W.word_spans("すごいすごい") == [(0, 3), (3, 6)]


@needs_mecab
def test_tagger_nodes_that_are_empty_or_not_in_the_text_are_skipped(monkeypatch):
    nodes = [SimpleNamespace(surface=s) for s in ["犬", "", "猫", "鳥", "を"]]
    monkeypatch.setattr(W, "_mecab", lambda: (lambda text: nodes))
    assert W.word_spans("犬猫を") == [(0, 1), (1, 2), (2, 3)]


# --- check_words message ------------------------------------------------------------------
def test_check_words_message_with_and_without_the_text_length():
    with pytest.raises(ValueError) as info:
        W.check_words([(0, 5)], 3)
    assert str(info.value) == ("word span (0, 5) is not valid: spans must satisfy 0 <= start < end <= len(text) = 3, "
                               "in order, not overlapping. Got: [(0, 5)]")
    with pytest.raises(ValueError) as info:
        W.check_words([(2, 4), (0, 1)])
    assert str(info.value) == ("word span (0, 1) is not valid: spans must satisfy 0 <= start < end <= len(text), "
                               "in order, not overlapping. Got: [(2, 4), (0, 1)]")
    assert W.check_words([(0, 10**9)]) == [(0, 10**9)]


# --- grouping ------------------------------------------------------------------------------
def test_empty_span_between_words_is_left_out_not_given_to_the_next_word():
    assert W.group_tokens([(0, 1), (2, 2), (3, 4)], [(0, 1), (3, 4)]) == [[0], [1], [2]]
    assert W.align([(0, 1), (2, 2), (3, 4)], [(0, 1), (3, 4)]).left_out == {1: W.NO_CHARACTER}
    # an empty span at a word's start (a bare "▁" pointing at it) or inside it belongs to that word
    assert W.group_tokens([(0, 1), (3, 3), (3, 4)], [(0, 1), (3, 4)]) == [[0], [1, 2]]
    assert W.group_tokens([(0, 1), (2, 2)], [(0, 3)]) == [[0, 1]]
    assert W.group_tokens([(0, 1), (3, 3)], [(0, 3)]) == [[0], [1]]  # at the end: outside


def test_empty_span_after_the_last_word_and_tokens_outside_words_stay_alone():
    assert W.group_tokens([(0, 1), (5, 5)], [(0, 2)]) == [[0], [1]]
    assert W.group_tokens([None, (0, 1), (3, 4), (1, 2), None], [(0, 2)]) == [[0], [1, 3], [2], [4]]
    result = W.align([None, (0, 1), (3, 4), (1, 2), (5, 5), None], [(0, 2)])
    assert result.left_out == {2: W.OUTSIDE, 4: W.NO_CHARACTER}  # specials are not "left out"
    assert result.spans == [None, (0, 2), None, None, None] and result.words == [[], [0], [], [], []]


def test_a_token_starting_outside_every_word_joins_the_first_word_it_overlaps():
    assert W.group_tokens([(0, 3), (3, 4)], [(1, 3), (3, 4)]) == [[0], [1]]
    assert W.align([(0, 3)], [(1, 3)]).left_out == {}


def test_a_token_straddling_into_the_last_word_merges_it():
    spans, words = [(0, 4), (4, 5)], [(0, 2), (2, 4), (4, 5)]
    assert W.group_tokens(spans, words) == [[0], [1]]
    assert W.count_straddled(spans, words) == 1
    assert W.count_straddled([(0, 5)], words) == 2
    assert W.group_tokens([(0, 1), (1, 3), (3, 4), (4, 5)], words) == [[0, 1, 2], [3]]


# --- slow tokenizers: normalisation and [UNK] ------------------------------------------------
class SlowTok:
    """The parts of a slow (Python) tokenizer token_spans uses; no do_lower_case unless given."""
    is_fast = False
    unk_token = "[UNK]"

    def __init__(self, pieces, **attrs):
        self.vocab = ["[CLS]", "[SEP]", "[UNK]", *pieces]
        self.all_special_ids = [0, 1, 2]
        self.__dict__.update(attrs)

    def ids(self, *tokens):
        return [self.vocab.index(t) for t in tokens]

    def convert_ids_to_tokens(self, ids):
        return [self.vocab[i] for i in ids]


def spans_of(tok, text, *tokens):
    return W.token_spans(tok, text, tok.ids(*tokens))


def test_a_tokenizer_without_do_lower_case_keeps_case():
    tok = SlowTok(["Dog", "dog"])
    assert spans_of(tok, "dog Dog", "[CLS]", "Dog", "[SEP]") == [None, (4, 7), None]


def test_lowercasing_tokenizer_keeps_expanded_characters_together():
    tok = SlowTok(["fi", "x", "e"], do_lower_case=True)
    assert spans_of(tok, "ﬁx", "[CLS]", "fi", "x", "[SEP]") == [None, (0, 1), (1, 2), None]
    assert spans_of(tok, "É", "e") == [(0, 1)]


def test_unknowns_share_the_stretch_between_known_pieces_without_spaces():
    tok = SlowTok(["a", "b"])
    assert spans_of(tok, "a 😀 b", "[CLS]", "a", "[UNK]", "b", "[SEP]") == [None, (0, 1), (2, 3), (4, 5), None]
    # two [UNK]s over one white-space chunk, and the tokenizer names no units: both share the chunk
    assert spans_of(tok, "a  😀😀  b", "a", "[UNK]", "[UNK]", "b") == [(0, 1), (3, 5), (3, 5), (7, 8)]
    assert spans_of(tok, "a  😀 😀  b", "a", "[UNK]", "[UNK]", "b") == [(0, 1), (3, 4), (5, 6), (8, 9)]
    assert spans_of(tok, "😀 a", "[CLS]", "[UNK]", "a", "[SEP]") == [None, (0, 1), (2, 3), None]
    assert spans_of(tok, "a 😀 ", "a", "[UNK]", "[SEP]") == [(0, 1), (2, 3), None]
    lower = SlowTok(["a"], do_lower_case=True)  # "¨" normalises to a space (its accent stripped): not the [UNK]'s
    assert spans_of(lower, "a¨😀", "a", "[UNK]") == [(0, 1), (2, 3)]


def test_unknown_or_missing_piece_after_the_end_of_the_text_has_no_span_and_a_warning():
    tok = SlowTok(["a", "b", "zz"])
    with pytest.warns(UserWarning, match=r"'\[UNK\]' \(position 1\) not found"):
        assert spans_of(tok, "a", "a", "[UNK]") == [(0, 1), None]
    with pytest.warns(UserWarning, match=r"'zz' \(position 1\) not found in the text 'a'"):
        assert spans_of(tok, "a", "a", "zz") == [(0, 1), None]


def test_a_piece_not_in_the_text_gets_no_span_and_a_warning():
    tok = SlowTok(["f", "zz", "x"])
    with pytest.warns(UserWarning, match="'zz'"):
        spans = spans_of(tok, "ﬁx", "f", "zz")
    assert spans == [(0, 1), None]


def test_pieces_cut_inside_one_expanded_character_share_it():
    tok = SlowTok(["f", "##ix", "##i", "x"])
    assert spans_of(tok, "ﬁx", "f", "##ix") == [(0, 1), (0, 2)]  # "ﬁ" -> "fi": both pieces hold "ﬁ"
    assert spans_of(tok, "ﬁx", "f", "##i", "x") == [(0, 1), (0, 1), (1, 2)]


# --- exercises.core --------------------------------------------------------------------------
def layer_head_message(answer, **kw):
    with pytest.raises(core.ExerciseError) as info:
        core.as_layer_head(answer, **kw)
    return str(info.value)


def test_as_layer_head_accepts_two_ints_first_of_a_longer_index_and_numpy_ints():
    assert core.as_layer_head((1, 2)) == (1, 2)
    assert core.as_layer_head([3, 0]) == (3, 0)
    assert core.as_layer_head((1, 2, "x")) == (1, 2)  # a table index: (layer, head, ...)
    got = core.as_layer_head((np.int64(4), np.int32(5)))
    assert got == (4, 5) and all(type(v) is int for v in got)


@pytest.mark.parametrize("answer", ["12", b"\x00\x02", 5, (1,), (1, "2"), ("1", 2), 1.5])
def test_as_layer_head_rejects_strings_bytes_and_non_pairs(answer):
    layer_head_message(answer)


def test_as_layer_head_message_is_exact_with_the_default_name_and_short_answer():
    assert layer_head_message("12") == ("答え は (層, ヘッド) の 2 つの整数の組、たとえば (0, 2) で答えてください。"
                                        " いまの答え: '12'")
    assert layer_head_message((7, "a"), name="best").startswith("best は (層, ヘッド)")
    assert layer_head_message(7, name="best").startswith("best が整数 1 つ (7) です。")  # a flat argmax() index
    long = layer_head_message("a" * 200)
    assert long.endswith(" いまの答え: '" + "a" * 116 + "...")


def test_as_layer_head_hides_its_frame_from_the_learners_traceback():
    with pytest.raises(core.ExerciseError) as info:
        core.as_layer_head("12")
    own = [entry for entry in info.traceback if "as_layer_head" in entry.name and not entry.name.startswith("test_")]
    assert own and all(entry.frame.f_locals.get("__tracebackhide__") for entry in own)


def test_shape_message_writes_any_size_as_nin_i():
    with pytest.raises(core.ExerciseError) as info:
        core.check_shape(np.zeros((2, 3)), (None, 4))
    assert str(info.value) == "答え の形が違います: (任意, 4) のはずですが、(2, 3) でした。"
    assert core._fmt_shape((None,)) == "(任意,)"


# --- a minimal slow tokenizer: only convert_ids_to_tokens (no special ids, no unk token, no is_fast) ---------
class _Slow:
    def __init__(self, vocab, **attrs):
        self.vocab = vocab
        self.__dict__.update(attrs)

    def convert_ids_to_tokens(self, ids):
        return [self.vocab[i] for i in ids]


_UNK = {"unk_token": "[UNK]", "all_special_ids": [0]}


def test_a_tokenizer_with_only_convert_ids_to_tokens_is_enough():
    assert W.token_spans(_Slow(["dog", "cat"]), "dog cat", [0, 1]) == [(0, 3), (4, 7)]


def test_an_empty_piece_does_not_end_the_unknown_stretch_before_it():
    """'##' strips to nothing: it gets an empty span, and the [UNK] before it still takes '☃'."""
    tok = _Slow(["[UNK]", "##", "dog"], **_UNK)
    with pytest.warns(UserWarning, match=r"'##' \(position 1\)"):
        assert W.token_spans(tok, "☃ dog", [0, 1, 2]) == [(0, 1), None, (2, 5)]


def test_a_piece_missing_from_the_text_does_not_stop_the_pieces_after_it():
    with pytest.warns(UserWarning, match="'zzz'"):
        assert W.token_spans(_Slow(["zzz", "dog"]), "dog", [0, 1]) == [None, (0, 3)]


def test_an_unknown_over_white_space_only_has_no_span_and_a_warning():
    with pytest.warns(UserWarning, match=r"'\[UNK\]' \(position 1\)"):
        assert W._slow_spans(_Slow(["[UNK]", "a", "b"], **_UNK), "a  b", [1, 0, 2]) == [(0, 1), None, (3, 4)]


def test_trim_drops_white_space_at_both_ends_one_character_at_a_time():
    cases = {("  ab  ", (0, 6)): (2, 4), (" ab", (0, 3)): (1, 3), ("ab ", (0, 3)): (0, 2),
             ("   ", (0, 3)): (3, 3), ("a b", (0, 3)): (0, 3), ("x  y", (1, 3)): (3, 3)}
    assert {k: W._trim(*k) for k in cases} == cases


def test_ids_beyond_the_full_encoding_have_no_span():
    assert W.spans_from_offsets([5, 6, 7], [5, 6], [(0, 1), (1, 2)], [0, 0]) == [(0, 1), (1, 2), None]


def test_bare_word_marks_point_at_the_next_tokens_start_or_the_end():
    tok = _Slow(["\u2581", "a", "b", "</s>"])
    ids = [0, 1, 0, 2, 0, 3, 0]
    spans = [(0, 0), (0, 1), (1, 1), (2, 3), (3, 3), None, None]
    assert W._word_marks_point_forward(tok, ids, spans) == [(0, 0), (0, 1), (2, 2), (2, 3), (3, 3), None, None]


def test_a_word_mark_on_the_next_tokens_character_points_forward_one_on_its_own_character_keeps_it():
    tok = _Slow(["\u2581", "a", "b"])
    # "▁" aligned to the first character of "a" (SentencePiece's prepended mark): empty, at "a"
    assert W._word_marks_point_forward(tok, [0, 1], [(0, 1), (0, 1)]) == [(0, 0), (0, 1)]
    assert W._word_marks_point_forward(tok, [0, 1], [(2, 3), (2, 4)]) == [(2, 2), (2, 4)]
    assert W._word_marks_point_forward(tok, [0, 1], [(1, 3), (2, 2)]) == [(2, 2), (2, 2)]
    # "▁" standing for a character the normaliser turned into a space (a zero-width joiner): kept
    assert W._word_marks_point_forward(tok, [1, 0, 2], [(0, 1), (1, 2), (2, 3)]) == [(0, 1), (1, 2), (2, 3)]
    assert W._word_marks_point_forward(tok, [0, 1], [(0, 1), (1, 2)]) == [(0, 1), (1, 2)]


@pytest.mark.parametrize("spans", [[None, (1, 3), (3, 5), None], [None, (3, 5), (1, 3), None]],
                         ids=["in order", "out of order"])
def test_tokens_straddling_a_chain_of_words_merge_all_of_it_in_either_order(spans):
    """Token 1 joins words 0-1 and token 2 joins words 1-2 (or the other way round): one word over all three,
    whatever order the offsets come in (some tokenizers give non-monotonic offsets)."""
    words = [(0, 2), (2, 4), (4, 6)]
    assert W.align(spans, words) == W.Alignment([[0], [1, 2], [3]], [None, (0, 6), None], [[], [0, 1, 2], []], 2, {})
