"""Cross-entropy and squared error of a binary classifier, as functions of the logit.

With mu = sigmoid(eta), the binary cross-entropy (BCE)
l(y, eta) = -y log mu - (1 - y) log(1 - mu) is the negative Bernoulli
log-likelihood: minimising it is maximum likelihood.  The squared error
(y - mu)^2 is the negative log-likelihood of a *Gaussian* mean mu: the wrong
model for a 0/1 outcome.  Its derivative carries the factor mu (1 - mu), which
vanishes where the sigmoid saturates, so a confidently wrong start gets almost
no gradient; the cross-entropy's derivative mu - y does not vanish there.

Each loss is the mean over observations, as machine-learning code defines it.
Gradient descent with step 1/L needs L, a bound on the curvature of the mean
loss: the supremum of |l''(eta)| over eta and y in {0, 1}, times the largest
eigenvalue of X'X / n (see :func:`curvature_bound`).
"""

from __future__ import annotations

import math

import numpy as np
from numpy.typing import NDArray
from scipy.special import expit, log_expit

FloatArray = NDArray[np.float64]

LOSSES = ("cross_entropy", "squared_error")
"""The two losses compared: the Bernoulli likelihood and the Gaussian one on the mean."""


def check_loss(loss: str) -> None:
    """Raise one clear line for an unknown loss name."""
    if loss not in LOSSES:
        raise ValueError(f"loss = {loss!r} is not allowed; it must be one of {', '.join(LOSSES)}")


def loss_terms(loss: str, eta: FloatArray, y: FloatArray) -> tuple[FloatArray, FloatArray]:
    """Per-observation loss and its derivative with respect to the logit eta.

    Parameters
    ----------
    loss
        ``"cross_entropy"`` or ``"squared_error"``.
    eta, y
        Logits and 0/1 labels of the same shape.

    Returns
    -------
    value, derivative
        Cross-entropy: ``-log sigmoid((2y - 1) eta)`` (scipy's ``log_expit``, accurate where
        the loss is tiny or huge) and ``mu - y``.  Squared error: ``(y - mu)^2`` and
        ``2 (mu - y) mu (1 - mu)``, with ``mu (1 - mu)`` as ``sigmoid(eta) sigmoid(-eta)``
        (no cancellation near mu = 1).
    """
    check_loss(loss)
    mu = expit(eta)
    if loss == "cross_entropy":
        return -log_expit((2.0 * y - 1.0) * eta), mu - y
    resid = mu - y
    return resid * resid, 2.0 * resid * mu * expit(-eta)


def second_derivative(loss: str, eta: FloatArray, y: FloatArray) -> FloatArray:
    """d^2 l / d eta^2 per observation (for the curvature bound and its tests).

    Cross-entropy: w = mu (1 - mu), whatever y.  Squared error:
    2 [w^2 + (mu - y) w (1 - 2 mu)], negative where the prediction is confidently wrong.
    """
    check_loss(loss)
    mu = expit(eta)
    w = mu * expit(-eta)
    if loss == "cross_entropy":
        return w
    return 2.0 * (w * w + (mu - y) * w * (1.0 - 2.0 * mu))


def curvature_bound(loss: str) -> float:
    """sup over eta and y in {0, 1} of |l''(eta)|: L / lambda_max(X'X / n) for gradient descent.

    Cross-entropy: max mu (1 - mu) = 1/4.  Squared error: for y = 0,
    l'' = 2 h(mu) with h(s) = s^2 (1 - s)(2 - 3s) (y = 1 mirrors it, s -> 1 - s); h' = 0 at
    s = (15 -+ sqrt(33)) / 24, and the larger |h| is at the smaller root, so the bound is
    2 h((15 - sqrt(33)) / 24) = 0.15406: a bound tighter by half than adding the separate
    suprema of the two terms, 2 (1/16 + 1/(6 sqrt 3)) = 0.3175.
    """
    check_loss(loss)
    if loss == "cross_entropy":
        return 0.25
    roots = ((15.0 - math.sqrt(33.0)) / 24.0, (15.0 + math.sqrt(33.0)) / 24.0)
    return 2.0 * max(abs(s * s * (1.0 - s) * (2.0 - 3.0 * s)) for s in roots)
