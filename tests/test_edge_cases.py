"""Numerical edge cases never crash and never vanish: they are counted, and the report shows the counts.

Each scenario runs in-package, as the jobs do: simulate_range -> estimate files ->
summarise_scenario -> report table rows -> rendered HTML.  The boundary and
failure counts are checked against a count made independently from the
per-replication estimates, and against their probability where it has a closed
form (|count - R P| <= 4 sd, sd = sqrt(R P (1 - P)) of the binomial count; 4 is
the report's own disagreement threshold).
"""

from __future__ import annotations

import base64
import math
from html import escape
from html.parser import HTMLParser
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from mlestudy.aggregate import summarise_scenario
from mlestudy.config import ConfigError, Scenario, Study, _build, validate
from mlestudy.estimates_io import write_estimates
from mlestudy.outputs import FIGURES
from mlestudy.report import Z_DISAGREE, count_notes, fmt_count, render, table_rows
from mlestudy.simulate import simulate_range
from mlestudy.verdict import expected_rows, verdict

R = 4000
PNG_1X1 = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="
)


def fitted_frame(sc: Scenario, x: np.ndarray) -> pd.DataFrame:
    """Per-replication estimates of raw data rows, in the simulate jobs' layout."""
    fits = sc.model.family.fit(x)
    columns = {"replication": np.arange(len(x))}
    for e in sc.estimators:
        targets = sc.model.estimators[e].parameters(sc.model)
        columns |= {f"{e}.{p}": fits[e].values[p] for p in targets}
        columns[f"{e}.status"] = fits[e].status
        columns |= {f"{e}.se.{p}": fits[e].se[p] for p in targets}
    return pd.DataFrame(columns)


def run(
    tmp_path: Path, data: bool = False, validated: bool = True, **scenario
) -> tuple[Study, dict[int, pd.DataFrame], pd.DataFrame]:
    """Simulate and summarise one scenario of R replications, as the jobs would.

    ``data=True`` fits the family's raw float64 samples instead (Family.fit),
    for edge cases that only rounding of the data produces.  ``validated=False``
    skips validation, for a config that is refused but whose handling downstream
    is tested all the same.
    """
    config = {"seed": 17, "scenarios": [{"name": "edge", "replications": R, **scenario}]}
    study = validate(config) if validated else _build(config)
    sc = study.scenarios[0]
    frames, files = {}, {}
    for n in sc.sample_sizes:
        if data:
            frames[n] = fitted_frame(sc, sc.model.family.sample(np.random.default_rng(n), sc.params, (R, n)))
        else:
            frames[n] = simulate_range(sc.model.family, sc.params, seed=sc.seed, scenario=sc.name, n=n, first=0,
                                       stop=R, estimators=list(sc.estimators))  # fmt: skip
        files[n] = [tmp_path / f"n{n}.parquet"]
        write_estimates(frames[n], files[n][0], scenario=sc.name, family=sc.family, params=sc.params, n=n)
    return study, frames, summarise_scenario(sc, files)


class SummaryTables(HTMLParser):
    """The count cells of every row of the report's performance tables, by section id.

    Rows carry ``data-estimator``, ``data-parameter`` and ``data-n``; the count
    cells have the classes ``failed`` and ``boundary``.
    """

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[str, dict[tuple, dict[str, str]]] = {}
        self._section: str | None = None
        self._in_table = False
        self._row: dict[str, str] | None = None
        self._key: tuple | None = None
        self._cell: tuple[str, list[str]] | None = None

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        attrs_ = dict(attrs)
        classes = (attrs_.get("class") or "").split()
        if tag == "section":
            self._section = attrs_.get("id")
        elif tag == "table":
            self._in_table = "summary" in classes and "performance" in classes
        elif tag == "tr" and self._in_table and "data-n" in attrs_:
            self._row = {}
            self._key = (attrs_["data-estimator"], attrs_["data-parameter"], int(attrs_["data-n"]))
        elif tag == "td" and self._row is not None:
            kind = next((c for c in classes if c in ("failed", "boundary")), "")
            self._cell = (kind, [])

    def handle_endtag(self, tag: str) -> None:
        if tag == "td" and self._cell is not None and self._row is not None:
            kind, text = self._cell
            if kind:
                self._row[kind] = "".join(text).strip()
            self._cell = None
        elif tag == "tr" and self._row is not None:
            self.rows.setdefault(str(self._section), {})[self._key] = self._row
            self._row = None
        elif tag == "table":
            self._in_table = False

    def handle_data(self, data: str) -> None:
        if self._cell is not None:
            self._cell[1].append(data)


def rendered(tmp_path: Path, study: Study, summary: pd.DataFrame) -> tuple[str, dict[tuple, dict[str, str]]]:
    """The report's HTML and its count cells keyed by (estimator, parameter, n)."""
    figures = {}
    for name in FIGURES:
        figures[name] = tmp_path / f"{name}.png"
        figures[name].write_bytes(PNG_1X1)  # the figures are not what is tested here
    checks = pd.DataFrame({"n": [1], "replication": [0], "parameter": ["x"], "abs_diff": [0.0],
                           "boundary": [False], "converged": [True]})  # fmt: skip
    out = tmp_path / "report.html"
    render(study, summary, {"edge": checks}, {"edge": figures}, [], out)
    html = out.read_text(encoding="utf-8")
    parser = SummaryTables()
    parser.feed(html)
    return html, parser.rows["edge"]


