rule aggregate_scenario:
    """Performance measures with Monte Carlo standard errors for one scenario."""
    input:
        lambda wc: estimate_files(wc.scenario),
    output:
        "results/summary/{scenario}.csv",
    log:
        "results/logs/aggregate/{scenario}.log",
    benchmark:
        "results/benchmarks/aggregate/{scenario}.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        # Everything but the description, which only the report shows: ci_level stays,
        # since the Wald coverage columns (and exact coverage) depend on it.
        scenario=settings_without("description"),
        code=lambda wc: job_code("aggregate.py", STUDY.scenario(wc.scenario).family),
    script:
        "../../scripts/aggregate.py"


rule summary:
    """The study's tidy table: one row per (scenario, estimator, parameter, n)."""
    input:
        expand("results/summary/{scenario}.csv", scenario=SCENARIOS),
    output:
        report(
            "results/summary.csv",
            caption="../report/summary.rst",
            category="Tables",
        ),
    log:
        "results/logs/summary.log",
    conda:
        "../envs/mlestudy.yaml"
    params:
        code=lambda wc: job_code("concat_tables.py"),
    script:
        "../../scripts/concat_tables.py"
