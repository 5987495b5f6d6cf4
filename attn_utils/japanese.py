"""Japanese BERT: the real tohoku-nlp model online, a clearly labelled stand-in offline.

``tohoku-nlp/bert-base-japanese-v3`` splits text with MeCab (``fugashi`` +
``unidic-lite``, after NFKC normalisation) into words, then WordPiece into
subwords. No Japanese BERT weights can be had offline, so the stand-in keeps
the *real* tokenizer class over a vocabulary built here (single kana and JIS
kanji, each also as a ``##`` continuation, plus a list of common words), and a
seeded, randomly initialised ``BertModel`` of v3's shape. Its attention carries
no linguistic meaning; every caption made from it says so.
"""
from __future__ import annotations

import hashlib
import importlib.util
import tempfile
import unicodedata
from pathlib import Path

from . import data

__all__ = ["JAPANESE_NAMES", "V3_SHAPE", "require_japanese", "build_vocab", "load_standin"]

JAPANESE_NAMES = ("tohoku-nlp/bert-base-japanese-v3", "cl-tohoku/bert-base-japanese-v3")
#: The shape of bert-base-japanese-v3 (config.json of the Hub model).
V3_SHAPE = dict(vocab_size=32768, hidden_size=768, num_hidden_layers=12, num_attention_heads=12,
                intermediate_size=3072, max_position_embeddings=512, type_vocab_size=2)
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
STANDIN_SEED = 0


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


def _jis_kanji() -> list[str]:
    """The 6,355 kanji of JIS X 0208 (levels 1 and 2), in Unicode order."""
    out = []
    for cp in range(0x4E00, 0xA000):
        try:
            if len(chr(cp).encode("euc_jp")) == 2:  # 3-byte EUC-JP is JIS X 0212, not 0208
                out.append(chr(cp))
        except UnicodeEncodeError:
            continue
    return out


def _characters() -> list[str]:
    kana = [chr(c) for c in range(0x3041, 0x3097)] + [chr(c) for c in range(0x30A1, 0x30FB)] + ["ー", "ゝ", "ゞ", "ヽ", "ヾ"]
    punct = list("、。・「」『』（）【】〜…！？：；・〇々〆") + list("!\"#$%&'()*+,-./:;<=>?@[\\]^_`{|}~")
    alnum = [chr(c) for c in range(0x30, 0x3A)] + [chr(c) for c in range(0x41, 0x5B)] + [chr(c) for c in range(0x61, 0x7B)]
    normalized = (unicodedata.normalize("NFKC", ch) for ch in punct + alnum + kana + _jis_kanji())
    return list(dict.fromkeys(ch for ch in normalized if len(ch) == 1))  # ordered, no repeats


def build_vocab() -> list[str]:
    """The stand-in's WordPiece vocabulary, padded with [unusedN] to v3's 32,768 entries."""
    chars = _characters()
    vocab = SPECIALS + chars + ["##" + c for c in chars]
    seen = set(vocab)
    for word in data.lines("ja_words.txt"):
        if word not in seen:
            vocab.append(word)
            seen.add(word)
    size = V3_SHAPE["vocab_size"]
    vocab += [f"[unused{i}]" for i in range(size - len(vocab))]
    assert len(vocab) == size, len(vocab)
    return vocab


def _vocab_file() -> Path:
    vocab = "\n".join(build_vocab()) + "\n"
    digest = hashlib.sha256(vocab.encode()).hexdigest()[:12]
    path = Path(tempfile.gettempdir()) / f"attn_utils_ja_vocab_{digest}.txt"
    if not path.exists():
        tmp = path.with_suffix(f".{id(vocab)}.tmp")
        tmp.write_text(vocab, encoding="utf-8")
        tmp.replace(path)
    return path


def standin_tokenizer():
    """The real ``BertJapaneseTokenizer`` (MeCab unidic-lite + WordPiece) over the built vocabulary."""
    require_japanese()
    from transformers import BertJapaneseTokenizer

    return BertJapaneseTokenizer(
        vocab_file=str(_vocab_file()),
        do_lower_case=False,
        word_tokenizer_type="mecab",
        subword_tokenizer_type="wordpiece",
        mecab_kwargs={"mecab_dic": "unidic_lite"},
        model_max_length=512,
    )


def standin_model(seed: int = STANDIN_SEED):
    """A randomly initialised ``BertModel`` with v3's shape, the same for the same seed."""
    import torch
    from transformers import BertConfig, BertModel

    config = BertConfig(**V3_SHAPE, attn_implementation="eager")
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(seed)
        model = BertModel(config, add_pooling_layer=False)
    return model.eval()


def load_standin(name: str, reason: str):
    """The offline stand-in for a Japanese BERT, announced in one line."""
    import warnings

    from .models import FallbackWarning, LoadedModel

    tokenizer = standin_tokenizer()
    note = (
        f"[attn_utils] {name} is not available ({reason}); using an offline STAND-IN: the real MeCab+WordPiece "
        f"tokenizer over a built vocabulary and a BertModel of v3's shape with RANDOM weights (seed {STANDIN_SEED}), "
        "so its attention means nothing linguistically. For the real model, connect to the internet and unset "
        "HF_HUB_OFFLINE, or pass a local directory."
    )
    lm = LoadedModel(standin_model(), tokenizer, name=name, source="stand-in", loaded="stand-in",
                     note=note, meaningful=False)
    warnings.warn(note, FallbackWarning, stacklevel=4)
    return lm
