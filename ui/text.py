"""Text from events and users, shown literally in Streamlit's markdown."""

from __future__ import annotations

_MARKDOWN_SPECIALS = frozenset("\\`*_[]<>#|~$")


def literal(text: object) -> str:
    """Escape ``text`` so markdown shows it as typed and renders nothing.

    Command lines, file names, titles and search text may hold ``*``, ``_``,
    backticks, links, HTML or ``$`` (LaTeX in Streamlit): the characters
    that start markup are backslash-escaped, so ``<script>`` or
    ``[x](javascript:...)`` stay text. Others (``-``, ``.``, ``:``) are left
    alone: at worst they change layout, never content.
    """
    return "".join("\\" + c if c in _MARKDOWN_SPECIALS else c for c in str(text))
