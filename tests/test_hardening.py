"""The bad-input matrix (README, "Bad input"), determinism, devices and other architectures.

Every row of the matrix has a test here or in test_extract/test_models; each
failure is a short error that names the valid choices, never a deep traceback.
"""
import warnings

import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from conftest import SEED_TEXT, tiny


def test_two_extractions_are_bit_identical(minilm):
    a, b = au.extract(minilm, SEED_TEXT), au.extract(minilm, SEED_TEXT)
    assert a.weights.tobytes() == b.weights.tobytes()


def test_text_over_the_limit_warns_with_the_dropped_count(minilm):
    long_text = "word " * 600
    with pytest.warns(UserWarning, match=r"602 tokens.*limit of 512.*last 90 tokens were dropped"):
        att = au.extract(minilm, long_text)
    assert len(att) == 512 and att.tokens[-1] == "[SEP]"


@pytest.mark.parametrize("bad,match", [
    ("", "empty"),
    ("  \n\t ", "empty"),
    (None, "string"),
    (3.14, "string"),
    (["fine", None], "item 1"),
    ([], "empty list"),
])
def test_bad_texts(minilm, bad, match):
    with pytest.raises(au.AttentionError, match=match):
        au.extract(minilm, bad)


def test_bad_batch_size(minilm):
    with pytest.raises(au.AttentionError, match="positive integer"):
        au.extract(minilm, [SEED_TEXT], batch_size=0)


def test_negative_indices_work_like_python(minilm):
    att = au.extract(minilm, SEED_TEXT)
    np.testing.assert_array_equal(att.frame(-1, -1).to_numpy(), att.weights[5, 11])
    np.testing.assert_array_equal(att.query(-2, layer=-6).to_numpy(), att.weights[0, :, 5])


def test_error_is_short(minilm):
    """The learner sees one sentence, raised from our code, not a traceback from inside torch."""
    att = au.extract(minilm, SEED_TEXT)
    with pytest.raises(au.AttentionError) as err:
        att.query("mouse")
    assert err.traceback[-1].path.name == "extract.py"
    assert len(str(err.value).splitlines()) == 1


def test_gpt2_is_causal(tokenizer):
    from transformers import GPT2Config, GPT2Model

    torch.manual_seed(0)
    cfg = GPT2Config(vocab_size=tokenizer.vocab_size, n_embd=32, n_layer=2, n_head=4, n_positions=64,
                     attn_implementation="eager")
    lm = au.LoadedModel(GPT2Model(cfg).eval(), tokenizer, "tiny-gpt2", "stand-in", "config")
    att = au.extract(lm, SEED_TEXT)
    assert att.weights.shape == (2, 4, 7, 7)
    upper = np.triu(np.ones((7, 7), dtype=bool), k=1)
    assert np.all(att.weights[:, :, upper] == 0)  # no token looks ahead
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    batched = au.extract(lm, [SEED_TEXT, "A longer sentence than the first one, by far."], batch_size=2)
    np.testing.assert_allclose(batched[0].weights, att.weights, atol=1e-5)


class _DeviceCheck(torch.nn.Module):
    """Wraps a model and records the device of every input it is called with."""

    def __init__(self, inner):
        super().__init__()
        self.inner, self.config, self.seen = inner, inner.config, []

    def forward(self, **inputs):
        self.seen += [v.device for v in inputs.values() if isinstance(v, torch.Tensor)]
        return self.inner(**inputs)


def test_inputs_follow_the_models_device(tokenizer):
    lm = tiny("bert", tokenizer)
    wrapped = au.LoadedModel(_DeviceCheck(lm.model), tokenizer, "tiny", "stand-in", "config")
    au.extract(wrapped, SEED_TEXT)
    param_device = next(lm.model.parameters()).device
    assert wrapped.model.seen and all(d == param_device for d in wrapped.model.seen)


@pytest.mark.cuda
def test_model_on_gpu_gives_cpu_numpy(tokenizer):  # pragma: no cover - needs a GPU
    lm = tiny("bert", tokenizer)
    lm.model.to("cuda")
    att = au.extract(lm, SEED_TEXT)
    assert isinstance(att.weights, np.ndarray)


def test_half_precision_model_gives_float32(tokenizer):
    lm = tiny("bert", tokenizer)
    lm.model.to(torch.bfloat16)
    att = au.extract(lm, SEED_TEXT)
    assert att.weights.dtype == np.float32
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=2e-2)


def test_doctor_reports_every_check():
    table = au.doctor(probe_hub=False)
    for check in ["python", "torch", "transformers", "attention (au.load_model)", "attention (transformers default)",
                  "Hugging Face Hub", "bundled English model", "Japanese tokenizer", "Japanese font"]:
        assert check in table.index
    assert table.loc["bundled English model", "status"] == "available"
    import transformers

    assert table.loc["transformers", "status"] == transformers.__version__
    assert table.loc["attention (au.load_model)", "status"] == "eager"


