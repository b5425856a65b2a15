"""The study configuration: validation and the objects the workflow plans from.

``config.yaml`` is the public interface.  It is checked in two passes before any
job runs: the JSON schema in ``workflow/schemas`` (types, required and unknown
keys), then the family-aware checks here (known family, its parameters and their
ranges, its estimators).  Every message names the scenario, the key, the bad
value and what is allowed.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from .families import Family, registry
from .simulate import draws
from .sizing import plan_chunks

SCHEMA_PATH = Path(__file__).resolve().parents[1] / "workflow" / "schemas" / "config.schema.yaml"
DEFAULT_CI_LEVEL = 0.95
DEFAULT_CHECK_REPLICATIONS = 20
MAX_SAMPLE_SIZE = 10_000_000
"""One replication's data is held at once: 80 MB of float64 at this n."""
BYTES_PER_VALUE_SUMMARISED = 8 * 6
"""float64 per estimate, times the copies summarising one sample size makes."""
CRLB_RANGE = (1e-100, 1e100)
"""Where every parameter's Cramér–Rao bound must lie, at every sample size.

The Monte Carlo error of a variance needs fourth powers of the estimates'
deviations, of the order of the bound squared: beyond this range they overflow
(or underflow to 0) in float64, long before any value a study means to use.
"""


def physical_memory() -> int:
    """Bytes of RAM on this machine (what a job can hope to use)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class ConfigError(ValueError):
    """A configuration that must not start a run.  One line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("invalid config:\n  - " + "\n  - ".join(problems))


@dataclass(frozen=True)
class Scenario:
    """One validated scenario: a family at one parameter value, over sample sizes."""

    name: str
    family: str
    params: dict[str, float]
    sample_sizes: tuple[int, ...]
    replications: int
    estimators: tuple[str, ...]
    chunk_size: int | None  # None: sized by the work (mlestudy.sizing)
    ci_level: float
    seed: int
    description: str = ""
    sampler: str = "data"

    @property
    def family_obj(self) -> Family:
        return registry()[self.family]

    def chunks(self, n: int) -> list[tuple[int, int]]:
        """Replication ranges ``(first, stop)`` of the simulation jobs at sample size ``n``.

        Sized by each replication's draws unless ``chunk_size`` is set
        (:mod:`mlestudy.sizing`); aligned to multiples of the chunk size either
        way, so raising the number of replications keeps every full chunk (and
        its file) as it was.
        """
        return plan_chunks(self.replications, draws(n, 0, 1, self.sampler), self.chunk_size)

    def simulation_params(self) -> dict[str, Any]:
        """What a simulation job's output depends on besides its wildcards.

        Snakemake re-runs a job when these change, so they hold exactly the
        scenario's data-generating settings: editing one scenario re-runs that
        scenario only.
        """
        return {
            "family": self.family,
            "params": dict(self.params),
            "seed": self.seed,
            "estimators": sorted(self.estimators),  # order is cosmetic: no re-run
            "sampler": self.sampler,
        }

    def check_params(self, replications: int) -> dict[str, Any]:
        """What the closed-form check depends on: data settings and sizes.

        The check always re-fits raw data, so the sampler is left out.
        """
        data = {k: v for k, v in self.simulation_params().items() if k != "sampler"}
        return {
            **data,
            "sample_sizes": list(self.sample_sizes),
            "replications": min(replications, self.replications),
        }


@dataclass(frozen=True)
class Study:
    """The validated configuration."""

    seed: int
    scenarios: tuple[Scenario, ...]
    check_replications: int
    raw: dict[str, Any] = field(repr=False, default_factory=dict)

    @cached_property
    def by_name(self) -> dict[str, Scenario]:
        return {s.name: s for s in self.scenarios}

    def scenario(self, name: str) -> Scenario:
        return self.by_name[name]


def _where(config: Mapping[str, Any], path: list[Any]) -> str:
    """'scenario 'coin' (scenarios[0])' or 'top level', for messages."""
    if len(path) >= 2 and path[0] == "scenarios" and isinstance(path[1], int):
        i = path[1]
        scenarios = config.get("scenarios")
        name = None
        if isinstance(scenarios, list) and i < len(scenarios) and isinstance(scenarios[i], dict):
            name = scenarios[i].get("name")
        label = f"scenario {name!r}" if isinstance(name, str) else "scenario"
        return f"{label} (scenarios[{i}])"
    return "top level"


