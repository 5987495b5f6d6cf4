"""Numbers about attention: entropy, where weight goes, rollout, statistics per head.

Follows Clark et al. 2019 ("What Does BERT Look At? An Analysis of BERT's
Attention") for the per-head statistics, as their released code computes them
(clarkkev/attention-analysis, ``General_Analysis.ipynb``, the cells "Computing
Average Attention to Particular Tokens/Positions" and "Computing Attention Head
Entropies"), and Abnar & Zuidema 2020 ("Quantifying Attention Flow in
Transformers") for rollout.
"""
from __future__ import annotations

import unicodedata
from typing import Any, Sequence

import numpy as np
import pandas as pd

from . import data
from .extract import (
    Attention,
    AttentionError,
    _batches,
    _check_batch_size,
    _check_texts,
    attentions,
    encode,
    exact_dtype,
    extract,
    model_device,
    model_inputs,
    reduce_dtype,
    to_device,
    token_counts,
)
from .scratch import encoder_layers, project_heads
from .words import max_tokens

__all__ = [
    "entropy",
    "rollout",
    "head_metrics",
    "head_stats",
    "positional_heads",
    "is_punctuation",
    "load_corpus",
    "norm_attention",
    "strongest_head",
    "token_ablation",
    "CLARK_PUNCT",
    "CLARK_SMOOTHING",
    "METRICS",
]

#: Columns of :func:`head_metrics` and :func:`head_stats`: Clark et al.'s six, then our broader punctuation share.
METRICS = ("entropy", "cls", "sep", "punct", "prev", "next", "punct_all")

#: The tokens Clark et al.'s code counts as punctuation (``token == "." or token == ","``).
CLARK_PUNCT = frozenset({".", ","})

#: Clark et al.'s smoothing before the entropy: ``(1 - eps) * a + eps / n`` with eps = 1e-4.
CLARK_SMOOTHING = 1e-4


def _rows_entropy(w: np.ndarray, smoothing: float) -> np.ndarray:
    """Entropy (nats) of each row along the last axis, after ``(1 - s) * w + s / n``; 0 log 0 counts as 0."""
    w = np.asarray(w, dtype=np.float64)
    if smoothing:
        w = (1.0 - smoothing) * w + smoothing / w.shape[-1]
    logs = np.log(np.where(w > 0, w, 1.0))
    return -(w * logs).sum(-1)


def entropy(att: Attention, smoothing: float = 0.0) -> np.ndarray:
    """Mean row entropy of every head, in nats.

    A row spread evenly over n keys has entropy ln n (broad head); a row on
    one key has 0 (focused head).

    By default this is the plain entropy of each row. Clark et al. 2019
    (``General_Analysis.ipynb``, "Computing Attention Head Entropies") first
    smooth every row to ``a' = (1 - eps) a + eps / n`` with eps = 1e-4 to avoid
    log 0; pass ``smoothing=CLARK_SMOOTHING`` for their number (the
    ``entropy`` column of :func:`head_metrics` does). The two differ by
    ``0 <= H(a') - H(a) <= eps ln n + h(eps)``, ``h(eps) = -eps ln eps - (1-eps) ln(1-eps)``
    (concavity of H plus the mixing bound); for eps = 1e-4 and n <= 512 that
    is below 1.7e-3 nats.

    Args:
        att: one text's attention.
        smoothing: eps in ``(1 - eps) a + eps / n``; 0 for the plain entropy.

    Returns:
        array ``[layer, head]``: the mean over query rows.
    """
    if not 0.0 <= smoothing < 1.0:
        raise AttentionError(f"smoothing must be in [0, 1), e.g. 0 or CLARK_SMOOTHING = 1e-4; got {smoothing!r}")
    return _rows_entropy(att.weights, smoothing).mean(-1)


