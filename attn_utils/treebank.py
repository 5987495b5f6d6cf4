"""Gold dependency trees (Universal Dependencies), read from CoNLL-U.

:func:`load_treebank` reads CoNLL-U line by line, checks each sentence as
the UD validator does (file, line and rule named in the error), and gives
:class:`Sentence` objects that carry each word's character span in the
sentence's text. How those words meet a model's tokens is
:mod:`attn_utils.words`' business (``align_words``, ``alignment_report``).
Used by :mod:`attn_utils.syntax` (Clark et al. 2019, Table 1).
"""
from __future__ import annotations

import hashlib
import re
import sys
import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Iterator, Sequence

import numpy as np

from .errors import AttentionError, AttentionTypeError, TreebankError, user_stacklevel

__all__ = ["Sentence", "TREEBANKS", "TreebankWarning", "load_treebank", "check_sentences", "sentences_digest"]

#: Shipped treebank subsets (CC BY-SA 4.0, see attn_utils/data/ud/README.md).
TREEBANKS = {"en_ewt": "en_ewt-ud-dev-subset.conllu", "ja_gsd": "ja_gsd-ud-dev-subset.conllu"}
#: Forms of the possessive marker after a possessor (``company 's``).
POSSESSIVE_MARKERS = ("'s", "'", "s'", "\u2019s", "\u2019")


@dataclass
class Sentence:
    """One gold-annotated sentence.

    Attributes:
        words: the syntactic words (multiword-token lines and empty nodes left out).
        heads: for each word its head, 1-based; 0 = root.
        relations: the dependency relation of each word to its head (``"nsubj:outer"``).
        text: the sentence as written (``# text =``); the model reads this.
        spans: each word's ``(start, end)`` character span in ``text``.
        sent_id: the treebank's ``# sent_id``.
    """

    words: list[str]
    heads: list[int]
    relations: list[str]
    text: str
    spans: list[tuple[int, int]]
    sent_id: str = ""
    upos: list[str] = field(default_factory=list)

    def __len__(self) -> int:
        return len(self.words)

    def __repr__(self) -> str:
        return f"Sentence({len(self.words)} words: {self.text[:60]!r})"


