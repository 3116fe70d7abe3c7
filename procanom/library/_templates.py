"""Templates of a dataset's values, made once per dataset and kept.

The conditional method compares names, paths and command lines as
templates (:mod:`procanom.normalize`). Making them is most of that method's
time on a million events, and a value's template depends on the value only,
so the library makes them once per dataset, on its distinct values, and
hands them to the method with the events it scores.

Where they are kept:

- a dataset ingested (or re-mapped) by this version holds, in its own
  DuckDB file, one table per templated column and kind
  (``tpl_<stored>_<kind>_<rules>``: ``value`` and ``template``), made at
  ingest for every column whose name says it is a name, path or command
  line, so scoring joins them in DuckDB;
- anything else asked for later (a dataset ingested before, a column given
  another role, rules changed since ingest) is made on first use and kept
  beside the events file, in ``<events file>.templates/`` as Parquet files
  that scoring registers with DuckDB. Events files never change once
  registered, so neither do their templates.

``<rules>`` is :func:`procanom.normalize.template_fingerprint`: templates
made by other rules are never reused.
"""

from __future__ import annotations

import logging
import os
import secrets
import shutil
import time
from dataclasses import dataclass
from pathlib import Path

import duckdb
import pyarrow as pa
import pyarrow.parquet as pq

from procanom.library._connect import query_arrow
from procanom.normalize import template_fingerprint, template_values
from procanom.scoring.roles import field_roles, template_kind
from procanom.search import quote_identifier

__all__ = [
    "TEMPLATED_KINDS",
    "TemplateSource",
    "add_template_tables",
    "default_template_kinds",
    "discard_templates",
    "find_template_source",
    "templates_folder",
]

logger = logging.getLogger(__name__)

#: The kinds worth making ahead: hosts and users ("text") cost little.
TEMPLATED_KINDS = ("name", "path", "command_line")

_SUFFIX = ".templates"


@dataclass(frozen=True)
class TemplateSource:
    """Where the templates of one column are: a table of the events file or data.

    Attributes
    ----------
    table : str or None
        A table of the dataset's own file.
    data : pyarrow.Table or None
        ``value`` and ``template`` columns, to register with DuckDB.
    """

    table: str | None = None
    data: pa.Table | None = None


def default_template_kinds(names: list[str]) -> dict[str, str]:
    """Return the kind of each column that ingest makes templates for.

    A column's role is guessed from its name alone, as when it is the only
    field scored; columns with another role in a selection are templated on
    first use.
    """
    kinds = {}
    for name in names:
        kind = template_kind(field_roles([name])[name])
        if kind in TEMPLATED_KINDS:
            kinds[name] = kind
    return kinds


def _table_name(stored: str, kind: str) -> str:
    return f"tpl_{stored}_{kind}_{template_fingerprint()}"


def _distinct_templates(
    conn: duckdb.DuckDBPyConnection, stored: str, kind: str
) -> pa.Table:
    """Template every distinct value of a stored column (missing as ``""``)."""
    column = quote_identifier(stored)
    values = query_arrow(
        conn, f"SELECT DISTINCT COALESCE({column}, '') AS value FROM events"
    ).column(0)
    values = values.combine_chunks() if values.num_chunks != 1 else values.chunk(0)
    templates = template_values(values, kind)
    return pa.table({"value": values, "template": templates.cast(values.type)})


def add_template_tables(
    conn: duckdb.DuckDBPyConnection, columns: dict[str, str], kinds: dict[str, str]
) -> float:
    """Make the templates of a new dataset file, inside it; return the seconds.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        A writer on the new file, which holds the table ``events``.
    columns : dict
        Column name to stored column.
    kinds : dict
        Column name to template kind (:func:`default_template_kinds`).
    """
    started = time.perf_counter()
    for name, kind in kinds.items():
        stored = columns[name]
        table = _distinct_templates(conn, stored, kind)
        conn.register("_templates", table)
        try:
            conn.execute(
                f"CREATE TABLE {_table_name(stored, kind)} AS "
                "SELECT value, template FROM _templates"
            )
        finally:
            conn.unregister("_templates")
        logger.debug("%s: %d distinct values templated", name, table.num_rows)
    seconds = time.perf_counter() - started
    if kinds:
        logger.info("templates of %s made in %.2f s", ", ".join(kinds), seconds)
    return seconds


def templates_folder(events_file: Path) -> Path:
    """The folder of templates made after ingest for an events file."""
    return events_file.with_name(events_file.name + _SUFFIX)


def discard_templates(events_file: Path) -> None:
    """Delete the templates kept beside an events file, if any."""
    shutil.rmtree(templates_folder(events_file), ignore_errors=True)


def find_template_source(
    conn: duckdb.DuckDBPyConnection, events_file: Path, stored: str, kind: str
) -> TemplateSource:
    """Return the templates of a stored column, making and keeping them if new.

    Parameters
    ----------
    conn : duckdb.DuckDBPyConnection
        A read-only cursor on ``events_file``.
    events_file : Path
    stored : str
        The stored column (``c3``).
    kind : {"name", "path", "command_line", "text"}
    """
    table = _table_name(stored, kind)
    found = conn.execute(
        "SELECT count(*) FROM duckdb_tables() WHERE table_name = ?", [table]
    ).fetchall()
    if found[0][0]:
        return TemplateSource(table=table)

    folder = templates_folder(events_file)
    kept = folder / f"{table}.parquet"
    if kept.is_file():
        try:
            return TemplateSource(data=pq.read_table(kept))
        except (OSError, pa.ArrowException) as exc:
            logger.warning("ignoring unreadable templates %s: %s", kept, exc)

    started = time.perf_counter()
    data = _distinct_templates(conn, stored, kind)
    logger.info(
        "templated %d distinct values of %s (%s) in %.2f s",
        data.num_rows,
        stored,
        kind,
        time.perf_counter() - started,
    )
    _keep(data, folder, kept)
    return TemplateSource(data=data)


def _keep(data: pa.Table, folder: Path, path: Path) -> None:
    """Write templates for later runs; a failure only costs making them again."""
    partial = folder / f".{path.name}.{secrets.token_hex(4)}.tmp"
    try:
        folder.mkdir(exist_ok=True)
        pq.write_table(data, partial, compression="zstd")
        os.replace(partial, path)
    except OSError as exc:
        logger.warning("could not keep templates in %s: %s", folder, exc)
        partial.unlink(missing_ok=True)
        return
    # Templates made by other rules will not be read again.
    fingerprint = template_fingerprint()
    for old in folder.glob("tpl_*.parquet"):
        if not old.stem.endswith(fingerprint):
            old.unlink(missing_ok=True)
