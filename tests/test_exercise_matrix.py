"""The wrong-answer matrix of every self-check (「練習」): a table of what students write.

For each check in ``ex.CHECKS`` the table holds
- at least five plausible WRONG answers (off-by-one or 1-based layers, transposed maps,
  the wrong axis, a forgotten scale, log2, global instead of row-wise, printed numbers
  typed in, the right numbers in the wrong order, near misses such as an entropy off by
  2e-3 or Clark's smoothed entropy), each rejected with the hint meant for that mistake
  (asserted on a distinctive part of the message);
- at least three RIGHT answers in other forms (numpy, torch, pandas, lists, dicts, scipy,
  positions or labels), each accepted;
- MALFORMED input (a function that returns None or raises, the wrong type or shape, an
  Axes for a Figure, layers out of range) answered with a Japanese message, never a raw
  Python exception; and the placeholders (None, ..., an empty guess) answered with a note.

The data are the notebooks' own objects: the offline MiniLM's attention for English
("The dog chased the cat", the notebooks' longer sentences), the real v3 tokenizer and
the bundled treebanks; hand-built Attention objects where a notebook uses a Japanese model; for
notebook 07 the toy corpora of attn_utils.toy (900 sentences per order), hand-set RoleEffects and the
effects of a toy BERT trained for 12 steps (a few seconds).
"""
from __future__ import annotations

import re
from fractions import Fraction
from functools import cached_property

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
import pytest  # noqa: E402
import scipy.special  # noqa: E402
import scipy.stats  # noqa: E402
import torch  # noqa: E402

import attn_utils as au  # noqa: E402
from attn_utils import exercises as ex  # noqa: E402
from attn_utils.exercises import checks  # noqa: E402

JAPANESE = re.compile(r"[ぁ-んァ-ヶ一-龥]")
TOKENS01 = ["The", "dog", "chased", "the", "cat"]
LONG = "The quick brown fox jumps over the lazy dog near the old river bank"
SPLIT_TEXT = "The archaeologists uncovered an extraordinarily well-preserved mosaic."
MASK_TEXT = "The old dog slowly chased the small black cat"
JA_TEXT = "昨日、祖母が手作りのマフィンを焼いてくれた。"


def attention(tokens, layers=4, heads=4, seed=0, peak=1.0):
    rng = np.random.default_rng(seed)
    w = rng.dirichlet(np.ones(len(tokens)) * peak, size=(layers, heads, len(tokens)))
    return au.Attention(list(tokens), w)


class Ctx:
    """The data every check needs, built once (lazily) from the offline MiniLM and the bundled files."""

    def __init__(self, minilm):
        self.lm = minilm
        self._flips = {}

    # --- notebook 01 ---
    @cached_property
    def qk(self):
        X = np.array([[0, 0, 1, .9], [1, 0, 0, .7], [0, 1, 0, .5], [0, 0, 1, .3], [1, 0, 0, .1]], dtype=float)
        W_Q = np.array([[0, 0], [2, 1], [1, 0], [0, 0]], dtype=float)
        W_K = np.array([[2, 0], [0, 0], [0, 0], [0, 1]], dtype=float)
        return X @ W_Q, X @ W_K, X

    @property
    def mask_kw(self):
        Q, K, _ = self.qk
        return dict(tokens=TOKENS01, Q=Q, K=K)

    @cached_property
    def article_mask(self):
        art = np.array([t.lower() == "the" for t in TOKENS01])
        return np.tile(~art, (5, 1))

    def sdp(self, mask=None, scale=True):
        Q, K, X = self.qk
        return au.scaled_dot_product(Q, K, X, mask=mask, scale=scale)

    @cached_property
    def scaling(self):
        s, _ = au.recompute_attention(self.lm, "The dog chased the cat")
        u, _ = au.recompute_attention(self.lm, "The dog chased the cat", scale=False)
        s, u = np.asarray(s, float), np.asarray(u, float)
        return s, u, checks.row_entropy(s).mean(-1), checks.row_entropy(u).mean(-1)

    # --- notebook 02 / 03 ---
    @cached_property
    def att(self):
        return au.extract(self.lm, "The dog chased the cat")

    @cached_property
    def att_long(self):
        return au.extract(self.lm, LONG)

    @cached_property
    def att_swap(self):
        return au.extract(self.lm, "The cat chased the dog")

    @cached_property
    def stats(self):
        return au.head_stats(self.lm, ["The dog chased the cat.", "A bird sang in the old tree.", LONG], progress=False)

    @cached_property
    def split(self):
        pieces = au.extract(self.lm, SPLIT_TEXT)
        return pieces, pieces.to_words()

    # --- notebook 04 ---
    @cached_property
    def v3(self):
        return au.load_tokenizer("tohoku-nlp/bert-base-japanese-v3")

    @cached_property
    def words_ja(self):
        """Word-level attention of 「今日、犬が猫を追う」 built so that every slip gives a different word:
        in the last layer (head mean) を looks most at itself, then [CLS], then 猫 (the answer); head 0 alone
        prefers 犬, layer 0 prefers 今日, and the column of を (who looks at it) peaks at 追う."""
        tokens = ["[CLS]", "今日", "、", "犬", "が", "猫", "を", "追う", "[SEP]"]
        w = attention(tokens, layers=3, heads=4, seed=7).weights.copy()
        n, q = len(tokens), 6

        def row(peaks):
            r = np.full(n, 0.02)
            for j, v in peaks.items():
                r[j] = v
            return r / r.sum()

        w[-1, :, q] = row({6: 0.40, 0: 0.30, 5: 0.20, 3: 0.05})
        w[-1, 0, q] = row({6: 0.25, 0: 0.20, 3: 0.40, 5: 0.05})
        w[0, :, q] = row({1: 0.50, 5: 0.10})
        w[-1, :, :, q] = 0.01
        w[-1, :, 7, q] = 0.6
        w[-1, :, q] = np.stack([row({6: 0.40, 0: 0.30, 5: 0.20, 3: 0.05})] * 4)
        w[-1, 0, q] = row({6: 0.30, 0: 0.10, 3: 0.45, 5: 0.05})
        w[-1] /= w[-1].sum(-1, keepdims=True)
        return au.Attention(tokens, w)

    @cached_property
    def order_atts(self):
        return {"今日、犬が猫を追う": attention(["[CLS]", "今日", "、", "犬", "が", "猫", "を", "追う", "[SEP]"], seed=1),
                "今日、猫を犬が追う": attention(["[CLS]", "今日", "、", "猫", "を", "犬", "が", "追う", "[SEP]"], seed=2)}

    def order_flip(self, d1=-0.1234, d2=0.0917):
        """The two sentences of 04 練習 4 with head (2, 1) of 追う set so that 追う→犬 − 追う→猫 = d1, d2 (the other
        heads random, so the head mean, another head or the column each give different numbers)."""
        key = (d1, d2)
        if key not in self._flips:
            atts = {}
            for text, base in self.order_atts.items():
                w = base.weights.astype(np.float64).copy()
                toks = base.tokens
                q, i_a, i_b = toks.index("追う"), toks.index("犬"), toks.index("猫")
                d = d1 if text.startswith("今日、犬") else d2
                row = np.full(len(toks), 0.05)
                row[i_a], row[i_b] = 0.25 + d / 2, 0.25 - d / 2
                row[q] = 0.0
                row[q] = 1 - row.sum()
                w[2, 1, q] = row
                atts[text] = au.Attention(toks, w)
            self._flips[key] = atts
        return self._flips[key]

    @cached_property
    def entropy_pair(self):
        trained = attention(["[CLS]", "昨日", "犬", "が", "公園", "で", "猫", "を", "追いかけ", "た", "[SEP]"], seed=3, peak=0.2)
        untrained = attention(trained.tokens, seed=4, peak=30.0)
        norm = lambda a: checks.row_entropy(np.asarray(a.weights, float)).mean() / np.log(len(a))  # noqa: E731
        return trained, untrained, norm(trained), norm(untrained)

    # --- notebook 05 ---
    @cached_property
    def norms(self):
        return au.norm_attention(self.lm, "The dog chased the cat")

    @cached_property
    def masking(self):
        table = au.token_ablation(self.lm, MASK_TEXT, "chased")
        return float(table.loc["cat", "change"])

    @cached_property
    def hidden(self):
        """``(h, h_masked, h_replaced)`` in float64 for the masking answers (three forward passes, done once)."""
        from attn_utils.exercises.checks_further import _hidden_pair

        return tuple(v.double() for v in _hidden_pair(self.lm, MASK_TEXT, "chased", "cat"))

    @cached_property
    def examples(self):
        return au.load_probe_set()

    # --- notebook 06 ---
    @cached_property
    def en(self):
        return au.load_treebank("en_ewt")

    @cached_property
    def ja(self):
        return au.load_treebank("ja_gsd")

    @cached_property
    def example(self):
        return next(s for s in self.en if 8 <= len(s) <= 11 and {"det", "nsubj", "obj"} <= set(s.relations))

    # --- notebook 07 (the toy Japanese of attn_utils.toy) ---
    @cached_property
    def toy_corpora(self):
        from attn_utils import toy

        return {order: toy.toy_corpus(order, 900, seed=0) for order in toy.ORDERS}  # scrambled: 433/900

    @cached_property
    def toy_effects(self):
        """Hand-set RoleEffects ``[20 sentences, 2 layers, 4 heads]``, half of them OSV (a_is_second), so that
        every slip below gives a number of its own."""
        from attn_utils import roles

        rng = np.random.default_rng(0)
        role = rng.normal(0.1, 0.3, size=(20, 2, 4))
        role[:, 1, 3] += np.where(np.arange(20) % 2 == 1, 0.35, 0.05)  # a head with both an R and a P
        second = np.arange(20) % 2 == 1
        return roles.RoleEffects(role, np.where(second[:, None, None], role, -role), np.abs(role) + 0.1, second, "verb->noun")

    @cached_property
    def toy_trained_effects(self):
        """The effects of a toy BERT trained for a few steps on the scrambled corpus: the notebook's own object."""
        from attn_utils import toy
        from attn_utils.roles import role_position

        lm = toy.train_toy_bert(self.toy_corpora["scrambled"], steps=12, seed=0, snapshots=[12], progress=False)[-1]
        test = toy.held_out(12, seed=5, exclude=self.toy_corpora.values())
        return role_position(lm, toy.role_items(test), direction="verb->noun")


@pytest.fixture(scope="module")
def ctx(minilm):
    return Ctx(minilm)


# ================================ the reference answers and the common mistakes ================================


def softmax_np(s):
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def softmax_torch_only(s):  # .max(dim=..., keepdim=...) and .values exist on tensors only
    m = s.max(dim=-1, keepdim=True).values
    e = (s - m).exp()
    return e / e.sum(dim=-1, keepdim=True)


def forgot_return(*args):
    result = [np.asarray(a, dtype=float) * 2 if not isinstance(a, (int, float)) else a for a in args]
    result = result[0]  # noqa: F841 - computed, never returned


def placeholder(*args):
    """scores: (query, key) → ..."""
    # ここにコードを書く
    ...


