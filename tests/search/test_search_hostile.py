"""Search text that looks like code is searched for, or refused; never run.

Each hostile search is either refused with a position or compiled and run
on a fresh in-memory DuckDB holding the events. Either way the table, the
catalogue, the installed extensions and the working folder stay as they
were, and the rows selected are the ones pandas selects for the same text.
"""

from __future__ import annotations

import os

import pytest
from search_cases import load_into_duckdb

from procanom.errors import QueryError
from procanom.search import compile_sql, filter_events, parse_query

HOSTILE = [
    "'; DROP TABLE events; --",
    '"; DROP TABLE events; --"',
    '"; DROP TABLE events; --',
    "DROP TABLE events",
    'Name="x\'); DROP TABLE events; --"',
    "Name=x'); DROP TABLE events; --",
    'NOT Name="x\\" OR 1=1 --"',
    "x=1 OR 1=1",
    "Name=*' OR '1'='1",
    "COPY events TO 'out.csv'",
    'COPY events TO "out.csv" (FORMAT csv)',
    'COPY (SELECT 1) TO "pwned.txt"',
    "ATTACH 'evil.db' AS evil",
    'ATTACH "evil.db" AS evil; CREATE TABLE evil.t AS SELECT 1',
    "INSTALL httpfs; LOAD httpfs",
    "read_csv('/etc/passwd')",
    'read_csv("/etc/passwd")',
    'read_csv_auto("events.csv")',
    "Name=read_csv_auto('x.csv')",
    "CommandLine=*read_parquet(*",
    '"C:\\Windows\\System32\\config\\SAM"',
    "/etc/passwd",
    "file:///etc/passwd",
    "https://evil.example/x.parquet",
    '"https://evil.example/a?b=c"',
    "$(rm -rf /)",
    "\\\\",
    '"\\\\"',
    'Name="\\\\"',
    "';ATTACH ':memory:' AS x;--",
    '"\\"; SELECT 1; --"',
    "CREATE MACRO m() AS 1",
    "PRAGMA enable_profiling",
    "SET threads=1",
    "CALL pragma_version()",
    "regexp_matches(x, '.*')",
    "?",
    "Name=? OR Name=?",
    '"$1" "%s" "{0}"',
    "Name=%",
    "Name=_",
    "Name=.*",
    "Name=(.*)",
    "Name=[a-z]*",
    "Name=\\.*",
]


def _state(con):
    tables = con.execute(
        "SELECT database_name, schema_name, table_name FROM duckdb_tables() "
        "ORDER BY ALL"
    )
    tables = tables.fetchall()
    databases = con.execute("SELECT database_name FROM duckdb_databases() ORDER BY ALL")
    databases = databases.fetchall()
    extensions = con.execute(
        "SELECT extension_name FROM duckdb_extensions() WHERE loaded ORDER BY ALL"
    )
    extensions = extensions.fetchall()
    content = con.execute("SELECT * FROM events ORDER BY rid").fetchall()
    return tables, databases, extensions, content


@pytest.fixture(scope="module")
def target(events):
    """One DuckDB for all hostile searches, with its state before any ran.

    Sharing it is safe for the test's purpose: each test compares the state
    with the one taken here, so any search that changed it fails.
    """
    con = load_into_duckdb(events)
    yield con, _state(con)
    con.close()


@pytest.mark.parametrize("query", HOSTILE)
def test_hostile_search_is_literal_or_refused(
    events, target, tmp_path, monkeypatch, query
):
    con, before = target
    monkeypatch.chdir(tmp_path)

    try:
        parse_query(query)
    except QueryError as exc:
        assert 0 <= exc.position <= len(query)
        with pytest.raises(QueryError):
            compile_sql(query, list(events.columns))
        return

    sql, params = compile_sql(query, list(events.columns))
    selected = con.execute(f"SELECT rid FROM events WHERE {sql} ORDER BY rid", params)
    rows = [row[0] for row in selected.fetchall()]

    assert rows == list(events.index[filter_events(events, query)])
    assert _state(con) == before
    assert os.listdir(tmp_path) == []


@pytest.mark.parametrize(
    ("query", "expected"),
    [
        ("DROP TABLE", [7, 9]),
        ('"; DROP TABLE t"', [7, 9]),
        ("Name=%", []),
        ("Name=_", []),
        ("Name=.*", []),
        ("Name=\\.*", []),
        ("?", [4]),
        ("Name=COPY", [7]),
    ],
)
def test_hostile_text_matches_only_itself(events, duck, query, expected):
    sql, params = compile_sql(query, list(events.columns))
    rows = duck.execute(f"SELECT rid FROM events WHERE {sql} ORDER BY rid", params)

    assert [row[0] for row in rows.fetchall()] == expected
    assert list(events.index[filter_events(events, query)]) == expected
