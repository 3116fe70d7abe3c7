"""Reading files into one event frame: detection, unpacking, merging."""

from __future__ import annotations

import importlib
import io
import logging
import re
import time
import zipfile
import zlib
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path, PurePosixPath

import pyarrow as pa

from procanom.errors import InputFileError
from procanom.io._checks import excel_damage_warning, question_mark_warning
from procanom.io._decode import decode_text
from procanom.io._delimited import read_delimited
from procanom.io._frame import table_to_frame
from procanom.io._json import read_json
from procanom.io._report import SOURCE_FILE_COLUMN, LoadedEvents, LoadReport
from procanom.io._types import ParsedFile

logger = logging.getLogger(__name__)

#: Default cap on the bytes that compressed input may expand to.
DEFAULT_MAX_EXPANDED_BYTES = 2 * 1024**3

_GZIP_MAGIC = b"\x1f\x8b"
_ZIP_MAGICS = (b"PK\x03\x04", b"PK\x05\x06")
_EVTX_MAGIC = b"ElfFile\x00"
_PARQUET_MAGIC = b"PAR1"

# Archives inside archives are followed this deep.
_MAX_NESTING = 3
_CHUNK = 1024 * 1024
_WINDOWS_DRIVE = re.compile(r"^[A-Za-z]:")
# Archive members that are never event data (macOS resource forks).
_IGNORED_MEMBERS = ("__MACOSX/",)

_TEXT_FORMATS = ("csv", "tsv")
_LEADING_SPACE = re.compile(r"\s*")


@dataclass
class _Source:
    """One file's bytes after unpacking, and how it was packed."""

    name: str
    data: bytes
    packing: str = ""


class _Budget:
    """Bytes that unpacking may still produce before the load is refused."""

    def __init__(self, limit: int, origin: str) -> None:
        self.limit = limit
        self.left = limit
        self.origin = origin

    def take(self, n: int, member: str) -> None:
        self.left -= n
        if self.left < 0:
            raise InputFileError(
                self.origin,
                f"expands to more than {self.limit:,} bytes (at {member}); "
                "refusing to unpack it. Raise max_expanded_bytes if the archive "
                "is trusted.",
            )


def read_events(
    paths: str | Path | Sequence[str | Path],
    *,
    normalise: bool = True,
    encoding: str | None = None,
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES,
) -> LoadedEvents:
    """Read process events from one or more files.

    The format of each file is recognised from its content, not its name:
    CSV/TSV, JSON (array, lines, back to back, Splunk exports), EVTX,
    Windows event XML and Parquet, each possibly gzip- or zip-compressed.

    Parameters
    ----------
    paths : str, Path or sequence of them
        Files to read, in order. A folder stands for the files directly in
        it, sorted by name.
    normalise : bool, default True
        Map the columns onto procanom's process schema and keep only
        process-creation events (:func:`procanom.schema.to_process_events`).
        With False, the flat frame of every record is returned.
    encoding : str, optional
        Text encoding for every text file, instead of detecting it.
    max_expanded_bytes : int, default 2 GiB
        Most bytes a compressed file may expand to.

    Returns
    -------
    LoadedEvents
        The frame (every column ``string[pyarrow]``, one row per event in
        file order) and the report. With more than one file, a
        ``source_file`` column says which file each event came from.

    Raises
    ------
    InputFileError
        When a file is missing, empty, of no known format, or not a single
        record in it can be read; with ``normalise``, also when the files
        hold no process event at all (the message says what they hold).
    """
    if isinstance(paths, (str, Path)):
        paths = [paths]
    sources = []
    for path in expand_paths(paths):
        try:
            data = Path(path).read_bytes()
        except FileNotFoundError:
            raise InputFileError(str(path), "no such file") from None
        except OSError as exc:
            raise InputFileError(str(path), f"cannot be read: {exc.strerror}") from None
        sources.append((str(path), data))
    return _load(sources, normalise, encoding, max_expanded_bytes)


