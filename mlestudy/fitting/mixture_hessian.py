"""Exact score and observed information of the 1-D normal mixture, batched, and the SEs from them.

The free parameters are theta = (w_1..w_{K-1}, m_1..m_K, v_1..v_K); the last
weight is w_K = 1 - sum of the others.  With r_ik the responsibilities and
s_ik the gradient of log(w_k N(x_i; m_k, v_k)), one observation's score is
g_i = sum_k r_ik s_ik, and its Hessian is

    d2 log f(x_i) = sum_k r_ik (d2 log(w_k N_ik) + s_ik s_ik') - g_i g_i'

(differentiate f = sum_k w_k N_k twice and divide by f).  The first term only
needs the weighted moments sum_i r_ik (x_i - m_k)^a, a = 0..4, of each
component, so the exact Hessian costs a few passes over the data: analytic,
no finite differences.  The weights' block of the first term vanishes because
log w_k is the log of a linear function (its second derivative is minus the
square of its first).
"""

from __future__ import annotations

import numpy as np

from .mixture_model import FloatArray, MixtureParams, loglik_and_responsibilities

SINGULAR_RCOND = 1e-12
"""Smallest eigenvalue, relative to the largest, of the unit-diagonal scaled
information for it to count as positive definite; below it the SEs are NaN."""


def per_observation_scores(x: FloatArray, params: MixtureParams) -> tuple[FloatArray, FloatArray]:
    """Scores of every observation, shape (P, ..., n), P = 3K - 1, and the responsibilities (..., K, n)."""
    w, m, v = (np.asarray(a, dtype=float) for a in params.arrays())
    k = w.shape[-1]
    _, resp = loglik_and_responsibilities(x, params)
    rows = []
    for j in range(k - 1):
        rows.append(resp[..., j, :] / w[..., j, None] - resp[..., k - 1, :] / w[..., k - 1, None])
    d = x[..., None, :] - m[..., :, None]
    vv = v[..., :, None]
    g_mean = resp * d / vv
    g_var = resp * (d * d - vv) / (2 * vv * vv)
    rows += [g_mean[..., j, :] for j in range(k)]
    rows += [g_var[..., j, :] for j in range(k)]
    return np.stack(rows), resp


def observed_information(x: FloatArray, params: MixtureParams) -> tuple[FloatArray, FloatArray]:
    """Score and observed information (minus the exact Hessian) of the log-likelihood.

    Parameters
    ----------
    x
        Data, shape (..., n).
    params
        Parameters, arrays of shape (..., K), at which to evaluate.

    Returns
    -------
    score
        Gradient of the log-likelihood in the free parameters, shape (..., P).
    information
        Minus its Hessian, shape (..., P, P).
    """
    w, m, v = (np.asarray(a, dtype=float) for a in params.arrays())
    k = w.shape[-1]
    p = 3 * k - 1
    g, resp = per_observation_scores(x, params)
    lead = g.shape[1:-1]
    info = np.empty(lead + (p, p))
    for a in range(p):
        for b in range(a, p):
            info[..., a, b] = info[..., b, a] = (g[a] * g[b]).sum(axis=-1)
    # Subtract sum_i sum_k r_ik (d2 log(w_k N_ik) + s_ik s_ik') through the moments of (x - m_k).
    d = x[..., None, :] - m[..., :, None]
    moments = [resp.sum(axis=-1)]
    term = resp.copy()
    for _ in range(4):
        term *= d
        moments.append(term.sum(axis=-1))
    s0, s1, s2, s3, s4 = moments
    mm = -s0 / v + s2 / v**2
    mv = -s1 / v**2 + (s3 - v * s1) / (2 * v**3)
    vvv = s0 / (2 * v**2) - s2 / v**3 + (s4 - 2 * v * s2 + v * v * s0) / (4 * v**4)
    dm = s1 / v  # sum_i r_ik d(log N_ik)/dm_k
    dv = (s2 - v * s0) / (2 * v**2)  # sum_i r_ik d(log N_ik)/dv_k
    for c in range(k):
        im, iv = k - 1 + c, 2 * k - 1 + c
        info[..., im, im] -= mm[..., c]
        info[..., iv, iv] -= vvv[..., c]
        info[..., im, iv] -= mv[..., c]
        info[..., iv, im] -= mv[..., c]
        for j in range(k - 1):
            # d log w_c / d w_j = [c == j] / w_j - [c == K-1] / w_K
            a_cj = (1.0 / w[..., j] if c == j else 0.0) - (1.0 / w[..., k - 1] if c == k - 1 else 0.0)
            for col, val in ((im, dm[..., c]), (iv, dv[..., c])):
                info[..., j, col] -= a_cj * val
                info[..., col, j] -= a_cj * val
    return np.ascontiguousarray(np.moveaxis(g.sum(axis=-1), 0, -1)), info


def covariance(information: FloatArray, rcond: float = SINGULAR_RCOND) -> FloatArray:
    """Inverse of each information matrix; NaN where it is not positive definite.

    The matrix is first scaled to unit diagonal, so that the test of positive
    definiteness does not depend on the units of the parameters.
    """
    info = np.asarray(information, dtype=float)
    diag = np.diagonal(info, axis1=-2, axis2=-1)
    ok = (diag > 0).all(axis=-1) & np.isfinite(info).all(axis=(-2, -1))
    scale = np.sqrt(np.where(ok[..., None], diag, 1.0))
    scaled = np.where(
        ok[..., None, None], info / (scale[..., :, None] * scale[..., None, :]), np.eye(info.shape[-1])
    )
    lam, vec = np.linalg.eigh(scaled)
    ok &= lam[..., 0] > rcond * lam[..., -1]
    lam = np.where(ok[..., None], lam, 1.0)
    cov = (vec / lam[..., None, :]) @ np.swapaxes(vec, -1, -2)
    cov /= scale[..., :, None] * scale[..., None, :]
    cov[~ok] = np.nan
    return cov


def standard_errors(cov: FloatArray) -> tuple[FloatArray, FloatArray, FloatArray]:
    """SEs of all K weights, the means and the variances, each of shape (..., K).

    The last weight is 1 minus the free ones, so its variance is the sum of the
    free weights' covariance block (the delta method, exact for a linear map).
    """
    p = cov.shape[-1]
    k = (p + 1) // 3
    var = np.diagonal(cov, axis1=-2, axis2=-1)
    last = cov[..., : k - 1, : k - 1].sum(axis=(-2, -1))
    se_w = np.sqrt(np.concatenate([var[..., : k - 1], last[..., None]], axis=-1))
    return se_w, np.sqrt(var[..., k - 1 : 2 * k - 1]), np.sqrt(var[..., 2 * k - 1 :])
