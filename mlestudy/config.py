"""The study configuration: validation and the objects the workflow plans from.

``config.yaml`` is the public interface.  It is checked in two passes before any
job runs: the JSON schema in ``workflow/schemas`` (types, required and unknown
keys), then the family-aware checks here (known family, its parameters and their
ranges, its estimators).  Every message names the scenario, the key, the bad
value and what is allowed.
"""

from __future__ import annotations

import codecs
import math
import os
import re
from collections.abc import Callable, Hashable, Mapping
from dataclasses import dataclass, field, replace
from functools import cached_property
from pathlib import Path
from typing import Any

import jsonschema
import numpy as np
import yaml

from .grid import Grid, GridError
from .grid import expand as expand_grids
from .messages import MAX_SHOWN, as_float, shown  # noqa: F401 - as_float re-exported
from .models import Model, get_model_type, model_types
from .models.base import block_of
from .seeding import design_seed
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


SPREAD_STEPS = 2**10
"""How many float64 steps a spread must span: an estimate's Cramér–Rao spread at
its parameter's value, and the data's spread at the data's reach.

An estimate near theta is a float64 number on a grid of spacing ulp(theta):
rounding it adds a variance of ulp^2 / 12 (Sheppard), and the few-ulp error
of a sum a few times that.  At 1024 steps per standard deviation, a 10-step
error inflates the variance by 1e-4 of itself, a fiftieth of the Monte Carlo
error of 10^5 replications (relative MCSE of a variance, sqrt(2/R) = 4.5e-3).
mu = 1e20 with sigma2 = 1 spans 6e-5 steps; mu = 1e12 with sigma2 = 1 at
n = 1000 spans 260, and is refused too.
"""
REACH_PROBE = 1024
"""Draws of the data sampler that show how far its values reach."""
REACH_MARGIN = 2.0**10
"""Sums of n values, and of their squares, must stay this far below the float64 maximum
(the largest of all replications' values exceeds the probe's)."""
NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_-]{0,63}")
"""A scenario name, matched in full: it becomes a folder name."""
RESERVED_NAMES = frozenset(
    {"con", "prn", "aux", "nul", *(f"com{i}" for i in range(10)), *(f"lpt{i}" for i in range(10))}
)
"""Names Windows keeps for devices: no folder can have them."""
EXACT_FLOAT_INTEGERS = 2**53
"""Below this, every integer is a float64 and every integral float64 is the integer it shows."""
MAX_LINE = 500
"""Characters of one problem line at most (the middle is cut)."""
MAX_PROBLEMS = 30
"""Problems listed at most; the rest are counted."""


def _clip(line: str) -> str:
    if len(line) <= MAX_LINE:
        return line
    head = MAX_LINE * 2 // 3
    return line[:head] + " … " + line[-(MAX_LINE - head - 3) :]


def physical_memory() -> int:
    """Bytes of RAM on this machine (what a job can hope to use)."""
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


