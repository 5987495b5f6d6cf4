"""probe_heads / probe_baseline on hand-made attention: what is excluded, what counts, what is checked."""
import sys

import numpy as np
import pandas as pd
import pytest

import attn_utils as au

probing = sys.modules["attn_utils.probing"]


def hand_attention(text, rows):
    """Word-level attention for ``text`` with [CLS]/[SEP]; ``rows`` maps (layer, head, query) -> row."""
    tokens = ["[CLS]", *text.split(), "[SEP]"]
    n = len(tokens)
    w = np.full((2, 3, n, n), 1.0 / n)
    for (layer, head, q), row in rows.items():
        w[layer, head, q] = np.asarray(row) / np.sum(row)
    return au.Attention(tokens, w, list(range(n)), text)


@pytest.fixture
def fake_extract(monkeypatch):
    """probe_heads reads attention from ``made`` (text -> Attention) instead of a model."""
    made = {}

    def extract(lm, texts, batch_size=32, **kw):
        return [made[t] for t in texts]

    monkeypatch.setattr(probing, "extract", extract)
    return made


def test_the_dependent_itself_cls_and_sep_are_never_the_prediction(fake_extract):
    ex = {"text": "dogs chase cats", "subj": 0, "verb": 1, "obj": 2}
    # positions: 0 [CLS], 1 dogs, 2 chase, 3 cats, 4 [SEP]
    fake_extract[ex["text"]] = hand_attention(ex["text"], {
        (0, 0, 3): [0.25, 0.05, 0.15, 0.3, 0.25],   # obj: itself, [CLS] and [SEP] beat the verb
        (0, 1, 3): [0.05, 0.5, 0.15, 0.2, 0.1],     # obj: looks at "dogs", not the verb
        (1, 2, 1): [0.3, 0.3, 0.1, 0.05, 0.25],     # subj: excluded tokens first, then the verb
    })
    table = au.probe_heads(None, [ex])
    assert table.loc[(0, 0), "obj_to_verb"] == 1.0
    assert table.loc[(0, 1), "obj_to_verb"] == 0.0
    assert table.loc[(1, 2), "subj_to_verb"] == 1.0
    assert table.shape == (2 * 3, 2) and list(table.index.names) == ["layer", "head"]


def test_accuracy_is_the_share_of_examples(fake_extract):
    exs = [{"text": f"a{i} b c", "subj": 0, "verb": 1, "obj": 2} for i in range(4)]
    for i, ex in enumerate(exs):
        verb_first = i < 3  # three of four point at the verb
        row = [0.1, 0.1, 0.6, 0.1, 0.1] if verb_first else [0.1, 0.6, 0.1, 0.1, 0.1]
        fake_extract[ex["text"]] = hand_attention(ex["text"], {(1, 0, 3): row})
    assert au.probe_heads(None, exs).loc[(1, 0), "obj_to_verb"] == pytest.approx(0.75)


def test_default_examples_are_the_shipped_set(fake_extract, monkeypatch):
    ex = {"text": "x y z", "subj": 0, "verb": 1, "obj": 2}
    fake_extract[ex["text"]] = hand_attention(ex["text"], {})
    monkeypatch.setattr(probing, "load_probe_set", lambda: [ex])
    assert au.probe_heads(None).shape == (6, 2)
    pd.testing.assert_frame_equal(au.probe_baseline(), au.probe_baseline([ex]))


def test_baseline_prefers_the_nearer_offset_on_a_tie_and_has_typed_columns():
    exs = [
        {"text": "a b c d e", "subj": 0, "verb": 1, "obj": 4},  # obj offset -3
        {"text": "a b c d e", "subj": 0, "verb": 3, "obj": 4},  # obj offset -1
    ]
    base = au.probe_baseline(exs)
    assert base.loc["obj_to_verb", "offset"] == -1 and base.loc["obj_to_verb", "accuracy"] == 0.5
    assert base["offset"].dtype.kind == "i" and base["accuracy"].dtype.kind == "f"
    assert list(base.index) == list(probing.RELATIONS)


def test_bad_examples_say_what_is_wrong():
    with pytest.raises(au.AttentionError, match="needs at least one annotated example"):
        au.probe_baseline([])
    with pytest.raises(au.AttentionError, match=r"example 1 lacks \['obj', 'verb'\]"):
        au.probe_baseline([{"text": "a b c", "subj": 0, "verb": 1, "obj": 2}, {"text": "a b", "subj": 0}])
    with pytest.raises(au.AttentionError, match=r"example 0: \['obj'\] out of range 0\.\.2"):
        au.probe_baseline([{"text": "a b c", "subj": 0, "verb": 1, "obj": 3}])
    with pytest.raises(au.AttentionError, match=r"\['subj'\] out of range"):
        au.probe_baseline([{"text": "a b c", "subj": -1, "verb": 1, "obj": 2}])


def test_misaligned_words_name_the_fix(fake_extract):
    ex = {"text": "a b c", "subj": 0, "verb": 1, "obj": 2}
    fake_extract[ex["text"]] = au.Attention(["[CLS]", "a", "bc", "[SEP]"], np.full((1, 1, 4, 4), 0.25))
    with pytest.raises(au.AttentionError, match="spaces around punctuation and no hyphens or apostrophes"):
        au.probe_heads(None, [ex])
