"""One test per bug that once survived the suite (issue 15's table).

Each test here was checked by planting its bug in the package once and
seeing it fail (the table in docs/mutation.md names bug and test).
"""
import http.server
import socket
import threading
import time
import urllib.request
import warnings

import matplotlib
import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from attn_utils import models as models_module
from attn_utils.analysis import is_punctuation
from conftest import SEED_TEXT, tiny

matplotlib.use("Agg")

TOKENS = ["[CLS]", "the", "dog", "chased", "the", "cat", ".", "[SEP]"]


def lopsided(layers: int = 3, heads: int = 4, tokens=TOKENS, seed: int = 0) -> au.Attention:
    """Random rows (softmax of normals): no matrix equals its transpose."""
    rng = np.random.default_rng(seed)
    n = len(tokens)
    scores = rng.normal(scale=2.0, size=(layers, heads, n, n))
    w = np.exp(scores) / np.exp(scores).sum(-1, keepdims=True)
    att = au.Attention(list(tokens), w)
    assert not np.allclose(att.weights, np.swapaxes(att.weights, -1, -2), atol=1e-3)
    return att


# --- rollout: residual -------------------------------------------------------------------------

def test_rollout_residual_one_is_identity_and_zero_is_product_of_head_means():
    att = lopsided()
    n = len(att)
    np.testing.assert_allclose(au.rollout(att, residual=1.0), np.eye(n), atol=1e-12)
    means = att.weights.astype(np.float64).mean(1)  # [layer, query, key]
    expected = means[2] @ means[1] @ means[0]
    np.testing.assert_allclose(au.rollout(att, residual=0.0), expected, atol=1e-6)
    # and a value in between is neither of the two
    mid = au.rollout(att, residual=0.3)
    a = [0.7 * m + 0.3 * np.eye(n) for m in means]
    np.testing.assert_allclose(mid, a[2] @ a[1] @ a[0], atol=1e-6)


# --- every plot that draws a matrix draws it query x key ----------------------------------------

def _image(fig):
    images = [im for ax in fig.axes for im in ax.images]
    assert images, "the figure draws no image"
    return images


def _ticks(ax, axis):
    labels = ax.get_yticklabels() if axis == "y" else ax.get_xticklabels()
    return [t.get_text() for t in labels]


def test_heatmap_image_is_the_frame_not_its_transpose():
    import matplotlib.pyplot as plt

    att = lopsided()
    for layer, head in [(0, 0), (2, 3), (-1, 1)]:
        fig = au.plot_heatmap(att, layer, head)
        (im,) = _image(fig)
        frame = att.frame(layer, head)
        np.testing.assert_array_equal(np.asarray(im.get_array()), frame.to_numpy())
        ax = im.axes
        assert _ticks(ax, "y") == list(frame.index) and _ticks(ax, "x") == list(frame.columns)
        assert "query" in ax.get_ylabel() and "key" in ax.get_xlabel()
        plt.close(fig)


def test_query_heads_image_is_heads_by_keys():
    import matplotlib.pyplot as plt

    att = lopsided()
    fig = au.plot_query_heads(att, "chased", layer=1)
    (im,) = _image(fig)
    expected = att.query("chased", layer=1)
    np.testing.assert_array_equal(np.asarray(im.get_array()), expected.to_numpy())
    assert np.asarray(im.get_array()).shape == (att.num_heads, len(att))
    assert _ticks(im.axes, "x") == att.labels
    assert _ticks(im.axes, "y") == [f"head {h}" for h in range(att.num_heads)]
    plt.close(fig)


