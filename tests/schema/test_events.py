"""Only process creations become rows; the rest are counted."""

from __future__ import annotations

from procanom.schema import to_process_events

SYSMON = "Microsoft-Windows-Sysmon/Operational"


def test_to_process_events_keeps_sysmon_1_and_security_4688_only(frame_of):
    frame = frame_of(
        [
            {"EventID": "1", "Channel": SYSMON, "Image": "C:\\a.exe"},
            {"EventID": "3", "Channel": SYSMON, "Image": "C:\\a.exe"},
            {"EventID": "4688", "Channel": "Security", "NewProcessName": "C:\\b.exe"},
            {"EventID": "4624", "Channel": "Security"},
            {"EventID": "4624", "Channel": "Security"},
            # Event 1 of another log is not a process creation.
            {"EventID": "1", "Channel": "System"},
        ]
    )
    result = to_process_events(frame)
    assert result.frame["Path"].tolist() == ["C:\\a.exe", "C:\\b.exe"]
    assert result.other_events == {
        "Security/4624": 2,
        f"{SYSMON}/3": 1,
        "System/1": 1,
    }
    assert result.warnings == []


def test_to_process_events_without_process_events_keeps_no_rows_and_says_why(
    frame_of,
):
    frame = frame_of(
        [{"EventID": "4624", "Channel": "Security"}] * 3
        + [{"EventID": "4672", "Channel": "Security"}]
    )
    result = to_process_events(frame)
    assert len(result.frame) == 0
    assert result.other_events == {"Security/4624": 3, "Security/4672": 1}
    assert result.warnings == [
        "None of the 4 events is a process creation (Sysmon event 1 or Security "
        "4688); they are: Security/4624 (3), Security/4672 (1)."
    ]


def test_to_process_events_frame_without_event_ids_keeps_every_row(frame_of):
    frame = frame_of([{"Name": "a.exe"}, {"Name": "b.exe"}])
    result = to_process_events(frame)
    assert len(result.frame) == 2
    assert result.other_events == {}


def test_to_process_events_event_id_without_channel(frame_of):
    # 4688 needs no channel; Sysmon 1 is recognised by Sysmon's own fields.
    frame = frame_of(
        [
            {"EventCode": "4688", "NewProcessName": "C:\\a.exe"},
            {"EventCode": "1", "Image": "C:\\b.exe"},
            {"EventCode": "1"},
            {"EventCode": "4689", "NewProcessName": None},
        ]
    )
    result = to_process_events(frame)
    assert result.frame["Path"].tolist() == ["C:\\a.exe", "C:\\b.exe"]
    assert result.other_events == {"(no channel)/1": 1, "(no channel)/4689": 1}


def test_to_process_events_splunk_source_names_the_log(frame_of):
    frame = frame_of(
        [
            {"EventCode": "4688", "source": "WinEventLog:Security", "host": "A"},
            {
                "EventCode": "1",
                "source": f"XmlWinEventLog:{SYSMON}",
                "sourcetype": "XmlWinEventLog",
                "host": "A",
            },
            {"EventCode": "4624", "source": "WinEventLog:Security", "host": "A"},
        ]
    )
    result = to_process_events(frame)
    assert result.frame["EventSource"].tolist() == ["security", "sysmon"]
    assert result.other_events == {"WinEventLog:Security/4624": 1}


def test_to_process_events_evtx_event_id_with_qualifiers(frame_of):
    frame = frame_of(
        [
            {
                "Event.System.EventID.#text": "4688",
                "Event.System.Channel": "Security",
                "Event.EventData.NewProcessName": "C:\\a.exe",
            },
            {
                "Event.System.EventID.#text": "7045",
                "Event.System.Channel": "System",
            },
        ]
    )
    result = to_process_events(frame)
    assert result.frame["Path"].tolist() == ["C:\\a.exe"]
    assert result.other_events == {"System/7045": 1}


def test_to_process_events_provider_column_alone_names_the_log(frame_of):
    frame = frame_of(
        [
            {
                "Event.System.EventID": "1",
                "Event.System.Provider.#attributes.Name": "Microsoft-Windows-Sysmon",
                "Event.EventData.Image": "C:\\a.exe",
            }
        ]
    )
    assert to_process_events(frame).frame["EventSource"].tolist() == ["sysmon"]


def test_to_process_events_splunk_file_source_does_not_name_the_log(frame_of):
    frame = frame_of(
        [
            {"Name": "a.exe", "source": "/opt/exports/procs.csv", "sourcetype": "csv"},
            {"Name": "b.exe", "source": "WinEventLog:Application"},
        ]
    )
    result = to_process_events(frame)
    assert result.frame["EventSource"].tolist() == ["csv", "application"]
