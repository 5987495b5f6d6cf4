"""An interactive toy for notebook 01: one query, two keys, and the temperature sqrt(d).

Sliders move the query ``q`` and the keys ``k1``, ``k2`` in the plane and the
divisor ``sqrt(d)``; the scores ``q·k / sqrt(d)`` and their softmax update live.

Where widgets cannot run (GitHub's preview, nbval, ``nbconvert --execute``, a
plain Python shell) the same picture is drawn once as a static matplotlib
figure, so committed notebooks never store widget state. The choice is made
by :func:`interactive_frontend`: Colab, or a kernel started by a Jupyter
server (JupyterLab / Notebook, which set ``JPY_SESSION_NAME``), with
``ipywidgets`` installed.
"""
from __future__ import annotations

import os
import sys
from typing import Any, Sequence

import numpy as np

from .plot import japanese_labels

__all__ = ["attention_toy", "toy_values", "toy_figure", "interactive_frontend"]

_COLORS = {"q": "crimson", "k1": "tab:blue", "k2": "tab:orange"}


def interactive_frontend() -> bool:
    """True when widgets can be shown live: ipywidgets is installed and a frontend is attached
    (Colab, or a kernel that a Jupyter server started). False in nbval / nbconvert / plain Python."""
    try:
        import ipywidgets  # noqa: F401
    except ImportError:
        return False
    return "google.colab" in sys.modules or bool(os.environ.get("JPY_SESSION_NAME"))


def toy_values(q: Sequence[float], k1: Sequence[float], k2: Sequence[float], sqrt_d: float) -> dict[str, np.ndarray]:
    """Scores and weights of one query over two keys.

    Args:
        q, k1, k2: 2-d vectors.
        sqrt_d: the divisor (the "temperature"); must be > 0.

    Returns:
        ``{"dots": [2], "scores": [2], "weights": [2]}``: ``q·k``, ``q·k / sqrt_d`` and their softmax.
    """
    if not sqrt_d > 0:
        raise ValueError(f"sqrt_d must be a positive number, got {sqrt_d!r}")
    keys = np.array([k1, k2], dtype=float)  # (key, 2)
    dots = keys @ np.asarray(q, dtype=float)  # (key,)
    scores = dots / sqrt_d
    e = np.exp(scores - scores.max())
    return {"dots": dots, "scores": scores, "weights": e / e.sum()}


def _draw(fig: Any, q: Sequence[float], k1: Sequence[float], k2: Sequence[float], sqrt_d: float) -> None:
    """Draw the two panels (vectors in the plane, scores and weights) into ``fig``."""
    values = toy_values(q, k1, k2, sqrt_d)
    fig.clear()
    ax_vec, ax_bar = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1.3]})
    for name, vec in (("q", q), ("k1", k1), ("k2", k2)):
        ax_vec.annotate("", xy=vec, xytext=(0, 0),
                        arrowprops={"arrowstyle": "-|>", "color": _COLORS[name], "lw": 2.2})
        ax_vec.text(vec[0] * 1.08, vec[1] * 1.08 + 0.05, name, color=_COLORS[name], fontsize=11, weight="bold")
    ax_vec.axhline(0, color="0.85", lw=0.8, zorder=0)
    ax_vec.axvline(0, color="0.85", lw=0.8, zorder=0)
    ax_vec.set(xlim=(-2.2, 2.2), ylim=(-2.2, 2.2), aspect="equal", title="query と key (平面のベクトル)")
    x = np.arange(2)
    ax_bar.bar(x - 0.2, values["scores"], width=0.4, color="0.7", label="スコア (score) q·k / √d")
    ax_bar.bar(x + 0.2, values["weights"], width=0.4, color=[_COLORS["k1"], _COLORS["k2"]], label="softmax の重み (weight)")
    for i in range(2):
        ax_bar.text(i - 0.2, values["scores"][i], f"{values['scores'][i]:.2f}", ha="center",
                    va="bottom" if values["scores"][i] >= 0 else "top", fontsize=9)
        ax_bar.text(i + 0.2, values["weights"][i], f"{values['weights'][i]:.2f}", ha="center", va="bottom", fontsize=9)
    ax_bar.axhline(0, color="black", lw=0.8)
    ax_bar.set_xticks(x, ["key k1", "key k2"])
    top = max(1.1, float(np.abs(values["scores"]).max()) * 1.25)
    ax_bar.set(ylim=(min(0.0, float(values["scores"].min()) * 1.25), top),
               title=f"√d = {sqrt_d:.2f}:  重み {values['weights'][0]:.2f} / {values['weights'][1]:.2f}")
    ax_bar.legend(fontsize=8, loc="upper right")
    japanese_labels(fig)


