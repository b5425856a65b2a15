"""Scenario grids: one config entry that expands into the Cartesian product of values.

What SimDesign's ``createDesign`` and simChef's ``add_vary_across`` give their
users.  A scenario entry with a ``grid:`` key lists, in the shape of the entry
itself, the keys to vary and for each a list of values::

    - name: coins
      family: bernoulli
      grid:
        params: {p: [0.1, 0.5, 0.9]}
        sampler: [data, sufficient]
      sample_sizes: [5, 50]
      replications: 20000

Every combination becomes an ordinary scenario (here six, ``coins_p-0p1_sampler-data``
to ``coins_p-0p9_sampler-sufficient``), validated like any other.  Everything
under ``grid:`` is a list of alternatives, so a value that is itself a list (a
coefficient vector, ``beta: [[1, 2], [1, 0]]``) is never mistaken for an axis.

The expansion runs before any other check (:func:`mlestudy.config.validate`
calls :func:`expand` first); :class:`Origins` rewrites the later messages so
they name the grid entry and the combination as well as the expanded scenario.
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

VARIABLE = ("params", "design", "sampler", "ci_level", "replications")
"""Keys a grid may vary.  ``params`` and ``design`` are mappings whose keys vary one by one."""
NESTED = {"params": "parameter names", "design": "design settings"}
MAX_SCENARIOS = 1000
"""Most scenarios one grid entry may expand into (each one runs its own jobs)."""
NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")


class GridError(ValueError):
    """A grid entry that cannot be expanded.  One line per problem."""

    def __init__(self, problems: list[str]) -> None:
        self.problems = problems
        super().__init__("\n".join(problems))


@dataclass(frozen=True)
class Member:
    """One expanded scenario of a grid and the axis values it takes."""

    scenario: str
    values: tuple[Any, ...]


@dataclass(frozen=True)
class Grid:
    """A grid entry: its axes (dotted keys such as ``params.p``) and its scenarios in order.

    The first axis varies slowest, the last fastest (``itertools.product``).
    """

    name: str
    axes: tuple[str, ...]
    levels: tuple[tuple[Any, ...], ...]
    members: tuple[Member, ...]

    def labels(self) -> tuple[str, ...]:
        """Short axis names for figures: the last part of each dotted key (``p``, ``sampler``)."""
        return _labels(self.axes)


def _labels(axes: Sequence[str]) -> tuple[str, ...]:
    short = [a.rsplit(".", 1)[-1] for a in axes]
    return tuple(s if short.count(s) == 1 else a.replace(".", "-") for s, a in zip(short, axes, strict=True))


def token(value: Any) -> str:
    """A value as a piece of a scenario name: letters, digits and '-' only.

    0.1 -> '0p1', -2 -> 'm2', 1e-05 -> '1em05', 4.0 -> '4', True -> 'true',
    [1, -2] -> '1-m2'.  Shortest round-trip form, so distinct floats give
    distinct tokens.
    """
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value).replace("-", "m")
    if isinstance(value, float):
        if math.isfinite(value) and value == int(value) and abs(value) < 1e16:
            text = str(int(value))
        else:
            text = repr(value)
        return text.replace("-", "m").replace("+", "").replace(".", "p")
    if isinstance(value, str):
        return re.sub(r"[^A-Za-z0-9]", "-", value) or "empty"
    if isinstance(value, list | tuple):
        return "-".join(token(v) for v in value) or "empty"
    return re.sub(r"[^A-Za-z0-9]", "-", str(value))


def _shown(value: Any) -> str:
    return repr(value) if isinstance(value, str) else str(value)


@dataclass(frozen=True)
class Origins:
    """Where each expanded scenario came from, to rewrite validation messages.

    ``labels[k]`` describes expanded scenario k: ``scenarios[2]`` for a plain
    entry, or the grid entry and the combination for a grid member.
    """

    labels: tuple[str, ...]

    def relabel(self, problem: str) -> str:
        """Replace every ``scenarios[k]`` (an expanded index) by where the scenario was written."""

        def where(match: re.Match[str]) -> str:
            k = int(match.group(1))
            return self.labels[k] if k < len(self.labels) else match.group(0)

        return re.sub(r"scenarios\[(\d+)\]", where, problem)


def _axes(where: str, grid: Any) -> tuple[list[tuple[str, list[Any]]], list[str]]:
    """The grid's axes as (dotted key, values), in the order written, and the problems found."""
    example = "e.g. grid: {params: {p: [0.1, 0.5]}, sampler: [data, sufficient]}"
    if not isinstance(grid, Mapping) or not grid:
        return [], [
            f"{where}: key 'grid' = {grid!r} is not allowed; it must be a mapping of the keys to vary "
            f"to lists of values, {example}"
        ]
    axes, problems = [], []
    for key, value in grid.items():
        if key not in VARIABLE:
            problems.append(
                f"{where}: key 'grid.{key}' cannot vary in a grid; a grid varies {', '.join(VARIABLE)}"
            )
        elif key in NESTED:
            if not isinstance(value, Mapping) or not value:
                problems.append(
                    f"{where}: key 'grid.{key}' = {value!r} is not allowed; it must be a mapping of "
                    f"{NESTED[key]} to lists of values, e.g. grid: {{{key}: {{name: [1.0, 2.0]}}}}"
                )
            else:
                axes.extend((f"{key}.{k}", v) for k, v in value.items())
        else:
            axes.append((key, value))
    for key, values in axes:
        if not isinstance(values, list) or not values:
            problems.append(
                f"{where}: key 'grid.{key}' = {values!r} is not allowed; it must be a non-empty list of the "
                f"values to try, e.g. [{'0.1, 0.5' if key.startswith('params') else 'a, b'}]"
            )
            continue
        seen = []
        for v in values:
            if v in seen:
                problems.append(f"{where}: key 'grid.{key}' repeats the value {v!r}; list each value once")
                break
            seen.append(v)
    return axes, problems


