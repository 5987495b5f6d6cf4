"""Japanese BERT's tokenizer, exact and offline.

``tohoku-nlp/bert-base-japanese-v3`` normalises text with NFKC, splits it into
words with MeCab (``fugashi`` + the ``unidic-lite`` dictionary), then cuts each
word into WordPiece subwords (cased). Its real tokenizer files (``vocab.txt``,
``tokenizer_config.json``, ``config.json``; Tohoku University, Apache-2.0, see
``data/bert-base-japanese-v3/NOTICE``) ship unchanged inside this package, so
:func:`v3_tokenizer` gives exactly the Hub tokenizer's tokens and ids with no
network. No Japanese BERT *weights* ship here: offline, ``load_model`` uses a
trained multilingual model instead (see :mod:`attn_utils.e5`).

This module imports nothing from the rest of the package.
"""
from __future__ import annotations

import importlib.util
from importlib import resources
from pathlib import Path

__all__ = ["JAPANESE_NAMES", "V3_DATA", "require_japanese", "v3_dir", "v3_tokenizer", "v3_config"]

JAPANESE_NAMES = ("tohoku-nlp/bert-base-japanese-v3", "cl-tohoku/bert-base-japanese-v3")
#: Folder of ``attn_utils.data`` holding v3's tokenizer files, unchanged.
V3_DATA = "bert-base-japanese-v3"


def require_japanese() -> None:
    """Fail with the exact pip command when the Japanese tokenizer's packages are missing."""
    missing = [pkg for pkg, mod in (("fugashi", "fugashi"), ("unidic-lite", "unidic_lite"))
               if importlib.util.find_spec(mod) is None]
    if missing:
        raise ImportError(
            f"The Japanese tokenizer (MeCab) needs {' and '.join(missing)}, which "
            f"{'is' if len(missing) == 1 else 'are'} not installed. Run:\n"
            f"  pip install {' '.join(missing)}\n"
            "or install the Japanese extra of this package:  pip install 'attn-utils[ja]'"
        )


def v3_dir() -> Path:
    """The folder of v3's shipped tokenizer files (vocab.txt, tokenizer_config.json, config.json)."""
    path = Path(str(resources.files("attn_utils.data").joinpath(V3_DATA)))
    if not (path / "vocab.txt").is_file():
        raise FileNotFoundError(f"v3's vocab.txt is missing from {path}: reinstall attn-utils")
    return path


def v3_tokenizer():
    """``BertJapaneseTokenizer`` over v3's own files: MeCab (unidic-lite) + WordPiece, cased.

    Returns:
        The same tokenizer ``from_pretrained("tohoku-nlp/bert-base-japanese-v3")``
        gives (same tokens and ids), loaded from the package with no network.
    """
    require_japanese()
    from transformers import BertJapaneseTokenizer

    return BertJapaneseTokenizer.from_pretrained(str(v3_dir()), local_files_only=True)


def v3_config():
    """v3's ``BertConfig`` (12 layers x 12 heads, hidden 768, vocab 32,768), eager attention."""
    from transformers import BertConfig

    return BertConfig.from_pretrained(str(v3_dir()), attn_implementation="eager", local_files_only=True)
