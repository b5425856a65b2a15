"""Exact probability that the logistic MLE exists (intercept + one Bernoulli(0.5) feature).

Checked against (1) brute-force enumeration of every data set for n <= 5 with the
MLE's existence decided by a linear program (scipy's HiGHS: a direction gamma != 0
with (2y - 1) x'gamma >= 0 for all rows, or a rank-deficient X, means no MLE) --
this checks the group/outcome criterion itself; (2) exact rational arithmetic
(fractions) for tiny probabilities at larger n; (3) a seeded simulation with the
count criterion, within 4 MCSE.
"""

from __future__ import annotations

import itertools
import math
from fractions import Fraction

import numpy as np
import pytest
from scipy.optimize import linprog
from scipy.special import expit

from mlestudy.theory.separation_probability import (
    mle_existence_probability,
    no_mle_probability,
    no_mle_probability_fixed_design,
)

BETAS = [(-0.5, 1.0), (0.0, 0.0), (1.5, -2.5), (-2.0, 0.3)]


def lp_mle_exists(x: np.ndarray, y: np.ndarray) -> bool:
    """No MLE iff X lacks full rank or some gamma != 0 has s_i x_i'gamma >= 0 for all i (s = 2y - 1)."""
    if np.linalg.matrix_rank(x) < x.shape[1]:
        return False
    a = (2 * y - 1)[:, None] * x
    res = linprog(
        -a.sum(axis=0), A_ub=-a, b_ub=np.zeros(len(a)), bounds=[(-1, 1)] * x.shape[1], method="highs"
    )
    assert res.status == 0
    return -res.fun <= 1e-9


def enumerated_existence(n: int) -> list[tuple[np.ndarray, np.ndarray, bool]]:
    out = []
    for z in itertools.product([0.0, 1.0], repeat=n):
        x = np.column_stack([np.ones(n), z])
        for y in itertools.product([0.0, 1.0], repeat=n):
            y = np.array(y)
            out.append((np.array(z), y, lp_mle_exists(x, y)))
    return out


@pytest.mark.parametrize("n", [1, 2, 3, 4, 5])
def test_matches_linear_program_enumeration(n: int) -> None:
    table = enumerated_existence(n)
    for beta in BETAS:
        total = 0.0
        for z, y, exists in table:
            p = expit(beta[0] + beta[1] * z)
            prob = 0.5**n * np.prod(np.where(y == 1, p, 1 - p))
            total += prob * exists
        assert mle_existence_probability(beta, n) == pytest.approx(total, abs=1e-15)
        assert no_mle_probability(beta, n) == pytest.approx(1 - total, abs=1e-15)


def exact_no_mle(p0: Fraction, p1: Fraction, n: int) -> Fraction:
    def single(p: Fraction, k: int) -> Fraction:  # one outcome only; an empty group counts as 1
        return Fraction(1) if k == 0 else p**k + (1 - p) ** k

    return sum(
        Fraction(math.comb(n, k), 2**n)
        * (single(p0, n - k) + single(p1, k) - single(p0, n - k) * single(p1, k))
        for k in range(n + 1)
    )


@pytest.mark.parametrize("n", [10, 60, 300])
def test_tiny_probabilities_match_exact_rationals(n: int) -> None:
    """P(no MLE) down to ~1e-60 to 1e-12 relative: sigma(beta) set to rationals, summed exactly with fractions."""
    for p0, p1 in [(Fraction(3, 10), Fraction(7, 10)), (Fraction(1, 20), Fraction(1, 2))]:
        beta = (math.log(p0 / (1 - p0)), math.log(p1 / (1 - p1)) - math.log(p0 / (1 - p0)))
        exact = exact_no_mle(p0, p1, n)
        assert no_mle_probability(beta, n) == pytest.approx(float(exact), rel=1e-12, abs=0)
        assert mle_existence_probability(beta, n) == pytest.approx(float(1 - exact), rel=1e-13, abs=1e-16)


@pytest.mark.parametrize("n", [8, 15, 30])
def test_matches_simulation_with_count_criterion(n: int) -> None:
    """400,000 seeded data sets per n; the MLE exists iff both groups hold both outcomes."""
    beta = (-0.5, 1.0)
    reps = 400_000
    rng = np.random.default_rng([2024, n])
    z = rng.random((reps, n)) < 0.5
    y = rng.random((reps, n)) < expit(beta[0] + beta[1] * z)
    n1, s1, s0 = z.sum(axis=1), (z & y).sum(axis=1), (~z & y).sum(axis=1)
    exists = (s1 > 0) & (s1 < n1) & (s0 > 0) & (s0 < n - n1)
    exact = mle_existence_probability(beta, n)
    mcse = math.sqrt(exact * (1 - exact) / reps)
    assert mcse > 0
    assert abs(exists.mean() - exact) <= 4 * mcse


def test_random_design_averages_the_fixed_design() -> None:
    beta, n = (0.7, -1.9), 23
    pmf = [math.comb(n, k) / 2**n for k in range(n + 1)]
    avg = sum(w * no_mle_probability_fixed_design(beta, n - k, k) for k, w in enumerate(pmf))
    assert no_mle_probability(beta, n) == pytest.approx(avg, rel=1e-14)
    assert mle_existence_probability(beta, n) + no_mle_probability(beta, n) == pytest.approx(1.0, abs=1e-15)


def test_small_groups() -> None:
    """An empty group or a lone observation in a group: no MLE. n <= 3 never has one."""
    assert [mle_existence_probability((0.2, 0.4), n) for n in (1, 2, 3)] == [0.0, 0.0, 0.0]
    assert no_mle_probability_fixed_design((0.2, 0.4), 0, 10) == 1.0
    assert no_mle_probability_fixed_design((0.2, 0.4), 1, 10) == 1.0
    p0, p1 = expit(0.2), expit(0.6)
    want = 1 - (1 - p0**2 - (1 - p0) ** 2) * (1 - p1**3 - (1 - p1) ** 3)
    assert no_mle_probability_fixed_design((0.2, 0.4), 2, 3) == pytest.approx(want, rel=1e-14)


@pytest.mark.parametrize(
    ("call", "words"),
    [
        (lambda: no_mle_probability((0.1, 0.2, 0.3), 10), ["beta", "[0.1, 0.2, 0.3]", "[intercept, slope]"]),
        (lambda: no_mle_probability((0.1, np.inf), 10), ["beta", "inf", "finite"]),
        (lambda: mle_existence_probability((0.1, 0.2), 0), ["sample size n", "= 0", ">= 1"]),
        (lambda: no_mle_probability_fixed_design((0.1, 0.2), -1, 3), ["n0", "-1", ">= 0"]),
    ],
)
def test_bad_input_is_one_clear_line(call, words: list[str]) -> None:
    with pytest.raises(ValueError) as err:
        call()
    assert "\n" not in str(err.value)
    for word in words:
        assert word in str(err.value)
