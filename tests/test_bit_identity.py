"""The five i.i.d. families give the same bits as before the model contract.

``tests/data/reference`` holds what main produced before the refactor (see its
README): the sha256 of every column of every chunk file, and ``summary.csv``.
The same config is re-run here through the job functions the rules call; every
recorded column must hash the same and every recorded summary value must be
identical (new columns may be added, none may change).
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path

import numpy as np
import pandas as pd
import pyarrow.parquet as pq
import pytest

from mlestudy.config import load
from mlestudy.jobs import aggregate_job, simulate_job

REFERENCE = Path(__file__).parent / "data" / "reference"


@pytest.fixture(scope="module")
def rerun(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The reference config simulated and summarised with the current code."""
    out = tmp_path_factory.mktemp("reference_rerun")
    study = load(REFERENCE / "config.yaml")
    for sc in study.scenarios:
        files = []
        for n in sc.sample_sizes:
            for first, stop in sc.chunks(n):
                path = out / "estimates" / sc.name / f"n{n}" / f"reps{first}-{stop}.parquet"
                simulate_job(sc.name, sc.simulation_params(), n, first, stop, path)
                files.append(path)
        aggregate_job(sc, files, out / "summary" / f"{sc.name}.csv")
    return out


def test_every_recorded_column_is_bit_identical(rerun: Path) -> None:
    recorded = json.loads((REFERENCE / "column_sha256.json").read_text())
    assert len(recorded) == 66
    for chunk, columns in recorded.items():
        table = pq.read_table(rerun / "estimates" / chunk)
        for name, digest in columns.items():
            got = hashlib.sha256(table.column(name).to_numpy().tobytes()).hexdigest()
            assert got == digest, f"{chunk}: column {name} differs from main before the model contract"


def test_every_recorded_summary_value_is_identical(rerun: Path) -> None:
    want = pd.read_csv(REFERENCE / "summary.csv")
    got = pd.concat([pd.read_csv(p) for p in sorted((rerun / "summary").glob("*.csv"))], ignore_index=True)
    key = ["scenario", "estimator", "parameter", "n"]
    merged = want.merge(got, on=key, how="left", suffixes=("", "_now"), indicator=True)
    assert (merged["_merge"] == "both").all(), "a recorded summary row is missing"
    assert len(got) == len(want)
    for column in want.columns.difference(key):
        old, new = merged[column].to_numpy(), merged[f"{column}_now"].to_numpy()
        if old.dtype.kind in "fi":
            same = (old == new) | (pd.isna(old) & pd.isna(new))
        else:
            same = old == new
        assert np.all(same), (
            f"summary column {column} changed in rows {merged.loc[~same, key].to_dict('records')}"
        )
