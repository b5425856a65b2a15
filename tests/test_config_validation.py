"""Tests of config validation: a bad config must stop the run with a precise message."""

from __future__ import annotations

import copy
from collections.abc import Callable
from pathlib import Path
from typing import Any, NamedTuple

import pytest
from workflow_helpers import copy_workflow, snakemake

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
    """Defaults fill in: chunks sized by the work, level 0.95, all of the family's estimators."""
    study = validate(_valid())
    assert study.seed == 2024
    assert study.check_replications == 20
    coin = study.scenario("coin")
    assert coin.family == "bernoulli"
    assert coin.params == {"p": 0.7}
    assert coin.sample_sizes == (5, 50)
    assert coin.replications == 250_000
    assert coin.chunk_size is None  # sized by the work: 2,000,000 replications of 5 or 50 draws
    assert coin.ci_level == 0.95
    assert coin.estimators == ("mle",)
    assert coin.seed == 2024
    assert coin.chunks(5) == coin.chunks(50) == [(0, 250_000)]
    assert coin.model.name == "bernoulli"


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
AT_COIN = "scenario 'coin' (scenarios[0])"
AT_BELL = "scenario 'bell' (scenarios[1])"
TOP = "top level"
LONG = "x" * 65
SCENARIO_KEYS = "chunk_size, ci_level, description, design, estimators, family, grid, name, params, replications, sample_sizes, sampler"


def _scenario(index: int, **entry: Any):
    """Mutator: replace scenarios[index] with a scenario made of ``entry``."""
    return _set(("scenarios", index), {"sample_sizes": [5], "replications": 10, **entry})


class Bad(NamedTuple):
    """A bad config and what its one-line problem must name.

    ``where`` is the scenario (or 'top level'), ``key`` the key, ``value`` the
    offending value as printed (None where the key itself is the offence: a
    missing or unknown key) and ``allowed`` what would be accepted.
    """

    id: str
    mutate: Callable[[dict], None]
    where: str
    key: str
    value: str | None
    allowed: str


