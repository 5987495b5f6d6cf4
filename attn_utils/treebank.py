"""Gold dependency trees (Universal Dependencies) and how their words meet a model's tokens.

:func:`load_treebank` reads CoNLL-U with the ``conllu`` library into
:class:`Sentence` objects that carry each word's character span in the
sentence's text; :func:`align_words` maps tokens to those words by the
package's one character-span rule (:mod:`attn_utils.words`), and
:func:`alignment_report` counts the words where word and pieces do not nest.
Used by :mod:`attn_utils.syntax` (Clark et al. 2019, Table 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .extract import _max_tokens
from .words import _align, token_spans

__all__ = ["Sentence", "TREEBANKS", "load_treebank", "align_words", "alignment_report"]

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


def _word_spans(text: str, forms: list[str], token_ranges: list[tuple[int, int, str]]) -> list[tuple[int, int]]:
    """Character spans of the words in ``text``, found by searching forward.

    Args:
        forms: the word forms, in order.
        token_ranges: the surface tokens as ``(first word, last word, form)``
            (a multiword token ``3-4 don't`` covers words 2..3, 0-based).

    A multiword token is found as a whole; its words get consecutive pieces of
    it when their forms spell it out (``do`` + ``n't``), otherwise each gets the
    whole token's span (they then share every piece; see :func:`align_words`).
    """
    spans: list[tuple[int, int]] = [(0, 0)] * len(forms)
    pos = 0
    for first, last, form in token_ranges:
        start = text.find(form, pos)
        if start < 0:  # normalised differently from the text: the next non-space character
            start = pos + len(text[pos:]) - len(text[pos:].lstrip())
        end = min(len(text), start + len(form))
        members = list(range(first, last + 1))
        if len(members) == 1:
            spans[first] = (start, end)
        elif "".join(forms[i] for i in members).lower() == text[start:end].lower():
            cut = start
            for i in members:
                spans[i] = (cut, cut + len(forms[i]))
                cut += len(forms[i])
        else:
            for i in members:
                spans[i] = (start, end)
        pos = end
    return spans


def _parse(path: Path | Any) -> list[Sentence]:
    import conllu

    text = path.read_text(encoding="utf-8")
    sentences = []
    for tl in conllu.parse(text):
        words, heads, rels, upos, ranges = [], [], [], [], []
        index: dict[int, int] = {}
        covered: set[int] = set()
        for tok in tl:
            tid = tok["id"]
            if isinstance(tid, tuple) and len(tid) == 3 and tid[1] == "-":  # multiword token 3-4
                ranges.append((tid[0], tid[2], tok["form"]))
                covered.update(range(tid[0], tid[2] + 1))
            elif isinstance(tid, int):
                index[tid] = len(words)
                words.append(tok["form"])
                heads.append(int(tok["head"]))
                rels.append(tok["deprel"])
                upos.append(tok["upos"])
                if tid not in covered:
                    ranges.append((tid, tid, tok["form"]))
            # empty nodes (5.1) are not words
        ranges = sorted((index[a], index[b], form) for a, b, form in ranges)
        sent_text = tl.metadata.get("text") or " ".join(words)
        sentences.append(
            Sentence(words, heads, rels, sent_text, _word_spans(sent_text, words, ranges),
                     tl.metadata.get("sent_id", ""), upos)
        )
    return sentences


def load_treebank(name_or_path: str | Path = "en_ewt") -> list[Sentence]:
    """Gold dependency trees, one :class:`Sentence` each.

    Args:
        name_or_path: ``"en_ewt"`` (600 sentences of UD_English-EWT dev),
            ``"ja_gsd"`` (364 sentences of UD_Japanese-GSD dev), or the path
            of any ``.conllu`` file. Multiword-token lines (``3-4``) and empty
            nodes (``5.1``) are not words.

    Returns:
        list of :class:`Sentence`, in file order.

    Raises:
        FileNotFoundError: an unknown name or a missing file; the message names the valid choices.
    """
    if not isinstance(name_or_path, (str, Path)):
        raise TypeError(f"load_treebank() takes a name ({', '.join(TREEBANKS)}) or a .conllu path, "
                        f"got {type(name_or_path).__name__}")
    key = str(name_or_path)
    if key in TREEBANKS:
        return _parse(resources.files("attn_utils.data").joinpath("ud", TREEBANKS[key]))
    path = Path(key).expanduser()
    if path.suffix == ".conllu" and path.is_file():
        return _parse(path)
    raise FileNotFoundError(
        f"No treebank {key!r}: use one of {', '.join(repr(k) for k in TREEBANKS)} "
        "or the path of an existing .conllu file."
    )


# --- alignment ---------------------------------------------------------------------------------

def align_words(token_spans: Sequence[tuple[int, int] | None], word_spans: Sequence[tuple[int, int]]) -> list[int | None]:
    """Which UD word each token belongs to, by character spans.

    The grouping is the package's one rule (:func:`attn_utils.words.group_tokens`):
    a token belongs to the word holding its first character (a bare
    SentencePiece ``▁``, an empty span, goes with the next word); a token that
    *straddles* later words (the word and the pieces do not nest, e.g. one
    v3 piece for two unidic short units) merges them into one group, because
    its attention cannot be split. The group then stands for its first word;
    the words merged into it own no token: they are never predicted, and their
    own predictions count as misses (their share is :func:`alignment_report`).

    Args:
        token_spans: per token ``(start, end)`` in the text, ``None`` for special
            tokens (from :func:`attn_utils.words.token_spans`).
        word_spans: per word ``(start, end)``, in order.

    Returns:
        per token the 0-based word index; ``None`` for special tokens; ``-1``
        for a token outside every word (its attention is left out).
    """
    groups, group_spans, _ = _align(token_spans, word_spans)
    first_word = {a: w for w, (a, _) in enumerate(word_spans)}
    owner: list[int | None] = [None] * len(token_spans)
    for members, span in zip(groups, group_spans):
        for t in members:
            if token_spans[t] is None:
                owner[t] = None
            elif len(members) == 1 and span == token_spans[t] and span[0] not in first_word:
                owner[t] = -1  # a token of its own, outside every word
            else:
                owner[t] = first_word[span[0]]
    return owner


def _nesting(token_spans: Sequence[tuple[int, int] | None], word_spans: Sequence[tuple[int, int]],
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


def _token_spans(lm: Any, texts: list[str]) -> list[list[tuple[int, int] | None]]:
    """Character span of every token (``None`` for special tokens), as :func:`attn_utils.words.token_spans`."""
    if not texts:  # a tokenizer cannot encode an empty batch
        return []
    tok = getattr(lm, "tokenizer", lm)  # a loaded model, or a bare tokenizer (au.load_tokenizer)
    max_len = _max_tokens(lm) if hasattr(lm, "tokenizer") else min(int(getattr(tok, "model_max_length", 512)), 512)
    if not getattr(tok, "is_fast", False):
        all_ids = tok(list(texts), truncation=True, max_length=max_len)["input_ids"]
        return [token_spans(tok, text, ids) for text, ids in zip(texts, all_ids)]
    # fast tokenizers: one batched call gives ids and offsets (not one more call per text)
    enc = tok(list(texts), truncation=True, max_length=max_len, return_offsets_mapping=True,
              return_special_tokens_mask=True)
    return [token_spans(tok, text, ids, (ids, offsets, mask)) for text, ids, offsets, mask in
            zip(texts, enc["input_ids"], enc["offset_mapping"], enc["special_tokens_mask"])]


def alignment_report(lm: Any, sentences: Sequence[Sentence]) -> pd.Series:
    """How well UD words and the model's tokens nest, over a treebank.

    Args:
        lm: a loaded model, or a bare tokenizer (``au.load_tokenizer(name)``).
        sentences: from :func:`load_treebank`.

    Returns:
        Series with ``words``, ``crossed`` (words that share a token with
        another word: word and pieces do not nest), ``without_token`` (words
        merged into an earlier word's group, see :func:`align_words`), and the
        shares ``crossed_share``, ``without_token_share``; the counts are
        ``int`` (the Series has dtype ``object``, so they do not print as floats).
    """
    spans = _token_spans(lm, [s.text for s in sentences])
    words = crossed = without = 0
    for sent, tspans in zip(sentences, spans):
        owner = align_words(tspans, sent.spans)
        c, w = _nesting(tspans, sent.spans, owner)
        words, crossed, without = words + len(sent), crossed + c, without + w
    return pd.Series({"words": words, "crossed": crossed, "without_token": without,  # object: counts print as ints
                      "crossed_share": crossed / max(words, 1), "without_token_share": without / max(words, 1)},
                     dtype=object)


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

