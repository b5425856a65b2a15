"""Validate the config before any job and plan the study's files from it."""

from dataclasses import asdict
from pathlib import Path

from snakemake.exceptions import WorkflowError
from snakemake.logging import logger

from mlestudy.config import ConfigError, validate
from mlestudy import code_version
from mlestudy.outputs import FIGURES
from mlestudy.jobs import scenario_params
from mlestudy.simulate import job_cost, threads_for
from mlestudy.verify import damaged_chunks, remove_chunk
from mlestudy import sizing

try:
    STUDY = validate(config)
except ConfigError as error:
    raise WorkflowError(str(error)) from None

SCENARIOS = [s.name for s in STUDY.scenarios]
GRIDS = {g.name: g for g in STUDY.grids}
GRID_FIGURE = "results/grids/{grid}/nested_loop.svg"


wildcard_constraints:
    scenario=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    grid=r"[A-Za-z0-9][A-Za-z0-9_-]*",
    n=r"[0-9]+",
    first=r"[0-9]+",
    stop=r"[0-9]+",


ESTIMATES = "results/estimates/{scenario}/n{n}/reps{first}-{stop}.parquet"


def estimate_files(scenario, sample_sizes=None):
    """Every chunk file of a scenario (optionally only some sample sizes)."""
    sc = STUDY.scenario(scenario)
    return [
        ESTIMATES.format(scenario=sc.name, n=n, first=first, stop=stop)
        for n in (sample_sizes or sc.sample_sizes)
        for first, stop in sc.chunks(n)
    ]


SCRIPTS = Path(workflow.basedir) / "scripts"


def job_code(script, family=None):
    """Fingerprint of a rule's script and of every package file it runs (and of the
    model's module): a job re-runs when that code changes, and only then
    (see mlestudy.code_version; the default profile drops Snakemake's
    script-mtime trigger)."""
    return code_version.script_hash(SCRIPTS / script, family)


def scenario_settings(wildcards):
    """All settings of the scenario, for jobs that summarise or draw it."""
    return scenario_params(STUDY.scenario(wildcards.scenario))


def settings_without(*unused):
    """Scenario settings with those a job does not read set to None.

    Snakemake re-runs a job when its params change: a job that neither reads
    ``ci_level`` nor ``description`` must not re-run when they are edited.
    """

    def settings(wildcards):
        return {**scenario_settings(wildcards), **dict.fromkeys(unused)}

    return settings


FIGURE = "results/figures/{scenario}/{name}.svg"
SIMULATE_BENCHMARK = (
    "results/benchmarks/simulate/{scenario}/n{n}/reps{first}-{stop}.tsv"
)


def simulate_threads(wildcards):
    """Big chunks draw their blocks on several threads (results do not change)."""
    sc = STUDY.scenario(wildcards.scenario)
    return threads_for(
        sc.model,
        int(wildcards.n),
        int(wildcards.first),
        int(wildcards.stop),
        sc.sampler,
    )


def simulate_priority(wildcards):
    """Biggest chunks first: they hold up their scenario's summary the longest,
    and a multi-threaded one only starts when enough cores are free at once.
    Proportional to the draws (millions), because the scheduler maximises the
    summed priority of the jobs it starts together."""
    sc = STUDY.scenario(wildcards.scenario)
    return (
        job_cost(
            sc.model,
            int(wildcards.n),
            int(wildcards.first),
            int(wildcards.stop),
            sc.sampler,
        )
        // 10**6
    )


def simulate_mem_mb(wildcards, threads, attempt):
    """A simulate job's memory request: its estimates and draw buffers (mlestudy.sizing)."""
    first, stop = int(wildcards.first), int(wildcards.stop)
    return sizing.memory_mb(stop - first, int(wildcards.n), threads, attempt)


def simulate_runtime(wildcards, threads):
    """A simulate job's wall-time request in minutes, from its cost (mlestudy.sizing)."""
    sc = STUDY.scenario(wildcards.scenario)
    n, first, stop = int(wildcards.n), int(wildcards.first), int(wildcards.stop)
    return sizing.runtime_minutes(
        job_cost(sc.model, n, first, stop, sc.sampler), threads
    )


def figure_files(scenario):
    """Figure name -> file, for one scenario."""
    return {name: FIGURE.format(scenario=scenario, name=name) for name in FIGURES}


def simulate_benchmarks():
    """The benchmark file of every simulate job of the study."""
    return [
        SIMULATE_BENCHMARK.format(scenario=s.name, n=n, first=a, stop=b)
        for s in STUDY.scenarios
        for n in s.sample_sizes
        for a, b in s.chunks(n)
    ]


def chunk_benchmarks():
    """Every chunk file of the study -> its simulate job's benchmark file."""
    return {
        ESTIMATES.format(scenario=s.name, n=n, first=a, stop=b): (
            SIMULATE_BENCHMARK.format(scenario=s.name, n=n, first=a, stop=b)
        )
        for s in STUDY.scenarios
        for n in s.sample_sizes
        for a, b in s.chunks(n)
    }


def all_chunks():
    """Every chunk file of the study."""
    return list(chunk_benchmarks())


_PRE_RUN = {"checked": False}


def checked_chunks(wildcards):
    """Every chunk file of the study, for rule all; a damaged one is deleted first.

    Snakemake re-creates a missing intermediate file only for a job that runs
    anyway, so a deleted chunk would never come back once the summary exists.
    Rule all has no output, and runs (with what makes its inputs) whenever one
    of them is missing: listing every chunk here makes a plain rerun simulate a
    missing one, and everything downstream of it.  A chunk whose bytes differ
    from the sha256 recorded when it was written, or whose metadata does not
    match its path and the config, is deleted before Snakemake looks, so the
    same run simulates it again (never in a dry run, --touch or a job process).
    """
    chunks = all_chunks()
    real_run = (
        workflow.is_main_process
        and workflow.executor_plugin is not None
        and not workflow.touch
    )
    if real_run and not _PRE_RUN["checked"]:
        _PRE_RUN["checked"] = True
        for path, problem in damaged_chunks(STUDY, chunks):
            if workflow.dryrun:
                logger.warning(
                    f"{path}: {problem}; a real run deletes it and simulates it again"
                )
            else:
                try:
                    remove_chunk(path)
                except OSError as error:  # the job that reads it will stop, naming it
                    logger.warning(
                        f"{path}: {problem}; cannot delete it ({error.strerror})"
                    )
                    continue
                logger.warning(f"{path}: {problem}; deleted it, simulating it again")
    return chunks


def grid_members(grid):
    """The scenarios a grid entry expanded into, in nested-loop order."""
    return [m.scenario for m in GRIDS[grid].members]


def grid_settings(grid):
    """A grid as plain data (what its figure depends on besides its tables)."""
    return asdict(GRIDS[grid])


def grid_figures():
    """Grid name -> its nested-loop figure."""
    return {name: GRID_FIGURE.format(grid=name) for name in GRIDS}
