"""Japanese: the offline stand-in's tokens, its shape and labels, fonts, and clear errors."""
import importlib.util
import warnings

import numpy as np
import pytest

import attn_utils as au
from attn_utils import japanese

pytestmark = pytest.mark.skipif(importlib.util.find_spec("fugashi") is None, reason="needs fugashi (pip install fugashi unidic-lite)")

# What tohoku-nlp/bert-base-japanese-v3's own tokenizer gives for these sentences.
V3_TOKENS = {
    "犬が猫を追う": ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"],
    "猫を犬が追う": ["[CLS]", "猫", "を", "犬", "が", "追う", "[SEP]"],
    "犬が猫を追いかけた。": ["[CLS]", "犬", "が", "猫", "を", "追いかけ", "た", "。", "[SEP]"],
}


@pytest.fixture(scope="module")
def standin(monkeypatch_module):
    monkeypatch_module.setenv("HF_HUB_OFFLINE", "1")
    with pytest.warns(au.FallbackWarning, match="RANDOM"):
        return au.load_model("tohoku-nlp/bert-base-japanese-v3")


@pytest.fixture(scope="module")
def monkeypatch_module():
    mp = pytest.MonkeyPatch()
    yield mp
    mp.undo()


def test_standin_is_labelled_and_has_v3_shape(standin):
    from transformers import BertJapaneseTokenizer, BertModel

    assert standin.source == "stand-in" and not standin.meaningful
    assert "RANDOM" in standin.caption
    assert isinstance(standin.tokenizer, BertJapaneseTokenizer)
    assert standin.tokenizer.word_tokenizer_type == "mecab" and standin.tokenizer.subword_tokenizer_type == "wordpiece"
    assert isinstance(standin.model, BertModel)
    cfg = standin.model.config
    assert (cfg.num_hidden_layers, cfg.num_attention_heads, cfg.hidden_size, cfg.vocab_size) == (12, 12, 768, 32768)
    assert cfg._attn_implementation == "eager" and not standin.model.training


@pytest.mark.parametrize("text", list(V3_TOKENS))
def test_standin_tokens_equal_v3(standin, text):
    att = au.extract(standin, text)
    assert att.tokens == V3_TOKENS[text]
    assert "RANDOM" in att.caption
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)


@pytest.mark.parametrize("text", [
    "吾輩は猫である。名前はまだ無い。",
    "昨日、東京の公園で子供たちがボールを蹴って遊んでいた。",
    "ｶﾀｶﾅもＡＢＣも、鬱蒼とした森の中では読みにくい。",
    "機械学習のモデルは、注意の重みを計算する。",
])
def test_other_japanese_has_no_unk(standin, text):
    tokens = standin.tokenizer.tokenize(text)
    assert "[UNK]" not in tokens, tokens


def test_split_word_is_rejoined_at_word_level(standin):
    att = au.extract(standin, "昨日、犬が猫を追いかけた。")
    assert att.tokens[1:3] == ["昨", "##日"]
    words = att.to_words()
    assert words.tokens[1] == "昨日"
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-5)


def test_standin_is_deterministic():
    a, b = japanese.standin_model(), japanese.standin_model()
    for (n, p), (_, q) in zip(a.named_parameters(), b.named_parameters()):
        assert torch_equal(p, q), n


def torch_equal(p, q):
    import torch

    return torch.equal(p, q)


def test_vocab_has_v3_size_and_both_piece_forms():
    vocab = japanese.build_vocab()
    assert len(vocab) == 32768 and len(set(vocab)) == len(vocab)
    assert vocab[:5] == ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
    for ch in "犬猫追日昨あア":
        assert ch in vocab and "##" + ch in vocab
    assert "昨日" not in vocab  # so that it splits, as in v3


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
