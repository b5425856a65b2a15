"""The report's form: numbers rounded to their MCSE, labels, alt text, summary.csv precision."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest

from mlestudy.config import validate
from mlestudy.jobs import write_csv
from mlestudy.labels import math_label, text_label
from mlestudy.numbers import Column, decimals
from mlestudy.outputs import FIGURES, alt_text
from mlestudy.report import image_width, table_rows

FIXED = re.compile(r"^-?\d+(\.\d+)? ± \d+(\.\d+)?$")
SCIENTIFIC = re.compile(r"^\(-?\d+(\.\d+)? ± \d+(\.\d+)?\)×10[⁻]?[⁰¹²³⁴⁵⁶⁷⁸⁹]+$")


def test_mcse_has_two_significant_digits_and_the_value_its_decimal_place() -> None:
    assert (
        decimals(0.00046) == 5
        and decimals(0.012) == 3
        and decimals(3.4) == 1
        and decimals(35.0) == 0
        and decimals(350.0) == -1
    )
    column = Column.of([(0.70001234, 0.00046), (3.14159, 0.012)])
    assert not column.scientific
    assert column.pm(0.70001234, 0.00046) == "0.70001 ± 0.00046"
    assert column.pm(3.14159, 0.012) == "3.142 ± 0.012"
    assert column.pm(1234.5, 35.0) == "1234 ± 35"  # never fewer than 0 decimals in fixed notation
    assert column.like(0.7, 0.70001234, 0.00046) == "0.700000"  # one digit beyond the simulated value


def test_one_notation_per_column() -> None:
    """The issue's mixed column (0.004191 ± 0.000019 then 2.119e-03 ± 9.4e-06) gets one notation."""
    pairs = [(0.1049, 0.00087), (0.004191, 0.000019), (0.002119, 9.4e-06), (2.1e-4, 1.9e-7)]
    column = Column.of(pairs)
    cells = [column.pm(v, m) for v, m in pairs]
    assert column.scientific and all(SCIENTIFIC.match(c) for c in cells), cells
    assert cells[2] == "(2.1190 ± 0.0094)×10⁻³"
    fixed = Column.of(pairs[:2])
    assert not fixed.scientific and all(FIXED.match(fixed.pm(v, m)) for v, m in pairs[:2])
    assert Column.of([(123456.0, 1.0)]).scientific  # large values too


def test_missing_values_and_errors_are_dashes() -> None:
    column = Column.of([(1.0, float("nan"))])
    assert column.pm(float("nan"), 0.1) == "—"
    assert column.pm(1.95, float("nan")) == "1.95 ± —"
    assert column.like(float("nan"), 1.0, 0.1) == "—"


def test_table_columns_are_consistent_on_a_real_summary() -> None:
    """Every cell of a value column has the same notation, whatever the sample size."""
    rows = []
    for n in (2, 5, 20, 100, 1000, 10000):
        variance, mcse = 4.0 / n, 4.0 / n * 0.0045
        rows.append({
            "estimator": "mle", "parameter": "sigma2", "n": n, "replications": 100000, "n_failed": 0,
            "n_boundary": 0, "mean": 4.0, "bias": 0.0, "bias_mcse": 0.01 / np.sqrt(n), "variance": variance,
            "variance_mcse": mcse, "mse": variance, "mse_mcse": mcse, "crlb": variance, "efficiency": 1.0,
            "efficiency_mcse": 0.0045, "exact_mean": 4.0, "exact_variance": variance, "z_mean": 0.1,
            "z_variance": -0.2, "coverage": 0.95, "coverage_mcse": 0.0007, "finite_moments": np.inf,
            "exact_coverage": np.nan, "z_coverage": np.nan,
        })  # fmt: skip
    cells = [r["variance"] for r in table_rows(pd.DataFrame(rows))]
    assert all(SCIENTIFIC.match(c) for c in cells) or all(FIXED.match(c) for c in cells), cells
    assert len({bool(SCIENTIFIC.match(c)) for c in cells}) == 1


