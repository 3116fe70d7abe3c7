"""CSV and TSV exports: PowerShell, Splunk, Excel and hand-made files.

The common path hands the file to pyarrow's multi-threaded C++ reader. That
reader is lenient: a value with an undoubled quote inside it is silently
glued together rather than refused. So before trusting it, a vectorised
pass over the bytes checks that every quote sits where the CSV rules allow
(an opening quote at the start of a field, a closing quote before a
separator or line end, quotes inside values doubled). Only when that check
or the reader finds a problem does the file go through the slower,
row-tolerant Python path, which keeps every well-formed row and reports
each malformed one with its line number.

Empty fields, quoted (``""``) or not, are read as missing values.
"""

from __future__ import annotations

import csv
import io
import logging
import re

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pacsv

from procanom.errors import InputFileError
from procanom.io._frame import MULTIVALUE_SEPARATOR, unique_names
from procanom.io._report import SkippedRow
from procanom.io._types import ParsedFile

logger = logging.getLogger(__name__)

#: Separators tried, in order of preference when equally plausible.
DELIMITERS = (",", ";", "\t", "|")

# Lines of the file looked at to choose the separator.
_SNIFF_LINES = 50

# A quoted value longer than this is taken for an unclosed quote.
_MAX_RECORD_CHARS = 1_000_000

# pyarrow reads in blocks; one record must fit in a block.
_BLOCK_SIZE = 16 * 1024 * 1024

# Size of the pieces a file with malformed rows is cut into.
_BLOCK = 1024 * 1024

_QUOTE = ord('"')
_LF = ord("\n")
_CR = ord("\r")

_SEPARATOR_HINT = re.compile(r"sep=([,;\t|])[ \t]*\r?(?:\n|$)", re.IGNORECASE)

# Splunk writes multivalue fields as $value$;$value$ with $ doubled inside.
_SPLUNK_MV_VALUE = re.compile(r"\$((?:[^$]|\$\$)*)\$")


def read_delimited(text: str, name: str, utf8: bytes | None = None) -> ParsedFile:
    """Read a delimited text export.

    Parameters
    ----------
    text : str
        The decoded file, without a byte-order mark.
    name : str
        The file's name, for messages.
    utf8 : bytes, optional
        The same content as UTF-8 bytes, when the file already was UTF-8;
        saves encoding ``text`` again for the fast reader.

    Returns
    -------
    ParsedFile
        Format ``csv`` (or ``tsv`` when tab-separated).

    Raises
    ------
    InputFileError
        When there is no header line.
    """
    # Windows PowerShell 5.1 writes "#TYPE <type name>" above the header
    # unless told -NoTypeInformation; only that first line is dropped, so a
    # '#' inside a value (C:\Tools\C#\csc.exe) stays.
    pos, line_no = 0, 1
    if text[:6].upper() == "#TYPE ":
        newline = text.find("\n")
        pos = len(text) if newline < 0 else newline + 1
        line_no = 2
    while pos < len(text) and text[pos] in "\r\n":
        line_no += text[pos] == "\n"
        pos += 1

    # Excel honours a first line "sep=;" naming the separator.
    delimiter = None
    hint = _SEPARATOR_HINT.match(text, pos)
    if hint:
        delimiter = hint.group(1)
        pos = hint.end()
        line_no += 1
    if pos >= len(text):
        raise InputFileError(name, "has no header line: expected field names")

    if delimiter is None:
        delimiter = sniff_delimiter(text[pos : pos + 256 * 1024])
    header_end, header_lines = _record_end(text, pos)
    header = text[pos:header_end].rstrip("\r\n")
    try:
        raw_names = next(csv.reader([header], delimiter=delimiter))
    except (csv.Error, StopIteration) as exc:
        raise InputFileError(
            name, f"the header line cannot be parsed ({exc})", line_no
        ) from None
    names, rename_warning = unique_names(raw_names, name)
    warnings = [rename_warning] if rename_warning else []
    body_line = line_no + header_lines
    if utf8 is not None:
        body = utf8[len(text[:header_end].encode("utf-8")) :]
    else:
        body = text[header_end:].encode("utf-8")

    table, skipped = _read_body(body, body_line, names, raw_names, delimiter, name)
    if skipped:
        warnings.append(_skipped_warning(name, skipped))
    if table.num_rows == 0:
        warnings.append(f"{name} has a header but no data rows.")

    table, mv_warning = _join_splunk_multivalue(table)
    if mv_warning:
        warnings.append(f"{name}: {mv_warning}")
    fmt = "tsv" if delimiter == "\t" else "csv"
    logger.info("%s: %s separated by %r, %d columns", name, fmt, delimiter, len(names))
    return ParsedFile(table, fmt, skipped, warnings)


