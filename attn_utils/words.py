"""Tokens to words by character spans, the same way for every tokenizer.

Two models with different tokenizers (v3's MeCab + WordPiece, e5's
SentencePiece, English WordPiece) cut a sentence into different tokens, but
every token covers a stretch of the *original* text. Grouping tokens by the
words their characters fall in lines the models up word by word.

API (all spans are ``(start, end)`` character offsets into the original text,
end exclusive, as in ``text[start:end]``):

- ``token_spans(tokenizer, text, input_ids) -> list[tuple[int, int] | None]``:
  each token's span; ``None`` for special tokens ([CLS], <s>, ...). An empty
  span ``(s, s)`` marks a token that covers no character, such as
  SentencePiece's bare ``"▁"`` piece; it belongs with the text starting at ``s``.
  Fast tokenizers: their ``offset_mapping``. Slow ones (``BertJapaneseTokenizer``
  has no offsets): the pieces (``##`` stripped) are found in the text after
  the tokenizer's normalisation (NFKC per character, lower case and accents
  stripped if the tokenizer lowercases), and mapped back to the original.
- ``word_spans(text, lang=None) -> list[tuple[int, int]]``: Japanese text
  (any kana or kanji, or ``lang="ja"``) -> MeCab words (``fugashi`` +
  ``unidic-lite``, run on the NFKC-normalised text as v3 does); otherwise
  whitespace-separated words, punctuation attached (``"cat."`` is one word).
- ``group_tokens(spans, words) -> list[list[int]]``: token positions grouped
  into words, in order. Rule: a token belongs to the word that contains its
  first character (an empty span ``(s, s)``: the word containing ``s``, else the
  next word). A token that also covers characters of later words (it
  *straddles* them) merges those words into one group, because its attention
  cannot be split between them; ``count_straddled(spans, words)`` says how
  many words were merged away. Special tokens (span ``None``) and tokens
  outside every word stay groups of their own.
- ``Attention.to_words(words=None)`` (in :mod:`attn_utils.extract`) uses these:
  by default ``word_spans(att.text)``, or explicit ``words=[(start, end), ...]``
  (e.g. a treebank's words). Key side summed, query side averaged, so rows
  still sum to 1.
"""
from __future__ import annotations

import functools
import re
import unicodedata
from typing import Any, Sequence

__all__ = ["token_spans", "word_spans", "group_tokens", "count_straddled", "is_japanese", "Span"]

Span = tuple[int, int]
_JAPANESE = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")


