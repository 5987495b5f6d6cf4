"""Gold dependency trees (Universal Dependencies), read from CoNLL-U.

:func:`load_treebank` reads CoNLL-U with the ``conllu`` library into
:class:`Sentence` objects that carry each word's character span in the
sentence's text. How those words meet a model's tokens is
:mod:`attn_utils.words`' business (``align_words``, ``alignment_report``).
Used by :mod:`attn_utils.syntax` (Clark et al. 2019, Table 1).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path
from typing import Any

__all__ = ["Sentence", "TREEBANKS", "load_treebank"]

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

