"""Validate the config before any job and plan the study's files from it."""

from snakemake.exceptions import WorkflowError

from mlestudy.config import ConfigError, validate
from mlestudy import code_version
from mlestudy.outputs import FIGURES
from mlestudy.jobs import scenario_params
from mlestudy.simulate import draws, threads_for
from mlestudy import sizing

try:
    STUDY = validate(config)
except ConfigError as error:
    raise WorkflowError(str(error)) from None

SCENARIOS = [s.name for s in STUDY.scenarios]


wildcard_constraints:
    scenario=r"[A-Za-z0-9][A-Za-z0-9_-]*",
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


def scenario_settings(wildcards):
    """All settings of the scenario, for jobs that summarise or draw it."""
    return scenario_params(STUDY.scenario(wildcards.scenario))


FIGURE = "results/figures/{scenario}/{name}.png"
SIMULATE_BENCHMARK = (
    "results/benchmarks/simulate/{scenario}/n{n}/reps{first}-{stop}.tsv"
)


def simulate_threads(wildcards):
    """Big chunks draw their blocks on several threads (results do not change)."""
    sampler = STUDY.scenario(wildcards.scenario).sampler
    return threads_for(
        int(wildcards.n), int(wildcards.first), int(wildcards.stop), sampler
    )


def simulate_priority(wildcards):
    """Biggest chunks first: they hold up their scenario's summary the longest,
    and a multi-threaded one only starts when enough cores are free at once.
    Proportional to the draws (millions), because the scheduler maximises the
    summed priority of the jobs it starts together."""
    sampler = STUDY.scenario(wildcards.scenario).sampler
    return (
        draws(int(wildcards.n), int(wildcards.first), int(wildcards.stop), sampler)
        // 10**6
    )


def simulate_mem_mb(wildcards, threads, attempt):
    """A simulate job's memory request: its estimates and draw buffers (mlestudy.sizing)."""
    first, stop = int(wildcards.first), int(wildcards.stop)
    return sizing.memory_mb(stop - first, int(wildcards.n), threads, attempt)


def simulate_runtime(wildcards, threads):
    """A simulate job's wall-time request in minutes, from its draws (mlestudy.sizing)."""
    sampler = STUDY.scenario(wildcards.scenario).sampler
    n, first, stop = int(wildcards.n), int(wildcards.first), int(wildcards.stop)
    return sizing.runtime_minutes(draws(n, first, stop, sampler), threads)


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
