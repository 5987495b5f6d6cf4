"""A figure as data: every text, image, line and patch with the properties a reader sees, for snapshot tests.

``describe(fig)`` walks the figure's artists and records, in data coordinates
where they have them: texts (string, position, size, colour, alignment,
rotation, weight, style), images (the array's shape and a checksum, colour map,
limits), lines (points, colour, width, opacity), patches (kind, vertices,
colours, width) and each Axes' limits, ticks, labels and title. Pixel output is
left out on purpose: it depends on the FreeType build, while these properties
do not, so the same snapshot holds across matplotlib versions.

``check(name, fig)`` compares with ``tests/snapshots/<name>.json``; set
``UPDATE_SNAPSHOTS=1`` to (re)write it after a deliberate change, then look at
the figure and commit the JSON with the change.
"""
from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import numpy as np

SNAPSHOTS = Path(__file__).parent / "snapshots"


def _r(x: Any) -> Any:
    """Round floats (and nested lists) to 4 decimals; JSON-friendly."""
    if isinstance(x, (list, tuple, np.ndarray)):
        return [_r(v) for v in x]
    if isinstance(x, (float, np.floating)):
        v = round(float(x), 4)
        return 0.0 if v == 0 else v
    if isinstance(x, (np.integer,)):
        return int(x)
    return x


def _color(c: Any) -> Any:
    from matplotlib.colors import to_hex

    try:
        return to_hex(c, keep_alpha=True)
    except (ValueError, TypeError):
        arr = np.asarray(c)
        return [to_hex(v, keep_alpha=True) for v in arr] if arr.ndim == 2 else str(c)


def _text(t: Any) -> dict:
    pos = t.get_position()
    out = {"text": t.get_text(), "xy": _r(pos), "size": _r(t.get_fontsize()), "color": _color(t.get_color()),
           "ha": t.get_ha(), "va": t.get_va(), "rotation": _r(t.get_rotation()), "weight": t.get_fontweight(),
           "style": t.get_fontstyle(), "family": t.get_fontfamily()[:1], "visible": t.get_visible()}
    if hasattr(t, "arrow_patch"):  # an Annotation: where it points, and how its arrow looks
        out["target"] = _r(t.xy)
        if t.arrow_patch is not None:
            out["arrow"] = _patch(t.arrow_patch)
    box = t.get_bbox_patch()
    if box is not None:
        out["box"] = {"face": _color(box.get_facecolor()), "edge": _color(box.get_edgecolor()),
                      "style": type(box.get_boxstyle()).__name__, "pad": _r(getattr(box.get_boxstyle(), "pad", None))}
    return out


def _patch(p: Any) -> dict:
    from matplotlib.patches import FancyArrowPatch

    out = {"kind": type(p).__name__, "face": _color(p.get_facecolor()), "edge": _color(p.get_edgecolor()),
           "lw": _r(p.get_linewidth()), "fill": p.get_fill(), "visible": p.get_visible(), "zorder": _r(p.get_zorder())}
    if isinstance(p, FancyArrowPatch):
        style = p.get_arrowstyle()
        out.update(scale=_r(p.get_mutation_scale()), arrow=type(style).__name__,
                   head=_r([getattr(style, "head_length", None), getattr(style, "head_width", None)]))
        path = p._path_original  # the path in data coordinates, as given (None for an annotation's arrow)
        if path is not None:
            out.update(vertices=_r(path.vertices), codes=_r(path.codes))
    else:
        out["vertices"] = _r(p.get_path().transformed(p.get_patch_transform()).vertices)
    return out


def _image(im: Any) -> dict:
    arr = np.asarray(im.get_array(), dtype=float)
    return {"shape": list(arr.shape), "sum": _r(arr.sum()), "weighted": _r((arr * np.arange(arr.size).reshape(arr.shape)).sum()),
            "cmap": im.get_cmap().name, "clim": _r(im.get_clim()), "aspect": str(im.axes.get_aspect())}


