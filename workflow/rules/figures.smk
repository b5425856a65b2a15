rule figures:
    """Theory next to simulation: bias, variance, efficiency, MSE, coverage, zip plot, sampling distribution."""
    input:
        summary="results/summary/{scenario}.csv",
        # The sampling-distribution figure and the zip plot show the smallest and largest n.
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
        coverage=report(
            "results/figures/{scenario}/coverage.svg",
            caption="../report/coverage.rst",
            category="Coverage",
            subcategory="{scenario}",
        ),
        zip=report(
            "results/figures/{scenario}/zip.svg",
            caption="../report/zip.rst",
            category="Zip plot",
            subcategory="{scenario}",
        ),
    log:
        "results/logs/figures/{scenario}.log",
    benchmark:
        "results/benchmarks/figures/{scenario}.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        # The description is the report's alone; the coverage figure depends on ci_level.
        scenario=settings_without("description"),
        code=lambda wc: job_code("figures.py", STUDY.scenario(wc.scenario).family),
    script:
        "../../scripts/figures.py"
