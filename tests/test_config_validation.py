"""Tests of config validation: a bad config must stop the run with a precise message."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from mlestudy.config import ConfigError, load, validate


def _valid() -> dict[str, Any]:
    return {
        "seed": 2024,
        "scenarios": [
            {
                "name": "coin",
                "family": "bernoulli",
                "params": {"p": 0.7},
                "sample_sizes": [50, 5],
                "replications": 250_000,
            },
            {
                "name": "bell",
                "family": "normal",
                "params": {"mu": 5, "sigma2": 4.0},
                "sample_sizes": [2],
                "replications": 1000,
                "chunk_size": 20000,
                "ci_level": 0.9,
                "estimators": ["unbiased"],
            },
        ],
    }


def test_valid_config_builds_study_with_defaults():
    """Defaults fill in: chunk 100000, level 0.95, all of the family's estimators."""
    study = validate(_valid())
    assert study.seed == 2024
    assert study.check_replications == 20
    coin = study.scenario("coin")
    assert coin.family == "bernoulli"
    assert coin.params == {"p": 0.7}
    assert coin.sample_sizes == (5, 50)
    assert coin.replications == 250_000
    assert coin.chunk_size == 100_000
    assert coin.ci_level == 0.95
    assert coin.estimators == ("mle",)
    assert coin.seed == 2024
    assert coin.chunks() == [(0, 100_000), (100_000, 200_000), (200_000, 250_000)]
    assert coin.family_obj.name == "bernoulli"


def test_valid_config_scenario_overrides():
    """Scenario-level chunk size, level and estimators override the defaults."""
    cfg = _valid()
    cfg["chunk_size"] = 50000
    cfg["ci_level"] = 0.8
    study = validate(cfg)
    bell = study.scenario("bell")
    assert (bell.chunk_size, bell.ci_level, bell.estimators) == (20000, 0.9, ("unbiased",))
    assert bell.params == {"mu": 5.0, "sigma2": 4.0}
    assert isinstance(bell.params["mu"], float)
    coin = study.scenario("coin")
    assert (coin.chunk_size, coin.ci_level) == (50000, 0.8)


def test_all_estimators_default_for_normal():
    """Without 'estimators', a scenario runs every estimator its family offers."""
    cfg = _valid()
    del cfg["scenarios"][1]["estimators"]
    assert validate(cfg).scenario("bell").estimators == ("mle", "unbiased")


def _set(path: tuple, value: Any):
    """Mutator: set cfg[path...] = value."""

    def apply(cfg: dict) -> None:
        node = cfg
        for key in path[:-1]:
            node = node[key]
        node[path[-1]] = value

    return apply


def _delete(path: tuple):
    def apply(cfg: dict) -> None:
        node = cfg
        for key in path[:-1]:
            node = node[key]
        del node[path[-1]]

    return apply


COIN = ("scenarios", 0)
BELL = ("scenarios", 1)

# (id, mutation, substrings the message must contain: scenario, key, bad value)
BAD = [
    ("unknown-family", _set((*COIN, "family"), "weibull"), ["'coin'", "'family'", "'weibull'"]),
    ("missing-param", _delete((*BELL, "params", "sigma2")), ["'bell'", "params.sigma2", "missing"]),
    ("extra-param", _set((*COIN, "params", "q"), 0.1), ["'coin'", "params.q", "not a parameter"]),
    ("p-zero", _set((*COIN, "params", "p"), 0), ["'coin'", "params.p", "= 0 ", "> 0"]),
    ("p-one", _set((*COIN, "params", "p"), 1.0), ["'coin'", "params.p", "= 1.0 ", "< 1"]),
    ("p-nan", _set((*COIN, "params", "p"), float("nan")), ["'coin'", "params.p", "nan"]),
    (
        "rate-zero",
        lambda c: c["scenarios"].__setitem__(0, _exp("coin", 0)),
        ["'coin'", "params.rate", "= 0 "],
    ),
    (
        "rate-negative",
        lambda c: c["scenarios"].__setitem__(0, _exp("coin", -1)),
        ["'coin'", "params.rate", "= -1 "],
    ),
    ("sigma2-negative", _set((*BELL, "params", "sigma2"), -1), ["'bell'", "params.sigma2", "= -1 "]),
    ("n-zero", _set((*COIN, "sample_sizes"), [5, 0]), ["'coin'", "sample_sizes[1]", "= 0 "]),
    ("n-non-integer", _set((*COIN, "sample_sizes"), [2.5]), ["'coin'", "sample_sizes[0]", "2.5", "integer"]),
    ("sample-sizes-empty", _set((*COIN, "sample_sizes"), []), ["'coin'", "sample_sizes", "[]"]),
    ("sample-sizes-duplicate", _set((*COIN, "sample_sizes"), [5, 5]), ["'coin'", "sample_sizes", "[5, 5]"]),
    ("name-duplicate", _set((*BELL, "name"), "coin"), ["'coin'", "'name'", "scenarios[1]", "unique"]),
    ("name-path", _set((*COIN, "name"), "../x"), ["'../x'", "'name'"]),
    ("name-space", _set((*COIN, "name"), "a b"), ["'a b'", "'name'"]),
    ("replications-zero", _set((*COIN, "replications"), 0), ["'coin'", "'replications'", "= 0 "]),
    ("replications-one", _set((*COIN, "replications"), 1), ["'coin'", "'replications'", "= 1 "]),
    (
        "replications-string",
        _set((*COIN, "replications"), "1e5"),
        ["'coin'", "'replications'", "'1e5'", "integer"],
    ),
    ("unknown-top-key", _set(("sead",), 1), ["top level", "'sead'"]),
    ("unknown-scenario-key", _set((*COIN, "replication"), 10), ["'coin'", "'replication'"]),
    (
        "unknown-estimator",
        _set((*BELL, "estimators"), ["mle", "median"]),
        ["'bell'", "'estimators'", "'median'"],
    ),
    (
        "estimators-duplicate",
        _set((*BELL, "estimators"), ["mle", "mle"]),
        ["'bell'", "estimators", "['mle', 'mle']"],
    ),
    ("missing-seed", _delete(("seed",)), ["top level", "'seed'", "missing"]),
    ("seed-negative", _set(("seed",), -3), ["top level", "'seed'", "-3"]),
    (
        "chunk-size-1500",
        _set(("chunk_size",), 15000),
        ["top level", "'chunk_size'", "15000", "multiple of 10000"],
    ),
    ("scenario-chunk-size-500", _set((*BELL, "chunk_size"), 5000), ["'bell'", "'chunk_size'", "5000"]),
    ("ci-level-one", _set(("ci_level",), 1), ["top level", "'ci_level'", "= 1 "]),
    ("scenarios-empty", _set(("scenarios",), []), ["top level", "'scenarios'", "[]"]),
    ("params-string", _set((*COIN, "params", "p"), "0.5"), ["'coin'", "params.p", "'0.5'"]),
    ("missing-family", _delete((*COIN, "family")), ["'coin'", "'family'", "missing"]),
    (
        "absurd-n",
        _set((*COIN, "sample_sizes"), [5, 10**12]),
        ["'coin'", "sample_sizes", "1,000,000,000,000", "at most"],
    ),
    (
        "absurd-replications",
        _set((*COIN, "replications"), 10**12),
        ["'coin'", "replications", "1,000,000,000,000", "GiB"],
    ),
]


