"""Which line a warning names: Python's own record of it (``catch_warnings(record=True)``).

The package computes each warning's ``stacklevel`` at the call
(``attn_utils.errors.user_stacklevel``), stepping over its own frames and over
mutmut's trampolines, so the line recorded here is the learner's line both in a
plain run and under mutation testing.
"""
import contextlib
import warnings


@contextlib.contextmanager
def named_lines(wanted, match=""):
    """Yield a list that fills with ``(filename, lineno)`` for each warning of category ``wanted`` whose
    message contains ``match``."""
    named = []
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        yield named
    named.extend((w.filename, w.lineno) for w in caught if issubclass(w.category, wanted) and match in str(w.message))


def names_marked_line(named, test_file, mark="the line the warning must name"):
    """True when exactly one warning was recorded and it names the line of ``test_file`` carrying ``mark``."""
    if len(named) != 1 or named[0][0] != test_file:
        return False
    return mark in open(test_file, encoding="utf-8").read().splitlines()[named[0][1] - 1]
