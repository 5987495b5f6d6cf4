"""Pull attention out of a model and label it with the tokens it belongs to.

Shape vocabulary: ``[layer, head, query, key]``. Row = query ("who is
looking"), column = key ("who is looked at"); every row sums to 1.
"""
from __future__ import annotations

import inspect
import sys
import warnings
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np
import pandas as pd

from .words import max_tokens as _max_tokens
from .words import token_spans
from .errors import (
    AmbiguousTokenError,
    AttentionError,
    AttentionIndexError,
    AttentionTypeError,
    EmptyTextError,
    TokenNotFoundError,
    user_stacklevel,
)

__all__ = ["Attention", "extract", "AttentionError"]

SPECIAL_TOKENS = ("[CLS]", "[SEP]", "[PAD]", "<s>", "</s>", "<pad>", "<|endoftext|>")


def _unique_labels(tokens: Sequence[str]) -> list[str]:
    """Readable, unique labels: a token that occurs more than once gets ``_<position>``."""
    counts: dict[str, int] = {}
    for tok in tokens:
        counts[tok] = counts.get(tok, 0) + 1
    labels = [f"{tok}_{i}" if counts[tok] > 1 else tok for i, tok in enumerate(tokens)]
    seen: set[str] = set()
    for i, lab in enumerate(labels):  # guard against a token that already looks like "x_3"
        while lab in seen:
            lab = f"{lab}'"
        labels[i] = lab
        seen.add(lab)
    return labels


