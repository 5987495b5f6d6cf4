"""Notebook 01's extras: the shape figure (one square per number) and the attention toy
(live sliders where a frontend exists, a static figure everywhere else, never stored widget state)."""
import os
import sys
import types

import matplotlib
import numpy as np
import pytest

matplotlib.use("Agg")

import matplotlib.patches as patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402

import attn_utils as au  # noqa: E402
from attn_utils import widgets  # noqa: E402
from attn_utils.plot import attention_shapes  # noqa: E402


@pytest.mark.parametrize("T,D,h", [(5, 8, 2), (7, 12, 3), (4, 6, 1)])
def test_shapes_follow_one_attention_layer(T, D, h):
    shapes = [s for _, _, s in attention_shapes(T, D, h)]
    x, qkv, split, scores, weights, per_head, concat, out = shapes
    assert x == qkv == concat == out == (T, D)
    assert split == per_head == (h, T, D // h)
    assert scores == weights == (h, T, T)
    assert split[0] * split[2] == D


def test_shapes_refuse_a_head_count_that_does_not_divide_d_model():
    with pytest.raises(ValueError, match=r"valid head counts: \[1, 2, 4, 8\]"):
        attention_shapes(5, 8, 3)
    with pytest.raises(ValueError, match="positive integer"):
        attention_shapes(0, 8, 2)


@pytest.mark.parametrize("T,D,h", [(5, 8, 2), (6, 12, 3)])
def test_shape_figure_draws_one_square_per_number_and_labels_every_shape(T, D, h):
    fig = au.plot_shapes(T, D, h)
    squares = [p for p in fig.axes[0].patches if isinstance(p, patches.Rectangle) and p.get_fill()]
    stages = attention_shapes(T, D, h)
    per_stage = [int(np.prod(s)) for _, _, s in stages]
    per_stage[1] *= 3  # Q, K and V
    per_stage[2] *= 3
    assert len(squares) == sum(per_stage)
    texts = " ".join(t.get_text() for t in fig.axes[0].texts)
    for _, symbol, shape in stages:
        assert symbol in texts and f"= {shape}" in texts
    plt.close(fig)


def test_toy_weights_are_a_softmax_that_flattens_as_sqrt_d_grows():
    q, k1, k2 = (1.0, 0.5), (1.0, 0.0), (0.0, 1.0)
    gaps = []
    for sqrt_d in (0.25, 0.5, 1.0, 2.0, 8.0):
        v = widgets.toy_values(q, k1, k2, sqrt_d)
        assert np.isclose(v["weights"].sum(), 1.0) and (v["weights"] > 0).all()
        assert np.allclose(v["scores"], v["dots"] / sqrt_d)
        gaps.append(abs(v["weights"][0] - v["weights"][1]))
    assert all(a > b for a, b in zip(gaps, gaps[1:]))
    with pytest.raises(ValueError, match="positive"):
        widgets.toy_values(q, k1, k2, 0.0)


def test_toy_is_static_without_a_frontend(monkeypatch):
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert not widgets.interactive_frontend()
    fig = au.attention_toy()
    assert isinstance(fig, matplotlib.figure.Figure)
    assert "重み" in fig.axes[1].get_title()
    plt.close("all")


def test_toy_is_live_under_a_jupyter_server(monkeypatch):
    pytest.importorskip("ipywidgets", reason="ipywidgets is pinned in requirements.txt")
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/01_qkv_from_scratch.ipynb")
    assert widgets.interactive_frontend()
    box = au.attention_toy(sqrt_d=1.0)
    assert set(box.sliders) == {"q[0]", "q[1]", "k1[0]", "k1[1]", "k2[0]", "k2[1]", "√d"}
    box.sliders["√d"].value = 4.0
    v = widgets.toy_values((1.0, 0.5), (1.0, 0.0), (0.0, 1.0), 4.0)
    assert f"√d = 4.00:  重み {v['weights'][0]:.2f} / {v['weights'][1]:.2f}" == box.figure.axes[1].get_title()
    plt.close("all")


def test_a_headless_run_of_the_toy_stores_a_picture_not_widget_state():
    nbformat = pytest.importorskip("nbformat")
    nbclient = pytest.importorskip("nbclient")
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(
        "import matplotlib\nmatplotlib.use('module://matplotlib_inline.backend_inline')\n"
        "import attn_utils as au\ntoy = au.attention_toy()")])
    env = {k: v for k, v in os.environ.items() if k != "JPY_SESSION_NAME"}
    client = nbclient.NotebookClient(nb, timeout=120, kernel_name="python3")
    old = dict(os.environ)
    os.environ.clear()
    os.environ.update(env)
    try:
        client.execute()
    finally:
        os.environ.clear()
        os.environ.update(old)
    outputs = nb.cells[0].outputs
    assert any("image/png" in o.get("data", {}) for o in outputs), outputs
    assert not any("application/vnd.jupyter.widget-view+json" in o.get("data", {}) for o in outputs)


