"""Batched EM for normal mixtures against a per-replication loop of scikit-learn, at equal accuracy.

    .venv/bin/python benchmarks/mixture_em.py            # 5 rounds (a few minutes)
    .venv/bin/python benchmarks/mixture_em.py --rounds 3

Writes ``benchmarks/mixture_em.md``.  A measurement, never a test.

Data: K = 2, weights (0.3, 0.7), means (0, 3), variances (1, 1) (the issue's
example), n = 200 and 2000.  Every method starts every replication from the
same k-means start (``kmeans_start``), so all of them run the same EM map from
the same point.  Methods, each once per round, rounds interleaved, median:

batched         ``fit_mixture`` (SQUAREM, Newton certificate, SEs included) on
                ``BATCH`` replications at once.
batched plain   the same without acceleration: plain EM, the very iterations
                scikit-learn runs, so the ratio to ``sklearn exact`` is what
                batching alone buys.
sklearn exact   ``GaussianMixture`` (covariance_type='full', reg_covar=0) one
                replication at a time with tol = 0 and max_iter = the number of
                EM steps plain EM needs to meet our criterion, plus 10 (told
                when to stop, an advantage it does not have in practice: its
                own log-likelihood criterion cannot certify the parameters to
                1e-8).  Timed on the first ``LOOP`` replications; its cost is
                linear in the replications.
sklearn 1e-10   the same loop with tol = 1e-10 (a "tight" setting of its own
                criterion) and max_iter = 10000: faster, and far less accurate.

Accuracy is reported as the largest difference, over the loop's replications,
of each method's weights, means and variances from the batched answer, relative
to max(1, |value|).  Times are per replication.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import sys
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # this checkout's mlestudy, whatever is installed

from sklearn import __version__ as sklearn_version  # noqa: E402
from sklearn.exceptions import ConvergenceWarning  # noqa: E402
from sklearn.mixture import GaussianMixture  # noqa: E402

from mlestudy.fitting.em import fit_mixture  # noqa: E402
from mlestudy.fitting.mixture_model import MixtureParams  # noqa: E402
from mlestudy.fitting.mixture_starts import kmeans_start  # noqa: E402
from mlestudy.status import Status  # noqa: E402

SEED = 20261204
SIZES = (200, 2000)
BATCH = 1000
LOOP = 100
TRUTH = MixtureParams(np.array([0.3, 0.7]), np.array([0.0, 3.0]), np.array([1.0, 1.0]))


def simulate(n: int, reps: int) -> np.ndarray:
    """Labels, then standard normals, from one seeded stream per n."""
    rng = np.random.default_rng([SEED, n])
    labels = (rng.random((reps, n)) > TRUTH.weights[0]).astype(np.intp)
    return TRUTH.means[labels] + np.sqrt(TRUTH.variances[labels]) * rng.standard_normal((reps, n))


def sklearn_loop(x: np.ndarray, starts: MixtureParams, tol: float, max_iter: np.ndarray) -> np.ndarray:
    """One GaussianMixture per replication from its start; (R, 3, K) sorted by mean."""
    out = np.empty((x.shape[0], 3, starts.n_components))
    for i in range(x.shape[0]):
        gm = GaussianMixture(
            n_components=starts.n_components,
            covariance_type="full",
            tol=tol,
            reg_covar=0.0,
            max_iter=int(max_iter[i]),
            init_params="random_from_data",
            weights_init=starts.weights[i],
            means_init=starts.means[i][:, None],
            precisions_init=(1.0 / starts.variances[i])[:, None, None],
            random_state=0,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)  # tol = 0 never "converges", by design
            gm.fit(x[i][:, None])
        order = np.argsort(gm.means_[:, 0])
        out[i] = np.stack([gm.weights_[order], gm.means_[order, 0], gm.covariances_[order, 0, 0]])
    return out


def stacked(fit) -> np.ndarray:
    return np.stack([fit.weights, fit.means, fit.variances], axis=1)


def error(a: np.ndarray, ref: np.ndarray) -> float:
    return float(np.max(np.abs(a - ref) / np.maximum(1.0, np.abs(ref))))


def measure(rounds: int) -> list[dict]:
    rows = []
    for n in SIZES:
        x = simulate(n, BATCH)
        starts = kmeans_start(x, 2)
        loop_x = x[:LOOP]
        loop_starts = MixtureParams(*(a[:LOOP] for a in starts.arrays()))
        reference = fit_mixture(x, 2, starts=starts)
        plain = fit_mixture(x, 2, starts=starts, accelerate=False, max_iter=50_000)
        exact_iter = plain.n_iter[:LOOP] + 10
        loose_iter = np.full(LOOP, 10_000)
        methods = {
            "batched": (partial(fit_mixture, x, 2, starts=starts), BATCH),
            "batched plain": (
                partial(fit_mixture, x, 2, starts=starts, accelerate=False, max_iter=50_000),
                BATCH,
            ),
            "sklearn exact": (partial(sklearn_loop, loop_x, loop_starts, 0.0, exact_iter), LOOP),
            "sklearn 1e-10": (partial(sklearn_loop, loop_x, loop_starts, 1e-10, loose_iter), LOOP),
        }
        times: dict[str, list[float]] = {m: [] for m in methods}
        results = {}
        for _ in range(rounds):
            for name, (call, reps) in methods.items():
                start = time.perf_counter()
                results[name] = call()
                times[name].append((time.perf_counter() - start) / reps)
        ref = stacked(reference)[:LOOP]
        ok = reference.status[:LOOP] == Status.OK
        per = {m: statistics.median(t) for m, t in times.items()}
        rows.append(
            {
                "n": n,
                "ms": {m: 1e3 * v for m, v in per.items()},
                "spread": {m: (1e3 * min(t), 1e3 * max(t)) for m, t in times.items()},
                "error": {
                    "batched plain": error(stacked(results["batched plain"])[:LOOP][ok], ref[ok]),
                    "sklearn exact": error(results["sklearn exact"][ok], ref[ok]),
                    "sklearn 1e-10": error(results["sklearn 1e-10"][ok], ref[ok]),
                },
                "ok": int(ok.sum()),
                "statuses": np.bincount(reference.status, minlength=9).tolist(),
                "em_steps": (float(np.median(reference.n_iter)), float(np.median(plain.n_iter))),
                "newton": float(np.nanmax(reference.newton_step)),
            }
        )
    return rows


def cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or "unknown"


def render(rows: list[dict], rounds: int, load: tuple[float, float]) -> str:
    out = [
        "# Batched EM for normal mixtures against scikit-learn",
        "",
        f"Written by `benchmarks/mixture_em.py` on {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC; {cpu_model()}, "
        f"{os.cpu_count()} logical cores, Python {platform.python_version()}, numpy {np.__version__}, "
        f"scikit-learn {sklearn_version}. 1-minute load average {load[0]:.1f} before and {load[1]:.1f} after "
        "(the machine is shared: absolute times move with the load; the methods are interleaved, so the "
        "ratios are comparable). Re-run it to refresh this file; nothing here is typed by hand.",
        "",
        f"K = 2, weights (0.3, 0.7), means (0, 3), variances (1, 1). Every method starts every replication "
        f"from the same k-means start. Batched methods fit {BATCH} replications at once; the scikit-learn loops "
        f"fit the first {LOOP} of them, one `GaussianMixture` each. {rounds} interleaved rounds, median "
        "(min–max in brackets), milliseconds per replication. The error is the largest difference from the "
        "batched answer in any weight, mean or variance, relative to max(1, |value|), over the loop's "
        "replications. See the script's docstring for the methods.",
        "",
        "| n | batched ms | batched plain ms | sklearn exact ms | sklearn 1e-10 ms | sklearn exact / batched | "
        "sklearn exact / batched plain | sklearn 1e-10 / batched | error batched plain | error sklearn exact | "
        "error sklearn 1e-10 |",
        "|" + "---|" * 11,
    ]
    for r in rows:
        ms, sp, err = r["ms"], r["spread"], r["error"]
        cells = [str(r["n"])]
        cells += [f"{ms[m]:.3f} [{sp[m][0]:.3f}–{sp[m][1]:.3f}]" for m in ms]
        cells += [
            f"{ms['sklearn exact'] / ms['batched']:.1f}",
            f"{ms['sklearn exact'] / ms['batched plain']:.1f}",
            f"{ms['sklearn 1e-10'] / ms['batched']:.1f}",
        ]
        cells += [f"{err[m]:.1e}" for m in ("batched plain", "sklearn exact", "sklearn 1e-10")]
        out.append("| " + " | ".join(cells) + " |")
    out += [
        "",
        "Per n: statuses of the batched fit (counts by code), median EM steps, largest Newton step:",
        "",
    ]
    for r in rows:
        counts = ", ".join(f"{Status(c).name} {k}" for c, k in enumerate(r["statuses"]) if k)
        out.append(
            f"- n = {r['n']}: {counts}; median EM steps {r['em_steps'][0]:.0f} accelerated, "
            f"{r['em_steps'][1]:.0f} plain; largest scaled Newton step at the estimates {r['newton']:.1e}; "
            f"{r['ok']} of the loop's {LOOP} replications OK and compared."
        )
    return "\n".join(out) + "\n"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--output", type=Path, default=Path(__file__).resolve().parent / "mixture_em.md")
    args = parser.parse_args()
    before = os.getloadavg()[0]
    rows = measure(args.rounds)
    text = render(rows, args.rounds, (before, os.getloadavg()[0]))
    args.output.write_text(text)
    print(text)


if __name__ == "__main__":
    main()