def read_upload(
    files: Sequence[tuple[str, bytes]],
    *,
    normalise: bool = True,
    encoding: str | None = None,
    max_expanded_bytes: int = DEFAULT_MAX_EXPANDED_BYTES,
) -> LoadedEvents:
    """Read process events from uploaded files.

    Parameters
    ----------
    files : sequence of (str, bytes)
        Each upload's display name and content, as a browser sends them.
    normalise, encoding, max_expanded_bytes
        As for :func:`read_events`.

    Returns
    -------
    LoadedEvents

    Raises
    ------
    InputFileError
        As for :func:`read_events`, and when no file is given.
    """
    if not files:
        raise InputFileError("(no file)", "no files were given")
    return _load(
        [(str(name), bytes(data)) for name, data in files],
        normalise,
        encoding,
        max_expanded_bytes,
    )


def expand_paths(
    paths: str | Path | Sequence[str | Path], *, allow_empty: bool = False
) -> list[Path]:
    """Return the files to read: a folder stands for the files directly in it.

    Files in a folder come sorted by name; hidden files are left out.

    Parameters
    ----------
    paths : path or sequence of paths
    allow_empty : bool, default False
        Return ``[]`` for no paths instead of raising.

    Raises
    ------
    procanom.errors.InputFileError
        For a folder with no files, or no paths at all.
    """
    if isinstance(paths, str | Path):
        paths = [paths]
    out: list[Path] = []
    for path in map(Path, paths):
        if path.is_dir():
            children = sorted(
                c for c in path.iterdir() if c.is_file() and not c.name.startswith(".")
            )
            if not children:
                raise InputFileError(str(path), "is a folder with no files in it")
            out.extend(children)
        else:
            out.append(path)
    if not out and not allow_empty:
        raise InputFileError("(no file)", "no files were given")
    return out


def _load(
    files: list[tuple[str, bytes]],
    normalise: bool,
    encoding: str | None,
    max_expanded_bytes: int,
) -> LoadedEvents:
    report = LoadReport()
    tables: list[pa.Table] = []
    for name, data in files:
        started = time.perf_counter()
        budget = _Budget(max_expanded_bytes, name)
        unpack_warnings: list[str] = []
        for source in _unpack(name, data, budget, 0, unpack_warnings):
            parsed, encoding_label = _parse(source, encoding)
            fmt = parsed.format + source.packing
            report.files.append(source.name)
            report.formats[source.name] = fmt
            report.encodings[source.name] = encoding_label
            report.skipped.extend(parsed.skipped)
            report.warnings.extend(parsed.warnings)
            tables.append(parsed.table)
            logger.info(
                "Read %s: format %s, encoding %s, %d rows read, %d skipped (%.2f s)",
                source.name,
                fmt,
                encoding_label,
                parsed.table.num_rows,
                len(parsed.skipped),
                time.perf_counter() - started,
            )
        report.warnings.extend(unpack_warnings)

    table = _merge(tables, report)
    frame = table_to_frame(table)
    report.rows_read = len(frame)
    report.rows_skipped = len(report.skipped)
    if normalise:
        frame = _normalise(frame, report)
    report.events = len(frame)
    return LoadedEvents(frame=frame, report=report)


def _merge(tables: list[pa.Table], report: LoadReport) -> pa.Table:
    """Stack the files' tables, adding the source column for several files."""
    if len(tables) == 1:
        return tables[0]
    labelled = []
    for name, table in zip(report.files, tables, strict=True):
        if SOURCE_FILE_COLUMN in table.column_names:
            report.warnings.append(
                f"{name} has its own {SOURCE_FILE_COLUMN!r} column; it was "
                "replaced by the name of the file each event was read from."
            )
            table = table.drop_columns([SOURCE_FILE_COLUMN])
        column = pa.repeat(pa.scalar(name, pa.string()), table.num_rows)
        labelled.append(table.append_column(SOURCE_FILE_COLUMN, column))
    merged = pa.concat_tables(labelled, promote_options="default")
    source = merged.column(SOURCE_FILE_COLUMN)
    merged = merged.drop_columns([SOURCE_FILE_COLUMN])
    return merged.append_column(SOURCE_FILE_COLUMN, source)