def is_japanese(text: str) -> bool:
    """True when the text holds any kana or kanji."""
    return bool(_JAPANESE.search(text))


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
        ``n`` spans ``(start, end)``; ``None`` for special tokens; an empty
        span ``(s, s)`` for a token that covers no character (a bare ``"▁"``).
    """
    ids = [int(i) for i in input_ids]
    special = set(getattr(tokenizer, "all_special_ids", []))
    if encoding is not None:  # (full ids, offsets, special mask) from a batched call of the same tokenizer
        spans = spans_from_offsets(ids, *encoding)
    elif getattr(tokenizer, "is_fast", False):
        spans = _fast_spans(tokenizer, text, ids)
    else:
        spans = _slow_spans(tokenizer, text, ids, special)
    spans = [None if s is None else _trim(text, s) for s in spans]
    return _empty_pieces_point_forward(tokenizer, ids, spans)


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


def _normalizer(tokenizer: Any):
    lower = bool(getattr(tokenizer, "do_lower_case", False))

    def norm(ch: str) -> str:
        out = unicodedata.normalize("NFKC", ch)
        if lower:
            out = "".join(c for c in unicodedata.normalize("NFD", out.lower()) if unicodedata.category(c) != "Mn")
        return out

    return norm


def normalized_with_map(text: str, norm=lambda ch: unicodedata.normalize("NFKC", ch)) -> tuple[str, list[int]]:
    """``text`` normalised character by character, and for each normalised index its original index."""
    pieces, where = [], []
    for i, ch in enumerate(text):
        out = norm(ch)
        pieces.append(out)
        where.extend([i] * len(out))
    return "".join(pieces), where


def _slow_spans(tokenizer: Any, text: str, ids: list[int], special: set[int]) -> list[Span | None]:
    norm_text, where = normalized_with_map(text, _normalizer(tokenizer))
    tokens = tokenizer.convert_ids_to_tokens(ids)
    unk = getattr(tokenizer, "unk_token", None)
    out: list[Span | None] = [None] * len(ids)
    cursor, pending_unk = 0, []
    for i, (tid, tok) in enumerate(zip(ids, tokens)):
        if tid in special and tok != unk:
            continue
        if tok == unk:
            pending_unk.append(i)
            continue
        piece = tok[2:] if tok.startswith("##") else tok
        found = norm_text.find(piece, cursor) if piece else -1
        if found < 0:  # not in the text (should not happen): an empty span where we are
            out[i] = (cursor, cursor)
            continue
        _place_unknowns(pending_unk, cursor, found, norm_text, out)
        pending_unk = []
        out[i] = (found, found + len(piece))
        cursor = found + len(piece)
    _place_unknowns(pending_unk, cursor, len(norm_text), norm_text, out)
    return [_to_original(s, where, len(text)) for s in out]


def _place_unknowns(positions: list[int], start: int, end: int, norm_text: str, out: list) -> None:
    """[UNK] tokens share the stretch between their neighbours (whitespace trimmed): the first takes it."""
    if not positions:
        return
    while start < end and norm_text[start].isspace():
        start += 1
    while end > start and norm_text[end - 1].isspace():
        end -= 1
    out[positions[0]] = (start, end)
    for p in positions[1:]:
        out[p] = (end, end)


def _to_original(span: Span | None, where: list[int], n: int) -> Span | None:
    if span is None:
        return None
    a, b = span
    if a >= len(where):
        return (n, n)
    if b <= a:
        return (where[a], where[a])
    return (where[a], where[b - 1] + 1)


def _empty_pieces_point_forward(tokenizer: Any, ids: list[int], spans: list[Span | None]) -> list[Span | None]:
    """A piece that is only the word-boundary mark ("▁") gets an empty span at the next token's start."""
    tokens = tokenizer.convert_ids_to_tokens(ids)
    out = list(spans)
    for i, (tok, span) in enumerate(zip(tokens, spans)):
        if span is not None and tok == "\u2581":
            nxt = next((s for s in spans[i + 1 :] if s is not None), None)
            start = nxt[0] if nxt is not None else span[1]
            out[i] = (start, start)
    return out


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
        (unidic-lite) words of the NFKC-normalised text, mapped back to the
        original characters. Otherwise: runs of non-space characters, so
        punctuation stays attached to its word (``"cat."``).
    """
    if not isinstance(text, str):
        raise TypeError(f"word_spans() takes a string, got {type(text).__name__}")
    japanese = is_japanese(text) if lang is None else lang == "ja"
    if not japanese:
        return [(m.start(), m.end()) for m in re.finditer(r"\S+", text)]
    norm_text, where = normalized_with_map(text)
    out, cursor = [], 0
    for node in _mecab()(norm_text):
        found = norm_text.find(node.surface, cursor)
        if not node.surface or found < 0:
            continue
        span = _to_original((found, found + len(node.surface)), where, len(text))
        if out and span[0] < out[-1][1]:  # two normalised words from one original character
            out[-1] = (out[-1][0], max(out[-1][1], span[1]))
        else:
            out.append(span)
        cursor = found + len(node.surface)
    return out


# --- grouping ---------------------------------------------------------------------
def _word_of(pos: int, words: Sequence[Span], empty: bool) -> int | None:
    for w, (a, b) in enumerate(words):
        if a <= pos < b:
            return w
    if empty:  # a bare "▁": the next word
        return next((w for w, (a, _) in enumerate(words) if a >= pos), None)
    return None


def _align(spans: Sequence[Span | None], words: Sequence[Span]) -> tuple[list[list[int]], list[Span | None], int]:
    """Groups of token positions, each group's span, and the number of words merged away."""
    key_of: list[Any] = []  # per token: ("word", first word, last word) or ("own", position)
    for i, span in enumerate(spans):
        if span is None:
            key_of.append(("own", i))
            continue
        a, b = span
        first = _word_of(a, words, empty=b <= a)
        if first is None:
            key_of.append(("own", i))
            continue
        last = first
        while last + 1 < len(words) and words[last + 1][0] < b:
            last += 1
        key_of.append(("word", first, last))
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
    out_groups = [members for _, members in ordered]
    out_spans: list[Span | None] = []
    for gkey, members in ordered:
        if gkey[0] == "own":
            out_spans.append(spans[gkey[1]])
        else:
            ws = [w for w in range(len(words)) if parent[w] == gkey[1]]
            out_spans.append((words[ws[0]][0], words[ws[-1]][1]))
    return out_groups, out_spans, merged


def group_tokens(spans: Sequence[Span | None], words: Sequence[Span]) -> list[list[int]]:
    """Token positions grouped into words (see the module docstring for the rule).

    Args:
        spans: each token's span, from :func:`token_spans` (length ``n``).
        words: word spans, in order, not overlapping.

    Returns:
        Groups of token positions, ordered by their first token; together
        they hold every position ``0..n-1`` exactly once.
    """
    return _align(spans, check_words(words))[0]


def count_straddled(spans: Sequence[Span | None], words: Sequence[Span]) -> int:
    """How many words were merged into an earlier one because a token straddles them."""
    return _align(spans, check_words(words))[2]


def check_words(words: Any, text_length: int | None = None) -> list[Span]:
    """Validate word spans: pairs of ints, in order, not overlapping, inside the text."""
    try:
        out = [(int(a), int(b)) for a, b in words]
    except (TypeError, ValueError):
        raise TypeError(f"words must be a list of (start, end) character offsets, got {words!r}") from None
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
