"""Exact finite-sample theory of OLS in y = X beta + eps, eps ~ N(0, sigma2 I), and a batched OLS fit.

X has p columns, the intercept first, then d = p - 1 features.  The MLE of beta is
OLS, beta-hat = (X'X)^-1 X'y, and the MLE of sigma2 is RSS/n; ``unbiased`` is
RSS/(n - p).  Given X (full column rank), beta-hat ~ N(beta, sigma2 (X'X)^-1)
independent of RSS ~ sigma2 chi2_{n-p}.  Everything below follows from that.

Fixed design (one X for every replication)
    beta-hat is unbiased with variance sigma2 [(X'X)^-1]_jj, which is also the
    CRLB of beta_j (the information of a fixed-design sample is X'X/sigma2), so
    the efficiency is 1 at every n.  sigma2-hat = RSS/n has mean (n-p) sigma2/n
    and variance 2 (n-p) sigma2^2/n^2; RSS/(n-p) has mean sigma2 and variance
    2 sigma2^2/(n-p).  The CRLB of sigma2 is 2 sigma2^2/n.

Random design (a new X every replication; rows x = (1, z), z i.i.d. across rows)
    E[beta-hat] = E[E[beta-hat | X]] = beta whenever the first moment exists (for
    discrete features: conditionally on full rank, the replications the study
    keeps), and Var(beta-hat) = sigma2 E[(X'X)^-1] + Var(beta) = sigma2 E[(X'X)^-1].
    The sigma2 moments are those of the fixed design (RSS/sigma2 ~ chi2_{n-p} given
    any full-rank X).  The information of a random-design sample is n E[xx']/sigma2
    (the design's law does not involve the parameters), so the CRLB of beta is
    diag(inv(n E[xx']/sigma2)) and that of sigma2 is 2 sigma2^2/n.

    *The average conditional bound.*  Given X the bound is sigma2 [(X'X)^-1]_jj; the
    simulation averages it over replications.  Its expectation is Var(beta-hat_j)
    itself, and by Jensen (E[(X'X)^-1] >= (E[X'X])^-1) it is at least the CRLB:
    the gap is the price of not knowing the design in advance, not an
    inefficiency of OLS given X.  Nothing here computes it.

    *Gaussian features*, z ~ N(0, Sigma), Sigma = (1 - rho) I + rho 11'.  Regressing
    column j on the other p - 1 columns leaves a residual sum of squares
    RSS_j ~ chi2_{n-p+1}/[Sigma^-1]_jj, and [(X'X)^-1]_jj = 1/RSS_j, so for a slope
    Var = sigma2 [Sigma^-1]_jj E[1/chi2_{n-p+1}] = sigma2 [Sigma^-1]_jj/(n-p-1)
    (the inverse-Wishart mean).  For the intercept, [(X'X)^-1]_00 =
    1/n + z-bar' S^-1 z-bar with S the centred scatter matrix ~ Wishart_d(n-1, Sigma)
    independent of z-bar ~ N(0, Sigma/n); z-bar' S^-1 z-bar = (1/n) chi2_d/chi2_{n-d}
    (independent chi-squares, whatever Sigma), so Var = sigma2 (1/n + d/(n (n-d-2))).
    Both are finite only for n > p + 1 (NaN otherwise: the variance is infinite).
    CRLB: sigma2/n (intercept) and sigma2 [Sigma^-1]_jj/n (slopes), since E[xx'] =
    diag(1, Sigma).  Efficiency: (n-p-1)/n for every slope and (n-p-1)/(n-2) for
    the intercept, whatever rho.

    *Finite moments.*  Given X, beta-hat_j - beta_j = sqrt(sigma2 c_jj) N(0, 1) with
    c_jj = [(X'X)^-1]_jj, so E|beta-hat_j|^k < inf iff E[c_jj^(k/2)] < inf.  Both
    c_jj above are (a constant plus) a multiple of 1/chi2_{n-p+1}, and
    E[(chi2_nu)^-m] < inf iff m < nu/2; hence E|beta-hat_j|^k < inf iff
    k < n - p + 1: the highest finite order is n - p (no mean at n = p, a variance
    from n = p + 2, a fourth moment - what the MCSE of the variance needs - from
    n = p + 4).

    *Uniform features* on (-sqrt 3, sqrt 3) (mean 0, variance 1, independent):
    E[xx'] = I, CRLB sigma2/n for every coefficient; E[(X'X)^-1] has no closed
    form (exact variance NaN).  The features have a bounded density that is
    positive near the singular designs, so the probability that RSS_j < e
    scales as e^((n-p+1)/2) exactly as for Gaussian features: the same highest
    finite order n - p (argued from that scaling, not proven here).

    *Bernoulli(1/2) features* on {0, 1} (independent): mean 1/2, variance 1/4, so
    E[xx'] is not diagonal; its inverse gives the CRLB sigma2 (1 + d)/n for the
    intercept and 4 sigma2/n for the slopes.  X is rank deficient with positive
    probability; given full rank, (X'X)^-1 takes finitely many values, so every
    moment of the kept replications is finite; the exact variance is a finite sum
    over 2^(nd) designs, not computed (NaN).

Exact Wald coverage
    With se_j = sqrt(RSS/n [(X'X)^-1]_jj) the interval for beta_j covers with
    probability 2 F_t(z sqrt((n-p)/n); n-p) - 1 for every design (it holds given X);
    for sigma2 (se = estimate sqrt(2/n)) by chi-square CDFs of RSS/sigma2.  The
    normal family is the p = 1 case; both call :mod:`mlestudy.theory.coverage`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .coverage import gaussian_mean_coverage, gaussian_variance_coverage

FEATURES = ("normal", "uniform", "bernoulli")
"""Feature distributions of a random design."""

ESTIMATORS = ("mle", "unbiased")
"""sigma2 estimators: RSS/n and RSS/(n - p); both use OLS for beta."""


@dataclass(frozen=True)
class RandomDesign:
    """Law of one row x = (1, z) of a random design: an intercept and d features.

    Parameters
    ----------
    n_features
        d >= 1, so p = d + 1 coefficients.
    features
        ``normal`` (N(0, Sigma)), ``uniform`` (independent, on (-sqrt 3, sqrt 3)) or
        ``bernoulli`` (independent Bernoulli(1/2) on {0, 1}).
    correlation
        rho of Sigma = (1 - rho) I + rho 11' (normal features only; positive
        definite for -1/(d - 1) < rho < 1).
    """

    n_features: int
    features: str = "normal"
    correlation: float = 0.0

    def __post_init__(self) -> None:
        d, rho = self.n_features, self.correlation
        if isinstance(d, bool) or not isinstance(d, (int, np.integer)) or d < 1:
            raise ValueError(f"n_features = {d!r} is not allowed; it must be an integer >= 1")
        if self.features not in FEATURES:
            raise ValueError(f"features = {self.features!r} is not allowed; use one of {', '.join(FEATURES)}")
        if not math.isfinite(rho):
            raise ValueError(f"correlation = {rho!r} is not allowed; it must be a finite number")
        if self.features != "normal" and rho != 0:
            raise ValueError(
                f"correlation = {rho!r} is not allowed with {self.features} features; only normal features are correlated"
            )
        lower = -1.0 / (d - 1) if d > 1 else -1.0
        if not lower < rho < 1:
            raise ValueError(
                f"correlation = {rho!r} is not allowed with {d} features; it must be > {lower:g} and < 1"
            )

    @property
    def p(self) -> int:
        """Number of coefficients, intercept included."""
        return self.n_features + 1

    def feature_mean(self) -> NDArray[np.float64]:
        """E[z]."""
        return np.full(self.n_features, 0.5 if self.features == "bernoulli" else 0.0)

    def feature_covariance(self) -> NDArray[np.float64]:
        """Cov(z) = Sigma."""
        d = self.n_features
        if self.features == "bernoulli":
            return 0.25 * np.eye(d)
        return (1 - self.correlation) * np.eye(d) + self.correlation * np.ones((d, d))

    def second_moment(self) -> NDArray[np.float64]:
        """E[xx'] for x = (1, z): [[1, m'], [m, Sigma + m m']]."""
        m = self.feature_mean()
        out = np.empty((self.p, self.p))
        out[0, 0] = 1.0
        out[0, 1:] = out[1:, 0] = m
        out[1:, 1:] = self.feature_covariance() + np.outer(m, m)
        return out


def _check_np(n: int, p: int) -> None:
    if isinstance(n, bool) or not isinstance(n, (int, np.integer)) or n < 1:
        raise ValueError(f"sample size n = {n!r} is not allowed; n must be an integer >= 1")
    if isinstance(p, bool) or not isinstance(p, (int, np.integer)) or p < 1:
        raise ValueError(f"p = {p!r} is not allowed; the number of coefficients must be an integer >= 1")


# -- sigma2 (any design) ------------------------------------------------------------------------------
def sigma2_moments(estimator: str, n: int, p: int, sigma2: float) -> tuple[float, float]:
    """Exact mean and variance of RSS/n (``mle``) or RSS/(n - p) (``unbiased``).

    Any full-rank design, fixed or random.  NaN for n < p (not identified) and for
    the unbiased estimator at n = p (it divides by 0).  The normal family is p = 1.
    """
    _check_np(n, p)
    nu = n - p
    if nu < 0:
        return math.nan, math.nan
    if estimator == "mle":
        return nu * sigma2 / n, 2 * nu * sigma2 * sigma2 / (n * n)
    if estimator == "unbiased":
        return (sigma2, 2 * sigma2 * sigma2 / nu) if nu > 0 else (math.nan, math.nan)
    raise ValueError(f"estimator = {estimator!r} is not allowed; use one of {', '.join(ESTIMATORS)}")


def sigma2_crlb(n: int, sigma2: float) -> float:
    """CRLB of sigma2, 2 sigma2^2/n, for every design (beta and sigma2 are orthogonal)."""
    return 2 * sigma2 * sigma2 / n


# -- beta, fixed design -------------------------------------------------------------------------------
def _xtx_inverse(X: ArrayLike) -> NDArray[np.float64]:
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[0] < X.shape[1]:
        raise ValueError(f"X has shape {X.shape}; a design must be (n, p) with n >= p")
    return np.linalg.inv(X.T @ X)


def beta_moments_fixed(X: ArrayLike, beta: ArrayLike, sigma2: float) -> tuple[NDArray, NDArray]:
    """Exact mean (beta) and variance (sigma2 diag((X'X)^-1)) of OLS for a fixed design X (n, p)."""
    return np.asarray(beta, dtype=np.float64).copy(), sigma2 * np.diag(_xtx_inverse(X)).copy()


def beta_crlb_fixed(X: ArrayLike, sigma2: float) -> NDArray[np.float64]:
    """CRLB of each beta_j for a fixed design: sigma2 [(X'X)^-1]_jj (OLS attains it)."""
    return sigma2 * np.diag(_xtx_inverse(X)).copy()


# -- beta, random design ------------------------------------------------------------------------------
def beta_finite_moments(design: RandomDesign | None, n: int) -> float:
    """Highest integer k with E|beta-hat_j|^k < inf (the same for every j).

    ``None`` is a fixed design: inf.  Normal and uniform features: n - p.
    Bernoulli features: inf (given full rank; rank-deficient replications fail).
    """
    if design is None or design.features == "bernoulli":
        return math.inf
    _check_np(n, design.p)
    return float(max(n - design.p, 0))


def beta_moments_random(
    design: RandomDesign, n: int, beta: ArrayLike, sigma2: float
) -> tuple[NDArray[np.float64], NDArray[np.float64]]:
    """Exact mean and variance of OLS beta-hat over a random design at sample size n.

    Mean beta when it exists (n > p; for Bernoulli features n >= p, given full
    rank), NaN otherwise.  Variance: normal features only, finite for n > p + 1
    (the slopes sigma2 [Sigma^-1]_jj/(n-p-1), the intercept sigma2 (1/n + d/(n (n-d-2))));
    NaN where it is infinite or has no closed form (uniform, Bernoulli features).
    """
    p, d = design.p, design.n_features
    _check_np(n, p)
    beta = np.asarray(beta, dtype=np.float64)
    if beta.shape != (p,):
        raise ValueError(f"beta has shape {beta.shape}; this design has p = {p} coefficients")
    mean = beta.copy() if beta_finite_moments(design, n) >= 1 and n >= p else np.full(p, np.nan)
    var = np.full(p, np.nan)
    if design.features == "normal" and n > p + 1:
        var[0] = sigma2 * (1 / n + d / (n * (n - d - 2)))
        var[1:] = sigma2 * np.diag(np.linalg.inv(design.feature_covariance())) / (n - p - 1)
    return mean, var


def beta_crlb_random(design: RandomDesign, n: int, sigma2: float) -> NDArray[np.float64]:
    """CRLB of each beta_j for a random design: diag(inv(n E[xx'] / sigma2))."""
    _check_np(n, design.p)
    return sigma2 * np.diag(np.linalg.inv(design.second_moment())) / n


def beta_efficiency_random(design: RandomDesign, n: int) -> NDArray[np.float64]:
    """Exact efficiency CRLB / Var of OLS for normal features: (n-p-1)/(n-2), then (n-p-1)/n per slope.

    NaN where the variance is infinite (n <= p + 1) or has no closed form.
    """
    _, var = beta_moments_random(design, n, np.zeros(design.p), 1.0)
    return beta_crlb_random(design, n, 1.0) / var


# -- coverage -------------------------------------------------------------------------------------------
def beta_coverage(n: int, p: int, level: float) -> float:
    """Exact coverage of beta-hat_j +/- z sqrt(RSS/n [(X'X)^-1]_jj), any design: 2 F_t(z sqrt((n-p)/n); n-p) - 1."""
    _check_np(n, p)
    return gaussian_mean_coverage(n, level, p=p)


def sigma2_coverage(estimator: str, n: int, p: int, level: float) -> float:
    """Exact coverage of s +/- z s sqrt(2/n) for s = RSS/n (``mle``) or RSS/(n - p) (``unbiased``)."""
    _check_np(n, p)
    if estimator not in ESTIMATORS:
        raise ValueError(f"estimator = {estimator!r} is not allowed; use one of {', '.join(ESTIMATORS)}")
    return gaussian_variance_coverage(n, level, divisor=n if estimator == "mle" else n - p, p=p)


# -- batched OLS ----------------------------------------------------------------------------------------
MAX_VIF = 1e10
"""Largest uncentred variance inflation factor of a column before a design counts as rank deficient."""


@dataclass(frozen=True)
class OLSFit:
    """OLS of R replications; rows of a rank-deficient design are NaN.

    Attributes
    ----------
    beta
        (R, p) coefficients.
    rss
        (R,) residual sums of squares.
    xtx_inv
        (R, p, p) (X'X)^-1 (a read-only broadcast view when X is shared).
    rank_deficient
        (R,) True where X does not have numerically full column rank.
    """

    beta: NDArray[np.float64]
    rss: NDArray[np.float64]
    xtx_inv: NDArray[np.float64]
    rank_deficient: NDArray[np.bool_]


def _scaled_inverse(gram: NDArray[np.float64], max_vif: float) -> tuple[NDArray, NDArray, NDArray]:
    """(X'X)^-1 via the unit-diagonal Gram matrix D X'X D, D = diag(X'X)^-1/2, and a rank flag.

    The scaled inverse's diagonal is each column's uncentred variance inflation
    factor 1/(1 - R_j^2) against the other columns, the natural scale-free test of
    collinearity (within a factor p of the condition number of D X'X D).  An
    exactly singular matrix (LinAlgError) is found by its eigenvalues and replaced
    by the identity so that the rest of the batch is still solved.
    """
    p = gram.shape[-1]
    scale = 1.0 / np.sqrt(np.einsum("...ii->...i", gram))
    scaled = gram * scale[..., :, None] * scale[..., None, :]
    bad = ~np.isfinite(scaled).all(axis=(-2, -1))
    scaled[bad] = np.eye(p)
    try:
        inv = np.linalg.inv(scaled)
    except np.linalg.LinAlgError:
        # lambda_min < 1/(p max_vif) implies max VIF > max_vif: flagged either way.
        singular = np.linalg.eigvalsh(scaled)[..., 0] <= 1.0 / (p * max_vif)
        bad |= singular
        scaled[singular] = np.eye(p)
        inv = np.linalg.inv(scaled)
    vif = np.einsum("...ii->...i", inv)
    bad |= ~(np.isfinite(vif) & (vif >= 1 - 1e-8) & (vif <= max_vif)).all(axis=-1)
    inv = 0.5 * (inv + np.swapaxes(inv, -1, -2)) * scale[..., :, None] * scale[..., None, :]
    return inv, scale, bad


def ols_batch(X: ArrayLike, y: ArrayLike, *, max_vif: float = MAX_VIF) -> OLSFit:
    """OLS fits of many replications at once, by the normal equations.

    Parameters
    ----------
    X
        Designs, (R, n, p), or one fixed design (n, p) shared by every replication.
    y
        Responses, (R, n).
    max_vif
        A design whose column j has uncentred variance inflation factor
        1/(1 - R_j^2) > ``max_vif`` counts as rank deficient (its rows are NaN).
        The normal equations lose about log10(VIF) digits, so the default 1e10
        keeps roughly six.

    Returns
    -------
    OLSFit
        beta-hat, RSS (summed from the residuals, not y'y - beta'X'y, which
        cancels when the fit is good) and (X'X)^-1 per replication.

    Notes
    -----
    The normal equations with column scaling and one step of iterative
    refinement, not QR: numpy's batched QR calls LAPACK once per replication and
    measured 3.7-4.4 times slower at n = 50 and 1000 (p = 4), 1.3 times at n = 10,
    and as fast at p = 10, n = 20 (``benchmarks/ols_batch.py``).  The refinement costs
    one more pass over the residuals and brings the error from about
    kappa(X)^2 eps to about kappa(X) eps; the tests hold it to 1e-10 of
    statsmodels (an SVD) on designs with kappa up to 1e4.
    """
    X = np.asarray(X, dtype=np.float64)
    y = np.asarray(y, dtype=np.float64)
    if y.ndim != 2 or X.ndim not in (2, 3) or X.shape[-2] != y.shape[1]:
        raise ValueError(f"X {X.shape} and y {y.shape} do not match; need X (R, n, p) or (n, p) and y (R, n)")
    if X.ndim == 3 and X.shape[0] != y.shape[0]:
        raise ValueError(f"X has {X.shape[0]} replications and y {y.shape[0]}")
    reps, p = y.shape[0], X.shape[-1]
    Xt = np.swapaxes(X, -1, -2)
    with np.errstate(all="ignore"):  # rank-deficient rows compute garbage that is then set to NaN
        inv, _, bad = _scaled_inverse(Xt @ X, max_vif)
        if X.ndim == 2:  # one design: matrix products for all replications at once
            beta = y @ (X @ inv)
            resid = y - beta @ Xt
            gradient = resid @ X
            delta = gradient @ inv
            xtx_inv = np.broadcast_to(inv, (reps, p, p))
            rank_deficient = np.full(reps, bool(bad))
        else:
            beta = (inv @ (Xt @ y[..., None]))[..., 0]
            resid = y - (X @ beta[..., None])[..., 0]
            gradient = (Xt @ resid[..., None])[..., 0]
            delta = (inv @ gradient[..., None])[..., 0]
            xtx_inv, rank_deficient = inv, bad
        # One step of iterative refinement: the normal equations' error (about kappa^2 eps)
        # drops to about kappa eps.  The refined residual's sum of squares needs no new
        # pass over the data: ||r - X delta||^2 = ||r||^2 - (X'r)' delta since X'X delta = X'r.
        beta += delta
        rss = np.maximum(np.einsum("rn,rn->r", resid, resid) - np.einsum("rj,rj->r", gradient, delta), 0.0)
    if rank_deficient.any():
        beta[rank_deficient] = np.nan
        rss[rank_deficient] = np.nan
        if X.ndim == 2:
            xtx_inv = np.full((reps, p, p), np.nan)
        else:
            xtx_inv[rank_deficient] = np.nan
    return OLSFit(beta=beta, rss=rss, xtx_inv=xtx_inv, rank_deficient=rank_deficient)
