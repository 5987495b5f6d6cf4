"""Beyond raw weights: norm-based attention, head probing, token ablation."""
import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from attn_utils.analysis import _value_vectors
from conftest import SEED_TEXT

TEXT = "The dog chased the cat, and the cat ran."


def test_decomposition_reproduces_the_attention_output_on_every_layer(minilm):
    """sum_h sum_j alpha^h_ij f^h(x_j) + b_O == the output dense layer's result (before residual and LayerNorm)."""
    layers = minilm.model.encoder.layer
    captured = {}
    hooks = [layer.attention.output.dense.register_forward_hook(
        lambda mod, inp, out, l=l: captured.__setitem__(l, out[0].detach())) for l, layer in enumerate(layers)]
    try:
        enc = minilm.tokenizer(TEXT, return_tensors="pt")
        with torch.no_grad():
            out = minilm.model(**enc, output_attentions=True, output_hidden_states=True)
    finally:
        for h in hooks:
            h.remove()
    heads = minilm.model.config.num_attention_heads
    for l, layer in enumerate(layers):
        with torch.no_grad():
            f = _value_vectors(layer, out.hidden_states[l][0], heads)  # [head, key, hidden]
            alpha = out.attentions[l][0].double()
            mine = torch.einsum("hqk,hkd->qd", alpha, f) + layer.attention.output.dense.bias.double()
        assert (mine.float() - captured[l]).abs().max() < 1e-4, l


def test_norm_attention_shapes_and_relations(minilm):
    att = au.extract(minilm, TEXT)
    per_head = au.norm_attention(minilm, TEXT)
    per_layer = au.norm_attention(minilm, TEXT, per_head=False)
    n = len(att)
    assert per_head.shape == (6, 12, n, n) and per_layer.shape == (6, n, n)
    assert (per_head >= 0).all()
    # zero weight gives zero norm, and the norm of a sum is at most the sum of norms
    assert np.all(per_head[att.weights == 0] == 0)
    assert np.all(per_layer <= per_head.sum(1) + 1e-4)
    # norms are weights times ||f||: the ratio is the same down every column
    ratio = per_head[0, 0] / att.weights[0, 0]
    np.testing.assert_allclose(ratio, np.broadcast_to(ratio[0], ratio.shape), rtol=1e-3)


def test_probe_baseline_by_hand():
    examples = [
        {"text": "a b c d", "subj": 0, "verb": 1, "obj": 3},  # obj offset -2, subj offset +1
        {"text": "a b c d e", "subj": 1, "verb": 2, "obj": 4},  # -2, +1
        {"text": "a b c d e", "subj": 0, "verb": 2, "obj": 3},  # -1, +2
    ]
    base = au.probe_baseline(examples)
    assert base.loc["obj_to_verb", "offset"] == -2 and base.loc["obj_to_verb", "accuracy"] == pytest.approx(2 / 3)
    assert base.loc["subj_to_verb", "offset"] == 1 and base.loc["subj_to_verb", "accuracy"] == pytest.approx(2 / 3)


def test_probe_heads_matches_a_manual_count(minilm):
    examples = au.load_probe_set()[:12]
    table = au.probe_heads(minilm, examples)
    assert table.index.names == ["layer", "head"] and list(table.columns) == ["obj_to_verb", "subj_to_verb"]
    assert ((table >= 0) & (table <= 1)).all().all()
    layer, head = 2, 0
    hits = 0
    for ex in examples:
        words = au.extract(minilm, ex["text"]).to_words()
        row = words.weights[layer, head, ex["obj"] + 1].copy()
        row[[0, ex["obj"] + 1, len(words) - 1]] = -1
        hits += int(row.argmax() == ex["verb"] + 1)
    assert table.loc[(layer, head), "obj_to_verb"] == pytest.approx(hits / len(examples))


def test_probe_set_is_annotated_consistently():
    examples = au.load_probe_set()
    assert len(examples) >= 60
    for ex in examples:
        words = ex["text"].split()
        assert len({ex["subj"], ex["verb"], ex["obj"]}) == 3
        assert ex["subj"] < ex["verb"] < ex["obj"] or words[0] in ("Yesterday", "Every", "In", "After", "Last")
        assert not any("-" in w or "'" in w for w in words)


