"""Per-replication outcome codes of an estimator.

The codes are stored in the estimate files, so they are append-only: a new
outcome gets the next number, and no code is ever renumbered.  Whether an
outcome carries a usable estimate is a *set* (:data:`USABLE`), not an ordering,
so a usable-but-flagged outcome (a mixture fit that is only a local optimum)
can come after failures.
"""

from __future__ import annotations

from enum import IntEnum

import numpy as np
from numpy.typing import NDArray


class Status(IntEnum):
    """What happened to one replication's fit.

    ``OK``, ``BOUNDARY`` and ``LOCAL_OPTIMUM`` carry a finite estimate and enter
    the performance measures; ``BOUNDARY`` (p-hat = 0) and ``LOCAL_OPTIMUM`` are
    counted apart.  Every other code has no usable estimate (NaN) and is counted.
    """

    OK = 0
    BOUNDARY = 1
    """A finite estimate on the edge of the parameter space (p-hat = 0, sigma2-hat = 0)."""
    UNDEFINED = 2
    """The estimator does not exist at this n (dividing by n - 1 at n = 1)."""
    NONFINITE = 3
    """A non-finite value the model did not explain (overflow)."""
    NOT_CONVERGED = 4
    """An iterative fit hit its iteration cap."""
    NO_MLE = 5
    """The likelihood has no maximiser: separation in logistic or softmax regression,
    a count pattern that sends a Poisson coefficient to minus infinity."""
    RANK_DEFICIENT = 6
    """The design matrix does not have full column rank: the coefficients are not identified."""
    DEGENERATE = 7
    """A mixture component collapsed onto one point: the likelihood is unbounded."""
    LOCAL_OPTIMUM = 8
    """Usable, flagged: a start at the truth found a higher likelihood."""
    NO_MINIMISER = 9
    """A loss other than the likelihood has no finite minimiser: least squares on a binary outcome,
    whose bounded squared error is as low at infinity as at the fit (nearly separated data)."""

    @classmethod
    def failed(cls, status: NDArray[np.int8]) -> NDArray[np.bool_]:
        """Mask of replications without a usable estimate."""
        return ~np.isin(status, USABLE_CODES)

    @classmethod
    def usable(cls, status: NDArray[np.int8]) -> NDArray[np.bool_]:
        """Mask of replications whose estimate enters the performance measures."""
        return np.isin(status, USABLE_CODES)


USABLE = frozenset({Status.OK, Status.BOUNDARY, Status.LOCAL_OPTIMUM})
"""Outcomes whose estimate is summarised."""
USABLE_CODES = np.array(sorted(USABLE), dtype=np.int8)

NO_ESTIMATE = frozenset({Status.NO_MLE, Status.RANK_DEFICIENT})
"""Outcomes where the MLE does not exist (counted as ``n_separated`` in the summary)."""
