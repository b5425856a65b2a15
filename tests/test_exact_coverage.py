"""Exact Wald coverage of the scalar families against closed forms, brute force and simulation.

Three independent checks of :mod:`mlestudy.theory.coverage`:

- closed forms at tiny n (Cauchy at n = 2, chi2_1 through erf, Exp(1) at n = 1, the
  Bernoulli 2 p (1 - p) at n = 2) and the degenerate cases;
- brute force: the plain sum over every support point (and every 0/1 sequence at
  tiny n) decided by the study's own code path (family fit, aggregate's inverse
  information, ``wald_covered``), and numerical integration of the Wald
  inequality itself (not its inversion) over the pivot's density;
- seeded simulations of raw data, the interval computed directly, every
  (n, parameter value, level) within 4 Monte Carlo standard errors, and the RMS
  of those z-values between 0.6 and 1.6 (about 1 when the theory is right).
"""

from __future__ import annotations

import itertools
import math
from functools import cache

import numpy as np
import pytest
from scipy import integrate, stats

from mlestudy.families import get_family
from mlestudy.models.scalar import inverse_information
from mlestudy.performance import wald_covered
from mlestudy.theory.coverage import (
    bernoulli_coverage,
    coverage_z,
    exact_coverage,
    exponential_rate_coverage,
    gaussian_mean_coverage,
    gaussian_variance_coverage,
    poisson_coverage,
    wald_z,
)

LEVELS = (0.9, 0.95, 0.99)
TOP_LEVEL = float(np.nextafter(1.0, 0.0))  # 0.5 + level/2 rounds to 1: z = inf


def study_covers(family: str, estimator: str, parameter: str, x: np.ndarray, theta: dict, level: float):
    """Whether the study's Wald interval covers, computed as the study does (each fit's own se), for data x (R, n)."""
    fit = get_family(family).fit(x)[estimator]
    return wald_covered(fit.values[parameter], fit.se[parameter], theta[parameter], level)


# -- closed forms and edge cases ----------------------------------------------------------------------
@pytest.mark.parametrize("level", LEVELS)
def test_closed_forms_at_tiny_n(level: float) -> None:
    z = wald_z(level)
    # n = 2 Bernoulli: only k = 1 (p-hat = 1/2, se = 1/(2 sqrt 2)) can cover, and it does when z/(2 sqrt 2) >= |1/2 - p|.
    assert bernoulli_coverage(0.7, 2, level) == pytest.approx(2 * 0.7 * 0.3, abs=1e-15)
    assert bernoulli_coverage(0.9, 2, level) == pytest.approx(
        0.18 if z / (2 * math.sqrt(2)) >= 0.4 else 0.0, abs=1e-15
    )
    # normal mu at n = 2: T ~ t_1 (Cauchy), 2 F(z/sqrt 2) - 1 = (2/pi) atan(z/sqrt 2).
    assert gaussian_mean_coverage(2, level) == pytest.approx(
        2 / math.pi * math.atan(z / math.sqrt(2)), abs=1e-14
    )
    # normal sigma2 MLE at n = 2: W ~ chi2_1, P(a <= W <= b) = erf(sqrt(b/2)) - erf(sqrt(a/2)); here c = z > 1.
    c = z
    lo = 2 / (1 + c)
    hi = 2 / (1 - c) if c < 1 else math.inf
    expected = (math.erf(math.sqrt(hi / 2)) if c < 1 else 1.0) - math.erf(math.sqrt(lo / 2))
    assert gaussian_variance_coverage(2, level, divisor=2) == pytest.approx(expected, abs=1e-14)
    # exponential MLE at n = 1: G ~ Exp(1), c = z > 1, coverage P(G <= 1 + z).
    assert exponential_rate_coverage(1, level, numerator=1) == pytest.approx(-math.expm1(-(1 + z)), abs=1e-15)
    # Poisson at n = 1, rate = 1: enumerate t = 1..20 by hand.
    manual = sum(math.exp(-1) / math.factorial(t) for t in range(1, 30) if abs(t - 1) <= z * math.sqrt(t))
    assert poisson_coverage(1.0, 1, level) == pytest.approx(manual, abs=1e-15)


