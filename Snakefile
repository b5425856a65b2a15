"""mlestudy: what the theory of maximum likelihood promises, simulated.

Table of contents of the study:
  1. simulate   - draw data and fit every estimator, per (scenario, n, chunk)
  2. check      - confirm each closed-form MLE against a numerical optimum
  3. aggregate  - bias, variance, MSE, efficiency, coverage with MCSEs
  4. figures    - theory next to simulation, per scenario
  5. manifest   - provenance: config hash, each chunk file's seeds and sha256
  6. report     - one self-contained HTML file
"""


configfile: "config.yaml"


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/check.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/report.smk"


rule all:
    default_target: True
    input:
        "results/summary.csv",
        "results/manifest.json",
        "report/report.html",
