"""Japanese: the offline fallback, the untrained control, fonts, and clear errors."""
import importlib.util
import warnings

import numpy as np
import pytest

import attn_utils as au
from warn_record import named_lines, names_marked_line

pytestmark = pytest.mark.skipif(importlib.util.find_spec("fugashi") is None, reason="needs fugashi (pip install fugashi unidic-lite)")

# What tohoku-nlp/bert-base-japanese-v3's own tokenizer gives for these sentences.
V3_TOKENS = {
    "犬が猫を追う": ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"],
    "猫を犬が追う": ["[CLS]", "猫", "を", "犬", "が", "追う", "[SEP]"],
    "犬が猫を追いかけた。": ["[CLS]", "犬", "が", "猫", "を", "追いかけ", "た", "。", "[SEP]"],
}


def test_fallback_warning_points_at_the_callers_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with named_lines(au.FallbackWarning) as named:
        au.load_model("tohoku-nlp/bert-base-japanese-v3")  # the line the warning must name
    assert names_marked_line(named, __file__), named


@pytest.fixture(scope="module")
def untrained_v3():
    """Built once for the three sentences (a random 110M-parameter BERT takes about a second to build)."""
    return au.load_model("tohoku-nlp/bert-base-japanese-v3", untrained=True)


@pytest.mark.parametrize("text", list(V3_TOKENS))
def test_untrained_v3_has_v3_tokens_and_shape_and_says_random(text, untrained_v3):
    lm = untrained_v3
    assert lm.source == "untrained" and "RANDOM" in lm.caption and not lm.meaningful
    cfg = lm.model.config
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size, cfg.vocab_size) == (12, 12, 768, 32768)
    assert cfg._attn_implementation == "eager" and not lm.model.training
    att = au.extract(lm, text)
    assert att.tokens == V3_TOKENS[text]
    assert "RANDOM" in att.caption
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)


def test_missing_fugashi_names_the_pip_command(monkeypatch):
    real = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: None if name == "fugashi" else real(name, *a))
    with pytest.raises(ImportError, match=r"pip install fugashi\b") as err:
        au.load_model("tohoku-nlp/bert-base-japanese-v3")
    assert "attn-utils[ja]" in str(err.value)


def test_japanese_font_draws_without_missing_glyphs(tmp_path):
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    font = au.use_japanese_font()
    assert "IPAex" in font or "Gothic" in font
    fig, ax = plt.subplots()
    ax.set_title("犬が猫を追う・追いかけた。")
    ax.set_xticks([0, 1], ["昨日", "##日"])
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # "Glyph ... missing from font(s)" becomes a failure
        fig.savefig(tmp_path / "ja.png")
    plt.close(fig)
