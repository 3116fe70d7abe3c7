"""Each source family ends up in the same process fields with the same values."""

from __future__ import annotations

import pandas as pd
import pytest

from procanom.schema import PROCESS_FIELDS, to_process_events

CMD = r"C:\Windows\System32\cmd.exe"
EXPLORER = r"C:\Windows\explorer.exe"

# What every family below should give for one cmd.exe started by explorer.
EXPECTED = {
    "_time": "2024-05-01T10:00:00.123Z",
    "host": "WKS-1",
    "Name": "cmd.exe",
    "Path": CMD,
    "CommandLine": "cmd.exe /c whoami",
    "User": "CORP\\alice",
    "ParentName": "explorer.exe",
    "ParentPath": EXPLORER,
    "ProcessId": "6700",
    "ParentProcessId": "8000",
}


def _row(result) -> dict:
    assert len(result.frame) == 1
    return result.frame.iloc[0].to_dict()


def _check(result, fields=EXPECTED) -> None:
    row = _row(result)
    assert {k: row.get(k) for k in fields} == {k: fields[k] for k in fields}
    assert all(result.frame[c].dtype == pd.StringDtype("pyarrow") for c in result.frame)


def test_to_process_events_sysmon_flat(frame_of):
    frame = frame_of(
        [
            {
                "EventID": "1",
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "wks-1.corp.example",
                "UtcTime": "2024-05-01 10:00:00.123",
                "Image": CMD,
                "CommandLine": "cmd.exe /c whoami",
                "User": "CORP\\alice",
                "ParentImage": EXPLORER,
                "ParentCommandLine": "C:\\Windows\\Explorer.EXE",
                "ProcessId": "6700",
                "ParentProcessId": "8000",
                "IntegrityLevel": "High",
                "Hashes": "SHA256=AB",
                "OriginalFileName": "Cmd.Exe",
                "LogonId": "0x3E7",
                "ProcessGuid": "{1}",
                "ParentProcessGuid": "{0}",
            }
        ]
    )
    result = to_process_events(frame)
    _check(result)
    row = _row(result)
    assert row["EventSource"] == "sysmon"
    assert row["LogonId"] == "0x3e7"
    assert row["ParentCommandLine"] == "C:\\Windows\\Explorer.EXE"
    assert (row["IntegrityLevel"], row["Hashes"], row["OriginalFileName"]) == (
        "High",
        "SHA256=AB",
        "Cmd.Exe",
    )
    assert (row["ProcessGuid"], row["ParentProcessGuid"]) == ("{1}", "{0}")
    assert result.warnings == []


def test_to_process_events_sysmon_evtx_flattened(frame_of):
    frame = frame_of(
        [
            {
                "Event.System.Provider.#attributes.Name": "Microsoft-Windows-Sysmon",
                "Event.System.EventID": "1",
                "Event.System.Channel": "Microsoft-Windows-Sysmon/Operational",
                "Event.System.Computer": "WKS-1.corp.example",
                "Event.System.TimeCreated.#attributes.SystemTime": (
                    "2024-05-01T10:00:00.1309917Z"
                ),
                "Event.System.Execution.#attributes.ProcessID": "2100",
                "Event.EventData.UtcTime": "2024-05-01 10:00:00.123",
                "Event.EventData.Image": CMD,
                "Event.EventData.CommandLine": "cmd.exe /c whoami",
                "Event.EventData.User": "CORP\\alice",
                "Event.EventData.ParentImage": EXPLORER,
                "Event.EventData.ProcessId": "6700",
                "Event.EventData.ParentProcessId": "8000.0",
            }
        ]
    )
    result = to_process_events(frame)
    _check(result)
    assert _row(result)["EventSource"] == "sysmon"
    # Originals stay beside the fields taken from them.
    assert _row(result)["Event.EventData.Image"] == CMD


