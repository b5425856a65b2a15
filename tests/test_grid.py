"""Scenario grids: expansion, names, validation messages (mlestudy.grid through config.validate)."""

from __future__ import annotations

import itertools

import pytest

from mlestudy.config import ConfigError, validate
from mlestudy.grid import MAX_SCENARIOS, Origins, expand, token

COIN = {"name": "coin", "family": "bernoulli", "params": {"p": 0.7}, "sample_sizes": [5], "replications": 100}
BELL = {
    "name": "bell",
    "family": "normal",
    "grid": {"params": {"mu": [0.0, 5.0], "sigma2": [1.0, 4.0, 9.0]}},
    "sample_sizes": [3, 30],
    "replications": 100,
}


def problems(config: dict) -> list[str]:
    with pytest.raises(ConfigError) as info:
        validate(config)
    return info.value.problems


def test_a_2_by_3_grid_is_the_cartesian_product_in_nested_loop_order() -> None:
    study = validate({"seed": 1, "scenarios": [COIN, BELL]})
    names = [s.name for s in study.scenarios]
    expected = [
        f"bell_mu-{m}_sigma2-{v}" for m, v in itertools.product(["0", "5"], ["1", "4", "9"])
    ]  # first axis slowest
    assert names == ["coin", *expected]
    params = [s.params for s in study.scenarios[1:]]
    assert params == [{"mu": m, "sigma2": v} for m, v in itertools.product([0.0, 5.0], [1.0, 4.0, 9.0])]
    (grid,) = study.grids
    assert grid.name == "bell" and grid.axes == ("params.mu", "params.sigma2")
    assert [m.scenario for m in grid.members] == expected
    assert grid.members[4].values == (5.0, 4.0)
    assert grid.labels() == ("mu", "sigma2")
    # Every expanded scenario keeps the entry's other settings.
    assert {s.sample_sizes for s in study.scenarios[1:]} == {(3, 30)}
    # The manifest and report record the config as written, grid and all.
    assert study.raw["scenarios"][1]["grid"] == BELL["grid"]


def test_names_are_deterministic_and_a_config_without_grid_is_unchanged() -> None:
    config = {"seed": 1, "scenarios": [COIN, BELL]}
    assert [s.name for s in validate(config).scenarios] == [s.name for s in validate(config).scenarios]
    plain = {"seed": 1, "scenarios": [COIN]}
    expanded, grids, origins = expand(plain)
    assert expanded == plain and grids == () and origins.labels == ("scenarios[0]",)


@pytest.mark.parametrize(
    ("value", "expected"),
    [(0.1, "0p1"), (-2, "m2"), (4.0, "4"), (1e-05, "1em05"), (1e20, "1e20"), (True, "true"),
     ("sufficient", "sufficient"), ([1.0, -2.5], "1-m2p5"), (0.30000000000000004, "0p30000000000000004")],
)  # fmt: skip
def test_value_tokens(value: object, expected: str) -> None:
    assert token(value) == expected


def test_sampler_and_vector_axes() -> None:
    """A list value (a coefficient vector) is one level; the axis is the list of levels."""
    expanded, grids, _ = expand(
        {
            "seed": 1,
            "scenarios": [
                {
                    "name": "ols",
                    "family": "linear_regression",
                    "grid": {
                        "params": {"beta": [[1.0, 2.0], [1.0, 0.0, -1.0]]},
                        "sampler": ["data", "sufficient"],
                    },
                    "sample_sizes": [10],
                    "replications": 100,
                }
            ],
        }
    )
    betas = [s["params"]["beta"] for s in expanded["scenarios"]]
    assert betas == [[1.0, 2.0], [1.0, 2.0], [1.0, 0.0, -1.0], [1.0, 0.0, -1.0]]
    assert [s["name"] for s in expanded["scenarios"]][:2] == [
        "ols_beta-1-2_sampler-data",
        "ols_beta-1-2_sampler-sufficient",
    ]
    assert grids[0].axes == ("params.beta", "sampler")


