"""Pinned details of syntax_table / syntax_baseline, rollout, head_stats and untrained_twin.

The syntax tables are fed hand-made ``syntax_heads(..., split=True)`` frames
(:func:`scores_frame`) over hand-made sentences, so every count, offset and
interval can be worked out on paper. With 2 sentences ``split_half`` selects on
sentence 0 and reports on sentence 1.
"""
import sys
import itertools

import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from attn_utils.syntax import DIRECTIONS, _labels
from conftest import tiny
from test_syntax import sent
from warn_record import named_lines, names_marked_line

HEADS = list(itertools.product(DIRECTIONS, [0], [0, 1]))  # 2 directions x 1 layer x 2 heads
COLUMNS = ["count", "n", "layer", "head", "direction", "accuracy", "low", "high", "offset", "offset_accuracy",
           "margin"]


def scores_frame(sentences, acc=None, n=None, scorable=None, keep_attrs=True):
    """A syntax_heads(..., split=True) frame: every label in both halves, 4 heads each.

    ``acc`` / ``n`` map ``(half, relation)`` to the 4 accuracies / the word count (default 0.5s and 4);
    ``scorable`` is its attrs["scorable"] (default every word), none at all without ``keep_attrs``.
    """
    acc, n = acc or {}, n or {}
    labels = dict.fromkeys(lab for s in sentences for r in s.relations for lab in _labels(r))
    rows = [(half, rel, *head, a, n.get((half, rel), 4))
            for half in ("select", "report") for rel in labels
            for head, a in zip(HEADS, acc.get((half, rel), [0.5] * 4))]
    frame = pd.DataFrame(rows, columns=["half", "relation", "direction", "layer", "head", "accuracy", "n"])
    frame = frame.set_index(["half", "relation", "direction", "layer", "head"])
    if keep_attrs:
        scorable = scorable if scorable is not None else [[True] * len(s) for s in sentences]
        frame.attrs["scorable"] = tuple(tuple(m) for m in scorable)
    return frame


def error(call, *args, **kwargs):
    with pytest.raises(au.AttentionError) as info:
        call(*args, **kwargs)
    return str(info.value)


# obj in sentence 0 (select): word 3 -> head 1 (offset -2), word 4 -> head 5 (offset +1): a tie, -2 wins;
# obj in sentence 1 (report): word 1 -> head 2 (offset +1), word 3 -> head 5 (offset +2).
S0 = sent(["a", "b", "c", "d", "e"], [5, 5, 1, 5, 0], ["nsubj", "aux", "obj", "obj", "root"])
S1 = sent(["p", "q", "r", "s", "t"], [2, 0, 5, 5, 2], ["obj", "root", "obj", "amod", "conj"])
MASK = [(True, True, False, True, True), (True, True, False, True, True)]  # word 3 of each unscorable


def test_scorable_mask_decides_counts_the_offset_choice_and_the_offset_accuracy():
    table = au.syntax_table(scores_frame([S0, S1], scorable=MASK), [S0, S1], min_count=1)
    assert list(table.columns) == COLUMNS and table.index.name == "relation"
    assert table.attrs["min_count"] == 1
    assert table.loc["all", "count"] == 8 and table.loc["obj", "count"] == 2
    # select half without word 3: only offset +1 hits; report half without word 3: +1 is always right
    assert table.loc["obj", "offset"] == 1 and table.loc["obj", "offset_accuracy"] == 1.0
    assert table.loc["obj", "margin"] == pytest.approx(0.5 - 1.0)
    # no attrs["scorable"] (e.g. a frame read back from disk): every word counts, and a warning says so
    message = ("syntax_table(): the scores have no attrs['scorable'] (syntax_heads sets it), so every word is "
               "counted, also words without a token of their own; pass syntax_heads' own DataFrame, or the model itself")
    with named_lines(UserWarning, message) as named:
        bare = scores_frame([S0, S1], keep_attrs=False)
        plain = au.syntax_table(bare, [S0, S1], min_count=1)  # the line the warning must name
    assert names_marked_line(named, __file__)
    assert plain.loc["all", "count"] == 10 and plain.loc["obj", "count"] == 4
    assert plain.loc["obj", "offset"] == -2 and plain.loc["obj", "offset_accuracy"] == 0.0
    assert plain.attrs["min_count"] == 1


