"""Several files of different sources read together, as one dataset.

Reading files together must give what reading each alone gives, put one
after another: each file mapped with its own columns and its own time
handling. The only thing that looks across files is folding a Security 4688
record into the Sysmon record of the same process.
"""

from __future__ import annotations

import json

import pandas as pd
import pytest

from procanom.errors import InputFileError
from procanom.io import SOURCE_FILE_COLUMN, read_events, read_upload

OTRF_PSEXEC = "raw/otrf_cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json"
OTRF_LSASS = "raw/otrf_LSASS_campaign_03_process_creation_only.jsonl"
EVTX_WMIEXEC = "raw/evtx/eas_Lateral_Movement_LM_wmiexec_impacket_sysmon_whoami.evtx"
EVTX_BAD_CHUNK = "raw/evtx/evtxrs_sysmon_with_bad_trailing_chunk.evtx"
EVTX_NO_PROCESS = "raw/evtx/evtxrs_security_no_process_events.evtx"
MIXED = [OTRF_PSEXEC, OTRF_LSASS, EVTX_WMIEXEC, EVTX_BAD_CHUNK]


@pytest.fixture(scope="module")
def mixed(shared_data):
    """The four real files read together, and each read alone."""
    paths = [shared_data / name for name in MIXED]
    return read_events(paths), {str(p): read_events(p) for p in paths}


def test_read_mixed_formats_equals_each_file_read_alone(mixed):
    together, alone = mixed
    frame = together.frame

    # 4 + 128 + 4 + 227: no file's events are lost or duplicated.
    assert len(frame) == sum(len(one.frame) for one in alone.values()) == 363
    counts = frame[SOURCE_FILE_COLUMN].value_counts().to_dict()
    assert counts == {name: len(one.frame) for name, one in alone.items()}
    for name, one in alone.items():
        part = frame[frame[SOURCE_FILE_COLUMN] == name]
        expected = one.frame.reset_index(drop=True)
        pd.testing.assert_frame_equal(
            part[list(expected.columns)].reset_index(drop=True), expected
        )


def test_read_mixed_formats_every_event_has_host_and_time(mixed):
    frame = mixed[0].frame
    assert frame["host"].notna().all() and (frame["host"] != "").all()
    assert frame["_time"].notna().all()
    assert frame["host"].value_counts().to_dict() == {
        "DESKTOP-2KGM189": 227,
        "PRD01": 128,
        "WORKSTATION5": 4,
        "IEWIN7": 4,
    }


def test_read_mixed_formats_keeps_each_files_merges_and_time_zones(mixed):
    together, alone = mixed
    frame = together.frame
    psexec = frame[frame[SOURCE_FILE_COLUMN].str.endswith(OTRF_PSEXEC.split("/")[-1])]
    assert psexec["EventSource"].tolist() == ["sysmon+security"] * 4
    lsass = frame[frame[SOURCE_FILE_COLUMN].str.endswith("only.jsonl")]
    assert lsass["EventSource"].value_counts().to_dict() == {
        "sysmon": 73,
        "sysmon+security": 54,
        "security": 1,
    }
    # Each OTRF file's record times are aligned with its own offset.
    warnings = together.report.warnings
    assert any("+4:00 on host WORKSTATION5" in w for w in warnings)
    assert any("+7:00 on host PRD01" in w for w in warnings)
    assert not any("read as UTC" in w for w in warnings)
    # The report's warnings are those of the files read alone.
    assert sorted(warnings) == sorted(
        w for one in alone.values() for w in one.report.warnings
    )


def test_read_mixed_formats_reports_each_files_mapping(mixed, shared_data):
    mapping = mixed[0].report.mapping
    evtx = str(shared_data / EVTX_WMIEXEC)
    assert mapping["sources"]["Path"] == "Image"
    assert mapping["files"][evtx]["sources"]["Path"] == "Event.EventData.Image"
    assert mapping["files"][evtx]["derived"]["host"] == (
        "short upper-case name of Event.System.Computer"
    )


def test_read_evtx_beside_jsonl_gives_the_sum_of_both(shared_data):
    loaded = read_events([shared_data / EVTX_WMIEXEC, shared_data / OTRF_LSASS])
    assert len(loaded.frame) == 4 + 128
    assert loaded.frame["host"].notna().all()


