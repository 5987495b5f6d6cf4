"""Devices and dtypes: every public function gives the numbers of a float32 model on the CPU.

- CPU, always: ``load_model(device=...)`` resolves and checks its argument; every public function runs with
  the model in float64 and in bfloat16 and agrees with float32 (a tensor created without the model's dtype
  fails there, or shows as a mismatch); the reductions that run on the model's device (head_stats,
  syntax_heads) keep every tensor they create on that device: fed tensors on the "meta" device, any tensor
  made on the CPU would raise.
- CUDA (marker ``cuda``; skipped without a GPU): the same functions with the model on the GPU give the
  CPU's numbers within 1e-5. ``tools/gpu_check.sh`` runs them on a GPU machine.
- Exercise checks: the wrong-answer matrix (tests/test_exercise_matrix.py) with every tensor, array and returned
  value of the answer on the device gets the verdict a host tensor gets: on the CPU with ``OffHost`` (a tensor
  that fails where a CUDA tensor fails), on CUDA for real, with the checks that run a model given the GPU model.
- Notebooks: the cells that call ``lm.model`` by hand move their inputs to ``lm.device`` and their outputs to
  the host (read here; run on the GPU under ``cuda``), as ``device="auto"`` puts the model on Colab's GPU.

The model is the bundled MiniLM (trained: its attention is peaked, so argmax-based scores have few near-ties).
"""
from __future__ import annotations

import copy

import numpy as np
import pandas as pd
import pytest
import torch

import attn_utils as au
from attn_utils import analysis, syntax
from attn_utils.errors import AttentionError, AttentionTypeError
from attn_utils.models import resolve_device

TEXT = "The quick brown fox, tired of waiting, jumped over the lazy dog."
TEXTS = ["A short one.", TEXT, "Birds sing; dogs bark.", "Why?"]

#: name -> (function of (lm, data), kind): "values" compares numbers within a tolerance, "argmax" counts
#: (accuracies, predictions) that can move by one word where two candidates tie within rounding
CALLS = {
    "extract": (lambda lm, d: au.extract(lm, TEXT).weights, "values"),
    "extract (batch)": (lambda lm, d: [a.weights for a in au.extract(lm, TEXTS, batch_size=3)], "values"),
    "to_words": (lambda lm, d: au.extract(lm, TEXT).to_words().weights, "values"),
    "entropy": (lambda lm, d: au.entropy(au.extract(lm, TEXT), smoothing=analysis.CLARK_SMOOTHING), "values"),
    "rollout": (lambda lm, d: au.rollout(au.extract(lm, TEXT), all_layers=True), "values"),
    "head_metrics": (lambda lm, d: au.head_metrics(au.extract(lm, TEXT)), "values"),
    "head_stats": (lambda lm, d: au.head_stats(lm, d["corpus"], batch_size=8, progress=False), "values"),
    # 0.4: the nearest prev/next share of the 40 sentences is 0.336 (0.064 away): no head crosses it in bfloat16
    "positional_heads": (lambda lm, d: au.positional_heads(au.head_stats(lm, d["corpus"], progress=False), 0.4),
                         "values"),
    "norm_attention": (lambda lm, d: au.norm_attention(lm, TEXT), "values"),
    "norm_attention (per layer)": (lambda lm, d: au.norm_attention(lm, TEXT, per_head=False), "values"),
    "token_ablation": (lambda lm, d: au.token_ablation(lm, TEXT, "fox"), "values"),
    "recompute_attention": (lambda lm, d: au.recompute_attention(lm, TEXT), "values"),
    "head_predictions": (lambda lm, d: au.head_predictions(
        torch.from_numpy(au.extract(lm, TEXT).to_words().weights).to(lm.device)), "argmax"),
    "probe_heads": (lambda lm, d: au.probe_heads(lm), "argmax"),
    "syntax_heads": (lambda lm, d: au.syntax_heads(lm, d["treebank"], split=True, batch_size=16, progress=False),
                     "argmax"),
    "probe_holdout": (lambda lm, d: au.probe_holdout(lm), "argmax"),
    # drawn on the CPU in float32, then put where lm runs: the same random weights everywhere
    "untrained_twin": (lambda lm, d: au.extract(au.untrained_twin(lm), TEXT).weights, "values"),
    # the checks' own model runs (the hints of check_masking_change; check_scaling_entropy runs recompute_attention)
    "exercises _hidden_pair": (lambda lm, d: [v.float().cpu().numpy() for v in _hidden_pair(lm, TEXT, "fox", "dog")],
                               "values"),
    # notebooks 04 and 07 on the toy BERT (attn_utils.toy), put where ``lm`` is and cast as it is: trained 150 steps,
    # its top two verb logits are > 1e-3 apart on the test pairs (no argmax flips at float32's 1e-6; tested below)
    "roles.role_position": (lambda lm, d: _effects(au.roles.role_position(_beside(lm, d["toy"]), d["toy_items"])),
                            "values"),
    "roles.role_position (noun->verb, renormalized)": (lambda lm, d: _effects(au.roles.role_position(
        _beside(lm, d["toy"]), d["toy_items"], direction="noun->verb", renormalize=True, batch_size=7)), "values"),
    "toy.verb_accuracy": (lambda lm, d: au.toy.verb_accuracy(_beside(lm, d["toy"]), d["toy_test"], batch_size=16),
                          "argmax"),
    "toy.measure": (lambda lm, d: au.toy.measure(_beside(lm, d["toy"]), d["toy_test"]), "argmax"),
    "toy.syntax_best": (lambda lm, d: au.toy.syntax_best(_beside(lm, d["toy"]), d["toy_test"]), "argmax"),
}