def test_degenerate_cases() -> None:
    for level in (*LEVELS, TOP_LEVEL):
        # n = 1: the Bernoulli and normal intervals have se = 0 and never cover.
        assert bernoulli_coverage(0.3, 1, level) == 0.0
        assert exact_coverage("normal", "mle", "mu", {"mu": 0, "sigma2": 1}, 1, level) == 0.0
        assert exact_coverage("normal", "mle", "sigma2", {"mu": 0, "sigma2": 1}, 1, level) == 0.0
        # estimators that do not exist at n = 1, and a family without exact theory
        assert math.isnan(exact_coverage("normal", "unbiased", "sigma2", {"sigma2": 1}, 1, level))
        assert math.isnan(exact_coverage("exponential", "unbiased", "rate", {"rate": 1}, 1, level))
        assert math.isnan(exact_coverage("gamma", "mle", "shape", {"shape": 2, "rate": 1}, 5, level))
    # p on the edge: all mass on a point with se = 0 and |p-hat - p| = 0, which covers.
    assert bernoulli_coverage(0.0, 7, 0.95) == 1.0 and bernoulli_coverage(1.0, 7, 0.95) == 1.0


def test_level_whose_z_is_infinite() -> None:
    """0.5 + level/2 rounds to 1: se > 0 always covers, se = 0 never (0 * inf is NaN), as in the simulation."""
    assert math.isinf(wald_z(TOP_LEVEL))
    p, n, rate = 0.3, 6, 0.4
    assert bernoulli_coverage(p, n, TOP_LEVEL) == pytest.approx(1 - p**n - (1 - p) ** n, abs=1e-15)
    assert poisson_coverage(rate, n, TOP_LEVEL) == pytest.approx(-math.expm1(-n * rate), abs=1e-15)
    k = np.arange(n + 1)
    with np.errstate(invalid="ignore"):
        covered = study_covers(
            "bernoulli", "mle", "p", (np.arange(n) < k[:, None]).astype(float), {"p": p}, TOP_LEVEL
        )
    assert covered.tolist() == [False] + [True] * (n - 1) + [False]
    for n in (2, 5):
        assert gaussian_mean_coverage(n, TOP_LEVEL) == 1.0
        assert gaussian_variance_coverage(n, TOP_LEVEL, divisor=n) == 1.0
        assert exponential_rate_coverage(n, TOP_LEVEL, numerator=n - 1) == 1.0


def test_levels_near_one_approach_one() -> None:
    previous = np.zeros(5)
    for level in (0.99, 0.999, 0.999999, 1 - 1e-12):
        values = np.array(
            [
                gaussian_mean_coverage(50, level),
                gaussian_variance_coverage(50, level, divisor=49),
                exponential_rate_coverage(50, level, numerator=50),
                bernoulli_coverage(0.5, 200, level),
                poisson_coverage(3.0, 50, level),
            ]
        )
        assert (values > previous).all() and (values <= 1).all()
        previous = values
    assert (1 - previous < 1e-3).all()


def test_bad_input_is_one_clear_line() -> None:
    with pytest.raises(ValueError, match=r"level = 1\.0 is not allowed; the level must be > 0 and < 1"):
        gaussian_mean_coverage(5, 1.0)
    with pytest.raises(ValueError, match=r"sample size n = 0 is not allowed"):
        bernoulli_coverage(0.5, 0, 0.95)
    with pytest.raises(ValueError, match=r"p = 1.5 is not allowed"):
        bernoulli_coverage(1.5, 3, 0.95)
    with pytest.raises(ValueError, match=r"rate = -1.0 is not allowed"):
        poisson_coverage(-1.0, 3, 0.95)


def test_poisson_beyond_exact_totals_is_nan() -> None:
    assert math.isnan(poisson_coverage(1e15, 10, 0.95))
    assert not math.isnan(poisson_coverage(2.0**52 / 10, 10, 0.95))


# -- coverage_z -------------------------------------------------------------------------------------------
def test_coverage_z() -> None:
    assert coverage_z(0.96, 0.95, 10_000) == pytest.approx(0.01 / math.sqrt(0.95 * 0.05 / 10_000))
    assert coverage_z(0.0, 0.0, 500) == 0.0 and coverage_z(1.0, 1.0, 500) == 0.0
    assert coverage_z(0.002, 0.0, 500) == math.inf and coverage_z(0.998, 1.0, 500) == -math.inf
    assert math.isnan(coverage_z(math.nan, 0.95, 10)) and math.isnan(coverage_z(0.9, math.nan, 10))
    assert math.isnan(coverage_z(0.9, 0.95, 0))
    z = coverage_z(np.array([0.0, 0.5, 1.0]), np.array([0.0, 0.4, 0.9]), np.array([10, 100, 0]))
    assert z[0] == 0 and z[1] == pytest.approx(0.1 / math.sqrt(0.24 / 100)) and math.isnan(z[2])


