"""Reading files into a dataset file: stage the records, then map them.

Ingest happens in two steps, both inside a new DuckDB file that no reader
sees until the catalogue registers it:

1. **Stage** every record, as read, into a table ``raw`` (all text, a
   ``_row`` number in file order). A large plain CSV file in UTF-8 goes
   through DuckDB's own parallel ``read_csv``, after a check that
   :mod:`procanom.io` would read the same values from its first megabytes;
   anything else (other formats, compressed files, encodings other than
   UTF-8, files needing repair) goes through :mod:`procanom.io` one file at
   a time, which reads the whole file into memory.
2. **Map** the records onto the process schema with
   :func:`procanom.schema.to_process_events`. Up to ``chunk_rows`` records
   are mapped in one piece, exactly as the app maps an upload. Beyond that,
   either the data is shown to be in the schema's own form already (then
   the staged table *is* the dataset, and ingest runs at the speed of
   DuckDB's CSV reader), or it is mapped in chunks of ``chunk_rows`` with
   one mapping detected for the whole dataset.

Either way each file is mapped on its own, with its own columns and time
handling, as :func:`procanom.io.read_events` maps several files; the staged
table records the names of its files (in its comment) for that. Files that
hold no process event at all are refused with a message saying what they
hold.

Known limits of the chunked mapping: Security 4688 records are folded into
the Sysmon record of the same process only within one chunk, and the
per-host time-zone estimate of record times is made per chunk.
"""

from __future__ import annotations

import csv
import json
import logging
import os
import re
import tempfile
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from procanom.errors import InputFileError
from procanom.io import SOURCE_FILE_COLUMN, read_upload, sniff_delimiter
from procanom.library._catalogue import Layout
from procanom.library._connect import query_arrow
from procanom.schema import (
    PROCESS_FIELDS,
    FieldMapping,
    detect_mapping,
    no_process_events_error,
    to_process_events,
)
from procanom.schema._recipes import parse_recipe
from procanom.schema._values import UNSET_VALUES

__all__ = [
    "DEFAULT_CHUNK_ROWS",
    "DEFAULT_STREAM_BYTES",
    "Mapped",
    "Source",
    "StagedData",
    "identity_layout",
    "map_records",
    "stage",
    "table_stats",
]

logger = logging.getLogger(__name__)

TEXT = pd.StringDtype("pyarrow")

#: Records mapped in one piece; larger datasets are mapped chunk by chunk.
DEFAULT_CHUNK_ROWS = 500_000

#: Plain CSV files at least this large are read by DuckDB's CSV reader.
DEFAULT_STREAM_BYTES = 64 * 1024**2

# How much of a CSV file is read by both readers to check they agree.
_HEAD_BYTES = 4 * 1024**2
_NOT_CSV_MAGICS = (b"\x1f\x8b", b"PK\x03\x04", b"PK\x05\x06", b"ElfFile\x00", b"PAR1")
_BOM = b"\xef\xbb\xbf"
_SOURCE_STORED = "rs"

# Distinct values per column tried through the schema step when proving that
# the data is in the schema's form already.
_IDENTITY_SAMPLE = 20_000

# Process fields the schema step copies as they are when they come from a
# column of the same name: a column with many distinct values that feeds
# one of these needs no value-by-value check. ``tests/library`` keeps this
# list honest against procanom.schema.
PASS_THROUGH_FIELDS = frozenset(
    {
        "host",
        "Path",
        "CommandLine",
        "User",
        "ParentPath",
        "ParentCommandLine",
        "Hashes",
        "OriginalFileName",
        "Signer",
        "ProcessGuid",
        "ParentProcessGuid",
    }
)
_DECIMAL_ID_FIELDS = ("ProcessId", "ParentProcessId")
_CANONICAL_TIME = "%Y-%m-%dT%H:%M:%S.%gZ"
# The values the schema step treats as "nothing here": missing, or one of
# UNSET_VALUES once Python's str.strip() has removed white space, whose
# characters the class below lists for RE2.
_SPACE = r"[\t\n\x{0b}\f\r \p{Z}\x{1c}-\x{1f}\x{85}]"
_UNSET_PATTERN = (
    f"^{_SPACE}*("
    + "|".join(re.escape(v) for v in sorted(UNSET_VALUES) if v)
    + f")?{_SPACE}*$"
)


