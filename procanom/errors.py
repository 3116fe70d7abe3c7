"""Exceptions raised by procanom.

Every error procanom raises on purpose derives from :class:`ProcanomError`, so
the app and the command line can catch precisely and show one sentence
instead of a traceback. Messages name what was wrong, where, and what was
expected.
"""

from __future__ import annotations

__all__ = [
    "ProcanomError",
    "ParameterError",
    "InputFileError",
    "QueryError",
    "StoreError",
    "StaleEditError",
    "NotFoundError",
]


class ProcanomError(Exception):
    """Base class of every error procanom raises on purpose."""


class ParameterError(ProcanomError, ValueError):
    """A parameter has a value outside what is allowed.

    Parameters
    ----------
    name : str
        The parameter, as the user spells it (``pthresh``, ``--fields``).
    allowed : str
        What is allowed, in words.
    got : object
        What was received.
    """

    def __init__(self, name: str, allowed: str, got: object) -> None:
        self.name = name
        self.allowed = allowed
        self.got = got
        super().__init__(f"{name} must be {allowed}; got {got!r}.")


class InputFileError(ProcanomError):
    """A file could not be read as process events.

    Parameters
    ----------
    path : str
        The file, as the user named it.
    problem : str
        What was found and what was expected.
    line : int, optional
        The 1-based line (or record) where the problem was found.
    """

    def __init__(self, path: str, problem: str, line: int | None = None) -> None:
        self.path = path
        self.problem = problem
        self.line = line
        where = f"{path}, line {line}" if line is not None else str(path)
        super().__init__(f"{where}: {problem}")


class QueryError(ProcanomError):
    """A search query could not be parsed or evaluated.

    Parameters
    ----------
    query : str
        The whole query.
    position : int
        0-based character offset of the problem in ``query``.
    problem : str
        What was found and what was expected.
    """

    def __init__(self, query: str, position: int, problem: str) -> None:
        self.query = query
        self.position = position
        self.problem = problem
        super().__init__(f"{problem} (at character {position + 1})")

    def pointer(self) -> str:
        """Return the query with a caret line under the offending character."""
        return f"{self.query}\n{' ' * self.position}^"


class StoreError(ProcanomError):
    """The experiment store could not complete an operation."""


class NotFoundError(StoreError, KeyError):
    """An experiment, run or dataset does not exist in the store."""

    def __str__(self) -> str:  # KeyError quotes its message otherwise
        return str(self.args[0]) if self.args else ""


class StaleEditError(StoreError):
    """An edit was based on an older version than the one stored.

    Raised instead of silently overwriting a newer save made elsewhere (in
    another tab, by another analyst, or by a scheduled run).
    """
