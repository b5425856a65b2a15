"""Likelihood underflow, log-sum-exp, softmax and cross-entropy: naive against stable, against exact references.

The exact reference is Python's ``decimal`` at 60 digits (independent of numpy and
scipy); the underflow sample size is checked against a direct product in Python
floats, and its mean against Wald's identity.
"""

from __future__ import annotations

import math
from decimal import Decimal, getcontext

import numpy as np
import pytest
from glm_helpers import softmax_data
from scipy import stats

from mlestudy.losses import stable
from mlestudy.losses.underflow import (
    LOG_LARGEST,
    LOG_SMALLEST,
    first_zero_product,
    pointwise_loglik,
    underflow_windows,
    window_length,
)
from mlestudy.models import model_types
from mlestudy.seeding import block_streams, design_seed
from mlestudy.simulate import iter_data

getcontext().prec = 60


def _log1p_decimal(u: Decimal) -> Decimal:
    """log(1 + u) for u >= 0 to 60 digits, also where 1 + u rounds to 1 (a series then)."""
    if u < Decimal("1e-20"):
        return u - u * u / 2 + u * u * u / 3
    return (Decimal(1) + u).ln()


def _softplus_decimal(t: float) -> Decimal:
    """log(1 + e^t), exactly enough (60 digits)."""
    d = Decimal(t)
    return _log1p_decimal(d.exp()) if t < 0 else d + _log1p_decimal((-d).exp())


def _lse_decimal(z: np.ndarray) -> Decimal:
    return sum((Decimal(float(v)).exp() for v in z), Decimal(0)).ln()


# --------------------------------------------------------------------------- pointwise log-likelihood


@pytest.mark.parametrize("name", sorted(model_types()))
def test_pointwise_loglik_sums_to_the_models_loglik(name: str) -> None:
    kind = model_types()[name]
    model = kind(kind.example["params"], kind.example["design"], design_seed(3, name))
    raw = model.sample(block_streams(5, name, 30, 0, model.streams), 30, 7)
    per = pointwise_loglik(model, raw, 30)
    assert per.shape == (7, 30) and np.isfinite(per).all()
    np.testing.assert_allclose(per.sum(axis=1), model.loglik(raw, model.theta), rtol=1e-12)


# --------------------------------------------------------------------------- underflow


def _direct_underflow(densities: np.ndarray) -> int:
    """First k with prod_{i<=k} f_i == 0 or inf, multiplying Python floats one at a time."""
    product = 1.0
    for k, f in enumerate(densities, start=1):
        product *= float(f)
        if product == 0.0 or math.isinf(product):
            return k
    return 0


def _standard_normal():
    kind = model_types()["normal"]
    return kind({"mu": 0.0, "sigma2": 1.0}, {}, None)


def test_underflow_n_against_a_direct_product_of_scipy_densities() -> None:
    model = _standard_normal()
    batches = (raw for _, raw in iter_data(model, seed=1, scenario="std", n=1000, first=0, stop=40))
    result, info = underflow_windows(model, batches, 1000, windows=40)
    x = np.concatenate(
        [raw["x"].ravel() for _, raw in iter_data(model, seed=1, scenario="std", n=1000, first=0, stop=40)]
    )
    window = info["window"]
    assert window >= 1.4 * 744.44 / 1.419  # about 1.5 times the first-order n (from the first batch's mean)
    for w in range(result.sample_size.size):
        dens = stats.norm.pdf(x[w * window : (w + 1) * window])
        assert result.sample_size[w] == _direct_underflow(dens)
    assert result.censored == 0 and not result.overflow.any()


def test_standard_normal_underflows_near_520_and_wald_identity_holds() -> None:
    """E[N] = E[-log L at N] / H (Wald's identity, H = entropy of N(0, 1)): the mean n is checked within MCSE.

    -log L at the underflow lies between -log(smallest float64) = 744.4 and 745.13 plus one term.
    """
    model = _standard_normal()
    batches = (raw for _, raw in iter_data(model, seed=2, scenario="std", n=1000, first=0, stop=1000))
    result, _ = underflow_windows(model, batches, 1000, windows=800)
    assert result.censored == 0
    entropy = 0.5 * math.log(2 * math.pi * math.e)
    k = result.sample_size.astype(float)
    nll = -result.loglik
    assert np.isfinite(nll).all()
    assert (nll >= -LOG_SMALLEST).all() and (nll < 745.2 + 20).all()
    d = k - nll / entropy
    assert abs(d.mean()) < 4.5 * d.std(ddof=1) / math.sqrt(d.size)
    assert 744.44 / entropy == pytest.approx(524.65, abs=0.01)  # the "about 520" of the issue, first order
    median_mcse = 1.2533 * k.std(ddof=1) / math.sqrt(k.size)
    assert abs(np.median(k) - nll.mean() / entropy) < 4.5 * median_mcse + 1  # +1: the median of an integer


def test_first_zero_product_on_constructed_rows() -> None:
    rows = np.array([np.full(800, -1.0), np.full(800, 1.0), np.full(800, -0.1)])
    result = first_zero_product(rows)
    expected = [_direct_underflow(np.exp(r)) for r in rows]
    assert result.sample_size.tolist() == expected
    assert expected[0] in (745, 746) and expected[1] == math.ceil(LOG_LARGEST) and expected[2] == 0
    assert result.overflow.tolist() == [False, True, False] and result.censored == 1
    assert math.isnan(result.loglik[2]) and result.loglik[0] == -expected[0]


# --------------------------------------------------------------------------- binary cross-entropy

