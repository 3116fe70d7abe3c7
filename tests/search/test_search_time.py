"""The time range beside the search bar."""

from __future__ import annotations

import logging

import pandas as pd
import pytest
from search_cases import ALL_IDS

from procanom.errors import ParameterError
from procanom.search import (
    TimeRange,
    filter_events,
    parse_event_times,
    resolve_time_range,
)

UTC = "UTC"
LATEST = pd.Timestamp("2024-05-10T12:30:00Z")  # the latest readable _time of the events


def _ids(events, *args, **kwargs) -> list[int]:
    return list(events.index[filter_events(events, *args, **kwargs)])


# -- TimeRange -----------------------------------------------------------------


def test_time_range_defaults_to_all_time_relative_to_latest_event():
    tr = TimeRange()

    assert (tr.preset, tr.earliest, tr.latest, tr.relative_to) == (
        "all", None, None, "latest"
    )  # fmt: skip
    assert tr.label == "All time"


@pytest.mark.parametrize(
    "tr",
    [
        TimeRange(),
        TimeRange("24h"),
        TimeRange("15m", relative_to="now"),
        TimeRange("custom", earliest="2024-05-01T10:00:00Z", latest="2024-05-02"),
        TimeRange("custom", earliest="2024-05-01T10:00:00+02:00"),
    ],
)
def test_time_range_round_trips_through_dict(tr):
    assert TimeRange.from_dict(tr.to_dict()) == tr


def test_time_range_from_dict_fills_defaults_and_ignores_unknown_keys():
    assert TimeRange.from_dict(None) == TimeRange()
    assert TimeRange.from_dict({}) == TimeRange()
    assert TimeRange.from_dict({"preset": "7d", "colour": "red"}) == TimeRange("7d")


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"preset": "2h"}, "preset"),
        ({"preset": "24H"}, "preset"),
        ({"relative_to": "earliest"}, "relative_to"),
        ({"preset": "custom", "earliest": "yesterday-ish"}, "earliest"),
        ({"preset": "custom", "latest": "2024-13-45"}, "latest"),
        ({"preset": "custom", "earliest": 20240501}, "earliest"),
        (
            {"preset": "custom", "earliest": "2024-05-02", "latest": "2024-05-01"},
            "latest",
        ),
    ],
)
def test_time_range_refuses_invalid_values(kwargs, name):
    with pytest.raises(ParameterError) as info:
        TimeRange(**kwargs)

    assert info.value.name == name


def test_time_range_from_dict_refuses_non_mapping():
    with pytest.raises(ParameterError, match="time_range"):
        TimeRange.from_dict("24h")


# -- resolve_time_range --------------------------------------------------------


def test_resolve_time_range_all_is_open():
    assert resolve_time_range(TimeRange(), LATEST) == (None, None)


@pytest.mark.parametrize(
    ("preset", "span"),
    [("15m", "15min"), ("1h", "1h"), ("24h", "24h"), ("7d", "7D"), ("30d", "30D")],
)
def test_resolve_time_range_counts_back_from_latest_event(preset, span):
    earliest, latest = resolve_time_range(TimeRange(preset), LATEST)

    assert latest == LATEST
    assert earliest == LATEST - pd.Timedelta(span)


def test_resolve_time_range_counts_back_from_now_when_asked():
    now = pd.Timestamp("2030-01-01T00:00:00Z")

    earliest, latest = resolve_time_range(
        TimeRange("1h", relative_to="now"), LATEST, now
    )

    assert (earliest, latest) == (now - pd.Timedelta("1h"), now)


def test_resolve_time_range_now_defaults_to_clock():
    before = pd.Timestamp.now(tz=UTC)

    _, latest = resolve_time_range(TimeRange("1h", relative_to="now"), None)

    assert before <= latest <= pd.Timestamp.now(tz=UTC)


def test_resolve_time_range_without_anchor_is_open():
    assert resolve_time_range(TimeRange("24h"), None) == (None, None)


def test_resolve_time_range_custom_reads_naive_times_as_utc():
    tr = TimeRange(
        "custom", earliest="2024-05-01T10:00:00", latest="2024-05-01T12:00+02:00"
    )

    earliest, latest = resolve_time_range(tr, LATEST)

    assert earliest == pd.Timestamp("2024-05-01T10:00:00Z")
    assert latest == pd.Timestamp("2024-05-01T10:00:00Z")
    assert str(earliest.tz) == UTC


