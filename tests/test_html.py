"""Line views: static matplotlib figures and the self-contained interactive page in a real browser."""
import os
import re

import matplotlib
import numpy as np
import pytest

import attn_utils as au
from browser import Browser, find_chromium
from conftest import SEED_TEXT

matplotlib.use("Agg")


@pytest.fixture(scope="module")
def att(minilm):
    return au.extract(minilm, SEED_TEXT)


@pytest.fixture(scope="module")
def browser():
    exe = find_chromium()
    if exe is None:
        if os.environ.get("CI") == "true":
            pytest.fail("CI=true but no Chromium found: .ci/run should install the Debian package 'chromium'")
        pytest.skip("Chromium is not installed (apt-get install chromium); the browser test needs it")
    b = Browser(exe)
    yield b
    b.close()


def test_html_is_self_contained_and_small(att, tmp_path):
    page = au.save_html(att, tmp_path / "seed.html").read_text(encoding="utf-8")
    assert not re.search(r"https?://", page)
    assert not re.search(r"<script[^>]+src=|<link[^>]+href=|@import|url\(", page)
    # BertViz's head_view for this sentence on a 6-layer model is about 168 KB; we stay under half
    assert len(page.encode()) < 168_000 / 2


def test_html_for_128_tokens_is_reasonable(minilm, tmp_path):
    long_text = " ".join(["the quick brown fox jumps over the lazy dog ."] * 13)
    big = au.extract(minilm, long_text)
    assert len(big) >= 128
    size = au.save_html(big, tmp_path / "long.html").stat().st_size
    assert size < 2_000_000, size  # one byte per weight, base64


def test_bad_arguments_name_valid_choices(att):
    with pytest.raises(au.AttentionError, match=r"0\.\.5"):
        au.lines_html(att, layer=9)
    with pytest.raises(au.AttentionError, match="3:chased"):
        au.lines_html(att, query="mouse")


@pytest.mark.browser
def test_page_draws_switches_layers_and_stays_offline(att, browser, tmp_path):
    path = au.save_html(att, tmp_path / "seed.html", layer=0)
    browser.open(path.as_uri())
    lines = "document.querySelectorAll('svg.au-svg line')"
    count0 = browser.js(f"{lines}.length")
    assert count0 > 0 and count0 == browser.js("+document.querySelector('svg.au-svg').dataset.lines")
    sig = f"Array.from({lines}).map(l => l.getAttribute('stroke-opacity') + l.getAttribute('y2')).join()"
    before = browser.js(sig)
    browser.js("const s = document.querySelector('.au-layer'); s.value = 5; s.dispatchEvent(new Event('change'))")
    assert browser.js("document.querySelector('.au-note').textContent").startswith("layer 5")
    assert browser.js(sig) != before  # the lines changed with the layer

    # two clicks: a layer x head cell, then the token "chased" on the query side
    browser.js("document.querySelector('.au-cell[data-l=\"2\"][data-h=\"7\"]').click()")
    browser.js("document.querySelector('text[data-side=\"0\"][data-i=\"3\"]').dispatchEvent(new MouseEvent('click'))")
    drawn = browser.js(f"Array.from({lines}).map(l => +l.getAttribute('stroke-opacity'))")
    expected = att.weights[2, 7, 3]
    assert len(drawn) == int((np.rint(expected * 255) / 255 >= 0.01).sum())
    np.testing.assert_allclose(sorted(drawn), sorted(np.rint(expected * 255)[np.rint(expected * 255) / 255 >= 0.01] / 255), atol=1e-3)

    # hiding [CLS]/[SEP] renormalises the row and says so
    browser.js("const c = document.querySelector('.au-hide'); c.checked = true; c.dispatchEvent(new Event('change'))")
    assert "renormalised" in browser.js("document.querySelector('.au-note').textContent")
    assert browser.js("document.querySelectorAll('svg.au-svg text').length") == 2 * (len(att) - 2)
    visible = browser.js(f"Array.from({lines}).map(l => +l.getAttribute('stroke-opacity'))")
    assert sum(visible) == pytest.approx(1.0, abs=0.03)

    assert browser.requests and all(u.startswith("file://") for u in browser.requests), browser.requests


