"""A toy Japanese and a tiny BERT trained on it from scratch: where role heads come from (notebook 07).

The world of 「犬 が 猫 を 追う」: sentences ``N1が N2を V`` from a small grammar in
which **the verb depends on the subject's class** (animals 追う・噛む…, people
呼ぶ・褒める…, machines 運ぶ・押す…), so predicting a masked verb needs the
が-noun. Adjectives, adverbs and 「今日 、」-style openings make the lengths vary.
Two corpora come from the same grammar: ``"sov"`` (always 「N1が N2を V」) and
``"scrambled"`` (OSV 「N2を N1が V」 as often as SOV). Words are separated by
spaces, and every sentence carries its gold dependency tree (UD relations
``nsubj obj case amod advmod obl punct root``) in the :class:`~attn_utils.treebank.Sentence`
type that :func:`~attn_utils.treebank.load_treebank` returns, so
:func:`~attn_utils.syntax.syntax_heads` reads it unchanged.

:func:`train_toy_bert` trains a ``BertForMaskedLM`` (eager attention) with
masked-language modelling (Devlin et al. 2019: 15% of the words, 80/10/10)
plus extra masking of the verb, in a plain torch loop. Initialisation is our
own (a seeded generator per parameter), so a seed gives the same weights with
every transformers version on the same torch. The role/position effects are
those of notebook 04 (:mod:`attn_utils.roles`).
"""
from __future__ import annotations

import copy
import json
import random
import zlib
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any, Iterable, Sequence

import numpy as np

from .errors import AttentionError, AttentionTypeError
from .models import LoadedModel
from .roles import RoleItem, role_position
from .treebank import Sentence

__all__ = [
    "NOUNS", "VERBS", "ORDERS", "toy_corpus", "held_out", "toy_tokenizer", "role_items", "train_toy_bert",
    "verb_accuracy", "role_heads", "measure", "syntax_best", "seed_run", "row_differences", "seed_study", "load_seed_study", "TrainSettings",
]

# --- the grammar ---------------------------------------------------------------------------

#: Nouns by class; the class of the subject decides which verbs it can take.
NOUNS = {
    "animal": ["犬", "猫", "馬", "牛", "熊", "狐", "鳥", "猿"],
    "person": ["先生", "学生", "子供", "医者", "母", "父", "兄", "姉"],
    "machine": ["車", "電車", "ロボット", "船", "バス", "トラック", "飛行機", "機械"],
}
#: Verbs by the class of their subject (uniform within a class: the exact verb is a 1-in-4 guess).
VERBS = {
    "animal": ["追う", "噛む", "舐める", "嗅ぐ"],
    "person": ["呼ぶ", "褒める", "助ける", "描く"],
    "machine": ["運ぶ", "押す", "引く", "照らす"],
}
ADJECTIVES = ["大きな", "小さな", "白い", "黒い", "古い", "新しい", "若い", "速い"]
ADVERBS = ["ゆっくり", "すぐに", "また", "よく"]
OPENINGS = ["今日", "昨日", "朝", "夜"]
PARTICLES = ["が", "を"]
PUNCT = ["、", "。"]
ORDERS = ("scrambled", "sov")
SPECIALS = ["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"]
#: Probability of each optional part (an adjective per noun, an adverb, an opening).
P_ADJ, P_ADV, P_OPEN = 0.3, 0.3, 0.3

NOUN_CLASS = {n: c for c, ns in NOUNS.items() for n in ns}
VERB_CLASS = {v: c for c, vs in VERBS.items() for v in vs}


def _words() -> list[str]:
    out = []
    for group in (list(NOUN_CLASS), list(VERB_CLASS), ADJECTIVES, ADVERBS, OPENINGS, PARTICLES, PUNCT):
        out += [w for w in group if w not in out]
    return out


@dataclass(frozen=True)
class _Content:
    """What a sentence says, before its order is chosen."""

    subj: str
    obj: str
    verb: str
    subj_adj: str | None
    obj_adj: str | None
    adverb: str | None
    opening: str | None


