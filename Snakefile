"""mlestudy: what the theory of maximum likelihood promises, simulated.

Table of contents of the study:
  1. simulate   - draw data and fit every estimator, per (scenario, n, chunk)
  2. check      - confirm each closed-form MLE against a numerical optimum
  3. aggregate  - bias, variance, MSE, efficiency, coverage with MCSEs
  4. figures    - theory next to simulation, per scenario; a nested-loop plot per scenario grid
  5. manifest   - provenance: config hash, each chunk file's seeds and sha256
  6. chapter    - the loss-function chapter's experiments, on the scenarios' own data
  7. report     - one self-contained HTML file
"""

from pathlib import Path

from snakemake.exceptions import WorkflowError

from mlestudy.config import ConfigError, read_config_file

# Snakemake's message for a broken config.yaml names neither the file nor the line,
# and YAML keeps the last of two equal keys in silence: read the config files first.
for path in [Path("config.yaml"), *workflow.overwrite_configfiles]:
    if path.exists():
        try:
            read_config_file(path)
        except ConfigError as error:
            raise WorkflowError(str(error)) from None


configfile: "config.yaml"


# Ctrl-C sends SIGINT to every job of the terminal's process group. A job starts with it
# ignored, so that one arriving while Python imports Snakemake's script preamble cannot
# print a traceback; mlestudy.jobs.logged() turns it back on and stops the job quietly.
shell.prefix("set -euo pipefail; trap '' INT; ")


report: "workflow/report/workflow.rst"


include: "workflow/rules/common.smk"
include: "workflow/rules/simulate.smk"
include: "workflow/rules/check.smk"
include: "workflow/rules/aggregate.smk"
include: "workflow/rules/figures.smk"
include: "workflow/rules/grid.smk"
include: "workflow/rules/manifest.smk"
include: "workflow/rules/chapter.smk"
include: "workflow/rules/report.smk"


# On a cluster these run on the submit host: seconds of work, not worth a queue.
localrules:
    all,
    summary,
    manifest,
    report,


rule all:
    default_target: True
    input:
        "results/summary.csv",
        "results/manifest.json",
        "report/report.html",
        # Every chunk: a missing or damaged one is simulated again (see checked_chunks).
        checked_chunks,