def test_doctor_states_what_the_installed_transformers_default_does():
    import torch
    from transformers import BertConfig, BertModel

    # measured here independently: a default-configured BERT asked for its weights
    model = BertModel(BertConfig(vocab_size=8, hidden_size=8, num_hidden_layers=1, num_attention_heads=2,
                                 intermediate_size=8)).eval()
    with torch.no_grad():
        returned = bool(model(torch.tensor([[1, 2]]), output_attentions=True).attentions)
    row = au.doctor(probe_hub=False).loc["attention (transformers default)"]
    assert row["status"] == model.config._attn_implementation
    says_returned = "returns no weights" not in row["detail"].lower()
    assert says_returned == returned, row["detail"]


def test_doctor_details_are_whole_sentences_that_fit_the_table():
    table = au.doctor(probe_hub=True)
    with pd.option_context("display.max_colwidth", 50):
        shown = repr(table) + table._repr_html_()  # what a notebook shows
    assert "..." not in shown  # nothing cut off by pandas' default column width
    for check in ["attention (au.load_model)", "attention (transformers default)", "Hugging Face Hub"]:
        detail = table.loc[check, "detail"]
        assert detail[:1].isupper() and detail.endswith("."), detail


def test_fallback_warning_is_not_an_error_under_default_filters(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        au.load_model("bert-base-uncased")
    assert any(issubclass(w.category, au.FallbackWarning) for w in caught)


# --- each package error is also the builtin a Python user would catch (README, "Bad input") -------

@pytest.fixture(scope="module")
def seed(minilm):
    return au.extract(minilm, SEED_TEXT)


@pytest.mark.parametrize("call", [
    lambda lm, att: au.extract(lm, 42),
    lambda lm, att: au.extract(lm, ["fine", 3]),
    lambda lm, att: att.frame(layer=1.5),
    lambda lm, att: att.frame(head="0"),
    lambda lm, att: att.query(2.0),
    lambda lm, att: au.extract(lm, [SEED_TEXT], batch_size="8"),
    lambda lm, att: au.load_model(3),
], ids=["text-int", "text-list-item", "layer-float", "head-str", "token-float", "batch-size-str", "model-int"])
def test_wrong_type_is_a_type_error(minilm, seed, call):
    with pytest.raises(TypeError) as err:
        call(minilm, seed)
    assert isinstance(err.value, au.AttentionError)  # existing `except AttentionError` still catches it


@pytest.mark.parametrize("call,valid", [
    (lambda att: att.frame(layer=40), "0..5"),
    (lambda att: att.frame(layer=0, head=12), "0..11"),
    (lambda att: att.query(7), "0..6"),
    (lambda att: att.pair("chased", -8), "0..6"),
], ids=["layer", "head", "position", "negative-position"])
def test_out_of_range_is_an_index_error(seed, call, valid):
    with pytest.raises(IndexError) as err:
        call(seed)
    assert isinstance(err.value, au.AttentionError) and valid in str(err.value)


@pytest.mark.parametrize("token,says", [("mouse", "not one of the tokens"), ("the", "occurs 2 times")])
def test_absent_or_ambiguous_token_is_a_key_error_that_reads_well(seed, token, says):
    with pytest.raises(KeyError) as err:
        seed.query(token)
    assert isinstance(err.value, au.AttentionError)
    msg = str(err.value)
    # a plain KeyError would print repr(message): quotes around it and \\n escapes inside
    assert msg == err.value.args[0] and msg.startswith(repr(token)) and says in msg


@pytest.mark.parametrize("text", ["", "  \n", [SEED_TEXT, " "], []])
def test_empty_text_is_a_value_error(minilm, text):
    with pytest.raises(ValueError, match="empty") as err:
        au.extract(minilm, text)
    assert isinstance(err.value, au.EmptyTextError)
    assert not isinstance(err.value, (TypeError, KeyError, IndexError))


def test_unavailable_model_is_an_os_error_as_in_transformers(tmp_path):
    for name in ("no-such-org/no-such-model", str(tmp_path), str(tmp_path / "missing")):
        with pytest.raises(OSError) as err:
            au.load_model(name, offline=True)
        assert isinstance(err.value, au.ModelNotAvailableError)
        assert not isinstance(err.value, au.AttentionError)  # not a bad *input*: the model is missing here



# --- tokenizer outputs that a model's forward does not take ------------------------------------

def test_model_inputs_keep_only_what_forward_takes(tokenizer):
    from attn_utils.extract import model_inputs

    enc = tokenizer(SEED_TEXT, return_tensors="pt")
    assert "token_type_ids" in enc  # a BERT tokenizer gives them...
    distil = tiny("distilbert", tokenizer)
    assert set(model_inputs(distil.model, enc)) == {"input_ids", "attention_mask"}  # ...DistilBERT takes none
    assert set(model_inputs(tiny("bert", tokenizer).model, enc)) == {"input_ids", "attention_mask", "token_type_ids"}


def test_token_ablation_runs_on_every_family(tiny_model):
    """token_ablation passes the tokenizer's output to the model itself: filtered as extract() does."""
    table = au.token_ablation(tiny_model, SEED_TEXT, "chased")
    assert list(table.index) == ["the_1", "dog", "the_4", "cat"]
    assert (table["change"] > 0).all()
