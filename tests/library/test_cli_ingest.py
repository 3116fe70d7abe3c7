"""``procanom ingest``: a one-line summary, exit codes, and no waiting on readers."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path

from procanom.cli import main
from procanom.library import DatasetLibrary
from procanom.store import ExperimentStore


def _run_cli(repo_root: Path, *args: str, env: dict | None = None):
    return subprocess.run(
        [sys.executable, "-m", "procanom", *args],
        capture_output=True,
        text=True,
        cwd=repo_root,
        env={**os.environ, **(env or {})},
        timeout=120,
    )


def test_cli_ingest_prints_summary_and_registers_in_store(tmp_path, winhostmon, capsys):
    data = tmp_path / "data"

    status = main(
        ["ingest", str(winhostmon), "--dataset", "Workstation", "--data-dir", str(data)]
    )

    out = capsys.readouterr().out.strip()
    assert status == 0
    assert out.startswith("Workstation (")
    assert "363 events, 1 hosts, 0 skipped rows, 0 warnings" in out
    [record] = ExperimentStore(data).list_datasets()
    assert record.name == "Workstation"
    assert DatasetLibrary(data).get(record.id).events == 363


def test_cli_ingest_uses_procanom_data_dir(tmp_path, winhostmon, repo_root):
    data = tmp_path / "from-env"

    done = _run_cli(
        repo_root,
        "ingest",
        str(winhostmon),
        "--dataset",
        "w",
        env={"PROCANOM_DATA_DIR": str(data)},
    )

    assert done.returncode == 0, done.stderr
    assert len(ExperimentStore(data).list_datasets()) == 1


def test_cli_ingest_bad_file_exits_2_with_one_line(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text("{ not json", encoding="utf-8")

    status = main(["ingest", str(bad), "--dataset", "bad", "--data-dir", str(tmp_path)])

    err = capsys.readouterr().err.strip()
    assert status == 2
    assert err.startswith("procanom: ") and "bad.json" in err
    assert "\n" not in err and "Traceback" not in err


def test_cli_datasets_lists_ingested(tmp_path, winhostmon, capsys):
    main(["ingest", str(winhostmon), "--dataset", "w", "--data-dir", str(tmp_path)])
    capsys.readouterr()

    status = main(["datasets", "--data-dir", str(tmp_path)])

    out = capsys.readouterr().out
    assert status == 0 and "w (" in out and "2019-01-15T04:15:26" in out


_READER = textwrap.dedent(
    """
    import json, sys, time
    from pathlib import Path
    from procanom.library import DatasetLibrary

    # As the app does: one library held open, searched again and again.
    data, dataset_id, stop = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    library = DatasetLibrary(data)
    answered, errors, new_count = [], [], None
    deadline = time.monotonic() + 90
    Path(sys.argv[4]).touch()
    while not stop.exists() and time.monotonic() < deadline:
        try:
            library.count(dataset_id, "Name=cmd.exe OR powershell")
            library.search(dataset_id, "NOT Name=svchost.exe", limit=20)
            for info in library.list():
                if info.name == "new":
                    new_count = library.count(info.id, "Name=*.exe")
                    Path(sys.argv[5]).touch()
            answered.append(time.time())
        except Exception as exc:
            errors.append(repr(exc))
    print(json.dumps({"answered": answered, "errors": errors,
                      "new_count": new_count}))
    """
)


def test_cli_ingest_while_another_process_reads(tmp_path, winhostmon, otrf, repo_root):
    data = tmp_path / "data"
    with DatasetLibrary(data) as library:
        first = library.ingest(winhostmon, "already there")
    stop, ready, seen = tmp_path / "stop", tmp_path / "ready", tmp_path / "seen"
    signals = [str(stop), str(ready), str(seen)]
    reader = subprocess.Popen(
        [sys.executable, "-c", _READER, str(data), first.id, *signals],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=repo_root,
    )
    try:
        deadline = time.monotonic() + 60
        while not ready.exists() and time.monotonic() < deadline:
            time.sleep(0.05)

        started = time.time()
        done = _run_cli(
            repo_root,
            "ingest",
            str(otrf),
            "--dataset",
            "new",
            env={"PROCANOM_DATA_DIR": str(data)},
        )
        finished = time.time()
        # Until the reader has searched the new dataset (or gave up).
        deadline = time.monotonic() + 60
        while not seen.exists() and reader.poll() is None:
            if time.monotonic() > deadline:
                break
            time.sleep(0.05)
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=120)

    assert done.returncode == 0, done.stderr
    assert reader.returncode == 0, err
    report = json.loads(out.strip().splitlines()[-1])
    assert report["errors"] == []
    # The reader kept answering while the ingest ran, not only around it.
    assert any(started < t < finished for t in report["answered"])
    with DatasetLibrary(data) as check:
        [new] = [info for info in check.list() if info.name == "new"]
        expected = check.count(new.id, "Name=*.exe")
    assert expected > 0
    assert report["new_count"] == expected