def sniff_delimiter(sample: str, default: str | None = ",") -> str | None:
    """Choose the separator that splits the first lines most consistently.

    Each candidate must give the header at least two fields; among those,
    the one whose following rows most often have the header's width wins,
    then the one giving more fields. When none does (a file with one
    column), ``default``: comma separated unless the caller says otherwise.
    """
    lines = sample.splitlines(keepends=True)[:_SNIFF_LINES]
    best, best_key = default, (-1.0, 0)
    for delimiter in DELIMITERS:
        try:
            rows = [r for r in csv.reader(lines, delimiter=delimiter) if r]
        except csv.Error:
            continue
        if not rows or len(rows[0]) < 2:
            continue
        width = len(rows[0])
        # The last sampled line may be cut in the middle of a record.
        body = rows[1:-1] if len(rows) > 2 else rows[1:]
        share = sum(len(r) == width for r in body) / len(body) if body else 1.0
        key = (share, width)
        if key > best_key:
            best, best_key = delimiter, key
    return best


def _record_end(text: str, start: int) -> tuple[int, int]:
    """Find where the record starting at ``start`` ends (quote-aware).

    Returns the offset just past the record's line break and the number of
    physical lines it spans.
    """
    pos, lines, quotes = start, 0, 0
    while pos < len(text):
        newline = text.find("\n", pos)
        end = len(text) if newline < 0 else newline + 1
        quotes += text.count('"', pos, end)
        lines += 1
        pos = end
        if quotes % 2 == 0 or pos - start > _MAX_RECORD_CHARS:
            break
    return pos, lines


def quotes_well_formed(data: bytes, delimiter: str) -> bool:
    """Check, vectorised, that every quote in CSV bytes is where it may be.

    Counting quotes in order, each even-numbered one opens a quoted value
    (or re-opens it after a doubled quote) and must follow a separator, a
    line break, the start of the data or another quote; each odd-numbered
    one closes and must precede a separator, a line break, the end or
    another quote. A file passing this is read the same by any reader that
    follows RFC 4180.
    """
    if b'"' not in data:
        return True
    arr = np.frombuffer(data, dtype=np.uint8)
    quotes = np.flatnonzero(arr == _QUOTE)
    if len(quotes) % 2:
        return False

    sep = ord(delimiter)
    before = arr[np.maximum(quotes - 1, 0)].copy()
    before[quotes == 0] = _LF
    after = arr[np.minimum(quotes + 1, len(arr) - 1)].copy()
    after[quotes == len(arr) - 1] = _LF
    boundary = (sep, _LF, _CR, _QUOTE)
    return bool(np.isin(before[0::2], boundary).all()) and bool(
        np.isin(after[1::2], boundary).all()
    )


def _read_fast(
    body: bytes, names: list[str], delimiter: str, raw_names: list[str]
) -> pa.Table | None:
    """Read with pyarrow; None when the tolerant path must decide."""
    if not quotes_well_formed(body, delimiter):
        return None
    invalid = []

    def on_invalid(row: object) -> str:
        invalid.append(row)
        return "skip"

    try:
        table = pacsv.read_csv(
            io.BytesIO(body),
            read_options=pacsv.ReadOptions(
                column_names=names, block_size=_BLOCK_SIZE, encoding="utf8"
            ),
            parse_options=pacsv.ParseOptions(
                delimiter=delimiter,
                newlines_in_values=True,
                invalid_row_handler=on_invalid,
            ),
            convert_options=pacsv.ConvertOptions(
                column_types={n: pa.string() for n in names},
                null_values=[""],
                strings_can_be_null=True,
                quoted_strings_can_be_null=True,
            ),
        )
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return None
    if invalid or _has_repeated_header(table, raw_names):
        return None
    return table


