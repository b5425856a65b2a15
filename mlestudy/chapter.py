"""The report's loss-function chapter: its context, built from ``summary.csv`` and the chapter's tables.

Every number the chapter prints is read here from ``results/`` -- the summary
table and the tables of :mod:`mlestudy.losses.jobs` -- and formatted; the
template (``report/chapter.html.j2``) only lays it out.  A part whose results
are missing (no logistic scenario, no KL columns yet, no mixture model) says
"not in this run" instead of failing, so the chapter renders for any config.

Sections: losses are likelihoods; the price of the wrong loss (least squares on
a binary outcome); the vanishing gradient; numerics (underflow, log-sum-exp,
cross-entropy from logits); KL divergence; Gaussian mixtures.  Tables are plain
``{"caption", "columns", "rows"}`` dicts so the template stays generic.
"""

from __future__ import annotations

import base64
import math
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from .report import fmt, fmt_pm

NOT_IN_RUN = "not in this run"

LOSS_DICTIONARY = (
    {
        "loss": "mean squared error",
        "likelihood": "Gaussian",
        "family": "linear_regression",
        "why": "−log L(β, σ²) = (n/2) log(2πσ²) + Σ(yᵢ − xᵢᵀβ)²/(2σ²): for any σ², β̂ minimises the squared error",
    },
    {
        "loss": "binary cross-entropy",
        "likelihood": "Bernoulli",
        "family": "logistic_regression",
        "why": "−log L(β) = −Σ[yᵢ log μᵢ + (1 − yᵢ) log(1 − μᵢ)], μᵢ = σ(xᵢᵀβ): the BCE summed",
    },
    {
        "loss": "categorical cross-entropy",
        "likelihood": "categorical",
        "family": "softmax_regression",
        "why": "−log L(β) = −Σ log softmax(ηᵢ)_{yᵢ}: the CE summed",
    },
    {
        "loss": "Poisson deviance",
        "likelihood": "Poisson",
        "family": "poisson_regression",
        "why": "deviance = 2[log L(saturated) − log L(β)]: minimising it maximises the likelihood",
    },
)
"""Each loss a machine-learning reader knows, the likelihood it is, and the model of this study that uses it."""

LOSS_NAMES = {"cross_entropy": "cross-entropy", "squared_error": "squared error"}


# --------------------------------------------------------------------------- helpers


def _table(caption: str, columns: list[str], rows: list[list[Any]]) -> dict[str, Any]:
    return {"caption": caption, "columns": columns, "rows": [[str(c) for c in r] for r in rows]}


def _read(path: str | Path | None) -> pd.DataFrame | None:
    """A chapter table, or None if it is missing or has no rows."""
    if path is None or not Path(path).exists():
        return None
    try:
        frame = pd.read_csv(path)
    except pd.errors.EmptyDataError:
        return None
    return frame if len(frame) else None


def data_uri(path: str | Path) -> str:
    """An image file as a data URI (PNG or SVG), so the report stays one file."""
    p = Path(path)
    kind = "image/svg+xml" if p.suffix == ".svg" else "image/png"
    return f"data:{kind};base64," + base64.b64encode(p.read_bytes()).decode("ascii")


def fmt_range(values: pd.Series | np.ndarray, digits: int = 3) -> str:
    """'a–b' (or 'a to b' when a is negative) over the finite values; one number if they agree; a dash if none."""
    v = np.asarray(values, dtype=float)
    v = v[np.isfinite(v)]
    if not v.size:
        return "—"
    lo, hi = fmt(float(v.min()), digits), fmt(float(v.max()), digits)
    if lo == hi:
        return lo
    return f"{lo} to {hi}" if v.min() < 0 else f"{lo}–{hi}"


def fmt_steps(value: float, cap: float | None = None) -> str:
    """A step count; '> cap' (or 'not reached') for inf."""
    value = float(value)
    if math.isinf(value):
        return f"> {int(cap):,}" if cap is not None else "not reached"
    return "—" if math.isnan(value) else f"{int(value):,}"


