"""The chapter's tables from regenerated data, and the report context that reads them.

The tables must come from the very data sets the simulation fitted (checked bit for
bit against ``simulate_columns``), count what they claim (checked against direct
counts), and the chapter must print exactly the numbers in them, and say
"not in this run" for what is missing.
"""

from __future__ import annotations

import math
from pathlib import Path

import jinja2
import numpy as np
import pandas as pd
import pytest

from mlestudy.chapter import NOT_IN_RUN, chapter_context, fmt_range, fmt_steps
from mlestudy.config import validate
from mlestudy.losses import experiments as ex
from mlestudy.losses.data import ChapterScenario
from mlestudy.losses.jobs import TABLES, chapter_params, code_hash
from mlestudy.losses.underflow import LOG_LARGEST
from mlestudy.simulate import simulate_columns

ROOT = Path(__file__).resolve().parents[1]

CONFIG = {
    "seed": 5,
    "scenarios": [
        {
            "name": "lg",
            "family": "logistic_regression",
            "params": {"beta": [-0.5, 1.0, -1.0]},
            "design": {"features": "normal"},
            "sample_sizes": [40, 300],
            "replications": 60,
        },
        {
            "name": "sm",
            "family": "softmax_regression",
            "params": {"beta": [[0.2, 1.0], [-0.3, 0.5]]},
            "design": {"features": "normal"},
            "sample_sizes": [200],
            "replications": 30,
        },
        {
            "name": "nv",
            "family": "normal",
            "params": {"mu": 0.0, "sigma2": 1.0},
            "sample_sizes": [5, 500],
            "replications": 50,
        },
    ],
}


@pytest.fixture(scope="module")
def scenarios() -> list[ChapterScenario]:
    return [ChapterScenario.of(s) for s in validate(CONFIG).scenarios]


def test_regenerated_data_are_the_data_the_simulation_fitted(scenarios) -> None:
    lg = scenarios[0]
    from mlestudy.fitting import glm

    raw = lg.data(300, 60)
    fit = glm.logistic(raw["x"], raw["y"])
    sim = simulate_columns(lg.model, seed=5, scenario="lg", n=300, first=0, stop=60)
    for j in range(3):
        assert np.array_equal(fit.beta[:, j], sim[f"mle.beta[{j}]"], equal_nan=True)
    ls = glm.least_squares(raw["x"], raw["y"], fit)
    assert np.array_equal(ls.beta[:, 0], sim["least_squares.beta[0]"], equal_nan=True)


def test_which_scenarios_each_job_reads() -> None:
    study = validate(CONFIG)
    assert [p["name"] for p in chapter_params(study, "gradient")] == ["lg"]
    assert [p["name"] for p in chapter_params(study, "numerics")] == ["lg", "sm", "nv"]
    params = chapter_params(study, "numerics")
    assert ChapterScenario.from_params(params[0]) == ChapterScenario.of(study.scenarios[0])
    gradient = code_hash(ROOT / "scripts" / "chapter_gradient.py", chapter_params(study, "gradient"))
    numerics = code_hash(ROOT / "scripts" / "chapter_numerics.py", params)
    assert set(gradient) == {"script", "logistic_regression"} and gradient["script"] != numerics["script"]
    assert set(numerics) == {"script", "logistic_regression", "softmax_regression", "normal"}


