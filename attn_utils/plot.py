"""Matplotlib figures of attention: heatmaps and layer x head grids.

Every function returns the Figure and accepts ``ax`` (draw into an existing
axes) and ``figsize``. Rows are queries, columns are keys; layers and heads
are 0-based, as in code, and labelled as such.
"""
from __future__ import annotations

import html

import functools
import importlib.util
import re
import warnings
from pathlib import Path
from typing import Any, Callable, Iterable, Sequence

import numpy as np
import pandas as pd

from .errors import user_stacklevel
from .extract import Attention, host_array

__all__ = [
    "plot_heatmap", "plot_query_heads", "plot_grid", "plot_lines", "plot_heads", "plot_shapes", "style_table",
    "use_japanese_font", "plot_tree",
]

CMAP = "Blues"
#: CSS fonts for tables with Japanese labels (a browser, not matplotlib, draws them).
JAPANESE_CSS_FONTS = '"IPAexGothic", "Hiragino Sans", "Yu Gothic", "Noto Sans CJK JP", "Meiryo", sans-serif'
#: One colour per head (as in BertViz), dark enough to read as thin lines on white.
PALETTE = [
    "#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b",
    "#e377c2", "#7f7f7f", "#bcbd22", "#17becf", "#393b79", "#ad494a",
    "#637939", "#8c6d31", "#843c39", "#7b4173",
]


#: Kana, CJK punctuation, kanji (incl. extension A and compatibility) and half-width katakana.
_JAPANESE = re.compile("[\u3000-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\uff66-\uff9f]")
JAPANESE_FONT = "IPAexGothic"
_FONT_HINT = ("Japanese labels need the font package matplotlib-fontja: "
              "pip install matplotlib-fontja   (or: pip install 'attn-utils[ja]')")
_warned_no_font = False


def has_japanese(texts: str | Iterable[str]) -> bool:
    """True if any of the strings contains kana or kanji."""
    texts = [texts] if isinstance(texts, str) else texts
    return any(_JAPANESE.search(str(t)) for t in texts)


def _japanese_font_file() -> Path | None:
    """``ipaexg.ttf`` inside ``matplotlib-fontja``, found without importing it (its import
    sets the global ``rcParams``)."""
    spec = importlib.util.find_spec("matplotlib_fontja")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "fonts" / "ipaexg.ttf"
    return path if path.is_file() else None


def _register_japanese_font() -> str | None:
    """Make IPAexGothic known to matplotlib (once) and return its name; None, with one
    warning per session giving the pip command, when ``matplotlib-fontja`` is missing."""
    global _warned_no_font
    from matplotlib import font_manager

    path = _japanese_font_file()
    if path is None:
        if not _warned_no_font:
            _warned_no_font = True
            warnings.warn(_FONT_HINT, UserWarning, stacklevel=user_stacklevel())
        return None
    if not any(Path(f.fname) == path for f in font_manager.fontManager.ttflist):
        font_manager.fontManager.addfont(str(path))
    return JAPANESE_FONT


def japanese_labels(fig: Any) -> Any:
    """Give a figure's text a font with Japanese glyphs, if any of its text is Japanese.

    The user's font comes first and IPAexGothic second (matplotlib falls back
    glyph by glyph), set on the text artists and on the axes' tick-label
    settings, so labels drawn later keep it. ``rcParams`` are not changed.

    Returns:
        the figure.
    """
    import matplotlib
    from matplotlib.text import Text

    texts = fig.findobj(Text)
    tick_texts = [str(t) for ax in fig.axes for axis in (ax.xaxis, ax.yaxis)
                  for t in getattr(axis.get_major_formatter(), "seq", [])]
    if not has_japanese([t.get_text() for t in texts] + tick_texts):
        return fig
    name = _register_japanese_font()
    if name is None:
        return fig
    user = matplotlib.rcParams["font.family"]
    for text in texts:
        family = [f for f in text.get_fontfamily() if f != name]
        text.set_fontfamily([*family, name])
    for ax in fig.axes:
        ax.tick_params(axis="both", which="both", labelfontfamily=[*user, name])
    return fig


