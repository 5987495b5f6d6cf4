"""Attention from scratch: the arithmetic of Vaswani et al. (2017), in numpy and torch.

``softmax`` and ``scaled_dot_product`` are what notebook 01 builds by hand;
``recompute_attention`` redoes a BERT-family model's attention from its
hidden states and its query/key weights, to prove the two agree.
"""
from __future__ import annotations

from typing import Any

import numpy as np

from .errors import AttentionTypeError

__all__ = ["softmax", "scaled_dot_product", "recompute_attention", "encoder_layers", "project_heads"]


def softmax(scores: np.ndarray, axis: int = -1) -> np.ndarray:
    """Numerically stable softmax along ``axis`` (subtract the row maximum first)."""
    shifted = scores - scores.max(axis=axis, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=axis, keepdims=True)


def scaled_dot_product(
    q: np.ndarray, k: np.ndarray, v: np.ndarray, mask: np.ndarray | None = None, scale: bool = True
) -> tuple[np.ndarray, np.ndarray]:
    """softmax(Q K^T / sqrt(d)) V.

    Args:
        q: ``[..., query, d]``; k: ``[..., key, d]``; v: ``[..., key, d_v]``.
        mask: boolean ``[..., query, key]``, True where attending is allowed.
        scale: divide by sqrt(d) (set False to see what the scaling prevents).

    Returns:
        ``(output [..., query, d_v], weights [..., query, key])``.
    """
    d = q.shape[-1]
    scores = q @ np.swapaxes(k, -1, -2)
    if scale:
        scores = scores / np.sqrt(d)
    if mask is not None:
        scores = np.where(mask, scores, -np.inf)
    weights = softmax(scores, axis=-1)
    return weights @ v, weights


def encoder_layers(model: Any) -> list[Any]:
    """The layers of a BERT-family encoder, each with ``.attention.self`` (query/key/value)
    and ``.attention.output.dense`` (W_O)."""
    base = getattr(model, "base_model", model)
    layers = getattr(getattr(base, "encoder", None), "layer", None)
    if layers is None or not hasattr(layers[0].attention, "self"):
        raise AttentionTypeError(
            f"this computation knows BERT-style encoders (BERT, RoBERTa, MiniLM); "
            f"{type(model).__name__} has no encoder.layer[i].attention.self"
        )
    return list(layers)


def project_heads(linear: Any, x: Any, heads: int) -> Any:
    """``x W^T + b`` of a linear layer, split into heads, in float64 (float32 on Apple's MPS, which has no float64).

    Args:
        linear: ``torch.nn.Linear`` (hidden -> hidden), e.g. ``attention.self.query``.
        x: ``[token, hidden]``, on the layer's device.

    Returns:
        ``[head, token, d_head]``, on ``x``'s device.
    """
    from .extract import exact_dtype

    dtype = exact_dtype(x.device)
    x = x.to(dtype)
    T, hidden = x.shape
    y = x @ linear.weight.detach().to(dtype).T + linear.bias.detach().to(dtype)  # (T, hidden)
    return y.view(T, heads, hidden // heads).transpose(0, 1)  # (heads, T, d)


def recompute_attention(lm: Any, text: str, scale: bool = True) -> tuple[np.ndarray, np.ndarray]:
    """Recompute every layer's attention from hidden states and Q/K weights.

    For layer ``l`` with input ``X`` (``hidden_states[l]``):
    ``A = softmax((X W_Q + b_Q)(X W_K + b_K)^T / sqrt(d_head))`` per head.

    Args:
        lm: a loaded BERT-family model (BERT, RoBERTa, MiniLM).
        text: one sentence.
        scale: divide the scores by sqrt(d_head), as BERT does; False shows
            what happens without it (the result then no longer matches).

    Returns:
        ``(recomputed, reported)``, both float32 ``[layer, head, query, key]``:
        our arithmetic and the model's own ``output_attentions``.
    """
    import torch

    from .extract import model_inputs

    layers = encoder_layers(lm.model)  # the architecture is checked before the model runs
    enc = lm.tokenizer(text, return_tensors="pt")
    with torch.inference_mode():
        out = lm.model(**model_inputs(lm.model, enc), output_attentions=True, output_hidden_states=True)
    heads = lm.model.config.num_attention_heads
    recomputed = []
    for layer, block in enumerate(layers):
        x = out.hidden_states[layer][0]  # (T, hidden)
        q = project_heads(block.attention.self.query, x, heads)  # (heads, T, d)
        k = project_heads(block.attention.self.key, x, heads)
        d = q.shape[-1]
        scores = q @ k.transpose(1, 2)  # (heads, T, T)
        if scale:
            scores = scores / d**0.5
        recomputed.append(torch.softmax(scores, dim=-1))
    reported = torch.stack([a[0] for a in out.attentions])
    return torch.stack(recomputed).float().cpu().numpy(), reported.float().cpu().numpy()