def test_grid_image_is_layers_by_heads_and_outlines_the_largest_cell():
    import matplotlib.pyplot as plt

    att = lopsided(layers=3, heads=5)
    table = att.pair("chased", "dog")  # [layer, head], 3 x 5
    fig = au.plot_grid(table)
    (im,) = _image(fig)
    np.testing.assert_array_equal(np.asarray(im.get_array()), table.to_numpy())
    assert _ticks(im.axes, "y") == [f"L{i}" for i in table.index]
    assert _ticks(im.axes, "x") == [f"H{c}" for c in table.columns]
    (box,) = im.axes.patches
    layer, head, _ = au.strongest_head(table)
    assert box.get_xy() == (head - 0.5, layer - 0.5)
    # an array works the same as a DataFrame
    arr_fig = au.plot_grid(table.to_numpy())
    np.testing.assert_array_equal(np.asarray(_image(arr_fig)[0].get_array()), table.to_numpy())
    plt.close(fig)
    plt.close(arr_fig)


def test_heads_heatmap_grid_draws_each_head_query_by_key():
    import matplotlib.pyplot as plt

    att = lopsided(heads=4)
    fig = au.plot_heads(att, layer=1, kind="heatmap", ncols=3)
    images = _image(fig)
    assert len(images) == att.num_heads
    for h, im in enumerate(images):
        assert im.axes.get_title() == f"head {h}"
        np.testing.assert_array_equal(np.asarray(im.get_array()), att.frame(1, h).to_numpy())
        assert _ticks(im.axes, "y") == att.labels and _ticks(im.axes, "x") == att.labels
    plt.close(fig)


def test_line_view_joins_query_on_the_left_to_key_on_the_right_with_its_weight():
    import matplotlib.pyplot as plt

    att = lopsided()
    n = len(att)
    fig = au.plot_lines(att, layer=2, head=1)
    ax = fig.axes[0]
    y = {round(t.get_position()[1], 6): t.get_text() for t in ax.texts if t.get_position()[0] < 0.5}
    assert sorted(y, reverse=True)[0] == n - 1 and y[n - 1] == att.labels[0]  # first token on top
    frame = att.frame(2, 1)
    seen = 0
    for line in ax.lines:
        (x0, x1), (y0, y1) = line.get_xdata(), line.get_ydata()
        assert (x0, x1) == (0, 1)
        q, k = y[round(y0, 6)], y[round(y1, 6)]
        assert line.get_alpha() == pytest.approx(frame.loc[q, k], abs=1e-7)
        seen += 1
    assert seen == n * n
    plt.close(fig)


def test_static_views_leave_the_attention_unchanged():
    import matplotlib.pyplot as plt

    att = lopsided()
    before = att.weights.copy()
    for fig in (au.plot_heatmap(att), au.plot_query_heads(att, 3), au.plot_lines(att, query=3),
                au.plot_heads(att, kind="heatmap")):
        plt.close(fig)
    np.testing.assert_array_equal(att.weights, before)


# --- norm-based attention, per layer -----------------------------------------------------------

def _by_hand_value_vectors(layer, x, heads):
    """f^h(x_j) = (x_j W_V^h + b_V^h) W_O^h, written out head by head: [head, token, hidden]."""
    x = x.double()
    hidden = x.shape[-1]
    d = hidden // heads
    v = x @ layer.attention.self.value.weight.double().T + layer.attention.self.value.bias.double()
    w_o = layer.attention.output.dense.weight.double()  # [out, in]
    return torch.stack([v[:, h * d:(h + 1) * d] @ w_o[:, h * d:(h + 1) * d].T for h in range(heads)])


