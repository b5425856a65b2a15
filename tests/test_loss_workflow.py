"""The chapter's jobs end to end, through the ``snakemake`` CLI, on a tiny study in a temporary copy.

Checks that the jobs run from the config alone (they read no estimate file), that
their tables and figure land where the report looks, that the report prints the
tables' numbers, and that editing a scenario re-runs only the chapter jobs that
read it.
"""

from __future__ import annotations

import os
import re
import shutil
from pathlib import Path

import pandas as pd
import pytest
from workflow_helpers import ROOT, copy_workflow, run, write_config

from mlestudy.losses.experiments import BCE_COLUMNS, CURVE_COLUMNS, LOGSUMEXP_COLUMNS, STEP_COLUMNS
from mlestudy.losses.jobs import FIGURES, TABLES

CONFIG = {
    "seed": 3,
    "chunk_size": 10000,
    "check_replications": 2,
    "scenarios": [
        {
            "name": "lg",
            "family": "logistic_regression",
            "params": {"beta": [-0.5, 1.0, -1.0]},
            "design": {"features": "normal"},
            "sample_sizes": [40, 200],
            "replications": 300,
        },
        {
            "name": "sm",
            "family": "softmax_regression",
            "params": {"beta": [[0.2, 1.0], [-0.3, 0.5]]},
            "design": {"features": "normal"},
            "sample_sizes": [100],
            "replications": 100,
        },
    ],
}


@pytest.fixture
def subprocess_sees_this_checkout(monkeypatch: pytest.MonkeyPatch) -> None:
    """Rule scripts import mlestudy from the environment: make it this checkout's."""
    monkeypatch.setenv("PYTHONPATH", os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])))


@pytest.mark.slow
def test_chapter_jobs_tables_figure_and_report(tmp_path: Path, subprocess_sees_this_checkout) -> None:
    work = copy_workflow(tmp_path / "study", CONFIG)
    # The chapter's jobs need no simulation: they draw the replications again.
    alone = run(work, *TABLES.values(), *FIGURES.values())
    assert "rule simulate" not in alone.stdout + alone.stderr
    assert not (work / "results" / "estimates").exists()
    steps = pd.read_csv(work / TABLES["gradient_steps"])
    assert (
        list(steps.columns) == STEP_COLUMNS
        and set(steps["n"]) == {40, 200}
        and set(steps["scenario"]) == {"lg"}
    )
    assert (steps["replications"] == 200).all()  # the first 200 of 300
    assert list(pd.read_csv(work / TABLES["gradient_curves"]).columns) == CURVE_COLUMNS
    assert list(pd.read_csv(work / TABLES["logsumexp"]).columns) == LOGSUMEXP_COLUMNS
    bce = pd.read_csv(work / TABLES["bce"])
    assert list(bce.columns) == BCE_COLUMNS and set(bce["scenario"]) == {"lg"}
    under = pd.read_csv(work / TABLES["underflow"])
    assert under["scenario"].tolist() == ["lg", "sm"] and (under["windows"] > 0).all()
    assert (work / FIGURES["gradient_descent"]).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for log in ("gradient", "numerics", "figure"):
        assert (work / "results" / "logs" / "chapter" / f"{log}.log").exists()

    run(work)
    html = (work / "report" / "report.html").read_text()
    chapter = html[html.index('<section id="loss-functions">') : html.index('<section id="provenance">')]
    one = pd.read_csv(work / TABLES["gradient_one_observation"]).set_index(["loss", "step_rule"])
    assert (
        f"after {one.at[('cross_entropy', 'learning rate 1'), 'steps']} steps on the cross-entropy" in chapter
    )
    ce = steps[(steps["n"] == 200) & (steps["loss"] == "cross_entropy") & (steps["tolerance"] == 0.01)].iloc[
        0
    ]
    assert f"lg, n = 200: at the start the gradient norm is {ce.start_gradient_median:.3g}" in chapter
    assert f"{int(under['n_median'].iloc[0]):,} (" in chapter
    assert chapter.count('src="data:image/png;base64,') == 1
    # The run has the KL columns (the KL measure): the chapter shows them, not "not in this run".
    assert "KL divergence between the true and the fitted model: not in this run" not in chapter
    assert "2n·E[KL]/k" in chapter
    # No NaN in the text (a figure's base64 can spell "naN" between a "/" and a "+": not text).
    assert not re.search(r"(?i)\bnan\b", re.sub(r'src="data:[^"]*"', "", chapter))

    # Editing the softmax scenario re-runs the numerics (they read it), not the gradient descent.
    edited = dict(
        CONFIG,
        scenarios=[
            CONFIG["scenarios"][0],
            {**CONFIG["scenarios"][1], "params": {"beta": [[0.1, 1.0], [-0.3, 0.5]]}},
        ],
    )
    copy = Path(shutil.copytree(work, tmp_path / "edited", symlinks=True))
    write_config(copy, edited)
    planned = run(copy, "--dry-run")
    text = planned.stdout + planned.stderr
    assert "rule chapter_numerics" in text and "rule chapter_gradient" not in text
