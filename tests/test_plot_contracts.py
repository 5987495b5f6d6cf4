"""The static figures' documented details: axes given or made, labels, colour scale, numbers, titles."""
import re
import sys

import matplotlib
import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
import pytest

import attn_utils as au
from attn_utils.plot import PALETTE

matplotlib.use("Agg")


def lopsided(tokens=("[CLS]", "the", "dog", "ran", ".", "[SEP]"), layers=2, heads=4, seed=0, caption=""):
    rng = np.random.default_rng(seed)
    w = au.softmax(rng.normal(scale=2.0, size=(layers, heads, len(tokens), len(tokens))))
    return au.Attention(list(tokens), w, caption=caption)


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def cell_texts(ax):
    return {(round(t.get_position()[1]), round(t.get_position()[0])): t for t in ax.texts}


def test_heatmap_numbers_colour_scale_labels_and_title():
    att = lopsided(caption="tiny model")
    fig = au.plot_heatmap(att, 1, 2)
    ax = fig.axes[0]
    im = ax.images[0]
    assert im.get_clim() == (0.0, 1.0) and im.get_cmap().name == "Blues"
    frame = att.frame(1, 2)
    texts = cell_texts(ax)
    assert len(texts) == len(att) ** 2  # short texts are annotated by default
    for (i, j), t in texts.items():
        assert t.get_text() == f"{frame.iloc[i, j]:.2f}"
        dark = frame.iloc[i, j] > 0.55
        assert matplotlib.colors.same_color(t.get_color(), "white" if dark else "black")
    assert ax.get_xlabel() == "key (who is looked at)" and ax.get_ylabel() == "query (who is looking)"
    assert ax.get_title() == "layer 1, head 2\ntiny model"
    assert fig.axes[1].get_ylabel() == "attention weight"  # the colour bar says what it measures
    assert au.plot_heatmap(att, -1, -1, title="mine").axes[0].get_title() == "mine"
    assert lopsided().caption == "" and au.plot_heatmap(lopsided(), 0, 0).axes[0].get_title() == "layer 0, head 0"


def test_heatmap_annotation_default_depends_on_length_and_can_be_forced():
    long_att = lopsided(tokens=[f"t{i}" for i in range(13)])
    assert not au.plot_heatmap(long_att).axes[0].texts
    assert len(au.plot_heatmap(long_att, annotate=True).axes[0].texts) == 13 * 13
    assert not au.plot_heatmap(lopsided(), annotate=False).axes[0].texts
    twelve = lopsided(tokens=[f"t{i}" for i in range(12)])
    assert len(au.plot_heatmap(twelve).axes[0].texts) == 144


def test_figures_draw_into_a_given_axes_and_return_its_figure():
    att = lopsided()
    fig, (a, b, c) = plt.subplots(1, 3)
    assert au.plot_heatmap(att, ax=a) is fig and a.images
    assert au.plot_query_heads(att, "dog", ax=b) is fig and b.images
    assert au.plot_grid(att.pair("dog", "the"), ax=c) is fig and c.images
    fig2, d = plt.subplots()
    assert au.plot_lines(att, ax=d) is fig2 and d.lines


def test_own_figures_use_the_figsize_asked_for():
    att = lopsided()
    assert tuple(au.plot_heatmap(att, figsize=(3, 2)).get_size_inches()) == (3, 2)
    assert tuple(au.plot_query_heads(att, 1, figsize=(4, 3)).get_size_inches()) == (4, 3)
    assert tuple(au.plot_grid(np.ones((2, 3)), figsize=(5, 2)).get_size_inches()) == (5, 2)
    assert tuple(au.plot_lines(att, figsize=(2, 6)).get_size_inches()) == (2, 6)
    # defaults grow with the number of tokens / heads
    small, big = lopsided(), lopsided(tokens=[f"t{i}" for i in range(20)])
    assert au.plot_lines(big).get_size_inches()[1] > au.plot_lines(small).get_size_inches()[1]
    assert au.plot_query_heads(big, 3).get_size_inches()[0] > au.plot_query_heads(small, 3).get_size_inches()[0]
    many = lopsided(heads=12)
    assert au.plot_query_heads(many, 3).get_size_inches()[1] > au.plot_query_heads(small, 3).get_size_inches()[1]


