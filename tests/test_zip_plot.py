"""Zip plot data: intervals ranked by |z|, the misses on top, the first miss at the simulated coverage."""

from __future__ import annotations

import numpy as np
from scipy import stats

from mlestudy.config import validate
from mlestudy.zip_plot import zip_data, zip_targets


def test_misses_sit_above_every_cover_at_the_coverage_rank() -> None:
    rng = np.random.default_rng(4)
    truth, se = 1.0, rng.uniform(0.5, 1.5, 4000)
    values = truth + 0.2 + se * rng.standard_normal(4000)  # biased: some intervals miss
    d = zip_data(values, se, truth, 0.9)
    z = stats.norm.ppf(0.95)
    covered = np.abs(values - truth) <= z * se  # independent of the ranking
    assert d["covers"].sum() == covered.sum()
    # Ranked by |z|: every cover comes before every miss, so the first miss is at rank 100 * coverage.
    first_miss = np.argmin(d["covers"])
    assert d["covers"][:first_miss].all() and not d["covers"][first_miss:].any()
    assert abs(d["rank"][first_miss] - 100 * covered.mean()) < 100 / 4000
    assert np.allclose(d["hi"] - d["lo"], 2 * z
                       * se[np.argsort(np.abs(values - truth) / se, kind="stable")])  # fmt: skip


def test_shown_intervals_are_the_full_ranking_at_evenly_spaced_ranks() -> None:
    rng = np.random.default_rng(5)
    truth, se = 1.0, rng.uniform(0.5, 1.5, 50_001)
    values = truth + 0.1 + se * rng.standard_normal(len(se))
    full, part = zip_data(values, se, truth, 0.95), zip_data(values, se, truth, 0.95, shown=200)
    at = np.unique(np.linspace(0, len(se) - 1, 200).round().astype(int))
    assert len(part["rank"]) == len(at) == 200
    for key in ("rank", "lo", "hi", "covers"):
        assert np.array_equal(part[key], full[key][at]), key  # scores are continuous: no ties to order
    assert part["count"] == full["count"] == len(se)
    assert part["coverage"] == full["coverage"] == full["covers"].mean()


def test_targets_are_the_first_element_of_each_block_mle_first() -> None:
    cfg = {"name": "o", "family": "linear_regression", "params": {"beta": [1.0, 2.0], "sigma2": 1.0},
           "sample_sizes": [10], "replications": 10000, "estimators": ["unbiased", "mle"]}  # fmt: skip
    sc = validate({"seed": 1, "scenarios": [cfg]}).scenarios[0]
    assert zip_targets(sc) == [("mle", "beta[0]"), ("mle", "sigma2"), ("unbiased", "sigma2")]
