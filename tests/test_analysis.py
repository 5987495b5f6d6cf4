"""analysis: entropy, rollout, per-head metrics and corpus statistics, against hand-made matrices."""
import numpy as np
import pandas as pd
import pytest

import attn_utils as au
from attn_utils.analysis import is_punctuation

TOKENS = ["[CLS]", "the", "dog", "ran", ".", "[SEP]"]


def made(weights, tokens=TOKENS):
    return au.Attention(list(tokens), np.asarray(weights, dtype=np.float32))


def test_entropy_uniform_is_ln_n_and_one_hot_is_zero():
    n = len(TOKENS)
    uniform = np.full((1, 1, n, n), 1 / n)
    one_hot = np.tile(np.eye(n), (1, 1, 1, 1))
    e = au.entropy(made(np.concatenate([uniform, one_hot], axis=1)))
    assert e.shape == (1, 2)
    assert e[0, 0] == pytest.approx(np.log(n), abs=1e-6)
    assert e[0, 1] == pytest.approx(0.0, abs=1e-9)


def test_rollout_of_identity_layers_is_identity():
    n = len(TOKENS)
    eye = np.tile(np.eye(n), (3, 4, 1, 1))
    np.testing.assert_allclose(au.rollout(made(eye)), np.eye(n), atol=1e-12)


def test_rollout_by_hand_two_layers():
    rng = np.random.default_rng(0)
    w = rng.random((2, 3, 6, 6))
    w /= w.sum(-1, keepdims=True)
    eye = np.eye(6)
    a0 = 0.5 * w[0].mean(0) + 0.5 * eye
    a1 = 0.5 * w[1].mean(0) + 0.5 * eye
    np.testing.assert_allclose(au.rollout(made(w)), a1 @ a0, atol=1e-6)
    steps = au.rollout(made(w), all_layers=True)
    np.testing.assert_allclose(steps[0], a0, atol=1e-6)
    np.testing.assert_allclose(steps[1], a1 @ a0, atol=1e-6)


def test_rollout_rows_sum_to_one_and_diagonal_bound(minilm):
    att = au.extract(minilm, "The dog chased the cat")
    r = au.rollout(att)
    np.testing.assert_allclose(r.sum(-1), 1.0, atol=1e-6)
    assert (np.diag(r) >= 0.5 ** att.num_layers - 1e-9).all()
    with pytest.raises(au.AttentionError):
        au.rollout(att, residual=1.5)


def test_head_metrics_on_a_hand_matrix():
    # one head: every query puts all weight on the previous token ([CLS] on itself)
    n = len(TOKENS)
    prev = np.zeros((n, n))
    prev[0, 0] = 1
    for i in range(1, n):
        prev[i, i - 1] = 1
    m = au.head_metrics(made(prev[None, None]))
    row = m.loc[(0, 0)]
    assert row["prev"] == pytest.approx(1.0)
    assert row["next"] == pytest.approx(0.0)
    assert row["cls"] == pytest.approx(2 / n)  # [CLS] row and "the" row point at [CLS]
    assert row["sep"] == pytest.approx(0.0)
    assert row["punct"] == pytest.approx(1 / n)  # the [SEP] row points at "."
    assert row["entropy"] == pytest.approx(0.0)
    assert list(au.positional_heads(m)["looks_at"]) == ["previous"]


def test_punctuation_detection():
    assert all(is_punctuation(t) for t in [".", ",", "?", "##.", "。", "「", "..."])
    assert not any(is_punctuation(t) for t in ["dog", "[CLS]", "##s", "3", ""])


def test_head_stats_on_one_text_equals_head_metrics(minilm):
    text = "Well, the dog chased the cat; the cat ran."
    stats = au.head_stats(minilm, [text], progress=False)
    per_text = au.head_metrics(au.extract(minilm, text))
    assert list(stats.columns) == list(au.analysis.METRICS)
    assert stats.index.names == ["layer", "head"] and len(stats) == 6 * 12
    np.testing.assert_allclose(stats.to_numpy(), per_text.to_numpy(), atol=1e-5)


def test_head_stats_batched_equals_mean_of_per_text(minilm):
    texts = au.load_corpus()[:23]
    stats = au.head_stats(minilm, texts, batch_size=8, progress=False)
    per_text = sum(au.head_metrics(a) for a in au.extract(minilm, texts, progress=False)) / len(texts)
    np.testing.assert_allclose(stats.to_numpy(), per_text.to_numpy(), atol=1e-5)
    # batch size does not change the numbers
    np.testing.assert_allclose(au.head_stats(minilm, texts, batch_size=5, progress=False).to_numpy(),
                               stats.to_numpy(), atol=1e-5)


def test_corpus_is_shipped_and_varied():
    corpus = au.load_corpus()
    assert len(corpus) >= 200 and len(set(corpus)) == len(corpus)
    assert "The dog chased the cat." in corpus
    assert any(s.endswith("?") for s in corpus) and any("," in s for s in corpus)
    with pytest.raises(ValueError, match="en"):
        au.load_corpus("xx")


def test_word_level_rows_sum_to_one(minilm):
    att = au.extract(minilm, "The archaeologists uncovered an extraordinarily well-preserved mosaic.")
    words = att.to_words()
    assert len(words) < len(att)
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    assert "archaeologists" in words.tokens


PEAK_SCRIPT = """
import resource, sys
import attn_utils as au
lm = au.load_model("all-MiniLM-L6-v2")
corpus = au.load_corpus()
n = int(sys.argv[1])
au.head_stats(lm, (corpus * (n // len(corpus) + 1))[:n], batch_size=32, progress=False)
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""


@pytest.mark.slow
def test_head_stats_memory_is_flat_in_the_number_of_texts():
    """Peak memory for 2,000 sentences stays within 10% of that for 500 (keeping every
    Attention would add ~100 MB here)."""
    import os
    import subprocess
    import sys

    def peak_kb(n):
        out = subprocess.run([sys.executable, "-c", PEAK_SCRIPT, str(n)], capture_output=True, text=True,
                             env={**os.environ, "HF_HUB_OFFLINE": "1"}, check=True)
        return int(out.stdout.split()[-1])

    small, large = peak_kb(500), peak_kb(2000)
    assert large <= 1.10 * small, (small, large)


def test_strongest_head():
    table = pd.DataFrame([[0.1, 0.2], [0.9, 0.3]], index=pd.RangeIndex(2, name="layer"),
                         columns=pd.RangeIndex(2, name="head"))
    assert au.strongest_head(table) == (1, 0, pytest.approx(0.9))