class ConfigError(ValueError):
    """A configuration that must not start a run.  One line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = [_clip(p) for p in problems[:MAX_PROBLEMS]]
        if len(problems) > MAX_PROBLEMS:
            self.problems.append(f"... and {len(problems) - MAX_PROBLEMS:,} more problems")
        super().__init__("invalid config:\n  - " + "\n  - ".join(self.problems))


@dataclass(frozen=True)
class Scenario:
    """One validated scenario: a model at one parameter value and design, over sample sizes."""

    name: str
    family: str
    params: dict[str, Any]
    """As written in the config, numbers as floats: a scalar, a list or a list of lists per block."""
    sample_sizes: tuple[int, ...]
    replications: int
    estimators: tuple[str, ...]
    chunk_size: int | None  # None: sized by the work (mlestudy.sizing)
    ci_level: float
    seed: int
    description: str = ""
    sampler: str = "data"
    design: dict[str, Any] = field(default_factory=dict)

    @cached_property
    def model(self) -> Model:
        """The model bound to this scenario's parameters and design."""
        return get_model_type(self.family)(self.params, self.design, design_seed(self.seed, self.name))

    @property
    def theta(self) -> dict[str, float]:
        """The true value of every flat parameter (``beta[0]``, ..., ``sigma2``)."""
        return self.model.theta

    def identity(self) -> dict[str, Any]:
        """What the scenario's random numbers and estimates are a function of, besides n.

        The one definition used by the simulate rule's re-run trigger, the chunk
        files' metadata, the aggregate step's check and the manifest.
        """
        return {
            "family": self.family,
            "params": self.params,
            "design": self.design,
            "seed": self.seed,
            "sampler": self.sampler,
        }

    def chunks(self, n: int) -> list[tuple[int, int]]:
        """Replication ranges ``(first, stop)`` of the simulation jobs at sample size ``n``.

        Sized by each replication's draws unless ``chunk_size`` is set
        (:mod:`mlestudy.sizing`); aligned to multiples of the chunk size either
        way, so raising the number of replications keeps every full chunk (and
        its file) as it was.
        """
        return plan_chunks(self.replications, self.model.cost(n, self.sampler), self.chunk_size)

    def simulation_params(self) -> dict[str, Any]:
        """What a simulation job's output depends on besides its wildcards.

        Snakemake re-runs a job when these change, so they hold exactly the
        scenario's data-generating settings: editing one scenario re-runs that
        scenario only.
        """
        return {**self.identity(), "estimators": sorted(self.estimators)}  # order is cosmetic: no re-run

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
    grids: tuple[Grid, ...] = ()
    """The config's scenario grids (:mod:`mlestudy.grid`), whose members are among ``scenarios``."""

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
        label = f"scenario {shown(name)}" if isinstance(name, str) else "scenario"
        return f"{label} (scenarios[{i}])"
    return "top level"


def _key(path: list[Any]) -> str:
    parts = path[2:] if len(path) >= 2 and path[0] == "scenarios" else path
    out = ""
    for p in parts:
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    out = out if len(out) <= MAX_SHOWN else out[: MAX_SHOWN - 1] + "…"
    return out or "(the whole entry)"


_TYPE_WORDS = {
    "object": "a mapping (key: value, ...)",
    "array": "a list ([a, b, ...])",
    "integer": "an integer",
    "number": "a number",
    "string": "a string",
    "boolean": "true or false",
}


def _describe(schema: Mapping[str, Any], plural: bool = False) -> str:
    """'a number', 'a list of numbers', 'a list of lists of numbers': a schema in words."""
    if schema.get("type") == "array":
        inner = _describe(schema.get("items", {}), plural=True)
        return f"{'lists' if plural else 'a list'} of {inner}"
    if "enum" in schema:
        return ("values from " if plural else "one of ") + ", ".join(map(repr, schema["enum"]))
    word = {"number": "number", "integer": "integer", "string": "string"}.get(schema.get("type", ""), "value")
    return f"{word}s" if plural else f"a {word}"


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
        extra = sorted(set(error.instance) - set(allowed), key=repr)
        prefix = _key(path) + "." if _key(path) != "(the whole entry)" else ""
        return "; ".join(
            f"{where}: unknown key {prefix}{shown(key)}; allowed keys: {', '.join(allowed)}" for key in extra
        )
    value = error.instance
    if v == "anyOf":
        options = [_describe(option) for option in s]
        s = ", ".join(options[:-1]) + " or " + options[-1]
    allowed = {
        "type": f"must be {_TYPE_WORDS.get(s, f'of type {s}') if isinstance(s, str) else f'of type {s}'}",
        "enum": f"must be one of {', '.join(map(repr, s)) if isinstance(s, list) else s}",
        "anyOf": f"must be {s}",
        "minimum": f"must be >= {s}",
        "maximum": f"must be <= {s}",
        "exclusiveMinimum": f"must be > {s}",
        "exclusiveMaximum": f"must be < {s}",
        "multipleOf": f"must be a multiple of {s}",
        "minItems": f"must have at least {s} item(s)",
        "uniqueItems": "must not repeat a value",
        "pattern": "must be 1 to 64 letters, digits, '_' and '-', not starting with '_' or '-' "
        "(it becomes a folder name)",
    }.get(v, error.message)
    what = "the entry" if path[:1] == ["scenarios"] and len(path) == 2 else f"key {shown(_key(path))}"
    return f"{where}: {what} = {shown(value)} is not allowed; it {allowed}"


