"""The study's verdict in one sentence, for the end of a run and the report's key findings.

Built from the per-scenario verdicts of :func:`mlestudy.verdict.verdict`, so the
sentence a user reads in the terminal is the one the report gives.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping
from pathlib import Path

from .atomic import write_text_atomic


def headline(verdicts: Mapping[str, Mapping]) -> dict:
    """One sentence and a flag from scenario name -> verdict dict.

    Parameters
    ----------
    verdicts
        For each scenario, :func:`mlestudy.verdict.verdict` of its summary rows
        (keys ``agree``, ``comparisons``, ``compared``, ``rms``, ``max_abs``, ``disagree``).

    Returns
    -------
    dict
        ``agree`` (every scenario with exact theory agrees with it, and one at
        least has theory) and ``verdict``, the sentence.  A scenario whose
        comparisons could not all be made (a finding) counts as disagreeing.
    """
    compared = {k: v for k, v in verdicts.items() if v["comparisons"] or v["disagree"]}
    untested = sorted(set(verdicts) - set(compared))
    disagree = {k: v for k, v in compared.items() if not v["agree"]}
    count = sum(v["comparisons"] for v in compared.values())
    made = sum(v.get("compared", v["comparisons"]) for v in compared.values())
    z2 = sum(
        v["rms"] ** 2 * v.get("compared", v["comparisons"]) for v in compared.values() if v["rms"] == v["rms"]
    )
    rms = math.sqrt(z2 / made) if made else math.nan
    largest = max((v["max_abs"] for v in compared.values() if v["max_abs"] == v["max_abs"]), default=math.nan)
    unmade = f", {count - made:,} of them could not be made" if made < count else ""
    numbers = f"{count:,} comparisons{unmade}, RMS z = {rms:.2f}, max |z| = {largest:.2f}"
    if not compared:
        sentence = "No scenario has exact theory to compare with; the report shows the simulation alone."
    elif disagree:
        where = "; ".join(f"{k}: {', '.join(v['disagree'][:3])}" for k, v in disagree.items())
        sentence = (
            f"Simulation and exact theory DISAGREE in {len(disagree)} of {len(compared)} scenarios "
            f"({where}); {numbers}."
        )
    else:
        every = "the only scenario" if len(compared) == 1 else f"all {len(compared)} scenarios"
        sentence = f"Simulation agrees with exact theory in {every} with theory ({numbers})."
    if untested and compared:
        sentence += f" No exact theory for {', '.join(untested)}."
    return {"agree": bool(compared) and not disagree, "verdict": sentence}


def write_verdict(verdicts: Mapping[str, Mapping], report: str | Path, output: str | Path) -> None:
    """Write ``{"report": ..., "agree": ..., "verdict": ...}`` as JSON (read by the logger plugin)."""
    data = {"report": str(report), **headline(verdicts)}
    write_text_atomic(output, json.dumps(data, indent=1) + "\n")
