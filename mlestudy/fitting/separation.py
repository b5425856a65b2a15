"""Does the MLE exist?  Rank deficiency and separation, decided exactly.

A GLM's MLE fails to exist in two ways:

* the design X has not full column rank: the coefficients are not identified
  (``Status.RANK_DEFICIENT``);
* the log-likelihood has a *recession direction* d != 0 along which it never
  decreases, so its supremum is approached as beta -> infinity and never
  attained (``Status.NO_MLE``):

  - logistic (Albert & Anderson 1984): complete or quasi-complete separation,
    s_i x_i'd >= 0 for all i with s_i = 2 y_i - 1;
  - softmax: the observed class's score is weakly the largest along d,
    x_i'(d_{y_i} - d_k) >= 0 for every i and class k (d_0 = 0);
  - Poisson with log link (Haberman 1974): x_i'd <= 0 for all i and x_i'd = 0
    wherever y_i > 0 (e.g. all counts zero on one level of a binary feature).

  With X of full rank, such a d exists iff the linear program "maximise the sum
  of the constraint values subject to the constraints and -1 <= d <= 1" has a
  positive optimum (Konis 2007, as in the R package detectseparation).  The LP is
  solved with HiGHS through ``scipy.optimize.linprog`` and only run on the
  replications the fit flags (see ``glm.py``), never on all of them.  Flagged
  replications are stacked into one block-diagonal LP per group
  (:data:`LP_GROUP`): its objective and constraints separate by replication, so
  every optimal solution is optimal in every block, and one solver call replaces
  hundreds (at n = 10 with one binary feature nearly half the replications are
  flagged, and a call costs about 2 ms).  "Exactly" means: the criterion is the definition itself, decided
  up to the solver's feasibility tolerance (1e-10 here), and a positive answer is
  confirmed by checking the returned direction's constraints directly.

Rank is checked in two stages too: a cheap batched test on the Gram matrix X'X
(its eigenvalues, already needed for the starting values) flags candidates, and
``np.linalg.matrix_rank`` (singular values of X, numpy's default tolerance)
decides on those.
"""

from __future__ import annotations

import numpy as np
from numpy.typing import NDArray
from scipy import sparse
from scipy.optimize import linprog

FloatArray = NDArray[np.float64]
BoolArray = NDArray[np.bool_]

GRAM_FLAG = 1e-8
"""A Gram matrix whose smallest/largest eigenvalue ratio is below this is checked exactly.

Rank deficiency in numpy's sense (sigma_min <= sigma_max * max(n, p) * eps) makes the
ratio at most (max(n, p) eps)^2 plus the rounding of X'X (about n eps), far below 1e-8
for any n < 1e7."""
LP_OPTIONS = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
LP_GROUP = 256
"""Replications solved together in one block-diagonal LP."""
LP_POSITIVE = 1e-7
"""An LP optimum above this (and a direction that satisfies the constraints to 1e-9
of its scale) is a recession direction: the MLE does not exist."""


def rank_deficient(x: FloatArray, gram: FloatArray) -> BoolArray:
    """Replications whose design lacks full column rank.

    Parameters
    ----------
    x : (R, n, p)
        Designs.
    gram : (R, p, p)
        X'X of each replication (computed once by the caller).

    Returns
    -------
    (R,) bool
    """
    r, n, p = x.shape
    if n < p:
        return np.ones(r, dtype=bool)
    with np.errstate(all="ignore"):
        ev = np.linalg.eigvalsh(gram)
    flagged = ~(ev[:, 0] > GRAM_FLAG * ev[:, -1])  # NaN (non-finite X) is flagged too
    out = np.zeros(r, dtype=bool)
    idx = np.flatnonzero(flagged)
    if idx.size:
        out[idx] = np.linalg.matrix_rank(x[idx]) < p
    return out


Problem = tuple[FloatArray, FloatArray | None, FloatArray | None]
"""One replication's LP: objective c, inequality rows a_ub (a_ub d <= 0), equality rows a_eq (a_eq d = 0)."""


def _recessions(problems: list[Problem]) -> BoolArray:
    """For each problem, whether max c'd s.t. a_ub d <= 0, a_eq d = 0, |d| <= 1 is positive.

    Groups of :data:`LP_GROUP` problems are solved as one block-diagonal LP; each
    positive answer is confirmed by checking its block of the returned direction.
    """
    out = np.zeros(len(problems), dtype=bool)
    for start in range(0, len(problems), LP_GROUP):
        group = problems[start : start + LP_GROUP]
        out[start : start + len(group)] = _solve_group(group)
    return out


