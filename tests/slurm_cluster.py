"""A real one-node SLURM cluster in a temporary directory, for the SLURM test.

Debian's ``munge``, ``slurmctld`` and ``slurmd`` (``.ci/run`` installs them) are
started directly, without systemd: munged on its own socket and key, slurmctld
and ``slurmd -N localhost`` on free ports, every file (config, state, spool,
logs, pid files) under the given directory.  Each daemon is stopped by the pid
of the process started here, never by name, so a developer's other processes
are safe.  Clients find the cluster through ``SLURM_CONF``.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path

DAEMONS = ("munged", "slurmctld", "slurmd")
CLIENTS = ("sbatch", "squeue", "sinfo", "scancel", "srun")
MAX_SOCKET_PATH = 107
"""Longest Unix socket path Linux allows (108 bytes with the terminating NUL)."""
PARTITION = "ci"
"""The test cluster's only partition: what a user writes as ``slurm_partition``."""


def missing_programs() -> list[str]:
    """The SLURM and munge programs this machine lacks (empty when all are there)."""
    return [p for p in (*DAEMONS, *CLIENTS) if shutil.which(p) is None]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def slurm_conf(root: Path, cpus: int, memory_mb: int) -> str:
    """A one-node slurm.conf with everything under ``root`` and no accounting (no slurmdbd).

    ``MinJobAge`` keeps finished jobs visible to ``squeue --states=all`` for
    5 minutes, which is what the executor plugin's squeue status needs.
    """
    return "\n".join(
        [
            "ClusterName=mlestudy-ci",
            "SlurmctldHost=localhost",
            f"SlurmctldPort={_free_port()}",
            f"SlurmdPort={_free_port()}",
            "SlurmUser=root",
            "SlurmdUser=root",
            "AuthType=auth/munge",
            "CredType=cred/munge",
            f"AuthInfo=socket={root}/munge.socket",
            f"StateSaveLocation={root}/state",
            f"SlurmdSpoolDir={root}/spool",
            f"SlurmctldPidFile={root}/slurmctld.pid",
            f"SlurmdPidFile={root}/slurmd.pid",
            f"SlurmctldLogFile={root}/slurmctld.log",
            f"SlurmdLogFile={root}/slurmd.log",
            "ProctrackType=proctrack/linuxproc",
            "TaskPlugin=task/none",
            "JobAcctGatherType=jobacct_gather/none",
            "AccountingStorageType=accounting_storage/none",
            "JobCompType=jobcomp/none",
            "MpiDefault=none",
            "MailProg=/bin/true",
            "SelectType=select/cons_tres",
            "SelectTypeParameters=CR_Core_Memory",
            "SchedulerType=sched/backfill",
            "ReturnToService=2",
            "MinJobAge=300",
            f"NodeName=localhost CPUs={cpus} RealMemory={memory_mb} State=UNKNOWN",
            f"PartitionName={PARTITION} Nodes=localhost Default=YES MaxTime=INFINITE State=UP",
            "",
        ]
    )


def _srun_shim(root: Path, conf: Path) -> Path:
    """A directory whose ``srun`` runs the real one with ``SLURM_CONF`` set; put it first on PATH.

    Inside a SLURM job the executor plugin's job step calls ``srun`` with every
    ``SLURM_*`` variable removed, ``SLURM_CONF`` included, so srun looks for
    /etc/slurm/slurm.conf.  A real cluster has its config there; this test's
    cluster keeps it in a temporary directory and leaves /etc alone.
    """
    shim = root / "bin"
    shim.mkdir(exist_ok=True)
    srun = shim / "srun"
    srun.write_text(f'#!/bin/sh\nSLURM_CONF={conf} exec {shutil.which("srun")} "$@"\n')
    srun.chmod(0o755)
    return shim


def _stop(process: subprocess.Popen, name: str, log: Path) -> None:
    """SIGTERM the daemon started here (by its pid), SIGKILL after 10 s."""
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)
    with open(log, "a") as handle:
        handle.write(f"{name} (pid {process.pid}) stopped, rc {process.returncode}\n")


def _wait_for(what: str, check, timeout: float, processes: dict[str, subprocess.Popen]) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for name, p in processes.items():
            if p.poll() is not None:
                raise RuntimeError(f"{name} exited with rc {p.returncode} while waiting for {what}")
        if check():
            return
        time.sleep(0.2)
    raise TimeoutError(f"{what} not ready after {timeout:.0f} s")


@contextmanager
def slurm_cluster(root: Path, cpus: int | None = None, memory_mb: int = 8000) -> Iterator[dict[str, str]]:
    """Start munged, slurmctld and slurmd under ``root``; yield the environment for clients.

    The yielded mapping is ``os.environ`` with ``SLURM_CONF`` and the srun shim
    (:func:`_srun_shim`) first on ``PATH``.  On exit, also on failure, the jobs
    left in the cluster are cancelled and the three daemons started here are
    stopped by pid.
    """
    root = Path(root).resolve()
    longest = f"{root}/spool/localhost_{10**7}.4294967291"  # slurmstepd's socket for job 10,000,000
    if len(longest) > MAX_SOCKET_PATH:
        raise ValueError(
            f"{root} is too long for SLURM: slurmstepd's Unix sockets under it would exceed "
            f"{MAX_SOCKET_PATH} bytes (jobs would be requeued for ever); use a short directory such as /tmp/slurm-XXXX"
        )
    root.chmod(0o700)  # munged refuses a key or socket in a directory others may write to
    for sub in ("state", "spool"):
        (root / sub).mkdir(exist_ok=True)
    key = root / "munge.key"
    key.write_bytes(os.urandom(1024))
    key.chmod(0o600)
    conf = root / "slurm.conf"
    conf.write_text(slurm_conf(root, cpus or os.cpu_count() or 1, memory_mb))
    env = dict(os.environ, SLURM_CONF=str(conf), PATH=f"{_srun_shim(root, conf)}:{os.environ['PATH']}")
    env.pop("SLURM_JOB_ID", None)
    started: dict[str, subprocess.Popen] = {}
    with ExitStack() as stack:
        daemon_log = root / "daemons.log"

        def start(name: str, *args: str) -> None:
            out = stack.enter_context(open(root / f"{name}.out", "w"))
            started[name] = subprocess.Popen([name, *args], env=env, stdout=out, stderr=subprocess.STDOUT)
            stack.callback(_stop, started[name], name, daemon_log)

        start(
            "munged",
            "--foreground",
            "--force",
            f"--socket={root}/munge.socket",
            f"--key-file={key}",
            f"--pid-file={root}/munged.pid",
            f"--log-file={root}/munged.log",
            f"--seed-file={root}/munged.seed",
        )
        _wait_for("munged", (root / "munge.socket").exists, 20, started)
        start("slurmctld", "-D", "-f", str(conf))
        start("slurmd", "-D", "-N", "localhost", "-f", str(conf))

        def node_idle() -> bool:
            out = subprocess.run(
                ["sinfo", "--noheader", "--format=%T"], env=env, capture_output=True, text=True, timeout=20
            )
            return out.returncode == 0 and out.stdout.strip() == "idle"

        _wait_for("the node to be idle", node_idle, 60, started)
        # Last in, first out: before the daemons stop, cancel what is left in this
        # private cluster (only this test's jobs are there), so no job outlives it.
        stack.callback(
            subprocess.run,
            ["scancel", "--full", f"--user={os.getuid()}"],
            env=env,
            capture_output=True,
            timeout=30,
        )
        yield env
