"""Evaluate a :class:`Query` on a pandas DataFrame, column at a time.

Every leaf runs one pyarrow compute kernel over a whole column (RE2 regex
match, comparison, cast), and the boolean algebra runs on numpy arrays, so
the cost grows with columns times rows with no Python work per row.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.errors import ParameterError, QueryError
from procanom.search._ast import And, Compare, MatchAll, Node, Not, Query, Term
from procanom.search._parser import parse_query
from procanom.search._patterns import NUMBER_REGEX, is_number, wildcard_regex
from procanom.search._time import TimeRange, parse_event_times, resolve_time_range

__all__ = ["filter_events"]

logger = logging.getLogger(__name__)

_ORDERING: dict[str, Callable[..., pa.ChunkedArray]] = {
    "<": pc.less,
    "<=": pc.less_equal,
    ">": pc.greater,
    ">=": pc.greater_equal,
}


def _as_query(query: str | Query) -> Query:
    if isinstance(query, Query):
        return query
    return parse_query(query)


def _to_numpy(values: pa.Array | pa.ChunkedArray) -> np.ndarray:
    """Booleans from a kernel, with null (a missing value) read as no match."""
    return pc.fill_null(values, False).to_numpy(zero_copy_only=False).astype(bool)


# Columns whose first rows repeat a lot (names, users, hosts) are evaluated
# once per distinct value and the answers spread back over the rows. Mostly
# unique text such as command lines is matched directly, because encoding it
# would cost more than it saves.
_SAMPLE_ROWS = 20_000
_REPEAT_RATIO = 0.05


class _Column:
    """One column as Arrow text, dictionary-encoded when that pays off."""

    def __init__(self, values: pa.Array) -> None:
        self.values = values
        self.indices: pa.Array | None = None
        sample = values.slice(0, _SAMPLE_ROWS)
        if len(values) > _SAMPLE_ROWS and (
            pc.count_distinct(sample).as_py() <= _REPEAT_RATIO * len(sample)
        ):
            encoded = pc.dictionary_encode(values)
            self.values, self.indices = encoded.dictionary, encoded.indices

    def apply(self, kernel: Callable[[pa.Array], pa.Array]) -> np.ndarray:
        """Run an elementwise kernel and return one boolean per row."""
        result = kernel(self.values)
        if self.indices is not None:
            result = pc.take(result, self.indices)
        return _to_numpy(result)


class _FrameEvaluator:
    """Walks the tree once for one frame, caching each column as Arrow text."""

    def __init__(self, frame: pd.DataFrame, query: Query) -> None:
        self.frame = frame
        self.query = query
        self.n = len(frame)
        self._columns: dict[str, _Column] = {}
        self._present: dict[str, np.ndarray] = {}

    def column(self, name: str) -> _Column:
        """The column as Arrow strings; other dtypes are rendered as text."""
        if name not in self._columns:
            series = self.frame[name]
            if not (
                isinstance(series.dtype, pd.StringDtype)
                and series.dtype.storage == "pyarrow"
            ):
                series = series.astype(pd.StringDtype("pyarrow"))
            values = pa.array(series.array)
            if isinstance(values, pa.ChunkedArray):  # e.g. after pd.concat
                values = values.combine_chunks()
            self._columns[name] = _Column(values)
        return self._columns[name]

    def present(self, name: str) -> np.ndarray:
        """Events in which the field has a value (neither missing nor empty)."""
        if name not in self._present:
            self._present[name] = self.column(name).apply(
                lambda values: pc.not_equal(values, "")
            )
        return self._present[name]

    def regex(self, name: str, pattern: str) -> np.ndarray:
        try:
            return self.column(name).apply(
                lambda values: pc.match_substring_regex(values, pattern)
            )
        except pa.ArrowException as exc:  # RE2 refuses patterns past its memory budget
            raise QueryError(
                self.query.text, 0, f"a search value is too complex to match: {exc}"
            ) from exc

    # -- nodes -------------------------------------------------------------

    def evaluate(self, node: Node) -> np.ndarray:
        if isinstance(node, MatchAll):
            return np.ones(self.n, dtype=bool)
        if isinstance(node, Term):
            return self._term(node)
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, Not):
            return ~self.evaluate(node.child)
        combine = np.logical_and if isinstance(node, And) else np.logical_or
        first, *rest = node.children
        # A leaf may hand back a cached array, so combine into a fresh one.
        out = self.evaluate(first).copy()
        for child in rest:
            combine(out, self.evaluate(child), out=out)
        return out

    def _term(self, node: Term) -> np.ndarray:
        pattern = wildcard_regex(node.text, whole=False)
        out = np.zeros(self.n, dtype=bool)
        for name in self.frame.columns:
            out |= self.regex(name, pattern)
        return out

    def _compare(self, node: Compare) -> np.ndarray:
        # A field the data does not have matches nothing, whatever the operator.
        if node.field not in self.frame.columns:
            return np.zeros(self.n, dtype=bool)
        present = self.present(node.field)

        if node.op in ("=", "!="):
            if node.value == "":
                matched = ~present
            elif node.value.strip("*") == "":
                matched = present
            else:
                matched = self.regex(node.field, wildcard_regex(node.value, whole=True))
            # != is "has the field and it differs", never "lacks the field".
            return matched if node.op == "=" else present & ~matched

        return present & self._ordering(node)

    def _ordering(self, node: Compare) -> np.ndarray:
        op = _ORDERING[node.op]
        value = node.value
        numeric_literal = is_number(value)

        def compare(values: pa.Array) -> pa.Array:
            literal = pa.scalar(value, type=values.type)
            by_text = op(pc.utf8_lower(values), pc.utf8_lower(literal))
            if not numeric_literal:
                return by_text
            # Numbers compare as numbers only when both sides are numbers;
            # the other values keep the text comparison.
            numeric = pc.match_substring_regex(values, NUMBER_REGEX)
            numbers = pc.cast(
                pc.if_else(numeric, values, pa.scalar(None, type=values.type)),
                pa.float64(),
            )
            by_number = op(numbers, pa.scalar(float(value)))
            return pc.if_else(numeric, by_number, by_text)

        return self.column(node.field).apply(compare)


def filter_events(
    frame: pd.DataFrame,
    query: str | Query,
    time_range: TimeRange | None = None,
    *,
    time_field: str = "_time",
    now: pd.Timestamp | None = None,
) -> pd.Series:
    """Select the events a search and a time range match.

    Parameters
    ----------
    frame : pandas.DataFrame
        One event per row. Columns are expected as ``pd.StringDtype("pyarrow")``
        text; other dtypes are compared through their text rendering.
    query : str or Query
        The search, as typed or already parsed.
    time_range : TimeRange, optional
        The window to keep. ``None`` or the ``"all"`` preset keep every time.
    time_field : str, default "_time"
        The column holding each event's ISO-8601 time.
    now : pandas.Timestamp, optional
        The current time for ranges relative to now; the clock by default.

    Returns
    -------
    pandas.Series of bool
        Aligned with ``frame.index``; True for the events to keep.

    Raises
    ------
    QueryError
        If ``query`` is text that does not parse.

    Notes
    -----
    When ``time_field`` is absent the time range is not applied: the mask
    reflects the search alone and a message is logged, and the caller is
    expected to tell the user. Events whose time cannot be read are outside
    every range other than ``"all"``; their count is logged as a warning
    (:func:`parse_event_times` lets a caller count them too).
    """
    if not isinstance(frame, pd.DataFrame):
        raise ParameterError("frame", "a pandas DataFrame", type(frame).__name__)
    if not frame.columns.is_unique:
        duplicated = sorted({str(c) for c in frame.columns[frame.columns.duplicated()]})
        raise ParameterError(
            "frame", "a DataFrame with unique column names", duplicated
        )
    started = time.perf_counter()
    parsed = _as_query(query)

    mask = _FrameEvaluator(frame, parsed).evaluate(parsed.root)

    if time_range is not None and time_range.preset != "all":
        mask = mask & _time_mask(frame, time_range, time_field, now)

    logger.info(
        "search %r matched %d of %d events in %.3f s",
        parsed.describe(),
        int(mask.sum()),
        len(frame),
        time.perf_counter() - started,
    )
    return pd.Series(mask, index=frame.index, dtype=bool)


def _time_mask(
    frame: pd.DataFrame,
    time_range: TimeRange,
    time_field: str,
    now: pd.Timestamp | None,
) -> np.ndarray:
    """Events inside the resolved time range; everything when time is absent."""
    if time_field not in frame.columns:
        logger.info(
            "time range %s not applied: the data has no %r field",
            time_range.preset,
            time_field,
        )
        return np.ones(len(frame), dtype=bool)

    times = parse_event_times(frame[time_field])
    unreadable = int(times.isna().sum())
    if unreadable:
        logger.warning(
            "%d of %d events have no readable %r (ISO-8601 expected); they fall "
            "outside the %s time range",
            unreadable,
            len(frame),
            time_field,
            time_range.preset,
        )

    latest_event = times.max() if unreadable < len(times) else None
    earliest, latest = resolve_time_range(time_range, latest_event, now)
    keep = times.notna()
    if earliest is not None:
        keep &= times >= earliest
    if latest is not None:
        keep &= times <= latest
    return keep.to_numpy(dtype=bool)