def _key(path: list[Any]) -> str:
    parts = path[2:] if len(path) >= 2 and path[0] == "scenarios" else path
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "(the whole entry)"


_TYPE_WORDS = {
    "object": "a mapping (key: value, ...)",
    "array": "a list ([a, b, ...])",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
}


def _schema_problem(config: Mapping[str, Any], error: jsonschema.ValidationError) -> str:
    path = list(error.absolute_path)
    where = _where(config, path)
    v, s = error.validator, error.validator_value
    if v == "required":
        missing = [k for k in s if isinstance(error.instance, dict) and k not in error.instance]
        keys = [".".join(str(p) for p in [*path[2:], k]) for k in missing]
        return "; ".join(f"{where}: key {k!r} is missing; it is required" for k in keys)
    if v == "additionalProperties":
        allowed = sorted(error.schema.get("properties", {}))
        extra = sorted(set(error.instance) - set(allowed))
        prefix = _key(path) + "." if _key(path) != "(the whole entry)" else ""
        return "; ".join(
            f"{where}: unknown key {prefix}{key!r}; allowed keys: {', '.join(allowed)}" for key in extra
        )
    value = error.instance
    allowed = {
        "type": f"must be {_TYPE_WORDS.get(s, f'of type {s}') if isinstance(s, str) else f'of type {s}'}",
        "enum": f"must be one of {', '.join(map(repr, s)) if isinstance(s, list) else s}",
        "minimum": f"must be >= {s}",
        "maximum": f"must be <= {s}",
        "exclusiveMinimum": f"must be > {s}",
        "exclusiveMaximum": f"must be < {s}",
        "multipleOf": f"must be a multiple of {s}",
        "minItems": f"must have at least {s} item(s)",
        "uniqueItems": "must not repeat a value",
        "pattern": f"must match {s} (1 to 64 letters, digits, '_' and '-', not starting with '_' or '-'; "
        "it becomes a file name)",
    }.get(v, error.message)
    what = "the entry" if path[:1] == ["scenarios"] and len(path) == 2 else f"key {_key(path)!r}"
    return f"{where}: {what} = {value!r} is not allowed; it {allowed}"