BAD = [
    # -- family and parameters
    Bad("unknown-family", _set((*COIN, "family"), "weibull"), AT_COIN, "key 'family'", "= 'weibull'",
        "known: bernoulli, exponential, gamma, gaussian_mixture, linear_regression, logistic_regression, normal, poisson, poisson_regression, softmax_regression"),
    Bad("family-wrong-case", _set((*BELL, "family"), "Normal"), AT_BELL, "key 'family'", "= 'Normal'",
        "known: bernoulli"),
    Bad("missing-family", _delete((*COIN, "family")), AT_COIN, "key 'family' is missing", None, "required"),
    Bad("missing-param", _delete((*BELL, "params", "sigma2")), AT_BELL, "key 'params.sigma2' is missing", None,
        "family 'normal' needs params mu, sigma2"),
    Bad("unknown-param", _set((*COIN, "params", "q"), 0.1), AT_COIN, "key 'params.q' is not a parameter", None,
        "its params are p"),
    Bad("params-not-mapping", _set((*COIN, "params"), 0.7), AT_COIN, "key 'params'", "= 0.7", "must be a mapping"),
    Bad("p-string", _set((*COIN, "params", "p"), "0.5"), AT_COIN, "key 'params.p'", "= '0.5'", "must be a number"),
    Bad("p-bool", _set((*COIN, "params", "p"), True), AT_COIN, "key 'params.p'", "= True", "must be a number"),
    Bad("p-zero", _set((*COIN, "params", "p"), 0), AT_COIN, "key 'params.p'", "= 0 ", "p must be > 0 and < 1"),
    Bad("p-one", _set((*COIN, "params", "p"), 1.0), AT_COIN, "key 'params.p'", "= 1.0 ", "p must be > 0 and < 1"),
    Bad("p-nan", _set((*COIN, "params", "p"), float("nan")), AT_COIN, "key 'params.p'", "= nan ",
        "p must be > 0 and < 1"),
    Bad("rate-zero", _scenario(0, name="coin", family="exponential", params={"rate": 0}), AT_COIN,
        "key 'params.rate'", "= 0 ", "rate must be > 0"),
    Bad("rate-negative", _scenario(0, name="coin", family="exponential", params={"rate": -1}), AT_COIN,
        "key 'params.rate'", "= -1 ", "rate must be > 0"),
    Bad("rate-infinite", _scenario(0, name="coin", family="poisson", params={"rate": float("inf")}), AT_COIN,
        "key 'params.rate'", "= inf ", "rate must be > 0"),
    Bad("sigma2-negative", _set((*BELL, "params", "sigma2"), -1), AT_BELL, "key 'params.sigma2'", "= -1 ",
        "sigma2 must be > 0"),
    # -- in range, but beyond float64: caught before a job overflows or numpy refuses
    Bad("sigma2-overflows", _set((*BELL, "params", "sigma2"), 1e300), AT_BELL, "key 'params'",
        "= {'mu': 5, 'sigma2': 1e+300}", "must lie between 1e-100 and 1e+100 at every sample size"),
    Bad("p-underflows", _set((*COIN, "params", "p"), 1e-300), AT_COIN, "key 'params'", "= {'p': 1e-300}",
        "must lie between 1e-100 and 1e+100 at every sample size"),
    Bad("poisson-rate-beyond-numpy", _scenario(0, name="coin", family="poisson", params={"rate": 1e19}), AT_COIN,
        "key 'params'", "= {'rate': 1e+19}", "the poisson sampler refuses it (ValueError: lam value too large)"),
    Bad("gamma-singular-information", _scenario(0, name="coin", family="gamma", params={"shape": 1e300, "rate": 1}),
        AT_COIN, "key 'params'", "= {'shape': 1e+300, 'rate': 1}", "cannot be computed in float64"),
    # -- sample sizes
    Bad("n-zero", _set((*COIN, "sample_sizes"), [5, 0]), AT_COIN, "key 'sample_sizes[1]'", "= 0 ", "must be >= 1"),
    Bad("n-negative", _set((*COIN, "sample_sizes"), [-5]), AT_COIN, "key 'sample_sizes[0]'", "= -5 ",
        "must be >= 1"),
    Bad("n-non-integer", _set((*COIN, "sample_sizes"), [2.5]), AT_COIN, "key 'sample_sizes[0]'", "= 2.5 ",
        "must be an integer"),
    Bad("sample-sizes-empty", _set((*COIN, "sample_sizes"), []), AT_COIN, "key 'sample_sizes'", "= []",
        "must have at least 1 item"),
    Bad("sample-sizes-duplicate", _set((*COIN, "sample_sizes"), [5, 5]), AT_COIN, "key 'sample_sizes'",
        "= [5, 5]", "must not repeat a value"),
    Bad("sample-sizes-scalar", _set((*COIN, "sample_sizes"), 5), AT_COIN, "key 'sample_sizes'", "= 5 ",
        "must be a list"),
    Bad("absurd-n", _set((*COIN, "sample_sizes"), [5, 10**12]), AT_COIN, "key 'sample_sizes'",
        "n = 1,000,000,000,000", "at most 10,000,000 is allowed"),
    # -- replications
    Bad("replications-zero", _set((*COIN, "replications"), 0), AT_COIN, "key 'replications'", "= 0 ",
        "must be >= 2"),
    Bad("replications-one", _set((*COIN, "replications"), 1), AT_COIN, "key 'replications'", "= 1 ",
        "must be >= 2"),
    Bad("replications-string", _set((*COIN, "replications"), "1e5"), AT_COIN, "key 'replications'", "= '1e5'",
        "must be an integer"),
    Bad("replications-bool", _set((*COIN, "replications"), True), AT_COIN, "key 'replications'", "= True",
        "must be an integer"),
    Bad("replications-fraction", _set((*COIN, "replications"), 1000.5), AT_COIN, "key 'replications'",
        "= 1000.5", "must be an integer"),
    Bad("absurd-replications", _set((*COIN, "replications"), 10**12), AT_COIN, "key 'replications'",
        "= 1,000,000,000,000", "use at most"),
    # -- names
    Bad("name-duplicate", _set((*BELL, "name"), "coin"), "scenario 'coin' (scenarios[1])", "key 'name'",
        "= 'coin'", "already used by scenarios[0]; names must be unique"),
    Bad("name-path", _set((*COIN, "name"), "../x"), "scenario '../x' (scenarios[0])", "key 'name'", "= '../x'",
        "letters, digits, '_' and '-'"),
    Bad("name-space", _set((*COIN, "name"), "a b"), "scenario 'a b' (scenarios[0])", "key 'name'", "= 'a b'",
        "letters, digits, '_' and '-'"),
    Bad("name-empty", _set((*COIN, "name"), ""), "scenario '' (scenarios[0])", "key 'name'", "= ''",
        "1 to 64 letters"),
    Bad("name-too-long", _set((*COIN, "name"), LONG), f"scenario '{LONG}' (scenarios[0])", "key 'name'",
        f"= '{LONG}'", "1 to 64 letters"),
    Bad("name-integer", _set((*COIN, "name"), 7), "scenario (scenarios[0])", "key 'name'", "= 7 ",
        "must be a string"),
    # -- estimators
    Bad("unknown-estimator", _set((*BELL, "estimators"), ["mle", "median"]), AT_BELL, "key 'estimators'",
        "has 'median'", "available: mle, unbiased"),
    Bad("estimators-duplicate", _set((*BELL, "estimators"), ["mle", "mle"]), AT_BELL, "key 'estimators'",
        "= ['mle', 'mle']", "must not repeat a value"),
    # -- structure and other keys
    Bad("missing-seed", _delete(("seed",)), TOP, "key 'seed' is missing", None, "required"),
    Bad("seed-negative", _set(("seed",), -3), TOP, "key 'seed'", "= -3 ", "must be >= 0"),
    Bad("seed-string", _set(("seed",), "abc"), TOP, "key 'seed'", "= 'abc'", "must be an integer"),
    Bad("unknown-top-key", _set(("sead",), 1), TOP, "unknown key 'sead'", None,
        "allowed keys: check_replications, chunk_size, ci_level, scenarios, seed"),
    Bad("unknown-scenario-key", _set((*COIN, "replication"), 10), AT_COIN, "unknown key 'replication'", None,
        f"allowed keys: {SCENARIO_KEYS}"),
    Bad("chunk-size-15000", _set(("chunk_size",), 15000), TOP, "key 'chunk_size'", "= 15000 ",
        "must be a multiple of 10000"),
    Bad("scenario-chunk-size-5000", _set((*BELL, "chunk_size"), 5000), AT_BELL, "key 'chunk_size'", "= 5000 ",
        "must be >= 10000"),
    Bad("sampler-unknown", _set((*COIN, "sampler"), "exact"), AT_COIN, "key 'sampler'", "= 'exact'",
        "must be one of 'data', 'sufficient'"),
    Bad("sampler-not-offered", _scenario(0, name="coin", family="gamma", params={"shape": 2, "rate": 1}, sampler="sufficient"),
        AT_COIN, "key 'sampler'", "= 'sufficient'", "use 'data'"),
    Bad("ci-level-one", _set(("ci_level",), 1), TOP, "key 'ci_level'", "= 1 ", "must be < 1"),
    Bad("ci-level-zero", _set(("ci_level",), 0), TOP, "key 'ci_level'", "= 0 ", "must be > 0"),
    Bad("check-replications-zero", _set(("check_replications",), 0), TOP, "key 'check_replications'", "= 0 ",
        "must be >= 1"),
    Bad("scenarios-empty", _set(("scenarios",), []), TOP, "key 'scenarios'", "= []", "must have at least 1 item"),
    Bad("scenarios-mapping", _set(("scenarios",), {"coin": {}}), TOP, "key 'scenarios'", "= {'coin': {}}",
        "must be a list"),
    Bad("scenario-not-mapping", _set(("scenarios",), ["coin"]), "scenario (scenarios[0])", "the entry",
        "= 'coin'", "must be a mapping"),
    # -- issue 12: holes that let a config through to fail later, or to collide, or to mean something else
    Bad("name-final-newline", _set((*COIN, "name"), "coin\n"), "scenario 'coin\\n' (scenarios[0])", "key 'name'",
        "= 'coin\\n'", "1 to 64 letters, digits, '_' and '-'"),
    Bad("name-differs-in-case", _set((*BELL, "name"), "Coin"), "scenario 'Coin' (scenarios[1])", "key 'name'",
        "= 'Coin' differs only in case from 'coin' of scenarios[0]", "names must be unique ignoring case"),
    Bad("name-windows-device", _set((*COIN, "name"), "Nul"), "scenario 'Nul' (scenarios[0])", "key 'name'",
        "= 'Nul'", "Windows keeps it for a device"),
    Bad("seed-float-beyond-2-63", _set(("seed",), 1.0e30), TOP, "key 'seed'", "= 1e+30 ",
        "must be <= 9223372036854775807"),
    Bad("seed-float-inexact", _set(("seed",), 9.0e18), TOP, "key 'seed'", "= 9e+18 ",
        "a number written as a float is only exact below 2^53"),
    Bad("seed-2-63", _set(("seed",), 2**63), TOP, "key 'seed'", "= 9223372036854775808 ",
        "must be <= 9223372036854775807"),
    Bad("param-beyond-float64", _set((*COIN, "params", "p"), 10**400), AT_COIN, "key 'params.p'",
        "= 10000000000", "beyond float64 (about ±1.8e308), and p must be > 0 and < 1"),
    Bad("param-key-not-a-string", _set((*COIN, "params"), {"p": 0.5, 1: 2.0}), AT_COIN,
        "key 'params.1' is not a parameter", None, "its params are p"),
    Bad("top-key-not-a-string", _set((1,), 2), TOP, "unknown key 1", None,
        "allowed keys: check_replications, chunk_size, ci_level, scenarios, seed"),
    Bad("replications-beyond-float64", _set((*COIN, "replications"), 10**400), AT_COIN, "key 'replications'",
        "= 10,000,000,000,000,0… (401 digits)", "use at most"),
    # -- issue 12: parameters float64 cannot simulate honestly, named before any job
    Bad("mu-1e20", _set((*BELL, "params"), {"mu": 1e20, "sigma2": 1.0}), AT_BELL, "key 'params.mu'", "= 1e+20 ",
        "its simulated spread (√CRLB = 0.707) is below float64 resolution at mu = 1e+20"),
    Bad("mu-1e308", _set((*BELL, "params"), {"mu": 1e308, "sigma2": 1.0}), AT_BELL, "key 'params'",
        "= {'mu': 1e+308, 'sigma2': 1.0}", "comes within 1024x of the float64 maximum or beyond"),
    Bad("mu-1e14-data-unresolved", _set((*BELL, "params"), {"mu": 1e14, "sigma2": 1.0}), AT_BELL, "key 'params'",
        "= {'mu': 100000000000000.0, 'sigma2': 1.0}", "its data spread (0.972) is below float64 resolution"),
    Bad("p-subnormal", _set((*COIN, "params", "p"), 5e-324), AT_COIN, "key 'params'", "= {'p': 5e-324}",
        "must lie between 1e-100 and 1e+100"),
]  # fmt: skip