def _line(ln: Any) -> dict:
    return {"x": _r(ln.get_xdata()), "y": _r(ln.get_ydata()), "color": _color(ln.get_color()),
            "lw": _r(ln.get_linewidth()), "alpha": _r(ln.get_alpha()), "ls": ln.get_linestyle(),
            "cap": ln.get_solid_capstyle(), "gid": ln.get_gid(), "marker": str(ln.get_marker()),
            "zorder": _r(ln.get_zorder())}


def _axes(ax: Any) -> dict:
    return {
        "title": ax.get_title(), "title_size": _r(ax.title.get_fontsize()), "on": bool(ax.axison),
        "xlim": _r(ax.get_xlim()), "ylim": _r(ax.get_ylim()), "xlabel": ax.get_xlabel(), "ylabel": ax.get_ylabel(),
        "label": ax.get_label(),
        "xticks": [[_r(t.get_loc()), t.label1.get_text(), _r(t.label1.get_fontsize()), _r(t.label1.get_rotation()),
                    t.label1.get_ha()] for t in ax.xaxis.get_major_ticks()] if ax.get_label() != "<colorbar>" else None,
        "yticks": [[_r(t.get_loc()), t.label1.get_text(), _r(t.label1.get_fontsize())]
                   for t in ax.yaxis.get_major_ticks()] if ax.get_label() != "<colorbar>" else None,
        "texts": [_text(t) for t in ax.texts],
        "images": [_image(im) for im in ax.images],
        "lines": [_line(ln) for ln in ax.lines],
        "patches": [_patch(p) for p in ax.patches],
        "grid": _r(ax.get_subplotspec().get_geometry()) if ax.get_subplotspec() is not None else None,
        "position": [round(v, 2) for v in ax.get_position().bounds],  # after the layout engine ran
        "aspect": str(ax.get_aspect()),
        "legend": None if ax.get_legend() is None else {
            "texts": [_text(t) for t in ax.get_legend().get_texts()], "loc": ax.get_legend()._loc},
    }


def describe(fig: Any) -> dict:
    """Everything a reader sees in ``fig``, as plain data (see the module docstring)."""
    fig.canvas.draw()  # lays out the figure, so ticks and limits are final
    sup = fig._suptitle
    return {
        "size": _r(fig.get_size_inches()),
        "suptitle": None if sup is None else _text(sup),
        "texts": [_text(t) for t in fig.texts],
        "axes": [_axes(ax) for ax in fig.axes],
    }


POSITION_TOLERANCE = 0.02  # of the figure: layout engines move Axes by up to 0.01 between matplotlib versions


def _first_difference(a: Any, b: Any, where: str = "") -> str | None:
    if isinstance(a, dict) and isinstance(b, dict):
        for key in sorted(set(a) | set(b)):
            d = _first_difference(a.get(key), b.get(key), f"{where}.{key}")
            if d:
                return d
        return None
    if where.endswith(".position") and isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        close = all(abs(x - y) <= POSITION_TOLERANCE for x, y in zip(a, b))
        return None if close else f"{where}: drawn {a}, snapshot {b} (tolerance {POSITION_TOLERANCE})"
    if isinstance(a, list) and isinstance(b, list) and len(a) == len(b):
        for i, (x, y) in enumerate(zip(a, b)):
            d = _first_difference(x, y, f"{where}[{i}]")
            if d:
                return d
        return None
    return None if a == b else f"{where}: drawn {json.dumps(a, ensure_ascii=False)[:300]}, " \
                               f"snapshot {json.dumps(b, ensure_ascii=False)[:300]}"


def check(name: str, fig: Any) -> None:
    """Assert that ``fig`` matches the stored snapshot (or write it with ``UPDATE_SNAPSHOTS=1``)."""
    got = json.loads(json.dumps(describe(fig), ensure_ascii=False))
    path = SNAPSHOTS / f"{name}.json"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOTS.mkdir(exist_ok=True)
        path.write_text(json.dumps(got, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
        return
    assert path.is_file(), f"no snapshot {path.name}: run with UPDATE_SNAPSHOTS=1, look at the figure, commit it"
    want = json.loads(path.read_text(encoding="utf-8"))
    diff = _first_difference(got, want)
    assert diff is None, f"figure {name!r} differs from its snapshot at {diff}"
