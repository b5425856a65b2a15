"""Rule manifest: write results/manifest.json (provenance of every chunk file)."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import logged, manifest_job

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    manifest_job(
        snakemake.params.config,  # noqa: F821
        chunks=list(snakemake.input.estimates),  # noqa: F821
        benchmarks=snakemake.params.benchmarks,  # noqa: F821
        output=snakemake.output[0],  # noqa: F821
    )
