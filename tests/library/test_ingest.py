"""Ingest: every reader path gives the events procanom.io gives."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from procanom.errors import InputFileError, ParameterError
from procanom.io import read_events
from procanom.library import DatasetLibrary, content_id
from procanom.library._ingest import PASS_THROUGH_FIELDS, Source, _Stager
from procanom.schema import to_process_events
from procanom.store import ExperimentStore

SHARED_FILES = [
    "winhostmon_process_sample.csv",
    "eval/otrf_sysmon1_process_events_labelled.csv",
    "raw/otrf_LSASS_campaign_03_process_creation_only.jsonl",
    "raw/otrf_cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json",
    "raw/otrf_covenant_sc_query_dcerpc_smb_svcctl_2020-08-05034820.json",
    "raw/evtx/eas_Lateral_Movement_LM_wmiexec_impacket_sysmon_whoami.evtx",
    "raw/evtx/evtxrs_sysmon_with_bad_trailing_chunk.evtx",
]


def _stored(library: DatasetLibrary, dataset_id: str) -> list[str]:
    return [stored for _, stored in library._catalogue.get(dataset_id).layout.visible]


@pytest.mark.parametrize("name", SHARED_FILES)
def test_library_ingest_matches_read_events(library, shared_data, name):
    path = shared_data / name
    expected = read_events(path)

    info = library.ingest(path, "sample")

    assert info.events == len(expected.frame)
    assert info.rows_read == expected.report.rows_read
    assert info.rows_skipped == expected.report.rows_skipped
    assert info.columns == list(expected.frame.columns)
    assert info.formats == expected.report.formats
    assert info.other_events == expected.report.other_events
    assert info.warnings == expected.report.warnings
    pd.testing.assert_frame_equal(library.search(info.id), expected.frame)


def test_library_ingest_counts_hosts_and_time_span(library, otrf):
    frame = read_events(otrf).frame

    info = library.ingest(otrf, "otrf")

    assert info.hosts == frame["host"].dropna().loc[lambda s: s != ""].nunique()
    times = pd.to_datetime(frame["_time"], utc=True, format="ISO8601")
    assert pd.Timestamp(info.time_min) == times.min()
    assert pd.Timestamp(info.time_max) == times.max()
    assert "otrf" in info.summary() and f"{info.events:,} events" in info.summary()


def test_library_ingest_several_files_adds_source_file(library, winhostmon, otrf):
    expected = read_events([winhostmon, otrf]).frame

    info = library.ingest([winhostmon, otrf], "both")

    assert "source_file" in info.columns
    assert info.source_files == [str(winhostmon), str(otrf)]
    pd.testing.assert_frame_equal(library.search(info.id), expected)


@pytest.mark.parametrize("name", SHARED_FILES[:2])
def test_library_duckdb_csv_reader_matches_read_events(tmp_path, shared_data, name):
    # Every size goes to DuckDB's reader, and mapping runs in chunks of 100.
    path = shared_data / name
    expected = read_events(path).frame
    with DatasetLibrary(tmp_path, stream_bytes=0, chunk_rows=100) as library:
        info = library.ingest(path, "big")

        assert info.reader == "duckdb-csv"
        pd.testing.assert_frame_equal(library.search(info.id), expected)


def test_library_csv_needing_repair_falls_back_to_io(tmp_path, shared_cases):
    # A PowerShell export with its #TYPE line: DuckDB is not trusted with it.
    path = tmp_path / "ps.csv"
    path.write_text(
        '#TYPE Selected.System.Diagnostics.Process\n"Name","Path"\n'
        '"cmd.exe","C:\\Windows\\System32\\cmd.exe"\n',
        encoding="utf-8",
    )
    with DatasetLibrary(tmp_path / "data", stream_bytes=0) as library:
        info = library.ingest(path, "ps")

        assert info.reader == "procanom.io"
        assert library.search(info.id)["Name"].tolist() == ["cmd.exe"]


def test_library_csv_with_broken_row_reports_it(tmp_path):
    path = tmp_path / "broken.csv"
    path.write_text(
        'Name,CommandLine\ncmd.exe,"cmd /c ""dir"""\nbad.exe,"unclosed "quote" x\n'
        "net.exe,net user\n",
        encoding="utf-8",
    )
    expected = read_events(path)
    with DatasetLibrary(tmp_path / "data", stream_bytes=0) as library:
        info = library.ingest(path, "broken")

        assert info.rows_skipped == expected.report.rows_skipped == 1
        assert info.skipped[0]["line"] == expected.report.skipped[0].line
        pd.testing.assert_frame_equal(library.search(info.id), expected.frame)


