"""Self-checks for the notebooks' exercises (「練習」).

>>> from attn_utils import exercises as ex
>>> ex.check_softmax(my_softmax)      # ✅ ... / ExerciseError("行の和が 1 になっていません ...")

``core`` holds the machinery and the generic checks (shape, closeness, rows
summing to 1, argmax, type); ``checks`` holds one check per exercise.
"""
from .checks import *  # noqa: F401,F403
from .checks import __dict__ as _checks
from .core import (
    NOT_YET,
    ExerciseError,
    check_argmax,
    check_close,
    check_equal,
    check_rows_sum_to_one,
    check_shape,
    check_type,
    exercise,
    unanswered,
)

#: Every per-exercise check, by name (each has a ``title``).
CHECKS = {name: fn for name, fn in sorted(_checks.items()) if name.startswith("check_") and hasattr(fn, "title")}