def toy_figure(q: Sequence[float] = (1.0, 0.5), k1: Sequence[float] = (1.0, 0.0), k2: Sequence[float] = (0.0, 1.0),
               sqrt_d: float = 1.0, *, figsize: tuple[float, float] = (9.0, 3.8)) -> Any:
    """The toy as a static figure: the vectors in the plane, and the scores and weights as bars."""
    import matplotlib.pyplot as plt

    fig = plt.figure(figsize=figsize, layout="constrained")
    _draw(fig, q, k1, k2, sqrt_d)
    return fig


def attention_toy(q: Sequence[float] = (1.0, 0.5), k1: Sequence[float] = (1.0, 0.0), k2: Sequence[float] = (0.0, 1.0),
                  sqrt_d: float = 1.0, *, interactive: bool | None = None) -> Any:
    """Sliders for ``q``, ``k1``, ``k2`` and ``sqrt(d)``, with the scores and softmax updating live.

    Args:
        q, k1, k2: starting 2-d vectors.
        sqrt_d: starting divisor.
        interactive: True for sliders, False for one static figure, None to decide with
            :func:`interactive_frontend` (static in nbval, nbconvert and on GitHub).

    Returns:
        the ``ipywidgets.VBox`` (interactive) or the matplotlib Figure (static); either has
        already been displayed, so a notebook cell reads ``toy = au.attention_toy()``.
    """
    toy_values(q, k1, k2, sqrt_d)  # validate before building anything
    if interactive is None:
        interactive = interactive_frontend()
    if not interactive:
        import matplotlib.pyplot as plt

        fig = toy_figure(q, k1, k2, sqrt_d)
        plt.show()
        return fig

    import ipywidgets as widgets
    import matplotlib.pyplot as plt
    from IPython.display import display

    def slider(name: str, value: float, lo: float = -2.0, hi: float = 2.0, step: float = 0.05) -> Any:
        return widgets.FloatSlider(value=float(value), min=lo, max=hi, step=step, description=name,
                                   continuous_update=True, readout_format=".2f",
                                   layout=widgets.Layout(width="260px"))

    sliders = {
        "q[0]": slider("q[0]", q[0]), "q[1]": slider("q[1]", q[1]),
        "k1[0]": slider("k1[0]", k1[0]), "k1[1]": slider("k1[1]", k1[1]),
        "k2[0]": slider("k2[0]", k2[0]), "k2[1]": slider("k2[1]", k2[1]),
        "√d": slider("√d", sqrt_d, 0.1, 8.0, 0.1),
    }
    out = widgets.Output()
    with plt.ioff():
        fig = plt.figure(figsize=(9.0, 3.8), layout="constrained")

    def redraw(_: Any = None) -> None:
        s = {k: w.value for k, w in sliders.items()}
        _draw(fig, (s["q[0]"], s["q[1]"]), (s["k1[0]"], s["k1[1]"]), (s["k2[0]"], s["k2[1]"]), s["√d"])
        with out:
            out.clear_output(wait=True)
            display(fig)

    for w in sliders.values():
        w.observe(redraw, names="value")
    redraw()
    rows = [widgets.HBox([sliders["q[0]"], sliders["q[1]"]]), widgets.HBox([sliders["k1[0]"], sliders["k1[1]"]]),
            widgets.HBox([sliders["k2[0]"], sliders["k2[1]"]]), sliders["√d"], out]
    box = widgets.VBox(rows)
    box.sliders, box.figure = sliders, fig  # for tests and for learners who want to read the values
    display(box)
    return box
