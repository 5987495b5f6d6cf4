"""Tokens to words by character spans: the one home of alignment, the same way for every tokenizer.

Two models with different tokenizers (v3's MeCab + WordPiece, e5's
SentencePiece, English WordPiece) cut a sentence into different tokens, but
every token covers a stretch of the *original* text, the text the user typed.
Grouping tokens by the words their characters fall in lines the models up
word by word, whatever the words come from: white space, MeCab, a treebank's
forms (:mod:`attn_utils.treebank` reads them, this module aligns them) or the
user's own spans.

API (all spans are ``(start, end)`` character offsets into the original text,
end exclusive, as in ``text[start:end]``):

- ``normalize_with_map(text, norm) -> (normalised, origin)``: the whole text
  normalised (NFKC by default) and, for each normalised character, the span of
  the original text it came from. The text is cut into the shortest pieces
  that normalise independently (a base character with the marks that compose
  with it: half-width ``ﾊﾟ`` -> ``パ``, ``か`` + U+3099 -> ``が``), so a
  composition maps many -> one and an expansion (``ﬁ`` -> ``fi``, ``㍿`` ->
  ``株式会社``) one -> many: each of its characters points at the one original.
- ``token_spans(tokenizer, text, input_ids) -> list[tuple[int, int] | None]``:
  each token's span; ``None`` for special tokens ([CLS], <s>, ...). Fast
  tokenizers: their ``offset_mapping``. Slow ones (``BertJapaneseTokenizer``
  has no offsets): the pieces (``##`` stripped) are found in the text
  normalised as the tokenizer normalises it (v3: NFKC of the whole text; BERT:
  lower case, accents stripped) and mapped back through ``normalize_with_map``;
  a run of ``[UNK]`` gets the characters it stands for, one word unit of the
  tokenizer (a MeCab word, a BERT basic token) per ``[UNK]``. Two tokens share
  a character only when normalisation expanded it and the tokenizer cut
  inside the expansion (``ﬁ`` -> ``f`` + ``##i``; fast tokenizers do the same).
  A SentencePiece piece that is only the word mark ``"▁"`` (a space, or the
  mark put before the first word) gets an empty span ``(s, s)`` at the next
  token's start: it belongs to the word that starts there. A piece that cannot
  be found (should not happen) gets ``None`` and a warning naming it.
- ``word_spans(text, lang=None) -> list[tuple[int, int]]``: Japanese text
  (any kana or kanji, or ``lang="ja"``) -> MeCab words (``fugashi`` +
  ``unidic-lite``, run on the NFKC-normalised text as v3 does); otherwise
  whitespace-separated words, punctuation attached (``"cat."`` is one word).
- ``align(spans, words) -> Alignment`` (and its views ``group_tokens``,
  ``count_straddled``, ``align_words``): token positions grouped into words,
  in order. Rule: a token belongs to the first word it overlaps (an empty span
  ``(s, s)``: the word containing ``s``). A token that also covers characters
  of later words (it *straddles* them) merges those words into one group,
  because its attention cannot be split between them. Special tokens (span
  ``None``) stay entries of their own. A token that covers no character of any
  word (a ``"▁"`` after the last word, a token outside every given word) is
  left out of every word group: it stays an entry of its own and
  ``Alignment.left_out`` records why.
- ``alignment_report(lm, sentences)``: how well a treebank's words and the
  model's tokens nest (counts and shares).
- ``Attention.to_words(words=None)`` (in :mod:`attn_utils.extract`) uses these:
  by default ``word_spans(att.text)``, or explicit ``words=[(start, end), ...]``
  (e.g. a treebank's words). Key side summed, query side averaged, so rows
  still sum to 1; the word-level Attention's ``left_out`` lists the tokens
  that no word holds, with the reason.
"""
from __future__ import annotations

import bisect
import functools
import re
import unicodedata
import warnings
from dataclasses import dataclass, field
from typing import Any, Callable, Sequence

__all__ = ["token_spans", "word_spans", "group_tokens", "count_straddled", "is_japanese", "Span", "align",
           "Alignment", "align_words", "alignment_report", "normalize_with_map", "token_spans_batch",
           "max_tokens", "check_words"]

