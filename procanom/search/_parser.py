"""Turn search-bar text into a :class:`~procanom.search._ast.Query`.

Two stages: a lexer that cuts the text into tokens, each remembering where
it started, and a recursive-descent parser that follows Splunk's precedence
for the search command (parentheses, then NOT, then OR, then AND). Every
refusal is a :class:`~procanom.errors.QueryError` carrying the 0-based
offset of the character at fault.
"""

from __future__ import annotations

import logging
import unicodedata
from dataclasses import dataclass

from procanom.errors import ParameterError, QueryError
from procanom.search._ast import (
    COMPARISON_OPERATORS,
    KEYWORDS,
    NAME_PUNCTUATION,
    Compare,
    MatchAll,
    Node,
    Not,
    Query,
    Term,
    make_and,
    make_or,
)

__all__ = ["MAX_DEPTH", "MAX_QUERY_LENGTH", "parse_query"]

logger = logging.getLogger(__name__)

MAX_QUERY_LENGTH = 10_000
"""Longest query text accepted, in characters."""

MAX_DEPTH = 100
"""Deepest nesting of parentheses and NOTs accepted."""

# Characters with a meaning in Splunk that this language does not offer.
_UNSUPPORTED = {
    "|": "pipes (|) are not supported: the search bar filters events, "
    "other commands run elsewhere; put the text in double quotes to search for '|'",
    "[": "subsearches ([ ]) are not supported; put the text in double quotes "
    "to search for '['",
    "]": "subsearches ([ ]) are not supported; put the text in double quotes "
    "to search for ']'",
    "`": "macros (`...`) are not supported; put the text in double quotes "
    "to search for '`'",
}

# Characters that end a bare word.
_WORD_BREAKS = frozenset('()"=<>|[]`')

# Control characters other than these are refused even inside quotes: they
# are never typed on purpose and some backends treat NUL specially.
_ALLOWED_CONTROLS = frozenset("\t\n\r")


@dataclass(frozen=True, slots=True)
class _Token:
    kind: str  # word, phrase, name, op, lparen, rparen, keyword, end
    text: str  # decoded text, operator symbol or keyword
    start: int
    end: int


def _is_refused_control(ch: str) -> bool:
    return unicodedata.category(ch) == "Cc" and ch not in _ALLOWED_CONTROLS


def _control_error(query: str, pos: int) -> QueryError:
    return QueryError(
        query,
        pos,
        f"control character U+{ord(query[pos]):04X} is not allowed in a search",
    )


def _read_quoted(query: str, start: int) -> tuple[str, int]:
    """Decode a quoted string starting at ``start``; return text and end offset.

    Inside quotes ``\\<mark>`` is the quote mark and ``\\\\`` one backslash;
    any other backslash is kept, so ``"C:\\Windows"`` means what it shows.
    """
    mark = query[start]
    out: list[str] = []
    i = start + 1
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query) and query[i + 1] in (mark, "\\"):
            out.append(query[i + 1])
            i += 2
            continue
        if ch == mark:
            return "".join(out), i + 1
        if _is_refused_control(ch):
            raise _control_error(query, i)
        out.append(ch)
        i += 1
    raise QueryError(
        query,
        start,
        f"unterminated quote: the {mark} here is never closed "
        f"(a backslash right before a {mark} makes it part of the text; "
        f"write \\\\ for a trailing backslash)",
    )


def _read_word(query: str, start: int) -> tuple[str, int]:
    """Decode a bare word; ``\\\\`` and ``\\"`` are escapes, as inside quotes."""
    out: list[str] = []
    i = start
    while i < len(query):
        ch = query[i]
        if ch == "\\" and i + 1 < len(query) and query[i + 1] in ('"', "\\"):
            out.append(query[i + 1])
            i += 2
            continue
        if (
            ch.isspace()
            or ch in _WORD_BREAKS
            or (ch == "!" and query.startswith("!=", i))
            or _is_refused_control(ch)
        ):
            break
        out.append(ch)
        i += 1
    return "".join(out), i


