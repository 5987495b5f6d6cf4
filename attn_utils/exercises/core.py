"""The machinery of the self-checks: a friendly verdict in Japanese, never a bare Python error.

A check either passes (prints one line starting with ✅ and what was verified),
raises :class:`ExerciseError` whose message says what is wrong and, where the
mistake is a common one, which mistake it looks like ("行の和が 1 になっていません
... axis=-1"), or prints a note and returns without failing:

- :data:`NOT_YET` while the learner's cell still holds its placeholder (``None``,
  ``...``, or a function whose body is only ``...``/``pass``), so a notebook full
  of unanswered exercises still runs top to bottom;
- :data:`GUESS_FIRST` while a prediction (``guess``) is still empty (``None``,
  ``""``, ``...``): the check compares only after the learner has guessed.

Malformed input (the wrong type or shape, a function that returns ``None`` or
raises, an Axes where a Figure is wanted, a layer out of range) gets a Japanese
message that says what was expected; an unexpected Python exception inside a
check is turned into such a message too, so a learner never reads a raw
traceback from a check. Answers are read in every natural form: numpy arrays,
torch tensors (on any device), pandas Series/DataFrames, lists, dicts, numpy
scalars.
"""
from __future__ import annotations

import dis
import functools
import inspect
import re
import sys
from typing import Any, Callable, Iterable, Mapping, Sequence

import numpy as np

__all__ = [
    "ExerciseError",
    "keyed_numbers",
    "NOT_YET",
    "GUESS_FIRST",
    "unanswered",
    "empty_guess",
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

#: Printed instead of comparing while the learner's prediction is still empty.
GUESS_FIRST = "まず予想を書きましょう。予想を書いてから、このセルをもう一度実行します。"

#: Strings that count as an empty prediction (besides "" and whitespace).
GUESS_PLACEHOLDERS = {"?", "？", "...", "…", "予想", "ここに予想", "(予想)", "（予想）", "TODO", "todo"}


class ExerciseError(AssertionError):
    """The learner's answer is not right yet; the message (Japanese) says what is wrong."""


class _NotYet(Exception):
    """Raised inside a check when a learner's function is still the placeholder."""


_MISSING = object()


def unanswered(value: Any) -> bool:
    """True for the placeholders a learner's cell starts with: ``None`` and ``...`` (Ellipsis)."""
    return value is None or value is Ellipsis


def empty_guess(value: Any) -> bool:
    """True for a prediction not written yet: ``None``, ``...``, ``""`` (or blanks) or a placeholder word."""
    if unanswered(value):
        return True
    if isinstance(value, str):
        text = value.strip()
        return not text or text in GUESS_PLACEHOLDERS or text.startswith("ここに")
    return False


def _note(text: str) -> None:
    print("🔸 " + text)


def _not_yet() -> None:
    _note(NOT_YET)


def exercise(title: str, guess: int | None = None, expects: str = "") -> Callable:
    """Decorator for a per-exercise check.

    The decorated function receives the learner's answers as positional
    arguments (and the data it needs to compute the right answer as keyword
    arguments), raises :class:`ExerciseError` when something is wrong and may
    return a short Japanese note on what it verified.

    Args:
        title: shown before every verdict (``"練習 (softmax を自分で書く)"``).
        guess: the position of an answer that is the learner's *prediction*
            (compared, never judged); every check also takes an optional
            ``guess=`` keyword. An empty prediction prints :data:`GUESS_FIRST`
            and checks nothing; a check that has its own ``guess`` parameter
            compares it with the answer, the others echo it.
        expects: what the answer should be, in Japanese; appended to the
            message when the answer makes the check itself fail.
    """

    def wrap(check: Callable[..., str | None]) -> Callable[..., None]:
        takes_guess = "guess" in inspect.signature(check).parameters

        @functools.wraps(check)
        def run(*answers: Any, **data: Any) -> None:
            __tracebackhide__ = True  # IPython and pytest show the learner's cell and the message, not our frames
            given = data.pop("guess", _MISSING) if not takes_guess else data.get("guess", _MISSING)
            if guess is not None and len(answers) > guess:
                given = answers[guess]
            if given is not _MISSING and empty_guess(given):
                return _note(GUESS_FIRST)
            if any(unanswered(a) for a in answers):
                return _not_yet()
            try:
                note = check(*answers, **data)
            except _NotYet:
                return _not_yet()
            except ExerciseError as err:
                raise ExerciseError(f"{title}: {err}") from None
            except Exception as err:  # never a raw Python error: say what was expected instead
                raise ExerciseError(
                    f"{title}: 答えを確かめる途中でエラーになりました ({type(err).__name__}: {_short(str(err), 160)})。"
                    + (f" 答えは {expects} のはずです。" if expects else " 答えの型と形を、問題文と見比べましょう。")) from None
            echo = f" (あなたの予想: {_short(given, 60)})" if given is not _MISSING and not takes_guess \
                and guess is None else ""
            print(f"✅ {title}: 正解です。" + (f" {note}" if note else "") + echo)

        run.title = title  # type: ignore[attr-defined]
        run.expects = expects  # type: ignore[attr-defined]
        return run

    return wrap


# --- calling a learner's function ---------------------------------------------------------

_EMPTY_OPS = {"RESUME", "NOP", "LOAD_CONST", "RETURN_VALUE", "RETURN_CONST", "CACHE", "POP_TOP"}


def is_placeholder_function(fn: Any) -> bool:
    """True when ``fn``'s body does nothing (only a docstring, comments, ``...`` or ``pass``)."""
    code = getattr(fn, "__code__", None)
    if code is None:
        return False
    try:
        return all(ins.opname in _EMPTY_OPS and (ins.opname not in ("LOAD_CONST", "RETURN_CONST")
                                                 or ins.argval is None or ins.argval is Ellipsis)
                   for ins in dis.get_instructions(code))
    except Exception:  # pragma: no cover - exotic callables
        return False


def _to_torch(value: Any) -> Any:
    import torch

    if isinstance(value, np.ndarray):
        return torch.from_numpy(value.copy())
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, np.ndarray) for v in value):
        return type(value)(torch.from_numpy(v.copy()) for v in value)
    return value


