"""Count tables shared by the frequency methods, and their plain-data form.

A :class:`ValueTable` holds the distinct values of one field and how many
baseline events hold each; a :class:`PairTable` holds how many baseline
events hold each combination of two fields' values. Both look up the values
of another frame (the detection window), answer ``-1`` / zero for values the
baseline never saw, and convert to and from JSON-able dictionaries so a
fitted model can be saved without pickle.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.scoring._encode import EMPTY_VALUE, as_text_array, encode_column

__all__ = ["PairTable", "ValueTable", "encode_values"]


def encode_values(
    column: pd.Series | pa.Array,
) -> tuple[np.ndarray, pa.Array, np.ndarray]:
    """Return ``(codes, distinct values, counts)`` of a column (see _encode)."""
    encoded = encode_column(column)
    return encoded.codes, encoded.values, encoded.counts


@dataclass
class ValueTable:
    """Distinct values of one field in the baseline and their event counts.

    Attributes
    ----------
    values : pyarrow.Array
        Distinct values as text (``""`` is the empty value).
    counts : numpy.ndarray
        ``int64`` events per value.
    """

    values: pa.Array
    counts: np.ndarray

    @classmethod
    def from_codes(cls, codes: np.ndarray, values: pa.Array) -> ValueTable:
        counts = np.bincount(codes, minlength=len(values)).astype(np.int64)
        return cls(values, counts)

    @property
    def total(self) -> int:
        return int(self.counts.sum())

    def lookup(self, column: pd.Series | pa.Array) -> np.ndarray:
        """Return the code of each value of ``column``; ``-1`` if never seen."""
        if len(self.values) == 0:
            return np.full(len(column), -1, dtype=np.int64)
        text = column if isinstance(column, pa.Array) else as_text_array(column)
        found = pc.index_in(text, value_set=self.values)
        return pc.fill_null(found, -1).to_numpy(zero_copy_only=False).astype(np.int64)

    def empty_code(self) -> int:
        """Code of the empty value, or -1 when the baseline had none."""
        matches = np.flatnonzero(
            pc.equal(self.values, EMPTY_VALUE).to_numpy(zero_copy_only=False)
        )
        return int(matches[0]) if len(matches) else -1

    def to_dict(self) -> dict:
        return {
            "values": self.values.to_pylist(),
            "counts": self.counts.tolist(),
        }

    @classmethod
    def from_dict(cls, data: dict) -> ValueTable:
        return cls(
            pa.array(data["values"], type=pa.string()),
            np.asarray(data["counts"], dtype=np.int64),
        )


@dataclass
class PairTable:
    """Event counts of each (a, b) combination of two fields' value codes.

    Codes are those of the two fields' :class:`ValueTable`. Only
    combinations seen in the baseline are stored, sorted by their key
    ``a * width + b``.
    """

    width: int
    keys: np.ndarray
    counts: np.ndarray

    @classmethod
    def from_codes(cls, a: np.ndarray, b: np.ndarray, width: int) -> PairTable:
        return cls.counted(a, b, width)[0]

    @classmethod
    def counted(
        cls, a: np.ndarray, b: np.ndarray, width: int
    ) -> tuple[PairTable, np.ndarray]:
        """Count the combinations; also return each event's count.

        The second array is what :meth:`lookup` would return for the same
        codes, had while counting: scoring the events a table was fitted on
        then needs no lookup.
        """
        width = max(int(width), 1)
        keys = a.astype(np.int64) * width + b.astype(np.int64)
        if len(keys) == 0:
            empty = np.zeros(0, np.int64)
            return cls(width, empty, empty.copy()), empty.copy()
        # Hashing is faster than sorting a million keys; sort only the
        # distinct ones so lookups can use a binary search.
        inverse, distinct = pd.factorize(keys)
        counts = np.bincount(inverse, minlength=len(distinct)).astype(np.int64)
        order = np.argsort(distinct, kind="stable")
        table = cls(width, distinct[order].astype(np.int64), counts[order])
        return table, counts[inverse]

    def lookup(self, a: np.ndarray, b: np.ndarray) -> np.ndarray:
        """Return how many baseline events held each (a, b); 0 if unseen."""
        out = np.zeros(len(a), dtype=np.int64)
        if len(self.keys) == 0 or len(a) == 0:
            return out
        known = (a >= 0) & (b >= 0)
        keys = a[known].astype(np.int64) * self.width + b[known].astype(np.int64)
        pos = np.searchsorted(self.keys, keys)
        pos = np.minimum(pos, len(self.keys) - 1)
        hit = self.keys[pos] == keys
        found = np.where(hit, self.counts[pos], 0)
        out[known] = found
        return out

    def split(self) -> tuple[np.ndarray, np.ndarray]:
        """Return the (a, b) codes of each stored combination."""
        return self.keys // self.width, self.keys % self.width

    def to_dict(self) -> dict:
        a, b = self.split()
        return {"a": a.tolist(), "b": b.tolist(), "counts": self.counts.tolist()}

    @classmethod
    def from_dict(cls, data: dict, width: int) -> PairTable:
        a = np.asarray(data["a"], dtype=np.int64)
        b = np.asarray(data["b"], dtype=np.int64)
        width = max(int(width), 1)
        keys = a * width + b
        order = np.argsort(keys, kind="stable")
        return cls(width, keys[order], np.asarray(data["counts"], np.int64)[order])


_DECIMAL = r"^[-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?$"
_HEX = r"^0[xX][0-9a-fA-F]+$"


def as_numbers(column: pd.Series | pa.Array, hexadecimal: bool = False) -> np.ndarray:
    """Return a column's values as float64, NaN where a value is not a number.

    Numeric columns are taken as they are. Text is parsed by Arrow: decimal
    numbers (``12``, ``-1.5``, ``3e4``) and, with ``hexadecimal=True``,
    ``0x``-prefixed hexadecimal (process ids in Security 4688 events). Text
    that is neither (``n/a``, ``Services``) is NaN, never an error.

    Parameters
    ----------
    column : pandas.Series or pyarrow.Array
    hexadecimal : bool, default False

    Returns
    -------
    numpy.ndarray
    """
    if isinstance(column, pd.Series) and (
        pd.api.types.is_numeric_dtype(column.dtype)
        or pd.api.types.is_bool_dtype(column.dtype)
    ):
        return column.to_numpy(dtype=np.float64, na_value=np.nan)
    text = pc.utf8_trim_whitespace(
        column if isinstance(column, pa.Array) else as_text_array(column)
    )
    out = np.full(len(text), np.nan)
    decimal = pc.match_substring_regex(text, _DECIMAL)
    if pc.any(decimal).as_py():
        mask = decimal.to_numpy(zero_copy_only=False)
        out[mask] = pc.cast(text.filter(decimal), pa.float64()).to_numpy()
    if hexadecimal:
        is_hex = pc.match_substring_regex(text, _HEX)
        if pc.any(is_hex).as_py():
            # Few distinct ids; Python's int() reads each of them once.
            codes, values, _ = encode_values(text.filter(is_hex))
            parsed = np.array([float(int(v, 16)) for v in values.to_pylist()])
            out[is_hex.to_numpy(zero_copy_only=False)] = parsed[codes]
    return out