@dataclass
class Source:
    """One file to ingest: the name people know it by, and where it is."""

    name: str
    path: Path


@dataclass
class StagedData:
    """What staging read: the raw table's columns and the reading account."""

    raw_columns: dict[str, str] = field(default_factory=dict)  # name -> stored
    rows: int = 0
    files: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    rows_skipped: int = 0
    skipped: list[dict] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    readers: set[str] = field(default_factory=set)


# -- staging ------------------------------------------------------------------


class _Stager:
    def __init__(self, conn: duckdb.DuckDBPyConnection, multi: bool) -> None:
        self.conn = conn
        self.multi = multi
        self.data = StagedData()
        # With several files, which file each record came from; it becomes
        # the last column, as procanom.io places it.
        columns = "_row BIGINT" + (f", {_SOURCE_STORED} VARCHAR" if multi else "")
        conn.execute(f"CREATE TABLE raw ({columns})")

    def _stored(self, name: str) -> str:
        """Return the stored column of a raw column, adding it if new."""
        stored = self.data.raw_columns.get(name)
        if stored is None:
            stored = f"r{len(self.data.raw_columns)}"
            self.conn.execute(f"ALTER TABLE raw ADD COLUMN {stored} VARCHAR")
            self.data.raw_columns[name] = stored
        return stored

    def add_frame(self, frame: pd.DataFrame, name: str, *, labelled: bool) -> None:
        """Append a frame read by procanom.io.

        ``labelled`` says that the frame's ``source_file`` column is
        procanom.io's own (the members of an archive), kept as each row's
        file; any other such column is the file's and is replaced.
        """
        labels = None
        if self.multi and SOURCE_FILE_COLUMN in frame.columns:
            if labelled:
                labels = _arrow_text(frame[SOURCE_FILE_COLUMN])
            else:
                self.data.warnings.append(
                    f"{name} has its own {SOURCE_FILE_COLUMN!r} column; it was "
                    "replaced by the name of the file each event was read from."
                )
            frame = frame.drop(columns=[SOURCE_FILE_COLUMN])
        columns = {self._stored(str(c)): _arrow_text(frame[c]) for c in frame.columns}
        if self.multi:
            columns[_SOURCE_STORED] = (
                labels
                if labels is not None
                else pa.repeat(pa.scalar(name, pa.string()), len(frame))
            )
        columns["_row"] = pa.array(
            np.arange(self.data.rows, self.data.rows + len(frame), dtype=np.int64)
        )
        table = pa.table(columns)
        self.conn.register("_incoming", table)
        try:
            self.conn.execute("INSERT INTO raw BY NAME SELECT * FROM _incoming")
        finally:
            self.conn.unregister("_incoming")
        self.data.rows += len(frame)

    def add_csv(self, source: Source, names: list[str], delimiter: str) -> int:
        """Append a plain CSV file through DuckDB's reader; return its rows."""
        stored = [self._stored(n) for n in names]
        extra, params = "", []
        if self.multi:
            extra = f", ? AS {_SOURCE_STORED}"
            params.append(source.name)
        before = self.data.rows
        self.conn.execute(
            f"INSERT INTO raw BY NAME SELECT *{extra} FROM read_csv(?, header = true, "
            "columns = ?, delim = ?, quote = '\"', escape = '\"', strict_mode = true, "
            "null_padding = false, encoding = 'utf-8', auto_detect = false)",
            [*params, str(source.path), dict.fromkeys(stored, "VARCHAR"), delimiter],
        )
        added = self._number_new_rows(before)
        self.data.rows += added
        return added

    def _number_new_rows(self, first_row: int) -> int:
        """Give the rows just inserted (``_row`` NULL) their numbers in order.

        ``row_number() OVER ()`` in the insert would run on one thread over
        every row. The insert keeps the file's order instead (the writer
        preserves insertion order), so each new row's ``rowid`` already
        follows the file and only needs shifting to start at ``first_row``.
        """
        low, high, added = self.conn.execute(
            "SELECT min(rowid), max(rowid), count(*) FROM raw WHERE _row IS NULL"
        ).fetchone()
        if not added:
            return 0
        if high - low + 1 == added:
            self.conn.execute(
                "UPDATE raw SET _row = rowid - ? + ? WHERE _row IS NULL",
                [low, first_row],
            )
        else:
            # Row ids with gaps (never seen after a plain insert): number
            # them in row-id order, which is still the file's order.
            self.conn.execute(
                "UPDATE raw SET _row = numbered.n FROM (SELECT rowid AS id, "
                "row_number() OVER (ORDER BY rowid) - 1 + ? AS n FROM raw "
                "WHERE _row IS NULL) AS numbered WHERE raw.rowid = numbered.id",
                [first_row],
            )
        return added

    def finish(self) -> StagedData:
        if self.multi:
            self.data.raw_columns[SOURCE_FILE_COLUMN] = _SOURCE_STORED
        _set_file_names(self.conn, "raw", self.data.files)
        return self.data

    def drop_from(self, first_row: int) -> None:
        self.conn.execute("DELETE FROM raw WHERE _row >= ?", [first_row])
        self.data.rows = first_row


