"""Exact binomial intervals and the fixed split (attn_utils.stats)."""
import math

import numpy as np
import pytest

import attn_utils as au


def _binom_pmf_sum(ks, n, p):
    return sum(math.comb(n, j) * p**j * (1 - p) ** (n - j) for j in ks)


@pytest.mark.parametrize("k,n", [(0, 5), (1, 1), (3, 7), (32, 34), (34, 34), (17, 68)])
def test_interval_ends_have_the_clopper_pearson_tail_probabilities(k, n):
    low, high = au.binomial_interval(k, n, level=0.9)
    assert 0.0 <= low <= k / n <= high <= 1.0
    if k > 0:  # P(X >= k | low) = 0.05
        assert _binom_pmf_sum(range(k, n + 1), n, low) == pytest.approx(0.05, abs=1e-9)
    else:
        assert low == 0.0
    if k < n:  # P(X <= k | high) = 0.05
        assert _binom_pmf_sum(range(0, k + 1), n, high) == pytest.approx(0.05, abs=1e-9)
    else:
        assert high == 1.0


def test_interval_matches_scipy_exact_interval():
    stats = pytest.importorskip("scipy.stats", reason="scipy is the oracle here; the package itself does not need it")
    for k, n in [(0, 10), (5, 68), (32, 34), (3000, 10000), (49, 50)]:
        ours = au.binomial_interval(k, n)
        ref = stats.binomtest(k, n).proportion_ci(0.95, method="exact")
        assert ours == pytest.approx((ref.low, ref.high), abs=1e-9)


def test_interval_narrows_with_more_trials_and_widens_with_level():
    a = au.binomial_interval(30, 40)
    b = au.binomial_interval(300, 400)
    assert b[1] - b[0] < a[1] - a[0]
    c = au.binomial_interval(30, 40, level=0.99)
    assert c[0] < a[0] and c[1] > a[1]


@pytest.mark.parametrize("args,exc", [((5, 0), ValueError), ((6, 5), ValueError), ((-1, 5), ValueError),
                                      ((1.5, 5), TypeError), ((True, 5), TypeError)])
def test_interval_rejects_impossible_counts_with_a_message(args, exc):
    with pytest.raises(exc, match="k|n"):
        au.binomial_interval(*args)
    with pytest.raises(ValueError, match="level"):
        au.binomial_interval(1, 2, level=95)


def test_intervals_overlap_is_symmetric_and_detects_separation():
    assert au.intervals_overlap((0.1, 0.5), (0.4, 0.9))
    assert au.intervals_overlap((0.4, 0.9), (0.1, 0.5))
    assert not au.intervals_overlap((0.1, 0.3), (0.31, 0.9))
    assert not au.intervals_overlap((0.31, 0.9), (0.1, 0.3))


def test_split_half_is_a_fixed_disjoint_cover():
    sel, rep = au.split_half(68)
    assert len(sel) == 34 and len(rep) == 34
    assert set(sel).isdisjoint(rep) and sorted(np.concatenate([sel, rep])) == list(range(68))
    again = au.split_half(68)
    assert np.array_equal(sel, again[0]) and np.array_equal(rep, again[1])
    assert not np.array_equal(sel, au.split_half(68, seed=1)[0])
    assert not np.array_equal(sel, np.arange(34))  # shuffled, not the first half of the file
    with pytest.raises(ValueError, match="at least 2"):
        au.split_half(1)


def _log_fact(n):
    return np.concatenate([[0.0], np.cumsum(np.log(np.arange(1, n + 1, dtype=np.float64)))])


def test_binomial_cdf_is_a_probability_at_its_edges_and_inside():
    """P(X <= k) by the definition (math.comb), the certain and impossible cases exact."""
    import math

    from attn_utils.stats import _binom_cdf

    for n in (1, 5, 12):
        lf = _log_fact(n)
        for k in range(-1, n + 2):
            for p in (0.0, 0.2, 0.5, 0.9, 1.0):
                exact = sum(math.comb(n, i) * p**i * (1 - p) ** (n - i) for i in range(0, min(k, n) + 1))
                got = _binom_cdf(k, n, p, lf)
                assert got == pytest.approx(exact, abs=1e-12), (k, n, p)
                if k >= n or (p == 0.0 and k >= 0):
                    assert got == 1.0  # certain: exactly 1
                if k < 0 or (p == 1.0 and k < n):
                    assert got == 0.0  # impossible: exactly 0
    # summing in log space can round above 1; a probability never is
    assert _binom_cdf(135, 157, 0.5, _log_fact(157)) <= 1.0


def test_interval_ends_are_exact_at_zero_and_all_hits():
    for n in (1, 7, 40):
        assert au.binomial_interval(0, n)[0] == 0.0
        assert au.binomial_interval(n, n)[1] == 1.0
        low, high = au.binomial_interval(0, n)
        assert 0.0 < high < 1.0
    low, high = au.binomial_interval(3, 3)
    assert 0.0 < low < 1.0