def test_gradient_tables(scenarios) -> None:
    steps, curves = ex.gradient_tables(scenarios, replications=20, max_steps=3000)
    assert list(steps.columns) == ex.STEP_COLUMNS and list(curves.columns) == ex.CURVE_COLUMNS
    assert sorted(set(zip(steps["n"], steps["loss"], strict=True))) == [
        (40, "cross_entropy"), (40, "squared_error"), (300, "cross_entropy"), (300, "squared_error")
    ]  # fmt: skip
    assert len(steps) == 8 and (steps["replications"] == 20).all() and (steps["start_scale"] == -5).all()
    big = steps[(steps["n"] == 300) & (steps["tolerance"] == 1e-2)].set_index("loss")
    assert (
        big.at["cross_entropy", "start_gradient_median"]
        > 10 * big.at["squared_error", "start_gradient_median"]
    )
    assert big.at["cross_entropy", "steps_median"] < big.at["squared_error", "steps_median"]
    for _, g in curves.groupby(["n", "loss"]):
        assert g["step"].iloc[0] == 0 and (np.diff(g["step"]) > 0).all()
        assert (g["excess_q10"] <= g["excess_q50"] + 1e-15).all() and (
            g["excess_q50"] <= g["excess_q90"] + 1e-15
        ).all()


def test_no_logistic_scenario_gives_empty_tables(scenarios) -> None:
    steps, curves = ex.gradient_tables(scenarios[1:])
    assert steps.empty and curves.empty and list(steps.columns) == ex.STEP_COLUMNS


def test_underflow_table(scenarios) -> None:
    table = ex.underflow_table(scenarios)
    assert table["scenario"].tolist() == ["lg", "sm", "nv"]
    nv = table.set_index("scenario").loc["nv"]
    assert nv["n"] == 500 and nv["windows"] == 50 * 500 // nv["window"]  # the replications run out first
    assert nv["censored"] == 0 and nv["loglik_nonfinite"] == 0 and nv["overflow"] == 0
    assert nv["n_q05"] <= nv["n_median"] <= nv["n_q95"]
    assert abs(nv["mean_logf"] + 0.5 * math.log(2 * math.pi * math.e)) < 0.05  # the entropy of N(0, 1)


def test_logsumexp_table_counts_what_overflows(scenarios) -> None:
    table = ex.logsumexp_table(scenarios, replications=30)
    assert table["scenario"].unique().tolist() == ["sm"] and table["scale"].tolist() == list(ex.SCALES)
    sm = scenarios[1]
    raw = sm.data(200, 30)
    eta = sm.model.linear_predictor(raw["x"])
    for row in table.itertuples():
        expected = int(((row.scale * eta).max(axis=(1, 2)) > LOG_LARGEST).sum())
        assert row.naive_loglik_nonfinite == expected == row.naive_softmax_nonfinite
        assert row.stable_loglik_nonfinite == 0 and row.stable_softmax_nonfinite == 0
    assert table["naive_loglik_nonfinite"].iloc[-1] == 30  # scale 1000: every replication


def test_bce_table(scenarios) -> None:
    table = ex.bce_table(scenarios, replications=30)
    assert set(table["method"]) == {"stable", "naive", "clip 1e-07", "clip 1e-15"}
    lg = scenarios[0]
    raw = lg.data(300, 30)
    eta = lg.model.linear_predictor(raw["x"])
    for row in table[table["method"] == "naive"].itertuples():
        # sigmoid rounds to 1 above 36.74 (log(1 - mu) = -inf), exp(-eta) overflows below -709.78 (log 0).
        z = row.scale * eta
        assert row.nonfinite == int(((z > 36.74) | (z < -LOG_LARGEST)).any(axis=1).sum())
        assert row.saturated_share == pytest.approx((z > 36.74).mean(), abs=1e-12)
    stable = table[table["method"] == "stable"]
    assert (stable["nonfinite"] == 0).all() and (stable["rel_error_max_abs"] < 1e-14).all()
    clipped = table[(table["method"] == "clip 1e-07") & (table["scale"] == 1000)]
    assert (clipped["rel_error_mean"] < -0.5).all()


# --------------------------------------------------------------------------- the chapter context


