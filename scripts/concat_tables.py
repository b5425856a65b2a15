"""Rule summary: stack the per-scenario tables into results/summary.csv."""

from mlestudy.jobs import concat_job, logged

with logged(snakemake.log[0]):  # noqa: F821 - injected by Snakemake
    concat_job(list(snakemake.input), snakemake.output[0])  # noqa: F821