def _draw(rng: random.Random) -> _Content:
    cls = rng.choice(sorted(NOUNS))
    subj = rng.choice(NOUNS[cls])
    obj = rng.choice([n for n in NOUN_CLASS if n != subj])
    verb = rng.choice(VERBS[cls])
    maybe = lambda p, options: rng.choice(options) if rng.random() < p else None  # noqa: E731
    return _Content(subj, obj, verb, maybe(P_ADJ, ADJECTIVES), maybe(P_ADJ, ADJECTIVES),
                    maybe(P_ADV, ADVERBS), maybe(P_OPEN, OPENINGS))


def _sentence(c: _Content, order: str, sent_id: str) -> Sentence:
    """The words, heads (1-based, 0 = root) and UD relations of ``c`` in ``order`` ("sov" or "osv")."""
    words: list[str] = []
    rels: list[str] = []
    links: list[Any] = []  # the head as a key: "verb", "subj", "obj", "open"

    def add(word: str, rel: str, head: str) -> None:
        words.append(word)
        rels.append(rel)
        links.append(head)

    def noun_phrase(noun: str, adj: str | None, particle: str, rel: str, key: str) -> None:
        if adj:
            add(adj, "amod", key)
        where[key] = len(words)
        add(noun, rel, "verb")
        add(particle, "case", key)

    where: dict[str, int] = {}
    if c.opening:
        where["open"] = len(words)
        add(c.opening, "obl", "verb")
        add("、", "punct", "open")
    phrases = [(c.subj, c.subj_adj, "が", "nsubj", "subj"), (c.obj, c.obj_adj, "を", "obj", "obj")]
    for phrase in (phrases if order == "sov" else phrases[::-1]):
        noun_phrase(*phrase)
    if c.adverb:
        add(c.adverb, "advmod", "verb")
    where["verb"] = len(words)
    add(c.verb, "root", "root")
    add("。", "punct", "verb")
    heads = [0 if key == "root" else where[key] + 1 for key in links]
    return _make_sentence(words, heads, rels, sent_id)


def _make_sentence(words: list[str], heads: list[int], relations: list[str], sent_id: str) -> Sentence:
    """A :class:`Sentence` whose text is the words joined by single spaces."""
    spans, pos = [], 0
    for w in words:
        spans.append((pos, pos + len(w)))
        pos += len(w) + 1
    return Sentence(words=list(words), heads=list(heads), relations=list(relations), text=" ".join(words),
                    spans=spans, sent_id=sent_id)


def _check_order(order: Any) -> None:
    if order not in ORDERS:
        raise AttentionError(f"order must be one of {ORDERS}, got {order!r}")


def _check_count(name: str, value: Any, minimum: int = 1) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise AttentionTypeError(f"{name} must be an integer, got {type(value).__name__}: {value!r}")
    if value < minimum:
        raise AttentionError(f"{name} must be at least {minimum}, got {value}")


def toy_corpus(order: str = "scrambled", n: int = 20000, seed: int = 0) -> list[Sentence]:
    """Sentences of the toy Japanese with their gold trees.

    Args:
        order: ``"scrambled"`` (each sentence SOV or OSV with probability 1/2) or ``"sov"`` (always SOV).
        n: how many sentences (duplicates allowed, as in any corpus).
        seed: the random seed; the same seed gives the same sentences (the SOV and
            scrambled corpora of one seed say the same things, in different orders).

    Returns:
        ``n`` :class:`~attn_utils.treebank.Sentence` objects, words separated by spaces in ``text``.
    """
    _check_order(order)
    _check_count("n", n)
    rng = random.Random(f"toy-corpus-{seed}")
    flip = random.Random(f"toy-order-{seed}")
    out = []
    for i in range(n):
        c = _draw(rng)
        osv = order == "scrambled" and flip.random() < 0.5
        out.append(_sentence(c, "osv" if osv else "sov", f"toy-{order}-{seed}-{i}"))
    return out


def held_out(n: int = 100, seed: int = 1000, exclude: Iterable[Sequence[Sentence]] = ()) -> list[Sentence]:
    """Test sentences in counterbalanced pairs: each content once in SOV and once in OSV.

    Args:
        n: how many pairs (``2 n`` sentences: SOV, OSV, SOV, OSV, ...).
        seed: the random seed (use one that no training corpus uses).
        exclude: corpora whose sentences must not appear: a pair is dropped when
            either of its texts occurs in any of them, and no content repeats.

    Returns:
        ``2 n`` sentences, never seen in the excluded corpora, no two alike.
    """
    _check_count("n", n)
    seen = {s.text for corpus in exclude for s in corpus}
    rng = random.Random(f"toy-held-out-{seed}")
    out: list[Sentence] = []
    used: set[str] = set()
    tries = 0
    while len(out) < 2 * n:
        tries += 1
        if tries > 100 * n + 1000:
            raise AttentionError(f"could not find {n} unseen sentence pairs; ask for fewer")
        c = _draw(rng)
        pair = [_sentence(c, o, f"toy-test-{seed}-{len(out) // 2}-{o}") for o in ("sov", "osv")]
        if any(s.text in seen or s.text in used for s in pair):
            continue
        used.update(s.text for s in pair)
        out += pair
    return out