def _normalise(frame, report: LoadReport):
    """Apply the schema step when it is installed, taking its account."""
    try:
        schema = importlib.import_module("procanom.schema")
    except ModuleNotFoundError as exc:
        if exc.name != "procanom.schema":
            raise
        logger.debug("procanom.schema not available; returning the flat frame")
        return frame
    # Each file is mapped with its own columns and times, as if read alone;
    # one mapping over the union of several sources' columns would take a
    # field from one source's column and leave the other's rows empty.
    if len(report.files) > 1 and SOURCE_FILE_COLUMN in frame.columns:
        result = schema.to_process_events(frame, file_column=SOURCE_FILE_COLUMN)
    else:
        source = report.files[0] if report.files else None
        result = schema.to_process_events(frame, source=source)
    mapping = getattr(result, "mapping", None)
    report.mapping = mapping.to_dict() if mapping is not None else None
    report.other_events = dict(getattr(result, "other_events", {}) or {})
    report.warnings.extend(getattr(result, "warnings", []) or [])
    if len(result.frame) == 0:
        raise schema.no_process_events_error(
            report.files, getattr(result, "other_events_by_file", {}) or {}
        )
    return result.frame


def _unpack(
    name: str, data: bytes, budget: _Budget, depth: int, warnings: list[str]
) -> list[_Source]:
    """Undo gzip and zip compression, recognised by their magic bytes."""
    if data.startswith(_GZIP_MAGIC) and depth < _MAX_NESTING:
        inner = _gunzip(name, data, budget, warnings)
        return [
            _Source(s.name, s.data, s.packing + "+gzip")
            for s in _unpack(name, inner, budget, depth + 1, warnings)
        ]
    if data[:4] in _ZIP_MAGICS and depth < _MAX_NESTING:
        sources = []
        for member, content in _unzip(name, data, budget):
            for s in _unpack(f"{name}/{member}", content, budget, depth + 1, warnings):
                sources.append(_Source(s.name, s.data, s.packing + "+zip"))
        if not sources:
            raise InputFileError(name, "is a zip archive with no files in it")
        return sources
    return [_Source(name, data)]


def _gunzip(name: str, data: bytes, budget: _Budget, warnings: list[str]) -> bytes:
    """Inflate gzip data, keeping what precedes damage or a cut-off end."""
    out = io.BytesIO()
    pos = 0
    while pos < len(data):
        inflater = zlib.decompressobj(wbits=zlib.MAX_WBITS | 16)
        pending = memoryview(data)[pos:]
        try:
            # Output is taken a chunk at a time so the budget stops a bomb
            # before it fills memory.
            while not inflater.eof:
                chunk = inflater.decompress(pending, _CHUNK)
                pending = inflater.unconsumed_tail
                if chunk:
                    budget.take(len(chunk), name)
                    out.write(chunk)
                elif not pending:
                    break
        except zlib.error as exc:
            if out.tell() == 0:
                raise InputFileError(name, f"is damaged gzip data ({exc})") from None
            warnings.append(
                f"{name}: the gzip data is damaged after {out.tell():,} bytes "
                f"({exc}); only the part before that was read."
            )
            break
        if not inflater.eof:
            if out.tell() == 0:
                raise InputFileError(name, "is gzip data cut short before any content")
            warnings.append(
                f"{name}: the gzip data ends early (file cut short?); the "
                f"{out.tell():,} bytes before that point were read."
            )
            break
        # Several gzip members may follow one another; zeros may pad the end.
        rest = inflater.unused_data
        if not rest.strip(b"\x00"):
            break
        pos = len(data) - len(rest)
    return out.getvalue()


