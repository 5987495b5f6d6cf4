"""The package's exceptions. Each is also the builtin a Python user would catch.

======================  =====================================  ==========================
class                   raised for                             also an instance of
======================  =====================================  ==========================
AttentionError          any bad input to the package's         ValueError
                        functions (the common base)
AttentionTypeError      a wrong type (a number for a text,     AttentionError, TypeError
                        a float for a layer; a model that is
                        not BERT-style where that is needed)
AttentionIndexError     a layer, head or token position out    AttentionError, IndexError
                        of range
TokenNotFoundError      a token label that is absent           AttentionError, KeyError
AmbiguousTokenError     a token that occurs more than once     AttentionError, KeyError
EmptyTextError          an empty or white-space-only text      AttentionError (ValueError)
ModelNotAvailableError  a model that cannot be had here        OSError (as transformers'
                                                               ``from_pretrained``)
======================  =====================================  ==========================

``except AttentionError`` catches every input error, as before; ``except
KeyError`` catches a missing token as it would with ``DataFrame.loc``.
"""
from __future__ import annotations

__all__ = [
    "AttentionError",
    "AttentionTypeError",
    "AttentionIndexError",
    "TokenNotFoundError",
    "AmbiguousTokenError",
    "EmptyTextError",
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


class ModelNotAvailableError(OSError):
    """The requested model can be loaded neither from the Hub nor offline."""