def test_probe_rejects_misaligned_text(minilm):
    # words are grouped by character spans, so "well-known" is one word, as in text.split()
    table = au.probe_heads(minilm, [{"text": "The well-known dog chased the cat .", "subj": 2, "verb": 3, "obj": 5}])
    assert len(table) == minilm.num_layers * minilm.num_heads
    # a "word" the tokenizer drops entirely (a zero-width space) cannot line up
    with pytest.raises(au.AttentionError, match="line up"):
        au.probe_heads(minilm, [{"text": "The dog \u200b chased the cat .", "subj": 1, "verb": 3, "obj": 5}])
    with pytest.raises(au.AttentionError, match="out of range"):
        au.probe_baseline([{"text": "a b", "subj": 0, "verb": 1, "obj": 5}])


def test_token_ablation(minilm):
    table = au.token_ablation(minilm, SEED_TEXT, "chased")
    assert list(table.index) == ["the_1", "dog", "the_4", "cat"]
    assert (table["change"] > 0).all()
    att = au.extract(minilm, SEED_TEXT)
    np.testing.assert_allclose(table.loc["dog", "attention"], att.weights[:, :, 3, 2].mean(), rtol=1e-6)


def test_probe_holdout_selects_on_one_half_and_reports_on_the_other(minilm):
    examples = au.load_probe_set()
    table = au.probe_holdout(minilm, examples, seed=0)
    select, report = au.split_half(len(examples), seed=0)
    assert table.attrs["selection"] == select.tolist() and table.attrs["report"] == report.tolist()
    on_select = au.probe_heads(minilm, [examples[i] for i in select])
    on_report = au.probe_heads(minilm, [examples[i] for i in report])
    base_select = au.probe_baseline([examples[i] for i in select])
    for rel, row in table.iterrows():
        # the chosen head is the best on the selection half, and its score is read on the report half only
        assert row["selection_accuracy"] == pytest.approx(on_select[rel].max())
        assert on_select.loc[(row["layer"], row["head"]), rel] == pytest.approx(on_select[rel].max())
        assert row["n"] == len(report) and row["accuracy"] == pytest.approx(row["hits"] / row["n"])
        assert row["accuracy"] == pytest.approx(on_report.loc[(row["layer"], row["head"]), rel])
        # the baseline's offset is chosen on the selection half too, then counted on the report half
        assert row["offset"] == base_select.loc[rel, "offset"]
        dep, head = au.probing.RELATIONS[rel]
        expected = sum(examples[i][head] - examples[i][dep] == row["offset"] for i in report)
        assert row["baseline_hits"] == expected
        assert (row["low"], row["high"]) == pytest.approx(au.binomial_interval(row["hits"], row["n"]))
        assert (row["baseline_low"], row["baseline_high"]) == pytest.approx(
            au.binomial_interval(row["baseline_hits"], row["n"]))
        # paired: the discordant report sentences, counted here from the two per-sentence results
        head_right = np.array(_head_right(minilm, [examples[i] for i in report],
                                            rel, row["layer"], row["head"]))
        base_right = np.array([examples[i][head] - examples[i][dep] == row["offset"] for i in report])
        assert row["head_only"] == int((head_right & ~base_right).sum())
        assert row["baseline_only"] == int((base_right & ~head_right).sum())
        assert row["hits"] - row["baseline_hits"] == row["head_only"] - row["baseline_only"]
        assert row["p_value"] == pytest.approx(au.mcnemar_exact(head_right, base_right)[2])
        significant = row["p_value"] < 0.05
        assert (row["verdict"] != "undecided") == significant
        if significant:
            assert row["verdict"] == ("head above baseline" if row["head_only"] > row["baseline_only"]
                                      else "baseline above head")


def _head_right(lm, examples, rel, layer, head):
    """Per sentence: does head (layer, head) score the relation correctly? (one sentence at a time)"""
    return [bool(au.probe_heads(lm, [ex]).loc[(layer, head), rel] == 1.0) for ex in examples]