Span = tuple[int, int]
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
WORD_MARK = "\u2581"  # SentencePiece's "▁"


def is_japanese(text: str) -> bool:
    """True when the text holds any kana or kanji."""
    return bool(_JAPANESE.search(text))


# --- normalisation with a map back to the original -----------------------------------------
def _nfkc(text: str) -> str:
    return unicodedata.normalize("NFKC", text)


def _strip_accents(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text) if unicodedata.category(c) != "Mn")


def _joins_previous(ch: str) -> bool:
    """A character whose canonical decomposition starts with a combining mark (U+3099, U+0301, ...)."""
    first = unicodedata.normalize("NFD", ch)[:1]
    return bool(first) and unicodedata.combining(first) != 0


def normalize_with_map(text: str, norm: Callable[[str], str] = _nfkc) -> tuple[str, list[Span]]:
    """``text`` normalised as a whole, and for each normalised character the original span it came from.

    Args:
        text: the original text.
        norm: the normalisation (default NFKC); it must act on the text piece by
            piece (NFKC, lower case, accent stripping all do).

    Returns:
        ``(normalised, origin)``: ``origin[j]`` is the ``(start, end)`` span of
        ``text`` that normalised character ``j`` comes from. Characters that
        normalise together (``ﾊ`` + ``ﾟ`` -> ``パ``) share one span; all the
        characters of an expansion (``ﬁ`` -> ``fi``) point at the one original.
    """
    cuts = [0]  # the text cut into pieces that normalise on their own
    for i in range(1, len(text)):
        piece = text[cuts[-1]:i]
        if _joins_previous(text[i]) or norm(piece + text[i]) != norm(piece) + norm(text[i]):
            continue
        cuts.append(i)
    cuts.append(len(text))
    pieces = [(a, b) for a, b in zip(cuts, cuts[1:]) if b > a]
    outs = [norm(text[a:b]) for a, b in pieces]
    normalised = "".join(outs)
    if normalised != norm(text):  # a composition the cuts above missed: one piece, coarse but never wrong
        warnings.warn("Could not map the normalised text back character by character; every token of this "
                      f"text gets the whole text as its span ({text[:40]!r}).", stacklevel=2)
        return norm(text), [(0, len(text))] * len(norm(text))
    origin: list[Span] = []
    for (a, b), out in zip(pieces, outs):
        origin.extend([(a, b)] * len(out))
    return normalised, origin


def _to_original(span: Span, origin: Sequence[Span], n: int) -> Span:
    """A span of the normalised text as a span of the original (``n`` = its length)."""
    a, b = span
    if b <= a:
        pos = origin[a][0] if a < len(origin) else n
        return (pos, pos)
    return (origin[a][0], origin[b - 1][1])


# --- token spans -----------------------------------------------------------------
def token_spans(tokenizer: Any, text: str, input_ids: Sequence[int],
                encoding: tuple[Any, Any, Any] | None = None) -> list[Span | None]:
    """Each token's character span in the original ``text``.

    Args:
        tokenizer: the tokenizer that produced ``input_ids`` from ``text``.
        text: the original text.
        input_ids: the token ids (length ``n``), special tokens included,
            possibly truncated.
        encoding: optional ``(ids, offset_mapping, special_tokens_mask)`` of the
            fast tokenizer's own untruncated encoding of ``text``, when the
            caller already has it from a batched call.

    Returns:
        ``n`` spans ``(start, end)``; ``None`` for special tokens (and, with a
        warning, for a piece that cannot be found in the text); an empty span
        ``(s, s)`` for a bare ``"▁"``, at the next token's start.
    """
    ids = [int(i) for i in input_ids]
    if encoding is not None:  # (full ids, offsets, special mask) from a batched call of the same tokenizer
        spans = spans_from_offsets(ids, *encoding)
    elif getattr(tokenizer, "is_fast", False):
        spans = _fast_spans(tokenizer, text, ids)
    else:
        spans = _slow_spans(tokenizer, text, ids)
    spans = [None if s is None else _trim(text, s) for s in spans]
    return _word_marks_point_forward(tokenizer, ids, spans)


