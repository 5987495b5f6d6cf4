"""The interactive page's data, read back from the HTML without a browser.

The browser tests (marked ``browser``) check what the page draws; these check
what it is given: the weights byte for byte, the tokens, the first view, the
caption, and the standalone page around it.
"""
import base64
import json
import re

import numpy as np
import pytest

import attn_utils as au
from attn_utils.extract import SPECIAL_TOKENS


def page_data(html: str) -> dict:
    """The JSON object the page's script reads (a JSON script block, or ``D=`` in the script)."""
    block = re.search(r'<script[^>]*type="application/json"[^>]*>(.*?)</script>', html, re.S)
    if block:
        return json.loads(block.group(1))
    start = html.index("D=") + 2
    return json.JSONDecoder().raw_decode(html[start:])[0]


def weights_of(data: dict) -> np.ndarray:
    raw = np.frombuffer(base64.b64decode(data["w"]), dtype=np.uint8)
    return raw.reshape(data["L"], data["H"], len(data["tokens"]), len(data["tokens"]))


@pytest.fixture(scope="module")
def att():
    rng = np.random.default_rng(3)
    tokens = ["[CLS]", "the", "犬", "chased", "the", "<b>", "[SEP]"]
    w = au.softmax(rng.normal(scale=2.0, size=(3, 4, len(tokens), len(tokens))))
    return au.Attention(tokens, w, caption="tiny & <random>")


def test_page_carries_every_weight_as_one_byte_in_layer_head_query_key_order(att):
    data = page_data(au.lines_html(att))
    q = weights_of(data)
    np.testing.assert_array_equal(q, np.rint(att.weights * 255).astype(np.uint8))
    assert np.abs(q / 255 - att.weights).max() <= 0.5 / 255 + 1e-7
    assert (data["L"], data["H"]) == (att.num_layers, att.num_heads)
    assert data["tokens"] == att.labels
    assert data["special"] == [t in SPECIAL_TOKENS for t in att.tokens]
    assert data["special"][0] and data["special"][-1] and not any(data["special"][1:-1])


def test_extreme_weights_stay_in_one_byte():
    w = np.zeros((1, 1, 3, 3))
    w[0, 0, :, 0] = 1.0
    data = page_data(au.lines_html(au.Attention(["[CLS]", "a", "[SEP]"], w)))
    q = weights_of(data)
    assert q[0, 0, :, 0].tolist() == [255, 255, 255] and q[0, 0, :, 1:].max() == 0


def test_first_view_layer_heads_and_query(att):
    default = page_data(au.lines_html(att))
    assert default["layer"] == att.num_layers - 1 and default["heads"] == list(range(att.num_heads))
    assert default["query"] is None and default["min"] == pytest.approx(0.01)
    chosen = page_data(au.lines_html(att, layer=-3, heads=[-1, 1], query="chased", min_weight=0.2))
    assert chosen["layer"] == 0 and chosen["heads"] == [3, 1]
    assert chosen["query"] == 3 and chosen["min"] == pytest.approx(0.2)
    one = page_data(au.lines_html(att, heads=np.int64(-2), query=5))
    assert one["heads"] == [2] and one["query"] == 5
    with pytest.raises(au.AttentionError, match=r"0\.\.3"):
        au.lines_html(att, heads=[0, 4])
    with pytest.raises(au.AttentionError, match=r"0\.\.3"):
        au.lines_html(att, heads=7)


def test_left_column_fits_the_longest_label_up_to_a_cap():
    def left(tokens):
        n = len(tokens)
        return page_data(au.lines_html(au.Attention(tokens, np.full((1, 1, n, n), 1 / n))))["left"]

    short, mid, long_, longer = (left(["[CLS]", "a" * k, "[SEP]"]) for k in (3, 20, 24, 60))
    assert short < mid < long_ == longer  # grows with the label, then stops growing
    assert mid - short == 8 * (20 - 5)  # 8 px per character of the longest label ("[CLS]" has 5)


def test_caption_is_the_title_or_the_models_escaped(att):
    html = au.lines_html(att)
    assert "tiny &amp; &lt;random&gt;" in html and "tiny & <random>" not in html
    titled = au.lines_html(att, title="my <title>")
    assert "my &lt;title&gt;" in titled and "tiny &amp;" not in titled
    bare = au.lines_html(au.Attention(["a", "b"], np.full((1, 1, 2, 2), 0.5)))
    assert '<span class="au-cap"></span>' in bare