def _plain_csv_head(path: Path) -> tuple[list[str], str, bytes] | None:
    """Return header names, separator and a head sample of a plain CSV file.

    None when the file is not UTF-8 CSV text that DuckDB can read as is (a
    different format, compression, a PowerShell ``#TYPE`` line, blank lines
    before the header, repeated or empty names, Splunk multivalue columns).
    """
    with open(path, "rb") as handle:
        head = handle.read(_HEAD_BYTES)
    if not head or head.startswith(_NOT_CSV_MAGICS):
        return None
    body = head[len(_BOM) :] if head.startswith(_BOM) else head
    cut = body.rfind(b"\n")
    if cut < 0:
        return None
    # Cut where no quoted value is open, so the sample is whole records.
    while cut > 0 and body.count(b'"', 0, cut + 1) % 2:
        cut = body.rfind(b"\n", 0, cut)
    if cut <= 0:
        return None
    sample = body[: cut + 1]
    try:
        text = sample.decode("utf-8")
    except UnicodeDecodeError:
        return None
    if not text or text[0] in "[{<\r\n\t " or text[:6].upper() == "#TYPE ":
        return None
    lines = text.splitlines(keepends=True)[:50]
    delimiter = sniff_delimiter(text, default=None)
    if delimiter is None:
        return None
    try:
        names = next(csv.reader([lines[0].rstrip("\r\n")], delimiter=delimiter))
    except (csv.Error, StopIteration):
        return None
    if (
        len(set(names)) != len(names)
        or any(not n for n in names)
        or any(n.startswith("__mv_") for n in names)
    ):
        return None
    return names, delimiter, sample


def _duckdb_reads_like_io(
    conn: duckdb.DuckDBPyConnection, sample: bytes, names: list[str], delimiter: str
) -> bool:
    """Check that DuckDB and procanom.io read ``sample`` to the same values."""
    try:
        expected = read_upload([("sample.csv", sample)], normalise=False)
    except InputFileError:
        return False
    report = expected.report
    if (
        report.warnings
        or report.rows_skipped
        or report.formats.get("sample.csv")
        not in (
            "csv",
            "tsv",
        )
    ):
        return False
    frame = expected.frame
    if list(frame.columns) != names:
        return False

    with tempfile.NamedTemporaryFile(suffix=".csv", delete=False) as tmp:
        tmp.write(sample)
    try:
        got = query_arrow(
            conn,
            "SELECT * FROM read_csv(?, header = true, columns = ?, "
            "delim = ?, quote = '\"', escape = '\"', strict_mode = true, "
            "null_padding = false, encoding = 'utf-8', auto_detect = false)",
            [tmp.name, {f"x{i}": "VARCHAR" for i in range(len(names))}, delimiter],
        )
    except duckdb.Error as exc:
        logger.info("DuckDB cannot read the sample as CSV (%s)", exc)
        return False
    finally:
        os.unlink(tmp.name)
    if got.num_rows != len(frame):
        return False
    for i, name in enumerate(names):
        ours = got.column(i).to_pylist()
        theirs = frame[name].astype(object).where(frame[name].notna(), None).tolist()
        if ours != theirs:
            return False
    return True


