"""The parsed form of a search: nodes, :class:`Query`, and its renderings.

A query is a tree of immutable nodes. Both evaluators (pandas in
``_frame.py``, DuckDB SQL in ``_sql.py``) walk the same tree, and the two
renderings below turn it back into text: :func:`describe_query` in this
package's own syntax, :func:`to_spl` as the argument of Splunk's ``search``
command.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field

__all__ = [
    "And",
    "Compare",
    "MatchAll",
    "Node",
    "Not",
    "Or",
    "Query",
    "Term",
    "render",
]

logger = logging.getLogger(__name__)

KEYWORDS = frozenset({"AND", "OR", "NOT"})
COMPARISON_OPERATORS = ("=", "!=", "<", "<=", ">", ">=")

# Characters a bare (unquoted) field name may hold, besides letters and digits.
NAME_PUNCTUATION = frozenset("_.-:")

# Characters that end or change a bare word, so a value holding one of them
# must be rendered in double quotes to read back the same.
_UNSAFE_BARE = frozenset("()\"'=<>!|[]`\\")


@dataclass(frozen=True)
class MatchAll:
    """Every event: the empty query, ``*``, or a free-text term of only ``*``."""


@dataclass(frozen=True)
class Term:
    """Free text that must occur somewhere in an event.

    Parameters
    ----------
    text : str
        The text, case-insensitive; every ``*`` is a wildcard.
    """

    text: str


@dataclass(frozen=True)
class Compare:
    """A field compared with a value: ``field=value``, ``field>=10`` and so on.

    Parameters
    ----------
    field : str
        The field name, case-sensitive, exactly as the column is named.
    op : str
        One of ``=``, ``!=``, ``<``, ``<=``, ``>``, ``>=``.
    value : str
        The value, matched case-insensitively. For ``=`` and ``!=`` every
        ``*`` is a wildcard; for the ordering operators it is a literal
        character.
    """

    field: str
    op: str
    value: str


@dataclass(frozen=True)
class Not:
    """Events the child does not match (including events missing its field)."""

    child: Node


@dataclass(frozen=True)
class And:
    """Events every child matches."""

    children: tuple[Node, ...]


@dataclass(frozen=True)
class Or:
    """Events at least one child matches."""

    children: tuple[Node, ...]


Node = MatchAll | Term | Compare | Not | And | Or


@dataclass(frozen=True)
class Query:
    """A parsed search.

    Build one with :func:`procanom.search.parse_query`. Two queries are
    equal when their trees are equal, whatever spacing or redundant
    parentheses the texts had.

    Parameters
    ----------
    root : Node
        The top of the tree.
    text : str
        The text the query was parsed from (not part of equality).
    """

    root: Node
    text: str = field(default="", compare=False)

    def fields(self) -> set[str]:
        """Return the field names the query compares, as written.

        Returns
        -------
        set of str
            Names from ``field=value`` style terms; free text names none.
        """
        names: set[str] = set()
        stack: list[Node] = [self.root]
        while stack:
            node = stack.pop()
            if isinstance(node, Compare):
                names.add(node.field)
            elif isinstance(node, Not):
                stack.append(node.child)
            elif isinstance(node, And | Or):
                stack.extend(node.children)
        return names

    @property
    def matches_everything(self) -> bool:
        """Whether the query is empty or ``*`` and so selects every event."""
        return isinstance(self.root, MatchAll)

    def describe(self) -> str:
        """Return the normalised text of the query; see :func:`describe_query`."""
        return render(self.root, spl=False)

    def to_spl(self) -> str:
        """Return the Splunk ``search`` text; see :func:`to_spl`."""
        return render(self.root, spl=True)

    def __str__(self) -> str:
        return self.describe()


def make_and(children: list[Node]) -> Node:
    """Join nodes with AND, flattening nested ANDs and dropping match-alls."""
    flat: list[Node] = []
    for child in children:
        if isinstance(child, And):
            flat.extend(child.children)
        elif not isinstance(child, MatchAll):
            flat.append(child)
    if not flat:
        return MatchAll()
    return flat[0] if len(flat) == 1 else And(tuple(flat))


def make_or(children: list[Node]) -> Node:
    """Join nodes with OR, flattening nested ORs; a match-all absorbs the rest."""
    flat: list[Node] = []
    for child in children:
        if isinstance(child, MatchAll):
            return MatchAll()
        if isinstance(child, Or):
            flat.extend(child.children)
        else:
            flat.append(child)
    return flat[0] if len(flat) == 1 else Or(tuple(flat))


def is_bare_name(name: str) -> bool:
    """Whether ``name`` can be written unquoted on the left of ``=``."""
    return (
        bool(name)
        and name not in KEYWORDS
        and all(ch.isalnum() or ch in NAME_PUNCTUATION for ch in name)
    )


def _is_bare_value(text: str) -> bool:
    return (
        bool(text)
        and text not in KEYWORDS
        and not any(
            ch in _UNSAFE_BARE or ch.isspace() or not ch.isprintable() for ch in text
        )
    )


def _quote(text: str, mark: str) -> str:
    escaped = text.replace("\\", "\\\\").replace(mark, "\\" + mark)
    return f"{mark}{escaped}{mark}"


def _render_name(name: str, spl: bool) -> str:
    if is_bare_name(name):
        return name
    # Classic SPL's search command reads a double-quoted name on the left of
    # an operator; our own syntax prefers single quotes, as SPL2 and eval do.
    return _quote(name, '"' if spl else "'")


def _render_value(value: str, op: str, spl: bool) -> str:
    # The normalised form always quotes the values of = and !=, so a reader
    # sees where each value starts and ends; ordering values stay bare when
    # they can, because to a Splunk user a quoted number reads as text.
    if (spl or op not in ("=", "!=")) and _is_bare_value(value):
        return value
    return _quote(value, '"')


def render(node: Node, *, spl: bool) -> str:
    """Render a node as query text.

    Parameters
    ----------
    node : Node
        The tree to render.
    spl : bool
        True for Splunk ``search`` text (implicit AND, double-quoted names),
        False for the normalised form (explicit AND, single-quoted names).

    Returns
    -------
    str
        Text that parses back to an equal tree.
    """
    if isinstance(node, MatchAll):
        return "*"
    if isinstance(node, Term):
        return node.text if _is_bare_value(node.text) else _quote(node.text, '"')
    if isinstance(node, Compare):
        name = _render_name(node.field, spl)
        return f"{name}{node.op}{_render_value(node.value, node.op, spl)}"
    if isinstance(node, Not):
        inner = render(node.child, spl=spl)
        return f"NOT ({inner})" if isinstance(node.child, And | Or) else f"NOT {inner}"

    # In Splunk's search command OR binds tighter than AND, so an OR inside an
    # AND needs no parentheses; they are added anyway because most readers
    # expect the opposite precedence.
    parts = [
        f"({render(child, spl=spl)})"
        if isinstance(child, And | Or)
        else render(child, spl=spl)
        for child in node.children
    ]
    if isinstance(node, Or):
        return " OR ".join(parts)
    return (" " if spl else " AND ").join(parts)
