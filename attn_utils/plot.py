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

__all__ = [
    "plot_heatmap", "plot_query_heads", "plot_grid", "plot_lines", "plot_heads", "plot_shapes", "style_table",
    "use_japanese_font",
]

CMAP = "Blues"
#: One colour per head (as in BertViz), dark enough to read as thin lines on white.
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
    "#637939", "#8c6d31", "#843c39", "#7b4173",
]


def _axes(ax: Any, figsize: tuple[float, float]) -> tuple[Any, Any]:
    import matplotlib.pyplot as plt

    if ax is not None:
        return ax.figure, ax
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    return fig, ax


def _annotate(ax: Any, values: np.ndarray, vmax: float | None, fmt: str = "{:.2f}") -> None:
    top = vmax if vmax is not None else (np.nanmax(values) if values.size else 1.0)
    for (i, j), v in np.ndenumerate(values):  # white text only where the cell is dark
        ax.text(j, i, fmt.format(v), ha="center", va="center", fontsize=8,
                color="white" if v > 0.55 * top else "black")


def _matrix(ax: Any, values: np.ndarray, rows: list[str], cols: list[str], annotate: bool,
            vmax: float | None, colorbar_label: str) -> Any:
    im = ax.imshow(values, cmap=CMAP, vmin=0.0, vmax=vmax, aspect="auto")
    ax.set_xticks(range(len(cols)), cols, rotation=60, ha="right", rotation_mode="anchor")
    ax.set_yticks(range(len(rows)), rows)
    if annotate:
        _annotate(ax, values, vmax)
    ax.figure.colorbar(im, ax=ax, shrink=0.8, label=colorbar_label)
    return im


def plot_heatmap(att: Attention, layer: int = -1, head: int = 0, *, ax: Any = None,
                 figsize: tuple[float, float] = (6.0, 5.0), annotate: bool | None = None,
                 title: str | None = None, colorbar_label: str = "attention weight") -> Any:
    """One head's attention as a heatmap: rows = query, columns = key."""
    layer, head = att.layer_index(layer), att.head_index(head)
    frame = att.frame(layer, head)
    fig, ax = _axes(ax, figsize)
    annotate = len(att) <= 12 if annotate is None else annotate
    _matrix(ax, frame.to_numpy(), list(frame.index), list(frame.columns), annotate, 1.0, colorbar_label)
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


def _draw_lines(ax: Any, att: Attention, layer: int, head: int, query: int | None, color: str,
                fontsize: float) -> None:
    """Two columns of tokens (query left, key right) joined by lines with opacity = weight."""
    n = len(att)
    y = np.arange(n)[::-1].astype(float)  # first token at the top
    w = att.weights[layer, head]
    for i, label in enumerate(att.labels):
        for x, ha in ((0.0, "right"), (1.0, "left")):
            is_q = x == 0.0 and query == i
            ax.text(x + (-0.04 if x == 0 else 0.04), y[i], label, ha=ha, va="center",
                    fontsize=fontsize + 1 if is_q else fontsize,
                    color="crimson" if is_q else ("0.6" if (query is not None and x == 0) else "black"))
    for q in range(n):
        for k in range(n):
            mine = query is None or q == query
            alpha = float(w[q, k]) if mine else float(w[q, k]) * 0.12
            (line,) = ax.plot([0, 1], [y[q], y[k]], color=color if mine else "0.5", alpha=alpha,
                              lw=2.2 if mine else 1.0, solid_capstyle="round")
            line.set_gid("query" if (query is not None and q == query) else "other")
    ax.set_xlim(-0.6, 1.6)
    ax.set_ylim(-0.7, n - 0.3)
    ax.axis("off")


def plot_lines(att: Attention, layer: int = -1, head: int = 0, query: str | int | None = None, *,
               ax: Any = None, figsize: tuple[float, float] | None = None, color: str = "tab:blue") -> Any:
    """A line view (as in BertViz) of one head: query tokens on the left, keys on the right.

    Each line's opacity is its weight; with ``query`` given, that token's row is
    drawn strongly and the rest faintly.
    """
    layer, head = att.layer_index(layer), att.head_index(head)
    q = None if query is None else att.position(query)
    figsize = figsize or (4.8, 0.32 * len(att) + 1.2)
    fig, ax = _axes(ax, figsize)
    _draw_lines(ax, att, layer, head, q, color, fontsize=10)
    who = f", query {att.labels[q]!r}" if q is not None else ""
    ax.set_title(f"layer {layer}, head {head}{who}" + (f"\n{att.caption}" if att.caption else ""), fontsize=10)
    return fig


