"""Key findings across the study and an overview row per scenario, from the summary alone.

The report's first screen: what a reader should take away, each claim with the
number (and MCSE) it rests on, chosen by the numbers, never written per model.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np
import pandas as pd

from .labels import text_label
from .narrative import pm


def _scalar(summary: pd.DataFrame) -> pd.DataFrame:
    return summary[np.isfinite(summary["coverage"].astype(float))]


def key_findings(summary: pd.DataFrame, verdicts: Mapping[str, Mapping]) -> list[str]:
    """A few sentences (HTML-safe) on the study's most instructive numbers.

    The lowest Wald coverage, the largest bias in CRLB units at the smallest n, the
    largest efficiency above 1 (by more than 2 MCSE) and the largest relative error
    in model SE; each names its scenario, estimator, parameter and n.
    """
    out = []
    s = _scalar(summary)
    if s.empty:
        return out
    low = s.loc[s["coverage"].astype(float).idxmin()]
    level = f"{100 * float(low['ci_level']):g}%"
    exact = (
        f", exact {float(low['exact_coverage']):.4f}"
        if math.isfinite(float(low.get("exact_coverage", math.nan)))
        else ""
    )
    out.append(f"The Wald interval can fail badly at small n: {_who(low)} covers "
               f"{pm(low['coverage'], low['coverage_mcse'])} (nominal {level}{exact}).")  # fmt: skip
    smallest = s[s["n"] == s.groupby("scenario")["n"].transform("min")]
    with np.errstate(all="ignore"):
        scaled = (smallest["bias"] / np.sqrt(smallest["crlb"])).abs()
        significant = smallest["bias"].abs() > 3 * smallest["bias_mcse"]
    scaled = scaled[significant & np.isfinite(scaled)]
    if len(scaled):
        b = smallest.loc[scaled.idxmax()]
        out.append(f"The largest bias at a scenario's smallest n: {_who(b)}, {pm(b['bias'], b['bias_mcse'])}, "
                   f"{scaled.max():.2f} Cramér–Rao standard errors.")  # fmt: skip
    eff = s[(s["efficiency"] - 2 * s["efficiency_mcse"] > 1) & np.isfinite(s["efficiency_mcse"])]
    if len(eff):
        e = eff.loc[eff["efficiency"].idxmax()]
        out.append(f"Efficiency above 1 is a biased estimator beating the Cramér–Rao bound, which holds for "
                   f"unbiased ones only: {_who(e)} reaches {pm(e['efficiency'], e['efficiency_mcse'])} "
                   "(its section gives the bias-adjusted bound).")  # fmt: skip
    if "rel_error_model_se" in s:
        r = s[
            np.isfinite(s["rel_error_model_se"].astype(float))
            & np.isfinite(s["rel_error_model_se_mcse"].astype(float))
        ]
        if len(r):
            w = r.loc[r["rel_error_model_se"].abs().idxmax()]
            side = "understate" if w["rel_error_model_se"] < 0 else "overstate"
            out.append(f"Standard errors can {side} the spread: at {_who(w)} the model SE is off by "
                       f"{pm(w['rel_error_model_se'], w['rel_error_model_se_mcse'])} %.")  # fmt: skip
    compared = [v for v in verdicts.values() if v["comparisons"]]
    if compared:
        total = sum(v["comparisons"] for v in compared)
        out.append(f"{len(compared)} of {len(verdicts)} scenarios have exact theory; over their {total} comparisons "
                   "the section verdicts below say where simulation and theory agree.")  # fmt: skip
    return out


def _who(row: Mapping) -> str:
    return (f"<a href=\"#{row['scenario']}\">{row['scenario']}</a>'s {text_label(str(row['parameter']), hat=True)} "
            f"({row['estimator']}) at n = {int(row['n'])}")  # fmt: skip


def _range(values: pd.Series, digits: int = 3) -> str:
    v = values.astype(float)
    v = v[np.isfinite(v)]
    if v.empty:
        return "—"
    lo, hi = v.min(), v.max()
    return (
        f"{lo:.{digits}f}" if round(lo, digits) == round(hi, digits) else f"{lo:.{digits}f}–{hi:.{digits}f}"
    )


def overview(summary: pd.DataFrame, verdicts: Mapping[str, Mapping], order: list[str]) -> list[dict]:
    """One row per scenario: sizes, RMS z against exact theory, Wald coverage and efficiency ranges at both ends."""
    rows = []
    for name in order:
        part = summary[summary["scenario"] == name]
        if part.empty:
            continue
        v = verdicts.get(name, {})
        lo, hi = part["n"].min(), part["n"].max()
        rms = v.get("rms", math.nan)
        rows.append({
            "scenario": name,
            "family": str(part["family"].iloc[0]),
            "n": f"{lo}–{hi}",
            "rms": f"{rms:.2f} ({v.get('comparisons', 0)})" if v.get("comparisons") and rms == rms else "—",
            "coverage_small": _range(part[part["n"] == lo]["coverage"]),
            "coverage_large": _range(part[part["n"] == hi]["coverage"]),
            "efficiency_large": _range(part[part["n"] == hi]["efficiency"]),
        })  # fmt: skip
    return rows