def test_table_picks_the_best_select_head_and_reports_it_with_its_interval_at_the_level_asked():
    acc = {("select", "obj"): [0.1, 0.2, 0.9, 0.3], ("report", "obj"): [0.2, 0.4, 0.75, 0.1]}
    scores = scores_frame([S0, S1], acc=acc, n={("report", "obj"): 20})
    wide = au.syntax_table(scores, [S0, S1], min_count=1)
    narrow = au.syntax_table(scores, [S0, S1], min_count=1, level=0.5)
    row = narrow.loc["obj"]
    assert (row["direction"], row["layer"], row["head"], row["n"], row["accuracy"]) == ("head->dep", 0, 0, 20, 0.75)
    assert (row["low"], row["high"]) == au.binomial_interval(15, 20, 0.5)
    assert (wide.loc["obj", "low"], wide.loc["obj", "high"]) == au.binomial_interval(15, 20)
    assert wide.loc["obj", "low"] < row["low"] < 0.75 < row["high"] < wide.loc["obj", "high"]


def test_a_report_half_without_scored_words_gets_the_whole_unit_interval():
    # a frame without attrs whose report half scored no "obj" word: nothing measured, interval (0, 1)
    scores = scores_frame([S0, S1], acc={("report", "obj"): [0.0] * 4}, n={("report", "obj"): 0})
    row = au.syntax_table(scores, [S0, S1], min_count=1).loc["obj"]
    assert row["n"] == 0 and (row["low"], row["high"]) == (0.0, 1.0)


def test_min_count_keeps_a_relation_seen_exactly_min_count_times():
    # det: 50 + 50 = 100 words (kept by the default 100), amod: 49 + 50 = 99 (left out)
    def big(amods):
        words = 50 + amods + 1
        return sent(["w"] * words, [words] * (words - 1) + [0], ["det"] * 50 + ["amod"] * amods + ["root"])

    sentences = [big(49), big(50)]
    table = au.syntax_table(scores_frame(sentences), sentences)
    assert list(table.index) == ["all", "det"] and table.loc["det", "count"] == 100
    assert table.attrs["min_count"] == 100
    assert list(au.syntax_table(scores_frame(sentences), sentences, min_count=99).index) == ["all", "det", "amod"]


def test_root_punct_and_relations_seen_in_one_half_only_are_skipped_without_stopping_the_table():
    # by count: all 11, punct 4 (never in the table), amod 3 (select half only), det 2, root 2 (never)
    select = sent(["big", "big", "big", "the", "dog", ".", "."], [5, 5, 5, 5, 0, 5, 5],
                  ["amod", "amod", "amod", "det", "root", "punct", "punct"])
    report = sent(["the", "cat", ".", "."], [2, 0, 2, 2], ["det", "root", "punct", "punct"])
    table = au.syntax_table(scores_frame([select, report]), [select, report], min_count=1)
    assert list(table.index) == ["all", "det"]
    assert table.loc["det", "count"] == 2 and table.loc["all", "count"] == 11


def test_table_errors_say_what_is_wrong_in_full():
    scores = scores_frame([S0, S1])
    assert error(au.syntax_table, scores.loc["select"], [S0, S1]) == (
        "syntax_table() needs syntax_heads(..., split=True): the head is chosen on one half "
        "of the sentences and reported on the other")
    three = scores_frame([S0, S1], scorable=[(True,) * 5] * 3)
    assert error(au.syntax_table, three, [S0, S1]) == "scores were computed on 3 sentences, but 2 were given"