def assert_counts_shown(tmp_path: Path, study: Study, summary: pd.DataFrame, expected: dict[tuple, tuple]):
    """Summary, table rows and HTML all carry ``expected[(estimator, parameter, n)] = (failed, boundary)``."""
    got = {(r.estimator, r.parameter, r.n): (r.n_failed, r.n_boundary) for r in summary.itertuples()}
    assert got == expected
    rows = {(r["estimator"], r["parameter"], r["n"]): r for r in table_rows(summary)}
    html, cells = rendered(tmp_path, study, summary)
    for key, (failed, boundary) in expected.items():
        assert (rows[key]["failed"], rows[key]["boundary"]) == (fmt_count(failed, R), fmt_count(boundary, R))
        shown = cells[key]
        assert [shown["failed"], shown["boundary"]] == [fmt_count(failed, R), fmt_count(boundary, R)], shown
        assert shown["failed"].startswith(f"{failed:,}") and shown["boundary"].startswith(f"{boundary:,}")
    notes = count_notes(summary)
    for (estimator, _, n), (failed, boundary) in expected.items():
        said = [note for note in notes if note.startswith(f"{estimator} at n = {n}: ")]
        assert len(said) == (1 if failed or boundary else 0), notes
        if boundary:
            assert f"{fmt_count(boundary, R)} on the boundary" in said[0]
        if failed:
            assert f"{fmt_count(failed, R)} failed" in said[0]
    for note in notes:
        assert f"<li>{escape(note)}.</li>" in html
    assert "Boundary estimates and failures." in html
    return html


def assert_binomial(count: int, p: float) -> None:
    """``count`` of R independent replications agrees with probability ``p`` within 4 sd."""
    sd = math.sqrt(R * p * (1 - p))
    assert abs(count - R * p) <= Z_DISAGREE * sd, (count, R * p, sd)


def test_bernoulli_all_zero_and_all_one_samples_are_counted(tmp_path: Path) -> None:
    """p-hat in {0, 1} is a boundary estimate: counted, kept in the measures, shown in the report."""
    p, sizes = 0.3, [1, 2, 5, 20]
    study, frames, summary = run(tmp_path, family="bernoulli", params={"p": p}, sample_sizes=sizes)
    expected = {}
    for n in sizes:
        k = np.rint(frames[n]["mle.p"].to_numpy() * n)  # successes, from the estimates alone
        edge = int(((k == 0) | (k == n)).sum())
        expected[("mle", "p", n)] = (0, edge)
        assert_binomial(edge, (1 - p) ** n + p**n)
    assert expected[("mle", "p", 1)] == (0, R)  # at n = 1 every p-hat is 0 or 1
    assert expected[("mle", "p", 20)][1] > 0  # (0.7^20 = 8e-4: a few of 4,000)
    assert (summary["replications"] == R).all()
    assert_counts_shown(tmp_path, study, summary, expected)


def test_poisson_all_zero_samples_are_counted(tmp_path: Path) -> None:
    """x-bar = 0 (every count zero) puts the rate MLE on the boundary: P = exp(-n rate)."""
    rate, sizes = 0.2, [1, 3, 10]
    study, frames, summary = run(tmp_path, family="poisson", params={"rate": rate}, sample_sizes=sizes)
    expected = {}
    for n in sizes:
        zero = int((frames[n]["mle.rate"].to_numpy() == 0).sum())
        expected[("mle", "rate", n)] = (0, zero)
        assert_binomial(zero, math.exp(-n * rate))
    assert_counts_shown(tmp_path, study, summary, expected)
    # Boundary estimates stay in the measures: the mean is of all R estimates.
    row = summary[summary["n"] == 3].iloc[0]
    assert row["mean"] == pytest.approx(frames[3]["mle.rate"].mean(), rel=1e-12)


def test_normal_n1_variance_on_boundary_and_unbiased_undefined(tmp_path: Path) -> None:
    """At n = 1 sigma2-hat = 0 for every replication (boundary); s^2 divides by n - 1 = 0 (failed)."""
    study, frames, summary = run(tmp_path, family="normal", params={"mu": 5.0, "sigma2": 4.0},
                                 sample_sizes=[1, 2, 10])  # fmt: skip
    assert (frames[1]["mle.sigma2"] == 0).all() and frames[1]["unbiased.sigma2"].isna().all()
    expected = {("mle", p, 1): (0, R) for p in ("mu", "sigma2")} | {("unbiased", "sigma2", 1): (R, 0)}
    for n in (2, 10):  # a continuous sample is constant with probability 0
        expected |= {
            ("mle", "mu", n): (0, 0),
            ("mle", "sigma2", n): (0, 0),
            ("unbiased", "sigma2", n): (0, 0),
        }
    html = assert_counts_shown(tmp_path, study, summary, expected)
    mu1 = summary[(summary["parameter"] == "mu") & (summary["n"] == 1)].iloc[0]
    assert mu1["coverage"] == 0.0  # the Wald interval has zero width when sigma2-hat = 0
    assert "unbiased is undefined at n = 1" in html
    unbiased1 = summary[(summary["estimator"] == "unbiased") & (summary["n"] == 1)].iloc[0]
    assert np.isnan(unbiased1["mean"]) and unbiased1["n_failed"] == R


