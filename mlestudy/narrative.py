"""Captions and "what to see" paragraphs written from one scenario's own numbers.

The report never names a model: a model adds what is particular to its figures
(:meth:`Model.figure_notes`) and an estimator what its numbers show
(:meth:`Estimator.what_to_see`); this module writes the generic part, true of
any model, from the summary rows, and the helpers the hooks share.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .labels import text_label
from .numbers import Column
from .outputs import CAPTIONS, FIGURES

EXACT_COLUMNS = {
    "bias": ("exact_mean",),
    "variance": ("exact_variance",),
    "efficiency": ("exact_variance",),
    "mse": ("exact_mean", "exact_variance"),
    "coverage": ("exact_coverage",),
}
"""Which exact-theory columns draw a figure's lines (all of them finite somewhere)."""


def _finite(x: object) -> bool:
    return x is not None and isinstance(x, (int, float, np.floating)) and math.isfinite(float(x))


def pm(value: float, mcse: float) -> str:
    """'value ± mcse' at the precision the MCSE supports (as in the tables)."""
    return Column.of([(value, mcse)]).pm(value, mcse)


def _has(summary: pd.DataFrame, columns: tuple[str, ...]) -> bool:
    return all(c in summary and np.isfinite(summary[c].to_numpy(float)).any() for c in columns)


def captions(model: object, summary: pd.DataFrame) -> dict[str, str]:
    """Each figure's caption for one scenario: the generic sentences this figure draws, then the model's note.

    A sentence about exact-theory lines appears only if some row has that theory,
    one about blocks drawn as ratios only if the scenario has a block of several
    coefficients, one about log scales only if it has a block of one (see
    :data:`mlestudy.outputs.CAPTIONS`).
    """
    present = set(summary["parameter"].astype(str)) if len(summary) else set()
    sizes = {len(present & set(block.flat_names)) for block in model.blocks}  # as the figures group them
    holds = {
        "": True,
        "vector": any(size > 1 for size in sizes),
        "scalar": 1 in sizes,
        "infinite": _has_infinite_mcse(summary),
        "several": summary["estimator"].nunique() > 1,
    }
    notes: Mapping[str, str] = model.figure_notes() if hasattr(model, "figure_notes") else {}
    out = {}
    for figure in FIGURES:
        holds["theory"] = figure in EXACT_COLUMNS and _has(summary, EXACT_COLUMNS[figure])
        text = " ".join(sentence for condition, sentence in CAPTIONS[figure] if holds[condition])
        if (
            figure == "bias"
            and "approx_bias" in summary
            and np.isfinite(summary["approx_bias"].astype(float)).any()
        ):
            text += " Dotted: the first-order (O(1/n)) bias, approximate theory."
        if figure in notes:
            text += " " + notes[figure]
        out[figure] = text
    return out


def _has_infinite_mcse(summary: pd.DataFrame) -> bool:
    if "efficiency_mcse" not in summary:
        return False
    eff = summary["efficiency"].to_numpy(float)
    return bool((np.isfinite(eff) & ~np.isfinite(summary["efficiency_mcse"].to_numpy(float))).any())


def exact_mean_sentence(rows: pd.DataFrame, parameter: str, law: str) -> str | None:
    """'law: at n = 3 the simulation gives 2.654 ± 0.008 against 2.667 (z = ...)' at the smallest n with theory.

    ``law`` is the closed form as text, e.g. "E[σ̂²] = (n − 1)σ²/n".
    """
    r = rows[(rows["parameter"] == parameter) & np.isfinite(rows["exact_mean"].astype(float))].sort_values(
        "n"
    )
    r = r[np.isfinite(r["bias_mcse"].astype(float))]
    if r.empty:
        return None
    first = r.iloc[0]
    z = (first["mean"] - first["exact_mean"]) / first["bias_mcse"] if first["bias_mcse"] > 0 else math.nan
    zs = f" (z = {z:.2f})" if math.isfinite(z) else ""
    return (f"{law}: at n = {int(first['n'])} the simulation gives {pm(first['mean'], first['bias_mcse'])} "
            f"against {_exact(first['exact_mean'], first['bias_mcse'])}{zs}.")  # fmt: skip


def _exact(value: float, mcse: float) -> str:
    return Column.of([(value, mcse)]).like(value, value, mcse) if mcse > 0 else f"{value:.6g}"