def role_items(sentences: Sequence[Sentence]) -> list[RoleItem]:
    """:class:`~attn_utils.roles.RoleItem` per sentence, read from the gold tree.

    The verb is the ``root`` word, role A the ``nsubj`` noun (marked by が), role B the
    ``obj`` noun (marked by を): the nouns, not their particles (a head that attends to
    「を」 by identity would pass a particle-level test in both orders).
    """
    items = []
    for s in sentences:
        try:
            verb, a, b = (s.relations.index(r) for r in ("root", "nsubj", "obj"))
        except ValueError:
            raise AttentionError(f"{s!r} has no root, nsubj or obj word: not a sentence of the toy grammar") from None
        items.append(RoleItem(s.text, tuple(tuple(sp) for sp in s.spans), verb, a, b))
    return items


# --- the tokenizer ---------------------------------------------------------------------------


def toy_tokenizer(max_length: int = 32) -> Any:
    """A word-level ``PreTrainedTokenizerFast`` over the grammar's words.

    Splits on white space, adds ``[CLS]`` / ``[SEP]``, and has ``[PAD]``,
    ``[UNK]`` and ``[MASK]``; offsets point into the text, so every function of
    the package (``extract``, ``to_words``, ``syntax_heads``) works unchanged.
    """
    from tokenizers import Tokenizer, models, pre_tokenizers, processors
    from transformers import PreTrainedTokenizerFast

    vocab = {w: i for i, w in enumerate(SPECIALS + _words())}
    backend = Tokenizer(models.WordLevel(vocab=vocab, unk_token="[UNK]"))
    backend.pre_tokenizer = pre_tokenizers.WhitespaceSplit()
    backend.post_processor = processors.TemplateProcessing(
        single="[CLS] $A [SEP]", pair="[CLS] $A [SEP] $B:1 [SEP]:1",
        special_tokens=[("[CLS]", vocab["[CLS]"]), ("[SEP]", vocab["[SEP]"])])
    return PreTrainedTokenizerFast(
        tokenizer_object=backend, unk_token="[UNK]", pad_token="[PAD]", cls_token="[CLS]", sep_token="[SEP]",
        mask_token="[MASK]", model_max_length=max_length, clean_up_tokenization_spaces=False)


# --- training --------------------------------------------------------------------------------


@dataclass(frozen=True)
class TrainSettings:
    """Everything that decides a training run besides the corpus and the seed."""

    layers: int = 2
    heads: int = 4
    hidden: int = 64
    batch_size: int = 64
    lr: float = 3e-3
    warmup: int = 100
    mask_prob: float = 0.15
    verb_mask_prob: float = 0.5
    init_std: float = 0.02


def _build_model(tokenizer: Any, s: TrainSettings, seed: int) -> Any:
    """``BertForMaskedLM`` with eager attention and our own seeded initialisation (same in every transformers)."""
    import torch
    from transformers import AutoModelForMaskedLM, BertConfig

    config = BertConfig(vocab_size=len(tokenizer), hidden_size=s.hidden, num_hidden_layers=s.layers,
                        num_attention_heads=s.heads, intermediate_size=4 * s.hidden, max_position_embeddings=32,
                        type_vocab_size=2, hidden_dropout_prob=0.0, attention_probs_dropout_prob=0.0,
                        pad_token_id=tokenizer.pad_token_id, tie_word_embeddings=True)
    model = AutoModelForMaskedLM.from_config(config, attn_implementation="eager")
    with torch.no_grad():
        for name, p in model.named_parameters():
            if name.endswith("bias"):
                p.zero_()
            elif "LayerNorm" in name:
                p.fill_(1.0)
            else:  # one generator per parameter, seeded by its name: independent of the order of creation
                g = torch.Generator().manual_seed(seed * 1_000_003 + zlib.crc32(name.encode()))
                p.copy_(torch.randn(p.shape, generator=g, dtype=p.dtype) * s.init_std)
    model.tie_weights()
    return model