# -- brute force --------------------------------------------------------------------------------------------
@pytest.mark.parametrize("n", [*range(1, 13)])
def test_bernoulli_against_every_sequence(n: int) -> None:
    """Every 0/1 sequence of length n through the family's fit and aggregate's standard error."""
    x = np.array(list(itertools.product((0.0, 1.0), repeat=n)))
    k = x.sum(axis=1)
    for p, level in itertools.product((0.05, 0.3, 0.5, 0.7), LEVELS):
        covered = study_covers("bernoulli", "mle", "p", x, {"p": p}, level)
        weights = p**k * (1 - p) ** (n - k)
        assert bernoulli_coverage(p, n, level) == pytest.approx(math.fsum(weights[covered]), abs=1e-14)


def _bernoulli_support_sum(p: float, n: int, level: float) -> float:
    """Sum over every k = 0..n; each k decided by the study's path (a sample with k ones)."""
    k = np.arange(n + 1)
    covered = study_covers(
        "bernoulli", "mle", "p", (np.arange(n) < k[:, None]).astype(float), {"p": p}, level
    )
    return math.fsum(stats.binom.pmf(k[covered], n, p))


@pytest.mark.parametrize("n", [1, 2, 3, 7, 20, 50, 60, 129, 250, 1000, 3000])
def test_bernoulli_against_support_sum(n: int) -> None:
    for p, level in itertools.product((0.001, 0.05, 0.3, 0.5, 0.7, 0.9), LEVELS):
        brute = _bernoulli_support_sum(p, n, level)
        # window=1 decides only the points next to the roots: the interior claim is what is tested.
        for window in (64, 1):
            assert bernoulli_coverage(p, n, level, window=window) == pytest.approx(brute, abs=2e-14)


def test_bernoulli_ties_at_the_edge_follow_rounding() -> None:
    """Walk p one ulp at a time across the edge of k = 1's interval at n = 5 (p-hat = 0.2).

    There the study's se, sqrt(0.2 * 0.8 / 5), and the algebraically equal
    sqrt(0.2 * 0.8) / sqrt(5) differ in the last bit, so the verdict at the edge
    depends on writing the se exactly as the study does; the theory must agree
    with the study's path at every step.
    """
    n, level = 5, 0.9
    edge = 0.2 + wald_z(level) * math.sqrt(0.2 * 0.8 / 5)
    p = edge
    for _ in range(30):
        p = np.nextafter(p, 0.0)
    one = (np.arange(n) < 1).astype(float)[None, :]
    verdicts = []
    for _ in range(60):
        assert bernoulli_coverage(float(p), n, level) == pytest.approx(
            _bernoulli_support_sum(float(p), n, level), abs=1e-15
        )
        verdicts.append(bool(study_covers("bernoulli", "mle", "p", one, {"p": float(p)}, level)[0]))
        p = np.nextafter(p, 1.0)
    assert verdicts[0] and not verdicts[-1], "the walk should cross the edge of k = 1"


@pytest.mark.parametrize("rate", [0.01, 0.4, 3.0, 7.0, 250.0])
@pytest.mark.parametrize("n", [1, 2, 5, 120, 900])
def test_poisson_against_support_sum(rate: float, n: int) -> None:
    """Against the plain sum over t = 0..top (mass above < 1e-18), each t decided by the study's path.

    Summing thousands of scipy pmf values and differencing two CDFs agree to about
    1e-13 sqrt(n rate), not to 1e-16, so the tolerance is a thousandth of the
    smallest mass that a wrong edge of the covered set would add or remove.
    """
    mu = n * rate
    top = int(mu + 40 * math.sqrt(mu) + 60)
    assert stats.poisson.sf(top, mu) < 1e-18  # the mass left out
    t = np.arange(top + 1)
    fam = get_family("poisson")
    for level in LEVELS:
        rate_hat = t / n
        se = np.sqrt(inverse_information(fam, {"rate": rate_hat})[:, 0, 0] / n)
        covered = wald_covered(rate_hat, se, rate, level)
        brute = math.fsum(stats.poisson.pmf(t[covered], mu))
        first, last = np.flatnonzero(covered)[[0, -1]]
        edges = stats.poisson.pmf([max(first - 1, 0), first, last, last + 1], mu)
        tol = max(1e-14, 1e-3 * edges.min())
        for window in (64, 1):
            assert poisson_coverage(rate, n, level, window=window) == pytest.approx(brute, abs=tol)


