"""Rule report: render report/report.html."""

import sys
from pathlib import Path

# Use the mlestudy of this checkout, whatever environment runs the rule.
sys.path.insert(0, str(Path(snakemake.scriptdir).parent))  # noqa: F821 - injected by Snakemake

from mlestudy.jobs import logged, report_job

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    report_job(
        snakemake.params.config,  # noqa: F821
        summary=snakemake.input.summary,  # noqa: F821
        checks=list(snakemake.input.checks),  # noqa: F821
        figures=snakemake.params.figures,  # noqa: F821
        grids=snakemake.params.grids,  # noqa: F821
        benchmarks=snakemake.params.benchmarks,  # noqa: F821
        template=snakemake.input.template,  # noqa: F821
        manifest=snakemake.input.manifest,  # noqa: F821
        chapter=snakemake.params.chapter,  # noqa: F821
        output=snakemake.output.html,  # noqa: F821
        verdict=snakemake.output.verdict,  # noqa: F821
    )