def _has_repeated_header(table: pa.Table, raw_names: list[str]) -> bool:
    """Say whether any row repeats the header (exports joined end to end)."""
    if table.num_rows == 0 or not raw_names or not raw_names[0]:
        return False
    first = pc.equal(table.column(0), raw_names[0])
    return bool(pc.any(first).as_py())


def _read_body(
    body: bytes,
    first_line: int,
    names: list[str],
    raw_names: list[str],
    delimiter: str,
    name: str,
) -> tuple[pa.Table, list[SkippedRow]]:
    """Read the rows after the header, fast where possible.

    The whole body is first given to pyarrow. When that is refused, the
    body is cut at record boundaries into blocks of about a megabyte; each
    block again goes to pyarrow, and only blocks holding a malformed row
    are read row by row. A few bad rows in a large file thus cost seconds,
    not minutes.
    """
    if not body or body.isspace():
        return _empty_table(names), []
    table = _read_fast(body, names, delimiter, raw_names)
    if table is not None:
        return table, []
    logger.info("%s: malformed rows found, reading around them row by row", name)

    tables: list[pa.Table] = []
    skipped: list[SkippedRow] = []
    pos, line = 0, first_line
    while pos < len(body):
        end = _block_end(body, pos)
        table = _read_fast(body[pos:end], names, delimiter, raw_names)
        if table is not None:
            tables.append(table)
            line += body.count(b"\n", pos, end)
            pos = end
            continue
        table, bad, pos, line = _read_tolerant(
            body, pos, end, line, names, raw_names, delimiter, name
        )
        tables.append(table)
        skipped.extend(bad)
    if not tables:
        return _empty_table(names), skipped
    return pa.concat_tables(tables), skipped


def _block_end(body: bytes, pos: int) -> int:
    """Offset just past a record boundary about one block after ``pos``.

    A line break ends a record when the quotes since ``pos`` (a record
    start) are balanced. When no such break comes within a few blocks, the
    quoting is broken anyway and any line break will do.
    """
    target = pos + _BLOCK
    if target >= len(body):
        return len(body)
    newline = body.find(b"\n", target)
    if newline < 0:
        return len(body)
    odd = body.count(b'"', pos, newline) % 2
    limit = target + 4 * _BLOCK
    while odd and newline < limit:
        following = body.find(b"\n", newline + 1)
        if following < 0:
            return len(body)
        odd ^= body.count(b'"', newline, following) % 2
        newline = following
    return newline + 1


def _line_at(body: bytes, pos: int) -> tuple[str, int]:
    """Return the line starting at ``pos`` (without its LF) and the next offset."""
    newline = body.find(b"\n", pos)
    end = len(body) if newline < 0 else newline
    return body[pos:end].decode("utf-8", errors="replace"), end + 1