def _unzip(name: str, data: bytes, budget: _Budget) -> list[tuple[str, bytes]]:
    try:
        archive = zipfile.ZipFile(io.BytesIO(data))
    except zipfile.BadZipFile as exc:
        raise InputFileError(name, f"is a damaged zip archive ({exc})") from None

    with archive:
        infos = [
            info
            for info in archive.infolist()
            if not info.is_dir()
            and not info.filename.startswith(_IGNORED_MEMBERS)
            and not PurePosixPath(info.filename).name.startswith(".")
        ]
        for info in infos:
            _check_member_name(name, info.filename)
        declared = sum(info.file_size for info in infos)
        if declared > budget.left:
            raise InputFileError(
                name,
                f"declares {declared:,} bytes of content, more than the "
                f"{budget.limit:,} allowed; refusing to unpack it. Raise "
                "max_expanded_bytes if the archive is trusted.",
            )

        members = []
        for info in infos:
            if info.flag_bits & 0x1:
                raise InputFileError(
                    name, f"member {info.filename} is password-protected"
                )
            # Declared sizes can lie, so the budget counts what really comes out.
            out = io.BytesIO()
            try:
                with archive.open(info) as stream:
                    while chunk := stream.read(_CHUNK):
                        budget.take(len(chunk), info.filename)
                        out.write(chunk)
            except (
                zipfile.BadZipFile,
                zlib.error,
                EOFError,
                NotImplementedError,
            ) as exc:
                raise InputFileError(
                    name, f"member {info.filename} cannot be unpacked ({exc})"
                ) from None
            members.append((info.filename, out.getvalue()))
    return members


def _check_member_name(archive: str, member: str) -> None:
    """Refuse member names that would point outside the archive."""
    normalised = member.replace("\\", "/")
    parts = PurePosixPath(normalised).parts
    if normalised.startswith("/") or _WINDOWS_DRIVE.match(normalised) or ".." in parts:
        raise InputFileError(
            archive,
            f"member name {member!r} is absolute or contains '..'; refusing to "
            "unpack an archive with unsafe paths",
        )


def _parse(source: _Source, encoding: str | None) -> tuple[ParsedFile, str]:
    """Recognise one file's format from its content and read it."""
    name, data = source.name, source.data
    if not data:
        raise InputFileError(name, "is empty")
    if data.startswith(_EVTX_MAGIC):
        from procanom.io._evtx import read_evtx

        return read_evtx(data, name), "binary"
    if data.startswith(_PARQUET_MAGIC):
        from procanom.io._parquet import read_parquet

        return read_parquet(data, name), "binary"

    decoded = decode_text(data, name, encoding)
    text = decoded.text
    start = _LEADING_SPACE.match(text).end()
    if start == len(text):
        raise InputFileError(name, "is empty (only blank space)")

    first = text[start]
    if first in "[{":
        parsed = read_json(text, name)
    elif first == "<":
        from procanom.io._xml import read_event_xml

        parsed = read_event_xml(text, name)
    else:
        utf8 = None
        if decoded.codec == "utf-8" and decoded.warning is None:
            utf8 = data[3:] if data.startswith(b"\xef\xbb\xbf") else data
        parsed = read_delimited(text, name, utf8)

    if decoded.warning:
        parsed.warnings.insert(0, decoded.warning)
    # Looking for the telltale characters in the text first is far cheaper
    # than scanning every column of a large table.
    if parsed.format in _TEXT_FORMATS and ("E+" in text or "#" in text):
        excel = excel_damage_warning(parsed.table, name)
        if excel:
            parsed.warnings.append(excel)
    if parsed.format != "event-xml" and "?" in text:
        qmarks = question_mark_warning(parsed.table, name)
        if qmarks:
            parsed.warnings.append(qmarks)
    return parsed, decoded.encoding