def stage(
    conn: duckdb.DuckDBPyConnection,
    sources: Sequence[Source],
    *,
    stream_bytes: int = DEFAULT_STREAM_BYTES,
    max_expanded_bytes: int | None = None,
) -> StagedData:
    """Read every source into the table ``raw`` of ``conn``.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        A writer on the new dataset file.
    sources : sequence of Source
    stream_bytes : int
        Plain CSV files at least this large go through DuckDB's reader.
    max_expanded_bytes : int, optional
        Passed to :func:`procanom.io.read_upload` for compressed files.

    Returns
    -------
    StagedData

    Raises
    ------
    InputFileError
        When a file is missing or cannot be read as events.
    """
    stager = _Stager(conn, multi=len(sources) > 1)
    for source in sources:
        try:
            size = source.path.stat().st_size
        except FileNotFoundError:
            raise InputFileError(source.name, "no such file") from None
        except OSError as exc:
            raise InputFileError(
                source.name, f"cannot be read: {exc.strerror}"
            ) from None

        if size >= stream_bytes and _stage_csv(stager, source):
            continue
        _stage_with_io(stager, source, max_expanded_bytes)
    return stager.finish()


def _stage_csv(stager: _Stager, source: Source) -> bool:
    """Try DuckDB's CSV reader on ``source``; False to fall back to procanom.io."""
    head = _plain_csv_head(source.path)
    if head is None:
        return False
    names, delimiter, sample = head
    if not _duckdb_reads_like_io(stager.conn, sample, names, delimiter):
        logger.info("%s: DuckDB and procanom.io disagree on its head", source.name)
        return False

    first_row = stager.data.rows
    try:
        rows = stager.add_csv(source, names, delimiter)
    except duckdb.Error as exc:
        logger.info(
            "%s: DuckDB's CSV reader gave up (%s); reading with procanom.io",
            source.name,
            exc,
        )
        stager.drop_from(first_row)
        return False

    # A header repeated inside the data (exports joined end to end) needs
    # the row-tolerant reader, which leaves those lines out and reports them.
    condition = " AND ".join(
        f"{stager.data.raw_columns[n]} IS NOT DISTINCT FROM ?" for n in names
    )
    repeated = stager.conn.execute(
        f"SELECT count(*) FROM raw WHERE _row >= ? AND {condition}", [first_row, *names]
    ).fetchone()[0]
    if repeated:
        stager.drop_from(first_row)
        return False

    data = stager.data
    fmt = "tsv" if delimiter == "\t" else "csv"
    data.files.append(source.name)
    data.formats[source.name] = fmt
    data.encodings[source.name] = "utf-8"
    data.readers.add("duckdb-csv")
    if rows == 0:
        data.warnings.append(f"{source.name} has a header but no data rows.")
    logger.info("Read %s with DuckDB's CSV reader: %d rows", source.name, rows)
    return True


