"""Rule simulate: draw and fit one chunk of one (scenario, n)."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import logged, simulate_job

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    wc = snakemake.wildcards  # noqa: F821
    simulate_job(
        wc.scenario,
        snakemake.params.simulation,  # noqa: F821
        n=int(wc.n),
        first=int(wc.first),
        stop=int(wc.stop),
        output=snakemake.output[0],  # noqa: F821
        threads=snakemake.threads,  # noqa: F821
    )
