"""Turning event columns into integer codes, fast.

Scoring is counting: every method needs, per field, an integer code for each
event's value and the number of events holding each value. This module is
the one place that turns a column of text (Arrow-backed strings, Python
objects, lists from JSON, numbers) into those codes, so every method agrees
on what "the same value" means.

Value rules, shared by every method:

- Missing (``None``, ``NaN``, ``<NA>``) and the empty string are one value,
  the empty value. It is counted like any other value: an event is never
  dropped for a missing field, and a field that is empty on a few events
  makes those events rare on that field.
- A multivalue value (a Python list or tuple, as JSON exports carry) is one
  value: its distinct items sorted and joined with a line break, the same
  form the readers give Splunk's multivalue cells.
- Values are compared exactly as written (case and spacing included), as
  Splunk does. Normalisation of paths and command lines is a separate step.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

__all__ = [
    "EMPTY_VALUE",
    "EncodedColumn",
    "as_text_array",
    "encode_column",
    "text_chunks",
]

#: How the empty value is shown to people (tables, explanations).
EMPTY_VALUE = ""


@dataclass(frozen=True)
class EncodedColumn:
    """A column as integer codes into its distinct values.

    Attributes
    ----------
    codes : numpy.ndarray
        ``int64`` code of each event's value, ``0 <= code < len(values)``.
    values : pyarrow.Array
        The distinct values as text, in first-seen order. The empty value is
        ``""``.
    counts : numpy.ndarray
        ``int64`` number of events holding each distinct value.
    """

    codes: np.ndarray
    values: pa.Array
    counts: np.ndarray


def _join_multivalue(item: object) -> object:
    if isinstance(item, list | tuple | set | np.ndarray):
        return "\n".join(sorted({str(v) for v in item if v is not None}))
    return item


def _is_arrow_text(dtype: object) -> bool:
    if isinstance(dtype, pd.StringDtype):
        return dtype.storage == "pyarrow"
    if isinstance(dtype, pd.ArrowDtype):
        arrow_type = dtype.pyarrow_dtype
        return pa.types.is_string(arrow_type) or pa.types.is_large_string(arrow_type)
    return False


def as_text_array(column: pd.Series | pa.Array | pa.ChunkedArray) -> pa.Array:
    """Return ``column`` as one Arrow string array with the empty value for gaps.

    Parameters
    ----------
    column : pandas.Series or pyarrow array
        Any column of event values.

    Returns
    -------
    pyarrow.Array
        ``large_string`` or ``string`` values, no nulls; missing and empty
        values are ``""``, lists are joined as described in the module notes.
    """
    text = _as_text(column)
    if isinstance(text, pa.ChunkedArray):
        text = text.chunk(0) if text.num_chunks == 1 else text.combine_chunks()
    return text


def _as_text(
    column: pd.Series | pa.Array | pa.ChunkedArray,
) -> pa.Array | pa.ChunkedArray:
    """:func:`as_text_array` with the chunks of a chunked column left apart."""
    arrow = text_chunks(column)
    if arrow.null_count:
        arrow = pc.fill_null(arrow, "")
    return arrow


def text_chunks(
    column: pd.Series | pa.Array | pa.ChunkedArray,
) -> pa.Array | pa.ChunkedArray:
    """Return ``column`` as Arrow text, as chunked as it is, gaps left null.

    Parameters
    ----------
    column : pandas.Series or pyarrow array
        Any column of event values.

    Returns
    -------
    pyarrow.Array or pyarrow.ChunkedArray
        ``large_string`` or ``string`` values; lists are joined as described
        in the module notes, missing values are null.
    """
    if isinstance(column, pd.Series):
        if _is_arrow_text(column.dtype):
            arrow = pa.array(column.array)  # Arrow-backed: no copy of the text
        else:
            values = column.to_numpy(dtype=object, na_value=None)
            if column.dtype == object:
                values = [_join_multivalue(v) for v in values]
            arrow = pa.array(
                [None if v is None else str(v) for v in values], type=pa.string()
            )
    else:
        arrow = column
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        arrow = pc.cast(arrow, pa.string())
    return arrow


def encode_column(column: pd.Series | pa.Array | pa.ChunkedArray) -> EncodedColumn:
    """Encode one column of event values as codes, distinct values and counts.

    Parameters
    ----------
    column : pandas.Series or pyarrow array
        The values of one field for every event.

    Returns
    -------
    EncodedColumn
    """
    text = _as_text(column)
    encoded = pc.dictionary_encode(text)
    if isinstance(encoded, pa.ChunkedArray):
        codes, values = _chunked_codes(encoded, text)
    else:
        codes = encoded.indices.to_numpy(zero_copy_only=False)
        values = encoded.dictionary
    codes = codes.astype(np.int64, copy=False)
    counts = np.bincount(codes, minlength=len(values)).astype(np.int64, copy=False)
    return EncodedColumn(codes=codes, values=values, counts=counts)


def _chunked_codes(
    encoded: pa.ChunkedArray, text: pa.ChunkedArray
) -> tuple[np.ndarray, pa.Array]:
    """Codes and values of a column encoded chunk by chunk.

    Encoding the chunks as they come spares joining a column of a million
    strings into one buffer first. Arrow encodes them with one hash table,
    so every chunk's dictionary is the last one's, in first-seen order over
    the whole column; should a chunk's differ, the column is joined and
    encoded again.
    """
    if encoded.num_chunks == 0:
        return np.zeros(0, np.int64), pa.array([], text.type)
    values = encoded.chunk(encoded.num_chunks - 1).dictionary
    if all(_same_array(chunk.dictionary, values) for chunk in encoded.chunks):
        codes = np.concatenate(
            [c.indices.to_numpy(zero_copy_only=False) for c in encoded.chunks]
        )
        return codes, values
    whole = pc.dictionary_encode(text.combine_chunks())
    return whole.indices.to_numpy(zero_copy_only=False), whole.dictionary


def _same_array(a: pa.Array, b: pa.Array) -> bool:
    # The same buffers (no need to compare a million strings), else equal.
    same = [x.address if x else None for x in a.buffers()] == [
        x.address if x else None for x in b.buffers()
    ]
    return (same and len(a) == len(b) and a.offset == b.offset) or a.equals(b)