def _conflicts(where: str, entry: Mapping[str, Any], axes: list[tuple[str, list[Any]]]) -> list[str]:
    """Keys set both in the entry and in its grid: the user must say which one holds."""
    problems = []
    for key, _ in axes:
        head, _, leaf = key.partition(".")
        fixed = entry.get(head)
        if (leaf and isinstance(fixed, Mapping) and leaf in fixed) or (not leaf and head in entry):
            problems.append(
                f"{where}: key {key!r} is set both in the entry and in 'grid.{key}'; set it in one place"
            )
    return problems


def _member(entry: Mapping[str, Any], axes: list[str], values: tuple[Any, ...], name: str) -> dict[str, Any]:
    out = {k: (dict(v) if isinstance(v, Mapping) else v) for k, v in entry.items() if k != "grid"}
    out["name"] = name
    for key, value in zip(axes, values, strict=True):
        head, _, leaf = key.partition(".")
        if leaf:
            out[head] = {**(out.get(head) or {}), leaf: value}
        else:
            out[head] = value
    return out


def expand(config: Mapping[str, Any]) -> tuple[dict[str, Any], tuple[Grid, ...], Origins]:
    """Expand every grid entry of ``config``; return the new config, the grids and the origins.

    A config without grids comes back equal to itself.  Anything that is not a
    well-formed grid entry is left for the schema to report.

    Raises
    ------
    GridError
        A grid that cannot be expanded: not a mapping of lists, a key that may
        not vary, a repeated value, a key set twice, a name beyond 64 characters
        or more than :data:`MAX_SCENARIOS` combinations.
    """
    scenarios = config.get("scenarios") if isinstance(config, Mapping) else None
    if not isinstance(scenarios, list) or not any(isinstance(s, Mapping) and "grid" in s for s in scenarios):
        count = len(scenarios) if isinstance(scenarios, list) else 0
        return dict(config), (), Origins(tuple(f"scenarios[{i}]" for i in range(count)))
    expanded: list[Any] = []
    labels: list[str] = []
    grids: list[Grid] = []
    problems: list[str] = []
    for i, entry in enumerate(scenarios):
        if not (isinstance(entry, Mapping) and "grid" in entry):
            expanded.append(entry)
            labels.append(f"scenarios[{i}]")
            continue
        base = entry.get("name")
        where = (
            f"grid entry {base!r} (scenarios[{i}])" if isinstance(base, str) else f"grid entry scenarios[{i}]"
        )
        if not isinstance(base, str) or not NAME.match(base):
            problems.append(
                f"{where}: key 'name' = {base!r} is not allowed; a grid entry needs a name of 1 to 64 letters, "
                "digits, '_' and '-' (its scenarios are named after it)"
            )
            continue
        axes, found = _axes(where, entry["grid"])
        found += _conflicts(where, entry, axes)
        total = math.prod(len(v) for _, v in axes) if not found else 0
        if total > MAX_SCENARIOS:
            found.append(
                f"{where}: key 'grid' makes {total:,} combinations; at most {MAX_SCENARIOS:,} are allowed "
                "(each one is a scenario with its own jobs)"
            )
        if found:
            problems.extend(found)
            continue
        keys = [k for k, _ in axes]
        short = _labels(keys)
        members = []
        for j, values in enumerate(itertools.product(*(v for _, v in axes))):
            name = base + "".join(f"_{s}-{token(v)}" for s, v in zip(short, values, strict=True))
            if not NAME.match(name):
                problems.append(
                    f"{where}: the combination {', '.join(f'{k} = {_shown(v)}' for k, v in zip(keys, values, strict=True))} "
                    f"would be named {name!r}, which is not a valid scenario name (at most 64 letters, digits, "
                    "'_' and '-'); shorten the entry's name"
                )
                break
            expanded.append(_member(entry, keys, values, name))
            combination = ", ".join(f"{k} = {_shown(v)}" for k, v in zip(keys, values, strict=True))
            labels.append(f"scenarios[{i}], grid {base!r}, combination {j + 1} of {total}: {combination}")
            members.append(Member(name, tuple(values)))
        grids.append(Grid(base, tuple(keys), tuple(tuple(v) for _, v in axes), tuple(members)))
    if problems:
        raise GridError(problems)
    return {**config, "scenarios": expanded}, tuple(grids), Origins(tuple(labels))
