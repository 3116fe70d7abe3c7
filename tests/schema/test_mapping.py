"""Mapping detection from column names, and the mapping's saved form."""

from __future__ import annotations

import pytest

from procanom.errors import ParameterError
from procanom.schema import PROCESS_FIELDS, FieldMapping, detect_mapping
from procanom.schema._recipes import parse_recipe


def test_process_fields_are_the_published_schema():
    assert PROCESS_FIELDS[:3] == ("_time", "host", "Name")
    assert len(PROCESS_FIELDS) == len(set(PROCESS_FIELDS)) == 19


def test_detect_mapping_sysmon_flat():
    m = detect_mapping(
        ["UtcTime", "Computer", "EventID", "Channel", "Image", "ParentImage",
         "CommandLine", "ParentCommandLine", "User", "ProcessId", "ParentProcessId",
         "IntegrityLevel", "Hashes", "OriginalFileName", "LogonId", "ProcessGuid",
         "ParentProcessGuid"]
    )  # fmt: skip
    assert m.sources == {
        "_time": "UtcTime",
        "Path": "Image",
        "CommandLine": "CommandLine",
        "User": "User",
        "ParentPath": "ParentImage",
        "ParentCommandLine": "ParentCommandLine",
        "ProcessId": "ProcessId",
        "ParentProcessId": "ParentProcessId",
        "IntegrityLevel": "IntegrityLevel",
        "Hashes": "Hashes",
        "OriginalFileName": "OriginalFileName",
        "LogonId": "LogonId",
        "ProcessGuid": "ProcessGuid",
        "ParentProcessGuid": "ParentProcessGuid",
    }
    assert m.derived == {
        "host": "short upper-case name of Computer",
        "Name": "basename of Path",
        "ParentName": "basename of ParentPath",
        "EventSource": "log name from Channel",
    }


def test_detect_mapping_4688_uses_new_process_id_and_creator_pid():
    m = detect_mapping(
        ["EventID", "Channel", "Computer", "TimeCreated", "NewProcessId",
         "NewProcessName", "ProcessId", "ParentProcessName", "CommandLine",
         "SubjectUserName", "SubjectDomainName", "TargetUserName",
         "TargetDomainName", "SubjectLogonId", "TargetLogonId", "MandatoryLabel"]
    )  # fmt: skip
    assert m.sources["ProcessId"] == "NewProcessId"
    assert m.sources["ParentProcessId"] == "ProcessId"
    assert m.sources["Path"] == "NewProcessName"
    assert m.sources["ParentPath"] == "ParentProcessName"
    assert m.sources["IntegrityLevel"] == "MandatoryLabel"
    assert m.sources["_time"] == "TimeCreated"
    assert m.derived["User"] == (
        "account from TargetDomainName + TargetUserName, "
        "else SubjectDomainName + SubjectUserName"
    )
    assert m.derived["LogonId"] == "first set of SubjectLogonId"


def test_detect_mapping_mixed_sysmon_and_4688_falls_back_per_row():
    m = detect_mapping(
        ["EventID", "Channel", "Hostname", "UtcTime", "TimeCreated", "Image",
         "NewProcessName", "ProcessId", "NewProcessId", "ParentProcessId", "User",
         "SubjectUserName"]
    )  # fmt: skip
    assert m.sources["ProcessId"] == "NewProcessId"
    assert m.derived["ProcessId"].startswith("first set of ProcessId")
    assert m.sources["ParentProcessId"] == "ParentProcessId"
    assert m.derived["ParentProcessId"].startswith("first set of ProcessId")
    assert m.sources["Path"] == "Image"
    assert m.derived["Path"] == "first set of NewProcessName"
    assert m.derived["_time"] == "TimeCreated shifted per host to agree with UtcTime"


def test_detect_mapping_evtx_flattened_names():
    m = detect_mapping(
        ["Event.System.EventID", "Event.System.Channel", "Event.System.Computer",
         "Event.System.TimeCreated.#attributes.SystemTime",
         "Event.System.Execution.#attributes.ProcessID",
         "Event.EventData.UtcTime", "Event.EventData.Image",
         "Event.EventData.ProcessId", "Event.EventData.ParentImage"]
    )  # fmt: skip
    assert m.sources["Path"] == "Event.EventData.Image"
    # The logging service's own pid (Execution/@ProcessID) is not the process's.
    assert m.sources["ProcessId"] == "Event.EventData.ProcessId"
    assert m.sources["_time"] == "Event.EventData.UtcTime"
    assert m.derived["_time"] == (
        "Event.System.TimeCreated.#attributes.SystemTime shifted per host to "
        "agree with Event.EventData.UtcTime"
    )
    assert m.derived["host"] == "short upper-case name of Event.System.Computer"


