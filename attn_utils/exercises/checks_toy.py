"""Self-checks for notebook 07 (a tiny BERT trained on the toy Japanese of :mod:`attn_utils.toy`).

The same machinery as the checks of notebooks 01-06 (:func:`attn_utils.exercises.core.exercise`):
answers are read in every natural form (Python number, NumPy scalar or array, torch tensor,
one-element list, pandas Series / one-column DataFrame or dict where a mapping is asked for);
the plausible wrong answers get the hint for their mistake (:func:`~attn_utils.exercises.core.diagnose`,
which also names numbers copied from a rounded printout); malformed input gets a Japanese
message, never a raw exception; an empty guess asks for the guess first (:data:`GUESS_FIRST`).
"""
from __future__ import annotations

from typing import Any, Mapping, Sequence

import numpy as np

from .core import ExerciseError, _short, as_layer_head, diagnose, exercise, keyed_numbers, same, to_number

__all__ = ["check_subject_first", "check_role_position_by_hand", "check_exact_ceiling", "subject_first_share"]


def _finite(x: float, name: str) -> float:
    if not np.isfinite(x):
        raise ExerciseError(f"{name} が {x} です。0 での割り算や、空のリストの平均がないか確かめましょう。")
    return x


def _number(value: Any, name: str, hint: str = "") -> float:
    """One finite number in any form; a string gets a message that shows how to write it as a number."""
    __tracebackhide__ = True
    if isinstance(value, (str, bytes)):
        raise ExerciseError(f"{name} は文字列 {_short(value)} ではなく、数にしましょう "
                            "(例: 0.5 や 1/4。引用符は付けません。\"50%\" ではなく 0.5)。")
    return _finite(to_number(value, name, hint), name)


def _share(x: float, name: str, percent_of: float | None = None) -> None:
    """Fail unless ``x`` is a share in [0, 1]; ``percent_of``: the right share, to name a percentage."""
    __tracebackhide__ = True
    if percent_of is not None and 1.0 < x <= 100.0 and abs(x / 100 - percent_of) < 1e-6:
        raise ExerciseError(f"{name} をパーセントで書いています ({x:g})。割合 (0 から 1) にしましょう: {x / 100:g}。")
    if x > 1.0:
        raise ExerciseError(f"{name} は割合 (0 から 1) で答えましょう。{x:g} はパーセントか個数のようです。")
    if x < 0.0:
        raise ExerciseError(f"{name} は割合なので 0 から 1 のあいだのはずですが、{x:g} でした。")


# --- notebook 07, 練習 1 -------------------------------------------------------------------


def subject_first_share(corpus: Sequence[Any]) -> float:
    """The share of sentences whose が-noun (``nsubj``) comes before the を-noun (``obj``)."""
    return float(np.mean([s.relations.index("nsubj") < s.relations.index("obj") for s in corpus]))


def _by_corpus(shares: Any, names: Sequence[str]) -> dict[str, float]:
    """``{corpus name: share}`` from a dict, a pandas Series indexed by the names or a one-column (one-row) DataFrame."""
    __tracebackhide__ = True
    return keyed_numbers(shares, sorted(names), name="shares", key_word="コーパスの名前", what="割合", number=_number)


@exercise("練習 (予想してから確かめる: が の名詞はいつも先?)", guess=0,
          expects="my_guess は 0 から 1 の数、shares はコーパスの名前をキーにした辞書 {名前: 割合 (0 から 1)}")
def check_subject_first(my_guess: Any, shares: Any, *, corpora: Mapping[str, Sequence[Any]]) -> str:
    """``shares[name]``: the share of sentences of each corpus whose が-noun comes first; ``my_guess``: the guess for SOV."""
    guess = _number(my_guess, "予想 my_guess")
    _share(guess, "予想 my_guess")
    names = sorted(corpora)
    want = {n: subject_first_share(corpora[n]) for n in names}
    got = _by_corpus(shares, names)
    for n in names:
        count = want[n] * len(corpora[n])
        if got[n] > 1.0 and abs(got[n] - count) < 1e-6 and abs(count - 100 * want[n]) > 1e-6:
            raise ExerciseError(f"shares[{n!r}] が {got[n]:g} で、文の個数のようです。文の数 ({len(corpora[n])}) で割って"
                                "割合にしましょう。")
        _share(got[n], f"shares[{n!r}]", percent_of=want[n])
    g, w = np.array([got[n] for n in names]), np.array([want[n] for n in names])
    total = sum(len(corpora[n]) for n in names)
    candidates = [
        ("数えたのは「を の名詞が先」の割合です。が の名詞 (nsubj) が を の名詞 (obj) より前にある文を数えましょう。",
         lambda: 1 - w),
        ("2 つのコーパスの値が入れ替わっています。", lambda: w[::-1]),
    ]
    for i, n in enumerate(names):  # the loop counted one corpus for every name
        candidates.append((f"どのコーパスにも {n!r} の値が入っています。それぞれのコーパスの文を数えましょう "
                           "(ループの中で、そのコーパスを使う)。", lambda i=i: np.full(len(w), w[i])))
        candidates.append((f"shares[{n!r}] に 0.5 (文法の上での半々) を入れていませんか? コーパスで実際に数えた割合を"
                           "入れましょう。", lambda i=i: np.where(np.arange(len(w)) == i, 0.5, w)))
    candidates += [
        ("どれも 0 です。係り先 (heads) を比べていませんか? nsubj と obj はどちらも動詞に係るので同じになります。"
         "単語の位置 (relations の中の順番) を比べましょう。", lambda: np.zeros(len(w))),
        ("文の先頭の単語が nsubj かどうかを数えていませんか? 「今日、」や形容詞が先に来る文もあります。"
         "nsubj と obj の位置 (relations の中の順番) を比べましょう。",
         lambda: np.array([np.mean([s.relations[0] == "nsubj" for s in corpora[n]]) for n in names])),
        ("全部のコーパスの文の数で割っていませんか? それぞれのコーパスの文の数で割りましょう。",
         lambda: np.array([want[n] * len(corpora[n]) / total for n in names])),
    ]
    diagnose(g, w, candidates, atol=1e-6, rtol=0)
    for n in names:
        if not same(got[n], want[n], atol=1e-6, rtol=0):
            raise ExerciseError(f"shares[{n!r}] が違います: {got[n]:.4f} でしたが、正しくは {want[n]:.4f} です。"
                                "文の数で割っているか、単語の位置 (relations の中の順番) で比べているか確かめましょう。")
    verdict = "予想どおり" if abs(guess - want.get("sov", guess)) < 0.05 else f"予想 ({guess:g}) とは違いました"
    return ", ".join(f"{n}: {want[n]:.3f}" for n in names) + f"。{verdict}。"


