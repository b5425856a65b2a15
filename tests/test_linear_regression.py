"""Linear regression on the model contract: OLS against statsmodels, exact theory within MCSE, config errors."""

from __future__ import annotations

import dataclasses

import numpy as np
import pandas as pd
import pytest
import statsmodels.api as sm

from mlestudy.aggregate import summarise_sample_size
from mlestudy.config import ConfigError, validate
from mlestudy.models import get_model_type
from mlestudy.seeding import design_seed
from mlestudy.simulate import iter_data, simulate_columns, simulate_range

LR = get_model_type("linear_regression")
BETA = [1.0, 2.0, -1.0, 0.5]
DESIGNS = {
    "normal": {"features": "normal"},
    "fixed": {"features": "normal", "fixed": True},
    "correlated": {"features": "normal", "correlation": 0.6},
    "mixed": {"features": ["bernoulli", "uniform", "normal"]},
    "uniform-fixed": {"features": "uniform", "fixed": True},
}


def model(design: dict, beta: list[float] = BETA, sigma2: float = 4.0, name: str = "ols"):
    return LR({"beta": beta, "sigma2": sigma2}, design, design_seed(7, name))


@pytest.mark.parametrize("design", list(DESIGNS), ids=str)
@pytest.mark.parametrize("n", [6, 40])
def test_ols_matches_statsmodels(design: str, n: int) -> None:
    """Every coefficient, sigma2 and standard error agrees with statsmodels OLS to 1e-10."""
    m = model(DESIGNS[design])
    checked = 0
    for _first, raw in iter_data(m, seed=3, scenario="ols", n=n, first=0, stop=200):
        fit = m.mle().fit(m, m.reduce(raw, n), n)
        for i in range(len(raw["y"])):
            if fit.status[i] != 0:
                continue
            res = sm.OLS(raw["y"][i], raw["x"][i]).fit()
            beta = np.array([fit.values[f"beta[{j}]"][i] for j in range(m.p)])
            se = np.array([fit.se[f"beta[{j}]"][i] for j in range(m.p)])
            np.testing.assert_allclose(beta, res.params, rtol=1e-10, atol=1e-10)
            np.testing.assert_allclose(fit.values["sigma2"][i], res.ssr / n, rtol=1e-10)
            # statsmodels' bse uses RSS/(n - p); the Wald SE of the MLE uses RSS/n.
            np.testing.assert_allclose(se, res.bse * np.sqrt((n - m.p) / n), rtol=1e-10)
            checked += 1
    assert checked >= 150


@pytest.mark.parametrize("design", ["normal", "fixed", "mixed"])
@pytest.mark.parametrize("sampler", ["data", "sufficient"])
def test_any_cut_of_a_range_gives_the_same_rows(design: str, sampler: str) -> None:
    """Per-stream prefix property: a chunk cut anywhere (also mid-batch) reproduces the same rows."""
    m = model(DESIGNS[design])
    if sampler == "sufficient" and not m.has_sufficient_sampler:
        pytest.skip("the sufficient sampler needs a fixed design")
    n = 30
    opts = {"seed": 5, "scenario": "ols", "n": n, "sampler": sampler}
    whole = simulate_columns(m, first=0, stop=25_000, **opts)
    rows = m.batch_rows(n)
    for cut in (1, rows - 1, rows + 3, 10_007, 19_999):
        left = simulate_columns(m, first=0, stop=cut, **opts)
        right = simulate_columns(m, first=cut, stop=25_000, threads=2, **opts)
        for key, column in whole.items():
            np.testing.assert_array_equal(
                np.concatenate([left[key], right[key]]), column, err_msg=f"{key} at {cut}"
            )


def test_fixed_design_is_nested_across_n_and_drawn_once() -> None:
    m = model(DESIGNS["fixed"])
    np.testing.assert_array_equal(m.fixed_design(50)[:10], m.fixed_design(10))
    a = simulate_range(m, seed=1, scenario="ols", n=10, first=0, stop=5)
    b = simulate_range(model(DESIGNS["fixed"]), seed=99, scenario="ols", n=10, first=0, stop=5)
    assert not a.equals(b)  # other replications, same design: the design depends only on the scenario
    record = m.design_record(50)
    assert record["rows"] == 50 and len(record["sha256"]) == 64


CASES = [
    # (design, beta, sigma2, sample sizes): odd coefficients, p up to 5, n as small as p + 2
    ("normal", [0.3, -1.7, 2.2], 0.5, [5, 12, 60]),
    ("fixed", [-2.0, 0.7, 0.1, 3.0, -0.4], 2.5, [7, 15, 80]),
    ("correlated", [1.0, 2.0, -1.0, 0.5], 4.0, [6, 20]),
    ("uniform-fixed", [0.0, 1.5], 9.0, [4, 30]),
]


