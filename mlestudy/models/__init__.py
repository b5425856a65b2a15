"""Registry of model types, by the name a scenario's ``family:`` key gives.

The i.i.d. families of :mod:`mlestudy.families` are bound through
:class:`~mlestudy.models.scalar.ScalarModel`; every other module of this package
that defines a concrete :class:`~mlestudy.models.base.Model` subclass with a
``name`` is registered on import, and third-party packages can add models
through the ``mlestudy.models`` entry-point group.  Rules, scripts and the
config validator only ever ask this registry, so a new model is a new file.
"""

from __future__ import annotations

import importlib
import inspect
import pkgutil
from functools import cache

from .base import Block, Data, Domain, Estimator, Fit, Model, Streams

__all__ = ["Block", "Data", "Domain", "Estimator", "Fit", "Model", "Streams", "get_model_type", "model_types"]

_NOT_MODELS = {"base", "scalar"}


@cache
def model_types() -> dict[str, type[Model]]:
    """Every known model type, by name, sorted: the package's own and those of entry points."""
    from importlib.metadata import entry_points

    from ..families import registry as families
    from .scalar import model_type

    found = dict(_builtin_types())
    found.update({name: model_type(fam) for name, fam in families().items() if name not in found})
    for ep in entry_points(group="mlestudy.models"):
        cls = ep.load()
        found[cls.name] = cls
    return dict(sorted(found.items()))


@cache
def _builtin_types() -> dict[str, type[Model]]:
    """The model types of this package (the i.i.d. families and every module here)."""
    from ..families import builtin_families
    from .scalar import model_type

    found: dict[str, type[Model]] = {name: model_type(fam) for name, fam in builtin_families().items()}
    for info in pkgutil.iter_modules(__path__):
        if info.name in _NOT_MODELS:
            continue
        module = importlib.import_module(f"{__name__}.{info.name}")
        for _, cls in inspect.getmembers(module, inspect.isclass):
            if (
                issubclass(cls, Model)
                and not inspect.isabstract(cls)
                and cls.__module__ == module.__name__
                and getattr(cls, "name", None)
            ):
                found[cls.name] = cls
    return found


def get_model_type(name: str) -> type[Model]:
    """The model type called ``name``; KeyError lists the known ones.

    The package's own types are found without reading installed packages'
    entry points (about 0.1 s a job); those are read only for another name.
    """
    if name in _builtin_types():
        return _builtin_types()[name]
    types = model_types()
    if name not in types:
        raise KeyError(f"unknown family {name!r}; known families: {', '.join(types)}")
    return types[name]