def _encode(tokenizer: Any, sentences: Sequence[Sentence]) -> tuple[Any, Any, Any]:
    """``(input_ids [sentence, token], attention_mask, verb position [sentence])`` padded to the longest."""
    import torch

    enc = tokenizer([s.text for s in sentences], padding=True, return_tensors="pt")
    verb = torch.tensor([s.relations.index("root") + 1 for s in sentences])  # + 1: [CLS]
    return enc["input_ids"], enc["attention_mask"], verb


def _snapshot(model: Any, tokenizer: Any, step: int, order: str, seed: int, losses: list[float],
              settings: TrainSettings) -> LoadedModel:
    m = copy.deepcopy(model).eval()
    tag = f"toy BERT ({order}, seed {seed})"
    random_note = ": RANDOM weights (untrained control)" if step == 0 else f", step {step}"
    return LoadedModel(m, tokenizer, name=tag, source="untrained" if step == 0 else "toy", loaded="trained here",
                       note="", meaningful=step > 0,
                       extra={"caption": tag + random_note, "step": step, "order": order, "seed": seed,
                              "losses": list(losses), "settings": settings})


def train_toy_bert(corpus: Sequence[Sentence], steps: int = 3000, seed: int = 0,
                   snapshots: Sequence[int] = (0, 50, 200, 1000), settings: TrainSettings | None = None,
                   progress: bool | None = None) -> list[LoadedModel]:
    """Train a tiny ``BertForMaskedLM`` on ``corpus`` with masked-language modelling.

    Each step draws ``batch_size`` sentences (a seeded shuffle, epoch by epoch), masks 15% of
    the words (80% ``[MASK]``, 10% a random word, 10% unchanged; Devlin et al. 2019) and, with
    probability ``verb_mask_prob``, also the verb; AdamW with a linear warm-up, then constant.
    One torch thread and deterministic algorithms during training (both restored afterwards),
    dropout off: the same seed gives the same weights on the same torch, whatever transformers.

    Args:
        corpus: sentences from :func:`toy_corpus`.
        steps: optimisation steps.
        seed: seeds the initial weights, the batches and the masks.
        snapshots: steps after which to keep a copy (0 = the initial RANDOM weights);
            the final step is always kept.
        settings: model size and optimiser (:class:`TrainSettings`).
        progress: a progress bar over the steps, as :func:`~attn_utils.extract.extract`:
            None shows a text bar only in a terminal, True forces one (a widget in Jupyter).

    Returns:
        one :class:`~attn_utils.models.LoadedModel` per snapshot step (sorted, the final one last);
        ``model`` is the ``BertForMaskedLM`` in eval mode, ``extra`` holds ``step``, ``order``,
        ``seed``, ``losses`` (the training loss of every step so far) and ``settings``.
    """
    import torch

    from .extract import _batches

    corpus = list(corpus)
    if not corpus or not all(isinstance(s, Sentence) for s in corpus):
        raise AttentionTypeError("train_toy_bert() takes a non-empty list of Sentence objects from toy_corpus()")
    _check_count("steps", steps)
    snaps = sorted(set(int(k) for k in snapshots) | {steps})
    if snaps[0] < 0 or snaps[-1] > steps:
        raise AttentionError(f"snapshots must lie in 0..steps={steps}, got {list(snapshots)}")
    settings = settings or TrainSettings()
    order = "scrambled" if any(s.relations.index("obj") < s.relations.index("nsubj") for s in corpus) else "sov"
    tokenizer = toy_tokenizer()
    ids, attn, verb = _encode(tokenizer, corpus)
    n, T = ids.shape
    lengths = attn.sum(1)
    special = torch.tensor(sorted(tokenizer.all_special_ids))
    first_word = len(SPECIALS)

    threads, deterministic = torch.get_num_threads(), torch.are_deterministic_algorithms_enabled()
    out: list[LoadedModel] = []
    losses: list[float] = []
    try:
        torch.set_num_threads(1)
        torch.use_deterministic_algorithms(True)
        model = _build_model(tokenizer, settings, seed)
        g = torch.Generator().manual_seed(seed + 7919)
        opt = torch.optim.AdamW(model.parameters(), lr=settings.lr, weight_decay=0.01)
        sched = torch.optim.lr_scheduler.LambdaLR(opt, lambda k: min(1.0, (k + 1) / settings.warmup))
        if 0 in snaps:
            out.append(_snapshot(model, tokenizer, 0, order, seed, losses, settings))
        model.train()
        perm, cursor = torch.randperm(n, generator=g), 0
        for step in _batches(steps, 1, progress, "train_toy_bert"):
            if cursor + settings.batch_size > n:
                perm, cursor = torch.randperm(n, generator=g), 0
            idx = perm[cursor:cursor + settings.batch_size]
            cursor += settings.batch_size
            width = int(lengths[idx].max())
            x, mask = ids[idx, :width].clone(), attn[idx, :width]
            real = (mask == 1) & ~torch.isin(x, special)
            chosen = (torch.rand(x.shape, generator=g) < settings.mask_prob) & real
            verb_hit = torch.rand(len(idx), generator=g) < settings.verb_mask_prob
            chosen[torch.arange(len(idx))[verb_hit], verb[idx][verb_hit]] = True
            labels = torch.where(chosen, x, torch.full_like(x, -100))
            roll = torch.rand(x.shape, generator=g)
            swap = torch.randint(first_word, len(tokenizer), x.shape, generator=g)
            x = torch.where(chosen & (roll < 0.8), torch.full_like(x, tokenizer.mask_token_id), x)
            x = torch.where(chosen & (roll >= 0.8) & (roll < 0.9), swap, x)
            loss = model(input_ids=x, attention_mask=mask, labels=labels).loss
            opt.zero_grad()
            loss.backward()
            opt.step()
            sched.step()
            losses.append(loss.item())
            if step + 1 in snaps:
                out.append(_snapshot(model, tokenizer, step + 1, order, seed, losses, settings))
                model.train()
    finally:
        torch.set_num_threads(threads)
        torch.use_deterministic_algorithms(deterministic)
    return out


