"""Syntax heads on gold treebanks: Clark et al. 2019, §4.2 and Table 1.

Every attention head is read as a zero-parameter dependency parser: each word
predicts as its syntactic head the *other* word it attends to most. The
definitions follow the authors' own code, ``Syntax_Analysis.ipynb`` and
``bpe_utils.py`` in https://github.com/clarkkev/attention-analysis:

- word-level maps: sum over a word's key pieces, mean over its query pieces
  (``get_word_word_attention(..., mode="mean")``; the paper states "mean",
  the released ``make_attn_word_level`` calls the default ``mode="first"``;
  we follow the paper);
- ``attn_head_predictor``: zero the diagonal (attention to itself), drop the
  [CLS] and [SEP] rows and columns, argmax over the remaining words (we set
  the diagonal to -inf instead of 0: the same unless every other weight is 0);
  ``mode="normal"`` is "dep->head", ``mode="transpose"`` is "head->dep"
  (each word predicts the word that attends to it most);
- ``offset_predictor``: the word at a fixed offset -3..+2 from the dependent,
  clipped to the sentence (``max(0, min(i + offset + 1, n))``);
- ``evaluate_predictor``: one hit or miss per word, counted under its
  relation and under "all" (every word, root and punct included); the
  possessive special case (``poss`` followed by ``'s``: take the prediction
  of ``'s``) is applied to UD's ``nmod:poss``;
- the table: skip ``root`` and ``punct`` and relations seen fewer than 100 times.

Differences, each for a stated reason: UD relation subtypes (``nsubj:outer``)
count under the subtype and under the base relation; the best head and the
best offset are picked on one half of the sentences and reported on the other
(see :func:`syntax_table`); the model reads the sentence's original text (Clark
et al. fed the words joined by spaces) and UD words are aligned to tokens by
character spans (see :func:`align_words`); a word that the tokenizer merged
into another word, or whose gold head it merged, has no attention row or
column of its own and is left out of the scores, for heads and offsets alike
(:func:`alignment_report` gives the shares; with English WordPiece and v3's
MeCab + WordPiece they are below 1%, with multilingual-e5's SentencePiece on
Japanese about a fifth of the short units are merged into another).
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Sequence

import numpy as np
import pandas as pd

from .errors import AttentionError, user_stacklevel
from .extract import _batches, _check_batch_size, exact_dtype, model_device, reduce_dtype, run_model, to_device
from .stats import binomial_interval, mcnemar_exact, split_half
from .treebank import Sentence, check_sentences, poss_source, sentences_digest
from .words import align_words, token_spans_batch

__all__ = [
    "DIRECTIONS",
    "OFFSETS",
    "head_predictions",
    "syntax_heads",
    "syntax_baseline",
    "syntax_table",
    "syntax_paired",
    "format_syntax_table",
]

#: "dep->head": the normal map (each word looks for its head); "head->dep": the transposed map.
DIRECTIONS = ("dep->head", "head->dep")
#: The fixed offsets of the baseline, as ``range(-3, 3)`` in Clark et al.'s notebook.
OFFSETS = tuple(range(-3, 3))
#: Relations the table leaves out, as in the paper.
SKIPPED = ("root", "punct")


# --- predictions -------------------------------------------------------------------------------

def head_predictions(word_attention: Any, direction: str = "dep->head") -> np.ndarray:
    """Each word's predicted head under every attention head (Clark et al.'s ``attn_head_predictor``).

    Args:
        word_attention: word-level maps ``[..., n + 2, n + 2]`` of one sentence,
            [CLS] first and [SEP] last (numpy or torch).
        direction: ``"dep->head"`` (normal map) or ``"head->dep"`` (transposed).

    Returns:
        int array ``[..., n]``: 1-based word numbers (never 0 = root; never the word itself, except in a
        one-word sentence, where it is the only candidate, as in Clark et al.'s code).
    """
    import torch

    if direction not in DIRECTIONS:
        raise AttentionError(f"direction must be one of {DIRECTIONS}, got {direction!r}")
    w = word_attention if torch.is_tensor(word_attention) else torch.from_numpy(np.asarray(word_attention))
    n = w.shape[-1] - 2
    valid = torch.ones(n, dtype=torch.bool, device=w.device)
    return _predict(w.to(exact_dtype(w.device)), direction, valid, ~valid).cpu().numpy()


def _predict(words: Any, direction: str, valid: Any, unowned: Any) -> Any:
    """Argmax over candidate words, in one direction (see :func:`_predict_both`)."""
    masked = _masked(words, valid, unowned)
    return (masked if direction == "dep->head" else masked.transpose(-1, -2).contiguous()).argmax(-1) + 1


def _predict_both(words: Any, valid: Any, unowned: Any) -> tuple[Any, Any]:
    """Argmax over candidate words, in both directions from one masked copy of the maps (:func:`_masked`).

    Returns:
        ``(dep->head, head->dep)``: int tensors ``[..., N - 2]`` on the device of ``words``,
        1-based predictions (the first of tied candidates, as numpy's argmax in Clark et al.'s code).
    """
    masked = _masked(words, valid, unowned)
    # argmax along the last dimension of a contiguous copy is faster than along a strided one
    return masked.argmax(-1) + 1, masked.transpose(-1, -2).contiguous().argmax(-1) + 1


def _masked(words: Any, valid: Any, unowned: Any) -> Any:
    """The word maps without [CLS] and [SEP], with the candidates that may not be predicted masked.

    Args:
        words: word-level maps ``[..., N, N]`` ([CLS] at 0; the last row/column dropped as [SEP]).
        valid: bool ``[..., N - 2]`` broadcastable to the candidates: real words
            (a shorter sentence's [SEP] and padding are not).
        unowned: bool, same shape: words without a token of their own (never predicted).

    Returns:
        ``[..., N - 2, N - 2]``: rows dependents, columns candidate heads (transpose for head->dep).
    """
    import torch

    w = words[..., 1:-1, 1:-1]  # no [CLS], no [SEP]
    # one additive mask for both directions: -2 puts a word without tokens below every real weight
    # (all in 0..1), -inf removes padding, a shorter sentence's [SEP] and the word itself. The mask adds
    # the same per-word bias to a row and to a column. A scored word owns a token, so its bias is 0: its
    # row (dep->head) and its column (head->dep) are the maps plus the candidates' biases, bit for bit,
    # as with a mask on one side only. The rows and columns of other words may come out differently
    # (padding: all -inf; a word without tokens: -2 added), but their predictions are never read.
    bias = torch.where(valid, torch.where(unowned, -2.0, 0.0), -math.inf).to(w.dtype)
    mask = bias[..., None, :] + bias[..., :, None]
    mask.diagonal(dim1=-2, dim2=-1).fill_(-math.inf)
    return w + mask


def _labels(relation: str) -> list[str]:
    """The rows a word counts under: "all", its relation, and the base of a subtype."""
    base = relation.split(":")[0]
    return ["all", relation] + ([base] if base != relation else [])


def syntax_heads(lm: Any, sentences: Sequence[Sentence], batch_size: int = 32, progress: bool | None = None,
                 split: bool = False) -> pd.DataFrame:
    """Accuracy of every attention head at pointing each word to its syntactic head.

    Clark et al. 2019 §4.2 (``Syntax_Analysis.ipynb``: ``attn_head_predictor``,
    ``evaluate_predictor``), batched and streamed like :func:`head_stats`:
    sentences sorted by length, one forward pass per batch, each batch reduced
    to hit counts and dropped.

    Args:
        lm: a loaded model with a fast tokenizer (character offsets).
        sentences: from :func:`load_treebank`.
        batch_size: sentences per forward pass.
        progress: a progress bar; None shows a text bar only in a terminal
            (as :func:`~attn_utils.analysis.head_stats`), True forces one.
        split: count the two halves of :func:`~attn_utils.stats.split_half` separately
            (adds an outer index level ``half``: "select" / "report").

    Returns:
        DataFrame indexed by ``(relation, direction, layer, head)`` (layer and
        head 0-based) with columns ``accuracy`` (0..1) and ``n`` (words scored).
        Relation "all" is every scored word once; a subtype (``nsubj:outer``)
        also counts under its base (``nsubj``). Words that the tokenizer merged
        into another word (see :func:`align_words`), and words whose gold head
        was merged away, cannot be scored and are left out; ``attrs["scorable"]``
        holds the per-sentence masks (:func:`syntax_table` scores the offset
        baseline on the same words), ``attrs["words"]`` / ``attrs["scored"]`` the counts,
        ``attrs["correct"]`` each word's hit or miss, bool ``[direction, layer, head, word]``
        with the words of all sentences one after another (for :func:`syntax_paired`).
    """
    import torch

    sentences = list(sentences)
    if not sentences:
        raise AttentionError("syntax_heads() needs at least one sentence; try au.load_treebank('en_ewt')")
    check_sentences(sentences, "syntax_heads")
    _check_batch_size(batch_size)
    texts = [s.text for s in sentences]
    spans = token_spans_batch(lm, texts)  # one tokenization with offsets: the batches' order and their alignment
    order = np.argsort([len(x) for x in spans], kind="stable")
    halves = np.zeros(len(sentences), dtype=np.int64)
    if split:
        halves[split_half(len(sentences))[1]] = 1
    labels: dict[str, int] = {}
    rows_per_word = []
    for s in sentences:
        rows_per_word.append([[labels.setdefault(lab, len(labels)) for lab in _labels(r)] for r in s.relations])
    n_halves = 2 if split else 1
    width = n_halves * len(labels)
    device = model_device(lm.model)
    dtype = reduce_dtype(device)
    hits = None  # [direction, layer, head, half * label], on the device until the end
    starts = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
    correct = None  # [direction, layer, head, word of the corpus]: each word's hit, on the device until the end
    totals = np.zeros(width)
    marks: list[tuple[bool, ...]] = [()] * len(sentences)  # per sentence: which words can be scored
    # Nothing here waits for the device but transformers' mask check at the start of each forward pass (see
    # head_stats): each batch's forward pass is queued first, then its words are aligned to its tokens (the
    # spans above) and its index arrays built here, on the host, while the device runs it.
    for start in _batches(len(sentences), batch_size, progress, "syntax_heads"):
        chunk = [int(i) for i in order[start : start + batch_size]]
        enc, weights = run_model(lm, [texts[i] for i in chunk], on_host=False)  # [layer, batch, head, query, key]
        arrays = {}
        for i in chunk:
            owner = align_words(spans[i], sentences[i].spans)
            marks[i] = _scorable(sentences[i], owner)
            arrays[i] = _sentence_arrays(sentences[i], owner, marks[i], rows_per_word[i],
                                         halves[i] * len(labels) if split else 0)
            totals += np.bincount(arrays[i]["label_rows"], minlength=width)
        B, T = len(chunk), weights.shape[-1]
        N = max(len(sentences[i]) for i in chunk) + 2
        real = enc["attention_mask"].sum(-1).tolist()
        for b, i in enumerate(chunk):
            if real[b] != len(spans[i]):
                raise AttentionError(f"sentence {i}: {real[b]} tokens in the batch but {len(spans[i])} with offsets")
        # token -> word unit w + 1; units 0 ([CLS]) and n + 1 ([SEP]) stay empty: _predict never reads them
        merge = np.zeros((B, T, N))
        owned = np.zeros((B, N - 2), dtype=bool)
        gold = np.full((B, N - 2), -1, dtype=np.int64)
        source = np.zeros((B, N - 2), dtype=np.int64)
        for b, i in enumerate(chunk):
            a = arrays[i]
            merge[b, a["tokens"], a["units"]] = 1.0
            owned[b, a["units"] - 1] = True
            gold[b, : len(a["gold"])] = a["gold"]
            source[b, : len(a["source"])] = a["source"]
        labelled = np.concatenate([np.stack([np.full(len(arrays[i]["label_words"]), b), arrays[i]["label_words"],
                                             arrays[i]["label_rows"]]) for b, i in enumerate(chunk)], axis=1)
        count = merge.sum(1, keepdims=True)  # pieces per word
        mean = merge / np.where(count > 0, count, 1.0)
        lengths = np.array([len(sentences[i]) for i in chunk])
        valid = np.arange(N - 2)[None, :] < lengths[:, None]
        unowned = ~owned & valid
        owned_source = np.take_along_axis(owned, source, axis=-1)  # does the word that predicts own a token?
        mean, merge, valid, unowned, source, gold, owned_source, labelled = (
            to_device(torch.from_numpy(x), device) for x in
            (mean.astype(np.float32), merge.astype(np.float32), valid, unowned, source, gold, owned_source, labelled))
        label_rows = torch.zeros(B, N - 2, width, dtype=dtype, device=device)
        label_rows[labelled[0], labelled[1], labelled[2]] = 1.0  # [batch, word, half * label]
        batch_hits, ok = _batch_hits(weights, mean, merge, valid, unowned, source, gold, owned_source, label_rows,
                                     dtype=dtype)  # ok: [direction, layer, batch, head, word]
        if correct is None:
            correct = torch.zeros(ok.shape[0], ok.shape[1], ok.shape[3], int(starts[-1]), dtype=torch.bool, device=device)
        bb = np.repeat(np.arange(B), lengths)  # per word of the batch: its sentence's row in the batch,
        ww = np.concatenate([np.arange(n) for n in lengths])  # its place in the sentence,
        gg = ww + np.repeat(starts[chunk], lengths)  # and its place in the corpus
        bb, ww, gg = (to_device(torch.from_numpy(x), device) for x in (bb, ww, gg))
        correct[..., gg] = ok[:, :, bb, :, ww].permute(1, 2, 3, 0)
        batch_hits = batch_hits.to(exact_dtype(device))
        hits = batch_hits if hits is None else hits + batch_hits
        del weights
    scorable = tuple(marks)
    hits = hits.cpu().double().numpy()
    correct = correct.cpu().numpy()
    frame = _heads_frame(hits, totals, labels, n_halves)
    frame.attrs["scorable"] = scorable
    frame.attrs["words"] = sum(len(s) for s in sentences)
    frame.attrs["scored"] = sum(sum(m) for m in scorable)
    frame.attrs["sentences"] = sentences_digest(sentences)  # syntax_table checks it is given the same ones
    frame.attrs["correct"] = correct
    return frame


def _sentence_arrays(sent: Sentence, owner: Sequence[int | None], scorable: Sequence[bool],
                     rows: Sequence[Sequence[int]], offset: int) -> dict[str, np.ndarray]:
    """One sentence's index arrays for the batch tensors of :func:`syntax_heads`.

    Returns:
        ``tokens`` / ``units``: each token that owns a word, and that word's unit (word + 1);
        ``gold`` / ``source``: per word its gold head and the word whose prediction scores it;
        ``label_words`` / ``label_rows``: (word, label row + ``offset``) for every scorable word and label.
    """
    tokens = [t for t, w in enumerate(owner) if w is not None and w >= 0]
    label_words = [w for w, r in enumerate(rows) if scorable[w] for _ in r]
    label_rows = [offset + x for w, r in enumerate(rows) if scorable[w] for x in r]
    return {"tokens": np.array(tokens, dtype=np.int64), "units": np.array([owner[t] + 1 for t in tokens], dtype=np.int64),
            "gold": np.array(sent.heads, dtype=np.int64), "source": np.array(poss_source(sent), dtype=np.int64),
            "label_words": np.array(label_words, dtype=np.int64), "label_rows": np.array(label_rows, dtype=np.int64)}


def _batch_hits(weights: Any, mean: Any, merge: Any, valid: Any, unowned: Any, source: Any, gold: Any,
                owned_source: Any, label_rows: Any, dtype: Any) -> Any:
    """One batch's hits per head and label, on the device of ``weights``.

    Args:
        weights: float32 ``[layer, batch, head, query, key]`` token maps.
        mean / merge: float32 ``[batch, token, word]``: a token's share of its word's query rows (1 / pieces)
            and its word (1); words are numbered 1..n, 0 and n + 1 left empty for [CLS] and [SEP].
        valid / unowned: bool ``[batch, word]``: real words / words without a token of their own.
        source: int ``[batch, word]``: the word whose prediction scores each word (:func:`poss_source`).
        gold: int ``[batch, word]``: the gold head (1-based, 0 = root; -1 on padding).
        owned_source: bool ``[batch, word]``: ``source`` owns a token (else a miss).
        label_rows: ``[batch, word, half * label]``: 1 where the word counts under the label.
        dtype: the dtype of the sums (exact for counts up to 2**24 in float32).

    Returns:
        ``[direction, layer, head, half * label]`` hit counts in ``dtype``, and each word's hit, bool
        ``[direction, layer, batch, head, word]``.
    """
    import torch

    # keys: sum over pieces; queries: mean over pieces (Clark et al.) -> [layer, batch, head, word, word];
    # an argmax per query row does not depend on that row's scale, so the mean matters only for reading the maps
    # (keys first, then queries: two contractions, up to twice as fast as one three-operand einsum)
    words = torch.einsum("btq,lbhtv->lbhqv", mean, torch.einsum("lbhtk,bkv->lbhtv", weights, merge))
    valid, unowned = valid[None, :, None], unowned[None, :, None]  # [1, batch, 1, word]
    scored = owned_source[None, :, None, :]
    rows = label_rows.to(dtype)
    out, oks = [], []
    for pred in _predict_both(words, valid, unowned):  # [layer, batch, head, word], per direction
        pred = torch.take_along_dim(pred, source[None, :, None, :], dim=-1)
        ok = (pred == gold[None, :, None, :]) & scored
        out.append(torch.einsum("lbhw,bwr->lhr", ok.to(dtype), rows))
        oks.append(ok)
    return torch.stack(out), torch.stack(oks)


def _scorable(sent: Sentence, owner: Sequence[int | None]) -> tuple[bool, ...]:
    """Words a head can be scored on: the word (or its ``'s``) owns a token, and so does its gold head (or root)."""
    owned = {w for w in owner if w is not None and w >= 0}
    src = poss_source(sent)
    return tuple(src[i] in owned and (h == 0 or h - 1 in owned) for i, h in enumerate(sent.heads))


def _heads_frame(hits: np.ndarray, totals: np.ndarray, labels: dict[str, int], n_halves: int) -> pd.DataFrame:
    D, L, H, _ = hits.shape
    names = list(labels)
    frames = []
    for h in range(n_halves):
        sl = slice(h * len(names), (h + 1) * len(names))
        n = totals[sl]
        acc = hits[..., sl] / np.where(n > 0, n, 1)  # [direction, layer, head, label]
        index = pd.MultiIndex.from_product([names, DIRECTIONS, range(L), range(H)],
                                           names=["relation", "direction", "layer", "head"])
        frame = pd.DataFrame({
            "accuracy": acc.transpose(3, 0, 1, 2).ravel(),
            "n": np.broadcast_to(n[:, None, None, None], (len(names), D, L, H)).ravel().astype(np.int64),
        }, index=index)
        frames.append(frame)
    if n_halves == 1:
        return frames[0]
    return pd.concat(frames, keys=["select", "report"], names=["half"])


# --- baseline and table ------------------------------------------------------------------------

def _offset_prediction(source: int, offset: int, n: int) -> int:
    """Clark et al.'s ``offset_predictor``: the word ``offset`` after ``source`` (0-based) as a 1-based head,
    clipped to 0 (root) .. n."""
    return max(0, min(source + offset + 1, n))


def _offset_hits(sentences: Sequence[Sentence], scorable: Sequence[Sequence[bool]] | None = None
                 ) -> tuple[dict[str, np.ndarray], dict[str, int]]:
    """Per label, hits of each offset in :data:`OFFSETS`; and the number of words (only ``scorable`` ones)."""
    hits: dict[str, np.ndarray] = {}
    counts: dict[str, int] = {}
    for s_idx, sent in enumerate(sentences):
        n = len(sent)
        src = poss_source(sent)
        for i, rel in enumerate(sent.relations):
            if scorable is not None and not scorable[s_idx][i]:
                continue
            j = src[i]
            pred = np.array([_offset_prediction(j, k, n) for k in OFFSETS])
            ok = (pred == sent.heads[i]).astype(np.int64)
            for lab in _labels(rel):
                hits[lab] = hits.get(lab, 0) + ok
                counts[lab] = counts.get(lab, 0) + 1
    return hits, counts


def syntax_baseline(sentences: Sequence[Sentence], all_offsets: bool = False,
                    scorable: Sequence[Sequence[bool]] | None = None) -> pd.DataFrame:
    """The best fixed-offset baseline per relation (Clark et al.'s ``offset_predictor``, offsets -3..+2).

    Args:
        sentences: from :func:`load_treebank`.
        all_offsets: return every offset's accuracy instead of only the best.
        scorable: per sentence, per word, whether to count it (the
            ``attrs["scorable"]`` of :func:`syntax_heads`); default every word.

    Returns:
        DataFrame indexed by relation with columns ``offset`` (the word that
        many positions from the dependent; clipped to the sentence), ``accuracy``
        and ``n``; with ``all_offsets`` one column per offset plus ``n``.
    """
    sentences = list(sentences)
    if not sentences:
        raise AttentionError("syntax_baseline() needs at least one sentence")
    hits, counts = _offset_hits(sentences, scorable)
    grid = pd.DataFrame({lab: hits[lab] / counts[lab] for lab in hits}, index=list(OFFSETS)).T
    grid.index.name = "relation"
    if all_offsets:
        return grid.assign(n=pd.Series(counts))
    best = grid.to_numpy().argmax(1)  # first maximum: the most negative offset on a tie
    return pd.DataFrame({"offset": np.array(OFFSETS)[best], "accuracy": grid.to_numpy().max(1),
                         "n": [counts[r] for r in grid.index]}, index=grid.index)


def syntax_table(scores: Any, sentences: Sequence[Sentence], min_count: int = 100, level: float = 0.95,
                 **kwargs: Any) -> pd.DataFrame:
    """Clark et al.'s Table 1 with a held-out choice of head and offset.

    Choosing the best of ``2 x layers x heads`` heads on the same words one
    reports on inflates the number (bert-base has 2 x 12 x 12 = 288 candidates;
    on ~50 words some head gets lucky). So the best head and the best offset are chosen on one half
    of the sentences and their accuracy is reported on the other half, with an
    exact (Clopper-Pearson) interval. The halves are :func:`~attn_utils.stats.split_half`
    ``(len(sentences), seed=0)``: a fixed random split, the same on every machine.

    Args:
        scores: the output of ``syntax_heads(lm, sentences, split=True)``, or a
            loaded model (then that is run here; ``kwargs`` go to it).
        sentences: the same sentences.
        min_count: leave out relations with fewer scored occurrences in
            ``sentences``. The paper's 100 was on the PTB dev set; on these small
            subsets we keep 100 over both halves together, so a relation near
            the limit has ~50 words in the report half and a wide interval,
            which the table shows rather than hides.
        level: the interval's confidence level.

    Returns:
        DataFrame, one row per relation ("all" first, then by count; ``root``
        and ``punct`` left out), with columns ``count`` (scored occurrences in all
        sentences), ``n`` (words in the report half), ``layer``, ``head``,
        ``direction`` (chosen on the select half), ``accuracy``, ``low``,
        ``high`` (report half), ``offset``, ``offset_accuracy`` (chosen on the
        select half, reported on the report half) and ``margin`` (accuracy - offset_accuracy).
    """
    sentences = list(sentences)
    check_sentences(sentences, "syntax_table")
    if not isinstance(scores, pd.DataFrame):
        scores = syntax_heads(scores, sentences, split=True, **kwargs)
    if "half" not in (scores.index.names or []):
        raise AttentionError("syntax_table() needs syntax_heads(..., split=True): the head is chosen on one half "
                             "of the sentences and reported on the other")
    select_idx, report_idx = split_half(len(sentences))
    mask = scores.attrs.get("scorable")
    if mask is None:  # e.g. read back from a CSV file, or from a pandas operation that drops attrs
        warnings.warn("syntax_table(): the scores have no attrs['scorable'] (syntax_heads sets it), so every word "
                      "is counted, also words without a token of their own; pass syntax_heads' own DataFrame, "
                      "or the model itself", UserWarning, stacklevel=user_stacklevel())
        mask = tuple((True,) * len(s) for s in sentences)
    if len(mask) != len(sentences):
        raise AttentionError(f"scores were computed on {len(mask)} sentences, but {len(sentences)} were given")
    wrong = next((i for i, (m, s) in enumerate(zip(mask, sentences)) if len(m) != len(s)), None)
    if wrong is not None:
        raise AttentionError(f"syntax_table(): sentence {wrong} has {len(sentences[wrong])} words, but the scores' "
                             f"sentence {wrong} had {len(mask[wrong])}: the scores were computed on other sentences; "
                             "pass the same ones, in the same order")
    digest = sentences_digest(sentences)
    if scores.attrs.get("sentences", digest) != digest:
        raise AttentionError("syntax_table(): the scores were computed on other sentences than the ones given; pass "
                             "the same sentences, in the same order, as to syntax_heads(lm, sentences, split=True)")
    base_select = syntax_baseline([sentences[i] for i in select_idx], True, [mask[i] for i in select_idx])
    base_report = syntax_baseline([sentences[i] for i in report_idx], True, [mask[i] for i in report_idx])
    counts = pd.Series([lab for s, m in zip(sentences, mask) for r, ok in zip(s.relations, m) if ok
                        for lab in _labels(r)]).value_counts()
    sel, rep = scores.loc["select"], scores.loc["report"]
    rows = []
    for rel in ["all"] + [r for r in counts.index if r != "all"]:
        if rel in SKIPPED or (rel != "all" and counts[rel] < min_count):
            continue
        if rel not in base_select.index or rel not in base_report.index:
            continue  # seen in one half only: nothing to choose on, or nothing to report on
        direction, layer, head = sel.loc[rel]["accuracy"].idxmax()
        chosen = rep.loc[(rel, direction, layer, head)]
        n = int(chosen["n"])
        acc = float(chosen["accuracy"])
        low, high = binomial_interval(int(round(acc * n)), n, level) if n else (0.0, 1.0)
        offsets = base_select.loc[rel, list(OFFSETS)].astype(float)
        offset = int(offsets.idxmax())
        off_acc = float(base_report.loc[rel, offset])  # rel is in base_report: checked above
        rows.append({"relation": rel, "count": int(counts[rel]), "n": n, "layer": int(layer), "head": int(head),
                     "direction": direction, "accuracy": acc, "low": low, "high": high,
                     "offset": offset, "offset_accuracy": off_acc, "margin": acc - off_acc})
    table = pd.DataFrame(rows).set_index("relation")
    table.attrs["min_count"] = min_count
    return table


def syntax_paired(scores: pd.DataFrame, table: pd.DataFrame, sentences: Sequence[Sentence],
                  alpha: float = 0.05) -> pd.DataFrame:
    """The table's head against its offset on the same words: the exact McNemar test, per relation.

    Head and offset are scored on the same words of the report half, so the
    comparison is paired: only the words that exactly one of them gets right
    carry information (:func:`~attn_utils.stats.mcnemar_exact`), as in
    :func:`~attn_utils.probing.probe_holdout`. The words of one sentence are
    not independent, so the p-value is a guide, not an exact guarantee.

    Args:
        scores: ``syntax_heads(lm, sentences, split=True)`` (with its ``attrs``).
        table: ``syntax_table(scores, sentences)``: the chosen head and offset per relation.
        sentences: the same sentences.
        alpha: the level below which a difference is called.

    Returns:
        DataFrame indexed like ``table`` with columns ``n`` (report-half words),
        ``hits`` / ``baseline_hits`` (words the head / the offset gets right),
        ``head_only`` / ``baseline_only`` (words only the head / only the offset
        gets right), ``p_value`` and ``verdict``: ``"head above baseline"`` or
        ``"baseline above head"`` when ``p_value < alpha``, else ``"undecided"``.

    Raises:
        AttentionError: the scores carry no per-word results, or do not match the table.
    """
    sentences = list(sentences)
    correct, mask = scores.attrs.get("correct"), scores.attrs.get("scorable")
    if correct is None or mask is None:
        raise AttentionError("syntax_paired() needs the DataFrame of syntax_heads(..., split=True) itself: "
                             "its attrs['correct'] holds each word's hit or miss (a CSV copy or a pandas "
                             "operation may drop attrs)")
    if len(mask) != len(sentences) or correct.shape[-1] != sum(len(s) for s in sentences):
        raise AttentionError(f"scores were computed on {len(mask)} sentences, but {len(sentences)} were given")
    starts = np.concatenate([[0], np.cumsum([len(s) for s in sentences])])
    _, report_idx = split_half(len(sentences))
    rows = []
    for rel, row in table.iterrows():
        d = DIRECTIONS.index(row["direction"])
        head_ok, base_ok = [], []
        for i in report_idx:
            sent = sentences[i]
            src = poss_source(sent)
            for w, r in enumerate(sent.relations):
                if not mask[i][w] or rel not in _labels(r):
                    continue
                head_ok.append(bool(correct[d, row["layer"], row["head"], starts[i] + w]))
                pred = _offset_prediction(src[w], int(row["offset"]), len(sent))
                base_ok.append(pred == sent.heads[w])
        n = len(head_ok)
        hits, base_hits = int(sum(head_ok)), int(sum(base_ok))
        if n != row["n"] or hits != round(row["accuracy"] * n) or base_hits != round(row["offset_accuracy"] * n):
            raise AttentionError(f"relation {rel!r}: the table says {row['n']} words, but the scores give {n} "
                                 "(or other hits); pass the same scores and sentences that made the table")
        head_only, base_only, p_value = mcnemar_exact(head_ok, base_ok) if n else (0, 0, 1.0)
        if p_value < alpha:
            verdict = "head above baseline" if head_only > base_only else "baseline above head"
        else:
            verdict = "undecided"
        rows.append({"relation": rel, "n": n, "hits": hits, "baseline_hits": base_hits, "head_only": head_only,
                     "baseline_only": base_only, "p_value": p_value, "verdict": verdict})
    return pd.DataFrame(rows).set_index("relation")


def format_syntax_table(table: pd.DataFrame, caption: str = "") -> pd.DataFrame:
    """:func:`syntax_table` as readable text columns (percentages, 0-based ``L<layer>-H<head>``).

    Returns:
        DataFrame indexed by relation with columns ``count``, ``n``, ``best head``,
        ``accuracy [interval]``, ``best offset``, ``margin``; ``attrs["caption"]`` holds ``caption``.
    """
    out = pd.DataFrame({
        "count": table["count"],
        "n": table["n"],
        "best head": [f"L{r.layer}-H{r.head} {r.direction}" for r in table.itertuples()],
        "accuracy [interval]": [f"{r.accuracy:.1%} [{r.low:.1%}, {r.high:.1%}]" for r in table.itertuples()],
        "best offset": [f"{r.offset:+d}: {r.offset_accuracy:.1%}" for r in table.itertuples()],
        "margin": [f"{100 * r.margin:+.1f}" for r in table.itertuples()],
    }, index=table.index)
    out.attrs["caption"] = caption
    return out
