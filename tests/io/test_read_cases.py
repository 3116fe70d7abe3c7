"""Every reader case in shared/cases gets the answer its README gives."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd
import pytest


def test_read_case01_skips_only_the_type_line(shared_cases, read_flat, assert_all_text):
    loaded = read_flat(shared_cases / "case01_ps51_typeheader.csv")
    frame = loaded.frame
    assert len(frame) == 7
    assert list(frame.columns) == [
        "Name",
        "Id",
        "SI",
        "Path",
        "Company",
        "CPU",
        "__NounName",
        "Threads",
        "Modules",
    ]
    assert frame["Name"].tolist()[:2] == ["Idle", "System"]
    assert frame["Path"].isna().sum() == 4  # $null is an empty unquoted field
    assert frame["Id"].tolist()[-1] == "7000"
    assert loaded.report.formats == {
        str(shared_cases / "case01_ps51_typeheader.csv"): "csv"
    }
    assert not loaded.report.warnings
    assert_all_text(frame)


def test_read_case01b_keeps_hash_inside_values(shared_cases, read_flat):
    frame = read_flat(
        shared_cases / "case01b_ps51_cim_typeheader_hash_in_values.csv"
    ).frame
    assert len(frame) == 5
    assert frame.columns[0] == "Name"
    assert frame["ExecutablePath"].iloc[4] == r"C:\Tools\C#\csc.exe"
    assert frame["CommandLine"].iloc[3] == (
        r'"C:\WINDOWS\system32\notepad.exe" C:\Users\user01\notes #1.txt'
    )
    # Quoted empty fields read as missing too.
    assert frame["ExecutablePath"].iloc[:3].isna().all()


@pytest.mark.parametrize(
    ("case", "encoding"),
    [
        ("case02_ps51_utf16le_bom.csv", "utf-16-le with BOM"),
        ("case02b_utf16le_nobom.csv", "utf-16-le"),
        ("case03_utf8_bom_header.csv", "utf-8 with BOM"),
    ],
)
def test_read_case02_03_decodes_without_loss(shared_cases, read_flat, case, encoding):
    loaded = read_flat(shared_cases / case)
    frame = loaded.frame
    assert list(frame.columns) == ["Name", "Id", "Path", "PSComputerName"]
    assert (
        frame["Path"].iloc[1] == r"C:\Users\jürgen.beispiel\AppData\Local\reportgen.exe"
    )
    assert loaded.report.encodings[str(shared_cases / case)] == encoding
    assert not loaded.report.warnings


def test_read_case04_warns_about_question_mark_replacement(shared_cases, read_flat):
    loaded = read_flat(shared_cases / "case04_ps51_ascii_qmarks_mixed.csv")
    assert len(loaded.frame) == 7
    assert loaded.frame["Path"].nunique() == 2  # both spellings kept as written
    (warning,) = loaded.report.warnings
    assert "case04_ps51_ascii_qmarks_mixed.csv" in warning
    assert "'?'" in warning and "non-ASCII" in warning
    assert "j?rgen" in warning and "jürgen" in warning


def test_read_case06_keeps_line_break_and_quotes(shared_cases, read_flat):
    frame = read_flat(shared_cases / "case06_cmdline_embedded_newline_quotes.csv").frame
    assert len(frame) == 3
    assert frame["CommandLine"].iloc[0] == (
        "powershell.exe -NoProfile -Command \"Get-Date\r\nWrite-Output 'done'\""
    )
    assert frame["CommandLine"].iloc[1] == 'cmd.exe /c "echo a,b,c > C:\\Temp\\out.txt"'


def test_read_case06b_reports_malformed_lines(shared_cases, read_flat):
    path = shared_cases / "case06b_malformed_unescaped_quotes.csv"
    loaded = read_flat(path)
    assert loaded.frame["Name"].tolist() == ["notepad.exe"]
    report = loaded.report
    assert report.rows_skipped == 2
    assert [s.line for s in report.skipped] == [2, 4]
    assert "quot" in report.skipped[0].reason
    assert report.skipped[1].reason == "expected 3 fields, found 4"
    assert report.skipped[1].text.startswith("wscript.exe,")
    (warning,) = report.warnings
    assert str(path) in warning and "2 row(s)" in warning and "line 2, 4" in warning


def test_read_case08_keeps_blank_values_and_hex_text(
    shared_cases, read_flat, assert_all_text
):
    loaded = read_flat(shared_cases / "case08_4688_no_cmdline_wsl_blank.jsonl")
    frame = loaded.frame
    assert len(frame) == 4
    assert frame["CommandLine"].tolist() == [""] * 4
    assert frame["NewProcessName"].iloc[3] == ""
    assert frame["EventCode"].iloc[0] == "4688"
    assert frame["NewProcessId"].iloc[0] == "0x1a2c"
    assert set(loaded.report.formats.values()) == {"json-lines"}
    assert_all_text(frame)


def test_read_case09_pids_stay_text(shared_cases, read_flat, assert_all_text):
    frame = read_flat(shared_cases / "case09_hex_vs_decimal_pids.csv").frame
    assert frame["ProcessId"].tolist() == [
        "0x1a2c", "6700", "0x1a34", "6708", "0x3e8", "1000",
    ]  # fmt: skip
    assert_all_text(frame)


@pytest.mark.parametrize(
    ("case", "fmt"),
    [
        ("case13b_splunk_results_object.json", "splunk-json"),
        ("case13c_json_array.json", "json-array"),
        ("case13d_concatenated_objects.json", "json-concatenated"),
    ],
)
def test_read_case13_json_shapes(shared_cases, read_flat, case, fmt, assert_all_text):
    loaded = read_flat(shared_cases / case)
    frame = loaded.frame
    assert len(frame) == 2
    assert frame["process_name"].tolist() == ["cmd.exe", "whoami.exe"]
    assert frame["user"].tolist() == ["CORP\\user13\nuser13", "user13"]
    assert loaded.report.formats[str(shared_cases / case)] == fmt
    assert_all_text(frame)


def test_read_case14_splunk_csv_multivalue(shared_cases, read_flat):
    loaded = read_flat(
        shared_cases / "case14_splunk_csv_multivalue_internal_fields.csv"
    )
    frame = loaded.frame
    assert len(frame) == 2
    assert "Process Command Line" in frame.columns
    assert "process.command_line" in frame.columns
    assert "__mv_user" in frame.columns and "_raw" in frame.columns
    assert frame["user"].tolist() == ["CORP\\user14\nuser14", "user14"]
    assert any("multivalue" in w for w in loaded.report.warnings)


def test_read_case15_excel_mangled(shared_cases, read_flat):
    path = shared_cases / "case15_excel_roundtrip_mangled.csv"
    loaded = read_flat(path)
    frame = loaded.frame
    assert list(frame.columns) == [
        "Name", "ProcessId", "LogonId", "SHA256", "CommandLine", "TimeCreated",
    ]  # fmt: skip
    assert len(frame) == 4
    assert frame["LogonId"].iloc[0] == "1,23457E+15"
    assert frame["CommandLine"].iloc[2] == "=cmd|' /C calc'!A0"
    (warning,) = loaded.report.warnings
    assert str(path) in warning and "Excel" in warning
    assert "scientific notation" in warning and "#NAME?" in warning


def test_read_case18_mixed_types_stay_text(shared_cases, read_flat, assert_all_text):
    frame = read_flat(shared_cases / "case18_mixed_types_display.csv").frame
    assert frame["SessionId"].tolist() == ["0", "1", "Services", "1"]
    assert frame["CPU"].tolist()[2:] == ["0.1", "n/a"]
    assert pd.isna(frame["CPU"].iloc[1])
    assert_all_text(frame)


def test_read_case19_large_file_last_row(shared_cases, read_flat, tmp_path):
    out = tmp_path / "case19_large_export.csv"
    subprocess.run(
        [
            sys.executable,
            str(shared_cases / "case19_make_large_file.py"),
            "5",
            str(out),
        ],
        check=True,
        capture_output=True,
    )
    frame = read_flat(out).frame
    expected_rows = out.read_bytes().count(b"\n") - 1
    assert len(frame) == expected_rows
    assert frame["Name"].iloc[-1] == "rclone.exe"
    assert frame["CommandLine"].iloc[-1] == r"rclone.exe copy C:\Data remote:bucket"
