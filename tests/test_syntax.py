"""Syntax heads (Clark et al. 2019, Table 1) on hand-made attention maps with known trees."""
from types import SimpleNamespace

import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from attn_utils import treebank as tbk
from attn_utils import words as W


# --- loading -----------------------------------------------------------------------------------

@pytest.mark.parametrize("name, sentences, words", [("en_ewt", 600, 8837), ("ja_gsd", 364, 6351)])
def test_shipped_treebanks_have_their_sentences_and_words(name, sentences, words):
    tb = au.load_treebank(name)
    assert len(tb) == sentences
    assert sum(len(s) for s in tb) == words
    for s in tb:
        assert len(s.words) == len(s.heads) == len(s.relations) == len(s.spans)
        assert all(0 <= h <= len(s) for h in s.heads)
        assert s.heads.count(0) == 1


@pytest.mark.parametrize("name", ["en_ewt", "ja_gsd"])
def test_word_spans_point_at_the_word_forms_in_the_text(name):
    for s in au.load_treebank(name):
        assert [s.text[a:b] for a, b in s.spans] == s.words
        assert all(b1 <= a2 for (_, b1), (a2, _) in zip(s.spans, s.spans[1:]))  # in order, no overlap


def test_multiword_tokens_and_empty_nodes_are_not_words(tmp_path):
    path = tmp_path / "mini.conllu"
    path.write_text(
        "# sent_id = x1\n# text = I don't sleep.\n"
        "1\tI\tI\tPRON\t_\t_\t4\tnsubj\t_\t_\n"
        "2-3\tdon't\t_\t_\t_\t_\t_\t_\t_\t_\n"
        "2\tdo\tdo\tAUX\t_\t_\t4\taux\t_\t_\n"
        "3\tn't\tnot\tPART\t_\t_\t4\tadvmod\t_\t_\n"
        "4\tsleep\tsleep\tVERB\t_\t_\t0\troot\t_\tSpaceAfter=No\n"
        "4.1\tslept\tsleep\tVERB\t_\t_\t_\t_\t4:conj\t_\n"
        "5\t.\t.\tPUNCT\t_\t_\t4\tpunct\t_\t_\n\n",
        encoding="utf-8",
    )
    (s,) = au.load_treebank(path)
    assert s.words == ["I", "do", "n't", "sleep", "."]
    assert s.heads == [4, 4, 4, 0, 4]
    assert s.spans == [(0, 1), (2, 4), (4, 7), (8, 13), (13, 14)]
    en = au.load_treebank("en_ewt")
    its = next(s for s in en if "It's" in s.text.split())
    assert "It's" not in its.words and "It" in its.words and "'s" in its.words


@pytest.mark.parametrize("bad", ["en", "ewt.conllu", "/nonexistent/x.conllu"])
def test_bad_treebank_names_list_the_valid_choices(bad):
    with pytest.raises(FileNotFoundError, match="'en_ewt', 'ja_gsd'"):
        au.load_treebank(bad)
    with pytest.raises(TypeError, match="en_ewt"):
        au.load_treebank(3)


# --- the classifier ----------------------------------------------------------------------------

def hand_map(n, rows):
    """Word-level map [1, 1, n + 2, n + 2] ([CLS] 0, words 1..n, [SEP] n + 1) from {row: {col: weight}}."""
    w = np.zeros((n + 2, n + 2))
    for r, cols in rows.items():
        for c, v in cols.items():
            w[r, c] = v
    return w[None, None]


def test_argmax_ignores_attention_to_self_cls_and_sep():
    # word 1 puts most weight on itself, [CLS] and [SEP], a little on word 3: the prediction is 3
    m = hand_map(3, {1: {1: 0.5, 0: 0.2, 4: 0.2, 3: 0.07, 2: 0.03},
                     2: {0: 0.9, 1: 0.1}, 3: {4: 0.6, 3: 0.3, 2: 0.1}})
    pred = au.head_predictions(m, "dep->head")[0, 0]
    assert pred.tolist() == [3, 1, 2]
    assert 0 not in pred  # never root


