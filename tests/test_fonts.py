"""Japanese labels are drawn in a Japanese font automatically, without touching rcParams."""
import warnings

import matplotlib
import numpy as np
import pytest

import attn_utils as au
from attn_utils.widgets import toy_figure
from attn_utils import plot as au_plot

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

TOKENS = ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"]


@pytest.fixture(scope="module")
def ja_att():
    """A hand-built Attention with Japanese tokens (no model, no tokenizer)."""
    rng = np.random.default_rng(0)
    w = rng.random((2, 3, len(TOKENS), len(TOKENS))).astype(np.float32)
    return au.Attention(TOKENS, w / w.sum(-1, keepdims=True), text="犬が猫を追う", caption="手作り")


PLOTS = {
    "heatmap": lambda att: au.plot_heatmap(att, layer=0, head=1),
    "query_heads": lambda att: au.plot_query_heads(att, "猫", layer=1),
    "lines": lambda att: au.plot_lines(att, layer=0, head=0, query="追う"),
    "heads_lines": lambda att: au.plot_heads(att, layer=1),
    "heads_heatmap": lambda att: au.plot_heads(att, layer=1, kind="heatmap"),
    "grid": lambda att: au.plot_grid(att.pair("犬", "猫"), title="犬 → 猫"),
    # the two figures of notebook 01 whose own labels are Japanese
    "shapes": lambda att: au.plot_shapes(),
    "toy": lambda att: toy_figure(),
}


@pytest.mark.parametrize("name", PLOTS)
def test_japanese_labels_draw_without_missing_glyphs(ja_att, name):
    # the user's global font knows no Japanese, and use_japanese_font() is never called
    with matplotlib.rc_context({"font.family": ["DejaVu Sans"]}):
        before = dict(matplotlib.rcParams)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            fig = PLOTS[name](ja_att)
            for ax in fig.axes:  # tick labels made anew after the function returned keep the font
                ax.xaxis.reset_ticks()
                ax.yaxis.reset_ticks()
            fig.canvas.draw()
        glyphs = [str(w.message) for w in caught if "missing from font" in str(w.message)]
        assert not glyphs, glyphs[:3]
        assert dict(matplotlib.rcParams) == before  # nothing global changed
        drawn = [t for t in fig.findobj(matplotlib.text.Text) if au_plot.has_japanese(t.get_text())]
        assert drawn and all("ipaexg" in matplotlib.font_manager.findfont(t.get_fontproperties())
                             or au_plot.JAPANESE_FONT in t.get_fontfamily() for t in drawn)
        plt.close(fig)


def test_latin_only_plots_are_left_alone(ja_att):
    latin = au.Attention(["[CLS]", "dog", "[SEP]"], np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32))
    fig = au.plot_heatmap(latin)
    assert not any(au_plot.JAPANESE_FONT in t.get_fontfamily() for t in fig.findobj(matplotlib.text.Text))
    plt.close(fig)


def test_style_table_names_japanese_fonts(ja_att):
    html = au.style_table(ja_att.frame(0, 0), caption=ja_att.caption).to_html()
    assert "IPAexGothic" in html and "font-family" in html
    latin = au.Attention(["[CLS]", "dog", "[SEP]"], np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32))
    assert "IPAexGothic" not in au.style_table(latin.frame()).to_html()


def test_missing_font_package_warns_once_with_the_pip_command(ja_att, monkeypatch):
    monkeypatch.setattr(au_plot, "_japanese_font_file", lambda: None)
    monkeypatch.setattr(au_plot, "_warned_no_font", False)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        for _ in range(3):
            plt.close(au.plot_heatmap(ja_att, layer=0, head=0))
    ours = [w for w in caught if "matplotlib-fontja" in str(w.message)]
    assert len(ours) == 1 and ours[0].category is UserWarning
    assert "pip install matplotlib-fontja" in str(ours[0].message)


def test_japanese_only_in_a_tick_formatter_still_gets_the_font_on_ticks_made_later():
    """Labels a formatter holds are drawn only later, and ticks made after the call (major and minor)
    still take the font from the axes' tick settings."""
    from matplotlib.ticker import FixedFormatter, FixedLocator

    if au_plot._japanese_font_file() is None:
        pytest.skip("needs matplotlib-fontja")
    fig, ax = plt.subplots()
    ax.xaxis.set_major_locator(FixedLocator([0, 1]))
    ax.xaxis.set_major_formatter(FixedFormatter(["犬", "猫"]))  # no Text holds these yet
    au_plot.japanese_labels(fig)
    ax.set_yticks([0.25, 0.75], ["a", "b"])  # made after the call
    ax.set_yticks([0.5], ["c"], minor=True)
    fig.canvas.draw()
    for labels in (ax.get_xticklabels(), ax.get_yticklabels(), ax.get_yticklabels(minor=True)):
        assert labels and all("IPAexGothic" in t.get_fontfamily() for t in labels)
    plt.close(fig)