def _trim(text: str, span: Span) -> Span:
    """Leave out the white space a piece carries (SentencePiece's "▁dog" covers " dog")."""
    a, b = span
    while a < b and text[a].isspace():
        a += 1
    while b > a and text[b - 1].isspace():
        b -= 1
    return (a, b)


def _fast_spans(tokenizer: Any, text: str, ids: list[int]) -> list[Span | None]:
    enc = tokenizer(text, return_offsets_mapping=True, return_special_tokens_mask=True, add_special_tokens=True)
    return spans_from_offsets(ids, enc["input_ids"], enc["offset_mapping"], enc["special_tokens_mask"])


def spans_from_offsets(ids: Sequence[int], full: Sequence[int], offsets: Sequence[Any],
                       mask: Sequence[int]) -> list[Span | None]:
    """Raw spans of ``ids`` from a fast tokenizer's own encoding of the text (``full`` ids, offsets,
    special-tokens mask); :func:`token_spans` then trims them. Lets a caller that already
    encoded many texts in one batched call skip encoding each text again."""
    out: list[Span | None] = []
    for i, tid in enumerate(ids):  # [UNK] is a special id, but covers text: only the mask decides
        if i >= len(full) or full[i] != tid or mask[i]:
            out.append(None)  # a special token, or the [SEP] that truncation moved
        else:
            out.append((int(offsets[i][0]), int(offsets[i][1])))
    return out


def _bert_clean(text: str) -> str:
    """BERT's ``_clean_text``: drop NUL, U+FFFD and control characters (tab and newlines are white space)."""
    return "".join(c for c in text if not (c in "\x00\ufffd" or (unicodedata.category(c).startswith("C")
                                                                   and c not in "\t\n\r")))


def _slow_normalizer(tokenizer: Any) -> Callable[[str], str]:
    """The normalisation a slow tokenizer applies before it cuts pieces."""
    words = getattr(tokenizer, "word_tokenizer", None)
    if words is not None and hasattr(words, "normalize_text"):  # BertJapaneseTokenizer (MeCab): NFKC, lower case
        nfkc, lower = bool(words.normalize_text), bool(getattr(words, "do_lower_case", False))
        return lambda s: (_nfkc(s) if nfkc else s).lower() if lower else (_nfkc(s) if nfkc else s)
    basic = getattr(tokenizer, "basic_tokenizer", None)
    if basic is not None and getattr(tokenizer, "do_basic_tokenize", True):  # BERT's BasicTokenizer
        lower = bool(getattr(basic, "do_lower_case", False))
        strip = lower if getattr(basic, "strip_accents", None) is None else bool(basic.strip_accents)

        def bert(s: str) -> str:
            s = unicodedata.normalize("NFC", _bert_clean(s))
            s = s.lower() if lower else s
            return _strip_accents(s) if strip else s

        return bert
    lower = bool(getattr(tokenizer, "do_lower_case", False))  # any other slow tokenizer: NFKC
    return lambda s: _strip_accents(_nfkc(s).lower()) if lower else _nfkc(s)


def _word_units(tokenizer: Any, text: str) -> list[str] | None:
    """The units the tokenizer cuts into pieces (a ``[UNK]`` stands for one whole unit), if it says."""
    never = list(getattr(tokenizer, "all_special_tokens", []))
    words = getattr(tokenizer, "word_tokenizer", None)
    if words is not None and getattr(tokenizer, "do_word_tokenize", True):
        return list(words.tokenize(text, never_split=never))
    basic = getattr(tokenizer, "basic_tokenizer", None)
    if basic is not None and getattr(tokenizer, "do_basic_tokenize", True):
        return list(basic.tokenize(text, never_split=never))
    return None


