"""What the chapter's workflow jobs do, given their paths and parameters (rules stay thin).

Three jobs: ``gradient`` (gradient descent on the logistic scenarios),
``numerics`` (underflow on every scenario; log-sum-exp and cross-entropy on
the softmax and logistic ones) and ``figure``.  The rules pass each job the
scenarios it reads (:func:`chapter_params`) and a fingerprint of the code it
runs (:func:`code_hash`), so a change to either re-runs exactly that job.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from .. import code_version
from ..config import Study
from .data import ChapterScenario

TABLES = {
    "gradient_steps": "results/chapter/gradient_steps.csv",
    "gradient_curves": "results/chapter/gradient_curves.csv",
    "gradient_one_observation": "results/chapter/gradient_one_observation.csv",
    "underflow": "results/chapter/underflow.csv",
    "logsumexp": "results/chapter/logsumexp.csv",
    "bce": "results/chapter/bce.csv",
}
"""The chapter's tables, by name."""
FIGURES = {"gradient_descent": "results/figures/chapter/gradient_descent.png"}
"""The chapter's figures, by name."""

SCENARIOS = {
    "gradient": ("logistic",),
    "numerics": None,
}
"""Which scenarios a job reads: by GLM family, or all of them (None)."""


def chapter_params(study: Study, job: str) -> list[dict[str, Any]]:
    """The scenarios ``job`` reads, as plain parameters (editing another scenario re-runs nothing)."""
    wanted = SCENARIOS[job]
    out = []
    for scenario in study.scenarios:
        sc = ChapterScenario.of(scenario)
        if wanted is None or sc.glm_family in wanted:
            out.append(sc.as_params())
    return out


def code_hash(script: str | Path, scenarios: Sequence[Mapping[str, Any]] = ()) -> dict[str, str]:
    """Fingerprint of the code a chapter job runs: its rule script and the package files it imports
    (:func:`mlestudy.code_version.script_hash`), and the model modules of the scenarios it reads
    (the models are looked up by name, so no import names them)."""
    families = sorted({str(s["identity"]["family"]) for s in scenarios})
    return {
        "script": code_version.script_hash(script),
        **{f: code_version.code_hash((), f) for f in families},
    }


def _scenarios(params: Sequence[Mapping[str, Any]]) -> list[ChapterScenario]:
    return [ChapterScenario.from_params(p) for p in params]


def gradient_job(scenarios: Sequence[Mapping[str, Any]], outputs: Mapping[str, str | Path]) -> None:
    """Write ``gradient_steps``, ``gradient_curves`` and ``gradient_one_observation``."""
    from ..jobs import log, write_csv
    from .experiments import gradient_tables, one_observation_table

    chosen = _scenarios(scenarios)
    log.info("gradient descent on %s", ", ".join(s.name for s in chosen) or "no logistic scenario")
    steps, curves = gradient_tables(chosen)
    write_csv(steps, outputs["gradient_steps"])
    write_csv(curves, outputs["gradient_curves"])
    write_csv(one_observation_table(), outputs["gradient_one_observation"])


def numerics_job(scenarios: Sequence[Mapping[str, Any]], outputs: Mapping[str, str | Path]) -> None:
    """Write ``underflow``, ``logsumexp`` and ``bce``."""
    from ..jobs import log, write_csv
    from .experiments import bce_table, logsumexp_table, underflow_table

    chosen = _scenarios(scenarios)
    log.info("numerics on %s", ", ".join(s.name for s in chosen))
    write_csv(underflow_table(chosen), outputs["underflow"])
    write_csv(logsumexp_table(chosen), outputs["logsumexp"])
    write_csv(bce_table(chosen), outputs["bce"])


def figure_job(curves: str | Path, output: str | Path) -> None:
    """Draw the gradient-descent figure from its curves table."""
    import pandas as pd

    from .figures import gradient_figure

    gradient_figure(pd.read_csv(curves), output)