def plot_heads(att: Attention, layer: int = -1, kind: str = "lines", query: str | int | None = None, *,
               figsize: tuple[float, float] | None = None, ncols: int = 6) -> Any:
    """Every head of one layer as a grid of small line views (``kind="lines"``) or heatmaps."""
    import matplotlib.pyplot as plt

    if kind not in ("lines", "heatmap"):
        raise ValueError(f"kind must be 'lines' or 'heatmap', got {kind!r}")
    layer = att.layer_index(layer)
    q = None if query is None else att.position(query)
    nrows = -(-att.num_heads // ncols)
    per = 0.22 * len(att) + 0.8
    figsize = figsize or (ncols * (3.0 if kind == "lines" else 2.2), nrows * per + 0.6)
    fig, axes = plt.subplots(nrows, ncols, figsize=figsize, layout="constrained", squeeze=False)
    colors = PALETTE
    for h, ax in enumerate(axes.flat):
        if h >= att.num_heads:
            ax.axis("off")
            continue
        if kind == "lines":
            _draw_lines(ax, att, layer, h, q, colors[h % len(colors)], fontsize=7)
        else:
            ax.imshow(att.weights[layer, h], cmap=CMAP, vmin=0, vmax=1)
            ax.set_xticks(range(len(att)), att.labels, rotation=90, fontsize=6)
            ax.set_yticks(range(len(att)), att.labels, fontsize=6)
        ax.set_title(f"head {h}", fontsize=9)
    fig.suptitle(f"layer {layer}, all heads" + (f" \u2014 {att.caption}" if att.caption else ""), fontsize=10)
    return fig


def attention_shapes(seq_len: int, d_model: int, heads: int) -> list[tuple[str, str, tuple[int, ...]]]:
    """The tensors of one multi-head attention layer, in order: ``(name, symbolic shape, shape)``.

    Raises:
        ValueError: when ``heads`` does not divide ``d_model`` (the message lists the valid head counts).
    """
    for name, v in (("seq_len", seq_len), ("d_model", d_model), ("heads", heads)):
        if not isinstance(v, (int, np.integer)) or isinstance(v, bool) or v < 1:
            raise ValueError(f"{name} must be a positive integer, got {v!r}")
    if d_model % heads:
        valid = [h for h in range(1, d_model + 1) if d_model % h == 0]
        raise ValueError(f"d_model ({d_model}) must be divisible by heads ({heads}); valid head counts: {valid}")
    T, D, h, d = seq_len, d_model, heads, d_model // heads
    return [
        ("input $x$", "(T, d_model)", (T, D)),
        ("$Q, K, V = x\\,W_Q,\\ x\\,W_K,\\ x\\,W_V$", "(T, d_model)", (T, D)),
        ("split into heads", "(h, T, d_head)", (h, T, d)),
        ("scores $QK^\\top / \\sqrt{d_{head}}$", "(h, T, T)", (h, T, T)),
        ("weights = softmax(scores)\nrows sum to 1", "(h, T, T)", (h, T, T)),
        ("weights @ $V$", "(h, T, d_head)", (h, T, d)),
        ("concatenate heads", "(T, d_model)", (T, D)),
        ("output = concat $W_O$", "(T, d_model)", (T, D)),
    ]


def plot_shapes(seq_len: int = 5, d_model: int = 8, heads: int = 2, *, figsize: tuple[float, float] | None = None) -> Any:
    """The shapes of the tensors through one attention layer, drawn to scale (one square per number).

    x -> Q, K, V -> split into heads -> scores -> weights -> weights @ V -> concatenate -> output.
    Stacked squares are the heads (one colour each); ``T`` = ``seq_len``, ``d_head = d_model / heads``.
    """
    import matplotlib.patches as patches
    import matplotlib.pyplot as plt

    stages = attention_shapes(seq_len, d_model, heads)
    T, D, h = seq_len, d_model, heads
    cell, gap, lift = 0.28, 1.9, 0.16  # square size, space between stages, offset between stacked heads
    qkv_colors = {"Q": "#c44e52", "K": "#8172b3", "V": "#55a868"}
    head_colors = ["#1f77b4", "#ff7f0e", "#17becf", "#bcbd22", "#e377c2", "#7f7f7f"] + PALETTE

    def matrix(ax: Any, x0: float, y0: float, rows: int, cols: int, color: str, alpha: float = 0.85,
               blocks: list[str] | None = None) -> None:
        for c in range(cols):
            face = blocks[c * len(blocks) // cols] if blocks else color
            for r in range(rows):
                ax.add_patch(patches.Rectangle((x0 + c * cell, y0 + (rows - 1 - r) * cell), cell, cell,
                                               facecolor=face, edgecolor="white", lw=0.6, alpha=alpha))

    def stack(ax: Any, x0: float, y0: float, n: int, rows: int, cols: int, base: str | None = None) -> None:
        for i in reversed(range(n)):  # head 0 in front
            matrix(ax, x0 + i * lift, y0 + i * lift, rows, cols, base or head_colors[i % len(head_colors)],
                   alpha=0.9 if i == 0 else 0.55)

    sep = 0.7  # vertical space between Q, K and V
    widths = [s[-1] * cell + (h * lift if len(s) == 3 else 0) for _, _, s in stages]
    span_x = sum(widths) + gap * (len(stages) - 1) + 1.0
    span_y = 3 * T * cell + 2 * sep + h * lift + 2.2
    scale = min(0.75, 17.0 / span_x)  # inches per unit, at most 17 inches wide
    figsize = figsize or (span_x * scale, span_y * scale + 0.5)
    fig, ax = plt.subplots(figsize=figsize, layout="constrained")
    x = 0.0
    mid = 0.0
    for k, (name, symbol, shape) in enumerate(stages):
        rows, cols = shape[-2], shape[-1]
        if k in (1, 2):  # three tensors, one above the other: Q, K, V
            ys = [mid + offset - rows * cell / 2 for offset in (T * cell + sep, 0.0, -(T * cell + sep))]
            for (letter, color), y0 in zip(qkv_colors.items(), ys):
                if k == 1:
                    matrix(ax, x, y0, rows, cols, color)
                else:
                    stack(ax, x, y0, h, rows, cols)
                    ax.add_patch(patches.Rectangle((x - 0.04, y0 - 0.04), cols * cell + 0.08, rows * cell + 0.08,
                                                   fill=False, edgecolor=color, lw=1.6))
                ax.text(x - 0.12, y0 + rows * cell / 2, letter, ha="right", va="center", fontsize=11,
                        color=color, weight="bold")
            bottom = ys[-1]
        elif k == 6:  # the concatenation: each head's columns in its colour
            y0 = mid - rows * cell / 2
            matrix(ax, x, y0, rows, cols, "", blocks=[head_colors[i % len(head_colors)] for i in range(h)])
            bottom = y0
        else:
            y0 = mid - rows * cell / 2
            if len(shape) == 3:
                stack(ax, x, y0, h, rows, cols)
            else:
                matrix(ax, x, y0, rows, cols, "0.55")
            bottom = y0
        width = cols * cell + (h * lift if len(shape) == 3 else 0)
        ax.text(x + width / 2, bottom - 0.25, f"{name}\n{symbol}\n= {shape}", ha="center", va="top", fontsize=8.5)
        if k < len(stages) - 1:
            ax.annotate("", xy=(x + width + gap - (0.5 if k in (0, 1) else 0.25), mid), xytext=(x + width + 0.2, mid),
                        arrowprops={"arrowstyle": "-|>", "color": "0.3", "lw": 1.4})
        x += width + gap
    ax.set_xlim(-0.6, x - gap + 0.4)
    ax.set_ylim(mid - T * cell * 1.5 - sep - 1.6, mid + T * cell * 1.5 + sep + h * lift + 0.2)
    ax.set_aspect("equal")
    ax.axis("off")
    ax.set_title(f"one attention layer: T = {T} tokens, d_model = {D}, h = {h} heads, d_head = {D // h}"
                 "  (one square = one number; stacked = heads)", fontsize=10)
    return fig


def style_table(frame: pd.DataFrame, caption: str = "", digits: int = 2) -> Any:
    """A DataFrame of weights coloured like the heatmaps, with a caption (e.g. ``att.caption``).

    Returns:
        a pandas Styler (displays as an HTML table in notebooks).
    """
    styler = frame.style.background_gradient(cmap=CMAP, axis=None, vmin=0.0).format(f"{{:.{digits}f}}")
    return styler.set_caption(caption) if caption else styler


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
