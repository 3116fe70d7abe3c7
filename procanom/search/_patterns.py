"""Patterns shared by the pandas and the DuckDB evaluators.

Both evaluators hand the same RE2 pattern strings to RE2 (pyarrow's compute
kernels and DuckDB both use it), so a wildcard matches the same events on
either side. Values from the query only ever reach a regex through
:func:`wildcard_regex`, which escapes every punctuation character.
"""

from __future__ import annotations

import re
import string

__all__ = ["NUMBER_REGEX", "is_number", "wildcard_like", "wildcard_regex"]

NUMBER_REGEX = r"^[+-]?([0-9]+\.?[0-9]*|\.[0-9]+)([eE][+-]?[0-9]+)?$"
"""What counts as a number for ``<``, ``<=``, ``>``, ``>=``.

Plain decimal notation with an optional sign, fraction and exponent. Hex
(``0x1a``), digit separators, surrounding spaces, ``inf`` and ``nan`` are
text. The RE2 form is used on data, the same expression in Python on the
query's literal, and pyarrow and DuckDB parse every string it accepts to the
same double.
"""

_NUMBER = re.compile(NUMBER_REGEX)
_PUNCTUATION = frozenset(string.punctuation)

# Characters a LIKE pattern over DuckDB's lower() cannot stand for exactly:
# RE2's case folding also matches U+017F (long s) to "s", which lower()
# leaves as it is; lower() turns U+0130 (dotted capital I) into "i", which
# RE2 does not match to "i"; "%" and "_" are LIKE's own wildcards (DuckDB's
# LIKE has no escape unless one is named, and naming one makes it slow).
# Every other ASCII character matches under RE2's folding exactly the
# characters lower() maps to its lower case.
_NOT_LIKE_EXACT = frozenset("sSiI%_")


def is_number(text: str) -> bool:
    """Whether ``text`` is a number in the sense of :data:`NUMBER_REGEX`."""
    return _NUMBER.match(text) is not None


def _escape(text: str) -> str:
    # RE2 reads a backslash before any ASCII punctuation as that character;
    # letters, digits, spaces and non-ASCII text are literal as they are.
    return "".join("\\" + ch if ch in _PUNCTUATION else ch for ch in text)


def wildcard_regex(pattern: str, *, whole: bool) -> str:
    """Translate a ``*`` wildcard pattern into an RE2 regular expression.

    Parameters
    ----------
    pattern : str
        Text in which every ``*`` stands for any run of characters.
    whole : bool
        True to match the whole value (``field=value``), False to match
        anywhere inside it (free text).

    Returns
    -------
    str
        A case-insensitive pattern in which ``*`` also crosses line breaks.
    """
    body = ".*".join(_escape(part) for part in pattern.strip("*").split("*"))
    if not whole:
        return f"(?is){body}"

    # A leading or trailing wildcard is written as a missing anchor rather
    # than as ".*": the same matches, and RE2 then searches for the literal
    # text instead of scanning every value from its first character.
    start = "" if pattern.startswith("*") else "^"
    end = "" if pattern.endswith("*") else "$"
    return f"(?is){start}{body}{end}"


def wildcard_like(pattern: str, *, whole: bool) -> tuple[str, bool]:
    """Translate a ``*`` wildcard pattern into a LIKE pattern over lower case.

    DuckDB runs ``lower(column) LIKE pattern`` once per distinct value of a
    dictionary-compressed column, where a regex runs once per event.

    Parameters
    ----------
    pattern : str
        Text in which every ``*`` stands for any run of characters.
    whole : bool
        True to match the whole value, False to match anywhere inside it.

    Returns
    -------
    like : str
        A pattern for DuckDB's ``LIKE`` (no escape character) to test
        against the value lower-cased by DuckDB's ``lower()``.
    exact : bool
        True when ``lower(value) LIKE like`` selects exactly the values
        :func:`wildcard_regex` matches. When False, each character that
        cannot be written exactly (non-ASCII, ``s``, ``i``, ``%``, ``_``)
        is a ``_``, so the test is still true of every value the regex
        matches, and the regex must confirm it.
    """
    exact = True
    chars = []
    for ch in pattern:
        if ch == "*":
            chars.append("%")
        elif ch.isascii() and ch not in _NOT_LIKE_EXACT:
            chars.append(ch.lower())
        else:
            chars.append("_")
            exact = False
    body = "".join(chars)
    return (body if whole else f"%{body}%"), exact