def test_toy_sliders_start_at_the_given_vectors_and_span_the_plane():
    pytest.importorskip("ipywidgets", reason="ipywidgets is pinned in requirements.txt")
    box = au.attention_toy(q=(0.5, -1.0), k1=(1.5, 0.25), k2=(-2.0, 2.0), sqrt_d=3.0, interactive=True)
    s = box.sliders
    assert {k: w.value for k, w in s.items()} == {"q[0]": 0.5, "q[1]": -1.0, "k1[0]": 1.5, "k1[1]": 0.25,
                                                  "k2[0]": -2.0, "k2[1]": 2.0, "√d": 3.0}
    for name, w in s.items():
        assert w.description == name and w.readout_format == ".2f" and w.continuous_update  # live while dragging
        assert w.layout.width == "260px"
        expected = (0.1, 8.0, 0.1) if name == "√d" else (-2.0, 2.0, 0.05)
        assert (w.min, w.max, w.step) == pytest.approx(expected)
    assert box.figure.axes[1].get_title().startswith("√d = 3.00:")


def test_static_toy_uses_the_given_sqrt_d_and_divides_by_one_by_default():
    fig = au.attention_toy(q=(0.5, -1.0), sqrt_d=2.0, interactive=False)
    assert fig.axes[1].get_title().startswith("√d = 2.00:")
    assert au.attention_toy(interactive=False).axes[1].get_title().startswith("√d = 1.00:")
    plt.close("all")


def test_frontend_is_detected_in_colab_or_under_a_jupyter_server(monkeypatch):
    pytest.importorskip("ipywidgets", reason="ipywidgets is pinned in requirements.txt")
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    assert widgets.interactive_frontend() is False
    monkeypatch.setitem(sys.modules, "google.colab", types.ModuleType("google.colab"))
    assert widgets.interactive_frontend() is True
    monkeypatch.delitem(sys.modules, "google.colab")
    monkeypatch.setenv("JPY_SESSION_NAME", "")
    assert widgets.interactive_frontend() is False  # set but empty: no server attached


def test_toy_softmax_stays_finite_for_huge_scores():
    v = widgets.toy_values((30.0, 30.0), (30.0, 30.0), (29.0, 30.0), 0.01)  # scores 180000 and 177000
    assert np.isfinite(v["weights"]).all() and v["weights"].tolist() == [1.0, 0.0]


def test_live_toy_shows_its_figure_then_the_sliders_and_redraws_only_on_a_new_value(monkeypatch, capsys):
    """Outside a kernel IPython's display() prints each object's repr: what would be shown, in order."""
    pytest.importorskip("ipywidgets", reason="ipywidgets is pinned in requirements.txt")
    box = au.attention_toy(interactive=True)
    shown = capsys.readouterr().out
    assert shown.index("Figure(900x380)") < shown.index("VBox(children=")  # the figure in the Output, then the box
    assert box.figure.get_size_inches() == pytest.approx((9.0, 3.8))
    assert isinstance(box.figure.get_layout_engine(), matplotlib.layout_engine.ConstrainedLayoutEngine)
    box.sliders["q[0]"].description = "q₀"  # not a value: no redraw
    assert "Figure" not in capsys.readouterr().out
    box.sliders["q[0]"].value = 0.3
    assert capsys.readouterr().out.count("Figure(900x380)") == 1
    plt.close("all")


def test_without_ipywidgets_there_is_no_live_frontend(monkeypatch):
    monkeypatch.setenv("JPY_SESSION_NAME", "notebooks/01_qkv_from_scratch.ipynb")
    monkeypatch.setitem(sys.modules, "ipywidgets", None)  # import fails as if not installed
    assert widgets.interactive_frontend() is False
