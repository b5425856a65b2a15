"""Fisher information and Cramér–Rao bounds of the 1-D normal mixture, by quadrature of the score.

The per-observation information I = E[g(X) g(X)'] = integral of f(x) g(x) g(x)' dx
has no closed form (the score g involves the responsibilities, ratios of
Gaussian densities).  The integrand is analytic and decays like a Gaussian, so
the plain trapezoidal rule on a uniform grid converges geometrically in the
number of points (Trefethen & Weideman 2014, SIAM Review 56:385), at a rate set
by the narrowest component.  The grid spans 15 standard deviations either side
of every mean (the mass beyond is below 1e-50) with a spacing that starts at
half the smallest standard deviation and is halved until two successive
results agree to ``rtol``; :func:`fisher_information` says so if they never do.
(Gauss–Hermite rules on each component's own scale converge only
root-exponentially here, and not at all when the variances differ by 100x.)

Parameters are the free ones, (w_1..w_{K-1}, m_1..m_K, v_1..v_K); the CRLB of
the last weight w_K = 1 - sum of the others is the sum of the free weights'
block of I^-1 (the delta method, exact for a linear map).  These are
per-observation bounds: divide by n.  They are asymptotic statements about
the MLE (the bound on the variance of an unbiased estimator; the MLE of a
mixture is biased at finite n and approaches the bound only as n grows).
"""

from __future__ import annotations

import numpy as np

from ..fitting.mixture_hessian import per_observation_scores
from ..fitting.mixture_model import FloatArray, MixtureParams, check_params, log_joint

RTOL = 1e-11
"""Agreement of two successive grids, relative to sqrt(I_ii I_jj), to accept the quadrature."""
WIDTH = 15.0
"""The grid covers every mean +- this many of its component's standard deviations."""
FIRST_SPACING = 0.5
"""First grid spacing, in units of the smallest standard deviation."""
MAX_POINTS = 1 << 22


def quadrature_grid(params: MixtureParams, spacing: float) -> tuple[FloatArray, FloatArray]:
    """Trapezoidal points and weights (spacing times the mixture density) for E_f."""
    w, m, v = (np.asarray(a, dtype=float) for a in params.arrays())
    sd = np.sqrt(v)
    lo, hi = float((m - WIDTH * sd).min()), float((m + WIDTH * sd).max())
    x = lo + spacing * np.arange(int(np.ceil((hi - lo) / spacing)) + 1)
    with np.errstate(under="ignore"):
        a = log_joint(x, params)
        top = a.max(axis=0)
        density = np.exp(top + np.log(np.exp(a - top).sum(axis=0)))
    return x, spacing * density


def fisher_information_at(params: MixtureParams, spacing: float) -> FloatArray:
    """Per-observation Fisher information (P x P, P = 3K - 1) on one grid of the given spacing."""
    x, weight = quadrature_grid(params, spacing)
    with np.errstate(under="ignore"):
        g, _ = per_observation_scores(x, params)
    return (g * weight) @ g.T


def fisher_information(params: MixtureParams, rtol: float = RTOL) -> FloatArray:
    """Per-observation Fisher information in the free parameters, quadrature converged to ``rtol``.

    Parameters
    ----------
    params
        True parameters, arrays of shape (K,).
    rtol
        Largest change between grid spacings h and h/2, relative to sqrt(I_ii I_jj).

    Returns
    -------
    numpy.ndarray
        I, shape (3K - 1, 3K - 1).

    Raises
    ------
    ValueError
        If the quadrature has not converged by ``MAX_POINTS`` grid points.
    """
    params = check_params(params, "mixture information")
    if np.ndim(params.means) != 1:
        raise ValueError(
            f"mixture information: parameters must have shape (K,); got {np.shape(params.means)}"
        )
    spacing = FIRST_SPACING * float(np.sqrt(np.min(params.variances)))
    prev = fisher_information_at(params, spacing)
    change = np.inf
    while True:
        spacing /= 2
        if quadrature_grid(params, spacing)[0].size > MAX_POINTS:
            raise ValueError(
                f"mixture information: the quadrature did not converge to {rtol:g} within {MAX_POINTS} "
                f"points (change {change:.3g}); weights {params.weights}, means {params.means}, "
                f"variances {params.variances}"
            )
        cur = fisher_information_at(params, spacing)
        change = quadrature_change(prev, cur)
        if change <= rtol:
            return cur
        prev = cur


def quadrature_change(a: FloatArray, b: FloatArray) -> float:
    """max |a_ij - b_ij| / sqrt(b_ii b_jj): the change between two information matrices on the scale of b."""
    d = np.sqrt(np.diag(b))
    return float(np.max(np.abs(a - b) / np.outer(d, d)))


def crlb_from_information(info: FloatArray) -> MixtureParams:
    """Per-observation CRLB of every parameter (all K weights, means, variances) from I."""
    cov = np.linalg.inv(info)
    k = (info.shape[0] + 1) // 3
    var = np.diag(cov)
    weights = np.append(var[: k - 1], cov[: k - 1, : k - 1].sum())
    return MixtureParams(weights, var[k - 1 : 2 * k - 1], var[2 * k - 1 :])


def crlb(params: MixtureParams) -> MixtureParams:
    """Per-observation Cramér–Rao bounds (divide by n): diagonal of I^-1, and the last weight's by the delta method."""
    return crlb_from_information(fisher_information(params))


def complete_data_information(params: MixtureParams) -> FloatArray:
    """Per-observation information if the component labels were observed (block-diagonal, closed form).

    Labels ~ Multinomial(1, w): the free weights' block is diag(1/w_j) + 1/w_K.
    Given its label, an observation informs only its own component: w_k/v_k
    for the mean and w_k/(2 v_k^2) for the variance.
    """
    params = check_params(params, "complete-data information")
    w, m, v = (np.asarray(a, dtype=float) for a in params.arrays())
    k = w.size
    p = 3 * k - 1
    info = np.zeros((p, p))
    info[: k - 1, : k - 1] = np.diag(1.0 / w[: k - 1]) + 1.0 / w[k - 1]
    info[np.arange(k - 1, 2 * k - 1), np.arange(k - 1, 2 * k - 1)] = w / v
    info[np.arange(2 * k - 1, p), np.arange(2 * k - 1, p)] = w / (2 * v * v)
    return info


def complete_data_crlb(params: MixtureParams) -> MixtureParams:
    """Per-observation bounds with known labels: w_k(1 - w_k), v_k / w_k and 2 v_k^2 / w_k."""
    return crlb_from_information(complete_data_information(params))


def information_cost(params: MixtureParams) -> MixtureParams:
    """CRLB without labels over CRLB with labels, per parameter: how much not knowing the labels costs."""
    a, b = crlb(params), complete_data_crlb(params)
    return MixtureParams(*(x / y for x, y in zip(a.arrays(), b.arrays(), strict=True)))
