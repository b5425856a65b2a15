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
import re
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import yaml
from markupsafe import escape

from .atomic import write_text_atomic
from .config import Scenario, Study
from .findings import key_findings, overview
from .grid import Grid
from .headline import headline
from .labels import text_label
from .narrative import captions as figure_captions
from .narrative import what_to_see
from .numbers import Column
from .outputs import FIGURES, TITLES, alt_text
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
    """'value ± mcse', the value rounded to the precision its MCSE supports (a column of one: see :class:`Column`)."""
    return Column.of([(value, mcse)]).pm(value, mcse)


def fmt_z(z: float) -> str:
    """A z-score to two decimals; a dash where there is no theory to compare with, ±∞ where z is infinite."""
    if z is None or math.isnan(z):
        return "—"
    if math.isinf(z):
        return "∞" if z > 0 else "−∞"
    return f"{z:.2f}"


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


COLUMNS = {
    "mean": ("mean", "bias_mcse"),
    "bias": ("bias", "bias_mcse"),
    "variance": ("variance", "variance_mcse"),
    "mse": ("mse", "mse_mcse"),
    "efficiency": ("efficiency", "efficiency_mcse"),
    "coverage": ("coverage", "coverage_mcse"),
    "be_coverage": ("be_coverage", "be_coverage_mcse"),
    "emp_se": ("emp_se", "emp_se_mcse"),
    "model_se": ("model_se", "model_se_mcse"),
    "rel_error_model_se": ("rel_error_model_se", "rel_error_model_se_mcse"),
}
"""Table column -> (value column, its MCSE column) of the summary (a column it lacks shows a dash)."""


def _flag(z: float) -> bool:
    """A z-score the verdict counts against theory: |z| at the threshold, or not finite where theory exists."""
    return bool(abs(z) >= Z_DISAGREE) if not math.isnan(z) else False