def _family_problems(i: int, sc: Mapping[str, Any], config: Mapping[str, Any]) -> list[str]:
    where = _where(config, ["scenarios", i])
    types = model_types()
    if sc["family"] not in types:
        return [
            f"{where}: key 'family' = {shown(sc['family'])} is not a known family; known: {', '.join(types)}"
        ]
    kind = types[sc["family"]]
    problems = [f"{where}: {p}" for p in kind.check_config(sc["params"], sc.get("design", {}))]
    known = kind.estimator_names()
    for e in sc.get("estimators", []):
        if e not in known:
            problems.append(
                f"{where}: key 'estimators' has {shown(e)}, which family {kind.name!r} does not offer; available: {', '.join(known)}"
            )
    if problems:
        return problems
    model = kind(
        _float_params(sc["params"]), sc.get("design", {}), design_seed(_probe_seed(config), sc["name"])
    )
    smallest = model.min_sample_size()
    too_small = [n for n in sc["sample_sizes"] if n < smallest]
    if too_small:
        problems.append(
            f"{where}: key 'sample_sizes' has n = {too_small[0]}, which is not allowed; family "
            f"{kind.name!r} with these params needs every n >= {smallest}"
        )
    problems.extend(_size_problems(where, sc, model))
    if sc.get("sampler") == "sufficient" and not model.has_sufficient_sampler:
        problems.append(
            f"{where}: key 'sampler' = 'sufficient' is not available for family {kind.name!r}, whose MLE "
            "is not a function of a statistic with a known distribution; use 'data'"
        )
    if not problems:
        problems.extend(_numeric_problems(where, sc, model))
    return problems


def _probe_seed(config: Mapping[str, Any]) -> int:
    """The root seed when it is valid, else 0.

    The scenario checks run even when the seed is broken (all problems at
    once), and use it only to draw a fixed design for the float64 probes; a
    bad seed is reported on its own by the schema and :func:`_seed_problems`.
    """
    seed = config.get("seed")
    if isinstance(seed, bool) or not isinstance(seed, (int, float)):
        return 0
    if isinstance(seed, float) and not (seed.is_integer() and 0 <= seed < EXACT_FLOAT_INTEGERS):
        return 0
    return int(seed) if 0 <= seed < 2**63 else 0


def _float_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """Every number as a float, keeping lists (and lists of lists) as they are."""

    def conv(v: Any) -> Any:
        return [conv(x) for x in v] if isinstance(v, list) else float(v)

    return {k: conv(v) for k, v in params.items()}


def _size_problems(where: str, sc: Mapping[str, Any], model: Model) -> list[str]:
    """Sizes that would exhaust memory inside a job, caught before any job runs."""
    problems = []
    too_big = [n for n in sc["sample_sizes"] if n > MAX_SAMPLE_SIZE]
    if too_big:
        problems.append(
            f"{where}: key 'sample_sizes' has n = {_count(too_big[0])}; at most {MAX_SAMPLE_SIZE:,} is allowed "
            "(one replication's data is held in memory at once)"
        )
    columns = sum(2 * len(e.parameters(model)) + 1 for e in model.estimators.values()) + 1
    have = physical_memory() // 2
    most = have // (columns * BYTES_PER_VALUE_SUMMARISED)
    if sc["replications"] > most:
        need = (
            f"about {sc['replications'] * columns * BYTES_PER_VALUE_SUMMARISED / 2**30:,.1f} GiB"
            if sc["replications"] < 1e250
            else "far more memory"
        )
        problems.append(
            f"{where}: key 'replications' = {_count(sc['replications'])} needs {need} to "
            f"summarise one sample size, more than half of this machine's {physical_memory() / 2**30:.0f} GiB; "
            f"use at most {most:,}"
        )
    return problems


