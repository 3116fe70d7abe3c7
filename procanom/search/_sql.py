"""Compile a :class:`Query` to a DuckDB ``WHERE`` clause.

The clause is assembled only from fixed SQL fragments written here and from
column names the caller listed, each quoted as an identifier. Everything
that comes from the query text (values, wildcard patterns, free text) is a
``?`` parameter, so no search can change the statement's shape.

On columns the caller names as ``folded``, a wildcard is tested as
``lower(column) LIKE pattern`` (see :func:`wildcard_like`), which DuckDB
evaluates once per distinct value of a dictionary-compressed column; where
the LIKE pattern cannot be exact it only narrows the events the regex then
checks, so both forms select the same events.

Each leaf is wrapped in ``COALESCE(..., FALSE)`` so a NULL never reaches the
boolean algebra: SQL's three-valued logic would otherwise make
``NOT field=x`` drop events where the field is missing, which the pandas
evaluator keeps.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Sequence

from procanom.errors import ParameterError
from procanom.search._ast import And, Compare, MatchAll, Node, Not, Or, Query, Term
from procanom.search._parser import parse_query
from procanom.search._patterns import (
    NUMBER_REGEX,
    is_number,
    wildcard_like,
    wildcard_regex,
)

__all__ = ["compile_sql", "quote_identifier"]

logger = logging.getLogger(__name__)

# The SQL spelling of each ordering operator: a lookup, so only these fixed
# strings can ever be placed in the clause.
_ORDERING = {"<": "<", "<=": "<=", ">": ">", ">=": ">="}


def quote_identifier(name: str) -> str:
    """Quote a column name as a DuckDB identifier (``"`` doubled inside)."""
    return '"' + name.replace('"', '""') + '"'


class _SqlCompiler:
    def __init__(self, columns: Sequence[str], folded: frozenset[str]) -> None:
        self.columns = list(dict.fromkeys(columns))
        self.known = set(self.columns)
        self.folded = folded
        self.params: list[object] = []

    def param(self, value: object) -> str:
        self.params.append(value)
        return "?"

    @staticmethod
    def text(name: str) -> str:
        # Columns of other types are searched through their text rendering,
        # as the pandas evaluator does.
        return f"CAST({quote_identifier(name)} AS VARCHAR)"

    def compile(self, node: Node) -> str:
        if isinstance(node, MatchAll):
            return "TRUE"
        if isinstance(node, Term):
            return self._term(node)
        if isinstance(node, Compare):
            return self._compare(node)
        if isinstance(node, Not):
            return f"(NOT {self.compile(node.child)})"
        assert isinstance(node, And | Or)
        joiner = " AND " if isinstance(node, And) else " OR "
        return "(" + joiner.join(self.compile(child) for child in node.children) + ")"

    def _regex(self, name: str, pattern: str) -> str:
        return (
            f"COALESCE(regexp_matches({self.text(name)}, {self.param(pattern)}), FALSE)"
        )

    def _wildcard(self, name: str, value: str, *, whole: bool) -> str:
        regex = wildcard_regex(value, whole=whole)
        if name not in self.folded:
            return self._regex(name, regex)
        like, exact = wildcard_like(value, whole=whole)
        lowered = f"COALESCE(lower({self.text(name)}) LIKE {self.param(like)}, FALSE)"
        if exact:
            return lowered
        # A top-level AND, not one inside COALESCE: DuckDB then runs the
        # regex only on the events the LIKE kept.
        return f"({lowered} AND {self._regex(name, regex)})"

    def _present(self, name: str) -> str:
        column = self.text(name)
        return f"COALESCE({column} <> '', FALSE)"

    def _term(self, node: Term) -> str:
        if not self.columns:
            return "FALSE"
        return (
            "("
            + " OR ".join(
                self._wildcard(name, node.text, whole=False) for name in self.columns
            )
            + ")"
        )

    def _compare(self, node: Compare) -> str:
        if node.field not in self.known:
            return "FALSE"
        present = self._present(node.field)

        if node.op in ("=", "!="):
            if node.value == "":
                matched = f"(NOT {present})"
            elif node.value.strip("*") == "":
                matched = present
            else:
                matched = self._wildcard(node.field, node.value, whole=True)
            if node.op == "=":
                return matched
            return f"({present} AND NOT {matched})"

        column = self.text(node.field)
        op = _ORDERING[node.op]
        if not is_number(node.value):
            by_text = f"lower({column}) {op} lower({self.param(node.value)})"
            return f"({present} AND COALESCE({by_text}, FALSE))"

        # Placeholders are numbered by position, so the fragments are built
        # in the order they appear in the clause.
        is_numeric = f"regexp_matches({column}, {self.param(NUMBER_REGEX)})"
        by_number = f"TRY_CAST({column} AS DOUBLE) {op} {self.param(float(node.value))}"
        by_text = f"lower({column}) {op} lower({self.param(node.value)})"
        return (
            f"({present} AND COALESCE(CASE WHEN {is_numeric} THEN {by_number} "
            f"ELSE {by_text} END, FALSE))"
        )


def compile_sql(
    query: str | Query,
    columns: Sequence[str],
    *,
    folded: Collection[str] = (),
) -> tuple[str, list]:
    """Compile a search into a DuckDB ``WHERE`` condition with parameters.

    Parameters
    ----------
    query : str or Query
        The search, as typed or already parsed.
    columns : sequence of str
        The table's columns. Free text searches all of them; a field the
        query names that is not listed matches nothing (``FALSE``), exactly
        as a missing column does in :func:`filter_events`.
    folded : collection of str, optional
        Columns cheap to lower-case on the fly (few distinct values, or
        short ones): their wildcards are tested with ``lower(...) LIKE``
        rather than a regex on every event. The events selected are the
        same either way; only the speed differs.

    Returns
    -------
    sql : str
        A boolean SQL expression with ``?`` placeholders (``TRUE`` for an
        empty search), to follow ``WHERE``.
    params : list
        The values for the placeholders, in order.

    Raises
    ------
    QueryError
        If ``query`` is text that does not parse.
    ParameterError
        If ``columns`` or ``folded`` is not a collection of strings.

    Examples
    --------
    >>> sql, params = compile_sql("Name=cmd*", ["Name", "CommandLine"])
    >>> sql
    'COALESCE(regexp_matches(CAST("Name" AS VARCHAR), ?), FALSE)'
    >>> params
    ['(?is)^cmd']
    """
    if isinstance(columns, str) or not all(isinstance(c, str) for c in columns):
        raise ParameterError("columns", "a sequence of column names", columns)
    if isinstance(folded, str) or not all(isinstance(c, str) for c in folded):
        raise ParameterError("folded", "a collection of column names", folded)
    parsed = query if isinstance(query, Query) else parse_query(query)

    compiler = _SqlCompiler(columns, frozenset(folded))
    sql = compiler.compile(parsed.root)
    logger.debug(
        "compiled search %r to %s with %d parameters",
        parsed.text,
        sql,
        len(compiler.params),
    )
    return sql, compiler.params
