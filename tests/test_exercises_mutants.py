"""What a learner reads from the self-checks, pinned exactly: messages, truncation, tolerances, ties, hints.

Guards the details of ``attn_utils.exercises.core`` (generic checks) and the
reference computations of ``attn_utils.exercises.checks`` that
tests/test_exercises.py only matches loosely: the exact Japanese wording and
default names, where long values are cut, which near-equal scores count as
ties, when the axis hint appears, that the checks' own frames stay out of a
learner's traceback, and that the references are numerically safe.
"""
import numpy as np
import pytest

import attn_utils as au
from attn_utils import exercises as ex
from attn_utils.exercises import checks
from attn_utils.exercises.core import call_learner


def message(check, *args, **kwargs):
    """The exact text of the ExerciseError that ``check(*args, **kwargs)`` raises."""
    with pytest.raises(ex.ExerciseError) as info:
        check(*args, **kwargs)
    return str(info.value)


def fails(check, pattern, *args, **kwargs):
    with pytest.raises(ex.ExerciseError, match=pattern):
        check(*args, **kwargs)


# --- the machinery ----------------------------------------------------------------------


def test_placeholder_note_is_exactly_the_diamond_and_not_yet(capsys):
    ex.check_type(None, int)
    assert capsys.readouterr().out == "🔸 " + ex.NOT_YET + "\n"


def test_exercise_decorator_keeps_its_title_on_the_check():
    @ex.exercise("練習 (テスト)")  # decorated here, not only at import time
    def check_toy(answer):
        return None

    assert check_toy.title == "練習 (テスト)"
    assert ex.check_softmax.title == "練習 (softmax を自分で書く)"


@pytest.mark.parametrize("function, call", [
    ("check_argmax", lambda: ex.check_argmax(0, [1.0, 2.0])),
    ("check_equal", lambda: ex.check_equal(1, 2)),
    ("check_type", lambda: ex.check_type(1, str)),
    ("call_learner", lambda: call_learner(3)),
    ("check_close", lambda: ex.check_close([1.0], [2.0])),
    ("check_shape", lambda: ex.check_shape([1.0], (2,))),
    ("check_rows_sum_to_one", lambda: ex.check_rows_sum_to_one([[0.5, 0.6]])),
    ("_expect_top", lambda: checks._expect_top(np.array([[0.0, 1.0]]), 0, 0, lambda l2, h2: "")),
])
def test_checks_hide_their_own_frame_from_the_learners_traceback(function, call):
    with pytest.raises(ex.ExerciseError) as info:
        call()
    own = [entry for entry in info.traceback if function in entry.name]  # under mutmut: x_<function>__mutmut_orig
    assert own and all(entry.frame.f_locals.get("__tracebackhide__") for entry in own)


def test_call_learner_names_a_non_function_and_a_crash_with_the_default_name():
    assert message(call_learner, 3) == "関数 は関数 (def で作ったもの) のはずですが、int でした。"
    assert message(call_learner, None) == "関数 は関数 (def で作ったもの) のはずですが、NoneType でした。"

    def broken():
        raise ValueError("bad")

    assert message(call_learner, broken) == "関数 を呼ぶとエラーになりました: ValueError: bad"


# --- check_type / check_equal -------------------------------------------------------------


def test_check_type_lists_every_accepted_type_joined_by_ka():
    assert message(ex.check_type, "3", (int, float)) == "答え の型が違います: int か float のはずですが、str でした。"
    ex.check_type(2.5, (int, float))


def test_check_equal_message_shows_expected_then_answer_with_the_default_name():
    assert message(ex.check_equal, [1, 2], [1, 3]) == "答え が違います: [1, 3] のはずですが、[1, 2] でした。"


def test_check_equal_cuts_values_longer_than_120_characters_to_117_and_dots():
    fits = "a" * 118  # repr is 120 characters: shown whole
    assert message(ex.check_equal, "b", fits) == f"答え が違います: {fits!r} のはずですが、'b' でした。"
    cut = "a" * 119  # repr is 121 characters: cut to 117 + "..."
    shown = "'" + "a" * 116 + "..."
    assert len(shown) == 120
    assert message(ex.check_equal, "b", cut) == f"答え が違います: {shown} のはずですが、'b' でした。"