def rollout(att: Attention, residual: float = 0.5, all_layers: bool = False) -> np.ndarray:
    """Attention rollout (Abnar & Zuidema 2020).

    Per layer: average the heads, mix in the residual connection as
    ``(1 - residual) * A + residual * I``, renormalise the rows, then multiply
    the layers through: ``R_l = A'_l @ R_{l-1}``, ``R_0 = A'_0``.

    Args:
        att: one text's attention.
        residual: the weight of the identity (0.5 in the paper).
        all_layers: return the rollout after every layer instead of only the last.

    Returns:
        ``[query, key]`` (or ``[layer, query, key]`` with ``all_layers``); rows sum to 1.
    """
    if not 0.0 <= residual <= 1.0:
        raise AttentionError(f"residual must be in 0..1, got {residual!r}")
    n = len(att)
    eye = np.eye(n)
    result = eye
    steps = []
    for layer in att.weights.astype(np.float64):  # layer: [head, query, key]
        a = (1.0 - residual) * layer.mean(0) + residual * eye
        a = a / a.sum(-1, keepdims=True)
        result = a @ result
        steps.append(result)
    return np.stack(steps) if all_layers else result


def is_punctuation(token: str) -> bool:
    """True for tokens made only of punctuation characters (".", ",", "##.", "「", "。").

    This is the broad test behind the ``punct_all`` column; Clark et al.'s
    ``punct`` counts only :data:`CLARK_PUNCT`.
    """
    core = token[2:] if token.startswith("##") else token
    core = core.lstrip("Ġ▁")
    return bool(core) and all(unicodedata.category(c).startswith("P") for c in core)


def head_metrics(att: Attention, cls_token: str = "[CLS]", sep_token: str = "[SEP]") -> pd.DataFrame:
    """Per-head statistics of one text, as Clark et al. 2019 define them.

    Definitions follow clarkkev/attention-analysis, ``General_Analysis.ipynb``
    (Sections 3.1-3.3 of "What Does BERT Look At?"). For a text of n tokens and
    one head's ``[query, key]`` matrix ``a``:

    Columns:
        entropy: mean over the n rows of the row entropy (nats) after Clark's
            smoothing ``0.9999 a + 1e-4 / n`` (see :func:`entropy` for the bound
            on the difference from the plain entropy).
        cls / sep: ``sum(a[:, j] for j at [CLS] / [SEP]) / n``.
        punct: the same for the tokens "." and "," only (:data:`CLARK_PUNCT`), as in Clark's code.
        prev / next (Clark's "left" / "right"): ``sum_i a[i, i-1] / n`` and
            ``sum_i a[i, i+1] / n``: averaged over all n rows, the first
            (last) row, which has no previous (next) token, counting 0.
        punct_all: not in Clark: the share on every token made only of
            punctuation (:func:`is_punctuation`: also ``! ? ; : ( ) " '``, 「」、。 ...).

    Returns:
        DataFrame indexed by ``(layer, head)`` with the columns in :data:`METRICS`.
    """
    import torch

    weights = torch.from_numpy(att.weights)[:, None]  # a batch of one: [layer, 1, head, query, key]
    mask = torch.ones(1, len(att), dtype=torch.bool)
    types = {
        "cls": torch.tensor([[t == cls_token for t in att.tokens]]),
        "sep": torch.tensor([[t == sep_token for t in att.tokens]]),
        "punct": torch.tensor([[t in CLARK_PUNCT for t in att.tokens]]),
        "punct_all": torch.tensor([[is_punctuation(t) for t in att.tokens]]),
    }
    return _metrics_frame(_batch_metrics(weights, mask, types), texts=1)


def _metrics_frame(totals: dict[str, Any], texts: int) -> pd.DataFrame:
    """Summed ``[layer, head]`` metrics (on any device) divided by the number of texts, as a (layer, head) table."""
    L, H = totals["entropy"].shape
    index = pd.MultiIndex.from_product([range(L), range(H)], names=["layer", "head"])
    frame = pd.DataFrame({k: (v.cpu().double() / texts).numpy().ravel() for k, v in totals.items()}, index=index)
    frame.attrs["texts"] = texts
    return frame[list(METRICS)]