def _stage_with_io(
    stager: _Stager, source: Source, max_expanded_bytes: int | None
) -> None:
    try:
        content = source.path.read_bytes()
    except OSError as exc:
        raise InputFileError(source.name, f"cannot be read: {exc.strerror}") from None
    kwargs = (
        {} if max_expanded_bytes is None else {"max_expanded_bytes": max_expanded_bytes}
    )
    loaded = read_upload([(source.name, content)], normalise=False, **kwargs)
    del content
    report = loaded.report
    data = stager.data
    data.files.extend(report.files)
    data.formats.update(report.formats)
    data.encodings.update(report.encodings)
    data.rows_skipped += report.rows_skipped
    data.skipped.extend(
        {"file": s.file, "line": s.line, "reason": s.reason, "text": s.text}
        for s in report.skipped[:100]
    )
    data.warnings.extend(report.warnings)
    data.readers.add("procanom.io")
    # An archive read as several members gets the member names already; a
    # single member is named as procanom.io names it (archive/member).
    stager.add_frame(loaded.frame, report.files[0], labelled=len(report.files) > 1)


# -- mapping ------------------------------------------------------------------


@dataclass
class Mapped:
    """The outcome of mapping records onto the process schema."""

    layout: Layout
    mapping: dict | None
    warnings: list[str]
    other_events: dict[str, int]


def coerce_mapping(mapping: FieldMapping | dict | None) -> FieldMapping | None:
    """Return ``mapping`` as a :class:`FieldMapping` (None stays None)."""
    if mapping is None or isinstance(mapping, FieldMapping):
        return mapping
    return FieldMapping.from_dict(mapping)


def _fetch_frame(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, str],
    start: int,
    stop: int,
) -> pd.DataFrame:
    select = ", ".join(["_row", *columns.values()])
    arrow = query_arrow(
        conn,
        f"SELECT {select} FROM {table} WHERE _row >= ? AND _row < ? ORDER BY _row",
        [start, stop],
    )
    frame = pd.DataFrame(
        {
            name: pd.Series(
                pd.arrays.ArrowStringArray(arrow.column(i + 1).cast(pa.large_string()))
            )
            for i, name in enumerate(columns)
        }
    )
    frame.index = pd.Index(arrow.column(0).to_numpy(), dtype=np.int64)
    return frame.astype(TEXT) if len(frame.columns) else frame


class _Writer:
    """Appends mapped chunks to the table ``events``, growing its columns."""

    def __init__(self, conn: duckdb.DuckDBPyConnection) -> None:
        self.conn = conn
        self.visible: dict[str, str] = {}
        self.originals: dict[str, str] = {}
        conn.execute("CREATE TABLE events (_row BIGINT)")

    def _column(self, kind: str, name: str) -> str:
        store = self.visible if kind == "c" else self.originals
        stored = store.get(name)
        if stored is None:
            stored = f"{kind}{len(store)}"
            self.conn.execute(f"ALTER TABLE events ADD COLUMN {stored} VARCHAR")
            store[name] = stored
        return stored

    def append(self, out: pd.DataFrame, originals: pd.DataFrame) -> None:
        columns: dict[str, pa.Array] = {
            "_row": pa.array(out.index.to_numpy(dtype=np.int64))
        }
        for name in out.columns:
            columns[self._column("c", str(name))] = _arrow_text(out[name])
        for name in originals.columns:
            columns[self._column("o", str(name))] = _arrow_text(originals[name])
        self.conn.register("_incoming", pa.table(columns))
        try:
            self.conn.execute("INSERT INTO events BY NAME SELECT * FROM _incoming")
        finally:
            self.conn.unregister("_incoming")

    def layout(self, raw_names: list[str]) -> Layout:
        # The schema step puts the process fields first, in their own order,
        # then the other columns as first seen; chunks may differ in which
        # fields hold values, so the union is put back in that order.
        def key(item: tuple[int, str]) -> tuple[int, int]:
            position, name = item
            if name in PROCESS_FIELDS:
                return (0, PROCESS_FIELDS.index(name))
            return (1, position)

        ordered = sorted(enumerate(self.visible), key=key)
        visible = [[name, self.visible[name]] for _, name in ordered]
        originals = []
        for name in raw_names:
            stored = self.originals.get(name) or self.visible.get(name)
            if stored is not None:
                originals.append([name, stored])
        return Layout(visible, originals)


