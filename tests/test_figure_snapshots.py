"""Every figure the package draws, compared with a reviewed snapshot of what it shows (tests/figure_spec.py).

The contract tests (test_plot_contracts.py, test_planted_bugs.py) check what a
figure means: rows are queries, the largest cell is outlined, opacity is the
weight. These check everything else a reader sees (sizes, colours, fonts,
positions, captions), so an unintended change to a figure fails here. After a
deliberate change: ``UPDATE_SNAPSHOTS=1 pytest tests/test_figure_snapshots.py``,
look at the figures (``make figures``), and commit the JSON with the change.
"""
import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import attn_utils as au
from attn_utils.treebank import Sentence
from attn_utils.widgets import toy_figure
from figure_spec import check

matplotlib.use("Agg")

TOKENS = ["[CLS]", "the", "dog", "chased", "the", "cat", "[SEP]"]
JA_TOKENS = ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"]


def weights(n, layers=2, heads=3, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.random((layers, heads, n, n)) ** 3  # uneven rows, not symmetric
    return (w / w.sum(-1, keepdims=True)).astype(np.float32)


@pytest.fixture
def att():
    return au.Attention(TOKENS, weights(len(TOKENS)), caption="toy weights (seeded)")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


def sentence():
    words = ["The", "dog", "chased", "the", "cat", "."]
    return Sentence(words=words, heads=[2, 3, 0, 5, 3, 3], relations=["det", "nsubj", "root", "det", "obj", "punct"],
                    text="The dog chased the cat.", spans=[(0, 3), (4, 7), (8, 14), (15, 18), (19, 22), (22, 23)],
                    sent_id="toy-1")


CASES = {
    "heatmap": lambda a: au.plot_heatmap(a, layer=1, head=2),
    "heatmap_no_numbers_titled": lambda a: au.plot_heatmap(a, 0, 0, annotate=False, title="chosen", figsize=(4, 3),
                                                           colorbar_label="weight"),
    "heatmap_japanese": lambda a: au.plot_heatmap(au.Attention(JA_TOKENS, weights(7, seed=1), caption="e5 (toy)")),
    "query_heads": lambda a: au.plot_query_heads(a, "chased", layer=0),
    "grid": lambda a: au.plot_grid(pd.DataFrame(a.weights[:, :, 3, 2]), title="chased → dog"),
    "grid_array_vmax_no_mark": lambda a: au.plot_grid(a.weights[:, :, 0, 0], vmax=0.5, annotate=False,
                                                      mark_max=False, colorbar_label="share"),
    "lines": lambda a: au.plot_lines(a, layer=0, head=1),
    "lines_query": lambda a: au.plot_lines(a, query="dog", color="tab:red"),
    "heads_lines": lambda a: au.plot_heads(a, layer=0, query="chased", ncols=2),
    "heads_heatmap": lambda a: au.plot_heads(a, kind="heatmap"),
    "shapes": lambda a: au.plot_shapes(),
    "shapes_three_heads": lambda a: au.plot_shapes(seq_len=3, d_model=6, heads=3),
    "tree": lambda a: au.plot_tree(sentence()),
    "tree_predicted": lambda a: au.plot_tree(sentence(), predicted=[2, 3, 0, 2, 3, 7], title="layer 1, head 2",
                                             label="guess"),
    "toy": lambda a: toy_figure(),
    "toy_negative_scores": lambda a: toy_figure(q=(-1.0, 0.5), k1=(1.0, 0.2), k2=(-0.5, -1.0), sqrt_d=0.5),
}


@pytest.mark.parametrize("name", list(CASES))
def test_figure_matches_its_snapshot(name, att):
    check(name, CASES[name](att))


def test_a_changed_figure_fails_with_the_place_it_changed(att, monkeypatch):
    monkeypatch.delenv("UPDATE_SNAPSHOTS", raising=False)
    fig = au.plot_heatmap(att, layer=1, head=2)
    fig.axes[0].texts[0].set_fontsize(9)
    with pytest.raises(AssertionError, match=r"'heatmap' differs from its snapshot at \.axes\[0\]\.texts\[0\]\.size"):
        check("heatmap", fig)