def _summary(design: str, beta: list[float], sigma2: float, sizes: list[int], reps: int) -> pd.DataFrame:
    sc = validate(
        {
            "seed": 11,
            "scenarios": [
                {
                    "name": f"lr-{design}",
                    "family": "linear_regression",
                    "params": {"beta": beta, "sigma2": sigma2},
                    "design": DESIGNS[design],
                    "sample_sizes": sizes,
                    "replications": reps,
                }
            ],
        }
    ).scenarios[0]
    rows = []
    for n in sc.sample_sizes:
        frame = simulate_range(sc.model, seed=sc.seed, scenario=sc.name, n=n, first=0, stop=reps)
        rows.extend(summarise_sample_size(sc, frame, n))
    return pd.DataFrame(rows)


def test_exact_moments_and_coverage_within_mcse() -> None:
    """Every row with exact theory: |z| < 4.5 for mean, variance and coverage; RMS z in [0.6, 1.6]."""
    frames = [_summary(*case, reps=20_000) for case in CASES]
    summary = pd.concat(frames, ignore_index=True)
    z = summary[["z_mean", "z_variance", "z_coverage"]].to_numpy(float).ravel()
    z = z[~np.isnan(z)]
    assert np.isfinite(z).all()
    assert z.size > 150
    assert np.abs(z).max() < 4.5, summary.loc[
        summary[["z_mean", "z_variance", "z_coverage"]].abs().max(axis=1).idxmax()
    ]
    assert 0.6 < np.sqrt(np.mean(z**2)) < 1.6


def test_random_design_average_conditional_bound_is_the_exact_variance() -> None:
    """E_X[sigma2 (X'X)^-1] (the simulated average bound) is Var(beta-hat), above the CRLB sigma2/n."""
    summary = _summary("normal", [0.3, -1.7, 2.2], 0.5, [8, 40], reps=20_000)
    beta = summary[summary["block"] == "beta"]
    z = (beta["cond_crlb"] - beta["exact_variance"]) / beta["cond_crlb_mcse"]
    assert np.abs(z).max() < 4.5
    assert (beta["cond_crlb"] > beta["crlb"]).all()
    slopes = beta[beta["parameter"] != "beta[0]"]
    np.testing.assert_allclose(slopes["crlb"] / slopes["exact_variance"], (slopes["n"] - 3 - 1) / slopes["n"])


def test_fixed_design_attains_the_bound_and_sufficient_sampler_agrees() -> None:
    m = model(DESIGNS["fixed"])
    for n in (6, 30):
        exact = np.array([m.estimators["mle"].exact_moments(m, f"beta[{j}]", n)[1] for j in range(m.p)])
        crlb = np.array([m.crlb(n)[f"beta[{j}]"] for j in range(m.p)])
        np.testing.assert_allclose(exact, crlb, rtol=1e-12)
    from scipy import stats

    opts = {"seed": 2, "scenario": "ols", "n": 12, "first": 0, "stop": 20_000}
    data = simulate_range(m, **opts)
    direct = simulate_range(m, sampler="sufficient", **opts)
    for column in ("mle.beta[1]", "mle.sigma2", "unbiased.sigma2"):
        assert stats.ks_2samp(data[column], direct[column]).pvalue > 1e-4


def test_rank_deficient_bernoulli_designs_are_counted() -> None:
    """Two Bernoulli features at n = 4 are often collinear with the intercept: counted, never averaged in."""
    m = model({"features": "bernoulli"}, beta=[0.5, 1.0, -1.0], sigma2=1.0)
    frame = simulate_range(m, seed=4, scenario="ols", n=4, first=0, stop=5000)
    deficient = frame["mle.status"] == 6
    assert 0 < deficient.sum() < len(frame)
    assert frame.loc[deficient, "mle.beta[1]"].isna().all()
    assert frame.loc[~deficient, "mle.beta[1]"].notna().all()


BASE = {"name": "ols", "family": "linear_regression", "sample_sizes": [8], "replications": 10}