def test_to_process_events_4688_hex_ids_and_creator_pid(frame_of):
    frame = frame_of(
        [
            {
                "EventID": "4688",
                "Channel": "Security",
                "Computer": "WKS-1.corp.example",
                "TimeCreated": "2024-05-01T10:00:00.123456Z",
                "NewProcessId": "0x1a2c",
                "NewProcessName": CMD,
                "ProcessId": "0x1f40",  # the creator
                "ParentProcessName": EXPLORER,
                "CommandLine": "cmd.exe /c whoami",
                "SubjectUserName": "alice",
                "SubjectDomainName": "CORP",
                "TargetUserName": "-",
                "TargetDomainName": "-",
                "SubjectLogonId": "0x2a1b3c",
                "TargetLogonId": "0x0",
                "MandatoryLabel": "S-1-16-12288",
            }
        ]
    )
    result = to_process_events(frame)
    _check(result)
    row = _row(result)
    assert row["EventSource"] == "security"
    assert row["IntegrityLevel"] == "High"
    assert row["LogonId"] == "0x2a1b3c"
    assert row["NewProcessId"] == "0x1a2c"


def test_to_process_events_4688_target_account_wins_when_set(frame_of):
    frame = frame_of(
        [
            {
                "EventCode": "4688",
                "NewProcessId": "0x10",
                "NewProcessName": CMD,
                "SubjectUserName": "WKS-1$",
                "SubjectDomainName": "CORP",
                "TargetUserName": "bob",
                "TargetDomainName": "CORP",
                "SubjectLogonId": "0x3e7",
                "TargetLogonId": "0x51a",
            }
        ]
    )
    row = _row(to_process_events(frame))
    assert (row["User"], row["LogonId"]) == ("CORP\\bob", "0x51a")


def test_to_process_events_winlogbeat_event_data(frame_of):
    frame = frame_of(
        [
            {
                "event_id": "1",
                "log_name": "Microsoft-Windows-Sysmon/Operational",
                "source_name": "Microsoft-Windows-Sysmon",
                "computer_name": "WKS-1.corp.example",
                "@timestamp": "2024-05-01T10:00:00.500Z",
                "event_data.UtcTime": "2024-05-01 10:00:00.123",
                "event_data.Image": CMD,
                "event_data.CommandLine": "cmd.exe /c whoami",
                "event_data.User": "CORP\\alice",
                "event_data.ParentImage": EXPLORER,
                "event_data.ProcessId": "6700",
                "event_data.ParentProcessId": "8000",
            },
            {
                "event_id": "3",
                "log_name": "Microsoft-Windows-Sysmon/Operational",
                "event_data.Image": CMD,
            },
        ]
    )
    result = to_process_events(frame)
    _check(result)
    assert result.other_events == {"Microsoft-Windows-Sysmon/Operational/3": 1}


def test_to_process_events_ecs(frame_of):
    frame = frame_of(
        [
            {
                "@timestamp": "2024-05-01T12:00:00.123+02:00",
                "event.code": "1",
                "event.provider": "Microsoft-Windows-Sysmon",
                "winlog.channel": "Microsoft-Windows-Sysmon/Operational",
                "host.name": "wks-1",
                "process.executable": CMD,
                "process.name": "cmd.exe",
                "process.command_line": "cmd.exe /c whoami",
                "process.pid": "6700",
                "process.parent.pid": "8000",
                "process.parent.executable": EXPLORER,
                "process.parent.name": "explorer.exe",
                "user.name": "alice",
                "user.domain": "CORP",
            }
        ]
    )
    result = to_process_events(frame)
    _check(result)
    assert result.mapping.derived["User"] == "account from user.domain + user.name"


def test_to_process_events_osquery(frame_of):
    frame = frame_of(
        [
            {
                "name": "cmd.exe",
                "path": CMD,
                "cmdline": "cmd.exe /c whoami",
                "pid": "6700",
                "parent": "8000",
                "start_time": "1714557600",
                "hostIdentifier": "wks-1",
            }
        ]
    )
    fields = {
        **{k: EXPECTED[k] for k in ("host", "Name", "Path", "CommandLine")},
        "ProcessId": "6700",
        "ParentProcessId": "8000",
        "_time": "2024-05-01T10:00:00.000Z",
        "EventSource": "osquery",
    }
    _check(to_process_events(frame), fields)


def test_to_process_events_get_process(frame_of):
    frame = frame_of(
        [
            {
                "Name": "cmd",
                "Id": "6700",
                "Path": CMD,
                "StartTime": "5/1/2024 10:00:00 AM",
                "PSComputerName": "WKS-1",
            }
        ]
    )
    result = to_process_events(frame)
    # Get-Process names carry no extension; the name is kept as exported.
    fields = {
        "Name": "cmd",
        "Path": CMD,
        "ProcessId": "6700",
        "host": "WKS-1",
        "_time": "2024-05-01T10:00:00.000Z",
        "EventSource": "powershell",
    }
    _check(result, fields)
    assert any("no time zone" in w for w in result.warnings)


