"""Figures and report, in-process on small studies (no Snakemake)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlestudy import code_version
from mlestudy.aggregate import summarise_scenario
from mlestudy.config import validate
from mlestudy.estimates_io import write_estimates
from mlestudy.figures import _bins, draw_scenario
from mlestudy.outputs import FIGURES
from mlestudy.report import ademp, fmt_count, fmt_pm, missing_reason, render
from mlestudy.simulate import simulate_range


def build(tmp_path: Path, scenario_cfg: dict) -> tuple:
    """Simulate, summarise and draw one small scenario under ``tmp_path``."""
    study = validate({"seed": 3, "scenarios": [scenario_cfg]})
    sc = study.scenarios[0]
    files = {}
    for n in sc.sample_sizes:
        frame = simulate_range(
            sc.model, seed=sc.seed, scenario=sc.name, n=n, first=0, stop=sc.replications,
            estimators=list(sc.estimators),
        )  # fmt: skip
        path = tmp_path / f"{sc.name}_n{n}.parquet"
        write_estimates(frame, path, scenario=sc.name, family=sc.family, params=sc.params, n=n, seed=sc.seed)
        files[n] = [path]
    summary = summarise_scenario(sc, files)
    outputs = {f: tmp_path / f"{sc.name}_{f}.svg" for f in FIGURES}
    frames = {n: pd.read_parquet(files[n][0]) for n in (min(files), max(files))}
    draw_scenario(sc, summary, frames, outputs)
    return study, summary, outputs


@pytest.mark.parametrize(
    "cfg",
    [
        {
            "name": "s2only",
            "family": "normal",
            "params": {"mu": 0.0, "sigma2": 1.0},
            "estimators": ["unbiased"],
        },
        {"name": "waits", "family": "exponential", "params": {"rate": 2.0}},
        {"name": "coin", "family": "bernoulli", "params": {"p": 0.05}},
        {"name": "shapes", "family": "gamma", "params": {"shape": 2.0, "rate": 1.0}},
    ],
    ids=lambda c: c["name"],
)
def test_every_figure_and_the_report(tmp_path: Path, cfg: dict) -> None:
    """Any valid scenario, including one without the MLE, gets all figures and a report."""
    study, summary, outputs = build(tmp_path, {**cfg, "sample_sizes": [1, 2, 30], "replications": 2000})
    for path in outputs.values():
        assert path.read_bytes()[:5] == b"<?xml" and b"<svg" in path.read_bytes()[:500]
        assert path.stat().st_size > 5000
    checks = pd.DataFrame(
        {
            "n": [2],
            "replication": [0],
            "parameter": ["x"],
            "abs_diff": [1e-9],
            "boundary": [False],
            "converged": [True],
        }
    )
    html_path = tmp_path / "report.html"
    render(study, summary, {cfg["name"]: checks}, {cfg["name"]: outputs}, [], html_path)
    html = html_path.read_text()
    assert html.count("data:image/svg+xml;base64,") == len(FIGURES)
    assert not re.search(r"(?i)\bnan\b", html)  # missing values print as a dash, never 'nan'


def test_missing_values_are_explained() -> None:
    """A dash in the table always comes with a reason."""
    row = {
        "finite_moments": 1,
        "n_failed": 0,
        "replications": 10,
        "n": 2,
        "estimator": "mle",
        "exact_mean": 1.0,
    }
    assert "variance of mle is infinite at n = 2" in missing_reason(row)
    row.update(finite_moments=3, n=4)
    assert "fourth moment" in missing_reason(row)
    row.update(n_failed=10)
    assert "undefined" in missing_reason(row)
    assert missing_reason({**row, "n_failed": 0, "finite_moments": np.inf}) is None


def test_value_rounded_to_its_mcse() -> None:
    assert fmt_pm(0.70001234, 0.00046) == "0.70001 ± 0.00046"
    assert fmt_pm(3.14159, 0.012) == "3.142 ± 0.012"
    assert fmt_pm(float("nan"), 0.1) == "—"


def test_code_hash_is_per_family_and_stable() -> None:
    """Each family's simulations depend on its own module: hashes differ, and repeat."""
    hashes = {f: code_version.code_hash(code_version.SIMULATION, f) for f in ("normal", "poisson")}
    assert hashes["normal"] != hashes["poisson"]
    assert hashes["normal"] == code_version.code_hash(code_version.SIMULATION, "normal")
    assert code_version.code_hash(code_version.SUMMARY, "normal") != hashes["normal"]


