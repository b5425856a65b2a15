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
        check=lambda wc: STUDY.scenario(wc.scenario).check_params(
            STUDY.check_replications
        ),
        code=lambda wc: job_code(
            "check_closed_form.py", STUDY.scenario(wc.scenario).family
        ),
    script:
        "../../scripts/check_closed_form.py"