def test_stager_numbers_csv_rows_in_file_order_after_earlier_files(tmp_path):
    # A first file that DuckDB gave up on is dropped again, leaving row-id
    # gaps; the next files' rows still count on from the rows kept.
    first, second = tmp_path / "a.csv", tmp_path / "b.csv"
    first.write_text("Name,CommandLine\ncmd.exe,one\nnet.exe,two\n", "utf-8")
    second.write_text("Name,CommandLine\nwmic.exe,three\nsc.exe,four\n", "utf-8")
    conn = duckdb.connect(config={"preserve_insertion_order": True})
    stager = _Stager(conn, multi=True)
    stager.add_csv(Source("a.csv", first), ["Name", "CommandLine"], ",")
    stager.add_csv(Source("b.csv", first), ["Name", "CommandLine"], ",")
    stager.drop_from(2)
    stager.add_csv(Source("b.csv", second), ["Name", "CommandLine"], ",")
    conn.execute("INSERT INTO raw (r0, r1) VALUES ('y', 'gap'), ('x', 'gone')")
    conn.execute("DELETE FROM raw WHERE r0 = 'x'")
    conn.execute("INSERT INTO raw (r0, r1) VALUES ('z', 'after')")

    assert stager._number_new_rows(4) == 2
    rows = conn.execute("SELECT _row, r1, rs FROM raw ORDER BY _row").fetchall()
    assert rows == [
        (0, "one", "a.csv"),
        (1, "two", "a.csv"),
        (2, "three", "b.csv"),
        (3, "four", "b.csv"),
        (4, "gap", None),
        (5, "after", None),
    ]


def test_library_identity_path_keeps_canonical_data_as_read(tmp_path):
    frame = pd.DataFrame(
        {
            "_time": [f"2024-01-01T00:00:{s:02d}.{s:03d}Z" for s in range(60)] * 5,
            "host": ["WS1", "WS2", "DC1"] * 100,
            "Name": ["cmd.exe", "svchost.exe", "mimikatz.exe"] * 100,
            "Path": [
                "C:\\Windows\\System32\\cmd.exe",
                "C:\\Windows\\System32\\svchost.exe",
                "C:\\Users\\a\\mimikatz.exe",
            ]
            * 100,
            "CommandLine": [f"cmd /c echo {i}" for i in range(300)],
            "ProcessId": [str(4 * i) for i in range(300)],
        }
    )
    path = tmp_path / "canonical.csv"
    frame.to_csv(path, index=False)
    expected = read_events(path).frame

    with DatasetLibrary(tmp_path / "data", stream_bytes=0, chunk_rows=50) as library:
        info = library.ingest(path, "canonical")

        assert all(s.startswith("r") for s in _stored(library, info.id))
        assert info.mapping == to_process_events(expected).mapping.to_dict()
        pd.testing.assert_frame_equal(library.search(info.id), expected)


def test_library_identity_path_refuses_data_the_schema_rewrites(tmp_path, winhostmon):
    # WinHostMon times carry no milliseconds, so the schema rewrites them.
    expected = read_events(winhostmon).frame
    with DatasetLibrary(tmp_path, stream_bytes=0, chunk_rows=50) as library:
        info = library.ingest(winhostmon, "win")

        assert all(s.startswith("c") for s in _stored(library, info.id))
        pd.testing.assert_frame_equal(library.search(info.id), expected)


