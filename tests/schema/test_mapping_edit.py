"""A saved or edited mapping is applied exactly; what it names must exist."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from procanom.schema import FieldMapping, detect_mapping, to_process_events


@pytest.fixture
def sysmon(frame_of) -> pd.DataFrame:
    return frame_of(
        [
            {
                "EventID": "1",
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Computer": "WKS-1.corp.example",
                "UtcTime": "2024-05-01 10:00:00.123",
                "Image": "C:\\Windows\\System32\\cmd.exe",
                "OriginalFileName": "Cmd.Exe",
                "CommandLine": "cmd.exe /c whoami",
                "CurrentDirectory": "C:\\Temp\\",
                "ProcessId": "6700",
            }
        ]
    )


def test_to_process_events_saved_mapping_round_trip_gives_the_same_frame(sysmon):
    first = to_process_events(sysmon)
    saved = json.loads(json.dumps(first.mapping.to_dict()))
    again = to_process_events(sysmon, mapping=FieldMapping.from_dict(saved))
    pd.testing.assert_frame_equal(first.frame, again.frame)
    assert again.mapping == first.mapping
    assert again.warnings == first.warnings == []


def test_to_process_events_edited_mapping_is_applied_exactly(sysmon):
    edited = detect_mapping(sysmon.columns).to_dict()
    edited["sources"]["Name"] = "OriginalFileName"
    edited["sources"]["CommandLine"] = "CurrentDirectory"
    del edited["derived"]["Name"]
    del edited["derived"]["host"]
    result = to_process_events(sysmon, mapping=FieldMapping.from_dict(edited))
    row = result.frame.iloc[0]
    assert row["Name"] == "Cmd.Exe"
    assert row["CommandLine"] == "C:\\Temp\\"
    # No host rule in the mapping: no host field.
    assert "host" not in result.frame.columns
    assert result.mapping.to_dict() == edited


def test_to_process_events_mapping_naming_a_missing_column_warns(sysmon):
    mapping = FieldMapping(
        sources={"Path": "Image", "User": "AccountName"},
        derived={"ParentName": "basename of ParentImage", "host": "constant X"},
    )
    result = to_process_events(sysmon, mapping=mapping)
    assert result.frame["Path"].tolist() == ["C:\\Windows\\System32\\cmd.exe"]
    assert "User" not in result.frame.columns
    assert result.warnings == [
        "The mapping takes User from column 'AccountName', which this data does "
        "not have; User gets no values from it.",
        "The mapping derives ParentName from column 'ParentImage', which this data "
        "does not have; ParentName gets no values from it.",
    ]


def test_to_process_events_mapping_with_unknown_recipe_or_field_warns(sysmon):
    mapping = {
        "sources": {"Path": "Image", "Colour": "Image"},
        "derived": {"Name": "upper case of Path"},
    }
    result = to_process_events(sysmon, mapping=mapping)
    assert "Name" not in result.frame.columns
    assert len(result.warnings) == 2
    assert result.warnings[0].startswith("The mapping names 'Colour', which is not")
    assert result.warnings[1].startswith(
        "The mapping's recipe for Name was not applied: 'upper case of Path' is "
        "not a recipe"
    )


def test_to_process_events_mapping_recipes_compose_accounts_and_ids(frame_of):
    frame = frame_of(
        [
            {"dom": "CORP", "usr": "alice", "a": "-", "b": "0x10"},
            {"dom": "-", "usr": "bob", "a": "12", "b": "0x11"},
        ]
    )
    mapping = FieldMapping(
        derived={
            "User": "account from dom + usr",
            "ProcessId": "first set of a, b",
            "EventSource": "constant custom",
        }
    )
    result = to_process_events(frame, mapping=mapping)
    assert result.frame["User"].tolist() == ["CORP\\alice", "bob"]
    assert result.frame["ProcessId"].tolist() == ["16", "12"]
    assert result.frame["EventSource"].tolist() == ["custom", "custom"]