def test_check_equal_compares_arrays_element_by_element():
    ex.check_equal(np.array([1, 2, 3]), [1, 2, 3])
    ex.check_equal([1, 2], [1, 2])
    assert message(ex.check_equal, np.array([1, 2, 3]), [1, 2, 4]) == \
        "答え が違います: [1, 2, 4] のはずですが、array([1, 2, 3]) でした。"


# --- check_argmax -------------------------------------------------------------------------


def test_check_argmax_with_array_or_list_scores_takes_positions_as_labels():
    ex.check_argmax(2, np.array([0.1, 0.2, 0.9]))
    ex.check_argmax(1, [1, 3, 2])
    assert message(ex.check_argmax, 0, [1, 3, 2]) == "答え は 0 (1) ではありません。いちばん大きいのは 1 (3) です。"
    assert message(ex.check_argmax, 5, [0.1, 0.2]) == "答え 5 は候補にありません。候補: 0, 1"


def test_check_argmax_lists_the_candidates_comma_separated():
    assert message(ex.check_argmax, "cow", {"dog": 0.5, "cat": 0.3}) == "答え 'cow' は候補にありません。候補: 'dog', 'cat'"


def test_check_argmax_ties_are_within_one_millionth_relative_or_1e9_absolute():
    ex.check_argmax(1, [1.0, 1.0 - 5e-7])  # relative gap 5e-7: a tie
    fails(ex.check_argmax, "いちばん大きいのは 0", 1, [1.0, 1.0 - 5e-6])  # 5e-6: not a tie
    ex.check_argmax(1, [0.0, -5e-10])  # near 0 only the absolute 1e-9 counts
    fails(ex.check_argmax, "いちばん大きいのは 0", 1, [0.0, -5e-9])


# --- check_rows_sum_to_one ----------------------------------------------------------------


def test_rows_check_messages_use_the_default_name_weights():
    assert message(ex.check_rows_sum_to_one, 0.5) == "重み は行列のはずですが、数 1 つでした。"
    assert message(ex.check_rows_sum_to_one, [[np.nan, 1.0]]) == \
        "重み に NaN が含まれています。exp があふれていないか (最大値を引いたか) 確かめましょう。"
    assert message(ex.check_rows_sum_to_one, [[-0.2, 1.2]]) == \
        "重み に負の値があります (最小: -0.2)。softmax の出力は 0 以上です。"
    assert message(ex.check_rows_sum_to_one, "abc") == "重み は数 (または数の配列) のはずですが、文字列 'abc' でした。"


def test_rows_check_accepts_a_single_row_and_stacks_of_matrices():
    ex.check_rows_sum_to_one([0.25, 0.25, 0.5])
    stack = np.array([[[0.2, 0.3, 0.5], [0.6, 0.4, 0.0]], [[1.0, 0.0, 0.0], [0.1, 0.1, 0.8]]])  # [head, query, key]
    ex.check_rows_sum_to_one(stack)
    assert message(ex.check_rows_sum_to_one, [0.5, 0.25]) == "行の和が 1 になっていません (最大の誤差: 0.25)。"


def test_rows_check_default_tolerance_is_1e4_for_sums_and_negatives():
    ex.check_rows_sum_to_one([[0.5, 0.5 + 5e-5]])
    fails(ex.check_rows_sum_to_one, "行の和が 1 になっていません", [[0.5, 0.5 + 2e-4]])
    ex.check_rows_sum_to_one([[-5e-5, 1 + 5e-5]])
    fails(ex.check_rows_sum_to_one, "負の値があります", [[-2e-4, 1 + 2e-4]])


def test_rows_check_errors_exactly_at_the_tolerance_are_allowed():
    ex.check_rows_sum_to_one([[0.5, 0.25]], atol=0.25)  # row sum off by exactly atol
    ex.check_rows_sum_to_one([[-0.25, 1.25]], atol=0.25)  # a weight of exactly -atol