def _summary() -> pd.DataFrame:
    rows = []
    for n in (100, 1000):
        for j, (eff, asym) in enumerate([(0.90, 0.92), (0.85, 0.87)]):
            base = {"scenario": "lg", "family": "logistic_regression", "parameter": f"beta[{j}]", "n": n}
            rows.append(
                {**base, "estimator": "mle", "bias": 0.01 * (j + 1), "efficiency": 0.99, "n_failed": 0}
            )
            rows.append(
                {
                    **base,
                    "estimator": "least_squares",
                    "bias": 0.017 * (j + 1),
                    "efficiency": 0.9,
                    "n_failed": 1,
                    "rel_efficiency": eff,
                    "rel_efficiency_mcse": 0.005,
                    "asymptotic_rel_efficiency": asym,
                    "rel_mse": 1.12,
                    "rel_mse_mcse": 0.01,
                }
            )
    return pd.DataFrame(rows)


def _render(context: dict) -> str:
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(ROOT / "report"), autoescape=True, undefined=jinja2.StrictUndefined
    )
    return env.get_template("chapter.html.j2").render(chapter=context)


def test_chapter_says_not_in_this_run_for_every_missing_part(tmp_path: Path) -> None:
    summary = pd.DataFrame(
        [
            {
                "scenario": "c",
                "family": "bernoulli",
                "estimator": "mle",
                "parameter": "p",
                "n": 10,
                "efficiency": 1.0,
            }
        ]
    )
    context = chapter_context(summary, {k: tmp_path / "missing.csv" for k in TABLES}, {})
    assert not context["price"]["available"] and not context["gradient"]["available"]
    assert not context["kl"]["available"] and not context["mixture"]["available"]
    html = _render(context)
    assert (
        html.count(NOT_IN_RUN) >= 8
    )  # four losses of the dictionary, price, gradient, three numerics, KL, mixtures
    assert "<img" not in html
    assert _render(None).strip() == ""  # no chapter at all: nothing


def test_chapter_prints_the_numbers_of_its_tables(tmp_path: Path, scenarios) -> None:
    steps, curves = ex.gradient_tables(scenarios, replications=10, max_steps=2000)
    steps.loc[(steps["loss"] == "cross_entropy") & (steps["n"] == 300), "steps_median"] = 12345.0
    paths = {k: tmp_path / f"{k}.csv" for k in TABLES}
    steps.to_csv(paths["gradient_steps"], index=False)
    curves.to_csv(paths["gradient_curves"], index=False)
    ex.one_observation_table().to_csv(paths["gradient_one_observation"], index=False)
    ex.underflow_table(scenarios[2:]).to_csv(paths["underflow"], index=False)
    context = chapter_context(_summary(), paths, {})
    text = " ".join(context["gradient"]["text"])
    assert "takes 12,345 against" in text  # read from the table, not computed again
    assert (
        "after 11 steps on the cross-entropy and 11,034 on the squared error"
        in context["gradient"]["one_observation"]
    )
    price = context["price"]["scenarios"][0]
    assert "0.85–0.9 across the coefficients" in price["text"] and "0.87–0.92" in price["text"]
    assert price["efficiency"]["rows"][-1] == ["1,000", "0.9000 ± 0.0050 (0.92)", "0.8500 ± 0.0050 (0.87)"]
    assert price["bias"]["rows"][0][1] == "1.7"
    under = pd.read_csv(paths["underflow"])
    assert f"{int(under['n_median'].iloc[0]):,}" in context["numerics"]["underflow"]["text"]
    assert context["numerics"]["logsumexp"] is None and context["numerics"]["bce"] is None
    html = _render(context)
    assert "12,345" in html and NOT_IN_RUN in html