def _batch_metrics(weights: Any, mask: Any, type_masks: dict[str, Any], dtype: Any = None) -> dict[str, Any]:
    """Per-text Clark statistics for a padded batch, summed over the texts, on the batch's device.

    Args:
        weights: torch tensor ``[layer, batch, head, query, key]``, zero on padded keys.
        mask: bool ``[batch, seq]``, True for real tokens (right padding), on the device of ``weights``.
        type_masks: name -> bool ``[batch, seq]`` for the key types, on that device too.
        dtype: the dtype of the arithmetic (default float64; :func:`head_stats` passes
            :func:`~attn_utils.extract.reduce_dtype` of the device).

    Returns:
        name -> tensor ``[layer, head]`` in ``dtype`` on the device of ``weights``: the sum over texts of
        each text's statistic; every one is a sum over the text's n real rows divided by n.
    """
    import torch

    dtype = torch.float64 if dtype is None else dtype
    w = weights.to(dtype)
    m = mask.to(dtype)  # [B, T]
    n = m.sum(-1)  # [B]: real tokens per text
    row = m[None, :, None, :]  # [1, B, 1, T] over query rows

    def per_text_mean(per_row: "torch.Tensor", valid: "torch.Tensor") -> "torch.Tensor":
        per_text = (per_row * valid).sum(-1) / n[None, :, None]  # [L, B, H]
        return per_text.sum(1)  # [L, H]

    keys = m[None, :, None, None, :]  # [1, B, 1, 1, T] over keys
    smoothed = ((1.0 - CLARK_SMOOTHING) * w + CLARK_SMOOTHING / n[None, :, None, None, None]) * keys
    out = {"entropy": per_text_mean(torch.special.entr(smoothed).sum(-1), row)}
    for name, kind in type_masks.items():
        out[name] = per_text_mean((w * kind.to(dtype)[None, :, None, None, :]).sum(-1), row)
    pair = (m[:, 1:] * m[:, :-1])[None, :, None, :]  # rows i >= 1 (prev) / i <= n-2 (next) of real tokens
    prev = torch.diagonal(w, offset=-1, dim1=-2, dim2=-1)  # [L, B, H, T-1]: w[i, i-1]
    nxt = torch.diagonal(w, offset=1, dim1=-2, dim2=-1)  # w[i, i+1]
    out["prev"] = per_text_mean(prev, pair)  # Clark's "left": divided by n, not by the n-1 rows that have one
    out["next"] = per_text_mean(nxt, pair)  # Clark's "right"
    return out


class _PunctuationIds:
    """Token id -> (Clark's "." / ",", any punctuation), looked up as tensors; filled lazily per new id."""

    def __init__(self, tokenizer: Any) -> None:
        import torch

        self.tokenizer = tokenizer
        self.flags = torch.zeros(0, 2, dtype=torch.bool)  # [id, (clark, any)]
        self.known = torch.zeros(0, dtype=torch.bool)

    def __call__(self, ids: Any) -> tuple[Any, Any]:
        """bool ``[batch, seq]`` twice (Clark's punctuation, any punctuation) for host ids ``[batch, seq]``."""
        import torch

        size = int(ids.max()) + 1 if ids.numel() else 0
        if size > len(self.known):
            grow = size - len(self.known)
            self.flags = torch.cat([self.flags, torch.zeros(grow, 2, dtype=torch.bool)])
            self.known = torch.cat([self.known, torch.zeros(grow, dtype=torch.bool)])
        new = ids.unique()
        new = new[~self.known[new]].tolist()
        for i, token in zip(new, self.tokenizer.convert_ids_to_tokens(new)):
            self.flags[i] = torch.tensor([token in CLARK_PUNCT, is_punctuation(token)])
        self.known[new] = True
        looked_up = self.flags[ids]  # [batch, seq, 2]
        return looked_up[..., 0], looked_up[..., 1]