@pytest.mark.parametrize(
    ("entry", "expected"),
    [
        ({"params": {"beta": [1.0, 2.0], "sigma2": 1.0}, "design": {"features": ["normal", "uniform"]}},
         "key 'design.features' = ['normal', 'uniform'] is not allowed; it lists 2 feature kind(s), but params give 1"),
        ({"params": {"beta": [1.0, 2.0], "sigma2": 1.0}, "design": {"features": "gamma"}},
         "key 'design.features' = 'gamma' is not allowed; it must be one of 'normal', 'uniform', 'bernoulli'"),
        ({"params": {"beta": [1.0, 2.0], "sigma2": 1.0}, "design": {"fixed": "yes"}},
         "key 'design.fixed' = 'yes' is not allowed; it must be true or false"),
        ({"params": {"beta": [1.0, float("inf")], "sigma2": 1.0}},
         "key 'params.beta' = [1.0, inf] is not allowed; every coefficient must be finite"),
        ({"params": {"beta": [1.0, 2.0, 3.0], "sigma2": 1.0}, "sample_sizes": [3, 8]},
         "key 'sample_sizes' has n = 3, which is not allowed; family 'linear_regression' with these params needs every n >= 4"),
        ({"params": {"beta": 1.0, "sigma2": 1.0}},
         "key 'params.beta' = 1.0 is not allowed; it must be a list of numbers"),
        ({"params": {"beta": [1.0, 2.0], "sigma2": -1.0}},
         "key 'params.sigma2' = -1.0 is not allowed; sigma2 must be > 0"),
        ({"params": {"beta": [1.0, 2.0, 1.0], "sigma2": 1.0}, "design": {"correlation": 0.5, "features": "uniform"}},
         "key 'design.correlation' = 0.5 is not allowed; a correlation needs normal features"),
        ({"params": {"beta": [1.0, 2.0, 1.0, 1.0], "sigma2": 1.0}, "design": {"correlation": -0.6}},
         "key 'design.correlation' = -0.6 is not allowed; with 3 features it must be > -0.5 and < 1"),
        ({"params": {"beta": [1.0, 2.0], "sigma2": 1.0}, "design": {"feature": "normal"}},
         "unknown key design.'feature'"),
        ({"params": {"p": 0.5}, "family": "bernoulli", "design": {"features": "normal"}},
         "key 'design' = {'features': 'normal'} is not allowed; family 'bernoulli' has no covariates"),
        # Issue 12 on the model contract: values beyond float64 are one line, not an OverflowError ...
        ({"params": {"beta": [1, 10**400], "sigma2": 1.0}},
         "(406 characters) is not allowed; every coefficient must be finite (within float64"),
        ({"params": {"beta": [1.0, 2.0], "sigma2": 10**400}},
         "key 'params.sigma2' = 1" + "0" * 78 + "… (401 characters) is not allowed; sigma2 must be > 0"),
        ({"params": {"beta": [1.0, 2.0], "sigma2": 1.0}, "design": {"correlation": 10**400}},
         "(401 characters) is not allowed; it must be a finite number"),
        ({"params": {"beta": [1.0, 2.0], "sigma2": 1.0, 1: 2.0}},
         "key 'params.1' is not a parameter of family 'linear_regression'"),
        # ... and parameters float64 cannot simulate honestly are refused, naming the flat key.
        ({"params": {"beta": [1e20, 2.0], "sigma2": 1.0}},
         "key 'params.beta[0]' = 1e+20 is not allowed with {'beta': [1e+20, 2.0], 'sigma2': 1.0}; at n = 8 its "
         "simulated spread (√CRLB = 0.354) is below float64 resolution at beta[0] = 1e+20"),
        ({"params": {"beta": [1.0, 1e200], "sigma2": 1.0}},
         "key 'params' = {'beta': [1.0, 1e+200], 'sigma2': 1.0} is not allowed; its data reach |x| = "),
        ({"params": {"beta": [1e14, 0.0], "sigma2": 1.0}},
         "is not allowed; its data spread ("),
    ],
)  # fmt: skip
def test_bad_regression_config_names_scenario_key_value_and_rule(entry: dict, expected: str) -> None:
    with pytest.raises(ConfigError) as caught:
        validate({"seed": 1, "scenarios": [{**BASE, **entry}]})
    message = str(caught.value)
    assert "scenario 'ols' (scenarios[0])" in message
    assert expected in message, message
    assert len(message.splitlines()) == 2, message


@pytest.mark.parametrize(
    "scenario",
    [
        {"params": {"beta": [1.0, 2.0], "sigma2": 1.0}},
        {"family": "normal", "params": {"mu": 0.0, "sigma2": 1.0}},
    ],
    ids=["linear_regression", "normal"],
)
def test_extra_param_keys_of_mixed_types_are_each_one_line(scenario: dict) -> None:
    """YAML keys can be numbers, None or text at once: sorting them must not raise (issue 12)."""
    params = {**scenario["params"], 1: 2.0, None: 3.0, "z": 4.0}
    with pytest.raises(ConfigError) as caught:
        validate({"seed": 1, "scenarios": [{**BASE, **scenario, "params": params}]})
    problems = caught.value.problems
    assert len(problems) == 3 and all("is not a parameter of family" in p for p in problems), problems
    assert [p.split("key ")[1].split(" is")[0] for p in problems] == [
        "'params.z'",
        "'params.1'",
        "'params.None'",
    ]


def test_summary_names_blocks_and_flat_parameters() -> None:
    summary = _summary("fixed", [1.0, 2.0, 3.0], 1.0, [6], reps=10_000)
    assert list(summary["parameter"].unique()) == ["beta[0]", "beta[1]", "beta[2]", "sigma2"]
    assert set(summary["block"]) == {"beta", "sigma2"}
    assert list(summary.loc[summary["block"] == "beta", "index"].unique()) == ["0", "1", "2"]


def test_scenario_replace_rebinds_the_model() -> None:
    """A scenario copied with other settings gets its own model (the design seed follows the name)."""
    sc = validate({"seed": 1, "scenarios": [{**BASE, "params": {"beta": [1.0, 2.0], "sigma2": 1.0},
                                             "design": {"fixed": True}}]}).scenarios[0]  # fmt: skip
    other = dataclasses.replace(sc, name="other")
    assert not np.array_equal(sc.model.fixed_design(8), other.model.fixed_design(8))
