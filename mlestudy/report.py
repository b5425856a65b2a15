"""The study's HTML report: one self-contained file, figures embedded.

Each scenario is written up in the ADEMP frame of Morris et al. (2019): aims,
data-generating mechanism, estimands, methods, performance measures.  Every
number is printed with its Monte Carlo standard error, and a number that does
not exist (an infinite moment) is printed as a dash with the reason.
"""

from __future__ import annotations

import base64
import datetime as dt
import importlib.metadata
import math
import platform
import re
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import yaml
from markupsafe import escape

from .atomic import write_text_atomic
from .config import Scenario, Study
from .grid import Grid
from .headline import headline
from .labels import text_label
from .manifest import config_sha256
from .numbers import Column
from .outputs import CAPTIONS, FIGURES, TITLES, alt_text
from .seeding import BLOCK_SIZE

TEMPLATE = Path(__file__).resolve().parents[1] / "report" / "template.html.j2"
Z_DISAGREE = 4.0
"""|z| at or above which simulation and theory are said to disagree."""

PACKAGES = ("mlestudy", "numpy", "scipy", "pandas", "pyarrow", "matplotlib", "seaborn", "snakemake", "jinja2")


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
        if r.n_failed:
            parts.append(f"{fmt_count(int(r.n_failed), int(r.replications))} failed")
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
}
"""Table column -> (value column, its MCSE column) of the summary."""


def table_rows(summary: pd.DataFrame) -> list[dict]:
    """Formatted rows of one scenario's summary tables.

    Every value is rounded to its MCSE (:mod:`mlestudy.numbers`), in one
    notation per column; an exact value to the precision of the simulated one
    beside it.  ``note`` says why a row has dashes; ``note_id`` numbers the
    distinct notes of the table, shown as footnotes.
    """
    records = summary.to_dict("records")
    style = {k: Column.of((r[v], r[m]) for r in records) for k, (v, m) in COLUMNS.items()}
    notes: list[str] = []
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
                "parameter_label": text_label(r["parameter"]),
                "n": r["n"],
                "failed": fmt_count(int(r["n_failed"]), int(r["replications"])),
                "boundary": fmt_count(int(r["n_boundary"]), int(r["replications"])),
                **cell,
                "exact_mean": style["mean"].like(r["exact_mean"], r["mean"], r["bias_mcse"]),
                "z_mean": fmt_z(r["z_mean"]),
                "z_mean_flag": abs(r["z_mean"]) >= Z_DISAGREE,
                "exact_variance": style["variance"].like(
                    r["exact_variance"], r["variance"], r["variance_mcse"]
                ),
                "z_variance": fmt_z(r["z_variance"]),
                "z_variance_flag": abs(r["z_variance"]) >= Z_DISAGREE,
                "crlb": style["variance"].like(r["crlb"], r["variance"], r["variance_mcse"]),
                "note": note,
                "note_id": notes.index(note) + 1 if note else None,
            }
        )
    return rows


def fmt_z(z: float) -> str:
    """A z-score to two decimals; a dash where there is no theory to compare with."""
    return f"{z:.2f}" if math.isfinite(z) else "—"


def z_scores(summary: pd.DataFrame) -> np.ndarray:
    """All finite z-scores (mean and variance) of a summary table."""
    z = np.concatenate([summary["z_mean"].to_numpy(float), summary["z_variance"].to_numpy(float)])
    return z[np.isfinite(z)]


def verdict(summary: pd.DataFrame) -> dict:
    """Do simulation and exact theory agree?  Based on the z-scores."""
    z = z_scores(summary)
    bad = summary[(summary["z_mean"].abs() >= Z_DISAGREE) | (summary["z_variance"].abs() >= Z_DISAGREE)]
    return {
        "comparisons": int(z.size),
        "rms": float(np.sqrt(np.mean(z**2))) if z.size else math.nan,
        "max_abs": float(np.max(np.abs(z))) if z.size else math.nan,
        "agree": bool(z.size) and bad.empty,
        "disagree": [f"{r.estimator} {r.parameter} at n = {r.n}" for r in bad.itertuples()],
        "threshold": Z_DISAGREE,
    }


def check_summary(checks: pd.DataFrame) -> dict:
    """Closed-form vs numerical MLE, in a few numbers."""
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
    }


SAMPLER_TEXT = {
    "data": "every observation is drawn and reduced to the estimators' statistics.",
    "sufficient": "the sufficient statistic is drawn directly from its exact distribution "
    "(sampler: sufficient), which gives the estimators the same law as drawing every observation.",
}


