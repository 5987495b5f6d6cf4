"""load_model: eager attention, the loud and fast offline fallback, clear errors."""
import socket
import threading

import pytest

import attn_utils as au


@pytest.fixture
def blackhole(monkeypatch):
    """A local 'Hub' that accepts connections and never answers (the worst case for a probe)."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(8)
    conns = []
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                conns.append(server.accept()[0])
            except OSError:
                pass

    t = threading.Thread(target=accept, daemon=True)
    t.start()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.getsockname()[1]}")
    yield
    stop.set()
    t.join()
    for c in conns:
        c.close()
    server.close()


@pytest.fixture
def refused(monkeypatch):
    """A 'Hub' address where nothing listens: connection refused at once."""
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{port}")


def test_bundled_model_is_a_real_pretrained_bert(minilm):
    from transformers import BertModel

    assert isinstance(minilm.model, BertModel)
    assert minilm.source == "bundled"
    assert (minilm.num_layers, minilm.num_heads) == (6, 12)
    assert minilm.model.config._attn_implementation == "eager"
    assert not minilm.model.training
    assert minilm.tokenizer.vocab_size == 30522  # bert-base-uncased's WordPiece vocabulary


def test_offline_env_falls_back_loudly(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(au.FallbackWarning) as record:
        lm = au.load_model("bert-base-uncased")
    assert lm.source == "bundled" and lm.name == "bert-base-uncased"
    # other libraries may warn too (huggingface_hub 0.23 has a FutureWarning): take ours
    ours = [w for w in record if issubclass(w.category, au.FallbackWarning)]
    assert len(ours) == 1
    line = str(ours[0].message)
    assert "\n" not in line
    assert "MiniLM" in line and "HF_HUB_OFFLINE" in line and "bert-base-uncased" in line
    assert "bundled" in lm.caption
    # announced every time, not only once per session
    with pytest.warns(au.FallbackWarning):
        au.load_model("google-bert/bert-base-uncased")


def test_silent_hub_is_cut_off_by_the_probe(blackhole):
    """A Hub that never answers is given up on by our own probe (its timeout, 2.5 s), not by
    transformers' retries; `make bench` reports the measured decision time."""
    with pytest.warns(au.FallbackWarning, match=r"did not answer within 2\.5 s"):
        lm = au.load_model("bert-base-uncased")
    assert lm.source == "bundled"
    assert lm.extra["decided_in_s"] >= 2.5  # it really waited for the probe, and only for it


def test_refused_hub_falls_back(refused):
    with pytest.warns(au.FallbackWarning, match="not reachable"):
        lm = au.load_model("bert-base-uncased")
    assert lm.source == "bundled" and "decided_in_s" in lm.extra


def test_unknown_name_offline_fails_and_names_choices(refused):
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("no-such-org/no-such-model")
    msg = str(err.value)
    assert "no-such-org/no-such-model" in msg and "bert-base-uncased" in msg and "offline" in msg


def test_local_directory_loads_as_given(minilm, tmp_path):
    minilm.model.save_pretrained(tmp_path)
    minilm.tokenizer.save_pretrained(tmp_path)
    lm = au.load_model(str(tmp_path))
    assert lm.source == "local"
    assert lm.model.config._attn_implementation == "eager"
    att = au.extract(lm, "The dog chased the cat")
    assert att.weights.shape == (6, 12, 7, 7)


def test_directory_without_config_fails_clearly(tmp_path):
    with pytest.raises(au.ModelNotAvailableError, match="config.json"):
        au.load_model(str(tmp_path))
    with pytest.raises(au.ModelNotAvailableError, match="no such directory"):
        au.load_model(str(tmp_path / "missing"))


@pytest.mark.parametrize("bad,error", [("", au.ModelNotAvailableError), (None, TypeError), (3, TypeError)])
def test_bad_name_names_the_offline_choices(bad, error):
    with pytest.raises(error, match="bert-base-uncased"):
        au.load_model(bad)