@dataclass
class Attention:
    """The attention of one text: weights plus the tokens they belong to.

    Attributes:
        tokens: the tokens exactly as the tokenizer gives them, incl. [CLS]/[SEP].
        weights: float32 array ``[layer, head, query, key]``; each row sums to 1.
        word_ids: for each token the index of the word it belongs to
            (``None`` for special tokens), used by :meth:`to_words`.
        text: the text the tokens came from.
        caption: which model produced it, for figure titles.
        spans: for each token its ``(start, end)`` character span in ``text``
            (``None`` for special tokens), filled by :func:`extract`; optional
            for hand-built objects (see :mod:`attn_utils.words`).
        merged_words: after :meth:`to_words`, how many words were merged into
            their neighbour because a token straddles both (else 0).
        left_out: after :meth:`to_words`, the tokens that no word holds (a
            bare "▁" after the last word, a token outside every given word):
            ``(entry, token, reason)``, where ``entry`` is the token's own row
            and column in the word-level Attention, labelled by the token.
    """

    tokens: list[str]
    weights: np.ndarray
    word_ids: list[int | None] | None = None
    text: str = ""
    caption: str = ""
    spans: list[tuple[int, int] | None] | None = None
    merged_words: int = 0
    left_out: list[tuple[int, str, str]] = field(default_factory=list)
    labels: list[str] = field(init=False)

    def __post_init__(self) -> None:
        self.weights = host_array(self.weights, dtype=np.float32)
        if self.weights.ndim != 4:
            raise AttentionError(f"weights must be [layer, head, query, key], got shape {self.weights.shape}")
        n = len(self.tokens)
        if self.weights.shape[2:] != (n, n):
            raise AttentionError(f"weights end in {self.weights.shape[2:]}, but there are {n} tokens")
        if self.spans is not None and len(self.spans) != n:
            raise AttentionError(f"{len(self.spans)} spans for {n} tokens: give one span (or None) per token")
        self.labels = _unique_labels(self.tokens)

    # --- sizes -----------------------------------------------------------------
    @property
    def num_layers(self) -> int:
        return int(self.weights.shape[0])

    @property
    def num_heads(self) -> int:
        return int(self.weights.shape[1])

    def __len__(self) -> int:
        return len(self.tokens)

    def __repr__(self) -> str:
        return (
            f"Attention({len(self.tokens)} tokens, {self.num_layers} layers x {self.num_heads} heads"
            + (f", {self.caption}" if self.caption else "")
            + f"): {' '.join(self.tokens)}"
        )

    # --- validation ------------------------------------------------------------
    def layer_index(self, layer: int) -> int:
        """Check a layer index (negative counts from the end) and return it as 0..L-1."""
        return _check_index(layer, self.num_layers, "layer")

    def head_index(self, head: int) -> int:
        """Check a head index (negative counts from the end) and return it as 0..H-1."""
        return _check_index(head, self.num_heads, "head")

    def position(self, token: str | int) -> int:
        """The position of a token, given as a string, a label (``"the_4"``) or a position.

        Raises:
            TokenNotFoundError / AmbiguousTokenError (both ``KeyError``): the
                token is absent or occurs more than once; the message lists
                every token with its position.
            AttentionIndexError (``IndexError``): a position out of range.
            AttentionTypeError (``TypeError``): neither a string nor an integer.
        """
        listing = ", ".join(f"{i}:{t}" for i, t in enumerate(self.tokens))
        if isinstance(token, (int, np.integer)) and not isinstance(token, bool):
            return _check_index(int(token), len(self.tokens), "token position")
        if not isinstance(token, str):
            raise AttentionTypeError(f"A token is a string or a position, got {token!r}. Tokens: {listing}")
        if token in self.labels:
            return self.labels.index(token)
        hits = [i for i, t in enumerate(self.tokens) if t == token]
        if not hits:  # forgive case: "Chased" for an uncased model
            hits = [i for i, t in enumerate(self.tokens) if t.lower() == token.lower()]
        if len(hits) == 1:
            return hits[0]
        if not hits:
            raise TokenNotFoundError(f"{token!r} is not one of the tokens. Tokens (position:token): {listing}")
        options = " or ".join(f"{i} / {self.labels[i]!r}" for i in hits)
        raise AmbiguousTokenError(
            f"{token!r} occurs {len(hits)} times; pass a position or a label: {options}. "
            f"Tokens (position:token): {listing}"
        )

    # --- views -----------------------------------------------------------------
    def frame(self, layer: int = -1, head: int = 0) -> pd.DataFrame:
        """One head's attention as a table.

        Returns:
            DataFrame ``[query, key]``: index = query labels, columns = key labels.
        """
        w = self.weights[self.layer_index(layer), self.head_index(head)]
        return pd.DataFrame(
            w,
            index=pd.Index(self.labels, name="query"),
            columns=pd.Index(self.labels, name="key"),
        )

    def query(self, token: str | int, layer: int = -1) -> pd.DataFrame:
        """Where one token looks, in every head of one layer.

        Returns:
            DataFrame ``[head, key]``: index = head (0-based), columns = key labels.
        """
        q = self.position(token)
        w = self.weights[self.layer_index(layer), :, q, :]
        out = pd.DataFrame(
            w,
            index=pd.RangeIndex(self.num_heads, name="head"),
            columns=pd.Index(self.labels, name="key"),
        )
        out.attrs["query"] = self.labels[q]
        return out

    def pair(self, query: str | int, key: str | int) -> pd.DataFrame:
        """The weight from ``query`` to ``key`` in every layer and head.

        Returns:
            DataFrame ``[layer, head]``: index = layer, columns = head (both 0-based).
        """
        q, k = self.position(query), self.position(key)
        out = pd.DataFrame(
            self.weights[:, :, q, k],
            index=pd.RangeIndex(self.num_layers, name="layer"),
            columns=pd.RangeIndex(self.num_heads, name="head"),
        )
        out.attrs["pair"] = (self.labels[q], self.labels[k])
        return out

    def tidy(self) -> pd.DataFrame:
        """Every weight as one row.

        Returns:
            long DataFrame with columns layer, head, query_pos, query, key_pos, key, weight.
        """
        L, H, n, _ = self.weights.shape
        layer, head, qpos, kpos = np.meshgrid(
            np.arange(L), np.arange(H), np.arange(n), np.arange(n), indexing="ij"
        )
        labels = np.array(self.labels, dtype=object)
        return pd.DataFrame(
            {
                "layer": layer.ravel(),
                "head": head.ravel(),
                "query_pos": qpos.ravel(),
                "query": labels[qpos.ravel()],
                "key_pos": kpos.ravel(),
                "key": labels[kpos.ravel()],
                "weight": self.weights.ravel(),
            }
        )

    def to_words(self, words: Sequence[tuple[int, int]] | None = None) -> "Attention":
        """Merge tokens into words: sum over key pieces, mean over query pieces.

        With token ``spans`` (filled by :func:`extract`), tokens are grouped by
        the words their characters fall in (see :mod:`attn_utils.words`), the
        same way for every tokenizer. Without spans (hand-built objects),
        ``word_ids`` or ``##`` continuation pieces decide.

        Args:
            words: word spans ``[(start, end), ...]`` into ``self.text``, in
                order, not overlapping (e.g. a treebank's words). Default:
                ``word_spans(self.text)``: MeCab words for Japanese,
                whitespace words otherwise.

        Returns:
            A word-level :class:`Attention` ``[layer, head, word, word]``: rows
            still sum to 1; special tokens stay as their own "words"; its
            ``spans`` are the words' spans and ``merged_words`` counts words
            merged because a token straddles them. A token that covers no
            character of any word stays an entry of its own, labelled by the
            token, with span ``None``, and is listed in ``left_out`` with the reason.

        Raises:
            AttentionTypeError: ``words`` is not a list of ``(start, end)`` integer pairs
                (floats and bools are refused, not rounded).
            AttentionError: ``words=[]``, or spans out of order, overlapping or outside the text.
        """
        from . import words as W

        left_out: list[tuple[int, str, str]] = []
        if words is not None and not isinstance(words, (str, bytes)) and hasattr(words, "__len__") and not len(words):
            raise AttentionError("to_words(words=[]) has no word: give at least one (start, end) span, "
                                 "or leave words out for the default words of the text.")
        if self.spans is None:
            if words is not None:
                raise AttentionError(
                    "to_words(words=...) needs each token's character span; this Attention has none. "
                    "Use au.extract(lm, text), which fills att.spans."
                )
            groups = _word_groups(self.tokens, self.word_ids)
            tokens = [_join_pieces([self.tokens[i] for i in members]) for members in groups]
            spans, merged = None, 0
        else:
            try:
                chosen = W.check_words(W.word_spans(self.text) if words is None else words, len(self.text))
            except TypeError as exc:
                raise AttentionTypeError(str(exc)) from None
            except ValueError as exc:
                raise AttentionError(str(exc)) from None
            aligned = W.align(self.spans, chosen)
            groups, spans, merged = aligned.groups, aligned.spans, aligned.merged
            tokens = [self.tokens[g[0]] if s is None else self.text[s[0]:s[1]] for g, s in zip(groups, spans)]
            for w, members in enumerate(groups):
                for t in members:
                    if t in aligned.left_out:
                        a, b = self.spans[t]
                        where = f"the empty span ({a}, {b})" if b <= a else f"{self.text[a:b]!r} at ({a}, {b})"
                        left_out.append((w, self.tokens[t], f"token {t} {self.tokens[t]!r} {aligned.left_out[t]} "
                                                           f"({where}); it stays an entry of its own"))
        n_words = len(groups)
        merge = np.zeros((len(self.tokens), n_words), dtype=np.float64)  # [token, word]
        for w, members in enumerate(groups):
            merge[members, w] = 1.0
        mean = merge / merge.sum(axis=0, keepdims=True)
        # keys: sum of pieces (A @ merge); queries: mean of pieces (mean.T @ ...)
        weights = np.einsum("qw,lhqk,kv->lhwv", mean, self.weights.astype(np.float64), merge)
        return Attention(tokens, weights.astype(np.float32), list(range(n_words)), self.text, self.caption,
                         spans=spans, merged_words=merged, left_out=left_out)


def _word_groups(tokens: Sequence[str], word_ids: Sequence[int | None] | None) -> list[list[int]]:
    """Token positions grouped by ``word_ids``, else ``##`` pieces (objects without spans)."""
    from .words import piece_groups

    return piece_groups(tokens, word_ids, SPECIAL_TOKENS)


def _join_pieces(pieces: Sequence[str]) -> str:
    from .words import join_pieces

    return join_pieces(pieces)


def _check_index(index: int, size: int, what: str) -> int:
    if isinstance(index, bool) or not isinstance(index, (int, np.integer)):
        raise AttentionTypeError(f"{what} must be an integer in 0..{size - 1} (or -{size}..-1), got {index!r}")
    if not -size <= index < size:
        raise AttentionIndexError(
            f"{what} {index} is out of range: valid are 0..{size - 1} (or -{size}..-1 from the end)"
        )
    return int(index) % size


def _check_texts(text: Any) -> tuple[list[str], bool]:
    if isinstance(text, str):
        texts, single = [text], True
    elif isinstance(text, (list, tuple)):
        texts, single = list(text), False
        bad = [(i, t) for i, t in enumerate(texts) if not isinstance(t, str)]
        if bad:
            i, t = bad[0]
            raise AttentionTypeError(
                f"extract() takes a string or a list of strings; item {i} is {type(t).__name__}: {t!r}"
            )
        if not texts:
            raise EmptyTextError("extract() got an empty list: pass at least one sentence")
    else:
        raise AttentionTypeError(
            f"extract() takes a string or a list of strings, got {type(text).__name__}: {text!r}"
        )
    empty = [i for i, t in enumerate(texts) if not t.strip()]
    if empty:
        where = "the text" if single else f"item {empty[0]}"
        raise EmptyTextError(f"{where} is empty or only white space: there is nothing to attend to")
    return texts, single