def _tokenize(query: str) -> list[_Token]:
    tokens: list[_Token] = []
    i = 0
    while i < len(query):
        ch = query[i]
        if ch.isspace():
            i += 1
        elif ch in "()":
            kind = "lparen" if ch == "(" else "rparen"
            tokens.append(_Token(kind, ch, i, i + 1))
            i += 1
        elif ch in "\"'":
            text, end = _read_quoted(query, i)
            tokens.append(_Token("phrase" if ch == '"' else "name", text, i, end))
            i = end
        elif ch in "=<>" or query.startswith("!=", i):
            op = query[i : i + 2] if query[i : i + 2] in COMPARISON_OPERATORS else ch
            tokens.append(_Token("op", op, i, i + len(op)))
            i += len(op)
        elif ch in _UNSUPPORTED:
            raise QueryError(query, i, _UNSUPPORTED[ch])
        elif _is_refused_control(ch):
            raise _control_error(query, i)
        else:
            text, end = _read_word(query, i)
            raw = query[i:end]
            kind = "keyword" if raw in KEYWORDS else "word"
            tokens.append(_Token(kind, text, i, end))
            i = end
    tokens.append(_Token("end", "", len(query), len(query)))
    return tokens


def _describe_token(token: _Token) -> str:
    if token.kind == "end":
        return "the end of the search"
    if token.kind == "phrase":
        return "a quoted phrase"
    return repr(token.text)


class _Parser:
    """Recursive descent over the token list; one instance per query."""

    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = _tokenize(query)
        self.pos = 0
        self.depth = 0

    # -- token helpers -----------------------------------------------------

    @property
    def tok(self) -> _Token:
        return self.tokens[self.pos]

    def _peek(self, offset: int = 1) -> _Token:
        return self.tokens[min(self.pos + offset, len(self.tokens) - 1)]

    def _advance(self) -> _Token:
        token = self.tokens[self.pos]
        self.pos += 1
        return token

    def _error(self, position: int, problem: str) -> QueryError:
        return QueryError(self.query, position, problem)

    def _starts_operand(self, token: _Token) -> bool:
        return token.kind in ("word", "phrase", "name", "lparen") or (
            token.kind == "keyword" and token.text == "NOT"
        )

    def _enter(self, token: _Token) -> None:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise self._error(
                token.start,
                f"the search nests parentheses and NOTs more than {MAX_DEPTH} "
                "levels deep; simplify it",
            )

    # -- grammar -----------------------------------------------------------

    def parse(self) -> Node:
        if self.tok.kind == "end":
            return MatchAll()
        node = self._parse_and()
        token = self.tok
        if token.kind == "rparen":
            raise self._error(token.start, "')' has no matching '('")
        return node

    def _parse_and(self) -> Node:
        items = [self._parse_or()]
        while True:
            token = self.tok
            if token.kind == "keyword" and token.text == "AND":
                self._advance()
                self._require_operand(token)
                items.append(self._parse_or())
            elif token.kind in ("rparen", "end"):
                return make_and(items)
            else:
                # Anything else is either an operand or an error that
                # _parse_primary words precisely.
                items.append(self._parse_or())

    def _parse_or(self) -> Node:
        items = [self._parse_not()]
        while self.tok.kind == "keyword" and self.tok.text == "OR":
            token = self._advance()
            self._require_operand(token)
            items.append(self._parse_not())
        return make_or(items)

    def _parse_not(self) -> Node:
        token = self.tok
        if not (token.kind == "keyword" and token.text == "NOT"):
            return self._parse_primary()
        self._enter(token)
        self._advance()
        self._require_operand(token)
        node = Not(self._parse_not())
        self.depth -= 1
        return node

    def _require_operand(self, operator: _Token) -> None:
        following = self.tok
        if not self._starts_operand(following):
            raise self._error(
                operator.start,
                f"{operator.text} must be followed by a search term, "
                f"not {_describe_token(following)}",
            )

    def _parse_primary(self) -> Node:
        token = self.tok
        if token.kind == "lparen":
            return self._parse_group()
        if token.kind in ("word", "phrase", "name"):
            if self._peek().kind == "op":
                return self._parse_comparison()
            return self._parse_term()
        if token.kind == "rparen":
            raise self._error(token.start, "')' has no matching '('")
        if token.kind == "op":
            raise self._error(
                token.start,
                f"'{token.text}' needs a field name before it; put the text in "
                f'double quotes to search for "{token.text}"',
            )
        if token.kind == "keyword":
            raise self._error(
                token.start, f"{token.text} needs a search term before it"
            )
        raise self._error(token.start, "the search ends where a term was expected")

    def _parse_group(self) -> Node:
        opening = self._advance()
        self._enter(opening)
        if self.tok.kind == "rparen":
            raise self._error(
                self.tok.start, "empty parentheses: put a search term inside"
            )
        node = self._parse_and()
        if self.tok.kind != "rparen":
            raise self._error(opening.start, "this '(' is never closed")
        self._advance()
        self.depth -= 1
        return node

    def _parse_term(self) -> Node:
        token = self._advance()
        if token.kind == "name":
            raise self._error(
                token.start,
                "single quotes name a field and must be followed by an operator "
                "such as =; use double quotes to search for a phrase",
            )
        if token.kind == "phrase" and token.text == "":
            raise self._error(token.start, 'an empty phrase "" searches for nothing')
        if token.text.strip("*") == "":
            return MatchAll()
        return Term(token.text)

    def _parse_comparison(self) -> Node:
        name_token = self._advance()
        name = self._field_name(name_token)
        op = self._advance()

        # A value must follow; a keyword right after the operator, with no
        # space, is a value (Name=NOT), while "Name= AND x" is missing one.
        value = self.tok
        adjacent_keyword = value.kind == "keyword" and value.start == op.end
        if value.kind not in ("word", "phrase") and not adjacent_keyword:
            if value.kind == "op":
                raise self._error(
                    value.start,
                    f"'{value.text}' cannot follow '{op.text}'; put a value "
                    "containing it in double quotes",
                )
            if value.kind == "name":
                # Splunk users write Name='cmd.exe' as in SQL.
                raise self._error(
                    value.start,
                    f"single quotes name a field, not a value; to search for the"
                    f' value write {name}{op.text}"{value.text}"',
                )
            raise self._error(
                op.start,
                f"'{name}{op.text}' needs a value after '{op.text}', "
                f"found {_describe_token(value)}",
            )
        self._advance()

        if self.tok.kind == "op":
            raise self._error(
                self.tok.start,
                f"unexpected '{self.tok.text}' after a value; put a value "
                "containing it in double quotes",
            )
        return Compare(name, op.text, value.text)

    def _field_name(self, token: _Token) -> str:
        if token.kind == "word":
            raw = self.query[token.start : token.end]
            for offset, ch in enumerate(raw):
                if not (ch.isalnum() or ch in NAME_PUNCTUATION):
                    raise self._error(
                        token.start + offset,
                        f"{ch!r} cannot appear in a bare field name (letters, digits, "
                        "_ . - : only); write other names in single quotes, "
                        "'Like This'=value, or put text to search for in double quotes",
                    )
        if token.text == "":
            raise self._error(token.start, "empty field name")
        return token.text


