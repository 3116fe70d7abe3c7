"""Several files in one frame: each mapped on its own, then put together."""

from __future__ import annotations

import pandas as pd
import pytest

from procanom.errors import InputFileError, ParameterError
from procanom.schema import FieldMapping, no_process_events_error, to_process_events

SYSMON_CHANNEL = "Microsoft-Windows-Sysmon/Operational"


def _winhostmon(frame_of, n=2):
    return frame_of(
        [
            {
                "_time": f"2024-05-01T10:00:0{i}.000Z",
                "host": "WKS-1",
                "Name": "cmd.exe",
                "Path": r"C:\Windows\System32\cmd.exe",
                "file": "a.csv",
            }
            for i in range(n)
        ]
    )


def _evtx_sysmon(frame_of, n=2):
    return frame_of(
        [
            {
                "Event.System.EventID": "1",
                "Event.System.Channel": SYSMON_CHANNEL,
                "Event.System.Computer": "wks-2.corp.example",
                "Event.System.TimeCreated.SystemTime": f"2024-05-01T11:00:0{i}.5Z",
                "Event.EventData.UtcTime": f"2024-05-01 11:00:0{i}.400",
                "Event.EventData.Image": r"C:\Windows\System32\whoami.exe",
                "Event.EventData.ProcessId": str(100 + i),
                "file": "b.evtx",
            }
            for i in range(n)
        ]
    )


def test_to_process_events_file_column_maps_each_file_on_its_own(frame_of):
    frame = pd.concat(
        [_winhostmon(frame_of), _evtx_sysmon(frame_of)], ignore_index=True
    )
    result = to_process_events(frame, file_column="file")
    out = result.frame
    assert out["host"].tolist() == ["WKS-1", "WKS-1", "WKS-2", "WKS-2"]
    assert out["Name"].tolist() == ["cmd.exe"] * 2 + ["whoami.exe"] * 2
    assert out["_time"].tolist()[2:] == [
        "2024-05-01T11:00:00.400Z",
        "2024-05-01T11:00:01.400Z",
    ]
    assert out["file"].tolist() == ["a.csv"] * 2 + ["b.evtx"] * 2
    assert result.mapping.sources["Path"] == "Path"
    assert set(result.mapping.files) == {"b.evtx"}
    assert result.mapping.files["b.evtx"].sources["Path"] == "Event.EventData.Image"


def test_to_process_events_file_column_equals_each_file_alone(frame_of):
    first, second = _winhostmon(frame_of), _evtx_sysmon(frame_of)
    frame = pd.concat([first, second], ignore_index=True)
    together = to_process_events(frame, file_column="file").frame
    for name, alone in (("a.csv", first), ("b.evtx", second)):
        expected = to_process_events(alone).frame.reset_index(drop=True)
        part = together[together["file"] == name][list(expected.columns)]
        pd.testing.assert_frame_equal(part.reset_index(drop=True), expected)


def test_to_process_events_file_column_keeps_row_order_and_labels(frame_of):
    first, second = _winhostmon(frame_of), _evtx_sysmon(frame_of)
    frame = pd.concat([first, second]).iloc[[0, 2, 1, 3]]
    frame.index = ["w", "x", "y", "z"]
    out = to_process_events(frame, file_column="file").frame
    assert out.index.tolist() == ["w", "x", "y", "z"]
    assert out["file"].tolist() == ["a.csv", "b.evtx", "a.csv", "b.evtx"]


def test_to_process_events_file_column_names_files_in_warnings(frame_of):
    security = frame_of(
        [{"EventID": "4624", "Channel": "Security", "file": "logons.json"}]
    )
    frame = pd.concat([_winhostmon(frame_of), security], ignore_index=True)
    result = to_process_events(frame, file_column="file")
    assert len(result.frame) == 2
    assert result.warnings == [
        "logons.json: Its one event is not a process creation (Sysmon event 1 "
        "or Security 4688); it is: Security/4624 (1)."
    ]
    assert result.other_events_by_file == {
        "a.csv": {},
        "logons.json": {"Security/4624": 1},
    }


def test_to_process_events_file_column_applies_a_given_per_file_mapping(frame_of):
    frame = pd.concat(
        [_winhostmon(frame_of), _evtx_sysmon(frame_of)], ignore_index=True
    )
    detected = to_process_events(frame, file_column="file").mapping
    again = to_process_events(frame, detected.to_dict(), file_column="file")
    assert again.mapping == detected
    assert again.warnings == []
    pd.testing.assert_frame_equal(
        again.frame, to_process_events(frame, file_column="file").frame
    )


def test_to_process_events_file_column_must_be_a_column(frame_of):
    with pytest.raises(ParameterError, match="file_column"):
        to_process_events(_winhostmon(frame_of), file_column="source_file")


def test_to_process_events_source_names_the_file_in_warnings(frame_of):
    frame = frame_of([{"a": "1", "b": "2"}])
    (warning,) = to_process_events(frame, source="x.csv").warnings
    assert warning.startswith("x.csv: No column maps to a process field")
    (plain,) = to_process_events(frame).warnings
    assert plain.startswith("No column maps to a process field: the columns are a, b")


def test_field_mapping_files_round_trip():
    mapping = FieldMapping(
        {"Path": "Path"},
        {"Name": "basename of Path"},
        {"b.evtx": FieldMapping({"Path": "Event.EventData.Image"})},
    )
    data = mapping.to_dict()
    assert data["files"] == {
        "b.evtx": {"sources": {"Path": "Event.EventData.Image"}, "derived": {}}
    }
    assert FieldMapping.from_dict(data) == mapping
    assert "files" not in FieldMapping({"Path": "Path"}).to_dict()
    assert mapping.for_file("b.evtx").sources == {"Path": "Event.EventData.Image"}
    assert mapping.for_file("a.csv") == FieldMapping(
        {"Path": "Path"}, {"Name": "basename of Path"}
    )


def test_field_mapping_per_file_takes_the_most_common_as_default():
    csv = FieldMapping({"Path": "Path"})
    evtx = FieldMapping({"Path": "Event.EventData.Image"})
    combined = FieldMapping.per_file({"e.evtx": evtx, "a.csv": csv, "b.csv": csv})
    assert combined.sources == {"Path": "Path"}
    assert combined.files == {"e.evtx": evtx}
    same = FieldMapping.per_file({"a.csv": csv, "b.csv": csv})
    assert same == csv


@pytest.mark.parametrize("files", ["x", {"a.csv": "Path"}, {"a.csv": {"x": {}}}])
def test_field_mapping_refuses_malformed_files(files):
    with pytest.raises(ParameterError, match="files"):
        FieldMapping.from_dict({"sources": {}, "files": files})


def test_no_process_events_error_names_each_file_and_what_it_holds():
    error = no_process_events_error(
        ["a.evtx", "b.csv"], {"a.evtx": {"Security/4624": 3, "Security/4672": 1}}
    )
    assert isinstance(error, InputFileError)
    assert str(error) == (
        "a.evtx, b.csv: no process events in these files (a Sysmon event 1, a "
        "Security 4688, or a row of a process export): a.evtx holds 4 records, "
        "none of them a process creation: Security/4624 (3), Security/4672 (1); "
        "b.csv holds no records. Add the files that hold the process starts "
        "(Sysmon Operational, or Security with process creation auditing on)."
    )
