"""Searching, counting, profiling and scoring a dataset inside DuckDB.

Every statement is put together from fixed SQL written here, stored column
names the library chose itself (``c0``, ``o1``...), the dataset's column
names quoted as identifiers, and the ``WHERE`` condition that
:func:`procanom.search.compile_sql` builds, whose values are all ``?``
parameters. Nothing typed into the search bar is ever pasted into SQL.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa

from procanom.errors import ParameterError
from procanom.experiment import ExperimentSettings
from procanom.library._catalogue import DatasetInfo, Layout
from procanom.library._connect import query_arrow
from procanom.library._templates import TEMPLATED_KINDS
from procanom.normalize import KnownTemplates
from procanom.profile import is_internal_field, is_label_field
from procanom.scoring import (
    BaseDetector,
    ConditionalDetector,
    DetectionResult,
    make_detector,
)
from procanom.scoring.roles import field_roles, template_kind
from procanom.scoring.tree import _HOST_COLUMNS, _TIME_COLUMNS, GUID_LINK, PID_LINK
from procanom.search import (
    Query,
    TimeRange,
    compile_sql,
    parse_query,
    quote_identifier,
    resolve_time_range,
)
from procanom.search._ast import And, Compare, Node, Not, Or

__all__ = ["DatasetView", "folded_columns"]

logger = logging.getLogger(__name__)

TEXT = pd.StringDtype("pyarrow")

#: Columns a method may read beside the fields it scores: the process-tree
#: links, and the host and time that tell reused process ids apart.
_LINK_COLUMNS = (*GUID_LINK, *PID_LINK, *_HOST_COLUMNS, *_TIME_COLUMNS)

# The pattern procanom.profile uses for PowerShell type-name placeholders,
# spelled for RE2; tests compare both profiles on real data.
_TYPE_PLACEHOLDER = r"System\.[A-Za-z0-9_.]+(\[\])?"
_PLACEHOLDER_HEAD = 200
_PROFILE_BATCH = 24  # columns whose distinct values one statement counts


def _text_series(column: pa.ChunkedArray, index: pd.Index) -> pd.Series:
    # DuckDB's chunks are kept as they are: joining a million strings into
    # one buffer costs more than anything read later saves
    # (procanom.scoring._encode encodes chunk by chunk).
    if not pa.types.is_large_string(column.type):
        column = column.cast(pa.large_string())
    return pd.Series(pd.arrays.ArrowStringArray(column), index=index, copy=False)


def _in_file_order(table: pa.Table) -> pa.Table:
    """``table`` sorted on its first column, the row number, if it is not.

    A scan and filter keep the file's order in DuckDB (its
    ``preserve_insertion_order``), which spares sorting a million rows of
    text; checking it costs one pass over the row numbers.
    """
    rows = table.column(0).to_numpy()
    if len(rows) < 2 or bool(np.all(rows[1:] > rows[:-1])):
        return table
    return table.take(pa.array(np.argsort(rows, kind="stable")))


@dataclass
class _Selection:
    """A ``WHERE`` condition over the view, with its parameters."""

    sql: str
    params: list


# Events sampled, and the limits past which a column counts as long free
# text (many distinct values, long ones) that is cheaper to search with a
# regex than to lower-case on the fly.
_FOLD_SAMPLE = 50_000
_FOLD_MAX_DISTINCT_SHARE = 0.2
_FOLD_MAX_MEAN_LENGTH = 40


def folded_columns(cursor: duckdb.DuckDBPyConnection, stored: list[str]) -> frozenset:
    """Return the stored columns cheap to lower-case on the fly in searches.

    DuckDB runs ``lower()`` and ``LIKE`` once per distinct value of a
    dictionary-compressed column, so a column with few distinct values, or
    short values, is searched fastest through them; a column of long, mostly
    distinct text (command lines) is searched fastest by a regex. Judged on
    the first events of the file.
    """
    if not stored:
        return frozenset()
    columns = ", ".join(quote_identifier(c) for c in stored)
    measures = ", ".join(
        f"approx_count_distinct({q}), avg(strlen(CAST({q} AS VARCHAR)))"
        for q in (quote_identifier(c) for c in stored)
    )
    row = cursor.execute(
        f"SELECT count(*), {measures} FROM (SELECT {columns} FROM events LIMIT ?)",
        [_FOLD_SAMPLE],
    ).fetchall()[0]
    sampled = row[0]
    folded = set()
    for i, name in enumerate(stored):
        distinct, length = row[1 + 2 * i], row[2 + 2 * i]
        if (
            not sampled
            or distinct <= _FOLD_MAX_DISTINCT_SHARE * sampled
            or (length or 0) <= _FOLD_MAX_MEAN_LENGTH
        ):
            folded.add(name)
    return frozenset(folded)


class DatasetView:
    """One dataset's events, as SQL over its file, with the columns people see.

    Parameters
    ----------
    cursor : duckdb.DuckDBPyConnection
        A read-only cursor on the dataset's file.
    info : DatasetInfo
    layout : Layout
    folded : frozenset of str, optional
        Stored columns searched through ``lower()`` (see
        :func:`folded_columns`); the others through a regex.
    """

    def __init__(
        self,
        cursor: duckdb.DuckDBPyConnection,
        info: DatasetInfo,
        layout: Layout,
        folded: frozenset = frozenset(),
    ) -> None:
        self.cursor = cursor
        self.info = info
        self.layout = layout
        self.folded = folded
        self.names = layout.names
        # Statements name the stored columns (c0, o1, r2...), never the
        # dataset's own names: DuckDB matches identifiers regardless of
        # case, so "ProcessId" and "ProcessID" would be one column to it.
        self.stored = {
            name: quote_identifier(stored) for name, stored in layout.visible
        }
        self.source = "events"
        self.row = "_row"

    # -- selection --------------------------------------------------------------

    def where(
        self,
        query: str,
        time_range: TimeRange | dict | None,
        now: pd.Timestamp | None = None,
    ) -> _Selection:
        """Compile a search and a time range into a condition over the view.

        Raises
        ------
        QueryError
            If the search does not parse; the error carries the position.
        """
        parsed = parse_query(query or "")
        renamed = Query(
            _rename_fields(parsed.root, dict(self.layout.visible)), parsed.text
        )
        stored = [stored for _, stored in self.layout.visible]
        sql, params = compile_sql(renamed, stored, folded=self.folded)
        if isinstance(time_range, dict):
            time_range = TimeRange.from_dict(time_range)
        if time_range is None or time_range.preset == "all":
            return _Selection(sql, list(params))
        if "_time" not in self.names:
            logger.info(
                "time range %s not applied: the dataset has no '_time' field",
                time_range.preset,
            )
            return _Selection(sql, list(params))

        latest = None
        if self.info.time_max is not None:
            latest = pd.Timestamp(self.info.time_max)
        earliest, latest_bound = resolve_time_range(time_range, latest, now)
        column = f"TRY_CAST({self.stored['_time']} AS TIMESTAMPTZ)"
        conditions = [f"({sql})", f"{column} IS NOT NULL"]
        params = list(params)
        if earliest is not None:
            conditions.append(f"{column} >= ?")
            params.append(earliest.to_pydatetime())
        if latest_bound is not None:
            conditions.append(f"{column} <= ?")
            params.append(latest_bound.to_pydatetime())
        return _Selection(" AND ".join(conditions), params)

    def _check_columns(self, columns: list[str] | None, what: str) -> list[str]:
        if columns is None:
            return list(self.names)
        if isinstance(columns, str):
            columns = [columns]
        unknown = [c for c in columns if c not in self.names]
        if unknown:
            shown = ", ".join(self.names[:20])
            raise ParameterError(
                what, f"columns of the dataset (it has: {shown})", unknown
            )
        return list(columns)

    # -- search -------------------------------------------------------------------

    def search(
        self,
        selection: _Selection,
        columns: list[str] | None,
        limit: int | None,
        offset: int,
    ) -> pd.DataFrame:
        """Return the matching events in file order, indexed by row number."""
        columns = self._check_columns(columns, "columns")
        if limit is not None and (not isinstance(limit, int) or limit < 0):
            raise ParameterError("limit", "a count of 0 or more, or None", limit)
        if not isinstance(offset, int) or offset < 0:
            raise ParameterError("offset", "a count of 0 or more", offset)

        select = ", ".join([self.row, *(self.stored[c] for c in columns)])
        sql = f"SELECT {select} FROM {self.source} WHERE {selection.sql}"
        params = list(selection.params)
        whole = limit is None and offset == 0
        if not whole:
            sql += f" ORDER BY {self.row}"
            if limit is not None:
                sql += " LIMIT ?"
                params.append(limit)
            sql += " OFFSET ?"
            params.append(offset)
        table = query_arrow(self.cursor, sql, params)
        if whole:
            table = _in_file_order(table)
        index = pd.Index(table.column(0).to_numpy(), dtype=np.int64)
        return pd.DataFrame(
            {
                name: _text_series(table.column(i + 1), index)
                for i, name in enumerate(columns)
            },
            index=index,
        )

    def count(self, selection: _Selection) -> int:
        """Return how many events match."""
        return self.cursor.execute(
            f"SELECT count(*) FROM {self.source} WHERE {selection.sql}",
            selection.params,
        ).fetchone()[0]

    # -- profile ------------------------------------------------------------------

    def profile(self, selection: _Selection, top: int) -> pd.DataFrame:
        """Describe every column of the matching events, as profile_fields does."""
        from procanom.profile import _role

        names = self.names
        quoted = [self.stored[n] for n in names]
        total = self.count(selection)
        row = [total]
        # Each distinct count holds a hash table per thread: a few hundred of
        # them in one statement (wide JSON exports have that many columns)
        # run out of DuckDB's memory budget, so they are counted in batches.
        for start in range(0, len(quoted), _PROFILE_BATCH):
            parts = []
            for q in quoted[start : start + _PROFILE_BATCH]:
                parts.append(f"count(*) FILTER (WHERE length({q}) > 0)")
                parts.append(f"count(DISTINCT {q}) FILTER (WHERE length({q}) > 0)")
            row.extend(
                self.cursor.execute(
                    f"SELECT {', '.join(parts)} FROM {self.source} "
                    f"WHERE {selection.sql}",
                    selection.params,
                ).fetchone()
            )

        rows = []
        for i, (name, q) in enumerate(zip(names, quoted, strict=True)):
            present, distinct = row[1 + 2 * i], row[2 + 2 * i]
            placeholder = False
            if distinct:
                placeholder = bool(
                    self.cursor.execute(
                        f"SELECT bool_and(regexp_full_match({q}, ?)) FROM "
                        f"(SELECT {q} FROM {self.source} WHERE ({selection.sql}) "
                        f"AND length({q}) > 0 ORDER BY {self.row} LIMIT ?)",
                        [_TYPE_PLACEHOLDER, *selection.params, _PLACEHOLDER_HEAD],
                    ).fetchone()[0]
                )
            role = _role(name, present, distinct, placeholder)
            label = is_label_field(name)
            entry = {
                "field": name,
                "present": present,
                "present_pct": 100.0 * present / total if total else 0.0,
                "empty_pct": 100.0 * (total - present) / total if total else 0.0,
                "distinct": distinct,
                "role": role,
                "internal": is_internal_field(name),
                "label": label,
                "offer": not label,
                "note": _note(label, role, present, distinct),
            }
            if top:
                counts = self.cursor.execute(
                    f"SELECT {q}, count(*) AS n, min({self.row}) AS first "
                    f"FROM {self.source} WHERE ({selection.sql}) AND length({q}) > 0 "
                    "GROUP BY 1 ORDER BY n DESC, first LIMIT ?",
                    [*selection.params, top],
                ).fetchall()
                entry["top_values"] = [(str(v), int(n)) for v, n, _ in counts]
            rows.append(entry)
        return pd.DataFrame(rows)

    def value_counts(
        self, field: str, selection: _Selection, limit: int
    ) -> pd.DataFrame:
        """Count each value of ``field`` among the matching events."""
        self._check_columns([field], "field")
        if not isinstance(limit, int) or limit < 1:
            raise ParameterError("limit", "a count of 1 or more", limit)
        q = self.stored[field]
        total = self.count(selection)
        rows = self.cursor.execute(
            f"SELECT COALESCE({q}, '') AS value, count(*) AS n, "
            f"min({self.row}) AS first FROM {self.source} WHERE {selection.sql} "
            "GROUP BY 1 ORDER BY n DESC, first LIMIT ?",
            [*selection.params, limit],
        ).fetchall()
        frame = pd.DataFrame(
            {
                "value": pd.array([r[0] for r in rows], dtype=TEXT),
                "count": np.array([r[1] for r in rows], dtype=np.int64),
            }
        )
        frame["percent"] = 100.0 * frame["count"] / total if total else 0.0
        return frame

    # -- scoring ------------------------------------------------------------------

    def score(
        self,
        selection: _Selection,
        settings: ExperimentSettings,
        templates: Callable[[str, str], KnownTemplates] | None = None,
    ) -> DetectionResult:
        """Score the matching events with the settings' method and fields.

        ``templates(stored column, kind)`` returns a column's kept templates
        (:mod:`procanom.library._templates`); a method that compares
        templates then looks its values up in them instead of making them.
        """
        started = time.perf_counter()
        fields = list(settings.fields)
        if not fields:
            raise ParameterError("fields", "at least one field to analyse", [])
        if len(set(fields)) != len(fields):
            raise ParameterError("fields", "distinct field names", fields)
        missing = [f for f in fields if f not in self.names]
        if missing:
            available = ", ".join(self.names[:20])
            raise ParameterError(
                "fields", f"names of columns in the data (it has: {available})", missing
            )
        params = settings.method_params()
        # Unknown parameters are refused exactly as the in-memory path does.
        detector = make_detector(settings.method, fields=fields, **params)

        # The selected fields come out of DuckDB as Arrow-backed text and are
        # scored by the method itself, so every path gives the same bits.
        # The conditional method also links events to their parent's event:
        # without the link columns it would score without lineage.
        links = [c for c in self.names if c in _LINK_COLUMNS and c not in fields]
        frame = self.search(selection, fields + links, None, 0)
        kinds = {} if templates is None else _template_kinds(detector)
        if kinds:
            detector.use_templates(
                {f: templates(self.layout.stored(f), k) for f, k in kinds.items()}
            )
        fetched = time.perf_counter() - started
        result = detector.fit_score(frame)
        result.seconds = time.perf_counter() - started
        logger.info(
            "%s scored %d events on %s: %d outliers (%s) in %.3f s "
            "(%.3f s reading them)",
            settings.method,
            result.num_events,
            ", ".join(fields),
            result.num_outliers,
            result.threshold.describe(),
            result.seconds,
            fetched,
        )
        return result


def _template_kinds(detector: BaseDetector) -> dict[str, str]:
    """The fields whose kept templates ``detector`` would use, with their kind."""
    if not isinstance(detector, ConditionalDetector) or not detector.normalize:
        return {}
    fields = list(detector.fields)
    roles = field_roles(fields, detector.roles)
    kinds = {f: template_kind(roles[f]) for f in fields}
    return {f: kind for f, kind in kinds.items() if kind in TEMPLATED_KINDS}


def _note(label: bool, role: str, present: int, distinct: int) -> str:
    # Same sentences as procanom.profile.profile_fields.
    if label:
        return "Ground-truth label: never analysed."
    if role == "near-unique text":
        share = distinct / present
        return (
            f"{share:.0%} of its values are distinct: every event will look"
            " rare on it and it will drown the other fields."
        )
    if role == "empty":
        return "Empty in every event (the source may not record it)."
    if role in {"constant", "type name placeholder"}:
        return "Holds no information (one value, or a type name)."
    return ""


# A name no stored column can have (they are a letter and digits), for fields
# the dataset lacks: compile_sql then matches nothing, as filter_events does.
_MISSING_FIELD = "\x00missing"


def _rename_fields(node: Node, stored: dict[str, str]) -> Node:
    """Return the tree with each compared field named by its stored column."""
    if isinstance(node, Compare):
        return Compare(stored.get(node.field, _MISSING_FIELD), node.op, node.value)
    if isinstance(node, Not):
        return Not(_rename_fields(node.child, stored))
    if isinstance(node, And | Or):
        return type(node)(tuple(_rename_fields(c, stored) for c in node.children))
    return node
