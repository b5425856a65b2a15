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
        # Without coverage, so neither ci_level nor the description re-runs it.
        scenario=settings_without("ci_level", "description"),
        code=lambda wc: code_version.code_hash(
            code_version.SUMMARY, STUDY.scenario(wc.scenario).family
        ),
    script:
        "../../scripts/aggregate.py"


rule coverage_scenario:
    """Wald coverage for one scenario: the only measures that depend on ci_level."""
    input:
        lambda wc: estimate_files(wc.scenario),
    output:
        "results/coverage/{scenario}.csv",
    log:
        "results/logs/coverage/{scenario}.log",
    benchmark:
        "results/benchmarks/coverage/{scenario}.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        scenario=settings_without("description"),
        code=lambda wc: code_version.code_hash(
            code_version.SUMMARY, STUDY.scenario(wc.scenario).family
        ),
    script:
        "../../scripts/coverage.py"


rule summary:
    """The study's tidy table: one row per (scenario, estimator, parameter, n)."""
    input:
        moments=expand("results/summary/{scenario}.csv", scenario=SCENARIOS),
        coverage=expand("results/coverage/{scenario}.csv", scenario=SCENARIOS),
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
    script:
        "../../scripts/concat_tables.py"
