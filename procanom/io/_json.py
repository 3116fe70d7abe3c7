"""JSON exports: arrays, JSON lines, objects back to back, Splunk's shapes.

Numbers are kept exactly as written (``parse_int``/``parse_float`` return
the text), so a process id or a 19-digit logon id never passes through a
float. Records are read one at a time with the C scanner, which lets a
damaged record be reported with its line and the rest still be read.
"""

from __future__ import annotations

import json
import logging
import re

from procanom.errors import InputFileError
from procanom.io._frame import flatten_record, table_from_rows
from procanom.io._report import SkippedRow
from procanom.io._types import ParsedFile

logger = logging.getLogger(__name__)

_DECODER = json.JSONDecoder(parse_int=str, parse_float=str, parse_constant=str)
_WHITESPACE = re.compile(r"[ \t\n\r]*")
# Where a new top-level object may start after a damaged one.
_RESYNC = re.compile(r"\n[ \t]*\{|\}[ \t]*\{")


class _Lines:
    """Line numbers of offsets in a text, counted incrementally."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0
        self.line = 1

    def at(self, pos: int) -> int:
        if pos < self.pos:
            self.pos, self.line = 0, 1
        self.line += self.text.count("\n", self.pos, pos)
        self.pos = pos
        return self.line


def read_json(text: str, name: str) -> ParsedFile:
    """Read a JSON export of events.

    Parameters
    ----------
    text : str
        The decoded file.
    name : str
        The file's name, for messages.

    Returns
    -------
    ParsedFile
        Format ``json-array``, ``json-lines``, ``json-concatenated``,
        ``json-object`` (a single event), ``splunk-json`` (``{"results":
        [...]}``), ``splunk-json-rows`` (Splunk's line-by-line export of
        ``{"preview": ..., "result": {...}}`` objects) or
        ``splunk-json-matrix`` (``{"fields": [...], "rows": [[...]]}``).

    Raises
    ------
    InputFileError
        When not a single record can be read.
    """
    start = _WHITESPACE.match(text).end()
    lines = _Lines(text)
    if text.startswith("[", start):
        objects, skipped, warnings = _read_arrays(text, start, name, lines)
        fmt = "json-array"
    else:
        objects, skipped, warnings, one_per_line = _read_stream(
            text, start, name, lines
        )
        fmt = "json-lines" if one_per_line else "json-concatenated"

    if not objects and skipped:
        first = skipped[0]
        raise InputFileError(name, f"is not valid JSON: {first.reason}", first.line)

    records, fmt, shape_warnings = _unwrap(objects, fmt, name)
    warnings.extend(shape_warnings)

    rows = []
    for position, record in enumerate(records):
        if isinstance(record, dict):
            rows.append(flatten_record(record))
        else:
            skipped.append(
                SkippedRow(
                    name,
                    0,
                    f"record {position + 1} is a JSON {_kind(record)}, not an object",
                    json.dumps(record, ensure_ascii=False)[:200],
                )
            )
    if len(rows) < len(records):
        warnings.append(
            f"{name}: {len(records) - len(rows):,} record(s) are not JSON objects "
            "and were left out."
        )
    if not rows:
        warnings.append(f"{name} holds no event records.")
    return ParsedFile(table_from_rows(rows), fmt, skipped, warnings)


def _read_arrays(
    text: str, start: int, name: str, lines: _Lines
) -> tuple[list, list[SkippedRow], list[str]]:
    """Read one JSON array, or several written one after another."""
    objects: list = []
    skipped: list[SkippedRow] = []
    warnings: list[str] = []
    pos = start
    while pos < len(text):
        if text[pos] != "[":
            skipped.append(_skip(name, lines.at(pos), "expected '[' here", text, pos))
            warnings.append(_tail_warning(name, lines.at(pos), len(objects)))
            break
        pos = _WHITESPACE.match(text, pos + 1).end()
        if text.startswith("]", pos):
            pos = _WHITESPACE.match(text, pos + 1).end()
            continue
        while True:
            try:
                obj, pos = _decode(text, pos)
            except json.JSONDecodeError as exc:
                skipped.append(_skip(name, lines.at(pos), exc.msg, text, pos))
                warnings.append(_tail_warning(name, lines.at(pos), len(objects)))
                return objects, skipped, warnings
            objects.append(obj)
            pos = _WHITESPACE.match(text, pos).end()
            if text.startswith(",", pos):
                pos = _WHITESPACE.match(text, pos + 1).end()
                continue
            if text.startswith("]", pos):
                pos = _WHITESPACE.match(text, pos + 1).end()
                break
            problem = "expected ',' or ']' after an array element"
            if pos >= len(text):
                problem = "the array is not closed (file cut short?)"
            skipped.append(_skip(name, lines.at(pos), problem, text, pos))
            warnings.append(_tail_warning(name, lines.at(pos), len(objects)))
            return objects, skipped, warnings
    return objects, skipped, warnings


def _decode(text: str, pos: int) -> tuple[object, int]:
    """One JSON value from ``pos``; too deep a nesting is a decoding error.

    Python's decoder recurses once per level of nesting, so ``[[[[...`` a
    hundred thousand deep would end the reader, not just the record.
    """
    try:
        return _DECODER.raw_decode(text, pos)
    except RecursionError:
        raise json.JSONDecodeError(
            "nested too deeply to read (events are objects of a few levels)",
            text,
            pos,
        ) from None


def _read_stream(
    text: str, start: int, name: str, lines: _Lines
) -> tuple[list, list[SkippedRow], list[str], bool]:
    """Read JSON values one after another (JSON lines or back to back)."""
    objects: list = []
    skipped: list[SkippedRow] = []
    one_per_line = True
    pos = start
    while pos < len(text):
        try:
            obj, end = _decode(text, pos)
        except json.JSONDecodeError as exc:
            skipped.append(_skip(name, lines.at(pos), exc.msg, text, pos))
            resync = _RESYNC.search(text, pos + 1)
            if resync is None:
                break
            pos = resync.end() - 1
            continue
        objects.append(obj)
        # JSON lines: each object on a line of its own, nothing else there.
        if one_per_line and text.find("\n", pos, end) >= 0:
            one_per_line = False
        pos = _WHITESPACE.match(text, end).end()
        if pos < len(text) and text.find("\n", end, pos) < 0:
            one_per_line = False

    warnings = []
    if skipped:
        where = ", ".join(str(s.line) for s in skipped[:10])
        more = f" and {len(skipped) - 10:,} more" if len(skipped) > 10 else ""
        warnings.append(
            f"{name}: {len(skipped):,} record(s) are not valid JSON and were left "
            f"out (line {where}{more}); {len(objects):,} were read."
        )
    return objects, skipped, warnings, one_per_line


def _unwrap(objects: list, fmt: str, name: str) -> tuple[list, str, list[str]]:
    """Find the event records inside Splunk's export shapes."""
    first = objects[0] if objects else None
    if not isinstance(first, dict):
        return objects, fmt, []

    if "result" in first and ("preview" in first or "offset" in first):
        records, previews, other = [], 0, 0
        for obj in objects:
            result = obj.get("result") if isinstance(obj, dict) else None
            if result is None:
                other += 1  # messages, or a lastrow marker without a result
            elif obj.get("preview") is True:
                previews += 1
            else:
                records.append(result)
        warnings = []
        if previews:
            logger.info("%s: dropped %d Splunk preview rows", name, previews)
            if not records:
                warnings.append(
                    f"{name} holds only {previews:,} Splunk preview rows (partial "
                    "results); export again once the search has finished."
                )
        if other:
            logger.debug("%s: %d Splunk lines without a result", name, other)
        return records, "splunk-json-rows", warnings

    if len(objects) == 1 and isinstance(first.get("results"), list):
        return first["results"], "splunk-json", []

    fields, rows = first.get("fields"), first.get("rows")
    if len(objects) == 1 and isinstance(fields, list) and isinstance(rows, list):
        names = [f.get("name") if isinstance(f, dict) else f for f in fields]
        records = [
            dict(zip(names, row, strict=False)) if isinstance(row, list) else row
            for row in rows
        ]
        return records, "splunk-json-matrix", []

    if len(objects) == 1 and fmt != "json-array":
        return objects, "json-object", []
    return objects, fmt, []


def _skip(name: str, line: int, reason: str, text: str, pos: int) -> SkippedRow:
    end = text.find("\n", pos)
    snippet = text[pos : end if 0 <= end < pos + 200 else pos + 200]
    return SkippedRow(name, line, reason, snippet)


def _tail_warning(name: str, line: int, kept: int) -> str:
    return (
        f"{name}: the JSON breaks off at line {line:,}; the {kept:,} record(s) "
        "before that point were read and the rest of the file was not."
    )


def _kind(value: object) -> str:
    if isinstance(value, list):
        return "array"
    if isinstance(value, str):
        return "string or number"
    return "literal" if value in (True, False, None) else "value"
