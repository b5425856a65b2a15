"""Rule check_closed_form: closed-form vs numerical MLE for one scenario."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import check_job, logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    check_job(
        snakemake.wildcards.scenario,  # noqa: F821
        snakemake.params.check,  # noqa: F821
        output=snakemake.output[0],  # noqa: F821
    )