def _largest(frame: pd.DataFrame) -> pd.DataFrame:
    return frame[frame["n"] == frame["n"].max()]


# --------------------------------------------------------------------------- losses are likelihoods


def loss_dictionary(summary: pd.DataFrame) -> dict[str, Any]:
    """Each loss, its likelihood, and this run's scenarios of that model with the MLE's efficiency."""
    rows = []
    for entry in LOSS_DICTIONARY:
        part = summary[(summary["family"] == entry["family"]) & (summary["estimator"] == "mle")]
        if part.empty:
            seen = NOT_IN_RUN
        else:
            seen = "; ".join(
                f"{name}: efficiency {fmt_range(_largest(g)['efficiency'])} at n = {int(g['n'].max()):,}"
                for name, g in part.groupby("scenario", sort=False)
            )
        rows.append([entry["loss"], entry["likelihood"], entry["family"], entry["why"], seen])
    return {
        "table": _table(
            "Minimising a loss is maximising a likelihood. The last column is the MLE's efficiency "
            "(CRLB / variance, range over the model's parameters) at each scenario's largest n.",
            ["loss", "likelihood", "model", "why", "in this run"],
            rows,
        )
    }


# --------------------------------------------------------------------------- the price of the wrong loss


def wrong_loss_price(summary: pd.DataFrame) -> dict[str, Any]:
    """Least squares on a binary outcome against the MLE: variance ratio per coefficient, bias, MSE."""
    ls = summary[summary["estimator"] == "least_squares"]
    if ls.empty or "rel_efficiency" not in summary:
        return {"available": False, "absent": f"Least squares on a binary outcome: {NOT_IN_RUN}."}
    sections = []
    for scenario, part in ls.groupby("scenario", sort=False):
        mle = summary[(summary["scenario"] == scenario) & (summary["estimator"] == "mle")]
        params = list(dict.fromkeys(part["parameter"]))
        rows = []
        for n, g in part.groupby("n", sort=True):
            g = g.set_index("parameter")
            rows.append(
                [f"{int(n):,}"]
                + [
                    f"{fmt_pm(g.at[p, 'rel_efficiency'], g.at[p, 'rel_efficiency_mcse'])} "
                    f"({fmt(g.at[p, 'asymptotic_rel_efficiency'], 3)})"
                    for p in params
                ]
            )
        top = _largest(part)
        with np.errstate(divide="ignore", invalid="ignore"):
            z = (top["rel_efficiency"] - top["asymptotic_rel_efficiency"]) / top["rel_efficiency_mcse"]
        same = bool(((part["rel_mse"] == 1.0) & (part["rel_mse_mcse"] == 0.0)).all())
        bias_rows = []
        for n, g in part.groupby("n", sort=True):
            m = mle[mle["n"] == n].set_index("parameter")
            g = g.set_index("parameter")
            ratio = (g["bias"].abs() / m.loc[g.index, "bias"].abs()).to_numpy()
            bias_rows.append(
                [
                    f"{int(n):,}",
                    fmt_range(ratio, 3),
                    fmt_range(g["rel_mse"], 3),
                    f"{int(g['n_failed'].iloc[0]):,}",
                    f"{int(g['n_no_minimiser'].iloc[0]):,}" if "n_no_minimiser" in g else NOT_IN_RUN,
                    f"{int(m['n_failed'].iloc[0]):,}" if len(m) else "—",
                ]
            )
        if same:
            text = (
                f"{scenario}: least squares and the MLE give the same estimate in every replication at every n "
                "(MSE ratio exactly 1 with no Monte Carlo error): the model is saturated, both fit each group's "
                "observed share exactly, so the loss makes no difference here."
            )
        else:
            small = part[part["n"] == part["n"].min()]
            text = (
                f"At n = {int(top['n'].iloc[0]):,}, Var(MLE) / Var(least squares) is "
                f"{fmt_range(top['rel_efficiency'])} across the coefficients, against the first-order "
                f"(asymptotic) values {fmt_range(top['asymptotic_rel_efficiency'])}; "
                f"z = (simulated − first-order) / MCSE is {fmt_range(z, 2)}. The first-order value is a large-n "
                "guide, not exact theory, so it is shown beside the simulation and never judged as exact. At "
                f"n = {int(small['n'].iloc[0]):,} the ratio is {fmt_range(small['rel_efficiency'])}"
            )
            if (small["rel_efficiency"] < 0.5 * small["asymptotic_rel_efficiency"]).any():
                text += (
                    ": far below the first-order value; the squared error flattens where the data are nearly "
                    "separated, and the fits that keep a finite minimiser spread wide (MSE "
                    f"{fmt_range(small['rel_mse'])} times the MLE's)."
                )
            else:
                text += "."
            runaway = (
                part.groupby("n", sort=True)["n_no_minimiser"].first() if "n_no_minimiser" in part else None
            )
            if runaway is not None and runaway.sum() > 0:
                total = int(part["replications"].iloc[0])
                text += (
                    " Replications without a finite least-squares minimiser (the squared error is bounded, so on "
                    "nearly separated data it is as low at infinity as at any finite β; counted and left out, "
                    "not averaged in): "
                    + ", ".join(
                        f"{int(v):,} of {total:,} at n = {int(m):,}" for m, v in runaway.items() if v > 0
                    )
                    + "."
                )
        sections.append(
            {
                "scenario": scenario,
                "text": text,
                "efficiency": _table(
                    f"{scenario}: Var(MLE) / Var(least squares) per coefficient ± MCSE (paired, the same "
                    "replications), first-order value in parentheses. Below 1: least squares pays in variance.",
                    ["n", *params],
                    rows,
                ),
                "bias": _table(
                    f"{scenario}: |bias of least squares| / |bias of the MLE| (range over coefficients), "
                    "MSE(least squares) / MSE(MLE) (range), and replications without a usable estimate: of "
                    "least squares (of which without a finite minimiser: the bounded squared error is as low at "
                    "infinity as at the fit) and of the MLE (no MLE: separation).",
                    [
                        "n",
                        "|bias| ratio",
                        "MSE ratio",
                        "least squares failed",
                        "no finite minimiser",
                        "MLE failed",
                    ],
                    bias_rows,
                ),
            }
        )
    return {"available": True, "scenarios": sections}


