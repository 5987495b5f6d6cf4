"""Head probing in the style of Clark et al. 2019 ("What Does BERT Look At?", Table 1).

For every head: how often does the word a dependent attends to most (excluding
itself, [CLS] and [SEP]) turn out to be its head word? Here the relations are
object -> verb and subject -> verb, on a small hand-annotated English set
shipped with the package, compared with the best fixed-offset baseline
("always predict the word k positions away").
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import data
from .errors import AttentionError, AttentionIndexError
from .extract import extract

__all__ = ["load_probe_set", "probe_heads", "probe_baseline", "RELATIONS"]

#: relation name -> (dependent field, head field)
RELATIONS = {"obj_to_verb": ("obj", "verb"), "subj_to_verb": ("subj", "verb")}


def load_probe_set() -> list[dict]:
    """The shipped annotated sentences: dicts ``{"text", "subj", "verb", "obj"}``,
    indices 0-based into ``text.split()`` (68 sentences, CC0)."""
    return json.loads(data.read_text("probe_en.json"))["examples"]


def _check(examples: Sequence[dict]) -> None:
    if not examples:
        raise AttentionError("probe_heads() needs at least one annotated example")
    for i, ex in enumerate(examples):
        missing = {"text", "subj", "verb", "obj"} - set(ex)
        if missing:
            raise AttentionError(f"example {i} lacks {sorted(missing)}; each needs text, subj, verb, obj")
        n = len(ex["text"].split())
        bad = [f for f in ("subj", "verb", "obj") if not 0 <= ex[f] < n]
        if bad:
            raise AttentionIndexError(f"example {i}: {bad} out of range 0..{n - 1} for {ex['text']!r}")


def probe_heads(lm: Any, examples: Sequence[dict] | None = None, batch_size: int = 32) -> pd.DataFrame:
    """Accuracy of every head at pointing from a dependent to its verb.

    Attention is taken at word level (sum over key pieces, mean over query
    pieces); the dependent's own word, [CLS] and [SEP] are never a prediction.

    Returns:
        DataFrame indexed by ``(layer, head)`` with columns ``obj_to_verb`` and
        ``subj_to_verb``: accuracies in 0..1 over the examples.
    """
    examples = load_probe_set() if examples is None else list(examples)
    _check(examples)
    atts = extract(lm, [ex["text"] for ex in examples], batch_size=batch_size)
    hits = {name: [] for name in RELATIONS}
    for ex, att in zip(examples, atts):
        words = att.to_words()
        inner = words.tokens[1:-1]
        expected = ex["text"].split()
        if [w.lower() for w in inner] != [w.lower() for w in expected]:
            raise AttentionError(
                f"the tokenizer's words {inner} do not line up with text.split() {expected}; "
                "write the text with spaces around punctuation and no hyphens or apostrophes"
            )
        w = words.weights  # [layer, head, query, key]; word i of the text is position i + 1
        for name, (dep, head) in RELATIONS.items():
            row = w[:, :, ex[dep] + 1, :].copy()  # [layer, head, key]
            row[..., [0, ex[dep] + 1, len(words) - 1]] = -np.inf  # not [CLS], itself, [SEP]
            hits[name].append(row.argmax(-1) == ex[head] + 1)
    L, H = atts[0].num_layers, atts[0].num_heads
    index = pd.MultiIndex.from_product([range(L), range(H)], names=["layer", "head"])
    return pd.DataFrame({name: np.mean(v, axis=0).ravel() for name, v in hits.items()}, index=index)


def probe_baseline(examples: Sequence[dict] | None = None) -> pd.DataFrame:
    """The best fixed-offset baseline for each relation.

    Returns:
        DataFrame indexed by relation with columns ``accuracy`` and ``offset``
        (predict the word ``offset`` positions from the dependent).
    """
    examples = load_probe_set() if examples is None else list(examples)
    _check(examples)
    rows = {}
    for name, (dep, head) in RELATIONS.items():
        offsets = [ex[head] - ex[dep] for ex in examples]
        candidates = sorted(set(offsets))
        scores = {k: float(np.mean([o == k for o in offsets])) for k in candidates}
        best = max(scores, key=lambda k: (scores[k], -abs(k)))
        rows[name] = {"accuracy": scores[best], "offset": best}
    return pd.DataFrame(rows).T.astype({"accuracy": float, "offset": int})