def _edge(rate: float, n: int, level: float, inside: int, outside: int) -> int:
    """The last covering total between ``inside`` (covers) and ``outside`` (does not), by bisection on the study's inequality."""

    def covers(t: int) -> bool:
        rate_hat = np.array([t / n])
        return bool(wald_covered(rate_hat, np.sqrt(rate_hat / n), rate, level)[0])

    assert covers(inside) and not covers(outside)
    while abs(outside - inside) > 1:
        mid = (inside + outside) // 2
        inside, outside = (mid, outside) if covers(mid) else (inside, mid)
    return inside


@pytest.mark.parametrize("mu", [1e6, 1e10, 1e12, 1e14, 4e15])
def test_poisson_at_large_means(mu: float) -> None:
    """Where enumerating every total is out of reach: the covered totals' ends found by bisection on
    the study's inequality (no quadratic), their mass a CDF difference, 8 sqrt(mu) either side."""
    n = 10
    rate = mu / n
    for level in LEVELS:
        centre, reach = round(mu), int(8 * math.sqrt(mu))
        lo = _edge(rate, n, level, centre, centre - reach)
        hi = _edge(rate, n, level, centre, centre + reach)
        expected = stats.poisson.cdf(lo - 1, mu)  # mass below the covered totals
        expected = 1.0 - expected - stats.poisson.sf(hi, mu)
        for window in (64, 1):
            assert poisson_coverage(rate, n, level, window=window) == pytest.approx(expected, abs=1e-13)


def _integrate(density, covers, upper: float) -> float:
    """Integral of density * covers over (0, upper), the jumps of ``covers`` located numerically.

    The jumps are found on a fine grid and refined by bisection on ``covers`` itself,
    so the brute force owes nothing to the inversion it checks; quad is then told
    where they are (without that it can miss a sliver of the covered set).
    """
    grid = np.linspace(upper * 1e-9, upper, 20_001)
    flags = np.array([covers(w) for w in grid])
    jumps = []
    for i in np.flatnonzero(flags[1:] != flags[:-1]):
        a, b = grid[i], grid[i + 1]
        for _ in range(80):
            m = 0.5 * (a + b)
            a, b = (m, b) if covers(m) == flags[i] else (a, m)
        jumps.append(0.5 * (a + b))
    value, _ = integrate.quad(
        lambda w: density(w) * covers(w),
        0,
        upper,
        points=jumps or None,
        limit=2000,
        epsabs=1e-13,
        epsrel=1e-13,
    )
    return value


@pytest.mark.parametrize("n", [2, 3, 5, 12, 40])
@pytest.mark.parametrize("level", LEVELS)
def test_continuous_against_numerical_integration(n: int, level: float) -> None:
    """Integrate the Wald inequality itself (as wald_covered evaluates it) over the pivot's density."""
    z = wald_z(level)
    chi2 = stats.chi2(n - 1)
    top = chi2.isf(1e-17)
    # normal mu: given W = SS/sigma2, P(|x-bar - mu| <= z sqrt(SS)/n) = 2 Phi(z sqrt(W/n)) - 1.
    mu_cov, _ = integrate.quad(lambda w: chi2.pdf(w) * (2 * stats.norm.cdf(z * math.sqrt(w / n)) - 1), 0, top)
    assert gaussian_mean_coverage(n, level) == pytest.approx(mu_cov, abs=1e-9)
    for divisor in (n, n - 1):  # sigma2 = 1: estimate W/divisor, se = estimate sqrt(2/n)
        brute = _integrate(
            chi2.pdf,
            lambda w, d=divisor: float(abs(w / d - 1.0) <= z * math.sqrt(2 * (w / d) ** 2 / n)),
            top,
        )
        assert gaussian_variance_coverage(n, level, divisor=divisor) == pytest.approx(brute, abs=1e-10)
    gamma = stats.gamma(n)
    for numerator in (n, n - 1):  # rate = 1: G = sum of the data, estimate a/G, se = estimate/sqrt(n)
        brute = _integrate(
            gamma.pdf,
            lambda g, a=numerator: float(abs(a / g - 1.0) <= z * math.sqrt((a / g) ** 2 / n)),
            gamma.isf(1e-17),
        )
        assert exponential_rate_coverage(n, level, numerator=numerator) == pytest.approx(brute, abs=1e-10)


# -- simulation -----------------------------------------------------------------------------------------------
REPS = 200_000
CHUNK = 20_000


