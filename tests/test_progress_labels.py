"""Each long-running function labels its progress bar with its own name and counts batches."""
import re

import pytest

import attn_utils as au


def _bar(err, name):
    """The final state of tqdm's text bar for ``name``: 'name: 100%|...| 2/2 [.., ..batch/s]'."""
    return re.search(rf"(?:^|\r){name}: 100%\|[^|]*\| 2/2 \[[^\]]*(?:batch/s|s/batch)\]", err)


@pytest.mark.parametrize("name", ["extract", "head_stats", "syntax_heads"])
def test_progress_bar_names_the_function_and_counts_batches(minilm, capsys, name):
    texts = ["The dog ran.", "A cat sat."]
    if name == "extract":
        au.extract(minilm, texts, batch_size=1, progress=True)
    elif name == "head_stats":
        au.head_stats(minilm, texts, batch_size=1, progress=True)
    else:
        au.syntax_heads(minilm, au.load_treebank("en_ewt")[:2], batch_size=1, progress=True)
    err = capsys.readouterr().err
    assert _bar(err, name), err[-300:]