@pytest.mark.parametrize(
    ("columns", "expected"),
    [
        (  # winlogbeat 2019
            ["event_id", "log_name", "computer_name", "@timestamp",
             "event_data.Image", "event_data.ProcessId"],
            {"Path": "event_data.Image", "ProcessId": "event_data.ProcessId",
             "_time": "@timestamp"},
        ),
        (  # winlogbeat 7+ / ECS
            ["winlog.event_id", "winlog.channel", "host.name", "@timestamp",
             "process.executable", "process.name", "process.command_line",
             "process.pid", "process.parent.pid", "process.parent.executable",
             "process.parent.name", "process.entity_id", "user.name"],
            {"Path": "process.executable", "Name": "process.name",
             "CommandLine": "process.command_line", "ProcessId": "process.pid",
             "ParentProcessId": "process.parent.pid",
             "ParentPath": "process.parent.executable",
             "ParentName": "process.parent.name", "ProcessGuid": "process.entity_id"},
        ),
        (  # osquery processes
            ["name", "path", "cmdline", "pid", "parent", "start_time"],
            {"Name": "name", "Path": "path", "CommandLine": "cmdline",
             "ProcessId": "pid", "ParentProcessId": "parent", "_time": "start_time"},
        ),
        (  # Get-Process
            ["Name", "Id", "Path", "StartTime", "PSComputerName"],
            {"Name": "Name", "ProcessId": "Id", "Path": "Path", "_time": "StartTime"},
        ),
        (  # Win32_Process
            ["Name", "ExecutablePath", "CommandLine", "ProcessId", "ParentProcessId",
             "CSName", "CreationDate"],
            {"Name": "Name", "Path": "ExecutablePath", "CommandLine": "CommandLine",
             "ProcessId": "ProcessId", "ParentProcessId": "ParentProcessId",
             "_time": "CreationDate"},
        ),
        (  # Splunk CIM Endpoint.Processes
            ["_time", "dest", "process_name", "process_path", "process",
             "parent_process_name", "parent_process", "user", "process_id",
             "parent_process_id"],
            {"_time": "_time", "Name": "process_name", "Path": "process_path",
             "CommandLine": "process", "ParentName": "parent_process_name",
             "ParentCommandLine": "parent_process", "User": "user",
             "ProcessId": "process_id", "ParentProcessId": "parent_process_id"},
        ),
    ],
    ids=["winlogbeat-2019", "ecs", "osquery", "get-process", "win32_process", "cim"],
)  # fmt: skip
def test_detect_mapping_sources_by_family(columns, expected):
    m = detect_mapping(columns)
    assert {k: m.sources.get(k) for k in expected} == expected


def test_detect_mapping_existing_target_column_wins_over_aliases():
    m = detect_mapping(["Path", "Image", "Name", "process_name", "host", "dest"])
    assert m.sources["Path"] == "Path"
    assert m.sources["Name"] == "Name"
    assert m.sources["host"] == "host"
    assert "host" not in m.derived


def test_detect_mapping_record_computer_wins_over_shipper_host():
    # Logstash writes the collector into `host`; the record names its computer.
    m = detect_mapping(["EventID", "Channel", "host", "Hostname", "Image"])
    assert "host" not in m.sources
    assert m.derived["host"] == "short upper-case name of Hostname"


def test_detect_mapping_case_sensitive_aliases_stay_exact():
    # CIM's lower-case `process` is a command line; `Process` is something else.
    assert "CommandLine" not in detect_mapping(["Process"]).sources
    assert detect_mapping(["process"]).sources["CommandLine"] == "process"
    assert "ProcessId" not in detect_mapping(["id"]).sources


def test_detect_mapping_constant_event_source_for_plain_exports():
    assert detect_mapping(["Name", "Id", "Path"]).derived["EventSource"] == (
        "constant powershell"
    )
    assert detect_mapping(["name", "cmdline", "pid"]).derived["EventSource"] == (
        "constant osquery"
    )
    assert "EventSource" not in detect_mapping(["Name", "CommandLine"]).derived


def test_field_mapping_round_trips_through_dict():
    m = detect_mapping(["UtcTime", "Computer", "Image", "ProcessId", "User"])
    again = FieldMapping.from_dict(m.to_dict())
    assert again == m
    assert again is not m


def test_field_mapping_from_flat_dict_reads_sources():
    m = FieldMapping.from_dict({"Path": "exe", "Name": "proc"})
    assert m.sources == {"Path": "exe", "Name": "proc"}
    assert m.derived == {}


@pytest.mark.parametrize(
    "bad",
    ["Path=Image", ["Path"], {"sources": {"Path": 3}}, {"derived": ["x"]}],
    ids=["text", "list", "non-text-column", "derived-list"],
)
def test_field_mapping_from_dict_rejects_other_shapes(bad):
    with pytest.raises(ParameterError, match="mapping"):
        FieldMapping.from_dict(bad)


@pytest.mark.parametrize(
    ("text", "kind", "columns"),
    [
        ("basename of Path", "basename", ("Path",)),
        ("short upper-case name of Event.System.Computer", "short_host",
         ("Event.System.Computer",)),
        ("first set of A, B C (a note)", "first_set", ("A", "B C")),
        ("account from D + U, else V", "account", ("D", "U", "", "V")),
        ("TimeCreated shifted per host to agree with UtcTime", "shifted",
         ("TimeCreated", "UtcTime")),
        ("log name from Channel, source", "log_name", ("Channel", "source")),
        ("constant sysmon", "constant", ("sysmon",)),
    ],
)  # fmt: skip
def test_parse_recipe_reads_every_form(text, kind, columns):
    recipe = parse_recipe(text)
    assert (recipe.kind, recipe.columns) == (kind, columns)


def test_parse_recipe_rejects_unknown_words():
    with pytest.raises(ValueError, match="not a recipe"):
        parse_recipe("uppercase of Name")
