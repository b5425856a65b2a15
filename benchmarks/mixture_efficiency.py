"""Efficiency, bias, SE calibration and status rates of the mixture MLE, by simulation.

    .venv/bin/python benchmarks/mixture_efficiency.py              # 4000 replications per n
    .venv/bin/python benchmarks/mixture_efficiency.py --reps 1000

Writes ``benchmarks/mixture_efficiency.md`` for the report chapter: a
measurement, never a test.  The issue's example (weights (0.3, 0.7), means
(0, 3), variances (1, 1)) at n = 50, 200 and 2000; every replication is fitted
from the k-means start, and again with four extra random starts from their own
stream; a start at the truth flags LOCAL_OPTIMUM.  Summaries use the usable
replications (OK and LOCAL_OPTIMUM), with Monte Carlo standard errors (Morris,
White & Crowther 2019): bias sd/sqrt(R); n Var / CRLB with the variance's MCSE
from the fourth moment, sqrt((m4 - s^4)/R); Wald coverage sqrt(c(1 - c)/R).
The CRLB is the per-observation bound of ``mlestudy.theory.mixture_information``
divided by n: first-order theory, which the MLE attains only as n grows.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's mlestudy, whatever is installed

from mlestudy.fitting.em import fit_mixture  # noqa: E402
from mlestudy.fitting.mixture_model import MixtureParams  # noqa: E402
from mlestudy.status import Status  # noqa: E402
from mlestudy.theory.mixture_information import crlb  # noqa: E402

SEED = 20261205
SIZES = (50, 200, 2000)
RANDOM_STARTS = 4
Z95 = 1.959963984540054
TRUTH = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 3.0]), np.array([1.0, 1.0]))
BLOCKS = ("weights", "means", "variances")


def simulate(n: int, reps: int) -> tuple[np.ndarray, np.random.Generator]:
    """Data from one stream per n, and a separate stream for random starts."""
    data, starts = np.random.SeedSequence([SEED, n]).spawn(2)
    rng = np.random.default_rng(data)
    labels = (rng.random((reps, n)) > TRUTH.weights[0]).astype(np.intp)
    x = TRUTH.means[labels] + np.sqrt(TRUTH.variances[labels]) * rng.standard_normal((reps, n))
    return x, np.random.default_rng(starts)


def summarise(fit, n: int) -> list[dict]:
    bound = crlb(TRUTH)
    use = Status.usable(fit.status)
    rows = []
    for block in BLOCKS:
        est, se = getattr(fit, block)[use], getattr(fit, f"se_{block}")[use]
        truth, cr = getattr(TRUTH, block), getattr(bound, block) / n
        r = est.shape[0]
        dev = est - est.mean(axis=0)
        var = dev.var(axis=0, ddof=1)
        m4 = (dev**4).mean(axis=0)
        covered = np.where(np.isnan(se), np.nan, np.abs(est - truth) <= Z95 * se)  # NaN SE: no interval
        cover = np.nanmean(covered, axis=0)
        for k in range(est.shape[1]):
            rows.append(
                {
                    "parameter": f"{block}[{k}]",
                    "truth": truth[k],
                    "bias": est[:, k].mean() - truth[k],
                    "bias_mcse": np.sqrt(var[k] / r),
                    "eff": var[k] / cr[k],
                    "eff_mcse": np.sqrt(max(m4[k] - var[k] ** 2, 0.0) / r) / cr[k],
                    "se_sd": np.nanmean(se[:, k]) / np.sqrt(var[k]),
                    "coverage": cover[k],
                    "coverage_mcse": np.sqrt(cover[k] * (1 - cover[k]) / r),
                    "usable": r,
                }
            )
    return rows


def measure(reps: int) -> dict:
    out = {}
    for n in SIZES:
        x, start_rng = simulate(n, reps)
        for label, kwargs in (
            ("k-means start", {}),
            (
                f"k-means + {RANDOM_STARTS} random starts",
                {"rng": start_rng, "n_random_starts": RANDOM_STARTS},
            ),
        ):
            t0 = time.perf_counter()
            fit = fit_mixture(x, 2, truth=TRUTH, **kwargs)
            seconds = time.perf_counter() - t0
            out[(n, label)] = {
                "rows": summarise(fit, n),
                "status": {
                    Status(c).name: int(k) for c, k in enumerate(np.bincount(fit.status, minlength=9)) if k
                },
                "seconds": seconds,
                "em_steps": float(np.median(fit.n_iter)),
            }
    return out


def render(result: dict, reps: int) -> str:
    bound = crlb(TRUTH)
    out = [
        "# The mixture MLE by simulation: efficiency, bias, SEs and statuses",
        "",
        f"Written by `benchmarks/mixture_efficiency.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; "
        f"{os.cpu_count()} logical cores, Python {platform.python_version()}, numpy {np.__version__}. "
        "Re-run it to refresh this file; nothing here is typed by hand.",
        "",
        f"Weights (0.3, 0.7), means (0, 3), variances (1, 1); {reps} replications per n. Per-observation CRLB "
        f"(quadrature of the score): weights {bound.weights[0]:.4f}, means {bound.means[0]:.3f} and "
        f"{bound.means[1]:.3f}, variances {bound.variances[0]:.3f} and {bound.variances[1]:.3f}. "
        "n Var / CRLB is 1 for an efficient estimator (first-order theory); SE/SD is the mean "
        "observed-information SE over the empirical SD; coverage is that of the 95% Wald interval. "
        "MCSEs in brackets. Summaries over usable replications (OK and LOCAL_OPTIMUM).",
        "",
    ]
    for (n, label), res in result.items():
        counts = ", ".join(f"{name} {k} ({k / reps:.2%})" for name, k in res["status"].items())
        out += [
            f"## n = {n}, {label}",
            "",
            f"Statuses: {counts}. Median EM steps of the winning start {res['em_steps']:.0f}; "
            f"fit time {res['seconds']:.1f} s for all {reps} replications (shared machine).",
            "",
            "| parameter | truth | bias | n Var / CRLB | SE / SD | Wald 95% coverage |",
            "|---|---|---|---|---|---|",
        ]
        for r in res["rows"]:
            out.append(
                f"| {r['parameter']} | {r['truth']:g} | {r['bias']:+.4f} ({r['bias_mcse']:.4f}) | "
                f"{r['eff']:.3f} ({r['eff_mcse']:.3f}) | {r['se_sd']:.3f} | "
                f"{r['coverage']:.3f} ({r['coverage_mcse']:.3f}) |"
            )
        out.append("")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--reps", type=int, default=4000)
    parser.add_argument(
        "--output", type=Path, default=Path(__file__).resolve().parent / "mixture_efficiency.md"
    )
    args = parser.parse_args()
    text = render(measure(args.reps), args.reps)
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