def ademp(scenario: Scenario) -> dict[str, str]:
    """The scenario described in the ADEMP frame."""
    fam = scenario.family_obj
    params = ", ".join(f"{k} = {v:g}" for k, v in scenario.params.items())
    sizes = ", ".join(str(n) for n in scenario.sample_sizes)
    estimators = "; ".join(f"<b>{e}</b>: {fam.estimator(e).description}" for e in scenario.estimators)
    return {
        "Aims": str(escape(scenario.description))  # the user's text; the rest is markup
        + f" How do the estimators of {', '.join(f'{text_label(k)} ({k})' for k in fam.parameter_names)} behave as the sample grows from "
        f"n = {min(scenario.sample_sizes)} to {max(scenario.sample_sizes)}: bias, variance, efficiency "
        "against the Cramér–Rao bound, approach to normality.",
        "Data-generating mechanism": f"{fam.description}, {params}; n ∈ {{{sizes}}}; "
        f"{scenario.replications:,} independent replications per n, seed {scenario.seed}, each block of "
        f"{BLOCK_SIZE:,} replications drawn from its own PCG64 stream keyed by (seed, scenario, n, block); "
        + SAMPLER_TEXT[scenario.sampler],
        "Estimands": ", ".join(f"{text_label(k)} ({k}) = {v:g}" for k, v in scenario.params.items()) + ".",
        "Methods": estimators + ".",
        "Performance measures": "mean, bias, variance, MSE, efficiency = CRLB / variance, coverage of the "
        f"{scenario.ci_level:.0%} Wald interval θ̂ ± z·√(1/(n·I(θ̂))); each with its Monte Carlo standard "
        "error (Morris et al. 2019; fourth-moment MCSE for the variance); z-scores against exact theory.",
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


def image_width(path: str | Path) -> int:
    """Natural width of an SVG (its ``width`` in pt) or PNG, in CSS pixels: the figure is shown at most this wide."""
    data = Path(path).read_bytes()
    if data[:8] == b"\x89PNG\r\n\x1a\n":
        return int.from_bytes(data[16:20], "big")
    match = re.search(rb'<svg[^>]*?\swidth="([0-9.]+)(pt|px)?"', data[:4000])
    if not match:
        raise ValueError(f"{path}: neither a PNG nor an SVG with a width")
    scale = 4 / 3 if match[2] in (b"pt", None) else 1.0  # 1 pt = 4/3 CSS px
    return round(float(match[1]) * scale)


def data_uri(path: str | Path) -> str:
    """The file as a base64 data URI, so the report opens offline as one file."""
    mime = MIME[Path(path).suffix.lower()]
    return f"data:{mime};base64," + base64.b64encode(Path(path).read_bytes()).decode("ascii")


def git_commit(cwd: str | Path = ".") -> str:
    """HEAD, with '+dirty' when tracked files differ; 'unknown' outside git."""
    try:
        head = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=cwd, capture_output=True, text=True, check=True
        ).stdout.strip()
        dirty = subprocess.run(
            ["git", "status", "--porcelain", "--untracked-files=no"],
            cwd=cwd,
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "unknown (not a git checkout)"
    return head + ("+dirty" if dirty else "")


def versions() -> dict[str, str]:
    out = {"python": platform.python_version()}
    for p in PACKAGES:
        try:
            out[p] = importlib.metadata.version(p)
        except importlib.metadata.PackageNotFoundError:
            out[p] = "not installed"
    return out


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
) -> dict[str, dict]:
    """Write the report to ``output``; return each scenario's verdict (:func:`verdict`).

    ``manifest`` is :func:`mlestudy.manifest.summarise` of the study's manifest
    plus its ``path``; without it the report gives the config hash alone.
    ``grids`` maps each of the study's scenario grids to its nested-loop figure.
    """
    sections = []
    for sc in study.scenarios:
        part = summary[summary["scenario"] == sc.name]
        rows = table_rows(part)
        sections.append(
            {
                "name": sc.name,
                "number": len(sections) + 1,
                "family": sc.family,
                "ci_level": f"{100 * sc.ci_level:g}%",
                "ademp": ademp(sc),
                "rows": rows,
                "notes": list(dict.fromkeys(r["note"] for r in rows if r["note"])),
                "counts": count_notes(part),
                "verdict": verdict(part),
                "check": check_summary(checks[sc.name]),
                "figures": [
                    {
                        "name": f,
                        "src": data_uri(figures[sc.name][f]),
                        "width": image_width(figures[sc.name][f]),
                        "title": TITLES[f],
                        "caption": CAPTIONS[f],
                        "alt": alt_text(f, sc),
                    }
                    for f in FIGURES
                ],
            }
        )
    z = z_scores(summary)
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
        overall={
            "comparisons": int(z.size),
            "rms": float(np.sqrt(np.mean(z**2))) if z.size else math.nan,
            "max_abs": float(np.abs(z).max()) if z.size else math.nan,
            "rows": len(summary),
        },
        config_yaml=yaml.safe_dump(study.raw, sort_keys=False),
        seed=study.seed,
        block_size=f"{BLOCK_SIZE:,}",
        versions=versions(),
        commit=git_commit(),
        timing=timing(benchmarks),
        generated=dt.datetime.now(dt.UTC).strftime("%Y-%m-%d %H:%M:%S UTC"),
        config_sha256=config_sha256(study.raw),
        manifest=manifest,
        fmt=fmt,
        threshold=Z_DISAGREE,
    )
    write_text_atomic(output, html)
    return verdicts