AXIS_HINT = " 列の和は 1 です: 向き (axis) が逆ではありませんか? 行ごとなら axis=-1 です。"


def test_rows_check_gives_the_axis_hint_for_a_square_matrix_summing_to_one_by_column():
    assert message(ex.check_rows_sum_to_one, [[0.7, 0.4], [0.3, 0.6]]) == \
        "行の和が 1 になっていません (最大の誤差: 0.1)。" + AXIS_HINT
    # column sums 1.25 and 1.0: off by exactly atol still counts as summing to 1
    fails(ex.check_rows_sum_to_one, "列の和は 1 です", [[0.75, 0.0], [0.5, 1.0]], atol=0.25)


def test_rows_check_gives_no_axis_hint_for_non_square_matrices():
    by_column = np.full((2, 3), 0.5)  # columns sum to 1, rows to 1.5
    assert message(ex.check_rows_sum_to_one, by_column) == "行の和が 1 になっていません (最大の誤差: 0.5)。"
    assert message(ex.check_rows_sum_to_one, by_column[None]) == "行の和が 1 になっていません (最大の誤差: 0.5)。"


# --- the reference computations -------------------------------------------------------------


def test_softmax_rows_is_stable_per_row_for_any_leading_axes():
    rng = np.random.default_rng(0)
    small = rng.normal(size=(2, 2, 3))
    offsets = np.array([[1000.0, -1000.0], [0.0, 500.0]])[..., None]  # very different scales row by row
    want = np.exp(small) / np.exp(small).sum(-1, keepdims=True)
    np.testing.assert_allclose(checks.softmax_rows(small + offsets), want, rtol=1e-9)


def test_previous_token_share_counts_rows_whose_top_key_is_the_token_before():
    n = 5
    prev = np.eye(n, k=-1)
    prev[0, 0] = 1.0
    self_ = np.eye(n)
    half = np.vstack([prev[:3], self_[3:]])  # rows 1, 2 look back, rows 3, 4 at themselves
    first = np.zeros((n, n))
    first[:, 0] = 1.0  # only row 1 has the first token just before it
    weights = np.array([[prev, self_, half], [self_, prev, first]])  # [layer=2, head=3, query, key]
    np.testing.assert_allclose(checks.previous_token_share(weights), [[1.0, 0.0, 0.5], [0.0, 1.0, 0.25]])


def test_rollout_layers_renormalises_rows_like_au_rollout():
    rng = np.random.default_rng(1)
    weights = rng.dirichlet(np.ones(4), size=(2, 3, 4)) * np.array([1.0, 2.0, 0.5, 3.0])[:, None]  # rows sum != 1
    weights = weights.astype(np.float32)
    got = checks.rollout_layers(weights)
    np.testing.assert_allclose(got.sum(-1), 1.0, rtol=1e-12)
    np.testing.assert_allclose(got, au.rollout(au.Attention(list("abcd"), weights)), rtol=1e-12)


def test_rollout_layers_computes_in_float64_whatever_the_weights_dtype():
    weights = np.random.default_rng(2).dirichlet(np.ones(6), size=(3, 4, 6)).astype(np.float32)
    np.testing.assert_array_equal(checks.rollout_layers(weights), checks.rollout_layers(weights.astype(np.float64)))


# --- word weights: how many pieces make up the word -------------------------------------------


def japanese_pieces(with_spans=True):
    """「犬が公園を走る」 tokenised without spaces: 公園 is split into 公 ##園."""
    tokens = ["[CLS]", "犬", "が", "公", "##園", "を", "走る", "[SEP]"]
    spans = [None, (0, 1), (1, 2), (2, 3), (3, 4), (4, 5), (5, 7), None]
    weights = np.random.default_rng(3).dirichlet(np.ones(8), size=(1, 1, 8))
    with_ = au.Attention(tokens, weights, text="犬が公園を走る", spans=spans)
    words = with_.to_words(words=[(0, 1), (1, 2), (2, 4), (4, 5), (5, 7)])
    return (with_ if with_spans else au.Attention(tokens, weights)), words