def _arrow_text(column: pd.Series) -> pa.Array:
    if isinstance(column.dtype, pd.StringDtype) and column.dtype.storage == "pyarrow":
        array = pa.array(column.array)
    else:
        array = pa.array(column.astype(TEXT).array)
    if isinstance(array, pa.ChunkedArray):
        array = array.combine_chunks()
    return array.cast(pa.string())


def map_records(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, str],
    row_stop: int,
    mapping: FieldMapping | None,
    *,
    chunk_rows: int = DEFAULT_CHUNK_ROWS,
) -> Mapped:
    """Map records onto the process schema into a new table ``events``.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        The writer of the new dataset file; ``table`` may be in another
        database attached to it.
    table : str
        The table holding the records as read, with ``_row``.
    columns : dict
        Column name (as read) to stored column in ``table``.
    row_stop : int
        One past the highest ``_row``.
    mapping : FieldMapping, optional
        Detected (once per file, over the whole dataset) when None.
    chunk_rows : int
        Records mapped in one piece; with up to this many, the result is
        exactly what :func:`procanom.schema.to_process_events` gives for
        the whole set.

    Returns
    -------
    Mapped

    Raises
    ------
    InputFileError
        When no record of the files recorded with ``table`` is a process
        event.
    """
    pieces = list(_chunks(row_stop, chunk_rows)) if row_stop else [(0, 0)]
    if mapping is None and len(pieces) > 1:
        mapping = detect_whole(conn, table, columns)

    # Each file is mapped on its own, as procanom.io maps several files.
    files = _file_names(conn, table)
    by_file: dict = {"source": files[0]} if len(files) == 1 else {}
    if len(files) > 1 and SOURCE_FILE_COLUMN in columns:
        by_file = {"file_column": SOURCE_FILE_COLUMN}

    writer = _Writer(conn)
    warnings: list[str] = []
    other: dict[str, int] = {}
    other_by_file: dict[str, dict[str, int]] = {}
    events = 0
    for start, size in pieces:
        frame = _fetch_frame(conn, table, columns, start, start + size)
        result = to_process_events(frame, mapping, **by_file)
        mapping = result.mapping
        for key, count in result.other_events.items():
            other[key] = other.get(key, 0) + count
        for name, counts in result.other_events_by_file.items():
            totals = other_by_file.setdefault(name, {})
            for key, count in counts.items():
                totals[key] = totals.get(key, 0) + count
        for warning in result.warnings:
            if warning not in warnings:
                warnings.append(warning)
        kept = [n for n in frame.columns if n in PROCESS_FIELDS and n in result.frame]
        writer.append(result.frame, frame.loc[result.frame.index, kept])
        events += len(result.frame)
        if len(pieces) > 1:
            logger.info("mapped records %d to %d of %d", start, start + size, row_stop)
    if not events and files:
        raise no_process_events_error(files, other_by_file)
    _set_file_names(conn, "events", files)
    if len(pieces) > 1 and warnings:
        warnings.insert(
            0,
            f"The records were mapped in {len(pieces)} chunks of {chunk_rows:,}; a "
            "warning below may stand for one chunk only.",
        )
    return Mapped(
        writer.layout(list(columns)),
        None if mapping is None else mapping.to_dict(),
        warnings,
        other,
    )


def _set_file_names(
    conn: duckdb.DuckDBPyConnection, table: str, files: list[str]
) -> None:
    """Record which files a table's records were read from, in its comment.

    The mapping step reads them back (at ingest, and when the mapping is
    edited later) to map each file on its own and to name it in messages.
    """
    text = json.dumps({"files": files}, ensure_ascii=False).replace("'", "''")
    conn.execute(f"COMMENT ON TABLE {table} IS '{text}'")


def _file_names(conn: duckdb.DuckDBPyConnection, table: str) -> list[str]:
    """Return the files recorded with ``table`` (none for older datasets)."""
    database, _, name = table.rpartition(".")
    if not database:
        database = conn.execute("SELECT current_database()").fetchone()[0]
    row = conn.execute(
        "SELECT comment FROM duckdb_tables() WHERE database_name = ? AND "
        "schema_name = 'main' AND table_name = ?",
        [database, name],
    ).fetchone()
    try:
        files = json.loads(row[0])["files"] if row and row[0] else []
    except (ValueError, KeyError, TypeError):
        return []
    return [str(f) for f in files] if isinstance(files, list) else []