# --------------------------------------------------------------------------- the vanishing gradient


def gradient_section(tables: Mapping[str, str | Path], figures: Mapping[str, str | Path]) -> dict[str, Any]:
    """Gradient norms at a saturated start, steps to the minimiser, and the curves."""
    one = _read(tables.get("gradient_one_observation"))
    steps = _read(tables.get("gradient_steps"))
    out: dict[str, Any] = {"available": steps is not None, "one_observation": None}
    if one is not None:
        get = {(r.loss, r.step_rule): r for r in one.itertuples()}
        ce1, se1 = get[("cross_entropy", "learning rate 1")], get[("squared_error", "learning rate 1")]
        ceL, seL = get[("cross_entropy", "step 1/L")], get[("squared_error", "step 1/L")]
        out["one_observation"] = (
            f"One observation with label 1 and logit {fmt(ce1.eta_start)} (x = 1, a confident wrong "
            f"prediction): gradient descent with learning rate 1 predicts it right (probability ≥ ½) after "
            f"{fmt_steps(ce1.steps)} steps on the cross-entropy and {fmt_steps(se1.steps)} on the squared "
            f"error; with step 1/L (learning rates {fmt(ceL.learning_rate, 3)} and "
            f"{fmt(seL.learning_rate, 3)}) after {fmt_steps(ceL.steps)} and {fmt_steps(seL.steps)}."
        )
    if steps is None:
        out["absent"] = f"Gradient descent on a logistic regression: {NOT_IN_RUN}."
        return out
    tolerances = sorted(steps["tolerance"].unique(), reverse=True)
    rows, text = [], []
    for (scenario, n, loss), g in steps.groupby(["scenario", "n", "loss"], sort=False):
        first = g.iloc[0]
        row = [
            scenario,
            f"{int(n):,}",
            LOSS_NAMES.get(loss, loss),
            f"{int(first.replications) - int(first.no_minimiser):,} ({int(first.no_minimiser):,})",
            f"{fmt(first.start_gradient_median, 3)} ({fmt(first.start_gradient_min, 3)}–"
            f"{fmt(first.start_gradient_max, 3)})",
            fmt(first.lipschitz_median, 3),
        ]
        for tol in tolerances:
            t = g[g["tolerance"] == tol].iloc[0]
            row.append(
                f"{fmt_steps(t.steps_median, t.max_steps)} [{fmt_steps(t.steps_q10, t.max_steps)}, "
                f"{fmt_steps(t.steps_q90, t.max_steps)}]"
                + (f"; {int(t.not_reached):,} not within {int(t.max_steps):,}" if t.not_reached else "")
            )
        row.append(f"{int(first.below_minimiser):,}")
        rows.append(row)
    for (scenario, n), g in steps.groupby(["scenario", "n"], sort=False):
        coarse = g[g["tolerance"] == tolerances[0]].set_index("loss")
        if not {"cross_entropy", "squared_error"} <= set(coarse.index):
            continue
        ce, se = coarse.loc["cross_entropy"], coarse.loc["squared_error"]
        text.append(
            f"{scenario}, n = {int(n):,}: at the start the gradient norm is {fmt(ce.start_gradient_median, 3)} "
            f"for the cross-entropy and {fmt(se.start_gradient_median, 3)} for the squared error (medians, "
            f"{fmt(ce.start_gradient_median / se.start_gradient_median, 3)}×); reaching the minimiser to "
            f"{tolerances[0]:g} takes {fmt_steps(ce.steps_median, ce.max_steps)} against "
            f"{fmt_steps(se.steps_median, se.max_steps)} steps (medians)."
        )
    first = steps.iloc[0]
    out.update(
        {
            "text": text,
            "table": _table(
                f"Gradient descent with step 1/L from {fmt(first.start_scale)}β (every prediction confidently "
                "wrong), on each scenario's first "
                f"{int(first.replications):,} replications. L = (sup |ℓ''|) × λmax(XᵀX/n) of each data set; "
                "sup |ℓ''| = "
                + ", ".join(
                    f"{fmt(v, 4)} ({LOSS_NAMES.get(k, k)})"
                    for k, v in steps.groupby("loss")["curvature_bound"].first().items()
                )
                + ". Steps: median [10%, 90%] until max|β_t − β̂| ≤ tolerance (the minimiser β̂: the MLE for "
                "the cross-entropy, the least-squares fit for the squared error); '> cap' where that quantile "
                "of runs had not arrived within the cap, followed by how many runs had not. Replications without a minimiser (no MLE or no least-squares fit) "
                "are not run. Last column: runs that ended at a lower squared-error loss than the "
                "least-squares fit, which is only a local minimiser of a non-convex loss.",
                [
                    "scenario",
                    "n",
                    "loss",
                    "runs (no minimiser)",
                    "start gradient norm, median (range)",
                    "L, median",
                    *[f"steps to {t:g}" for t in tolerances],
                    "ended lower",
                ],
                rows,
            ),
        }
    )
    figure = figures.get("gradient_descent")
    out["figure"] = (
        {
            "src": data_uri(figure),
            "caption": "Excess loss f(β_t) − f(β̂) and gradient norm against the step (symmetric log scale), "
            "mean over replications (line) and 10–90% quantiles (band). A run that reached the tight tolerance "
            "stops and keeps its last value.",
        }
        if figure and Path(figure).exists()
        else None
    )
    return out


