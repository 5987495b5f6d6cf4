"""``syntax_heads`` against a plain per-sentence recomputation, on random sharp attention maps.

The planted-tree tests (``test_syntax.py``) put all weight on one token, so
they cannot see how the batched code weighs pieces: keys summed over a word's
pieces, queries averaged, [CLS] and [SEP] as their own units, words without a
token of their own chosen only when nothing else is left. Here a stand-in
encoder gives every sentence seeded random maps (2 layers x 3 heads, rows
softmax of 4 x a normal draw, so argmax gaps dwarf float error), and every
accuracy and count of ``syntax_heads`` must equal what a loop over one
sentence at a time finds, written from the definitions in its docstring and
Clark et al. 2019 §4.2 (``attn_head_predictor``: argmax over the other words).
"""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from attn_utils import treebank as tbk
from attn_utils import words as W

LAYERS, HEADS = 2, 3


class RandomMaps(torch.nn.Module):
    """Seeded random attention, a function of the real tokens only (so batching cannot change it)."""

    def __init__(self):
        super().__init__()
        self.config = SimpleNamespace(max_position_embeddings=512, model_type="bert", _attn_implementation="eager")
        self.dummy = torch.nn.Parameter(torch.zeros(1))

    @staticmethod
    def maps(ids):
        rng = np.random.default_rng(abs(hash(tuple(ids))) % 2**32)
        logits = 4.0 * rng.standard_normal((LAYERS, HEADS, len(ids), len(ids)))
        w = np.exp(logits - logits.max(-1, keepdims=True))
        return (w / w.sum(-1, keepdims=True)).astype(np.float32)

    def forward(self, input_ids, attention_mask, token_type_ids=None, output_attentions=True):
        B, T = input_ids.shape
        out = torch.zeros(LAYERS, B, HEADS, T, T)
        for b in range(B):
            real = int(attention_mask[b].sum())
            out[:, b, :, :real, :real] = torch.from_numpy(self.maps(input_ids[b, :real].tolist()))
        return SimpleNamespace(attentions=tuple(out))


def word_maps(a, owner, n):
    """[layer, head, n+2, n+2]: unit 0 = the first special token, 1..n = words, n+1 = the other specials;
    a query unit averages its tokens' rows, a key unit sums its tokens' columns; tokens outside every word drop."""
    specials = [t for t, w in enumerate(owner) if w is None]
    unit = {t: w + 1 for t, w in enumerate(owner) if w is not None and w >= 0}
    unit[specials[0]] = 0
    unit.update({t: n + 1 for t in specials[1:]})
    out = np.zeros(a.shape[:2] + (n + 2, n + 2))
    for q in range(n + 2):
        rows = [t for t, u in unit.items() if u == q]
        for k in range(n + 2):
            cols = [t for t, u in unit.items() if u == k]
            if rows and cols:
                out[..., q, k] = a[..., rows, :][..., :, cols].astype(np.float64).sum(-1).mean(-1)
    return out


def predict(w, j, owned, n):
    """1-based head of word j (0-based): the largest weight among the other words, owned words first."""
    candidates = [k for k in range(n) if k != j]
    best = max((k for k in candidates if k in owned), key=lambda k: (w[j + 1, k + 1], -k), default=None)
    if best is None:  # only words without tokens are left: all weigh 0 (no pieces), argmax takes the first
        best = candidates[0]
    return best + 1


def expected_scores(lm, sentences):
    spans = W.token_spans_batch(lm, [s.text for s in sentences])
    hits, counts = {}, {}
    for s, tspans in zip(sentences, spans):
        ids = lm.tokenizer(s.text)["input_ids"]
        owner = W.align_words(tspans, s.spans)
        n, owned = len(s), {w for w in owner if w is not None and w >= 0}
        maps = word_maps(RandomMaps.maps(ids), owner, n)
        for i, rel in enumerate(s.relations):
            j = tbk.poss_source(s)[i]
            if j not in owned or (s.heads[i] and s.heads[i] - 1 not in owned):
                continue
            for d, direction in enumerate(["dep->head", "head->dep"]):
                for layer in range(LAYERS):
                    for head in range(HEADS):
                        w = maps[layer, head] if d == 0 else maps[layer, head].T
                        ok = predict(w, j, owned, n) == s.heads[i]
                        for lab in ["all", rel] + ([rel.split(":")[0]] if ":" in rel else []):
                            key = (lab, direction, layer, head)
                            hits[key] = hits.get(key, 0) + ok
                            counts[key] = counts.get(key, 0) + 1
    return hits, counts


@pytest.mark.parametrize("name, count", [("en_ewt", 25), ("ja_gsd", 20)])
def test_every_accuracy_and_count_equals_a_per_sentence_loop(minilm, name, count):
    sentences = au.load_treebank(name)[:count]
    lm = SimpleNamespace(model=RandomMaps().eval(), tokenizer=minilm.tokenizer)
    scores = au.syntax_heads(lm, sentences, batch_size=6, progress=False)
    hits, counts = expected_scores(lm, sentences)
    got = {key: (row.accuracy, row.n) for key, row in scores.iterrows()}
    assert set(got) == set(hits)  # every relation seen, both directions, every layer and head
    for key, (acc, n) in got.items():
        assert n == counts[key] and acc == pytest.approx(hits[key] / counts[key], abs=1e-12), key
    assert scores.attrs["words"] == sum(len(s) for s in sentences)
    assert scores.attrs["scored"] == counts[("all", "dep->head", 0, 0)]
    accs = scores.xs("all")["accuracy"]
    assert accs.nunique() > 3  # the maps really differ between heads: the comparison has teeth


def test_no_sentences_and_a_token_count_mismatch_are_clear_errors(minilm, monkeypatch):
    lm = SimpleNamespace(model=RandomMaps().eval(), tokenizer=minilm.tokenizer)
    with pytest.raises(au.AttentionError) as err:
        au.syntax_heads(lm, [])
    assert str(err.value) == "syntax_heads() needs at least one sentence; try au.load_treebank('en_ewt')"
    sentences = au.load_treebank("en_ewt")[:3]
    syntax = __import__("sys").modules["attn_utils.syntax"]
    real = syntax.token_spans_batch
    monkeypatch.setattr(syntax, "token_spans_batch", lambda lm, texts: [s[:-1] if i == 2 else s
                                                                  for i, s in enumerate(real(lm, texts))])
    with pytest.raises(au.AttentionError) as err:
        au.syntax_heads(lm, sentences, progress=False)
    n = len(real(lm, [sentences[2].text])[0])
    assert str(err.value) == f"sentence 2: {n} tokens in the batch but {n - 1} with offsets"