def _simulate(draw, n: int, seed: int, reduce):
    """Concatenate reduce(draw(rng, (CHUNK, n))) over REPS replications."""
    rng = np.random.default_rng(seed)
    parts = [reduce(draw(rng, (CHUNK, n))) for _ in range(REPS // CHUNK)]
    return {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}


@cache
def simulated_z(family: str) -> tuple[tuple[str, float, float, float], ...]:
    """(label, simulated, exact, z) for every simulated case of a family."""
    rows = []

    def add(label, est, se, truth, exact_fn):
        ok = np.isfinite(est)
        for level in LEVELS:
            sim = float(np.mean(wald_covered(est[ok], se[ok], truth, level)))
            exact = exact_fn(level)
            rows.append((f"{label} level={level}", sim, exact, coverage_z(sim, exact, int(ok.sum()))))

    seed = 1000 * ["bernoulli", "poisson", "normal", "exponential"].index(family)
    if family == "bernoulli":
        for p, n in itertools.product((0.05, 0.5, 0.7), (1, 2, 3, 5, 10, 30, 100)):
            s = _simulate(
                lambda g, size, p=p: g.random(size) < p, n, seed := seed + 1, lambda x: {"k": x.sum(1)}
            )
            p_hat = s["k"] / n
            se = np.sqrt(p_hat * (1.0 - p_hat) / n)
            add(f"bernoulli p={p} n={n}", p_hat, se, p, lambda lv, p=p, n=n: bernoulli_coverage(p, n, lv))
    elif family == "poisson":
        for rate, n in itertools.product((0.2, 3.0), (1, 2, 5, 20, 100)):
            s = _simulate(
                lambda g, size, r=rate: g.poisson(r, size), n, seed := seed + 1, lambda x: {"t": x.sum(1)}
            )
            rate_hat = s["t"] / n
            add(f"poisson rate={rate} n={n}", rate_hat, np.sqrt(rate_hat / n), rate,
                lambda lv, r=rate, n=n: poisson_coverage(r, n, lv))  # fmt: skip
    elif family == "normal":
        for (mu, s2), n in itertools.product(((0.0, 1.0), (5.0, 4.0)), (2, 3, 5, 10, 50)):

            def reduce(x):
                m = x.mean(1)
                return {"mean": m, "ss": ((x - m[:, None]) ** 2).sum(1)}

            s = _simulate(
                lambda g, size, mu=mu, s2=s2: g.normal(mu, math.sqrt(s2), size), n, seed := seed + 1, reduce
            )
            mle, unb = s["ss"] / n, s["ss"] / (n - 1)
            lab = f"normal mu={mu} sigma2={s2} n={n}"
            add(
                lab + " mle.mu",
                s["mean"],
                np.sqrt(mle / n),
                mu,
                lambda lv, n=n: gaussian_mean_coverage(n, lv),
            )
            add(lab + " mle.sigma2", mle, np.sqrt(2 * mle**2 / n), s2,
                lambda lv, n=n: gaussian_variance_coverage(n, lv, divisor=n))  # fmt: skip
            add(lab + " unbiased.sigma2", unb, np.sqrt(2 * unb**2 / n), s2,
                lambda lv, n=n: gaussian_variance_coverage(n, lv, divisor=n - 1))  # fmt: skip
    else:
        for rate, n in itertools.product((0.5, 3.0), (1, 2, 3, 5, 10, 50)):
            s = _simulate(lambda g, size, r=rate: g.exponential(1 / r, size), n, seed := seed + 1,
                          lambda x: {"total": x.sum(1)})  # fmt: skip
            for name, a in (("mle", n), ("unbiased", n - 1)):
                if a == 0:
                    continue
                est = a / s["total"]
                add(f"exponential rate={rate} n={n} {name}", est, np.sqrt(est**2 / n), rate,
                    lambda lv, n=n, a=a: exponential_rate_coverage(n, lv, numerator=a))  # fmt: skip
    return tuple(rows)


def z_rms(rows) -> float:
    """RMS of the z-values whose exact coverage is not 0 or 1 (those are exact agreements, z = 0)."""
    z = np.array([r[3] for r in rows if 0 < r[2] < 1])
    return float(np.sqrt(np.mean(z**2)))


@pytest.mark.parametrize("family", ["bernoulli", "poisson", "normal", "exponential"])
def test_exact_coverage_matches_simulation(family: str) -> None:
    rows = simulated_z(family)
    bad = [r for r in rows if not abs(r[3]) < 4]
    assert not bad, f"|z| >= 4: {bad}"
    rms = z_rms(rows)
    assert 0.6 <= rms <= 1.6, f"RMS of z = {rms:.3f} over {len(rows)} cases"
