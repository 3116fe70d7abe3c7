"""Windows event log files (.evtx), read with the Rust-based ``evtx`` package.

An EVTX file is a header and 64 KiB chunks of records. A damaged chunk
(a zeroed header, a half-written chunk at the end of a log copied while in
use) stops only its own records: every readable record of the other
chunks is kept, and what could not be read is reported.
"""

from __future__ import annotations

import io
import json
import logging
import re

from procanom.errors import InputFileError
from procanom.io._events import flatten_event
from procanom.io._frame import table_from_rows
from procanom.io._report import SkippedRow
from procanom.io._types import ParsedFile

logger = logging.getLogger(__name__)

_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
_CHUNK_ERROR = re.compile(r"chunk (?:number )?(\d+)", re.IGNORECASE)
_RECORD_ERROR = re.compile(r"record (?:number |id )?(\d+)", re.IGNORECASE)

# Errors in a row without a record read in between: the parser is lost.
_MAX_CONSECUTIVE_ERRORS = 10_000


def read_evtx(data: bytes, name: str) -> ParsedFile:
    """Read every readable record of an EVTX file.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.

    Returns
    -------
    ParsedFile
        Format ``evtx``; one row per record, columns ``Event.System.*`` and
        ``Event.EventData.*`` (or ``Event.UserData.*``).

    Raises
    ------
    InputFileError
        When the file header cannot be read.
    """
    try:
        from evtx import PyEvtxParser
    except ImportError:  # pragma: no cover - a declared dependency
        raise InputFileError(
            name, "is an EVTX file, but the 'evtx' package is not installed"
        ) from None
    try:
        records = PyEvtxParser(io.BytesIO(data)).records_json()
    except (RuntimeError, OSError, ValueError) as exc:
        raise InputFileError(name, f"is not a readable EVTX file ({exc})") from None

    rows: list[dict[str, str | None]] = []
    bad_chunks: dict[int, str] = {}
    skipped: list[SkippedRow] = []
    other_errors: list[str] = []
    consecutive = 0
    while consecutive < _MAX_CONSECUTIVE_ERRORS:
        try:
            record = next(records)
        except StopIteration:
            break
        except (RuntimeError, OSError, ValueError) as exc:
            consecutive += 1
            _classify(str(exc), name, bad_chunks, skipped, other_errors)
            continue
        consecutive = 0
        try:
            event = _DECODER.decode(record["data"])
        except (json.JSONDecodeError, KeyError, TypeError) as exc:
            record_id = record.get("event_record_id", 0) if record else 0
            skipped.append(
                SkippedRow(
                    name, int(record_id or 0), f"record is not valid ({exc})", ""
                )
            )
            continue
        rows.append(flatten_event(event))

    warnings = []
    if bad_chunks:
        numbers = sorted(bad_chunks)
        first_reason = bad_chunks[numbers[0]]
        warnings.append(
            f"{name}: {len(numbers)} damaged chunk(s) could not be read "
            f"({_ranges(numbers)}; first problem: {first_reason}); the "
            f"{len(rows):,} records in the readable chunks were kept."
        )
    if skipped:
        warnings.append(
            f"{name}: {len(skipped):,} damaged record(s) were left out "
            f"(record id {', '.join(str(s.line) for s in skipped[:10])})."
        )
    if other_errors:
        warnings.append(
            f"{name}: {len(other_errors):,} read error(s) (first: "
            f"{other_errors[0]}); every record that could be read was kept."
        )
    if not rows:
        warnings.append(f"{name} holds no readable event records.")
    logger.info(
        "%s: %d EVTX records, %d damaged chunks, %d damaged records",
        name,
        len(rows),
        len(bad_chunks),
        len(skipped),
    )
    return ParsedFile(table_from_rows(rows), "evtx", skipped, warnings)


def _classify(
    message: str,
    name: str,
    bad_chunks: dict[int, str],
    skipped: list[SkippedRow],
    other_errors: list[str],
) -> None:
    """Sort a parser error into a damaged chunk, record, or other problem."""
    reason = message.split(": ", 1)[-1]
    chunk = _CHUNK_ERROR.search(message)
    if chunk:
        bad_chunks.setdefault(int(chunk.group(1)), reason)
        return
    record = _RECORD_ERROR.search(message)
    if record:
        skipped.append(SkippedRow(name, int(record.group(1)), reason, ""))
        return
    other_errors.append(message)


def _ranges(numbers: list[int]) -> str:
    """Write sorted numbers compactly: ``chunk 9-16`` or ``chunks 3, 7``."""
    spans = []
    start = previous = numbers[0]
    for n in [*numbers[1:], None]:
        if n is not None and n == previous + 1:
            previous = n
            continue
        spans.append(str(start) if start == previous else f"{start}-{previous}")
        if n is not None:
            start = previous = n
    return ("chunk " if len(numbers) == 1 else "chunks ") + ", ".join(spans)