def test_table_given_a_model_runs_syntax_heads_with_split_and_the_extra_arguments(tokenizer):
    lm = tiny("bert", tokenizer)
    sentences = [sent(["the", "dog", "barked", "loudly"], [2, 3, 0, 3], ["det", "nsubj", "root", "advmod"]),
                 sent(["a", "cat", "sat"], [2, 3, 0], ["det", "nsubj", "root"]),
                 sent(["the", "old", "man", "slept"], [3, 3, 4, 0], ["det", "amod", "nsubj", "root"])]
    scores = au.syntax_heads(lm, sentences, split=True, progress=False)
    expected = au.syntax_table(scores, sentences, min_count=1)
    got = au.syntax_table(lm, iter(sentences), min_count=1, batch_size=2, progress=False)
    pd.testing.assert_frame_equal(got, expected)
    assert got.index[0] == "all" and set(got.index) == {"all", "det", "nsubj"}  # amod, advmod: one half only
    assert error(au.syntax_table, lm, sentences, batch_size=0).startswith("batch_size must be")


def test_baseline_best_offset_per_relation_with_its_own_accuracy_and_count():
    s = sent(["the", "dog", "barked", "loudly"], [2, 3, 0, 3], ["det", "nsubj", "root", "advmod"])
    best = au.syntax_baseline([s])
    expected = pd.DataFrame({"offset": [1, 1, 1, -3, -1], "accuracy": [0.5, 1.0, 1.0, 1.0, 1.0],
                             "n": [4, 1, 1, 1, 1]},
                            index=pd.Index(["all", "det", "nsubj", "root", "advmod"], name="relation"))
    pd.testing.assert_frame_equal(best, expected, check_dtype=False)
    grid = au.syntax_baseline([s, s], all_offsets=True)
    assert grid.index.name == "relation" and list(grid.columns) == [*au.syntax.OFFSETS, "n"]
    assert grid["n"].tolist() == [8, 2, 2, 2, 2]
    assert error(au.syntax_baseline, []) == "syntax_baseline() needs at least one sentence"
    assert error(au.syntax_baseline, iter([])) == "syntax_baseline() needs at least one sentence"


# --- analysis --------------------------------------------------------------------------------


def test_rollout_renormalises_rows_that_do_not_sum_to_one():
    # hand-built weights whose rows sum to 1, 2 and 4: rollout must divide each row by its own sum
    w = np.array([[[[1.0, 0.0, 0.0], [1.0, 1.0, 0.0], [2.0, 1.0, 1.0]]],
                  [[[0.0, 1.0, 0.0], [0.0, 0.0, 2.0], [1.0, 1.0, 2.0]]]])
    att = au.Attention(["[CLS]", "a", "[SEP]"], w)
    steps = []
    for layer in w:
        a = 0.5 * layer[0] + 0.5 * np.eye(3)
        steps.append(a / a.sum(1)[:, None])
    r = au.rollout(att, all_layers=True)
    np.testing.assert_allclose(r[0], steps[0], rtol=1e-12)
    np.testing.assert_allclose(r[1], steps[1] @ steps[0], rtol=1e-12)
    np.testing.assert_allclose(au.rollout(att), steps[1] @ steps[0], rtol=1e-12)
    np.testing.assert_allclose(r.sum(-1), 1.0, rtol=1e-12)


def test_head_stats_takes_any_iterable_of_texts_or_one_string(tokenizer):
    lm = tiny("bert", tokenizer)
    texts = ["The dog ran.", "A cat sat, then slept.", "Birds sing"]
    ref = au.head_stats(lm, texts, progress=False)
    for given in (tuple(texts), (t for t in texts), iter(texts)):
        pd.testing.assert_frame_equal(au.head_stats(lm, given, progress=False), ref)
    one = au.head_stats(lm, texts[1], progress=False)
    assert one.attrs["texts"] == 1
    pd.testing.assert_frame_equal(one, au.head_stats(lm, [texts[1]], progress=False))


def test_head_stats_runs_32_texts_per_forward_pass_by_default(tokenizer):
    lm = tiny("bert", tokenizer)
    sizes = []
    hook = lm.model.register_forward_hook(lambda mod, args, kwargs, out: sizes.append(len(kwargs["input_ids"])),
                                          with_kwargs=True)
    try:
        au.head_stats(lm, ["The dog ran."] * 33, progress=False)
    finally:
        hook.remove()
    assert sizes == [32, 1]