def _check_batch_size(batch_size: Any) -> None:
    if isinstance(batch_size, bool) or not isinstance(batch_size, int):
        raise AttentionTypeError(f"batch_size must be a positive integer, got {type(batch_size).__name__}: {batch_size!r}")
    if batch_size < 1:
        raise AttentionError(f"batch_size must be a positive integer, got {batch_size!r}")


def _batches(n: int, batch_size: int, progress: bool | None, desc: str) -> Iterable[int]:
    """Start positions of the batches, behind a progress bar when asked.

    ``progress=None`` (the default everywhere) shows a plain-text bar only when
    stderr is a terminal and there is more than one batch, so notebooks, CI logs
    and committed outputs carry no bar. ``progress=True`` forces one:
    ``tqdm.auto`` (a widget in Jupyter, text elsewhere). ``False``: never.
    """
    starts = range(0, n, batch_size)
    if progress is None:
        progress = len(starts) > 1 and _stderr_is_terminal()
        if not progress:
            return starts
        from tqdm.std import tqdm
    elif not progress:
        return starts
    else:
        from tqdm.auto import tqdm

    return tqdm(starts, desc=desc, unit="batch")


def _stderr_is_terminal() -> bool:
    """True in a terminal; False in Jupyter kernels (stderr is a pipe to the frontend) and CI."""
    import sys

    try:
        return bool(sys.stderr.isatty())
    except (AttributeError, ValueError):
        return False


def host_array(values: Any, dtype: Any = None) -> np.ndarray:
    """``np.asarray(values, dtype)``, where a torch tensor on any device (requiring grad, in bfloat16) is first
    brought to the host: a tensor that a model returns can be passed wherever an array is asked for (one
    tensor; a list of tensors is read by ``np.asarray`` as it is)."""
    torch = sys.modules.get("torch")
    if torch is not None and isinstance(values, torch.Tensor):
        values = values.detach().cpu()
        if values.dtype == torch.bfloat16:  # numpy has no bfloat16; float32 holds it exactly
            values = values.float()
        values = values.numpy()
    return np.asarray(values, dtype=dtype)


def model_device(model: Any) -> Any:
    """The device of the model's parameters (``cpu`` for a model without any)."""
    import torch

    try:
        return next(model.parameters()).device
    except (StopIteration, AttributeError):
        return torch.device("cpu")