def _slow_spans(tokenizer: Any, text: str, ids: list[int]) -> list[Span | None]:
    """Spans of a slow tokenizer's pieces in the normalised text, mapped back to the original.

    When the tokenizer names its word units (MeCab words, BERT's basic tokens),
    the pieces are laid over them unit by unit, as WordPiece cut them: a unit is
    either its pieces, spelled out in order, or one ``[UNK]``. Otherwise (or if
    the pieces do not spell the units) each piece is found after the one before.
    """
    norm_text, origin = normalize_with_map(text, _slow_normalizer(tokenizer))
    tokens = tokenizer.convert_ids_to_tokens(ids)
    unk = getattr(tokenizer, "unk_token", None)
    special = set(getattr(tokenizer, "all_special_ids", []))
    units = _word_units(tokenizer, text)
    unit_spans = _unit_spans(units, norm_text)
    missing: list[int] = []
    raw = None
    if units is not None and len(unit_spans) == len(units):
        raw = _spans_by_units(ids, tokens, special, unk, unit_spans, norm_text)
    if raw is None:
        raw = _spans_by_search(ids, tokens, special, unk, unit_spans, norm_text, missing)
    if missing:
        names = ", ".join(f"{tokens[i]!r} (position {i})" for i in missing)
        warnings.warn(f"Token(s) {names} not found in the text {text[:40]!r} as the tokenizer normalises it; "
                      "they get no span and are left out of every word.", stacklevel=3)
    return [None if s is None else _to_original(s, origin, len(text)) for s in raw]


def _spans_by_units(ids: list[int], tokens: list[str], special: set[int], unk: str | None,
                    units: list[Span], norm_text: str) -> list[Span | None] | None:
    """Pieces laid over the word units in order; None when they do not spell the units."""
    raw: list[Span | None] = [None] * len(ids)
    u, pos = 0, None  # the unit being spelled, and the position in it (None: at its start)
    for i, (tid, tok) in enumerate(zip(ids, tokens)):
        if unk is not None and tok == unk:
            if pos is not None or u >= len(units):
                return None
            raw[i] = units[u]
            u += 1
            continue
        if tid in special:
            continue
        if u >= len(units):
            return None
        piece = tok[2:] if tok.startswith("##") and pos is not None else tok
        start = units[u][0] if pos is None else pos
        end = start + len(piece)
        if not piece or end > units[u][1] or norm_text[start:end] != piece:
            return None
        raw[i] = (start, end)
        if end == units[u][1]:
            u, pos = u + 1, None
        else:
            pos = end
    return raw  # possibly truncated inside a unit: the pieces given are placed


def _spans_by_search(ids: list[int], tokens: list[str], special: set[int], unk: str | None,
                     units: list[Span], norm_text: str, missing: list[int]) -> list[Span | None]:
    """Each piece found after the one before; a run of [UNK]s shares out the stretch between."""
    raw: list[Span | None] = [None] * len(ids)
    cursor, pending = 0, []
    for i, (tid, tok) in enumerate(zip(ids, tokens)):
        if unk is not None and tok == unk:
            pending.append(i)
            continue
        if tid in special:
            continue
        piece = tok[2:] if tok.startswith("##") else tok
        found = norm_text.find(piece, cursor) if piece else -1
        if found < 0:
            missing.append(i)
            continue
        _place_unknowns(pending, cursor, found, norm_text, units, raw, missing)
        pending = []
        raw[i] = (found, found + len(piece))
        cursor = found + len(piece)
    _place_unknowns(pending, cursor, len(norm_text), norm_text, units, raw, missing)
    return raw


def _unit_spans(units: list[str] | None, norm_text: str) -> list[Span]:
    """The tokenizer's word units as spans of the normalised text, found in order."""
    out, cursor = [], 0
    for unit in units or []:
        found = norm_text.find(unit, cursor) if unit else -1
        if found >= 0:
            out.append((found, found + len(unit)))
            cursor = found + len(unit)
    return out