def _count(value: int | float) -> str:
    """A count for a message: with thousands separators, cut short when absurdly long."""
    text = f"{value:,}" if isinstance(value, int) else f"{value:,.0f}" if abs(value) < 1e16 else f"{value:g}"
    return text if len(text) <= MAX_SHOWN else f"{text[:20]}… ({len(str(int(value))):,} digits)"


def _computed(compute: Callable[..., Any], *args: Any) -> Any:
    """``compute(*args)`` with float errors silenced; what went wrong, as a string, if it raises."""
    try:
        with np.errstate(all="ignore"):
            return compute(*args)
    except OverflowError:  # a Python float power: its message is "(34, 'Numerical result out of range')"
        return "OverflowError"
    except (ValueError, ArithmeticError) as exc:  # numpy's LinAlgError is a ValueError
        return f"{type(exc).__name__}: {exc}"


def _theory_problem(model: Model, name: str, n: int) -> str | None:
    """Why parameter ``name``'s theory at ``n`` is beyond float64, or None."""
    lo, hi = CRLB_RANGE
    bound = _computed(model.crlb, n)
    if not isinstance(bound, str):
        bound = bound[name]
        if lo <= bound <= hi:
            for e in model.estimators.values():
                moments = _computed(e.exact_moments, model, name, n) if name in e.parameters(model) else ()
                if isinstance(moments, str) or np.isinf(moments).any():
                    return f"the exact moments of {e.name} {name} overflow float64 (its Cramér–Rao bound is {bound:.3g})"
            return None
    said = f"cannot be computed in float64 ({bound})" if isinstance(bound, str) else f"is {bound:.3g}"
    return f"the Cramér–Rao bound of {name} {said}, and it must lie between {lo:g} and {hi:g} at every sample size (float64 range)"


def _probe_streams(model: Model) -> dict[str, np.random.Generator]:
    """Fresh seeded streams for a probe of the model's sampler (so the verdict is the same every run)."""
    return {name: np.random.default_rng(i) for i, name in enumerate(model.streams)}


def _reach_problem(model: Model, sizes: list[int]) -> str | None:
    """Why the data cannot be drawn, cannot show their own spread, or overflow when summed; or None.

    The probe is one replication of :data:`REACH_PROBE` observations (at least
    the model's smallest n) from the model's own sampler, seeded.  Every
    numeric array of its data (a family's x; a regression's X and y) must show
    its spread: the spread must span :data:`SPREAD_STEPS` float64 steps at the
    array's reach (its largest |value|).  The reach over all of them must keep
    sums of n values and of their squares :data:`REACH_MARGIN` below the float64
    maximum.
    """
    with np.errstate(all="ignore"):
        data = _computed(model.sample, _probe_streams(model), max(REACH_PROBE, model.min_sample_size()), 1)
    if isinstance(data, str):
        return f"the {model.name} sampler refuses it ({data})"
    arrays = [np.asarray(v, dtype=float) for v in data.values() if np.asarray(v).dtype.kind in "fiu"]
    if not all(np.isfinite(x).all() for x in arrays):
        return f"the {model.name} sampler draws non-finite values from it"
    reach = 0.0
    for x in arrays:
        if not x.size:
            continue
        top = float(np.abs(x).max())
        reach = max(reach, top)
        with np.errstate(all="ignore"):
            spread = float(np.std(x))
        step = float(np.spacing(top))
        if 0 < spread < SPREAD_STEPS * step:
            return (
                f"its data spread ({spread:.3g}) is below float64 resolution at its reach |x| = {top:.3g}, "
                f"whose values are {step:.3g} apart (at least {SPREAD_STEPS:,} steps are needed)"
            )
    largest = max(sizes)
    limit = np.finfo(float).max / REACH_MARGIN
    with np.errstate(over="ignore"):
        squares = largest * reach * reach
    if largest * reach > limit or squares > limit:
        return (
            f"its data reach |x| = {reach:.3g}, so a sum of n = {largest:,} values or of their squares "
            f"({squares:.3g}) comes within {REACH_MARGIN:g}x of the float64 maximum or beyond"
        )
    return None


