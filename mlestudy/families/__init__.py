"""Registry of distribution families.

Every module in this package that defines a :class:`~mlestudy.families.base.Family`
subclass with a ``name`` is registered on import, and third-party packages can add
families through the ``mlestudy.families`` entry-point group.  Rules, scripts and
the config validator only ever ask this registry, so a new family is a new file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from .base import Estimate, Family, Parameter, ScalarEstimator, Status

__all__ = ["Estimate", "Family", "Parameter", "ScalarEstimator", "Status", "get_family", "registry"]


@cache
def registry() -> dict[str, Family]:
    """All known families, by name: this package's and those of the ``mlestudy.families`` entry points."""
    from importlib.metadata import entry_points

    found = dict(builtin_families())
    for ep in entry_points(group="mlestudy.families"):
        cls = ep.load()
        found[cls.name] = cls()
    return dict(sorted(found.items()))


@cache
def builtin_families() -> dict[str, Family]:
    """This package's families (no installed package's metadata is read: it costs a job about 0.1 s)."""
    found: dict[str, Family] = {}
    modules = [
        importlib.import_module(f"{__name__}.{m.name}")
        for m in pkgutil.iter_modules(__path__)
        if m.name != "base"
    ]
    for module in modules:
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if issubclass(cls, Family) and not inspect.isabstract(cls) and cls.__module__ == module.__name__:
                found[cls.name] = cls()
    return dict(sorted(found.items()))


def get_family(name: str) -> Family:
    """The family called ``name``; KeyError lists the known ones."""
    families = registry()
    if name not in families:
        raise KeyError(f"unknown family {name!r}; known families: {', '.join(families)}")
    return families[name]
