"""The workflow on a real SLURM cluster, through the profile a user runs.

A one-node Slurm (Debian's slurmctld, slurmd and munge; ``.ci/run`` installs
them) is started in a temporary directory (``slurm_cluster.py``).  The profile's
two placeholder lines, account and partition, are filled in as the README says,
and the tiny study runs through ``snakemake --workflow-profile
workflow/profiles/slurm`` under a hard timeout.  Skipped, with the reason, only
where SLURM is not installed; under CI a missing SLURM fails instead.

The dry run with the profile is tested apart, on a PATH without any SLURM
program: it must work on a laptop.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from slurm_cluster import PARTITION, missing_programs, slurm_cluster
from workflow_helpers import SNAKEMAKE, TINY, copy_workflow

pytestmark = pytest.mark.slow

PROFILE = "workflow/profiles/slurm"
ACCOUNT = "mlestudy-ci"
"""Any name: the test cluster keeps no accounts (no slurmdbd), so it checks none."""
FAST_POLLING = ("--slurm-init-seconds-before-status-checks", "1", "--seconds-between-status-checks", "1")
"""Status checks every second instead of every 10 s: the only option the test adds."""
RUN_TIMEOUT = 900
FAIL_TIMEOUT = 300


def _why_not_here() -> str | None:
    """Why the SLURM test cannot run on this machine, or None."""
    missing = missing_programs()
    if missing:
        return f"SLURM is not installed (missing {', '.join(missing)}); .ci/run installs Debian's slurmctld slurmd slurm-client munge"
    if os.geteuid() != 0:
        return "slurmd must run as root to start jobs as their user; run the SLURM test as root"
    if importlib.util.find_spec("snakemake_executor_plugin_slurm") is None:
        return (
            "snakemake-executor-plugin-slurm is not installed: pip install -c constraints.txt -e '.[slurm]'"
        )
    return None


@pytest.fixture
def slurm(tmp_path: Path):
    """A running one-node SLURM cluster; its client environment."""
    reason = _why_not_here()
    if reason:
        if os.environ.get("CI"):
            pytest.fail(f"CI must run the SLURM test: {reason}")
        pytest.skip(reason)
    # A short directory: slurmstepd's socket paths under it must stay within 107 bytes,
    # which pytest's temporary paths exceed (a job whose socket cannot be made is requeued).
    root = Path(tempfile.mkdtemp(prefix="slurm-", dir="/tmp"))
    try:
        with slurm_cluster(root) as env:
            yield env
    finally:
        for log in root.glob("*.log"):  # kept beside the test's files, for a failure's post-mortem
            shutil.copy(log, tmp_path / f"slurm-{log.name}")
        shutil.rmtree(root, ignore_errors=True)


def fill_in_profile(workdir: Path) -> None:
    """What the README asks of a user: the account and partition lines, nothing else."""
    path = workdir / PROFILE / "config.yaml"
    text = path.read_text()
    for key, value in (("slurm_account", ACCOUNT), ("slurm_partition", PARTITION)):
        text, count = re.subn(rf'^(\s*{key}: )""', rf'\g<1>"{value}"', text, flags=re.M)
        assert count == 1, f"the profile has no placeholder line '{key}: \"\"' to fill in"
    path.write_text(text)


def run_bounded(args: list[str], cwd: Path, env: dict[str, str], timeout: float) -> tuple[int, str, float]:
    """Run ``args``; kill its whole process group at ``timeout``.  (rc, output, seconds)."""
    start = time.monotonic()
    with subprocess.Popen(
        args,
        cwd=cwd,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
        start_new_session=True,
    ) as process:
        try:
            out, _ = process.communicate(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            out, _ = process.communicate()
            pytest.fail(f"{' '.join(args)} did not finish in {timeout:.0f} s:\n{out[-4000:]}")
    return process.returncode, out, time.monotonic() - start


def slurm_jobs(env: dict[str, str]) -> dict[str, str]:
    """Job id -> state of every job the test cluster knows (finished ones for MinJobAge)."""
    out = subprocess.run(
        ["squeue", "--states=all", "--noheader", "--format=%i|%T"],
        env=env,
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    ).stdout
    return dict(line.split("|", 1) for line in out.split())


def test_study_runs_on_slurm_through_the_profile(slurm: dict[str, str], study: Path, tmp_path: Path) -> None:
    """rc 0, every job through SLURM, summary.csv byte-identical to a local run; a failure exits promptly."""
    work = copy_workflow(tmp_path / "study", TINY)
    fill_in_profile(work)
    command = [str(SNAKEMAKE), "--workflow-profile", PROFILE, *FAST_POLLING]

    rc, out, seconds = run_bounded(command, work, slurm, RUN_TIMEOUT)
    assert rc == 0, out[-6000:]

    submitted = re.findall(r"has been submitted with SLURM jobid (\d+)", out)
    states = slurm_jobs(slurm)
    assert submitted and set(submitted) <= set(states), (submitted, states)
    assert {states[j] for j in submitted} == {"COMPLETED"}, states
    local = sorted(re.findall(r"localrule (\w+):", out))
    assert local == ["all", "manifest", "report", "summary"], local
    groups = re.findall(r"Group job simulate", out)
    assert groups, "simulate jobs were not grouped"

    cmp = subprocess.run(
        ["cmp", str(study / "results" / "summary.csv"), str(work / "results" / "summary.csv")],
        capture_output=True,
        text=True,
    )
    assert cmp.returncode == 0, cmp.stdout + cmp.stderr

    # A job that fails on the cluster: snakemake must exit non-zero, not wait.
    (work / "scripts" / "check_closed_form.py").write_text('raise SystemExit("deliberate failure")\n')
    failing = [*command, "results/checks/coin.csv", "--forcerun", "check_closed_form"]
    fail_rc, fail_out, fail_seconds = run_bounded(failing, work, slurm, FAIL_TIMEOUT)
    assert fail_rc != 0, fail_out[-4000:]
    assert re.search(r"SLURM-job '\d+' failed", fail_out), fail_out[-4000:]

    report = {
        "slurm_jobs": len(submitted),
        "grouped_simulate_jobs": len(groups),
        "local_jobs": len(local),
        "wall_seconds": round(seconds, 1),
        "cmp_summary_csv": f"cmp rc {cmp.returncode} (identical to the local --cores 2 run)",
        "failing_job_rc": fail_rc,
        "failing_job_seconds": round(fail_seconds, 1),
    }
    line = "SLURM test: " + json.dumps(report)
    print(line)
    if os.environ.get("MLESTUDY_SLURM_REPORT"):
        Path(os.environ["MLESTUDY_SLURM_REPORT"]).write_text(line + "\n")


def test_dry_run_with_the_profile_needs_no_slurm(tmp_path: Path) -> None:
    """``-n`` with the SLURM profile on a machine without any SLURM program."""
    work = copy_workflow(tmp_path / "dry", TINY)
    bin_dir = tmp_path / "bin"  # the basics of a laptop's PATH, no SLURM
    bin_dir.mkdir()
    for tool in ("sh", "bash", "env", "which", "uname", "git"):
        if shutil.which(tool):
            (bin_dir / tool).symlink_to(shutil.which(tool))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SLURM")}
    env["PATH"] = f"{Path(sys.executable).parent}:{bin_dir}"
    result = subprocess.run(
        [str(SNAKEMAKE), "--workflow-profile", PROFILE, "-n"],
        cwd=work,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    assert "This was a dry-run" in result.stdout + result.stderr
