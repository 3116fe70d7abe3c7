"""Times become UTC ISO-8601 text, whatever zone and form they were written in."""

from __future__ import annotations

import pandas as pd
import pytest

from procanom.schema import to_process_events
from procanom.schema._times import format_times, parse_times


@pytest.mark.parametrize(
    ("written", "utc"),
    [
        ("2024-05-01T10:00:00.000+0000", "2024-05-01T10:00:00.000Z"),  # Splunk
        ("2024-05-01T12:00:00.000+02:00", "2024-05-01T10:00:00.000Z"),
        ("2024-05-01T05:30:00-04:30", "2024-05-01T10:00:00.000Z"),
        ("2020-10-19T03:30:54.1234567Z", "2020-10-19T03:30:54.123Z"),  # SystemTime
        ("2020-10-19T03:30:54.9999999Z", "2020-10-19T03:30:54.999Z"),  # cut
        ("2020-10-19 03:30:54.123", "2020-10-19T03:30:54.123Z"),  # UtcTime
        ("2024-05-01 10:00:00.000 UTC", "2024-05-01T10:00:00.000Z"),
        ("2024-05-01 12:00:00 +0200", "2024-05-01T10:00:00.000Z"),
        ("1714557600", "2024-05-01T10:00:00.000Z"),  # epoch seconds
        ("1714557600.25", "2024-05-01T10:00:00.250Z"),
        ("1714557600123", "2024-05-01T10:00:00.123Z"),  # epoch ms
        ("/Date(1714557600123)/", "2024-05-01T10:00:00.123Z"),  # ConvertTo-Json
        ("20240501120000.123456+120", "2024-05-01T10:00:00.123Z"),  # CIM
        ("20240501053000.000000-270", "2024-05-01T10:00:00.000Z"),
        ("5/1/2024 10:00:00 PM", "2024-05-01T22:00:00.000Z"),
        ("5/1/2024 12:00:00 AM", "2024-05-01T00:00:00.000Z"),
        ("01.05.2024 10:00", "2024-05-01T10:00:00.000Z"),  # Excel, day first
        ("Wed May  1 10:00:00 2024 UTC", "2024-05-01T10:00:00.000Z"),  # osquery
    ],
)
def test_parse_times_reads_each_form_as_utc(written, utc):
    parsed = parse_times(pd.Series([written], dtype="string[pyarrow]"))
    assert format_times(parsed.values).tolist() == [utc]
    assert parsed.unreadable == 0


def test_parse_times_slash_dates_are_day_first_when_a_day_shows_it():
    text = pd.Series(["13/1/2024 10:00", "5/1/2024 10:00"], dtype="string[pyarrow]")
    parsed = parse_times(text)
    assert format_times(parsed.values).tolist() == [
        "2024-01-13T10:00:00.000Z",
        "2024-01-05T10:00:00.000Z",
    ]
    assert parsed.ambiguous_day_month == 0


def test_to_process_events_unreadable_times_stay_visible(frame_of):
    frame = frame_of(
        [
            {"Name": "a.exe", "TimeCreated": "2024-05-01T10:00:00Z"},
            {"Name": "b.exe", "TimeCreated": "yesterday"},
            {"Name": "c.exe", "TimeCreated": None},
        ]
    )
    result = to_process_events(frame)
    assert result.frame["_time"].tolist() == ["2024-05-01T10:00:00.000Z", pd.NA, pd.NA]
    assert result.frame["TimeCreated"].tolist() == frame["TimeCreated"].tolist()
    assert result.warnings == [
        "1 value of 'TimeCreated' could not be read as a time (for example "
        "'yesterday'); _time is empty there and 'TimeCreated' is kept as written."
    ]


def test_to_process_events_unreadable_splunk_time_is_kept_beside(frame_of):
    frame = frame_of([{"_time": "not a time", "Name": "a.exe"}])
    result = to_process_events(frame)
    assert result.frame["_time"].isna().all()
    assert result.frame["_time (as written)"].tolist() == ["not a time"]


def test_to_process_events_zoneless_times_are_read_as_utc_with_a_warning(frame_of):
    frame = frame_of([{"Name": "a.exe", "TimeCreated": "2024-05-01 10:00:00"}])
    result = to_process_events(frame)
    assert result.frame["_time"].tolist() == ["2024-05-01T10:00:00.000Z"]
    assert result.warnings == [
        "1 value of 'TimeCreated' names no time zone; read as UTC."
    ]


