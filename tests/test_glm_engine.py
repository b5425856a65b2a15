"""The batched GLM engine against statsmodels, scipy and its own guarantees.

Agreement is asked to 1e-8: coefficients relative to max(|beta|, se) (a
coefficient near 0 has no meaningful relative error), standard errors and
log-likelihoods relative.  Every engine call here runs with warnings as errors.
"""

from __future__ import annotations

import warnings

import numpy as np
import pytest
import scipy.optimize
import statsmodels.api as sm
from glm_helpers import logistic_data, poisson_data, softmax_data
from threadpoolctl import threadpool_limits

from mlestudy.fitting import glm
from mlestudy.fitting.newton import newton
from mlestudy.status import Status

pytestmark = pytest.mark.filterwarnings("error")

RTOL = 1e-8
R = 200
CASES = [(n, f) for n in (30, 100, 1000) for f in ("normal", "bernoulli")]


def _quiet(fit):
    """Run a statsmodels fit without its warnings (separation, convergence): it is only the reference."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fit()


def _assert_agree(beta, se, ll, ref_beta, ref_se, ref_ll, where: str) -> None:
    scale = np.maximum(np.abs(ref_beta), ref_se)
    assert np.all(np.abs(beta - ref_beta) <= RTOL * scale), (where, beta, ref_beta)
    assert np.all(np.abs(se - ref_se) <= RTOL * ref_se), (where, se, ref_se)
    assert abs(ll - ref_ll) <= RTOL * abs(ref_ll), (where, ll, ref_ll)


def _usable_count(status: np.ndarray) -> int:
    """All replications are OK or have no MLE (checked against the LP in test_separation)."""
    assert set(np.unique(status)) <= {Status.OK, Status.NO_MLE}, np.bincount(status)
    ok = int((status == Status.OK).sum())
    assert ok >= 0.5 * status.size  # separation is common at n = 30 (softmax: 10 parameters)
    return ok


@pytest.mark.parametrize(("n", "features"), CASES)
def test_logistic_matches_statsmodels(n: int, features: str) -> None:
    x, y = logistic_data(101 + n, R, n, features)
    fit = glm.logistic(x, y)
    _usable_count(fit.status)
    for r in np.flatnonzero(fit.status == Status.OK):
        ref = _quiet(lambda r=r: sm.Logit(y[r], x[r]).fit(disp=0, tol=1e-12, maxiter=100))
        _assert_agree(fit.beta[r], fit.se[r], fit.loglik[r], ref.params, ref.bse, ref.llf, f"rep {r}")
    assert np.isnan(fit.beta[fit.status == Status.NO_MLE]).all()


@pytest.mark.parametrize(("n", "features"), CASES)
def test_poisson_matches_statsmodels(n: int, features: str) -> None:
    x, y = poisson_data(202 + n, R, n, features)
    fit = glm.poisson(x, y)
    _usable_count(fit.status)
    for r in np.flatnonzero(fit.status == Status.OK):
        # Newton, not IRLS: statsmodels' IRLS reports standard errors from the weights of the
        # previous iterate, which lag the estimate by about 3e-9 (relative) at its default tolerance.
        model = sm.GLM(y[r], x[r], family=sm.families.Poisson())
        ref = _quiet(lambda model=model: model.fit(method="newton", tol=1e-12, maxiter=100))
        _assert_agree(fit.beta[r], fit.se[r], fit.loglik[r], ref.params, ref.bse, ref.llf, f"rep {r}")


@pytest.mark.parametrize(("n", "features"), CASES)
def test_softmax_matches_statsmodels(n: int, features: str) -> None:
    x, y = softmax_data(303 + n, R, n, features)
    fit = glm.softmax(x, y, 3)
    assert fit.beta.shape == (R, 2, 5) and fit.cov.shape == (R, 10, 10)
    _usable_count(fit.status)
    for r in np.flatnonzero(fit.status == Status.OK):
        ref = _quiet(lambda r=r: sm.MNLogit(y[r], x[r]).fit(disp=0, tol=1e-12, maxiter=100))
        # statsmodels: params (p, K-1), one column per non-reference class.
        _assert_agree(fit.beta[r], fit.se[r], fit.loglik[r], ref.params.T, ref.bse.T, ref.llf, f"rep {r}")
        cov = np.asarray(ref.cov_params())  # ordered class-major, like the engine
        assert np.allclose(fit.cov[r], cov, rtol=1e-7, atol=1e-12 * np.abs(cov).max())


def _extended_newton_step(x: np.ndarray, y: np.ndarray, beta: np.ndarray, model: str) -> np.ndarray:
    """The Newton step at beta, with the gradient summed in extended precision (independent code)."""
    xl, yl, bl = x.astype(np.longdouble), y.astype(np.longdouble), beta.astype(np.longdouble)
    eta = xl @ bl
    mu = 1 / (1 + np.exp(-eta)) if model == "logistic" else np.exp(eta)
    w = mu * (1 - mu) if model == "logistic" else mu
    grad = xl.T @ (yl - mu)
    info = (x.T * w.astype(float)) @ x
    return np.linalg.solve(info, grad.astype(float))


@pytest.mark.parametrize("model", ["logistic", "poisson"])
def test_estimate_is_the_mle_to_1e10(model: str) -> None:
    """One more Newton step, from an extended-precision gradient, moves no coefficient by 1e-10 of its SE."""
    data = logistic_data if model == "logistic" else poisson_data
    x, y = data(404, 50, 500)
    fit = getattr(glm, model)(x, y)
    assert (fit.status == Status.OK).all()
    for r in range(50):
        step = _extended_newton_step(x[r], y[r], fit.beta[r], model)
        assert np.all(np.abs(step) <= 1e-10 * fit.se[r]), step / fit.se[r]


def test_same_bits_with_one_or_two_blas_threads() -> None:
    """n = 3000 puts each replication's products above OpenBLAS's threading thresholds."""
    fits = {}
    for threads in (1, 2):
        with threadpool_limits(limits=threads, user_api="blas"):
            x, y = logistic_data(505, 24, 3000)
            xp, yp = poisson_data(506, 24, 3000)
            xs, ys = softmax_data(507, 24, 3000)
            fits[threads] = (glm.logistic(x, y), glm.poisson(xp, yp), glm.softmax(xs, ys, 3))
    for a, b in zip(fits[1], fits[2], strict=True):
        for field in ("beta", "cov", "loglik", "iterations", "status"):
            assert np.array_equal(getattr(a, field), getattr(b, field), equal_nan=True), field


def _with_troublemakers(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Make replication 3 completely separated and replication 5 rank deficient."""
    x, y = x.copy(), y.copy()
    y[3] = (x[3, :, 1] > 0).astype(y.dtype)
    x[5, :, 4] = x[5, :, 3]
    return x, y


