"""extract at its edges: models that return no attention, the exact token limit, objects without a caption,
slow tokenizers, and the exact wording of its errors (found by mutation testing; see docs/mutation.md)."""
import warnings
from types import SimpleNamespace

import numpy as np
import pytest
import torch

import attn_utils as au
from conftest import SEED_TEXT
extract_mod = __import__("sys").modules["attn_utils.extract"]


class NoAttentionModel(torch.nn.Module):
    """A model whose output carries no usable attention: an empty tuple (what SDPA gives in transformers 5.x),
    or no ``attentions`` attribute at all (a custom model)."""

    def __init__(self, config, output):
        super().__init__()
        self.config = config
        self.weight = torch.nn.Parameter(torch.zeros(1))
        self.output = output

    def forward(self, input_ids=None, attention_mask=None, output_attentions=False):
        return self.output


def no_attention_lm(tokenizer, output, **config):
    return SimpleNamespace(model=NoAttentionModel(SimpleNamespace(max_position_embeddings=512, **config), output),
                           tokenizer=tokenizer)


def test_empty_attentions_name_the_implementation_and_the_fix(tokenizer):
    lm = no_attention_lm(tokenizer, SimpleNamespace(attentions=()), _attn_implementation="sdpa")
    with pytest.raises(au.AttentionError) as err:
        au.extract(lm, SEED_TEXT)
    msg = str(err.value)
    assert msg.startswith("The model returned no attention weights (attentions=(); attention implementation: 'sdpa').")
    assert msg.endswith("Load the model with attn_implementation='eager' (au.load_model does this for you).")


def test_a_config_without_an_implementation_says_unknown(tokenizer):
    lm = no_attention_lm(tokenizer, SimpleNamespace(attentions=None))
    with pytest.raises(au.AttentionError, match=r"attentions=None; attention implementation: 'unknown'\)"):
        au.extract(lm, SEED_TEXT)


def test_an_output_without_an_attentions_field_is_the_same_clear_error(tokenizer):
    lm = no_attention_lm(tokenizer, SimpleNamespace(last_hidden_state=None), _attn_implementation="eager")
    with pytest.raises(au.AttentionError, match=r"attentions=None; attention implementation: 'eager'"):
        au.extract(lm, SEED_TEXT)


def test_a_text_of_exactly_the_limit_is_kept_whole_without_a_warning(tokenizer):
    from conftest import tiny

    lm = tiny("bert", tokenizer)
    lm.model.config.max_position_embeddings = 20
    exact, over = "alpha " * 18, "alpha " * 19  # 18 + [CLS] + [SEP] = 20 tokens; then 21
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert len(au.extract(lm, exact)) == 20
    with pytest.warns(UserWarning, match="the last 1 tokens were dropped"):
        assert len(au.extract(lm, over)) == 20


def test_an_object_without_a_caption_gives_an_empty_caption(minilm):
    bare = SimpleNamespace(model=minilm.model, tokenizer=minilm.tokenizer)
    att = au.extract(bare, SEED_TEXT)
    assert att.caption == ""
    assert au.extract(minilm, SEED_TEXT).caption == minilm.caption != ""


def test_an_empty_list_is_refused_with_the_exact_message():
    with pytest.raises(au.EmptyTextError) as err:
        au.extract(None, [])
    assert str(err.value) == "extract() got an empty list: pass at least one sentence"


def test_a_slow_tokenizer_gives_no_word_ids_and_words_from_spans():
    lm = au.load_model("tohoku-nlp/bert-base-japanese-v3", untrained=True)
    att = au.extract(lm, "犬が猫を追う")
    assert att.word_ids is None and att.spans is not None  # MeCab's tokenizer is slow: no word_ids
    words = att.to_words()
    assert words.tokens == ["[CLS]", "犬", "が", "猫", "を", "追う", "[SEP]"]
    assert words.spans == [None, (0, 1), (1, 2), (2, 3), (3, 4), (4, 6), None]


def test_to_words_with_given_words_needs_spans_and_says_how_to_get_them():
    att = au.Attention(["[CLS]", "dog", "[SEP]"], np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32))
    with pytest.raises(au.AttentionError) as err:
        att.to_words(words=["dog"])
    assert str(err.value) == ("to_words(words=...) needs each token's character span; this Attention has none. "
                              "Use au.extract(lm, text), which fills att.spans.")


def test_progress_bar_is_labelled_with_the_function_name(minilm, capsys):
    au.extract(minilm, [SEED_TEXT, "A second one."], batch_size=1, progress=True)
    assert "extract" in capsys.readouterr().err


def test_without_spans_pieces_join_their_word_but_never_a_special_token():
    tokens = ["[CLS]", "##ing", "play", "##ed", "[SEP]"]
    att = au.Attention(tokens, np.full((1, 1, 5, 5), 0.2, dtype=np.float32))
    words = att.to_words()
    assert words.tokens == ["[CLS]", "##ing", "played", "[SEP]"]
    assert words.spans is None and words.merged_words == 0
    np.testing.assert_allclose(words.weights.sum(-1), 1.0, atol=1e-6)


def test_to_words_counts_words_merged_by_a_straddling_token():
    att = au.Attention(["[CLS]", "ab c", "d", "[SEP]"], np.full((1, 1, 4, 4), 0.25), text="ab cd",
                       spans=[None, (0, 4), (4, 5), None])
    words = att.to_words(words=[(0, 2), (3, 5)])  # "ab c" straddles both words: one word "ab cd"
    assert words.tokens == ["[CLS]", "ab cd", "[SEP]"] and words.merged_words == 1
    assert words.spans == [None, (0, 5), None]


def test_inputs_follow_the_model_to_its_device():
    import torch

    class OnMeta(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.w = torch.nn.Parameter(torch.zeros(1, device="meta"))

        def forward(self, input_ids, attention_mask):
            raise AssertionError("not called")

    enc = {"input_ids": torch.ones(1, 3, dtype=torch.long), "attention_mask": torch.ones(1, 3, dtype=torch.long),
           "token_type_ids": torch.zeros(1, 3, dtype=torch.long)}
    moved = extract_mod.model_inputs(OnMeta(), enc)
    assert set(moved) == {"input_ids", "attention_mask"} and {v.device.type for v in moved.values()} == {"meta"}


def test_token_limit_without_a_tokenizer_limit_is_the_models():
    lm = SimpleNamespace(model=SimpleNamespace(config=SimpleNamespace(max_position_embeddings=40)),
                         tokenizer=SimpleNamespace())
    assert extract_mod._max_tokens(lm) == 40
    lm.model.config.model_type = "roberta"
    assert extract_mod._max_tokens(lm) == 38


def test_labels_stay_unique_when_a_token_already_looks_like_a_numbered_label():
    assert extract_mod._unique_labels(["a", "b", "a", "a_2"]) == ["a_0", "b", "a_2", "a_2'"]
    assert extract_mod._unique_labels(["a", "a", "a_1", "a_1'"]) == ["a_0", "a_1", "a_1'", "a_1''"]


def test_shape_and_span_count_mismatches_are_named_exactly():
    with pytest.raises(au.AttentionError) as err:
        au.Attention(["a", "b"], np.full((1, 1, 3, 3), 1 / 3))
    assert str(err.value) == "weights end in (3, 3), but there are 2 tokens"
    with pytest.raises(au.AttentionError) as err:
        au.Attention(["a", "b"], np.full((1, 1, 2, 2), 0.5), spans=[(0, 1)])
    assert str(err.value) == "1 spans for 2 tokens: give one span (or None) per token"
