"""Captions and "what to see" sentences: true of the scenario's figure and numbers, per model, with a fallback."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from mlestudy.config import validate
from mlestudy.narrative import captions, efficiency_sentences, what_to_see


def _scenario(cfg: dict):
    return validate({"seed": 1, "scenarios": [{"name": "s", "replications": 10000, **cfg}]}).scenarios[0]


def _rows(sc, values: dict | None = None) -> pd.DataFrame:
    """Summary rows built from exact theory (a simulation that hits theory exactly), MCSE 1 % of the value."""
    model, rows = sc.model, []
    for name in sc.estimators:
        est = model.estimators[name]
        for parameter in est.parameters(model):
            for n in sc.sample_sizes:
                mean, var = est.exact_moments(model, parameter, n)
                crlb = model.crlb(n)[parameter]
                truth = model.theta[parameter]
                mean = mean if math.isfinite(mean) else truth
                var = var if math.isfinite(var) else crlb
                rows.append({
                    "estimator": name, "parameter": parameter, "block": parameter.split("[")[0], "n": n,
                    "mean": mean, "bias": mean - truth, "bias_mcse": 0.01 * math.sqrt(var), "variance": var,
                    "variance_mcse": 0.01 * var, "crlb": crlb, "efficiency": crlb / var,
                    "efficiency_mcse": 0.01 * crlb / var, "coverage": 0.94, "coverage_mcse": 0.001,
                    "exact_mean": est.exact_moments(model, parameter, n)[0],
                    "exact_variance": est.exact_moments(model, parameter, n)[1],
                    "exact_coverage": est.exact_coverage(model, parameter, n, sc.ci_level),
                    "approx_bias": est.approximate_bias(model, parameter, n), **(values or {}),
                })  # fmt: skip
    return pd.DataFrame(rows)


NORMAL = {"family": "normal", "params": {"mu": 5.0, "sigma2": 4.0}, "sample_sizes": [3, 10]}
GAMMA = {"family": "gamma", "params": {"shape": 2.0, "rate": 1.0}, "sample_sizes": [5, 10]}
OLS = {"family": "linear_regression", "params": {"beta": [1.0, 2.0], "sigma2": 4.0}, "sample_sizes": [6, 20]}


def test_captions_say_only_what_the_figure_draws() -> None:
    normal, gamma, ols = (_scenario(c) for c in (NORMAL, GAMMA, OLS))
    cn, cg, co = (
        captions(normal.model, _rows(normal)),
        captions(gamma.model, _rows(gamma)),
        captions(ols.model, _rows(ols)),
    )
    # Exact lines only where theory exists: the normal has it, gamma none.
    assert "Lines: exact finite-sample bias" in cn["bias"] and "Lines: exact" not in cg["bias"]
    assert "Lines: exact coverage" in cn["coverage"] and "Lines: exact coverage" not in cg["coverage"]
    # Ratios to the bound are named only where a block has several coefficients.
    assert "block of coefficients" not in cn["bias"] and "block of coefficients" in co["bias"]
    # A log scale is named only where a parameter is drawn on its own: never for a model of blocks only.
    logistic = _scenario(
        {"family": "logistic_regression", "params": {"beta": [0.5, -1.0]}, "sample_sizes": [50]}
    )
    cl = captions(logistic.model, _rows(logistic))
    for figure in ("variance", "mse"):
        assert "log scale" in cn[figure] and "linear axis" not in cn[figure]
        assert "log scale" in co[figure] and "linear axis" in co[figure]  # sigma2 on its own, beta as ratios
        assert "log scale" not in cl[figure] and "linear axis" in cl[figure]
    # Each model's own note sits under its own figures only (the report names no model).
    assert "x̄ is exactly normal" in cn["sampling"] and "x̄ is exactly normal" not in cg["sampling"]
    assert "no closed form" in cg["bias"] and "no closed form" not in cn["bias"]
    assert "E[(X'X)⁻¹]" in co["variance"]
    assert len({cn["bias"], cg["bias"], co["bias"]}) == 3


def test_what_to_see_quotes_the_runs_numbers() -> None:
    sc = _scenario(NORMAL)
    rows = _rows(sc)
    rows.loc[(rows["estimator"] == "mle") & (rows["parameter"] == "sigma2") & (rows["n"] == 3), "mean"] = (
        2.654
    )
    text = " ".join(what_to_see(sc, rows))
    # E[sigma2-hat] = (n - 1) sigma2 / n = 8/3 at n = 3; the simulated mean is quoted with its MCSE.
    se = 0.01 * math.sqrt(2 * 2 * 16 / 9)  # sqrt(Var) = sqrt(2 (n - 1) sigma2^2 / n^2)
    assert (
        "E[σ̂²] = (n − 1)σ²/n" in text and "at n = 3 the simulation gives 2.654 ± 0.027 against 2.6667" in text
    )
    assert f"(z = {(2.654 - 8 / 3) / se:.2f})" in text
    assert (
        "Wald interval of mle for μ covers 0.9400 ± 0.0010 at n = 3" in text
    )  # the generic sentences follow


def test_a_model_without_hooks_gets_the_generic_paragraph() -> None:
    sc = _scenario(GAMMA)
    text = " ".join(what_to_see(sc, _rows(sc)))
    assert "Estimator mle: the bias of α̂ is" in text and "Wald interval of mle for λ covers" in text


@pytest.mark.parametrize(
    ("cfg", "estimator", "parameter"),
    [(NORMAL, "mle", "sigma2"), (NORMAL, "unbiased", "sigma2"), (NORMAL, "mle", "mu"),
     ({"family": "exponential", "params": {"rate": 0.5}, "sample_sizes": [3]}, "mle", "rate"),
     ({"family": "exponential", "params": {"rate": 0.5}, "sample_sizes": [3]}, "unbiased", "rate"),
     (OLS, "mle", "sigma2"), (OLS, "mle", "beta[1]"), (OLS, "unbiased", "sigma2")],
)  # fmt: skip
def test_bias_derivative_is_the_derivative_of_the_exact_bias(
    cfg: dict, estimator: str, parameter: str
) -> None:
    """b'(theta) against a central difference of the exact mean in theta (independent of the hook)."""
    n, h = 7, 1e-5
    params = cfg["params"]

    def bias(step: float) -> float:
        p = dict(params)
        if "[" in parameter:
            j = int(parameter[5:-1])
            p["beta"] = [b + (step if i == j else 0.0) for i, b in enumerate(params["beta"])]
        else:
            p[parameter] = params[parameter] + step
        sc = _scenario({**cfg, "params": p, "sample_sizes": [n]})
        mean = sc.model.estimators[estimator].exact_moments(sc.model, parameter, n)[0]
        return mean - sc.model.theta[parameter]

    sc = _scenario({**cfg, "sample_sizes": [n]})
    b1 = sc.model.estimators[estimator].bias_derivative(sc.model, parameter, n)
    assert b1 == pytest.approx((bias(h) - bias(-h)) / (2 * h), abs=1e-6)


def test_efficiency_above_one_names_the_bias_adjusted_bound() -> None:
    sc = _scenario(NORMAL)
    rows = _rows(sc)
    mle = rows[(rows["estimator"] == "mle") & (rows["parameter"] == "sigma2")]
    [text] = efficiency_sentences(sc.model, sc.model.estimators["mle"], mle)
    # n = 3: CRLB = 2 sigma2^2 / n = 32/3, b' = -1/3, bound (2/3)^2 * 32/3 = 4.741.
    assert "(1 + b′(θ))²/I<sub>n</sub> = 4.741 at n = 3" in text
    unbiased = rows[rows["estimator"] == "unbiased"]
    assert efficiency_sentences(sc.model, sc.model.estimators["unbiased"], unbiased) == []
    # Within 2 MCSE of 1 is no finding.
    close = mle.assign(efficiency=1.01, efficiency_mcse=0.01)
    assert efficiency_sentences(sc.model, sc.model.estimators["mle"], close) == []
    assert np.isfinite(mle["efficiency"]).all()
