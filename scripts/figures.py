"""Rule figures: draw one scenario's figures."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import figures_job, logged, scenario_of
from mlestudy.outputs import FIGURES

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    figures_job(
        scenario_of(snakemake.params.scenario),  # noqa: F821
        summary=snakemake.input.summary,  # noqa: F821
        estimates=list(snakemake.input.estimates),  # noqa: F821
        outputs={name: getattr(snakemake.output, name) for name in FIGURES},  # noqa: F821
    )
