"""attn_utils.toy: the toy Japanese (its trees are trees), its tokenizer, the deterministic training,
the measurements (the R/P code of notebook 04), the seed-study file, and notebook 07's self-checks."""
import re
from pathlib import Path

import nbformat
import numpy as np
import pytest
import torch

import attn_utils as au
from attn_utils import exercises as ex
from attn_utils import roles, toy
from attn_utils.exercises import checks_toy
from attn_utils.treebank import Sentence

ROOT = Path(__file__).resolve().parents[1]
LABELS = {"nsubj", "obj", "case", "amod", "obl", "advmod", "punct", "root"}


@pytest.fixture(scope="module")
def corpora():
    return {order: toy.toy_corpus(order, 3000, seed=0) for order in toy.ORDERS}


@pytest.fixture(scope="module")
def test_pairs(corpora):
    return toy.held_out(40, seed=77, exclude=corpora.values())


@pytest.fixture(scope="module")
def short_runs():
    corpus = toy.toy_corpus("scrambled", 500, seed=3)
    return [toy.train_toy_bert(corpus, steps=30, seed=3, snapshots=[0, 10]) for _ in range(2)]


# --- the grammar ---------------------------------------------------------------------------


def test_the_trees_are_trees_with_the_ud_labels(corpora, test_pairs):
    for s in [*corpora["sov"], *corpora["scrambled"], *test_pairs]:
        assert isinstance(s, Sentence)
        n = len(s.words)
        assert s.text == " ".join(s.words)
        assert [s.text[a:b] for a, b in s.spans] == s.words
        assert s.heads.count(0) == 1 and s.relations[s.heads.index(0)] == "root"
        assert all(0 <= h <= n for h in s.heads) and all(h != i + 1 for i, h in enumerate(s.heads))
        for i in range(n):  # every word reaches the root in fewer than n steps: no cycles
            j, steps = i + 1, 0
            while j != 0:
                j, steps = s.heads[j - 1], steps + 1
                assert steps <= n, f"cycle in {s.text}"
        assert set(s.relations) <= LABELS
        for i, (w, h, r) in enumerate(zip(s.words, s.heads, s.relations)):
            head = s.words[h - 1] if h else None
            if r == "root":
                assert w in toy.VERB_CLASS
            elif r in ("nsubj", "obj"):
                assert w in toy.NOUN_CLASS and head in toy.VERB_CLASS
                assert s.words[i + 1] == ("が" if r == "nsubj" else "を")
            elif r == "case":
                assert w in ("が", "を") and h == i and s.words[h - 1] in toy.NOUN_CLASS  # the noun just before
            elif r == "amod":
                assert w in toy.ADJECTIVES and h == i + 2 and head in toy.NOUN_CLASS
            elif r == "advmod":
                assert w in toy.ADVERBS and head in toy.VERB_CLASS and h == i + 2
            elif r == "obl":
                assert w in toy.OPENINGS and head in toy.VERB_CLASS
            else:
                assert r == "punct" and w in ("、", "。")
        subj, verb = s.words[s.relations.index("nsubj")], s.words[s.relations.index("root")]
        assert toy.VERB_CLASS[verb] == toy.NOUN_CLASS[subj], "the verb depends on the subject's class"
    seen = {r for s in corpora["scrambled"] for r in s.relations}
    assert seen == LABELS


def test_sov_is_always_sov_and_scrambled_is_half_osv(corpora):
    first = checks_toy.subject_first_share
    assert first(corpora["sov"]) == 1.0
    share = first(corpora["scrambled"])
    lo, hi = au.binomial_interval(round(share * 3000), 3000)
    assert lo < 0.5 < hi
    # the same seed says the same things in both corpora, only the order differs
    for a, b in zip(corpora["sov"][:50], corpora["scrambled"][:50]):
        assert sorted(a.words) == sorted(b.words)


def test_held_out_pairs_are_unseen_unique_and_counterbalanced(corpora, test_pairs):
    train = {s.text for c in corpora.values() for s in c}
    texts = [s.text for s in test_pairs]
    assert len(texts) == 80 and len(set(texts)) == 80 and not set(texts) & train
    for sov, osv in zip(test_pairs[::2], test_pairs[1::2]):
        assert sorted(sov.words) == sorted(osv.words)
        assert sov.relations.index("nsubj") < sov.relations.index("obj")
        assert osv.relations.index("nsubj") > osv.relations.index("obj")


def test_bad_arguments_get_clear_errors():
    with pytest.raises(ValueError, match="order must be one of"):
        toy.toy_corpus("ovs")
    with pytest.raises(TypeError, match="n must be an integer"):
        toy.toy_corpus("sov", n=2.5)
    with pytest.raises(ValueError, match="snapshots must lie"):
        toy.train_toy_bert(toy.toy_corpus("sov", 10), steps=5, snapshots=[10])
    with pytest.raises(TypeError, match="Sentence"):
        toy.train_toy_bert(["犬 が 猫 を 追う 。"], steps=5)


# --- the tokenizer --------------------------------------------------------------------------


