"""Rule simulate: draw and fit one chunk of one (scenario, n)."""

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
    )