class WithoutSpans:
    """A hand-built stand-in that has tokens and frames but no ``spans`` attribute at all."""

    def __init__(self, att):
        self.tokens, self.frame = att.tokens, att.frame


def word_weight_verdicts(pieces, words):
    kw = dict(pieces=pieces, words=words, layer=0, head=0, query="走る", word="公園")
    want = float(words.frame(0, 0).loc["走る", "公園"])
    ex.check_word_weight(want, **kw)
    fails(ex.check_word_weight, "平均していませんか", want / 2, **kw)


def test_word_weight_counts_pieces_inside_the_word_span_not_the_token_before_it():
    word_weight_verdicts(*japanese_pieces())  # が (1, 2) ends where 公園 (2, 4) starts: not a piece of it


def test_word_weight_without_token_spans_assumes_one_split_word():
    pieces, words = japanese_pieces(with_spans=False)
    word_weight_verdicts(pieces, words)  # words have spans, pieces do not: count by token numbers
    word_weight_verdicts(WithoutSpans(pieces), WithoutSpans(words))


# --- check_close: what the learner reads ----------------------------------------------------


def test_check_close_names_the_worst_value_out_of_tolerance_and_its_position():
    assert message(ex.check_close, [1.0], [2.0]) == "答え の値が合っていません (最大の誤差: 1、位置 (0,) で 1 (正しくは 2))。"
    assert message(ex.check_close, 1.0, 2.0) == "答え の値が合っていません (最大の誤差: 1)。"  # a number: no position
    # 1000.05 is within the relative tolerance of 1000; 0.01 is not within the absolute one of 0
    assert message(ex.check_close, [1000.05, 0.01], [1000.0, 0.0], name="y") == \
        "y の値が合っていません (最大の誤差: 0.01、位置 (1,) で 0.01 (正しくは 0))。"
    assert message(ex.check_close, [[0.0, 0.5]], [[0.0, 0.0]]).endswith("位置 (0, 1) で 0.5 (正しくは 0))。")
    ex.check_close(1000.05, 1000.0)  # relative tolerance 1e-4 of the expected value: passes


def test_check_close_passes_its_name_to_the_shape_and_number_checks():
    assert message(ex.check_close, [1.0, 2.0], [1.0], name="scores") == \
        "scores の形が違います: (1,) のはずですが、(2,) でした。"
    assert message(ex.check_close, ["a"], [1.0], name="scores") == \
        "scores を数値の配列として読めませんでした (型: list)。長さのそろった数のリストか、numpy の配列にしましょう。"
    assert message(ex.check_close, [float("nan"), 1.0, float("nan")], [0.0, 1.0, 0.0]) == (
        "答え に NaN (計算できなかった値) が 2 個あります。0 での割り算や log(0)、exp のあふれがないか確かめましょう。")


def test_row_entropy_is_computed_in_float64_and_averages_over_queries():
    w16 = np.array([[0.1, 0.9], [0.5, 0.5]], dtype=np.float16)
    w = w16.astype(np.float64)
    expected = -(w * np.log(w)).sum(-1).mean()
    assert checks.row_entropy(w16) == pytest.approx(expected, rel=1e-12)
    rect = np.array([[1.0, 0.0, 0.0], [0.5, 0.25, 0.25]])  # 2 queries, 3 keys: mean over the 2 rows
    assert checks.row_entropy(rect) == pytest.approx((0.0 + 1.5 * np.log(2)) / 2)


def test_expect_top_names_the_best_layer_and_head():
    values = np.array([[0.1, 0.2, 0.3], [0.4, 0.9, 0.5]])
    assert message(checks._expect_top, values, 0, 2, lambda l2, h2: f"best {l2}/{h2}") == "best 1/1"
    checks._expect_top(values, 1, 1, lambda l2, h2: "never")  # the best one passes
