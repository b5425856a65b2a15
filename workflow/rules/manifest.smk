rule manifest:
    """Provenance: config hash, and every chunk file's seeds and sha256."""
    input:
        estimates=list(chunk_benchmarks()),
    output:
        "results/manifest.json",
    log:
        "results/logs/manifest.log",
    conda:
        "../envs/mlestudy.yaml"
    params:
        # The manifest records the config's hash, so any config edit re-writes
        # it (only it: this job is cheap and nothing downstream re-runs).
        config=config,
        # Job run times are read from whichever of these exist; they are not
        # inputs, so a missing one never re-runs a simulation.
        benchmarks=chunk_benchmarks(),
        code=lambda wc: job_code("manifest.py"),
    script:
        "../../scripts/manifest.py"
