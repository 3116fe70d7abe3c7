"""The library's catalogue: which datasets exist and where their events are.

The catalogue is a small SQLite database in WAL mode, not a DuckDB table:
DuckDB lets one process at a time open a file for writing, so a catalogue
kept in DuckDB would make the app and a scheduled ``procanom ingest`` wait
for each other. SQLite readers never wait for its writer, and a write here
is one short transaction that makes a finished dataset file visible at
once (or not at all).
"""

from __future__ import annotations

import contextlib
import json
import logging
import sqlite3
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from procanom._sqlite import write_transaction
from procanom.errors import NotFoundError, StoreError

__all__ = ["CATALOGUE_FILENAME", "Catalogue", "DatasetInfo", "Layout"]

logger = logging.getLogger(__name__)

CATALOGUE_FILENAME = "catalogue.sqlite3"
_BUSY_TIMEOUT_S = 30.0
_SCHEMA_VERSION = 1

_SCHEMA = """
CREATE TABLE IF NOT EXISTS datasets (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    file TEXT NOT NULL,
    events INTEGER NOT NULL,
    hosts INTEGER NOT NULL,
    time_min TEXT,
    time_max TEXT,
    source_files TEXT NOT NULL,
    formats TEXT NOT NULL,
    warnings TEXT NOT NULL,
    mapping TEXT,
    layout TEXT NOT NULL,
    report TEXT NOT NULL,
    created_at TEXT NOT NULL,
    updated_at TEXT NOT NULL
)
"""


@dataclass
class Layout:
    """How a dataset's columns are stored in its DuckDB file.

    Stored column names are positional (``c0``, ``c1``, ... for the columns
    people see, ``o0``, ... for kept originals), so a file whose own column
    is called ``_row`` or has quotes in its name can never collide with the
    library's internal columns.

    Attributes
    ----------
    visible : list of [str, str]
        ``[name, stored column]`` for every column of the dataset, in order.
    originals : list of [str, str]
        ``[name, stored column]`` for every column as it was read, before
        the process schema rewrote any of it; used to apply another mapping.
    """

    visible: list[list[str]] = field(default_factory=list)
    originals: list[list[str]] = field(default_factory=list)

    @property
    def names(self) -> list[str]:
        """The visible column names, in order."""
        return [name for name, _ in self.visible]

    def stored(self, name: str) -> str:
        """Return the stored column of a visible column."""
        for visible, stored in self.visible:
            if visible == name:
                return stored
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """Return the layout as JSON-ready data."""
        return {"visible": self.visible, "originals": self.originals}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Layout:
        """Rebuild a layout saved by :meth:`to_dict`."""
        return cls(
            [list(pair) for pair in data.get("visible", [])],
            [list(pair) for pair in data.get("originals", [])],
        )


@dataclass
class DatasetInfo:
    """One dataset of the library, as the catalogue describes it.

    Attributes
    ----------
    id : str
        The dataset id; the experiment store's id when the files came from
        (or were also saved in) the store.
    name : str
    events : int
        Process events stored.
    hosts : int
        Distinct non-empty ``host`` values (0 when there is no host field).
    time_min, time_max : str or None
        Earliest and latest readable ``_time``, ISO-8601 UTC.
    source_files : list of str
        The files read, as the user named them (archive members as
        ``archive.zip/member``).
    formats : dict
        File to format, as :class:`procanom.io.LoadReport` names them.
    warnings : list of str
        What looked wrong while reading and mapping, in sentences.
    mapping : dict or None
        The field mapping applied (:meth:`FieldMapping.to_dict` form).
    columns : list of str
        The dataset's columns, in order.
    rows_read : int
        Records read from the files, before keeping process events.
    rows_skipped : int
        Rows that could not be parsed.
    skipped : list of dict
        The first skipped rows: ``file``, ``line``, ``reason``, ``text``.
    other_events : dict
        Records set aside as not process creations, by ``channel/event id``.
    reader : str
        How the files were read: ``"duckdb-csv"`` (DuckDB's CSV reader,
        for large plain CSV files) or ``"procanom.io"``.
    created_at, updated_at : str
        UTC ISO-8601.
    """

    id: str
    name: str
    events: int
    hosts: int
    time_min: str | None
    time_max: str | None
    source_files: list[str]
    formats: dict[str, str]
    warnings: list[str]
    mapping: dict | None
    columns: list[str]
    rows_read: int
    rows_skipped: int
    skipped: list[dict]
    other_events: dict[str, int]
    reader: str
    created_at: str
    updated_at: str

    def summary(self) -> str:
        """Return one line: events, hosts, skipped rows and warnings."""
        return (
            f"{self.name} ({self.id}): {self.events:,} events, {self.hosts:,} hosts, "
            f"{self.rows_skipped:,} skipped rows, {len(self.warnings):,} warnings"
        )