def test_default_direction_is_dep_to_head_and_tensors_from_a_model_are_accepted():
    m = hand_map(3, {1: {1: 0.5, 0: 0.2, 4: 0.2, 3: 0.07, 2: 0.03},
                     2: {0: 0.9, 1: 0.1}, 3: {4: 0.6, 3: 0.3, 2: 0.1}})
    assert au.head_predictions(m).tolist() == au.head_predictions(m, "dep->head").tolist() == [[[3, 1, 2]]]
    grad = torch.tensor(m, requires_grad=True)  # as it comes out of a model run without inference_mode
    assert au.head_predictions(grad).tolist() == [[[3, 1, 2]]]


def test_head_to_dep_reads_the_transposed_map():
    # word 2 attends to words 1 and 3 (its dependents); words 1 and 3 attend only to [SEP]
    m = hand_map(3, {1: {4: 1.0}, 2: {1: 0.5, 3: 0.5}, 3: {4: 1.0}})
    assert au.head_predictions(m, "head->dep")[0, 0, [0, 2]].tolist() == [2, 2]
    with pytest.raises(au.AttentionError, match="dep->head"):
        au.head_predictions(m, "up")


def sent(words, heads, relations):
    text = " ".join(words)
    spans, pos = [], 0
    for w in words:
        spans.append((pos, pos + len(w)))
        pos += len(w) + 1
    return tbk.Sentence(list(words), list(heads), list(relations), text, spans)


def test_offset_baseline_counts_the_word_at_each_offset():
    # the(det->2) dog(nsubj->3) barked(root) loudly(advmod->3)
    s = sent(["the", "dog", "barked", "loudly"], [2, 3, 0, 3], ["det", "nsubj", "root", "advmod"])
    grid = au.syntax_baseline([s, s], all_offsets=True)
    assert grid.loc["det", 1] == 1.0 and grid.loc["nsubj", 1] == 1.0 and grid.loc["advmod", -1] == 1.0
    assert grid.loc["advmod", 1] == 0.0  # clipped to the last word (itself), a miss
    assert grid.loc["root", -3] == 1.0  # before the sentence start: predicts 0 = root, as in Clark's clipping
    assert grid.loc["all", 1] == pytest.approx(2 / 4)
    best = au.syntax_baseline([s])
    assert best.loc["advmod", "offset"] == -1 and best.loc["det", "offset"] == 1
    assert list(grid.columns[:-1]) == [-3, -2, -1, 0, 1, 2]
    masked = au.syntax_baseline([s], all_offsets=True, scorable=[(True, False, True, True)])
    assert "nsubj" not in masked.index and masked.loc["all", "n"] == 3  # unscorable words are left out


def test_subtypes_count_under_the_subtype_and_the_base_relation():
    s = sent(["a", "b", "c", "d"], [4, 4, 4, 0], ["nsubj:outer", "nsubj", "obl:tmod", "root"])
    grid = au.syntax_baseline([s], all_offsets=True)
    assert grid.loc["nsubj", "n"] == 2 and grid.loc["nsubj:outer", "n"] == 1
    assert grid.loc["obl", "n"] == 1 and grid.loc["obl:tmod", "n"] == 1
    assert grid.loc["all", "n"] == 4  # each word once in "all"


def test_possessive_uses_the_prediction_of_the_following_s():
    s = sent(["the", "company", "'s", "plan"], [2, 4, 2, 0], ["det", "nmod:poss", "case", "root"])
    assert tbk.poss_source(s) == [0, 2, 2, 3]
    # offset +1 from "'s" (word 3) is "plan" = the possessor's head: a hit for nmod:poss, counted in "all" too
    grid = au.syntax_baseline([s], all_offsets=True)
    assert grid.loc["nmod:poss", 1] == 1.0 and grid.loc["nmod", 1] == 1.0


# --- alignment ---------------------------------------------------------------------------------