def parse_query(text: str) -> Query:
    """Parse search-bar text into a :class:`Query`.

    Parameters
    ----------
    text : str
        The search, in the syntax described in :mod:`procanom.search`.

    Returns
    -------
    Query
        The parsed tree; an empty or ``*`` search matches every event.

    Raises
    ------
    QueryError
        With the 0-based ``position`` of the offending character: unbalanced
        parentheses, a dangling AND/OR/NOT, an operator without a value, an
        unterminated quote, an unsupported character (``|``, ``[``, a
        backtick, a control character), nesting deeper than ``MAX_DEPTH`` or
        text longer than ``MAX_QUERY_LENGTH``.
    ParameterError
        If ``text`` is not a string.

    Examples
    --------
    >>> parse_query("Name=power* NOT User=SYSTEM").describe()
    'Name="power*" AND NOT User="SYSTEM"'
    """
    if not isinstance(text, str):
        raise ParameterError("query", "a string", text)
    if len(text) > MAX_QUERY_LENGTH:
        raise QueryError(
            text,
            MAX_QUERY_LENGTH,
            f"the search is {len(text):,} characters long; at most "
            f"{MAX_QUERY_LENGTH:,} are accepted",
        )

    root = _Parser(text).parse()
    logger.debug("parsed search %r as %r", text, root)
    return Query(root, text)