def _hidden_pair(*args):
    from attn_utils.exercises.checks_further import _hidden_pair

    return _hidden_pair(*args)


def _effects(eff):
    return [eff.role, eff.position, eff.mass, eff.a_is_second, eff.direction]


def _beside(lm, other):
    """A copy of ``other`` on the device and in the dtype of ``lm``'s model."""
    p = next(lm.model.parameters())
    return _as(other, device=p.device, dtype=p.dtype)


@pytest.fixture(scope="module")
def data():
    corpus = au.toy.toy_corpus("scrambled", n=900, seed=0)
    toy = au.toy.train_toy_bert(corpus, steps=150, seed=0, snapshots=[150], progress=False)[-1]
    test = au.toy.held_out(20, seed=5, exclude=[corpus])
    return {"corpus": au.load_corpus()[:40], "treebank": au.load_treebank("en_ewt")[:80],
            "toy": toy, "toy_test": test, "toy_items": au.toy.role_items(test)}


def _arrays(result) -> list:
    """A result as a list of arrays (DataFrames: index, then each column; dicts: keys, then each value)."""
    if isinstance(result, dict):
        return [np.asarray(list(result), dtype=object)] + [a for v in result.values() for a in _arrays(v)]
    if isinstance(result, pd.DataFrame):
        return [np.asarray(result.index.to_list(), dtype=object)] + [result[c].to_numpy() for c in result.columns]
    if isinstance(result, (tuple, list)):
        return [a for r in result for a in _arrays(r)]
    return [np.asarray(result)]


def assert_same(got, want, kind: str, atol: float, what: str) -> None:
    """Same shapes, dtypes and labels; numbers within ``atol`` (relative to magnitude above 1).

    ``kind="argmax"``: accuracies or predictions: at most 1% of the cells may differ by more than ``atol``
    (a near-tie that rounding resolves the other way moves one word; measured float32 against float64
    here: none of 12,096 syntax_heads cells, none of the probe or prediction cells).
    """
    got, want = _arrays(got), _arrays(want)
    assert len(got) == len(want), what
    for g, w in zip(got, want):
        assert g.shape == w.shape and g.dtype == w.dtype, (what, g.shape, w.shape, g.dtype, w.dtype)
        if g.dtype == object or g.dtype.kind in "USb":
            assert (g == w).all(), what
            continue
        gap = np.abs(g.astype(np.float64) - w.astype(np.float64)) / np.maximum(1.0, np.abs(w.astype(np.float64)))
        if kind == "values":
            assert gap.max(initial=0.0) <= atol, f"{what}: max difference {gap.max():.2e} > {atol:.0e}"
        else:
            off = gap > atol
            assert off.mean() <= 0.01, f"{what}: {off.sum()} of {off.size} cells differ"


def _as(lm, **to):
    """A copy of ``lm`` with its model moved (``device=``) and/or cast (``dtype=``)."""
    twin = copy.copy(lm)
    twin.model = copy.deepcopy(lm.model).to(**to)
    return twin


# --- load_model(device=...) ----------------------------------------------------------------------


