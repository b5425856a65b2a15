"""The Gaussian mixture as a model of the study: its bounds, statuses and summaries."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from mlestudy.aggregate import summarise_sample_size
from mlestudy.config import ConfigError, validate
from mlestudy.simulate import simulate_range

ISSUE = {"weights": [0.3, 0.7], "means": [0.0, 3.0], "variances": [1.0, 1.0]}


def scenario(params=ISSUE, sizes=(200,), reps=1000):
    entry = {"name": "mix", "family": "gaussian_mixture", "params": params, "sample_sizes": list(sizes),
             "replications": reps}  # fmt: skip
    return validate({"seed": 21, "scenarios": [entry]}).scenarios[0]


def test_per_observation_bounds_are_the_issues() -> None:
    """pi 0.874, mu 18.94 and 4.81, sigma2 28.16 and 8.83 per observation; both weights share one bound."""
    bound = scenario().model.crlb(1)
    np.testing.assert_allclose(
        [bound[p] for p in ("weights[0]", "means[0]", "means[1]", "variances[0]", "variances[1]")],
        [0.874, 18.94, 4.81, 28.16, 8.83], rtol=2e-3,
    )  # fmt: skip
    assert bound["weights[0]"] == pytest.approx(bound["weights[1]"])
    complete = scenario().model.complete_data_crlb(1)
    cost = [bound[p] / complete[p] for p in bound]
    assert 3.0 < min(cost) and max(cost) < 6.0


def test_large_n_efficiency_and_coverage() -> None:
    sc = scenario(sizes=(2000,), reps=1500)
    frame = simulate_range(sc.model, seed=sc.seed, scenario=sc.name, n=2000, first=0, stop=1500)
    s = pd.DataFrame(summarise_sample_size(sc, frame, 2000))
    mle = s[s["estimator"] == "mle"]
    assert (
        (1 / mle["efficiency"] - 1).abs() < 4 * mle["efficiency_mcse"] / mle["efficiency"] ** 2 + 0.05
    ).all()
    assert ((mle["coverage"] - 0.95).abs() < 4 * mle["coverage_mcse"] + 0.01).all()
    assert (s["n_failed"] == 0).all()


def test_statuses_at_small_n_are_counted() -> None:
    """At n = 15 collapses and local optima occur: counted, never averaged in (degenerate) or kept (local)."""
    sc = scenario(sizes=(15,), reps=3000)
    frame = simulate_range(sc.model, seed=sc.seed, scenario=sc.name, n=15, first=0, stop=3000)
    status = frame["mle.status"]
    assert ((status == 7) | (status == 8)).any()
    assert frame.loc[status == 7, "mle.means[0]"].isna().all()
    assert frame.loc[status == 8, "mle.means[0]"].notna().all()
    s = pd.DataFrame(summarise_sample_size(sc, frame, 15)).query("estimator == 'mle'")
    assert (s["n_degenerate"] == (status == 7).sum()).all()
    assert (s["n_local_optimum"] == (status == 8).sum()).all()


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({**ISSUE, "weights": [0.4, 0.4]}, "weights must be > 0 and sum to 1"),
        ({**ISSUE, "means": [3.0, 0.0]}, "means must increase strictly"),
        ({**ISSUE, "variances": [1.0, 0.0]}, "variances must be > 0"),
        ({**ISSUE, "means": [0.0, 1.0, 2.0]}, "must have one value per component"),
        ({**ISSUE, "weights": [1.0]}, "a list of at least two numbers"),
        ({"weights": [0.5, 0.5], "means": [0.0, 1.0]}, "key 'params.variances' is missing"),
    ],
)
def test_bad_mixture_configs(params: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        scenario(params)
    assert expected in str(caught.value) and "scenario 'mix' (scenarios[0])" in str(caught.value)