def bad_config(bad: Bad) -> dict:
    """The valid config with ``bad``'s mutation applied."""
    cfg = copy.deepcopy(_valid())
    bad.mutate(cfg)
    return cfg


@pytest.mark.parametrize("bad", [pytest.param(b, id=b.id) for b in BAD])
def test_bad_config_is_rejected_with_precise_message(bad: Bad) -> None:
    """Each bad config raises ConfigError with one line naming scenario, key, bad value and what is allowed."""
    with pytest.raises(ConfigError) as info:
        validate(bad_config(bad))
    problems = info.value.problems
    assert problems, "ConfigError without problems"
    assert str(info.value) == "invalid config:\n  - " + "\n  - ".join(problems)
    parts = [bad.where + ":", bad.key, bad.allowed] + ([bad.value] if bad.value else [])
    # Everything is said on one line (one problem), not scattered over several.
    matching = [p for p in problems if all(part in p + " " for part in parts)]
    assert matching, (parts, problems)
    assert matching[0].startswith(bad.where + ": "), matching[0]


def test_bad_configs_cover_the_issue() -> None:
    """At least 25 hostile configs, with every kind the issue lists."""
    ids = {b.id for b in BAD}
    assert len(BAD) >= 25 and len(ids) == len(BAD)
    required = {
        "unknown-family", "unknown-param", "missing-param", "p-one", "rate-zero", "sigma2-negative", "n-zero",
        "n-non-integer", "sample-sizes-empty", "sample-sizes-duplicate", "name-duplicate", "name-path",
        "name-space", "replications-zero", "replications-one", "absurd-n", "absurd-replications",
        "p-string", "replications-string",
    }  # fmt: skip
    assert required <= ids, required - ids


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


