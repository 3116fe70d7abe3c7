"""One writer process of the crash test (see test_store_crash.py).

Usage: ``python crash_worker.py DATA_DIR LOG_FILE ROLE DEADLINE``

Every worker saves experiments, runs, edits and multi-record imports through
the public API until the wall-clock ``DEADLINE``, appending a line to
``LOG_FILE`` after each save returns: ``exp <id>``, ``run <id>``,
``ver <id> <version>``, each with the time. Those lines are the saves the
worker was told are committed.

The ``victim`` worker, after about a second of that, opens one long write
transaction and keeps inserting large experiments into it, listing their ids
in ``LOG_FILE.pending``; once enough has been written to spill uncommitted
pages into the WAL file it creates ``LOG_FILE.inside`` and keeps going
slowly until it is killed.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

from procanom.store import ExperimentStore, RunRecord


def run_record(experiment_id: str, n: int) -> RunRecord:
    return RunRecord(
        id=None,
        experiment_id=experiment_id,
        started_at="",
        duration_s=0.01 * n,
        procanom_version="test",
        settings={"fields": ["Name"], "n": n},
        data_fingerprint=f"fp{n}",
        rows_read=n,
        rows_skipped=0,
        total_events=n,
        num_outliers=n % 7,
        threshold=0.01,
        summary={"n": n},
    )


def import_payload(n: int) -> list[dict]:
    run = run_record("", n).__dict__ | {"started_at": "2025-01-01T00:00:00+00:00"}
    del run["id"], run["experiment_id"]
    return [
        {"name": f"imported {n}.{i}", "fields": "Name, CommandLine", "runs": [run] * 5}
        for i in range(5)
    ]


def main() -> None:
    data_dir, log_path, role, deadline = sys.argv[1:5]
    deadline_t = float(deadline)
    store = ExperimentStore(data_dir)
    log = open(log_path, "a", encoding="utf-8")  # noqa: SIM115 - kept open to the end

    def committed(line: str) -> None:
        # Written only after the save returned; flushed so a kill keeps it.
        log.write(f"{line} {time.time():.6f}\n")
        log.flush()

    started = time.time()
    n = 0
    while time.time() < deadline_t:
        n += 1
        exp = store.create_experiment(f"{role} {n}", settings={"fields": ["Name"]})
        committed(f"exp {exp.id}")
        run = store.add_run(run_record(exp.id, n))
        committed(f"run {run.id}")
        edited = store.update_experiment(
            exp.id, expected_version=exp.version, settings={"fields": ["A", "B"]}
        )
        committed(f"ver {edited.id} {edited.version}")
        if n % 4 == 0:
            for imported in store.import_experiments(import_payload(n)):
                committed(f"exp {imported.id}")

        if role == "victim" and time.time() - started > 1.0:
            break

    if role != "victim":
        return

    # The private write transaction lets the test hold one transaction open for
    # as long as it needs to land a kill inside it.
    pending = open(f"{log_path}.pending", "a", encoding="utf-8")  # noqa: SIM115
    padding = "x" * 16_000
    with store._write("crash test") as conn:
        for i in range(1_000_000):
            exp = store._insert_experiment(
                conn, f"uncommitted {i}", padding, '{"fields": ["Name"]}', None
            )
            pending.write(f"{exp.id}\n")
            pending.flush()
            if i == 300:  # about 5 MB: beyond the page cache, so in the WAL
                Path(f"{log_path}.inside").touch()
            if i >= 300:
                time.sleep(0.002)


if __name__ == "__main__":
    main()
