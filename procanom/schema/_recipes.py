"""The derivation recipes of a :class:`FieldMapping`, read back from words.

The words are what the analyst sees and edits, so they are also what gets
saved; this module turns them back into something to apply. Column names
inside a recipe are separated by ``", "`` (lists), ``" + "`` (domain and
user) and ``", else "`` (account alternatives).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

_NOTE = re.compile(r"\s+\([^()]*\)$")
_FORMS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("basename", re.compile(r"^basename of (?P<a>.+)$")),
    ("short_host", re.compile(r"^short upper-case name of (?P<a>.+)$")),
    ("first_set", re.compile(r"^first set of (?P<a>.+)$")),
    ("account", re.compile(r"^account from (?P<a>.+)$")),
    ("shifted", re.compile(r"^(?P<a>.+) shifted per host to agree with (?P<b>.+)$")),
    ("log_name", re.compile(r"^log name from (?P<a>.+)$")),
    ("constant", re.compile(r"^constant (?P<a>.+)$")),
)

#: The recipe forms, for messages.
RECIPE_FORMS = (
    "'basename of <field>', 'short upper-case name of <column>', "
    "'first set of <column>, <column>...', "
    "'account from <domain column> + <user column>[, else ...]', "
    "'<column> shifted per host to agree with <column>', "
    "'log name from <column>, <column>...' or 'constant <value>'"
)


@dataclass(frozen=True)
class Recipe:
    """A parsed derivation.

    Attributes
    ----------
    kind : str
        ``basename``, ``short_host``, ``first_set``, ``account``, ``shifted``,
        ``log_name`` or ``constant``.
    columns : tuple of str
        The names the recipe reads (for ``account``: domain and user names
        in pair order, a missing domain as ``""``; for ``shifted``: the
        record-time column then the reference column; for ``constant``: the
        value).
    text : str
        The words it was read from.
    """

    kind: str
    columns: tuple[str, ...]
    text: str

    def inputs(self) -> list[str]:
        """Return the input columns the recipe reads (none for constants)."""
        if self.kind in ("constant", "basename"):
            return []
        return [c for c in self.columns if c]


def parse_recipe(text: str) -> Recipe:
    """Read a recipe from its words.

    Raises
    ------
    ValueError
        If the words match none of :data:`RECIPE_FORMS`.
    """
    words = _NOTE.sub("", text.strip())
    for kind, pattern in _FORMS:
        match = pattern.match(words)
        if not match:
            continue
        a = match.group("a").strip()
        if kind in ("first_set", "log_name"):
            columns = tuple(c.strip() for c in a.split(", ") if c.strip())
        elif kind == "account":
            columns = ()
            for alternative in a.split(", else "):
                domain, _, user = alternative.rpartition(" + ")
                columns += (domain.strip(), user.strip())
        elif kind == "shifted":
            columns = (a, match.group("b").strip())
        else:
            columns = (a,)
        return Recipe(kind, columns, text)
    raise ValueError(f"{text!r} is not a recipe; expected {RECIPE_FORMS}")