def test_static_line_views(att):
    fig = au.plot_lines(att, layer=-1, head=3, query="chased")
    ax = fig.axes[0]
    left = [t.get_text() for t in ax.texts if t.get_position()[0] < 0.5]
    right = [t.get_text() for t in ax.texts if t.get_position()[0] > 0.5]
    assert left == right == att.labels
    highlighted = [l for l in ax.lines if l.get_gid() == "query"]
    assert len(highlighted) == len(att)
    np.testing.assert_allclose(sorted(l.get_alpha() for l in highlighted), sorted(att.weights[-1, 3, 3]), atol=1e-6)
    grid = au.plot_heads(att, layer=0)
    assert len([a for a in grid.axes if a.get_title()]) == att.num_heads
    grid_hm = au.plot_heads(att, layer=0, kind="heatmap")
    assert len([a for a in grid_hm.axes if a.get_title()]) == att.num_heads


@pytest.mark.browser
def test_page_with_128_tokens_renders(minilm, browser, tmp_path):
    long_text = " ".join(["the quick brown fox jumps over the lazy dog ."] * 13)
    big = au.extract(minilm, long_text)
    path = au.save_html(big, tmp_path / "long.html")
    browser.open(path.as_uri())
    assert browser.js("document.querySelectorAll('svg.au-svg text').length") == 2 * len(big)
    assert browser.js("+document.querySelector('svg.au-svg').dataset.lines") > 0
    # one query row stays a handful of lines, however long the sentence
    browser.js("document.querySelector('.au-cell[data-l=\"0\"][data-h=\"0\"]').click()")
    browser.js("document.querySelector('text[data-side=\"0\"][data-i=\"5\"]').dispatchEvent(new MouseEvent('click'))")
    assert 0 < browser.js("+document.querySelector('svg.au-svg').dataset.lines") <= len(big)


HOSTILE = [
    "[CLS]",
    "</script><script>window.__pwned = 'script'</script>",
    '<img src=x onerror="window.__pwned = \'img\'">',
    "\"quotes' & <b>bold</b> &amp;",
    "line\u2028separator\u2029para",
    "<!--",
    "]]>",
    "[SEP]",
]


@pytest.fixture(scope="module")
def hostile():
    """A hand-built Attention whose tokens, text and caption try to break out of the page."""
    n = len(HOSTILE)
    w = np.random.default_rng(1).random((2, 2, n, n)).astype(np.float32)
    return au.Attention(HOSTILE, w / w.sum(-1, keepdims=True), text=" ".join(HOSTILE),
                        caption="</span><img src=x onerror=\"window.__pwned='caption'\">")


def test_script_json_escapes_what_could_end_a_script(hostile):
    fragment = au.lines_html(hostile)
    script = fragment[fragment.index("<script>") + len("<script>"):fragment.rindex("</script>")]
    for raw in ("</script", "<script", "<img", "<!--", "]]>", "\u2028", "\u2029"):
        assert raw not in script, raw
    assert fragment.count("<script>") == 1 and fragment.count("</script>") == 1
    assert "<img" not in fragment  # the caption is HTML-escaped too


def test_hostile_tokens_run_no_code_and_show_literally(hostile, browser, tmp_path):
    path = au.save_html(hostile, tmp_path / "hostile.html", title=hostile.caption)
    browser.open(path.as_uri())
    assert browser.js("typeof window.__pwned") == "undefined"
    assert browser.js("document.querySelectorAll('img, b').length") == 0
    assert browser.js("document.querySelectorAll('script').length") == 1
    shown = browser.js("Array.from(document.querySelectorAll('svg.au-svg text[data-side=\"0\"]')).map(t => t.textContent)")
    assert shown == hostile.labels  # every token drawn as the text it is
    assert browser.js("document.querySelector('.au-cap').textContent") == hostile.caption
    assert browser.js("document.title") == "attention: " + " ".join(hostile.tokens)
    # the page still works: a click on a token pins its row
    browser.js("document.querySelector('text[data-side=\"0\"][data-i=\"1\"]').dispatchEvent(new MouseEvent('click'))")
    assert HOSTILE[1] in browser.js("document.querySelector('.au-note').textContent")