# (id, file content, the one problem, after the file name)
BAD_FILES = [
    (
        "yaml-syntax-error",
        "seed: 7\nscenarios: [\n  - name: x\n",
        "not valid YAML at line 3, column 3: expected the node content, but found '-', "
        "while parsing a flow node",
    ),
    (
        "yaml-tab-indent",
        "seed: 7\nscenarios:\n\t- name: x\n",
        "not valid YAML at line 3, column 1: found character '\\t' that cannot start any token, "
        "while scanning for the next token",
    ),
    (
        "yaml-duplicate-key",
        "seed: 7\nscenarios: []\nseed: 8\n",
        "not valid YAML at line 3, column 1: key 'seed' appears twice (lines 1 and 3)",
    ),
    ("empty-file", "", "the file is empty; it needs at least 'seed' and 'scenarios'"),
    ("comments-only", "# seed: 7\n", "the file is empty; it needs at least 'seed' and 'scenarios'"),
    (
        "top-level-list",
        "- seed: 7\n",
        "the config is a list, not a mapping of keys ('seed', 'scenarios', ...)",
    ),
]


@pytest.mark.parametrize(("text", "problem"), [pytest.param(t, m, id=i) for i, t, m in BAD_FILES])
def test_bad_file_is_rejected_naming_file_and_line(tmp_path: Path, text: str, problem: str) -> None:
    """A file that is not a YAML mapping is one ConfigError naming the file (and line), not a yaml traceback."""
    path = tmp_path / "config.yaml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load(path)
    assert info.value.problems == [f"{path}: {problem}"]


