"""A cache of float32 arrays on disk: safetensors layout, written atomically, checked on every read.

Used by :mod:`attn_utils.e5` for the dequantized weights. One file per
source, keyed by the source's sha256 (the caller picks the name). The
metadata holds ``format``, ``source_sha256`` and a CRC-32 of every byte a
reader builds on: the header (each array's dtype, shape and offsets, and
every metadata item but the CRC itself) and the data. A read raises
``ValueError`` when the file is truncated, corrupt (in its data or in the
settings stored beside it) or made from another source, so the caller can
rebuild it. Files are written to a temporary file in
the same folder and renamed, so a reader never sees a partial file, even with
two writers at once.

This module imports nothing from the rest of the package.
"""
from __future__ import annotations

import contextlib
import hashlib
import json
import math
import os
import struct
import tempfile
import zlib
from pathlib import Path

import numpy as np

CACHE_FORMAT = "attn_utils-e5-fp32-2"  # -2: the CRC covers the header too


def cache_dir() -> Path:
    """``$ATTN_UTILS_CACHE``, else ``$XDG_CACHE_HOME/attn_utils``, else ``~/.cache/attn_utils``."""
    if os.environ.get("ATTN_UTILS_CACHE"):
        return Path(os.environ["ATTN_UTILS_CACHE"])
    base = os.environ.get("XDG_CACHE_HOME") or (Path.home() / ".cache")
    return Path(base) / "attn_utils"


def file_sha256(path: str | Path) -> str:
    """Hex sha256 of a file, read in 4 MiB blocks."""
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 22), b""):
            h.update(block)
    return h.hexdigest()


def crc(arrays: dict[str, np.ndarray], header: bytes = b"") -> int:
    """CRC-32 over ``header`` and then the arrays' bytes, in key order."""
    crc = zlib.crc32(header)
    for key in sorted(arrays):
        crc = zlib.crc32(memoryview(np.ascontiguousarray(arrays[key])).cast("B"), crc)
    return crc


def canonical_header(header: dict) -> bytes:
    """The header as the CRC-32 covers it: every entry and metadata item except ``crc32``, as sorted, compact JSON."""
    meta = {k: v for k, v in header.get("__metadata__", {}).items() if k != "crc32"}
    return json.dumps({**header, "__metadata__": meta}, sort_keys=True, separators=(",", ":")).encode()


def write_arrays(path: Path, arrays: dict[str, np.ndarray], source_sha: str, extra: dict) -> None:
    """A safetensors file (readable by the ``safetensors`` library), written to a temp file and renamed.

    Every array is stored as little-endian float32, whatever its dtype, byte order or strides; the
    sizes and the CRC-32 are those of the stored bytes (after the header, see :func:`canonical_header`),
    so ``read_arrays`` accepts what was written. ``extra``: more metadata, strings.
    """
    arrays = {k: np.ascontiguousarray(v, dtype="<f4") for k, v in arrays.items()}
    keys, offset, entries = sorted(arrays), 0, {}
    for key in keys:
        size = arrays[key].nbytes
        entries[key] = {"dtype": "F32", "shape": list(arrays[key].shape), "data_offsets": [offset, offset + size]}
        offset += size
    entries["__metadata__"] = {"format": CACHE_FORMAT, "source_sha256": source_sha, **extra}
    entries["__metadata__"]["crc32"] = str(crc(arrays, canonical_header(entries)))
    head = json.dumps(entries).encode()
    head += b" " * (-len(head) % 8)
    chunks = [struct.pack("<Q", len(head)) + head]
    chunks += [memoryview(arrays[key]).cast("B") for key in keys]
    atomic_write(path, chunks)


def _header_size(fh) -> int:
    """The JSON header's length, from a cache file's first 8 bytes (ValueError when they are missing or absurd)."""
    head_bytes = fh.read(8)
    if len(head_bytes) < 8:
        raise ValueError("shorter than its header")
    (n,) = struct.unpack("<Q", head_bytes)
    if n > 10**8:
        raise ValueError("header size is implausible")
    return n


def _read_header(fh) -> tuple[int, dict]:
    """The header's length and the header itself (ValueError when it is not a JSON object)."""
    n = _header_size(fh)
    try:
        header = json.loads(fh.read(n))
    except (UnicodeDecodeError, json.JSONDecodeError):
        raise ValueError("header is not valid JSON") from None
    if not isinstance(header, dict):
        raise ValueError("header is not valid JSON")
    return n, header


def read_meta(path: Path) -> dict:
    """Only the metadata of a cache file (cheap)."""
    with open(path, "rb") as fh:
        return _read_header(fh)[1].get("__metadata__", {})


def read_arrays(path: Path, source_sha: str) -> tuple[dict[str, np.ndarray], dict]:
    """The cached arrays and metadata; raises ValueError when the file is truncated, corrupt or for another .bin.

    The CRC-32 covers the header (shapes, offsets, metadata) as well as the data: a changed setting
    stored beside the weights is found as surely as a flipped weight.
    """
    with open(path, "rb") as fh:
        n, header = _read_header(fh)
        meta = header.get("__metadata__", {})
        if not isinstance(meta, dict) or meta.get("format") != CACHE_FORMAT or meta.get("source_sha256") != source_sha:
            raise ValueError("made from another file or by another version")
        entries = {k: v for k, v in header.items() if k != "__metadata__"}
        for key, v in entries.items():
            _check_entry(key, v)
        end = max((v["data_offsets"][1] for v in entries.values()), default=0)
        if os.fstat(fh.fileno()).st_size != 8 + n + end:
            raise ValueError(f"size is {os.fstat(fh.fileno()).st_size} bytes, expected {8 + n + end} (truncated?)")
        data = np.fromfile(fh, dtype=np.uint8, count=end)
    raw = {k: data[v["data_offsets"][0] : v["data_offsets"][1]] for k, v in entries.items()}
    if str(crc(raw, canonical_header(header))) != meta.get("crc32"):
        raise ValueError("checksum (CRC-32) does not match: the data or the settings stored with it are corrupt")
    return {k: raw[k].view("<f4").reshape(v["shape"]) for k, v in entries.items()}, meta


def _check_entry(key: str, v: object) -> None:
    """One array's header entry: F32, a shape of counts, and offsets that hold exactly that many floats."""
    ok = (isinstance(v, dict) and v.get("dtype") == "F32" and isinstance(v.get("shape"), list)
          and all(type(d) is int and d >= 0 for d in v["shape"]) and isinstance(v.get("data_offsets"), list)
          and len(v["data_offsets"]) == 2 and all(type(o) is int for o in v["data_offsets"]))
    if not ok or not 0 <= v["data_offsets"][0] <= v["data_offsets"][1] \
            or v["data_offsets"][1] - v["data_offsets"][0] != 4 * math.prod(v["shape"]):
        raise ValueError(f"header entry {key!r} is malformed")


def atomic_write(path: Path, chunks: list) -> None:
    """Write to a temporary file in the same folder, then rename: readers never see a partial file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=path.name + ".", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as fh:
            for chunk in chunks:
                fh.write(chunk)
            fh.flush()
            os.fsync(fh.fileno())
        os.replace(tmp, path)  # atomic on POSIX and Windows
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise
