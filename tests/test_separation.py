"""Existence of the MLE: the engine's NO_MLE / RANK_DEFICIENT against the exact criteria.

The LP (mlestudy.fitting.separation) is the reference, run here on *every*
replication; the engine runs it only on the ones its fit flags, so agreement
shows the flags miss nothing.  The LP itself is checked against closed-form
criteria where they exist (one binary feature: the MLE exists iff every group
has every outcome) and against constructed complete / quasi-complete /
overlapping data sets.
"""

from __future__ import annotations

import numpy as np
import pytest
from glm_helpers import design, logistic_data, poisson_data, softmax_data

from mlestudy.fitting import glm, separation
from mlestudy.status import Status

pytestmark = pytest.mark.filterwarnings("error")


def _one_binary_feature(seed: int, r: int, n: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return design(rng, r, n, 2, "bernoulli")


# ----------------------------------------------------------------------------- constructed cases


def test_complete_quasi_complete_and_overlapping_logistic() -> None:
    t = np.array([-3.0, -2.0, -1.5, -1.0, 0.0, 0.0, 0.0, 1.0, 1.5, 2.0, 2.5, 3.0])
    x = np.ones((3, t.size, 2))
    x[:, :, 1] = t
    complete = (t > 0).astype(float)  # y = 0 left of 0, 1 right of it (ties all 0)
    quasi = complete.copy()
    quasi[5] = 1.0  # both outcomes at the tie t = 0: separated only weakly
    overlap = complete.copy()
    overlap[[1, 9]] = 1.0 - overlap[[1, 9]]  # one of each on the wrong side
    y = np.stack([complete, quasi, overlap])
    assert separation.logistic_separated(x, y).tolist() == [True, True, False]
    fit = glm.logistic(x, y)
    assert fit.status.tolist() == [Status.NO_MLE, Status.NO_MLE, Status.OK]
    assert np.isnan(fit.beta[:2]).all() and np.isnan(fit.cov[:2]).all() and np.isfinite(fit.beta[2]).all()


def test_all_zero_count_face_poisson() -> None:
    x = _one_binary_feature(11, 3, 40)
    x[:, :4, 1], x[:, 4:8, 1] = 1.0, 0.0  # both groups non-empty
    y = np.random.default_rng(12).poisson(2.0, (3, 40)).astype(float)
    y[0, x[0, :, 1] == 1] = 0  # every count zero where the feature is 1: beta_1 -> -infinity
    y[1, x[1, :, 1] == 0] = 0  # zero where it is 0: the intercept -> -infinity
    y[2, :] = np.maximum(y[2], 1)
    assert separation.poisson_nonexistent(x, y).tolist() == [True, True, False]
    fit = glm.poisson(x, y)
    assert fit.status.tolist() == [Status.NO_MLE, Status.NO_MLE, Status.OK]
    assert np.isnan(fit.beta[:2]).all()


def test_softmax_missing_class_and_separated_class() -> None:
    x, y = softmax_data(13, 3, 60)
    y[0][y[0] == 2] = 1  # class 2 never observed
    y[1] = np.where(x[1, :, 1] > 0.5, 2, np.where(y[1] == 2, 0, y[1]))  # class 2 exactly where x1 > 0.5
    assert separation.softmax_separated(x, y, 3).tolist() == [True, True, False]
    fit = glm.softmax(x, y, 3)
    assert fit.status.tolist() == [Status.NO_MLE, Status.NO_MLE, Status.OK]


# ----------------------------------------------------------------------------- random small-n cases


def _binary_groups_complete(x: np.ndarray, y: np.ndarray, outcomes) -> np.ndarray:
    """The MLE exists iff both groups of the binary feature contain every outcome."""
    ok = np.ones(x.shape[0], dtype=bool)
    for level in (0.0, 1.0):
        group = x[:, :, 1] == level
        for o in outcomes:
            ok &= ((y == o) & group).any(axis=1)
    return ~ok


def test_lp_matches_the_exact_criterion_for_one_binary_feature() -> None:
    x = _one_binary_feature(21, 400, 8)
    rng = np.random.default_rng(22)
    yl = (rng.random((400, 8)) < 0.4).astype(float)
    ys = rng.integers(0, 3, (400, 8))
    yp = rng.poisson(0.6, (400, 8)).astype(float)
    has_both = (x[:, :, 1] == 0).any(axis=1) & (x[:, :, 1] == 1).any(axis=1)
    x, yl, ys, yp = x[has_both], yl[has_both], ys[has_both], yp[has_both]
    sep_l = separation.logistic_separated(x, yl)
    assert np.array_equal(sep_l, _binary_groups_complete(x, yl, (0.0, 1.0)))
    assert np.array_equal(separation.softmax_separated(x, ys, 3), _binary_groups_complete(x, ys, (0, 1, 2)))
    poisson_exact = np.zeros(x.shape[0], dtype=bool)
    for level in (0.0, 1.0):
        poisson_exact |= (yp * (x[:, :, 1] == level)).sum(axis=1) == 0
    assert np.array_equal(separation.poisson_nonexistent(x, yp), poisson_exact)
    assert 0.2 < sep_l.mean() < 0.9  # both answers are common here


@pytest.mark.parametrize(("n", "features"), [(12, "normal"), (15, "bernoulli"), (25, "normal")])
def test_engine_flags_logistic_separation_exactly_when_the_lp_does(n: int, features: str) -> None:
    x, y = logistic_data(31 + n, 300, n, features)
    fit = glm.logistic(x, y)
    full = separation.rank_deficient(x, np.einsum("rni,rnj->rij", x, x))
    lp = np.zeros(300, dtype=bool)
    lp[~full] = separation.logistic_separated(x[~full], y[~full])
    assert np.array_equal(fit.status == Status.RANK_DEFICIENT, full)
    assert np.array_equal(fit.status == Status.NO_MLE, lp)
    assert 0.05 < lp.mean() < 0.95, lp.mean()
    assert set(np.unique(fit.status)) <= {Status.OK, Status.NO_MLE, Status.RANK_DEFICIENT}


@pytest.mark.parametrize(("n", "features"), [(15, "normal"), (20, "bernoulli")])
def test_engine_flags_softmax_separation_exactly_when_the_lp_does(n: int, features: str) -> None:
    x, y = softmax_data(41 + n, 200, n, features)
    fit = glm.softmax(x, y, 3)
    full = separation.rank_deficient(x, np.einsum("rni,rnj->rij", x, x))
    lp = np.zeros(200, dtype=bool)
    lp[~full] = separation.softmax_separated(x[~full], y[~full], 3)
    assert np.array_equal(fit.status == Status.RANK_DEFICIENT, full)
    assert np.array_equal(fit.status == Status.NO_MLE, lp)
    assert 0.05 < lp.mean() < 0.95, lp.mean()


@pytest.mark.parametrize(("n", "features"), [(10, "bernoulli"), (12, "normal")])
def test_engine_flags_poisson_nonexistence_exactly_when_the_lp_does(n: int, features: str) -> None:
    beta = np.array([-1.0, 0.3, -0.3, 0.2, 0.1])  # low means: zero counts are common
    x, y = poisson_data(51 + n, 300, n, features, beta=beta)
    fit = glm.poisson(x, y)
    full = separation.rank_deficient(x, np.einsum("rni,rnj->rij", x, x))
    lp = np.zeros(300, dtype=bool)
    lp[~full] = separation.poisson_nonexistent(x[~full], y[~full])
    assert np.array_equal(fit.status == Status.RANK_DEFICIENT, full)
    assert np.array_equal(fit.status == Status.NO_MLE, lp)
    assert lp.any()


def test_the_lp_runs_only_on_flagged_replications(monkeypatch: pytest.MonkeyPatch) -> None:
    seen = []
    real = separation.logistic_separated

    def spy(x, y):
        seen.append(x.shape[0])
        return real(x, y)

    monkeypatch.setattr(separation, "logistic_separated", spy)
    x, y = logistic_data(61, 500, 40)
    fit = glm.logistic(x, y)
    assert sum(seen) < 0.2 * 500  # the LP saw the suspects only
    assert sum(seen) >= (fit.status == Status.NO_MLE).sum()


# ----------------------------------------------------------------------------- rank


def test_rank_deficient_designs() -> None:
    x, y = logistic_data(71, 6, 30, "bernoulli")
    x[0, :, 4] = x[0, :, 3]  # duplicated column
    x[1, :, 2] = 0.0  # a feature that never fires
    x[2, :, 3] = 1.0  # a feature equal to the intercept
    x[3, :, 4] = 2 * x[3, :, 1] - x[3, :, 2]  # an exact linear combination
    expected = np.linalg.matrix_rank(x) < 5
    assert expected.tolist() == [True, True, True, True, False, False]
    for fit in (glm.logistic(x, y), glm.poisson(x, y), glm.softmax(x, y.astype(int), 2)):
        assert np.array_equal(fit.status == Status.RANK_DEFICIENT, expected)
        assert np.isnan(fit.beta[expected]).all() and np.isnan(fit.cov[expected]).all()
    few = glm.logistic(x[:, :4], y[:, :4])  # n = 4 < p = 5
    assert (few.status == Status.RANK_DEFICIENT).all()
