"""What a load returns: the events and an account of how they were read."""

from __future__ import annotations

from dataclasses import dataclass, field

import pandas as pd

#: Column added when more than one file is read: which file each event came from.
SOURCE_FILE_COLUMN = "source_file"

#: Longest piece of a skipped row's text kept in a :class:`SkippedRow`.
SKIPPED_TEXT_LIMIT = 200


@dataclass
class SkippedRow:
    """One row or record that could not be parsed and was left out.

    Parameters
    ----------
    file : str
        The file, as the user named it.
    line : int
        1-based physical line where the row starts (for EVTX: the record id
        when known, else 0).
    reason : str
        What was wrong, in words.
    text : str
        The row as written, cut to about 200 characters.
    """

    file: str
    line: int
    reason: str
    text: str

    def __post_init__(self) -> None:
        if len(self.text) > SKIPPED_TEXT_LIMIT:
            self.text = self.text[: SKIPPED_TEXT_LIMIT - 1] + "…"


@dataclass
class LoadReport:
    """How the files were read: formats, encodings, counts and warnings.

    Attributes
    ----------
    files : list of str
        Every file read, in order (members of an archive as
        ``archive.zip/member``).
    formats : dict
        File -> format: ``csv``, ``tsv``, ``json-array``, ``json-lines``,
        ``json-concatenated``, ``json-object``, ``splunk-json``,
        ``splunk-json-rows``, ``evtx``, ``event-xml``, ``parquet``; a
        ``+gzip`` or ``+zip`` suffix when the file was compressed.
    encodings : dict
        File -> text encoding (``utf-8``, ``utf-8 with BOM``,
        ``utf-16-le with BOM``, ``utf-16-le``, ``windows-1252``, ...), or
        ``binary`` for EVTX and Parquet.
    rows_read : int
        Records read from all files, before any filtering to process events.
    rows_skipped : int
        Rows or records that could not be parsed (listed in ``skipped``).
    skipped : list of SkippedRow
        The rows left out, with file, line and reason.
    warnings : list of str
        Plain sentences naming the file and counts: what looked wrong and
        what was done about it.
    other_events : dict
        Records that are not process-creation events, counted by
        ``"channel/event id"`` (filled by the schema step).
    mapping : dict or None
        The column mapping the schema step applied, if any; with several
        files mapped differently, each such file's under ``"files"``.
    events : int
        Rows in the returned frame.
    """

    files: list[str] = field(default_factory=list)
    formats: dict[str, str] = field(default_factory=dict)
    encodings: dict[str, str] = field(default_factory=dict)
    rows_read: int = 0
    rows_skipped: int = 0
    skipped: list[SkippedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    other_events: dict[str, int] = field(default_factory=dict)
    mapping: dict | None = None
    events: int = 0

    def summary(self) -> str:
        """Return one or two sentences on what was read, for the page or CLI."""
        if len(self.files) == 1:
            name = self.files[0]
            where = f"{name} ({self.formats.get(name, '?')})"
        else:
            kinds = ", ".join(dict.fromkeys(self.formats.values()))
            where = f"{len(self.files)} files ({kinds})"
        text = f"Read {_count(self.rows_read, 'record')} from {where}"
        if self.rows_skipped:
            text += f"; {_count(self.rows_skipped, 'row')} could not be parsed"
        text += "."

        other = sum(self.other_events.values())
        if self.mapping is not None or other:
            text += f" {_count(self.events, 'process event')} kept"
            if other:
                text += f", {_count(other, 'other event')} set aside"
            text += "."
        if self.warnings:
            text += f" {_count(len(self.warnings), 'warning')}."
        return text


@dataclass
class LoadedEvents:
    """The events read and the report of how they were read.

    Attributes
    ----------
    frame : pandas.DataFrame
        One row per event, every column ``string[pyarrow]``.
    report : LoadReport
    """

    frame: pd.DataFrame
    report: LoadReport


def _count(n: int, noun: str) -> str:
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