def _family_problems(i: int, sc: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    where = _where(config, ["scenarios", i])
    families = registry()
    if sc["family"] not in families:
        return [
            f"{where}: key 'family' = {sc['family']!r} is not a known family; known: {', '.join(families)}"
        ]
    fam = families[sc["family"]]
    problems = []
    given = sc["params"]
    for p in fam.parameters:
        if p.name not in given:
            problems.append(
                f"{where}: key 'params.{p.name}' is missing; family {fam.name!r} needs params {', '.join(fam.parameter_names)}"
            )
        elif not p.contains(float(given[p.name])):
            problems.append(
                f"{where}: key 'params.{p.name}' = {given[p.name]!r} is not allowed; {p.name} must be {p.allowed()}"
            )
    for extra in sorted(set(given) - set(fam.parameter_names)):
        problems.append(
            f"{where}: key 'params.{extra}' is not a parameter of family {fam.name!r}; its params are {', '.join(fam.parameter_names)}"
        )
    problems.extend(_size_problems(where, sc, fam))
    if sc.get("sampler") == "sufficient" and not fam.has_sufficient_sampler:
        problems.append(
            f"{where}: key 'sampler' = 'sufficient' is not available for family {fam.name!r}, whose MLE "
            "is not a function of a statistic with a known distribution; use 'data'"
        )
    if not problems:
        problems.extend(_numeric_problems(where, sc, fam))
    known = [e.name for e in fam.estimators]
    for e in sc.get("estimators", []):
        if e not in known:
            problems.append(
                f"{where}: key 'estimators' has {e!r}, which family {fam.name!r} does not offer; available: {', '.join(known)}"
            )
    return problems


def _size_problems(where: str, sc: Mapping[str, Any], fam: Family) -> list[str]:
    """Sizes that would exhaust memory inside a job, caught before any job runs."""
    problems = []
    too_big = [n for n in sc["sample_sizes"] if n > MAX_SAMPLE_SIZE]
    if too_big:
        problems.append(
            f"{where}: key 'sample_sizes' has n = {too_big[0]:,}; at most {MAX_SAMPLE_SIZE:,} is allowed "
            "(one replication's data is held in memory at once)"
        )
    columns = sum(len(e.parameters) + 1 for e in fam.estimators) + 1
    need = sc["replications"] * columns * BYTES_PER_VALUE_SUMMARISED
    have = physical_memory() // 2
    if need > have:
        most = have // (columns * BYTES_PER_VALUE_SUMMARISED)
        problems.append(
            f"{where}: key 'replications' = {sc['replications']:,} needs about {need / 2**30:,.1f} GiB to "
            f"summarise one sample size, more than half of this machine's {physical_memory() / 2**30:.0f} GiB; "
            f"use at most {most:,}"
        )
    return problems


def _computed(compute: Callable[..., Any], *args: Any) -> Any:
    """``compute(*args)`` with float errors silenced; what went wrong, as a string, if it raises."""
    try:
        with np.errstate(all="ignore"):
            return compute(*args)
    except OverflowError:  # a Python float power: its message is "(34, 'Numerical result out of range')"
        return "OverflowError"
    except (ValueError, ArithmeticError) as exc:  # numpy's LinAlgError is a ValueError
        return f"{type(exc).__name__}: {exc}"


def _theory_problem(fam: Family, params: dict[str, float], name: str, n: int) -> str | None:
    """Why parameter ``name``'s theory at ``n`` is beyond float64, or None."""
    lo, hi = CRLB_RANGE
    bound = _computed(fam.crlb, params, n)
    if not isinstance(bound, str):
        bound = bound[name]
        if lo <= bound <= hi:
            for e in fam.estimators:
                moments = (
                    _computed(fam.exact_moments, e.name, name, params, n) if name in e.parameters else ()
                )
                if isinstance(moments, str) or np.isinf(moments).any():
                    return f"the exact moments of {e.name} {name} overflow float64 (its Cramér–Rao bound is {bound:.3g})"
            return None
    shown = f"cannot be computed in float64 ({bound})" if isinstance(bound, str) else f"is {bound:.3g}"
    return f"the Cramér–Rao bound of {name} {shown}, and it must lie between {lo:g} and {hi:g} at every sample size (float64 range)"


def _numeric_problems(where: str, sc: Mapping[str, Any], fam: Family) -> list[str]:
    """Parameters that are in range but that no job could compute with in float64.

    The family's sampler must accept them (numpy's Poisson sampler refuses a
    rate above about 9.2e18), and at every sample size the Cramér–Rao bounds
    must lie in :data:`CRLB_RANGE` and the exact moments must be finite.
    """
    params = {k: float(v) for k, v in sc["params"].items()}
    shown = f"{where}: key 'params' = {dict(sc['params'])!r} is not allowed"
    refused = _computed(fam.sample, np.random.default_rng(0), params, (1, 1))
    if isinstance(refused, str):
        return [f"{shown}; the {fam.name} sampler refuses it ({refused})"]
    if sc.get("sampler") == "sufficient":
        # The statistic's law has its own limits (Poisson(n * rate) at the largest n).
        largest = max(sc["sample_sizes"])
        refused = _computed(fam.sufficient_statistics, np.random.default_rng(0), params, largest, 1)
        if isinstance(refused, str):
            return [f"{shown}; the sufficient-statistic sampler refuses it at n = {largest} ({refused})"]
    problems = []
    for name in fam.parameter_names:
        for n in sorted(set(sc["sample_sizes"])):
            problem = _theory_problem(fam, params, name, n)
            if problem:
                problems.append(f"{shown}; at n = {n} {problem}")
                break
    return problems


def validate(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> Study:
    """Check ``config`` and return the :class:`Study`; raise :class:`ConfigError`.

    All problems are collected, so a user fixes the whole file in one go.
    """
    if not config:
        raise ConfigError(["top level: the config is empty; it needs at least 'seed' and 'scenarios'"])
    if not isinstance(config, Mapping):
        raise ConfigError(
            [
                f"top level: the config is a {type(config).__name__}, not a mapping of keys "
                "('seed', 'scenarios', ...)"
            ]
        )
    schema = yaml.safe_load(Path(schema_path).read_text(encoding="utf-8"))
    validator = jsonschema.Draft202012Validator(schema)
    errors = sorted(validator.iter_errors(config), key=lambda e: list(map(str, e.absolute_path)))
    if errors:
        raise ConfigError(list(dict.fromkeys(_schema_problem(config, e) for e in errors)))
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, sc in enumerate(config["scenarios"]):
        if sc["name"] in seen:
            problems.append(
                f"{_where(config, ['scenarios', i])}: key 'name' = {sc['name']!r} is already used by scenarios[{seen[sc['name']]}]; names must be unique"
            )
        seen.setdefault(sc["name"], i)
        problems.extend(_family_problems(i, sc, config))
    if problems:
        raise ConfigError(problems)
    return _build(config)


def _build(config: Mapping[str, Any]) -> Study:
    seed = int(config["seed"])
    chunk = config.get("chunk_size")
    level = float(config.get("ci_level", DEFAULT_CI_LEVEL))
    scenarios = []
    for sc in config["scenarios"]:
        fam = registry()[sc["family"]]
        scenarios.append(
            Scenario(
                name=sc["name"],
                family=fam.name,
                params={p: float(sc["params"][p]) for p in fam.parameter_names},
                sample_sizes=tuple(sorted(int(n) for n in sc["sample_sizes"])),
                replications=int(sc["replications"]),
                estimators=tuple(sc.get("estimators", [e.name for e in fam.estimators])),
                chunk_size=None if sc.get("chunk_size", chunk) is None else int(sc.get("chunk_size", chunk)),
                ci_level=float(sc.get("ci_level", level)),
                seed=seed,
                description=sc.get("description", ""),
                sampler=sc.get("sampler", "data"),
            )
        )
    return Study(
        seed=seed,
        scenarios=tuple(scenarios),
        check_replications=int(config.get("check_replications", DEFAULT_CHECK_REPLICATIONS)),
        raw=dict(config),
    )


class _UniqueKeyLoader(yaml.SafeLoader):
    """YAML's safe loader, but a key repeated in one mapping is an error.

    Plain YAML keeps the last value, so a second ``scenarios:`` block would
    silently drop the first.
    """

    def construct_mapping(self, node: yaml.MappingNode, deep: bool = False) -> dict[Any, Any]:
        seen: dict[Any, int] = {}
        for key_node, _ in node.value:
            if key_node.tag == "tag:yaml.org,2002:merge":
                continue  # '<<: *anchor' merges; a key written out overrides what it merges
            key = self.construct_object(key_node, deep=deep)
            line = key_node.start_mark.line + 1
            if isinstance(key, Hashable) and key in seen:
                raise yaml.constructor.ConstructorError(
                    None,
                    None,
                    f"key {key!r} appears twice (lines {seen[key]} and {line})",
                    key_node.start_mark,
                )
            if isinstance(key, Hashable):
                seen[key] = line
        return super().construct_mapping(node, deep=deep)


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file, not yet validated.

    Raises :class:`ConfigError` naming the file (and the line and column of a
    syntax error) when the file is not YAML, repeats a key, is empty or is not
    a mapping.
    The Snakefile calls it on ``config.yaml`` before Snakemake reads the file,
    because Snakemake's own message names neither.
    """
    text = Path(path).read_text(encoding="utf-8")
    try:
        config = yaml.load(text, Loader=_UniqueKeyLoader)  # noqa: S506 - a SafeLoader
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        if mark is None:
            raise ConfigError([f"{path}: not valid YAML: {' '.join(str(exc).split())}"]) from None
        what = str(getattr(exc, "problem", "") or exc)
        context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
        if context:
            same = start is None or (start.line, start.column) == (mark.line, mark.column)
            what += f", {context}" + (
                "" if same else f" (from line {start.line + 1}, column {start.column + 1})"
            )
        raise ConfigError(
            [f"{path}: not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"]
        ) from None
    if config is None:
        raise ConfigError([f"{path}: the file is empty; it needs at least 'seed' and 'scenarios'"])
    if not isinstance(config, dict):
        raise ConfigError(
            [
                f"{path}: the config is a {type(config).__name__}, not a mapping of keys "
                "('seed', 'scenarios', ...)"
            ]
        )
    return config


def load(path: str | Path) -> Study:
    """Read and validate a YAML config file."""
    return validate(read_config_file(path))