def test_device_none_auto_and_cpu_all_give_the_cpu_here(minilm, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    for device in (None, "auto", "cpu", "CPU", torch.device("cpu")):
        assert resolve_device(device) == torch.device("cpu")
    for device in (None, "auto", "cpu", torch.device("cpu")):
        lm = au.load_model("all-MiniLM-L6-v2", device=device)
        assert lm.device == torch.device("cpu")
        assert lm.caption == minilm.caption == "MiniLM-L6 (bundled)"  # on the CPU, captions are as before
        assert repr(lm) == repr(minilm) and "device" not in repr(lm)


def test_auto_prefers_cuda_then_mps_then_cpu(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 2)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    assert resolve_device("auto") == torch.device("cuda")
    assert resolve_device("cuda:1") == torch.device("cuda", 1)
    with pytest.raises(AttentionError, match=r"2 CUDA GPU\(s\), numbered 0..1"):
        resolve_device("cuda:2")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("mps")
    assert resolve_device("mps") == torch.device("mps")
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    assert resolve_device("auto") == torch.device("cpu")


@pytest.mark.parametrize("device, error, words", [
    ("gpu", AttentionError, ["'gpu' is not a device name", "Valid here: 'auto', 'cpu'", "'cuda'", "'mps'"]),
    ("cuda:x", AttentionError, ["'cuda:x' is not a device name"]),
    ("", AttentionError, ["'' is not a device name"]),
    ("mps", AttentionError, ["MPS is not available here", "Valid here: 'auto', 'cpu'"]),
    (1, AttentionTypeError, ["got int: 1", "Valid here: 'auto', 'cpu'"]),
])
def test_bad_devices_are_refused_with_the_valid_choices(device, error, words, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    with pytest.raises(error) as caught:
        au.load_model("all-MiniLM-L6-v2", device=device)
    for word in words:
        assert word in str(caught.value)
    assert isinstance(caught.value, TypeError if error is AttentionTypeError else ValueError)


def test_cuda_without_a_gpu_says_so_before_reading_any_weights(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(au.models, "_load_model", lambda *a, **k: pytest.fail("weights were read"))
    with pytest.raises(AttentionError, match="no CUDA GPU .* Valid here: 'auto', 'cpu'.* Colab"):
        au.load_model("all-MiniLM-L6-v2", device="cuda")


def test_caption_repr_and_untrained_twin_name_a_device_that_is_not_the_cpu(minilm):
    # "meta" stands in for a GPU: a device that is not the CPU, available everywhere
    lm = _as(minilm, device="meta")
    assert lm.device == torch.device("meta")
    assert lm.caption == "MiniLM-L6 (bundled), on meta"
    assert repr(lm).endswith("hidden=384, device='meta')")
    twin = au.untrained_twin(lm)
    assert twin.device == torch.device("meta")  # drawn on the CPU, then moved where lm runs
    assert twin.name == "MiniLM-L6 (bundled)"  # the model's name, not the device's
    assert twin.caption == "MiniLM-L6 (bundled): RANDOM weights (untrained control), on meta"
    assert au.untrained_twin(minilm).device == torch.device("cpu")


def test_untrained_twin_has_the_same_weights_on_every_device(minilm):
    cpu_twin = au.untrained_twin(minilm)
    meta_twin = au.untrained_twin(_as(minilm, device="meta"))
    assert [p.shape for p in cpu_twin.model.parameters()] == [p.shape for p in meta_twin.model.parameters()]
    again = au.untrained_twin(minilm)
    assert all(torch.equal(a, b) for a, b in zip(cpu_twin.model.parameters(), again.model.parameters()))


def test_doctor_names_the_device_that_auto_picks(monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: False)
    row = au.doctor(probe_hub=False).loc["device (load_model(device='auto'))"]
    assert row["status"] == "cpu" and row["detail"] == "No GPU here: device='auto' means the CPU."
    monkeypatch.setattr(torch.backends.mps, "is_available", lambda: True)
    row = au.doctor(probe_hub=False).loc["device (load_model(device='auto'))"]
    assert row["status"] == "mps" and row["detail"] == "Apple GPU (MPS)."


# --- dtypes: float64 and bfloat16 models agree with float32 (CPU) -----------------------------------


@pytest.fixture(scope="module")
def references(minilm, data):
    return {name: fn(minilm, data) for name, (fn, _) in CALLS.items()}


@pytest.fixture(scope="module")
def minilm64(minilm):
    return _as(minilm, dtype=torch.float64)


@pytest.fixture(scope="module")
def minilm16(minilm):
    return _as(minilm, dtype=torch.bfloat16)


def test_the_references_have_something_to_compare(references):
    assert len(references["positional_heads"]) >= 2  # heads on both sides of no threshold would test nothing
    assert references["syntax_heads"]["accuracy"].max() > 0.5 and references["probe_heads"].to_numpy().max() > 0.5
    assert references["probe_holdout"]["accuracy"].min() > 0.5
    verbs = references["toy.verb_accuracy"]
    assert 0 < verbs["exact"] < verbs["class"] < 1 and verbs["n"] == 40  # a model that predicts, not a constant
    role, position = references["roles.role_position"][:2]
    assert role.shape == (40, 2, 4) and np.abs(role).max() > 1e-3 and np.abs(position).max() > 1e-3


def test_the_toy_models_verb_predictions_have_no_near_ties(data):
    """verb_accuracy is compared exactly across dtypes and devices: its argmax must not sit on a rounding tie."""
    toy = data["toy"]
    ids, attn, verb = au.toy._encode(toy.tokenizer, data["toy_test"])
    rows = torch.arange(len(verb))
    ids[rows, verb] = toy.tokenizer.mask_token_id
    with torch.inference_mode():
        logits = toy.model(input_ids=ids, attention_mask=attn).logits[rows, verb]
    top = logits.topk(2, dim=-1).values
    assert (top[:, 0] - top[:, 1]).min() > 1e-3  # 0.039 with torch 2.x here; float32's error is ~1e-6


@pytest.mark.parametrize("name", list(CALLS))
def test_a_float64_model_gives_the_float32_numbers(name, minilm64, references, data):
    fn, kind = CALLS[name]
    assert_same(fn(minilm64, data), references[name], kind, atol=1e-5, what=name)


@pytest.mark.parametrize("name", list(CALLS))
def test_a_bfloat16_model_runs_everything_with_the_same_shapes_and_dtypes(name, minilm16, references, data):
    """bfloat16 keeps 8 bits of mantissa: values agree to ~0.1, argmax-based scores only in shape and type."""
    fn, kind = CALLS[name]
    got, want = _arrays(fn(minilm16, data)), _arrays(references[name])
    assert [(g.shape, g.dtype) for g in got] == [(w.shape, w.dtype) for w in want], name
    if kind == "values":
        for g, w in zip(got, want):
            if g.dtype.kind == "f":
                np.testing.assert_allclose(g, w, atol=0.1, rtol=0.1, err_msg=name)


# --- reductions keep their tensors on the device they are given ------------------------------------


def _batch(lm, texts):
    enc, weights = au.extract.__globals__["run_model"](lm, texts)
    mask = enc["attention_mask"].bool()
    ids = enc["input_ids"]
    types = {"cls": ids == lm.tokenizer.cls_token_id, "punct": ids == lm.tokenizer.convert_tokens_to_ids(",")}
    return weights, mask, types


def test_batch_metrics_makes_no_tensor_off_the_device_of_its_inputs(minilm):
    weights, mask, types = _batch(minilm, TEXTS)
    on_meta = analysis._batch_metrics(weights.to("meta"), mask.to("meta"),
                                      {k: v.to("meta") for k, v in types.items()}, torch.float32)
    assert {v.device.type for v in on_meta.values()} == {"meta"}
    assert {v.dtype for v in on_meta.values()} == {torch.float32}


def test_batch_metrics_in_float32_agrees_with_float64_within_1e6(minilm):
    """What a GPU computes (float32) against what the CPU computes (float64), on the same weights."""
    weights, mask, types = _batch(minilm, au.load_corpus()[:32])
    exact = analysis._batch_metrics(weights, mask, types)
    fast = analysis._batch_metrics(weights, mask, types, torch.float32)
    for name in exact:
        assert exact[name].dtype == torch.float64 and fast[name].dtype == torch.float32
        assert (fast[name].double() - exact[name]).abs().max() / 32 < 1e-6, name  # per text, as head_stats divides


def test_syntax_batch_hits_stay_on_the_device_and_float32_counts_exactly(minilm):
    sentences = au.load_treebank("en_ewt")[:12]
    captured = []
    real = syntax._batch_hits

    def spy(weights, *tensors, dtype):
        captured.append((weights, tensors))
        return real(weights, *tensors, dtype=dtype)

    syntax._batch_hits = spy
    try:
        au.syntax_heads(minilm, sentences, batch_size=12, progress=False)
    finally:
        syntax._batch_hits = real
    (weights, tensors), = captured
    exact, ok = real(weights, *tensors, dtype=torch.float64)
    fast, ok32 = real(weights, *tensors, dtype=torch.float32)
    assert torch.equal(fast.double(), exact) and torch.equal(ok, ok32)
    on_meta, ok_meta = real(weights.to("meta"), *(t.to("meta") for t in tensors), dtype=torch.float32)
    assert on_meta.device.type == "meta" and on_meta.shape == exact.shape
    assert ok_meta.device.type == "meta" and ok_meta.shape == ok.shape
    pred = syntax._predict(torch.rand(2, 5, 5, device="meta"), "head->dep", torch.ones(3, dtype=torch.bool,
                           device="meta"), torch.zeros(3, dtype=torch.bool, device="meta"))
    assert pred.device.type == "meta" and pred.shape == (2, 3)


def test_head_predictions_takes_a_tensor_on_any_device_and_returns_numpy():
    m = torch.zeros(1, 1, 5, 5)
    m[..., 1, 3] = m[..., 2, 1] = m[..., 3, 2] = 1.0
    assert au.head_predictions(m).tolist() == [[[3, 1, 2]]]
    assert isinstance(au.head_predictions(m.to(torch.bfloat16)), np.ndarray)


# --- CUDA: the same numbers as the CPU --------------------------------------------------------------


@pytest.fixture(scope="module")
def minilm_cuda(minilm):
    return au.load_model("all-MiniLM-L6-v2", device="cuda")


@pytest.mark.cuda
@pytest.mark.parametrize("name", list(CALLS))
def test_on_cuda_every_function_gives_the_cpu_numbers(name, minilm_cuda, references, data):
    fn, kind = CALLS[name]
    assert_same(fn(minilm_cuda, data), references[name], kind, atol=1e-5, what=name)


@pytest.mark.cuda
def test_on_cuda_load_model_auto_and_the_captions_say_so(minilm_cuda):
    auto = au.load_model("all-MiniLM-L6-v2", device="auto")
    assert auto.device.type == "cuda" and minilm_cuda.device == torch.device("cuda", 0)
    assert minilm_cuda.caption == "MiniLM-L6 (bundled), on cuda:0"
    assert au.extract(minilm_cuda, TEXT).caption == minilm_cuda.caption
    twin = au.untrained_twin(minilm_cuda)
    assert twin.device.type == "cuda" and twin.caption.endswith("(untrained control), on cuda:0")
    assert au.doctor(probe_hub=False).loc["device (load_model(device='auto'))", "status"] == "cuda"


@pytest.mark.cuda
def test_on_cuda_head_stats_agrees_with_clark_formulas_on_the_cpu(minilm, minilm_cuda):
    from test_clark import UNSEEN, clark_oracle

    oracle = clark_oracle(minilm, UNSEEN)  # float64 numpy, one sentence at a time, on the CPU
    stats = au.head_stats(minilm_cuda, UNSEEN, batch_size=5, progress=False)
    L, H = oracle["cls"].shape
    worst = {name: float(np.abs(stats[name].to_numpy().reshape(L, H) - value).max()) for name, value in oracle.items()}
    assert max(worst.values()) < 1e-5, worst


@pytest.mark.cuda
def test_on_cuda_head_stats_of_many_batches_holds_1e5(minilm, minilm_cuda):
    corpus = au.load_corpus()
    texts = (corpus * 5)[:1000]
    cpu = au.head_stats(minilm, texts, batch_size=64, progress=False)
    gpu = au.head_stats(minilm_cuda, texts, batch_size=64, progress=False)
    assert_same(gpu, cpu, "values", atol=1e-5, what="head_stats, 1,000 texts")


@pytest.mark.cuda
def test_on_cuda_syntax_heads_over_the_whole_treebank(minilm, minilm_cuda):
    tb = au.load_treebank("en_ewt")
    cpu = au.syntax_heads(minilm, tb, split=True, progress=False)
    gpu = au.syntax_heads(minilm_cuda, tb, split=True, progress=False)
    assert_same(gpu, cpu, "argmax", atol=1e-5, what="syntax_heads, en_ewt")
    assert gpu.attrs["scored"] == cpu.attrs["scored"]


# --- exercise checks: an answer on the device gets the verdict it gets on the host --------------------


class OffHost(torch.Tensor):
    """A CPU tensor that behaves as one on a GPU does, for the checks' tests on a machine without one.

    As with CUDA: ``.numpy()`` and ``np.asarray`` raise (TypeError, CUDA's message); mixing it with a host
    tensor of one or more dimensions raises (RuntimeError); ``.cpu()`` / ``.to("cpu")`` give a plain host
    tensor; ``.item()``, ``.tolist()``, ``float()`` and arithmetic among device tensors work.
    """

    @staticmethod
    def _tensors(obj):
        if isinstance(obj, torch.Tensor):
            yield obj
        elif isinstance(obj, (list, tuple)):
            for o in obj:
                yield from OffHost._tensors(o)
        elif isinstance(obj, dict):
            for o in obj.values():
                yield from OffHost._tensors(o)

    @classmethod
    def __torch_function__(cls, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        if func in (torch.Tensor.numpy, torch.Tensor.__array__):
            raise TypeError("can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the tensor "
                            "to host memory first.")
        to_host = func is torch.Tensor.to and any(str(a) == "cpu" for a in [*args[1:], *kwargs.values()])
        if func is torch.Tensor.cpu or to_host:
            with torch._C.DisableTorchFunctionSubclass():
                return func(*args, **kwargs).clone().as_subclass(torch.Tensor)
        tensors = list(cls._tensors((args, kwargs)))
        if any(isinstance(t, OffHost) for t in tensors) and any(not isinstance(t, OffHost) and t.dim() > 0
                                                                 for t in tensors):
            raise RuntimeError("Expected all tensors to be on the same device, but found at least two devices, "
                               "cuda:0 and cpu!")
        return super().__torch_function__(func, types, args, kwargs)


def off_host(t):
    return t.detach().clone().as_subclass(OffHost).requires_grad_(t.requires_grad)


def test_the_off_host_stand_in_fails_where_a_cuda_tensor_fails():
    t = off_host(torch.arange(6.0).reshape(2, 3))
    for fails in (t.numpy, lambda: np.asarray(t), lambda: np.asarray([t[0], t[1]]), lambda: t + torch.ones(3),
                  lambda: torch.ones(3) @ t.T):
        with pytest.raises((TypeError, RuntimeError)):
            fails()
    assert isinstance(t.double() * 2 + torch.tensor(1.0), OffHost)  # a 0-d host tensor mixes, as with CUDA
    assert t.sum().item() == 15.0 and float(t[1, 2]) == 5.0 and t.tolist() == [[0.0, 1.0, 2.0], [3.0, 4.0, 5.0]]
    for host in (t.cpu(), t.detach().to("cpu"), t.to(torch.device("cpu"))):
        assert type(host) is torch.Tensor and host.numpy().tolist() == t.tolist()


def _shift(value, to, arrays: bool = True):
    """``value`` with every tensor (and, with ``arrays``, every numeric numpy array) moved by ``to``, in lists,
    tuples and dicts; a function's results are moved the same way (a learner's function written for the GPU)."""
    import functools
    import inspect

    if isinstance(value, torch.Tensor):
        return to(value)
    if arrays and isinstance(value, np.ndarray) and value.dtype.kind in "biuf":
        return to(torch.from_numpy(value.copy()))
    if isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        return type(value)(_shift(v, to, arrays) for v in value)
    if isinstance(value, dict):
        return {k: _shift(v, to, arrays) for k, v in value.items()}
    if inspect.isfunction(value):
        @functools.wraps(value)
        def on_device(*a):
            return _shift(value(*a), to, arrays)
        del on_device.__wrapped__  # the checks look at the learner's own code only for the placeholder
        return on_device
    return value


def _tensors_and_functions(value):
    """The tensors, numeric arrays and functions in ``value`` (lists, tuples, dicts): what :func:`_shift` moves."""
    import inspect

    if isinstance(value, torch.Tensor) or inspect.isfunction(value) or (
            isinstance(value, np.ndarray) and value.dtype.kind in "biuf"):
        yield value
    elif isinstance(value, (list, tuple)) and not hasattr(value, "_fields"):
        for v in value:
            yield from _tensors_and_functions(v)
    elif isinstance(value, dict):
        for v in value.values():
            yield from _tensors_and_functions(v)


def _verdict(check, args, kwargs, capsys) -> tuple[str, str, str]:
    """("pass" | "note" | "error", the message with its numbers and the stand-in's class name blanked, the message)."""
    import re

    from attn_utils import exercises as ex

    try:
        getattr(ex, check)(*args, **kwargs)
    except ex.ExerciseError as err:
        kind, text = "error", str(err)
    else:
        text = capsys.readouterr().out
        kind = "pass" if text.startswith("✅") else "note"
    capsys.readouterr()
    return kind, re.sub(r"[-+]?\d[\d.]*(e[-+]?\d+)?", "#", text.replace("OffHost", "Tensor")), text


def _matrix():
    from test_exercise_matrix import C

    return [pytest.param(*p.values, id=p.id) for p in C if p.values[1] in ("right", "wrong", "malformed")]


@pytest.fixture(scope="module")
def exercise_ctx(minilm):
    from test_exercise_matrix import Ctx

    return Ctx(minilm)


def _same_verdict_on_the_device(check, kind, build, fragment, ctx, capsys, to, lm=None):
    import matplotlib.pyplot as plt

    try:
        try:
            args, kwargs = build(ctx)
        except ImportError as err:  # the GPU machine has no MeCab (fugashi): the v3 tokenizer's cases
            pytest.skip(f"this case's data need what is not installed here: {err}")
        if not (list(_tensors_and_functions(args)) or (lm is not None and "lm" in kwargs)
                or any(isinstance(v, torch.Tensor) for v in _tensors_and_functions(kwargs))):
            pytest.skip("no tensor, array or function in this answer: nothing that could live on a device")
        host = _verdict(check, _shift(args, lambda t: t.detach().cpu().requires_grad_(t.requires_grad)),
                        _shift(kwargs, lambda t: t.cpu(), arrays=False), capsys)
        args, kwargs = build(ctx)
        kwargs = _shift(kwargs, to, arrays=False)
        if lm is not None and "lm" in kwargs:
            kwargs["lm"] = lm
        device = _verdict(check, _shift(args, to), kwargs, capsys)
        assert device[:2] == host[:2], (check, kind, host, device)
        if kind == "wrong":
            assert device[0] == "error" and fragment in device[2], device
    finally:
        plt.close("all")
    return device


@pytest.mark.parametrize("check, kind, build, fragment", _matrix())
def test_an_answer_off_the_host_gets_the_verdict_a_host_tensor_gets(check, kind, build, fragment, exercise_ctx,
                                                                   capsys):
    """The wrong-answer matrix of every check, with each tensor and array of the answer (and each tensor a
    learner's function returns) as a GPU tensor would be: the same verdict, message and hint as on the host."""
    _same_verdict_on_the_device(check, kind, build, fragment, exercise_ctx, capsys, off_host)


@pytest.mark.cuda
@pytest.mark.parametrize("check, kind, build, fragment", _matrix())
def test_on_cuda_an_answer_gets_the_verdict_a_host_tensor_gets(check, kind, build, fragment, exercise_ctx, minilm_cuda,
                                                               capsys):
    """The same with real CUDA tensors, and the checks that run a model (``lm=``) given the model on the GPU."""
    _same_verdict_on_the_device(check, kind, build, fragment, exercise_ctx, capsys,
                                lambda t: t.detach().to("cuda").requires_grad_(t.requires_grad), lm=minilm_cuda)


@pytest.mark.parametrize("where", ["host", "off-host", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_nested_lists_of_device_scalars_are_read_as_host_ones_are(where, exercise_ctx, capsys):
    """``[[share(l, h) for h in heads] for l in layers]`` with torch scalars: a learner who computed on the GPU."""
    from test_exercise_matrix import best_of, prev_share

    from attn_utils import exercises as ex

    move = {"host": lambda t: t, "off-host": off_host, "cuda": lambda t: t.to("cuda")}[where]
    share = prev_share(exercise_ctx.att_long.weights)
    nested = [[move(torch.tensor(v)) for v in row] for row in share]
    best = tuple(move(torch.tensor(i)) for i in best_of(share))
    ex.check_previous_token_head(nested, best, att=exercise_ctx.att_long)
    assert capsys.readouterr().out.startswith("✅")
    wrong = [[move(torch.tensor(v)) for v in row] for row in np.roll(share, 1, axis=1)]
    with pytest.raises(ex.ExerciseError, match="prev_share の値が合っていません"):
        ex.check_previous_token_head(wrong, best, att=exercise_ctx.att_long)


# --- the notebooks' cells that run the model by hand (with device="auto": on a Colab GPU) ------------------

NOTEBOOKS = sorted((__import__("pathlib").Path(__file__).parent.parent / "notebooks").glob("0*.ipynb"))


def _code_cells(path):
    import json

    cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
    return [(i, "".join(c["source"])) for i, c in enumerate(cells) if c["cell_type"] == "code"]


def _by_hand(path):
    """Cells that call ``lm.model(...)`` themselves, or read what such a cell returned (``outputs``, ``out``)."""
    import re

    return [(i, src) for i, src in _code_cells(path)
            if "load_model" not in src and (re.search(r"\blm\.model\(", src) or
                                            re.search(r"\b(outputs\.attentions|out\.hidden_states)\b", src))]


@pytest.mark.parametrize("path", NOTEBOOKS, ids=lambda p: p.name)
def test_notebook_cells_move_their_inputs_to_the_model_and_their_outputs_to_the_host(path):
    """A cell that tokenizes for ``lm.model`` moves the encoding to ``lm.device``; ``.numpy()`` comes after ``.cpu()``.

    (The CPU cannot run them on a GPU; this reads them. ``test_on_cuda_the_notebooks_by_hand_cells_run`` runs them.)
    """
    import re

    bad = []
    for i, src in _code_cells(path):
        if "from transformers import" in src:  # a model of the cell's own, on the CPU (02: the code seen everywhere)
            continue
        for line in src.splitlines():
            code = line.split("#")[0]
            if re.search(r"\blm\.tokenizer\(.*return_tensors=", code) and ".to(lm.device)" not in code:
                bad.append((i, line.strip()))
            if re.search(r"(?<!\.cpu\(\))\.numpy\(\)", code) and re.search(r"\b(outputs?|out|alpha|f|h|model)\b", code):
                bad.append((i, line.strip()))
    assert not bad, f"{path.name}: cells that fail when device='auto' picks a GPU: {bad}"


def _run_by_hand(lm, path):
    import re

    from attn_utils import exercises

    cells = _by_hand(path)
    text = re.search(r'^TEXT = "(.*)"$', "\n".join(src for _, src in _code_cells(path)), re.M)
    space = {"au": au, "np": np, "pd": pd, "torch": torch, "ex": exercises, "lm": lm,
             "display": lambda *a, **k: None, "TEXT": text.group(1) if text else TEXT}
    space["att"] = au.extract(lm, space["TEXT"])
    space["norms"] = au.norm_attention(lm, space["TEXT"])
    for i, src in cells:
        try:
            exec(compile(src, f"{path.name}[{i}]", "exec"), space)
        except Exception as err:
            raise AssertionError(f"{path.name}, cell {i}: {type(err).__name__}: {err}") from None
    return [i for i, _ in cells]


def test_the_notebooks_by_hand_cells_run_here(minilm, capsys):
    """The harness of the CUDA test below, on the CPU: every selected cell runs (its own asserts hold)."""
    ran = {p.name[:2]: _run_by_hand(minilm, p) for p in NOTEBOOKS}
    assert len(ran["01"]) >= 2 and len(ran["02"]) >= 2 and len(ran["05"]) >= 2, ran
    assert capsys.readouterr().out.count("✅") >= 1  # 05's folded answer re-runs check_masking_change


@pytest.mark.cuda
def test_on_cuda_the_notebooks_by_hand_cells_run(minilm_cuda, capsys):
    for path in NOTEBOOKS:
        _run_by_hand(minilm_cuda, path)
    assert capsys.readouterr().out.count("✅") >= 1


# --- public functions that take arrays also take tensors from any device -----------------------------------


@pytest.mark.parametrize("where", ["host", "off-host", pytest.param("cuda", marks=pytest.mark.cuda)])
def test_functions_that_take_arrays_take_model_outputs_on_any_device(where, minilm):
    """``au.Attention(tokens, weights)``, ``plot_grid`` and ``roles.passing`` given the model's own tensors (on the
    GPU in Colab, requiring grad, or in bfloat16) give what they give for the numpy array."""
    import matplotlib.pyplot as plt

    move = {"host": lambda t: t, "off-host": off_host, "cuda": lambda t: t.to("cuda")}[where]
    att = au.extract(minilm, TEXT)
    weights = move(torch.from_numpy(att.weights))
    for given in (weights, weights.clone().requires_grad_(True), weights.to(torch.bfloat16)):
        built = au.Attention(att.tokens, given)
        assert built.weights.dtype == np.float32 and built.weights.shape == att.weights.shape
        atol = 4e-3 if given.dtype == torch.bfloat16 else 0  # bfloat16 keeps 8 bits: weights <= 1 within 2^-8
        np.testing.assert_allclose(built.weights, att.weights, rtol=0, atol=atol)
    share = att.weights[:, :, :, 0].mean(-1)  # [layer, head]: the weight on [CLS]
    fig = au.plot_grid(move(torch.from_numpy(share)))
    drawn = fig.axes[0].images[0].get_array()
    np.testing.assert_allclose(np.asarray(drawn), share, rtol=0, atol=1e-7)
    plt.close(fig)
    diff = np.random.default_rng(0).normal(0.1, 0.02, size=(6, 2, 3))
    assert (au.roles.passing(move(torch.from_numpy(diff))) == au.roles.passing(diff)).all()


def test_no_check_calls_a_learners_function_with_data_from_a_model():
    """The checks call a learner's function with host numpy arrays (retried as host tensors); a function that
    sends them to the GPU and returns GPU tensors is accepted (the matrix above). Were a check to call it with a
    model's tensors, it would have to pass them on the model's device: this test names the check that starts to."""
    import inspect

    from attn_utils import exercises as ex

    both = []
    for name in ex.CHECKS:
        check = getattr(ex, name)
        source = inspect.getsource(inspect.unwrap(check))
        takes_model = {"lm", "model"} & set(inspect.signature(inspect.unwrap(check)).parameters)
        if takes_model and "call_learner" in source:
            both.append(name)
    assert len(ex.CHECKS) >= 20 and not both, both