ETAS = np.array(
    [-800.0, -200.0, -40.0, -36.0, -10.0, -1e-3, 0.0, 1e-8, 0.5, 3.0, 20.0, 37.0, 50.0, 710.0, 1000.0]
)


@pytest.mark.parametrize("y", [0.0, 1.0])
def test_stable_and_reference_bce_against_decimal(y: float) -> None:
    labels = np.full_like(ETAS, y)
    exact = [_softplus_decimal(float((1 - 2 * y) * e)) for e in ETAS]
    got = stable.bce_stable(ETAS, labels)
    ref = stable.bce_reference(ETAS, labels)
    for g, r, e in zip(got, ref, exact, strict=True):
        # A few ulp, even where tiny or huge; below the smallest float64 the right answer is 0.
        assert abs(Decimal(float(g)) - e) <= Decimal(4 * 2**-53) * e + Decimal(math.ulp(0.0))
        if stable.REFERENCE_BITS > 53:
            assert abs(Decimal(str(r)) - e) <= Decimal(2.0**-60) * e


def test_naive_bce_breaks_where_sigmoid_rounds_to_one_and_clipping_caps_the_loss() -> None:
    eta, y = np.array([40.0, 40.0, -800.0]), np.array([1.0, 0.0, 1.0])
    naive = stable.bce_naive(eta, y)
    assert math.isnan(naive[0]) and math.isinf(naive[1]) and math.isinf(naive[2])
    clipped = stable.bce_clipped(eta, y, 1e-7)
    assert clipped[1] == pytest.approx(-math.log(1e-7), rel=1e-9)  # capped, the true loss is 40
    assert clipped[0] == pytest.approx(-math.log1p(-1e-7), rel=1e-6)  # at least this, the true loss is e^-40
    assert clipped[2] == pytest.approx(-math.log(1e-7), rel=1e-9)  # the true loss is 800


def test_compare_bce_counts_and_errors() -> None:
    rng = np.random.default_rng(3)
    eta = rng.normal(scale=30, size=(6, 200))
    eta[0] = np.clip(eta[0], -30, 30)  # no saturation in replication 0
    y = (rng.random((6, 200)) < 0.5).astype(float)
    res = stable.compare_bce(eta, y)
    saturated = (np.abs(eta) > 36.74).any(axis=1)
    assert (~np.isfinite(res["naive"]["mean_loss"]) == saturated).all()
    assert np.isfinite(res["stable"]["mean_loss"]).all()
    assert np.abs(res["stable"]["rel_error"]).max() < 1e-14
    for eps in stable.CLIPS:
        r = res[f"clip {eps:g}"]
        assert np.isfinite(r["mean_loss"]).all()
        assert (r["rel_error"][saturated] < 0).all()  # clipping caps the wrong confident ones: biased down


# --------------------------------------------------------------------------- log-sum-exp and softmax


def test_stable_logsumexp_and_softmax_against_decimal() -> None:
    rng = np.random.default_rng(4)
    z = np.concatenate([rng.normal(scale=s, size=(4, 3)) for s in (1, 50, 400, 2000)])
    lse = stable.logsumexp_stable(z)
    soft = stable.softmax_stable(z)
    for i, row in enumerate(z):
        exact = _lse_decimal(row)
        assert abs(Decimal(float(lse[i])) - exact) <= Decimal(4 * 2**-53) * abs(exact) + Decimal(1e-300)
        for k in range(3):
            log_pk = Decimal(float(row[k])) - exact
            pk = log_pk.exp()
            # exp(z_k - lse) from a rounded argument: relative error up to |log p_k| ulp (conditioning).
            tol = Decimal(4 * 2**-53) * pk * (1 + abs(log_pk)) + Decimal(math.ulp(0.0))
            assert abs(Decimal(float(soft[i, k])) - pk) <= tol
    # Naive forms break when one exp overflows, or when every exp underflows (sum 0: log 0, 0/0).
    broken = (z.max(axis=1) > LOG_LARGEST) | (z.max(axis=1) < -745.14)
    assert broken.sum() >= 2 and (~broken).sum() >= 8
    assert (~np.isfinite(stable.logsumexp_naive(z)) == broken).all()
    assert (np.isnan(stable.softmax_naive(z)).any(axis=1) == broken).all()


def test_compare_softmax_counts_the_replications_that_overflow() -> None:
    x, y = softmax_data(5, 8, 100)
    beta = np.array([[0.2, 1.0, -1.0, 0.0, 0.5], [-0.3, 0.5, 0.5, -0.5, 0.0]])
    eta = np.einsum("rni,ki->krn", x, beta)
    z = np.concatenate([np.zeros((1, 8, 100)), eta])
    for scale in (1.0, 100.0, 1000.0):
        res = stable.compare_softmax(scale * z, y)
        overflow = (scale * z).max(axis=(0, 2)) > LOG_LARGEST
        assert (~res["naive"]["loglik_finite"] == overflow).all()
        assert (~res["naive"]["softmax_finite"] == overflow).all()
        assert res["stable"]["loglik_finite"].all() and res["stable"]["softmax_finite"].all()
        assert np.nanmax(res["stable"]["loglik_rel_error"]) < 1e-13
        assert np.nanmax(res["stable"]["softmax_max_error"]) < 1e-15


def test_window_length_follows_the_mean_log_density() -> None:
    assert window_length(-1.419) == math.ceil(1.5 * -LOG_SMALLEST / 1.419)
    assert window_length(2.0) == math.ceil(1.5 * LOG_LARGEST / 2.0)  # densities above 1: overflow
    assert window_length(0.0) == window_length(math.nan) == 200_000
