"""extract's input checks, length limits and terminal detection, without running a model where none is needed."""
import sys
from types import SimpleNamespace

import numpy as np
import pytest

import attn_utils as au
from attn_utils.extract import _check_batch_size, _check_texts, _max_tokens, _stderr_is_terminal

extract_module = sys.modules["attn_utils.extract"]


def fake_lm(model_type="bert", max_positions=512, tokenizer_max=512):
    config = SimpleNamespace(model_type=model_type)
    if max_positions is not None:
        config.max_position_embeddings = max_positions
    return SimpleNamespace(model=SimpleNamespace(config=config), tokenizer=SimpleNamespace(model_max_length=tokenizer_max))


def test_token_limit_is_the_smaller_of_model_and_tokenizer():
    assert _max_tokens(fake_lm(max_positions=512, tokenizer_max=128)) == 128
    assert _max_tokens(fake_lm(max_positions=64, tokenizer_max=512)) == 64


def test_token_limit_ignores_the_tokenizers_no_limit_sentinel():
    huge = int(1e30)  # transformers' VERY_LARGE_INTEGER when a tokenizer has no limit
    assert _max_tokens(fake_lm(max_positions=300, tokenizer_max=huge)) == 300
    assert _max_tokens(fake_lm(max_positions=None, tokenizer_max=huge)) == 512  # nothing known: BERT's 512
    assert _max_tokens(fake_lm(max_positions=999_999, tokenizer_max=huge)) == 999_999
    assert _max_tokens(fake_lm(max_positions=1_000_000, tokenizer_max=None)) == 512


@pytest.mark.parametrize("model_type", ["roberta", "xlm-roberta", "camembert"])
def test_roberta_family_reserves_two_positions(model_type):
    assert _max_tokens(fake_lm(model_type, max_positions=514, tokenizer_max=514)) == 512


def test_other_families_keep_every_position():
    for model_type in ("bert", "distilbert", "gpt2", ""):
        assert _max_tokens(fake_lm(model_type, max_positions=514, tokenizer_max=10**7)) == 514
    no_type = fake_lm()
    del no_type.model.config.model_type
    assert _max_tokens(no_type) == 512


def test_texts_are_checked_and_named_by_item():
    assert _check_texts("a b") == (["a b"], True)
    assert _check_texts(("a", "b")) == (["a", "b"], False)
    assert _check_texts(["a"]) == (["a"], False)
    with pytest.raises(TypeError, match=r"item 2 is int: 7"):
        _check_texts(["a", "b", 7, None])
    with pytest.raises(TypeError, match=r"got dict: \{\}"):
        _check_texts({})
    with pytest.raises(ValueError, match=r"^the text is empty or only white space"):
        _check_texts(" \t")
    with pytest.raises(ValueError, match=r"^item 1 is empty or only white space"):
        _check_texts(["ok", "", " "])
    with pytest.raises(ValueError, match="empty list"):
        _check_texts([])


def test_batch_size_must_be_a_positive_whole_number():
    _check_batch_size(1)
    for bad, kind in ((True, "bool"), (2.0, "float"), ("8", "str")):
        with pytest.raises(TypeError, match=f"batch_size must be a positive integer, got {kind}"):
            _check_batch_size(bad)
    for bad in (0, -4):
        with pytest.raises(ValueError, match=f"batch_size must be a positive integer, got {bad}"):
            _check_batch_size(bad)


def test_a_tuple_of_texts_gives_a_list(minilm):
    out = au.extract(minilm, ("The dog ran.", "A cat."))
    assert isinstance(out, list) and [a.text for a in out] == ["The dog ran.", "A cat."]


@pytest.mark.parametrize("stderr,expected", [
    (SimpleNamespace(isatty=lambda: True), True),
    (SimpleNamespace(isatty=lambda: False), False),
    (SimpleNamespace(), False),  # no isatty at all
    (SimpleNamespace(isatty=lambda: (_ for _ in ()).throw(ValueError("closed"))), False),
    (SimpleNamespace(isatty=lambda: 1), True),
])
def test_terminal_detection(monkeypatch, stderr, expected):
    monkeypatch.setattr(sys, "stderr", stderr)
    result = _stderr_is_terminal()
    assert result is expected


def test_long_text_warning_counts_the_dropped_tokens_and_quotes_the_start(tokenizer):
    from conftest import tiny

    lm = tiny("bert", tokenizer)
    lm.model.config.max_position_embeddings = 20
    text = "alpha " * 30
    with pytest.warns(UserWarning) as record:
        att = au.extract(lm, [text, "short one"])
    (w,) = [r for r in record if "limit" in str(r.message)]
    msg = str(w.message)
    assert "Text of 32 tokens is longer than the model's limit of 20" in msg
    assert "the last 12 tokens were dropped" in msg and repr(text[:40]) in msg
    assert len(att[0]) == 20 and len(att[1]) < 20
    np.testing.assert_allclose(att[0].weights.sum(-1), 1.0, atol=1e-5)