def test_histogram_bins_lattice_only_for_a_lattice() -> None:
    """A discrete estimator gets lattice-centred bins; a few hundred continuous values get 80.

    Bins as narrow as the closest pair of 300 normal draws would number in the
    hundreds of thousands (a small study's figures took minutes).
    """
    z = np.random.default_rng(1).normal(size=300)
    assert _bins(z, -5.0, 5.0) == 80
    lattice = np.sqrt(20) * (np.arange(21) / 20 - 0.3)  # sqrt(n)(k/n - p), n = 20
    bins = _bins(np.repeat(lattice, 3), -5.0, 5.0)
    width = np.sqrt(20) / 20
    assert isinstance(bins, np.ndarray) and np.allclose(np.diff(bins), width)
    centres = (bins[:-1] + bins[1:]) / 2
    inside = lattice[(lattice >= -5) & (lattice <= 5)]
    assert np.allclose(centres[: inside.size], inside)


def test_description_is_escaped_in_the_report() -> None:
    """A scenario's description is the user's text: it is shown, never run as markup."""
    study = validate({"seed": 1, "scenarios": [{
        "name": "c", "family": "bernoulli", "params": {"p": 0.5}, "sample_sizes": [2], "replications": 10,
        "description": "<img src=x onerror=alert(1)> p & q",
    }]})  # fmt: skip
    aims = ademp(study.scenarios[0])["Aims"]
    assert aims.startswith("&lt;img src=x onerror=alert(1)&gt; p &amp; q How do")
    assert "<b>mle</b>" in ademp(study.scenarios[0])["Methods"]  # the package's own markup stays


def test_count_with_its_share() -> None:
    """Counts of replications print with their share, which never rounds to a false 0% or 100%."""
    assert fmt_count(0, 4000) == "0"
    assert fmt_count(1700, 3000) == "1,700 (56.7%)"
    assert fmt_count(3, 100_000) == "3 (<0.1%)"
    assert fmt_count(99_999, 100_000) == "99,999 (>99.9%)"
    assert fmt_count(4000, 4000) == "4,000 (100%)"


def test_report_scales_to_ten_coefficients(tmp_path: Path) -> None:
    """p = 10: one panel per block (never per coefficient), figures of bounded size, few visible rows."""
    from mlestudy.report import image_height, image_width

    beta = [0.5, 1.0, -1.0, 0.25, 2.0, -0.5, 0.0, 1.5, -2.0, 0.75]
    cfg = {
        "name": "wide",
        "family": "linear_regression",
        "params": {"beta": beta, "sigma2": 2.0},
        "sample_sizes": [12, 30, 200],
        "replications": 2000,
    }
    study, summary, outputs = build(tmp_path, cfg)
    assert len(summary) == 3 * (10 + 1) + 3  # mle: 10 coefficients and sigma2; unbiased: sigma2
    for name, path in outputs.items():
        width, height = image_width(path), image_height(path)  # CSS px at natural size
        assert width <= 1250 and height <= 1300, (name, width, height)
    checks = pd.DataFrame({"n": [12], "replication": [0], "parameter": ["beta[0]"], "abs_diff": [1e-9],
                           "boundary": [False], "converged": [True]})  # fmt: skip
    html_path = tmp_path / "report.html"
    render(study, summary, {"wide": checks}, {"wide": outputs}, [], html_path)
    html = html_path.read_text()
    section = re.search(r'(?s)<section id="wide">.*?</section>', html).group(0)
    visible = re.sub(r"(?s)<details>.*?</details>", "", section)
    assert "β̂ (beta): 10 elements" in visible
    assert section.count("<details>") == 1
    # Visible: the beta block's summary table, 3 rows (mle at each n), and sigma2's 6 rows (two
    # estimators) in each of its four tables (theory, performance, coverage, model SE), each with a header row.
    assert visible.count("<tr") == (1 + 3) + 4 * (1 + 6), visible.count("<tr")
    # Folded: every coefficient's rows in the four per-row tables, each with its header.
    assert section.count("<tr") - visible.count("<tr") == 4 * (1 + 30)