# --- notebook 07, 練習 2 -------------------------------------------------------------------


@exercise("練習 (役割の効果 R と位置の効果 P を手で計算する)", expects="R_by_hand と P_by_hand はどちらも数 1 つ")
def check_role_position_by_hand(R_by_hand: Any, P_by_hand: Any, *, effects: Any, layer: int, head: int) -> str:
    """R and P of one head from ``effects.role[:, layer, head]`` and ``effects.a_is_second``."""
    role_all = np.asarray(effects.role, dtype=np.float64)
    layer, head = as_layer_head((layer, head), "(layer, head)", role_all.shape[1:])
    role = role_all[:, layer, head]
    second = np.asarray(effects.a_is_second, dtype=bool)
    signed = np.where(second[:, None, None], role_all, -role_all)
    R, P = float(role.mean()), float(np.where(second, role, -role).mean())
    one = (f" role[:, {layer}, {head}] (全部の文の、そのヘッド 1 つ) を平均して、数 1 つにしましょう "
           "(role は [文, 層, ヘッド] の順です)。")
    r, p = (_number(v, name, one) for v, name in ((R_by_hand, "R_by_hand"), (P_by_hand, "P_by_hand")))
    tol = dict(atol=1e-6, rtol=1e-5)
    if same([r, p], [P, R], **tol) and not same([R, P], [P, R], **tol):
        raise ExerciseError("R と P が入れ替わっています。R は役割 (が − を)、P は位置 (2 番目 − 1 番目) です。")
    n_layers, n_heads = role_all.shape[1:]

    def common(values: np.ndarray, what: str) -> list:
        """The slips that give R and P alike: ``values`` = the per-sentence numbers ``[sentence, layer, head]``."""
        found = []
        if (head, layer) != (layer, head) and head < n_layers and layer < n_heads:
            found.append((f"(層, ヘッド) の順番が逆ではありませんか? 層 {layer}、ヘッド {head} は [:, {layer}, {head}] です。",
                          lambda: values[:, head, layer].mean()))
        for l2 in range(n_layers):
            for h2 in range(n_heads):
                if (l2, h2) != (layer, head):
                    found.append((f"ほかのヘッド (層 {l2}、ヘッド {h2}) の {what} のようです。層 {layer}、ヘッド {head} "
                                  "(0 始まり) の列を使いましょう。", lambda l2=l2, h2=h2: values[:, l2, h2].mean()))
        return found + [
            (f"層 {layer} の全ヘッドで平均しています。ヘッド {head} の列 [:, {layer}, {head}] だけを使いましょう。",
             lambda: values[:, layer].mean()),
            ("全部の層とヘッドで平均しています。1 つのヘッドの列 [:, layer, head] だけを使いましょう。", lambda: values.mean()),
            ("絶対値を使っています。符号つきの差の平均です。", lambda: np.abs(values[:, layer, head]).mean()),
            ("合計になっています。文の数で割って平均にしましょう (mean)。", lambda: values[:, layer, head].sum()),
            ("中央値になっています。平均 (mean) を使いましょう。", lambda: np.median(values[:, layer, head])),
        ]

    mass = getattr(effects, "mass", None)
    diagnose(r, R, [
        ("片方の語順の文だけで平均しています。R は全部の文 (SOV と OSV) の平均です。", lambda: role[~second].mean()),
        ("片方の語順の文だけで平均しています。R は全部の文 (SOV と OSV) の平均です。", lambda: role[second].mean()),
        ("R に絶対値を使っています。R は符号つきの差 (が − を) の平均です。", lambda: np.abs(role).mean()),
        ("それは位置の効果 P (2 番目 − 1 番目、position の平均) です。R は役割の差 role (が − を) の平均です。",
         lambda: P),
        ("mass (2 つの名詞の重みの和) ではなく、差 role (が − を) を平均しましょう。",
         lambda: np.asarray(mass, dtype=np.float64)[:, layer, head].mean()),
        *common(role_all, "R"),
    ], **tol)
    if not same(r, R, **tol):
        raise ExerciseError(f"R_by_hand が違います: {r:.4f} でしたが、正しくは {R:.4f} です。")
    diagnose(p, P, [
        ("P の符号が逆です。P は「2 番目の名詞 − 1 番目の名詞」: が の名詞が 2 番目の文 "
         "(a_is_second が True) では role をそのまま、1 番目の文では符号を反転します。", lambda: -P),
        ("P が R と同じです。語順で符号を変えましょう (a_is_second を使う)。", lambda: R),
        ("片方の語順の文だけで平均しています。P も全部の文の平均です。", lambda: role[second].mean()),
        ("片方の語順の文だけで平均しています。P も全部の文の平均です。", lambda: -role[~second].mean()),
        ("片方の語順の文だけで平均しています。P も全部の文の平均です。", lambda: role[~second].mean()),
        ("1 番目の文の値を 0 にしています (role * a_is_second)。1 番目の文では 0 ではなく、符号を反転した値 (−role) を"
         "使います: np.where(second, d, -d)。", lambda: (role * second).mean()),
        ("語順ごとの平均の差になっています。文ごとに符号を変えてから、全部の文で 1 回だけ平均しましょう: "
         "np.where(second, d, -d).mean()。", lambda: role[second].mean() - role[~second].mean()),
        *common(signed, "P"),
    ], **tol)
    if not same(p, P, **tol):
        raise ExerciseError(f"P_by_hand が違います: {p:.4f} でしたが、正しくは {P:.4f} です。")
    return f"層 {layer}、ヘッド {head}: R = {R:+.3f}、P = {P:+.3f}。"


