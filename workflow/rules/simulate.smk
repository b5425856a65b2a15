rule simulate:
    """Draw one chunk of replications of one (scenario, n) and fit every estimator."""
    output:
        "results/estimates/{scenario}/n{n}/reps{first}-{stop}.parquet",
    log:
        "results/logs/simulate/{scenario}/n{n}/reps{first}-{stop}.log",
    benchmark:
        SIMULATE_BENCHMARK
    priority: simulate_priority
    conda:
        "../envs/mlestudy.yaml"
    threads: simulate_threads
    resources:
        mem_mb=simulate_mem_mb,
        runtime=simulate_runtime,
    params:
        # Only data-generating settings, so that adding replications or sample
        # sizes, or editing another scenario, re-runs nothing that exists.
        simulation=lambda wc: STUDY.scenario(wc.scenario).simulation_params(),
        # Re-run when the code that drew these numbers changes.
        code=lambda wc: job_code("simulate.py", STUDY.scenario(wc.scenario).family),
    script:
        "../../scripts/simulate.py"
