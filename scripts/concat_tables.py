"""Rule summary: stack the per-scenario tables into results/summary.csv."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import concat_job, logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    concat_job(
        list(snakemake.input.moments),  # noqa: F821
        snakemake.output[0],  # noqa: F821
        coverage=list(snakemake.input.coverage),  # noqa: F821
    )
