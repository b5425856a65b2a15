rule report:
    """One self-contained HTML report; figures embedded, opens offline."""
    input:
        summary="results/summary.csv",
        checks=expand("results/checks/{scenario}.csv", scenario=SCENARIOS),
        figures=[f for s in SCENARIOS for f in figure_files(s)],
        benchmarks=[
            f"results/benchmarks/simulate/{s}/n{n}/reps{a}-{b}.tsv"
            for s in SCENARIOS
            for n in STUDY.scenario(s).sample_sizes
            for a, b in STUDY.scenario(s).chunks()
        ],
        template="report/template.html.j2",
    output:
        "report/report.html",
    log:
        "results/logs/report.log",
    conda:
        "../envs/mlestudy.yaml"
    params:
        config=config,
    script:
        "../../scripts/report.py"
