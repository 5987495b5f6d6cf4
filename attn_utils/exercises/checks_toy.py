"""Self-checks for notebook 07 (a tiny BERT trained on the toy Japanese of :mod:`attn_utils.toy`).

Each check accepts the right answer in any natural numeric form (Python number,
NumPy scalar or array, torch tensor, list, pandas Series / dict where a mapping
is asked for), rejects the plausible wrong answers with a hint, and answers
malformed input with a Japanese message, never a raw exception. While a guess
cell is still empty (``None``) the check asks for the guess first.
"""
from __future__ import annotations

import functools
import math
from fractions import Fraction
from typing import Any, Callable, Mapping, Sequence

import numpy as np

from .core import NOT_YET, ExerciseError

__all__ = ["check_subject_first", "check_role_position_by_hand", "check_exact_ceiling", "GUESS_FIRST"]

#: Printed while a guess cell still holds ``None``.
GUESS_FIRST = "まず予想を書きましょう (my_guess に数を入れてから実行します)。"


def _empty(value: Any) -> bool:
    return value is None or value is Ellipsis


def _toy_exercise(title: str, guess: bool = False) -> Callable:
    """Like :func:`attn_utils.exercises.core.exercise`; with ``guess=True`` the first answer is a guess."""

    def wrap(check: Callable[..., str | None]) -> Callable[..., None]:
        @functools.wraps(check)
        def run(*answers: Any, **data: Any) -> None:
            __tracebackhide__ = True
            if guess and answers and _empty(answers[0]):
                print(f"🔸 {NOT_YET.split('。')[0]}。{GUESS_FIRST}")
                return
            if any(_empty(a) for a in answers):
                print("🔸 " + NOT_YET)
                return
            try:
                note = check(*answers, **data)
            except ExerciseError as err:
                raise ExerciseError(f"{title}: {err}") from None
            print(f"✅ {title}: 正解です。" + (f" {note}" if note else ""))

        run.title = title  # type: ignore[attr-defined]
        return run

    return wrap


def _number(value: Any, name: str) -> float:
    """One finite number from a Python/NumPy/torch scalar, a 1-element array or list, or a Fraction."""
    if isinstance(value, bool):
        raise ExerciseError(f"{name} は数にしましょう (True / False ではなく、0.5 のような数)。")
    if isinstance(value, str):
        raise ExerciseError(f"{name} は文字列 {value!r} ではなく、数にしましょう (例: 0.5。\"50%\" ではなく 0.5)。")
    if isinstance(value, Fraction):
        return float(value)
    if hasattr(value, "detach"):  # a torch tensor
        value = value.detach().cpu().numpy()
    try:
        arr = np.asarray(value, dtype=np.float64)
    except (TypeError, ValueError):
        raise ExerciseError(f"{name} を数として読めませんでした (型: {type(value).__name__})。") from None
    if arr.size != 1:
        raise ExerciseError(f"{name} は数 1 つのはずですが、{arr.size} 個の値がありました (形 {arr.shape})。")
    x = float(arr.reshape(()))
    if not math.isfinite(x):
        raise ExerciseError(f"{name} が {x} です。0 での割り算などがないか確かめましょう。")
    return x


def _is_share(x: float, name: str) -> None:
    if x > 1.0:
        raise ExerciseError(f"{name} は割合 (0 から 1) で答えましょう。{x:g} はパーセントか個数のようです。")
    if not 0.0 <= x <= 1.0:
        raise ExerciseError(f"{name} は割合なので 0 から 1 のあいだのはずですが、{x:g} でした。")


# --- notebook 07 ---------------------------------------------------------------------------


def subject_first_share(corpus: Sequence[Any]) -> float:
    """The share of sentences whose が-noun (``nsubj``) comes before the を-noun (``obj``)."""
    return float(np.mean([s.relations.index("nsubj") < s.relations.index("obj") for s in corpus]))


@_toy_exercise("練習 (予想してから確かめる: が の名詞はいつも先?)", guess=True)
def check_subject_first(my_guess: Any, shares: Any, *, corpora: Mapping[str, Sequence[Any]]) -> str:
    """``shares[name]``: the share of sentences of each corpus whose が-noun comes first."""
    guess = _number(my_guess, "予想 my_guess")
    _is_share(guess, "予想 my_guess")
    if hasattr(shares, "to_dict"):  # a pandas Series
        shares = shares.to_dict()
    if not isinstance(shares, Mapping):
        raise ExerciseError(f"shares はコーパスの名前をキーにした辞書にしましょう: {list(corpora)} "
                            f"(いまは {type(shares).__name__})。")
    if set(shares) != set(corpora):
        raise ExerciseError(f"shares のキーは {sorted(corpora)} にしましょう (いまは {sorted(map(str, shares))})。")
    want = {name: subject_first_share(c) for name, c in corpora.items()}
    got = {name: _number(shares[name], f"shares[{name!r}]") for name in corpora}
    for name in corpora:
        _is_share(got[name], f"shares[{name!r}]")
    if all(abs(got[n] - (1 - want[n])) < 1e-9 for n in corpora) and any(abs(want[n] - 0.5) > 1e-9 for n in corpora):
        raise ExerciseError("数えたのは「を の名詞が先」の割合です。が の名詞 (nsubj) が を の名詞 (obj) より前にある文を数えましょう。")
    names = sorted(corpora)
    if len(names) == 2 and all(abs(got[a] - want[b]) < 1e-9 for a, b in zip(names, names[::-1])) \
            and abs(want[names[0]] - want[names[1]]) > 1e-9:
        raise ExerciseError("2 つのコーパスの値が入れ替わっています。")
    for name in corpora:
        if abs(got[name] - want[name]) > 1e-9:
            raise ExerciseError(f"shares[{name!r}] が違います: {got[name]:.4f} でしたが、正しくは {want[name]:.4f} です。"
                                "文の数で割っているか、単語の位置 (relations の中の順番) で比べているか確かめましょう。")
    verdict = "予想どおり" if abs(guess - want.get("sov", guess)) < 0.05 else f"予想 ({guess:g}) とは違いました"
    return ", ".join(f"{n}: {want[n]:.3f}" for n in names) + f"。{verdict}。"