@pytest.mark.parametrize("model", ["logistic", "poisson", "softmax"])
def test_a_replication_does_not_depend_on_its_batch(model: str) -> None:
    """Same bits alone, in batches of 7, in one batch, and in reverse order (n odd: rows start misaligned)."""
    if model == "logistic":
        x, y = _with_troublemakers(*logistic_data(606, 40, 101))
        fit = glm.logistic
    elif model == "poisson":
        x, y = _with_troublemakers(*poisson_data(607, 40, 101))
        y[3] = np.where(x[3, :, 1] > 0, 0.0, y[3])  # an all-zero face: no MLE
        fit = glm.poisson
    else:
        x, y = _with_troublemakers(*softmax_data(608, 40, 101))

        def fit(x, y, **kw):
            return glm.softmax(x, y, 3, **kw)

    whole = fit(x, y, batch=40)
    assert whole.status[3] == Status.NO_MLE and whole.status[5] == Status.RANK_DEFICIENT
    variants = [fit(x, y, batch=7), fit(x, y)]
    rev = fit(x[::-1].copy(), y[::-1].copy(), batch=13)
    variants.append(
        type(rev)(*(getattr(rev, f)[::-1] for f in ("beta", "cov", "loglik", "iterations", "status")))
    )
    alone = [fit(x[r : r + 1], y[r : r + 1]) for r in (0, 3, 5, 39)]
    for v in variants:
        for field in ("beta", "cov", "loglik", "iterations", "status"):
            assert np.array_equal(getattr(whole, field), getattr(v, field), equal_nan=True), field
    for r, a in zip((0, 3, 5, 39), alone, strict=True):
        assert np.array_equal(whole.beta[r], a.beta[0], equal_nan=True)
        assert np.array_equal(whole.cov[r], a.cov[0], equal_nan=True)