# --- untrained twin --------------------------------------------------------------------------


def test_untrained_twin_names_and_its_twin_keep_the_model_in_hand(minilm):
    seed = au.models.UNTRAINED_SEED
    twin = au.untrained_twin(minilm)
    assert (twin.name, twin.source, twin.loaded, twin.meaningful) == (minilm.caption, "untrained", "config", False)
    assert twin.caption == f"{minilm.caption}: RANDOM weights (untrained control)"
    assert twin.note == f"{minilm.caption} with RANDOM weights (seed {seed}): untrained_twin"
    att = au.extract(twin, "The dog ran.")  # eager attention: the weights come back
    assert att.weights.shape[:2] == (minilm.num_layers, minilm.num_heads)
    again = au.untrained_twin(twin, seed=7)  # a twin of a twin keeps the plain name, not "... RANDOM ...: RANDOM"
    assert (again.name, again.source, again.loaded, again.meaningful) == (twin.name, "untrained", "config", False)
    assert again.note == f"{minilm.caption} with RANDOM weights (seed 7): untrained_twin"
    assert again.caption == twin.caption
    assert au.extract(again, "The dog ran.").weights.shape == att.weights.shape


def test_untrained_twin_of_an_sdpa_model_still_returns_attentions_and_leaves_the_global_rng_alone(tokenizer):
    import transformers
    from transformers import BertConfig, BertModel

    if tuple(int(x) for x in transformers.__version__.split(".")[:2]) < (4, 41):
        pytest.skip("transformers < 4.41 has no SDPA for BERT (it refuses to build one)")

    cfg = BertConfig(vocab_size=tokenizer.vocab_size, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                     intermediate_size=64, attn_implementation="sdpa")  # a model built by hand, not by load_model
    lm = au.LoadedModel(BertModel(cfg).eval(), tokenizer, name="mine", source="stand-in", loaded="config")
    state = torch.random.get_rng_state()
    twin = au.untrained_twin(lm)
    assert torch.equal(torch.random.get_rng_state(), state)
    assert twin.name == "mine: offline stand-in, RANDOM weights"
    assert au.extract(twin, "The dog ran.").weights.shape[:2] == (2, 4)  # eager, whatever lm used


def test_head_stats_batches_texts_of_similar_length_together(tokenizer):
    """Sorted by token count first, so a batch pads little: the two short texts share the first pass."""
    lm = tiny("bert", tokenizer)
    texts = ["one two three four five six seven eight", "one", "one two three four five six seven", "one two"]
    lengths = []
    hook = lm.model.register_forward_hook(
        lambda mod, args, kwargs, out: lengths.append(sorted(kwargs["attention_mask"].sum(-1).tolist())),
        with_kwargs=True)
    try:
        au.head_stats(lm, texts, batch_size=2, progress=False)
    finally:
        hook.remove()
    assert lengths == [[3, 4], [9, 10]]


def test_heads_frame_names_its_levels_counts_in_integers_and_scores_zero_where_nothing_was_counted():
    syntax = sys.modules["attn_utils.syntax"]
    hits = np.zeros((2, 1, 1, 4))  # [direction, layer, head, half * label]
    hits[..., 3] = 2.0
    frame = syntax._heads_frame(hits, np.array([0.0, 0.0, 5.0, 4.0]), {"all": 0, "nsubj": 1}, n_halves=2)
    assert list(frame.index.names) == ["half", "relation", "direction", "layer", "head"]
    assert frame["n"].dtype == np.int64
    select, report = frame.xs("select"), frame.xs("report")
    assert (select["n"] == 0).all() and (select["accuracy"] == 0.0).all()  # not NaN: nothing counted
    assert report.loc[("nsubj", "dep->head", 0, 0), "accuracy"] == 0.5 and report["n"].tolist() == [5, 5, 4, 4]
