"""Which line a warning names, counted the way ``warnings.warn`` counts ``stacklevel``, but robust to mutmut.

Under mutation testing every package function is called through one of
mutmut's trampolines (a frame in a ``mutmut.*`` module), so the real
``warnings.warn`` would land one frame short. ``named_lines`` wraps
``warnings.warn``, walks ``stacklevel`` frames while stepping over trampoline
frames, and records the (file, line) it reaches; the warning itself is still
issued. Outside mutmut there are no such frames and the walk is exactly
Python's.
"""
import contextlib
import sys
import warnings


@contextlib.contextmanager
def named_lines(monkeypatch, wanted, match=""):
    """Yield a list that fills with ``(filename, lineno)`` for each warning of category ``wanted`` whose
    message contains ``match``."""
    real_warn, named = warnings.warn, []

    def spy(message, category=None, stacklevel=1, **kwargs):
        frame = sys._getframe(1)  # stacklevel 1: the function that called warn()
        for _ in range(stacklevel - 1):
            frame = frame.f_back
            while frame is not None and frame.f_globals.get("__name__", "").startswith("mutmut"):
                frame = frame.f_back
        cat = category if category is not None else (type(message) if isinstance(message, Warning) else UserWarning)
        if issubclass(cat, wanted) and match in str(message):
            named.append((frame.f_code.co_filename, frame.f_lineno) if frame is not None else None)
        real_warn(message, category, stacklevel=stacklevel + 1, **kwargs)

    monkeypatch.setattr(warnings, "warn", spy)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        yield named


def names_marked_line(named, test_file, mark="the line the warning must name"):
    """True when exactly one warning was recorded and it names the line of ``test_file`` carrying ``mark``."""
    if len(named) != 1 or named[0] is None or named[0][0] != test_file:
        return False
    return mark in open(test_file, encoding="utf-8").read().splitlines()[named[0][1] - 1]
