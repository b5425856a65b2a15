"""Rule chapter_figure: the gradient-descent curves."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import logged
from mlestudy.losses.jobs import figure_job

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    figure_job(snakemake.input.curves, snakemake.output[0])  # noqa: F821
