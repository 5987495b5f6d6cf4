"""Matplotlib figures of attention: heatmaps and layer x head grids.

Every function returns the Figure and accepts ``ax`` (draw into an existing
axes) and ``figsize``. Rows are queries, columns are keys; layers and heads
are 0-based, as in code, and labelled as such.
"""
from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from .extract import Attention

__all__ = ["plot_heatmap", "plot_query_heads", "plot_grid", "use_japanese_font"]

CMAP = "Blues"


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _annotate(ax: Any, values: np.ndarray, fmt: str = "{:.2f}") -> None:
    top = np.nanmax(values) if values.size else 1.0
    for (i, j), v in np.ndenumerate(values):
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                color="white" if v > 0.6 * top else "black")


def _matrix(ax: Any, values: np.ndarray, rows: list[str], cols: list[str], annotate: bool,
            vmax: float | None, colorbar_label: str) -> Any:
    im = ax.imshow(values, cmap=CMAP, vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), rows)
    if annotate:
        _annotate(ax, values)
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label=colorbar_label)
    return im


def plot_heatmap(att: Attention, layer: int = -1, head: int = 0, *, ax: Any = None,
                 figsize: tuple[float, float] = (6.0, 5.0), annotate: bool | None = None,
                 title: str | None = None) -> Any:
    """One head's attention as a heatmap: rows = query, columns = key."""
    layer, head = att.layer_index(layer), att.head_index(head)
    frame = att.frame(layer, head)
    fig, ax = _axes(ax, figsize)
    annotate = len(att) <= 12 if annotate is None else annotate
    _matrix(ax, frame.to_numpy(), list(frame.index), list(frame.columns), annotate, 1.0, "attention weight")
    ax.set_xlabel("key (who is looked at)")
    ax.set_ylabel("query (who is looking)")
    ax.set_title(title or f"layer {layer}, head {head}" + (f"\n{att.caption}" if att.caption else ""),
                 fontsize=10)
    return fig


def plot_query_heads(att: Attention, token: str | int, layer: int = -1, *, ax: Any = None,
                     figsize: tuple[float, float] | None = None, annotate: bool | None = None) -> Any:
    """Where one query token looks in every head of a layer: rows = heads, columns = keys."""
    layer = att.layer_index(layer)
    frame = att.query(token, layer)
    figsize = figsize or (max(5.0, 0.7 * len(att) + 2.5), 0.35 * att.num_heads + 1.8)
    fig, ax = _axes(ax, figsize)
    annotate = len(att) <= 12 if annotate is None else annotate
    _matrix(ax, frame.to_numpy(), [f"head {h}" for h in frame.index], list(frame.columns),
            annotate, 1.0, "attention weight")
    ax.set_xlabel("key")
    ax.set_title(f"query {frame.attrs['query']!r}, layer {layer}, all heads"
                 + (f"\n{att.caption}" if att.caption else ""), fontsize=10)
    return fig


def plot_grid(values: pd.DataFrame | np.ndarray, *, title: str = "", ax: Any = None,
              figsize: tuple[float, float] | None = None, annotate: bool = True,
              vmax: float | None = None, colorbar_label: str = "attention weight",
              mark_max: bool = True) -> Any:
    """A ``[layer, head]`` table as a grid; the largest cell is outlined.

    Args:
        values: DataFrame indexed by layer with heads as columns (e.g. ``att.pair(q, k)``)
            or an array ``[layer, head]``.
    """
    import matplotlib.patches as patches

    frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(np.asarray(values))
    arr = frame.to_numpy(dtype=float)
    figsize = figsize or (0.55 * arr.shape[1] + 2.5, 0.45 * arr.shape[0] + 1.6)
    fig, ax = _axes(ax, figsize)
    _matrix(ax, arr, [f"L{r}" for r in frame.index], [f"H{c}" for c in frame.columns],
            annotate, vmax, colorbar_label)
    ax.set_xticks(range(arr.shape[1]), [f"H{c}" for c in frame.columns], rotation=0, ha="center")
    ax.set_xlabel("head")
    ax.set_ylabel("layer")
    if mark_max and arr.size:
        i, j = np.unravel_index(np.nanargmax(arr), arr.shape)
        ax.add_patch(patches.Rectangle((j - 0.5, i - 0.5), 1, 1, fill=False, edgecolor="crimson", lw=2))
    ax.set_title(title, fontsize=10)
    return fig


def use_japanese_font() -> str:
    """Make matplotlib draw Japanese (IPAexGothic from ``matplotlib-fontja``) and return the font name.

    Raises:
        ImportError: with the pip command to run, when ``matplotlib-fontja`` is missing.
    """
    try:
        import matplotlib_fontja  # noqa: F401  (registers IPAexGothic and sets it as default)
    except ImportError:
        raise ImportError(
            "Japanese labels need the font package matplotlib-fontja: "
            "pip install matplotlib-fontja   (or: pip install 'attn-utils[ja]')"
        ) from None
    import matplotlib

    return matplotlib.rcParams["font.family"][0]