# --------------------------------------------------------------------------- numerics


def numerics_section(tables: Mapping[str, str | Path]) -> dict[str, Any]:
    """Underflow sample sizes, naive against stable log-sum-exp / softmax and cross-entropy."""
    out: dict[str, Any] = {}
    under = _read(tables.get("underflow"))
    if under is None:
        out["underflow"] = None
    else:
        rows = [
            [
                r.scenario,
                r.family,
                f"{int(r.n):,}",
                fmt(-r.mean_logf, 4),
                fmt(r.first_order_n, 4),
                f"{fmt_steps(r.n_median)} ({fmt_steps(r.n_q05)}–{fmt_steps(r.n_q95)}; "
                f"{fmt_steps(r.n_min)}–{fmt_steps(r.n_max)})",
                f"{int(r.windows):,}" + (f" ({int(r.censored):,} censored)" if r.censored else ""),
                fmt(r.loglik_median, 5)
                + (f"; {int(r.loglik_nonfinite)} not finite" if r.loglik_nonfinite else ""),
            ]
            for r in under.itertuples()
        ]
        measured = under[np.isfinite(under["n_median"])]
        if measured.empty:
            headline = "No window of this run's data reached 0 (too few replications, or every one censored)."
        else:
            lo = measured.loc[measured["n_median"].idxmin()]
            hi = measured.loc[measured["n_median"].idxmax()]
            headline = (
                f"The raw likelihood ∏ f(xᵢ) of a scenario's own data reaches exactly 0 in float64 at a median "
                f"n of {fmt_steps(lo.n_median)} ({lo.scenario}) to {fmt_steps(hi.n_median)} ({hi.scenario}), "
                f"while the log-likelihood there is about {fmt(float(measured['loglik_median'].median()), 4)}: "
                "finite."
            )
        overflow = int(under["overflow"].sum())
        out["underflow"] = {
            "text": (
                headline
                + " The first-order size is log(smallest float64) / E[log f]."
                + (f" {overflow} windows overflowed to inf instead." if overflow else "")
                + (
                    " Scenarios run with sampler: sufficient ("
                    + ", ".join(under.loc[under["sampler"] == "sufficient", "scenario"])
                    + ") drew their statistics, not the observations; their observations here come from the "
                    "same streams drawn as raw data."
                    if (under["sampler"] == "sufficient").any()
                    else ""
                )
            ),
            "table": _table(
                "Per scenario: windows of consecutive observations of its replications (at the sample size "
                "shown); in each, the running product of densities in float64, and the first n at which it is 0.",
                [
                    "scenario",
                    "model",
                    "data at n",
                    "E[−log f] (nats)",
                    "first-order n",
                    "n at 0: median (5–95%; min–max)",
                    "windows",
                    "log-likelihood there (median)",
                ],
                rows,
            ),
        }
    lse = _read(tables.get("logsumexp"))
    if lse is None:
        out["logsumexp"] = None
    else:
        rows = [
            [
                r.scenario,
                f"{int(r.n):,}",
                fmt(r.scale),
                fmt(r.max_abs_logit, 4),
                f"{int(r.naive_loglik_nonfinite):,} / {int(r.naive_softmax_nonfinite):,}",
                f"{int(r.stable_loglik_nonfinite):,} / {int(r.stable_softmax_nonfinite):,}",
                fmt(r.naive_loglik_max_rel_error, 2),
                fmt(r.stable_loglik_max_rel_error, 2),
                fmt(r.stable_softmax_max_error, 2),
            ]
            for r in lse.itertuples()
        ]
        parts = []
        for scenario, g in lse.groupby("scenario", sort=False):
            counts = ", ".join(f"{int(v):,}" for v in g["naive_loglik_nonfinite"])
            scales = ", ".join(fmt(v) for v in g["scale"])
            parts.append(
                f"{scenario}: with its true logits scaled by {scales}, the naive log-sum-exp gives a non-finite "
                f"log-likelihood in {counts} of {int(g['replications'].iloc[0]):,} replications; the stable one "
                f"in {int(g['stable_loglik_nonfinite'].sum() + g['stable_softmax_nonfinite'].sum()):,} (log-"
                "likelihood or softmax, every scale together)."
            )
        out["logsumexp"] = {
            "text": " ".join(parts),
            "table": _table(
                "Softmax scenarios at the n shown, first "
                f"{int(lse['replications'].iloc[0]):,} replications, logits z = scale × (0, xᵀβ₁, …): "
                "replications with a non-finite log-likelihood / softmax, and the largest relative error of "
                "the log-likelihood (where finite) and absolute error of the probabilities against a "
                f"{int(lse['reference_bits'].iloc[0])}-bit-mantissa reference.",
                [
                    "scenario",
                    "n",
                    "scale",
                    "max |logit|",
                    "naive: non-finite (log-lik / softmax)",
                    "stable: non-finite",
                    "naive: max rel. error",
                    "stable: max rel. error",
                    "stable softmax: max error",
                ],
                rows,
            ),
        }
    bce = _read(tables.get("bce"))
    if bce is None:
        out["bce"] = None
    else:
        rows = [
            [
                r.scenario,
                f"{int(r.n):,}",
                fmt(r.scale),
                fmt(r.saturated_share, 3),
                r.method,
                f"{int(r.nonfinite):,}",
                fmt_pm(r.rel_error_mean, r.rel_error_mcse) if math.isfinite(r.rel_error_mean) else "—",
                fmt(r.rel_error_max_abs, 3),
                fmt(r.max_abs_error, 3),
            ]
            for r in bce.itertuples()
        ]
        stable = bce[bce["method"] == "stable"]
        naive = bce[bce["method"] == "naive"]
        first = bce[bce["scenario"] == bce["scenario"].iloc[0]]
        clipped = "; ".join(
            f"{method}: "
            + ", ".join(f"{fmt(100 * r.rel_error_mean, 3)}% at scale {fmt(r.scale)}" for r in g.itertuples())
            for method, g in first[first["method"].str.startswith("clip")].groupby("method", sort=False)
        )
        out["bce"] = {
            "text": (
                "Computed from the logit, the cross-entropy's mean loss is within a relative "
                f"{fmt(stable['rel_error_max_abs'].max(), 2)} of the reference in every replication at every "
                f"scale; the textbook form is non-finite in up to {int(naive['nonfinite'].max()):,} of "
                f"{int(bce['replications'].iloc[0]):,} replications. Clipping the probability is always finite "
                f"but biases the mean loss ({first['scenario'].iloc[0]}, relative to the reference) by {clipped}."
            ),
            "table": _table(
                "Logistic scenarios at the n shown, logits scale × xᵀβ: share of observations whose σ(logit) "
                "rounds to exactly 1 in float64 (so log(1 − σ) = −∞), replications whose mean loss is not finite, and the relative error of "
                "each replication's mean loss against the reference (mean ± MCSE; largest), and the largest "
                "per-observation absolute error.",
                [
                    "scenario",
                    "n",
                    "scale",
                    "saturated share",
                    "method",
                    "non-finite",
                    "relative error of the mean loss",
                    "max |relative error|",
                    "max abs. error",
                ],
                rows,
            ),
        }
    out["available"] = any(out[k] is not None for k in ("underflow", "logsumexp", "bce"))
    return out


