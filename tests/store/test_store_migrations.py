"""Schema versions: old stores upgrade on open, newer ones are refused."""

from __future__ import annotations

import os
import sqlite3
import subprocess
import sys

import pytest

from procanom.errors import StoreError
from procanom.store import ExperimentStore
from procanom.store.schema import MIGRATIONS, SCHEMA_VERSION, migrate


def user_version(path) -> int:
    with sqlite3.connect(path) as raw:
        return raw.execute("PRAGMA user_version").fetchone()[0]


def test_store_new_database_has_the_latest_schema_version(store):
    assert user_version(store.path) == SCHEMA_VERSION == len(MIGRATIONS)


def test_store_version_1_database_upgrades_and_keeps_its_data(data_dir):
    data_dir.mkdir()
    path = data_dir / "procanom.sqlite3"
    raw = sqlite3.connect(path, isolation_level=None)
    migrate(raw, path, MIGRATIONS[:1])
    raw.execute(
        "INSERT INTO experiments (id, title, settings, created_at, updated_at) "
        "VALUES ('old1', 'from v1', '{\"fields\": [\"Name\"]}', '2024', '2024')"
    )
    raw.close()
    assert user_version(path) == 1

    store = ExperimentStore(data_dir)

    assert user_version(path) == SCHEMA_VERSION
    assert store.get_experiment("old1").settings == {"fields": ["Name"]}
    record = store.save_dataset("d", [("a.csv", b"x")])
    assert store.get_dataset(record.id) == record


def test_store_refuses_a_database_from_a_newer_procanom(data_dir):
    ExperimentStore(data_dir).close()
    with sqlite3.connect(data_dir / "procanom.sqlite3") as raw:
        raw.execute(f"PRAGMA user_version = {SCHEMA_VERSION + 1}")

    with pytest.raises(StoreError, match="newer procanom"):
        ExperimentStore(data_dir)


def test_store_failed_migration_leaves_the_database_unchanged(tmp_path):
    path = tmp_path / "db.sqlite3"
    raw = sqlite3.connect(path, isolation_level=None)
    broken = (*MIGRATIONS, ("CREATE TABLE extra (x)", "THIS IS NOT SQL"))

    with pytest.raises(sqlite3.OperationalError):
        migrate(raw, path, broken)

    assert raw.execute("PRAGMA user_version").fetchone()[0] == 0
    assert raw.execute("SELECT COUNT(*) FROM sqlite_master").fetchone()[0] == 0


def test_store_refuses_a_file_that_is_not_a_database(data_dir):
    data_dir.mkdir()
    (data_dir / "procanom.sqlite3").write_bytes(b"this is not sqlite" * 100)

    with pytest.raises(StoreError, match="not a usable procanom store"):
        ExperimentStore(data_dir)


def test_store_processes_opening_a_fresh_folder_together_migrate_once(
    data_dir, repo_root
):
    opener = (
        "import sys; from procanom.store import ExperimentStore; "
        "ExperimentStore(sys.argv[1]).create_experiment('x')"
    )
    env = {**os.environ, "PYTHONPATH": str(repo_root)}
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", opener, str(data_dir)],
            env=env,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(6)
    ]
    for proc in procs:
        _, err = proc.communicate(timeout=30)
        assert proc.returncode == 0, err

    assert user_version(data_dir / "procanom.sqlite3") == SCHEMA_VERSION
    assert len(ExperimentStore(data_dir).list_experiments()) == 6