def test_query_heads_title_and_labels():
    att = lopsided(caption="cap")
    ax = au.plot_query_heads(att, "dog", layer=-1).axes[0]
    assert ax.get_title() == "query 'dog', layer 1, all heads\ncap"
    assert ax.get_xlabel() == "key"
    assert ax.images[0].get_clim() == (0.0, 1.0)
    assert len(ax.texts) == att.num_heads * len(att)
    assert not au.plot_query_heads(att, "dog", annotate=False).axes[0].texts
    assert au.plot_query_heads(lopsided(), 2, layer=0).axes[0].get_title() == "query 'dog', layer 0, all heads"


def test_grid_scale_labels_outline_and_numbers():
    table = np.array([[0.1, 0.7, 0.2], [0.3, 0.05, 0.4]])
    ax = au.plot_grid(table, title="t", vmax=2.0, colorbar_label="share").axes[0]
    assert ax.images[0].get_clim() == (0.0, 2.0)
    assert ax.get_title() == "t" and ax.get_xlabel() == "head" and ax.get_ylabel() == "layer"
    assert [t.get_rotation() for t in ax.get_xticklabels()] == [0.0] * 3
    assert ax.figure.axes[1].get_ylabel() == "share"
    (box,) = ax.patches
    assert box.get_xy() == (0.5, -0.5) and box.get_width() == box.get_height() == 1
    assert matplotlib.colors.same_color(box.get_edgecolor(), "crimson") and not box.get_fill()
    texts = cell_texts(ax)
    assert texts[(0, 1)].get_text() == "0.70"
    auto = au.plot_grid(table).axes[0]
    assert auto.images[0].get_clim()[1] == pytest.approx(0.7)  # no vmax: the colour scale ends at the maximum
    assert matplotlib.colors.same_color(cell_texts(auto)[(0, 1)].get_color(), "white")  # dark cell, white text
    assert matplotlib.colors.same_color(cell_texts(auto)[(0, 0)].get_color(), "black")
    assert not au.plot_grid(table, mark_max=False).axes[0].patches
    assert not au.plot_grid(table, annotate=False).axes[0].texts


def test_line_view_highlights_the_query_row_and_dims_the_rest():
    att = lopsided(caption="cap")
    q = 2
    ax = au.plot_lines(att, layer=0, head=1, query="dog", color="tab:green").axes[0]
    assert ax.get_title() == "layer 0, head 1, query 'dog'\ncap"
    w = att.weights[0, 1]
    mine = [l for l in ax.lines if l.get_gid() == "query"]
    other = [l for l in ax.lines if l.get_gid() == "other"]
    assert len(mine) == len(att) and len(other) == len(att) * (len(att) - 1)
    assert all(matplotlib.colors.same_color(l.get_color(), "tab:green") and l.get_linewidth() == 2.2 for l in mine)
    assert all(matplotlib.colors.same_color(l.get_color(), "0.5") and l.get_linewidth() == 1.0 for l in other)
    np.testing.assert_allclose(sorted(l.get_alpha() for l in other),
                               sorted(0.12 * w[np.arange(len(att)) != q].ravel()), atol=1e-7)
    left = [t for t in ax.texts if t.get_position()[0] < 0.5]
    right = [t for t in ax.texts if t.get_position()[0] > 0.5]
    assert [t.get_text() for t in left] == [t.get_text() for t in right] == att.labels
    assert all(t.get_horizontalalignment() == "right" for t in left)
    assert all(t.get_horizontalalignment() == "left" for t in right)
    assert matplotlib.colors.same_color(left[q].get_color(), "crimson")
    assert left[q].get_fontsize() > left[0].get_fontsize()
    assert all(matplotlib.colors.same_color(t.get_color(), "0.6") for i, t in enumerate(left) if i != q)
    assert all(matplotlib.colors.same_color(t.get_color(), "black") for t in right)
    assert not ax.axison
    plain = au.plot_lines(att, layer=0, head=1).axes[0]
    assert all(l.get_gid() == "other" and l.get_linewidth() == 2.2 for l in plain.lines)
    assert all(matplotlib.colors.same_color(t.get_color(), "black") for t in plain.texts)
    assert plain.get_title() == "layer 0, head 1\ncap"
    # every token fits inside the axes
    ys = [t.get_position()[1] for t in plain.texts]
    lo, hi = plain.get_ylim()
    assert lo < min(ys) and max(ys) < hi


