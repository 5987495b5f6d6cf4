"""plot_tree's geometry from its inputs: limits from the longest gold and predicted arcs, which guesses are
drawn, sizes that hold under a user's own style, and the caller's Axes. (The snapshot tests fix one tree;
these vary the tree so that each rule shows.)"""
import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

import attn_utils as au  # noqa: E402
from attn_utils.treebank import Sentence  # noqa: E402


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def sentence(heads):
    words = [chr(ord("A") + i) for i in range(len(heads))]
    text = " ".join(words)
    return Sentence(words, heads, ["dep" if h else "root" for h in heads], text,
                    [(2 * i, 2 * i + 1) for i in range(len(words))])


def _below(ax):
    return [p for p in ax.patches if p._path_original.vertices[0][1] < 0]


GOLD = [2, 0, 2, 3]  # every gold arc spans one word: top = 1


@pytest.mark.parametrize("predicted, low", [
    ([1, 1, 1, 1], 3),   # the longest guess points at the first word
    ([4, 4, 4, 4], 3),   # ... at the last word
    ([2, 1, 2, 3], 1),   # every guess spans one word
    ([0, 5, 0, -1], 1),  # nothing drawable: root, beyond the sentence, negative
])
def test_lower_limit_and_guesses_drawn_follow_the_longest_drawable_guess(predicted, low):
    ax = au.plot_tree(sentence(GOLD), predicted).axes[0]
    assert ax.get_ylim() == pytest.approx((-(0.45 + 0.25 * low), 0.55 + 0.25 * 1))
    assert len(_below(ax)) == sum(1 <= p <= 4 for p in predicted)
    label = [t for t in ax.texts if t.get_text() == "head's guess"]
    assert len(label) == 1 and label[0].get_position() == pytest.approx((-0.6, -0.3 - 0.25 * low))
    assert label[0].get_ha() == "left" and label[0].get_fontsize() == 8


def test_upper_limit_and_root_label_follow_the_longest_gold_arc():
    for heads, top in ((GOLD, 1), ([3, 3, 0, 1], 3)):  # word 4's head is word 1: three words away
        ax = au.plot_tree(sentence(heads)).axes[0]
        assert ax.get_ylim() == pytest.approx((-0.3, 0.55 + 0.25 * top))
        (root,) = [t for t in ax.texts if t.get_text() == "root"]
        assert root.get_position()[1] == pytest.approx(0.35 + 0.25 * top)
        assert not _below(ax) and len(ax.patches) == sum(1 for h in heads if h)


def test_sizes_hold_under_a_users_style_and_wide_sentences_get_wide_figures():
    with plt.rc_context({"font.size": 15, "patch.linewidth": 3.0, "axes.titlesize": 20}):
        fig = au.plot_tree(sentence([0] + [1] * 9), [1] * 10, title="layer 0, head 1")
    ax = fig.axes[0]
    assert {t.get_fontsize() for t in ax.texts if len(t.get_text()) == 1} == {10}
    assert {p.get_linewidth() for p in ax.patches} == {1.0}
    assert ax.title.get_text() == "layer 0, head 1" and ax.title.get_fontsize() == 10
    assert fig.get_size_inches() == pytest.approx((8.0, 4.2))  # 0.8 inch per word beyond 7 words


def test_the_tree_is_drawn_into_the_callers_axes():
    fig, (left, right) = plt.subplots(1, 2)
    assert au.plot_tree(sentence(GOLD), ax=right) is fig
    assert not left.texts and [t.get_text() for t in right.texts][:4] == ["A", "B", "C", "D"]
