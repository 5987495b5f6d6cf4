"""load_model and the probe, continued: answers, errors, threads, untrained controls, messages."""
import http.server
import threading
import urllib.error
import urllib.request

import pytest

import attn_utils as au


class _Ok(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_response(200)
        self.send_header("Content-Length", "2")
        self.end_headers()
        self.wfile.write(b"{}")

    def log_message(self, *args):
        pass


def test_a_hub_answering_200_is_reachable(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Ok)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True).start()
    try:
        for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "http_proxy", "HTTP_PROXY"):
            monkeypatch.delenv(var, raising=False)
        monkeypatch.setenv("NO_PROXY", "127.0.0.1")
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}")
        assert au.hub_reachable(timeout=5.0) == (True, "")
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture
def online_env(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_ENDPOINT", "https://hub.example")


def test_unreachable_reason_is_the_errors_own_reason(online_env, monkeypatch):
    def dns_fails(url, timeout=None):
        raise urllib.error.URLError("name does not resolve")

    monkeypatch.setattr(urllib.request, "urlopen", dns_fails)
    assert au.hub_reachable(timeout=2.0) == (False, "the Hub (https://hub.example) is not reachable: name does not resolve")

    def refused(url, timeout=None):
        raise ConnectionRefusedError(111, "Connection refused")

    monkeypatch.setattr(urllib.request, "urlopen", refused)
    ok, reason = au.hub_reachable(timeout=2.0)
    assert not ok and reason.endswith("not reachable: [Errno 111] Connection refused")


def test_a_hanging_probe_runs_in_a_daemon_thread_that_never_blocks_exit(online_env, monkeypatch):
    release = threading.Event()
    started = threading.Event()

    def hang(url, timeout=None):
        started.set()
        release.wait(10)
        raise OSError("released")

    monkeypatch.setattr(urllib.request, "urlopen", hang)
    try:
        ok, reason = au.hub_reachable(timeout=0.3)
        assert not ok and reason == "the Hub (https://hub.example) did not answer within 0.3 s"
        assert started.is_set()
        probes = [t for t in threading.enumerate() if getattr(getattr(t, "_target", None), "__name__", "") == "probe"]
        assert probes and all(t.daemon for t in probes)  # still hanging, and it will not keep Python alive
    finally:
        release.set()


def test_offline_cache_lookup_never_touches_the_network(monkeypatch, tmp_path):
    """With offline=True, both the tokenizer and the model are looked up with local_files_only."""
    import transformers

    calls = []

    def tokenizer_from(*args, **kwargs):
        calls.append(("AutoTokenizer", kwargs))
        return object()  # found: the model is looked up next

    def model_from(*args, **kwargs):
        calls.append(("AutoModel", kwargs))
        raise OSError("not cached (test)")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", tokenizer_from)
    monkeypatch.setattr(transformers.AutoModel, "from_pretrained", model_from)
    with pytest.raises(au.ModelNotAvailableError, match="not in the local Hugging Face cache"):
        au.load_model("org/not-cached", offline=True)
    assert [name for name, _ in calls] == ["AutoTokenizer", "AutoModel"]
    assert all(kw.get("local_files_only") is True for _, kw in calls)


def test_default_name_is_bert_base_uncased(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(au.FallbackWarning, match="bert-base-uncased"):
        lm = au.load_model()
    assert lm.name == "bert-base-uncased" and lm.source == "bundled"


def test_messages_list_the_offline_names_separated_by_commas(tmp_path):
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("   ")
    assert "bert-base-uncased, google-bert/bert-base-uncased, sentence-transformers/all-MiniLM-L6-v2" in str(err.value)
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model(str(tmp_path))
    assert repr(str(tmp_path)) in str(err.value) and "model.save_pretrained(dir)" in str(err.value)


def test_load_tokenizer_strips_names_and_says_what_else_to_use():
    assert au.load_tokenizer("  bert-base-uncased ").vocab_size == 30522
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_tokenizer("roberta-base")
    msg = str(err.value)
    assert "Valid names: tohoku-nlp/bert-base-japanese-v3, cl-tohoku/bert-base-japanese-v3, bert-base-uncased" in msg
    assert "transformers.AutoTokenizer.from_pretrained(name)" in msg
    with pytest.raises(au.AttentionTypeError, match=r"takes one model name as a string, got int 3\. Valid names: "):
        au.load_tokenizer(3)  # not a string: a TypeError (it was an OSError, and a list a bare "unhashable type")


def test_untrained_bert_base_has_bert_bases_shape_and_vocabulary():
    lm = au.load_model("bert-base-uncased", untrained=True)
    cfg = lm.model.config
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size, cfg.vocab_size) == (12, 12, 768, 30522)
    assert (lm.name, lm.source, lm.loaded, lm.meaningful) == ("bert-base-uncased", "untrained", "config", False)
    assert lm.tokenizer.vocab_size == 30522 and cfg._attn_implementation == "eager"


def test_untrained_unknown_name_reads_its_config_from_the_hub(monkeypatch):
    import transformers

    asked = []

    def config_from(where, **kwargs):
        asked.append(where)
        raise OSError("no network (test)")

    monkeypatch.setattr(transformers.AutoConfig, "from_pretrained", config_from)
    with pytest.raises(OSError, match="no network"):
        au.load_model("org/some-bert", offline=False, untrained=True)
    assert asked == ["org/some-bert"]


def test_untrained_from_a_home_relative_directory(tokenizer, tmp_path, monkeypatch):
    from conftest import tiny

    (tmp_path / "m").mkdir()
    tiny("bert", tokenizer).model.save_pretrained(tmp_path / "m")
    tokenizer.save_pretrained(tmp_path / "m")
    monkeypatch.setenv("HOME", str(tmp_path))
    lm = au.load_model("~/m", untrained=True)
    assert lm.source == "untrained" and lm.name == "~/m" and lm.num_layers == 2
