"""Text as the pages show it: event and user text literally, times for people."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable
from datetime import UTC, datetime

from procanom.export import reveal_hidden

_MARKDOWN_SPECIALS = frozenset("\\`*_[]<>#|~$")


def literal(text: object) -> str:
    """Escape ``text`` so markdown shows it as typed and renders nothing.

    Command lines, file names, titles and search text may hold ``*``, ``_``,
    backticks, links, HTML or ``$`` (LaTeX in Streamlit): the characters
    that start markup are backslash-escaped, so ``<script>`` or
    ``[x](javascript:...)`` stay text. Others (``-``, ``.``, ``:``) are left
    alone: at worst they change layout, never content. Invisible characters
    are shown as ``<U+202E>`` first, so none can reorder or hide what follows.
    """
    return "".join(
        "\\" + c if c in _MARKDOWN_SPECIALS else c for c in reveal_hidden(str(text))
    )


def short_time(value: str, seconds: bool = False) -> str:
    """A stored ISO time as a person reads it: ``2026-12-04 16:41 UTC``.

    ``seconds`` keeps them, where two runs of one minute must differ. A time
    without a zone is read as UTC (the store writes UTC); text that is not a
    time is shown as it is.
    """
    try:
        when = datetime.fromisoformat(str(value))
    except ValueError:
        return str(value)
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    shape = "%Y-%m-%d %H:%M:%S UTC" if seconds else "%Y-%m-%d %H:%M UTC"
    return when.astimezone(UTC).strftime(shape)


def code_span(text: str) -> str:
    """``text`` as an inline code span that shows it literally, whatever it holds.

    Inside a span markdown renders nothing (no links, emphasis, HTML or
    LaTeX), so the only ways out are its closing backticks, which are made
    longer than any run of backticks in ``text``, and a line break, which
    would end the paragraph: line breaks and tabs become spaces, and other
    invisible characters are shown as ``<U+202E>``. One space pads each side,
    which markdown strips again, so a value that starts or ends with a
    backtick stays whole.
    """
    flat = "".join(
        " " if unicodedata.category(c) in ("Cc", "Zl", "Zp") else c
        for c in reveal_hidden(text)
    )
    longest = max((len(run) for run in re.findall("`+", flat)), default=0)
    fence = "`" * (longest + 1)
    return f"{fence} {flat} {fence}"


def counted(count: int, noun: str, plural: str | None = None) -> str:
    """``count`` and ``noun``, plural unless one: ``1 host``, ``1,204 hosts``."""
    return f"{count:,} {noun if count == 1 else plural or noun + 's'}"


def shown_by(format_func: Callable[[object], object]) -> Callable[[object], str]:
    """``format_func`` for a widget's options, invisible characters shown.

    Options are plain text (no markdown), but a title or dataset name
    holding a right-to-left override would still read reversed.
    """
    return lambda option: reveal_hidden(str(format_func(option)))