# -- through the snakemake CLI -----------------------------------------------------

SNAKEMAKE_SAYS = {
    # Snakemake reads --configfile itself, before the Snakefile runs, so these
    # messages are its own: they name the problem, not the file or line.
    "yaml-syntax-error": "Config file is not valid JSON or YAML.",
    "empty-file": "Config file must be given as JSON or YAML with keys at top level.",
}


def _assert_rejected_before_any_job(result, workdir: Path, message: str) -> None:
    output = result.stdout + result.stderr
    assert result.returncode != 0, output
    assert message in result.stderr, result.stderr
    assert "Traceback" not in output, output
    assert "Job stats" not in output and "rule simulate" not in output, output  # nothing was scheduled
    assert not (workdir / "results").exists()
    assert not (workdir / "report" / "report.html").exists()


@pytest.mark.slow
@pytest.mark.parametrize(
    ("how", "case"),
    [
        ("--configfile", "yaml-syntax-error"),
        ("--configfile", "empty-file"),
        ("--configfile", "yaml-duplicate-key"),
        ("config.yaml", "yaml-syntax-error"),
        ("config.yaml", "empty-file"),
    ],
)
def test_bad_file_stops_snakemake_before_any_job(tmp_path: Path, how: str, case: str) -> None:
    """The snakemake CLI exits non-zero with a clear message and no traceback, and runs no job."""
    text, problem = {i: (t, m) for i, t, m in BAD_FILES}[case]
    copy_workflow(tmp_path)
    if how == "--configfile":
        path = tmp_path / "study.yaml"
        path.write_text(text, encoding="utf-8")
        result = snakemake(tmp_path, "--configfile", str(path), cores=1)
        message = SNAKEMAKE_SAYS.get(case, f"{path}: {problem}")
    else:
        (tmp_path / "config.yaml").write_text(text, encoding="utf-8")
        result = snakemake(tmp_path, cores=1)
        message = f"config.yaml: {problem}"
    _assert_rejected_before_any_job(result, tmp_path, message)


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


def test_theory_beyond_float64_is_named() -> None:
    """A family whose exact moments overflow (a third-party one, say) is caught before any job.

    Among the built-in families a Cramér–Rao bound inside 1e-100..1e100 keeps the
    moments finite, so a stub stands in.
    """
    from mlestudy.config import _theory_problem
    from mlestudy.families.exponential import Exponential, ExponentialMLE

    class OverflowingMLE(ExponentialMLE):
        def exact_moments(self, model, parameter, n):
            return model.theta["rate"] ** 2000, 1.0  # a Python float power: OverflowError

    class Overflowing(Exponential):
        estimator_types = (OverflowingMLE,)

    assert _theory_problem(Exponential().bind({"rate": 2.0}), "rate", 3) is None
    assert _theory_problem(Overflowing().bind({"rate": 2.0}), "rate", 3) == (
        "the exact moments of mle rate overflow float64 (its Cramér–Rao bound is 1.33)"
    )


def test_yaml_merge_keys_are_not_duplicates(tmp_path: Path) -> None:
    """'<<: *anchor' shares settings between scenarios; a key written out overrides the merged one."""
    path = tmp_path / "config.yaml"
    path.write_text(
        "seed: 7\nscenarios:\n"
        "  - &coin {name: coin, family: bernoulli, params: {p: 0.3}, sample_sizes: [5], replications: 100}\n"
        "  - <<: *coin\n    name: coin2\n    params: {p: 0.6}\n",
        encoding="utf-8",
    )
    study = load(path)
    assert [(s.name, s.params["p"], s.replications) for s in study.scenarios] == [
        ("coin", 0.3, 100),
        ("coin2", 0.6, 100),
    ]
