"""Each warning names the learner's line (the call into attn_utils), not a line inside the package.

Counted with ``warn_spy.named_lines``, which steps over mutmut's trampoline
frames, so these tests also hold, and kill ``stacklevel`` mutants, under
mutation testing. (The plain-``warnings`` versions of the first two, in
``test_japanese.py`` and ``test_extract_edges.py``, are skipped there.)
"""
import warnings
from pathlib import Path


import attn_utils as au
from attn_utils import e5
from warn_spy import named_lines, names_marked_line


def test_offline_fallback_warning_names_the_load_model_line(monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with named_lines(monkeypatch, au.FallbackWarning, "bundled MiniLM") as named:
        lm = au.load_model("bert-base-uncased")  # the line the warning must name
    assert lm.source == "bundled" and names_marked_line(named, __file__)


def test_long_text_warning_names_the_extract_line(monkeypatch, tokenizer):
    from conftest import tiny

    lm = tiny("bert", tokenizer)
    lm.model.config.max_position_embeddings = 20
    with named_lines(monkeypatch, UserWarning, "longer than the model's limit") as named:
        au.extract(lm, "alpha " * 30)  # the line the warning must name
    assert names_marked_line(named, __file__)


def test_cache_rebuilt_warning_names_the_load_e5_line(monkeypatch, tmp_path, tiny_e5_bin):
    path = tiny_e5_bin
    monkeypatch.setenv("ATTN_UTILS_CACHE", str(tmp_path / "c"))
    info = e5.load_cached(path)[1]
    Path(info["cache_file"]).write_bytes(b"\x00" * 7)  # shorter than its header
    with named_lines(monkeypatch, e5.E5CacheWarning, "shorter than its header") as named:
        e5.load_e5(path=path)  # the line the warning must name
    assert names_marked_line(named, __file__)