def efficiency_sentences(model: object, estimator: object, rows: pd.DataFrame) -> list[str]:
    """Where efficiency exceeds 1 by more than 2 MCSE, why, with the bias-adjusted bound where b' is known."""
    out = []
    for parameter, r in rows.groupby("parameter", sort=False):
        r = r.sort_values("n")
        eff, mc = r["efficiency"].to_numpy(float), r["efficiency_mcse"].to_numpy(float)
        above = np.isfinite(eff) & np.isfinite(mc) & (eff - 2 * mc > 1)
        if not above.any():
            continue
        first = r[above].iloc[0]
        n = int(first["n"])
        hat = text_label(str(parameter), hat=True)
        text = (f"Efficiency above 1 ({pm(first['efficiency'], first['efficiency_mcse'])} at n = {n}) is no "
                f"paradox: {hat} is biased, and the Cramér–Rao bound 1/I<sub>n</sub> holds for unbiased "
                "estimators only.")  # fmt: skip
        b1 = (
            estimator.bias_derivative(model, str(parameter), n)
            if hasattr(estimator, "bias_derivative")
            else math.nan
        )
        if _finite(b1):
            bound = (1 + b1) ** 2 * float(first["crlb"])
            text += (f" Its own bound is the bias-adjusted (1 + b′(θ))²/I<sub>n</sub> = {bound:.4g} at n = {n} "
                     f"(b′ = {b1:.4g}), against a simulated variance of "
                     f"{pm(first['variance'], first['variance_mcse'])}.")  # fmt: skip
        out.append(text)
    return out


def generic_sentences(
    model: object, estimator_name: str, rows: pd.DataFrame, level: str, bias: bool = True
) -> list[str]:
    """What any estimator's rows show: bias and coverage at the smallest and largest n, with their MCSEs.

    Vector blocks are summarised by their worst coefficient so that a paragraph stays short.
    ``bias=False`` leaves the bias to an estimator's own sentences.
    """
    out = []
    if rows.empty:
        return out
    rows = rows.sort_values("n")
    ns = sorted(rows["n"].unique())
    small, large = ns[0], ns[-1]
    for block, b in rows.groupby("block", sort=False) if "block" in rows else [(None, rows)]:
        params = list(dict.fromkeys(b["parameter"]))
        if len(params) == 1:
            p = params[0]
            hat = text_label(str(p), hat=True)
            lo, hi = b[b["n"] == small].iloc[0], b[b["n"] == large].iloc[0]
            if bias and _finite(lo["bias_mcse"]) and _finite(hi["bias_mcse"]):
                out.append(f"Estimator {estimator_name}: the bias of {hat} is {pm(lo['bias'], lo['bias_mcse'])} at n = "
                           f"{small} and {pm(hi['bias'], hi['bias_mcse'])} at n = {large}.")  # fmt: skip
            if _finite(lo["coverage"]) and _finite(hi["coverage"]):
                text = (f"The {level} Wald interval of {estimator_name} for {text_label(str(p))} covers "
                        f"{pm(lo['coverage'], lo['coverage_mcse'])} at n = {small}")  # fmt: skip
                if _finite(lo.get("exact_coverage")):
                    text += f" (exact {lo['exact_coverage']:.4f})"
                text += f" and {pm(hi['coverage'], hi['coverage_mcse'])} at n = {large}"
                if _finite(hi.get("exact_coverage")):
                    text += f" (exact {hi['exact_coverage']:.4f})"
                out.append(text + ".")
        else:
            label = text_label(str(block), hat=True)
            for n in (small, large) if bias else ():
                r = b[b["n"] == n]
                z = (r["bias"] / r["bias_mcse"]).to_numpy(float)
                rel = (r["bias"] / np.sqrt(r["crlb"])).to_numpy(float)
                if np.isfinite(rel).any():
                    k = int(np.nanargmax(np.abs(rel)))
                    out.append(f"Estimator {estimator_name}, {label} at n = {n}: the largest bias over its "
                               f"{len(params)} coefficients is {text_label(str(r['parameter'].iloc[k]), hat=True)}'s "
                               f"{pm(r['bias'].iloc[k], r['bias_mcse'].iloc[k])}, {rel[k]:+.3f} √CRLB"
                               + (f" ({abs(z[k]):.1f} MCSE)." if np.isfinite(z[k]) else "."))  # fmt: skip
            cov = b[b["n"] == small][["coverage", "coverage_mcse"]].to_numpy(float)
            if np.isfinite(cov[:, 0]).any():
                out.append(f"At n = {small} the Wald intervals of {estimator_name} for {text_label(str(block))} cover between {np.nanmin(cov[:, 0]):.3f} "
                           f"and {np.nanmax(cov[:, 0]):.3f}; at n = {large} between "
                           f"{b[b['n'] == large]['coverage'].min():.3f} and {b[b['n'] == large]['coverage'].max():.3f}.")  # fmt: skip
    return out


def what_to_see(scenario: object, summary: pd.DataFrame) -> list[str]:
    """The scenario's "what to see" sentences: each estimator's own hook, else the generic ones, and efficiency."""
    model = scenario.model
    level = f"{100 * scenario.ci_level:g}%"
    out: list[str] = []
    for name in scenario.estimators:
        rows = summary[summary["estimator"] == name]
        if rows.empty:
            continue
        estimator = model.estimators[name]
        own = estimator.what_to_see(model, rows) if hasattr(estimator, "what_to_see") else []
        out += own + generic_sentences(model, name, rows, level, bias=not own)
        out += efficiency_sentences(model, estimator, rows)
    return out