def test_constant_samples_are_boundary(tmp_path: Path) -> None:
    """sd 1e-20 is far below half an ulp of 0.1 (7e-18): every float64 sample is constant, so sigma2-hat = 0.

    The mean of a constant sample of 0.1 is not exactly 0.1 in float64, which
    leaves a sum of squares of order 1e-34 unless constant rows are recognised.
    (A config with these parameters is refused: see the test below.  Constant
    samples are still counted as the boundary wherever they come from.)
    """
    study, frames, summary = run(tmp_path, data=True, validated=False, family="normal",
                                 params={"mu": 0.1, "sigma2": 1e-40}, sample_sizes=[2, 7])  # fmt: skip
    for n in (2, 7):
        assert (frames[n]["mle.sigma2"] == 0).all() and (frames[n]["unbiased.sigma2"] == 0).all()
    expected = {(e, p, n): (0, R) for n in (2, 7) for e, p in [("mle", "mu"), ("mle", "sigma2"),
                                                               ("unbiased", "sigma2")]}  # fmt: skip
    assert_counts_shown(tmp_path, study, summary, expected)


def test_spread_below_float64_resolution_is_refused_and_never_green(tmp_path: Path) -> None:
    """mu = 0.1 with sigma2 = 1e-40: x-bar's spread (1e-20 / sqrt(n)) is below the float64 steps at 0.1.

    The config is refused before any job, naming the key.  Run anyway, the
    simulate path (which reduces z = (x - mu)/sd) still gets sigma2-hat right,
    but mu-hat only takes neighbouring float64 values: its variance is the
    rounding's, a million times the exact sigma2/n, with a zero MCSE, so z is
    not finite.  The verdict is red and says why, instead of dropping the two
    comparisons (19 made possible by theory: mean, variance and coverage of 6
    rows, and the MLE's E[KL] at n = 7, judged once for the estimator (exact for
    n > 3); 17 with a finite z).
    """
    scenario = {"family": "normal", "params": {"mu": 0.1, "sigma2": 1e-40}, "sample_sizes": [2, 7]}
    with pytest.raises(
        ConfigError, match=r"key 'params' = \{'mu': 0.1, 'sigma2': 1e-40\} is not allowed.*below float64"
    ):
        run(tmp_path, **scenario)
    study, _, summary = run(tmp_path, validated=False, **scenario)
    rows = summary[(summary["estimator"] == "mle") & (summary["parameter"] == "sigma2")]
    assert (rows["n_boundary"] == 0).all()
    assert (rows["z_mean"].abs() < Z_DISAGREE).all(), rows[["n", "mean", "exact_mean", "z_mean"]]
    mu = summary[summary["parameter"] == "mu"]
    assert (mu["variance"] > 1e6 * mu["exact_variance"]).all() and mu["z_variance"].isna().all()
    result = verdict(summary, expected=expected_rows(study.scenarios[0]))
    assert not result["agree"] and (result["comparisons"], result["compared"]) == (19, 17)
    for n in (2, 7):
        assert [
            f for f in result["findings"] if f.startswith(f"mle mu at n = {n}: the MCSE of the variance is 0")
        ]
    html, _ = rendered(tmp_path, study, summary)
    assert "Simulation agrees with exact theory" not in html
    assert "or could not be compared" in html and "mle mu at n = 7: the MCSE of the variance is 0" in html


@pytest.mark.parametrize(
    ("family", "params", "failed"),
    [
        ("gamma", {"shape": 2.0, "rate": 1.0}, {("mle", "shape"), ("mle", "rate")}),  # no MLE at n = 1
        ("exponential", {"rate": 0.5}, {("unbiased", "rate")}),  # (n - 1)/sum(x) = 0 at n = 1
    ],
    ids=["gamma", "exponential"],
)
def test_undefined_at_n1_counted_as_failed(tmp_path: Path, family: str, params: dict, failed: set) -> None:
    """An estimator that does not exist at n = 1 fails in every replication, and the report says why."""
    study, frames, summary = run(tmp_path, family=family, params=params, sample_sizes=[1])
    sc: Scenario = study.scenarios[0]
    expected = {
        (e, p, 1): ((R, 0) if (e, p) in failed else (0, 0))
        for e in sc.estimators
        for p in sc.model.estimators[e].parameters(sc.model)
    }
    html = assert_counts_shown(tmp_path, study, summary, expected)
    for estimator in {e for e, _ in failed}:
        assert f"{estimator} is undefined at n = 1" in html
