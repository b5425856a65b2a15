"""Property-based fuzzing of config validation and of the jobs an accepted config runs.

Whatever a user writes, validation either raises ConfigError with readable
problems, or returns a study whose every job runs: simulate, check, aggregate,
summary, figures and report are run here on a tiny slice of the replications.
"""

from __future__ import annotations

import dataclasses
import math
import re
import tempfile
import warnings
from pathlib import Path

import pandas as pd
from hypothesis import HealthCheck, event, example, given, settings
from hypothesis import strategies as st

from mlestudy.aggregate import SUMMARY_COLUMNS
from mlestudy.config import MAX_SAMPLE_SIZE, ConfigError, Study, validate
from mlestudy.families import registry
from mlestudy.jobs import aggregate_job, check_job, concat_job, figures_job, simulate_job
from mlestudy.outputs import FIGURES
from mlestudy.report import render, table_rows, verdict
from mlestudy.seeding import BLOCK_SIZE

scalars = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(-(10**12), 10**12),
    st.floats(allow_nan=True, allow_infinity=True),
    st.text(max_size=12),
)
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=10,
)

VALID_SCENARIO = {
    "name": "s",
    "family": "normal",
    "params": {"mu": 1.0, "sigma2": 2.0},
    "sample_sizes": [2, 5],
    "replications": 100,
}
SCENARIO_KEYS = [*VALID_SCENARIO, "estimators", "chunk_size", "ci_level", "description", "sampler", "bogus"]
PARAM_NAMES = sorted({p for fam in registry().values() for p in fam.parameter_names} | {"x"})


@st.composite
def scenarios(draw) -> dict:
    """A valid scenario with a few keys replaced, deleted or added."""
    sc = dict(VALID_SCENARIO)
    sc["family"] = draw(st.sampled_from([*registry(), "nope"]))
    if sc["family"] in registry() and draw(st.booleans()):  # valid parameters of the family drawn
        sc["params"] = {p.name: p.start for p in registry()[sc["family"]].parameters}
    for _ in range(draw(st.integers(0, 3))):
        key = draw(st.sampled_from(SCENARIO_KEYS))
        action = draw(st.sampled_from(["replace", "delete"]))
        if action == "delete":
            sc.pop(key, None)
        else:
            sc[key] = draw(values)
    if draw(st.booleans()):
        sc["params"] = draw(st.dictionaries(st.sampled_from(PARAM_NAMES), values, max_size=3))
    return sc


OPTIONAL = {
    "ci_level": st.floats(0.0, 1.0),
    "chunk_size": st.integers(1, 10**5).map(lambda k: BLOCK_SIZE * k),
    "check_replications": st.integers(1, 1000),
}
"""Optional top-level keys and a mostly valid value for each."""


@st.composite
def configs(draw) -> dict:
    """Seed, scenarios and each optional key absent, mostly valid or anything; sometimes a stray key."""
    config = {
        "seed": draw(st.one_of(st.integers(-5, 2**63), values)),
        "scenarios": [
            {**sc, "name": f"s{i}"} if sc.get("name") == "s" else sc  # distinct names, unless mutated
            for i, sc in enumerate(draw(st.lists(scenarios(), min_size=1, max_size=3)))
        ],
    }
    for key, valid in OPTIONAL.items():
        how = draw(st.sampled_from(["absent", "valid", "anything"]))
        if how != "absent":
            config[key] = draw(valid if how == "valid" else values)
    if draw(st.sampled_from([False, False, False, True])):
        config[draw(st.text(max_size=8))] = draw(values)
    return config


# -- hostile but possibly valid: every key well-formed, values at the edges ------------

EDGES = [5e-324, 1e-300, 1e-100, 1e-30, 1e-8, 1e-3, 1.0, 1e3, 1e8, 9.2e18, 1e19, 1e30, 1e100, 1e300, 1.7e308]
positive = st.sampled_from(EDGES) | st.floats(min_value=0.0, exclude_min=True, allow_infinity=False)
unit = st.sampled_from([5e-324, 1e-300, 1e-30, 1e-8, 0.5, 1 - 1e-8, 1 - 2**-53]) | st.floats(
    0.0, 1.0, exclude_min=True, exclude_max=True
)
real = st.sampled_from([0.0, -1.7e308, 1e100, 0.1]) | st.floats(allow_nan=False, allow_infinity=False)
PARAMETER_VALUES = {"p": unit, "mu": real}
"""Values drawn for a parameter by name; anything else is a positive number."""