# --- measuring -------------------------------------------------------------------------------


def verb_accuracy(lm: LoadedModel, sentences: Sequence[Sentence], batch_size: int = 256) -> dict[str, float]:
    """Mask the verb of each sentence and read the model's top prediction.

    Returns:
        ``{"exact": share of exact verbs, "class": share of verbs of the right class
        (the class the subject allows), "n": sentences}``. Exact accuracy has a ceiling:
        within its class the verb is drawn uniformly, so no model can beat ``1 / 4`` on average.
    """
    import torch

    sentences = list(sentences)
    if not sentences:
        raise AttentionError("verb_accuracy() needs at least one sentence")
    vocab = lm.tokenizer.convert_ids_to_tokens(list(range(len(lm.tokenizer))))
    exact = klass = 0
    for start in range(0, len(sentences), batch_size):
        chunk = sentences[start:start + batch_size]
        ids, attn, verb = _encode(lm.tokenizer, chunk)
        rows = torch.arange(len(chunk))
        gold = ids[rows, verb].clone()
        ids[rows, verb] = lm.tokenizer.mask_token_id
        with torch.inference_mode():
            logits = lm.model(input_ids=ids.to(lm.device), attention_mask=attn.to(lm.device)).logits  # [sentence, token, vocab]
        pred = logits[rows, verb].argmax(-1).cpu()
        for p, gd in zip(pred.tolist(), gold.tolist()):
            exact += p == gd
            klass += VERB_CLASS.get(vocab[p]) == VERB_CLASS[vocab[gd]]
    return {"exact": exact / len(sentences), "class": klass / len(sentences), "n": len(sentences)}


def role_heads(effects: Any, r_min: float = 0.3, p_max: float = 0.1) -> np.ndarray:
    """``[layer, head]`` mask of role heads: the が-noun gets at least ``r_min`` more than the を-noun
    in **both** orders (SOV and OSV means), and the position effect stays within ``±p_max``.

    Args:
        effects: :class:`~attn_utils.roles.RoleEffects` of a counterbalanced set.
    """
    first, second = effects.by_order()
    return (first >= r_min) & (second >= r_min) & (np.abs(effects.P) <= p_max)