def reduce_dtype(device: Any) -> Any:
    """The dtype for reductions over a batch on ``device``: float64 on the CPU (as before), float32 elsewhere.

    float32 sums of at most 512 weights in 0..1 lose about 1e-7 relative, far below the printed digits
    and the 1e-5 at which tests compare devices; a GPU runs float32 many times faster than float64
    (Apple's MPS has no float64 at all). Totals over batches are kept in :func:`exact_dtype`.
    """
    import torch

    return torch.float64 if torch.device(device).type == "cpu" else torch.float32


def exact_dtype(device: Any) -> Any:
    """float64, except on Apple's MPS, which has none (float32 there)."""
    import torch

    return torch.float32 if torch.device(device).type == "mps" else torch.float64


def to_device(tensor: Any, device: Any) -> Any:
    """``tensor`` on ``device``, asked not to wait for the device (``non_blocking``).

    From ordinary (pageable) host memory the driver stages the bytes before the call returns, so the
    host tensor may be dropped at once (CUDA's "API synchronization behavior": it may still wait for
    the device's queue while staging). Callers tokenize a batch before moving it, and move it after
    the previous batch's work is queued, so the next batch is prepared while the device runs this one.
    """
    return tensor.to(device, non_blocking=True)


def model_inputs(model: Any, encoding: Any) -> dict[str, Any]:
    """The tokenizer's outputs that ``model.forward`` takes by name, on the model's device.

    A tokenizer may return more than its model accepts: a BERT tokenizer gives
    ``token_type_ids``, which DistilBERT's ``forward`` rejects in transformers 4.x.

    Args:
        model: a ``transformers`` model.
        encoding: the tokenizer's output (``input_ids``, ``attention_mask``, ...), tensors.

    Returns:
        name -> tensor, only the names that are parameters of ``model.forward``
        (all of them for a wrapper whose ``forward(**inputs)`` names none).
    """
    params = inspect.signature(model.forward).parameters
    named = {n for n, p in params.items() if p.kind in (p.POSITIONAL_OR_KEYWORD, p.KEYWORD_ONLY)}
    if not named & set(encoding.keys()):
        named = set(encoding.keys())
    device = model_device(model)
    return {k: to_device(v, device) for k, v in encoding.items() if k in named}


def token_counts(tok: Any, texts: Sequence[str]) -> np.ndarray:
    """Tokens per text, special tokens included, cut to the tokenizer's limit, as ``tok(texts, truncation=True)``
    counts them: only the order of the batches depends on these counts.

    A fast tokenizer counts with its Rust backend alone (without building a Python encoding per text:
    about a third of the time for an English WordPiece, host time that a GPU would otherwise wait
    through); a slow one tokenizes. The backend keeps the padding and truncation of the tokenizer's last
    call (a smaller ``max_length``, a pair's ``only_second``): truncation is switched off while counting
    and put back after, and a count is the number of real tokens (its attention mask), whatever the
    padding. In slices, so only the counts are kept.
    """
    backend = getattr(tok, "backend_tokenizer", None) if getattr(tok, "is_fast", False) else None
    limit = getattr(tok, "model_max_length", None)
    limit = limit if isinstance(limit, int) and limit < 10**9 else None
    counts = np.zeros(len(texts), dtype=np.int64)
    truncation = backend.truncation if backend is not None else None
    if truncation is not None:
        backend.no_truncation()
    try:
        for start in range(0, len(texts), 2048):
            chunk = list(texts[start : start + 2048])
            if backend is not None:
                lengths = [sum(e.attention_mask) for e in backend.encode_batch(chunk, add_special_tokens=True)]
                if limit is not None:
                    lengths = [min(n, limit) for n in lengths]  # as tok(..., truncation=True) counts
            else:
                lengths = [len(x) for x in tok(chunk, truncation=True)["input_ids"]]
            counts[start : start + len(chunk)] = lengths
    finally:
        if truncation is not None:
            backend.enable_truncation(**truncation)
    return counts


