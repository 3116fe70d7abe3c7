r"""The search bar: Splunk-style search text, parsed, then evaluated.

A search is parsed into a tree (:func:`parse_query`) and the tree is then
evaluated on a pandas DataFrame (:func:`filter_events`) or compiled to a
parameterised DuckDB condition (:func:`compile_sql`). Both give the same
events for the same search. Nothing is ever built by pasting the search text
into code or SQL.

Syntax
------
The language is the filter part of Splunk's ``search`` command.

``field=value``
    Events whose field equals the value. Field names are case-sensitive;
    values match case-insensitively and as a whole (``Name=cmd`` does not
    match ``cmd.exe``; ``Name=cmd*`` does).
``field!=value``
    Events that *have* the field with a different value. As in Splunk, an
    event without the field (missing or empty) matches neither
    ``field=value`` nor ``field!=value``; ``NOT field=value`` does match it.
``field="quoted value"``
    Double quotes hold spaces and special characters. Inside them ``\"`` is
    a quote and ``\\`` one backslash; any other backslash is kept as typed,
    so ``Path="C:\Windows\System32\*"`` means what it shows. The same two
    escapes work in bare words (so ``\\server`` reads as ``\server``, as in
    Splunk: write ``\\\\server`` for a UNC path).
``*`` wildcards
    Anywhere in a value or free text: ``Name=power*``, ``CommandLine=*-enc*``.
    A wildcard also spans line breaks. There is no escape for a literal
    ``*``; a wildcard matches it anyway.
``field=*`` / ``field=""``
    Events where the field has any value / where it is present in the data
    but empty (or null) for the event. A field missing from the data
    matches neither.
``field<value``, ``<=``, ``>``, ``>=``
    Compared as numbers when both the event's value and the typed value are
    plain decimal numbers (``868``, ``-2.5``, ``1e3``; not hex, not
    ``inf``); otherwise compared as lower-cased text, character by
    character (so ``"10" < "9"`` as text). ``*`` is a literal here. Events
    without the field never match.
Free text
    A bare word or a ``"quoted phrase"`` matches events where it occurs in
    any field, case-insensitively, as a substring (``power`` matches
    ``PowerShell.exe``), with ``*`` wildcards. Splunk matches whole terms of
    the raw event instead; procanom has no raw event, so it searches every
    column.
``AND``, ``OR``, ``NOT`` and parentheses
    Upper case only, as in Splunk; ``and``, ``or`` and ``not`` are ordinary
    free text. Terms side by side are joined by an implicit AND. Precedence
    follows Splunk's search command, which differs from most languages:
    parentheses, then ``NOT``, then ``OR``, then ``AND``. So
    ``a b OR c`` means ``a AND (b OR c)``.
Field names
    A bare name may hold letters, digits, ``_``, ``.``, ``-`` and ``:``
    (``process.command_line``, ``Event-ID``). Any other name goes in single
    quotes, ``'Process Command Line'=*whoami*`` (``\'`` and ``\\`` escape
    inside); a double-quoted phrase directly followed by an operator is
    accepted as a name too, as classic SPL allows.
Everything
    An empty search, only spaces, or ``*`` matches every event.

Refused, with the position of the offending character: unbalanced
parentheses, a dangling ``AND``/``OR``/``NOT``, an operator with no value
(``Name=``) or no field, an unterminated quote, an empty phrase ``""``,
the Splunk features this bar does not offer (``|`` pipes, ``[...]``
subsearches, backtick macros), control characters, nesting deeper than
:data:`MAX_DEPTH` and text longer than :data:`MAX_QUERY_LENGTH` characters.
Anything else, including SQL words, semicolons, paths and URLs, is searched
for as literal text.

Time
----
:class:`TimeRange` is the picker beside the bar; :func:`filter_events`
applies it to the ``_time`` field (ISO-8601, UTC when no offset is given),
both bounds inclusive. Relative presets count back from the latest event in
the data unless ``relative_to="now"``. When the data has no time field the
range is not applied and the mask reflects the search alone; the caller
warns the user. Events whose time cannot be read fall outside every range
except ``"all"``.

Renderings
----------
:func:`describe_query` gives the normalised search (explicit ``AND``,
quoted values, the parentheses Splunk's precedence implies);
:func:`to_spl` gives the argument of Splunk's ``search`` command. Both parse
back to the same query.
"""

from __future__ import annotations

from procanom.search._ast import And, Compare, MatchAll, Node, Not, Or, Query, Term
from procanom.search._frame import filter_events
from procanom.search._parser import MAX_DEPTH, MAX_QUERY_LENGTH, parse_query
from procanom.search._sql import compile_sql, quote_identifier
from procanom.search._time import (
    PRESET_LABELS,
    PRESETS,
    TimeRange,
    parse_event_times,
    resolve_time_range,
)

__all__ = [
    "MAX_DEPTH",
    "MAX_QUERY_LENGTH",
    "PRESETS",
    "PRESET_LABELS",
    "And",
    "Compare",
    "MatchAll",
    "Node",
    "Not",
    "Or",
    "Query",
    "Term",
    "TimeRange",
    "compile_sql",
    "describe_query",
    "filter_events",
    "parse_event_times",
    "parse_query",
    "quote_identifier",
    "resolve_time_range",
    "to_spl",
]


def describe_query(query: str | Query) -> str:
    """Return the search in normalised form, for display and history.

    Parameters
    ----------
    query : str or Query
        The search, as typed or already parsed.

    Returns
    -------
    str
        Explicit ``AND`` between terms, field values in double quotes, names
        that need it in single quotes, and parentheses around every group;
        ``*`` for a search that matches everything.

    Examples
    --------
    >>> describe_query("Name=cmd.exe  whoami OR  net")
    'Name="cmd.exe" AND (whoami OR net)'
    """
    parsed = query if isinstance(query, Query) else parse_query(query)
    return parsed.describe()


def to_spl(query: str | Query) -> str:
    """Return the search as the argument of Splunk's ``search`` command.

    Parameters
    ----------
    query : str or Query
        The search, as typed or already parsed.

    Returns
    -------
    str
        SPL search text (implicit AND, double-quoted names with spaces);
        ``*`` for a search that matches everything. Prefix ``search`` when
        it does not start the pipeline.

    Notes
    -----
    Splunk matches free text against whole terms of the raw event while
    procanom matches substrings of any field, so a partial word can select
    more events here than in Splunk.

    Examples
    --------
    >>> to_spl("'Process Command Line'=*whoami* NOT User=SYSTEM")
    '"Process Command Line"=*whoami* NOT User=SYSTEM'
    """
    parsed = query if isinstance(query, Query) else parse_query(query)
    return parsed.to_spl()
