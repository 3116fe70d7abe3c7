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

__all__ = ["EMPTY_VALUE", "EncodedColumn", "encode_column", "as_text_array"]

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

    if isinstance(arrow, pa.ChunkedArray):
        arrow = arrow.chunk(0) if arrow.num_chunks == 1 else arrow.combine_chunks()
    if not (pa.types.is_string(arrow.type) or pa.types.is_large_string(arrow.type)):
        arrow = pc.cast(arrow, pa.string())
    if arrow.null_count:
        arrow = pc.fill_null(arrow, "")
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
    text = as_text_array(column)
    encoded = pc.dictionary_encode(text)
    codes = encoded.indices.to_numpy(zero_copy_only=False).astype(np.int64, copy=False)
    values = encoded.dictionary
    counts = np.bincount(codes, minlength=len(values)).astype(np.int64, copy=False)
    return EncodedColumn(codes=codes, values=values, counts=counts)
