"""What each format reader hands back to the dispatcher."""

from __future__ import annotations

from dataclasses import dataclass, field

import pyarrow as pa

from procanom.io._report import SkippedRow


@dataclass
class ParsedFile:
    """One file's events as an all-text table, before any merging.

    Attributes
    ----------
    table : pyarrow.Table
        Every column of type string.
    format : str
        The format found (``csv``, ``json-lines``, ``evtx``, ...).
    skipped : list of SkippedRow
        Rows that could not be parsed.
    warnings : list of str
        Sentences for the report.
    """

    table: pa.Table
    format: str
    skipped: list[SkippedRow] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