def test_extreme_designs_raise_no_warnings_and_get_statuses() -> None:
    """Covariates of order 1e3 make naive exp() overflow; the engine must stay quiet and finite-or-flagged."""
    x, y = logistic_data(707, 30, 50)
    x[:, :, 1] *= 1e3
    fit = glm.logistic(x, y)
    assert np.isin(fit.status, [Status.OK, Status.NO_MLE, Status.NOT_CONVERGED]).all()
    assert np.isfinite(fit.beta[fit.status == Status.OK]).all()
    xp, yp = poisson_data(708, 30, 50)
    xp[:, :, 1] *= 50.0
    fitp = glm.poisson(xp, yp)
    assert np.isfinite(fitp.beta[fitp.status == Status.OK]).all()


# ----------------------------------------------------------------------------- the Newton driver


def _logcosh_problem(c: np.ndarray):
    """ll = -log cosh(b - c): concave, maximum at c, and a full Newton step overshoots when |b - c| > 1.09."""

    def evaluate(b, rows):
        d = b[:, 0] - c[rows]
        ll = -(np.abs(d) + np.log1p(np.exp(-2 * np.abs(d))) - np.log(2.0))
        e = np.exp(-2 * np.abs(d))
        return ll, -np.tanh(d)[:, None], (4 * e / (1 + e) ** 2)[:, None, None]

    return evaluate


def test_newton_halves_steps_and_finds_the_maximum() -> None:
    c = np.linspace(-1.0, 1.0, 9)
    start = (c + np.array([3.0, -3.0, 0.5, 2.0, -0.1, 4.0, -4.0, 1.5, 0.0]))[:, None]
    res = newton(_logcosh_problem(c), start)
    assert (res.status == Status.OK).all()
    assert np.allclose(res.beta[:, 0], c, rtol=0, atol=1e-10)  # decrement 1e-10, se = 1 at the maximum
    assert res.iterations[-1] == 0  # started at the maximum
    bare = newton(_logcosh_problem(c), start, max_halvings=0)
    assert (bare.status[[0, 1, 5, 6]] == Status.NOT_CONVERGED).all()  # overshoot without halving


def test_newton_cap_inactive_and_singular() -> None:
    c = np.zeros(3)
    capped = newton(_logcosh_problem(c), np.array([[3.0], [0.0], [0.0]]), max_iter=2)
    assert capped.status.tolist() == [Status.NOT_CONVERGED, Status.OK, Status.OK]
    assert capped.iterations[0] == 2
    inactive = newton(_logcosh_problem(c), np.zeros((3, 1)), active=np.array([True, False, True]))
    assert inactive.status[1] == Status.UNDEFINED and np.isnan(inactive.beta[1]).all()

    def singular(b, rows):
        return -(b**2).sum(axis=1), -2 * b, np.zeros((b.shape[0], 1, 1))

    res = newton(singular, np.ones((2, 1)))
    assert (res.status == Status.NOT_CONVERGED).all()


# ----------------------------------------------------------------------------- least squares


def _ls_direct(x: np.ndarray, y: np.ndarray, beta: np.ndarray) -> np.ndarray:
    """Sandwich covariance of one replication from its definition, in plain numpy."""
    mu = 1 / (1 + np.exp(-(x @ beta)))
    w = mu * (1 - mu)
    a = x.T @ np.diag(w**2) @ x
    b = x.T @ np.diag((y - mu) ** 2 * w**2) @ x
    ai = np.linalg.inv(a)
    return ai @ b @ ai


