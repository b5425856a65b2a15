"""Accuracy and cost of the GLM theory (mlestudy.theory) and write ``benchmarks/glm_theory.md``.

    .venv/bin/python benchmarks/glm_theory.py

Measurements, never assertions.  Accuracy: for each case, the relative change of
the expectation from one quadrature order to the next (the order where it stops
changing is the one accepted at 1e-11), and the error of the accepted value
against a rule of twice that order.  Cost: the median wall time of an uncached
call (caches cleared), 5 repeats.
"""

from __future__ import annotations

import datetime as dt
import os
import platform
import statistics
import time
from pathlib import Path

import numpy as np

from mlestudy.theory import design_quadrature as dq
from mlestudy.theory import glm_bias, glm_information, least_squares
from mlestudy.theory.glm_families import coefficient_matrix, kron_moment, response_covariance

HERE = Path(__file__).resolve().parent
ISSUE_LOGISTIC = [-0.5, 1.0, -1.0, 0.5, 0.25]
ISSUE_POISSON = [0.5, 0.3, -0.3, 0.2, 0.1]
ISSUE_SOFTMAX = [[0.2, 1.0, -1.0], [-0.3, 0.5, 0.5]]
SOFTMAX_4 = [[0.2, 1.0, -1.0, 0.3], [-0.3, 0.5, 0.5, 0.1], [0.1, -0.4, 0.2, 0.7]]

ACCURACY_CASES = [
    ("logistic", ISSUE_LOGISTIC, "normal", 0.0),
    ("logistic", [1.0, 3.0, -2.0], "normal", 0.5),
    ("logistic", ISSUE_LOGISTIC, "uniform", 0.0),
    ("poisson", ISSUE_POISSON, "uniform", 0.0),
    ("softmax", ISSUE_SOFTMAX, "normal", 0.0),
    ("softmax", SOFTMAX_4, "normal", 0.3),
    ("softmax", ISSUE_SOFTMAX, "uniform", 0.0),
]


def information_integrand(family: str, b: np.ndarray):
    def integrand(z: np.ndarray, w: np.ndarray) -> np.ndarray:
        x = np.column_stack([np.ones(len(z)), z])
        return kron_moment(response_covariance(family, x @ b.T) * w[:, None, None], x)

    return integrand


def accuracy_rows() -> list[str]:
    lines = [
        "| model | features | rho | relative change from the previous order (order: change) | accepted order | nodes "
        "| error of accepted value vs order x2 |",
        "|---|---|---|---|---|---|---|",
    ]
    for family, beta, features, rho in ACCURACY_CASES:
        b = coefficient_matrix(family, beta)
        d = b.shape[1] - 1
        integrand = information_integrand(family, b)
        accepted = dq.expectation(integrand, features, d, rho, b[:, 1:].T)
        changes, previous = [], None
        for order in dq.ORDERS:
            if order > 2 * accepted.order:
                break
            value = dq.integrate(dq.design_rule(features, d, rho, b[:, 1:].T, order), integrand)
            if previous is not None:
                changes.append(f"{order}: {np.abs(value - previous).max() / np.abs(value).max():.0e}")
            previous = value
        ref = dq.integrate(dq.design_rule(features, d, rho, b[:, 1:].T, 2 * accepted.order), integrand)
        err = np.abs(accepted.value - ref).max() / np.abs(ref).max()
        name = f"{family} K={b.shape[0] + 1}" if family == "softmax" else family
        lines.append(
            f"| {name} {np.asarray(beta).tolist()} | {features} (d={d}) | {rho} | {', '.join(changes)} "
            f"| {accepted.order} | {accepted.nodes} | {err:.1e} |"
        )
    return lines


def clear_caches() -> None:
    glm_information._expected_information.cache_clear()
    glm_bias._bias_coefficient.cache_clear()
    least_squares._least_squares_sandwich.cache_clear()


def median_ms(call, repeats: int = 5) -> float:
    times = []
    for _ in range(repeats):
        clear_caches()
        start = time.perf_counter()
        call()
        times.append(time.perf_counter() - start)
    return 1e3 * statistics.median(times)


def cost_rows() -> list[str]:
    lines = [
        "| model | features | expected_information ms | first_order_bias_coefficient ms "
        "| least_squares_efficiency ms |",
        "|---|---|---|---|---|",
    ]
    models = [
        ("logistic", ISSUE_LOGISTIC),
        ("poisson", ISSUE_POISSON),
        ("softmax", ISSUE_SOFTMAX),
        ("softmax", SOFTMAX_4),
    ]
    for family, beta in models:
        for features in ("normal", "uniform", "bernoulli"):
            rho = 0.3 if features == "normal" else 0.0
            args = (family, beta, features, rho)
            info = median_ms(lambda args=args: glm_information.expected_information(*args))
            bias = median_ms(lambda args=args: glm_bias.first_order_bias_coefficient(*args))
            ls = median_ms(lambda args=args: least_squares.least_squares_efficiency(*args))
            b = coefficient_matrix(family, beta)
            name = f"{family} K={b.shape[0] + 1}" if family == "softmax" else family
            lines.append(
                f"| {name}, p={b.shape[1]} | {features} (rho={rho}) | {info:.1f} | {bias:.1f} | {ls:.1f} |"
            )
    return lines


def uniform_dimension_rows() -> list[str]:
    lines = ["| d | coefficients | expected_information | nodes |", "|---|---|---|---|"]
    slopes = [1.0, -1.0, 0.5, 0.7, -0.8, 0.6, 0.9]
    for d in (3, 4, 5, 6, 7):
        beta = [0.1, *slopes[:d]]
        clear_caches()
        start = time.perf_counter()
        try:
            got = glm_information.information_by_quadrature("logistic", beta, "uniform")
            outcome, nodes = f"{1e3 * (time.perf_counter() - start):.0f} ms", str(got.nodes)
        except ValueError as err:
            outcome, nodes = f"raises after {time.perf_counter() - start:.1f} s: {err}", "-"
        lines.append(f"| {d} | {beta} | {outcome} | {nodes} |")
    return lines


def main() -> None:
    out = [
        "# GLM theory: accuracy and cost",
        "",
        f"Written by `benchmarks/glm_theory.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} logical cores (load average {os.getloadavg()[0]:.1f} at the start: the machine is shared, "
        f"so times are upper bounds), Python {platform.python_version()}, numpy {np.__version__}. "
        "Re-run it to refresh this file; nothing here is typed by hand.",
        "",
        "## Accuracy: the per-observation information as the quadrature order grows",
        "",
        "Normal features: Gauss-Hermite nodes along the steepest index direction (fewer along flatter ones). "
        "Uniform: Gauss-Legendre nodes for the steepest feature. "
        f"An order is accepted when it changes the result by at most {dq.TOLERANCE:g} of its largest entry; "
        "the last column is the accepted value's error against a rule of twice the order.",
        "",
        *accuracy_rows(),
        "",
        "## Cost of one uncached call (median of 5)",
        "",
        "Each call computes what it needs (the bias and the efficiency also compute the information). "
        "Repeated calls for the same scenario are cached and cost microseconds.",
        "",
        *cost_rows(),
        "",
        "## Uniform features: how far the product rule goes",
        "",
        f"The product Gauss-Legendre rule costs up to order^d nodes; beyond {dq.MAX_NODES} nodes "
        "the call raises instead of returning an unconverged number.",
        "",
        *uniform_dimension_rows(),
        "",
    ]
    (HERE / "glm_theory.md").write_text("\n".join(out))
    print("\n".join(out))


if __name__ == "__main__":
    main()
