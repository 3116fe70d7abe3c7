"""The one way procanom writes to its SQLite files: a whole transaction or nothing."""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Iterator

__all__ = ["write_transaction"]


@contextlib.contextmanager
def write_transaction(conn: sqlite3.Connection) -> Iterator[sqlite3.Connection]:
    """Run the body as one ``BEGIN IMMEDIATE`` transaction on ``conn``.

    The write lock is taken up front (waiting up to the connection's busy
    timeout for another writer), so two writers never both read a state and
    then both change it. The transaction commits only if the body returns;
    an exception, or a failed commit, rolls it back and propagates.

    Parameters
    ----------
    conn : sqlite3.Connection
        A connection opened with ``isolation_level=None`` (autocommit), so
        that this function alone decides where transactions begin and end.

    Yields
    ------
    sqlite3.Connection
        ``conn`` itself.
    """
    conn.execute("BEGIN IMMEDIATE")
    try:
        yield conn
        conn.execute("COMMIT")
    except BaseException:
        if conn.in_transaction:
            conn.execute("ROLLBACK")
        raise