def test_norm_attention_per_layer_is_the_norm_of_the_sum_over_heads(tokenizer):
    lm = tiny("bert", tokenizer)
    text = "The dog chased the cat, and the cat ran."
    per_layer = au.norm_attention(lm, text, per_head=False)
    per_head = au.norm_attention(lm, text, per_head=True)
    enc = lm.tokenizer(text, return_tensors="pt")
    with torch.no_grad():
        out = lm.model(**enc, output_attentions=True, output_hidden_states=True)
        heads = lm.model.config.num_attention_heads
        for l, layer in enumerate(lm.model.encoder.layer):
            f = _by_hand_value_vectors(layer, out.hidden_states[l][0], heads)  # [head, key, hidden]
            alpha = out.attentions[l][0].double()  # [head, query, key]
            summed = (alpha[..., None] * f[:, None]).sum(0)  # [query, key, hidden]
            np.testing.assert_allclose(per_layer[l], summed.norm(dim=-1).numpy(), rtol=1e-4, atol=1e-6)
            each = (alpha[..., None] * f[:, None]).norm(dim=-1)  # [head, query, key]
            np.testing.assert_allclose(per_head[l], each.numpy(), rtol=1e-4, atol=1e-6)
    # the norm of a sum is below the sum of norms, strictly where head vectors point different ways
    assert (per_layer <= per_head.sum(1) + 1e-5).all()
    assert (per_layer < per_head.sum(1) - 1e-3).any()


# --- token ablation: rollout row of the query ---------------------------------------------------

def test_token_ablation_rollout_column_is_the_querys_rollout_row(minilm):
    table = au.token_ablation(minilm, SEED_TEXT, "chased")
    att = au.extract(minilm, SEED_TEXT)
    q = att.position("chased")
    keys = [att.position(label) for label in table.index]
    r = au.rollout(att)
    np.testing.assert_allclose(table["rollout"].to_numpy(), r[q, keys], rtol=1e-6)
    assert not np.allclose(r[q, keys], r[keys, q], rtol=1e-3)  # the check can tell row from column
    np.testing.assert_allclose(table["last_layer"].to_numpy(), att.weights[-1, :, q][:, keys].mean(0), rtol=1e-6)


# --- punctuation with byte-level / SentencePiece markers ----------------------------------------

def test_punctuation_with_word_start_markers():
    for token in ["Ġ,", "▁.", "Ġ...", "▁「", "##,", "Ġ?!"]:
        assert is_punctuation(token), token
    for token in ["Ġ", "▁", "Ġdog", "▁犬", "##s", "Ġ3", "▁a."]:
        assert not is_punctuation(token), token


# --- RoBERTa: two positions reserved ------------------------------------------------------------

def test_long_text_on_tiny_roberta_warns_and_keeps_what_fits(tokenizer):
    lm = tiny("roberta", tokenizer)
    limit = lm.model.config.max_position_embeddings - 2  # RoBERTa's positions start after the pad index
    text = "word " * (limit + 40)
    with pytest.warns(UserWarning, match=f"limit of {limit}"):
        att = au.extract(lm, text)
    assert len(att) == limit and att.tokens[0] == "[CLS]" and att.tokens[-1] == "[SEP]"
    np.testing.assert_allclose(att.weights.sum(-1), 1.0, atol=1e-5)
    # a BERT of the same size keeps all its positions
    bert = tiny("bert", tokenizer)
    bert.model.config.max_position_embeddings = limit + 2
    with pytest.warns(UserWarning, match=f"limit of {limit + 2}"):
        assert len(au.extract(bert, text)) == limit + 2


# --- the Hub probe ------------------------------------------------------------------------------

@pytest.fixture
def no_network(monkeypatch):
    """Record (and refuse) every attempt to open a connection."""
    calls = []

    def refuse(name):
        def fake(*args, **kwargs):
            calls.append(name)
            raise OSError(f"test: {name} must not be called")
        return fake

    monkeypatch.setattr(urllib.request, "urlopen", refuse("urlopen"))
    monkeypatch.setattr(socket, "create_connection", refuse("create_connection"))
    monkeypatch.setattr(socket.socket, "connect", refuse("socket.connect"))
    return calls


@pytest.mark.parametrize("var", ["HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE"])
def test_offline_env_probe_answers_at_once_without_connecting(monkeypatch, no_network, var):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv(var, "1")
    start = time.monotonic()
    ok, reason = au.hub_reachable(timeout=5.0)
    assert time.monotonic() - start < 0.5
    assert not ok and "HF_HUB_OFFLINE" in reason
    time.sleep(0.05)  # a probe thread, had one been started, would have called by now
    assert no_network == []