def head_stats(lm: Any, texts: Sequence[str], batch_size: int = 32, progress: bool | None = None) -> pd.DataFrame:
    """:func:`head_metrics` averaged over many texts, streamed in batches.

    Each text is one document in Clark et al.'s sense (their
    ``General_Analysis.ipynb`` divides every per-document value by the number
    of documents), so this agrees with their code on the statistics they share
    (entropy, cls, sep, punct, prev = "left", next = "right").

    Texts are sorted by length so batches carry little padding; each batch's
    attention is reduced to ``[layer, head]`` sums and dropped, so memory does
    not grow with the number of texts. The reduction runs where the model is
    (float64 on the CPU, float32 on a GPU; totals in float64) and only the
    ``[layer, head]`` totals come back to the host, at the end; the next batch is
    tokenized while the device works on the current one.

    Args:
        lm: a loaded model (on any device).
        texts: the documents.
        batch_size: texts per forward pass.
        progress: a progress bar; None shows a text bar only in a terminal (see
            :func:`attn_utils.extract.extract`).

    Returns:
        DataFrame indexed by ``(layer, head)`` with the columns in :data:`METRICS`
        (each the mean over texts of the per-text value).
    """
    texts, _ = _check_texts(list(texts) if not isinstance(texts, str) else texts)
    _check_batch_size(batch_size)
    tok = lm.tokenizer
    order = np.argsort(token_counts(tok, texts), kind="stable")
    punctuation = _PunctuationIds(tok)
    device = model_device(lm.model)
    dtype, total_dtype = reduce_dtype(device), exact_dtype(device)
    totals: dict[str, Any] = {}
    # Nothing here waits for the device (only transformers' own check of the attention mask, early in each
    # forward pass, does): the masks go over without blocking, the reduction stays there, and the loop goes
    # on to tokenize the next batch while the device runs this one.
    for start in _batches(len(texts), batch_size, progress, "head_stats"):
        enc = encode(lm, [texts[i] for i in order[start : start + batch_size]])
        ids = enc["input_ids"]
        mask = enc["attention_mask"].bool()
        punct, punct_all = punctuation(ids)
        types = {
            "cls": (ids == tok.cls_token_id) & mask,
            "sep": (ids == tok.sep_token_id) & mask,
            "punct": punct & mask,
            "punct_all": punct_all & mask,
        }
        types = {name: to_device(value, device) for name, value in types.items()}
        weights = attentions(lm, enc)  # [layer, batch, head, query, key] on the device
        for name, value in _batch_metrics(weights, to_device(mask, device), types, dtype).items():
            totals[name] = totals.get(name, 0) + value.to(total_dtype)
        del weights
    return _metrics_frame(totals, texts=len(texts))


def positional_heads(stats: pd.DataFrame, threshold: float = 0.5) -> pd.DataFrame:
    """Heads that put more than ``threshold`` of their weight on the previous or the next token.

    Clark et al. 2019, Section 3.1: heads with over 50% of their attention on
    the previous (next) token, measured with their "left" / "right" averages
    (``General_Analysis.ipynb``), i.e. the ``prev`` / ``next`` columns here,
    which divide by all n rows.

    Args:
        stats: the output of :func:`head_stats` or :func:`head_metrics`.
        threshold: the share that makes a head positional (Clark: 0.5).

    Returns:
        the matching rows, with a column ``looks_at`` ("previous" / "next").
    """
    rows = stats[(stats["prev"] > threshold) | (stats["next"] > threshold)].copy()
    rows["looks_at"] = np.where(rows["prev"] >= rows["next"], "previous", "next")
    return rows[["prev", "next", "looks_at"]]


def load_corpus(name: str = "en") -> list[str]:
    """Sentences shipped with the package (``"en"``: 200+ English sentences, CC0).

    Returns:
        the sentences, in file order.
    """
    files = {"en": "corpus_en.txt"}
    if name not in files:
        raise ValueError(f"Unknown corpus {name!r}; available: {', '.join(files)}")
    return data.lines(files[name])


