"""Rule aggregate_scenario: one scenario's summary table."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import aggregate_job, logged, scenario_of

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    aggregate_job(
        scenario_of(snakemake.params.scenario),  # noqa: F821
        inputs=list(snakemake.input),  # noqa: F821
        output=snakemake.output[0],  # noqa: F821
        coverage=False,  # results/coverage/ holds it (rule coverage_scenario)
    )