@st.composite
def hostile_scenarios(draw, name: str) -> dict:
    """A scenario whose keys are all well-formed, with parameters and sizes at the edges."""
    family = registry()[draw(st.sampled_from(list(registry())))]
    sc = {
        "name": name,
        "family": family.name,
        "params": {p: draw(PARAMETER_VALUES.get(p, positive)) for p in family.parameter_names},
        "sample_sizes": draw(st.lists(st.integers(1, 12) | st.sampled_from([1, 2, 50]), min_size=1, max_size=3,
                                      unique=True)),
        "replications": draw(st.integers(2, 40)),
    }  # fmt: skip
    estimators = [e.name for e in family.estimators]
    if draw(st.booleans()):
        sc["estimators"] = draw(st.lists(st.sampled_from(estimators), min_size=1, unique=True))
    if draw(st.booleans()):
        sc["ci_level"] = draw(
            st.sampled_from([5e-324, 1e-12, 0.5, 1 - 1e-12, 1 - 2**-53])
            | st.floats(0.0, 1.0, exclude_min=True, exclude_max=True)
        )
    if family.has_sufficient_sampler and draw(st.booleans()):
        sc["sampler"] = "sufficient"
    return sc


@st.composite
def hostile_configs(draw) -> dict:
    k = draw(st.integers(1, 2))
    return {
        "seed": draw(st.integers(0, 2**63 - 1)),
        "scenarios": [draw(hostile_scenarios(f"s{i}")) for i in range(k)],
    }


# -- what an accepted config must survive --------------------------------------


def assert_runnable(study) -> None:
    """Everything a job relies on holds for an accepted config."""
    names = [s.name for s in study.scenarios]
    assert len(names) == len(set(names)) and study.scenarios
    for sc in study.scenarios:
        fam = sc.model.family
        assert set(sc.params) == set(fam.parameter_names)
        assert all(fam.parameter(k).contains(v) for k, v in sc.params.items())
        assert sc.sample_sizes and all(
            isinstance(n, int) and 1 <= n <= MAX_SAMPLE_SIZE for n in sc.sample_sizes
        )
        assert isinstance(sc.replications, int) and sc.replications >= 2
        assert sc.chunk_size is None or sc.chunk_size % BLOCK_SIZE == 0
        assert 0 < sc.ci_level < 1 and math.isfinite(sc.ci_level)
        assert set(sc.estimators) <= {e.name for e in fam.estimators}
        for n in sc.sample_sizes:
            assert sc.chunks(n)[0][0] == 0 and sc.chunks(n)[-1][1] == sc.replications


SLICE_REPLICATIONS = 20
SLICE_DRAWS = 200_000
"""Draws per (scenario, n) at most: a study with n = 10^7 runs 2 replications of it."""
CHECK_MAX_N = 200
"""The numerical check re-fits each replication by BFGS: only up to this n here."""


