"""The study's HTML report: one self-contained file, figures embedded.

Each scenario is written up in the ADEMP frame of Morris et al. (2019): aims,
data-generating mechanism, estimands, methods, performance measures.  Every
number is printed with its Monte Carlo standard error, and a number that does
not exist (an infinite moment) is printed as a dash with the reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import math
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import yaml
from markupsafe import escape

from .atomic import write_text_atomic
from .config import Scenario, Study
from .outputs import CAPTIONS, FIGURES
from .provenance import config_sha256, git_commit, versions
from .seeding import BLOCK_SIZE
from .verdict import Z_DISAGREE, expected_rows, verdict
from .verdict import z_scores as z_scores  # re-exported: the verdict lives in mlestudy.verdict

TEMPLATE = Path(__file__).resolve().parents[1] / "report" / "template.html.j2"


def fmt(value: float, digits: int = 4) -> str:
    """A number for a table; a dash for NaN."""
    if value is None or (isinstance(value, float) and math.isnan(value)):
        return "—"
    if isinstance(value, (int, np.integer)):
        return f"{value:,}"
    if value != 0 and (abs(value) >= 1e5 or abs(value) < 1e-3):
        return f"{value:.{digits - 1}e}"
    return f"{value:.{digits}g}"


def fmt_pm(value: float, mcse: float) -> str:
    """'value ± mcse', the value rounded to the precision its MCSE supports."""
    if not math.isfinite(value):
        return "—"
    if not math.isfinite(mcse) or mcse <= 0:
        return f"{fmt(value)} ± —"
    decimals = max(0, 1 - math.floor(math.log10(mcse)))
    if decimals > 6 or abs(value) >= 1e5:
        return f"{value:.3e} ± {mcse:.1e}"
    return f"{value:.{decimals}f} ± {mcse:.{decimals}f}"


def fmt_count(count: int, total: int) -> str:
    """'1,234 (12.3%)': a count of replications with its share; plain '0' for none."""
    if not count:
        return "0"
    share = 100 * count / total
    if count == total:
        pct = "100"
    elif share < 0.1:
        pct = "<0.1"
    else:
        pct = f"{share:.1f}" if share < 99.95 else ">99.9"  # never rounds up to a false 100
    return f"{count:,} ({pct}%)"


def count_notes(summary: pd.DataFrame) -> list[str]:
    """One line per (estimator, n) with boundary estimates or failures, in words.

    The status belongs to the estimator, so the rows of its parameters (the
    normal MLE's mu and sigma2) carry the same counts and are said once.
    """
    notes = []
    for r in summary.drop_duplicates(["estimator", "n"]).sort_values(["estimator", "n"]).itertuples():
        parts = []
        if r.n_boundary:
            parts.append(f"{fmt_count(int(r.n_boundary), int(r.replications))} on the boundary")
        separated = int(getattr(r, "n_separated", 0) or 0)
        if separated:
            parts.append(
                f"{fmt_count(separated, int(r.replications))} without an MLE (separation, a zero-count "
                "face or a rank-deficient design; the other measures are conditional on existence)"
            )
        degenerate = int(getattr(r, "n_degenerate", 0) or 0)
        if degenerate:
            parts.append(
                f"{fmt_count(degenerate, int(r.replications))} degenerate (a component's variance collapsed "
                "to 0, where the likelihood is unbounded: no MLE, left out)"
            )
        local = int(getattr(r, "n_local_optimum", 0) or 0)
        if local:
            parts.append(
                f"{fmt_count(local, int(r.replications))} only a local maximum (a start at the true parameters "
                "found a higher likelihood; kept in the measures)"
            )
        runaway = int(getattr(r, "n_no_minimiser", 0) or 0)
        if runaway:
            parts.append(
                f"{fmt_count(runaway, int(r.replications))} without a finite minimiser (the bounded loss is as "
                "low at infinity: nearly separated data; left out)"
            )
        if r.n_failed - separated - degenerate - runaway:
            rest = int(r.n_failed) - separated - degenerate - runaway
            parts.append(f"{fmt_count(rest, int(r.replications))} failed")
        if parts:
            notes.append(
                f"{r.estimator} at n = {r.n}: {' and '.join(parts)} of {int(r.replications):,} replications"
            )
    return notes


def missing_reason(row: Mapping) -> str | None:
    """Why a row has dashes, in words (None if nothing is missing)."""
    k = row["finite_moments"]
    if row["n_failed"] == row["replications"]:
        return f"{row['estimator']} is undefined at n = {row['n']}"
    if k < 1:
        return f"E[θ̂] is infinite at n = {row['n']}"
    if k < 2:
        return (
            f"the variance of {row['estimator']} is infinite at n = {row['n']} (moments exist only up to "
            f"order {k:g}), so there is no variance, MSE or MCSE of the mean to estimate"
        )
    if k < 4:
        return (
            f"the fourth moment of {row['estimator']} is infinite at n = {row['n']}, so the variance "
            f"exists but its Monte Carlo error (and the MSE's) does not"
        )
    if math.isnan(row["exact_mean"]):
        return "no closed form for the exact moments"
    return None


def table_rows(summary: pd.DataFrame) -> list[dict]:
    """Formatted rows of one scenario's summary table."""
    rows = []
    for r in summary.to_dict("records"):
        rows.append(
            {
                "estimator": r["estimator"],
                "parameter": r["parameter"],
                "n": r["n"],
                "failed": fmt_count(int(r["n_failed"]), int(r["replications"])),
                "boundary": fmt_count(int(r["n_boundary"]), int(r["replications"])),
                "mean": fmt_pm(r["mean"], r["bias_mcse"]),
                "exact_mean": fmt(r["exact_mean"], 6),
                "z_mean": fmt(r["z_mean"], 2),
                "z_mean_flag": abs(r["z_mean"]) >= Z_DISAGREE,
                "bias": fmt_pm(r["bias"], r["bias_mcse"]),
                "variance": fmt_pm(r["variance"], r["variance_mcse"]),
                "exact_variance": fmt(r["exact_variance"], 6),
                "z_variance": fmt(r["z_variance"], 2),
                "z_variance_flag": abs(r["z_variance"]) >= Z_DISAGREE,
                "mse": fmt_pm(r["mse"], r["mse_mcse"]),
                "crlb": fmt(r["crlb"]),
                "efficiency": fmt_pm(r["efficiency"], r["efficiency_mcse"]),
                "coverage": fmt_pm(r["coverage"], r["coverage_mcse"]),
                "exact_coverage": fmt(r["exact_coverage"], 4),
                "z_coverage": fmt(r["z_coverage"], 2),
                "z_coverage_flag": abs(r["z_coverage"]) >= Z_DISAGREE,
                "note": missing_reason(r),
            }
        )
    return rows


def check_summary(checks: pd.DataFrame) -> dict:
    """Closed-form vs numerical MLE, in a few numbers (no fits: the model has no numerical check)."""
    if checks.empty:
        return {"fits": 0}
    checks = checks.astype({"boundary": bool, "converged": bool})
    interior = checks[~checks["boundary"]]
    return {
        "fits": len(checks),
        "sample_sizes": sorted(checks["n"].unique().tolist()),
        "replications": int(checks["replication"].nunique()),
        "max_abs_diff": float(interior["abs_diff"].max()) if len(interior) else math.nan,
        "boundary": int(checks["boundary"].sum()),
        "boundary_max_abs_diff": float(checks.loc[checks["boundary"], "abs_diff"].max())
        if checks["boundary"].any()
        else math.nan,
        "not_converged": int((~checks["converged"]).sum()),
        "without_mle": int(checks["closed_form"].isna().sum()) if "closed_form" in checks else 0,
    }


SAMPLER_TEXT = {
    "data": "every observation is drawn and reduced to the estimators' statistics.",
    "sufficient": "the sufficient statistic is drawn directly from its exact distribution "
    "(sampler: sufficient), which gives the estimators the same law as drawing every observation.",
}


def format_params(params: Mapping[str, object]) -> str:
    """``beta = (1, 2, -1), sigma2 = 4``: a scenario's parameters as written, in words."""

    def one(v: object) -> str:
        if isinstance(v, list):
            return "(" + ", ".join(one(x) for x in v) + ")"
        return f"{v:g}"

    return ", ".join(f"{k} = {one(v)}" for k, v in params.items())


def ademp(scenario: Scenario) -> dict[str, str]:
    """The scenario described in the ADEMP frame."""
    model = scenario.model
    params = format_params(scenario.params)
    sizes = ", ".join(str(n) for n in scenario.sample_sizes)
    estimators = "; ".join(f"<b>{e}</b>: {model.estimators[e].description}" for e in scenario.estimators)
    blocks = ", ".join(b.name for b in model.blocks)
    return {
        "Aims": str(escape(scenario.description))  # the user's text; the rest is markup
        + f" How do the estimators of {blocks} behave as the sample grows from "
        f"n = {min(scenario.sample_sizes)} to {max(scenario.sample_sizes)}: bias, variance, efficiency "
        "against the Cramér–Rao bound, coverage, approach to normality.",
        "Data-generating mechanism": f"{model.describe()}, {params}; n ∈ {{{sizes}}}; "
        f"{scenario.replications:,} independent replications per n, seed {scenario.seed}, each block of "
        f"{BLOCK_SIZE:,} replications drawn from its own PCG64 streams keyed by (seed, scenario, n, block); "
        + SAMPLER_TEXT[scenario.sampler],
        "Estimands": params + ".",
        "Methods": estimators + ".",
        "Performance measures": "mean, bias, variance, MSE, efficiency = CRLB / variance, coverage of the "
        f"{scenario.ci_level:.0%} Wald interval θ̂ ± z·SE with each replication's own standard error; each "
        "with its Monte Carlo standard error (Morris et al. 2019; fourth-moment MCSE for the variance); "
        "z-scores against exact theory.",
    }


def data_uri(path: str | Path) -> str:
    return "data:image/png;base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def timing(benchmarks: Sequence[str | Path]) -> dict:
    """Job count, summed job time and wall-clock span, from Snakemake benchmark files."""
    if not benchmarks:
        return {"jobs": 0, "job_seconds": math.nan, "wall_seconds": math.nan}
    seconds, starts = [], []
    for b in benchmarks:
        s = float(pd.read_csv(b, sep="\t")["s"].iloc[0])
        seconds.append(s)
        starts.append(Path(b).stat().st_mtime - s)
    now = dt.datetime.now().timestamp()
    return {"jobs": len(seconds), "job_seconds": float(sum(seconds)), "wall_seconds": now - min(starts)}


def render(
    study: Study,
    summary: pd.DataFrame,
    checks: Mapping[str, pd.DataFrame],
    figures: Mapping[str, Mapping[str, str | Path]],
    benchmarks: Sequence[str | Path],
    output: str | Path,
    template: str | Path = TEMPLATE,
    manifest: Mapping | None = None,
    chapter: Mapping | None = None,
) -> None:
    """Write the report to ``output``.

    ``manifest`` is :func:`mlestudy.manifest.summarise` of the study's manifest
    plus its ``path``; without it the report gives the config hash alone.
    ``chapter`` is :func:`mlestudy.chapter.chapter_context` (None: no chapter).
    """
    from .report_tables import block_tables  # it formats with this module's helpers

    sections = []
    for sc in study.scenarios:
        part = summary[summary["scenario"] == sc.name]
        rows = table_rows(part)
        sections.append(
            {
                "name": sc.name,
                "family": sc.family,
                "ademp": ademp(sc),
                "tables": block_tables(part, [b.name for b in sc.model.blocks]),
                "notes": sorted({r["note"] for r in rows if r["note"]}),
                "counts": count_notes(part),
                "verdict": verdict(part, expected=expected_rows(sc)),
                "check": check_summary(checks[sc.name]),
                "figures": [
                    {"name": f, "src": data_uri(figures[sc.name][f]), "caption": CAPTIONS[f]} for f in FIGURES
                ],
            }
        )
    overall = verdict(summary, expected=set().union(*(expected_rows(sc) for sc in study.scenarios)))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(template).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    html = env.get_template(Path(template).name).render(
        sections=sections,
        overall={**overall, "rows": len(summary)},
        config_yaml=yaml.safe_dump(study.raw, sort_keys=False),
        seed=study.seed,
        block_size=f"{BLOCK_SIZE:,}",
        versions=versions(),
        commit=git_commit(),
        timing=timing(benchmarks),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        config_sha256=config_sha256(study.raw),
        manifest=manifest,
        chapter=chapter,
        fmt=fmt,
        threshold=Z_DISAGREE,
    )
    write_text_atomic(output, html)
