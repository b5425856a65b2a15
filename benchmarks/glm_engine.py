"""The batched GLM engine against the per-replication loops a user writes.

    .venv/bin/python benchmarks/glm_engine.py            # prints the table
    .venv/bin/python benchmarks/glm_engine.py --write    # also writes benchmarks/glm_engine.md

For logistic, Poisson and softmax (K = 3) regression at p = 5 (intercept + 4
N(0, 1) features) and n = 100, 1000, on the same seeded data:

engine        mlestudy.fitting.glm on all replications at once (default batch);
statsmodels   Logit / GLM(Poisson) (IRLS) / MNLogit, one fit per replication, defaults;
sklearn       LogisticRegression(C=inf) / PoissonRegressor(alpha=0), lbfgs, at their
              default tol = 1e-4 and at tol = 1e-10 (max_iter 1000), the tightest they take.

Timings are interleaved (every method once per round, in turn) and the median
of the rounds is reported, per replication, as CPU time of this process
(``time.process_time``) with BLAS held to one thread (threadpoolctl): the
machine is shared, and wall time then measures the neighbours' load as much as
the code.  Every method is single-threaded here, as a simulate job is.  Peers run on a slice of the
replications (their cost per replication does not depend on R).  "max |diff|"
is the largest distance of a peer's answer from the engine's MLE over all
coefficients and replications, in the coefficients' units and in standard
errors.  Measurements only, no assertions: the speed targets are reported here.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import statistics
import sys
import time
import warnings
from collections.abc import Callable
from pathlib import Path

import numpy as np
from threadpoolctl import threadpool_limits

from mlestudy.fitting import glm
from mlestudy.fitting.glm import BATCH_FLOATS, default_batch

HERE = Path(__file__).resolve().parent
SEED = 20261204
P = 5
BETA = {
    "logistic": np.array([-0.5, 1.0, -1.0, 0.5, 0.25]),
    "poisson": np.array([0.5, 0.3, -0.3, 0.2, 0.1]),
    "softmax": np.array([[0.2, 1.0, -1.0, 0.0, 0.5], [-0.3, 0.5, 0.5, -0.5, 0.0]]),
}
ENGINE_REPS = {100: 4000, 1000: 1000}
PEER_REPS = {100: 60, 1000: 30}
TARGETS = {("logistic", 100): 30, ("poisson", 100): 40, ("softmax", 100): 40}
TARGET_1000 = 5


def data(model: str, n: int, r: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng([SEED, n, len(model)])
    x = np.concatenate([np.ones((r, n, 1)), rng.standard_normal((r, n, P - 1))], axis=2)
    beta = BETA[model]
    if model == "logistic":
        return x, (rng.random((r, n)) < 1 / (1 + np.exp(-(x @ beta)))).astype(float)
    if model == "poisson":
        return x, rng.poisson(np.exp(x @ beta)).astype(float)
    eta = np.concatenate([np.zeros((r, n, 1)), x @ beta.T], axis=2)
    prob = np.exp(eta)
    prob /= prob.sum(axis=2, keepdims=True)
    return x, (rng.random((r, n, 1)) > np.cumsum(prob, axis=2)[:, :, :-1]).sum(axis=2)


def engine(model: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    if model == "softmax":
        return glm.softmax(x, y, 3).beta.reshape(x.shape[0], -1)
    return getattr(glm, model)(x, y).beta


def statsmodels_loop(model: str, x: np.ndarray, y: np.ndarray) -> np.ndarray:
    import statsmodels.api as sm

    out = []
    for xi, yi in zip(x, y, strict=True):
        if model == "logistic":
            out.append(sm.Logit(yi, xi).fit(disp=0).params)
        elif model == "poisson":
            out.append(sm.GLM(yi, xi, family=sm.families.Poisson()).fit().params)
        else:
            out.append(sm.MNLogit(yi, xi).fit(disp=0).params.T.ravel())
    return np.array(out)


def sklearn_loop(model: str, x: np.ndarray, y: np.ndarray, tol: float) -> np.ndarray:
    from sklearn.linear_model import LogisticRegression, PoissonRegressor

    out = []
    max_iter = 100 if tol >= 1e-4 else 1000
    for xi, yi in zip(x, y, strict=True):
        if model == "poisson":
            m = PoissonRegressor(alpha=0.0, tol=tol, max_iter=max_iter).fit(xi[:, 1:], yi)
            out.append(np.r_[m.intercept_, m.coef_])
            continue
        m = LogisticRegression(C=np.inf, tol=tol, max_iter=max_iter).fit(xi[:, 1:], yi)
        full = np.column_stack([m.intercept_, m.coef_])
        if model == "logistic":
            out.append(full[0])
        else:  # symmetric parametrisation: differences from class 0 are the reference-coded betas
            out.append((full[1:] - full[0]).ravel())
    return np.array(out)


def timed(f: Callable[[], np.ndarray]) -> tuple[float, np.ndarray]:
    t = time.process_time()
    out = f()
    return time.process_time() - t, out


def measure(model: str, n: int, rounds: int) -> list[dict]:
    x, y = data(model, n, ENGINE_REPS[n])
    k = PEER_REPS[n]
    xs, ys = x[:k], y[:k]
    methods: dict[str, tuple[Callable[[], np.ndarray], int]] = {
        "engine": (lambda: engine(model, x, y), x.shape[0]),
        "statsmodels": (lambda: statsmodels_loop(model, xs, ys), k),
        "sklearn default tol": (lambda: sklearn_loop(model, xs, ys, 1e-4), k),
        "sklearn tol 1e-10": (lambda: sklearn_loop(model, xs, ys, 1e-10), k),
    }
    times: dict[str, list[float]] = {m: [] for m in methods}
    answers: dict[str, np.ndarray] = {}
    with warnings.catch_warnings(), threadpool_limits(limits=1):
        warnings.simplefilter("ignore")  # peers' convergence warnings: their answers are measured below
        for _ in range(rounds):
            for name, (f, reps) in methods.items():
                seconds, answers[name] = timed(f)
                times[name].append(seconds / reps * 1e6)
    se = {"logistic": glm.logistic, "poisson": glm.poisson}.get(model)
    fit = se(xs, ys) if se else glm.softmax(xs, ys, 3)
    mle, ses = answers["engine"][:k], fit.se.reshape(k, -1)
    base = statistics.median(times["engine"])
    rows = []
    for name in methods:
        med = statistics.median(times[name])
        diff = np.abs(answers[name][:k] - mle)
        rows.append(
            {
                "model": model,
                "n": n,
                "method": name,
                "us": med,
                "ratio": med / base,
                "diff": float(np.nanmax(diff)) if name != "engine" else 0.0,
                "diff_se": float(np.nanmax(diff / ses)) if name != "engine" else 0.0,
            }
        )
    return rows


def table(rows: list[dict]) -> str:
    lines = [
        "| model | n | method | CPU µs / replication | × engine | max abs diff from MLE | in SEs |",
        "|---|---:|---|---:|---:|---:|---:|",
    ]
    for r in rows:
        diff = "—" if r["method"] == "engine" else f"{r['diff']:.1e}"
        dse = "—" if r["method"] == "engine" else f"{r['diff_se']:.1e}"
        lines.append(
            f"| {r['model']} | {r['n']} | {r['method']} | {r['us']:.1f} | {r['ratio']:.1f} | {diff} | {dse} |"
        )
    return "\n".join(lines)


def verdicts(rows: list[dict]) -> str:
    out = []
    for r in rows:
        if r["method"] != "statsmodels":
            continue
        target = TARGETS.get((r["model"], r["n"]), TARGET_1000 if r["n"] == 1000 else None)
        if target is None:
            continue
        met = "met" if r["ratio"] >= target else "MISSED"
        out.append(f"- {r['model']}, n = {r['n']}: {r['ratio']:.1f}× statsmodels (target ≥ {target}×): {met}")
    return "\n".join(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--write", action="store_true", help="write benchmarks/glm_engine.md")
    args = parser.parse_args()
    rows = []
    for n in (100, 1000):
        for model in ("logistic", "poisson", "softmax"):
            rows += measure(model, n, args.rounds)
            print(table([r for r in rows if r["model"] == model and r["n"] == n]), flush=True)
    batches = {n: default_batch(n, P) for n in (100, 1000)}
    text = "\n\n".join(
        [
            "# GLM engine benchmark",
            f"Generated {dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC by `benchmarks/glm_engine.py "
            f"--rounds {args.rounds}` on {os.cpu_count()} cores (load average at the end: "
            f"{os.getloadavg()[0]:.1f}); p = 5, K = 3; median of {args.rounds} interleaved rounds.  Engine on "
            f"{ENGINE_REPS[100]} (n = 100) / {ENGINE_REPS[1000]} (n = 1000) replications, peers on the first "
            f"{PEER_REPS[100]} / {PEER_REPS[1000]}.  Engine batch (replications per call of the kernels): "
            f"{batches[100]} at n = 100, {batches[1000]} at n = 1000 (BATCH_FLOATS = {BATCH_FLOATS} float64 "
            "values of working memory per batch, 8 MiB; chosen by measuring batches of 82-326 at n = 100 and 16-128 at n = 1000).",
            table(rows),
            "## Targets\n\n" + verdicts(rows),
        ]
    )
    print(text)
    if args.write:
        (HERE / "glm_engine.md").write_text(text + "\n")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
