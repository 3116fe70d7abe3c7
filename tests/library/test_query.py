"""Search, count, profile and value counts agree with the in-memory functions."""

from __future__ import annotations

import itertools

import duckdb
import pandas as pd
import pyarrow as pa
import pytest

from procanom.errors import NotFoundError, ParameterError, QueryError
from procanom.io import read_events
from procanom.library._query import _in_file_order, folded_columns
from procanom.profile import profile_fields
from procanom.search import TimeRange, filter_events

QUERIES = [
    "",
    "*",
    "cmd",
    "powershell",
    "Name=cmd.exe",
    "Name=CMD.EXE",
    "Name=power*",
    "CommandLine=*-enc*",
    "NOT Name=svchost.exe",
    "Name!=svchost.exe",
    "Name=cmd.exe OR Name=powershell.exe",
    "Name=cmd.exe AND NOT User=*SYSTEM*",
    "(Name=cmd.exe OR Name=conhost.exe) ParentName=*",
    'Path="C:\\Windows\\System32\\*"',
    "ProcessId>1000",
    "ProcessId<=500 OR ProcessId>=0x10",
    "Name<c",
    "NoSuchField=x",
    "NOT NoSuchField=x",
    'label_reason=""',
    "User=*",
    "'Process Command Line'=*",
    "\\\\server",
    "50%",
    "a_b",
]

TIME_RANGES = [
    None,
    TimeRange("all"),
    TimeRange("15m"),
    TimeRange("1h"),
    TimeRange("custom", earliest="2019-01-15T05:00:00Z"),
    TimeRange("custom", latest="2019-01-15T04:30:00.5"),
    TimeRange("custom", "2020-10-18T00:00:00+02:00", "2020-10-19T12:00:00Z"),
]


@pytest.fixture(scope="module")
def both(tmp_path_factory, shared_data):
    """The two labelled exports, in memory and in one library."""
    from procanom.library import DatasetLibrary

    paths = [
        shared_data / "winhostmon_process_sample.csv",
        shared_data / "eval" / "otrf_sysmon1_process_events_labelled.csv",
    ]
    library = DatasetLibrary(tmp_path_factory.mktemp("data"))
    datasets = {}
    for path in paths:
        info = library.ingest(path, path.stem)
        datasets[path.stem] = (info.id, read_events(path).frame)
    yield library, datasets
    library.close()


@pytest.mark.parametrize("query", QUERIES)
def test_library_search_matches_filter_events(both, query):
    library, datasets = both
    for dataset_id, frame in datasets.values():
        expected = frame[filter_events(frame, query).to_numpy()]

        assert library.count(dataset_id, query) == len(expected)
        pd.testing.assert_frame_equal(library.search(dataset_id, query), expected)


@pytest.mark.parametrize("time_range", TIME_RANGES)
def test_library_time_range_matches_filter_events(both, time_range):
    library, datasets = both
    for dataset_id, frame in datasets.values():
        mask = filter_events(frame, "NOT Name=svchost.exe", time_range)

        got = library.search(dataset_id, "NOT Name=svchost.exe", time_range)

        assert got.index.tolist() == frame.index[mask.to_numpy()].tolist()


def test_library_time_range_relative_to_now_uses_the_given_clock(both):
    library, datasets = both
    dataset_id, frame = datasets["winhostmon_process_sample"]
    now = pd.Timestamp("2019-01-15T05:00:00Z")
    time_range = TimeRange("15m", relative_to="now")
    mask = filter_events(frame, "", time_range, now=now)

    assert library.count(dataset_id, "", time_range, now=now) == int(mask.sum()) > 0


def test_library_time_range_accepts_saved_dict(both):
    library, datasets = both
    dataset_id, _ = datasets["winhostmon_process_sample"]
    saved = TimeRange("1h").to_dict()

    assert library.count(dataset_id, "", saved) == library.count(
        dataset_id, "", TimeRange("1h")
    )


def test_library_search_pages_in_file_order(both):
    library, datasets = both
    dataset_id, _ = datasets["otrf_sysmon1_process_events_labelled"]
    everything = library.search(dataset_id, "Name=*")

    page = library.search(dataset_id, "Name=*", limit=10, offset=20)

    pd.testing.assert_frame_equal(page, everything.iloc[20:30])


def test_library_search_returns_chosen_columns(both):
    library, datasets = both
    dataset_id, _frame = datasets["winhostmon_process_sample"]

    got = library.search(dataset_id, "Name=cmd.exe", columns=["Name", "User"])

    assert list(got.columns) == ["Name", "User"]
    assert got.dtypes.tolist() == [pd.StringDtype("pyarrow")] * 2