def test_the_tokenizer_round_trips_and_its_offsets_are_the_words(corpora):
    tok = toy.toy_tokenizer()
    assert tok.is_fast and tok.unk_token_id not in [tok.convert_tokens_to_ids(w) for w in toy._words()]
    for s in corpora["scrambled"][:300]:
        ids = tok(s.text)["input_ids"]
        tokens = tok.convert_ids_to_tokens(ids)
        assert tokens == ["[CLS]", *s.words, "[SEP]"]
        assert tok.decode(ids, skip_special_tokens=True) == s.text
        assert au.token_spans(tok, s.text, ids) == [None, *[tuple(x) for x in s.spans], None]
    masked = tok("犬 が [MASK] を 追う 。")["input_ids"]
    assert masked[3] == tok.mask_token_id
    assert tok("犬 が 宇宙人 を 追う")["input_ids"][3] == tok.unk_token_id


# --- training -------------------------------------------------------------------------------


def test_training_is_deterministic_per_seed_and_restores_torch_settings(short_runs):
    threads = torch.get_num_threads()
    a, b = short_runs
    assert [m.extra["step"] for m in a] == [0, 10, 30]
    for x, y in zip(a, b):
        sx, sy = x.model.state_dict(), y.model.state_dict()
        assert sx.keys() == sy.keys() and all(torch.equal(sx[k], sy[k]) for k in sx)
    assert a[-1].extra["losses"] == b[-1].extra["losses"] and len(a[-1].extra["losses"]) == 30
    assert a[1].extra["losses"] == a[-1].extra["losses"][:10]
    assert not torch.equal(a[0].model.bert.embeddings.word_embeddings.weight,
                           a[-1].model.bert.embeddings.word_embeddings.weight)
    # training runs on one thread; the caller's count (here 3, never 1, whatever the suite runs with) comes back
    torch.set_num_threads(3)
    try:
        other = toy.train_toy_bert(toy.toy_corpus("scrambled", 500, seed=3), steps=1, seed=4, snapshots=[0])
        assert torch.get_num_threads() == 3
    finally:
        torch.set_num_threads(threads)
    assert not torch.equal(other[0].model.bert.embeddings.word_embeddings.weight,
                           a[0].model.bert.embeddings.word_embeddings.weight)
    assert not torch.are_deterministic_algorithms_enabled()


def test_snapshots_are_loaded_models_that_every_function_reads(short_runs, test_pairs):
    first, last = short_runs[0][0], short_runs[0][-1]
    assert first.source == "untrained" and "RANDOM" in first.caption and not first.meaningful
    assert last.meaningful and "step 30" in last.caption
    assert last.model.config._attn_implementation == "eager" and not last.model.training
    att = au.extract(last, test_pairs[0].text)
    assert att.tokens == ["[CLS]", *test_pairs[0].words, "[SEP]"]
    assert att.weights.shape == (2, 4, len(att), len(att))
    table = au.syntax_heads(last, test_pairs[:10], progress=False)
    assert table.attrs["scored"] == table.attrs["words"] == sum(len(s) for s in test_pairs[:10])


def test_a_trained_model_beats_the_untrained_one_on_held_out_verbs(test_pairs):
    models = toy.train_toy_bert(toy.toy_corpus("sov", 3000, seed=1), steps=250, seed=1, snapshots=[0])
    before, after = (toy.verb_accuracy(m, test_pairs) for m in models)
    assert before["n"] == after["n"] == len(test_pairs)
    assert after["class"] >= before["class"] + 0.25, (before, after)
    assert after["exact"] > before["exact"]


def test_verb_accuracy_agrees_with_a_direct_prediction(short_runs, test_pairs):
    lm = short_runs[0][-1]
    tok = lm.tokenizer
    exact = klass = 0
    for s in test_pairs[:12]:
        words = list(s.words)
        v = s.relations.index("root")
        words[v] = "[MASK]"
        enc = tok(" ".join(words), return_tensors="pt")
        with torch.no_grad():
            top = lm.model(**enc).logits[0, v + 1].argmax().item()
        guess = tok.convert_ids_to_tokens(top)
        exact += guess == s.words[v]
        klass += toy.VERB_CLASS.get(guess) == toy.VERB_CLASS[s.words[v]]
    got = toy.verb_accuracy(lm, test_pairs[:12], batch_size=5)
    assert got == {"exact": exact / 12, "class": klass / 12, "n": 12}


# --- measurements: the R/P code of notebook 04 ----------------------------------------------


