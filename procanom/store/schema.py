"""The store's tables and the migrations that build them.

The schema version lives in ``PRAGMA user_version``. ``MIGRATIONS[i]`` takes
a database from version ``i`` to ``i + 1``; they are applied in order, all in
one write transaction, when a store is opened. Migrations are only ever
appended: an edited migration would leave databases created before the edit
with a different schema than new ones.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from procanom._sqlite import write_transaction
from procanom.errors import StoreError

__all__ = ["MIGRATIONS", "SCHEMA_VERSION", "migrate"]

logger = logging.getLogger(__name__)

MIGRATIONS: tuple[tuple[str, ...], ...] = (
    # 1: experiments and their runs.
    (
        """
        CREATE TABLE experiments (
            id            TEXT PRIMARY KEY,
            title         TEXT NOT NULL,
            description   TEXT NOT NULL DEFAULT '',
            settings      TEXT NOT NULL DEFAULT '{}',
            version       INTEGER NOT NULL DEFAULT 1,
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL,
            owner         TEXT,
            last_run_at   TEXT,
            last_outliers INTEGER,
            last_total    INTEGER
        )
        """,
        "CREATE INDEX experiments_updated ON experiments (updated_at)",
        """
        CREATE TABLE runs (
            id               TEXT PRIMARY KEY,
            experiment_id    TEXT NOT NULL
                             REFERENCES experiments (id) ON DELETE CASCADE,
            started_at       TEXT NOT NULL,
            duration_s       REAL NOT NULL,
            procanom_version TEXT NOT NULL,
            settings         TEXT NOT NULL,
            data_fingerprint TEXT NOT NULL,
            rows_read        INTEGER NOT NULL,
            rows_skipped     INTEGER NOT NULL,
            total_events     INTEGER NOT NULL,
            num_outliers     INTEGER NOT NULL,
            threshold        REAL,
            summary          TEXT NOT NULL DEFAULT '{}'
        )
        """,
        "CREATE INDEX runs_experiment ON runs (experiment_id, started_at)",
    ),
    # 2: uploaded datasets, whose bytes live in files named by their hash.
    (
        """
        CREATE TABLE datasets (
            id         TEXT PRIMARY KEY,
            name       TEXT NOT NULL,
            created_at TEXT NOT NULL,
            extra      TEXT NOT NULL DEFAULT '{}'
        )
        """,
        """
        CREATE TABLE dataset_files (
            dataset_id TEXT NOT NULL REFERENCES datasets (id) ON DELETE CASCADE,
            position   INTEGER NOT NULL,
            name       TEXT NOT NULL,
            sha256     TEXT NOT NULL,
            size       INTEGER NOT NULL,
            PRIMARY KEY (dataset_id, position)
        )
        """,
        "CREATE INDEX dataset_files_sha256 ON dataset_files (sha256)",
    ),
    # 3: acting on outliers: allow-list entries, each run's outlier keys (to
    # compare runs without their data), alert rules and alert deliveries.
    (
        """
        CREATE TABLE allow_entries (
            id            TEXT PRIMARY KEY,
            scope         TEXT NOT NULL CHECK (scope IN ('experiment', 'global')),
            experiment_id TEXT REFERENCES experiments (id) ON DELETE CASCADE,
            conditions    TEXT NOT NULL,
            match_kind    TEXT NOT NULL CHECK (match_kind IN ('literal', 'pattern')),
            reason        TEXT NOT NULL DEFAULT '',
            author        TEXT NOT NULL DEFAULT '',
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL,
            enabled       INTEGER NOT NULL DEFAULT 1,
            CHECK ((scope = 'global') = (experiment_id IS NULL))
        )
        """,
        "CREATE INDEX allow_entries_experiment ON allow_entries (experiment_id)",
        """
        CREATE TABLE run_outlier_sets (
            run_id         TEXT PRIMARY KEY REFERENCES runs (id) ON DELETE CASCADE,
            key_fields     TEXT NOT NULL,
            outliers       INTEGER NOT NULL,
            distinct_keys  INTEGER NOT NULL,
            stored_keys    INTEGER NOT NULL
        )
        """,
        """
        CREATE TABLE run_outliers (
            run_id     TEXT NOT NULL
                       REFERENCES run_outlier_sets (run_id) ON DELETE CASCADE,
            position   INTEGER NOT NULL,
            key_values TEXT NOT NULL,
            count      INTEGER NOT NULL,
            score      REAL,
            PRIMARY KEY (run_id, position)
        )
        """,
        """
        CREATE TABLE alert_rules (
            id            TEXT PRIMARY KEY,
            experiment_id TEXT NOT NULL
                          REFERENCES experiments (id) ON DELETE CASCADE,
            threshold     INTEGER NOT NULL,
            only_causes   TEXT,
            only_new      INTEGER NOT NULL DEFAULT 0,
            destinations  TEXT NOT NULL DEFAULT '[]',
            enabled       INTEGER NOT NULL DEFAULT 1,
            created_at    TEXT NOT NULL,
            updated_at    TEXT NOT NULL
        )
        """,
        "CREATE INDEX alert_rules_experiment ON alert_rules (experiment_id)",
        """
        CREATE TABLE deliveries (
            id              TEXT PRIMARY KEY,
            idempotency_key TEXT NOT NULL,
            destination_key TEXT NOT NULL,
            run_id          TEXT NOT NULL REFERENCES runs (id) ON DELETE CASCADE,
            rule_id         TEXT NOT NULL,
            destination     TEXT NOT NULL,
            status          TEXT NOT NULL
                            CHECK (status IN ('sending', 'delivered', 'failed')),
            attempts        INTEGER NOT NULL DEFAULT 0,
            http_status     INTEGER,
            error           TEXT,
            log             TEXT NOT NULL DEFAULT '[]',
            created_at      TEXT NOT NULL,
            updated_at      TEXT NOT NULL,
            UNIQUE (idempotency_key, destination_key)
        )
        """,
        "CREATE INDEX deliveries_run ON deliveries (run_id)",
    ),
)

SCHEMA_VERSION = len(MIGRATIONS)


def _user_version(conn: sqlite3.Connection) -> int:
    return int(conn.execute("PRAGMA user_version").fetchone()[0])


def _refuse_newer(version: int, path: Path) -> None:
    if version > SCHEMA_VERSION:
        raise StoreError(
            f"{path} was written by a newer procanom (schema version {version}; "
            f"this version understands up to {SCHEMA_VERSION}). Upgrade procanom "
            "or choose another data folder."
        )


def migrate(
    conn: sqlite3.Connection,
    path: Path,
    migrations: tuple[tuple[str, ...], ...] = MIGRATIONS,
) -> int:
    """Bring the database up to the newest schema version.

    Parameters
    ----------
    conn : sqlite3.Connection
        Connection in autocommit mode (``isolation_level=None``).
    path : Path
        The database file, for messages.
    migrations : tuple of tuple of str, optional
        The migrations to apply; tests pass a prefix to build old databases.

    Returns
    -------
    int
        The schema version the database had before.

    Raises
    ------
    StoreError
        If the database was written by a newer procanom.
    """
    before = _user_version(conn)
    _refuse_newer(before, path)
    if before >= len(migrations):
        return before

    # Several processes may open a fresh store at the same moment: the version
    # is read again under the write lock so each migration runs exactly once.
    with write_transaction(conn):
        before = _user_version(conn)
        _refuse_newer(before, path)
        for number in range(before, len(migrations)):
            for statement in migrations[number]:
                conn.execute(statement)
            logger.debug("applied store migration %d to %s", number + 1, path)
        # PRAGMA takes no bound parameters; the value is an int we computed.
        conn.execute(f"PRAGMA user_version = {len(migrations)}")

    if before < len(migrations):
        logger.info(
            "upgraded experiment store %s from schema version %d to %d",
            path,
            before,
            len(migrations),
        )
    return before