def _spread_problem(model: Model, bound: dict[str, float] | str, name: str, n: int) -> str | None:
    """Why flat parameter ``name``'s simulated spread at ``n`` is below float64 resolution, or None.

    Its estimates spread by about sqrt(CRLB) around its value; that spread must
    span :data:`SPREAD_STEPS` float64 steps of the value.  ``bound`` is
    ``model.crlb(n)`` (or why it could not be computed).
    """
    if isinstance(bound, str):
        return None  # the theory check names this
    value = model.theta[name]
    spread = math.sqrt(bound[name]) if bound[name] >= 0 else math.nan
    step = float(np.spacing(abs(value)))
    if spread >= SPREAD_STEPS * step:
        return None
    return (
        f"at n = {n:,} its simulated spread (√CRLB = {spread:.3g}) is below float64 resolution at "
        f"{name} = {value:.6g}, whose values are {step:.3g} apart: estimates could not show the spread "
        f"(at least {SPREAD_STEPS:,} steps are needed)"
    )


def _param_key(params: Mapping[str, Any], name: str) -> tuple[str, Any]:
    """``('params.beta[1]', 0.5)``: the config key of a flat parameter and its value as written."""
    block, index = block_of(name)
    value = params[block]
    key = f"params.{block}"
    for i in index.split(",") if index else ():
        value = value[int(i)]
        key += f"[{i}]"
    return key, value


def _numeric_problems(where: str, sc: Mapping[str, Any], model: Model) -> list[str]:
    """Parameters that are in range but that no job could compute with honestly in float64.

    In terms every model has, so a new model gets the check for free: the
    model's sampler must accept them, its data must show their own spread at
    their reach (the largest |x| it draws), and that reach must keep sums of n
    values and of their squares inside float64; at every sample size, every
    flat parameter's Cramér–Rao bound must lie in :data:`CRLB_RANGE`, the exact
    moments must be finite, and the bound's spread must span
    :data:`SPREAD_STEPS` float64 steps of the parameter's value (mu = 1e20 with
    sigma2 = 1 does not: x-bar's spread of 1 is below the 16,384 between
    float64 numbers near 1e20).
    """
    shown_params = shown(dict(sc["params"]), 2 * MAX_SHOWN)
    prefix = f"{where}: key 'params' = {shown_params} is not allowed"
    smallest = min(sc["sample_sizes"])
    streams = _probe_streams(model)
    refused = _computed(model.sample, streams, smallest, 1)
    if isinstance(refused, str):
        return [f"{prefix}; the {model.name} sampler refuses it ({refused})"]
    if sc.get("sampler") == "sufficient":
        # The statistic's law has its own limits (Poisson(n * rate) at the largest n).
        largest = max(sc["sample_sizes"])
        refused = _computed(model.draw_sufficient, streams, largest, 1)
        if isinstance(refused, str):
            return [f"{prefix}; the sufficient-statistic sampler refuses it at n = {largest} ({refused})"]
        if not all(np.isfinite(np.asarray(v, dtype=float)).all() for v in refused.values()):
            return [f"{prefix}; the sufficient-statistic sampler draws non-finite values at n = {largest}"]
    sizes = sorted(set(sc["sample_sizes"]))
    problems = []
    for name in model.parameter_names:
        for n in sizes:
            problem = _theory_problem(model, name, n)
            if problem:
                problems.append(f"{prefix}; at n = {n} {problem}")
                break
    if problems:
        return problems
    reach = _reach_problem(model, sizes)
    if reach:
        return [f"{prefix}; {reach}"]
    bounds = {n: _computed(model.crlb, n) for n in sizes}
    for name in model.parameter_names:
        for n in sizes:
            problem = _spread_problem(model, bounds[n], name, n)
            if problem:
                key, value = _param_key(sc["params"], name)
                problems.append(
                    f"{where}: key {key!r} = {shown(value)} is not allowed with {shown_params}; {problem}"
                )
                break
    return problems