def test_to_process_events_win32_process(frame_of):
    frame = frame_of(
        [
            {
                "Name": "cmd.exe",
                "ExecutablePath": CMD,
                "CommandLine": "cmd.exe /c whoami",
                "ProcessId": "6700",
                "ParentProcessId": "8000",
                "CSName": "WKS-1",
                "CreationDate": "20240501120000.123456+120",
            }
        ]
    )
    fields = {
        k: EXPECTED[k]
        for k in ("_time", "host", "Name", "Path", "CommandLine", "ProcessId")
    }
    _check(to_process_events(frame), {**fields, "ParentProcessId": "8000"})


def test_to_process_events_splunk_cim(frame_of):
    frame = frame_of(
        [
            {
                "_time": "2024-05-01T10:00:00.123+0000",
                "dest": "wks-1.corp.example",
                "process_name": "cmd.exe",
                "process_path": CMD,
                "process": "cmd.exe /c whoami",
                "parent_process_name": "explorer.exe",
                "parent_process_path": EXPLORER,
                "user": "CORP\\alice",
                "process_id": "6700",
                "parent_process_id": "8000",
            }
        ]
    )
    result = to_process_events(frame)
    _check(result)
    assert _row(result)["EventSource"] == "cim"


def test_to_process_events_winhostmon_keeps_host_as_written(frame_of):
    frame = frame_of(
        [
            {
                "_time": "2019-01-15T04:15:26.000Z",
                "host": "MSTICAlertsWin1",
                "sourcetype": "WinHostMon",
                "source": "process",
                "Name": "cscript.exe",
                "Path": "C:\\Windows\\System32\\cscript.exe",
                "ProcessId": "868",
                "EventCode": "4688",
            }
        ]
    )
    row = _row(to_process_events(frame))
    assert row["host"] == "MSTICAlertsWin1"
    assert row["EventSource"] == "winhostmon"


def test_to_process_events_keeps_originals_after_fields(frame_of):
    frame = frame_of([{"Image": CMD, "Custom": "x", "Name": "cmd.exe"}])
    result = to_process_events(frame)
    assert list(result.frame.columns) == [
        "Name",
        "Path",
        "EventSource",
        "Image",
        "Custom",
    ]
    assert set(result.frame.columns[:3]) <= set(PROCESS_FIELDS)


def test_to_process_events_derives_name_where_column_is_empty(frame_of):
    frame = frame_of(
        [
            {"Name": "a.exe", "Path": "C:\\x\\a.exe"},
            {"Name": None, "Path": '"C:\\x y\\b.exe"'},
            {"Name": "", "Path": "C:\\x\\c.exe"},
        ]
    )
    assert to_process_events(frame).frame["Name"].tolist() == [
        "a.exe",
        "b.exe",
        "c.exe",
    ]


def test_to_process_events_host_ip_address_is_kept_whole(frame_of):
    frame = frame_of([{"dest": "10.1.2.3", "process_name": "a.exe"}])
    assert _row(to_process_events(frame))["host"] == "10.1.2.3"


def test_to_process_events_accepts_non_text_columns():
    frame = pd.DataFrame({"Name": ["a.exe", "b.exe"], "ProcessId": [12.0, None]})
    result = to_process_events(frame)
    assert result.frame["ProcessId"].tolist() == ["12", pd.NA]


def test_to_process_events_keeps_the_callers_index(frame_of):
    frame = frame_of(
        [
            {"EventID": "4624", "Channel": "Security"},
            {"EventID": "1", "Channel": "Microsoft-Windows-Sysmon/Operational"},
        ]
    )
    frame.index = pd.Index([7, 7])
    result = to_process_events(frame)
    assert result.frame.index.tolist() == [7]


@pytest.mark.parametrize("bad", [None, [{"Name": "a"}], "frame.csv"])
def test_to_process_events_rejects_non_frames(bad):
    from procanom.errors import ParameterError

    with pytest.raises(ParameterError, match="frame must be a pandas DataFrame"):
        to_process_events(bad)