def _place_unknowns(positions: list[int], start: int, end: int, norm_text: str, units: list[Span],
                    out: list, missing: list[int]) -> None:
    """A run of [UNK] tokens between known pieces: each gets the word unit it stands for.

    The run covers the stretch between its neighbours (white space trimmed). When
    the tokenizer's units in the stretch (or else its white-space-separated
    chunks) are as many as the [UNK]s, each [UNK] gets one; otherwise every
    [UNK] of the run shares the whole stretch. A run over white space only
    stands for nothing that can be found: no span (reported as missing).
    """
    while start < end and norm_text[start].isspace():
        start += 1
    while end > start and norm_text[end - 1].isspace():
        end -= 1
    if start >= end:
        missing.extend(positions)
        return
    inside = [(a, b) for a, b in units if start <= a and b <= end]
    if len(inside) != len(positions):
        inside = [(start + m.start(), start + m.end()) for m in re.finditer(r"\S+", norm_text[start:end])]
    if len(inside) != len(positions):
        inside = [(start, end)] * len(positions)
    for p, span in zip(positions, inside):
        out[p] = span


def _word_marks_point_forward(tokenizer: Any, ids: list[int], spans: list[Span | None]) -> list[Span | None]:
    """A piece that is only the word mark ("▁") and covers no character of its own (a space, or the
    mark SentencePiece puts before the first word, aligned to that word's first character) gets an
    empty span at the next token's start. A "▁" that stands for a character of its own (e5 turns a
    zero-width joiner into a space) keeps it."""
    tokens = tokenizer.convert_ids_to_tokens(ids)
    out = list(spans)
    for i, (tok, span) in enumerate(zip(tokens, spans)):
        if span is None or tok != WORD_MARK:
            continue
        nxt = next((s for s in spans[i + 1 :] if s is not None), None)
        if span[1] <= span[0] or (nxt is not None and nxt[0] < span[1] and span[0] < max(nxt[1], nxt[0] + 1)):
            start = nxt[0] if nxt is not None else span[1]
            out[i] = (start, start)
    return out


def max_tokens(lm: Any) -> int:
    """The most tokens a loaded model reads (position embeddings and tokenizer limit; RoBERTa's two less)."""
    cfg = lm.model.config
    limits = [getattr(cfg, "max_position_embeddings", None), getattr(lm.tokenizer, "model_max_length", None)]
    limits = [int(x) for x in limits if x and x < 10**6]
    if getattr(cfg, "model_type", "") in {"roberta", "xlm-roberta", "camembert"}:
        limits = [x - 2 for x in limits]  # RoBERTa's positions start after the padding index
    return min(limits) if limits else 512


def token_spans_batch(lm: Any, texts: Sequence[str]) -> list[list[Span | None]]:
    """Character span of every token of each text (``None`` for special tokens), as :func:`token_spans`.

    Args:
        lm: a loaded model, or a bare tokenizer (``au.load_tokenizer(name)``).
        texts: the texts, each truncated to the model's limit as the model reads it.
    """
    texts = list(texts)
    if not texts:  # a tokenizer cannot encode an empty batch
        return []
    tok = getattr(lm, "tokenizer", lm)
    max_len = max_tokens(lm) if hasattr(lm, "tokenizer") else min(int(getattr(tok, "model_max_length", 512)), 512)
    if not getattr(tok, "is_fast", False):
        all_ids = tok(texts, truncation=True, max_length=max_len)["input_ids"]
        return [token_spans(tok, text, ids) for text, ids in zip(texts, all_ids)]
    # fast tokenizers: one batched call gives ids and offsets (not one more call per text)
    enc = tok(texts, truncation=True, max_length=max_len, return_offsets_mapping=True,
              return_special_tokens_mask=True)
    return [token_spans(tok, text, ids, (ids, offsets, mask)) for text, ids, offsets, mask in
            zip(texts, enc["input_ids"], enc["offset_mapping"], enc["special_tokens_mask"])]


# --- word spans ------------------------------------------------------------------
@functools.lru_cache(maxsize=1)
def _mecab():
    from .japanese import require_japanese

    require_japanese()
    import os

    import fugashi
    import unidic_lite

    dic = unidic_lite.DICDIR
    return fugashi.GenericTagger(f'-d "{dic}" -r "{os.path.join(dic, "mecabrc")}"')