def test_head_grid_layout_colours_and_titles():
    att = lopsided(heads=5, caption="cap")
    fig = au.plot_heads(att, layer=-1, ncols=2)
    titled = [a for a in fig.axes if a.get_title()]
    assert [a.get_title() for a in titled] == [f"head {h}" for h in range(5)]
    assert len(fig.axes) == 6 and not fig.axes[5].axison  # 3 rows x 2, the spare one blank
    for h, a in enumerate(titled):
        assert all(matplotlib.colors.same_color(l.get_color(), PALETTE[h]) for l in a.lines)
    assert fig._suptitle.get_text() == "layer 1, all heads \u2014 cap"
    q = au.plot_heads(att, layer=0, query="dog")
    assert sum(l.get_gid() == "query" for l in q.axes[0].lines) == len(att)
    assert q._suptitle.get_text().startswith("layer 0, all heads")
    hm = au.plot_heads(lopsided(), kind="heatmap")
    assert all(a.images[0].get_clim() == (0, 1) for a in hm.axes if a.images)
    with pytest.raises(ValueError, match="'lines' or 'heatmap'"):
        au.plot_heads(att, kind="bars")


def test_style_table_colours_rounds_and_captions():
    att = lopsided()
    styled = au.style_table(att.frame(0, 0), caption="my caption", digits=3)
    html = styled.to_html()
    assert "my caption" in html
    first = f"{att.weights[0, 0, 0, 0]:.3f}"
    assert first in html and f"{att.weights[0, 0, 0, 0]:.4f}" not in html
    assert "background-color" in html
    plain = au.style_table(att.frame(0, 0)).to_html()
    assert "<caption>" not in plain and f"{att.weights[0, 0, 0, 0]:.2f}" in plain


def test_style_table_shows_angle_bracket_tokens_as_text():
    frame = pd.DataFrame([[0.5, 0.5], [0.25, 0.75]], index=["<s>", "犬"], columns=["<s>", "</s>"])
    html = au.style_table(frame, caption="e5 <s> & </s>").to_html()
    assert "&lt;s&gt;" in html and "&lt;/s&gt;" in html          # labels read as text
    assert ">&lt;s&gt;</th>" in html                              # the header cell, not a strike-through tag
    assert not re.search(r"<th[^>]*><s></th>", html) and "></s></th>" not in html
    assert "e5 &lt;s&gt; &amp; &lt;/s&gt;" in html


def test_japanese_font_is_named_or_the_pip_command_given(monkeypatch):
    with matplotlib.rc_context():  # use_japanese_font changes rcParams globally: keep other tests' defaults
        name = au.use_japanese_font()
        assert name == matplotlib.rcParams["font.family"][0] and "Gothic" in name
    with matplotlib.rc_context():  # a second call, after the settings were reset, sets the font again
        matplotlib.rcdefaults()
        assert au.use_japanese_font() == name == matplotlib.rcParams["font.family"][0]
    monkeypatch.setitem(sys.modules, "matplotlib_fontja", None)  # import fails
    with pytest.raises(ImportError, match="pip install matplotlib-fontja"):
        au.use_japanese_font()
