"""KL(true || fitted) of a Gaussian mixture: the grid quadrature against scipy's adaptive quadrature,
its conventions, and 2n E[KL] / k -> 1 (k = 3K - 1 free parameters) against a simulation."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import integrate, stats
from scipy.special import logsumexp

from mlestudy.config import validate
from mlestudy.fitting.mixture_model import MixtureParams
from mlestudy.kl_summary import kl_columns
from mlestudy.simulate import simulate_range
from mlestudy.theory.mixture_kl import mixture_kl

TWO = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 3.0]), np.array([1.0, 1.0]))
THREE = MixtureParams(np.array([0.2, 0.5, 0.3]), np.array([-2.0, 0.5, 4.0]), np.array([0.5, 1.5, 0.25]))


def _log_mix(x: float, w, m, v) -> float:
    with np.errstate(divide="ignore"):
        return float(logsumexp(np.log(np.asarray(w, dtype=float)) + stats.norm.logpdf(x, m, np.sqrt(v))))


def quad_kl(truth: MixtureParams, w, m, v) -> float:
    """KL by adaptive quadrature, split at every true and fitted mean, over +-40 true sd."""
    sd = np.sqrt(truth.variances)
    lo, hi = float(np.min(truth.means - 40 * sd)), float(np.max(truth.means + 40 * sd))
    cuts = sorted({lo, hi, *truth.means.tolist(), *[c for c in np.asarray(m) if lo < c < hi]})

    def f(x: float) -> float:
        lp = _log_mix(x, truth.weights, truth.means, truth.variances)
        return math.exp(lp) * (lp - _log_mix(x, w, m, v)) if lp > -745 else 0.0

    return sum(
        integrate.quad(f, a, b, epsabs=1e-16, epsrel=1e-13, limit=500)[0]
        for a, b in zip(cuts[:-1], cuts[1:], strict=False)
    )


FITS = [
    (TWO, [0.31, 0.69], [0.05, 2.98], [1.05, 0.97]),  # near the truth, as at large n
    (TWO, [0.5, 0.5], [-0.5, 3.5], [2.0, 0.5]),  # far off
    (TWO, [0.05, 0.95], [1.0, 2.5], [0.02, 1.8]),  # a narrow component (small variance)
    (TWO, [0.3, 0.7], [0.0, 3.0], [1e-4, 1.0]),  # a very narrow one: the grid is refined for it
    (THREE, [0.25, 0.45, 0.3], [-1.8, 0.6, 3.9], [0.6, 1.3, 0.3]),
    (THREE, [0.6, 0.2, 0.2], [0.0, 1.0, 5.0], [4.0, 0.1, 1.0]),
]


@pytest.mark.parametrize("truth, w, m, v", FITS)
def test_against_adaptive_quadrature(truth: MixtureParams, w, m, v) -> None:
    got = mixture_kl(truth, np.array([w]), np.array([m]), np.array([v]))[0]
    assert got == pytest.approx(quad_kl(truth, w, m, v), rel=1e-9, abs=1e-14)


def test_batched_equals_one_at_a_time_and_labels_do_not_matter() -> None:
    """Rows are independent; permuting the fitted components (label switching) leaves the KL unchanged."""
    w, m, v = (np.array([f[i] for f in FITS[:3]], dtype=float) for i in (1, 2, 3))
    together = mixture_kl(TWO, w, m, v)
    alone = [mixture_kl(TWO, w[i : i + 1], m[i : i + 1], v[i : i + 1])[0] for i in range(3)]
    np.testing.assert_allclose(together, alone, rtol=1e-13)  # BLAS may sum in another order
    swapped = mixture_kl(TWO, w[:, ::-1], m[:, ::-1], v[:, ::-1])
    np.testing.assert_allclose(swapped, together, rtol=1e-12, atol=1e-16)


def test_conventions_zero_at_truth_nan_outside_the_parameter_space() -> None:
    w = np.array([[0.3, 0.7], [np.nan, 0.7], [0.3, 0.7], [-0.1, 1.1], [0.3, 0.7]])
    m = np.array([[0.0, 3.0]] * 5)
    v = np.array([[1.0, 1.0], [1.0, 1.0], [0.0, 1.0], [1.0, 1.0], [1.0, -1.0]])
    kl = mixture_kl(TWO, w, m, v)
    assert kl[0] == 0.0 and np.isnan(kl[1:]).all()
    # A zero weight is a component that is absent: finite (the other still has mass everywhere).
    one = mixture_kl(TWO, np.array([[0.0, 1.0]]), np.array([[0.0, 3.0]]), np.array([[1.0, 1.0]]))[0]
    assert one == pytest.approx(quad_kl(TWO, [1e-300, 1.0], [0.0, 3.0], [1.0, 1.0]), rel=1e-9)


def test_the_model_hook_reads_flat_names() -> None:
    study = validate(
        {
            "seed": 1,
            "scenarios": [
                {
                    "name": "mx",
                    "family": "gaussian_mixture",
                    "params": {"weights": [0.3, 0.7], "means": [0.0, 3.0], "variances": [1.0, 1.0]},
                    "sample_sizes": [50],
                    "replications": 10,
                }
            ],
        }
    )
    model = study.scenarios[0].model
    _, w, m, v = FITS[1]
    blocks = zip(("weights", "means", "variances"), (w, m, v), strict=True)
    theta = {f"{b}[{k}]": np.array([vals[k]]) for b, vals in blocks for k in range(2)}
    assert model.kl_divergence(theta, 50)[0] == pytest.approx(quad_kl(TWO, w, m, v), rel=1e-9)
    assert model.mle().kl_asymptote(model, 50) == 5 / 100  # k = 3K - 1 free parameters
    assert model.estimators["mle_multistart"].kl_asymptote(model, 50) == 5 / 100


@pytest.mark.slow
def test_two_n_kl_over_k_tends_to_one_against_simulation() -> None:
    """EM fits of a mixture the defaults do not use: 2n E[KL] / (3K - 1) - 1 = c + a / n by weighted least
    squares over n, c within 4.5 SE of 0 (the limit is 1), and the largest n within 4.5 MCSE of 1.

    k counts free parameters: the K weights sum to 1, so k = 3K - 1 = 5, not 6 (with 6 the ratio would
    tend to 5/6, far outside the MCSE). Label switching does not enter: the KL of a mixture is the same
    whatever the order of its fitted components.
    """
    sizes = (250, 500, 1000)
    study = validate(
        {
            "seed": 20261204,
            "scenarios": [
                {
                    "name": "mx",
                    "family": "gaussian_mixture",
                    "params": {"weights": [0.4, 0.6], "means": [-1.0, 2.0], "variances": [1.0, 0.5]},
                    "sample_sizes": list(sizes),
                    "replications": 2000,
                }
            ],
        }
    )
    scenario = study.scenarios[0]
    k = 5
    rows = []
    for n in sizes:
        frame = simulate_range(scenario.model, seed=scenario.seed, scenario="mx", n=n, first=0, stop=2000)
        rows.append(kl_columns(scenario, frame, "mle", n))
    assert all(r["kl_unresolved"] == 0 and r["kl_infinite"] == 0 for r in rows)
    assert all(r["kl_asymptote"] == pytest.approx(k / (2 * n)) for n, r in zip(sizes, rows, strict=True))
    n = np.array(sizes, dtype=float)
    y = np.array([2 * m * r["kl"] / k - 1 for m, r in zip(sizes, rows, strict=True)])
    se = np.array([2 * m * r["kl_mcse"] / k for m, r in zip(sizes, rows, strict=True)])
    design = np.column_stack([np.ones_like(n), 1 / n]) / se[:, None]
    coef, *_ = np.linalg.lstsq(design, y / se, rcond=None)
    cov = np.linalg.inv(design.T @ design)
    assert abs(coef[0]) < 4.5 * math.sqrt(cov[0, 0]), (coef, cov, y, se)
    assert abs(y[-1]) < 4.5 * se[-1], (y, se)
    assert abs(y[-1]) < abs(y[0])  # closer to 1 at the largest n