def _japanese_aware(plot: Callable[..., Any]) -> Callable[..., Any]:
    """Decorator: the figure a plot function returns draws its Japanese labels (see :func:`japanese_labels`)."""

    @functools.wraps(plot)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        return japanese_labels(plot(*args, **kwargs))

    return wrapper


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


@_japanese_aware
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


@_japanese_aware
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


@_japanese_aware
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

    frame = values if isinstance(values, pd.DataFrame) else pd.DataFrame(host_array(values))
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


@_japanese_aware
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
    n = len(att)
    ax.set_ylim(-0.7, n + 0.2)  # room for the column headers (figure texts, so ax.texts stays the tokens)
    for x, ha, name in ((-0.04, "right", "query"), (1.04, "left", "key")):
        fig.text(x, n - 0.35, name, transform=ax.transData, ha=ha, va="bottom", fontsize=9, color="0.4", style="italic")
    who = f", query {att.labels[q]!r}" if q is not None else ""
    ax.set_title(f"layer {layer}, head {head}{who}" + (f"\n{att.caption}" if att.caption else ""), fontsize=10)
    return fig


@_japanese_aware
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
        ("入力 (input) $x$", "(T, d_model)", (T, D)),
        ("$Q, K, V = x\\,W_Q,\\ x\\,W_K,\\ x\\,W_V$", "(T, d_model)", (T, D)),
        ("ヘッドに分ける\n(split into heads)", "(h, T, d_head)", (h, T, d)),
        ("スコア (scores)\n$QK^\\top / \\sqrt{d_{head}}$", "(h, T, T)", (h, T, T)),
        ("重み = softmax(スコア)\n各行の和は 1", "(h, T, T)", (h, T, T)),
        ("重み @ $V$", "(h, T, d_head)", (h, T, d)),
        ("ヘッドをつなぐ\n(concatenate)", "(T, d_model)", (T, D)),
        ("出力 (output)\n= concat $W_O$", "(T, d_model)", (T, D)),
    ]


@_japanese_aware
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
    # no grey among the first six: grey marks the tensors that are not split into heads
    head_colors = ["#1f77b4", "#ff7f0e", "#17becf", "#bcbd22", "#e377c2", "#8c564b"] + PALETTE

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
    ax.set_title(f"attention の 1 層: T = {T} トークン, d_model = {D}, h = {h} ヘッド, d_head = {D // h}"
                 "  (四角 1 つ = 数 1 つ、重なり = ヘッド)", fontsize=10)
    return fig


def style_table(frame: pd.DataFrame, caption: str = "", digits: int = 2) -> Any:
    """A DataFrame of weights coloured like the heatmaps, with a caption (e.g. ``att.caption``).

    Token labels such as ``<s>`` and ``</s>`` (XLM-R / e5) are HTML-escaped in the
    header and the row labels, so the browser shows them instead of reading tags.

    Returns:
        a pandas Styler (displays as an HTML table in notebooks).
    """
    styler = (frame.style.background_gradient(cmap=CMAP, axis=None, vmin=0.0)
              .format(f"{{:.{digits}f}}")
              .format_index(escape="html", axis=0).format_index(escape="html", axis=1))
    if caption:
        styler = styler.set_caption(html.escape(caption))
    if has_japanese([caption, *map(str, frame.index), *map(str, frame.columns)]):
        # the browser draws the table: name fonts with Japanese glyphs (IPAexGothic where installed)
        styler = styler.set_table_styles([{"selector": "", "props": [("font-family", JAPANESE_CSS_FONTS)]}],
                                         overwrite=False)
    return styler


