"""A process logged by both Sysmon and 4688 counts once."""

from __future__ import annotations

import pandas as pd

from procanom.schema import to_process_events

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def _pair(frame_of, *, sec_time="2024-05-01T10:00:01.500Z", sec_host="WKS-1.corp"):
    return frame_of(
        [
            {
                "EventID": "1",
                "Channel": SYSMON,
                "Hostname": "WKS-1.corp",
                "TimeCreated": "2024-05-01T10:00:00.100Z",
                "UtcTime": "2024-05-01 10:00:00.100",
                "Image": "C:\\Windows\\System32\\cmd.exe",
                "ProcessId": "6700",
                "ParentProcessId": "8000",
                "User": "CORP\\alice",
                "IntegrityLevel": None,
            },
            {
                "EventID": "4688",
                "Channel": "Security",
                "Hostname": sec_host,
                "TimeCreated": sec_time,
                "NewProcessName": "C:\\Windows\\System32\\cmd.exe",
                "NewProcessId": "0x1a2c",
                "ProcessId": "0x1f40",
                "MandatoryLabel": "S-1-16-12288",
                "TokenElevationType": "%%1937",
            },
        ]
    )


def test_to_process_events_merges_sysmon_and_4688_of_one_process(frame_of):
    result = to_process_events(_pair(frame_of))
    assert result.duplicates_merged == 1
    assert len(result.frame) == 1
    row = result.frame.iloc[0]
    assert row["EventSource"] == "sysmon+security"
    assert row["_time"] == "2024-05-01T10:00:00.100Z"  # Sysmon's
    # Gaps of the Sysmon row are filled from the 4688 row.
    assert row["IntegrityLevel"] == "High"
    assert row["TokenElevationType"] == "%%1937"
    assert row["User"] == "CORP\\alice"
    assert row["ParentProcessId"] == "8000"
    assert result.frame.index.tolist() == [0]


def test_to_process_events_keeps_both_when_more_than_2_seconds_apart(frame_of):
    result = to_process_events(_pair(frame_of, sec_time="2024-05-01T10:00:02.200Z"))
    assert result.duplicates_merged == 0
    assert result.frame["EventSource"].tolist() == ["sysmon", "security"]


def test_to_process_events_keeps_both_on_different_hosts(frame_of):
    result = to_process_events(_pair(frame_of, sec_host="WKS-2.corp"))
    assert result.duplicates_merged == 0
    assert len(result.frame) == 2


def test_to_process_events_host_case_and_domain_do_not_block_a_merge(frame_of):
    result = to_process_events(_pair(frame_of, sec_host="wks-1"))
    assert result.duplicates_merged == 1


def test_to_process_events_deduplicate_false_keeps_both(frame_of):
    result = to_process_events(_pair(frame_of), deduplicate=False)
    assert result.duplicates_merged == 0
    assert result.frame["ProcessId"].tolist() == ["6700", "6700"]


def test_to_process_events_pairs_each_row_once_by_closest_time(frame_of):
    # Two Sysmon starts of pid 6700 a second apart (pid reuse), one 4688.
    frame = _pair(frame_of, sec_time="2024-05-01T10:00:01.000Z")
    late = frame.iloc[[0]].copy()
    late["UtcTime"] = "2024-05-01 10:00:01.100"
    late["Image"] = "C:\\Windows\\System32\\whoami.exe"
    frame = pd.concat([frame, late], ignore_index=True)
    result = to_process_events(frame)
    assert result.duplicates_merged == 1
    assert result.frame["EventSource"].tolist() == ["sysmon", "sysmon+security"]