def call_learner(fn: Any, *args: Any, name: str = "関数", torch_ok: bool = True) -> Any:
    """Call a learner's function, turning its placeholder body, a missing return and its exceptions into verdicts.

    With ``torch_ok`` a function written for torch tensors (``.permute``,
    ``torch.log``) that fails on the numpy arrays is called again with tensors.
    """
    __tracebackhide__ = True
    if not callable(fn):
        raise ExerciseError(f"{name} は関数 (def で作ったもの) のはずですが、{type(fn).__name__} でした。")
    if is_placeholder_function(fn):
        raise _NotYet
    try:
        result = fn(*args)
    except Exception as err:  # the learner's bug, reported in one line
        retried = _MISSING
        if torch_ok and any(isinstance(a, np.ndarray) for a in args):  # e.g. .permute, torch.log on numpy input
            try:
                retried = fn(*(_to_torch(a) for a in args))
            except Exception:
                retried = _MISSING
        if retried is _MISSING:
            hint = ""
            if isinstance(err, ValueError) and "broadcast" in str(err):
                hint = " 形がそろっていません: 行ごとの最大値や和には keepdims=True を付けましたか?"
            raise ExerciseError(f"{name} を呼ぶとエラーになりました: {type(err).__name__}: {_short(str(err), 200)}"
                                + hint) from None
        result = retried
    if result is None:
        raise ExerciseError(f"{name} が None を返しました。return を書き忘れていませんか? "
                            "(関数の最後に return 計算した値 と書きます)")
    if result is Ellipsis:
        raise _NotYet
    return result


# --- reading answers in every natural form ------------------------------------------------------


def _short(value: Any, limit: int = 120) -> str:
    text = value if isinstance(value, str) and limit != 120 else repr(value)
    return text if len(text) <= limit else text[: limit - 3] + "..."


