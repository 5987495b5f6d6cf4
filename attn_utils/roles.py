"""Role or position? The minimal-pair effects of notebooks 04 and 07.

A head whose verb row prefers one of two nouns may follow the noun's
grammatical *role* (the noun marked by が versus the other one) or its
*position* (the noun nearer the verb, i.e. the second noun). Sentences that
swap the nouns and their order tell the two apart (a counterbalanced set):

- role effect ``R`` = weight on the role-A noun (が) minus weight on the
  role-B noun (を, に, ...), averaged over the sentences;
- position effect ``P`` = weight on the second noun minus weight on the first,
  averaged over the sentences.

``direction="verb->noun"`` reads the verb's row (query = verb, key = noun),
``"noun->verb"`` the nouns' rows (query = noun, key = verb), the direction in
which Clark et al. (2019) found most relation heads (dependent -> head).

Words are explicit character spans (``Attention.to_words(words=...)``), so
models with different tokenizers are measured on the same words. The same code
serves notebook 04 (real models) and notebook 07 (a toy BERT trained from
scratch, :mod:`attn_utils.toy`).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Sequence

import numpy as np

from .errors import AttentionError, AttentionIndexError, AttentionTypeError

__all__ = ["RoleItem", "RoleEffects", "role_position", "passing", "frame_items", "DIRECTIONS"]

Span = tuple[int, int]
DIRECTIONS = ("verb->noun", "noun->verb")


@dataclass(frozen=True)
class RoleItem:
    """One sentence of a minimal-pair set.

    Attributes:
        text: the sentence.
        words: word spans ``[(start, end), ...]`` into ``text`` (in order).
        verb: index into ``words`` of the verb.
        role_a: index into ``words`` of the role-A noun (the が-noun).
        role_b: index into ``words`` of the role-B noun (the を- or に-noun).
    """

    text: str
    words: tuple[Span, ...]
    verb: int
    role_a: int
    role_b: int

    def __post_init__(self) -> None:
        n = len(self.words)
        for name in ("verb", "role_a", "role_b"):
            value = getattr(self, name)
            if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
                raise AttentionTypeError(f"RoleItem.{name} must be a word index (int), got {value!r}")
            if not 0 <= value < n:
                raise AttentionIndexError(
                    f"RoleItem.{name}={value} is out of range for {n} words of {self.text!r} (valid: 0..{n - 1})"
                )
        if len({self.verb, self.role_a, self.role_b}) != 3:
            raise AttentionError(
                f"RoleItem {self.text!r}: verb, role_a and role_b must be three different words, "
                f"got {self.verb}, {self.role_a}, {self.role_b}"
            )

    @property
    def a_is_second(self) -> bool:
        """True when the role-A noun comes after the role-B noun (nearer the verb in SOV/OSV)."""
        return self.role_a > self.role_b


@dataclass
class RoleEffects:
    """Per-sentence differences ``[sentence, layer, head]`` and their means.

    Attributes:
        role: weight(role-A noun) - weight(role-B noun), per sentence.
        position: weight(second noun) - weight(first noun), per sentence.
        mass: weight(role-A noun) + weight(role-B noun), per sentence.
        a_is_second: ``[sentence]`` bool, the order of each sentence.
        direction: ``"verb->noun"`` or ``"noun->verb"``.
    """

    role: np.ndarray
    position: np.ndarray
    mass: np.ndarray
    a_is_second: np.ndarray
    direction: str

    @property
    def R(self) -> np.ndarray:
        """Role effect ``[layer, head]``: the mean of ``role`` over the sentences."""
        return self.role.mean(0)

    @property
    def P(self) -> np.ndarray:
        """Position effect ``[layer, head]``: the mean of ``position`` over the sentences."""
        return self.position.mean(0)

    def by_order(self) -> tuple[np.ndarray, np.ndarray]:
        """Mean role difference ``[layer, head]`` in the A-first sentences and in the A-second sentences.

        A head that follows the role has the same sign in both; one that follows
        the position flips sign; unequal sizes of the same sign are an order x role
        interaction that neither ``R`` nor ``P`` alone names.
        """
        first, second = ~self.a_is_second, self.a_is_second
        if not first.any() or not second.any():
            raise AttentionError("by_order() needs sentences in both orders (role-A noun first and second)")
        return self.role[first].mean(0), self.role[second].mean(0)


def frame_items(a: str, b: str, verb: str, marks: tuple[str, str] = ("が", "を"),
                prefix: Sequence[str] = ("今日", "、"), of: str = "noun") -> list[RoleItem]:
    """The four counterbalanced sentences of one set, as in notebook 04's frame 「今日、犬が猫を追う」.

    The sentences are ``a-ga b-o V``, ``b-ga a-o V`` (role-A noun first) and ``b-o a-ga V``,
    ``a-o b-ga V`` (role-A noun second), so role, order and noun vary independently.
    Words: the ``prefix`` words, then noun, mark, noun, mark, verb.

    Args:
        a, b: the two nouns.
        verb: the verb (one word).
        marks: the role-A and role-B markers (``("が", "を")``; ``("が", "に")`` for a passive).
        prefix: words before the first noun (「今日」「、」 keeps e5's sentence-initial ``▁`` off the nouns).
        of: ``"noun"``: role_a/role_b are the nouns; ``"particle"``: they are the two markers.

    Returns:
        four :class:`RoleItem`, in the order above (``a_is_second``: False, False, True, True).
    """
    if of not in ("noun", "particle"):
        raise AttentionError(f"of must be 'noun' or 'particle', got {of!r}")
    ma, mb = marks
    orders = [((a, ma), (b, mb)), ((b, ma), (a, mb)), ((b, mb), (a, ma)), ((a, mb), (b, ma))]
    items = []
    for first, second in orders:
        words = [*prefix, first[0], first[1], second[0], second[1], verb]
        spans, start = [], 0
        for w in words:
            spans.append((start, start + len(w)))
            start += len(w)
        k = len(prefix)
        a_first = first[1] == ma                       # the role-A mark follows the first noun
        na, nb = (k, k + 2) if a_first else (k + 2, k)  # noun positions of role A and role B
        ia, ib = (na, nb) if of == "noun" else (na + 1, nb + 1)
        items.append(RoleItem("".join(words), tuple(spans), len(words) - 1, ia, ib))
    return items


def _word_position(att: Any, span: Span, text: str) -> int:
    spans = list(att.spans or [])
    if tuple(span) not in [tuple(s) if s is not None else None for s in spans]:
        raise AttentionError(
            f"the word {text[span[0]:span[1]]!r} {tuple(span)} of {text!r} is not a word of its own after "
            "to_words(): a token crosses its boundary, so its weight cannot be told apart "
            f"(word spans: {spans})"
        )
    return [tuple(s) if s is not None else None for s in spans].index(tuple(span))


def role_position(lm: Any, items: Sequence[RoleItem], direction: str = "verb->noun",
                  renormalize: bool = False, batch_size: int = 32) -> RoleEffects:
    """Role and position differences per sentence, layer and head.

    Args:
        lm: a LoadedModel (anything :func:`attn_utils.extract` takes).
        items: the sentences, each a :class:`RoleItem`.
        direction: ``"verb->noun"`` (the verb's row) or ``"noun->verb"`` (each noun's row, key = verb).
        renormalize: divide each row by its weight off the special tokens (first and last), so the
            words' weights sum to 1 (exploratory: it also magnifies tiny differences).
        batch_size: sentences per forward pass.

    Returns:
        :class:`RoleEffects` with arrays ``[sentence, layer, head]``.
    """
    from .extract import extract

    if direction not in DIRECTIONS:
        raise AttentionError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    items = list(items)
    if not items:
        raise AttentionError("role_position() needs at least one RoleItem")
    bad = [i for i in items if not isinstance(i, RoleItem)]
    if bad:
        raise AttentionTypeError(f"role_position() takes RoleItem objects, got {type(bad[0]).__name__}: {bad[0]!r}")
    atts = extract(lm, [i.text for i in items], batch_size=batch_size)
    role, pos, mass = [], [], []
    for item, att in zip(items, atts):
        w = att.to_words(words=list(item.words))
        weights = w.weights.astype(np.float64)                       # [layer, head, query, key]
        if renormalize:
            weights = weights / (1 - weights[..., :1] - weights[..., -1:])
        v, a, b = (_word_position(w, item.words[k], item.text) for k in (item.verb, item.role_a, item.role_b))
        if direction == "verb->noun":
            to_a, to_b = weights[:, :, v, a], weights[:, :, v, b]     # [layer, head]
        else:
            to_a, to_b = weights[:, :, a, v], weights[:, :, b, v]
        d = to_a - to_b
        role.append(d)
        pos.append(d if item.a_is_second else -d)
        mass.append(to_a + to_b)
    return RoleEffects(np.array(role), np.array(pos), np.array(mass),
                       np.array([i.a_is_second for i in items]), direction)


def passing(diff: np.ndarray, threshold: float = 0.05, sign: int | None = None) -> np.ndarray:
    """``[layer, head]`` mask: the sign agrees in every sentence and ``|mean| >= threshold``.

    Args:
        diff: ``[sentence, layer, head]`` differences (``RoleEffects.role`` or ``.position``).
        threshold: the smallest mean difference that counts.
        sign: ``+1`` or ``-1`` to count only heads whose mean has that sign (e.g. ``+1``: the
            role-A noun, or the second noun, gets more); ``None`` counts both signs.
    """
    from .extract import host_array

    diff = host_array(diff, dtype=np.float64)
    if diff.ndim != 3:
        raise AttentionError(f"passing() takes differences [sentence, layer, head], got shape {diff.shape}")
    if sign not in (None, 1, -1):
        raise AttentionError(f"sign must be None, 1 or -1, got {sign!r}")
    mean = diff.mean(0)
    ok = (np.abs(np.sign(diff).sum(0)) == len(diff)) & (np.abs(mean) >= threshold)
    if sign is not None:
        ok &= np.sign(mean) == sign
    return ok