def encode(lm: Any, texts: list[str]) -> Any:
    """Tokenize ``texts`` padded to the longest, truncated to the model's limit (with a warning per long text).

    Returns:
        the tokenizer's ``BatchEncoding`` of tensors, on the host.
    """
    max_len = _max_tokens(lm)
    enc = lm.tokenizer(texts, padding=True, truncation=True, max_length=max_len, return_tensors="pt")
    if enc["input_ids"].shape[1] >= max_len:
        full = lm.tokenizer(texts, truncation=False)["input_ids"]
        for text, ids in zip(texts, full):
            if len(ids) > max_len:
                warnings.warn(
                    f"Text of {len(ids)} tokens is longer than the model's limit of {max_len}; "
                    f"the last {len(ids) - max_len} tokens were dropped ({text[:40]!r}...).",
                    stacklevel=user_stacklevel(),
                )
    return enc


def attentions(lm: Any, enc: Any) -> Any:
    """Run the model on an encoded batch with attentions on.

    Returns:
        float32 tensor ``[layer, batch, head, query, key]`` on the model's device
        (the work may still be queued there: nothing here waits for the device).
    """
    import torch

    inputs = model_inputs(lm.model, enc)
    with torch.inference_mode():
        out = lm.model(**inputs, output_attentions=True)
    atts = getattr(out, "attentions", None)
    if not atts:
        impl = getattr(lm.model.config, "_attn_implementation", "unknown")
        raise AttentionError(
            f"The model returned no attention weights (attentions={atts!r}; attention implementation: "
            f"{impl!r}). With transformers 5.x the default 'sdpa' implementation returns an empty tuple. "
            "Load the model with attn_implementation='eager' (au.load_model does this for you)."
        )
    return torch.stack([a.float() for a in atts])


def run_model(lm: Any, texts: list[str], on_host: bool = True) -> tuple[Any, Any]:
    """Tokenize ``texts`` (padded) and run the model with attentions on.

    Args:
        on_host: move the attentions to the host (False: leave them on the model's device,
            for reductions there).

    Returns:
        ``(encoding, attentions)``: the host encoding, and a float32 tensor
        ``[layer, batch, head, query, key]`` on the CPU (or the model's device).
    """
    enc = encode(lm, texts)
    weights = attentions(lm, enc)
    return enc, (weights.cpu() if on_host else weights)


def extract(
    lm: Any,
    text: str | Sequence[str],
    batch_size: int = 32,
    progress: bool | None = None,
) -> "Attention | list[Attention]":
    """Run the model and return its attention, labelled with tokens.

    Args:
        lm: a :class:`~attn_utils.models.LoadedModel` (or anything with
            ``.model`` and ``.tokenizer``).
        text: one string, or a list of strings.
        batch_size: texts per forward pass when ``text`` is a list.
        progress: a progress bar over the batches: None (default) shows a text
            bar only in a terminal with several batches, never in a notebook;
            True forces one (a widget in Jupyter); False hides it.

    Returns:
        One :class:`Attention` for a string; a list of them for a list, each
        with padding removed (equal to one-at-a-time extraction).
    """
    texts, single = _check_texts(text)
    _check_batch_size(batch_size)
    caption = getattr(lm, "caption", "")
    results: list[Attention] = []
    for start in _batches(len(texts), batch_size, progress, "extract"):
        chunk = texts[start : start + batch_size]
        results.extend(_unpad(lm, chunk, *run_model(lm, chunk), caption))
    return results[0] if single else results


def _unpad(lm: Any, texts: list[str], enc: Any, att: Any, caption: str) -> Iterable[Attention]:
    """Split a padded batch into one Attention per text, keeping only real tokens."""
    mask = enc["attention_mask"].bool()
    for b, text in enumerate(texts):
        keep = mask[b].nonzero().flatten()
        ids = enc["input_ids"][b, keep].tolist()
        tokens = lm.tokenizer.convert_ids_to_tokens(ids)
        spans = token_spans(lm.tokenizer, text, ids)
        try:  # fast tokenizers know each token's word; slow ones (MeCab) fall back to "##" pieces
            all_ids = enc.word_ids(b)
            word_ids = [all_ids[i] for i in keep.tolist()]
        except (ValueError, AttributeError):
            word_ids = None
        w = att[:, b][:, :, keep][:, :, :, keep].numpy()
        yield Attention(tokens, w, word_ids, text, caption, spans=spans)