def test_each_view_has_its_own_root_id_and_the_script_uses_it(att):
    ids = [re.search(r'id="(au-lines-[0-9a-f]{12})"', au.lines_html(att)).group(1) for _ in range(3)]
    assert len(set(ids)) == 3
    html = au.lines_html(att)
    root = re.search(r'id="(au-lines-[0-9a-f]{12})"', html).group(1)
    assert html.count(root) >= 2  # the div and the script that looks it up
    assert "ROOT_ID" not in html


def test_saved_page_is_standalone_utf8_with_the_tokens_as_title(att, tmp_path):
    path = au.save_html(att, tmp_path / "view.html", layer=0, heads=2, title="T")
    assert path == tmp_path / "view.html"
    page = path.read_text(encoding="utf-8")
    assert page.startswith("<!DOCTYPE html>") and '<meta charset="utf-8">' in page
    assert "<title>attention: [CLS] the 犬 chased the &lt;b&gt; [SEP]</title>" in page
    data = page_data(page)
    assert data["layer"] == 0 and data["heads"] == [2] and data["tokens"] == att.labels
    assert page.rstrip().endswith("</html>")


def test_show_lines_displays_the_same_view(att, monkeypatch):
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", shown.append)
    au.show_lines(att, layer=1, query="chased")
    (obj,) = shown
    data = page_data(obj.data)
    assert data["layer"] == 1 and data["query"] == 3 and data["tokens"] == att.labels


def test_weights_a_rounding_error_outside_0_1_stay_in_range():
    """Half-precision models give rows like 1.0004 or -1e-4: full and no opacity, not a byte wrapped around."""
    w = np.array([[[[1.003, -0.003, 0.0], [0.5, 0.5, 0.0], [0.0, 0.0, 1.0]]]])
    q = weights_of(page_data(au.lines_html(au.Attention(["[CLS]", "a", "[SEP]"], w))))
    assert q[0, 0, 0].tolist() == [255, 0, 0]
    assert q[0, 0, 1].tolist() == [128, 128, 0] and q[0, 0, 2].tolist() == [0, 0, 255]


SAVE_SCRIPT = """
import sys
import numpy as np
import attn_utils as au
att = au.Attention(["[CLS]", "\\u72ac", "\\u304c", "[SEP]"], np.full((1, 1, 4, 4), 0.25))
au.save_html(att, sys.argv[1])
"""


def test_saved_page_is_utf8_whatever_the_locale(tmp_path):
    """A learner on a non-UTF-8 system (Windows, LANG=C) still gets a page that shows Japanese."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    package_parent = Path(au.__file__).resolve().parents[1]  # the attn_utils under test
    env = {**os.environ, "LC_ALL": "C", "LANG": "C", "PYTHONUTF8": "0", "PYTHONCOERCECLOCALE": "0",
           "PYTHONIOENCODING": "ascii", "PYTHONPATH": str(package_parent)}
    here = au.save_html(au.Attention(["[CLS]", "犬", "が", "[SEP]"], np.full((1, 1, 4, 4), 0.25)), tmp_path / "here.html")
    out = tmp_path / "ja.html"
    subprocess.run([sys.executable, "-c", SAVE_SCRIPT, str(out)], env=env, cwd=package_parent, check=True,
                   capture_output=True)
    page = out.read_bytes().decode("utf-8")
    assert "<title>attention: [CLS] 犬 が [SEP]</title>" in page and '"犬"' in page
    strip_id = lambda html: re.sub(r"au-lines-[0-9a-f]{12}", "ID", html)  # noqa: E731
    assert strip_id(page) == strip_id(here.read_bytes().decode("utf-8"))  # the same page as in a UTF-8 locale


def test_the_script_finds_every_field_it_reads(att):
    """A renamed key would leave the page blank; the browser tests would see it, this sees it without one."""
    from attn_utils import html as html_module

    read = set(re.findall(r"\bD\.([A-Za-z_]\w*)", html_module._JS))
    data = page_data(au.lines_html(att))
    assert read and read <= set(data), sorted(read - set(data))
    assert len(data["colors"]) >= att.num_heads and all(re.fullmatch(r"#[0-9a-f]{6}", c) for c in data["colors"])
    assert data["gap"] > 0 and data["left"] > 0


def test_page_data_is_compact_text():
    """Tokens stay readable (no \\u escapes) and the JSON has no padding: the page stays small."""
    html = au.lines_html(au.Attention(["[CLS]", "犬", "が", "[SEP]"], np.full((2, 2, 4, 4), 0.25)))
    assert '"犬"' in html and "\\u72ac" not in html
    data = page_data(html)
    compact = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    assert compact in html
