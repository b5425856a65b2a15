"""Rule chapter_gradient: gradient descent on cross-entropy against squared error."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import logged
from mlestudy.losses.jobs import gradient_job

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    gradient_job(
        snakemake.params.scenarios,  # noqa: F821
        outputs={k: v for k, v in snakemake.output.items()},  # noqa: F821
    )
