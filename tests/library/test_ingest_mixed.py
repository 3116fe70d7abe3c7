"""Ingest of several sources at once gives what procanom.io gives for them."""

from __future__ import annotations

import zipfile

import pandas as pd
import pytest

from procanom.cli import main
from procanom.errors import InputFileError
from procanom.io import SOURCE_FILE_COLUMN, read_events
from procanom.library import DatasetLibrary
from procanom.store import ExperimentStore

MIXED = [
    "raw/otrf_cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json",
    "raw/otrf_LSASS_campaign_03_process_creation_only.jsonl",
    "raw/evtx/eas_Lateral_Movement_LM_wmiexec_impacket_sysmon_whoami.evtx",
    "raw/evtx/evtxrs_sysmon_with_bad_trailing_chunk.evtx",
]
NO_PROCESS = "raw/evtx/evtxrs_security_no_process_events.evtx"


@pytest.fixture
def mixed(shared_data):
    return [shared_data / name for name in MIXED]


def test_library_ingest_mixed_formats_matches_read_events(library, mixed):
    expected = read_events(mixed)

    info = library.ingest(mixed, "mixed")

    assert info.events == len(expected.frame) == 363
    assert info.hosts == 4
    assert info.mapping == expected.report.mapping
    assert info.warnings == expected.report.warnings
    frame = library.search(info.id)
    pd.testing.assert_frame_equal(frame, expected.frame)
    assert frame["host"].notna().all() and frame["_time"].notna().all()


def test_library_ingest_mixed_formats_each_file_as_alone(library, mixed):
    info = library.ingest(mixed, "mixed")
    frame = library.search(info.id)

    for path in mixed:
        alone = read_events(path).frame.reset_index(drop=True)
        part = frame[frame[SOURCE_FILE_COLUMN] == str(path)][list(alone.columns)]
        pd.testing.assert_frame_equal(part.reset_index(drop=True), alone)


def test_library_ingest_chunked_maps_each_file_with_its_own_columns(tmp_path, mixed):
    # In chunks, 4688/Sysmon pairs that a chunk boundary separates stay two
    # rows, but every event still gets its host and time from its own file.
    with DatasetLibrary(tmp_path, chunk_rows=100) as library:
        info = library.ingest(mixed, "mixed")
        frame = library.search(info.id)

    assert len(frame) >= 363
    assert frame["host"].notna().all() and frame["_time"].notna().all()
    assert not any("which this data does not have" in w for w in info.warnings)


def test_library_set_mapping_keeps_each_files_mapping(library, mixed):
    info = library.ingest(mixed, "mixed")
    before = library.search(info.id)

    again = library.set_mapping(info.id, info.mapping)

    assert again.mapping == info.mapping
    fields = ["_time", "host", "Name", "Path", "CommandLine", "ProcessId", "User"]
    pd.testing.assert_frame_equal(library.search(info.id)[fields], before[fields])


def test_library_ingest_archive_members_mapped_as_read_events_maps_them(
    tmp_path, mixed
):
    archive = tmp_path / "logs.zip"
    with zipfile.ZipFile(archive, "w") as zipped:
        for path in mixed[1:3]:
            zipped.write(path, path.name)
    files = [mixed[0], archive]
    expected = read_events(files)

    with DatasetLibrary(tmp_path / "data") as library:
        info = library.ingest(files, "zip")

        assert info.warnings == expected.report.warnings
        pd.testing.assert_frame_equal(library.search(info.id), expected.frame)
    assert set(expected.frame[SOURCE_FILE_COLUMN]) == {
        str(mixed[0]),
        f"{archive}/{mixed[1].name}",
        f"{archive}/{mixed[2].name}",
    }


def test_library_ingest_refuses_files_without_process_events(library, shared_data):
    path = shared_data / NO_PROCESS

    with pytest.raises(InputFileError) as error:
        library.ingest(path, "logons")

    assert str(error.value).startswith(f"{path}: holds no process events")
    assert "Security/4624 (583)" in str(error.value)
    assert library.list() == []


def test_library_add_to_store_refuses_files_without_process_events(
    tmp_path, shared_data
):
    header_only = tmp_path / "header.csv"
    header_only.write_text("Name,Path\n", encoding="utf-8")
    with ExperimentStore(tmp_path) as store, DatasetLibrary(tmp_path) as library:
        with pytest.raises(InputFileError) as error:
            library.add_to_store(store, [shared_data / NO_PROCESS, header_only], "x")

        message = str(error.value)
        assert "no process events in these files" in message
        assert "evtxrs_security_no_process_events.evtx holds 2,261 records" in message
        assert "header.csv holds no records" in message
        assert store.list_datasets() == []


def test_cli_ingest_refuses_files_without_process_events(tmp_path, shared_data, capsys):
    status = main(
        [
            "ingest",
            str(shared_data / NO_PROCESS),
            "--dataset",
            "logons",
            "--data-dir",
            str(tmp_path),
        ]
    )

    assert status == 2
    assert "holds no process events" in capsys.readouterr().err


@pytest.mark.parametrize("stream_bytes", [0, 64 * 1024**2])
def test_library_ingest_warns_when_no_column_maps_to_a_process_field(
    tmp_path, stream_bytes
):
    path = tmp_path / "abc.csv"
    path.write_text("a,b,c\n1,2,3\n4,5,6\n", encoding="utf-8")
    with DatasetLibrary(tmp_path / "data", stream_bytes=stream_bytes) as library:
        info = library.ingest(path, "abc")

    assert info.events == 2
    (warning,) = info.warnings
    assert warning.startswith(f"{path}: No column maps to a process field")
    assert "the columns are a, b, c" in warning
    assert info.warnings == read_events(path).report.warnings
