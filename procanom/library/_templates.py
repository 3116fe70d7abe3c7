"""Templates of a dataset's values, made once per dataset and kept.

The conditional method compares names, paths and command lines as
templates (:mod:`procanom.normalize`). Making them is most of that method's
time on a million events, and a value's template depends on the value only,
so the library makes them once per dataset column, on its distinct values,
and hands them to the method with the events it scores.

They are made the first time a column is scored with a method that reads
templates, not at ingest: a million events hold about 700,000 distinct
command lines, whose templates take longer than DuckDB takes to read the
whole file, and most datasets are never scored on every column. They are
kept beside the events file, in ``<events file>.templates/``, one Parquet
file of ``value`` and ``template`` per stored column and kind; scoring
looks each event's value up in it. Events files never change once
registered, so neither do their templates; templates made by other rules
(:func:`procanom.normalize.template_fingerprint`) are never reused.

Making them may take seconds, so the app starts it in the background when a
dataset is opened; a score that needs a column being made meanwhile waits
for it rather than making it a second time (one lock per kept file, in this
process).
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import threading
import time
from collections import OrderedDict
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from procanom.library._connect import query_arrow
from procanom.normalize import KnownTemplates, template_fingerprint, template_values
from procanom.search import quote_identifier

__all__ = [
    "TEMPLATED_KINDS",
    "discard_templates",
    "kept_templates",
    "templates_folder",
]

logger = logging.getLogger(__name__)

#: The kinds worth keeping: hosts and users ("text") cost little to fold.
TEMPLATED_KINDS = ("name", "path", "command_line")

_SUFFIX = ".templates"

_making: dict[Path, threading.Lock] = {}
_making_guard = threading.Lock()

# Templates read lately, kept in memory: reading a million of them from
# Parquet costs a fifth of a second per column at every Detect. Kept files
# never change, so an entry is never stale; the oldest go past the budget.
_READ_BUDGET_BYTES = 512 * 2**20
_read: OrderedDict[Path, KnownTemplates] = OrderedDict()


def _lock_for(kept: Path) -> threading.Lock:
    with _making_guard:
        return _making.setdefault(kept, threading.Lock())


def templates_folder(events_file: Path) -> Path:
    """The folder of the templates kept for an events file."""
    return events_file.with_name(events_file.name + _SUFFIX)


def discard_templates(events_file: Path) -> None:
    """Delete the templates kept for an events file, if any."""
    _forget(templates_folder(events_file))
    shutil.rmtree(templates_folder(events_file), ignore_errors=True)


def kept_templates(
    conn: duckdb.DuckDBPyConnection, events_file: Path, stored: str, kind: str
) -> KnownTemplates:
    """Return the templates of a stored column, making and keeping them if new.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        A read-only cursor on ``events_file``.
    events_file : Path
    stored : str
        The stored column (``c3``).
    kind : {"name", "path", "command_line", "text"}

    Returns
    -------
    procanom.normalize.KnownTemplates
        Every distinct value of the column (missing as ``""``) and its
        template, ready to look up.
    """
    folder = templates_folder(events_file)
    kept = folder / f"{stored}.{kind}.{template_fingerprint()}.parquet"
    with _lock_for(kept):
        with _making_guard:
            if kept in _read:
                _read.move_to_end(kept)
                return _read[kept]
        data = None
        if kept.is_file():
            try:
                data = pq.read_table(kept)
            except (OSError, pa.ArrowException) as exc:
                logger.warning("ignoring unreadable templates %s: %s", kept, exc)
        if data is None:
            data = _make(conn, events_file, stored, kind, kept)
        known = KnownTemplates.from_table(data)
        _remember(kept, known)
        return known


def _remember(kept: Path, data: KnownTemplates) -> None:
    with _making_guard:
        _read[kept] = data
        while (
            len(_read) > 1
            and sum(t.nbytes for t in _read.values()) > _READ_BUDGET_BYTES
        ):
            _read.popitem(last=False)


def _forget(folder: Path) -> None:
    with _making_guard:
        for kept in [k for k in _read if k.parent == folder]:
            del _read[kept]


def _make(
    conn: duckdb.DuckDBPyConnection,
    events_file: Path,
    stored: str,
    kind: str,
    kept: Path,
) -> pa.Table:
    """Template every distinct value of a stored column and keep the result."""
    started = time.perf_counter()
    column = quote_identifier(stored)
    values = query_arrow(
        conn, f"SELECT DISTINCT COALESCE({column}, '') AS value FROM events"
    ).column(0)
    values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    templates = template_values(values, kind).cast(values.type)
    data = pa.table({"value": values, "template": templates})
    logger.info(
        "templated the %d distinct values of %s (%s) of %s in %.2f s, once",
        data.num_rows,
        stored,
        kind,
        events_file.name,
        time.perf_counter() - started,
    )
    _keep(data, kept)
    return data


def _keep(data: pa.Table, path: Path) -> None:
    """Write templates for later runs; a failure only costs making them again."""
    folder = path.parent
    partial = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        pq.write_table(data, partial, compression="zstd")
        # Atomic: a reader in another process sees the whole file or none.
        os.replace(partial, path)
    except OSError as exc:
        logger.warning("could not keep templates in %s: %s", folder, exc)
        partial.unlink(missing_ok=True)
        return
    # Templates made by other rules will not be read again.
    for old in folder.glob("*.parquet"):
        if not old.name.endswith(f".{template_fingerprint()}.parquet"):
            old.unlink(missing_ok=True)