def use_japanese_font() -> str:
    """Make IPAexGothic (from ``matplotlib-fontja``) matplotlib's global font and return its name.

    The package's own plots and tables need no call: they pick the font by
    themselves when their labels contain Japanese. Call this for your own
    matplotlib figures; it changes ``rcParams`` for the whole session.

    Raises:
        ImportError: with the pip command to run, when ``matplotlib-fontja`` is missing.
    """
    try:
        import matplotlib_fontja
    except ImportError:
        raise ImportError(_FONT_HINT) from None
    import matplotlib

    # its import sets the font only the first time; japanize() sets it on every call (after rcdefaults() too)
    matplotlib_fontja.japanize()
    return matplotlib.rcParams["font.family"][0]


def plot_tree(sentence: Any, predicted: Sequence[int] | None = None, *, ax: Any = None,
              figsize: tuple[float, float] | None = None, title: str = "", label: str = "head's guess") -> Any:
    """A dependency tree as an arc diagram: gold arcs above the words, an attention head's guesses below.

    Args:
        sentence: a :class:`~attn_utils.syntax.Sentence` (``words``, ``heads`` 1-based, ``relations``).
        predicted: optional 1-based predicted head per word (e.g. a row of
            :func:`~attn_utils.syntax.head_predictions`); drawn below, green
            where it matches the gold head, red where not.
        title: the figure title (say which model and head, and RANDOM for untrained weights).

    Returns:
        the Figure. Arrows point from the head word to its dependent.
    """
    words, heads, rels = sentence.words, sentence.heads, sentence.relations
    n = len(words)
    fig, ax = _axes(ax, figsize or (max(6.0, 0.8 * n), 2.6 if predicted is None else 4.2))
    top = max([abs(h - 1 - i) for i, h in enumerate(heads) if h] + [1])
    low = max([abs(int(p) - 1 - i) for i, p in enumerate(predicted) if 1 <= p <= n] + [1]) if predicted is not None else 0
    for i, w in enumerate(words):
        ax.text(i, 0, w, ha="center", va="center", fontsize=10)
    for i, (h, r) in enumerate(zip(heads, rels)):
        if h == 0:
            ax.annotate("root", xy=(i, 0.25), xytext=(i, 0.35 + 0.25 * top), ha="center", fontsize=8,
                        arrowprops=dict(arrowstyle="->", color="0.3"))
            continue
        _arc(ax, h - 1, i, +1, "0.25", r)
    if predicted is not None:
        for i, p in enumerate(predicted):
            if 1 <= p <= n:
                _arc(ax, int(p) - 1, i, -1, "#2ca02c" if p == heads[i] else "#d62728", None)
        ax.text(-0.6, -0.3 - 0.25 * low, label, ha="left", va="center", fontsize=8, color="0.3")
    ax.set_xlim(-0.7, n - 0.3)
    ax.set_ylim(-(0.45 + 0.25 * low) if predicted is not None else -0.3, 0.55 + 0.25 * top)
    ax.axis("off")
    if title:
        ax.set_title(title, fontsize=10)
    return fig


def _arc(ax: Any, start: int, end: int, side: int, color: str, label: str | None) -> None:
    """One arrow from word ``start`` to word ``end``, curved above (side=+1) or below (side=-1).

    A quadratic Bezier in data coordinates: its peak is ``0.25 * distance`` above the words.
    """
    from matplotlib.patches import FancyArrowPatch
    from matplotlib.path import Path

    dist = abs(end - start)
    y = 0.25 * side
    path = Path([(start, y), ((start + end) / 2, y + side * 0.5 * dist), (end, y)],
                [Path.MOVETO, Path.CURVE3, Path.CURVE3])
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=8, color=color, lw=1.0))
    if label:
        ax.text((start + end) / 2, y + side * 0.25 * dist, label, ha="center", va="center", fontsize=7,
                color="0.2", bbox=dict(boxstyle="round,pad=0.1", fc="white", ec="none", alpha=0.8))