# --- notebook 07, 練習 3 -------------------------------------------------------------------


@exercise("練習 (動詞そのものを当てる正解率の上限)", expects="ceiling は 0 から 1 の数 1 つ")
def check_exact_ceiling(ceiling: Any, *, verbs: Mapping[str, Sequence[str]]) -> str:
    """The best exact-verb accuracy of a model that knows the subject's class: ``1 / (verbs per class)``."""
    sizes = {len(v) for v in verbs.values()}
    if len(sizes) != 1:
        raise ExerciseError("この練習は、どのクラスも同じ数の動詞を持つ文法を前提にしています。")
    k = sizes.pop()
    n_classes, n_verbs = len(verbs), sum(len(v) for v in verbs.values())
    want = 1 / k
    x = _number(ceiling, "ceiling")
    if abs(x - k) < 1e-9 and k > 1:
        raise ExerciseError(f"{k} は 1 クラスの動詞の数です。正解率 (その {k} 個から 1 つを当てる確率) にしましょう。")
    if abs(x - n_verbs) < 1e-9:
        raise ExerciseError(f"{n_verbs} は動詞の総数です。正解率 (0 から 1 の割合) で答えましょう。")
    _share(x, "ceiling", percent_of=want)
    diagnose(x, want, [  # the first that matches wins
        ("クラスが分かっても、クラスの中のどの動詞かは主語からは決まりません (同じ確率で選ばれます)。"
         "1 はクラス (class) の正解率の上限で、ここで聞いているのは動詞そのもの (exact) です。", lambda: 1.0),
        (f"1/{n_verbs} は何も分からないときの当て推量です。主語のクラスが分かれば候補は減ります。", lambda: 1 / n_verbs),
        (f"1/{n_classes} はクラスを当てずっぽうに選ぶときの値です。ここではクラスは分かっていて、その中の動詞を当てます。",
         lambda: 1 / n_classes),
        ("それは外れる割合です。当たる割合を答えましょう。", lambda: 1 - want),
        ("クラスの中の動詞は全部で何個か数え直しましょう。", lambda: 1 / (k - 1)),
        ("クラスの中の動詞は全部で何個か数え直しましょう。", lambda: 1 / (k + 1)),
    ], atol=1e-6, rtol=0)
    if abs(x - want) > 1e-6:
        if abs(x - want) < 0.04:
            raise ExerciseError(f"ceiling が {x:.4g} で、上限に近いが同じではありません。測った正解率 (表の exact) ではなく、"
                                "文法から決まる上限 (期待値) を、動詞の数から計算しましょう。")
        if x > 0.9:
            raise ExerciseError(f"ceiling が {x:.4g} です。それはクラス (class) の正解率のようです。ここで聞いているのは "
                                "動詞そのもの (exact) の正解率の上限です。")
        raise ExerciseError(f"ceiling が違います: {x:.4f}。主語のクラスごとに動詞が何個あるかから考えましょう。")
    return f"1 クラス {k} 個の動詞から同じ確率で選ばれるので、上限は 1/{k} = {want:.2f} です。"