@dataclass
class _Entry:
    """A catalogue row: the public description and where the data lives."""

    info: DatasetInfo
    file: str
    layout: Layout


def _loads(text: str | None, default: Any) -> Any:
    return default if text is None else json.loads(text)


class Catalogue:
    """The SQLite catalogue of one library folder.

    Parameters
    ----------
    folder : Path
        The library folder; the catalogue file is created in it.
    """

    def __init__(self, folder: Path) -> None:
        self.path = folder / CATALOGUE_FILENAME
        self._local = threading.local()
        with self._errors("open the dataset catalogue"):
            conn = self._conn()
            version = conn.execute("PRAGMA user_version").fetchone()[0]
            if version > _SCHEMA_VERSION:
                raise StoreError(
                    f"{self.path} was written by a newer procanom (catalogue "
                    f"version {version}); upgrade procanom to open it"
                )
            with conn:
                conn.execute(_SCHEMA)
                conn.execute(f"PRAGMA user_version = {_SCHEMA_VERSION}")

    def _conn(self) -> sqlite3.Connection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = sqlite3.connect(
                self.path, timeout=_BUSY_TIMEOUT_S, isolation_level=None
            )
            conn.row_factory = sqlite3.Row
            # WAL lets readers go on while a writer registers a dataset.
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            self._local.conn = conn
        return conn

    def close(self) -> None:
        """Close this thread's connection."""
        conn = getattr(self._local, "conn", None)
        if conn is not None:
            conn.close()
            self._local.conn = None

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        try:
            yield
        except sqlite3.Error as exc:
            raise StoreError(f"could not {action} ({self.path}): {exc}") from exc

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        with self._errors(action), write_transaction(self._conn()) as conn:
            yield conn

    @staticmethod
    def _entry(row: sqlite3.Row) -> _Entry:
        report = _loads(row["report"], {})
        layout = Layout.from_dict(_loads(row["layout"], {}))
        info = DatasetInfo(
            id=row["id"],
            name=row["name"],
            events=row["events"],
            hosts=row["hosts"],
            time_min=row["time_min"],
            time_max=row["time_max"],
            source_files=_loads(row["source_files"], []),
            formats=_loads(row["formats"], {}),
            warnings=_loads(row["warnings"], []),
            mapping=_loads(row["mapping"], None),
            columns=layout.names,
            rows_read=report.get("rows_read", 0),
            rows_skipped=report.get("rows_skipped", 0),
            skipped=report.get("skipped", []),
            other_events=report.get("other_events", {}),
            reader=report.get("reader", ""),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
        return _Entry(info, row["file"], layout)

    def get(self, dataset_id: str) -> _Entry:
        """Return a dataset's entry.

        Raises
        ------
        NotFoundError
            If the library holds no dataset with this id.
        """
        with self._errors("read the dataset catalogue"):
            row = (
                self._conn()
                .execute("SELECT * FROM datasets WHERE id = ?", (dataset_id,))
                .fetchone()
            )
        if row is None:
            raise NotFoundError(
                f"no dataset with id {dataset_id!r} in the library at "
                f"{self.path.parent}"
            )
        return self._entry(row)

    def find(self, dataset_id: str) -> _Entry | None:
        """Return a dataset's entry, or None."""
        try:
            return self.get(dataset_id)
        except NotFoundError:
            return None

    def list(self) -> list[_Entry]:
        """Return every entry, newest first."""
        with self._errors("list the library's datasets"):
            rows = (
                self._conn()
                .execute("SELECT * FROM datasets ORDER BY created_at DESC, rowid DESC")
                .fetchall()
            )
        return [self._entry(row) for row in rows]

    def register(
        self,
        info: DatasetInfo,
        file: str,
        layout: Layout,
        *,
        replace_file: str | None = None,
        read_warnings: list[str] | None = None,
    ) -> tuple[_Entry, bool]:
        """Make a finished dataset file visible.

        Parameters
        ----------
        info : DatasetInfo
        file : str
            The dataset's DuckDB file name inside the library folder.
        layout : Layout
        replace_file : str, optional
            When given, replace the entry only if it still points at this
            file (a mapping edit); otherwise insert a new entry, keeping an
            existing one with the same id.
        read_warnings : list of str, optional
            The warnings from reading the files (kept apart from the
            mapping's, which a mapping edit replaces).

        Returns
        -------
        entry : the entry now registered
        registered : bool
            False when another process registered the same dataset first
            (or edited it since), so ``file`` was not used.
        """
        report = {
            "rows_read": info.rows_read,
            "rows_skipped": info.rows_skipped,
            "skipped": info.skipped,
            "other_events": info.other_events,
            "reader": info.reader,
            "read_warnings": list(read_warnings or []),
        }
        values = (
            info.name,
            file,
            info.events,
            info.hosts,
            info.time_min,
            info.time_max,
            json.dumps(info.source_files),
            json.dumps(info.formats),
            json.dumps(info.warnings),
            None if info.mapping is None else json.dumps(info.mapping),
            json.dumps(layout.to_dict()),
            json.dumps(report),
            info.updated_at,
        )
        with self._write("register the dataset") as conn:
            row = conn.execute(
                "SELECT file FROM datasets WHERE id = ?", (info.id,)
            ).fetchone()
            if replace_file is None:
                if row is not None:
                    registered = False
                else:
                    conn.execute(
                        "INSERT INTO datasets (name, file, events, hosts, time_min, "
                        "time_max, source_files, formats, warnings, mapping, layout, "
                        "report, updated_at, id, created_at) "
                        "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        (*values, info.id, info.created_at),
                    )
                    registered = True
            elif row is None or row["file"] != replace_file:
                registered = False
            else:
                conn.execute(
                    "UPDATE datasets SET name = ?, file = ?, events = ?, hosts = ?, "
                    "time_min = ?, time_max = ?, source_files = ?, formats = ?, "
                    "warnings = ?, mapping = ?, layout = ?, report = ?, "
                    "updated_at = ? WHERE id = ?",
                    (*values, info.id),
                )
                registered = True
            entry = self._entry(
                conn.execute(
                    "SELECT * FROM datasets WHERE id = ?", (info.id,)
                ).fetchone()
            )
        return entry, registered

    def read_warnings(self, dataset_id: str) -> list[str]:
        """Return the warnings from reading a dataset's files."""
        with self._errors("read the dataset catalogue"):
            row = (
                self._conn()
                .execute("SELECT report FROM datasets WHERE id = ?", (dataset_id,))
                .fetchone()
            )
        if row is None:
            self.get(dataset_id)  # raises NotFoundError
        return list(_loads(row["report"], {}).get("read_warnings", []))

    def rename(self, dataset_id: str, name: str, updated_at: str) -> None:
        """Change a dataset's name."""
        with self._write("rename the dataset") as conn:
            cursor = conn.execute(
                "UPDATE datasets SET name = ?, updated_at = ? WHERE id = ?",
                (name, updated_at, dataset_id),
            )
        if cursor.rowcount == 0:
            self.get(dataset_id)  # raises NotFoundError

    def remove(self, dataset_id: str) -> str:
        """Remove a dataset's entry; return the file it pointed at."""
        with self._write("delete the dataset") as conn:
            row = conn.execute(
                "SELECT file FROM datasets WHERE id = ?", (dataset_id,)
            ).fetchone()
            if row is not None:
                conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
        if row is None:
            self.get(dataset_id)  # raises NotFoundError
        return row["file"]

    def files(self) -> set[str]:
        """Return every dataset file the catalogue points at."""
        with self._errors("read the dataset catalogue"):
            return {row[0] for row in self._conn().execute("SELECT file FROM datasets")}
