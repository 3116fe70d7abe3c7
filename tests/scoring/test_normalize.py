"""Templates of names, paths and command lines: what varies becomes a placeholder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pytest

from procanom import normalize as normalize_module
from procanom.errors import ParameterError
from procanom.normalize import (
    add_templates,
    encode_templates,
    field_kind,
    normalize,
    normalize_command_line,
    normalize_name,
    normalize_path,
    normalize_text,
    template_column,
)
from procanom.scoring._encode import encode_column


def _one(value: str, kind: str) -> str:
    return normalize(pd.Series([value]), kind).iloc[0]


@pytest.mark.parametrize(
    "raw",
    [
        '"C:\\Program Files\\Contoso App\\app.exe" --sync',
        "C:\\Program Files\\Contoso App\\app.exe --sync",
        "app.exe --sync",
        "app --sync",
        '"app" --sync',
        ".\\app --sync",
        "C:\\PROGRA~1\\Contoso App\\APP.EXE   --SYNC",
        "\\\\?\\C:\\Program Files\\Contoso App\\app.exe --sync",
    ],
)
def test_normalize_command_line_program_spellings_share_one_template(raw):
    assert _one(raw, "command_line") == "app.exe --sync"


@pytest.mark.parametrize(
    ("raw", "template"),
    [
        ("%SystemRoot%\\System32\\x.exe", "c:\\windows\\system32\\x.exe"),
        ("%%systemroot%%\\system32\\x.exe", "c:\\windows\\system32\\x.exe"),
        ("%windir%\\x.exe", "c:\\windows\\x.exe"),
        ("\\SystemRoot\\System32\\smss.exe", "c:\\windows\\system32\\smss.exe"),
        ("\\Device\\HarddiskVolume3\\Windows\\x.exe", "c:\\windows\\x.exe"),
        ("\\??\\C:\\Windows\\x.exe", "c:\\windows\\x.exe"),
        ("C:\\PROGRA~2\\App\\x.exe", "c:\\program files (x86)\\app\\x.exe"),
        ("C:\\Users\\alice\\Downloads\\x.exe", "<userprofile>\\downloads\\x.exe"),
        ("C:\\Users\\ALICE~1.SMI\\Downloads\\x.exe", "<userprofile>\\downloads\\x.exe"),
        ("C:\\Users\\Public\\x.exe", "c:\\users\\public\\x.exe"),
        ("C:\\Users\\bob\\AppData\\Local\\Temp\\x.exe", "<temp>\\<tmpfile>.exe"),
        ("C:\\Windows\\Temp\\a1b2.dll", "<temp>\\<tmpfile>.dll"),
        ("%TEMP%\\setup\\x.exe", "<temp>\\setup\\x.exe"),
        ("C:\\Windows\\System32\\net1", "c:\\windows\\system32\\net1.exe"),
        (
            "C:\\Program Files\\Edge\\Application\\92.0.902.67\\x.exe",
            "c:\\program files\\edge\\application\\<n>.<n>.<n>.<n>\\x.exe",
        ),
    ],
)
def test_normalize_path_removes_machine_and_user_specific_parts(raw, template):
    assert _one(raw, "path") == template


@pytest.mark.parametrize(
    ("raw", "template"),
    [
        (
            "dllhost.exe /Processid:{AB8902B4-09CA-4BB6-B78D-A8F59079A8D5}",
            "dllhost.exe /processid:<guid>",
        ),
        (
            "x.exe --session 5c8cc1ab-781e-7b00-48f1-3a056abd685a",
            "x.exe --session <guid>",
        ),
        ("x.exe /sid S-1-5-21-1004336348-1177238915-682003330-512", "x.exe /sid <sid>"),
        ("conhost.exe 0xffffffff -ForceV1", "conhost.exe <n> -forcev1"),
        ("consent.exe 6108 426 000001D8A9629C40", "consent.exe <n> <n> <n>"),
        ("x.exe --pid 4711 --port=8080", "x.exe --pid <n> --port=<n>"),
        (
            "powershell -enc SQBmACgAJABQAFMAVgBlAHIAcwBpAG8AbgBUAGEAYgBsAGUA",
            "powershell.exe -enc <b64>",
        ),
        ("x.exe c:\\data\\Report7f3a9c2e1b4d.tmp", "x.exe c:\\data\\<rand>.tmp"),
        ('wevtutil  set-log "Security"   /q', "wevtutil.exe set-log security /q"),
        (
            "rundll32.exe C:\\Users\\PEDRO~1.GUS\\AppData\\Local\\Temp\\qfhaer.dll,a",
            "rundll32.exe <temp>\\<tmpfile>.dll,a",
        ),
    ],
)
def test_normalize_command_line_placeholders(raw, template):
    assert _one(raw, "command_line") == template


def test_normalize_command_line_keeps_switches_and_words():
    raw = "certutil.exe -urlcache -f http://example.invalid/a C:\\Users\\Public\\a.txt"
    assert _one(raw, "command_line") == (
        "certutil.exe -urlcache -f http://example.invalid/a c:\\users\\public\\a.txt"
    )


@pytest.mark.parametrize(
    ("raw", "template"),
    [("PING.EXE", "ping.exe"), ("reg", "reg.exe"), ("C:\\Windows\\cmd.exe", "cmd.exe")],
)
def test_normalize_name_folds_case_and_adds_exe(raw, template):
    assert normalize_name(pd.Series([raw])).iloc[0] == template


def test_normalize_keeps_index_missing_values_and_length():
    column = pd.Series(["A.EXE", None, "", "a.exe"], index=[10, 11, 12, 13])
    out = normalize(column, "name")
    assert out.index.tolist() == [10, 11, 12, 13]
    assert out.tolist() == ["a.exe", "", "", "a.exe"]


def test_normalize_accepts_arrow_arrays_and_lists():
    assert normalize_path(pa.array(["C:\\X.EXE"])).tolist() == ["c:\\x.exe"]
    # A multivalue cell is one value: its items sorted, then folded.
    assert normalize_text(pd.Series([["B", "a"], "B  A"])).tolist() == ["b a", "b a"]


def test_normalize_unknown_kind_raises_parameter_error():
    with pytest.raises(ParameterError, match="kind"):
        normalize(pd.Series(["x"]), "ipaddress")


def test_normalize_command_line_handles_many_distinct_values_quickly():
    # 50,000 distinct command lines (one per pid) collapse into one template.
    column = pd.Series(
        [
            f'"C:\\Windows\\System32\\svchost.exe" -k netsvcs -p {i}'
            for i in range(50_000)
        ],
        dtype="string[pyarrow]",
    )
    out = normalize_command_line(column)
    assert out.nunique() == 1
    assert out.iloc[0] == "svchost.exe -k netsvcs -p <n>"


@pytest.mark.parametrize(
    ("name", "kind"),
    [
        ("CommandLine", "command_line"),
        ("ParentCommandLine", "command_line"),
        ("process", "command_line"),
        ("Path", "path"),
        ("ParentImage", "path"),
        ("Name", "name"),
        ("process_name", "name"),
        ("host", "text"),
        ("SessionId", "text"),
    ],
)
def test_field_kind_guesses_from_the_name(name, kind):
    assert field_kind(name) == kind


def test_add_templates_adds_columns_and_keeps_raw_values():
    frame = pd.DataFrame(
        {
            "Name": ["CMD.EXE"],
            "CommandLine": ['"C:\\Windows\\cmd.exe" /c whoami'],
            "host": ["WKS-1"],
        }
    )
    out = add_templates(frame)
    assert list(out.columns) == [
        "Name",
        "CommandLine",
        "host",
        "Name_template",
        "CommandLine_template",
    ]
    assert out["CommandLine"].iloc[0] == frame["CommandLine"].iloc[0]
    assert out["CommandLine_template"].iloc[0] == "cmd.exe /c whoami"


_MIXED_COMMAND_LINES = [
    '"C:\\Program Files\\App\\app.exe" -x 12 {C0F9CE0B-A632-082D-3EFB-98D003070140}',
    '"unterminated c:\\x',
    '""',
    '"c:\\x\\" args',
    '  "C:\\Ünïcode\\ÄPP.exe"  /X  0x1F ',
    'cmd  /c  "a" "b"\t 1',
    "consent.exe 7490 590 F465E30787DCCD7A",
    "consent.exe 8870 584 1D2E34B5DD2D2258",
    "msedge.exe --field-trial-handle=9353,94867199138244328415 /prefetch:3",
    "C:\\Windows\\System32\\nanodump.x64.exe --write C:\\Windows\\Temp\\ktq8xzi1s7.dmp",
    "cmd /c %TEMP%\\abc.bat S-1-5-21-1-2-3 abcdef1234567890abcdef1234567890ab==",
    "x ab12cdefgh34.txt",
    "",
    None,
]


def test_token_rules_word_by_word_match_whole_line():
    text = pa.array(
        [v.lower() for v in _MIXED_COMMAND_LINES if v is not None], pa.string()
    )
    whole = normalize_module._apply(
        normalize_module._apply_all(text, normalize_module._TOKENS),
        normalize_module._QUOTES,
    )
    assert normalize_module._by_word(text).equals(whole)


@pytest.mark.parametrize("kind", ["name", "path", "command_line", "text"])
def test_encode_templates_matches_encoding_every_template(kind):
    column = pd.Series(_MIXED_COMMAND_LINES * 3, dtype="string[pyarrow]")
    encoded = encode_templates(column, kind)
    expected = encode_column(normalize(column, kind))
    assert encoded.values.equals(expected.values)
    np.testing.assert_array_equal(encoded.codes, expected.codes)
    np.testing.assert_array_equal(encoded.counts, expected.counts)


def test_add_templates_records_its_columns_for_scoring():
    frame = pd.DataFrame({"CommandLine": ["cmd.exe /c 1"], "host": ["A"]})
    out = add_templates(frame, ["CommandLine"])
    assert template_column(out, "CommandLine", "command_line") == (
        "CommandLine_template"
    )
    assert template_column(out, "CommandLine", "path") is None
    assert template_column(frame, "CommandLine", "command_line") is None
    assert "procanom_templates" not in frame.attrs