def test_a_bad_value_names_the_scenario_the_grid_entry_and_the_combination() -> None:
    bad = {**BELL, "grid": {"params": {"mu": [0.0], "sigma2": [1.0, -4.0]}}}
    (problem,) = problems({"seed": 1, "scenarios": [COIN, bad]})
    assert problem == (
        "scenario 'bell_mu-0_sigma2-m4' (scenarios[1], grid 'bell', combination 2 of 2: params.mu = 0.0, "
        "params.sigma2 = -4.0): key 'params.sigma2' = -4.0 is not allowed; sigma2 must be > 0"
    )


def test_plain_entries_after_a_grid_keep_their_own_index_in_messages() -> None:
    (problem,) = problems({"seed": 1, "scenarios": [BELL, {**COIN, "params": {"p": 2.0}}]})
    assert problem.startswith("scenario 'coin' (scenarios[1]): key 'params.p' = 2.0")


def test_a_grid_name_clashing_with_a_scenario_is_reported_with_both_places() -> None:
    clash = {**COIN, "name": "bell_mu-0_sigma2-1"}
    (problem,) = problems({"seed": 1, "scenarios": [BELL, clash]})
    assert "scenario 'bell_mu-0_sigma2-1' (scenarios[1])" in problem
    assert "already used by scenarios[0], grid 'bell', combination 1 of 6" in problem


@pytest.mark.parametrize(
    ("grid", "message"),
    [
        ([], "key 'grid' = [] is not allowed; it must be a mapping of the keys to vary to lists of values"),
        ({}, "key 'grid' = {} is not allowed"),
        ({"params": {"mu": 0.0}}, "key 'grid.params.mu' = 0.0 is not allowed; it must be a non-empty list"),
        ({"params": {"mu": []}}, "key 'grid.params.mu' = [] is not allowed"),
        ({"params": [0.0, 1.0]}, "key 'grid.params' = [0.0, 1.0] is not allowed; it must be a mapping of parameter names"),
        ({"family": ["normal"]}, "key 'grid.family' cannot vary in a grid; a grid varies params, design, sampler"),
        ({"params": {"mu": [1.0, 1.0]}}, "key 'grid.params.mu' repeats the value 1.0; list each value once"),
        ({"sampler": ["data"], "params": {"mu": [0.0]}}, None),  # valid, for contrast
    ],
)  # fmt: skip
def test_a_malformed_grid_is_named(grid: object, message: str | None) -> None:
    entry = {**{k: v for k, v in BELL.items() if k != "grid"}, "params": {"sigma2": 1.0}, "grid": grid}
    config = {"seed": 1, "scenarios": [entry]}
    if message is None:
        assert [s.name for s in validate(config).scenarios] == ["bell_sampler-data_mu-0"]
        return
    (problem,) = problems(config)
    assert problem.startswith("grid entry 'bell' (scenarios[0]): ") and message in problem, problem


def test_a_key_set_both_in_the_entry_and_in_its_grid_is_refused() -> None:
    entry = {**BELL, "params": {"mu": 1.0}}
    (problem,) = problems({"seed": 1, "scenarios": [entry]})
    assert problem == (
        "grid entry 'bell' (scenarios[0]): key 'params.mu' is set both in the entry and in 'grid.params.mu'; "
        "set it in one place"
    )


def test_too_many_combinations_and_too_long_names() -> None:
    values = [float(i) for i in range(MAX_SCENARIOS // 10 + 1)]
    entry = {**BELL, "grid": {"params": {"mu": values, "sigma2": [float(i + 1) for i in range(10)]}}}
    (problem,) = problems({"seed": 1, "scenarios": [entry]})
    assert f"makes {len(values) * 10:,} combinations; at most {MAX_SCENARIOS:,}" in problem
    long = {**BELL, "name": "b" * 60}
    (problem,) = problems({"seed": 1, "scenarios": [long]})
    assert "is not a valid scenario name" in problem and "shorten the entry's name" in problem


def test_relabel_leaves_other_text_alone() -> None:
    origins = Origins(("scenarios[0]", "scenarios[0], grid 'g', combination 1 of 1: params.p = 0.5"))
    assert origins.relabel("top level: nothing here") == "top level: nothing here"
    assert origins.relabel("x (scenarios[1]) y scenarios[7]") == (
        "x (scenarios[0], grid 'g', combination 1 of 1: params.p = 0.5) y scenarios[7]"
    )