def _chunks(total: int, size: int) -> Iterator[tuple[int, int]]:
    for start in range(0, total, size):
        yield start, min(size, total - start)


def detect_whole(
    conn: duckdb.DuckDBPyConnection, table: str, columns: dict[str, str]
) -> FieldMapping:
    """Detect the mapping from the columns that hold a value anywhere.

    With several files, each file's from its own columns, as
    :func:`procanom.schema.to_process_events` maps each file on its own.
    """
    names = list(columns)
    if not names:
        return detect_mapping([])
    counts = ", ".join(f"count({c})" for c in columns.values())
    file_column = columns.get(SOURCE_FILE_COLUMN)
    if file_column is None or len(_file_names(conn, table)) < 2:
        row = conn.execute(f"SELECT {counts} FROM {table}").fetchone()
        filled = [name for name, n in zip(names, row, strict=True) if n]
        mapping = detect_mapping(filled)
        logger.info("detected mapping over the whole dataset: %s", mapping.to_dict())
        return mapping

    rows = conn.execute(
        f"SELECT {file_column}, {counts} FROM {table} GROUP BY {file_column} "
        "ORDER BY min(_row)"
    ).fetchall()
    per_file = {
        row[0]: detect_mapping(
            [name for name, n in zip(names, row[1:], strict=True) if n]
        )
        for row in rows
    }
    mapping = FieldMapping.per_file(per_file)
    logger.info("detected mapping over the whole dataset: %s", mapping.to_dict())
    return mapping


def identity_layout(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    columns: dict[str, str],
    mapping: FieldMapping,
) -> Layout | None:
    """Return a layout showing ``table`` as is when mapping would change nothing.

    The proof has three parts. The mapping takes every process field from
    the column of the same name, and fills a field from a recipe only where
    no event leaves it unset. Every distinct value of each column with few
    of them (and a sample of the others) goes through the schema step
    unchanged, with no warning and no record set aside. And each column
    with many distinct values that a field is taken from is one the schema
    copies as it is, or holds only canonical times or decimal ids, checked
    on every row.

    Returns
    -------
    Layout or None
        None when any part fails: the records must then be mapped.
    """
    names = list(columns)
    if not names or mapping.files:
        return None
    if any(source != target for target, source in mapping.sources.items()):
        return None
    # A recipe fills its field only where the field is unset, from other
    # columns of the same event; those events go through the schema step
    # whole (each distinct combination once), so any fill shows.
    filled_rows: list[dict] = []
    for target, text in mapping.derived.items():
        if mapping.sources.get(target) != target or target not in columns:
            return None
        try:
            inputs = [c for c in parse_recipe(text).columns if c in columns]
        except ValueError:
            return None
        involved = list(dict.fromkeys([target, *inputs]))
        select = ", ".join(columns[c] for c in involved)
        combos = conn.execute(
            f"SELECT DISTINCT {select} FROM {table} WHERE {columns[target]} IS NULL "
            f"OR regexp_matches({columns[target]}, ?) LIMIT ?",
            [_UNSET_PATTERN, _IDENTITY_SAMPLE + 1],
        ).fetchall()
        if len(combos) > _IDENTITY_SAMPLE:
            return None
        filled_rows.extend(dict(zip(involved, combo, strict=True)) for combo in combos)

    estimates = conn.execute(
        "SELECT "
        + ", ".join(
            f"approx_count_distinct({c}), count(*) - count({c})"
            for c in columns.values()
        )
        + f" FROM {table}"
    ).fetchone()
    values: dict[str, list] = {}
    for i, name in enumerate(names):
        column, estimate, nulls = columns[name], estimates[2 * i], estimates[2 * i + 1]
        if estimate > _IDENTITY_SAMPLE // 2:
            if not _many_values_ok(conn, table, name, column, mapping):
                logger.info("column %r would be rewritten; mapping the records", name)
                return None
            query = (
                f"SELECT DISTINCT {column} FROM (SELECT {column} FROM {table} "
                f"USING SAMPLE reservoir({_IDENTITY_SAMPLE} ROWS) REPEATABLE (7))"
            )
        else:
            query = f"SELECT DISTINCT {column} FROM {table}"
        found = [row[0] for row in conn.execute(query).fetchall()]
        if nulls and None not in found:
            found.append(None)
        if name in mapping.derived:
            # Its unset events are among the rows checked whole above; paired
            # here with any other column, they would be filled in error.
            found = [v for v in found if not _is_unset(v)]
            if not found:
                return None
        values[name] = found

    length = max(len(found) for found in values.values())
    rows = length + len(filled_rows)
    cells: dict[str, list] = {
        name: [found[i % len(found)] if found else None for i in range(rows)]
        for name, found in values.items()
    }
    for offset, row in enumerate(filled_rows):
        for name, value in row.items():
            cells[name][length + offset] = value
    length = rows
    synthetic = pd.DataFrame(
        {name: pd.array(v, dtype=TEXT) for name, v in cells.items()}
    )
    result = to_process_events(synthetic, mapping)
    out = result.frame
    if (
        result.warnings
        or result.other_events
        or result.duplicates_merged
        or len(out) != length
        or set(out.columns) != set(names)
    ):
        logger.info("the schema step would change the records; mapping them")
        return None
    for name in names:
        if not out[name].reset_index(drop=True).equals(synthetic[name]):
            logger.info("the schema step rewrites %r; mapping the records", name)
            return None
    visible = [[str(name), columns[name]] for name in out.columns]
    return Layout(visible, [[name, columns[name]] for name in names])