def test_alignment_nested_straddling_and_bare_pieces():
    words = [(0, 3), (3, 5), (6, 10)]  # e.g. 歌 | つき | ...
    # [CLS], a bare piece, a piece inside word 0, a piece from word 0 into word 1, word 2 in two pieces, [SEP]
    tokens = [None, (0, 0), (0, 2), (2, 5), (6, 8), (8, 10), None]
    owner = au.align_words(tokens, words)
    assert owner == [None, 0, 0, 0, 2, 2, None]  # word 1 is merged into word 0's group
    assert W.nesting(tokens, words, owner) == (2, 1)  # two words share a piece, one owns none
    # pieces that nest: every word owns its tokens
    nested = [None, (0, 1), (1, 3), (3, 5), (6, 10), None]
    owner = au.align_words(nested, words)
    assert owner == [None, 0, 0, 1, 2, None] and W.nesting(nested, words, owner) == (0, 0)
    # a token over the space between words belongs to no word
    assert au.align_words([None, (0, 3), (3, 5), (5, 6), (6, 10), None], words)[3] == -1


@pytest.mark.parametrize("name", ["en_ewt", "ja_gsd"])
def test_alignment_report_counts_words_and_shares(minilm, name):
    sentences = au.load_treebank(name)[:50]
    report = au.alignment_report(minilm, sentences)
    assert report["words"] == sum(len(s) for s in sentences)
    assert 0 <= report["without_token"] <= report["crossed"] <= report["words"]
    assert report["without_token_share"] == report["without_token"] / report["words"]


# --- end to end on planted attention -----------------------------------------------------------

class PlantedModel(torch.nn.Module):
    """A stand-in encoder whose 4 heads follow a known rule over UD words (1 layer).

    head 0: each word's pieces attend to the first piece of its gold head (root -> [SEP]);
    head 1: each word spreads its weight over its dependents (none -> [SEP]);
    head 2: each word attends to the previous word (the first word to the last one);
    head 3: 0.5 self, 0.25 [CLS], 0.2 [SEP], 0.05 its gold head (root: 0.05 on [SEP]).
    """

    def __init__(self, tokenizer, sentences):
        super().__init__()
        self.config = SimpleNamespace(max_position_embeddings=512, model_type="bert", _attn_implementation="eager")
        self.dummy = torch.nn.Parameter(torch.zeros(1))
        self.maps = {}
        spans = W.token_spans_batch(SimpleNamespace(tokenizer=tokenizer, model=self), [s.text for s in sentences])
        for s, tspans in zip(sentences, spans):
            ids = tuple(tokenizer(s.text)["input_ids"])
            self.maps[ids] = planted(s, W.align_words(tspans, s.spans))

    def forward(self, input_ids, attention_mask, token_type_ids=None, output_attentions=True):
        B, T = input_ids.shape
        out = torch.zeros(B, 4, T, T)
        for b in range(B):
            real = int(attention_mask[b].sum())
            out[b, :, :real, :real] = torch.from_numpy(self.maps[tuple(input_ids[b, :real].tolist())])
        return SimpleNamespace(attentions=(out,))


def planted(s, owner):
    T, n = len(owner), len(s)
    first = {}
    for t, w in enumerate(owner):
        if w is not None and w >= 0:
            first.setdefault(w, t)
    cls, sep = 0, T - 1
    deps = {h: [i for i, hh in enumerate(s.heads) if hh - 1 == h] for h in range(n)}
    w = np.zeros((4, T, T), dtype=np.float32)
    for t, word in enumerate(owner):
        if word is None or word < 0:  # special tokens, and tokens outside every word, look at themselves
            w[:, t, t] = 1.0
            continue
        gold = first.get(s.heads[word] - 1, sep) if s.heads[word] else sep
        w[0, t, gold] = 1.0
        targets = [first[d] for d in deps[word] if d in first] or [sep]
        w[1, t, targets] = 1.0 / len(targets)
        w[2, t, first[previous_owned(word, n, first)]] = 1.0
        w[3, t, t] += 0.5
        w[3, t, cls] += 0.25
        w[3, t, sep] += 0.2
        w[3, t, gold] += 0.05
    return w


def previous_owned(word, n, owned):
    """The nearest word before ``word`` that owns a token (wrapping around to the end)."""
    k = (word - 1) % n
    while k not in owned:
        k = (k - 1) % n
    return k