def test_interval_messages_name_the_argument_and_the_valid_range():
    with pytest.raises(TypeError, match=r"^k must be a whole number of trials, got 1\.5$"):
        au.binomial_interval(1.5, 5)
    with pytest.raises(TypeError, match=r"^n must be a whole number of trials, got 5\.0$"):
        au.binomial_interval(1, 5.0)
    with pytest.raises(ValueError, match=r"^n must be at least 1, got 0$"):
        au.binomial_interval(0, 0)
    with pytest.raises(ValueError, match=r"^k must be in 0\.\.n = 0\.\.5, got 6$"):
        au.binomial_interval(6, 5)
    for level in (0.0, 1.0, 1.5, -0.1):
        with pytest.raises(ValueError, match="level must be strictly between 0 and 1"):
            au.binomial_interval(1, 2, level=level)
    assert au.binomial_interval(1, 2, level=np.float64(0.5))[0] > 0


def test_touching_intervals_overlap():
    assert au.intervals_overlap((0.1, 0.4), (0.4, 0.9))
    assert au.intervals_overlap((0.4, 0.9), (0.1, 0.4))
    assert au.intervals_overlap((0.2, 0.2), (0.2, 0.2))


def test_split_half_takes_two_or_more_whole_items():
    sel, rep = au.split_half(2)
    assert sorted([*sel, *rep]) == [0, 1] and len(sel) == len(rep) == 1
    sel, rep = au.split_half(np.int64(3))
    assert len(sel) == 2 and len(rep) == 1
    for bad in (2.5, True, "4", 0, -3):
        with pytest.raises(ValueError, match="at least 2 items"):
            au.split_half(bad)


def _mcnemar_by_definition(a_only, b_only):
    """Two-sided exact McNemar p by its definition: binomial test of the discordant pairs at 1/2
    (McNemar 1947; statsmodels' mcnemar(exact=True)), summed with math.comb."""
    n = a_only + b_only
    if n == 0:
        return 1.0
    tail = sum(math.comb(n, i) for i in range(min(a_only, b_only) + 1)) / 2**n
    return min(1.0, 2 * tail)


@pytest.mark.parametrize("a_only,b_only,both,neither", [(6, 0, 3, 1), (0, 6, 0, 0), (4, 1, 20, 9), (3, 3, 10, 2),
                                                         (0, 0, 5, 5), (10, 2, 0, 0), (1, 0, 30, 3)])
def test_mcnemar_counts_only_discordant_items_and_has_the_exact_binomial_p(a_only, b_only, both, neither):
    rng = np.random.default_rng(a_only * 100 + b_only)
    a = [1] * a_only + [0] * b_only + [1] * both + [0] * neither
    b = [0] * a_only + [1] * b_only + [1] * both + [0] * neither
    order = rng.permutation(len(a))
    a, b = np.array(a)[order].astype(bool), np.array(b)[order].astype(bool)
    got_a, got_b, p = au.mcnemar_exact(a, b)
    assert (got_a, got_b) == (a_only, b_only)
    assert p == pytest.approx(_mcnemar_by_definition(a_only, b_only), abs=1e-12)
    # symmetric in the two classifiers; concordant items change nothing
    assert au.mcnemar_exact(b, a)[2] == pytest.approx(p, abs=1e-12)
    assert au.mcnemar_exact(np.r_[a, True, False], np.r_[b, True, False])[2] == pytest.approx(p, abs=1e-12)


def test_mcnemar_is_significant_where_overlapping_intervals_are_not():
    """6 discordant items all one way: paired p = 2/64 < 0.05, although the 95% intervals of 30/34 and 24/34 overlap."""
    a = np.array([True] * 30 + [False] * 4)
    b = a.copy()
    b[:6] = False
    _, _, p = au.mcnemar_exact(a, b)
    assert p == pytest.approx(2 / 64)
    assert au.intervals_overlap(au.binomial_interval(30, 34), au.binomial_interval(24, 34))


def test_mcnemar_matches_statsmodels_when_available():
    sm = pytest.importorskip("statsmodels.stats.contingency_tables", reason="statsmodels is only an oracle here")
    for a_only, b_only in [(6, 0), (4, 1), (3, 3), (10, 2), (7, 19)]:
        table = [[5, a_only], [b_only, 2]]
        ref = sm.mcnemar(table, exact=True).pvalue
        a = np.array([1] * 5 + [1] * a_only + [0] * b_only + [0] * 2, bool)
        b = np.array([1] * 5 + [0] * a_only + [1] * b_only + [0] * 2, bool)
        assert au.mcnemar_exact(a, b)[2] == pytest.approx(ref, abs=1e-12)


def test_mcnemar_rejects_unpaired_or_non_binary_input():
    with pytest.raises(ValueError, match="same length"):
        au.mcnemar_exact([True, False], [True])
    with pytest.raises(ValueError, match="True/False"):
        au.mcnemar_exact([0.5, 1], [1, 0])