def word_spans(text: str, lang: str | None = None) -> list[Span]:
    """The words of ``text`` as character spans.

    Args:
        text: the original text.
        lang: ``"ja"`` forces MeCab, any other value whitespace words; by
            default MeCab when the text holds kana or kanji.

    Returns:
        Spans ``(start, end)`` in order, not overlapping. Japanese: MeCab
        (unidic-lite) words of the NFKC-normalised text (as v3 reads it),
        mapped back to the original characters (:func:`normalize_with_map`);
        two words from one original character (``㍿`` -> 株式 / 会社) are one.
        Otherwise: runs of non-space characters, so punctuation stays attached
        to its word (``"cat."``).
    """
    if not isinstance(text, str):
        raise TypeError(f"word_spans() takes a string, got {type(text).__name__}")
    japanese = is_japanese(text) if lang is None else lang == "ja"
    if not japanese:
        return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    norm_text, origin = normalize_with_map(text)
    out: list[Span] = []
    cursor = 0
    for node in _mecab()(norm_text):
        found = norm_text.find(node.surface, cursor)
        if not node.surface or found < 0:
            continue
        span = _to_original((found, found + len(node.surface)), origin, len(text))
        if out and span[0] < out[-1][1]:  # two normalised words from one original character
            out[-1] = (out[-1][0], max(out[-1][1], span[1]))
        else:
            out.append(span)
        cursor = found + len(node.surface)
    return out


# --- grouping ---------------------------------------------------------------------
#: Why a token is left out of every word (``Alignment.left_out``).
NO_CHARACTER = "covers no character of any word"
OUTSIDE = "covers only characters outside every word"


@dataclass
class Alignment:
    """Tokens grouped into words.

    Attributes:
        groups: token positions per entry, ordered by their first token; together
            they hold every position exactly once.
        spans: per entry, the span of its word(s); ``None`` for a special token
            or a token left out of every word.
        words: per entry, the word indices it holds (empty for the others).
        merged: how many words were merged into an earlier one because a token straddles them.
        left_out: token position -> why no word holds it (:data:`NO_CHARACTER`, :data:`OUTSIDE`).
    """

    groups: list[list[int]]
    spans: list[Span | None]
    words: list[list[int]]
    merged: int
    left_out: dict[int, str] = field(default_factory=dict)


def _words_hit(span: Span, words: Sequence[Span], starts: Sequence[int] | None = None,
               ends: Sequence[int] | None = None) -> tuple[int, int] | None:
    """(first, last) word a token's span overlaps; an empty span ``(s, s)``: the word containing ``s``.

    ``starts`` / ``ends``: the words' starts and ends when the words are in order and do not overlap
    (:func:`_ordered`); the words hit are then one run, found by bisection instead of a scan.
    """
    a, b = span
    if starts is not None and ends is not None:
        if b <= a:
            w = bisect.bisect_right(starts, a) - 1  # the last word starting at or before a
            return (w, w) if w >= 0 and a < ends[w] else None
        first = bisect.bisect_right(ends, a)  # the first word ending after a
        last = bisect.bisect_left(starts, b) - 1  # the last word starting before b
        return (first, last) if first <= last else None
    if b <= a:
        hit = [w for w, (ws, we) in enumerate(words) if ws <= a < we]
    else:
        hit = [w for w, (ws, we) in enumerate(words) if ws < b and a < we]
    return (hit[0], hit[-1]) if hit else None


def _ordered(words: Sequence[Span]) -> bool:
    """Each word starts at or after the end of the one before, and ends at or after its own start."""
    return all(ws <= we for ws, we in words) and all(words[i][1] <= words[i + 1][0] for i in range(len(words) - 1))