def _split_lsass(shared_data, tmp_path):
    """Cut the LSASS recording into two files, each line kept verbatim.

    ``sysmon_twins.jsonl`` holds the 54 Sysmon records that have a 4688
    twin; ``rest.jsonl`` the 55 4688 records and the 73 later Sysmon
    records, from which its own time zone offset can be seen.
    """
    lines = (shared_data / OTRF_LSASS).read_text(encoding="utf-8").splitlines()
    records = [json.loads(line) for line in lines]
    last_4688 = max(
        pd.Timestamp(r["TimeCreated"]) for r in records if str(r["EventID"]) == "4688"
    ) + pd.Timedelta(hours=7)
    twins, rest = [], []
    for line, record in zip(lines, records, strict=True):
        is_twin = str(record["EventID"]) == "1" and pd.Timestamp(
            record["UtcTime"], tz="UTC"
        ) <= last_4688 + pd.Timedelta(seconds=1)
        (twins if is_twin else rest).append(line)
    first, second = tmp_path / "sysmon_twins.jsonl", tmp_path / "rest.jsonl"
    first.write_text("\n".join(twins) + "\n", encoding="utf-8")
    second.write_text("\n".join(rest) + "\n", encoding="utf-8")
    return first, second


def test_read_several_files_folds_4688_into_sysmon_of_another_file(
    shared_data, tmp_path
):
    first, second = _split_lsass(shared_data, tmp_path)
    alone = len(read_events(first).frame) + len(read_events(second).frame)
    assert alone == 54 + 128

    together = read_events([first, second]).frame
    whole = read_events(shared_data / OTRF_LSASS).frame
    assert len(together) == len(whole) == 128
    assert together["EventSource"].value_counts().to_dict() == {
        "sysmon": 73,
        "sysmon+security": 54,
        "security": 1,
    }
    columns = ["_time", "host", "Name", "ProcessId", "EventSource"]
    key = ["_time", "ProcessId"]
    pd.testing.assert_frame_equal(
        together[columns].sort_values(key).reset_index(drop=True),
        whole[columns].sort_values(key).reset_index(drop=True),
    )


def test_read_files_without_process_events_raises(shared_data):
    path = shared_data / EVTX_NO_PROCESS
    with pytest.raises(InputFileError) as error:
        read_events(path)
    message = str(error.value)
    assert message.startswith(f"{path}: holds no process events")
    assert "2,261 records" in message and "Security/4624 (583)" in message


def test_read_several_files_without_process_events_names_each(shared_data):
    files = [
        ("security.evtx", (shared_data / EVTX_NO_PROCESS).read_bytes()),
        ("header_only.csv", b"Name,Path\r\n"),
    ]
    with pytest.raises(InputFileError) as error:
        read_upload(files)
    message = str(error.value)
    assert message.startswith("security.evtx, header_only.csv: no process events")
    assert "security.evtx holds 2,261 records" in message
    assert "header_only.csv holds no records" in message


def test_read_header_only_csv_raises_with_the_schema_step(tmp_path):
    path = tmp_path / "header.csv"
    path.write_bytes(b"Name,Path\r\n")
    with pytest.raises(InputFileError, match="holds no records, so no process"):
        read_events(path)


def test_read_upload_of_no_files_raises():
    with pytest.raises(InputFileError, match="no files were given"):
        read_upload([])


def test_read_without_normalising_keeps_files_without_process_events(shared_data):
    loaded = read_events(shared_data / EVTX_NO_PROCESS, normalise=False)
    assert len(loaded.frame) == 2261


def test_read_file_without_process_events_beside_one_with_them_warns(shared_data):
    loaded = read_events([shared_data / EVTX_NO_PROCESS, shared_data / EVTX_WMIEXEC])
    assert len(loaded.frame) == 4
    (warning,) = [w for w in loaded.report.warnings if "None of the" in w]
    assert warning.startswith(f"{shared_data / EVTX_NO_PROCESS}: None of the 2,261")


def test_read_csv_without_process_columns_warns_naming_the_file():
    loaded = read_upload([("abc.csv", b"a,b,c\n1,2,3\n4,5,6\n")])
    assert len(loaded.frame) == 2
    (warning,) = loaded.report.warnings
    assert warning.startswith("abc.csv: No column maps to a process field")
    assert "the columns are a, b, c" in warning
    for expected in ("Name", "Path", "CommandLine", "Image", "NewProcessName"):
        assert expected in warning
    assert "1 warning" in loaded.report.summary()


def test_read_csv_with_only_host_and_time_warns_about_the_program():
    content = b"host,_time\nWKS-1,2024-05-01T10:00:00Z\n"
    (warning,) = read_upload([("ht.csv", content)]).report.warnings
    assert warning.startswith(
        "ht.csv: No column maps to Name, Path or CommandLine, the process fields "
        "that name the program (columns map only to _time, host)"
    )


def test_read_csv_with_a_name_column_does_not_warn():
    content = b"Name,User\ncmd.exe,CORP\\u1\n"
    assert not read_upload([("n.csv", content)]).report.warnings
