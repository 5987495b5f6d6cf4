"""au.head_stats against an independent numpy transcription of Clark et al.'s formulas.

The oracle restates, in our own code, what clarkkev/attention-analysis
``General_Analysis.ipynb`` computes per document ("Computing Average Attention
to Particular Tokens/Positions", "Computing Attention Head Entropies"):
selector matrices for [CLS], [SEP], "." / ",", the diagonals below ("left") and
above ("right") the main one, each summed over the whole map and divided by the
number of tokens n; the entropy of every row after smoothing 0.9999 a + 1e-4 / n,
averaged over rows; every per-document value averaged over documents.
It runs the model itself, one sentence at a time (no padding), so it shares no
code with head_stats' batched path.
"""
import numpy as np
import pytest
import torch

import attn_utils as au

# Written for this test; none of them is in the shipped corpus (checked below).
UNSEEN = [
    "Wait! The kettle, which had boiled twice, whistled again.",
    "Do lighthouses ever feel lonely at night?",
    "My aunt (a retired pilot) still reads maps for fun.",
    "First we sanded the boards; then, reluctantly, we painted them.",
    "\"Not yet,\" she said, and closed the heavy door.",
    "Seven geese crossed the frozen pond in a line.",
    "He counted: one, two, three, four.",
    "Why would anyone paint a bicycle bright orange?",
    "The museum's oldest clock stopped at noon.",
    "Rain fell.",
    "Although the bakery was closed, the smell of bread lingered on the street for hours.",
    "Quiet, please - the orchestra is tuning.",
]


def clark_oracle(lm, texts):
    """Clark's per-document statistics in plain numpy, averaged over documents: name -> [layer, head]."""
    totals = {}
    for text in texts:
        enc = lm.tokenizer(text, return_tensors="pt")
        with torch.no_grad():
            out = lm.model(**enc, output_attentions=True)
        attns = torch.stack(out.attentions)[:, 0].double().numpy()  # [layer, head, n, n]
        tokens = lm.tokenizer.convert_ids_to_tokens(enc["input_ids"][0])
        n = attns.shape[-1]
        is_cls = np.array([t == "[CLS]" for t in tokens], dtype=float)
        is_sep = np.array([t == "[SEP]" for t in tokens], dtype=float)
        is_punct = np.array([t == "." or t == "," for t in tokens], dtype=float)
        selectors = {
            "cls": np.tile(is_cls, (n, 1)),
            "sep": np.tile(is_sep, (n, 1)),
            "punct": np.tile(is_punct, (n, 1)),
            "prev": np.eye(n, n, -1),  # Clark's "left"
            "next": np.eye(n, n, 1),  # Clark's "right"
        }
        doc = {name: (attns * sel).sum(-1).sum(-1) / n for name, sel in selectors.items()}
        smooth = 0.9999 * attns + 0.0001 / n
        doc["entropy"] = -(smooth * np.log(smooth)).sum(-1).mean(-1)
        for name, value in doc.items():
            totals[name] = totals.get(name, 0) + value / len(texts)
    return totals


def test_unseen_sentences_are_not_in_the_shipped_corpus():
    corpus = set(au.load_corpus())
    assert not corpus & set(UNSEEN)


def test_head_stats_agrees_with_clark_formulas_within_1e4(minilm):
    oracle = clark_oracle(minilm, UNSEEN)
    stats = au.head_stats(minilm, UNSEEN, batch_size=5, progress=False)  # padded, length-sorted batches
    L, H = oracle["cls"].shape
    assert stats.index.names == ["layer", "head"] and len(stats) == L * H
    worst = {}
    for name, expected in oracle.items():
        ours = stats[name].to_numpy().reshape(L, H)
        worst[name] = float(np.abs(ours - expected).max())
    assert all(gap < 1e-4 for gap in worst.values()), worst


def test_the_unseen_sentences_exercise_the_differences(minilm):
    # the check above would be weak if these sentences had no "!", "?", ";" ... or no previous-token heads
    tokens = [t for text in UNSEEN for t in minilm.tokenizer.tokenize(text)]
    assert {"!", "?", ";", "(", ":", "-", '"'} <= set(tokens) and {".", ","} <= set(tokens)
    stats = au.head_stats(minilm, UNSEEN, progress=False)
    assert (stats["punct_all"] - stats["punct"]).max() > 1e-2
    assert stats["prev"].max() > 0.5