@_toy_exercise("練習 (役割の効果 R と位置の効果 P を手で計算する)")
def check_role_position_by_hand(R_by_hand: Any, P_by_hand: Any, *, effects: Any, layer: int, head: int) -> str:
    """R and P of one head from ``effects.role[:, layer, head]`` and ``effects.a_is_second``."""
    role = np.asarray(effects.role, dtype=np.float64)[:, layer, head]
    second = np.asarray(effects.a_is_second, dtype=bool)
    R, P = float(role.mean()), float(np.where(second, role, -role).mean())
    r = _number(R_by_hand, "R_by_hand")
    p = _number(P_by_hand, "P_by_hand")
    close = lambda a, b: abs(a - b) <= 1e-6 + 1e-4 * abs(b)  # noqa: E731
    if close(r, P) and close(p, R) and not close(R, P):
        raise ExerciseError("R と P が入れ替わっています。R は役割 (が − を)、P は位置 (2 番目 − 1 番目) です。")
    if not close(r, R):
        others = np.asarray(effects.role, dtype=np.float64).mean(0)
        if close(r, float(np.abs(role).mean())) and not close(R, float(np.abs(role).mean())):
            raise ExerciseError("R に絶対値を使っています。R は符号つきの差 (が − を) の平均です。")
        if any(close(r, float(v)) for v in others.ravel()) and not close(r, R):
            raise ExerciseError(f"ほかのヘッドの R のようです。層 {layer}、ヘッド {head} (0 始まり) の列を使いましょう。")
        if close(r, float(role[~second].mean())) or close(r, float(role[second].mean())):
            raise ExerciseError("片方の語順の文だけで平均しています。R は全部の文 (SOV と OSV) の平均です。")
        raise ExerciseError(f"R_by_hand が違います: {r:.4f} でしたが、正しくは {R:.4f} です。")
    if not close(p, P):
        if close(p, -P):
            raise ExerciseError("P の符号が逆です。P は「2 番目の名詞 − 1 番目の名詞」: が の名詞が 2 番目の文 "
                                "(a_is_second が True) では role をそのまま、1 番目の文では符号を反転します。")
        if close(p, float(role[second].mean())) or close(p, float(-role[~second].mean())):
            raise ExerciseError("片方の語順の文だけで平均しています。P も全部の文の平均です。")
        if close(p, R):
            raise ExerciseError("P が R と同じです。語順で符号を変えましょう (a_is_second を使う)。")
        raise ExerciseError(f"P_by_hand が違います: {p:.4f} でしたが、正しくは {P:.4f} です。")
    return f"層 {layer}、ヘッド {head}: R = {R:+.3f}、P = {P:+.3f}。"


@_toy_exercise("練習 (動詞そのものを当てる正解率の上限)")
def check_exact_ceiling(ceiling: Any, *, verbs: Mapping[str, Sequence[str]]) -> str:
    """The best exact-verb accuracy of a model that knows the subject's class: ``1 / (verbs per class)``."""
    sizes = {len(v) for v in verbs.values()}
    if len(sizes) != 1:
        raise ExerciseError("この練習は、どのクラスも同じ数の動詞を持つ文法を前提にしています。")
    k = sizes.pop()
    n_classes, n_verbs = len(verbs), sum(len(v) for v in verbs.values())
    want = 1 / k
    x = _number(ceiling, "ceiling")
    if 1.0 < x <= 100.0 and abs(x / 100 - want) < 1e-9:
        raise ExerciseError(f"パーセントで書いています ({x:g})。割合 (0 から 1) にしましょう。")
    _is_share(x, "ceiling")
    hints = [  # the first that matches wins
        (1.0, "クラスが分かっても、クラスの中のどの動詞かは主語からは決まりません (同じ確率で選ばれます)。"),
        (1 / n_verbs, f"1/{n_verbs} は何も分からないときの当て推量です。主語のクラスが分かれば候補は減ります。"),
        (1 / n_classes, f"1/{n_classes} はクラスを当てずっぽうに選ぶときの値です。ここではクラスは分かっていて、その中の動詞を当てます。"),
        (1 - want, "それは外れる割合です。当たる割合を答えましょう。"),
        (1 / (k - 1) if k > 1 else -1.0, "クラスの中の動詞は全部で何個か数え直しましょう。"),
    ]
    if abs(x - want) > 1e-6:
        for value, hint in hints:
            if abs(x - value) < 1e-6:
                raise ExerciseError(hint)
        raise ExerciseError(f"ceiling が違います: {x:.4f}。主語のクラスごとに動詞が何個あるかから考えましょう。")
    return f"1 クラス {k} 個の動詞から同じ確率で選ばれるので、上限は 1/{k} = {want:.2f} です。"