def test_to_process_events_sysmon_utctime_needs_no_zone_warning(frame_of):
    frame = frame_of([{"Image": "C:\\a.exe", "UtcTime": "2024-05-01 10:00:00.000"}])
    assert to_process_events(frame).warnings == []


def test_to_process_events_aligns_local_record_times_to_sysmon_utctime(frame_of):
    # As in OTRF: the shipper wrote local time (UTC-4) and labelled it UTC.
    # The Sysmon rows show the 4 hour offset; the 4688 rows are moved by it.
    frame = frame_of(
        [
            {
                "EventID": "1",
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Hostname": "WKS-1",
                "TimeCreated": "2020-10-19T03:30:46.257Z",
                "UtcTime": "2020-10-19 07:30:46.251",
                "Image": "C:\\a.exe",
                "ProcessId": "7256",
            },
            {
                "EventID": "4688",
                "Channel": "Security",
                "Hostname": "WKS-1",
                "TimeCreated": "2020-10-19T03:31:10.100Z",
                "NewProcessName": "C:\\b.exe",
                "NewProcessId": "0x10",
            },
        ]
    )
    result = to_process_events(frame)
    assert result.frame["_time"].tolist() == [
        "2020-10-19T07:30:46.251Z",
        "2020-10-19T07:31:10.100Z",
    ]
    assert result.warnings == [
        "'TimeCreated' differs from 'UtcTime' by a constant +4:00 on host WKS-1; "
        "1 event without 'UtcTime' was shifted by that amount to UTC."
    ]


def test_to_process_events_record_times_already_utc_are_not_shifted(frame_of):
    frame = frame_of(
        [
            {
                "Event.System.EventID": "1",
                "Event.System.Channel": "Microsoft-Windows-Sysmon/Operational",
                "Event.System.Computer": "WKS-1",
                "Event.System.TimeCreated.#attributes.SystemTime": (
                    "2019-04-30T20:32:51.168589Z"
                ),
                "Event.EventData.UtcTime": "2019-04-30 20:32:51.168",
                "Event.EventData.Image": "C:\\a.exe",
            },
            {
                "Event.System.EventID": "4688",
                "Event.System.Channel": "Security",
                "Event.System.Computer": "WKS-1",
                "Event.System.TimeCreated.#attributes.SystemTime": (
                    "2019-04-30T20:40:00.000001Z"
                ),
                "Event.EventData.NewProcessName": "C:\\b.exe",
            },
        ]
    )
    result = to_process_events(frame)
    assert result.frame["_time"].tolist()[1] == "2019-04-30T20:40:00.000Z"
    assert result.warnings == []


def test_to_process_events_host_without_reference_keeps_record_time(frame_of):
    frame = frame_of(
        [
            {
                "EventID": "4688",
                "Channel": "Security",
                "Hostname": "DC1",
                "UtcTime": None,
                "TimeCreated": "2020-10-19 03:31:10.100",
                "NewProcessName": "C:\\b.exe",
            },
            {
                "EventID": "1",
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Hostname": "WKS-1",
                "UtcTime": "2020-10-19 07:30:46.251",
                "TimeCreated": None,
                "Image": "C:\\a.exe",
            },
        ]
    )
    result = to_process_events(frame)
    assert result.frame["_time"].tolist()[0] == "2020-10-19T03:31:10.100Z"
    assert any("as written (read as UTC)" in w for w in result.warnings)


def test_to_process_events_evtx_system_time_needs_no_zone_warning(frame_of):
    # The same events as above, as EVTX gives them: SystemTime is UTC by
    # definition, so reading it as UTC is no guess worth a warning.
    frame = frame_of(
        [
            {
                "Event.System.EventID": "4688",
                "Event.System.Channel": "Security",
                "Event.System.Computer": "DC1",
                "Event.System.TimeCreated.SystemTime": "2020-10-19T03:31:10.100Z",
                "Event.EventData.UtcTime": None,
                "Event.EventData.NewProcessName": "C:\\b.exe",
            },
            {
                "Event.System.EventID": "1",
                "Event.System.Channel": "Microsoft-Windows-Sysmon/Operational",
                "Event.System.Computer": "WKS-1",
                "Event.System.TimeCreated.SystemTime": None,
                "Event.EventData.UtcTime": "2020-10-19 07:30:46.251",
                "Event.EventData.Image": "C:\\a.exe",
            },
        ]
    )
    result = to_process_events(frame)
    assert result.frame["_time"].tolist() == [
        "2020-10-19T03:31:10.100Z",
        "2020-10-19T07:30:46.251Z",
    ]
    assert result.warnings == []
