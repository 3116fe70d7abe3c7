"""Patterns shared by the pandas and the DuckDB evaluators.

Both evaluators hand the same RE2 pattern strings to RE2 (pyarrow's compute
kernels and DuckDB both use it), so a wildcard matches the same events on
either side. Values from the query only ever reach a regex through
:func:`wildcard_regex`, which escapes every punctuation character.
"""

from __future__ import annotations

import re
import string

__all__ = ["NUMBER_REGEX", "is_number", "wildcard_regex"]

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
