rule grid_figure:
    """Nested-loop plot of one scenario grid: bias, coverage, efficiency across it."""
    input:
        moments=lambda wc: expand(
            "results/summary/{scenario}.csv", scenario=grid_members(wc.grid)
        ),
        # Coverage is drawn: a new ci_level redraws this figure.
        coverage=lambda wc: expand(
            "results/coverage/{scenario}.csv", scenario=grid_members(wc.grid)
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
        code=code_version.code_hash(code_version.GRID_FIGURE),
    script:
        "../../scripts/grid_figure.py"