def test_least_squares_against_scipy_and_the_direct_sandwich() -> None:
    """scipy's least_squares stops on the relative change of the cost, which near this flat minimum
    is below rounding: it reaches gradients of only 1e-8 and coefficients within about 1e-6.  So the
    1e-8 agreement is asked of scipy.optimize.root (MINPACK hybrd) on the same normal equations
    sum_i (y_i - mu_i) w_i x_i = 0, and least_squares itself must agree to its own accuracy and
    reach no lower loss."""
    x, y = logistic_data(808, 30, 200)
    mle = glm.logistic(x, y)
    ls = glm.least_squares(x, y, mle)
    assert (ls.status == Status.OK).all()
    for r in range(30):
        xr, yr = x[r], y[r]

        def resid(b, xr=xr, yr=yr):
            return yr - 1 / (1 + np.exp(-(xr @ b)))

        def normal_eq(b, xr=xr, yr=yr):
            mu = 1 / (1 + np.exp(-(xr @ b)))
            return xr.T @ ((yr - mu) * mu * (1 - mu))

        lsq = scipy.optimize.least_squares(
            resid, mle.beta[r], method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15
        )
        root = scipy.optimize.root(normal_eq, lsq.x, method="hybr", options={"xtol": 1e-14})
        assert root.success or np.abs(root.fun).max() <= 1e-14  # "no progress" once at rounding level
        scale = np.maximum(np.abs(root.x), ls.se[r])
        assert np.all(np.abs(ls.beta[r] - root.x) <= RTOL * scale)
        assert np.all(np.abs(ls.beta[r] - lsq.x) <= 1e-5 * scale)
        assert ls.loss[r] <= 2 * lsq.cost * (1 + 1e-14)
        direct = _ls_direct(xr, yr, ls.beta[r])
        assert np.allclose(ls.cov[r], direct, rtol=1e-10, atol=1e-14 * np.abs(direct).max())


def test_least_squares_keeps_the_mle_status_where_there_is_no_start() -> None:
    x, y = _with_troublemakers(*logistic_data(909, 10, 60))
    mle = glm.logistic(x, y)
    ls = glm.least_squares(x, y, mle)
    assert ls.status[3] == Status.NO_MLE and ls.status[5] == Status.RANK_DEFICIENT
    assert np.isnan(ls.beta[[3, 5]]).all()


# ----------------------------------------------------------------------------- bad input


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda x, y: glm.logistic(x, y + 2), r"logistic: y\[0, 0\] = 2\.0 is not allowed; y must be 0 or 1"),
        (lambda x, y: glm.logistic(x[..., 0], y), "logistic: X must be a float64 array"),
        (lambda x, y: glm.logistic(x, y[:, :-1]), r"logistic: y must have shape \(R, n\)"),
        (
            lambda x, y: glm.poisson(x, y - 0.5),
            r"poisson: y\[0, 0\] = -0\.5 is not allowed; y must be a non-",
        ),
        (
            lambda x, y: glm.softmax(x, y.astype(int) + 3, 3),
            r"softmax: y\[0, 0\] = .* y must be a class in 0\.\.2",
        ),
        (lambda x, y: glm.softmax(x, y, 3), "softmax: y has dtype float64"),
        (lambda x, y: glm.softmax(x, y.astype(int), 1), "softmax: n_classes = 1 is not allowed"),
        (lambda x, y: glm.logistic(x, y, batch=0), "batch = 0 is not allowed"),
    ],
)
def test_bad_input_is_one_clear_line(call, message: str) -> None:
    x = np.ones((2, 4, 2))
    x[:, :, 1] = np.arange(4)
    y = np.zeros((2, 4))
    with pytest.raises(ValueError, match=message) as info:
        call(x, y)
    assert "\n" not in str(info.value)


def test_newton_falls_back_where_the_start_overflows() -> None:
    c = np.zeros(2)
    inner = _logcosh_problem(c)

    def evaluate(b, rows):
        ll, g, info = inner(b, rows)
        return np.where(np.abs(b[:, 0]) > 10, -np.inf, ll), g, info

    start, safe = np.array([[20.0], [0.5]]), np.array([[0.5], [0.5]])
    assert (newton(evaluate, start).status[0]) == Status.NOT_CONVERGED
    res = newton(evaluate, start, fallback=safe)
    assert (res.status == Status.OK).all() and np.allclose(res.beta, 0.0, atol=1e-10)
