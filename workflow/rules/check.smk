rule check_closed_form:
    """Re-fit the first replications numerically to confirm the closed-form MLE."""
    output:
        "results/checks/{scenario}.csv",
    log:
        "results/logs/check/{scenario}.log",
    benchmark:
        "results/benchmarks/check/{scenario}.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        scenario=scenario_settings,
        replications=STUDY.check_replications,
    script:
        "../../scripts/check_closed_form.py"
