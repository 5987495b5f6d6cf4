"""load_model: eager attention, the loud and fast offline fallback, clear errors."""
import socket
import threading
import time

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
    line = str(record[0].message)
    assert "\n" not in line
    assert "MiniLM" in line and "HF_HUB_OFFLINE" in line and "bert-base-uncased" in line
    assert "bundled" in lm.caption
    # announced every time, not only once per session
    with pytest.warns(au.FallbackWarning):
        au.load_model("google-bert/bert-base-uncased")


def test_unreachable_hub_decided_fast(blackhole):
    t0 = time.monotonic()
    with pytest.warns(au.FallbackWarning, match="did not answer"):
        lm = au.load_model("bert-base-uncased")
    assert lm.source == "bundled"
    assert lm.extra["decided_in_s"] < 3.0
    assert time.monotonic() - t0 < 3.0 + 20.0  # decision plus the load itself


def test_refused_hub_decided_at_once(refused):
    with pytest.warns(au.FallbackWarning, match="not reachable"):
        lm = au.load_model("bert-base-uncased")
    assert lm.extra["decided_in_s"] < 1.0


def test_unknown_name_offline_fails_fast_and_names_choices(refused):
    t0 = time.monotonic()
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("no-such-org/no-such-model")
    assert time.monotonic() - t0 < 5
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


@pytest.mark.parametrize("bad", ["", None, 3])
def test_bad_name(bad):
    with pytest.raises(au.ModelNotAvailableError, match="bert-base-uncased"):
        au.load_model(bad)
