"""Building the all-text table every reader returns.

Readers produce a :class:`pyarrow.Table` whose columns are all strings;
this module turns parsed records into one, flattens nested objects, makes
multivalue values stable, and converts the final table to pandas.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Mapping

import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

#: The dtype of every column of a loaded frame.
TEXT_DTYPE = pd.StringDtype("pyarrow")

#: Separator between the values of a multivalue field.
MULTIVALUE_SEPARATOR = "\n"


def scalar_text(value: object) -> str | None:
    """Return a parsed scalar as text, spelled as JSON spells it."""
    if value is None:
        return None
    if value is True:
        return "true"
    if value is False:
        return "false"
    return str(value)


def join_multivalue(values: Iterable[object]) -> str | None:
    """Make one stable value of a multivalue field.

    The distinct values are sorted and joined with a line break, so the same
    set of values gives the same text whatever order a source listed them
    in. Nested objects inside the list are written as compact JSON.
    ``None`` items are dropped; an empty list gives ``None``.
    """
    texts = set()
    for value in values:
        if value is None:
            continue
        if isinstance(value, (dict, list)):
            texts.add(json.dumps(value, sort_keys=True, ensure_ascii=False))
        else:
            texts.add(scalar_text(value))
    if not texts:
        return None
    return MULTIVALUE_SEPARATOR.join(sorted(texts))


def flatten_record(record: Mapping[str, object]) -> dict[str, str | None]:
    """Flatten a parsed JSON object into dotted names with text values.

    ``{"process": {"name": "cmd.exe"}}`` becomes ``{"process.name":
    "cmd.exe"}``, as :func:`pandas.json_normalize` names it; a list becomes
    one value (see :func:`join_multivalue`); an empty object becomes a
    missing value under its own name.
    """
    out: dict[str, str | None] = {}
    _flatten_into(record, "", out)
    return out


def _flatten_into(node: Mapping[str, object], prefix: str, out: dict) -> None:
    for key, value in node.items():
        name = prefix + key if prefix else key
        # Strings are by far the most common value (numbers arrive as text).
        if type(value) is str:
            out[name] = value
        elif isinstance(value, dict):
            if value:
                _flatten_into(value, name + ".", out)
            else:
                out[name] = None
        elif isinstance(value, list):
            out[name] = join_multivalue(value)
        else:
            out[name] = scalar_text(value)


def table_from_rows(rows: list[dict[str, str | None]]) -> pa.Table:
    """Build a table from flat records, keeping every field of every row.

    Columns come in the order fields are first seen over all rows (not only
    the first row's); a row lacking a field gets a missing value there.
    """
    n = len(rows)
    columns: dict[str, list] = {}
    for i, row in enumerate(rows):
        for name, value in row.items():
            column = columns.get(name)
            if column is None:
                column = columns[name] = [None] * n
            column[i] = value
    arrays = [pa.array(values, pa.string()) for values in columns.values()]
    return pa.table(arrays, names=list(columns)) if arrays else pa.table({})


def table_as_text(table: pa.Table) -> pa.Table:
    """Return a table whose every column is text.

    Struct columns are flattened to dotted names, list columns become one
    multivalue value per row, and other types are cast to their text form
    (numbers as digits, booleans as ``true``/``false``).
    """
    while any(pa.types.is_struct(f.type) for f in table.schema):
        table = table.flatten()

    columns = []
    for column, fld in zip(table.columns, table.schema, strict=True):
        columns.append(_column_as_text(column, fld.type))
    return pa.table(columns, names=table.column_names)


def _column_as_text(column: pa.ChunkedArray, typ: pa.DataType) -> pa.ChunkedArray:
    if pa.types.is_string(typ):
        return column
    if pa.types.is_large_string(typ) or pa.types.is_string_view(typ):
        return column.cast(pa.string())
    if pa.types.is_dictionary(typ):
        return _column_as_text(column.cast(typ.value_type), typ.value_type)
    if pa.types.is_null(typ):
        return pa.chunked_array([pa.nulls(len(column), pa.string())])
    if (
        pa.types.is_list(typ)
        or pa.types.is_large_list(typ)
        or pa.types.is_fixed_size_list(typ)
        or pa.types.is_map(typ)
    ):
        values = [None if v is None else join_multivalue(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(values, pa.string())])
    if pa.types.is_boolean(typ):
        return pc.if_else(column, "true", "false").cast(pa.string())
    try:
        return column.cast(pa.string())
    except (pa.ArrowNotImplementedError, pa.ArrowInvalid):
        values = [scalar_text(v) for v in column.to_pylist()]
        return pa.chunked_array([pa.array(values, pa.string())])


def table_to_frame(table: pa.Table) -> pd.DataFrame:
    """Convert an all-text table to pandas with ``string[pyarrow]`` columns."""
    mapper = {
        pa.string(): TEXT_DTYPE,
        pa.large_string(): TEXT_DTYPE,
    }.get
    frame = table.to_pandas(types_mapper=mapper)
    for name in frame.columns:
        if frame[name].dtype != TEXT_DTYPE:
            frame[name] = frame[name].astype(TEXT_DTYPE)
    return frame


def unique_names(names: list[str], file: str) -> tuple[list[str], str | None]:
    """Make column names unique and non-empty, as pandas would.

    Returns the names and a warning sentence when any had to change.
    """
    out: list[str] = []
    used: set[str] = set()
    changed = []
    for position, name in enumerate(names, start=1):
        new = name if name != "" else f"column_{position}"
        base, n = new, 1
        while new in used:
            new = f"{base}.{n}"
            n += 1
        if new != name:
            changed.append(f"{name!r} -> {new!r}")
        used.add(new)
        out.append(new)
    warning = None
    if changed:
        warning = (
            f"{file}: {len(changed)} column name(s) were empty or repeated and "
            f"were renamed: {', '.join(changed[:5])}"
            + (" ..." if len(changed) > 5 else "")
            + "."
        )
    return out, warning
