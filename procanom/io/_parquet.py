"""Parquet files, read with pyarrow and turned into text columns."""

from __future__ import annotations

import re

import pyarrow as pa
import pyarrow.parquet as pq

from procanom.errors import InputFileError
from procanom.io._frame import table_as_text
from procanom.io._types import ParsedFile

# pandas stores a non-default index as extra columns; it is not event data.
_PANDAS_INDEX = re.compile(r"^__index_level_\d+__$")


def read_parquet(data: bytes, name: str) -> ParsedFile:
    """Read a Parquet file.

    Typed columns are written as text (numbers as digits, booleans as
    ``true``/``false``, timestamps in ISO form), struct columns are
    flattened to dotted names and list columns become one multivalue value.

    Parameters
    ----------
    data : bytes
        The whole file.
    name : str
        The file's name, for messages.

    Returns
    -------
    ParsedFile
        Format ``parquet``.

    Raises
    ------
    InputFileError
        When the file is not readable Parquet.
    """
    try:
        table = pq.read_table(pa.BufferReader(data))
    except (pa.ArrowException, OSError, ValueError) as exc:
        raise InputFileError(name, f"is not a readable Parquet file ({exc})") from None
    index = [c for c in table.column_names if _PANDAS_INDEX.match(c)]
    if index:
        table = table.drop_columns(index)
    table = table_as_text(table.replace_schema_metadata(None))
    warnings = [] if table.num_rows else [f"{name} holds no rows."]
    return ParsedFile(table, "parquet", [], warnings)