def test_measure_uses_the_role_position_code_of_notebook_04(short_runs, test_pairs, monkeypatch):
    assert toy.role_position is roles.role_position and toy.RoleItem is roles.RoleItem
    lm = short_runs[0][-1]
    items = toy.role_items(test_pairs)
    for item, s in zip(items, test_pairs):  # the nouns, not their particles
        assert s.words[item.role_a] in toy.NOUN_CLASS and s.words[item.role_a + 1] == "が"
        assert s.words[item.role_b] in toy.NOUN_CLASS and s.words[item.role_b + 1] == "を"
        assert s.words[item.verb] in toy.VERB_CLASS
    eff = roles.role_position(lm, items)
    calls = []
    monkeypatch.setattr(toy, "role_position", lambda *a, **k: calls.append(k) or roles.role_position(*a, **k))
    m = toy.measure(lm, test_pairs)
    assert [c["direction"] for c in calls] == ["verb->noun", "noun->verb"]
    np.testing.assert_allclose(m["R"], eff.R, atol=1e-6)
    np.testing.assert_allclose(m["P"], eff.P, atol=1e-6)
    first, second = eff.by_order()
    assert m["R_both"] == pytest.approx(np.minimum(first, second).max(), abs=1e-6)
    assert m["role_heads"] == int(toy.role_heads(eff).sum())
    nb = (ROOT / "notebooks" / "07_heads_form.ipynb").read_text()
    assert "from attn_utils.roles import" in nb and "role_position(" in nb


def test_role_heads_need_the_role_in_both_orders_and_no_position():
    def effects(role_sov, role_osv):
        role = np.array([[[role_sov]]] * 2 + [[[role_osv]]] * 2)
        second = np.array([False, False, True, True])
        return roles.RoleEffects(role, np.where(second[:, None, None], role, -role), role, second, "verb->noun")

    assert toy.role_heads(effects(0.9, 0.9))[0, 0]
    assert not toy.role_heads(effects(0.9, -0.9))[0, 0]      # a position head: the sign flips with the order
    assert not toy.role_heads(effects(0.9, 0.2))[0, 0]       # too weak in OSV
    assert not toy.role_heads(effects(0.9, 0.4))[0, 0]       # |P| = 0.25 > 0.1
    assert toy.role_heads(effects(0.5, 0.6))[0, 0]


def test_the_seed_study_file_matches_the_study_settings():
    study = toy.load_seed_study()
    assert {k: study["settings"][k] for k in toy.STUDY} == toy.STUDY
    for order in toy.ORDERS:
        seeds = sorted(r["seed"] for r in study["rows"] if r["order"] == order)
        assert len(seeds) >= 5 and seeds == list(range(len(seeds)))
    for r in study["rows"]:
        assert np.array(r["R"]).shape == (2, 4)
        assert [t["step"] for t in r["trajectory"]] == list(toy.TRAJECTORY)
        assert r["role_heads"] == r["trajectory"][-1]["role_heads"]


# --- notebook 07's self-checks ---------------------------------------------------------------
# Their wrong-answer matrix (every case that used to be here, and more) is in tests/test_exercise_matrix.py,
# with the checks of notebooks 01-06; here only that they are registered there and read the toy's own objects.


def test_the_toy_checks_are_registered_with_the_others(corpora, capsys):
    toy_checks = {"check_subject_first", "check_role_position_by_hand", "check_exact_ceiling"}
    assert toy_checks <= set(ex.CHECKS)
    assert all(ex.CHECKS[name] is getattr(checks_toy, name) for name in toy_checks)
    want = {o: checks_toy.subject_first_share(c) for o, c in corpora.items()}
    assert want["sov"] == 1.0 and 0.4 < want["scrambled"] < 0.6
    ex.check_subject_first(1.0, want, corpora=corpora)
    ex.check_exact_ceiling(1 / len(toy.VERBS["animal"]), verbs=toy.VERBS)
    out = capsys.readouterr().out
    assert out.count("✅") == 2 and "予想どおり" in out


def test_notebook_07_exercise_cells_follow_the_series_structure():
    nb = nbformat.read(ROOT / "notebooks" / "07_heads_form.ipynb", as_version=4)
    ids = {c.metadata["exercise"]["id"] for c in nb.cells if "exercise" in c.metadata}
    assert len(ids) >= 3
    learner = [c for c in nb.cells if c.metadata.get("exercise", {}).get("part") == "learner"]
    assert len(learner) == len(ids) and any("my_guess" in c.source for c in learner)
    for c in nb.cells:
        if c.metadata.get("exercise", {}).get("part") == "learner" and "my_guess" in c.source:
            assert re.search(r"^my_guess = None\s*(#.*)?$", c.source, re.M), c.source


def test_row_differences_finds_every_difference_and_nothing_else():
    row = {"R": [[0.1, 0.2]], "best": [0, 1], "order": "sov", "verb": {"exact": 0.25, "n": 100}}
    assert toy.row_differences(row, {**row}) == []
    assert toy.row_differences(row, {**row, "R": [[0.1, 0.2 + 5e-7]]}) == []
    assert toy.row_differences(row, {**row, "R": [[0.1, 0.2 + 2e-6]]}) == ["row['R'][0][1]: 0.2 != 0.200002"]
    assert toy.row_differences(row, {**row, "order": "scrambled"}) == ["row['order']: 'sov' != 'scrambled'"]
    assert toy.row_differences(row, {**row, "best": [0, 1, 2]}) == ["row['best']: 2 items != 3"]
    assert len(toy.row_differences(row, {"R": row["R"]})) == 1
    assert toy.row_differences(row, {**row, "verb": {"exact": 0.26, "n": 100}}) == ["row['verb']['exact']: 0.25 != 0.26"]
