"""The loss-function chapter: experiments on the scenarios' own data, regenerated from their streams.

These jobs read no estimate file (they draw the replications again): they need no
simulation job to have run, and no simulation job waits for them.
"""

from mlestudy.losses import jobs as chapter_jobs

CHAPTER_TABLES = chapter_jobs.TABLES
CHAPTER_FIGURES = chapter_jobs.FIGURES
CHAPTER_GRADIENT = chapter_jobs.chapter_params(STUDY, "gradient")
CHAPTER_NUMERICS = chapter_jobs.chapter_params(STUDY, "numerics")


rule chapter_gradient:
    """The vanishing gradient: gradient descent on cross-entropy against squared error."""
    output:
        gradient_steps=CHAPTER_TABLES["gradient_steps"],
        gradient_curves=CHAPTER_TABLES["gradient_curves"],
        gradient_one_observation=CHAPTER_TABLES["gradient_one_observation"],
    log:
        "results/logs/chapter/gradient.log",
    benchmark:
        "results/benchmarks/chapter/gradient.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        scenarios=CHAPTER_GRADIENT,
        code=lambda wc: chapter_jobs.code_hash(
            SCRIPTS / "chapter_gradient.py", CHAPTER_GRADIENT
        ),
    script:
        "../../scripts/chapter_gradient.py"


rule chapter_numerics:
    """Raw likelihood underflow; naive against stable log-sum-exp, softmax and cross-entropy."""
    output:
        underflow=CHAPTER_TABLES["underflow"],
        logsumexp=CHAPTER_TABLES["logsumexp"],
        bce=CHAPTER_TABLES["bce"],
    log:
        "results/logs/chapter/numerics.log",
    benchmark:
        "results/benchmarks/chapter/numerics.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        scenarios=CHAPTER_NUMERICS,
        code=lambda wc: chapter_jobs.code_hash(
            SCRIPTS / "chapter_numerics.py", CHAPTER_NUMERICS
        ),
    script:
        "../../scripts/chapter_numerics.py"


rule chapter_figure:
    """The gradient-descent curves, from their table."""
    input:
        curves=CHAPTER_TABLES["gradient_curves"],
    output:
        report(
            CHAPTER_FIGURES["gradient_descent"],
            caption="../report/chapter_gradient.rst",
            category="Loss functions",
        ),
    log:
        "results/logs/chapter/figure.log",
    benchmark:
        "results/benchmarks/chapter/figure.tsv"
    conda:
        "../envs/mlestudy.yaml"
    params:
        code=lambda wc: job_code("chapter_figure.py"),
    script:
        "../../scripts/chapter_figure.py"