def oracle(sentences, owners, rule):
    """Accuracy per relation of a per-word prediction rule, by plain counting."""
    hits, counts = {}, {}
    for s, owner in zip(sentences, owners):
        owned = {w for w in owner if w is not None and w >= 0}
        for i, rel in enumerate(s.relations):
            j = tbk.poss_source(s)[i]
            if j not in owned or (s.heads[i] and s.heads[i] - 1 not in owned):
                continue  # merged away by the tokenizer, or its head is: not scored
            ok = rule(s, j, owned) == s.heads[i]
            for lab in ["all", rel] + ([rel.split(":")[0]] if ":" in rel else []):
                hits[lab] = hits.get(lab, 0) + ok
                counts[lab] = counts.get(lab, 0) + 1
    return {k: hits[k] / counts[k] for k in hits}


def planted_run(minilm, name, count):
    sentences = au.load_treebank(name)[:count]
    lm = SimpleNamespace(model=PlantedModel(minilm.tokenizer, sentences).eval(), tokenizer=minilm.tokenizer)
    spans = W.token_spans_batch(lm, [s.text for s in sentences])
    owners = [W.align_words(t, s.spans) for s, t in zip(sentences, spans)]
    return lm, sentences, owners


@pytest.mark.parametrize("name", ["en_ewt", "ja_gsd"])
def test_syntax_heads_recovers_the_planted_tree(minilm, name):
    lm, sentences, owners = planted_run(minilm, name, 40)
    scores = au.syntax_heads(lm, sentences, batch_size=7, progress=False)
    acc = scores["accuracy"]

    def gold_if_owned(s, j, owned):
        h = s.heads[j]
        return h if h and (h - 1) in owned else -1

    expected = oracle(sentences, owners, gold_if_owned)
    for rel, value in expected.items():
        assert acc[(rel, "dep->head", 0, 0)] == pytest.approx(value), rel
        assert acc[(rel, "dep->head", 0, 3)] == pytest.approx(value), rel  # self, [CLS], [SEP] ignored
        assert acc[(rel, "head->dep", 0, 1)] == pytest.approx(value), rel
    assert acc[("root", "dep->head", 0, 0)] == 0.0
    assert expected["det" if name == "en_ewt" else "case"] > 0.9

    def previous(s, j, owned):
        return previous_owned(j, len(s), owned) + 1

    for rel, value in oracle(sentences, owners, previous).items():
        assert acc[(rel, "dep->head", 0, 2)] == pytest.approx(value), rel
    n = scores.xs(("dep->head", 0, 0), level=("direction", "layer", "head"))["n"]
    unscorable = sum(not ok for m in scores.attrs["scorable"] for ok in m)
    assert n["all"] == scores.attrs["scored"] == sum(len(s) for s in sentences) - unscorable
    if name == "ja_gsd":  # MiniLM's English WordPiece merges many Japanese short units
        assert unscorable > 0


def test_batching_does_not_change_the_scores(minilm):
    lm, sentences, _ = planted_run(minilm, "en_ewt", 30)
    a = au.syntax_heads(lm, sentences, batch_size=30, progress=False)
    b = au.syntax_heads(lm, sentences, batch_size=4, progress=False)
    pd.testing.assert_frame_equal(a, b)


def test_table_chooses_on_one_half_and_reports_on_the_other(minilm):
    lm, sentences, _ = planted_run(minilm, "en_ewt", 60)
    scores = au.syntax_heads(lm, sentences, split=True, progress=False)
    assert set(scores.index.get_level_values("half")) == {"select", "report"}
    # make a head look perfect on the select half only: the table must report its real report-half accuracy
    rigged = scores.copy().sort_index()
    rigged.loc[("select", "det"), "accuracy"] = 0.1
    rigged.loc[("select", "det", "head->dep", 0, 2), "accuracy"] = 0.9
    table = au.syntax_table(rigged, sentences, min_count=1)
    row = table.loc["det"]
    assert (row["layer"], row["head"], row["direction"]) == (0, 2, "head->dep")
    assert row["accuracy"] == scores.loc[("report", "det", "head->dep", 0, 2), "accuracy"] < 0.9
    assert row["low"] <= row["accuracy"] <= row["high"]
    select, report = au.split_half(len(sentences))
    assert row["n"] == sum(r == "det" and ok for i in report
                           for r, ok in zip(sentences[i].relations, scores.attrs["scorable"][i]))
    mask = [scores.attrs["scorable"][i] for i in report]
    assert row["offset_accuracy"] == au.syntax_baseline([sentences[i] for i in report], True, mask).loc[
        "det", row["offset"]]
    assert "root" not in table.index and "punct" not in table.index and table.index[0] == "all"
    assert row["margin"] == pytest.approx(row["accuracy"] - row["offset_accuracy"])
    assert len(au.syntax_table(rigged, sentences, min_count=10**6)) == 1  # only "all" survives
    with pytest.raises(au.AttentionError, match="split=True"):
        au.syntax_table(scores.loc["select"], sentences)


