"""Self-checks for the notebooks' exercises (「練習」).

>>> from attn_utils import exercises as ex
>>> ex.check_softmax(my_softmax)      # ✅ ... / ExerciseError("行の和が 1 になっていません ...")

``core`` holds the machinery and the generic checks (shape, closeness, rows
summing to 1, argmax, type); ``checks`` (notebooks 01-03), ``checks_further``
(04-06) and ``checks_toy`` (07) hold one check per exercise.
"""
from . import checks, checks_further, checks_toy
from .checks import *  # noqa: F401,F403
from .checks_further import *  # noqa: F401,F403
from .checks_toy import *  # noqa: F401,F403
from .core import (
    GUESS_FIRST,
    NOT_YET,
    ExerciseError,
    check_argmax,
    check_close,
    check_equal,
    check_rows_sum_to_one,
    check_shape,
    check_type,
    empty_guess,
    exercise,
    unanswered,
)

#: Every per-exercise check, by name (each has a ``title``).
CHECKS = {name: fn for module in (checks, checks_further, checks_toy) for name, fn in sorted(vars(module).items())
          if name.startswith("check_") and hasattr(fn, "title")}