def align(spans: Sequence[Span | None], words: Sequence[Span]) -> Alignment:
    """Group token positions into words (see the module docstring for the rule).

    Args:
        spans: each token's span, from :func:`token_spans` (length ``n``).
        words: word spans, in order, not overlapping (:func:`check_words`).

    Returns:
        An :class:`Alignment`.
    """
    words = list(words)
    key_of: list[Any] = []  # per token: ("word", first word, last word) or ("own", position)
    left_out: dict[int, str] = {}
    starts, ends = ([ws for ws, _ in words], [we for _, we in words]) if _ordered(words) else (None, None)
    for i, span in enumerate(spans):
        hit = None if span is None else _words_hit(span, words, starts, ends)
        if hit is None:
            if span is not None:
                left_out[i] = NO_CHARACTER if span[1] <= span[0] else OUTSIDE
            key_of.append(("own", i))
        else:
            key_of.append(("word", *hit))
    # union the word ranges touched by one token (a straddling token merges words): first mark which
    # neighbours some token joins, then give each run of joined words its first word, whatever the token order
    joined = [False] * len(words)  # joined[w]: one token covers words w - 1 and w
    for key in key_of:
        if key[0] == "word":
            joined[key[1] + 1 : key[2] + 1] = [True] * (key[2] - key[1])
    parent = list(range(len(words)))
    for w in range(1, len(words)):
        if joined[w]:
            parent[w] = parent[w - 1]
    merged = sum(1 for w in range(len(words)) if parent[w] != w)
    groups: dict[Any, list[int]] = {}
    for i, key in enumerate(key_of):
        gkey = ("word", parent[key[1]]) if key[0] == "word" else key
        groups.setdefault(gkey, []).append(i)
    ordered = sorted(groups.items(), key=lambda kv: kv[1][0])
    members_of: dict[int, list[int]] = {}  # each run's first word -> the words of the run
    for w in range(len(words)):
        members_of.setdefault(parent[w], []).append(w)
    out_spans: list[Span | None] = []
    out_words: list[list[int]] = []
    for gkey, _ in ordered:
        ws = members_of[gkey[1]] if gkey[0] == "word" else []
        out_words.append(ws)
        out_spans.append((words[ws[0]][0], words[ws[-1]][1]) if ws else None)
    return Alignment([members for _, members in ordered], out_spans, out_words, merged, left_out)


def group_tokens(spans: Sequence[Span | None], words: Sequence[Span]) -> list[list[int]]:
    """Token positions grouped into words (see the module docstring for the rule).

    Args:
        spans: each token's span, from :func:`token_spans` (length ``n``).
        words: word spans, in order, not overlapping.

    Returns:
        Groups of token positions, ordered by their first token; together
        they hold every position ``0..n-1`` exactly once.
    """
    return align(spans, check_words(words)).groups


def count_straddled(spans: Sequence[Span | None], words: Sequence[Span]) -> int:
    """How many words were merged into an earlier one because a token straddles them."""
    return align(spans, check_words(words)).merged


def align_words(token_spans: Sequence[Span | None], word_spans: Sequence[Span]) -> list[int | None]:
    """Which word each token belongs to, by character spans (a treebank's words, or any others).

    The grouping is :func:`align`'s: a token belongs to the first word it
    overlaps (a bare SentencePiece ``▁``, an empty span, goes with the word
    that starts there); a token that *straddles* later words (the word and the
    pieces do not nest, e.g. one v3 piece for two unidic short units) merges
    them into one group, because its attention cannot be split. The group then
    stands for its first word; the words merged into it own no token: they are
    never predicted, and their own predictions count as misses (their share is
    :func:`alignment_report`).

    Args:
        token_spans: per token ``(start, end)`` in the text, ``None`` for special
            tokens (from :func:`token_spans`).
        word_spans: per word ``(start, end)``, in order.

    Returns:
        per token the 0-based word index; ``None`` for special tokens; ``-1``
        for a token that no word holds (its attention is left out).
    """
    result = align(token_spans, word_spans)
    owner: list[int | None] = [None] * len(token_spans)
    for members, ws in zip(result.groups, result.words):
        for t in members:
            owner[t] = ws[0] if ws else (-1 if t in result.left_out else None)
    return owner


def nesting(token_spans: Sequence[Span | None], word_spans: Sequence[Span],
            owner: Sequence[int | None]) -> tuple[int, int]:
    """(words that share a token with another word, words left without a token of their own)."""
    shared = set()
    for span in token_spans:
        if span is None or span[1] <= span[0]:
            continue
        hit = [i for i, (ws, we) in enumerate(word_spans) if min(we, span[1]) - max(ws, span[0]) > 0]
        if len(hit) > 1:
            shared.update(hit)
    owned = {w for w in owner if w is not None and w >= 0}
    return len(shared), len(word_spans) - len(owned)