def is_tensor(value: Any) -> bool:
    """True for a torch tensor (any subclass, any device); torch is not imported for the question."""
    torch = sys.modules.get("torch")
    return torch is not None and isinstance(value, torch.Tensor)


def _on_host(value: Any) -> Any:
    """Tensors (on any device), also inside nested lists and tuples, as host numpy arrays; the rest as it is."""
    if is_tensor(value):
        t = value.detach().cpu()
        return t.double().numpy() if t.is_floating_point() else t.numpy()
    if isinstance(value, (list, tuple)) and any(is_tensor(v) or isinstance(v, (list, tuple)) for v in value):
        return [_on_host(v) for v in value]
    return value


def to_array(answer: Any, name: str = "答え") -> np.ndarray:
    """``answer`` as a float64 numpy array: numpy, torch (any device), pandas, lists, scalars.

    Raises:
        ExerciseError: for None, strings, dicts, ragged lists, non-numbers.
    """
    __tracebackhide__ = True
    if unanswered(answer):
        raise ExerciseError(f"{name} がまだ None です。計算した値を入れましょう。")
    if is_tensor(answer):
        answer = _on_host(answer)
    elif hasattr(answer, "to_numpy") and not isinstance(answer, np.ndarray):  # pandas Series / DataFrame
        if getattr(answer, "ndim", 1) == 2 and answer.shape[1] == 1 and answer.shape[0] != 1:
            answer = answer.iloc[:, 0]  # a DataFrame of one column stands for its column
        answer = answer.to_numpy()
    if isinstance(answer, (str, bytes)):
        raise ExerciseError(f"{name} は数 (または数の配列) のはずですが、文字列 {_short(answer)} でした。")
    if isinstance(answer, Mapping):
        raise ExerciseError(f"{name} は数の配列のはずですが、辞書 (dict) でした。")
    if isinstance(answer, (list, tuple)):
        answer = _on_host(answer)
    try:
        arr = np.asarray(answer, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseError(f"{name} を数値の配列として読めませんでした (型: {type(answer).__name__})。"
                            "長さのそろった数のリストか、numpy の配列にしましょう。") from None
    return arr


def to_number(answer: Any, name: str = "答え", hint: str = "") -> float:
    """``answer`` as one float: a Python/numpy number, a 0-d or 1-element array/tensor/Series."""
    __tracebackhide__ = True
    if isinstance(answer, (bool, np.bool_)):
        raise ExerciseError(f"{name} は数 1 つのはずですが、True/False でした。")
    arr = to_array(answer, name)
    if arr.size != 1:
        raise ExerciseError(f"{name} は数 1 つのはずですが、形 {_fmt_shape(arr.shape)} の配列でした。{hint}")
    return float(arr.reshape(()))


def _fmt_shape(shape: Sequence[int | None]) -> str:
    return "(" + ", ".join("任意" if s is None else str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def same(got: Any, candidate: Any, atol: float = 1e-6, rtol: float = 1e-6) -> bool:
    """True when ``got`` equals ``candidate`` (same shape, close, NaN where it has NaN); never raises."""
    try:
        a, b = np.asarray(got, dtype=np.float64), np.asarray(candidate, dtype=np.float64)
        return a.shape == b.shape and bool(np.allclose(a, b, atol=atol, rtol=rtol, equal_nan=True))
    except Exception:
        return False


def diagnose(got: Any, want: Any, candidates: Iterable[tuple[str, Callable[[], Any]]], atol: float = 1e-6,
             rtol: float = 1e-6) -> None:
    """Raise the hint of the first wrong-answer candidate that ``got`` matches (and the right answer does not).

    Each candidate is ``(hint, thunk)``; the thunk computes what that mistake gives
    (lazily, with numpy's warnings silenced; a thunk that fails is skipped).
    """
    __tracebackhide__ = True
    for hint, thunk in candidates:
        try:
            with np.errstate(all="ignore"):
                value = thunk()
        except Exception:
            continue
        if same(got, value, atol, rtol) and not same(want, value, atol, rtol):
            raise ExerciseError(hint)
    try:
        rounded = [np.round(np.asarray(want, dtype=np.float64), digits) for digits in (1, 2, 3, 4)]
    except Exception:
        return
    for digits, value in zip((1, 2, 3, 4), rounded):
        if same(got, value, atol, rtol) and not same(want, value, atol, rtol):
            raise ExerciseError(f"表示を小数 {digits} 桁に丸めた値を書き写していませんか? 丸める前の、計算した値そのものを"
                                "入れましょう (表示の丸めは読むためのものです)。")


# --- the generic checks -----------------------------------------------------------------------


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
    try:
        got = tuple(int(s) for s in np.shape(answer))
    except Exception:
        got = to_array(answer, name).shape
    if len(got) != len(shape) or any(s is not None and s != g for s, g in zip(shape, got)):
        raise ExerciseError(f"{name} の形が違います: {_fmt_shape(shape)} のはずですが、{_fmt_shape(got)} でした。")


def check_close(answer: Any, expected: Any, atol: float = 1e-5, rtol: float = 1e-4, name: str = "答え") -> None:
    """Fail unless ``answer`` equals ``expected`` within the tolerance; the message gives the largest error."""
    __tracebackhide__ = True
    if unanswered(answer):
        return _not_yet()
    want = np.asarray(expected, dtype=np.float64)
    got = to_array(answer, name)
    check_shape(got, want.shape, name)
    if np.isnan(got).any():
        raise ExerciseError(f"{name} に NaN (計算できなかった値) が {int(np.isnan(got).sum())} 個あります。"
                            "0 での割り算や log(0)、exp のあふれがないか確かめましょう。")
    err = np.abs(got - want)
    bad = ~(err <= atol + rtol * np.abs(want))  # inf counts as out of tolerance
    if bad.any():  # the largest error among the values out of tolerance (a large value may have a larger one)
        worst, at = err[bad].max(), ""
        if err.ndim:
            where = np.unravel_index(int(np.argmax(np.where(bad, np.nan_to_num(err, posinf=1e300), -1.0))), err.shape)
            at = f"、位置 {tuple(int(i) for i in where)} で {got[where]:.4g} (正しくは {want[where]:.4g})"
        raise ExerciseError(f"{name} の値が合っていません (最大の誤差: {worst:.3g}{at})。")


def check_rows_sum_to_one(weights: Any, atol: float = 1e-4, name: str = "重み") -> None:
    """Fail unless every row (last axis) sums to 1 and no weight is negative."""
    __tracebackhide__ = True
    if unanswered(weights):
        return _not_yet()
    w = to_array(weights, name)
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
    try:
        known = answer in labels
    except Exception:
        known = False
    if not known:
        raise ExerciseError(f"{name} {_short(answer)} は候補にありません。候補: {', '.join(map(repr, labels))}")
    if answer not in winners:
        mine = values[labels.index(answer)]
        raise ExerciseError(f"{name} は {answer!r} ({mine:.3g}) ではありません。"
                            f"いちばん大きいのは {winners[0]!r} ({best:.3g}) です。")


def check_equal(answer: Any, expected: Any, name: str = "答え") -> None:
    """Fail unless ``answer == expected`` (lists, tuples, strings, numbers)."""
    __tracebackhide__ = True
    if unanswered(answer):
        return _not_yet()
    try:
        equal = bool(np.all(answer == expected))  # a bool, or element-wise for arrays and Series
    except Exception:
        equal = False
    if not equal:
        raise ExerciseError(f"{name} が違います: {_short(expected)} のはずですが、{_short(answer)} でした。")


# --- layers and heads, keys and labels -----------------------------------------------------------

_LH = re.compile(r"^\s*L\s*(-?\d+)\s*[-_/, ]?\s*H\s*(-?\d+)\s*$", re.I)


def _integral(v: Any) -> int | None:
    if isinstance(v, (bool, np.bool_)):
        return None
    if is_tensor(v) and v.numel() == 1:
        v = v.item()
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, (float, np.floating)) and float(v).is_integer():
        return int(v)
    return None


def as_layer_head(answer: Any, name: str = "答え", shape: Sequence[int] | None = None) -> tuple[int, int]:
    """``(layer, head)`` from a learner's answer, 0-based, negative indices resolved when ``shape`` is known.

    Accepts a tuple/list/array/tensor of two integers, ``au.strongest_head``'s
    ``(layer, head, value)``, a dict with ``layer``/``head``, or ``"L2-H3"``.
    A flat index (one integer, as ``argmax()`` gives) and numbers out of range
    (1-based numbers from a paper) get messages that say how to fix them.
    """
    __tracebackhide__ = True
    pair = None
    if not isinstance(answer, (str, bytes, Mapping)) and hasattr(answer, "__len__") and not is_tensor(answer):
        try:  # a one-element list / MultiIndex / array holding the pair (stats[col].nlargest(1).index)
            inner = list(answer)[0] if len(answer) == 1 else None
        except Exception:
            inner = None
        if inner is not None and not isinstance(inner, (str, bytes)) and hasattr(inner, "__len__") and len(inner) in (2, 3):
            answer = inner
    if isinstance(answer, Mapping) and "layer" in answer and "head" in answer:
        pair = (_integral(answer["layer"]), _integral(answer["head"]))
    elif isinstance(answer, bytes):
        pair = None
    elif isinstance(answer, str):
        m = _LH.match(answer)
        pair = (int(m.group(1)), int(m.group(2))) if m else None
    elif _integral(answer) is not None:
        flat = _integral(answer)
        where = ""
        if shape is not None and 0 <= flat < int(np.prod(shape)):
            where = f" (この番号なら {tuple(int(i) for i in np.unravel_index(flat, tuple(shape)))})"
        raise ExerciseError(f"{name} が整数 1 つ ({flat}) です。argmax() は平らにした番号を返すので、"
                            f"np.unravel_index(番号, 形) で (層, ヘッド) の組に直しましょう{where}。")
    else:
        try:
            items = list(answer.detach().cpu().tolist() if is_tensor(answer) else answer)
        except TypeError:
            items = None
        if items is not None and (len(items) == 2 or (len(items) == 3 and _integral(items[2]) is None)):
            pair = (_integral(items[0]), _integral(items[1]))
    if pair is None or None in pair:
        raise ExerciseError(f"{name} は (層, ヘッド) の 2 つの整数の組、たとえば (0, 2) で答えてください。"
                            f" いまの答え: {_short(answer)}")
    layer, head = pair
    if shape is not None:
        n_layers, n_heads = int(shape[0]), int(shape[1])
        if not (-n_layers <= layer < n_layers and -n_heads <= head < n_heads):
            hint = ""
            if layer == n_layers or head == n_heads:
                hint = " 論文の 1 始まりの番号ではありませんか? コードでは層もヘッドも 0 から数えます。"
            elif -n_layers <= head < n_layers and -n_heads <= layer < n_heads:
                hint = " (層, ヘッド) の順番が逆ではありませんか?"
            raise ExerciseError(f"{name} {(layer, head)} は範囲の外です: 層は 0〜{n_layers - 1}、ヘッドは 0〜{n_heads - 1} "
                                f"(0 始まり; 負の番号は後ろから)。{hint}")
        layer, head = layer % n_layers, head % n_heads
    return layer, head


def judge_head(answer: Any, values: np.ndarray, name: str, describe: Callable[[int, int, int, int], str],
               tol: float = 1e-9, candidates: Iterable[tuple[str, Callable[[], Any]]] = ()) -> tuple[int, int]:
    """Accept ``answer`` when ``values[layer, head]`` is (tied for) the largest; else say which mistake it looks like.

    ``describe(layer, head, best_layer, best_head)`` words the plain "not the largest" message;
    ``candidates`` are ``(hint, thunk)`` where the thunk gives the ``[layer, head]`` values a
    common mistake uses (an answer that is their argmax gets the hint).
    """
    __tracebackhide__ = True
    values = np.asarray(values, dtype=float)
    layer, head = as_layer_head(answer, name, values.shape)
    top = values.max()
    if values[layer, head] >= top - tol:
        return layer, head
    l2, h2 = (int(i) for i in np.unravel_index(values.argmax(), values.shape))
    L, H = values.shape
    hints = []  # every slip that gives this answer
    if 1 <= layer <= L and 1 <= head <= H and values[layer - 1, head - 1] >= top - tol:
        hints.append("1 始まりで数えていませんか? コードでは層もヘッドも 0 から数えます。")
    if head < L and layer < H and values[head, layer] >= top - tol:
        hints.append("順番が逆ではありませんか? (層, ヘッド) の順に書きます。")
    for text, thunk in candidates:
        try:
            other = np.asarray(thunk(), dtype=float)
        except Exception:
            continue
        if other.shape == values.shape and other[layer, head] >= other.max() - tol:
            hints.append(text)
    if values[layer, head] <= values.min() + tol:
        hints.append("それは最小のヘッドです: argmin ではなく argmax を取りましょう。")
    hint = (" " + " あるいは: ".join(hints)) if hints else ""
    raise ExerciseError(describe(layer, head, l2, h2) + hint)


def _flatten_single(answer: Any) -> Any:
    """A one-element list / Index / array / Series stands for its element."""
    if is_tensor(answer) and answer.numel() == 1:
        return answer.item()
    if isinstance(answer, (list, tuple)) and len(answer) == 1:
        return answer[0]
    if hasattr(answer, "__len__") and hasattr(answer, "tolist") and not isinstance(answer, str):
        try:
            items = answer.tolist()
        except Exception:
            return answer
        if isinstance(items, list) and len(items) == 1:
            return items[0]
        if not isinstance(items, list):
            return items
    return answer


def as_position(answer: Any, labels: Sequence[str], name: str = "答え", tokens: Sequence[str] | None = None
                ) -> tuple[int, str]:
    """``(position, how)`` for an answer given as a label, a (unique) token or a 0-based position.

    ``how`` says which form the learner used ("ラベル 'dog'" or "位置 2 (= 'dog')").
    """
    __tracebackhide__ = True
    answer = _flatten_single(answer)
    n = len(labels)
    if isinstance(answer, (bool, np.bool_)):
        raise ExerciseError(f"{name} はラベル (文字列) か位置 (整数) のはずですが、True/False でした。")
    if isinstance(answer, str):
        if answer in labels:
            return list(labels).index(answer), f"ラベル {answer!r}"
        if tokens is not None:
            hits = [i for i, t in enumerate(tokens) if t == answer]
            if len(hits) == 1:
                return hits[0], f"トークン {answer!r}"
            if len(hits) > 1:
                raise ExerciseError(f"{name} {answer!r} は文に {len(hits)} 回出てきます。ラベル "
                                    f"({', '.join(repr(labels[i]) for i in hits)}) か位置で答えましょう。")
        raise ExerciseError(f"{name} {answer!r} は候補にありません。候補: {', '.join(map(repr, labels))}")
    pos = _integral(answer)
    if pos is None:
        if isinstance(answer, (float, np.floating)):
            raise ExerciseError(f"{name} が数 {float(answer):.3g} です。重みの値ではなく、その key のラベル "
                                "(.idxmax()) か位置 (.argmax()) で答えましょう。")
        raise ExerciseError(f"{name} はラベル (文字列) か位置 (整数) のはずですが、{type(answer).__name__} でした。")
    if not -n <= pos < n:
        raise ExerciseError(f"{name} の位置 {pos} は範囲の外です (0〜{n - 1})。")
    pos %= n
    return pos, f"位置 {pos} (= {labels[pos]!r})"


def judge_key(answer: Any, scores: np.ndarray, labels: Sequence[str], name: str, tokens: Sequence[str] | None = None,
              candidates: Iterable[tuple[str, Callable[[], Any]]] = ()) -> tuple[int, str]:
    """Accept a label/position whose score is (tied for) the largest of ``scores`` (``-inf`` = not allowed).

    ``candidates`` are ``(hint, thunk)``: the thunk gives the scores a common mistake
    uses; an answer that is the argmax of those scores gets the hint.
    """
    __tracebackhide__ = True
    scores = np.asarray(scores, dtype=float)
    pos, how = as_position(answer, labels, name, tokens)
    top = scores.max()
    if np.isfinite(scores[pos]) and np.isclose(scores[pos], top, rtol=1e-6, atol=1e-9):
        return pos, how
    hints = []  # every mistake that gives this answer (one answer can fit two slips)
    if how.startswith("位置") and _integral(_flatten_single(answer)) is not None and _integral(_flatten_single(answer)) > 0 \
            and np.isfinite(scores[pos - 1]) and np.isclose(scores[pos - 1], top, rtol=1e-6, atol=1e-9):
        hints.append(f"位置が 1 つずれていませんか? 位置は 0 から数えます (いちばん大きいのは位置 {pos - 1} の {labels[pos - 1]!r})。")
    for hint, thunk in candidates:
        try:
            with np.errstate(all="ignore"):
                other = np.asarray(thunk(), dtype=float)
        except Exception:
            continue
        if other.shape == scores.shape and np.isclose(other[pos], other.max(), rtol=1e-6, atol=1e-9) \
                and hint not in hints:
            hints.append(hint)
    if hints:
        raise ExerciseError(" あるいは: ".join(hints))
    best = int(np.argmax(scores))
    mine = f"{scores[pos]:.3g}" if np.isfinite(scores[pos]) else "対象外"
    raise ExerciseError(f"{name} は {labels[pos]!r} ({mine}) ではありません。いちばん大きいのは {labels[best]!r} "
                        f"({top:.3g}) です。")


def keyed_numbers(values: Any, keys: Sequence[str], *, name: str, key_word: str, what: str,
                  number: Callable[[Any, str], float] | None = None,
                  label: Callable[[str], str] | None = None) -> dict[str, float]:
    """``{key: number}`` from a dict, a pandas Series indexed by the keys or a one-column (one-row) DataFrame.

    Args:
        values: the learner's answer.
        keys: the keys the answer must have (e.g. the sentences, or the corpus names).
        name: the answer's name in messages (``"diffs"``).
        key_word: what the keys are, in Japanese (``"文"``, ``"コーパスの名前"``).
        what: what the numbers are (``"差"``, ``"割合"``).
        number: reads one number, given the value and its label (default :func:`to_number`).
        label: the label of one value in messages (default ``name[key]``).
    """
    __tracebackhide__ = True
    number = number or to_number
    if hasattr(values, "columns") and hasattr(values, "squeeze"):  # a DataFrame of one column (or one row)
        if 1 not in values.shape:
            raise ExerciseError(f"{name} の表が {values.shape[0]} 行 {values.shape[1]} 列です。{key_word}をキーにした辞書 "
                                f"{{{key_word}: {what}}} (または 1 列の表) にしましょう。")
        values = values.squeeze(axis=1 if values.shape[1] == 1 else 0)
    if hasattr(values, "to_dict") and hasattr(values, "index"):  # a pandas Series
        values = values.to_dict()
    if not isinstance(values, Mapping):
        why = (f" 値の並びだけでは、どれがどの{key_word}の値か分かりません。"
               if isinstance(values, (list, tuple, np.ndarray)) or is_tensor(values) else "")
        raise ExerciseError(f"{name} は{key_word}をキーにした辞書 {{{key_word}: {what}}} のはずですが、"
                            f"{type(values).__name__} でした。{why}")
    got = [str(k) for k in values]
    if sorted(got) != sorted(keys):
        raise ExerciseError(f"{name} は{key_word}をキーにした辞書にしましょう: キーは {list(keys)} のはずですが、{got} でした。")
    by_key = {str(k): v for k, v in values.items()}
    label = label or (lambda k: f"{name}[{k!r}]")
    return {k: number(by_key[k], label(k)) for k in keys}
