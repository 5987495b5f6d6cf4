"""The machinery of the self-checks: a friendly verdict in Japanese, never a bare AssertionError.

A check either passes (prints one line starting with a check mark and what was
verified), raises :class:`ExerciseError` whose message says what is wrong
("行の和が 1 になっていません (最大の誤差: 0.03)"), or, when the learner has not
written an answer yet (the placeholder ``None`` or ``...``), prints
:data:`NOT_YET` and returns without failing, so a notebook full of
unanswered exercises still runs top to bottom.
"""
from __future__ import annotations

import functools
from typing import Any, Callable, Iterable, Sequence

import numpy as np

__all__ = [
    "ExerciseError",
    "NOT_YET",
    "unanswered",
    "exercise",
    "check_type",
    "check_shape",
    "check_close",
    "check_rows_sum_to_one",
    "check_argmax",
    "check_equal",
]

#: Printed instead of failing while the learner's cell still holds its placeholder.
NOT_YET = "まだ答えがありません。下の模範解答を開いてみましょう。"


class ExerciseError(AssertionError):
    """The learner's answer is not right yet; the message (Japanese) says what is wrong."""


class _NotYet(Exception):
    """Raised inside a check when a learner's function still returns its placeholder."""


def unanswered(value: Any) -> bool:
    """True for the placeholders a learner's cell starts with: ``None`` and ``...`` (Ellipsis)."""
    return value is None or value is Ellipsis


def _not_yet() -> None:
    print("🔸 " + NOT_YET)


def exercise(title: str) -> Callable:
    """Decorator for a per-exercise check.

    The decorated function receives the learner's answers as positional
    arguments (and the data it needs to compute the right answer as keyword
    arguments), raises :class:`ExerciseError` when something is wrong and may
    return a short Japanese note on what it verified. Placeholders in any
    positional argument print :data:`NOT_YET` instead of failing.
    """

    def wrap(check: Callable[..., str | None]) -> Callable[..., None]:
        @functools.wraps(check)
        def run(*answers: Any, **data: Any) -> None:
            __tracebackhide__ = True  # IPython and pytest show the learner's cell and the message, not our frames
            if any(unanswered(a) for a in answers):
                return _not_yet()
            try:
                note = check(*answers, **data)
            except _NotYet:
                return _not_yet()
            except ExerciseError as err:
                raise ExerciseError(f"{title}: {err}") from None
            print(f"✅ {title}: 正解です。" + (f" {note}" if note else ""))

        run.title = title  # type: ignore[attr-defined]
        return run

    return wrap


def call_learner(fn: Any, *args: Any, name: str = "関数") -> Any:
    """Call a learner's function, turning its placeholder result and its exceptions into verdicts."""
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseError(f"{name} は関数 (def で作ったもの) のはずですが、{type(fn).__name__} でした。")
    try:
        result = fn(*args)
    except Exception as err:  # the learner's bug, reported in one line
        raise ExerciseError(f"{name} を呼ぶとエラーになりました: {type(err).__name__}: {err}") from None
    if unanswered(result):
        raise _NotYet
    return result


def _fmt_shape(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("任意" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _as_array(answer: Any, name: str) -> np.ndarray:
    try:
        arr = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseError(f"{name} を数値の配列として読めませんでした (型: {type(answer).__name__})。") from None
    return arr


def check_type(answer: Any, types: type | tuple[type, ...], name: str = "答え") -> None:
    """Fail unless ``answer`` is an instance of ``types``; placeholders print :data:`NOT_YET`."""
    __tracebackhide__ = True
    if unanswered(answer):
        return _not_yet()
    if not isinstance(answer, types):
        wanted = " か ".join(t.__name__ for t in (types if isinstance(types, tuple) else (types,)))
        raise ExerciseError(f"{name} の型が違います: {wanted} のはずですが、{type(answer).__name__} でした。")


def check_shape(answer: Any, shape: Sequence[int | None], name: str = "答え") -> None:
    """Fail unless ``answer`` has ``shape`` (``None`` matches any size)."""
    __tracebackhide__ = True
    if unanswered(answer):
        return _not_yet()
    got = np.shape(answer)
    if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got)):
        raise ExerciseError(f"{name} の形が違います: {_fmt_shape(shape)} のはずですが、{_fmt_shape(got)} でした。")