def run_jobs(study: Study, workdir: Path, *, figures: bool = False) -> None:
    """Run every job of ``study`` on its first few replications, as the rules would.

    Each scenario is cut to its first replications (the first block's stream),
    then simulated, checked, aggregated and summarised; with ``figures`` its
    figures are drawn and the report rendered too.  Any exception fails the test.
    """
    slices, tables, checks, drawn = [], [], {}, {}
    for sc in study.scenarios:
        reps = max(2, min(sc.replications, SLICE_REPLICATIONS, SLICE_DRAWS // max(sc.sample_sizes)))
        part = dataclasses.replace(sc, replications=reps)
        slices.append(part)
        files = []
        for n in part.sample_sizes:
            files.append(workdir / part.name / f"n{n}.parquet")
            simulate_job(part.name, part.simulation_params(), n, 0, reps, files[-1])
        small = [n for n in part.sample_sizes if n <= CHECK_MAX_N]
        if small:
            checks[part.name] = workdir / f"{part.name}.check.csv"
            check_job(part.name, {**part.check_params(1), "sample_sizes": small}, checks[part.name])
        tables.append(workdir / f"{part.name}.csv")
        aggregate_job(part, files, tables[-1])
        summary = pd.read_csv(tables[-1])
        assert list(summary.columns) == SUMMARY_COLUMNS
        fam = part.model.family
        assert len(summary) == len(part.sample_sizes) * sum(
            len(fam.estimator(e).targets) for e in part.estimators
        )
        assert (summary["replications"] == reps).all()
        assert ((summary["n_failed"] >= 0) & (summary["n_boundary"] >= 0)).all()
        assert (summary["n_failed"] + summary["n_boundary"] <= reps).all()
        assert len(table_rows(summary)) == len(summary)
        verdict(summary)
        if figures:
            drawn[part.name] = {f: str(workdir / part.name / f"{f}.png") for f in FIGURES}
            ends = sorted({min(part.sample_sizes), max(part.sample_sizes)})
            figures_job(
                part, tables[-1], [workdir / part.name / f"n{n}.parquet" for n in ends], drawn[part.name]
            )
    concat_job(tables, workdir / "summary.csv")
    if figures:
        html = workdir / "report.html"
        render(
            dataclasses.replace(study, scenarios=tuple(slices)),
            pd.read_csv(workdir / "summary.csv"),
            {name: pd.read_csv(path) for name, path in checks.items()},
            drawn,
            [],
            html,
        )
        assert not re.search(r"(?i)\bnan\b", html.read_text())  # a missing number is a dash


def validate_and_run(config: dict, *, figures: bool = False) -> list[str]:
    """Validate ``config``; run its jobs if accepted.  The problems if rejected, else []."""
    try:
        study = validate(config)
    except ConfigError as error:
        event("rejected")
        assert error.problems and all(isinstance(p, str) and p for p in error.problems)
        return error.problems
    event("accepted")
    assert_runnable(study)
    with tempfile.TemporaryDirectory() as tmp, warnings.catch_warnings():
        # Overflow and log(0) in extreme data are expected; in a job they go to its log.
        warnings.simplefilter("ignore", RuntimeWarning)
        run_jobs(study, Path(tmp), figures=figures)
    return []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(configs())
def test_validation_never_crashes(config: dict) -> None:
    """Any config is rejected with readable problems, or accepted and every job runs."""
    validate_and_run(config)


@settings(max_examples=200, deadline=None)
@given(values)
def test_any_top_level_value_is_handled(config) -> None:
    try:
        validate(config)
    except ConfigError as error:
        assert error.problems


EDGE_CASES = [
    ("bernoulli", {"p": 1e-30}),  # every sample all zero: p-hat = 0 on the boundary
    # Data underflow to 0; fits far in the tail, some with a singular information matrix.
    ("gamma", {"shape": 1e-3, "rate": 1.0}),
    ("poisson", {"rate": 9.2e18}),  # just below what numpy's sampler takes
]
REJECTED_EDGE_CASES = [
    # x-bar's spread of 1e-20 is far below float64's resolution at 0.1 (steps of 1.4e-17): mu-hat would not vary.
    (("normal", {"mu": 0.1, "sigma2": 1e-40}), "is below float64 resolution"),
    # Sums of the data overflow: every estimate would be non-finite at n >= 2.
    (("normal", {"mu": -1.7e308, "sigma2": 1.0}), "its data reach |x| = 1.7e+308"),
]
"""Edge cases once accepted and run, which float64 cannot simulate honestly: now refused before any job."""


def _edge_config(family: str, params: dict) -> dict:
    return {"seed": 5, "scenarios": [
        {"name": "edge", "family": family, "params": params, "sample_sizes": [1, 2, 9], "replications": 30}
    ]}  # fmt: skip


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_configs())
@example(_edge_config(*EDGE_CASES[2]))
def test_accepted_edge_values_run_every_job(config: dict) -> None:
    """Well-formed configs at the edges of float64: rejected before any job, or every job runs.

    Every key is well-formed, so a rejection can only be the float64 check of the parameters.
    """
    for problem in validate_and_run(config):
        assert re.match(r"scenario 's\d' \(scenarios\[\d\]\): key 'params(\.\w+)?' = ", problem), problem


def test_edge_cases_are_accepted() -> None:
    """The explicit examples of the job tests are valid configs (else they would test nothing)."""
    for family, params in EDGE_CASES:
        validate(_edge_config(family, params))


def test_edge_cases_float64_cannot_simulate_are_refused() -> None:
    """Parameters whose spread float64 cannot resolve, or whose sums overflow, stop before any job."""
    for (family, params), message in REJECTED_EDGE_CASES:
        try:
            validate(_edge_config(family, params))
        except ConfigError as error:
            assert len(error.problems) == 1 and message in error.problems[0], error.problems
        else:
            raise AssertionError(f"{family} {params} was accepted")


@settings(max_examples=2, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(hostile_configs())
@example(_edge_config(*EDGE_CASES[0]))
@example(_edge_config(*EDGE_CASES[1]))
def test_accepted_edge_values_draw_figures_and_report(config: dict) -> None:
    """The figures and report jobs too, on two edge cases and a couple of drawn configs (~2-5 s each)."""
    validate_and_run(config, figures=True)
