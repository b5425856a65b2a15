rule figures:
    """Theory next to simulation: bias, variance, efficiency, MSE, sampling distribution."""
    input:
        summary="results/summary/{scenario}.csv",
        # The sampling-distribution figure shows the smallest and largest n.
        estimates=lambda wc: estimate_files(
            wc.scenario,
            sample_sizes=sorted(
                {
                    min(STUDY.scenario(wc.scenario).sample_sizes),
                    max(STUDY.scenario(wc.scenario).sample_sizes),
                }
            ),
        ),
    output:
        bias=report(
            "results/figures/{scenario}/bias.svg",
            caption="../report/bias.rst",
            category="Bias",
            subcategory="{scenario}",
        ),
        variance=report(
            "results/figures/{scenario}/variance.svg",
            caption="../report/variance.rst",
            category="Variance",
            subcategory="{scenario}",
        ),
        efficiency=report(
            "results/figures/{scenario}/efficiency.svg",
            caption="../report/efficiency.rst",
            category="Efficiency",
            subcategory="{scenario}",
        ),
        sampling=report(
            "results/figures/{scenario}/sampling.svg",
            caption="../report/sampling.rst",
            category="Sampling distribution",
            subcategory="{scenario}",
        ),
        mse=report(
            "results/figures/{scenario}/mse.svg",
            caption="../report/mse.rst",
            category="MSE",
            subcategory="{scenario}",
        ),
    log:
        "results/logs/figures/{scenario}.log",
    benchmark:
        "results/benchmarks/figures/{scenario}.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        # No figure here shows coverage: a new ci_level or description redraws none.
        scenario=settings_without("ci_level", "description"),
        code=lambda wc: code_version.code_hash(
            code_version.FIGURES, STUDY.scenario(wc.scenario).family
        ),
    script:
        "../../scripts/figures.py"
