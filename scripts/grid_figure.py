"""Rule grid_figure: the nested-loop plot of one scenario grid."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import grid_figure_job, logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    grid_figure_job(
        snakemake.params.grid,  # noqa: F821
        summaries=list(snakemake.input),  # noqa: F821
        output=snakemake.output[0],  # noqa: F821
    )