def test_library_search_tells_columns_that_do_not_exist(both):
    library, datasets = both
    dataset_id, _ = datasets["winhostmon_process_sample"]

    with pytest.raises(ParameterError, match="columns of the dataset"):
        library.search(dataset_id, columns=["Nope"])


@pytest.mark.parametrize("bad", ["Name=", "(Name=cmd.exe", "a | stats count", '"open'])
def test_library_search_bad_query_raises_with_position(both, bad):
    library, datasets = both
    dataset_id, _ = datasets["winhostmon_process_sample"]

    with pytest.raises(QueryError) as caught:
        library.count(dataset_id, bad)

    assert 0 <= caught.value.position <= len(bad)


def test_library_unknown_dataset_is_not_found(both):
    library, _ = both

    with pytest.raises(NotFoundError, match="no dataset"):
        library.count("0123456789abcdef", "")


@pytest.mark.parametrize("query", ["", "Name=cmd.exe OR Name=conhost.exe"])
def test_library_profile_matches_profile_fields(both, query):
    library, datasets = both
    for dataset_id, frame in datasets.values():
        selected = frame[filter_events(frame, query).to_numpy()]
        expected = profile_fields(selected, top=3)

        got = library.profile(dataset_id, query, top=3)

        plain = [c for c in expected.columns if c != "top_values"]
        pd.testing.assert_frame_equal(got[plain], expected[plain])
        for ours, theirs in zip(got["top_values"], expected["top_values"], strict=True):
            # Same counts; ties may list their values in another order.
            assert [n for _, n in ours] == [n for _, n in theirs]


def test_library_profile_top_values_ties_keep_first_appearance(both):
    library, datasets = both
    dataset_id, frame = datasets["winhostmon_process_sample"]

    got = library.profile(dataset_id, top=50).set_index("field")

    counts = got.loc["Name", "top_values"]
    first_seen = {v: i for i, v in reversed(list(enumerate(frame["Name"])))}
    for (a, na), (b, nb) in itertools.pairwise(counts):
        assert na > nb or (na == nb and first_seen[a] < first_seen[b])


def test_library_value_counts_count_empty_as_one_value(both):
    library, datasets = both
    dataset_id, frame = datasets["winhostmon_process_sample"]
    expected = frame["label_reason"].fillna("").value_counts()

    got = library.value_counts(dataset_id, "label_reason", limit=100)

    assert dict(zip(got["value"], got["count"], strict=True)) == expected.to_dict()
    assert got["percent"].sum() == pytest.approx(100.0)
    assert got["count"].is_monotonic_decreasing


def test_library_value_counts_follow_the_search(both):
    library, datasets = both
    dataset_id, _frame = datasets["winhostmon_process_sample"]

    got = library.value_counts(dataset_id, "Name", "Name=c*", limit=3)

    assert len(got) == 3
    assert all(v.lower().startswith("c") for v in got["value"])


def test_library_value_counts_refuses_unknown_field(both):
    library, datasets = both
    dataset_id, _ = datasets["winhostmon_process_sample"]

    with pytest.raises(ParameterError, match="field"):
        library.value_counts(dataset_id, "Nope")


def test_folded_columns_leaves_long_distinct_text_to_the_regex():
    conn = duckdb.connect()
    conn.execute(
        "CREATE TABLE events AS SELECT 'cmd.exe' AS c0, "
        "repeat('x', 60) || i::VARCHAR AS c1, i::VARCHAR AS c2 FROM range(1000) t(i)"
    )
    assert folded_columns(conn.cursor(), ["c0", "c1", "c2"]) == {"c0", "c2"}


def test_in_file_order_sorts_rows_read_out_of_order():
    table = pa.table({"_row": [2, 0, 1], "Name": ["c", "a", "b"]})
    ordered = _in_file_order(table)
    assert ordered.column("_row").to_pylist() == [0, 1, 2]
    assert ordered.column("Name").to_pylist() == ["a", "b", "c"]
    in_order = table.take([1, 2, 0])
    assert _in_file_order(in_order) is in_order


def test_library_profile_of_hundreds_of_columns_stays_in_memory(library, tmp_path):
    # Wide JSON exports flatten into hundreds of columns; counting the
    # distinct values of all of them at once ran out of DuckDB's memory.
    names = ["Name", *(f"EventData.Field{i}" for i in range(300))]
    rows = [names] + [
        [f"p{r}.exe", *(f"{r}-{i}" for i in range(300))] for r in range(20)
    ]
    path = tmp_path / "wide.csv"
    path.write_text("\n".join(",".join(row) for row in rows) + "\n")
    info = library.ingest([path], "Wide")

    profile = library.profile(info.id)

    assert len(profile) >= 300
    assert set(profile.loc[profile["field"] == "Name", "distinct"]) == {20}