def _exp(name: str, rate: float) -> dict:
    return {
        "name": name,
        "family": "exponential",
        "params": {"rate": rate},
        "sample_sizes": [5],
        "replications": 10,
    }


@pytest.mark.parametrize(("mutate", "expected"), [pytest.param(m, e, id=i) for i, m, e in BAD])
def test_bad_config_is_rejected_with_precise_message(mutate, expected):
    """Each bad config raises ConfigError naming the scenario, the key and the bad value."""
    cfg = copy.deepcopy(_valid())
    mutate(cfg)
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    message = str(info.value)
    assert info.value.problems, "ConfigError without problems"
    assert message == "invalid config:\n  - " + "\n  - ".join(info.value.problems)
    for part in expected:
        assert part in message, (part, message)


def test_all_problems_reported_at_once():
    """Family-level problems of different scenarios are collected, not stopped at the first."""
    cfg = _valid()
    cfg["scenarios"][0]["params"]["p"] = 2
    cfg["scenarios"][1]["params"]["sigma2"] = 0
    cfg["scenarios"][1]["estimators"] = ["median"]
    with pytest.raises(ConfigError) as info:
        validate(cfg)
    assert len(info.value.problems) == 3


@pytest.mark.parametrize("config", [{}, None, [], "seed: 1"], ids=["empty", "none", "list", "string"])
def test_empty_or_non_mapping_config(config):
    """Nothing, or not a mapping, is rejected with a message naming what is needed."""
    with pytest.raises(ConfigError, match="'seed'"):
        validate(config)


@pytest.mark.parametrize(
    ("config", "second"),
    [
        ({"chunk_size": 10000}, "'scenarios'"),
        ({"seed": 1, "scenarios": [{"name": "a", "sample_sizes": [2], "replications": 10}]}, "'params'"),
    ],
    ids=["top-level", "scenario"],
)
def test_every_missing_key_is_named(config, second):
    """With two required keys missing, both must be named (one message each)."""
    with pytest.raises(ConfigError) as info:
        validate(config)
    assert any(second in p for p in info.value.problems), info.value.problems
    assert len(set(info.value.problems)) == len(info.value.problems)


# -- load -----------------------------------------------------------------------


def test_load_valid_file(tmp_path):
    """load reads YAML and validates it (YAML ints/floats become the Study's types)."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "seed: 7\nscenarios:\n  - name: waits\n    family: exponential\n"
        "    params: {rate: 0.5}\n    sample_sizes: [3, 10]\n    replications: 2000\n",
        encoding="utf-8",
    )
    study = load(path)
    assert study.scenario("waits").params == {"rate": 0.5}
    assert study.scenario("waits").estimators == ("mle", "unbiased")


def test_load_yaml_syntax_error(tmp_path):
    """A YAML syntax error is a ConfigError naming the file, not a raw yaml traceback."""
    path = tmp_path / "broken.yaml"
    path.write_text("seed: 7\nscenarios: [\n  - name: x\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert len(info.value.problems) == 1
    assert str(path) in info.value.problems[0]
    assert "not valid YAML" in info.value.problems[0]


def test_load_empty_file(tmp_path):
    """An empty file is reported as an empty config."""
    path = tmp_path / "empty.yaml"
    path.write_text("", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert "empty" in info.value.problems[0]
    assert "'seed'" in info.value.problems[0]


def test_yaml_1e5_is_a_string_and_rejected(tmp_path):
    """PyYAML reads 1e5 as a string: the user must get a type message, not a crash."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "seed: 7\nscenarios:\n  - name: c\n    family: poisson\n    params: {rate: 3}\n"
        "    sample_sizes: [5]\n    replications: 1e5\n",
        encoding="utf-8",
    )
    with pytest.raises(ConfigError, match=r"scenario 'c'.*'replications' = '1e5'.*integer"):
        load(path)
