"""Opening DuckDB: locked-down readers for searches, a writer for ingest.

Every search, count, profile and score runs on a *reader*: the dataset's
file opened read-only with file access, extension installs and extension
loading switched off, then the configuration locked, so no statement can
reach outside the file or turn those settings back on. Search text never
becomes SQL anyway (:func:`procanom.search.compile_sql` passes it as
parameters); the lock is the second wall.

A *writer* only ever runs the library's own statements, against a new file
that no reader has seen yet, so it never waits for a reader and no reader
waits for it.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import duckdb
import pyarrow as pa

from procanom.errors import StoreError

__all__ = ["ReaderPool", "query_arrow", "open_writer"]

logger = logging.getLogger(__name__)

#: DuckDB's memory budget per open file: large scans spill to disk beyond it.
READER_MEMORY_LIMIT = "2GB"
WRITER_MEMORY_LIMIT = "3GB"


def _threads() -> int:
    return max(1, os.cpu_count() or 1)


def open_writer(path: Path, spill_dir: Path) -> duckdb.DuckDBPyConnection:
    """Open (creating) a new dataset file for the library's own statements."""
    spill_dir.mkdir(parents=True, exist_ok=True)
    try:
        conn = duckdb.connect(
            str(path),
            config={
                "threads": _threads(),
                "memory_limit": WRITER_MEMORY_LIMIT,
                "temp_directory": str(spill_dir),
                "preserve_insertion_order": True,
                "autoinstall_known_extensions": False,
                "autoload_known_extensions": False,
            },
        )
        conn.execute("SET TimeZone = 'UTC'")
    except duckdb.Error as exc:
        raise StoreError(f"could not create the dataset file {path}: {exc}") from exc
    return conn


def _open_reader(path: Path, spill_dir: Path) -> duckdb.DuckDBPyConnection:
    conn = duckdb.connect(
        str(path),
        read_only=True,
        config={
            "enable_external_access": False,
            "autoinstall_known_extensions": False,
            "autoload_known_extensions": False,
            "threads": _threads(),
            "memory_limit": READER_MEMORY_LIMIT,
            "temp_directory": str(spill_dir),
        },
    )
    # DuckDB gives a second connection to a file this process already has
    # open (another library on the same folder) the same database, already
    # set up and locked by the first.
    locked = conn.execute("SELECT current_setting('lock_configuration')").fetchone()
    if not locked[0]:
        # GLOBAL, so the cursors handed out get it too: event times without
        # an offset are UTC, as everywhere in procanom.
        conn.execute("SET GLOBAL TimeZone = 'UTC'")
        conn.execute("SET lock_configuration = true")
    return conn


class ReaderPool:
    """Read-only connections to dataset files, one per file, reused.

    Dataset files never change once registered (a mapping edit writes a new
    file), so a connection can stay open as long as its file is current.
    Each call gets its own cursor, which DuckDB allows from any thread.

    Parameters
    ----------
    spill_dir : Path
        Where large sorts and joins may spill.
    """

    def __init__(self, spill_dir: Path) -> None:
        self.spill_dir = spill_dir
        self._lock = threading.Lock()
        self._conns: dict[Path, duckdb.DuckDBPyConnection] = {}

    def cursor(self, path: Path) -> duckdb.DuckDBPyConnection:
        """Return a fresh cursor on ``path``, opening the file if needed."""
        with self._lock:
            conn = self._conns.get(path)
            if conn is None:
                try:
                    conn = _open_reader(path, self.spill_dir)
                except duckdb.Error as exc:
                    raise StoreError(
                        f"could not open the dataset file {path}: {exc}"
                    ) from exc
                self._conns[path] = conn
            return conn.cursor()

    def is_open(self, path: Path) -> bool:
        """Whether a connection to ``path`` is open."""
        with self._lock:
            return path in self._conns

    def forget(self, keep: set[Path] | None = None, path: Path | None = None) -> None:
        """Close the connection to ``path``, or to every file not in ``keep``."""
        with self._lock:
            if path is not None:
                doomed = [path] if path in self._conns else []
            else:
                doomed = [p for p in self._conns if keep is None or p not in keep]
            for p in doomed:
                conn = self._conns.pop(p)
                try:
                    conn.close()
                except duckdb.Error as exc:  # pragma: no cover - best effort
                    logger.debug("closing %s: %s", p, exc)

    def close(self) -> None:
        """Close every connection."""
        self.forget(keep=None)


def query_arrow(
    conn: duckdb.DuckDBPyConnection, sql: str, params: list | None = None
) -> pa.Table:
    """Run a statement and return its rows as one Arrow table.

    Goes through a relation (``conn.sql``), which hands Arrow the result
    without the extra copy a DB-API cursor makes.
    """
    relation = conn.sql(sql, params=params or [])
    # DuckDB 2 names it to_arrow_table; 1.x called it fetch_arrow_table.
    fetch = getattr(relation, "to_arrow_table", None) or relation.fetch_arrow_table
    table = fetch()
    if isinstance(table, pa.RecordBatchReader):  # pragma: no cover
        table = table.read_all()
    return table
