"""Saved experiments, their run history and uploaded datasets, in SQLite.

One data folder holds everything::

    <data_dir>/procanom.sqlite3        experiments, runs, dataset listings
    <data_dir>/datasets/ab/ab12...     uploaded files, named by SHA-256

The database runs in WAL mode so the app's threads and a command line in
another process can read while one of them writes. Every save is one
``BEGIN IMMEDIATE`` transaction: it takes the write lock up front (waiting up
to ten seconds for another writer), so it either commits whole or leaves no
trace, even when the process is killed half-way.

Each thread gets its own connection, opened on first use; nothing is opened
when this module is imported.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import secrets
import sqlite3
import string
import threading
import time
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from procanom._sqlite import write_transaction
from procanom.errors import (
    InputFileError,
    NotFoundError,
    ParameterError,
    StaleEditError,
    StoreError,
)
from procanom.store.blobs import BlobStore, StagedBlob
from procanom.store.interchange import (
    export_payload,
    normalise_settings,
    parse_import,
    to_json,
)
from procanom.store.records import (
    DatasetRecord,
    Experiment,
    ExperimentSummary,
    RunRecord,
)
from procanom.store.schema import migrate
from procanom.store.triage import TriageMixin

__all__ = ["DB_FILENAME", "ExperimentStore", "new_id", "utc_now"]

logger = logging.getLogger(__name__)

DB_FILENAME = "procanom.sqlite3"
BUSY_TIMEOUT_S = 10.0

# Lower-case letters and digits only: ids are typed on command lines, where a
# leading "-" (possible in base64url) would read as an option.
_ID_ALPHABET = string.ascii_lowercase + string.digits
_ID_LENGTH = 12  # about 62 bits


def new_id() -> str:
    """Return a short random identifier that is safe in URLs and shells."""
    return "".join(secrets.choice(_ID_ALPHABET) for _ in range(_ID_LENGTH))


def utc_now() -> str:
    """Return the current time as UTC ISO-8601 with microseconds."""
    return datetime.now(UTC).isoformat(timespec="microseconds")


def _check_text(value: object, name: str, *, allow_empty: bool = False) -> str:
    if not isinstance(value, str) or (not allow_empty and not value.strip()):
        allowed = "a string" if allow_empty else "a non-empty string"
        raise ParameterError(name, allowed, value)
    return value


def _dataset_id(digests: Sequence[str]) -> str:
    joined = "\n".join(sorted(digests)).encode("ascii")
    return hashlib.sha256(joined).hexdigest()[:16]


class ExperimentStore(TriageMixin):
    """Experiments, runs and datasets kept in one data folder.

    Also keeps what acting on outliers needs: allow-list entries, each run's
    outlier keys, alert rules and deliveries (see :mod:`procanom.store.triage`).

    Safe to share between threads (each gets its own connection) and to use
    from several processes at once.

    Parameters
    ----------
    data_dir : str or Path
        Folder for the database and uploaded files; created if missing.

    Attributes
    ----------
    data_dir : Path
        The data folder.
    path : Path
        The SQLite database file.

    Raises
    ------
    StoreError
        If the folder cannot be created, the file is not a procanom store, or
        it was written by a newer procanom.

    Examples
    --------
    >>> store = ExperimentStore(tmp_path)  # doctest: +SKIP
    >>> exp = store.create_experiment("Rare parents", settings={"fields": ["Name"]})
    >>> exp = store.update_experiment(exp.id, expected_version=exp.version,
    ...                               title="Rare parent processes")
    """

    def __init__(self, data_dir: str | Path) -> None:
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.path = self.data_dir / DB_FILENAME
        try:
            self.data_dir.mkdir(parents=True, exist_ok=True)
            self._blobs = BlobStore(self.data_dir / "datasets")
        except OSError as exc:
            raise StoreError(
                f"could not create the data folder {self.data_dir}: {exc.strerror}"
            ) from exc
        self._local = threading.local()

        with self._errors("open the experiment store"):
            migrate(self._conn(), self.path)
        self._blobs.clean_stale_tmp()

    def __repr__(self) -> str:
        return f"ExperimentStore({str(self.data_dir)!r})"

    # -- connections and transactions -------------------------------------------

    def _conn(self) -> sqlite3.Connection:
        """Return this thread's connection, opening it on first use."""
        state = self._local
        conn = getattr(state, "conn", None)
        # A connection inherited through fork() must not be used by the child.
        if conn is not None and state.pid == os.getpid():
            return conn

        conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, isolation_level=None)
        conn.row_factory = sqlite3.Row
        try:
            conn.execute(f"PRAGMA busy_timeout = {int(BUSY_TIMEOUT_S * 1000)}")
            conn.execute("PRAGMA foreign_keys = ON")
            self._ensure_wal(conn)
            # FULL: a save reported as done survives power loss, not only a
            # killed process; saves are rare enough that the fsync is cheap.
            conn.execute("PRAGMA synchronous = FULL")
        except BaseException:
            conn.close()
            raise
        state.conn = conn
        state.pid = os.getpid()
        return conn

    def _ensure_wal(self, conn: sqlite3.Connection) -> None:
        if conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal":
            return
        # Switching needs a moment alone with the file; another process that
        # opens a fresh store at the same time can make the first try fail.
        deadline = time.monotonic() + BUSY_TIMEOUT_S
        while True:
            try:
                mode = conn.execute("PRAGMA journal_mode = WAL").fetchone()[0]
                break
            except sqlite3.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.05)
        if mode != "wal":
            logger.warning(
                "%s could not use WAL journaling (got %r); readers may wait "
                "for writers",
                self.path,
                mode,
            )

    def close(self) -> None:
        """Close the calling thread's connection; the next call reopens it."""
        conn = getattr(self._local, "conn", None)
        if conn is not None and self._local.pid == os.getpid():
            conn.close()
        self._local.conn = None

    def __enter__(self) -> ExperimentStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    @contextlib.contextmanager
    def _errors(self, action: str) -> Iterator[None]:
        """Turn SQLite's errors into a StoreError saying what failed."""
        try:
            yield
        except sqlite3.OperationalError as exc:
            text = str(exc)
            if "locked" in text or "busy" in text:
                raise StoreError(
                    f"could not {action}: {self.path} stayed locked by another "
                    f"program for over {BUSY_TIMEOUT_S:.0f} s; try again"
                ) from exc
            raise StoreError(f"could not {action} in {self.path}: {text}") from exc
        except sqlite3.DatabaseError as exc:
            raise StoreError(
                f"could not {action}: {self.path} is not a usable procanom "
                f"store ({exc})"
            ) from exc

    @contextlib.contextmanager
    def _write(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run the body as one write transaction, committed only if it returns."""
        with self._errors(action), write_transaction(self._conn()) as conn:
            yield conn

    @contextlib.contextmanager
    def _read(self, action: str) -> Iterator[sqlite3.Connection]:
        """Run the body as one read transaction, so it sees a single snapshot."""
        with self._errors(action):
            conn = self._conn()
            conn.execute("BEGIN")
            try:
                yield conn
            finally:
                if conn.in_transaction:
                    conn.execute("COMMIT")

    # -- experiments ------------------------------------------------------------

    @staticmethod
    def _experiment(row: sqlite3.Row) -> Experiment:
        return Experiment(
            id=row["id"],
            title=row["title"],
            description=row["description"],
            settings=json.loads(row["settings"]),
            version=row["version"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
            owner=row["owner"],
        )

    def _experiment_row(self, conn: sqlite3.Connection, experiment_id: str) -> Any:
        row = conn.execute(
            "SELECT * FROM experiments WHERE id = ?", (experiment_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no experiment with id {experiment_id!r} in {self.path}"
            )
        return row

    def _insert_experiment(
        self,
        conn: sqlite3.Connection,
        title: str,
        description: str,
        settings_json: str,
        owner: str | None,
    ) -> Experiment:
        now = utc_now()
        experiment_id = new_id()
        conn.execute(
            "INSERT INTO experiments (id, title, description, settings, version, "
            "created_at, updated_at, owner) VALUES (?, ?, ?, ?, 1, ?, ?, ?)",
            (experiment_id, title, description, settings_json, now, now, owner),
        )
        return Experiment(
            experiment_id,
            title,
            description,
            json.loads(settings_json),
            1,
            now,
            now,
            owner,
        )

    def create_experiment(
        self,
        title: str,
        description: str = "",
        settings: dict[str, Any] | None = None,
        owner: str | None = None,
    ) -> Experiment:
        """Save a new experiment at version 1.

        Parameters
        ----------
        title : str
            Non-empty name.
        description : str, optional
            Free text.
        settings : dict, optional
            JSON-compatible settings; ``fields`` may be a list or a
            comma-separated string and is stored as a list.
        owner : str, optional
            Who created it.

        Returns
        -------
        Experiment
            As stored, with its new id.

        Raises
        ------
        ParameterError
            If the title is blank or the settings are not JSON-compatible.
        """
        _check_text(title, "title")
        _check_text(description, "description", allow_empty=True)
        settings_json = to_json(normalise_settings(settings), "settings")

        with self._write("save the new experiment") as conn:
            experiment = self._insert_experiment(
                conn, title, description, settings_json, owner
            )
        logger.info("created experiment %s (%r)", experiment.id, title)
        return experiment

    def get_experiment(self, experiment_id: str) -> Experiment:
        """Return one experiment.

        Raises
        ------
        NotFoundError
            If no experiment has this id.
        """
        with self._read("read the experiment") as conn:
            return self._experiment(self._experiment_row(conn, experiment_id))

    def list_experiments(self, owner: str | None = None) -> list[ExperimentSummary]:
        """Return every experiment (or ``owner``'s), most recently edited first."""
        query = "SELECT * FROM experiments"
        params: tuple[str, ...] = ()
        if owner is not None:
            query += " WHERE owner = ?"
            params = (owner,)
        query += " ORDER BY updated_at DESC, rowid DESC"

        with self._read("list experiments") as conn:
            rows = conn.execute(query, params).fetchall()
        summaries = []
        for row in rows:
            fields = json.loads(row["settings"]).get("fields") or []
            summaries.append(
                ExperimentSummary(
                    id=row["id"],
                    title=row["title"],
                    description=row["description"],
                    fields=list(fields),
                    last_run_at=row["last_run_at"],
                    last_outliers=row["last_outliers"],
                    last_total=row["last_total"],
                    version=row["version"],
                    updated_at=row["updated_at"],
                )
            )
        return summaries

    def update_experiment(
        self,
        experiment_id: str,
        *,
        expected_version: int,
        title: str | None = None,
        description: str | None = None,
        settings: dict[str, Any] | None = None,
    ) -> Experiment:
        """Save an edit made to version ``expected_version`` of an experiment.

        Arguments left as None keep their stored value. The version grows by
        one.

        Raises
        ------
        StaleEditError
            If the experiment was saved elsewhere since ``expected_version``:
            the edit is refused rather than overwriting the newer save.
        NotFoundError
            If no experiment has this id.
        ParameterError
            If a new value is invalid.
        """
        if isinstance(expected_version, bool) or not isinstance(expected_version, int):
            raise ParameterError("expected_version", "an integer", expected_version)
        if title is not None:
            _check_text(title, "title")
        if description is not None:
            _check_text(description, "description", allow_empty=True)
        settings_json = None
        if settings is not None:
            settings_json = to_json(normalise_settings(settings), "settings")

        with self._write("save the experiment") as conn:
            row = self._experiment_row(conn, experiment_id)
            cursor = conn.execute(
                "UPDATE experiments SET title = ?, description = ?, settings = ?, "
                "version = version + 1, updated_at = ? WHERE id = ? AND version = ?",
                (
                    row["title"] if title is None else title,
                    row["description"] if description is None else description,
                    row["settings"] if settings_json is None else settings_json,
                    utc_now(),
                    experiment_id,
                    expected_version,
                ),
            )
            if cursor.rowcount == 0:
                raise StaleEditError(
                    f"Experiment '{row['title']}' ({experiment_id}) was changed "
                    f"elsewhere (now version {row['version']}); reload it before "
                    f"saving. This edit was based on version {expected_version}."
                )
            experiment = self._experiment(self._experiment_row(conn, experiment_id))
        logger.info(
            "updated experiment %s to version %d", experiment_id, experiment.version
        )
        return experiment

    def duplicate_experiment(
        self, experiment_id: str, title: str | None = None
    ) -> Experiment:
        """Save a copy of an experiment's title, description and settings.

        Runs stay with the original. The copy is titled ``title``, or
        ``"Copy of <original title>"``.

        Raises
        ------
        NotFoundError
            If no experiment has this id.
        """
        if title is not None:
            _check_text(title, "title")

        with self._write("duplicate the experiment") as conn:
            row = self._experiment_row(conn, experiment_id)
            copy = self._insert_experiment(
                conn,
                title if title is not None else f"Copy of {row['title']}",
                row["description"],
                row["settings"],
                row["owner"],
            )
        logger.info("duplicated experiment %s as %s", experiment_id, copy.id)
        return copy

    def delete_experiment(self, experiment_id: str) -> None:
        """Delete an experiment and all its runs.

        Raises
        ------
        NotFoundError
            If no experiment has this id.
        """
        with self._write("delete the experiment") as conn:
            self._experiment_row(conn, experiment_id)
            runs = conn.execute(
                "SELECT COUNT(*) FROM runs WHERE experiment_id = ?", (experiment_id,)
            ).fetchone()[0]
            # Runs go with it through ON DELETE CASCADE.
            conn.execute("DELETE FROM experiments WHERE id = ?", (experiment_id,))
        logger.info("deleted experiment %s and its %d run(s)", experiment_id, runs)

    # -- runs -------------------------------------------------------------------

    @staticmethod
    def _run(row: sqlite3.Row) -> RunRecord:
        return RunRecord(
            id=row["id"],
            experiment_id=row["experiment_id"],
            started_at=row["started_at"],
            duration_s=row["duration_s"],
            procanom_version=row["procanom_version"],
            settings=json.loads(row["settings"]),
            data_fingerprint=row["data_fingerprint"],
            rows_read=row["rows_read"],
            rows_skipped=row["rows_skipped"],
            total_events=row["total_events"],
            num_outliers=row["num_outliers"],
            threshold=row["threshold"],
            summary=json.loads(row["summary"]),
        )

    @staticmethod
    def _run_values(run: RunRecord) -> tuple[Any, ...]:
        # int()/float() also accept the numpy scalars scoring code produces,
        # which sqlite3 cannot bind.
        try:
            return (
                run.id if run.id is not None else new_id(),
                run.experiment_id,
                run.started_at or utc_now(),
                float(run.duration_s),
                str(run.procanom_version),
                to_json(run.settings, "run.settings"),
                str(run.data_fingerprint),
                int(run.rows_read),
                int(run.rows_skipped),
                int(run.total_events),
                int(run.num_outliers),
                None if run.threshold is None else float(run.threshold),
                to_json(run.summary, "run.summary"),
            )
        except (TypeError, ValueError) as exc:
            if isinstance(exc, ParameterError):
                raise
            raise ParameterError("run", f"numbers in its counts ({exc})", run) from exc

    def _insert_run(self, conn: sqlite3.Connection, run: RunRecord) -> RunRecord:
        values = self._run_values(run)
        self._experiment_row(conn, run.experiment_id)
        conn.execute(
            "INSERT INTO runs (id, experiment_id, started_at, duration_s, "
            "procanom_version, settings, data_fingerprint, rows_read, rows_skipped, "
            "total_events, num_outliers, threshold, summary) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            values,
        )
        # The list shows the newest run; an older run added later (an import)
        # must not replace it.
        conn.execute(
            "UPDATE experiments SET last_run_at = ?, last_outliers = ?, "
            "last_total = ? WHERE id = ? AND (last_run_at IS NULL OR last_run_at <= ?)",
            (values[2], values[10], values[9], run.experiment_id, values[2]),
        )
        return replace(run, id=values[0], started_at=values[2])

    def add_run(self, run: RunRecord) -> RunRecord:
        """Save a run and make it the experiment's latest result if newest.

        Returns
        -------
        RunRecord
            ``run`` with its new id (and the start time, if it was empty).

        Raises
        ------
        NotFoundError
            If the run's experiment does not exist.
        ParameterError
            If settings or summary are not JSON-compatible.
        """
        with self._write("save the run") as conn:
            saved = self._insert_run(conn, run)
        logger.debug("saved run %s of experiment %s", saved.id, saved.experiment_id)
        return saved

    def list_runs(self, experiment_id: str) -> list[RunRecord]:
        """Return an experiment's runs, newest first.

        Raises
        ------
        NotFoundError
            If no experiment has this id.
        """
        with self._read("list runs") as conn:
            self._experiment_row(conn, experiment_id)
            rows = conn.execute(
                "SELECT * FROM runs WHERE experiment_id = ? "
                "ORDER BY started_at DESC, rowid DESC",
                (experiment_id,),
            ).fetchall()
        return [self._run(row) for row in rows]

    def get_run(self, run_id: str) -> RunRecord:
        """Return one run.

        Raises
        ------
        NotFoundError
            If no run has this id.
        """
        with self._read("read the run") as conn:
            row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r} in {self.path}")
        return self._run(row)

    # -- datasets ---------------------------------------------------------------

    def _dataset(self, conn: sqlite3.Connection, dataset_id: str) -> DatasetRecord:
        row = conn.execute(
            "SELECT * FROM datasets WHERE id = ?", (dataset_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no dataset with id {dataset_id!r} in {self.path}")
        files = [
            {"name": f["name"], "sha256": f["sha256"], "size": f["size"]}
            for f in conn.execute(
                "SELECT name, sha256, size FROM dataset_files "
                "WHERE dataset_id = ? ORDER BY position",
                (dataset_id,),
            )
        ]
        return DatasetRecord(
            id=row["id"],
            name=row["name"],
            files=files,
            created_at=row["created_at"],
            extra=json.loads(row["extra"]),
        )

    def _register_dataset(
        self,
        name: str,
        names: Sequence[str],
        staged: Sequence[StagedBlob],
        extra: dict[str, Any] | None,
    ) -> DatasetRecord:
        dataset_id = _dataset_id([blob.sha256 for blob in staged])
        extra_json = to_json(extra or {}, "extra")

        with self._write("save the dataset") as conn:
            # Blobs move into place under the write lock, so a concurrent
            # delete cannot remove one between here and the commit. A known
            # dataset is published too: that restores a file lost from disk.
            for blob in staged:
                self._blobs.publish(blob)
            known = conn.execute(
                "SELECT 1 FROM datasets WHERE id = ?", (dataset_id,)
            ).fetchone()
            if known is None:
                conn.execute(
                    "INSERT INTO datasets (id, name, created_at, extra) "
                    "VALUES (?, ?, ?, ?)",
                    (dataset_id, name, utc_now(), extra_json),
                )
                conn.executemany(
                    "INSERT INTO dataset_files (dataset_id, position, name, sha256, "
                    "size) VALUES (?, ?, ?, ?, ?)",
                    [
                        (dataset_id, position, display, blob.sha256, blob.size)
                        for position, (display, blob) in enumerate(
                            zip(names, staged, strict=True)
                        )
                    ],
                )
            record = self._dataset(conn, dataset_id)

        if known is None:
            logger.info(
                "saved dataset %s (%r): %d file(s), %d bytes",
                dataset_id,
                name,
                len(staged),
                sum(blob.size for blob in staged),
            )
        else:
            logger.info("dataset %s was already stored; reusing it", dataset_id)
        return record

    @staticmethod
    def _check_upload(name: object, count: int) -> None:
        _check_text(name, "name")
        if count == 0:
            raise ParameterError("files", "at least one file", [])

    def save_dataset(
        self,
        name: str,
        files: Sequence[tuple[str, bytes]],
        extra: dict[str, Any] | None = None,
    ) -> DatasetRecord:
        """Keep uploaded files so an experiment can reopen them later.

        Each file's bytes are stored once however often they are uploaded.
        The dataset id comes from the files' hashes, so uploading the same
        files again returns the dataset saved the first time (with its
        original name).

        Parameters
        ----------
        name : str
            Name shown for the dataset.
        files : sequence of (str, bytes)
            Display name and contents of each file.
        extra : dict, optional
            JSON-compatible details to keep with the dataset.

        Raises
        ------
        ParameterError
            If there are no files, or a name is blank or a content not bytes.
        """
        files = list(files)
        self._check_upload(name, len(files))
        for position, item in enumerate(files):
            if not (isinstance(item, tuple | list) and len(item) == 2):
                raise ParameterError(f"files[{position}]", "a (name, bytes) pair", item)
            _check_text(item[0], f"files[{position}] name")
            if not isinstance(item[1], bytes | bytearray | memoryview):
                raise ParameterError(
                    f"files[{position}] contents", "bytes", type(item[1]).__name__
                )

        staged: list[StagedBlob] = []
        try:
            for _, data in files:
                staged.append(self._blobs.stage_bytes(bytes(data)))
            return self._register_dataset(
                name, [display for display, _ in files], staged, extra
            )
        finally:
            for blob in staged:
                self._blobs.discard(blob)

    def save_dataset_paths(
        self,
        name: str,
        paths: Sequence[str | Path],
        extra: dict[str, Any] | None = None,
    ) -> DatasetRecord:
        """Keep files from disk, copying each once while hashing it.

        Same as :meth:`save_dataset`, for files too big to hold in memory.
        Display names are the file names.

        Raises
        ------
        InputFileError
            If a file cannot be read.
        """
        paths = [Path(path) for path in paths]
        self._check_upload(name, len(paths))

        staged: list[StagedBlob] = []
        try:
            for path in paths:
                try:
                    staged.append(self._blobs.stage_file(path))
                except OSError as exc:
                    raise InputFileError(
                        str(path), f"could not be read ({exc.strerror or exc})"
                    ) from exc
            return self._register_dataset(
                name, [path.name for path in paths], staged, extra
            )
        finally:
            for blob in staged:
                self._blobs.discard(blob)

    def get_dataset(self, dataset_id: str) -> DatasetRecord:
        """Return one dataset.

        Raises
        ------
        NotFoundError
            If no dataset has this id.
        """
        with self._read("read the dataset") as conn:
            return self._dataset(conn, dataset_id)

    def list_datasets(self) -> list[DatasetRecord]:
        """Return every dataset, newest first."""
        with self._read("list datasets") as conn:
            ids = [
                row[0]
                for row in conn.execute(
                    "SELECT id FROM datasets ORDER BY created_at DESC, rowid DESC"
                )
            ]
            return [self._dataset(conn, dataset_id) for dataset_id in ids]

    def dataset_files(self, dataset_id: str) -> list[tuple[str, Path]]:
        """Return each file of a dataset as (display name, stored path).

        Raises
        ------
        NotFoundError
            If no dataset has this id.
        StoreError
            If a stored file has gone missing from the data folder.
        """
        record = self.get_dataset(dataset_id)
        result = []
        for item in record.files:
            path = self._blobs.path_for(item["sha256"])
            if not path.is_file():
                raise StoreError(
                    f"dataset {record.name!r} ({dataset_id}): the stored copy of "
                    f"{item['name']!r} is missing ({path}); upload the file again"
                )
            result.append((item["name"], path))
        return result

    def delete_dataset(self, dataset_id: str) -> None:
        """Delete a dataset and the stored files no other dataset shares.

        Experiments that point at it are left alone; check
        :meth:`experiments_using_dataset` first.

        Raises
        ------
        NotFoundError
            If no dataset has this id.
        """
        with self._write("delete the dataset") as conn:
            self._dataset(conn, dataset_id)
            digests = [
                row[0]
                for row in conn.execute(
                    "SELECT DISTINCT sha256 FROM dataset_files WHERE dataset_id = ?",
                    (dataset_id,),
                )
            ]
            conn.execute("DELETE FROM datasets WHERE id = ?", (dataset_id,))
            unused = [
                digest
                for digest in digests
                if conn.execute(
                    "SELECT 1 FROM dataset_files WHERE sha256 = ? LIMIT 1", (digest,)
                ).fetchone()
                is None
            ]
            # Under the write lock, so no concurrent upload is relying on them.
            self._blobs.remove(unused)
        logger.info("deleted dataset %s and %d stored file(s)", dataset_id, len(unused))

    def experiments_using_dataset(self, dataset_id: str) -> list[Experiment]:
        """Return the experiments whose ``settings["data_source"]`` names it."""
        with self._read("find experiments using the dataset") as conn:
            rows = conn.execute(
                "SELECT * FROM experiments "
                "WHERE json_extract(settings, '$.data_source.dataset_id') = ? "
                "ORDER BY updated_at DESC, rowid DESC",
                (dataset_id,),
            ).fetchall()
        return [self._experiment(row) for row in rows]

    # -- import and export ------------------------------------------------------

    def export_experiment(self, experiment_id: str) -> dict[str, Any]:
        """Return an experiment and its runs as a JSON-compatible dict.

        The result reads back with :meth:`import_experiments`, here or in
        another analyst's store.

        Raises
        ------
        NotFoundError
            If no experiment has this id.
        """
        with self._read("export the experiment") as conn:
            experiment = self._experiment(self._experiment_row(conn, experiment_id))
            runs = [
                self._run(row)
                for row in conn.execute(
                    "SELECT * FROM runs WHERE experiment_id = ? "
                    "ORDER BY started_at DESC, rowid DESC",
                    (experiment_id,),
                )
            ]
        return export_payload(experiment, runs)

    def import_experiments(
        self, payload: dict[str, Any] | list[Any], owner: str | None = None
    ) -> list[Experiment]:
        """Save experiments from an export or a hand-written JSON file.

        Every record is checked before anything is saved, and all are saved
        in one transaction: an import succeeds whole or not at all. Each
        imported experiment gets a new id, so importing twice gives two
        copies.

        Parameters
        ----------
        payload : dict or list
            Parsed JSON: one record or a list (see
            :mod:`procanom.store.interchange` for the shapes accepted).
        owner : str, optional
            Owner of the new experiments.

        Returns
        -------
        list of Experiment
            In the order of the records.

        Raises
        ------
        ParameterError
            Naming the record (counting from 1) and what is wrong with it.
        """
        records = parse_import(payload)

        with self._write("import experiments") as conn:
            imported = []
            for record in records:
                experiment = self._insert_experiment(
                    conn,
                    record.title,
                    record.description,
                    to_json(record.settings, "settings"),
                    owner,
                )
                for run in record.runs:
                    self._insert_run(conn, replace(run, experiment_id=experiment.id))
                imported.append(experiment)

        logger.info(
            "imported %d experiment(s): %s",
            len(imported),
            ", ".join(experiment.id for experiment in imported),
        )
        return imported
