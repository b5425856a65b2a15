rule grid_figure:
    """Nested-loop plot of one scenario grid: bias, coverage, efficiency across it."""
    input:
        lambda wc: expand(
            "results/summary/{scenario}.csv", scenario=grid_members(wc.grid)
        ),
    output:
        GRID_FIGURE,
    log:
        "results/logs/grids/{grid}.log",
    benchmark:
        "results/benchmarks/grids/{grid}.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        grid=lambda wc: grid_settings(wc.grid),
        code=lambda wc: job_code("grid_figure.py"),
    script:
        "../../scripts/grid_figure.py"
