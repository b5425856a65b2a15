"""``sampler: sufficient`` is exact: same law of the estimators as drawing the data.

Three layers, all with fixed seeds:

1. the directly drawn statistics follow their textbook law (one-sample KS or
   chi-square against scipy.stats, an independent implementation);
2. the estimators from the two samplers have the same distribution
   (two-sample KS for continuous estimators, chi-square for counts);
3. the summary rows of every default scenario agree within Monte Carlo error.

Each test's significance level is a share of a 1% family-wise error budget
(Bonferroni), so the thresholds follow from the number of comparisons, not taste.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from scipy import stats

from mlestudy.aggregate import summarise_sample_size
from mlestudy.config import load
from mlestudy.families import Status, get_family, registry
from mlestudy.simulate import simulate_range

ROOT = Path(__file__).resolve().parents[1]
FAMILY_WISE_ALPHA = 0.01
REPS = 20_000
SIZES = [2, 5, 30, 200]
THETA = {
    "bernoulli": {"p": 0.3},
    "poisson": {"rate": 0.8},
    "exponential": {"rate": 2.0},
    "normal": {"mu": -1.0, "sigma2": 2.5},
}
SUFFICIENT = sorted(name for name, fam in registry().items() if fam.has_sufficient_sampler)
DISCRETE = {"bernoulli", "poisson"}

# Comparisons in layers 1 and 2: (family, statistic or estimate column) x n.
EXACT_LAW = [(f, s) for f in SUFFICIENT for s in ({"normal": ["mean", "ss"]}.get(f, ["stat"]))]
ESTIMATES = [(f, c) for f in SUFFICIENT for c in ({"normal": ["mle.mu", "mle.sigma2"]}.get(f, ["mle.rate" if f != "bernoulli" else "mle.p"]))]  # fmt: skip
N_TESTS = (len(EXACT_LAW) + len(ESTIMATES)) * len(SIZES)
ALPHA = FAMILY_WISE_ALPHA / N_TESTS


def test_sufficient_families():
    """The closed-form families offer the shortcut; gamma (numerical MLE) does not."""
    assert SUFFICIENT == ["bernoulli", "exponential", "normal", "poisson"]
    assert not get_family("gamma").has_sufficient_sampler


def pooled_counts(*samples: np.ndarray, minimum: int = 10) -> np.ndarray:
    """Counts per value for each sample, adjacent values pooled until each bin has ``minimum``."""
    values = np.unique(np.concatenate(samples))
    counts = np.array([[np.sum(s == v) for v in values] for s in samples])
    bins, current = [], np.zeros(len(samples), dtype=int)
    for column in counts.T:
        current = current + column
        if current.min() >= minimum:
            bins.append(current)
            current = np.zeros(len(samples), dtype=int)
    if current.any():
        bins[-1] = bins[-1] + current
    return np.array(bins).T


def exact_law_pvalue(name: str, statistic: str, n: int, draws: dict[str, np.ndarray]) -> float:
    """p-value of the drawn statistic against its textbook distribution."""
    theta = THETA[name]
    if name == "bernoulli":
        observed = np.bincount(draws["successes"].astype(int), minlength=n + 1)
        expected = stats.binom(n, theta["p"]).pmf(np.arange(n + 1)) * len(draws["successes"])
        return chi_square_gof(observed, expected)
    if name == "poisson":
        total = draws["total"].astype(int)
        top = int(total.max())
        observed = np.bincount(total, minlength=top + 1)
        law = stats.poisson(n * theta["rate"])
        expected = law.pmf(np.arange(top + 1)) * len(total)
        expected[-1] += law.sf(top) * len(total)
        return chi_square_gof(observed, expected)
    if name == "exponential":
        return stats.kstest(draws["total"], stats.gamma(n, scale=1 / theta["rate"]).cdf).pvalue
    if statistic == "mean":
        law = stats.norm(theta["mu"], np.sqrt(theta["sigma2"] / n))
        return stats.kstest(draws["mean"], law.cdf).pvalue
    return stats.kstest(draws["ss"] / theta["sigma2"], stats.chi2(n - 1).cdf).pvalue


def chi_square_gof(observed: np.ndarray, expected: np.ndarray, minimum: float = 5.0) -> float:
    """Chi-square goodness of fit, pooling adjacent cells until each expects ``minimum``."""
    obs, exp, o, e = [], [], 0.0, 0.0
    for oi, ei in zip(observed, expected, strict=True):
        o, e = o + oi, e + ei
        if e >= minimum:
            obs.append(o)
            exp.append(e)
            o = e = 0.0
    obs[-1] += o
    exp[-1] += e
    exp_arr = np.array(exp) * sum(obs) / sum(exp)
    return stats.chisquare(obs, exp_arr).pvalue


@pytest.mark.parametrize(("name", "statistic"), EXACT_LAW)
@pytest.mark.parametrize("n", SIZES)
def test_sufficient_statistics_follow_their_law(name, statistic, n):
    """Directly drawn statistics have the textbook distribution (vs scipy.stats)."""
    draws = get_family(name).sufficient_statistics(np.random.default_rng(1000 + n), THETA[name], n, REPS)
    assert all(len(v) == REPS for v in draws.values())
    assert exact_law_pvalue(name, statistic, n, draws) > ALPHA


@pytest.mark.parametrize(("name", "column"), ESTIMATES)
@pytest.mark.parametrize("n", SIZES)
def test_samplers_give_the_same_estimator_distribution(name, column, n):
    """Two-sample KS (continuous) or chi-square (counts): data vs sufficient draws."""
    fam = get_family(name)
    common = {"seed": 7, "scenario": f"agree-{name}", "n": n, "first": 0, "stop": REPS}
    data = simulate_range(fam, THETA[name], **common)[column].to_numpy()
    direct = simulate_range(fam, THETA[name], sampler="sufficient", **common)[column].to_numpy()
    if name in DISCRETE:
        p = stats.chi2_contingency(pooled_counts(data, direct)).pvalue
    else:
        p = stats.ks_2samp(data, direct).pvalue
    assert p > ALPHA


def test_normal_n1_is_the_boundary_for_both_samplers():
    """n = 1: ss is exactly 0 whichever sampler, so sigma2-hat = 0 is flagged, not lost."""
    fam = get_family("normal")
    common = {"seed": 3, "scenario": "one", "n": 1, "first": 0, "stop": 500}
    for sampler in ("data", "sufficient"):
        frame = simulate_range(fam, THETA["normal"], sampler=sampler, **common)
        assert (frame["mle.sigma2"] == 0).all() and (frame["mle.status"] == Status.BOUNDARY).all()
        assert frame["unbiased.sigma2"].isna().all()


def default_summary(sampler: str) -> pd.DataFrame:
    """Summary rows of every default scenario with a sufficient sampler, at every n, with REPS replications."""
    rows = []
    for sc in load(ROOT / "config.yaml").scenarios:
        if not sc.model.has_sufficient_sampler:
            continue
        sc = dataclasses.replace(sc, replications=REPS, sampler=sampler)
        for n in sc.sample_sizes:
            frame = simulate_range(
                sc.model,
                seed=sc.seed,
                scenario=sc.name,
                n=n,
                first=0,
                stop=REPS,
                estimators=list(sc.estimators),
                sampler=sampler,
            )
            rows.extend(summarise_sample_size(sc, frame, n))
    return pd.DataFrame(rows)


def test_default_scenarios_agree_within_mcse():
    """For every default scenario, n and estimator: mean, variance, coverage and the
    boundary share from the two samplers differ by less than the Bonferroni critical
    value of their combined Monte Carlo standard error (independent streams)."""
    data, direct = default_summary("data"), default_summary("sufficient")
    keys = ["scenario", "estimator", "parameter", "n"]
    both = data.merge(direct, on=keys, suffixes=("_d", "_s"), validate="one_to_one")
    assert len(both) == len(data) == len(direct) > 30
    z = {}
    for measure, mcse in [
        ("mean", "bias_mcse"),
        ("variance", "variance_mcse"),
        ("coverage", "coverage_mcse"),
    ]:
        se = np.hypot(both[f"{mcse}_d"], both[f"{mcse}_s"])
        z[measure] = (both[f"{measure}_d"] - both[f"{measure}_s"]) / se
    share_d, share_s = both["n_boundary_d"] / REPS, both["n_boundary_s"] / REPS
    pooled = (share_d + share_s) / 2
    z["boundary"] = (share_d - share_s) / np.sqrt(2 * pooled * (1 - pooled) / REPS)
    table = pd.DataFrame(z).set_index(pd.MultiIndex.from_frame(both[keys]))
    finite = table.stack()
    finite = finite[np.isfinite(finite)]
    # Exact zeros on both sides (no boundary cases, or p-hat with zero variance) give 0/0.
    critical = stats.norm.isf(FAMILY_WISE_ALPHA / 2 / len(finite))
    assert len(finite) > 100
    assert finite.abs().max() < critical, finite.abs().sort_values().tail(5)