def split_np(M, h):
    T, d_model = M.shape
    return M.reshape(T, h, d_model // h).transpose(1, 0, 2)


def merge_np(H):
    h, T, d = H.shape
    return H.transpose(1, 0, 2).reshape(T, h * d)


def split_permute(M, h):  # torch only: .permute
    T, d_model = M.shape
    return M.reshape(T, h, d_model // h).permute(1, 0, 2)


def merge_permute(H):
    h, T, d = H.shape
    return H.permute(1, 0, 2).reshape(T, h * d)


def split_transpose01(M, h):  # torch's transpose(0, 1): a ValueError on numpy, retried with tensors
    T, d_model = M.shape
    return M.reshape(T, h, d_model // h).transpose(0, 1)


def merge_transpose01(H):
    h, T, d = H.shape
    return H.transpose(0, 1).reshape(T, h * d)


def dot_std_np(d, n=20000):
    rng = np.random.default_rng()
    q, k = rng.normal(size=(n, d)), rng.normal(size=(n, d))
    return (q * k).sum(axis=-1).std()


def dot_std_torch(d):
    q, k = torch.randn(20000, d), torch.randn(20000, d)
    return (q * k).sum(-1).std()


def dot_std_rng(d, rng):
    q, k = rng.standard_normal((8000, d)), rng.standard_normal((8000, d))
    return float(np.std(np.einsum("nd,nd->n", q, k)))


def entropy_np(w):
    return -(w * np.log(np.where(w > 0, w, 1.0))).sum(-1).mean(-1)


def rollout_np(w, r):
    n = w.shape[-1]
    out = np.eye(n)
    for layer in w:
        a = (1 - r) * layer.mean(0) + r * np.eye(n)
        out = (a / a.sum(-1, keepdims=True)) @ out
    return out


def rollout_torch(w, r):
    w = torch.as_tensor(w)
    n = w.shape[-1]
    out = torch.eye(n, dtype=w.dtype)
    for layer in w:
        a = (1 - r) * layer.mean(0) + r * torch.eye(n, dtype=w.dtype)
        out = (a / a.sum(-1, keepdim=True)) @ out
    return out


def head_acc(m, heads):
    m = np.array(m, dtype=float)
    np.fill_diagonal(m, -np.inf)
    heads = np.array(heads)
    keep = heads > 0
    return float((m.argmax(-1) + 1 == heads)[keep].mean())


def head_acc_torch(m, heads):
    m = torch.as_tensor(np.array(m, dtype=float))
    m = m.masked_fill(torch.eye(len(m), dtype=torch.bool), float("-inf"))
    h = torch.as_tensor(heads)
    keep = h > 0
    return ((m.argmax(-1) + 1 == h)[keep]).float().mean()


def head_acc_loop(m, heads):
    hits = total = 0
    for i, h in enumerate(heads):
        if h == 0:
            continue
        row = [v if j != i else -1 for j, v in enumerate(m[i])]
        total += 1
        hits += int(np.argmax(row) + 1 == h)
    return hits / total


def offsets_by_hand(sentences, relation, offsets, clip=True):
    hits, total = {k: 0 for k in offsets}, 0
    for s in sentences:
        n = len(s.heads)
        for i, (h, r) in enumerate(zip(s.heads, s.relations), start=1):
            if r.split(":")[0] == relation:
                total += 1
                for k in offsets:
                    pred = max(0, min(i + k, n)) if clip else i + k
                    hits[k] += h == pred
    return {k: hits[k] / total for k in offsets}


def prev_share(w):
    n = w.shape[-1]
    return (w[:, :, 1:, :].argmax(-1) == np.arange(n - 1)).mean(-1)


def best_of(values):
    return tuple(int(i) for i in np.unravel_index(np.argmax(values), values.shape))


def cls_share(att):
    return att.weights[..., att.position("[CLS]")].mean(-1)


def pair_best(att, q, k):
    return au.strongest_head(att.pair(q, k))[:2]


def word_row(ctx):
    pieces, words = ctx.split
    return pieces.frame(0, 0).loc["uncovered", ["extra", "##ord", "##ina", "##rily"]]


def top_key_scores(att, layer=-1, head=11):
    return att.weights[layer, head, att.position("chased")]


def particle_row(words, layer=-1, self_ok=False, specials_ok=False, head=None):
    q = words.position("を")
    row = (words.weights[layer, :, q].mean(0) if head is None else words.weights[layer, head, q]).astype(float).copy()
    for i, t in enumerate(words.tokens):
        if (i == q and not self_ok) or (t in ("[CLS]", "[SEP]") and not specials_ok):
            row[i] = -np.inf
    return row


def order_shares(atts, a="犬", b="猫"):
    return {t: float((x.pair("追う", a) > x.pair("追う", b)).to_numpy().mean()) for t, x in atts.items()}


def heatmap(att, layer, head, kind="imshow"):
    w = att.weights[layer, head]
    if kind == "plot_heatmap":
        return au.plot_heatmap(att, layer, head)
    fig, ax = plt.subplots()
    if kind == "imshow":
        ax.imshow(w)
    elif kind == "pcolormesh":
        ax.pcolormesh(w)
    elif kind == "matshow":
        ax.matshow(w)
    elif kind == "transposed":
        ax.imshow(w.T)
    return fig


# ======================================== the table ========================================
# (check, kind, id, build(ctx) -> (args, kwargs), fragment the message (or printed note) must contain)
# kind: "right" (prints ✅), "wrong" (ExerciseError with the mistake's hint), "malformed" (ExerciseError in
# Japanese that says what was expected), "note" (prints a note: NOT_YET or GUESS_FIRST, nothing fails).

C = []


def add(check, kind, case_id, build, fragment=""):
    C.append(pytest.param(check, kind, build, fragment, id=f"{check}-{kind}-{case_id}"))


# --- check_softmax ---
S = "check_softmax"
add(S, "right", "numpy", lambda c: ((softmax_np,), {}))
add(S, "right", "scipy-axis", lambda c: ((lambda s: scipy.special.softmax(s, axis=-1),), {}))
add(S, "right", "torch-softmax", lambda c: ((lambda s: torch.softmax(torch.as_tensor(s), dim=-1),), {}))
add(S, "right", "torch-only-function", lambda c: ((softmax_torch_only,), {}))
add(S, "right", "float32", lambda c: ((lambda s: softmax_np(s.astype(np.float32)),), {}))
add(S, "wrong", "no-max", lambda c: ((lambda s: np.exp(s) / np.exp(s).sum(-1, keepdims=True),), {}), "各行の最大値を引いていない")
add(S, "wrong", "global-max", lambda c: ((lambda s: np.exp(s - s.max()) / np.exp(s - s.max()).sum(-1, keepdims=True),), {}),
    "全体の最大値")
add(S, "wrong", "axis0", lambda c: ((lambda s: np.exp(s - s.max(-1, keepdims=True)) / np.exp(s - s.max(-1, keepdims=True))
                                     .sum(0, keepdims=True),), {}), "axis=0")
add(S, "wrong", "global-sum", lambda c: ((lambda s: np.exp(s - s.max(-1, keepdims=True)) / np.exp(s - s.max(-1, keepdims=True))
                                          .sum(),), {}), "全体の和")
add(S, "wrong", "scipy-no-axis", lambda c: ((lambda s: scipy.special.softmax(s),), {}), "全体の和")
add(S, "wrong", "sum-no-keepdims", lambda c: ((lambda s: np.exp(s - s.max(-1, keepdims=True)) / np.exp(s - s.max(-1, keepdims=True))
                                               .sum(-1),), {}), "keepdims")
add(S, "wrong", "not-normalised", lambda c: ((lambda s: np.exp(s - s.max(-1, keepdims=True)),), {}), "和で割っていません")
add(S, "wrong", "log-softmax", lambda c: ((lambda s: np.log(softmax_np(s)),), {}), "log")
add(S, "malformed", "forgot-return", lambda c: ((forgot_return,), {}), "return を書き忘れていませんか")
add(S, "malformed", "raises", lambda c: ((lambda s: 1 / 0,), {}), "エラーになりました: ZeroDivisionError")
add(S, "malformed", "not-a-function", lambda c: ((np.zeros((2, 2)),), {}), "関数")
add(S, "malformed", "first-row-only", lambda c: ((lambda s: softmax_np(s)[0],), {}), "形が違います")
add(S, "malformed", "returns-text", lambda c: ((lambda s: "softmax",), {}), "文字列")
add(S, "note", "placeholder-function", lambda c: ((placeholder,), {}), ex.NOT_YET)
add(S, "note", "None", lambda c: ((None,), {}), ex.NOT_YET)

# --- check_article_mask ---
S = "check_article_mask"
add(S, "right", "bool", lambda c: ((c.article_mask, c.sdp(c.article_mask)[1]), c.mask_kw))
add(S, "right", "int01", lambda c: ((c.article_mask.astype(int), c.sdp(c.article_mask)[1]), c.mask_kw))
add(S, "right", "torch", lambda c: ((torch.as_tensor(c.article_mask), torch.as_tensor(c.sdp(c.article_mask)[1])), c.mask_kw))
add(S, "right", "dataframe", lambda c: ((pd.DataFrame(c.article_mask, index=TOKENS01, columns=TOKENS01),
                                         pd.DataFrame(c.sdp(c.article_mask)[1])), c.mask_kw))
add(S, "right", "key-vector", lambda c: ((c.article_mask[0], c.sdp(c.article_mask[0])[1]), c.mask_kw))
add(S, "right", "zero-then-renormalise", lambda c: ((c.article_mask, (lambda w: w / w.sum(-1, keepdims=True))(
    np.where(c.article_mask, c.sdp()[1], 0))), c.mask_kw))
add(S, "wrong", "inverted", lambda c: ((~c.article_mask, c.sdp(c.article_mask)[1]), c.mask_kw), "True と False が逆")
add(S, "wrong", "rows-hidden", lambda c: ((c.article_mask.T, c.sdp(c.article_mask)[1]), c.mask_kw), "行 (query) を隠しています")
add(S, "wrong", "rows-and-columns", lambda c: ((c.article_mask & c.article_mask.T, c.sdp(c.article_mask)[1]), c.mask_kw),
    "冠詞の行まで")
add(S, "wrong", "capital-The-only", lambda c: ((np.tile(np.array([t != "The" for t in TOKENS01]), (5, 1)),
                                                c.sdp(c.article_mask)[1]), c.mask_kw), "大文字の The と小文字の the")
add(S, "wrong", "unmasked-weights", lambda c: ((c.article_mask, c.sdp()[1]), c.mask_kw), "mask=mask を au.scaled_dot_product")
add(S, "wrong", "zeroed-after-softmax", lambda c: ((c.article_mask, np.where(c.article_mask, c.sdp()[1], 0)), c.mask_kw),
    "スコアを -inf にしてから softmax")
add(S, "wrong", "no-scale", lambda c: ((c.article_mask, c.sdp(c.article_mask, scale=False)[1]), c.mask_kw), "√d で割っていません")
add(S, "wrong", "transposed-weights", lambda c: ((c.article_mask, c.sdp(c.article_mask)[1].T), c.mask_kw), "転置")
add(S, "wrong", "output-not-weights", lambda c: ((c.article_mask, c.sdp(c.article_mask)[0]), c.mask_kw), "(出力, 重み)")
add(S, "malformed", "mask-wrong-shape", lambda c: ((np.ones((3, 3), bool), c.sdp(c.article_mask)[1]), c.mask_kw), "形が違います")
add(S, "malformed", "mask-of-halves", lambda c: ((np.full((5, 5), 0.5), c.sdp(c.article_mask)[1]), c.mask_kw), "True/False")
add(S, "malformed", "mask-strings", lambda c: (([["x"] * 5] * 5, c.sdp(c.article_mask)[1]), c.mask_kw), "数値の配列として読め")
add(S, "note", "w-None", lambda c: ((c.article_mask, None), c.mask_kw), ex.NOT_YET)

# --- check_split_merge ---
S = "check_split_merge"
add(S, "right", "numpy", lambda c: ((split_np, merge_np), {}))
add(S, "right", "torch-permute", lambda c: ((split_permute, merge_permute), {}))
add(S, "right", "torch-transpose", lambda c: ((split_transpose01, merge_transpose01), {}))
add(S, "right", "np-split-list", lambda c: ((lambda M, h: np.split(M, h, axis=1), lambda H: np.concatenate(list(H), axis=-1)), {}))
add(S, "right", "swapaxes", lambda c: ((lambda M, h: np.swapaxes(M.reshape(M.shape[0], h, -1), 0, 1),
                                        lambda H: np.swapaxes(H, 0, 1).reshape(H.shape[1], -1)), {}))
add(S, "wrong", "reshape-only", lambda c: ((lambda M, h: M.reshape(h, M.shape[0], -1), merge_np), {}), "トークンと次元が混ざります")
add(S, "wrong", "no-transpose", lambda c: ((lambda M, h: M.reshape(M.shape[0], h, -1), merge_np), {}), "transpose(1, 0, 2) で (h, T")
add(S, "wrong", "interleaved", lambda c: ((lambda M, h: M.reshape(M.shape[0], -1, h).transpose(2, 0, 1), merge_np), {}),
    "飛び飛びの列")
add(S, "wrong", "axes-order", lambda c: ((lambda M, h: M.reshape(M.shape[0], h, -1).transpose(1, 2, 0), merge_np), {}),
    "軸の順番")
add(S, "wrong", "merge-no-transpose", lambda c: ((split_np, lambda H: H.reshape(H.shape[1], -1)), {}), "transpose(1, 0, 2) で (T, h")
add(S, "wrong", "merge-axes", lambda c: ((split_np, lambda H: H.transpose(1, 2, 0).reshape(H.shape[1], -1)), {}), "軸の戻し方")
add(S, "wrong", "borrowed-T", lambda c: ((lambda M, h: M.reshape(5, h, -1).transpose(1, 0, 2), merge_np), {}),
    "M の形 (7, 12)、h = 3 のとき")
add(S, "malformed", "split-forgot-return", lambda c: ((forgot_return, merge_np), {}), "return を書き忘れ")
add(S, "malformed", "merge-raises", lambda c: ((split_np, lambda H: H.reshape(-1, 7, 7)), {}), "エラーになりました")
add(S, "malformed", "not-functions", lambda c: ((np.zeros(3), merge_np), {}), "関数")
add(S, "note", "placeholders", lambda c: ((placeholder, placeholder), {}), ex.NOT_YET)

# --- check_dot_std ---
S = "check_dot_std"
add(S, "right", "numpy", lambda c: ((dot_std_np,), dict(dims=[4, 16, 64, 256])))
add(S, "right", "torch", lambda c: ((dot_std_torch,), {}))
add(S, "right", "with-rng", lambda c: ((dot_std_rng,), dict(dims=[4, 16, 64, 256])))
add(S, "right", "fewer-samples", lambda c: ((lambda d: dot_std_np(d, n=4000),), {}))
add(S, "wrong", "typed-sqrt-list", lambda c: ((list(np.sqrt([4, 16, 64, 256])),), dict(dims=[4, 16, 64, 256])), "測る関数を渡しましょう")
add(S, "wrong", "typed-printed-list", lambda c: (([2.0, 4.01, 7.98, 16.03],), dict(dims=[4, 16, 64, 256])), "書き写しても通りません")
add(S, "wrong", "returns-sqrt", lambda c: ((lambda d: np.sqrt(d),), {}), "測っていません")
add(S, "wrong", "after-scaling", lambda c: ((lambda d: dot_std_np(d) / np.sqrt(d),), {}), "割った後")
add(S, "wrong", "variance", lambda c: ((lambda d: dot_std_np(d) ** 2,), {}), "分散")
add(S, "wrong", "mean", lambda c: ((lambda d: (np.random.default_rng().normal(size=(20000, d)) ** 1
                                               * np.random.default_rng().normal(size=(20000, d))).sum(-1).mean(),), {}), "平均")
add(S, "wrong", "uniform", lambda c: ((lambda d: (np.random.default_rng().random((20000, d))
                                                  * np.random.default_rng().random((20000, d))).sum(-1).std(),), {}), "rng.random")
add(S, "malformed", "forgot-return", lambda c: ((forgot_return,), {}), "return を書き忘れ")
add(S, "malformed", "returns-list", lambda c: ((lambda d: [1.0, 2.0],), {}), "数 1 つ")
add(S, "malformed", "raises", lambda c: ((lambda d: np.random.default_rng().normal(size=(d, 3)) @ np.ones(4),), {}), "エラーになりました")
add(S, "note", "placeholder", lambda c: ((placeholder,), {}), ex.NOT_YET)

# --- check_scaling_entropy ---
S = "check_scaling_entropy"
KW_SCALE = lambda c: dict(lm=c.lm, text="The dog chased the cat")  # noqa: E731
add(S, "right", "numpy", lambda c: ((c.scaling[2], c.scaling[3]), KW_SCALE(c)))
add(S, "right", "list", lambda c: ((list(c.scaling[2]), list(c.scaling[3])), KW_SCALE(c)))
add(S, "right", "torch", lambda c: ((torch.tensor(c.scaling[2]), torch.tensor(c.scaling[3])), KW_SCALE(c)))
add(S, "right", "series-float32", lambda c: ((pd.Series(c.scaling[2].astype(np.float32)),
                                              pd.Series(c.scaling[3].astype(np.float32))), KW_SCALE(c)))
add(S, "wrong", "swapped", lambda c: ((c.scaling[3], c.scaling[2]), KW_SCALE(c)), "入れ替わっています")
add(S, "wrong", "log2", lambda c: ((c.scaling[2] / np.log(2), c.scaling[3] / np.log(2)), KW_SCALE(c)), "log2")
add(S, "wrong", "divided-by-ln-n", lambda c: ((c.scaling[2] / np.log(7), c.scaling[3]), KW_SCALE(c)), "ln n で割って")
add(S, "wrong", "clark-smoothed", lambda c: ((checks._smoothed_entropy(c.scaling[0]).mean(-1), c.scaling[3]), KW_SCALE(c)),
    "平滑化")
add(S, "wrong", "per-head", lambda c: ((checks.row_entropy(c.scaling[0]), c.scaling[3]), KW_SCALE(c)), "(layer, head)")
add(S, "wrong", "one-number", lambda c: ((c.scaling[2].mean(), c.scaling[3]), KW_SCALE(c)), "数 1 つ")
add(S, "wrong", "sum-over-queries", lambda c: ((c.scaling[2] * 7, c.scaling[3]), KW_SCALE(c)), "query について合計")
add(S, "wrong", "off-by-2e-3", lambda c: ((c.scaling[2] + 2e-3, c.scaling[3]), KW_SCALE(c)), "値が合っていません")
add(S, "wrong", "typed-printed-3-decimals", lambda c: ((np.round(c.scaling[2], 3), np.round(c.scaling[3], 3)), KW_SCALE(c)),
    "丸めた値を書き写して")
add(S, "wrong", "nan-0log0", lambda c: ((c.scaling[2], np.where(np.arange(len(c.scaling[3])) == 0, np.nan, c.scaling[3])),
                                        KW_SCALE(c)), "0 × log 0")
add(S, "malformed", "text", lambda c: (("low", c.scaling[3]), KW_SCALE(c)), "文字列")
add(S, "malformed", "dict", lambda c: (({"a": 1}, c.scaling[3]), KW_SCALE(c)), "辞書")
add(S, "malformed", "too-long", lambda c: ((np.r_[c.scaling[2], 1.0], c.scaling[3]), KW_SCALE(c)), "形が違います")
add(S, "note", "None", lambda c: ((None, c.scaling[3]), KW_SCALE(c)), ex.NOT_YET)

# --- check_top_key ---
S = "check_top_key"
KW_TOP = lambda c: dict(att=c.att, query="chased", layer=-1, head=11)  # noqa: E731 - a head whose top key is a word
add(S, "right", "label", lambda c: ((c.att.frame(-1, 11).loc["chased"].idxmax(),), KW_TOP(c)), "ラベル")
add(S, "right", "position", lambda c: ((int(top_key_scores(c.att).argmax()),), KW_TOP(c)), "位置")
add(S, "right", "numpy-int", lambda c: ((np.int64(top_key_scores(c.att).argmax()),), KW_TOP(c)))
add(S, "right", "one-element-index", lambda c: ((c.att.frame(-1, 11).loc["chased"].nlargest(1).index,), KW_TOP(c)))
add(S, "right", "negative-position", lambda c: ((int(top_key_scores(c.att).argmax()) - len(c.att),), KW_TOP(c)))
add(S, "right", "guess-compared", lambda c: ((c.att.frame(-1, 11).loc["chased"].idxmax(),),
                                             {**KW_TOP(c), "guess": "cat"}), "予想どおり")
add(S, "wrong", "idxmin", lambda c: ((c.att.frame(-1, 11).loc["chased"].idxmin(),), KW_TOP(c)), "idxmin ではなく idxmax")
add(S, "wrong", "column", lambda c: ((c.att.frame(-1, 11)["chased"].idxmax(),), KW_TOP(c)), "それは列")
add(S, "wrong", "layer0", lambda c: ((c.att.frame(0, 11).loc["chased"].idxmax(),), KW_TOP(c)), "最終層は layer=-1")
add(S, "wrong", "head-mean", lambda c: ((c.att.labels[int(c.att.weights[-1, :, 3].mean(0).argmax())],), KW_TOP(c)), "ヘッドの平均")
add(S, "wrong", "value-not-label", lambda c: ((float(c.att.frame(-1, 11).loc["chased"].max()),), KW_TOP(c)), "ラベル")
add(S, "malformed", "unknown-label", lambda c: (("cow",), KW_TOP(c)), "候補にありません")
add(S, "malformed", "position-out-of-range", lambda c: ((99,), KW_TOP(c)), "範囲の外")
add(S, "malformed", "two-labels", lambda c: ((["dog", "cat"],), KW_TOP(c)), "ラベル (文字列) か位置")
add(S, "note", "empty-guess", lambda c: ((None,), {**KW_TOP(c), "guess": ""}), ex.GUESS_FIRST)
add(S, "note", "None-guess-before-answer", lambda c: (("dog",), {**KW_TOP(c), "guess": None}), ex.GUESS_FIRST)

# --- check_previous_token_head ---
S = "check_previous_token_head"
KW_PREV = lambda c: dict(att=c.att_long)  # noqa: E731
PS = lambda c: prev_share(c.att_long.weights)  # noqa: E731
add(S, "right", "numpy-tuple", lambda c: ((PS(c), best_of(PS(c))), KW_PREV(c)))
add(S, "right", "torch-array", lambda c: ((torch.tensor(PS(c)), np.array(best_of(PS(c)))), KW_PREV(c)))
add(S, "right", "dataframe-list", lambda c: ((pd.DataFrame(PS(c)), list(best_of(PS(c)))), KW_PREV(c)))
add(S, "right", "negative-indices", lambda c: ((PS(c), (best_of(PS(c))[0] - 6, best_of(PS(c))[1] - 12)), KW_PREV(c)))
add(S, "right", "L-H-string", lambda c: ((PS(c), "L{}-H{}".format(*best_of(PS(c)))), KW_PREV(c)))
add(S, "wrong", "transposed", lambda c: ((prev_share(np.swapaxes(c.att_long.weights, -1, -2)), best_of(PS(c))), KW_PREV(c)),
    "行と列が逆")
add(S, "wrong", "next-token", lambda c: (((c.att_long.weights[:, :, :-1].argmax(-1) == np.arange(1, len(c.att_long))).mean(-1),
                                          best_of(PS(c))), KW_PREV(c)), "直後 (i + 1)")
add(S, "wrong", "row-0-counted", lambda c: (((c.att_long.weights.argmax(-1) == np.arange(len(c.att_long)) - 1).mean(-1),
                                             best_of(PS(c))), KW_PREV(c)), "行 0 も数えて")
add(S, "wrong", "mean-weight", lambda c: ((c.att_long.weights[:, :, np.arange(1, len(c.att_long)), np.arange(len(c.att_long) - 1)]
                                           .mean(-1), best_of(PS(c))), KW_PREV(c)), "重みの平均")
add(S, "wrong", "counts", lambda c: ((PS(c) * (len(c.att_long) - 1), best_of(PS(c))), KW_PREV(c)), "n - 1 で割ります")
add(S, "wrong", "one-based-best", lambda c: ((PS(c), tuple(i + 1 for i in best_of(PS(c)))), KW_PREV(c)), "1 始まり")
add(S, "wrong", "head-layer-order", lambda c: ((PS(c), best_of(PS(c))[::-1]), KW_PREV(c)), "順番が逆")
add(S, "wrong", "argmin", lambda c: ((PS(c), best_of(-PS(c))), KW_PREV(c)), "argmin")
add(S, "wrong", "flat-index", lambda c: ((PS(c), int(PS(c).argmax())), KW_PREV(c)), "np.unravel_index")
add(S, "wrong", "layer-head-shape", lambda c: ((PS(c).T, best_of(PS(c))), KW_PREV(c)), "(head, layer)")
add(S, "malformed", "one-based-out-of-range", lambda c: ((PS(c), (6, 2)), KW_PREV(c)), "1 始まりの番号")
add(S, "malformed", "best-text", lambda c: ((PS(c), "layer 0"), KW_PREV(c)), "2 つの整数の組")
add(S, "malformed", "share-wrong-shape", lambda c: ((PS(c)[0], (0, 0)), KW_PREV(c)), "形が違います")

# --- check_strongest_pair_head ---
S = "check_strongest_pair_head"
KW_PAIR = lambda c: dict(att=c.att_swap, query="chased", key="dog")  # noqa: E731
PB = lambda c: pair_best(c.att_swap, "chased", "dog")  # noqa: E731
add(S, "right", "tuple", lambda c: ((PB(c),), KW_PAIR(c)))
add(S, "right", "strongest-head-triple", lambda c: ((au.strongest_head(c.att_swap.pair("chased", "dog")),), KW_PAIR(c)))
add(S, "right", "stack-idxmax", lambda c: ((c.att_swap.pair("chased", "dog").stack().idxmax(),), KW_PAIR(c)))
add(S, "right", "torch", lambda c: ((torch.tensor(PB(c)),), KW_PAIR(c)))
add(S, "wrong", "one-based", lambda c: ((tuple(i + 1 for i in PB(c)),), KW_PAIR(c)), "1 始まり")
add(S, "wrong", "query-key-swapped", lambda c: ((pair_best(c.att_swap, "dog", "chased"),), KW_PAIR(c)), "query と key が逆")
add(S, "wrong", "argmin", lambda c: ((best_of(-c.att_swap.pair("chased", "dog").to_numpy()),), KW_PAIR(c)), "argmin")
add(S, "wrong", "order", lambda c: ((PB(c)[::-1],), KW_PAIR(c)), "順番が逆")
add(S, "wrong", "original-sentence", lambda c: ((pair_best(c.att, "chased", "dog"),), KW_PAIR(c)), "最大は第")
add(S, "wrong", "flat-index", lambda c: ((int(c.att_swap.pair("chased", "dog").to_numpy().argmax()),), KW_PAIR(c)), "unravel_index")
add(S, "malformed", "layer-out-of-range", lambda c: (((7, 0),), KW_PAIR(c)), "範囲の外")
add(S, "malformed", "floats", lambda c: (((0.5, 1.2),), KW_PAIR(c)), "2 つの整数の組")

# --- check_cls_head_figure ---
S = "check_cls_head_figure"
KW_CLS = lambda c: dict(att=c.att)  # noqa: E731
CB = lambda c: best_of(cls_share(c.att))  # noqa: E731
add(S, "right", "plot_heatmap", lambda c: ((CB(c), heatmap(c.att, *CB(c), "plot_heatmap")), KW_CLS(c)))
add(S, "right", "imshow", lambda c: ((CB(c), heatmap(c.att, *CB(c), "imshow")), KW_CLS(c)))
add(S, "right", "pcolormesh", lambda c: ((CB(c), heatmap(c.att, *CB(c), "pcolormesh")), KW_CLS(c)))
add(S, "right", "matshow-list", lambda c: ((list(CB(c)), heatmap(c.att, *CB(c), "matshow")), KW_CLS(c)))
add(S, "wrong", "transposed-map", lambda c: ((CB(c), heatmap(c.att, *CB(c), "transposed")), KW_CLS(c)), "転置")
add(S, "wrong", "other-head-drawn", lambda c: ((CB(c), heatmap(c.att, CB(c)[0], (CB(c)[1] + 1) % 12)), KW_CLS(c)), "を描きましょう")
add(S, "wrong", "one-based", lambda c: ((tuple(i + 1 for i in CB(c)), heatmap(c.att, *CB(c))), KW_CLS(c)), "1 始まり")
add(S, "wrong", "max-not-mean", lambda c: ((best_of(c.att.weights[..., 0].max(-1)), heatmap(c.att, *CB(c))), KW_CLS(c)),
    "平均ではなく最大")
add(S, "wrong", "sep-column", lambda c: ((best_of(c.att.weights[..., -1].mean(-1)), heatmap(c.att, *CB(c))), KW_CLS(c)),
    "[SEP] を最も見る")
add(S, "wrong", "argmin", lambda c: ((best_of(-cls_share(c.att)), heatmap(c.att, *CB(c))), KW_CLS(c)), "argmin")
add(S, "malformed", "axes", lambda c: ((CB(c), heatmap(c.att, *CB(c)).axes[0]), KW_CLS(c)), "Axes")
add(S, "malformed", "empty-figure", lambda c: ((CB(c), plt.figure()), KW_CLS(c)), "見つかりません")
add(S, "malformed", "array-not-figure", lambda c: ((CB(c), c.att.weights[CB(c)]), KW_CLS(c)), "Figure")
add(S, "note", "fig-None", lambda c: ((CB(c), None), KW_CLS(c)), ex.NOT_YET)

# --- check_row_entropy ---
S = "check_row_entropy"
KW_ENT = lambda c: dict(att=c.att)  # noqa: E731
add(S, "right", "numpy-where", lambda c: ((entropy_np,), KW_ENT(c)))
add(S, "right", "scipy", lambda c: ((lambda w: scipy.stats.entropy(w, axis=-1).mean(-1),), KW_ENT(c)))
add(S, "right", "elementwise-nan_to_num", lambda c: ((lambda w: -np.nan_to_num(w * np.log(w)).sum(-1).mean(-1),), KW_ENT(c)))
add(S, "right", "torch-xlogy", lambda c: ((lambda w: -torch.special.xlogy(w, w).sum(-1).mean(-1),), KW_ENT(c)))
add(S, "right", "tiny-epsilon", lambda c: ((lambda w: -(w * np.log(w + 1e-12)).sum(-1).mean(-1),), KW_ENT(c)))
add(S, "wrong", "nan", lambda c: ((lambda w: -(w * np.log(w)).sum(-1).mean(-1),), KW_ENT(c)), "NaN")
add(S, "wrong", "rowwise-nan_to_num", lambda c: ((lambda w: np.nan_to_num(-(w * np.log(w)).sum(-1)).mean(-1),), KW_ENT(c)),
    "ln 2 = 0.693")
add(S, "wrong", "log2", lambda c: ((lambda w: entropy_np(w) / np.log(2),), KW_ENT(c)), "log2")
add(S, "wrong", "sum-over-queries", lambda c: ((lambda w: entropy_np(w) * w.shape[-2],), KW_ENT(c)), "query について合計")
add(S, "wrong", "sign", lambda c: ((lambda w: -entropy_np(w),), KW_ENT(c)), "符号が逆")
add(S, "wrong", "mean-over-keys", lambda c: ((lambda w: -(w * np.log(np.where(w > 0, w, 1))).mean(-1).mean(-1),), KW_ENT(c)),
    "key について平均")
add(S, "wrong", "clark-smoothed", lambda c: ((lambda w: entropy_np(0.9999 * w + 1e-4 / w.shape[-1]),), KW_ENT(c)), "平滑化")
add(S, "wrong", "off-by-2e-3", lambda c: ((lambda w: entropy_np(w) + 2e-3,), KW_ENT(c)), "値が合っていません")
add(S, "wrong", "per-row-kept", lambda c: ((lambda w: -(w * np.log(np.where(w > 0, w, 1))).sum(-1),), KW_ENT(c)),
    "[layer, head, query]")
add(S, "wrong", "query-axis", lambda c: ((lambda w: -(w * np.log(np.where(w > 0, w, 1))).sum(-2).mean(-1),), KW_ENT(c)),
    "query の軸")
add(S, "malformed", "forgot-return", lambda c: ((forgot_return,), KW_ENT(c)), "return を書き忘れ")
add(S, "malformed", "raises", lambda c: ((lambda w: w.nonexistent,), KW_ENT(c)), "エラーになりました")
add(S, "malformed", "one-number", lambda c: ((lambda w: float(entropy_np(w).mean()),), KW_ENT(c)), "形が違います")
add(S, "note", "placeholder", lambda c: ((placeholder,), KW_ENT(c)), ex.NOT_YET)

# --- check_rollout_three ---
S = "check_rollout_three"
KW_RO = lambda c: dict(att=c.att)  # noqa: E731
R3 = lambda c: rollout_np(c.att.weights[:3].astype(float), 0.5)  # noqa: E731
add(S, "right", "numpy", lambda c: ((R3(c),), KW_RO(c)))
add(S, "right", "au-rollout", lambda c: ((au.rollout(au.Attention(c.att.tokens, c.att.weights[:3])),), KW_RO(c)))
add(S, "right", "torch-float32", lambda c: ((rollout_torch(c.att.weights[:3], 0.5),), KW_RO(c)))
add(S, "right", "dataframe", lambda c: ((pd.DataFrame(R3(c), index=c.att.labels, columns=c.att.labels),), KW_RO(c)))
add(S, "wrong", "reversed-order", lambda c: ((rollout_np(c.att.weights[:3][::-1].astype(float), 0.5),), KW_RO(c)), "順番が逆")
add(S, "wrong", "no-residual", lambda c: ((rollout_np(c.att.weights[:3].astype(float), 0.0),), KW_RO(c)), "残差")
add(S, "wrong", "all-layers", lambda c: ((rollout_np(c.att.weights.astype(float), 0.5),), KW_RO(c)), "3 層だけ")
add(S, "wrong", "two-layers", lambda c: ((rollout_np(c.att.weights[:2].astype(float), 0.5),), KW_RO(c)), "2 層しか")
add(S, "wrong", "layers-1-to-3", lambda c: ((rollout_np(c.att.weights[1:4].astype(float), 0.5),), KW_RO(c)), "第 1〜3 層")
add(S, "wrong", "transposed", lambda c: ((R3(c).T,), KW_RO(c)), "転置")
add(S, "wrong", "elementwise", lambda c: ((checks._rollout_product(c.att.weights[:3].astype(float), 0.5, np.multiply),),
                                          KW_RO(c)), "行列の積 (@)")
add(S, "wrong", "A-plus-I-unnormalised", lambda c: ((checks._rollout_plus_identity(c.att.weights[:3].astype(float)),), KW_RO(c)),
    "行の和を 1 に")
add(S, "malformed", "wrong-shape", lambda c: ((R3(c)[:3],), KW_RO(c)), "形が違います")
add(S, "malformed", "list-of-text", lambda c: ((["a", "b"],), KW_RO(c)), "数値の配列として読め")
add(S, "note", "None", lambda c: ((None,), KW_RO(c)), ex.NOT_YET)

# --- check_stats_argmax ---
S = "check_stats_argmax"
KW_ST = lambda c: dict(stats=c.stats, column="next")  # noqa: E731
NB = lambda c: c.stats["next"].idxmax()  # noqa: E731
add(S, "right", "idxmax", lambda c: ((NB(c),), KW_ST(c)))
add(S, "right", "negative", lambda c: (((NB(c)[0] - 6, NB(c)[1] - 12),), KW_ST(c)))
add(S, "right", "numpy-array", lambda c: ((np.array(NB(c)),), KW_ST(c)))
add(S, "right", "dict", lambda c: (({"layer": NB(c)[0], "head": NB(c)[1]},), KW_ST(c)))
add(S, "wrong", "idxmin", lambda c: ((c.stats["next"].idxmin(),), KW_ST(c)), "argmin")
add(S, "wrong", "one-based", lambda c: (((NB(c)[0] + 1, NB(c)[1] + 1),), KW_ST(c)), "1 始まり")
add(S, "wrong", "prev-column", lambda c: ((c.stats["prev"].idxmax(),), KW_ST(c)), "'prev' が最大")
add(S, "wrong", "order", lambda c: ((NB(c)[::-1],), KW_ST(c)), "順番が逆")
add(S, "wrong", "argmax-position", lambda c: ((int(c.stats["next"].to_numpy().argmax()),), KW_ST(c)), "unravel_index")
add(S, "malformed", "negative-out-of-range", lambda c: (((-7, 0),), KW_ST(c)), "範囲の外")
add(S, "malformed", "text", lambda c: (("next",), KW_ST(c)), "2 つの整数の組")

# --- check_word_weight ---
S = "check_word_weight"
KW_WW = lambda c: dict(pieces=c.split[0], words=c.split[1], layer=0, head=0, query="uncovered", word="extraordinarily")  # noqa
add(S, "right", "series-sum", lambda c: ((word_row(c).sum(),), KW_WW(c)))
add(S, "right", "float", lambda c: ((float(word_row(c).to_numpy(dtype=np.float64).sum()),), KW_WW(c)))
add(S, "right", "torch", lambda c: ((torch.tensor(word_row(c).to_numpy()).sum(),), KW_WW(c)))
add(S, "right", "words-frame", lambda c: ((c.split[1].frame(0, 0).loc["uncovered", "extraordinarily"],), KW_WW(c)))
add(S, "wrong", "mean", lambda c: ((word_row(c).mean(),), KW_WW(c)), "平均していませんか")
add(S, "wrong", "first-piece", lambda c: ((word_row(c).iloc[0],), KW_WW(c)), "最初のサブワード")
add(S, "wrong", "last-piece", lambda c: ((word_row(c).iloc[-1],), KW_WW(c)), "最後のサブワード")
add(S, "wrong", "max", lambda c: ((word_row(c).max(),), KW_WW(c)), "最大")
add(S, "wrong", "transposed", lambda c: ((c.split[1].frame(0, 0).loc["extraordinarily", "uncovered"],), KW_WW(c)), "向きが逆")
add(S, "wrong", "last-layer", lambda c: ((c.split[1].frame(-1, 0).loc["uncovered", "extraordinarily"],), KW_WW(c)), "別の層")
add(S, "wrong", "whole-row", lambda c: ((1.0,), KW_WW(c)), "行全体")
add(S, "wrong", "near-miss", lambda c: ((word_row(c).sum() + 1e-4,), KW_WW(c)), "値が合っていません")
add(S, "wrong", "typed-printed-4-decimals", lambda c: ((round(float(word_row(c).sum()), 4),), KW_WW(c)), "丸めた値を書き写して")
add(S, "malformed", "series-of-pieces", lambda c: ((word_row(c),), KW_WW(c)), "数 1 つ")
add(S, "malformed", "text", lambda c: (("0.3",), KW_WW(c)), "文字列")
add(S, "malformed", "bool", lambda c: ((True,), KW_WW(c)), "True/False")

# --- check_split_words ---
S = "check_split_words"
KW_SW = lambda c: dict(tokenizer=c.v3, text=JA_TEXT)  # noqa: E731
WANT_SW = ["昨日", "手作り", "マフィン"]
add(S, "right", "list", lambda c: ((list(WANT_SW),), KW_SW(c)))
add(S, "right", "tuple", lambda c: ((tuple(WANT_SW),), KW_SW(c)))
add(S, "right", "series", lambda c: ((pd.Series(WANT_SW),), KW_SW(c)))
add(S, "right", "numpy", lambda c: ((np.array(WANT_SW),), KW_SW(c)))
add(S, "right", "dict-word-pieces", lambda c: (({w: c.v3.subword_tokenizer.tokenize(w) for w in WANT_SW},), KW_SW(c)))
add(S, "wrong", "reversed", lambda c: ((WANT_SW[::-1],), KW_SW(c)), "順番が逆")
add(S, "wrong", "shuffled", lambda c: ((["手作り", "昨日", "マフィン"],), KW_SW(c)), "順番が違います")
add(S, "wrong", "duplicated", lambda c: ((WANT_SW + ["昨日"],), KW_SW(c)), "重複")
add(S, "wrong", "pieces", lambda c: ((["昨", "##日", "手", "##作り", "マフ", "##ィ", "##ン"],), KW_SW(c)), "サブワード")
add(S, "wrong", "all-words", lambda c: ((c.v3.word_tokenizer.tokenize(JA_TEXT),), KW_SW(c)), "すべて入っています")
add(S, "wrong", "missing-one", lambda c: ((WANT_SW[:2],), KW_SW(c)), "足りない: ['マフィン']")
add(S, "wrong", "extra-one", lambda c: ((WANT_SW + ["祖母"],), KW_SW(c)), "分かれていないのに入っている: ['祖母']")
add(S, "malformed", "set", lambda c: ((set(WANT_SW),), KW_SW(c)), "集合 (set)")
add(S, "malformed", "string", lambda c: (("昨日 手作り マフィン",), KW_SW(c)), "文字列 1 つ")
add(S, "malformed", "number", lambda c: ((3,), KW_SW(c)), "リストのはず")

# --- check_particle_target ---
S = "check_particle_target"
KW_PT = lambda c: dict(words=c.words_ja, particle="を", layer=-1)  # noqa: E731
PT = lambda c: c.words_ja.labels[int(particle_row(c.words_ja).argmax())]  # noqa: E731
add(S, "right", "label", lambda c: (("猫", PT(c)), KW_PT(c)), "ラベル")
add(S, "right", "position", lambda c: (("猫", int(particle_row(c.words_ja).argmax())), KW_PT(c)), "位置")
add(S, "right", "series-idxmax", lambda c: (("猫", pd.Series(particle_row(c.words_ja), index=c.words_ja.labels).idxmax()),
                                            KW_PT(c)))
add(S, "right", "guess-right", lambda c: ((PT(c), PT(c)), KW_PT(c)), "予想どおり")
add(S, "right", "guess-wrong", lambda c: (("[CLS]", PT(c)), KW_PT(c)), "とは違いました")
add(S, "wrong", "itself", lambda c: (("猫", c.words_ja.labels[int(particle_row(c.words_ja, self_ok=True).argmax())]), KW_PT(c)),
    "自身です")
add(S, "wrong", "specials", lambda c: (("猫", c.words_ja.labels[int(particle_row(c.words_ja, specials_ok=True).argmax())]),
                                       KW_PT(c)), "特殊トークン")
add(S, "wrong", "layer0", lambda c: (("猫", c.words_ja.labels[int(particle_row(c.words_ja, layer=0).argmax())]), KW_PT(c)),
    "最終層は layer=-1")
add(S, "wrong", "head0", lambda c: (("猫", c.words_ja.labels[int(particle_row(c.words_ja, head=0).argmax())]), KW_PT(c)),
    "全ヘッドの平均")
add(S, "wrong", "column", lambda c: (("猫", c.words_ja.labels[int(np.where(np.isfinite(particle_row(c.words_ja)),
                                                                           c.words_ja.weights[-1, :, :, 6].mean(0),
                                                                           -np.inf).argmax())]), KW_PT(c)), "見ている単語 (列)")
add(S, "malformed", "unknown-word", lambda c: (("猫", "鳥"), KW_PT(c)), "候補にありません")
add(S, "malformed", "weight-value", lambda c: (("猫", 0.3), KW_PT(c)), "重みの値ではなく")
add(S, "note", "guess-None", lambda c: ((None, PT(c)), KW_PT(c)), ex.GUESS_FIRST)
add(S, "note", "guess-empty-string", lambda c: (("", None), KW_PT(c)), ex.GUESS_FIRST)
add(S, "note", "guess-written-answer-not-yet", lambda c: (("猫", None), KW_PT(c)), ex.NOT_YET)

# --- check_order_shares ---
S = "check_order_shares"
KW_OS = lambda c: dict(atts=c.order_atts, query="追う", a="犬", b="猫")  # noqa: E731
add(S, "right", "dict", lambda c: ((order_shares(c.order_atts),), KW_OS(c)))
add(S, "right", "series", lambda c: ((pd.Series(order_shares(c.order_atts)),), KW_OS(c)))
add(S, "right", "list-in-order", lambda c: ((list(order_shares(c.order_atts).values()),), KW_OS(c)))
add(S, "right", "numpy-values", lambda c: (({t: np.float32(v) for t, v in order_shares(c.order_atts).items()},), KW_OS(c)))
add(S, "wrong", "a-b-swapped", lambda c: ((order_shares(c.order_atts, "猫", "犬"),), KW_OS(c)), "a と b が逆")
add(S, "wrong", "percent", lambda c: (({t: v * 100 for t, v in order_shares(c.order_atts).items()},), KW_OS(c)), "パーセント")
add(S, "wrong", "counts", lambda c: (({t: v * 16 for t, v in order_shares(c.order_atts).items()},), KW_OS(c)), "ヘッドの数のまま")
add(S, "wrong", "texts-swapped", lambda c: ((dict(zip(c.order_atts, list(order_shares(c.order_atts).values())[::-1])),), KW_OS(c)),
    "入れ替わっています")
add(S, "wrong", "near-miss", lambda c: (({t: v + 1 / 16 for t, v in order_shares(c.order_atts).items()},), KW_OS(c)),
    "の割合 の値が合っていません")
add(S, "malformed", "wrong-keys", lambda c: (({"犬が猫を追う": 0.5, "猫を犬が追う": 0.5},), KW_OS(c)), "キーは")
add(S, "malformed", "one-number", lambda c: ((0.5,), KW_OS(c)), "辞書")
add(S, "malformed", "value-text", lambda c: (({t: "半分" for t in c.order_atts},), KW_OS(c)), "文字列")

# --- check_order_flip ---
S = "check_order_flip"
KW_OF = lambda c, **kw: dict(atts=c.order_flip(**kw), query="追う", a="犬", b="猫", layer=2, head=1)  # noqa: E731


def flip_diffs(atts, layer=2, head=1, q="追う", a="犬", b="猫", how=float):
    """The solution's dict {text: pair(q, a)[layer, head] - pair(q, b)[layer, head]} (or a slip of it)."""
    return {t: how(x.pair(q, a).to_numpy()[layer, head] - x.pair(q, b).to_numpy()[layer, head]) for t, x in atts.items()}


def flip_mean(atts, axis):
    return {t: float(np.mean(x.pair("追う", "犬").to_numpy() - x.pair("追う", "猫").to_numpy(), axis=axis)[
        {0: 1, 1: 2, None: ()}[axis]]) for t, x in atts.items()}


add(S, "right", "dict-floats", lambda c: ((flip_diffs(c.order_flip()), "位置"), KW_OF(c)), "位置")
add(S, "right", "series", lambda c: ((pd.Series(flip_diffs(c.order_flip())), "position"), KW_OF(c)))
add(S, "right", "one-column-dataframe", lambda c: ((pd.DataFrame({"差": flip_diffs(c.order_flip())}), "位置"), KW_OF(c)))
add(S, "right", "float32-values", lambda c: ((flip_diffs(c.order_flip(), how=np.float32), " 位置 "), KW_OF(c)))
add(S, "right", "frame-loc", lambda c: (({t: x.frame(2, 1).loc["追う", "犬"] - x.frame(2, 1).loc["追う", "猫"]
                                          for t, x in c.order_flip().items()}, "「位置」"), KW_OF(c)))
add(S, "right", "negative-layer-head", lambda c: ((flip_diffs(c.order_flip()), "位置"), {**KW_OF(c), "layer": -2, "head": -3}))
add(S, "right", "role", lambda c: ((flip_diffs(c.order_flip(d1=0.1, d2=0.08)), "役割"), KW_OF(c, d1=0.1, d2=0.08)), "役割")
add(S, "right", "undecided", lambda c: ((flip_diffs(c.order_flip(d1=0.1, d2=0.02)), "決められない"),
                                        KW_OF(c, d1=0.1, d2=0.02)), "決められない")
add(S, "wrong", "sign", lambda c: ((flip_diffs(c.order_flip(), a="猫", b="犬"), "位置"), KW_OF(c)), "符号が逆")
add(S, "wrong", "texts-swapped", lambda c: ((dict(zip(c.order_flip(), list(flip_diffs(c.order_flip()).values())[::-1])), "位置"),
                                            KW_OF(c)), "入れ替わっています")
add(S, "wrong", "head-mean", lambda c: ((flip_mean(c.order_flip(), 1), "位置"), KW_OF(c)), "ヘッドの平均")
add(S, "wrong", "reading-role", lambda c: ((flip_diffs(c.order_flip()), "役割"), KW_OF(c)), "規則では「位置」")
add(S, "wrong", "reading-undecided", lambda c: ((flip_diffs(c.order_flip()), "決められない"), KW_OF(c)), "規則では「位置」")
add(S, "wrong", "threshold-ignored", lambda c: ((flip_diffs(c.order_flip(d1=0.1, d2=0.02)), "役割"), KW_OF(c, d1=0.1, d2=0.02)),
    "0.05 に届きません")
add(S, "malformed", "list", lambda c: ((list(flip_diffs(c.order_flip()).values()), "位置"), KW_OF(c)), "どちらの文のものか")
add(S, "malformed", "wrong-keys", lambda c: (({"犬が猫を追う": 0.1, "猫を犬が追う": 0.1}, "位置"), KW_OF(c)), "キーは")
add(S, "malformed", "value-pair", lambda c: (({t: [v, v] for t, v in flip_diffs(c.order_flip()).items()}, "位置"), KW_OF(c)),
    "数 1 つ")
add(S, "malformed", "reading-number", lambda c: ((flip_diffs(c.order_flip()), 1), KW_OF(c)), "どれか")
add(S, "malformed", "reading-other-word", lambda c: ((flip_diffs(c.order_flip()), "位置に沿う"), KW_OF(c)), "どれか")
add(S, "malformed", "layer-one-based", lambda c: ((flip_diffs(c.order_flip()), "位置"), {**KW_OF(c), "layer": 4}), "1 始まり")
add(S, "note", "placeholders", lambda c: ((None, None), KW_OF(c)), ex.NOT_YET)

# --- check_entropy_pair ---
S = "check_entropy_pair"
KW_EP = lambda c: dict(att_trained=c.entropy_pair[0], att_untrained=c.entropy_pair[1])  # noqa: E731
EP = lambda c: (c.entropy_pair[2], c.entropy_pair[3])  # noqa: E731
add(S, "right", "floats", lambda c: (EP(c), KW_EP(c)))
add(S, "right", "numpy-0d", lambda c: (tuple(np.array(v) for v in EP(c)), KW_EP(c)))
add(S, "right", "torch", lambda c: (tuple(torch.tensor(v) for v in EP(c)), KW_EP(c)))
add(S, "right", "one-element-series", lambda c: (tuple(pd.Series([v]) for v in EP(c)), KW_EP(c)))
add(S, "wrong", "swapped", lambda c: (EP(c)[::-1], KW_EP(c)), "入れ替わっています")
add(S, "wrong", "not-normalised", lambda c: ((EP(c)[0] * np.log(11), EP(c)[1]), KW_EP(c)), "ln n で割っていません")
add(S, "wrong", "log2", lambda c: ((EP(c)[0] / np.log(2), EP(c)[1]), KW_EP(c)), "log2")
add(S, "wrong", "divided-by-n", lambda c: ((EP(c)[0] * np.log(11) / 11, EP(c)[1]), KW_EP(c)), "n で割っていませんか")
add(S, "wrong", "clark-smoothed", lambda c: ((checks._smoothed_entropy(c.entropy_pair[0].weights).mean() / np.log(11), EP(c)[1]),
                                             KW_EP(c)), "平滑化")
add(S, "wrong", "off-by-2e-3", lambda c: ((EP(c)[0] + 2e-3, EP(c)[1]), KW_EP(c)), "値が合っていません")
add(S, "wrong", "typed-printed-2-decimals", lambda c: ((round(EP(c)[0], 2), round(EP(c)[1], 2)), KW_EP(c)), "丸めた値を書き写して")
add(S, "malformed", "per-layer-arrays", lambda c: ((checks.row_entropy(c.entropy_pair[0].weights).mean(-1) / np.log(11),
                                                    checks.row_entropy(c.entropy_pair[1].weights).mean(-1) / np.log(11)),
                                                   KW_EP(c)), "数 1 つのはず")
add(S, "malformed", "text", lambda c: (("0.5", EP(c)[1]), KW_EP(c)), "文字列")
add(S, "malformed", "list", lambda c: (([0.4, 0.5], EP(c)[1]), KW_EP(c)), "数 1 つのはず")

# --- check_weight_vs_norm ---
S = "check_weight_vs_norm"
KW_WN = lambda c: dict(att=c.att, norms=c.norms, query="chased", layer=4, head=1)  # noqa: E731 - weight and norm disagree
BW = lambda c: c.att.weights[4, 1, 3]  # noqa: E731
BN = lambda c: c.norms[4, 1, 3]  # noqa: E731
add(S, "right", "labels", lambda c: ((c.att.labels[int(BW(c).argmax())], c.att.labels[int(BN(c).argmax())]), KW_WN(c)))
add(S, "right", "positions", lambda c: ((int(BW(c).argmax()), int(BN(c).argmax())), KW_WN(c)), "位置")
add(S, "right", "numpy-ints", lambda c: ((np.int64(BW(c).argmax()), np.int64(BN(c).argmax())), KW_WN(c)))
add(S, "right", "torch-norms", lambda c: ((int(BW(c).argmax()), int(BN(c).argmax())), {**KW_WN(c), "norms": torch.tensor(c.norms)}))
add(S, "wrong", "swapped", lambda c: ((c.att.labels[int(BN(c).argmax())], c.att.labels[int(BW(c).argmax())]), KW_WN(c)),
    "入れ替わって")
add(S, "wrong", "weight-column", lambda c: ((c.att.labels[int(c.att.weights[4, 1, :, 3].argmax())], int(BN(c).argmax())),
                                            KW_WN(c)), "それは列")
add(S, "wrong", "norm-column", lambda c: ((int(BW(c).argmax()), int(c.norms[4, 1, :, 3].argmax())), KW_WN(c)), "それは列")
add(S, "wrong", "weight-argmin", lambda c: ((int(BW(c).argmin()), int(BN(c).argmax())), KW_WN(c)), "最小の key")
add(S, "wrong", "norm-argmin", lambda c: ((int(BW(c).argmax()), int(BN(c).argmin())), KW_WN(c)), "最小の key")
add(S, "malformed", "value", lambda c: ((float(BW(c).max()), int(BN(c).argmax())), KW_WN(c)), "重みの値ではなく")
add(S, "malformed", "unknown", lambda c: (("bird", int(BN(c).argmax())), KW_WN(c)), "候補にありません")
add(S, "note", "None", lambda c: ((None, None), KW_WN(c)), ex.NOT_YET)

# --- check_my_rollout ---
S = "check_my_rollout"
KW_MR = lambda c: dict(att=c.att)  # noqa: E731
add(S, "right", "numpy", lambda c: ((rollout_np,), KW_MR(c)))
add(S, "right", "torch", lambda c: ((rollout_torch,), KW_MR(c)))
add(S, "right", "au-rollout", lambda c: ((lambda w, r: au.rollout(au.Attention([str(i) for i in range(w.shape[-1])], w),
                                                                    residual=r),), KW_MR(c)))
add(S, "right", "list-result", lambda c: ((lambda w, r: rollout_np(w, r).tolist(),), KW_MR(c)))
add(S, "wrong", "reversed", lambda c: ((lambda w, r: rollout_np(w[::-1], r),), KW_MR(c)), "順番が逆")
add(S, "wrong", "residual-ignored", lambda c: ((lambda w, r: rollout_np(w, 0.5),), KW_MR(c)), "residual を使っていません")
add(S, "wrong", "residual-swapped", lambda c: ((lambda w, r: rollout_np(w, 1 - r),), KW_MR(c)), "残差の重みが逆")
add(S, "wrong", "elementwise", lambda c: ((lambda w, r: checks._rollout_product(w, r, np.multiply),), KW_MR(c)), "行列の積")
add(S, "wrong", "transposed", lambda c: ((lambda w, r: rollout_np(w, r).T,), KW_MR(c)), "転置")
add(S, "wrong", "last-layer-only", lambda c: ((lambda w, r: rollout_np(w[-1:], r),), KW_MR(c)), "最後の層だけ")
add(S, "wrong", "max-over-heads", lambda c: ((lambda w, r: checks._rollout_product(w.max(1, keepdims=True), r, np.matmul),),
                                             KW_MR(c)), "最大を取って")
add(S, "malformed", "forgot-return", lambda c: ((forgot_return,), KW_MR(c)), "return を書き忘れ")
add(S, "malformed", "wrong-arity", lambda c: ((lambda w: rollout_np(w, 0.5),), KW_MR(c)), "エラーになりました")
add(S, "malformed", "stack", lambda c: ((lambda w, r: np.stack([rollout_np(w, r)] * 2),), KW_MR(c)), "形が違います")
add(S, "note", "placeholder", lambda c: ((placeholder,), KW_MR(c)), ex.NOT_YET)

# --- check_masking_change ---
S = "check_masking_change"
KW_MC = lambda c: dict(lm=c.lm, text=MASK_TEXT, query="chased", token="cat")  # noqa: E731


def hidden(c):
    return list(c.hidden)


def mc(c, how):
    h, h2, h3 = hidden(c)
    return {"torch": (h2 - h).norm() / h.norm(),
            "numpy": np.linalg.norm((h2 - h).numpy()) / np.linalg.norm(h.numpy()),
            "not-divided": float((h2 - h).norm()),
            "by-h-prime": float((h2 - h).norm() / h2.norm()),
            "cosine": float(1 - h2 @ h / (h2.norm() * h.norm())),
            "mask-token": float((h3 - h).norm() / h.norm())}[how]


add(S, "right", "float", lambda c: ((c.masking,), KW_MC(c)))
add(S, "right", "torch-scalar", lambda c: ((mc(c, "torch"),), KW_MC(c)))
add(S, "right", "numpy", lambda c: ((mc(c, "numpy"),), KW_MC(c)))
add(S, "right", "float32", lambda c: ((np.float32(c.masking),), KW_MC(c)))
add(S, "wrong", "not-divided", lambda c: ((mc(c, "not-divided"),), KW_MC(c)), "||h' - h|| で止まって")
add(S, "wrong", "divided-by-h-prime", lambda c: ((mc(c, "by-h-prime"),), KW_MC(c)), "||h'|| で割って")
add(S, "wrong", "percent", lambda c: ((c.masking * 100,), KW_MC(c)), "パーセント")
add(S, "wrong", "cosine", lambda c: ((mc(c, "cosine"),), KW_MC(c)), "cos の距離")
add(S, "wrong", "mask-token", lambda c: ((mc(c, "mask-token"),), KW_MC(c)), "[MASK]")
add(S, "wrong", "near-miss", lambda c: ((c.masking * 1.01,), KW_MC(c)), "値が合っていません")
add(S, "malformed", "vector", lambda c: ((hidden(c)[1] - hidden(c)[0],), KW_MC(c)), "数 1 つのはず")
add(S, "malformed", "text", lambda c: (("5%",), KW_MC(c)), "文字列")

# --- check_offset_accuracy ---
S = "check_offset_accuracy"
OFF5 = range(-3, 4)
KW_OA = lambda c: dict(examples=c.examples, dep="obj", head="verb", offsets=OFF5)  # noqa: E731


def oacc(c, shift=0, sign=1):
    return {k: float(np.mean([e["obj"] + sign * k + shift == e["verb"] for e in c.examples])) for k in OFF5}


add(S, "right", "dict", lambda c: ((oacc(c),), KW_OA(c)))
add(S, "right", "series", lambda c: ((pd.Series(oacc(c)),), KW_OA(c)))
add(S, "right", "list-in-offset-order", lambda c: ((list(oacc(c).values()),), KW_OA(c)))
add(S, "right", "string-keys", lambda c: (({f"{k:+d}": v for k, v in oacc(c).items()},), KW_OA(c)))
add(S, "wrong", "flipped-sign", lambda c: ((oacc(c, sign=-1),), KW_OA(c)), "向きが逆")
add(S, "wrong", "counts", lambda c: (({k: v * len(c.examples) for k, v in oacc(c).items()},), KW_OA(c)), "当たった数のまま")
add(S, "wrong", "percent", lambda c: (({k: v * 100 for k, v in oacc(c).items()},), KW_OA(c)), "パーセント")
add(S, "wrong", "shifted", lambda c: ((oacc(c, shift=1),), KW_OA(c)), "1 つずれて")
add(S, "wrong", "values-reordered", lambda c: ((dict(zip(OFF5, sorted(oacc(c).values()))),), KW_OA(c)), "正解率 の値が合っていません")
add(S, "malformed", "wrong-keys", lambda c: (({k: 0.1 for k in range(3)},), KW_OA(c)), "キーは")
add(S, "malformed", "short-list", lambda c: (([0.1, 0.2],), KW_OA(c)), "辞書")
add(S, "malformed", "text-key", lambda c: (({"one": 0.1},), KW_OA(c)), "整数")

# --- check_relation_pairs ---
S = "check_relation_pairs"
KW_RP = lambda c: dict(sentence=c.example, relation="det")  # noqa: E731


def det_pairs(c, head=lambda words, h: words[h - 1], exact=False):
    s = c.example
    return [(w, head(s.words, h)) for w, h, r in zip(s.words, s.heads, s.relations)
            if (r == "det" if exact else r.split(":")[0] == "det")]


add(S, "right", "tuples", lambda c: ((det_pairs(c),), KW_RP(c)))
add(S, "right", "lists", lambda c: (([list(p) for p in det_pairs(c)],), KW_RP(c)))
add(S, "right", "dataframe", lambda c: ((pd.DataFrame(det_pairs(c), columns=["dep", "head"]),), KW_RP(c)))
add(S, "right", "tuple-of-tuples", lambda c: ((tuple(det_pairs(c)),), KW_RP(c)))
add(S, "wrong", "reversed-pairs", lambda c: (([(h, d) for d, h in det_pairs(c)],), KW_RP(c)), "組の順番が逆")
add(S, "wrong", "zero-based-head", lambda c: ((det_pairs(c, head=lambda words, h: words[h] if h < len(words) else None),),
                                              KW_RP(c)), "words[h - 1]")
add(S, "wrong", "positions", lambda c: (([(i, h) for i, (h, r) in enumerate(zip(c.example.heads, c.example.relations), 1)
                                          if r == "det"],), KW_RP(c)), "番号ではなく単語")
add(S, "wrong", "reverse-order", lambda c: ((det_pairs(c)[::-1],), KW_RP(c)), "順番が違います")
add(S, "wrong", "missing", lambda c: ((det_pairs(c)[:-1],), KW_RP(c)), "組が違います")
add(S, "wrong", "subtype-left-out", lambda c: (([],),
                                               dict(sentence={"words": ["my", "dog", "barks"], "heads": [2, 3, 0],
                                                              "relations": ["det:poss", "nsubj", "root"]},
                                                    relation="det")), "下位分類")
add(S, "malformed", "string", lambda c: (("the dog",), KW_RP(c)), "文字列 1 つ")
add(S, "malformed", "triples", lambda c: (([("the", "dog", "det")],), KW_RP(c)), "2 つ組")
add(S, "malformed", "number", lambda c: ((5,), KW_RP(c)), "リストのはず")

# --- check_head_accuracy ---
S = "check_head_accuracy"
add(S, "right", "numpy", lambda c: ((head_acc,), {}))
add(S, "right", "torch", lambda c: ((head_acc_torch,), {}))
add(S, "right", "loop", lambda c: ((head_acc_loop,), {}))
add(S, "wrong", "self-included", lambda c: ((lambda m, h: float(((np.asarray(m).argmax(-1) + 1) == np.array(h))[np.array(h) > 0]
                                                                  .mean()),), {}), "自分自身への重みを除いて")
add(S, "wrong", "root-counted", lambda c: ((lambda m, h: float((np.where(np.eye(len(m), dtype=bool), -np.inf, m).argmax(-1) + 1
                                                                 == np.array(h)).mean()),), {}), "根")
add(S, "wrong", "no-plus-one", lambda c: ((lambda m, h: float((np.where(np.eye(len(m), dtype=bool), -np.inf, m).argmax(-1)
                                                                == np.array(h))[np.array(h) > 0].mean()),), {}), "1 を足して")
add(S, "wrong", "transposed", lambda c: ((lambda m, h: head_acc(np.asarray(m).T, h),), {}), "行と列が逆です: 各単語")
add(S, "wrong", "counts", lambda c: ((lambda m, h: head_acc(m, h) * int((np.array(h) > 0).sum()),), {}), "当たった数のまま")
add(S, "wrong", "percent", lambda c: ((lambda m, h: head_acc(m, h) * 100,), {}), "パーセント")
add(S, "malformed", "forgot-return", lambda c: ((forgot_return,), {}), "return を書き忘れ")
add(S, "malformed", "array-returned", lambda c: ((lambda m, h: np.asarray(m).argmax(-1),), {}), "数 1 つ")
add(S, "malformed", "raises", lambda c: ((lambda m, h: m[len(m)],), {}), "エラーになりました")
add(S, "note", "placeholder", lambda c: ((placeholder,), {}), ex.NOT_YET)

# --- check_treebank_offsets ---
S = "check_treebank_offsets"
OFF6 = range(-3, 3)
KW_TB = lambda c: dict(sentences=c.en, relation="amod", offsets=OFF6)  # noqa: E731


def tb_acc(c, **kw):
    from attn_utils.exercises.checks_further import _offset_counts

    return _offset_counts(c.en, "amod", list(OFF6), **kw)


add(S, "right", "syntax_baseline", lambda c: ((au.syntax_baseline(c.en, all_offsets=True).loc["amod", list(OFF6)].to_dict(),),
                                             KW_TB(c)))
add(S, "right", "by-hand-clipped", lambda c: ((offsets_by_hand(c.en, "amod", OFF6),), KW_TB(c)))
add(S, "right", "series", lambda c: ((pd.Series(offsets_by_hand(c.en, "amod", OFF6)),), KW_TB(c)))
add(S, "right", "japanese-case", lambda c: ((offsets_by_hand(c.ja, "case", OFF6),),
                                            dict(sentences=c.ja, relation="case", offsets=OFF6)))
add(S, "wrong", "unclipped", lambda c: ((offsets_by_hand(c.en, "amod", OFF6, clip=False),), KW_TB(c)), "切り詰めていません")
add(S, "wrong", "flipped-sign", lambda c: ((tb_acc(c, sign=-1),), KW_TB(c)), "向きが逆")
add(S, "wrong", "flipped-unclipped", lambda c: ((tb_acc(c, sign=-1, clip=False),), KW_TB(c)), "向きが逆")
add(S, "wrong", "zero-based", lambda c: ((tb_acc(c, start=0),), KW_TB(c)), "0 始まり")
add(S, "wrong", "counts", lambda c: ((tb_acc(c, count=True),), KW_TB(c)), "当たった数のまま")
add(S, "wrong", "percent", lambda c: (({k: 100 * v for k, v in offsets_by_hand(c.en, "amod", OFF6).items()},), KW_TB(c)),
    "パーセント")
add(S, "wrong", "typed-printed-3-decimals", lambda c: (({k: round(v, 3) for k, v in offsets_by_hand(c.en, "amod", OFF6).items()},),
                                                     KW_TB(c)), "丸めた値を書き写して")
add(S, "wrong", "subtypes-left-out", lambda c: ((_subtype_case(c)[0],), _subtype_case(c)[1]), "下位分類")
add(S, "malformed", "list-too-short", lambda c: (([0.1, 0.2],), KW_TB(c)), "辞書")
add(S, "malformed", "keys", lambda c: (({k: 0.0 for k in range(6)},), KW_TB(c)), "キーは")
add(S, "malformed", "values-text", lambda c: (({k: "高い" for k in OFF6},), KW_TB(c)), "文字列")


def _subtype_case(c):
    """A relation with a subtype in the Japanese treebank (e.g. nsubj and nsubj:outer, or the like)."""
    from attn_utils.exercises.checks_further import _offset_counts

    for rel in ("nsubj", "obl", "nmod", "acl", "advcl", "compound"):
        exact = _offset_counts(c.ja, rel, list(OFF6), exact=True)
        full = _offset_counts(c.ja, rel, list(OFF6))
        if not np.allclose(list(exact.values()), list(full.values())):
            return exact, dict(sentences=c.ja, relation=rel, offsets=OFF6)
    for rel in ("nsubj", "obl", "nmod", "compound", "aux"):
        exact = _offset_counts(c.en, rel, list(OFF6), exact=True)
        full = _offset_counts(c.en, rel, list(OFF6))
        if not np.allclose(list(exact.values()), list(full.values())):
            return exact, dict(sentences=c.en, relation=rel, offsets=OFF6)
    raise AssertionError("no relation with subtypes in the bundled treebanks")


# ==================== round 2: answers a student writes that the first table did not try ====================
# (ids start with r2-; the report of the adversarial round counts them.)


def r2(check, kind, case_id, build, fragment=""):
    add(check, kind, "r2-" + case_id, build, fragment)


def sm_rowwise_min(s):  # subtracts the row minimum: exp overflows on large scores
    e = np.exp(s - s.min(-1, keepdims=True))
    return e / e.sum(-1, keepdims=True)


def sm_inplace(s):  # changes its input in place, still right
    s -= s.max(axis=1, keepdims=True)
    np.exp(s, out=s)
    s /= s.sum(axis=1, keepdims=True)
    return s


def sm_mixed_max(s):  # the maximum subtracted in the numerator only
    return np.exp(s - s.max(-1, keepdims=True)) / np.exp(s).sum(-1, keepdims=True)


def sm_shape_bound(s):  # written for the notebook's (5, 5) scores: five columns hard-coded
    e = np.exp(s - s.max(-1, keepdims=True))
    return e / e[:, :5].sum(-1, keepdims=True)


S = "check_softmax"
r2(S, "wrong", "row-min", lambda c: ((sm_rowwise_min,), {}), "NaN")
r2(S, "wrong", "max-in-numerator-only", lambda c: ((sm_mixed_max,), {}), "行の和が 1")
r2(S, "wrong", "five-columns-hard-coded", lambda c: ((sm_shape_bound,), {}), "乱数のスコア (4, 6) で")
r2(S, "wrong", "temperature", lambda c: ((lambda s: softmax_np(s / 2),), {}), "値が合っていません")
r2(S, "right", "in-place", lambda c: ((sm_inplace,), {}))
r2(S, "right", "torch-requires-grad", lambda c: ((lambda s: torch.tensor(s, requires_grad=True).softmax(-1),), {}))
r2(S, "right", "dataframe-apply", lambda c: ((lambda s: pd.DataFrame(s).apply(lambda r: np.exp(r - r.max()) / np.exp(r - r.max()).sum(),
                                                                              axis=1),), {}))
r2(S, "right", "axis1-index", lambda c: ((lambda s: np.exp(s - s.max(1)[:, None]) / np.exp(s - s.max(1)[:, None]).sum(1)[:, None],), {}))

S = "check_article_mask"
r2(S, "wrong", "diagonal-hidden-too", lambda c: ((c.article_mask & ~np.eye(5, dtype=bool), c.sdp(c.article_mask)[1]), c.mask_kw),
   "mask が違います")
r2(S, "wrong", "scores-times-mask", lambda c: ((c.article_mask, checks.softmax_rows(
    c.qk[0] @ c.qk[1].T / np.sqrt(2) * c.article_mask)), c.mask_kw), "冠詞の列の重みが 0")
r2(S, "wrong", "weights-typed-2-decimals", lambda c: ((c.article_mask, np.round(c.sdp(c.article_mask)[1], 2)), c.mask_kw),
   "小数 2 桁に丸めた値")
r2(S, "wrong", "mask-from-other-sentence", lambda c: ((np.tile(np.array([True, True, True, True, False]), (5, 1)),
                                                      c.sdp(c.article_mask)[1]), c.mask_kw), "違っている列")
r2(S, "right", "minus-1e9", lambda c: ((c.article_mask, checks.softmax_rows(
    np.where(c.article_mask, c.qk[0] @ c.qk[1].T / np.sqrt(2), -1e9))), c.mask_kw))
r2(S, "right", "nested-lists", lambda c: ((c.article_mask.tolist(), c.sdp(c.article_mask)[1].tolist()), c.mask_kw))
r2(S, "right", "key-series", lambda c: ((pd.Series(c.article_mask[0], index=TOKENS01), c.sdp(c.article_mask)[1]), c.mask_kw))

S = "check_split_merge"
r2(S, "wrong", "d-head-hard-coded", lambda c: ((lambda M, h: M.reshape(M.shape[0], h, 4).transpose(1, 0, 2), merge_np), {}),
   "M の形")
r2(S, "wrong", "split-tokens", lambda c: ((lambda M, h: np.array(np.split(M, h, axis=0)) if M.shape[0] % h == 0
                                           else M.reshape(h, M.shape[0], -1), merge_np), {}), "M の形")
r2(S, "wrong", "merge-concat-axis0", lambda c: ((split_np, lambda H: np.concatenate(list(H), axis=0)), {}), "merge_heads")
r2(S, "wrong", "merge-h-hard-coded", lambda c: ((split_np, lambda H: H.transpose(1, 0, 2).reshape(H.shape[1], 2 * H.shape[2])), {}),
   "merge_heads")
r2(S, "right", "via-transpose-of-M", lambda c: ((lambda M, h: M.T.reshape(h, -1, M.shape[0]).transpose(0, 2, 1), merge_np), {}))
r2(S, "right", "torch-chunk-cat", lambda c: ((lambda M, h: torch.stack(torch.chunk(torch.as_tensor(M), h, dim=1)),
                                              lambda H: torch.cat(list(torch.as_tensor(H)), dim=-1)), {}))

S = "check_dot_std"
r2(S, "wrong", "one-pair", lambda c: ((lambda d: float(np.std(np.random.default_rng().normal(size=d)
                                                              @ np.random.default_rng().normal(size=d))),), {}), "ほぼ 0")
r2(S, "wrong", "mean-not-sum", lambda c: ((lambda d: (np.random.default_rng().normal(size=(20000, d))
                                                      * np.random.default_rng().normal(size=(20000, d))).mean(-1).std(),), {}),
   "ほぼ 0")
r2(S, "wrong", "unit-length-vectors", lambda c: ((lambda d: (lambda q, k: (q / np.linalg.norm(q, axis=-1, keepdims=True)
                                                                          * k / np.linalg.norm(k, axis=-1, keepdims=True))
                                                           .sum(-1).std())(np.random.default_rng().normal(size=(20000, d)),
                                                                           np.random.default_rng().normal(size=(20000, d))),),
                                                 {}), "正規化")
r2(S, "wrong", "sum-over-samples", lambda c: ((lambda d: (np.random.default_rng().normal(size=(2000, d))
                                                          * np.random.default_rng().normal(size=(2000, d))).sum(0).std(),), {}),
   "d = ")
r2(S, "wrong", "printed-table-lookup", lambda c: ((lambda d: {4: 2.0, 16: 4.01, 64: 7.98, 256: 16.03}[d],), {}), "dot_std")
r2(S, "wrong", "pre-scaled-vectors", lambda c: ((lambda d: (np.random.default_rng().normal(size=(20000, d)) / np.sqrt(d)
                                                            * np.random.default_rng().normal(size=(20000, d))).sum(-1).std(),), {}),
   "割った後")
r2(S, "right", "all-pairs-matrix", lambda c: ((lambda d: (np.random.default_rng().normal(size=(1500, d))
                                                          @ np.random.default_rng().normal(size=(1500, d)).T).std(),), {}))
r2(S, "right", "float32-result", lambda c: ((lambda d: np.float32(dot_std_np(d)),), {}))
r2(S, "right", "torch-requires-grad", lambda c: ((lambda d: (torch.randn(20000, d, requires_grad=True) * torch.randn(20000, d))
                                                  .sum(-1).std(),), {}))

S = "check_scaling_entropy"
r2(S, "wrong", "log10", lambda c: ((c.scaling[2] / np.log(10), c.scaling[3] / np.log(10)), KW_SCALE(c)), "log10")
r2(S, "wrong", "layers-reversed", lambda c: ((c.scaling[2][::-1], c.scaling[3][::-1]), KW_SCALE(c)), "層の順番が逆")
r2(S, "wrong", "unscaled-is-the-model-attention", lambda c: ((c.scaling[2], c.scaling[2]), KW_SCALE(c)), "√d で割った")
r2(S, "wrong", "entropy-of-head-mean", lambda c: ((checks.row_entropy(c.scaling[0].mean(1)), checks.row_entropy(c.scaling[1].mean(1))),
                                                  KW_SCALE(c)), "ヘッドを平均した重み")
r2(S, "wrong", "rounded-2-decimals", lambda c: ((np.round(c.scaling[2], 2), np.round(c.scaling[3], 2)), KW_SCALE(c)),
   "丸めた値を書き写して")
r2(S, "right", "one-column-dataframe", lambda c: ((pd.DataFrame({"H": c.scaling[2]}), pd.DataFrame({"H": c.scaling[3]})), KW_SCALE(c)))
r2(S, "right", "torch-requires-grad", lambda c: ((torch.tensor(c.scaling[2], requires_grad=True),
                                                  torch.tensor(c.scaling[3], requires_grad=True)), KW_SCALE(c)))
r2(S, "right", "tuple-of-numpy-floats", lambda c: ((tuple(np.float64(v) for v in c.scaling[2]), tuple(c.scaling[3])), KW_SCALE(c)))

S = "check_top_key"
r2(S, "wrong", "head-0-not-11", lambda c: ((c.att.frame(-1, 0).loc["chased"].idxmax(),), KW_TOP(c)), "ヘッド")
r2(S, "wrong", "one-based-position", lambda c: ((int(top_key_scores(c.att).argmax()) + 1,), KW_TOP(c)), "位置は 0 から数えます")
r2(S, "wrong", "second-layer-from-end", lambda c: ((c.att.frame(-2, 11).loc["chased"].idxmax(),), KW_TOP(c)), "層")
r2(S, "right", "torch-argmax", lambda c: ((torch.tensor(top_key_scores(c.att)).argmax(),), KW_TOP(c)))
r2(S, "right", "numpy-str", lambda c: ((np.str_(c.att.frame(-1, 11).loc["chased"].idxmax()),), KW_TOP(c)))
r2(S, "right", "nlargest-list", lambda c: ((list(c.att.frame(-1, 11).loc["chased"].nlargest(1).index),), KW_TOP(c)))

S = "check_previous_token_head"
r2(S, "wrong", "other-sentence", lambda c: ((prev_share(np.asarray(c.att.weights))[:, :], best_of(PS(c))), KW_PREV(c)), "prev_share")
r2(S, "wrong", "best-from-next-token-share", lambda c: ((PS(c), best_of((c.att_long.weights[:, :, :-1].argmax(-1)
                                                                                  == np.arange(1, len(c.att_long))).mean(-1))),
                                                        KW_PREV(c)), "もっと高いヘッド")
r2(S, "wrong", "rounded-2-decimals", lambda c: ((np.round(PS(c), 2), best_of(PS(c))), KW_PREV(c)), "丸めた値を書き写して")
r2(S, "right", "unravel-index-intp", lambda c: ((PS(c), np.unravel_index(PS(c).argmax(), PS(c).shape)), KW_PREV(c)))
r2(S, "right", "torch-requires-grad", lambda c: ((torch.tensor(PS(c), requires_grad=True), best_of(PS(c))), KW_PREV(c)))
r2(S, "right", "stack-idxmax", lambda c: ((pd.DataFrame(PS(c)), pd.DataFrame(PS(c)).stack().idxmax()), KW_PREV(c)))

S = "check_strongest_pair_head"
r2(S, "wrong", "head-only", lambda c: ((int(c.att_swap.pair("chased", "dog").max().idxmax()),), KW_PAIR(c)), "(層, ヘッド)")
r2(S, "wrong", "layer-off-by-one", lambda c: ((((PB(c)[0] + 1) % 6, PB(c)[1]),), KW_PAIR(c)), "最大は第")
r2(S, "wrong", "key-the", lambda c: ((pair_best(c.att_swap, "chased", "the_4"),), KW_PAIR(c)), "最大は第")
r2(S, "right", "unravel-index", lambda c: ((np.unravel_index(c.att_swap.pair("chased", "dog").to_numpy().argmax(), (6, 12)),),
                                           KW_PAIR(c)))
r2(S, "right", "L-H-no-dash", lambda c: (("L{}H{}".format(*PB(c)),), KW_PAIR(c)))
r2(S, "right", "numpy-int64-list", lambda c: (([np.int64(v) for v in PB(c)],), KW_PAIR(c)))

S = "check_cls_head_figure"
r2(S, "wrong", "drawn-one-based", lambda c: ((CB(c), heatmap(c.att, min(CB(c)[0] + 1, 5), (CB(c)[1] + 1) % 12)), KW_CLS(c)),
   "を描きましょう")
r2(S, "wrong", "drawn-layer-mean", lambda c: ((CB(c), (lambda f: (f.axes[0].imshow(c.att.weights[CB(c)[0]].mean(0)), f)[1])(
    plt.figure().add_subplot().figure)), KW_CLS(c)), "一致しません")
r2(S, "wrong", "bar-of-cls-column", lambda c: ((CB(c), (lambda f: (f.axes[0].bar(range(len(c.att)), c.att.weights[CB(c)][:, 0]), f)[1])(
    plt.figure().add_subplot().figure)), KW_CLS(c)), "見つかりません")
r2(S, "right", "imshow-dataframe", lambda c: ((CB(c), (lambda f: (f.axes[0].imshow(c.att.frame(*CB(c))), f)[1])(
    plt.figure().add_subplot().figure)), KW_CLS(c)))
r2(S, "right", "two-panels", lambda c: ((CB(c), (lambda f: (f.axes[0].imshow(c.att.weights[0, 0]), f.axes[1].imshow(c.att.weights[CB(c)]),
                                                            f)[2])(plt.subplots(1, 2)[0])), KW_CLS(c)))
r2(S, "right", "numpy-ints", lambda c: ((np.array(CB(c), dtype=np.int64), heatmap(c.att, *CB(c))), KW_CLS(c)))

S = "check_row_entropy"
r2(S, "wrong", "big-epsilon", lambda c: ((lambda w: -(w * np.log(w + 1e-3)).sum(-1).mean(-1),), KW_ENT(c)), "my_entropy")
r2(S, "wrong", "scipy-default-axis", lambda c: ((lambda w: scipy.stats.entropy(w).mean(-1),), KW_ENT(c)), "axis=-1 を付けましょう")
r2(S, "wrong", "scipy-base2", lambda c: ((lambda w: scipy.stats.entropy(w, base=2, axis=-1).mean(-1),), KW_ENT(c)), "log2")
r2(S, "wrong", "entropy-of-mean-row", lambda c: ((lambda w: -(w.mean(-2) * np.log(np.where(w.mean(-2) > 0, w.mean(-2), 1))).sum(-1),),
                                                 KW_ENT(c)), "my_entropy")
r2(S, "right", "nansum", lambda c: ((lambda w: np.nansum(-(w * np.log(w)), axis=-1).mean(-1),), KW_ENT(c)))
r2(S, "right", "torch-categorical", lambda c: ((lambda w: torch.distributions.Categorical(probs=torch.as_tensor(w)).entropy().mean(-1),),
                                               KW_ENT(c)))
r2(S, "right", "masked-log", lambda c: ((lambda w: -(w * np.ma.log(w).filled(0)).sum(-1).mean(-1),), KW_ENT(c)))

S = "check_rollout_three"
r2(S, "wrong", "right-multiplied", lambda c: (((lambda w: (lambda a: a[0] @ a[1] @ a[2])(
    [(0.5 * l.mean(0) + 0.5 * np.eye(len(c.att))) for l in w]))(c.att.weights[:3].astype(float)),), KW_RO(c)), "順番が逆")
r2(S, "wrong", "head-0-only", lambda c: ((rollout_np(c.att.weights[:3, :1].astype(float), 0.5),), KW_RO(c)), "ヘッド")
r2(S, "wrong", "typed-3-decimals", lambda c: ((np.round(R3(c), 3),), KW_RO(c)), "小数 3 桁に丸めた値")
r2(S, "wrong", "last-three-layers", lambda c: ((rollout_np(c.att.weights[-3:].astype(float), 0.5),), KW_RO(c)), "最後の 3 層")
r2(S, "right", "list-of-lists", lambda c: ((R3(c).tolist(),), KW_RO(c)))
r2(S, "right", "torch-requires-grad", lambda c: ((torch.tensor(R3(c), requires_grad=True),), KW_RO(c)))
r2(S, "right", "float32", lambda c: ((R3(c).astype(np.float32),), KW_RO(c)))

S = "check_stats_argmax"
r2(S, "wrong", "unstack-idxmax", lambda c: ((c.stats["next"].unstack().idxmax(),), KW_ST(c)), "(層, ヘッド)")
r2(S, "wrong", "row-of-stats", lambda c: ((c.stats.loc[NB(c)],), KW_ST(c)), "(層, ヘッド)")
r2(S, "wrong", "layer-only-one-based", lambda c: ((((NB(c)[0] + 1) % 6, NB(c)[1]),), KW_ST(c)), "最大は第")
r2(S, "right", "nlargest-index", lambda c: ((c.stats["next"].nlargest(1).index,), KW_ST(c)))
r2(S, "right", "idxmax-of-frame", lambda c: ((c.stats.idxmax()["next"],), KW_ST(c)))
r2(S, "right", "list-numpy-ints", lambda c: (([np.int64(v) for v in NB(c)],), KW_ST(c)))

S = "check_word_weight"
r2(S, "wrong", "other-head", lambda c: ((c.split[1].frame(0, 1).loc["uncovered", "extraordinarily"],), KW_WW(c)), "ヘッド")
r2(S, "wrong", "two-pieces", lambda c: ((word_row(c).iloc[:2].sum(),), KW_WW(c)), "値が合っていません")
r2(S, "wrong", "typed-3-decimals", lambda c: ((round(float(word_row(c).sum()), 3),), KW_WW(c)), "丸めた値を書き写して")
r2(S, "wrong", "row-max", lambda c: ((c.split[1].frame(0, 0).loc["uncovered"].max(),), KW_WW(c)), "値が合っていません")
r2(S, "right", "float32", lambda c: ((np.float32(word_row(c).sum()),), KW_WW(c)))
r2(S, "right", "torch-requires-grad", lambda c: ((torch.tensor(float(word_row(c).sum()), requires_grad=True),), KW_WW(c)))
r2(S, "right", "one-element-list", lambda c: (([float(word_row(c).sum())],), KW_WW(c)))

S = "check_split_words"
r2(S, "wrong", "alphabetical", lambda c: ((sorted(WANT_SW),), KW_SW(c)), "順番")
r2(S, "wrong", "long-words", lambda c: (([w for w in c.v3.word_tokenizer.tokenize(JA_TEXT) if len(w) > 1],), KW_SW(c)), "合っていません")
r2(S, "wrong", "whole-text", lambda c: (([JA_TEXT],), KW_SW(c)), "合っていません")
r2(S, "wrong", "pieces-joined", lambda c: ((["昨 ##日", "手 ##作り", "マフ ##ィ ##ン"],), KW_SW(c)), "合っていません")
r2(S, "right", "pandas-index", lambda c: ((pd.Index(WANT_SW),), KW_SW(c)))
r2(S, "right", "numpy-str-items", lambda c: (([np.str_(w) for w in WANT_SW],), KW_SW(c)))
r2(S, "right", "dict-word-count", lambda c: (({w: len(c.v3.subword_tokenizer.tokenize(w)) for w in WANT_SW},), KW_SW(c)))

S = "check_particle_target"
r2(S, "wrong", "max-over-heads", lambda c: (("猫", c.words_ja.labels[int(np.where(np.isfinite(particle_row(c.words_ja)),
                                                                                 c.words_ja.weights[-1, :, 6].max(0), -np.inf).argmax())]),
                                            KW_PT(c)), "ヘッドの最大")
r2(S, "wrong", "one-based-position", lambda c: (("猫", int(particle_row(c.words_ja).argmax()) + 1), KW_PT(c)), "「を」")
r2(S, "wrong", "guess-copied-as-answer", lambda c: (("犬", "犬"), KW_PT(c)), "ヘッド 0 だけ")
r2(S, "right", "numpy-int", lambda c: (("猫", np.int64(particle_row(c.words_ja).argmax())), KW_PT(c)))
r2(S, "right", "torch-argmax", lambda c: (("猫", torch.tensor(particle_row(c.words_ja)).argmax()), KW_PT(c)))
r2(S, "right", "one-element-index", lambda c: (("猫", pd.Series(particle_row(c.words_ja), index=c.words_ja.labels).nlargest(1).index),
                                               KW_PT(c)))

S = "check_order_shares"
r2(S, "wrong", "last-layer-only", lambda c: (({t: float((x.pair("追う", "犬") > x.pair("追う", "猫")).to_numpy()[-1].mean())
                                               for t, x in c.order_atts.items()},), KW_OS(c)), "割合")
r2(S, "wrong", "mean-difference", lambda c: (({t: float((x.pair("追う", "犬") - x.pair("追う", "猫")).to_numpy().mean())
                                               for t, x in c.order_atts.items()},), KW_OS(c)), "割合")
r2(S, "wrong", "typed-2-decimals", lambda c: (({t: round(v, 2) for t, v in order_shares(c.order_atts).items()},), KW_OS(c)), "丸めた値を書き写して")
r2(S, "right", "one-column-dataframe", lambda c: ((pd.DataFrame({"share": order_shares(c.order_atts)}),), KW_OS(c)))
r2(S, "right", "torch-values", lambda c: (({t: torch.tensor(v) for t, v in order_shares(c.order_atts).items()},), KW_OS(c)))
r2(S, "right", "tuple-in-order", lambda c: ((tuple(order_shares(c.order_atts).values()),), KW_OS(c)))

S = "check_entropy_pair"
r2(S, "wrong", "entropy-of-head-mean", lambda c: ((float(checks.row_entropy(c.entropy_pair[0].weights.mean(1)).mean() / np.log(11)),
                                                   EP(c)[1]), KW_EP(c)), "trained")
r2(S, "wrong", "same-model-twice", lambda c: ((EP(c)[0], EP(c)[0]), KW_EP(c)), "untrained")
r2(S, "wrong", "ln-of-words-only", lambda c: ((EP(c)[0] * np.log(11) / np.log(9), EP(c)[1] * np.log(11) / np.log(9)), KW_EP(c)),
   "特殊トークンを除いた数")
r2(S, "right", "rounded-within-float-noise", lambda c: ((EP(c)[0] + 1e-7, EP(c)[1] - 1e-7), KW_EP(c)))
r2(S, "wrong", "log-n-minus-one", lambda c: ((EP(c)[0] * np.log(11) / np.log(10), EP(c)[1]), KW_EP(c)), "trained")
r2(S, "wrong", "median", lambda c: ((float(np.median(checks._row_entropies(c.entropy_pair[0].weights)) / np.log(11)), EP(c)[1]),
                                    KW_EP(c)), "trained")
r2(S, "right", "float32", lambda c: (tuple(np.float32(v) for v in EP(c)), KW_EP(c)))
r2(S, "right", "torch-requires-grad", lambda c: (tuple(torch.tensor(v, requires_grad=True) for v in EP(c)), KW_EP(c)))
r2(S, "right", "mean-of-layer-means", lambda c: (tuple(float((checks.row_entropy(a.weights).mean(-1) / np.log(11)).mean())
                                                       for a in c.entropy_pair[:2]), KW_EP(c)))

S = "check_weight_vs_norm"
r2(S, "wrong", "one-based-positions", lambda c: ((int(BW(c).argmax()) + 1, int(BN(c).argmax()) + 1), KW_WN(c)), "位置は 0 から数えます")
r2(S, "wrong", "norm-other-layer", lambda c: ((int(BW(c).argmax()), int(c.norms[2, 1, 3].argmax())), KW_WN(c)), "ノルムで 1 位")
r2(S, "right", "frame-idxmax", lambda c: ((c.att.frame(4, 1).loc["chased"].idxmax(), int(BN(c).argmax())), KW_WN(c)))
r2(S, "right", "torch-argmax", lambda c: ((torch.tensor(BW(c)).argmax(), torch.tensor(BN(c)).argmax()), KW_WN(c)))
r2(S, "right", "negative-positions", lambda c: ((int(BW(c).argmax()) - len(c.att), int(BN(c).argmax()) - len(c.att)), KW_WN(c)))

S = "check_my_rollout"
r2(S, "wrong", "n-hard-coded", lambda c: ((lambda w, r: rollout_np(w[..., :7, :7], r) if w.shape[-1] >= 7 else np.eye(7),), KW_MR(c)),
   "my_rollout")
r2(S, "wrong", "head-0-only", lambda c: ((lambda w, r: rollout_np(w[:, :1], r),), KW_MR(c)), "my_rollout")
r2(S, "wrong", "right-multiplied", lambda c: ((lambda w, r: rollout_np(w[::-1], r).T.T if False else (
    lambda a: np.linalg.multi_dot(a) if len(a) > 1 else a[0])([(1 - r) * l.mean(0) + r * np.eye(w.shape[-1]) for l in w]),), KW_MR(c)),
   "順番が逆")
r2(S, "right", "functools-reduce", lambda c: ((lambda w, r: __import__("functools").reduce(
    lambda acc, l: ((1 - r) * l.mean(0) + r * np.eye(w.shape[-1])) @ acc, w, np.eye(w.shape[-1])),), KW_MR(c)))
r2(S, "right", "torch-float32", lambda c: ((lambda w, r: rollout_torch(torch.as_tensor(w, dtype=torch.float32).double(), r),), KW_MR(c)))
r2(S, "right", "dataframe-result", lambda c: ((lambda w, r: pd.DataFrame(rollout_np(w, r)),), KW_MR(c)))

S = "check_masking_change"
r2(S, "wrong", "typed-printed-3-decimals", lambda c: ((round(c.masking, 3),), KW_MC(c)), "丸めた値を書き写して")
r2(S, "wrong", "squared-norms", lambda c: ((float(((hidden(c)[1] - hidden(c)[0]).norm() / hidden(c)[0].norm()) ** 2),), KW_MC(c)),
   "値が合っていません")
r2(S, "wrong", "norm-difference", lambda c: ((float(abs(hidden(c)[1].norm() - hidden(c)[0].norm()) / hidden(c)[0].norm()),), KW_MC(c)),
   "値が合っていません")
r2(S, "right", "one-element-list", lambda c: (([c.masking],), KW_MC(c)))
r2(S, "right", "torch-requires-grad", lambda c: ((torch.tensor(c.masking, requires_grad=True),), KW_MC(c)))
r2(S, "right", "one-element-tensor", lambda c: ((torch.tensor([c.masking]),), KW_MC(c)))

S = "check_offset_accuracy"
r2(S, "wrong", "typed-2-decimals", lambda c: (({k: round(v, 2) for k, v in oacc(c).items()},), KW_OA(c)), "丸めた値を書き写して")
r2(S, "wrong", "abs-offset", lambda c: (({k: float(np.mean([abs(e["verb"] - e["obj"]) == k for e in c.examples])) for k in OFF5},),
                                        KW_OA(c)), "向きが逆")
r2(S, "wrong", "values-reversed", lambda c: ((dict(zip(OFF5, list(oacc(c).values())[::-1])),), KW_OA(c)), "向きが逆")
r2(S, "right", "head-minus-dep", lambda c: (({k: float(np.mean([e["verb"] - e["obj"] == k for e in c.examples])) for k in OFF5},),
                                            KW_OA(c)))
r2(S, "right", "numpy-int-keys", lambda c: (({np.int64(k): np.float32(v) for k, v in oacc(c).items()},), KW_OA(c)))
r2(S, "right", "one-column-dataframe", lambda c: ((pd.DataFrame({"acc": oacc(c)}),), KW_OA(c)))

S = "check_relation_pairs"
r2(S, "wrong", "lowercased", lambda c: (([(d.lower(), h.lower()) for d, h in det_pairs(c)],), KW_RP(c))
   if any(w != w.lower() for p in det_pairs(c) for w in p) else (([(d, h.upper()) for d, h in det_pairs(c)],), KW_RP(c)), "組が違います")
r2(S, "wrong", "heads-not-words", lambda c: (([(d, i) for d, i in zip(
    [w for w, r in zip(c.example.words, c.example.relations) if r.split(":")[0] == "det"],
    [h for h, r in zip(c.example.heads, c.example.relations) if r.split(":")[0] == "det"])],), KW_RP(c)), "単語")
r2(S, "wrong", "other-relation", lambda c: (([(w, c.example.words[h - 1]) for w, h, r in zip(c.example.words, c.example.heads,
                                                                                             c.example.relations) if r == "nsubj"],),
                                            KW_RP(c)), "組が違います")
r2(S, "right", "dataframe-values", lambda c: ((pd.DataFrame(det_pairs(c)).values,), KW_RP(c)))
r2(S, "right", "zip-object", lambda c: ((zip(*zip(*det_pairs(c))),), KW_RP(c)))
r2(S, "right", "numpy-str-pairs", lambda c: (([(np.str_(d), np.str_(h)) for d, h in det_pairs(c)],), KW_RP(c)))

S = "check_head_accuracy"
r2(S, "wrong", "denominator-all-words", lambda c: ((lambda m, h: head_acc(m, h) * int((np.array(h) > 0).sum()) / len(h),), {}),
   "根")
r2(S, "wrong", "n-hard-coded", lambda c: ((lambda m, h: head_acc(np.asarray(m)[:3, :3], list(h)[:3]),), {}), "正解率")
r2(S, "wrong", "second-largest", lambda c: ((lambda m, h: float((np.argsort(np.asarray(m), -1)[:, -2] + 1 == np.array(h))[
    np.array(h) > 0].mean()),), {}), "正解率")
r2(S, "right", "diagonal-zero", lambda c: ((lambda m, h: float(((np.asarray(m) * (1 - np.eye(len(m)))).argmax(-1) + 1
                                                                 == np.array(h))[np.array(h) > 0].mean()),), {}))
r2(S, "right", "pandas", lambda c: ((lambda m, h: float(pd.DataFrame(np.where(np.eye(len(m), dtype=bool), -np.inf, m)).idxmax(axis=1)
                                                        .add(1).eq(pd.Series(h)).loc[pd.Series(h) > 0].mean()),), {}))
r2(S, "right", "returns-numpy-float32", lambda c: ((lambda m, h: np.float32(head_acc(m, h)),), {}))

S = "check_treebank_offsets"
r2(S, "wrong", "clipped-at-end-only", lambda c: ((_clip_variant(c, lo=None, rel="root"),), {**KW_TB(c), "relation": "root"}),
   "0 = ROOT")
r2(S, "wrong", "clipped-to-first-word", lambda c: ((_clip_variant(c, lo=1, rel="root"),), {**KW_TB(c), "relation": "root"}),
   "ROOT (0) にします")
r2(S, "right", "same-numbers-when-clipping-at-0-cannot-matter", lambda c: ((_clip_variant(c, lo=None),), KW_TB(c)))
r2(S, "wrong", "typed-2-decimals", lambda c: (({k: round(v, 2) for k, v in offsets_by_hand(c.en, "amod", OFF6).items()},), KW_TB(c)),
   "丸めた値を書き写して")
r2(S, "right", "numpy-int-keys", lambda c: (({np.int64(k): v for k, v in offsets_by_hand(c.en, "amod", OFF6).items()},), KW_TB(c)))
r2(S, "right", "one-column-dataframe", lambda c: ((pd.DataFrame({"acc": offsets_by_hand(c.en, "amod", OFF6)}),), KW_TB(c)))
r2(S, "right", "string-keys", lambda c: (({f"{k:+d}": v for k, v in offsets_by_hand(c.en, "amod", OFF6).items()},), KW_TB(c)))


def _clip_variant(c, lo, rel="amod"):
    """Clipped only at the end (lo=None) or to the first word (lo=1) instead of ROOT; for amod (never the root)
    the lower clip cannot change a number, so both give the right answer there; for root they do not."""
    hits, total = {k: 0 for k in OFF6}, 0
    for s in c.en:
        n = len(s.heads)
        for i, (h, r) in enumerate(zip(s.heads, s.relations), start=1):
            if r.split(":")[0] == rel:
                total += 1
                for k in OFF6:
                    pred = min(i + k, n)
                    if lo is not None:
                        pred = max(lo, pred)
                    hits[k] += h == pred
    return {k: hits[k] / total for k in OFF6}


S = "check_order_flip"
r2(S, "wrong", "first-minus-second-noun", lambda c: (({t: (1 if i == 0 else -1) * v for i, (t, v) in enumerate(
    flip_diffs(c.order_flip()).items())}, "役割"), KW_OF(c)), "文によって違います")
r2(S, "wrong", "query-key-swapped", lambda c: (({t: float(x.weights[2, 1, x.position("犬"), x.position("追う")]
                                                         - x.weights[2, 1, x.position("猫"), x.position("追う")])
                                                 for t, x in c.order_flip().items()}, "位置"), KW_OF(c)), "query と key が逆")
r2(S, "wrong", "layer-head-swapped", lambda c: ((flip_diffs(c.order_flip(), layer=1, head=2), "位置"), KW_OF(c)), "順番が逆")
r2(S, "wrong", "head-off-by-one", lambda c: ((flip_diffs(c.order_flip(), head=2), "位置"), KW_OF(c)), "1 つずれて")
r2(S, "wrong", "a-only", lambda c: (({t: float(x.pair("追う", "犬").to_numpy()[2, 1]) for t, x in c.order_flip().items()}, "位置"),
                                    KW_OF(c)), "引いていません")
r2(S, "wrong", "absolute", lambda c: (({t: abs(v) for t, v in flip_diffs(c.order_flip()).items()}, "役割"), KW_OF(c)), "絶対値")
r2(S, "wrong", "percent", lambda c: (({t: 100 * v for t, v in flip_diffs(c.order_flip()).items()}, "位置"), KW_OF(c)), "パーセント")
r2(S, "wrong", "typed-3-decimals", lambda c: (({t: round(v, 3) for t, v in flip_diffs(c.order_flip()).items()}, "位置"), KW_OF(c)),
   "小数 3 桁に丸めた値")
r2(S, "wrong", "layer-mean", lambda c: ((flip_mean(c.order_flip(), 0), "位置"), KW_OF(c)), "層の平均")
r2(S, "right", "torch-requires-grad", lambda c: (({t: torch.tensor(v, requires_grad=True) for t, v in flip_diffs(c.order_flip()).items()},
                                                  "Position"), KW_OF(c)))
r2(S, "right", "numpy-int-layer-head", lambda c: ((flip_diffs(c.order_flip()), "位置。"), {**KW_OF(c), "layer": np.int64(2),
                                                                                          "head": np.int64(1)}))


# ======================================= notebook 07 (the toy BERT) =======================================

# --- check_subject_first ---
S = "check_subject_first"
KW_SF = lambda c: dict(corpora=c.toy_corpora)  # noqa: E731


def sf_share(corpus, first=lambda s: s.relations.index("nsubj") < s.relations.index("obj")):
    return float(np.mean([first(s) for s in corpus]))


SF = lambda c: {o: sf_share(cp) for o, cp in c.toy_corpora.items()}  # noqa: E731
add(S, "right", "dict-floats", lambda c: ((1.0, SF(c)), KW_SF(c)))
add(S, "right", "series", lambda c: ((np.float64(0.5), pd.Series(SF(c), name="が の名詞が先の割合")), KW_SF(c)))
add(S, "right", "torch-values", lambda c: ((torch.tensor(1.0), {k: torch.tensor(v) for k, v in SF(c).items()}), KW_SF(c)))
add(S, "right", "one-column-dataframe", lambda c: (([0.9], pd.DataFrame({"share": SF(c)})), KW_SF(c)))
add(S, "right", "numpy-1-element-words-index", lambda c: ((np.array([1.0]), {o: np.array([sf_share(
    cp, lambda s: s.words.index("が") < s.words.index("を"))]) for o, cp in c.toy_corpora.items()}), KW_SF(c)))
add(S, "right", "counted-with-float32", lambda c: ((1, {k: np.float32(v) for k, v in SF(c).items()}), KW_SF(c)))
add(S, "right", "one-row-dataframe", lambda c: ((1.0, pd.DataFrame([SF(c)])), KW_SF(c)))
add(S, "wrong", "object-first", lambda c: ((1.0, {k: 1 - v for k, v in SF(c).items()}), KW_SF(c)), "を の名詞が先")
add(S, "wrong", "corpora-swapped", lambda c: ((1.0, {"sov": SF(c)["scrambled"], "scrambled": SF(c)["sov"]}), KW_SF(c)),
    "入れ替わって")
add(S, "wrong", "percent", lambda c: ((1.0, {k: 100 * v for k, v in SF(c).items()}), KW_SF(c)), "パーセントで書いて")
add(S, "wrong", "counts", lambda c: ((1.0, {o: float(sum(s.relations.index("nsubj") < s.relations.index("obj") for s in cp))
                                             for o, cp in c.toy_corpora.items()}), KW_SF(c)), "文の数 (900) で割って")
add(S, "wrong", "typed-printed-3-decimals", lambda c: ((1.0, pd.Series(SF(c)).round(3)), KW_SF(c)), "小数 3 桁に丸めた値")
add(S, "wrong", "sov-counted-twice", lambda c: ((1.0, {o: SF(c)["sov"] for o in c.toy_corpora}), KW_SF(c)),
    "どのコーパスにも 'sov' の値")
add(S, "wrong", "scrambled-counted-twice", lambda c: ((1.0, {o: SF(c)["scrambled"] for o in c.toy_corpora}), KW_SF(c)),
    "どのコーパスにも 'scrambled' の値")
add(S, "wrong", "first-word-is-subject", lambda c: ((1.0, {o: sf_share(cp, lambda s: s.relations[0] == "nsubj")
                                                           for o, cp in c.toy_corpora.items()}), KW_SF(c)), "文の先頭の単語")
add(S, "wrong", "divided-by-both-corpora", lambda c: ((1.0, {k: v / 2 for k, v in SF(c).items()}), KW_SF(c)),
    "全部のコーパスの文の数で割って")
add(S, "wrong", "compared-heads", lambda c: ((1.0, {o: sf_share(cp, lambda s: s.heads[s.relations.index("nsubj")]
                                                                   < s.heads[s.relations.index("obj")])
                                                    for o, cp in c.toy_corpora.items()}), KW_SF(c)), "係り先 (heads)")
add(S, "wrong", "half-assumed", lambda c: ((1.0, {"sov": 1.0, "scrambled": 0.5}), KW_SF(c)), "実際に数えた割合")
add(S, "wrong", "far-off", lambda c: ((1.0, {"sov": 1.0, "scrambled": 0.3}), KW_SF(c)), "shares['scrambled'] が違います")
add(S, "wrong", "guess-in-percent", lambda c: ((100, SF(c)), KW_SF(c)), "予想 my_guess は割合")
add(S, "malformed", "guess-text", lambda c: (("100%", SF(c)), KW_SF(c)), "文字列")
add(S, "malformed", "guess-bool", lambda c: ((True, SF(c)), KW_SF(c)), "True/False")
add(S, "malformed", "list", lambda c: ((1.0, [1.0, 0.5]), KW_SF(c)), "どれがどのコーパス")
add(S, "malformed", "one-key-missing", lambda c: ((1.0, {"sov": 1.0}), KW_SF(c)), "キーは")
add(S, "malformed", "text-value", lambda c: ((1.0, {"sov": "abc", "scrambled": 0.5}), KW_SF(c)), "文字列")
add(S, "malformed", "object-value", lambda c: ((1.0, {"sov": object(), "scrambled": 0.5}), KW_SF(c)), "読めませんでした")
add(S, "malformed", "value-pair", lambda c: ((1.0, {"sov": [1.0, 1.0], "scrambled": 0.5}), KW_SF(c)), "数 1 つ")
add(S, "malformed", "two-column-table", lambda c: ((1.0, pd.DataFrame({"a": SF(c), "b": SF(c)})), KW_SF(c)), "2 行 2 列")
add(S, "malformed", "nan", lambda c: ((1.0, {"sov": 1.0, "scrambled": float("nan")}), KW_SF(c)), "0 での割り算")
add(S, "note", "placeholders", lambda c: ((None, None), KW_SF(c)), ex.GUESS_FIRST)
add(S, "note", "guess-empty-string", lambda c: (("", SF(c)), KW_SF(c)), ex.GUESS_FIRST)
add(S, "note", "shares-None", lambda c: ((1.0, None), KW_SF(c)), ex.NOT_YET)
add(S, "right", "verdict-guess-right", lambda c: ((1.0, SF(c)), KW_SF(c)), "予想どおり")
add(S, "right", "verdict-guess-wrong", lambda c: ((0.5, SF(c)), KW_SF(c)), "予想 (0.5) とは違いました")

# --- check_role_position_by_hand ---
S = "check_role_position_by_hand"
KW_RPH = lambda c, layer=1, head=3: dict(effects=c.toy_effects, layer=layer, head=head)  # noqa: E731


def rp_by_hand(effects, layer=1, head=3):
    d = np.asarray(effects.role)[:, layer, head]
    second = np.asarray(effects.a_is_second)
    return float(d.mean()), float(np.where(second, d, -d).mean())


RP = lambda c: rp_by_hand(c.toy_effects)  # noqa: E731
D = lambda c: c.toy_effects.role[:, 1, 3]  # noqa: E731
SEC = lambda c: c.toy_effects.a_is_second  # noqa: E731
add(S, "right", "floats", lambda c: (RP(c), KW_RPH(c)))
add(S, "right", "R-P-properties", lambda c: ((c.toy_effects.R[1, 3], c.toy_effects.P[1, 3]), KW_RPH(c)))
add(S, "right", "float32-and-1-element-array", lambda c: ((np.float32(RP(c)[0]), np.array([RP(c)[1]])), KW_RPH(c)))
add(S, "right", "torch", lambda c: ((torch.tensor(D(c)).mean(), torch.tensor([RP(c)[1]])), KW_RPH(c)))
add(S, "right", "list-and-series", lambda c: (([RP(c)[0]], pd.Series([RP(c)[1]])), KW_RPH(c)))
add(S, "right", "negative-layer-head", lambda c: (RP(c), KW_RPH(c, layer=-1, head=-1)))
add(S, "right", "trained-toy-model", lambda c: (rp_by_hand(c.toy_trained_effects, 1, 2),
                                                dict(effects=c.toy_trained_effects, layer=1, head=2)))
add(S, "wrong", "R-P-swapped", lambda c: (RP(c)[::-1], KW_RPH(c)), "入れ替わって")
add(S, "wrong", "P-sign", lambda c: ((RP(c)[0], -RP(c)[1]), KW_RPH(c)), "符号が逆")
add(S, "wrong", "P-second-inverted", lambda c: ((RP(c)[0], np.where(~SEC(c), D(c), -D(c)).mean()), KW_RPH(c)), "符号が逆")
add(S, "wrong", "R-absolute", lambda c: ((np.abs(D(c)).mean(), RP(c)[1]), KW_RPH(c)), "絶対値")
add(S, "wrong", "other-head", lambda c: ((c.toy_effects.R[0, 2], RP(c)[1]), KW_RPH(c)), "ほかのヘッド (層 0、ヘッド 2)")
add(S, "wrong", "layer-head-swapped", lambda c: (rp_by_hand(c.toy_effects, 1, 0), KW_RPH(c, layer=0, head=1)), "順番が逆")
add(S, "wrong", "R-one-order", lambda c: ((D(c)[SEC(c)].mean(), RP(c)[1]), KW_RPH(c)), "片方の語順")
add(S, "wrong", "P-one-order", lambda c: ((RP(c)[0], D(c)[SEC(c)].mean()), KW_RPH(c)), "片方の語順")
add(S, "wrong", "P-equals-R", lambda c: ((RP(c)[0], RP(c)[0]), KW_RPH(c)), "P が R と同じ")
add(S, "wrong", "P-first-order-zeroed", lambda c: ((RP(c)[0], (D(c) * SEC(c)).mean()), KW_RPH(c)), "0 にしています")
add(S, "wrong", "P-difference-of-means", lambda c: ((RP(c)[0], D(c)[SEC(c)].mean() - D(c)[~SEC(c)].mean()), KW_RPH(c)),
    "語順ごとの平均の差")
add(S, "wrong", "R-layer-mean", lambda c: ((c.toy_effects.role[:, 1].mean(), RP(c)[1]), KW_RPH(c)), "全ヘッドで平均")
add(S, "wrong", "R-all-mean", lambda c: ((c.toy_effects.role.mean(), RP(c)[1]), KW_RPH(c)), "全部の層とヘッド")
add(S, "wrong", "R-sum", lambda c: ((D(c).sum(), RP(c)[1]), KW_RPH(c)), "合計")
add(S, "wrong", "R-median", lambda c: ((np.median(D(c)), RP(c)[1]), KW_RPH(c)), "中央値")
add(S, "wrong", "R-is-P", lambda c: ((RP(c)[1], RP(c)[1]), KW_RPH(c)), "位置の効果 P")
add(S, "wrong", "R-mass", lambda c: ((c.toy_effects.mass[:, 1, 3].mean(), RP(c)[1]), KW_RPH(c)), "mass")
add(S, "wrong", "P-other-head", lambda c: ((RP(c)[0], c.toy_effects.P[0, 1]), KW_RPH(c)), "ほかのヘッド (層 0、ヘッド 1) の P")
add(S, "wrong", "typed-printed-3-decimals", lambda c: (tuple(round(v, 3) for v in RP(c)), KW_RPH(c)), "小数 3 桁に丸めた値")
add(S, "wrong", "P-typed-printed-2-decimals", lambda c: ((RP(c)[0], round(RP(c)[1], 2)), KW_RPH(c)), "小数 2 桁に丸めた値")
add(S, "wrong", "R-off-by-1e-3", lambda c: ((RP(c)[0] + 1e-3, RP(c)[1]), KW_RPH(c)), "R_by_hand が違います")
add(S, "malformed", "per-head-array", lambda c: ((c.toy_effects.R, RP(c)[1]), KW_RPH(c)), "数 1 つ")
add(S, "malformed", "per-sentence-vector", lambda c: ((D(c), RP(c)[1]), KW_RPH(c)), "数 1 つ")
add(S, "malformed", "every-layer", lambda c: ((c.toy_effects.role[:, :, 3].mean(0), RP(c)[1]), KW_RPH(c)), "[文, 層, ヘッド] の順")
add(S, "malformed", "text", lambda c: (("0.3", RP(c)[1]), KW_RPH(c)), "文字列")
add(S, "malformed", "object", lambda c: ((object(), RP(c)[1]), KW_RPH(c)), "読めませんでした")
add(S, "malformed", "nan-from-empty-mean", lambda c: ((np.float64("nan"), RP(c)[1]), KW_RPH(c)), "空のリストの平均")
add(S, "malformed", "layer-one-based", lambda c: (RP(c), KW_RPH(c, layer=2, head=3)), "範囲の外")
add(S, "note", "placeholders", lambda c: ((None, None), KW_RPH(c)), ex.NOT_YET)
add(S, "note", "P-placeholder", lambda c: ((RP(c)[0], ...), KW_RPH(c)), ex.NOT_YET)

# --- check_exact_ceiling ---
S = "check_exact_ceiling"
KW_EC = lambda c: dict(verbs=au.toy.VERBS)  # noqa: E731
add(S, "right", "float", lambda c: ((0.25,), KW_EC(c)))
add(S, "right", "from-the-grammar", lambda c: ((1 / len(au.toy.VERBS["animal"]),), KW_EC(c)))
add(S, "right", "fraction", lambda c: ((Fraction(1, 4),), KW_EC(c)))
add(S, "right", "numpy-float32", lambda c: ((np.float32(0.25),), KW_EC(c)))
add(S, "right", "torch", lambda c: ((torch.tensor(0.25),), KW_EC(c)))
add(S, "right", "one-element-list", lambda c: (([0.25],), KW_EC(c)))
add(S, "right", "series-mean", lambda c: ((pd.Series({k: 1 / len(v) for k, v in au.toy.VERBS.items()}).mean(),), KW_EC(c)))
add(S, "right", "three-per-class", lambda c: ((1 / 3,), dict(verbs={"a": list("xyz"), "b": list("uvw")})))
add(S, "wrong", "class-ceiling", lambda c: ((1.0,), KW_EC(c)), "どの動詞かは主語からは決まりません")
add(S, "wrong", "chance-over-all-verbs", lambda c: ((1 / 12,), KW_EC(c)), "何も分からないとき")
add(S, "wrong", "chance-over-classes", lambda c: ((1 / 3,), KW_EC(c)), "クラスを当てずっぽう")
add(S, "wrong", "error-rate", lambda c: ((0.75,), KW_EC(c)), "外れる割合")
add(S, "wrong", "percent", lambda c: ((25,), KW_EC(c)), "パーセント")
add(S, "wrong", "miscounted", lambda c: ((1 / 3,), dict(verbs={"a": list("wxyz"), "b": list("abcd")})), "何個か数え直し")
add(S, "wrong", "miscounted-up", lambda c: ((0.2,), KW_EC(c)), "何個か数え直し")
add(S, "wrong", "verbs-per-class", lambda c: ((4,), KW_EC(c)), "1 クラスの動詞の数")
add(S, "wrong", "verbs-in-all", lambda c: ((12,), KW_EC(c)), "動詞の総数")
add(S, "wrong", "measured-exact-accuracy", lambda c: ((0.2475,), KW_EC(c)), "測った正解率")
add(S, "wrong", "measured-class-accuracy", lambda c: ((0.985,), KW_EC(c)), "クラス (class) の正解率")
add(S, "wrong", "typed-printed-2-decimals", lambda c: ((0.33,), dict(verbs={"a": list("xyz"), "b": list("uvw")})),
    "小数 2 桁に丸めた値")
add(S, "wrong", "far-off", lambda c: ((0.5,), KW_EC(c)), "ceiling が違います")
add(S, "wrong", "near-but-not-near-enough", lambda c: ((0.3,), KW_EC(c)), "ceiling が違います")
add(S, "malformed", "text-fraction", lambda c: (("1/4",), KW_EC(c)), "引用符は付けません")
add(S, "malformed", "pair", lambda c: (([0.25, 0.25],), KW_EC(c)), "数 1 つ")
add(S, "malformed", "dict-per-class", lambda c: (({k: 1 / len(v) for k, v in au.toy.VERBS.items()},), KW_EC(c)), "辞書")
add(S, "malformed", "negative", lambda c: ((-0.25,), KW_EC(c)), "0 から 1 のあいだ")
add(S, "malformed", "unequal-classes", lambda c: ((0.25,), dict(verbs={"a": list("wxyz"), "b": list("ab")})), "同じ数の動詞")
add(S, "note", "placeholder", lambda c: ((None,), KW_EC(c)), ex.NOT_YET)


# ========================================== the tests ==========================================


def run(check, build, ctx, capsys):
    args, kwargs = build(ctx)
    getattr(ex, check)(*args, **kwargs)
    return capsys.readouterr().out


@pytest.mark.parametrize("check, kind, build, fragment", C)
def test_matrix(check, kind, build, fragment, ctx, capsys):
    try:
        if kind in ("right", "note"):
            out = run(check, build, ctx, capsys)
            if kind == "right":
                assert out.startswith("✅"), out
            else:
                assert out.startswith("🔸") and "✅" not in out, out
            assert fragment in out, out
            return
        with pytest.raises(ex.ExerciseError) as info:
            run(check, build, ctx, capsys)
        message = str(info.value)
        assert message.startswith(getattr(ex, check).title + ": "), message
        assert fragment in message, message
        assert JAPANESE.search(message.split(": ", 1)[1]), message
    finally:
        plt.close("all")


def cases_of(check):
    return [p.values for p in C if p.values[0] == check]


@pytest.mark.parametrize("check", sorted(ex.CHECKS))
def test_every_check_has_a_full_matrix(check):
    kinds = [k for _, k, _, _ in cases_of(check)]
    assert kinds.count("wrong") >= 5, f"{check}: {kinds.count('wrong')} wrong answers (want >= 5)"
    assert kinds.count("right") >= 3, f"{check}: {kinds.count('right')} right answers (want >= 3)"
    assert kinds.count("malformed") >= 2, f"{check}: {kinds.count('malformed')} malformed inputs (want >= 2)"


def test_the_table_names_only_real_checks():
    assert {p.values[0] for p in C} == set(ex.CHECKS)


JUNK = [
    ("text", lambda: "abc"), ("float", lambda: 3.5), ("negative-int", lambda: -1), ("empty-dict", lambda: {}),
    ("empty-list", lambda: []), ("list-of-None", lambda: [None, None]), ("object", lambda: object()),
    ("3d-array", lambda: np.zeros((2, 2, 2))), ("nan", lambda: np.array([np.nan])),
    ("returns-None", lambda: (lambda *a: None)), ("raises", lambda: (lambda *a: 1 / 0)),
    ("returns-text", lambda: (lambda *a: "x")), ("axes", lambda: plt.subplots()[1]), ("tensor", lambda: torch.zeros(3)),
    ("tuple-of-text", lambda: ("a", "b")), ("huge", lambda: (10**9, 10**9)),
]


def junk_cases():
    for check in sorted(ex.CHECKS):
        first = next((b for c, k, b, _ in cases_of(check) if k == "right"), None)
        for name, make in JUNK:
            yield pytest.param(check, first, make, id=f"{check}-{name}")


@pytest.mark.parametrize("check, build, make", list(junk_cases()))
def test_junk_in_any_answer_slot_gets_a_japanese_message_never_a_raw_exception(check, build, make, ctx, capsys):
    args, kwargs = build(ctx)
    try:
        for slot in range(len(args)):
            bad = list(args)
            bad[slot] = make()
            try:
                getattr(ex, check)(*bad, **kwargs)
            except ex.ExerciseError as err:
                assert JAPANESE.search(str(err)), str(err)
            else:
                out = capsys.readouterr().out
                assert out.startswith(("✅", "🔸")), out
    finally:
        plt.close("all")


def test_treebank_check_and_the_library_share_one_definition(ctx):
    """The numbers au.syntax_baseline prints for amod are the numbers the check wants (clipped at the ends)."""
    from attn_utils.exercises.checks_further import _offset_counts

    table = au.syntax_baseline(ctx.en, all_offsets=True)
    mine = _offset_counts(ctx.en, "amod", list(OFF6))
    np.testing.assert_allclose([mine[k] for k in OFF6], table.loc["amod", list(OFF6)].to_numpy(dtype=float), rtol=0, atol=1e-12)
    unclipped = offsets_by_hand(ctx.en, "amod", OFF6, clip=False)
    assert abs(unclipped[2] - mine[2]) > 1e-3  # the issue's example: clipping matters at +2


def test_dot_std_check_draws_new_dimensions_every_time(capsys):
    seen = set()
    for _ in range(4):
        ex.check_dot_std(lambda d: seen.add(d) or dot_std_np(d, n=3000))
    assert len(seen) > 3  # not the notebook's 4, 16, 64, 256 every time
    assert not seen <= {4, 16, 64, 256}


def test_tolerances_reject_the_near_misses_the_issue_names(ctx):
    """Tight enough: entropy off by 2e-3, Clark's smoothing, and the first piece's weight all fail."""
    for wrong in (lambda w: entropy_np(w) + 2e-3, lambda w: entropy_np(0.9999 * w + 1e-4 / w.shape[-1]),
                  lambda w: entropy_np(w) + 2e-5):
        with pytest.raises(ex.ExerciseError):
            ex.check_row_entropy(wrong, att=ctx.att)
    with pytest.raises(ex.ExerciseError, match="最初のサブワード"):
        ex.check_word_weight(word_row(ctx).iloc[0], **KW_WW(ctx))


@pytest.mark.parametrize("empty", [None, "", "   ", ..., "ここに予想"])
def test_an_empty_guess_asks_for_a_guess_first_and_checks_nothing(empty, ctx, capsys):
    ex.check_particle_target(empty, "definitely wrong", words=ctx.words_ja, particle="を", layer=-1)
    ex.check_top_key("definitely wrong", att=ctx.att, query="chased", guess=empty)
    out = capsys.readouterr().out
    assert out.count(ex.GUESS_FIRST) == 2 and "✅" not in out
