rule report:
    """One self-contained HTML report; figures embedded, opens offline."""
    input:
        summary="results/summary.csv",
        checks=expand("results/checks/{scenario}.csv", scenario=SCENARIOS),
        figures=[f for s in SCENARIOS for f in figure_files(s).values()],
        template="report/template.html.j2",
        manifest="results/manifest.json",
        chapter=[*CHAPTER_TABLES.values(), *CHAPTER_FIGURES.values()],
        chapter_template="report/chapter.html.j2",
    output:
        "report/report.html",
    log:
        "results/logs/report.log",
    conda:
        "../envs/mlestudy.yaml"
    params:
        config=config,
        figures={s: figure_files(s) for s in SCENARIOS},
        # Job timings are read from whichever of these exist; they are not
        # inputs, so a missing one never re-runs a simulation.
        benchmarks=simulate_benchmarks(),
        chapter={"tables": CHAPTER_TABLES, "figures": CHAPTER_FIGURES},
        code=lambda wc: job_code("report.py"),
    script:
        "../../scripts/report.py"