# --------------------------------------------------------------------------- KL divergence

KL_COLUMNS = ("kl", "kl_mcse", "kl_asymptote")


def _num(row: Any, column: str) -> float:
    value = getattr(row, column, math.nan)
    try:
        return float(value)
    except (TypeError, ValueError):
        return math.nan


def kl_section(summary: pd.DataFrame) -> dict[str, Any]:
    """E[KL] against its first-order value per scenario, estimator and n, from the summary's KL columns.

    The ratio E[KL] / kl_asymptote is 2n E[KL] / k for the MLE (k free parameters) and tends to 1;
    where an exact finite-n E[KL] exists it is shown as the same ratio, with z = (kl - exact) / MCSE.
    """
    if not set(KL_COLUMNS) <= set(summary.columns) or not np.isfinite(summary["kl"].to_numpy(float)).any():
        return {
            "available": False,
            "absent": f"KL divergence between the true and the fitted model: {NOT_IN_RUN} "
            "(summary.csv has no kl, kl_mcse, kl_asymptote values).",
        }
    once = summary.dropna(subset=["kl"]).drop_duplicates(["scenario", "estimator", "n"])
    rows, text = [], []
    for r in once.itertuples():
        asym, exact = _num(r, "kl_asymptote"), _num(r, "exact_kl")
        ratio = r.kl / asym if asym > 0 else math.nan
        ratio_se = r.kl_mcse / asym if asym > 0 else math.nan
        z_one = (ratio - 1) / ratio_se if ratio_se > 0 else math.nan
        infinite = int(_num(r, "kl_infinite")) if math.isfinite(_num(r, "kl_infinite")) else 0
        rows.append(
            [
                r.scenario,
                r.estimator,
                f"{int(r.n):,}",
                fmt_pm(r.kl, r.kl_mcse),
                fmt(asym, 4),
                fmt_pm(ratio, ratio_se) if math.isfinite(ratio) else "—",
                fmt(z_one, 2) if math.isfinite(z_one) else "—",
                fmt(exact / asym, 4) if math.isfinite(exact) and asym > 0 else "—",
                fmt(_num(r, "z_kl"), 2) if math.isfinite(_num(r, "z_kl")) else "—",
                f"{infinite:,}" if infinite else "0",
            ]
        )
    for (scenario, estimator), g in once.groupby(["scenario", "estimator"], sort=False):
        if estimator != "mle" or not (g["kl_asymptote"] > 0).all():
            continue
        g = g.sort_values("n")
        ratio = g["kl"] / g["kl_asymptote"]
        se = g["kl_mcse"] / g["kl_asymptote"]
        top, low = g.iloc[-1], g.iloc[0]
        z = (ratio.iloc[-1] - 1) / se.iloc[-1] if se.iloc[-1] > 0 else math.nan
        line = f"{scenario}: 2n·E[KL]/k = {fmt_pm(ratio.iloc[-1], se.iloc[-1])} at n = {int(top['n']):,}" + (
            f" (z against 1: {fmt(z, 2)})" if math.isfinite(z) else ""
        )
        if len(g) > 1:
            line += f", {fmt_pm(ratio.iloc[0], se.iloc[0])} at n = {int(low['n']):,}"
        if "exact_kl" in g and np.isfinite(g["exact_kl"].to_numpy(float)).any():
            e = g[np.isfinite(g["exact_kl"].to_numpy(float))].iloc[-1]
            line += f"; exactly {fmt(e['exact_kl'] / e['kl_asymptote'], 4)} at n = {int(e['n']):,}"
        text.append(line + ".")
    return {
        "available": True,
        "text": text,
        "table": _table(
            "E[KL(true ‖ fitted)] per observation ± MCSE against its first-order value (k/(2n) for the MLE, k "
            "free parameters; tr(I A⁻¹BA⁻¹)/(2n) for least squares). Their ratio, 2n·E[KL]/k for the MLE, tends "
            "to 1; z against 1 is a first-order guide, not a test of exact theory. Exact: the finite-n ratio "
            "where E[KL] is known exactly, and z = (simulated − exact)/MCSE. Infinite: replications with "
            "KL = ∞ (a fit on the boundary; E[KL] is then infinite and the mean is over the finite ones).",
            [
                "scenario",
                "estimator",
                "n",
                "E[KL] ± MCSE",
                "first-order",
                "2n·E[KL]/k ± MCSE",
                "z against 1",
                "exact ratio",
                "z against exact",
                "infinite",
            ],
            rows,
        ),
    }