def test_untrained_twin_keeps_shape_and_tokenizer_but_not_weights(minilm):
    twin = au.untrained_twin(minilm)
    assert twin.tokenizer is minilm.tokenizer and twin.source == "untrained" and not twin.meaningful
    assert "RANDOM" in twin.caption
    assert twin.model.config.to_dict()["num_hidden_layers"] == minilm.num_layers
    a = dict(minilm.model.named_parameters())["embeddings.word_embeddings.weight"]
    b = dict(twin.model.named_parameters())["embeddings.word_embeddings.weight"]
    assert a.shape == b.shape and not torch.allclose(a, b)
    again = dict(au.untrained_twin(minilm).model.named_parameters())["embeddings.word_embeddings.weight"]
    assert torch.equal(b, again)  # seeded: the same control every time


def test_japanese_short_units_align_with_v3_pieces():
    tok = au.load_tokenizer("tohoku-nlp/bert-base-japanese-v3")  # exact offline: MeCab (unidic-lite) + WordPiece
    first = au.load_treebank("ja_gsd")[0]  # ただし、50周年ソングに変更後は、EDも歌つきのものが使われた。
    ids = tok(first.text)["input_ids"]
    owner = au.align_words(au.token_spans(tok, first.text, ids), first.spans)
    assert owner[0] is None and owner[-1] is None  # [CLS], [SEP]
    assert sorted({w for w in owner if w is not None}) == list(range(len(first)))  # every short unit owns a piece
    report = au.alignment_report(tok, au.load_treebank("ja_gsd")[:100])
    assert report["without_token_share"] < 0.01  # v3 cuts with the same dictionary family as UD's short units


def test_formatted_table_reads_as_percentages_with_signed_offsets_and_margins():
    table = pd.DataFrame({"count": [120, 7], "n": [60, 3], "layer": [4, 0], "head": [11, 2],
                          "direction": ["dep->head", "head->dep"], "accuracy": [0.8125, 0.5],
                          "low": [0.7, 0.1], "high": [0.9, 0.9], "offset": [-1, 2], "offset_accuracy": [0.5, 0.25],
                          "margin": [0.3125, -0.05]}, index=pd.Index(["det", "nsubj"], name="relation"))
    out = au.format_syntax_table(table, caption="MiniLM (bundled), en_ewt")
    assert list(out.columns) == ["count", "n", "best head", "accuracy [interval]", "best offset", "margin"]
    assert list(out.index) == ["det", "nsubj"] and out.index.name == "relation"
    assert out.loc["det"].tolist() == [120, 60, "L4-H11 dep->head", "81.2% [70.0%, 90.0%]", "-1: 50.0%", "+31.2"]
    assert out.loc["nsubj"].tolist() == [7, 3, "L0-H2 head->dep", "50.0% [10.0%, 90.0%]", "+2: 25.0%", "-5.0"]
    assert out.attrs["caption"] == "MiniLM (bundled), en_ewt"
    assert au.format_syntax_table(table).attrs["caption"] == ""


