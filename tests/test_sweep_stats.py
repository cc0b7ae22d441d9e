"""pass^k, the bootstrap intervals over tasks and the coverage fit: hand-computed values and properties."""

from __future__ import annotations

import math
from math import comb

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from agentloop.sweep import pass_at_k
from agentloop.sweep.stats import Bootstrap, fit_coverage, pass_hat_k


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (1, 1, 1, 1.0),
    (3, 1, 1, 1 / 3),
    (3, 1, 2, 0.0),         # two drawn from three with one right: never both right
    (3, 2, 2, 1 / 3),       # C(2,2)/C(3,2)
    (5, 3, 2, 0.3),         # C(3,2)/C(5,2) = 3/10
    (10, 7, 5, 21 / 252),   # C(7,5)/C(10,5)
    (4, 4, 4, 1.0),
])
def test_pass_hat_k_hand_computed(n, c, k, expected):
    assert pass_hat_k(n, c, k) == pytest.approx(expected, abs=1e-12)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (3, 1, 4), (0, 0, 1)])
def test_pass_hat_k_rejects_impossible_arguments(n, c, k):
    with pytest.raises(ValueError):
        pass_hat_k(n, c, k)


@st.composite
def nck(draw):
    n = draw(st.integers(1, 120))
    return n, draw(st.integers(0, n)), draw(st.integers(1, n))


@given(nck())
def test_pass_hat_k_is_the_binomial_ratio_and_never_above_pass_at_k(args):
    n, c, k = args
    value = pass_hat_k(n, c, k)
    assert value == pytest.approx(comb(c, k) / comb(n, k), abs=1e-9)
    assert value <= pass_at_k(n, c, 1) + 1e-12 <= pass_at_k(n, c, k) + 2e-12
    if k > 1:
        assert value <= pass_hat_k(n, c, k - 1) + 1e-12  # demanding more successes never helps


task_values = st.lists(st.floats(0, 1), min_size=1, max_size=40)


@settings(max_examples=60, deadline=None)
@given(task_values)
def test_interval_contains_the_point_estimate_and_is_ordered(values):
    ci = Bootstrap(resamples=400).mean(values)
    assert ci.point == pytest.approx(sum(values) / len(values))
    assert 0.0 <= ci.low <= ci.point + 1e-12 and ci.point - 1e-12 <= ci.high <= 1.0


@settings(max_examples=30, deadline=None)
@given(task_values, st.integers(0, 10))
def test_bootstrap_is_deterministic_for_a_seed(values, seed):
    assert Bootstrap(resamples=200, seed=seed).mean(values) == Bootstrap(resamples=200, seed=seed).mean(list(values))


def test_a_different_seed_draws_differently_but_agrees_closely():
    values = [1.0] * 9 + [0.0] * 21
    a, b = Bootstrap(seed=0).mean(values), Bootstrap(seed=1).mean(values)
    assert abs(a.low - b.low) < 0.05 and abs(a.high - b.high) < 0.05


def test_interval_matches_the_normal_approximation_for_a_proportion():
    # 30 of 100 tasks pass: the normal interval is 0.3 +- 1.96*sqrt(.3*.7/100) = [0.210, 0.390]
    ci = Bootstrap(resamples=4000).mean([1.0] * 30 + [0.0] * 70)
    assert ci.point == pytest.approx(0.3)
    assert ci.low == pytest.approx(0.21, abs=0.02) and ci.high == pytest.approx(0.39, abs=0.02)


def test_more_tasks_give_a_narrower_interval():
    small = Bootstrap().mean([1.0, 0.0] * 10)
    large = Bootstrap().mean([1.0, 0.0] * 200)
    assert large.high - large.low < (small.high - small.low) / 3


def test_no_variation_means_no_width():
    ci = Bootstrap().mean([0.25] * 12)
    assert (ci.low, ci.point, ci.high) == pytest.approx((0.25, 0.25, 0.25))


def test_ratio_resamples_tasks_together_and_skips_empty_draws():
    # 2 of 4 visible-passing candidates fail hidden tests, spread over tasks; one task has none
    ci = Bootstrap().ratio([1, 1, 0, 0], [2, 1, 1, 0])
    assert ci.point == pytest.approx(0.5)
    assert 0.0 <= ci.low <= 0.5 <= ci.high <= 1.0
    assert Bootstrap().ratio([0, 0], [0, 0]) is None


@given(st.floats(-3.0, -0.01), st.floats(-1.5, -0.05))
def test_coverage_fit_recovers_an_exact_exponentiated_power_law(a, b):
    curve = {k: math.exp(a * k ** b) for k in (1, 2, 4, 8, 16, 32)}
    if not all(0 < c < 1 for c in curve.values()):
        return
    fit = fit_coverage(curve)
    assert fit is not None and fit.points == 6
    assert fit.a == pytest.approx(a, rel=1e-6) and fit.b == pytest.approx(b, rel=1e-6, abs=1e-9)
    assert fit.predict(64) == pytest.approx(math.exp(a * 64 ** b), rel=1e-6)


def test_coverage_fit_needs_two_points_strictly_between_zero_and_one():
    assert fit_coverage({1: 0.0, 2: 1.0, 4: 1.0}) is None
    assert fit_coverage({1: 0.2}) is None
    fit = fit_coverage({1: 0.2, 2: 0.3, 4: 1.0})
    assert fit is not None and fit.points == 2
