"""The dataset library: large exports kept in DuckDB, searched and scored there.

Layout of the data folder (the same folder as the experiment store)::

    <data_dir>/library/catalogue.sqlite3      which datasets exist, where
    <data_dir>/library/<id>-<token>.duckdb    one file per dataset
    <data_dir>/library/<id>-<token>.duckdb.templates/
                                              templates made on first use
    <data_dir>/library/.tmp/                  files being written, spills

Why one DuckDB file per dataset rather than one for the whole library:
DuckDB lets one process at a time open a file for writing. An ingest
therefore writes a *new* file that no one else has open, and only then
registers it in the SQLite catalogue, in one short transaction. Readers
(the app, ``procanom detect``) open dataset files read-only and never wait
for an ingest; an ingest never waits for them. A mapping edit writes a new
file too and swaps the catalogue entry, so a search running at that moment
finishes on the old file.

Dataset ids are the experiment store's: the SHA-256 of the files' contents,
so the same files give the same id, and an experiment whose
``data_source.dataset_id`` names a store dataset finds it here (ingested on
first use by :meth:`DatasetLibrary.ensure_ingested`).
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import os
import secrets
import threading
import time
from collections.abc import Sequence
from dataclasses import replace
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING

import duckdb
import pandas as pd

from procanom.errors import InputFileError, ParameterError, StoreError
from procanom.experiment import ExperimentSettings
from procanom.io import DEFAULT_MAX_EXPANDED_BYTES, expand_paths
from procanom.library._catalogue import Catalogue, DatasetInfo, Layout
from procanom.library._connect import ReaderPool, open_writer
from procanom.library._ingest import (
    DEFAULT_CHUNK_ROWS,
    DEFAULT_STREAM_BYTES,
    Mapped,
    Source,
    coerce_mapping,
    detect_whole,
    identity_layout,
    map_records,
    stage,
    table_stats,
)
from procanom.library._query import DatasetView, folded_columns
from procanom.library._templates import (
    TEMPLATED_KINDS,
    discard_templates,
    kept_templates,
)
from procanom.normalize import KnownTemplates
from procanom.scoring import DetectionResult
from procanom.scoring.roles import field_roles, template_kind
from procanom.search import TimeRange

if TYPE_CHECKING:
    from procanom.store import ExperimentStore

__all__ = ["LIBRARY_FOLDER", "DatasetLibrary", "content_id"]

logger = logging.getLogger(__name__)

LIBRARY_FOLDER = "library"
_STALE_S = 24 * 3600
_HASH_CHUNK = 1 << 20


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="microseconds")


def content_id(paths: Sequence[str | Path]) -> str:
    """Return the dataset id the experiment store gives these files.

    The SHA-256 of each file's content, sorted, joined by line breaks and
    hashed again; the first 16 hex digits.
    """
    digests = []
    for path in paths:
        digest = hashlib.sha256()
        try:
            with open(path, "rb") as handle:
                while chunk := handle.read(_HASH_CHUNK):
                    digest.update(chunk)
        except FileNotFoundError:
            raise InputFileError(str(path), "no such file") from None
        except OSError as exc:
            raise InputFileError(str(path), f"cannot be read: {exc.strerror}") from None
        digests.append(digest.hexdigest())
    joined = "\n".join(sorted(digests)).encode("ascii")
    return hashlib.sha256(joined).hexdigest()[:16]


class DatasetLibrary:
    """Datasets kept in DuckDB: ingest, search, profile, score, edit.

    Safe to share between threads, and to use from several processes at
    once (the app and a scheduled ``procanom ingest``).

    Parameters
    ----------
    data_dir : str or Path
        The data folder (the experiment store's); the library lives in its
        ``library`` sub-folder, created if missing.
    chunk_rows : int, default 500,000
        Datasets with more records are mapped onto the schema chunk by
        chunk (see :mod:`procanom.library._ingest`).
    stream_bytes : int, default 64 MiB
        Plain CSV files at least this large are read by DuckDB's CSV reader
        instead of :mod:`procanom.io`.
    max_expanded_bytes : int, default 2 GiB
        Most bytes a compressed file may expand to.

    Examples
    --------
    >>> library = DatasetLibrary(tmp_path)  # doctest: +SKIP
    >>> info = library.ingest(["events.csv"], "Fleet, May")
    >>> library.count(info.id, "Name=powershell.exe")
    """

    def __init__(
        self,
        data_dir: str | Path,
        *,
        chunk_rows: int = DEFAULT_CHUNK_ROWS,
        stream_bytes: int = DEFAULT_STREAM_BYTES,
        max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES,
    ) -> None:
        for name, value in (("chunk_rows", chunk_rows), ("stream_bytes", stream_bytes)):
            if (
                not isinstance(value, int)
                or value < 0
                or (name == "chunk_rows" and value < 1)
            ):
                raise ParameterError(name, "a positive whole number", value)
        self.data_dir = Path(data_dir).expanduser().absolute()
        self.folder = self.data_dir / LIBRARY_FOLDER
        self.tmp = self.folder / ".tmp"
        try:
            self.tmp.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise StoreError(
                f"could not create the library folder {self.folder}: {exc.strerror}"
            ) from exc
        self.chunk_rows = chunk_rows
        self.stream_bytes = stream_bytes
        self.max_expanded_bytes = max_expanded_bytes
        self._catalogue = Catalogue(self.folder)
        self._readers = ReaderPool(self.tmp / "spill")
        # Per events file: the columns searched through lower() (DatasetView).
        self._folded: dict[Path, frozenset] = {}
        self._write_lock = threading.Lock()
        self._clean_stale()

    def __repr__(self) -> str:
        return f"DatasetLibrary({str(self.data_dir)!r})"

    def close(self) -> None:
        """Close every open connection of this thread and the reader pool."""
        self._readers.close()
        self._catalogue.close()

    def __enter__(self) -> DatasetLibrary:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    # -- catalogue ----------------------------------------------------------------

    def list(self) -> list[DatasetInfo]:
        """Return every dataset, newest first."""
        return [entry.info for entry in self._catalogue.list()]

    def get(self, dataset_id: str) -> DatasetInfo:
        """Return one dataset's description.

        Raises
        ------
        NotFoundError
            If the library holds no such dataset.
        """
        return self._catalogue.get(dataset_id).info

    def __contains__(self, dataset_id: object) -> bool:
        return (
            isinstance(dataset_id, str) and self._catalogue.find(dataset_id) is not None
        )

    def rename(self, dataset_id: str, name: str) -> DatasetInfo:
        """Give a dataset another name.

        Raises
        ------
        ParameterError
            If ``name`` is blank.
        NotFoundError
            If the library holds no such dataset.
        """
        if not isinstance(name, str) or not name.strip():
            raise ParameterError("name", "a non-empty string", name)
        self._catalogue.rename(dataset_id, name, _now())
        logger.info("renamed dataset %s to %r", dataset_id, name)
        return self.get(dataset_id)

    def delete(self, dataset_id: str) -> None:
        """Delete a dataset's events from the library.

        The files stay in the experiment store, if they were saved there;
        delete them there with ``ExperimentStore.delete_dataset``.

        Raises
        ------
        NotFoundError
            If the library holds no such dataset.
        """
        file = self._catalogue.remove(dataset_id)
        self._discard(file)
        logger.info("deleted dataset %s from the library", dataset_id)

    # -- ingest -------------------------------------------------------------------

    def ingest(
        self,
        paths: str | Path | Sequence[str | Path],
        name: str,
        *,
        mapping: dict | None = None,
        dataset_id: str | None = None,
    ) -> DatasetInfo:
        """Read files into a new dataset.

        Parameters
        ----------
        paths : str, Path or sequence of them
            Files to read, in order; a folder stands for the files in it.
            Any format :func:`procanom.io.read_events` reads.
        name : str
            Name shown for the dataset.
        mapping : dict, optional
            A field mapping (``FieldMapping.to_dict()`` form) to apply
            instead of detecting one.
        dataset_id : str, optional
            The id to use; by default the experiment store's content id of
            the files, so the same files always give the same dataset.

        Returns
        -------
        DatasetInfo
            The dataset; an existing one when the library already holds
            these files.

        Raises
        ------
        InputFileError
            When a file is missing or cannot be read as events.
        ParameterError
            If ``name`` is blank or ``mapping`` malformed.
        """
        files = expand_paths(paths)
        sources = [Source(str(path), path) for path in files]
        return self._ingest(sources, name, mapping, dataset_id or content_id(files))

    def ensure_ingested(self, store: ExperimentStore, dataset_id: str) -> DatasetInfo:
        """Return a store dataset from the library, ingesting it on first use.

        Datasets saved in the store before the library existed (or by the
        app's upload page) are read from the store's copies of their files,
        with the display names they were uploaded under.

        Raises
        ------
        NotFoundError
            If neither the library nor the store holds the dataset.
        """
        entry = self._catalogue.find(dataset_id)
        if entry is not None:
            return entry.info
        record = store.get_dataset(dataset_id)
        files = store.dataset_files(dataset_id)
        logger.info("dataset %s is not in the library yet; ingesting it", dataset_id)
        sources = [Source(name, path) for name, path in files]
        return self._ingest(sources, record.name, None, dataset_id)

    def add_to_store(
        self,
        store: ExperimentStore,
        paths: str | Path | Sequence[str | Path],
        name: str,
        *,
        mapping: dict | None = None,
    ) -> DatasetInfo:
        """Keep files in the experiment store and ingest them into the library.

        The store keeps a copy of each file (so the app lists the dataset
        and an experiment can be rerun from the files), and the library
        keeps the events under the same id. If ingesting fails, a dataset
        newly saved in the store is removed again.

        Returns
        -------
        DatasetInfo
        """
        files = expand_paths(paths)
        # The store hashes the files while copying them; asking it which
        # datasets it had spares reading a large file once more.
        known = {record.id for record in store.list_datasets()}
        record = store.save_dataset_paths(name, files, extra={"library": True})
        new = record.id not in known
        try:
            entry = self._catalogue.find(record.id)
            if entry is not None:
                return entry.info
            sources = [Source(n, p) for n, p in store.dataset_files(record.id)]
            return self._ingest(sources, name, mapping, record.id)
        except BaseException:
            if new:
                with contextlib.suppress(Exception):
                    store.delete_dataset(record.id)
            raise

    def _ingest(
        self,
        sources: list[Source],
        name: str,
        mapping: dict | None,
        dataset_id: str,
    ) -> DatasetInfo:
        if not isinstance(name, str) or not name.strip():
            raise ParameterError("name", "a non-empty string", name)
        mapping_obj = coerce_mapping(mapping)
        existing = self._catalogue.find(dataset_id)
        if existing is not None:
            logger.info("dataset %s is already in the library", dataset_id)
            return existing.info

        started = time.perf_counter()
        token = secrets.token_hex(6)
        stage_path = self.tmp / f"{dataset_id}-{token}.stage.duckdb"
        out_path = self.tmp / f"{dataset_id}-{token}.duckdb"
        try:
            conn = open_writer(stage_path, self.tmp / "spill")
            try:
                staged = stage(
                    conn,
                    sources,
                    stream_bytes=self.stream_bytes,
                    max_expanded_bytes=self.max_expanded_bytes,
                )
                mapped = None
                if staged.rows > self.chunk_rows:
                    mapping_obj = mapping_obj or detect_whole(
                        conn, "raw", staged.raw_columns
                    )
                    layout = identity_layout(
                        conn, "raw", staged.raw_columns, mapping_obj
                    )
                    if layout is not None:
                        conn.execute("ALTER TABLE raw RENAME TO events")
                        mapped = Mapped(layout, mapping_obj.to_dict(), [], {})
                        logger.info(
                            "the records are in the process schema's form already; "
                            "kept as read"
                        )
            finally:
                conn.close()

            if mapped is not None:
                os.replace(stage_path, out_path)
            else:
                mapped = self._map_into(
                    out_path,
                    stage_path,
                    "raw",
                    staged.raw_columns,
                    staged.rows,
                    mapping_obj,
                )
            stats = self._stats(out_path, mapped.layout)
        except duckdb.Error as exc:
            raise StoreError(f"could not write the dataset {name!r}: {exc}") from exc
        finally:
            _unlink(stage_path)

        now = _now()
        events, hosts, time_min, time_max = stats
        read_warnings = list(staged.warnings)
        info = DatasetInfo(
            id=dataset_id,
            name=name,
            events=events,
            hosts=hosts,
            time_min=time_min,
            time_max=time_max,
            source_files=list(staged.files),
            formats=dict(staged.formats),
            warnings=read_warnings + mapped.warnings,
            mapping=mapped.mapping,
            columns=mapped.layout.names,
            rows_read=staged.rows,
            rows_skipped=staged.rows_skipped,
            skipped=staged.skipped,
            other_events=mapped.other_events,
            reader="+".join(sorted(staged.readers)),
            created_at=now,
            updated_at=now,
        )
        entry = self._publish(out_path, info, mapped.layout, read_warnings)
        logger.info(
            "ingested %s in %.1f s: %s",
            ", ".join(staged.files),
            time.perf_counter() - started,
            entry.info.summary(),
        )
        return entry.info

    def _map_into(
        self,
        out_path: Path,
        source_path: Path,
        table: str,
        columns: dict[str, str],
        row_stop: int,
        mapping,
    ) -> Mapped:
        """Map records from ``source_path`` into a new file at ``out_path``."""
        conn = open_writer(out_path, self.tmp / "spill")
        try:
            conn.execute("ATTACH ? AS src (READ_ONLY)", [str(source_path)])
            try:
                return map_records(
                    conn,
                    f"src.{table}",
                    columns,
                    row_stop,
                    mapping,
                    chunk_rows=self.chunk_rows,
                )
            finally:
                conn.execute("DETACH src")
        except BaseException:
            conn.close()
            _unlink(out_path)
            raise
        finally:
            conn.close()

    def _stats(self, path: Path, layout: Layout) -> tuple:
        conn = duckdb.connect(str(path), read_only=True)
        try:
            conn.execute("SET TimeZone = 'UTC'")
            return table_stats(conn, "events", layout)
        finally:
            conn.close()

    def _publish(
        self,
        tmp_path: Path,
        info: DatasetInfo,
        layout: Layout,
        read_warnings: list[str],
    ):
        """Move a finished file into the library and register it."""
        final = self.folder / tmp_path.name
        os.replace(tmp_path, final)
        entry, registered = self._catalogue.register(
            info, final.name, layout, read_warnings=read_warnings
        )
        if not registered:
            # Another process ingested the same files meanwhile; keep theirs.
            logger.info("dataset %s was registered meanwhile; keeping that", info.id)
            _unlink(final)
        return entry

    # -- mapping edits ------------------------------------------------------------

    def set_mapping(self, dataset_id: str, mapping: dict) -> DatasetInfo:
        """Map the dataset's records again, with another field mapping.

        The process fields are derived anew from the columns as they were
        read; every later search, profile and score uses the new fields.
        Where a Security 4688 record was folded into the Sysmon record of
        the same process, the merged record stays merged.

        Parameters
        ----------
        dataset_id : str
        mapping : dict
            ``FieldMapping.to_dict()`` form: ``{"sources": {...},
            "derived": {...}}``.

        Returns
        -------
        DatasetInfo

        Raises
        ------
        ParameterError
            If ``mapping`` is malformed.
        NotFoundError
            If the library holds no such dataset.
        StoreError
            If the dataset was edited elsewhere meanwhile (try again).
        """
        mapping_obj = coerce_mapping(mapping)
        if mapping_obj is None:
            raise ParameterError("mapping", "a field mapping", mapping)
        entry = self._catalogue.get(dataset_id)
        source = self.folder / entry.file
        columns = dict((name, stored) for name, stored in entry.layout.originals)

        # Through the reader pool: DuckDB refuses a second connection to a
        # file this process already has open with other settings.
        conn = self._readers.cursor(source)
        try:
            events, row_max = conn.execute(
                "SELECT count(*), COALESCE(max(_row), -1) FROM events"
            ).fetchone()
            layout = None
            if events > self.chunk_rows:
                layout = identity_layout(conn, "events", columns, mapping_obj)
            if layout is not None:
                stats = table_stats(conn, "events", layout)
        finally:
            conn.close()

        read_warnings = self._catalogue.read_warnings(dataset_id)
        if layout is not None:
            mapped = Mapped(layout, mapping_obj.to_dict(), [], {})
            new_path = source
        else:
            new_path = self.tmp / f"{dataset_id}-{secrets.token_hex(6)}.duckdb"
            mapped = self._map_into(
                new_path, source, "events", columns, row_max + 1, mapping_obj
            )
            stats = self._stats(new_path, mapped.layout)
        info = replace(
            entry.info,
            events=stats[0],
            hosts=stats[1],
            time_min=stats[2],
            time_max=stats[3],
            warnings=read_warnings + mapped.warnings,
            mapping=mapped.mapping,
            columns=mapped.layout.names,
            other_events={**entry.info.other_events, **mapped.other_events},
            updated_at=_now(),
        )
        if new_path != source:
            final = self.folder / new_path.name
            os.replace(new_path, final)
        else:
            final = source
        new_entry, registered = self._catalogue.register(
            info,
            final.name,
            mapped.layout,
            replace_file=entry.file,
            read_warnings=read_warnings,
        )
        if not registered:
            if final != source:
                _unlink(final)
            raise StoreError(
                f"dataset {dataset_id} was changed or deleted elsewhere while its "
                "mapping was being applied; open it again and retry"
            )
        if final != source:
            self._discard(entry.file)
        logger.info("applied a new mapping to dataset %s", dataset_id)
        return new_entry.info

    # -- queries ------------------------------------------------------------------

    def _view(self, dataset_id: str) -> DatasetView:
        entry = self._catalogue.get(dataset_id)
        path = self.folder / entry.file
        if not path.is_file():
            raise StoreError(
                f"dataset {entry.info.name!r} ({dataset_id}): its events file "
                f"{path} is missing; ingest the files again"
            )
        if not self._readers.is_open(path):
            # Files replaced or deleted (here or by another process) are let go.
            current = {self.folder / file for file in self._catalogue.files()}
            self._readers.forget(keep=current)
        cursor = self._readers.cursor(path)
        folded = self._folded.get(path)
        if folded is None:
            # Files never change once registered, so once per file is enough.
            stored = [stored for _, stored in entry.layout.visible]
            folded = self._folded[path] = folded_columns(cursor, stored)
        return DatasetView(cursor, entry.info, entry.layout, folded)

    def search(
        self,
        dataset_id: str,
        query: str = "",
        time_range: TimeRange | dict | None = None,
        columns: Sequence[str] | None = None,
        limit: int | None = None,
        offset: int = 0,
        *,
        now: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Return the events a search and a time range select, in file order.

        Parameters
        ----------
        dataset_id : str
        query : str
            Splunk-style search text (:mod:`procanom.search`).
        time_range : TimeRange or dict, optional
        columns : sequence of str, optional
            Columns to return; all by default.
        limit : int, optional
            Most events to return.
        offset : int, default 0
            Events to skip first (for paging).
        now : pandas.Timestamp, optional
            The clock, for ranges relative to now.

        Returns
        -------
        pandas.DataFrame
            Every column ``string[pyarrow]``; the index is each event's row
            number in the files as read (the index
            :func:`procanom.io.read_events` gives the same events).

        Raises
        ------
        QueryError
            If the search does not parse; it carries the position.
        """
        view = self._view(dataset_id)
        selection = view.where(query, time_range, now)
        return view.search(
            selection, None if columns is None else list(columns), limit, offset
        )

    def count(
        self,
        dataset_id: str,
        query: str = "",
        time_range: TimeRange | dict | None = None,
        *,
        now: pd.Timestamp | None = None,
    ) -> int:
        """Return how many events a search and a time range select."""
        view = self._view(dataset_id)
        return view.count(view.where(query, time_range, now))

    def profile(
        self,
        dataset_id: str,
        query: str = "",
        time_range: TimeRange | dict | None = None,
        *,
        top: int = 5,
        now: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Describe each field of the selected events.

        Returns
        -------
        pandas.DataFrame
            The columns of :func:`procanom.profile.profile_fields`:
            ``field``, ``present``, ``present_pct``, ``empty_pct``,
            ``distinct``, ``role``, ``internal``, ``label``, ``offer``,
            ``note`` and, with ``top``, ``top_values`` (value, count) pairs,
            most common first, ties in order of first appearance.
        """
        view = self._view(dataset_id)
        return view.profile(view.where(query, time_range, now), top)

    def value_counts(
        self,
        dataset_id: str,
        field: str,
        query: str = "",
        time_range: TimeRange | dict | None = None,
        limit: int = 20,
        *,
        now: pd.Timestamp | None = None,
    ) -> pd.DataFrame:
        """Count the values of one field among the selected events.

        Returns
        -------
        pandas.DataFrame
            ``value`` (missing and empty values both as ``""``, as scoring
            counts them), ``count`` and ``percent`` of the selected events;
            most common first, ties in order of first appearance.
        """
        view = self._view(dataset_id)
        return view.value_counts(field, view.where(query, time_range, now), limit)

    def score(
        self,
        dataset_id: str,
        settings: ExperimentSettings | dict,
        *,
        now: pd.Timestamp | None = None,
    ) -> DetectionResult:
        """Select the events the settings describe and score them.

        The histogram method runs inside DuckDB: value counts per field, a
        join back to the events, then the same arithmetic as
        :func:`procanom.scoring.detect`, so ``log_event_prob``,
        ``anomaly_score`` and ``isOutlier`` are identical to scoring the
        same events in memory. Other methods load the selected events'
        fields into memory and call :func:`procanom.scoring.detect`.

        Parameters
        ----------
        dataset_id : str
        settings : ExperimentSettings or dict
            Its query, time range, fields, field types, method and params.

        Returns
        -------
        DetectionResult
            ``annotated`` holds the scored fields and the score columns,
            indexed by row number, in file order.
        """
        if isinstance(settings, dict):
            settings = ExperimentSettings.from_dict(settings)
        view = self._view(dataset_id)
        selection = view.where(settings.query, settings.time_range, now)
        events_file = self.folder / self._catalogue.get(dataset_id).file

        def templates(stored: str, kind: str) -> KnownTemplates:
            return kept_templates(view.cursor, events_file, stored, kind)

        return view.score(selection, settings, templates)

    def make_templates(
        self, dataset_id: str, fields: Sequence[str] | None = None
    ) -> float:
        """Make, now, the templates that scoring these fields will read.

        The conditional method compares names, paths and command lines as
        templates; :meth:`score` makes them on first use, once per dataset,
        and keeps them. Calling this ahead (after an upload, say) moves that
        cost out of the first score. Templates already kept are not made
        again.

        Parameters
        ----------
        dataset_id : str
        fields : sequence of str, optional
            The fields to be scored together (roles are guessed from the
            set); every column of the dataset by default.

        Returns
        -------
        float
            Seconds spent.
        """
        started = time.perf_counter()
        entry = self._catalogue.get(dataset_id)
        view = self._view(dataset_id)
        names = list(view.names if fields is None else fields)
        unknown = [f for f in names if f not in view.names]
        if unknown:
            raise ParameterError("fields", "columns of the dataset", unknown)
        events_file = self.folder / entry.file
        roles = field_roles(names)
        for name in names:
            kind = template_kind(roles[name])
            if kind in TEMPLATED_KINDS:
                stored = entry.layout.stored(name)
                kept_templates(view.cursor, events_file, stored, kind)
        return time.perf_counter() - started

    # -- housekeeping -------------------------------------------------------------

    def _discard(self, file: str) -> None:
        path = self.folder / file
        self._readers.forget(path=path)
        _unlink(path)
        discard_templates(path)

    def _clean_stale(self) -> None:
        """Remove files left by processes that died while writing."""
        cutoff = time.time() - _STALE_S
        try:
            known = self._catalogue.files()
            candidates = list(self.tmp.glob("*.duckdb*")) + [
                p for p in self.folder.glob("*.duckdb") if p.name not in known
            ]
        except (OSError, StoreError):
            return
        for path in candidates:
            with contextlib.suppress(OSError):
                if path.stat().st_mtime < cutoff and path.is_file():
                    path.unlink()
                    logger.info("removed stale library file %s", path)
        # Templates kept beside an events file that is gone.
        with contextlib.suppress(OSError):
            for folder in self.folder.glob("*.templates"):
                events_file = folder.with_suffix("")
                if events_file.name not in known and folder.stat().st_mtime < cutoff:
                    discard_templates(events_file)
                    logger.info("removed stale templates %s", folder)


def _unlink(path: Path) -> None:
    for candidate in (path, path.with_name(path.name + ".wal")):
        try:
            candidate.unlink(missing_ok=True)
        except OSError as exc:
            # On Windows an open file cannot be deleted; a later start of
            # the library collects it.
            logger.warning("could not delete %s: %s", candidate, exc)