# --------------------------------------------------------------------------- Gaussian mixtures

MIXTURE_FAMILY = "gaussian_mixture"


def mixture_section(summary: pd.DataFrame) -> dict[str, Any]:
    """Status counts, bias, efficiency and KL of the Gaussian-mixture scenarios (rows of the mixture model)."""
    part = summary[summary["family"] == MIXTURE_FAMILY]
    if part.empty:
        return {"available": False, "absent": f"Gaussian mixtures fitted by EM: {NOT_IN_RUN}."}
    counts = [
        c
        for c in summary.columns
        if c.startswith("n_") and c not in ("n_boundary", "n_separated", "n_no_minimiser")
    ]
    status_rows, rows, text = [], [], []
    for (scenario, estimator, n), g in part.groupby(["scenario", "estimator", "n"], sort=True):
        first = g.iloc[0]
        status_rows.append(
            [
                scenario,
                estimator,
                f"{int(n):,}",
                f"{int(first['replications']):,}" if "replications" in g else "—",
            ]
            + [f"{int(first[c]):,}" if pd.notna(first[c]) else "—" for c in counts]
        )
        for r in g.itertuples():
            rows.append(
                [
                    scenario,
                    estimator,
                    f"{int(n):,}",
                    r.parameter,
                    fmt_pm(r.bias, r.bias_mcse),
                    fmt_pm(r.efficiency, getattr(r, "efficiency_mcse", math.nan)),
                ]
            )
    for (scenario, estimator), g in part.groupby(["scenario", "estimator"], sort=False):
        top = _largest(g)
        small = g[g["n"] == g["n"].min()]
        line = (
            f"{scenario}, {estimator}: efficiency (CRLB / variance) {fmt_range(small['efficiency'])} at "
            f"n = {int(small['n'].iloc[0]):,} and {fmt_range(top['efficiency'])} at n = {int(top['n'].iloc[0]):,}"
        )
        first = top.iloc[0]
        if "kl" in g and math.isfinite(_num(first, "kl")) and _num(first, "kl_asymptote") > 0:
            ratio = first["kl"] / first["kl_asymptote"]
            line += (
                f"; 2n·E[KL]/(3K − 1) = {fmt_pm(ratio, first['kl_mcse'] / first['kl_asymptote'])} at "
                f"n = {int(first['n']):,}"
            )
        for column, label in (("n_degenerate", "degenerate"), ("n_local_optimum", "local optimum")):
            if column in g:
                line += f"; {label}: {int(g[column].groupby(g['n']).first().sum()):,}"
        text.append(line + " (counts summed over n).")
    return {
        "available": True,
        "text": text,
        "statuses": _table(
            "Gaussian mixtures: replications per status. Failed ones (not converged, degenerate: a variance "
            "collapsing onto one point, where the likelihood is unbounded) are left out of the measures; a local "
            "optimum (a start at the truth found a higher likelihood) is usable and counted.",
            [
                "scenario",
                "estimator",
                "n",
                "replications",
                *[c.removeprefix("n_").replace("_", " ") for c in counts],
            ],
            status_rows,
        ),
        "table": _table(
            "Gaussian mixtures: bias ± MCSE and efficiency (CRLB / variance) ± MCSE per parameter and n.",
            ["scenario", "estimator", "n", "parameter", "bias ± MCSE", "efficiency ± MCSE"],
            rows,
        ),
    }


# --------------------------------------------------------------------------- the whole chapter


def chapter_context(
    summary: pd.DataFrame, tables: Mapping[str, str | Path], figures: Mapping[str, str | Path]
) -> dict[str, Any]:
    """Everything ``report/chapter.html.j2`` prints, from the summary and the chapter's files.

    Parameters
    ----------
    summary
        ``results/summary.csv``.
    tables, figures
        Name -> path, as in :data:`mlestudy.losses.jobs.TABLES` and ``FIGURES``; missing
        files make their part say "not in this run".
    """
    return {
        "dictionary": loss_dictionary(summary),
        "price": wrong_loss_price(summary),
        "gradient": gradient_section(tables, figures),
        "numerics": numerics_section(tables),
        "kl": kl_section(summary),
        "mixture": mixture_section(summary),
    }