def table_rows(summary: pd.DataFrame, notes: list[str] | None = None) -> list[dict]:
    """Formatted rows of one block's summary tables.

    Every value is rounded to its MCSE (:mod:`mlestudy.numbers`), in one
    notation per column; an exact value to the precision of the simulated one
    beside it.  ``note`` says why a row has dashes; ``note_id`` numbers the
    distinct notes, shown as footnotes; pass one ``notes`` list to every table
    of a section so that they share the numbering (it is extended in place).
    """
    absent = dict.fromkeys([c for pair in COLUMNS.values() for c in pair], math.nan)
    records = [{**absent, **r} for r in summary.to_dict("records")]
    style = {k: Column.of((r[v], r[m]) for r in records) for k, (v, m) in COLUMNS.items()}
    notes = [] if notes is None else notes
    rows = []
    for r in records:
        note = missing_reason(r)
        if note and note not in notes:
            notes.append(note)
        cell = {k: style[k].pm(r[v], r[m]) for k, (v, m) in COLUMNS.items()}
        rows.append(
            {
                "estimator": r["estimator"],
                "parameter": r["parameter"],
                "parameter_label": text_label(r["parameter"], hat=True),
                "n": r["n"],
                "failed": fmt_count(int(r["n_failed"]), int(r["replications"])),
                "boundary": fmt_count(int(r["n_boundary"]), int(r["replications"])),
                **cell,
                "exact_mean": style["mean"].like(r["exact_mean"], r["mean"], r["bias_mcse"]),
                "z_mean": fmt_z(r["z_mean"]),
                "z_mean_flag": _flag(r["z_mean"]),
                "exact_variance": style["variance"].like(
                    r["exact_variance"], r["variance"], r["variance_mcse"]
                ),
                "z_variance": fmt_z(r["z_variance"]),
                "z_variance_flag": _flag(r["z_variance"]),
                "crlb": style["variance"].like(r["crlb"], r["variance"], r["variance_mcse"]),
                "exact_coverage": style["coverage"].like(
                    r["exact_coverage"], r["coverage"], r["coverage_mcse"]
                ),
                "z_coverage": fmt_z(r["z_coverage"]),
                "z_coverage_flag": _flag(r["z_coverage"]),
                "note": note,
                "note_id": notes.index(note) + 1 if note else None,
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
    """``β (beta) = (1, 2, −1), σ² (sigma2) = 4``: a scenario's parameters, with the names the config uses."""

    def one(v: object) -> str:
        if isinstance(v, list):
            return "(" + ", ".join(one(x) for x in v) + ")"
        return f"{v:g}".replace("-", "−")

    def name(k: str) -> str:
        label = text_label(k)
        return label if label == k else f"{label} ({k})"

    return ", ".join(f"{name(k)} = {one(v)}" for k, v in params.items())


def ademp(scenario: Scenario) -> dict[str, str]:
    """The scenario described in the ADEMP frame."""
    model = scenario.model
    params = format_params(scenario.params)
    sizes = ", ".join(str(n) for n in scenario.sample_sizes)
    estimators = "; ".join(f"<b>{e}</b>: {model.estimators[e].description}" for e in scenario.estimators)
    blocks = ", ".join(text_label(b.name) for b in model.blocks)
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


MIME = {".svg": "image/svg+xml", ".png": "image/png"}


def grid_section(grid: Grid, figure: str | Path) -> dict:
    """What the report says about one scenario grid, with its nested-loop figure."""
    axes = "; ".join(
        f"{axis} ∈ {{{', '.join(str(v) for v in levels)}}}"
        for axis, levels in zip(grid.axes, grid.levels, strict=True)
    )
    return {
        "name": grid.name,
        "axes": axes,
        "members": [m.scenario for m in grid.members],
        "src": data_uri(figure),
        "width": image_width(figure),
        "alt": f"Nested-loop plot of grid {grid.name} ({axes}): bias over √CRLB, Wald coverage and efficiency of "
        f"each estimator for its {len(grid.members)} scenarios and their sample sizes in nested-loop order, "
        "± 2 MCSE, with step lines below giving each axis's level",
    }


def _image_size(path: str | Path, what: str) -> int:
    data = Path(path).read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return int.from_bytes(data[16:20] if what == "width" else data[20:24], "big")
    match = re.search(rb"<svg[^>]*?\s" + what.encode() + rb'="([0-9.]+)(pt|px)?"', data[:4000])
    if not match:
        raise ValueError(f"{path}: neither a PNG nor an SVG with a {what}")
    scale = 4 / 3 if match[2] in (b"pt", None) else 1.0  # 1 pt = 4/3 CSS px
    return round(float(match[1]) * scale)


def image_width(path: str | Path) -> int:
    """Natural width of an SVG (its ``width`` in pt) or PNG, in CSS pixels: the figure is shown at most this wide."""
    return _image_size(path, "width")


def image_height(path: str | Path) -> int:
    """Natural height of an SVG or PNG, in CSS pixels."""
    return _image_size(path, "height")


def data_uri(path: str | Path) -> str:
    """The file as a base64 data URI, so the report opens offline as one file."""
    mime = MIME[Path(path).suffix.lower()]
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


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
    grids: Mapping[str, str | Path] | None = None,
    chapter: Mapping | None = None,
) -> dict[str, dict]:
    """Write the report to ``output``; return each scenario's verdict (:func:`mlestudy.verdict.verdict`).

    ``manifest`` is :func:`mlestudy.manifest.summarise` of the study's manifest
    plus its ``path``; without it the report gives the config hash alone.
    ``grids`` maps each of the study's scenario grids to its nested-loop figure.
    ``chapter`` is :func:`mlestudy.chapter.chapter_context` (None: no chapter).
    """
    from .report_tables import block_tables  # it formats with this module's helpers

    sections = []
    for sc in study.scenarios:
        part = summary[summary["scenario"] == sc.name]
        notes: list[str] = []
        number = len(sections) + 1
        caption = figure_captions(sc.model, part)
        sections.append(
            {
                "name": sc.name,
                "number": number,
                "family": sc.family,
                "ci_level": f"{100 * sc.ci_level:g}%",
                "ademp": ademp(sc),
                "description": sc.description.strip(),
                "what_to_see": what_to_see(sc, part),
                "tables": block_tables(part, [b.name for b in sc.model.blocks], notes),
                "notes": notes,
                "counts": count_notes(part),
                "verdict": verdict(part, expected=expected_rows(sc)),
                "check": check_summary(checks[sc.name]),
                "figures": [
                    {
                        "name": f,
                        "src": data_uri(figures[sc.name][f]),
                        "width": image_width(figures[sc.name][f]),
                        "title": TITLES[f],
                        "caption": caption[f],
                        "alt": alt_text(f, sc),
                    }
                    for f in FIGURES
                ],
            }
        )
    overall = verdict(summary, expected=set().union(*(expected_rows(sc) for sc in study.scenarios)))
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(Path(template).parent),
        autoescape=True,
        undefined=jinja2.StrictUndefined,
    )
    verdicts = {s["name"]: s["verdict"] for s in sections}
    grid_sections = [grid_section(g, (grids or {})[g.name]) for g in study.grids]
    html = env.get_template(Path(template).name).render(
        sections=sections,
        grids=grid_sections,
        headline=headline(verdicts),
        findings=key_findings(summary, verdicts),
        overview=overview(summary, verdicts, [s["name"] for s in sections]),
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
    return verdicts