def validate(config: Mapping[str, Any], schema_path: str | Path = SCHEMA_PATH) -> Study:
    """Check ``config`` and return the :class:`Study`; raise :class:`ConfigError`.

    Grid entries are expanded first (:mod:`mlestudy.grid`), and every message
    about an expanded scenario also names its grid entry and combination.  All
    problems are collected, so a user fixes the whole file in one go.
    """
    try:
        expanded, grids, origins = expand_grids(config) if isinstance(config, Mapping) else (config, (), None)
    except GridError as error:
        raise ConfigError(error.problems) from None
    try:
        study = _validate_expanded(expanded, schema_path)
    except ConfigError as error:
        if not origins:
            raise
        relabelled = ConfigError([])  # the problems are already clipped and counted: relabel them only
        relabelled.problems = [origins.relabel(p) for p in error.problems]
        relabelled.args = ("invalid config:\n  - " + "\n  - ".join(relabelled.problems),)
        raise relabelled from None
    return replace(study, raw=dict(config), grids=grids)


def _validate_expanded(config: Mapping[str, Any], schema_path: str | Path) -> Study:
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
    problems = list(dict.fromkeys(_schema_problem(config, e) for e in errors))
    # What the schema passed is checked further at once: a user fixes the whole file in one go.
    broken = {tuple(e.absolute_path)[:2] for e in errors}
    if "seed" in config and ("seed",) not in broken:
        problems += _seed_problems(config)
    scenarios = config.get("scenarios")
    if isinstance(scenarios, list) and ("scenarios",) not in broken:
        valid = [(i, sc) for i, sc in enumerate(scenarios) if ("scenarios", i) not in broken]
        problems += _scenario_problems(config, valid)
    if problems:
        raise ConfigError(problems)
    return _build(config)


def _scenario_problems(
    config: Mapping[str, Any], scenarios: list[tuple[int, Mapping[str, Any]]]
) -> list[str]:
    """Names, then the family-aware checks, of scenarios that passed the schema."""
    problems: list[str] = []
    seen: dict[str, int] = {}
    for i, sc in scenarios:
        where = _where(config, ["scenarios", i])
        name = sc["name"]
        if not NAME.fullmatch(name):  # the schema's pattern; a Python '$' also matches before a final newline
            problems.append(
                f"{where}: key 'name' = {shown(name)} is not allowed; it must be 1 to 64 letters, digits, "
                "'_' and '-', not starting with '_' or '-' (it becomes a folder name)"
            )
        elif name.lower() in RESERVED_NAMES:
            problems.append(
                f"{where}: key 'name' = {shown(name)} is not allowed; Windows keeps it for a device, so it "
                "cannot be a folder name there; choose another"
            )
        key = name.casefold()
        if key in seen:
            first = config["scenarios"][seen[key]]["name"]
            same = "is already used by" if first == name else f"differs only in case from {shown(first)} of"
            problems.append(
                f"{where}: key 'name' = {shown(name)} {same} scenarios[{seen[key]}]; names must be unique "
                "ignoring case (each becomes a folder name, and macOS and Windows do not tell 'a' from 'A')"
            )
        seen.setdefault(key, i)
        problems.extend(_family_problems(i, sc, config))
    return problems


def _seed_problems(config: Mapping[str, Any]) -> list[str]:
    """A float seed passes the schema's integer type when integral; it must also be exact."""
    seed = config["seed"]
    if isinstance(seed, float) and not seed < EXACT_FLOAT_INTEGERS:
        return [
            f"top level: key 'seed' = {shown(seed)} is not allowed; it must be an integer in [0, 2^63) written "
            f"as one: a number written as a float is only exact below 2^53 = {EXACT_FLOAT_INTEGERS:,} "
            f"(this one reads as {int(seed):,})"
        ]
    return []