@pytest.mark.parametrize("value,offline", [("0", False), ("", False), ("false", False), ("yes", True), ("ON", True)])
def test_offline_env_values(monkeypatch, no_network, value, offline):
    monkeypatch.delenv("TRANSFORMERS_OFFLINE", raising=False)
    monkeypatch.setenv("HF_HUB_OFFLINE", value)
    ok, reason = au.hub_reachable(timeout=0.5)
    assert not ok
    assert ("HF_HUB_OFFLINE" in reason) == offline
    assert bool(no_network) != offline  # tried to connect exactly when not offline


class _NotFound(http.server.BaseHTTPRequestHandler):
    def do_GET(self):  # noqa: N802 (http.server's name)
        self.send_error(404, "no such model")

    def log_message(self, *args):
        pass


@pytest.fixture
def hub_404(monkeypatch):
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotFound)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.01}, daemon=True)
    thread.start()
    for var in ("HF_HUB_OFFLINE", "TRANSFORMERS_OFFLINE", "http_proxy", "HTTP_PROXY", "all_proxy", "ALL_PROXY"):
        monkeypatch.delenv(var, raising=False)
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{server.server_address[1]}/")
    yield server
    server.shutdown()
    server.server_close()


def test_a_hub_answering_404_counts_as_reachable(hub_404):
    assert au.hub_reachable(timeout=5.0) == (True, "")


# --- load_model offline: the local Hugging Face cache -------------------------------------------

@pytest.fixture
def hf_home(tmp_path, monkeypatch, tokenizer):
    """A temporary HF_HOME whose hub cache holds a tiny BERT as ``tiny-org/tiny-bert``."""
    import huggingface_hub.constants as hf_constants

    rev = "0123456789abcdef0123456789abcdef01234567"
    repo = tmp_path / "hub" / "models--tiny-org--tiny-bert"
    snapshot = repo / "snapshots" / rev
    lm = tiny("bert", tokenizer)
    lm.model.save_pretrained(snapshot)
    tokenizer.save_pretrained(snapshot)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(rev)
    monkeypatch.setenv("HF_HOME", str(tmp_path))
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hub"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hub"))  # read at import time
    import transformers.utils.hub as tf_hub  # transformers 4.x passes its own import-time TRANSFORMERS_CACHE

    if hasattr(tf_hub, "TRANSFORMERS_CACHE"):
        monkeypatch.setattr(tf_hub, "TRANSFORMERS_CACHE", str(tmp_path / "hub"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    return lm


def test_offline_load_finds_the_model_in_the_local_cache(hf_home):
    from transformers import AutoConfig

    # transformers itself finds it with local_files_only: the layout is a real cache
    assert AutoConfig.from_pretrained("tiny-org/tiny-bert", local_files_only=True).hidden_size == 32
    with warnings.catch_warnings():
        warnings.simplefilter("error", au.FallbackWarning)  # the real model: no fallback announced
        lm = au.load_model("tiny-org/tiny-bert")
    assert lm.source == "hub" and lm.name == "tiny-org/tiny-bert" and lm.note == ""
    assert lm.model.config._attn_implementation == "eager" and not lm.model.training
    state = hf_home.model.state_dict()
    for key, value in lm.model.state_dict().items():
        assert torch.equal(value, state[key]), key
    att = au.extract(lm, SEED_TEXT)
    assert att.weights.shape == (2, 4, 7, 7)


def test_offline_load_without_cache_or_stand_in_names_the_choices(hf_home):
    with pytest.raises(au.ModelNotAvailableError) as err:
        au.load_model("tiny-org/not-cached")
    assert "not in the local Hugging Face cache" in str(err.value)
    assert "bert-base-uncased" in str(err.value)
