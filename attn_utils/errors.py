"""The package's exceptions; each is also the builtin a Python user would catch.

``AttentionError`` (a ``ValueError``) is the base of every input error, so
``except AttentionError`` catches them all; the subclasses add ``TypeError``,
``IndexError`` or ``KeyError``. ``ModelNotAvailableError`` is an ``OSError``, as
transformers' ``from_pretrained`` raises. The README's "Bad input" table lists
which input raises which. ``user_stacklevel`` makes the package's warnings name
the learner's line.
"""
from __future__ import annotations

import sys

__all__ = [
    "AttentionError",
    "AttentionTypeError",
    "AttentionIndexError",
    "TokenNotFoundError",
    "AmbiguousTokenError",
    "EmptyTextError",
    "TreebankError",
    "ModelNotAvailableError",
]


class AttentionError(ValueError):
    """Bad input to extraction, analysis or an Attention accessor; the message says what is valid."""


class AttentionTypeError(AttentionError, TypeError):
    """An argument of the wrong type (the message names the type expected and the one given)."""


class AttentionIndexError(AttentionError, IndexError):
    """A layer, head or token position out of range (the message names the valid range)."""


class _MessageKeyError(AttentionError, KeyError):
    """A KeyError whose ``str()`` is the message itself, not its ``repr`` in quotes."""

    def __str__(self) -> str:
        return str(self.args[0]) if len(self.args) == 1 else super().__str__()


class TokenNotFoundError(_MessageKeyError):
    """A token that is not in the text (the message lists every token with its position)."""


class AmbiguousTokenError(_MessageKeyError):
    """A token that occurs more than once (the message names the labels that tell them apart)."""


class EmptyTextError(AttentionError):
    """A text (or a list of texts) with nothing to attend to."""


class TreebankError(AttentionError):
    """A CoNLL-U sentence that breaks a rule the package relies on (the message names the file, the line and the rule)."""


class ModelNotAvailableError(OSError):
    """The requested model can be loaded neither from the Hub nor offline."""


def user_stacklevel() -> int:  # pragma: no mutate block (a trampoline around this very call adds a frame)
    """The ``stacklevel`` at which ``warnings.warn`` names the learner's line: the first frame outside attn_utils.

    Write ``warnings.warn(..., stacklevel=user_stacklevel())`` in the function that
    warns. A fixed number cannot do this: ``load_e5`` and ``load_model`` reach the e5
    cache warning, ``extract`` and ``token_ablation`` the long-text one, through
    different depths of the package. Mutation testing's trampolines (frames of ``mutmut``, which wrap every
    package function during ``make mutate``) are stepped over like the package's own.
    This function itself is left unmutated, so that no trampoline sits between it and
    its caller; ``tests/test_warning_lines.py`` checks it directly.
    """
    frame, level = sys._getframe(1), 1  # level 1: the function that calls warnings.warn
    while frame is not None and frame.f_globals.get("__name__", "").partition(".")[0] in _INSIDE:
        frame, level = frame.f_back, level + 1
    return level


_INSIDE = (__name__.partition(".")[0], "mutmut")