def _is_unset(value: str | None) -> bool:
    return value is None or value.strip() in UNSET_VALUES


def _many_values_ok(
    conn: duckdb.DuckDBPyConnection,
    table: str,
    name: str,
    column: str,
    mapping: FieldMapping,
) -> bool:
    """Check, on every row, a column with many distinct values."""
    if name not in mapping.sources.values():
        # No field is taken from it, so the schema step keeps it as read
        # (the sample still goes through the schema step).
        return True
    if name in PASS_THROUGH_FIELDS:
        return True
    if name == "_time":
        bad = conn.execute(
            f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL AND "
            f"strftime(TRY_CAST({column} AS TIMESTAMPTZ), ?) IS DISTINCT FROM {column}",
            [_CANONICAL_TIME],
        ).fetchone()[0]
        return bad == 0
    if name in _DECIMAL_ID_FIELDS:
        bad = conn.execute(
            f"SELECT count(*) FROM {table} WHERE {column} IS NOT NULL AND "
            f"NOT regexp_full_match({column}, ?)",
            ["0|[1-9][0-9]*"],
        ).fetchone()[0]
        return bad == 0
    return False


def table_stats(
    conn: duckdb.DuckDBPyConnection, table: str, layout: Layout
) -> tuple[int, int, str | None, str | None]:
    """Return the events, distinct hosts and time span of a dataset table."""
    events = conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0]
    stored = dict((name, column) for name, column in layout.visible)
    hosts = 0
    if "host" in stored:
        column = stored["host"]
        hosts = conn.execute(
            f"SELECT count(DISTINCT {column}) FROM {table} WHERE {column} <> ''"
        ).fetchone()[0]
    time_min = time_max = None
    if "_time" in stored:
        time_min, time_max = conn.execute(
            "SELECT strftime(min(t), ?), strftime(max(t), ?) FROM "
            f"(SELECT TRY_CAST({stored['_time']} AS TIMESTAMPTZ) AS t FROM {table})",
            [_ISO_MICROS, _ISO_MICROS],
        ).fetchone()
    return events, hosts, time_min, time_max


_ISO_MICROS = "%Y-%m-%dT%H:%M:%S.%fZ"
