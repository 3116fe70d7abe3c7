"""Real recordings and the shared fault cases, with the counts they must give."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from procanom.schema import PROCESS_FIELDS, to_process_events

STRING = pd.StringDtype("pyarrow")


def _json_lines(path) -> pd.DataFrame:
    return pd.read_json(path, lines=True, dtype=str).astype(STRING)


def _evtx_records(path) -> pd.DataFrame:
    evtx = pytest.importorskip("evtx")
    records = []
    try:
        for record in evtx.PyEvtxParser(str(path)).records_json():
            records.append(json.loads(record["data"]))
    except RuntimeError:
        pass  # a corrupt trailing chunk: keep the records read before it
    return pd.json_normalize(records).astype(STRING)


def test_to_process_events_lsass_campaign_counts(shared_data):
    frame = _json_lines(
        shared_data / "raw" / "otrf_LSASS_campaign_03_process_creation_only.jsonl"
    )
    raw = to_process_events(frame, deduplicate=False)
    assert raw.frame["EventSource"].value_counts().to_dict() == {
        "sysmon": 127,
        "security": 55,
    }
    assert raw.other_events == {}

    result = to_process_events(frame)
    # The 4688 records span 15:56:06-16:02:42 UTC (after undoing the -7:00 of
    # TimeCreated). Each of the 54 Sysmon records in that span has a 4688 twin
    # with the same pid, 41 to the millisecond and 13 one millisecond apart.
    # The 55th 4688 is audiodg.exe, which this lab's Sysmon does not log; the
    # 73 Sysmon records after 16:02:42 have no 4688 in the extract.
    # 127 + 55 - 54 = 128 processes.
    assert result.duplicates_merged == 54
    assert len(result.frame) == 128
    assert result.frame["EventSource"].value_counts().to_dict() == {
        "sysmon": 73,
        "sysmon+security": 54,
        "security": 1,
    }
    lone = result.frame[result.frame["EventSource"] == "security"].iloc[0]
    assert (lone["Name"], lone["ProcessId"], lone["_time"]) == (
        "audiodg.exe",
        "7480",
        "2023-08-18T15:56:40.733Z",
    )
    assert result.warnings == [
        "'TimeCreated' differs from 'UtcTime' by a constant +7:00 on host PRD01; "
        "55 events without 'UtcTime' were shifted by that amount to UTC."
    ]


def test_to_process_events_lsass_matches_the_labelled_file(shared_data):
    # The labelled file was built from the same Sysmon records: every merged
    # row must carry the same time, host, ids and paths.
    frame = _json_lines(
        shared_data / "raw" / "otrf_LSASS_campaign_03_process_creation_only.jsonl"
    )
    ours = to_process_events(frame).frame
    labelled = pd.read_csv(
        shared_data / "eval" / "otrf_sysmon1_process_events_labelled.csv", dtype=str
    )
    labelled = labelled[labelled["dataset"] == "metasploit_comsvcs_lsass_memory_dump"]
    columns = ["_time", "host", "Name", "Path", "User", "ProcessId", "ParentProcessId"]
    ours = ours[ours["EventSource"] != "security"][columns].astype(str)
    merged = ours.merge(labelled[columns], how="outer", indicator=True)
    assert len(labelled) == 127
    assert (merged["_merge"] == "both").sum() == 127


@pytest.mark.parametrize(
    ("name", "kept", "merged", "other"),
    [
        ("otrf_cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json", 4, 4, 278),
        ("otrf_covenant_sc_query_dcerpc_smb_svcctl_2020-08-05034820.json", 3, 3, 623),
    ],
)
def test_to_process_events_otrf_recordings(shared_data, name, kept, merged, other):
    result = to_process_events(_json_lines(shared_data / "raw" / name))
    assert len(result.frame) == kept
    assert result.duplicates_merged == merged
    assert sum(result.other_events.values()) == other
    assert set(result.frame["EventSource"]) == {"sysmon+security"}
    # The shipper's `host` column names the collector, not the machine.
    assert set(result.frame["host"]) == {"WORKSTATION5"}


@pytest.mark.parametrize(
    ("name", "sysmon", "security"),
    [
        ("eas_AutomatedTestingTools_PanacheSysmon_vs_AtomicRedTeam01.evtx", 511, 0),
        ("eas_Lateral_Movement_LM_wmiexec_impacket_sysmon_whoami.evtx", 4, 0),
        ("eas_Privilege_Escalation_NTLM2SelfRelay-med0x2e-security_4624_4688.evtx",
         0, 1),
        ("evtxrs_sysmon_with_bad_trailing_chunk.evtx", 227, 0),
    ],
)  # fmt: skip
def test_to_process_events_evtx_flattened(shared_data, name, sysmon, security):
    result = to_process_events(_evtx_records(shared_data / "raw" / "evtx" / name))
    counts = result.frame["EventSource"].value_counts().to_dict()
    assert counts.get("sysmon", 0) == sysmon
    assert counts.get("security", 0) == security
    assert result.frame["_time"].notna().all()
    assert result.frame["ProcessId"].str.fullmatch(r"\d+").all()


def test_to_process_events_security_log_without_process_events(shared_data):
    frame = _evtx_records(
        shared_data / "raw" / "evtx" / "evtxrs_security_no_process_events.evtx"
    )
    result = to_process_events(frame)
    assert len(result.frame) == 0
    assert sum(result.other_events.values()) == len(frame)
    assert result.other_events["Security/4624"] > 0
    assert result.warnings[0].startswith(
        f"None of the {len(frame):,} events is a process creation"
    )
    assert "Security/4624" in result.warnings[0]


@pytest.mark.parametrize(
    "name",
    ["winhostmon_process_sample.csv", "eval/otrf_sysmon1_process_events_labelled.csv"],
)
def test_to_process_events_leaves_normalised_files_unchanged(shared_data, name):
    frame = pd.read_csv(shared_data / name, dtype=str, keep_default_na=False)
    frame = frame.replace("", None).astype(STRING)
    result = to_process_events(frame)
    assert len(result.frame) == len(frame)
    for column in PROCESS_FIELDS:
        if column in frame.columns:
            pd.testing.assert_series_equal(
                result.frame[column], frame[column], check_names=False
            )
    assert result.warnings == []


def test_to_process_events_case08_4688_without_command_line(shared_cases):
    frame = _json_lines(shared_cases / "case08_4688_no_cmdline_wsl_blank.jsonl")
    result = to_process_events(frame)
    out = result.frame
    # Auditing of command lines was off: the field is empty, not missing.
    assert out["CommandLine"].tolist() == [""] * 4
    # The blank-name event is kept, with an empty name rather than a guess.
    assert len(out) == 4
    blank = out.iloc[3]
    assert (blank["Name"], blank["Path"], blank["ParentName"]) == ("", "", "wsl.exe")
    assert out["ProcessId"].tolist() == ["6700", "6708", "6716", "6724"]
    assert out["ParentProcessId"].tolist() == ["8000"] * 4
    assert out["host"].tolist() == ["WKS-008"] * 4
    assert out["User"].tolist() == ["user08"] * 4
    assert out["EventSource"].tolist() == ["security"] * 4


def test_to_process_events_case09_hex_and_decimal_pids_agree(shared_cases):
    frame = pd.read_csv(
        shared_cases / "case09_hex_vs_decimal_pids.csv", dtype=str
    ).astype(STRING)
    out = to_process_events(frame).frame
    security = out[out["EventSource"] == "security"].reset_index(drop=True)
    sysmon = out[out["EventSource"] == "sysmon"].reset_index(drop=True)
    for column in ("ProcessId", "ParentProcessId", "Name"):
        assert security[column].tolist() == sysmon[column].tolist()
    assert sysmon["ProcessId"].tolist() == ["6700", "6708", "1000"]
    assert sysmon["ParentProcessId"].tolist() == ["8000", "6700", "8000"]


def test_to_process_events_case17_logon_ids_and_labels(shared_cases):
    frame = pd.read_csv(
        shared_cases / "case17_numeric_looking_categoricals.csv", dtype=str
    ).astype(STRING)
    out = to_process_events(frame).frame
    # 0x3e7 and 999 are the same logon session (SYSTEM).
    assert out["LogonId"].iloc[-2:].tolist() == ["0x3e7", "0x3e7"]
    assert set(out["IntegrityLevel"]) == {"System", "Medium"}
    assert out["SessionId"].iloc[-1] == "Services"