def _build(config: Mapping[str, Any]) -> Study:
    seed = int(config["seed"])
    chunk = config.get("chunk_size")
    level = float(config.get("ci_level", DEFAULT_CI_LEVEL))
    scenarios = []
    for sc in config["scenarios"]:
        kind = get_model_type(sc["family"])
        scenarios.append(
            Scenario(
                name=sc["name"],
                family=kind.name,
                params=_float_params(sc["params"]),
                sample_sizes=tuple(sorted(int(n) for n in sc["sample_sizes"])),
                replications=int(sc["replications"]),
                estimators=tuple(sc.get("estimators", kind.estimator_names())),
                chunk_size=None if sc.get("chunk_size", chunk) is None else int(sc.get("chunk_size", chunk)),
                ci_level=float(sc.get("ci_level", level)),
                seed=seed,
                description=sc.get("description", ""),
                sampler=sc.get("sampler", "data"),
                design=dict(sc.get("design", {})),
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


MAX_VALUES = 1_000_000
"""Values a config may expand to: YAML aliases can make a short file enormous ("billion laughs")."""
YAML11_ONLY = (
    (re.compile(r"[-+]?0[0-9_]+"), "a number with a leading zero"),
    (re.compile(r"[-+]?0o[0-7_]+"), "an octal number"),
    (re.compile(r"[-+]?[0-9][0-9_]*(?::[0-5]?[0-9])+(?:\.[0-9_]*)?"), "a base-60 number"),
)
"""Plain scalars that YAML 1.1 (PyYAML, and so Snakemake) and YAML 1.2 read differently, or as a surprise:
0123 is octal 83 in YAML 1.1 and 123 in YAML 1.2; 08 is text in one and 8 in the other; 1:30 is 90."""


def _file_text(path: str | Path) -> str:
    """The text of a config file, or :class:`ConfigError` saying in one line why there is none."""
    p = Path(path)
    try:
        if p.is_dir():
            raise ConfigError([f"{path}: is a directory, not a config file"])
        if p.exists() and not p.is_file():
            raise ConfigError([f"{path}: is not a regular file (a pipe or a device?), so it is not read"])
        data = p.read_bytes()
    except FileNotFoundError:
        raise ConfigError([f"{path}: the file does not exist"]) from None
    except OSError as error:
        raise ConfigError([f"{path}: cannot be read ({error.strerror or type(error).__name__})"]) from None
    for bom, encoding in (
        (codecs.BOM_UTF32_LE, "UTF-32"),
        (codecs.BOM_UTF32_BE, "UTF-32"),
        (codecs.BOM_UTF16_LE, "UTF-16"),
        (codecs.BOM_UTF16_BE, "UTF-16"),
    ):
        if data.startswith(bom):
            raise ConfigError([f"{path}: is {encoding} text; save it as UTF-8"])
    if b"\x00" in data:
        raise ConfigError(
            [
                f"{path}: contains NUL bytes (UTF-16 without a byte-order mark, or not text); save it as UTF-8 text"
            ]
        )
    try:
        return data.decode("utf-8-sig")  # a UTF-8 byte-order mark is fine
    except UnicodeDecodeError as error:
        line = data[: error.start].count(b"\n") + 1
        column = error.start - (data.rfind(b"\n", 0, error.start) + 1) + 1
        raise ConfigError(
            [
                f"{path}: is not UTF-8 text (byte 0x{data[error.start]:02x} at line {line}, column {column}; "
                "Latin-1 or Windows-1252, perhaps); save it as UTF-8"
            ]
        ) from None


def _node_problems(root: yaml.Node | None) -> list[str]:
    """Ambiguous plain scalars, recursive aliases and alias bombs in a composed YAML document."""
    problems: list[str] = []
    sizes: dict[int, int] = {}
    stack: list[tuple[yaml.Node, bool]] = [(root, False)] if root is not None else []
    open_: set[int] = set()
    while stack:  # depth-first, iteratively: a deeply nested file must not exhaust Python's stack
        node, done = stack.pop()
        if done:
            open_.discard(id(node))
            children = (
                [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
            )
            sizes[id(node)] = 1 + sum(sizes.get(id(c), 0) for c in children)
            continue
        if id(node) in sizes:
            continue
        if id(node) in open_:
            mark = node.start_mark
            problems.append(
                f"line {mark.line + 1}, column {mark.column + 1}: an alias refers to a value that contains it"
            )
            return problems
        if isinstance(node, yaml.ScalarNode):
            sizes[id(node)] = 1
            if node.style is None:
                for pattern, what in YAML11_ONLY:
                    if pattern.fullmatch(node.value):
                        problems.append(_ambiguous(node, what))
                        break
            continue
        open_.add(id(node))
        stack.append((node, True))
        children = (
            [c for pair in node.value for c in pair] if isinstance(node, yaml.MappingNode) else node.value
        )
        stack.extend((c, False) for c in reversed(children))
    if root is not None and sizes.get(id(root), 0) > MAX_VALUES:
        problems.append(f"its aliases expand it to {sizes[id(root)]:,} values, more than {MAX_VALUES:,}")
    return problems


def _ambiguous(node: yaml.ScalarNode, what: str) -> str:
    mark = node.start_mark
    read = yaml.safe_load(node.value)
    return (
        f"line {mark.line + 1}, column {mark.column + 1}: {shown(node.value)} is {what}, which YAML 1.1 "
        f"(Snakemake's reader) takes as {shown(read)} and YAML 1.2 differently; write the number without it, "
        "or quote the text"
    )


def _yaml_problem(path: str | Path, exc: yaml.YAMLError) -> str:
    mark = getattr(exc, "problem_mark", None)
    if mark is None:
        return f"{path}: not valid YAML: {' '.join(str(exc).split())}"
    what = str(getattr(exc, "problem", "") or exc)
    context, start = getattr(exc, "context", None), getattr(exc, "context_mark", None)
    if context:
        same = start is None or (start.line, start.column) == (mark.line, mark.column)
        what += f", {context}" + ("" if same else f" (from line {start.line + 1}, column {start.column + 1})")
    return f"{path}: not valid YAML at line {mark.line + 1}, column {mark.column + 1}: {what}"


def read_config_file(path: str | Path) -> dict[str, Any]:
    """The mapping in a YAML config file, not yet validated.

    Raises :class:`ConfigError` with one line naming the file (and the line and
    column, where there is one) when the file is a directory, cannot be read, is
    not UTF-8 text (a UTF-8 byte-order mark is fine), is not YAML, repeats a
    key, holds a plain scalar that YAML 1.1 and 1.2 read differently (``0123``),
    expands through aliases beyond :data:`MAX_VALUES` values, is empty, is not a
    mapping, or asks for Snakemake's YTE templating (``__use_yte__``).
    The Snakefile calls it on ``config.yaml`` and every ``--configfile`` before
    using them, because Snakemake's own messages name neither file nor line.
    """
    text = _file_text(path)
    loader = None
    try:
        loader = _UniqueKeyLoader(text)  # refuses control characters at once
        node = loader.get_single_node()
        problems = _node_problems(node)
        if problems:
            raise ConfigError([f"{path}: {p}" for p in problems])
        config = loader.construct_document(node) if node is not None else None
    except ConfigError:
        raise
    except yaml.YAMLError as exc:
        raise ConfigError([_yaml_problem(path, exc)]) from None
    except RecursionError:
        raise ConfigError([f"{path}: not valid YAML: it is nested too deeply"]) from None
    except (ValueError, TypeError, OverflowError) as exc:  # a tag PyYAML cannot build: !!float 'x'
        said = " ".join(str(exc).split())
        raise ConfigError(
            [f"{path}: not valid YAML: a tagged value cannot be built ({shown(said)[1:-1]})"]
        ) from None
    finally:
        if loader is not None:
            loader.dispose()
    if config is None:
        raise ConfigError([f"{path}: the file is empty; it needs at least 'seed' and 'scenarios'"])
    if not isinstance(config, dict):
        raise ConfigError(
            [
                f"{path}: the config is a {type(config).__name__}, not a mapping of keys "
                "('seed', 'scenarios', ...)"
            ]
        )
    if "__use_yte__" in config:
        raise ConfigError(
            [
                f"{path}: key '__use_yte__' asks Snakemake to run the file as a YTE template; mlestudy reads "
                "plain YAML only (the manifest records the config as written, and a template's values "
                "would not be it), so remove the key and write the values out"
            ]
        )
    return config


def load(path: str | Path) -> Study:
    """Read and validate a YAML config file."""
    return validate(read_config_file(path))