def test_kl_and_mixture_parts_read_their_columns_when_they_exist() -> None:
    summary = _summary()
    k = 2
    summary["kl"] = [k / (2 * n) for n in summary["n"]]
    summary["kl_mcse"] = 1e-5
    summary["kl_asymptote"] = [k / (2 * n) for n in summary["n"]]
    mix = pd.DataFrame(
        [
            {"scenario": "gm", "family": "gaussian_mixture", "estimator": "mle", "parameter": "means[0]", "n": 200,
             "bias": 0.02, "bias_mcse": 0.001, "efficiency": 0.4, "efficiency_mcse": 0.01, "replications": 100,
             "n_failed": 3, "n_not_converged": 1,
             "n_local_optimum": 7},
        ]
    )  # fmt: skip
    context = chapter_context(pd.concat([summary, mix], ignore_index=True), {}, {})
    assert context["kl"]["available"]
    columns = context["kl"]["table"]["columns"]
    ratio, z_one = columns.index("2n·E[KL]/k ± MCSE"), columns.index("z against 1")
    assert {r[ratio] for r in context["kl"]["table"]["rows"]} == {"1.0000 ± 0.0010", "1.000 ± 0.010"}
    assert {r[z_one] for r in context["kl"]["table"]["rows"]} == {"0"}
    assert {r[columns.index("exact ratio")] for r in context["kl"]["table"]["rows"]} == {
        "—"
    }  # no exact_kl column
    assert any("2n·E[KL]/k = 1.000" in t for t in context["kl"]["text"])
    statuses = context["mixture"]["statuses"]
    row = dict(zip(statuses["columns"], statuses["rows"][0], strict=True))
    assert (
        row["n"] == "200"
        and row["local optimum"] == "7"
        and row["not converged"] == "1"
        and row["failed"] == "3"
    )
    assert context["mixture"]["table"]["rows"][0][3:5] == ["means[0]", "0.0200 ± 0.0010"]
    assert context["mixture"]["text"] == [
        "gm, mle: efficiency (CRLB / variance) 0.4 at n = 200 and 0.4 at n = 200; local optimum: 7 "
        "(counts summed over n)."
    ]
    _render(context)


def test_formatting_helpers() -> None:
    assert fmt_range([0.5, 0.25, np.nan]) == "0.25–0.5"
    assert fmt_range([-5.0, -3.9]) == "-5 to -3.9"
    assert fmt_range([np.nan]) == "—" and fmt_range([1.0, 1.0]) == "1"
    assert fmt_steps(math.inf, 5000) == "> 5,000" and fmt_steps(math.inf) == "not reached"
    assert fmt_steps(1234.0) == "1,234" and fmt_steps(math.nan) == "—"


def test_a_scenario_too_small_for_one_window_is_said_so(tmp_path: Path) -> None:
    tiny = validate({"seed": 1, "scenarios": [{"name": "t", "family": "poisson", "params": {"rate": 3.0},
                                               "sample_sizes": [5], "replications": 2}]})  # fmt: skip
    table = ex.underflow_table([ChapterScenario.of(tiny.scenarios[0])])
    assert table["windows"].tolist() == [0] and table["n_median"].isna().all()
    table.to_csv(tmp_path / "u.csv", index=False)
    context = chapter_context(_summary(), {"underflow": tmp_path / "u.csv"}, {})
    assert context["numerics"]["underflow"]["text"].startswith("No window of this run's data reached 0")
    _render(context)


def test_least_squares_without_a_minimiser_is_counted_from_the_summary() -> None:
    summary = _summary()
    ls = summary["estimator"] == "least_squares"
    summary["replications"] = 500
    summary.loc[ls, "n_no_minimiser"] = [7, 7, 0, 0]  # n = 100 (two rows), n = 1000
    summary.loc[~ls, "n_no_minimiser"] = 0
    price = chapter_context(summary, {}, {})["price"]["scenarios"][0]
    assert price["text"].endswith("not averaged in): 7 of 500 at n = 100.")
    columns = price["bias"]["columns"]
    assert [r[columns.index("no finite minimiser")] for r in price["bias"]["rows"]] == ["7", "0"]
    # Without the column (an older summary) the table says so instead of inventing a count.
    price = chapter_context(_summary(), {}, {})["price"]["scenarios"][0]
    assert {r[columns.index("no finite minimiser")] for r in price["bias"]["rows"]} == {NOT_IN_RUN}