@pytest.mark.parametrize(
    ("name", "math", "hat", "text", "text_hat"),
    [
        ("p", "$p$", "$\\hat{p}$", "p", "p̂"),
        ("mu", "$\\mu$", "$\\hat{\\mu}$", "μ", "μ̂"),
        ("sigma2", "$\\sigma^2$", "$\\hat{\\sigma}^2$", "σ²", "σ̂²"),
        ("rate", "$\\lambda$", "$\\hat{\\lambda}$", "λ", "λ̂"),
        ("shape", "$\\alpha$", "$\\hat{\\alpha}$", "α", "α̂"),
        ("beta[1]", "$\\beta_{1}$", "$\\hat{\\beta}_{1}$", "β₁", "β̂₁"),
        ("beta[1,0]", "$\\beta_{1,0}$", "$\\hat{\\beta}_{1,0}$", "β₁,₀", "β̂₁,₀"),
        ("variances[1]", "$\\sigma_{1}^2$", "$\\hat{\\sigma}_{1}^2$", "σ₁²", "σ̂₁²"),
        ("weights[0]", "$\\pi_{0}$", "$\\hat{\\pi}_{0}$", "π₀", "π̂₀"),
    ],
)
def test_the_hat_sits_on_the_symbol(name: str, math: str, hat: str, text: str, text_hat: str) -> None:
    """Not 'ratê − rate' or 'sigma2̂' (the issue): Greek symbols, hat on the letter, power after it."""
    assert (math_label(name), math_label(name, hat=True)) == (math, hat)
    assert (text_label(name), text_label(name, hat=True)) == (text, text_hat)


def test_alt_text_says_what_each_figure_shows() -> None:
    study = validate({"seed": 1, "scenarios": [{"name": "nv", "family": "normal", "params": {"mu": 5.0, "sigma2": 4.0},
                                                "sample_sizes": [2, 1000], "replications": 10}]})  # fmt: skip
    texts = {f: alt_text(f, study.scenarios[0]) for f in FIGURES}
    assert len(set(texts.values())) == len(FIGURES)
    for text in texts.values():
        assert text.startswith("nv (normal): ") and "μ̂ and σ̂²" in text and len(text) > 80
    assert "2 to 1000" in texts["bias"] and "n = 2 and n = 1000" in texts["sampling"]


def test_image_width_of_svg_and_png(tmp_path) -> None:
    svg = tmp_path / "a.svg"
    svg.write_text(
        '<?xml version="1.0"?>\n<svg xmlns="http://www.w3.org/2000/svg" width="360pt" height="10pt">'
    )
    assert image_width(svg) == 480  # 1 pt = 4/3 CSS px
    png = tmp_path / "a.png"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + (640).to_bytes(4, "big") + b"\x00" * 20)
    assert image_width(png) == 640


def test_summary_csv_floats_are_shortest_and_read_back_bit_for_bit(tmp_path) -> None:
    """0.7 is written '0.7' (not 0.69999999999999996), and every float reads back to the same bits."""
    rng = np.random.default_rng(5)
    values = np.concatenate([
        rng.normal(size=5000) * 10.0 ** rng.integers(-300, 300, 5000),
        [0.7, 0.1, 1 / 3, 5e-324, 1.7976931348623157e308, -0.0, np.inf, -np.inf, np.nan],
    ])  # fmt: skip
    frame = pd.DataFrame({"x": values, "n": np.arange(values.size)})
    path = tmp_path / "t.csv"
    write_csv(frame, path)
    text = path.read_text()
    assert "\n0.7," in text and "0.69999999999999996" not in text and "\n0.1," in text
    back = pd.read_csv(path)["x"].to_numpy()
    same = (back.view(np.int64) == values.view(np.int64)) | (np.isnan(back) & np.isnan(values))
    assert same.all()
    for line in text.splitlines()[1:]:
        field = line.split(",")[0]
        if field and field not in ("inf", "-inf"):
            assert field == repr(float(field)), field  # no digit beyond the shortest round-trip form


def _v(comparisons: int, rms: float, largest: float, disagree: list[str] | None = None) -> dict:
    return {"comparisons": comparisons, "rms": rms, "max_abs": largest, "agree": comparisons > 0 and not disagree,
            "disagree": disagree or []}  # fmt: skip


def test_headline_pools_the_scenarios_verdicts() -> None:
    """RMS z pooled over every comparison (not averaged per scenario); disagreement and missing theory said."""
    from mlestudy.headline import headline

    agree = headline({"a": _v(10, 1.0, 2.0), "b": _v(30, 2.0, 3.5)})
    pooled = ((10 * 1.0**2 + 30 * 2.0**2) / 40) ** 0.5
    assert agree == {
        "agree": True,
        "verdict": "Simulation agrees with exact theory in all 2 scenarios with theory "
        f"(40 comparisons, RMS z = {pooled:.2f}, max |z| = 3.50).",
    }
    bad = headline(
        {
            "a": _v(10, 1.0, 2.0),
            "b": _v(8, 3.0, 6.1, ["mle p at n = 2"]),
            "g": _v(0, float("nan"), float("nan")),
        }
    )
    assert not bad["agree"]
    assert bad["verdict"].startswith(
        "Simulation and exact theory DISAGREE in 1 of 2 scenarios (b: mle p at n = 2)"
    )
    assert bad["verdict"].endswith("No exact theory for g.")
    none = headline({"g": _v(0, float("nan"), float("nan"))})
    assert not none["agree"] and none["verdict"].startswith("No scenario has exact theory")