def check_close(answer: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-4, name: str = "答え") -> None:
    """Fail unless ``answer`` equals ``expected`` within the tolerance; the message gives the largest error."""
    __tracebackhide__ = True
    if unanswered(answer):
        return _not_yet()
    want = np.asarray(expected, dtype=np.float64)
    check_shape(answer, want.shape, name)
    got = _as_array(answer, name)
    if np.isnan(got).any():
        raise ExerciseError(f"{name} に NaN (計算できなかった値) が {int(np.isnan(got).sum())} 個あります。"
                            "0 での割り算や log(0)、exp のあふれがないか確かめましょう。")
    err = np.abs(got - want)
    bad = err > atol + rtol * np.abs(want)
    if bad.any():  # the largest error among the values out of tolerance (a large value may have a larger one)
        worst, at = err[bad].max(), ""
        if err.ndim:
            where = np.unravel_index(int(np.argmax(np.where(bad, err, -1.0))), err.shape)
            at = f"、位置 {tuple(int(i) for i in where)} で {got[where]:.4g} (正しくは {want[where]:.4g})"
        raise ExerciseError(f"{name} の値が合っていません (最大の誤差: {worst:.3g}{at})。")


def check_rows_sum_to_one(weights: Any, atol: float = 1e-4, name: str = "重み") -> None:
    """Fail unless every row (last axis) sums to 1 and no weight is negative."""
    __tracebackhide__ = True
    if unanswered(weights):
        return _not_yet()
    w = _as_array(weights, name)
    if w.ndim == 0:
        raise ExerciseError(f"{name} は行列のはずですが、数 1 つでした。")
    if np.isnan(w).any():
        raise ExerciseError(f"{name} に NaN が含まれています。exp があふれていないか (最大値を引いたか) 確かめましょう。")
    if (w < -atol).any():
        raise ExerciseError(f"{name} に負の値があります (最小: {w.min():.3g})。softmax の出力は 0 以上です。")
    gap = np.abs(w.sum(-1) - 1.0)
    if gap.max() > atol:
        hint = ""
        if w.ndim >= 2 and w.shape[-1] == w.shape[-2] and np.abs(w.sum(-2) - 1.0).max() <= atol:
            hint = " 列の和は 1 です: 向き (axis) が逆ではありませんか? 行ごとなら axis=-1 です。"
        raise ExerciseError(f"行の和が 1 になっていません (最大の誤差: {gap.max():.3g})。{hint}")


def check_argmax(answer: Any, scores: Any, name: str = "答え") -> None:
    """Fail unless ``answer`` is (one of) the label(s) with the largest score.

    Args:
        answer: a label (for a pandas Series or dict) or an index (for an array).
        scores: ``pd.Series`` / ``dict`` label -> score, or a 1-d array.
    """
    __tracebackhide__ = True
    if unanswered(answer):
        return _not_yet()
    if hasattr(scores, "items"):
        labels, values = zip(*scores.items())
    else:
        values = tuple(np.asarray(scores, dtype=float).ravel())
        labels = tuple(range(len(values)))
    best = max(values)
    winners = [lab for lab, v in zip(labels, values) if np.isclose(v, best, rtol=1e-6, atol=1e-9)]
    if answer not in labels:
        raise ExerciseError(f"{name} {answer!r} は候補にありません。候補: {', '.join(map(repr, labels))}")
    if answer not in winners:
        mine = values[labels.index(answer)]
        raise ExerciseError(f"{name} は {answer!r} ({mine:.3g}) ではありません。"
                            f"いちばん大きいのは {winners[0]!r} ({best:.3g}) です。")


def check_equal(answer: Any, expected: Any, name: str = "答え") -> None:
    """Fail unless ``answer == expected`` (lists, tuples, strings, numbers)."""
    __tracebackhide__ = True
    if unanswered(answer):
        return _not_yet()
    if not bool(np.all(answer == expected)):  # a bool, or element-wise for arrays and Series
        raise ExerciseError(f"{name} が違います: {_short(expected)} のはずですが、{_short(answer)} でした。")


def _short(value: Any, limit: int = 120) -> str:
    text = repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def as_layer_head(answer: Any, name: str = "答え") -> tuple[int, int]:
    """``(layer, head)`` from a learner's answer (a tuple/list of two ints, or a table index)."""
    __tracebackhide__ = True
    if isinstance(answer, Iterable) and not isinstance(answer, (str, bytes)):
        items = list(answer)
        if len(items) >= 2 and all(isinstance(v, (int, np.integer)) for v in items[:2]):
            return int(items[0]), int(items[1])
    raise ExerciseError(f"{name} は (層, ヘッド) の 2 つの整数の組、たとえば (0, 2) で答えてください。"
                        f" いまの答え: {_short(answer)}")