def alignment_report(lm: Any, sentences: Sequence[Any]) -> Any:
    """How well a treebank's words and the model's tokens nest.

    Args:
        lm: a loaded model, or a bare tokenizer (``au.load_tokenizer(name)``).
        sentences: from :func:`~attn_utils.treebank.load_treebank` (anything
            with ``text``, ``spans`` and a length, the number of words).

    Returns:
        Series with ``words``, ``crossed`` (words that share a token with
        another word: word and pieces do not nest), ``without_token`` (words
        merged into an earlier word's group, see :func:`align_words`), and the
        shares ``crossed_share``, ``without_token_share``; the counts are
        ``int`` (the Series has dtype ``object``, so they do not print as floats).
    """
    import pandas as pd

    spans = token_spans_batch(lm, [s.text for s in sentences])
    words = crossed = without = 0
    for sent, tspans in zip(sentences, spans):
        owner = align_words(tspans, sent.spans)
        c, w = nesting(tspans, sent.spans, owner)
        words, crossed, without = words + len(sent), crossed + c, without + w
    return pd.Series({"words": words, "crossed": crossed, "without_token": without,  # object: counts print as ints
                      "crossed_share": crossed / max(words, 1), "without_token_share": without / max(words, 1)},
                     dtype=object)


def _is_offset(x: Any) -> bool:
    import numbers

    return isinstance(x, numbers.Integral) and not isinstance(x, bool)


def check_words(words: Any, text_length: int | None = None) -> list[Span]:
    """Validate word spans: pairs of integers (not floats, not bools), in order, not overlapping, inside the text.

    Raises:
        TypeError: not a list of pairs, or an offset that is not an integer (named).
        ValueError: a span out of order, overlapping, empty or outside the text.
    """
    try:
        pairs = [tuple(w) for w in words]
        if any(len(p) != 2 for p in pairs):
            raise ValueError
    except (TypeError, ValueError):
        raise TypeError(f"words must be a list of (start, end) character offsets, got {words!r}") from None
    for p in pairs:
        bad = [x for x in p if not _is_offset(x)]
        if bad:
            raise TypeError(f"words must be (start, end) pairs of integer character offsets; {p!r} holds "
                            f"{bad[0]!r} of type {type(bad[0]).__name__}. Got: {words!r}")
    out = [(int(a), int(b)) for a, b in pairs]
    limit = text_length if text_length is not None else float("inf")
    prev_end = 0
    for a, b in out:
        if not 0 <= a < b <= limit or a < prev_end:
            raise ValueError(
                f"word span {(a, b)} is not valid: spans must satisfy 0 <= start < end <= len(text)"
                f"{f' = {text_length}' if text_length is not None else ''}, in order, not overlapping. "
                f"Got: {out}"
            )
        prev_end = b
    return out


# --- without spans (hand-built Attention objects) ---------------------------------
def join_pieces(pieces: Sequence[str]) -> str:
    """``["un", "##believ", "##able"]`` -> ``"unbelievable"``."""
    if len(pieces) == 1:
        return pieces[0]
    return pieces[0] + "".join(p[2:] if p.startswith("##") else p for p in pieces[1:])


def piece_groups(tokens: Sequence[str], word_ids: Sequence[int | None] | None,
                 specials: Sequence[str] = ()) -> list[list[int]]:
    """Token positions grouped into words by ``word_ids``, else by ``##`` continuation pieces."""
    groups: list[list[int]] = []
    prev: Any = object()
    for i, tok in enumerate(tokens):
        if word_ids is not None:
            wid = word_ids[i]
            joins = wid is not None and wid == prev and groups
            prev = wid
        else:
            joins = tok.startswith("##") and groups and tokens[i - 1] not in specials
        if joins:
            groups[-1].append(i)
        else:
            groups.append([i])
    return groups