def norm_attention(lm: Any, text: str, per_head: bool = True) -> np.ndarray:
    """Norm-based attention ||alpha f(x)|| (Kobayashi et al. 2020, "Attention is Not Only a Weight").

    For head ``h`` of a layer with input ``x``:
    ``f^h(x_j) = (x_j W_V^h + b_V^h) W_O^h``, with ``W_O^h`` the head's slice of
    the attention output dense layer (its bias, the residual and LayerNorm excluded).

    Args:
        lm: a loaded BERT-family model.
        text: one sentence.
        per_head: ``||alpha^h_ij f^h(x_j)||`` per head (True) or, per layer,
            the norm of the sum over heads ``||sum_h alpha^h_ij f^h(x_j)||`` (False).

    Returns:
        float32 ``[layer, head, query, key]`` (or ``[layer, query, key]``).
    """
    import torch

    layers = encoder_layers(lm.model)
    enc = model_inputs(lm.model, lm.tokenizer(text, return_tensors="pt"))
    with torch.inference_mode():
        out = lm.model(**enc, output_attentions=True, output_hidden_states=True)
        heads = lm.model.config.num_attention_heads
        result = []
        for l, layer in enumerate(layers):
            f = _value_vectors(layer, out.hidden_states[l][0], heads)  # [head, key, hidden]
            alpha = out.attentions[l][0].to(f.dtype)  # [head, query, key]
            if per_head:
                result.append(alpha * f.norm(dim=-1)[:, None, :])  # ||a f|| = a ||f|| since a >= 0
            else:
                result.append(torch.einsum("hqk,hkd->qkd", alpha, f).norm(dim=-1))
    return torch.stack(result).float().cpu().numpy()


def _value_vectors(layer: Any, x: Any, heads: int) -> Any:
    """f^h(x_j) for every head and token: ``[head, token, hidden]`` (float64; float32 on MPS), on ``x``'s device."""
    v = project_heads(layer.attention.self.value, x, heads)  # [head, T, d]
    hidden, d = x.shape[-1], v.shape[-1]
    w_o = layer.attention.output.dense.weight.detach().to(v.dtype).view(hidden, heads, d).permute(1, 2, 0)  # [head, d, hidden]
    return v @ w_o


def token_ablation(lm: Any, text: str, query: str | int) -> pd.DataFrame:
    """Mask each other token in turn and measure how much ``query``'s final representation moves.

    A token is masked by setting its attention-mask entry to 0, so no token can
    attend to it in any layer. The change is ``||h' - h|| / ||h||`` for the query's
    last-layer hidden state ``h``.

    Returns:
        DataFrame indexed by key label (special tokens and the query itself left out)
        with columns ``change``, ``attention`` (query->key weight, mean over layers and
        heads), ``last_layer`` (mean over the last layer's heads) and ``rollout``.
    """
    import torch

    att = extract(lm, text)
    q = att.position(query)
    # truncated as extract() truncates it (it warns), so the tokens match att.tokens
    enc = model_inputs(lm.model, lm.tokenizer(text, return_tensors="pt", truncation=True, max_length=max_tokens(lm)))
    with torch.inference_mode():
        base = lm.model(**enc).last_hidden_state[0, q]
        keys = [k for k, t in enumerate(att.tokens) if k != q and t not in lm.tokenizer.all_special_tokens]
        change = []
        for k in keys:
            mask = enc["attention_mask"].clone()
            mask[0, k] = 0
            moved = lm.model(**{**enc, "attention_mask": mask}).last_hidden_state[0, q]
            change.append(float((moved - base).norm() / base.norm()))
    return pd.DataFrame(
        {
            "change": change,
            "attention": att.weights[:, :, q][..., keys].mean(axis=(0, 1)),
            "last_layer": att.weights[-1, :, q][..., keys].mean(axis=0),
            "rollout": rollout(att)[q][keys],
        },
        index=pd.Index([att.labels[k] for k in keys], name="key"),
    )


def strongest_head(table: pd.DataFrame) -> tuple[int, int, float]:
    """The largest cell of a ``[layer, head]`` table (such as ``att.pair(q, k)``).

    Returns:
        ``(layer, head, value)``.
    """
    arr = table.to_numpy(dtype=float)
    i, j = np.unravel_index(np.nanargmax(arr), arr.shape)
    return int(table.index[i]), int(table.columns[j]), float(arr[i, j])