def test_resolve_time_range_custom_may_be_open_ended():
    tr = TimeRange("custom", earliest="2024-05-10")

    assert resolve_time_range(tr, LATEST) == (pd.Timestamp("2024-05-10T00:00Z"), None)


# -- filter_events with a time range -------------------------------------------


@pytest.mark.parametrize(
    ("tr", "expected"),
    [
        (None, ALL_IDS),
        (TimeRange(), ALL_IDS),
        (TimeRange("15m"), [11]),
        (TimeRange("1h"), [10, 11]),
        # 2024-05-10T10:00+02:00 is 08:00Z, inside the last 24 hours
        (TimeRange("24h"), [6, 7, 10, 11]),
        (TimeRange("7d"), [4, 5, 6, 7, 10, 11]),
        (TimeRange("30d"), [0, 1, 2, 3, 4, 5, 6, 7, 10, 11]),
        # both bounds are inclusive
        (
            TimeRange(
                "custom", earliest="2024-05-01T10:00:00Z", latest="2024-05-01T11:00Z"
            ),
            [0, 1, 2],
        ),
        (TimeRange("custom", earliest="2024-05-10T08:00:00Z"), [6, 7, 10, 11]),
        (TimeRange("custom", latest="2024-05-01T10:05:00Z"), [0, 1]),
    ],
    ids=str,
)
def test_filter_events_applies_time_range(events, tr, expected):
    assert _ids(events, "", tr) == expected


def test_filter_events_combines_search_and_time_range(events):
    assert _ids(events, "Name=cmd.exe", TimeRange("24h")) == [11]


def test_filter_events_counts_back_from_now_when_asked(events):
    now = pd.Timestamp("2024-05-10T13:00:00Z")

    assert _ids(events, "", TimeRange("1h", relative_to="now"), now=now) == [10, 11]
    assert _ids(events, "", TimeRange("1h", relative_to="now")) == []


def test_filter_events_reads_other_time_field(events):
    renamed = events.rename(columns={"_time": "ts"})

    assert _ids(renamed, "", TimeRange("15m"), time_field="ts") == [11]


def test_filter_events_without_time_field_ignores_range(events, caplog):
    no_time = events.drop(columns="_time")

    with caplog.at_level(logging.INFO, logger="procanom.search"):
        ids = _ids(no_time, "Name=cmd.exe", TimeRange("15m"))

    assert ids == [1, 11]
    assert "no '_time' field" in caplog.text


def test_filter_events_reports_unreadable_times(events, caplog):
    with caplog.at_level(logging.WARNING, logger="procanom.search"):
        ids = _ids(events, "", TimeRange("30d"))

    assert 8 not in ids and 9 not in ids
    assert "2 of 12 events have no readable '_time'" in caplog.text


def test_filter_events_all_time_keeps_unreadable_times(events, caplog):
    with caplog.at_level(logging.WARNING, logger="procanom.search"):
        assert _ids(events, "", TimeRange("all")) == ALL_IDS

    assert caplog.text == ""


def test_filter_events_with_no_readable_time_keeps_relative_range_open(events):
    unreadable = events.assign(_time=pd.Series(["?"] * len(events), index=events.index))

    assert _ids(unreadable, "", TimeRange("24h")) == []


# -- parse_event_times ---------------------------------------------------------


def test_parse_event_times_reads_iso_variants_as_utc():
    values = pd.Series(
        [
            "2024-05-01T10:00:00Z",
            "2024-05-01T10:00:00.000+0000",
            "2024-05-01T12:00:00+02:00",
            "2024-05-01 10:00:00",
            "",
            None,
            "05/01/2024",
        ],
        dtype=pd.StringDtype("pyarrow"),
    )

    times = parse_event_times(values)

    expected = pd.Timestamp("2024-05-01T10:00:00Z")
    assert list(times[:4]) == [expected] * 4
    assert times[4:].isna().all()


def test_parse_event_times_accepts_datetimes():
    naive = pd.Series(pd.to_datetime(["2024-05-01 10:00"]))
    aware = pd.Series(pd.to_datetime(["2024-05-01 12:00+02:00"]))

    assert parse_event_times(naive)[0] == pd.Timestamp("2024-05-01T10:00Z")
    assert parse_event_times(aware)[0] == pd.Timestamp("2024-05-01T10:00Z")
