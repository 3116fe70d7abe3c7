"""Eight processes write at once and one is killed inside a transaction.

Afterwards the database must pass SQLite's integrity check, every save a
process was told had committed must be there, and nothing from the killed
transaction may be.
"""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import time
from pathlib import Path

import pytest

from procanom.store import ExperimentStore

WORKERS = 8
RUN_SECONDS = 4.0

pytestmark = pytest.mark.skipif(
    not hasattr(signal, "SIGKILL"), reason="needs POSIX SIGKILL"
)


def read_log(path: Path) -> list[list[str]]:
    if not path.exists():
        return []
    return [line.split() for line in path.read_text().splitlines() if line]


def test_store_survives_a_writer_killed_mid_transaction(tmp_path, repo_root):
    data_dir = tmp_path / "data"
    ExperimentStore(data_dir).close()
    worker = Path(__file__).with_name("crash_worker.py")
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    deadline = time.time() + RUN_SECONDS
    logs = [tmp_path / f"worker{i}.log" for i in range(WORKERS)]
    roles = ["victim"] + ["steady"] * (WORKERS - 1)

    procs = [
        subprocess.Popen(
            [sys.executable, str(worker), str(data_dir), str(log), role, str(deadline)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for log, role in zip(logs, roles, strict=True)
    ]
    try:
        # Kill the victim as soon as it says it is deep inside its transaction.
        inside = Path(f"{logs[0]}.inside")
        while not inside.exists():
            assert procs[0].poll() is None, procs[0].stderr.read()
            assert time.time() < deadline + 10, "victim never opened its transaction"
            time.sleep(0.005)
        procs[0].send_signal(signal.SIGKILL)
        killed_at = time.time()
        assert procs[0].wait(timeout=10) == -signal.SIGKILL

        for proc in procs[1:]:
            _, err = proc.communicate(timeout=30)
            assert proc.returncode == 0, err
    finally:
        for proc in procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait()

    with sqlite3.connect(data_dir / "procanom.sqlite3") as raw:
        assert raw.execute("PRAGMA integrity_check").fetchone()[0] == "ok"
        assert raw.execute("PRAGMA foreign_key_check").fetchall() == []
        experiments = dict(raw.execute("SELECT id, version FROM experiments"))
        runs = {row[0] for row in raw.execute("SELECT id FROM runs")}

    lines = [line for log in logs for line in read_log(log)]
    committed_experiments = {line[1] for line in lines if line[0] == "exp"}
    committed_runs = {line[1] for line in lines if line[0] == "run"}
    assert committed_experiments - experiments.keys() == set()
    assert committed_runs - runs == set()
    for kind, exp_id, version, _ in (line for line in lines if line[0] == "ver"):
        assert experiments[exp_id] >= int(version), (kind, exp_id)

    pending = set(Path(f"{logs[0]}.pending").read_text().split())
    assert len(pending) > 300
    assert pending & experiments.keys() == set()

    # The victim committed work before it died, and the others kept
    # committing after it, so its lock did not outlive it.
    assert read_log(logs[0])
    assert any(float(line[-1]) > killed_at for line in lines)