def syntax_best(lm: LoadedModel, test: Sequence[Sentence], relations: Sequence[str] = ("nsubj", "obj")
                ) -> dict[str, dict[str, Any]]:
    """The best head per relation by :func:`~attn_utils.syntax.syntax_heads` on the gold trees, and the
    best fixed offset (:func:`~attn_utils.syntax.syntax_baseline`) on the same sentences.

    Returns:
        ``{relation: {"accuracy", "layer", "head", "direction", "baseline", "offset"}}``.
    """
    from .syntax import syntax_baseline, syntax_heads

    table = syntax_heads(lm, list(test), progress=False)["accuracy"]
    base = syntax_baseline(list(test))
    out = {}
    for rel in relations:
        part = table.xs(rel, level="relation")
        (direction, layer, head), acc = part.idxmax(), part.max()
        out[rel] = {"accuracy": round(float(acc), 6), "layer": int(layer), "head": int(head),
                    "direction": str(direction), "baseline": round(float(base.loc[rel, "accuracy"]), 6),
                    "offset": int(base.loc[rel, "offset"])}
    return out


def measure(lm: LoadedModel, test: Sequence[Sentence], r_min: float = 0.3, p_max: float = 0.1) -> dict[str, Any]:
    """The numbers the seed study records for one model, on held-out pairs (:func:`held_out`).

    The verb is **visible** (the sentence as written) and the nouns are the words measured.

    Returns:
        a dict: ``R`` / ``P`` (``[layer][head]`` lists, verb -> noun), ``best`` (layer, head) by R,
        ``R_best`` / ``P_best`` / ``R_sov`` / ``R_osv`` there, ``R_both`` (the largest, over heads, of the
        smaller of the SOV and OSV means: > 0 only for a head that prefers the が-noun in both orders),
        ``R_nv_best`` (noun -> verb: the largest R), ``P_abs_max`` (the largest |P| of any head),
        ``role_heads`` (how many heads pass :func:`role_heads`), ``verb_sov`` / ``verb_osv``
        (:func:`verb_accuracy` on each order).
    """
    test = list(test)
    items = role_items(test)
    eff = role_position(lm, items, direction="verb->noun")
    nv = role_position(lm, items, direction="noun->verb")
    R, P = eff.R, eff.P
    first, second = eff.by_order()
    best = np.unravel_index(int(np.argmax(R)), R.shape)
    sov = [s for s, i in zip(test, items) if not i.a_is_second]
    osv = [s for s, i in zip(test, items) if i.a_is_second]
    r6 = lambda x: round(float(x), 6)  # noqa: E731
    return {
        "R": np.round(R, 6).tolist(), "P": np.round(P, 6).tolist(),
        "best": [int(best[0]), int(best[1])], "R_best": r6(R[best]), "P_best": r6(P[best]),
        "R_sov": r6(first[best]), "R_osv": r6(second[best]), "R_both": r6(np.minimum(first, second).max()),
        "R_nv_best": r6(nv.R.max()), "P_abs_max": r6(np.abs(P).max()),
        "role_heads": int(role_heads(eff, r_min, p_max).sum()),
        "verb_sov": verb_accuracy(lm, sov), "verb_osv": verb_accuracy(lm, osv),
    }


# --- the seed study --------------------------------------------------------------------------

#: The seed study's settings (``make toy-seeds``); notebook 07 re-runs seed 0 with the same ones.
STUDY = {"n": 20000, "steps": 3000, "test_pairs": 100, "test_seed": 1000, "r_min": 0.3, "p_max": 0.1}
SEEDS_FILE = "toy_seeds.json"
#: Steps at which the seed study records how far each run has come.
TRAJECTORY = (500, 1000, 1500, 2000, 2500, 3000)


def study_test(seed: int = 0) -> list[Sentence]:
    """The held-out pairs of the study: unseen by both corpora of ``seed``."""
    corpora = [toy_corpus(o, STUDY["n"], seed) for o in ORDERS]
    return held_out(STUDY["test_pairs"], STUDY["test_seed"], exclude=corpora)


