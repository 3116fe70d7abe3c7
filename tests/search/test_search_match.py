"""What each search selects, on pandas and on DuckDB alike.

One table of searches and the row ids they must select drives three checks:
``filter_events`` selects exactly those rows, ``compile_sql`` run on a real
DuckDB table selects the same rows, and the SQL holds nothing from the
search text.
"""

from __future__ import annotations

import re
import time

import duckdb
import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest
from search_cases import ALL_IDS, CASE_IDS, CASES, load_into_duckdb

from procanom.search import compile_sql, filter_events, parse_query, quote_identifier


def _sql_ids(con: duckdb.DuckDBPyConnection, sql: str, params: list) -> list[int]:
    rows = con.execute(f"SELECT rid FROM events WHERE {sql} ORDER BY rid", params)
    return [row[0] for row in rows.fetchall()]


@pytest.mark.parametrize(("query", "expected"), CASES, ids=CASE_IDS)
def test_filter_events_selects_expected_rows(events, query, expected):
    mask = filter_events(events, query)

    assert mask.dtype == bool
    assert mask.index.equals(events.index)
    assert list(events.index[mask]) == expected


@pytest.mark.parametrize(("query", "expected"), CASES, ids=CASE_IDS)
def test_compile_sql_selects_same_rows_as_filter_events(events, duck, query, expected):
    sql, params = compile_sql(query, list(events.columns))

    assert _sql_ids(duck, sql, params) == expected


_SQL_WORDS = {
    "AND", "AS", "CASE", "CAST", "COALESCE", "DOUBLE", "ELSE", "END", "FALSE",
    "NOT", "OR", "THEN", "TRUE", "TRY_CAST", "VARCHAR", "WHEN", "lower",
    "regexp_matches",
}  # fmt: skip


@pytest.mark.parametrize(("query", "expected"), CASES, ids=CASE_IDS)
def test_compile_sql_holds_only_fixed_words_and_known_columns(events, query, expected):
    sql, params = compile_sql(query, list(events.columns))

    rest = sql
    for name in sorted(events.columns, key=len, reverse=True):
        rest = rest.replace(quote_identifier(name), " ")
    assert re.fullmatch(r"[A-Za-z_ (),?<>=']*", rest), rest
    assert set(re.findall(r"[A-Za-z_]+", rest)) <= _SQL_WORDS
    assert rest.count("?") == len(params)


@pytest.fixture(scope="module")
def repeated_events(events) -> pd.DataFrame:
    """The events 1,700 times over: enough repeats to take the encoded path."""
    return events.iloc[np.tile(ALL_IDS, 1700)].reset_index(drop=True)


@pytest.mark.parametrize(("query", "expected"), CASES, ids=CASE_IDS)
def test_filter_events_same_rows_on_dictionary_encoded_columns(
    repeated_events, query, expected
):
    mask = filter_events(repeated_events, query).to_numpy()

    by_copy = mask.reshape(1700, len(ALL_IDS))
    assert (by_copy == by_copy[0]).all()
    assert np.flatnonzero(by_copy[0]).tolist() == expected


def test_filter_events_reads_chunked_columns(events):
    stacked = pd.concat([events, events], ignore_index=True)

    mask = filter_events(stacked, "Name=cmd.exe")

    assert list(stacked.index[mask]) == [1, 11, 13, 23]


def test_filter_events_keeps_index_labels(events):
    relabelled = events.set_axis([f"e{i}" for i in ALL_IDS])

    mask = filter_events(relabelled, "Name=cmd.exe")

    assert list(mask.index) == list(relabelled.index)
    assert list(relabelled.index[mask]) == ["e1", "e11"]


def test_filter_events_accepts_parsed_query(events):
    query = parse_query("Name=power*")

    assert list(events.index[filter_events(events, query)]) == [0, 2]


def test_filter_events_reads_non_text_columns_as_text():
    frame = pd.DataFrame({"ProcessId": [4, 868, 10000], "Name": ["a", "b", "c"]})

    assert list(frame.index[filter_events(frame, "ProcessId>100")]) == [1, 2]
    assert list(frame.index[filter_events(frame, "86")]) == [1]


def test_filter_events_refuses_duplicate_column_names(events):
    from procanom.errors import ParameterError

    doubled = pd.concat([events[["Name"]], events[["Name"]]], axis=1)

    with pytest.raises(ParameterError, match="unique column names"):
        filter_events(doubled, "x")


def test_filter_events_refuses_non_frame():
    from procanom.errors import ParameterError

    with pytest.raises(ParameterError, match="frame"):
        filter_events([{"Name": "x"}], "x")


