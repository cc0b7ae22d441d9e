"""The unbiased pass@k estimator (Chen et al. 2021): hand-computed values and its properties."""

from __future__ import annotations

import itertools
from math import comb

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentloop.sweep import pass_at_k


@pytest.mark.parametrize(("n", "c", "k", "expected"), [
    (1, 1, 1, 1.0),
    (1, 0, 1, 0.0),
    (3, 1, 1, 1 / 3),
    (3, 1, 2, 2 / 3),        # 1 - C(2,2)/C(3,2) = 1 - 1/3
    (3, 2, 2, 1.0),          # fewer wrong samples than k: some drawn sample is right
    (5, 2, 2, 0.7),          # 1 - C(3,2)/C(5,2) = 1 - 3/10
    (10, 3, 5, 1 - 21 / 252),  # 1 - C(7,5)/C(10,5)
    (4, 0, 4, 0.0),
])
def test_hand_computed_values(n, c, k, expected):
    assert pass_at_k(n, c, k) == pytest.approx(expected, abs=1e-12)


def test_large_n_does_not_overflow_and_matches_the_binomial_form():
    # the naive C(n-c,k)/C(n,k) with floats overflows long before n=2000
    value = pass_at_k(2000, 7, 100)
    exact = 1 - comb(1993, 100) / comb(2000, 100)  # exact integers, then one division
    assert value == pytest.approx(exact, rel=1e-9)


@pytest.mark.parametrize(("n", "c", "k"), [(3, 4, 1), (3, 1, 0), (3, 1, 4), (0, 0, 1), (3, -1, 1)])
def test_impossible_arguments_are_rejected(n, c, k):
    with pytest.raises(ValueError):
        pass_at_k(n, c, k)


@st.composite
def samples(draw):
    n = draw(st.integers(1, 200))
    return n, draw(st.integers(0, n))


@given(samples())
def test_pass_at_1_is_the_fraction_of_passing_samples(nc):
    n, c = nc
    assert pass_at_k(n, c, 1) == pytest.approx(c / n, abs=1e-12)


@given(samples())
def test_monotone_in_k_and_bounded(nc):
    n, c = nc
    values = [pass_at_k(n, c, k) for k in range(1, n + 1)]
    assert all(0.0 <= v <= 1.0 for v in values)
    assert all(a <= b + 1e-12 for a, b in itertools.pairwise(values))
    assert values[-1] == (1.0 if c else 0.0)  # all n samples drawn: right iff any is right


@given(samples(), st.data())
def test_matches_the_exact_combinatorial_definition(nc, data):
    n, c = nc
    k = data.draw(st.integers(1, n))
    assert pass_at_k(n, c, k) == pytest.approx(1 - comb(n - c, k) / comb(n, k), abs=1e-9)