def _word_spans(starts: list[int], forms: list[str], surface: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Character spans of the words, from where each surface token starts in the text.

    Args:
        starts: per surface token, its first character in the text (checked by :func:`_check_text`).
        forms: the word forms, in order.
        surface: the surface tokens as ``(first word, last word, form)``, 0-based
            (a multiword token ``3-4 don't`` covers words 2..3).

    A multiword token's words get consecutive pieces of it when their forms
    spell it out (``do`` + ``n't``, ignoring case); otherwise each gets the
    whole token's span (they then share every piece; see :func:`align_words`).
    """
    spans: list[tuple[int, int]] = [(0, 0)] * len(forms)
    for start, (first, last, form) in zip(starts, surface):
        members = range(first, last + 1)
        if first == last or "".join(forms[i] for i in members).lower() != form.lower():
            for i in members:
                spans[i] = (start, start + len(form))
            continue
        for i in members:
            spans[i] = (start, start + len(forms[i]))
            start += len(forms[i])
    return spans


# --- reading and checking CoNLL-U --------------------------------------------------------------

#: The ten columns of a CoNLL-U word line.
COLUMNS = ("ID", "FORM", "LEMMA", "UPOS", "XPOS", "FEATS", "HEAD", "DEPREL", "DEPS", "MISC")
#: What :func:`load_treebank` does with a sentence that breaks a rule.
ON_ERROR = ("raise", "skip")
_WORD_ID = re.compile(r"[1-9][0-9]*")
_RANGE_ID = re.compile(r"([1-9][0-9]*)-([1-9][0-9]*)")
_EMPTY_ID = re.compile(r"(0|[1-9][0-9]*)\.([1-9][0-9]*)")
_HEAD = re.compile(r"0|[1-9][0-9]*")
_SHOWN_IN_WARNING = 3  # broken sentences whose reasons the skip warning quotes
_MAX_SENTENCE_LINES = 100_000  # lines of one sentence (the longest UD sentences have a few hundred words)


class TreebankWarning(UserWarning):
    """``load_treebank(..., on_error="skip")`` left out broken sentences (one warning per file, with the count)."""


class _Broken(Exception):
    """A sentence that breaks a rule: the line and the rule (turned into a TreebankError naming the file)."""

    def __init__(self, line: int, rule: str):
        super().__init__(line, rule)
        self.line, self.rule = line, rule


def _lines(fh: Any) -> Iterator[tuple[int, str | None, str]]:
    """``(line number, text, problem)`` of a binary file, one line at a time, decoded as UTF-8.

    The line ending (``\\n`` or ``\\r\\n``) and a byte-order mark at the very start
    are dropped. ``text`` is None for a line that is not UTF-8; ``problem`` then says why.
    """
    for number, raw in enumerate(fh, 1):
        raw = raw.rstrip(b"\n").removesuffix(b"\r")
        if number == 1:
            raw = raw.removeprefix(b"\xef\xbb\xbf")
        try:
            text = raw.decode("utf-8")
        except UnicodeDecodeError as exc:
            yield number, None, (f"not UTF-8: byte 0x{raw[exc.start]:02x} at byte {exc.start + 1} of the line "
                                 "(CoNLL-U files are UTF-8; if this one is Latin-1 or cp1252, convert it, e.g. "
                                 "iconv -f latin1 -t utf-8 in.conllu > out.conllu)")
            continue
        yield number, text, ""


def _blocks(lines: Iterator[tuple[int, str | None, str]]) -> Iterator[list[tuple[int, str | None, str]]]:
    """The lines of each sentence: runs of lines between blank lines (a line of only spaces counts as blank).

    A run longer than :data:`_MAX_SENTENCE_LINES` (a file without blank lines) is not
    held: it comes as one line that says so, and the rest of the run is passed over.
    """
    block: list[tuple[int, str | None, str]] = []
    too_long = False
    for number, text, problem in lines:
        if text is not None and not text.strip():
            if block:
                yield block
            block, too_long = [], False
        elif too_long:
            continue
        elif len(block) == _MAX_SENTENCE_LINES:
            block = [(block[0][0], None, f"no blank line in {_MAX_SENTENCE_LINES} lines: a CoNLL-U sentence "
                                         "ends with a blank line")]
            too_long = True
        else:
            block.append((number, text, problem))
    if block:
        yield block


def _sentence(block: list[tuple[int, str | None, str]]) -> Sentence | None:
    """One sentence from its lines, checked; None for a block of comments only (``# newdoc``); raises _Broken."""
    meta: dict[str, tuple[str, int]] = {}
    rows: list[tuple[int, list[str]]] = []  # (line, columns) of the words
    ranges: list[tuple[int, int, int, list[str]]] = []  # (first, last, line, columns), 1-based word ids
    id_lines = 0  # words, ranges and empty nodes
    for number, line, problem in block:
        if line is None:
            raise _Broken(number, problem)
        if line.startswith("#"):
            if id_lines:
                raise _Broken(number, "a comment line among the word lines (a sentence's comments come before "
                                      "its first word line)")
            key, eq, value = line[1:].partition("=")
            if eq and key.strip() in ("text", "sent_id"):
                if key.strip() in meta:
                    raise _Broken(number, f"a second '# {key.strip()}' line (the first is line "
                                          f"{meta[key.strip()][1]})")
                meta[key.strip()] = (value.strip(), number)
            continue
        id_lines += 1
        cols = line.split("\t")
        if len(cols) != len(COLUMNS):
            hint = (" (the columns look separated by spaces; CoNLL-U separates them by tabs)"
                    if len(cols) < len(COLUMNS) and len(line.split()) >= len(COLUMNS) else "")
            raise _Broken(number, f"{len(cols)} tab-separated columns where CoNLL-U has {len(COLUMNS)} "
                                  f"({' '.join(COLUMNS)}){hint}")
        empty = [name for name, col in zip(COLUMNS, cols) if not col]
        if empty:
            raise _Broken(number, f"empty {empty[0]} column (CoNLL-U writes _ for no value)")
        tid, n = cols[0], len(rows)
        if m := _RANGE_ID.fullmatch(tid):
            first, last = int(m[1]), int(m[2])
            if first >= last:
                raise _Broken(number, f"multiword range {tid}: the first word must come before the last")
            if first != n + 1 or (ranges and ranges[-1][1] > n):
                raise _Broken(number, f"multiword range {tid} out of place: a range comes right before its first "
                                      f"word, after the words of any earlier range (here after word {n})")
            ranges.append((first, last, number, cols))
        elif m := _EMPTY_ID.fullmatch(tid):
            if int(m[1]) != n:
                raise _Broken(number, f"empty node {tid} out of place: it follows word {m[1]}, here after word {n}")
        elif _WORD_ID.fullmatch(tid):
            if int(tid) != n + 1:
                seen = "a second word" if int(tid) <= n else "a word"
                raise _Broken(number, f"{seen} with ID {tid} where ID {n + 1} comes next (word IDs run 1, 2, 3, ... "
                                      "in order, each once)")
            if not _HEAD.fullmatch(cols[6]):
                raise _Broken(number, f"HEAD {cols[6]!r} of word {tid} is not a word ID: it must be the ID of the "
                                      "word's head (1, 2, ...) or 0 for the root")
            if cols[7] == "_":
                raise _Broken(number, f"DEPREL of word {tid} is '_': every word needs its relation to its head")
            rows.append((number, cols))
        else:
            raise _Broken(number, f"ID {tid!r} is none of: a word ID (1, 2, ...), a multiword range (3-4), "
                                  "an empty node (5.1)")
    if not rows:
        if meta or id_lines:
            raise _Broken(block[0][0], "a sentence without word lines (only comments, ranges or empty nodes)")
        return None  # comments only: not a sentence
    n = len(rows)
    if ranges and ranges[-1][1] > n:
        first, last, number, _ = ranges[-1]
        raise _Broken(number, f"multiword range {first}-{last} goes past the last word ({n})")
    heads = [int(cols[6]) for _, cols in rows]
    _check_tree(heads, [number for number, _ in rows], block[0][0])
    words = [cols[1] for _, cols in rows]
    surface, in_range = [], {}
    for first, last, number, cols in ranges:
        in_range.update({w: (first, last, number, cols) for w in range(first, last + 1)})
    for i, (number, cols) in enumerate(rows, 1):
        if i not in in_range:
            surface.append((i - 1, i - 1, number, cols))
        elif in_range[i][0] == i:
            first, last, r_number, r_cols = in_range[i]
            surface.append((first - 1, last - 1, r_number, r_cols))
    if "text" in meta:
        text, text_line = meta["text"]
    else:  # no # text: the surface tokens with the spacing MISC says
        text = "".join(cols[1] + ("" if _no_space_after(cols) else " ") for *_, cols in surface).rstrip()
        text_line = block[0][0]
    starts = _check_text(text, text_line, surface)
    spans = _word_spans(starts, words, [(a, b, cols[1]) for a, b, _, cols in surface])
    return Sentence(words, heads, [sys.intern(cols[7]) for _, cols in rows], text, spans,  # few relations: shared
                    meta.get("sent_id", ("", 0))[0], [sys.intern(cols[3]) for _, cols in rows])


def _no_space_after(cols: list[str]) -> bool:
    return "SpaceAfter=No" in cols[9].split("|")


def _check_tree(heads: list[int], lines: list[int], first_line: int) -> None:
    """HEADs in range, no word its own head, exactly one root, no cycle (raises _Broken naming the word's line)."""
    n = len(heads)
    for i, (head, line) in enumerate(zip(heads, lines), 1):
        if head > n:
            raise _Broken(line, f"HEAD {head} of word {i} is out of range: the sentence has words 1..{n} "
                                "(0 = the root)")
        if head == i:
            raise _Broken(line, f"word {i} is its own head (HEAD {head})")
    roots = [i for i, h in enumerate(heads, 1) if h == 0]
    if not roots:
        raise _Broken(first_line, "no root: no word has HEAD 0 (a tree has exactly one)")
    if len(roots) > 1:
        raise _Broken(lines[roots[1] - 1], f"two roots: words {roots[0]} and {roots[1]} both have HEAD 0 "
                                           "(a tree has exactly one)")
    reaches_root = {0}
    for i in range(1, n + 1):
        path, w = [], i
        while w not in reaches_root:
            if w in path:
                cycle = path[path.index(w):] + [w]
                raise _Broken(lines[w - 1], "the heads form a cycle, not a tree: word "
                                            + " -> ".join(map(str, cycle)) + " (each arrow: to its head)")
            path.append(w)
            w = heads[w - 1]
        reaches_root.update(path)


def _check_text(text: str, text_line: int, surface: list[tuple[int, int, int, list[str]]]) -> list[int]:
    """Where each surface token starts in ``text``; raises _Broken where the forms and spacing do not spell ``text``.

    As the UD validator checks ``# text``: the text is the surface forms in
    order, a space (one or more) after each unless its MISC says
    ``SpaceAfter=No``, and nothing else.
    """
    starts, pos = [], 0
    for _, _, line, cols in surface:
        form = cols[1]
        if not text.startswith(form, pos):
            found = text[pos:pos + len(form) + 8] or "the end of the text"
            raise _Broken(line, f"'# text' (line {text_line}) does not match the word forms: where the form "
                                f"{form!r} comes, at character {pos}, the text has {found!r}")
        starts.append(pos)
        pos += len(form)
        space = pos < len(text) and text[pos].isspace()
        if _no_space_after(cols) and space:
            raise _Broken(line, f"MISC says SpaceAfter=No after {form!r}, but '# text' (line {text_line}) has a "
                                f"space there (character {pos})")
        if not _no_space_after(cols) and pos < len(text) and not space:
            raise _Broken(line, f"'# text' (line {text_line}) has no space after {form!r} (character {pos}), but "
                                "MISC does not say SpaceAfter=No")
        while pos < len(text) and text[pos].isspace():  # one space or several (linear: no copy of the rest)
            pos += 1
    if pos < len(text):
        raise _Broken(text_line, f"'# text' goes on after the last word form: {text[pos:pos + 30]!r} is not in "
                                 "any FORM")
    return starts


def _parse(source: Path | Any, on_error: str = "raise") -> list[Sentence]:
    """Every sentence of a CoNLL-U file, read line by line and checked (see :func:`load_treebank`)."""
    where = str(source)
    sentences, reasons, broken, total = [], [], 0, 0
    with source.open("rb") as fh:
        for block in _blocks(_lines(fh)):
            try:
                sent = _sentence(block)
            except _Broken as exc:
                total += 1
                if on_error == "raise":
                    raise TreebankError(f"{where}, line {exc.line}: {exc.rule}") from None
                broken += 1
                if len(reasons) < _SHOWN_IN_WARNING:  # only the words: no exception (and its frames) is kept
                    reasons.append(f"line {exc.line}: {exc.rule}")
                continue
            if sent is not None:
                total += 1
                sentences.append(sent)
    if not total:
        raise TreebankError(f"{where}: no sentences (the file is empty or has only comments); a CoNLL-U sentence "
                            "is its comment lines and one line per word, ended by a blank line")
    if broken:
        more = f"; and {broken - len(reasons)} more" if broken > len(reasons) else ""
        warnings.warn(f"[attn_utils] {where}: skipped {broken} broken sentence(s) of {total} "
                      f"(on_error='skip'): {'; '.join(reasons)}{more}", TreebankWarning, stacklevel=user_stacklevel())
    return sentences


def load_treebank(name_or_path: str | Path = "en_ewt", on_error: str = "raise") -> list[Sentence]:
    """Gold dependency trees, one :class:`Sentence` each, checked as they are read.

    The file is read line by line (a large file is never held whole) and each
    sentence is checked for what the package relies on, as the UD validator
    checks it: 10 tab-separated columns; word IDs 1..n in order; multiword
    ranges (``3-4``, which give the surface token) and empty nodes (``5.1``,
    which are not words) in place; each HEAD a word ID or 0, not the word
    itself; exactly one root and no cycle; ``# text`` spelled by the surface
    forms with the spacing ``SpaceAfter=No`` says. Without ``# text`` the text
    is the surface forms so spaced. UTF-8 only (a byte-order mark and CRLF line ends are fine).

    Args:
        name_or_path: ``"en_ewt"`` (600 sentences of UD_English-EWT dev),
            ``"ja_gsd"`` (364 sentences of UD_Japanese-GSD dev), or the path
            of any ``.conllu`` file.
        on_error: ``"raise"`` (default): the first broken sentence stops the
            reading with a :class:`~attn_utils.errors.TreebankError`;
            ``"skip"``: broken sentences are left out, and one
            :class:`TreebankWarning` gives their count and the first reasons.

    Returns:
        list of :class:`Sentence`, in file order.

    Raises:
        FileNotFoundError: an unknown name or a missing file; the message names the valid choices.
        TreebankError: (a ``ValueError``) a broken sentence, or a file without sentences; the
            message names the file, the line and the rule.
    """
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(f"load_treebank() takes a name ({', '.join(TREEBANKS)}) or a .conllu path, "
                        f"got {type(name_or_path).__name__}")
    if not isinstance(on_error, str) or on_error not in ON_ERROR:
        raise AttentionError(f"load_treebank(on_error=...) is one of {', '.join(map(repr, ON_ERROR))}, "
                             f"got {on_error!r}")
    key = str(name_or_path)
    if key in TREEBANKS:
        return _parse(resources.files("attn_utils.data").joinpath("ud", TREEBANKS[key]), on_error)
    path = Path(key).expanduser()
    if path.suffix == ".conllu" and path.is_file():
        return _parse(path, on_error)
    raise FileNotFoundError(
        f"No treebank {key!r}: use one of {', '.join(repr(k) for k in TREEBANKS)} "
        "or the path of an existing .conllu file."
    )


def check_sentences(sentences: Sequence[Any], caller: str) -> None:
    """Raise a clear error for a sentence a computation cannot use (at the entry of ``syntax_heads`` and friends).

    Each must be a :class:`Sentence` with at least one word, as many heads,
    relations and spans as words, every head a word number or 0, and every
    span a ``(start, end)`` inside the sentence's text.
    """
    for i, sent in enumerate(sentences):
        if not isinstance(sent, Sentence):
            raise AttentionTypeError(f"{caller}() takes sentences from au.load_treebank(); item {i} is a "
                                     f"{type(sent).__name__}")
        name = f"{caller}(): sentence {i}" + (f" (sent_id {sent.sent_id!r})" if sent.sent_id else "")
        n = len(sent.words)
        if not n:
            raise TreebankError(f"{name} has no words; every sentence needs at least one (as au.load_treebank "
                                "gives them)")
        lengths = {"heads": len(sent.heads), "relations": len(sent.relations), "spans": len(sent.spans)}
        if any(k != n for k in lengths.values()):
            raise TreebankError(f"{name} has {n} words but " + ", ".join(f"{v} {k}" for k, v in lengths.items())
                                + ": one of each per word")
        bad = [h for h in sent.heads if not _is_int(h) or not 0 <= h <= n]
        if bad:
            raise TreebankError(f"{name}: head {bad[0]!r} is not a word number 1..{n} or 0 (the root)")
        for w, span in enumerate(sent.spans):
            if not (isinstance(span, (tuple, list)) and len(span) == 2 and all(_is_int(x) for x in span)
                    and 0 <= span[0] <= span[1] <= len(sent.text)):
                raise TreebankError(f"{name}: span {span!r} of word {w} ({sent.words[w]!r}) is not a (start, end) "
                                    f"of character positions in its text of {len(sent.text)} characters")


def _is_int(x: Any) -> bool:
    return isinstance(x, (int, np.integer)) and not isinstance(x, bool)


def sentences_digest(sentences: Sequence[Sentence]) -> str:
    """A short fingerprint of the sentences (texts, words and heads): tells whether two lists are the same."""
    h = hashlib.sha256()
    for sent in sentences:
        h.update(repr((sent.text, sent.words, [int(x) for x in sent.heads])).encode())
    return h.hexdigest()[:16]


def poss_source(sent: Sentence) -> list[int]:
    """Index whose prediction scores each word: itself, or the next word for ``nmod:poss`` + ``'s``.

    Clark et al.'s special case for ``poss`` (their ``evaluate_predictor``): heads
    attend from the possessive ``'s`` rather than from the possessor.
    """
    src = list(range(len(sent)))
    for i, rel in enumerate(sent.relations):
        if rel == "nmod:poss" and i + 1 < len(sent) and sent.words[i + 1].lower() in POSSESSIVE_MARKERS:
            src[i] = i + 1
    return src