def test_filter_events_matches_field_names_with_quotes_and_spaces():
    frame = pd.DataFrame({'a" "b': ["x", "y"], "it's": ["y", "x"]})

    assert list(frame.index[filter_events(frame, "'a\" \"b'=x")]) == [0]
    assert list(frame.index[filter_events(frame, "'it\\'s'=x")]) == [1]
    assert list(frame.index[filter_events(frame, '"it\'s"=x')]) == [1]


def test_filter_events_on_empty_frame_returns_empty_mask():
    frame = pd.DataFrame({"Name": pd.Series([], dtype=pd.StringDtype("pyarrow"))})

    assert filter_events(frame, "Name=x OR y").empty


def test_compile_sql_with_no_columns_matches_nothing_but_negations():
    assert compile_sql("x", []) == ("FALSE", [])
    assert compile_sql("NOT Name=x", []) == ("(NOT FALSE)", [])


def test_compile_sql_empty_query_is_true():
    assert compile_sql("", ["Name"]) == ("TRUE", [])


def test_compile_sql_refuses_text_as_columns():
    from procanom.errors import ParameterError

    with pytest.raises(ParameterError, match="columns"):
        compile_sql("x", "Name")


def test_compile_sql_quotes_hostile_column_names():
    name = 'x"; DROP TABLE t; --'
    con = duckdb.connect(":memory:")
    con.execute(f"CREATE TABLE t ({quote_identifier(name)} VARCHAR, rid INTEGER)")
    con.execute("INSERT INTO t VALUES ('a', 1), ('b', 2)")

    sql, params = compile_sql("'x\"; DROP TABLE t; --'=a", [name])
    rows = con.execute(f"SELECT rid FROM t WHERE {sql}", params).fetchall()

    assert rows == [(1,)]
    assert con.execute("SELECT count(*) FROM t").fetchone() == (2,)


def test_filter_events_is_vectorised_on_a_million_rows():
    n = 1_000_000
    rng = np.random.default_rng(0)
    name_i = rng.integers(0, 4, n)
    line_i = rng.integers(0, 4, n)
    user_i = rng.integers(0, 3, n)
    pids = rng.integers(0, 2000, n)

    def text(choices: list[str], picks: np.ndarray) -> pd.Series:
        values = pc.take(pa.array(choices), pa.array(picks))
        return pd.Series(values, dtype=pd.StringDtype("pyarrow"))

    frame = pd.DataFrame(
        {
            "Name": text(
                ["powershell.exe", "cmd.exe", "svchost.exe", "PowerShell_ISE.exe"],
                name_i,
            ),
            "CommandLine": text(["-enc AAAA", "/c whoami", "-k x", "mimikatz"], line_i),
            "User": text(["CORP\\alice", "NT AUTHORITY\\SYSTEM", "CORP\\bob"], user_i),
            "ProcessId": pd.Series(
                pa.array(pids).cast(pa.string()), dtype=pd.StringDtype("pyarrow")
            ),
        }
    )
    query = "Name=power* CommandLine=*-enc* OR mimikatz NOT User=*SYSTEM ProcessId>100"

    started = time.perf_counter()
    mask = filter_events(frame, query)
    elapsed = time.perf_counter() - started

    expected = (
        np.isin(name_i, [0, 3]) & np.isin(line_i, [0, 3]) & (user_i != 1) & (pids > 100)
    )
    assert np.array_equal(mask.to_numpy(), expected)
    # Row-by-row Python would take tens of seconds here; the kernels take
    # well under one. The bound is loose so a busy machine does not fail it.
    assert elapsed < 10, f"{elapsed:.1f} s for 1M rows"


REAL_QUERIES = [
    "Name=cmd.exe",
    "Name=power*",
    "CommandLine=*-enc* OR CommandLine=*hidden*",
    "powershell NOT User=*SYSTEM*",
    "ProcessId>1000 ParentName!=services.exe",
    "'Path'=C:\\Windows\\System32\\*",
]


@pytest.fixture(scope="module")
def real_export(shared_data) -> tuple[pd.DataFrame, duckdb.DuckDBPyConnection]:
    frame = pd.read_csv(
        shared_data / "winhostmon_process_sample.csv", dtype=pd.StringDtype("pyarrow")
    )
    con = load_into_duckdb(frame)
    yield frame, con
    con.close()


@pytest.mark.parametrize("query", REAL_QUERIES)
def test_compile_sql_matches_filter_events_on_real_export(real_export, query):
    frame, con = real_export

    sql, params = compile_sql(query, list(frame.columns))

    expected = list(frame.index[filter_events(frame, query)])
    assert _sql_ids(con, sql, params) == expected


def test_filter_events_finds_real_events(real_export):
    frame, _ = real_export

    assert filter_events(frame, "Name=cmd.exe").sum() > 0
    assert filter_events(frame, "Name=power*").sum() > 0