def _read_tolerant(
    body: bytes,
    pos: int,
    stop: int,
    line: int,
    names: list[str],
    raw_names: list[str],
    delimiter: str,
    name: str,
) -> tuple[pa.Table, list[SkippedRow], int, int]:
    """Read row by row from ``pos`` until past ``stop``.

    Good rows are kept, each bad one is reported with its line and reason.
    Returns the table, the skipped rows, and the offset and line number
    where reading stopped (a record boundary).
    """
    width = len(names)
    rows: list[list[str]] = []
    skipped: list[SkippedRow] = []
    while pos < len(body) and pos < stop:
        text, following = _line_at(body, pos)
        if not text.strip("\r"):
            pos, line = following, line + 1
            continue

        # A quick split is enough for a line with no quotes at all.
        if '"' not in text and "\r" not in text[:-1]:
            fields = text.rstrip("\r").split(delimiter)
            if len(fields) == width:
                if fields != raw_names:
                    rows.append(fields)
                else:
                    skipped.append(_skip(name, line, _REPEATED, text))
                pos, line = following, line + 1
                continue

        # Gather the lines a quoted value spans, then parse strictly; when
        # that fails, the line alone may still be a complete record.
        parts, end, odd = [text], following, text.count('"') % 2
        size = len(text)
        while odd and end < len(body) and size < _MAX_RECORD_CHARS:
            more, end = _line_at(body, end)
            parts.append(more)
            odd ^= more.count('"') % 2
            size += len(more)
        fields, problem = _parse_record("\n".join(parts), delimiter, width)
        if problem is not None and len(parts) > 1:
            single, single_problem = _parse_record(text, delimiter, width)
            if single_problem is None:
                fields, problem, parts, end = single, None, [text], following
        if problem is None and fields == raw_names:
            problem = _REPEATED
        if problem is None:
            rows.append(fields)
            pos, line = end, line + len(parts)
        else:
            if text.upper().startswith("#TYPE "):
                problem = "a PowerShell #TYPE line inside the data (exports joined?)"
            skipped.append(_skip(name, line, problem, text))
            pos, line = following, line + 1

    if not rows:
        return _empty_table(names), skipped, pos, line
    columns = zip(*rows, strict=True)
    arrays = [
        pa.array([v if v != "" else None for v in col], pa.string()) for col in columns
    ]
    return pa.table(arrays, names=names), skipped, pos, line


def _empty_table(names: list[str]) -> pa.Table:
    return pa.table([pa.array([], pa.string()) for _ in names], names=names)


_REPEATED = "a repeated header line (exports joined end to end?)"


def _parse_record(
    text: str, delimiter: str, width: int
) -> tuple[list[str], str | None]:
    try:
        records = list(csv.reader([text], delimiter=delimiter, strict=True))
    except csv.Error as exc:
        message = str(exc)
        if "expected after" in message:
            return [], (
                "broken quoting: text follows a closing quote (a quote inside "
                "a quoted value must be doubled)"
            )
        if "unexpected end of data" in message:
            return [], "broken quoting: a quoted value is never closed"
        return [], f"cannot be parsed ({message})"
    if len(records) != 1:
        return [], "cannot be parsed as one record"
    fields = records[0]
    if len(fields) != width:
        return [], f"expected {width} fields, found {len(fields)}"
    return fields, None


def _skip(name: str, line: int, reason: str, text: str) -> SkippedRow:
    return SkippedRow(file=name, line=line, reason=reason, text=text.rstrip("\r"))


def _skipped_warning(name: str, skipped: list[SkippedRow]) -> str:
    lines = ", ".join(str(s.line) for s in skipped[:10])
    more = f" and {len(skipped) - 10:,} more" if len(skipped) > 10 else ""
    return (
        f"{name}: {len(skipped):,} row(s) could not be parsed and were left out "
        f"(line {lines}{more}); the other rows were loaded. See the skipped rows "
        "for the reasons."
    )


def _join_splunk_multivalue(table: pa.Table) -> tuple[pa.Table, str | None]:
    """Make Splunk CSV multivalue cells one stable value.

    Splunk writes a multivalue field's values one per line in the cell and
    repeats them, unambiguously, in a ``__mv_<field>`` column as
    ``$v1$;$v2$``. Where that column holds values they are used: sorted,
    distinct, joined with a line break.
    """
    names = table.column_names
    changed = []
    for mv_name in names:
        field = mv_name[len("__mv_") :]
        if not mv_name.startswith("__mv_") or field not in names:
            continue
        mv = table.column(mv_name)
        has_mv = pc.fill_null(pc.not_equal(mv, ""), False)
        if not pc.any(has_mv).as_py():
            continue
        values = table.column(field).to_pylist()
        for i, encoded in enumerate(mv.to_pylist()):
            if encoded:
                parts = [
                    m.replace("$$", "$") for m in _SPLUNK_MV_VALUE.findall(encoded)
                ]
                if parts:
                    values[i] = MULTIVALUE_SEPARATOR.join(sorted(set(parts)))
        index = names.index(field)
        table = table.set_column(index, field, pa.array(values, pa.string()))
        changed.append(field)
    if not changed:
        return table, None
    return table, (
        f"multivalue field(s) {', '.join(changed)} hold several values per event; "
        "each was made one value (distinct values, sorted, one per line)."
    )