def test_paired_test_counts_the_words_only_the_head_or_only_the_offset_gets_right(minilm):
    from scipy.stats import binomtest

    lm, sentences, owners = planted_run(minilm, "en_ewt", 60)
    scores = au.syntax_heads(lm, sentences, split=True, progress=False)
    rigged = scores.copy().sort_index()
    rigged.attrs = scores.attrs
    for rel in ["det", "nsubj"]:  # choose the previous-word head (layer 0, head 2) for det and nsubj
        rigged.loc[("select", rel), "accuracy"] = 0.0
        rigged.loc[("select", rel, "dep->head", 0, 2), "accuracy"] = 1.0
    table = au.syntax_table(rigged, sentences, min_count=1)
    paired = au.syntax_paired(rigged, table, sentences)
    assert list(paired.index) == list(table.index)
    _, report = au.split_half(len(sentences))
    for rel in ["det", "nsubj"]:
        offset = table.loc[rel, "offset"]
        head_ok, base_ok = [], []
        for i in report:  # by plain counting: the previous owned word, and the clipped offset
            s, owned = sentences[i], {w for w in owners[i] if w is not None and w >= 0}
            for j, (h, r) in enumerate(zip(s.heads, s.relations)):
                if r.split(":")[0] != rel or j not in owned or (h and h - 1 not in owned):
                    continue
                head_ok.append(previous_owned(j, len(s), owned) + 1 == h)
                base_ok.append(max(0, min(j + offset + 1, len(s))) == h)
        head_only = sum(a and not b for a, b in zip(head_ok, base_ok))
        base_only = sum(b and not a for a, b in zip(head_ok, base_ok))
        row = paired.loc[rel]
        assert (row["n"], row["hits"], row["baseline_hits"]) == (len(head_ok), sum(head_ok), sum(base_ok))
        assert (row["head_only"], row["baseline_only"]) == (head_only, base_only)
        expected = binomtest(head_only, head_only + base_only, 0.5).pvalue if head_only + base_only else 1.0
        assert row["p_value"] == pytest.approx(expected)
        assert row["verdict"] == ("undecided" if expected >= 0.05 else
                                  "head above baseline" if head_only > base_only else "baseline above head")
    # the planted gold head (layer 0, head 0) beats every offset on det: the test must say so
    gold = scores.copy().sort_index()
    gold.attrs = scores.attrs
    gold.loc[("select", "det"), "accuracy"] = 0.0
    gold.loc[("select", "det", "dep->head", 0, 0), "accuracy"] = 1.0
    t2 = au.syntax_table(gold, sentences, min_count=1)
    p2 = au.syntax_paired(gold, t2, sentences)
    assert p2.loc["det", "baseline_only"] == 0 and p2.loc["det", "verdict"] == "head above baseline"
    # scores that do not match the table, or that lost their attrs, are refused with a clear message
    bare = rigged.copy()
    bare.attrs = {}
    with pytest.raises(au.AttentionError, match="attrs"):
        au.syntax_paired(bare, table, sentences)
    wrong = table.copy()
    wrong.loc["det", "n"] += 1
    with pytest.raises(au.AttentionError, match="det"):
        au.syntax_paired(rigged, wrong, sentences)
    with pytest.raises(au.AttentionError, match="sentences"):
        au.syntax_paired(rigged, table, sentences[:-1])


def test_syntax_heads_queues_each_forward_pass_before_aligning_that_batch(minilm, monkeypatch):
    """On a GPU the host aligns a batch's words while the device runs its forward pass: per batch, the
    forward is queued first, then that batch's words are aligned (not the whole corpus up front)."""
    import itertools

    from attn_utils import syntax

    calls = []
    run, align = syntax.run_model, syntax.align_words
    monkeypatch.setattr(syntax, "run_model", lambda lm, texts, **kw: calls.append(("forward", len(texts)))
                        or run(lm, texts, **kw))
    monkeypatch.setattr(syntax, "align_words", lambda spans, words: calls.append(("align", 1)) or align(spans, words))
    sentences = au.load_treebank("en_ewt")[:40]
    au.syntax_heads(minilm, sentences, batch_size=16, progress=False)
    runs = [(kind, sum(n for _, n in group)) for kind, group in itertools.groupby(calls, key=lambda c: c[0])]
    assert runs == [("forward", 16), ("align", 16), ("forward", 16), ("align", 16), ("forward", 8), ("align", 8)]