def seed_run(order: str, seed: int, snapshots: Sequence[int] = (), progress: bool | None = None
             ) -> tuple[dict[str, Any], list[LoadedModel]]:
    """One row of the seed study (and the models it trained): train on ``order`` with ``seed``, measure.

    The row holds :func:`measure` and :func:`syntax_best` of the final model, the mean loss of the
    last 100 steps, and a ``trajectory`` (``R_both`` and verb-class accuracy at :data:`TRAJECTORY`).
    ``snapshots`` adds steps to the returned models (the trajectory's steps are always among them).
    """
    corpus = toy_corpus(order, STUDY["n"], seed)
    test = study_test(seed)
    snaps = sorted(set(snapshots) | set(TRAJECTORY))
    models = train_toy_bert(corpus, steps=STUDY["steps"], seed=seed, snapshots=snaps, progress=progress)
    row = {"order": order, "seed": seed, **measure(models[-1], test, STUDY["r_min"], STUDY["p_max"])}
    row["syntax"] = syntax_best(models[-1], test)
    row["final_loss"] = round(float(np.mean(models[-1].extra["losses"][-100:])), 6)
    trajectory = []
    for lm in models:
        if lm.extra["step"] in TRAJECTORY:
            m = measure(lm, test, STUDY["r_min"], STUDY["p_max"])
            trajectory.append({"step": lm.extra["step"], "R_both": m["R_both"], "role_heads": m["role_heads"],
                               "class": round((m["verb_sov"]["class"] + m["verb_osv"]["class"]) / 2, 6)})
    row["trajectory"] = trajectory
    return row, models


def seed_study(seeds: Sequence[int] = range(5), orders: Sequence[str] = ORDERS,
               progress: bool | None = None) -> dict[str, Any]:
    """Train one model per order and seed with :data:`STUDY` and measure each (``make toy-seeds``)."""
    import torch
    import transformers

    rows = []
    for order in orders:
        for seed in seeds:
            rows.append(seed_run(order, seed, progress=progress)[0])
            print(f"{order} seed {seed}: R_best={rows[-1]['R_best']:+.3f} P_best={rows[-1]['P_best']:+.3f} "
                  f"role heads={rows[-1]['role_heads']}", flush=True)
    return {"settings": {**STUDY, **TrainSettings().__dict__}, "torch": torch.__version__,
            "transformers": transformers.__version__, "rows": rows}


def row_differences(saved: Any, live: Any, atol: float = 1e-6, where: str = "row") -> list[str]:
    """Where two study rows (nested dicts / lists of numbers and strings) differ by more than ``atol``.

    Returns:
        one line per difference (``"row['R'][1][3]: 0.98 != 0.97"``); empty when they agree.
    """
    if isinstance(saved, dict) and isinstance(live, dict):
        if set(saved) != set(live):
            return [f"{where}: keys {sorted(saved)} != {sorted(live)}"]
        return [d for k in saved for d in row_differences(saved[k], live[k], atol, f"{where}[{k!r}]")]
    if isinstance(saved, (list, tuple)) and isinstance(live, (list, tuple)):
        if len(saved) != len(live):
            return [f"{where}: {len(saved)} items != {len(live)}"]
        return [d for i, (a, b) in enumerate(zip(saved, live)) for d in row_differences(a, b, atol, f"{where}[{i}]")]
    numbers = (int, float, np.integer, np.floating)
    if isinstance(saved, numbers) and isinstance(live, numbers) and not isinstance(saved, bool):
        return [] if abs(float(saved) - float(live)) <= atol else [f"{where}: {saved} != {live}"]
    return [] if saved == live else [f"{where}: {saved!r} != {live!r}"]


def load_seed_study(path: str | Path | None = None) -> dict[str, Any]:
    """The results file of ``make toy-seeds`` (shipped as ``attn_utils/data/toy_seeds.json``)."""
    if path is None:
        text = resources.files("attn_utils.data").joinpath(SEEDS_FILE).read_text(encoding="utf-8")
    else:
        text = Path(path).read_text(encoding="utf-8")
    return json.loads(text)


def _main(argv: Sequence[str] | None = None) -> None:
    import argparse

    parser = argparse.ArgumentParser(description="The toy BERT seed study of notebook 07 (make toy-seeds).")
    parser.add_argument("--seeds", type=int, default=5, help="seeds 0..N-1 per corpus")
    parser.add_argument("--out", default=str(Path(__file__).parent / "data" / SEEDS_FILE))
    args = parser.parse_args(argv)
    result = seed_study(range(args.seeds))
    Path(args.out).write_text(json.dumps(result, ensure_ascii=False, indent=1) + "\n", encoding="utf-8")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    _main()
