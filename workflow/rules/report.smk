rule report:
    """One self-contained HTML report; figures embedded, opens offline."""
    input:
        summary="results/summary.csv",
        checks=expand("results/checks/{scenario}.csv", scenario=SCENARIOS),
        figures=[f for s in SCENARIOS for f in figure_files(s).values()],
        grids=list(grid_figures().values()),
        template="report/template.html.j2",
        manifest="results/manifest.json",
        chapter=[*CHAPTER_TABLES.values(), *CHAPTER_FIGURES.values()],
        chapter_template="report/chapter.html.j2",
    output:
        html="report/report.html",
        # The verdict in one sentence, for the closing line of a run (workflow/logger).
        verdict="results/verdict.json",
    log:
        "results/logs/report.log",
    conda:
        "../envs/mlestudy.yaml"
    params:
        config=config,
        figures={s: figure_files(s) for s in SCENARIOS},
        grids=grid_figures(),
        # Job timings are read from whichever of these exist; they are not
        # inputs, so a missing one never re-runs a simulation.
        benchmarks=simulate_benchmarks(),
        chapter={"tables": CHAPTER_TABLES, "figures": CHAPTER_FIGURES},
        code=lambda wc: job_code("report.py"),
    script:
        "../../scripts/report.py"
