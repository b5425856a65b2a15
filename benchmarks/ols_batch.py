"""Speed of :func:`mlestudy.theory.linear_regression.ols_batch` against the alternatives, side by side.

For random designs (R, n, p) with p = 4 and p = 10, every method gets the same
data, one core, interleaved rounds, median:

(a) ols_batch        normal equations on the stack, column scaling, one refinement step;
(b) batched QR       numpy.linalg.qr on the stack [X | y] (mode "r"): beta, RSS and
                     (X'X)^-1 from the triangular factor (what the accurate route costs);
(c) statsmodels loop sm.OLS(y_r, X_r).fit() per replication (timed on a slice: its cost
                     per replication does not depend on R);
(d) lstsq loop       numpy.linalg.lstsq per replication (same slice).

Run ``python benchmarks/ols_batch.py`` from the repository root; it prints a
markdown table of microseconds per replication and the ratios.
"""

from __future__ import annotations

import statistics
import time

import numpy as np
import statsmodels.api as sm

from mlestudy.theory.linear_regression import ols_batch

ROUNDS = 5
LOOP_REPS = 500
CASES = [(100_000, 10, 4), (100_000, 50, 4), (20_000, 1000, 4), (50_000, 20, 10)]


def qr_batch(X: np.ndarray, y: np.ndarray):
    """beta, RSS and (X'X)^-1 from the R factor of [X | y]."""
    p = X.shape[-1]
    r = np.linalg.qr(np.concatenate([X, y[..., None]], axis=-1), mode="r")
    r11, r12 = r[..., :p, :p], r[..., :p, p]
    r11_inv = np.linalg.inv(r11)
    beta = (r11_inv @ r12[..., None])[..., 0]
    rss = r[..., p, p] ** 2 if r.shape[-2] > p else np.zeros(len(y))
    return beta, rss, r11_inv @ np.swapaxes(r11_inv, -1, -2)


def statsmodels_loop(X: np.ndarray, y: np.ndarray) -> None:
    for r in range(len(y)):
        sm.OLS(y[r], X[r]).fit()


def lstsq_loop(X: np.ndarray, y: np.ndarray) -> None:
    for r in range(len(y)):
        np.linalg.lstsq(X[r], y[r], rcond=None)


def main() -> None:
    rng = np.random.default_rng(20261121)
    print("| R | n | p | ols_batch µs/rep | batched QR µs/rep | statsmodels loop µs/rep | lstsq loop µs/rep "
          "| QR/ols_batch | statsmodels/ols_batch | lstsq/ols_batch |")  # fmt: skip
    print("|---|---|---|---|---|---|---|---|---|---|")
    for reps, n, p in CASES:
        X = np.concatenate([np.ones((reps, n, 1)), rng.standard_normal((reps, n, p - 1))], axis=2)
        y = X @ np.linspace(1.0, -1.0, p) + rng.standard_normal((reps, n))
        methods = {
            "ols": (ols_batch, reps),
            "qr": (qr_batch, reps),
            "sm": (statsmodels_loop, LOOP_REPS),
            "lstsq": (lstsq_loop, LOOP_REPS),
        }
        times: dict[str, list[float]] = {k: [] for k in methods}
        for _ in range(ROUNDS):
            for name, (run, count) in methods.items():
                start = time.perf_counter()
                run(X[:count], y[:count])
                times[name].append((time.perf_counter() - start) / count * 1e6)
        us = {k: statistics.median(v) for k, v in times.items()}
        print(
            f"| {reps:,} | {n} | {p} | {us['ols']:.2f} | {us['qr']:.2f} | {us['sm']:.1f} | {us['lstsq']:.1f} "
            f"| {us['qr'] / us['ols']:.1f} | {us['sm'] / us['ols']:.0f} | {us['lstsq'] / us['ols']:.0f} |"
        )


if __name__ == "__main__":
    main()
