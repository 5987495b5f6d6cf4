"""load_model: the online path, Japanese checks, and message details."""
import importlib.util

import pytest

import attn_utils as au
from test_planted_bugs import hf_home  # noqa: F401  (fixture: a tiny BERT in a temporary HF cache)


def test_online_load_is_the_hub_model(hf_home):  # noqa: F811
    lm = au.load_model("tiny-org/tiny-bert", offline=False)  # HF_HUB_OFFLINE: transformers reads its cache
    assert (lm.name, lm.source, lm.loaded, lm.note) == ("tiny-org/tiny-bert", "hub", "tiny-org/tiny-bert", "")
    assert lm.model is not None and lm.tokenizer is not None and lm.num_layers == 2
    cached = au.load_model("tiny-org/tiny-bert", offline=True)
    assert (cached.source, cached.loaded) == ("hub", "tiny-org/tiny-bert")


def test_hub_errors_quote_the_first_line_and_list_offline_names(monkeypatch):
    import transformers

    def fail(*args, **kwargs):
        raise OSError("repo not found: org/x\nmore detail that stays hidden")

    monkeypatch.setattr(transformers.AutoTokenizer, "from_pretrained", fail)
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("org/x", offline=False)
    msg = str(err.value)
    assert "from the Hub: repo not found: org/x\n" in msg and "more detail" not in msg
    assert "Names that work offline: bert-base-uncased, google-bert/bert-base-uncased" in msg
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("org/x", offline=True)
    assert "Names that work offline: bert-base-uncased, google-bert/bert-base-uncased" in str(err.value)
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("org/x", offline=True, untrained=True)
    assert "(offline=True was passed)" in str(err.value)
    assert "Names that work offline: tohoku-nlp/bert-base-japanese-v3, cl-tohoku/bert-base-japanese-v3" in str(err.value)


def test_forced_offline_reason_is_quoted_in_the_note():
    with pytest.warns(au.FallbackWarning) as record:
        au.load_model("bert-base-uncased", offline=True)
    ours = [r for r in record if issubclass(r.category, au.FallbackWarning)]  # 4.40 adds a hub FutureWarning
    assert "is not available (offline=True was passed)" in str(ours[0].message)


def test_local_directory_records_where_it_came_from(minilm, tmp_path):
    minilm.model.save_pretrained(tmp_path)
    minilm.tokenizer.save_pretrained(tmp_path)
    lm = au.load_model(str(tmp_path))
    assert lm.loaded == str(tmp_path) and lm.caption == tmp_path.name


def test_directory_without_config_says_how_to_save_one(tmp_path):
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model(str(tmp_path))
    assert "Save one with model.save_pretrained(dir) and tokenizer.save_pretrained(dir)." in str(err.value)


def test_a_rooted_name_is_a_path():
    with pytest.raises(au.ModelNotAvailableError, match="looks like a path"):
        au.load_model("/nosuchdir")


def test_japanese_names_need_fugashi_and_others_do_not(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fugashi" else real(name, *a))
    for name in ("org/bert-base-japanese-x", "org/BERT-Japanese"):
        with pytest.raises(ImportError, match="pip install fugashi"):
            au.load_model(name, offline=True)
    assert au.load_model("all-MiniLM-L6-v2").source == "bundled"  # English needs no MeCab