def _block(matrices: list[FloatArray | None], sizes: list[int]) -> sparse.csr_array | None:
    blocks = [m if m is not None else np.zeros((0, q)) for m, q in zip(matrices, sizes, strict=True)]
    if not sum(b.shape[0] for b in blocks):
        return None
    return sparse.block_diag(blocks, format="csr")


def _solve_group(group: list[Problem]) -> BoolArray:
    sizes = [c.size for c, _, _ in group]
    a_ub, a_eq = _block([p[1] for p in group], sizes), _block([p[2] for p in group], sizes)
    c = np.concatenate([p[0] for p in group])
    res = linprog(
        c=-c,
        A_ub=a_ub,
        b_ub=None if a_ub is None else np.zeros(a_ub.shape[0]),
        A_eq=a_eq,
        b_eq=None if a_eq is None else np.zeros(a_eq.shape[0]),
        bounds=(-1.0, 1.0),
        method="highs",
        options=LP_OPTIONS,
    )
    if res.status != 0:  # the LP is feasible (d = 0) and bounded: any other outcome is a solver failure
        raise RuntimeError(f"linprog failed on a separation check: {res.message}")
    out = np.zeros(len(group), dtype=bool)
    at = 0
    for i, (ci, ub, eq) in enumerate(group):
        d = res.x[at : at + ci.size]
        at += ci.size
        if float(ci @ d) <= LP_POSITIVE:
            continue
        scale = 1e-9 * max(1.0, float(np.abs(ci).sum()))
        ok = ub is None or bool((ub @ d).max(initial=0.0) <= scale)
        ok &= eq is None or bool(np.abs(eq @ d).max(initial=0.0) <= scale)
        out[i] = ok
    return out


def logistic_separated(x: FloatArray, y: FloatArray) -> BoolArray:
    """Complete or quasi-complete separation of binary responses, per replication (one block of a batched LP each).

    Parameters
    ----------
    x : (R, n, p)
        Designs of full column rank.
    y : (R, n)
        Responses in {0, 1}.
    """
    sx = np.where(y > 0.5, 1.0, -1.0)[:, :, None] * x
    return _recessions([(s.sum(axis=0), -s, None) for s in sx])


def poisson_nonexistent(x: FloatArray, y: FloatArray) -> BoolArray:
    """Whether the Poisson (log link) MLE fails to exist, per replication (one block of a batched LP each).

    Parameters
    ----------
    x : (R, n, p)
        Designs of full column rank.
    y : (R, n)
        Non-negative counts.
    """
    out = np.zeros(x.shape[0], dtype=bool)
    # Without a zero count every x_i'd is pinned to 0 and X has full rank: d = 0, no LP needed.
    candidates = [i for i in range(x.shape[0]) if (y[i] == 0).any()]
    problems = []
    for i in candidates:
        zero = y[i] == 0
        xz, xp = x[i][zero], x[i][~zero]
        problems.append((-xz.sum(axis=0), xz, xp if xp.shape[0] else None))
    out[candidates] = _recessions(problems)
    return out


def softmax_separated(x: FloatArray, y: NDArray[np.integer], n_classes: int) -> BoolArray:
    """Separation of K-class responses (class 0 the reference), per replication (one block of a batched LP each).

    Parameters
    ----------
    x : (R, n, p)
        Designs of full column rank.
    y : (R, n)
        Classes in 0..K-1.
    n_classes
        K.
    """
    r, n, p = x.shape
    k1 = n_classes - 1
    obs = np.arange(n)
    problems = []
    for i in range(r):
        # Constraint rows: for observation j and each other class k, x_j'(d_{y_j} - d_k) >= 0,
        # written over D = (d_1, ..., d_{K-1}) flattened; d_0 = 0 has no columns.
        rows = np.zeros((n, n_classes, k1, p))
        own = y[i]
        for c in range(1, n_classes):
            rows[obs[own == c], :, c - 1, :] += x[i][own == c][:, None, :]
        for k in range(1, n_classes):
            rows[:, k, k - 1, :] -= x[i]
        keep = np.ones((n, n_classes), dtype=bool)
        keep[obs, own] = False  # k = y_j gives the empty constraint 0 >= 0
        a = rows[keep].reshape(-1, k1 * p)
        problems.append((a.sum(axis=0), -a, None))
    return _recessions(problems)
