"""Seeded designs and responses for the GLM engine tests."""

from __future__ import annotations

import numpy as np

LOGISTIC_BETA = np.array([-0.5, 1.0, -1.0, 0.5, 0.25])
POISSON_BETA = np.array([0.5, 0.3, -0.3, 0.2, 0.1])
SOFTMAX_BETA = np.array([[0.2, 1.0, -1.0, 0.0, 0.5], [-0.3, 0.5, 0.5, -0.5, 0.0]])


def design(rng: np.random.Generator, r: int, n: int, p: int, features: str) -> np.ndarray:
    """Intercept plus p - 1 features: N(0, 1) or Bernoulli(0.5)."""
    shape = (r, n, p - 1)
    x = rng.standard_normal(shape) if features == "normal" else (rng.random(shape) < 0.5).astype(float)
    return np.concatenate([np.ones((r, n, 1)), x], axis=2)


def logistic_data(seed: int, r: int, n: int, features: str = "normal", beta=LOGISTIC_BETA):
    rng = np.random.default_rng(seed)
    x = design(rng, r, n, len(beta), features)
    y = (rng.random((r, n)) < 1.0 / (1.0 + np.exp(-(x @ beta)))).astype(float)
    return x, y


def poisson_data(seed: int, r: int, n: int, features: str = "normal", beta=POISSON_BETA):
    rng = np.random.default_rng(seed)
    x = design(rng, r, n, len(beta), features)
    return x, rng.poisson(np.exp(x @ beta)).astype(float)


def softmax_data(seed: int, r: int, n: int, features: str = "normal", beta=SOFTMAX_BETA):
    rng = np.random.default_rng(seed)
    x = design(rng, r, n, beta.shape[1], features)
    eta = np.concatenate([np.zeros((r, n, 1)), x @ beta.T], axis=2)
    prob = np.exp(eta - eta.max(axis=2, keepdims=True))
    prob /= prob.sum(axis=2, keepdims=True)
    u = rng.random((r, n, 1))
    y = (u > np.cumsum(prob, axis=2)[:, :, :-1]).sum(axis=2)
    return x, y.astype(np.int64)