@pytest.mark.parametrize("field", sorted(PASS_THROUGH_FIELDS))
def test_library_pass_through_fields_are_not_rewritten_by_the_schema(field):
    odd = [" x ", "C:\\A\\b.exe", "0x1F", "-", "a\nb", "ÄÖ", "1,5", "S-1-0-0"]
    frame = pd.DataFrame({field: odd}, dtype=pd.StringDtype("pyarrow"))

    out = to_process_events(frame, {"sources": {field: field}, "derived": {}}).frame

    assert out[field].tolist() == odd


def test_library_ingest_same_files_twice_reuses_dataset(library, winhostmon):
    first = library.ingest(winhostmon, "one")
    second = library.ingest(winhostmon, "two")

    assert second.id == first.id
    assert second.name == "one"
    assert [d.id for d in library.list()] == [first.id]


def test_library_content_id_is_the_store_dataset_id(tmp_path, winhostmon, otrf):
    store = ExperimentStore(tmp_path)

    record = store.save_dataset_paths("x", [winhostmon, otrf])

    assert content_id([otrf, winhostmon]) == record.id


def test_library_add_to_store_lists_dataset_in_store(tmp_path, winhostmon):
    with ExperimentStore(tmp_path) as store, DatasetLibrary(tmp_path) as library:
        info = library.add_to_store(store, [winhostmon], "fleet")

        assert store.get_dataset(info.id).name == "fleet"
        assert info.source_files == [winhostmon.name]
        assert info.events == 363


def test_library_add_to_store_removes_new_store_dataset_on_failure(tmp_path):
    bad = tmp_path / "empty.csv"
    bad.write_bytes(b"")
    with ExperimentStore(tmp_path) as store, DatasetLibrary(tmp_path) as library:
        with pytest.raises(InputFileError, match="empty"):
            library.add_to_store(store, [bad], "nothing")

        assert store.list_datasets() == []


def test_library_ensure_ingested_reads_store_dataset_lazily(tmp_path, winhostmon):
    store = ExperimentStore(tmp_path)
    record = store.save_dataset("uploaded", [("fleet.csv", winhostmon.read_bytes())])
    library = DatasetLibrary(tmp_path)
    assert record.id not in library

    info = library.ensure_ingested(store, record.id)

    assert info.id == record.id
    assert info.name == "uploaded"
    assert info.source_files == ["fleet.csv"]
    assert library.ensure_ingested(store, record.id).created_at == info.created_at
    assert library.count(record.id) == 363


@pytest.mark.parametrize(
    ("paths", "match"),
    [(["missing.csv"], "no such file"), ([], "no files")],
)
def test_library_ingest_bad_paths_name_the_problem(library, tmp_path, paths, match):
    with pytest.raises(InputFileError, match=match):
        library.ingest([tmp_path / p for p in paths], "x")


def test_library_ingest_refuses_blank_name(library, winhostmon):
    with pytest.raises(ParameterError, match="name"):
        library.ingest(winhostmon, "  ")


def test_library_ingest_respects_the_expansion_cap(tmp_path):
    import gzip

    path = tmp_path / "big.csv.gz"
    path.write_bytes(gzip.compress(b"Name,Path\n" + b"a.exe,C:\\a.exe\n" * 10_000))
    with DatasetLibrary(tmp_path / "data", max_expanded_bytes=1000) as library:
        with pytest.raises(InputFileError, match="expands to more than"):
            library.ingest(path, "bomb")
        assert library.list() == []


def test_library_leaves_no_files_behind_after_failure(tmp_path):
    bad = tmp_path / "bad.json"
    bad.write_text("{not json", encoding="utf-8")
    with DatasetLibrary(tmp_path / "data") as library:
        with pytest.raises(InputFileError):
            library.ingest(bad, "bad")
        leftovers = [p for p in Path(library.folder).rglob("*.duckdb*")]

    assert leftovers == []
