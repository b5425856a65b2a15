"""What each workflow job does, given its paths and parameters.

The scripts under ``scripts/`` are one call into this module, so the same
functions run under Snakemake, in tests and from a Python prompt.  Each job
imports only what it uses: a job is a fresh process, and importing scipy.stats
or matplotlib it does not need would cost more than a simulation chunk.
"""

from __future__ import annotations

import logging
import os
import signal
import threading
import time
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import asdict
from pathlib import Path
from typing import TYPE_CHECKING

from .atomic import write_atomic
from .estimates_io import group_by_n, read_estimates, write_estimates
from .models import Model, get_model_type
from .seeding import BLOCK_SIZE, blocks_of, design_seed, stream_seed
from .simulate import simulate_columns
from .status import Status
from .verify import ChunkError, check_chunks

if TYPE_CHECKING:
    import pandas as pd

    from .config import Scenario

log = logging.getLogger("mlestudy")


@contextmanager
def logged(path: str | Path) -> Iterator[logging.Logger]:
    """Send this job's log and warnings to ``path``; log a failure before raising.

    A :class:`~mlestudy.verify.ChunkError` ends the job with its one line on
    stderr (exit status 1) instead of a traceback.

    Ctrl-C ends the job quietly: the interruption is logged and the job exits
    with status 130 and no traceback.  Workflow jobs start with SIGINT ignored
    (the Snakefile's shell prefix), so here it is turned back on for the work,
    and ignored again once the work is done: a Ctrl-C while Python shuts down
    would interrupt its exit handlers, with a traceback.
    """
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    handler = logging.FileHandler(path, mode="w", encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(message)s"))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(logging.INFO)
    logging.captureWarnings(True)
    start = time.perf_counter()
    ignored = (
        threading.current_thread() is threading.main_thread()
        and signal.getsignal(signal.SIGINT) == signal.SIG_IGN
    )
    if ignored:
        signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        yield log
    except ChunkError as error:
        # A damaged chunk is the user's to remove, not a bug: one line, no traceback.
        log.error("job failed: %s", error)
        raise SystemExit(f"error: {error}") from None
    except KeyboardInterrupt:
        log.warning("interrupted (Ctrl-C)")
        raise SystemExit(130) from None
    except BaseException:
        log.exception("job failed")
        raise
    finally:
        if ignored:
            signal.signal(signal.SIGINT, signal.SIG_IGN)
        log.info("elapsed %.3f s", time.perf_counter() - start)
        handler.flush()


def scenario_of(params: Mapping) -> Scenario:
    """Rebuild a :class:`Scenario` from the dict a rule passed as ``params``."""
    from .config import Scenario

    fields = dict(params)
    fields["sample_sizes"] = tuple(fields["sample_sizes"])
    fields["estimators"] = tuple(fields["estimators"])
    return Scenario(**fields)


def scenario_params(scenario: Scenario) -> dict:
    """The inverse of :func:`scenario_of`: plain types Snakemake can compare."""
    d = asdict(scenario)
    d["sample_sizes"] = list(d["sample_sizes"])
    d["estimators"] = list(d["estimators"])
    return d


def bound_model(scenario: str, identity: Mapping) -> Model:
    """The model a job simulates, from the scenario's name and :meth:`Scenario.identity`."""
    kind = get_model_type(identity["family"])
    return kind(
        identity["params"], identity.get("design") or {}, design_seed(int(identity["seed"]), scenario)
    )


def simulate_job(
    scenario: str,
    simulation: Mapping,
    n: int,
    first: int,
    stop: int,
    output: str | Path,
    threads: int = 1,
) -> None:
    """Simulate and fit replications first..stop-1 of one (scenario, n).

    ``simulation`` is :meth:`Scenario.simulation_params`: the job sees nothing
    else of the config, so nothing else can change its output.  ``threads``
    changes only the speed.  Imports stay light (numpy, pyarrow; no pandas or
    scipy for closed-form families) because this job runs once per chunk.
    """
    model = bound_model(scenario, simulation)
    seed = int(simulation["seed"])
    sampler = simulation["sampler"]
    log.info(
        "scenario %s, n=%d, replications %d..%d, sampler %s, %d thread(s), OPENBLAS_NUM_THREADS=%s",
        scenario, n, first, stop - 1, sampler, threads, os.environ.get("OPENBLAS_NUM_THREADS"),
    )  # fmt: skip
    for b in blocks_of(first, stop):
        for i, name in enumerate(model.streams):
            seq = stream_seed(seed, scenario, n, b, i)
            log.info(
                "block %d, stream %s: SeedSequence(entropy=%d, spawn_key=%s)",
                b,
                name,
                seq.entropy,
                seq.spawn_key,
            )
    columns = simulate_columns(
        model,
        seed=seed,
        scenario=scenario,
        n=n,
        first=first,
        stop=stop,
        estimators=list(simulation["estimators"]),
        sampler=sampler,
        threads=threads,
    )
    for e in simulation["estimators"]:
        status = columns[f"{e}.status"]
        counts = ", ".join(
            f"{int((status == s).sum())} {s.name.lower()}" for s in Status if s and (status == s).any()
        )
        log.info("estimator %s: %s", e, counts or "all ok")
    identity = {k: simulation[k] for k in ("family", "params", "design", "seed", "sampler")}
    write_estimates(
        columns, output, scenario=scenario, n=n, first=first, stop=stop, block_size=BLOCK_SIZE, **identity
    )


def write_csv(frame: pd.DataFrame, output: str | Path) -> None:
    """CSV whose floats read back bit for bit, written atomically.

    Each float is written in its shortest round-trip form (Python's ``repr``:
    0.7, not the 0.69999999999999996 of ``%.17g``), which holds exactly the
    precision the value carries and no noise digits.
    """
    write_atomic(output, lambda p: frame.to_csv(p, index=False))


def check_job(scenario: str, check: Mapping, output: str | Path) -> None:
    """Closed-form vs numerical MLE on the first replications at every n.

    ``check`` is :meth:`Scenario.check_params`.
    """
    from .numerical import check_closed_form

    frame = check_closed_form(
        bound_model(scenario, check),
        seed=int(check["seed"]),
        scenario=scenario,
        sample_sizes=tuple(check["sample_sizes"]),
        replications=int(check["replications"]),
    )
    log.info("max |closed - numerical| = %.3g over %d fits", frame["abs_diff"].max(), len(frame))
    write_csv(frame, output)


def aggregate_job(scenario: Scenario, inputs: Sequence[str | Path], output: str | Path) -> None:
    """One scenario's summary table from its chunk files, each verified first (:mod:`mlestudy.verify`)."""
    from .aggregate import summarise_scenario

    metas = check_chunks(scenario, inputs)
    groups = group_by_n(inputs, metas)
    missing = set(scenario.sample_sizes) - set(groups)
    if missing:
        raise ValueError(f"no estimate files for n in {sorted(missing)}")
    write_csv(summarise_scenario(scenario, groups), output)


def concat_job(inputs: Sequence[str | Path], output: str | Path) -> None:
    """Stack per-scenario CSV tables into one (the study's summary.csv)."""
    import pandas as pd

    write_csv(pd.concat([pd.read_csv(p) for p in inputs], ignore_index=True), output)


def grid_figure_job(grid: Mapping, summaries: Sequence[str | Path], output: str | Path) -> None:
    """Draw the nested-loop plot of one scenario grid from its scenarios' summary tables.

    ``grid`` is ``dataclasses.asdict`` of a :class:`mlestudy.grid.Grid`.
    """
    import pandas as pd

    from .figures import save
    from .grid_figure import grid_of, plot_nested_loop

    frame = pd.concat([pd.read_csv(p) for p in summaries], ignore_index=True)
    save(plot_nested_loop(grid_of(grid), frame), output)


def figures_job(
    scenario: Scenario, summary: str | Path, estimates: Sequence[str | Path], outputs: Mapping[str, str]
) -> None:
    """Draw one scenario's figures from its summary and its verified chunk files."""
    import pandas as pd

    from .figures import draw_scenario

    groups = group_by_n(estimates, check_chunks(scenario, estimates))
    frames = {n: read_estimates(files) for n, files in groups.items()}
    draw_scenario(scenario, pd.read_csv(summary), frames, outputs)


def report_job(
    config: Mapping,
    summary: str | Path,
    checks: Sequence[str | Path],
    figures: Mapping[str, Mapping[str, str]],
    benchmarks: Sequence[str | Path],
    template: str | Path,
    output: str | Path,
    manifest: str | Path | None = None,
    verdict: str | Path | None = None,
    grids: Mapping[str, str] | None = None,
    chapter: Mapping[str, Mapping[str, str]] | None = None,
) -> None:
    """Render the HTML report from the study's tables and figures.

    ``figures`` maps scenario -> figure name -> file; ``benchmarks`` lists the
    simulate jobs' Snakemake benchmark files, of which those present are timed;
    ``manifest`` is the study's provenance manifest, summarised in the report;
    ``verdict`` is where the one-sentence verdict goes as JSON (for the end of a run);
    ``grids`` maps each scenario grid to its nested-loop figure.
    ``chapter`` holds the loss-function chapter's ``tables`` and ``figures`` (name -> file).
    """
    import pandas as pd

    from .config import validate
    from .report import render

    study = validate(dict(config))
    check_tables = {Path(p).stem: pd.read_csv(p) for p in checks}
    from .manifest import job_seconds

    # An empty or cut-short benchmark file (a full disk) counts as none.
    timings = [b for b in benchmarks if job_seconds(b) is not None]
    provenance = None
    if manifest is not None:
        from .manifest import load_manifest, summarise

        provenance = dict(summarise(load_manifest(manifest)), path=str(manifest))
    frame = pd.read_csv(summary)
    context = None
    if chapter is not None:
        from .chapter import chapter_context

        context = chapter_context(frame, chapter.get("tables", {}), chapter.get("figures", {}))
    verdicts = render(
        study, frame, check_tables, figures, timings, output, template, provenance, grids or {}, context
    )
    if verdict is not None:
        from .headline import write_verdict

        write_verdict(verdicts, output, verdict)


def manifest_job(
    config: Mapping, chunks: Sequence[str | Path], benchmarks: Mapping[str, str], output: str | Path
) -> None:
    """Write the study's provenance manifest (see :mod:`mlestudy.manifest`).

    ``benchmarks`` maps each chunk file to its simulate job's benchmark file,
    read for the job's run time where it exists.
    """
    from .config import validate
    from .manifest import build_manifest, write_manifest

    manifest = build_manifest(validate(dict(config)), chunks, benchmarks)
    log.info("config sha256 %s, %d chunk files", manifest["config_sha256"], len(manifest["chunks"]))
    write_manifest(manifest, output)
