"""Head probing in the style of Clark et al. 2019 ("What Does BERT Look At?", Table 1).

For every head: how often does the word a dependent attends to most (excluding
itself, [CLS] and [SEP]) turn out to be its head word? Here the relations are
object -> verb and subject -> verb, on a small hand-annotated English set
shipped with the package, compared with the best fixed-offset baseline
("always predict the word k positions away").

Choosing the best of many heads and reporting its accuracy on the same
sentences flatters the head. :func:`probe_holdout` therefore picks the head
(and the baseline's offset) on one fixed half of the sentences and reports
both on the other half, each with an exact binomial interval
(:func:`attn_utils.stats.binomial_interval`). Clark et al.'s Table 1
(clarkkev/attention-analysis, ``Syntax_Analysis.ipynb``) picks the best head
and the best offset on the same dev data it reports, which is harmless on a
treebank of tens of thousands of words but not on a few dozen sentences.
"""
from __future__ import annotations

import json
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import data
from .errors import AttentionError, AttentionIndexError
from .extract import extract
from .stats import binomial_interval, mcnemar_exact, split_half

__all__ = ["load_probe_set", "probe_heads", "probe_baseline", "probe_holdout", "RELATIONS"]

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
    hits = _head_hits(lm, examples, batch_size)
    return _accuracy_frame({name: h.mean(axis=0) for name, h in hits.items()})


def _accuracy_frame(acc: dict[str, np.ndarray]) -> pd.DataFrame:
    """name -> ``[layer, head]`` accuracies as a table indexed by (layer, head)."""
    L, H = next(iter(acc.values())).shape
    index = pd.MultiIndex.from_product([range(L), range(H)], names=["layer", "head"])
    return pd.DataFrame({name: v.ravel() for name, v in acc.items()}, index=index)


def _head_hits(lm: Any, examples: list[dict], batch_size: int) -> dict[str, np.ndarray]:
    """relation -> bool ``[example, layer, head]``: did the head's top word match the annotated verb?"""
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
    return {name: np.stack(v) for name, v in hits.items()}


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


def _offset_hits(examples: Sequence[dict], dep: str, head: str, offset: int) -> np.ndarray:
    """bool per example: is the head word exactly ``offset`` words from the dependent?"""
    return np.array([ex[head] - ex[dep] == offset for ex in examples])


def probe_holdout(
    lm: Any,
    examples: Sequence[dict] | None = None,
    seed: int = 0,
    level: float = 0.95,
    batch_size: int = 32,
) -> pd.DataFrame:
    """Best head and best fixed offset chosen on one half of the sentences, scored on the other.

    The halves come from :func:`attn_utils.stats.split_half` ``(len(examples), seed)``:
    a fixed shuffle, the first ``ceil(n/2)`` for selection, the rest for the report.
    On the selection half, the head with the highest accuracy (ties: lowest
    layer, then head) and the offset with the highest accuracy (ties: the
    smaller distance) are chosen; on the report half both are scored, each with
    an exact Clopper-Pearson interval at ``level``. Head and offset are scored
    on the *same* sentences, so they are compared by a paired test, the exact
    McNemar test (:func:`attn_utils.stats.mcnemar_exact`) on the sentences where
    exactly one of the two is right; overlapping marginal intervals would not
    settle a paired difference.

    Returns:
        DataFrame indexed by relation with columns ``layer``, ``head``,
        ``selection_accuracy``, ``hits``, ``n``, ``accuracy``, ``low``, ``high``
        (the head on the report half), ``offset``, ``baseline_hits``,
        ``baseline_accuracy``, ``baseline_low``, ``baseline_high``,
        ``head_only`` / ``baseline_only`` (report sentences that only the head /
        only the offset gets right), ``p_value`` (two-sided exact McNemar), and
        ``verdict``: ``"head above baseline"`` or ``"baseline above head"`` when
        ``p_value < 1 - level``, else ``"undecided"``.
    """
    examples = load_probe_set() if examples is None else list(examples)
    select, report = split_half(len(examples), seed)
    hits = _head_hits(lm, examples, batch_size)
    sel_examples = [examples[i] for i in select]
    rep_examples = [examples[i] for i in report]
    base = probe_baseline(sel_examples)
    rows = {}
    for name, (dep, head_field) in RELATIONS.items():
        sel_acc = hits[name][select].mean(axis=0)  # [layer, head]
        layer, head = (int(x) for x in np.unravel_index(np.argmax(sel_acc), sel_acc.shape))
        head_right = hits[name][report, layer, head]
        k, n = int(head_right.sum()), len(report)
        offset = int(base.loc[name, "offset"])
        base_right = _offset_hits(rep_examples, dep, head_field, offset)
        kb = int(base_right.sum())
        ci, ci_b = binomial_interval(k, n, level), binomial_interval(kb, n, level)
        head_only, base_only, p_value = mcnemar_exact(head_right, base_right)
        if p_value >= 1.0 - level:
            verdict = "undecided"
        else:
            verdict = "head above baseline" if head_only > base_only else "baseline above head"
        rows[name] = {
            "layer": layer, "head": head, "selection_accuracy": float(sel_acc[layer, head]),
            "hits": k, "n": n, "accuracy": k / n, "low": ci[0], "high": ci[1],
            "offset": offset, "baseline_hits": kb, "baseline_accuracy": kb / n,
            "baseline_low": ci_b[0], "baseline_high": ci_b[1],
            "head_only": head_only, "baseline_only": base_only, "p_value": p_value, "verdict": verdict,
        }
    frame = pd.DataFrame(rows).T
    ints = ["layer", "head", "hits", "n", "offset", "baseline_hits", "head_only", "baseline_only"]
    floats = ["selection_accuracy", "accuracy", "low", "high", "baseline_accuracy", "baseline_low", "baseline_high",
              "p_value"]
    frame = frame.astype({**{c: int for c in ints}, **{c: float for c in floats}})
    frame.attrs.update(seed=seed, level=level, selection=select.tolist(), report=report.tolist())
    return frame
