"""Templates of names, paths and command lines: what varies becomes a placeholder."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pytest

from procanom import normalize as normalize_module
from procanom.errors import ParameterError
from procanom.normalize import (
    KnownTemplates,
    add_templates,
    encode_templates,
    field_kind,
    normalize,
    normalize_command_line,
    normalize_name,
    normalize_path,
    normalize_text,
    template_column,
    template_fingerprint,
    template_values,
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


def _same_encoding(got, expected) -> None:
    assert got.values.equals(expected.values)
    np.testing.assert_array_equal(got.codes, expected.codes)
    np.testing.assert_array_equal(got.counts, expected.counts)


def _known(values: list[str], kind: str) -> KnownTemplates:
    values = pa.array(values, pa.large_string())
    table = pa.table({"value": values, "template": template_values(values, kind)})
    return KnownTemplates.from_table(table)


@pytest.mark.parametrize("kind", ["name", "path", "command_line"])
def test_encode_templates_with_known_templates_matches_making_them(kind):
    # Chunked, with gaps, as the dataset library reads a column.
    chunks = [_MIXED_COMMAND_LINES, [None, *_MIXED_COMMAND_LINES[::-1]]]
    arrow = pa.chunked_array(chunks, pa.large_string())
    column = pd.Series(pd.arrays.ArrowStringArray(arrow))
    known = _known(["", *_MIXED_COMMAND_LINES[::-1]], kind)
    expected = encode_templates(column, kind)
    _same_encoding(encode_templates(column, kind, known), expected)


def test_encode_templates_makes_what_the_known_templates_lack():
    column = pd.Series(_MIXED_COMMAND_LINES, dtype="string[pyarrow]")
    known = _known(_MIXED_COMMAND_LINES[:2], "command_line")
    _same_encoding(
        encode_templates(column, "command_line", known),
        encode_templates(column, "command_line"),
    )


def test_encode_column_reads_a_chunked_column_as_one():
    chunks = [["b", None, "a"], ["a", "", "c"], []]
    chunked = pa.chunked_array(chunks, pa.string())
    _same_encoding(encode_column(chunked), encode_column(chunked.combine_chunks()))
    assert encode_column(chunked).values.to_pylist() == ["b", "", "a", "c"]


def test_add_templates_records_its_columns_for_scoring():
    frame = pd.DataFrame({"CommandLine": ["cmd.exe /c 1"], "host": ["A"]})
    out = add_templates(frame, ["CommandLine"])
    assert template_column(out, "CommandLine", "command_line") == (
        "CommandLine_template"
    )
    assert template_column(out, "CommandLine", "path") is None
    assert template_column(frame, "CommandLine", "command_line") is None
    assert "procanom_templates" not in frame.attrs


# -- a value's template depends on that value only ------------------------------

# Values whose template once depended on the batch they were templated in:
# a rule the user-profile gate did not cover ("<temp>" made from "%TEMP%").
_GATE_EDGE_VALUES = [
    "%TEMP%\\x.bat",
    "cmd /c %tmp%\\run.cmd",
    "<temp>\\a.b",
    "<public>\\x.exe",
    "C:\\Users\\Public\\x.exe",
]


@pytest.fixture(scope="module")
def real_values(shared_data) -> list[str]:
    """Distinct names, paths and command lines of the real exports."""
    from procanom.io import read_events

    values: set[str] = set(_GATE_EDGE_VALUES)
    for path in (
        shared_data / "winhostmon_process_sample.csv",
        shared_data / "eval" / "otrf_sysmon1_process_events_labelled.csv",
    ):
        frame = read_events(path).frame
        for column in frame.columns:
            if field_kind(str(column)) != "text":
                values.update(frame[column].dropna().astype(str))
    return sorted(values)


@pytest.mark.parametrize("kind", ["name", "path", "command_line"])
def test_template_values_of_real_values_do_not_depend_on_the_batch(real_values, kind):
    whole = template_values(pa.array(real_values), kind).to_pylist()
    expected = dict(zip(real_values, whole, strict=True))

    alone = [template_values(pa.array([v]), kind)[0].as_py() for v in real_values]
    assert alone == whole

    rng = np.random.default_rng(7)
    # Random halves, and a batch where most values open the path rules'
    # gate (the rules then run on every value of the batch).
    gated = [v for v in real_values if "\\" in v or "%" in v or "~" in v]
    subsets = [list(rng.permutation(real_values)[: len(real_values) // 2])] * 3
    subsets += [gated, gated[:3] + real_values[:1], list(reversed(real_values))]
    for subset in subsets:
        got = template_values(pa.array(subset, pa.string()), kind).to_pylist()
        assert got == [expected[v] for v in subset]


def test_template_values_edge_values_alone_and_among_others():
    plain = ["notepad.exe a.txt"] * 5
    for value in _GATE_EDGE_VALUES:
        alone = template_values(pa.array([value]), "command_line")[0]
        among = template_values(pa.array([*plain, value]), "command_line")[-1]
        assert alone == among
    assert _one("%TEMP%\\x.bat", "path") == "<temp>\\<tmpfile>.bat"
    assert _one("cmd /c %tmp%\\run.cmd", "command_line") == (
        "cmd.exe /c <temp>\\<tmpfile>.cmd"
    )


def test_rule_gates_match_every_value_their_rules_change(real_values):
    # A gate may skip only values its rules leave alone; that is what makes
    # templates independent of the batch. Checked group by group, each on
    # the output of the groups before it, as the templates apply them.
    module = normalize_module

    def rules(text, group):
        for pattern, replacement in group.rules:
            text = pc.replace_substring_regex(text, pattern, replacement)
        return text

    def check(text, group):
        changed = pc.not_equal(rules(text, group), text)
        missed = pc.invert(pc.match_substring_regex(text, group.gate))
        assert not pc.any(pc.and_(changed, missed)).as_py()
        return rules(text, group)

    text = pc.utf8_trim_whitespace(module._lower(pa.array(real_values)))
    lines = text
    for group in (module._PREFIXES, module._ENV, module._SHORT_NAMES):
        lines = check(lines, group)
    lines = check(lines, module._PROFILES)
    changed = pc.not_equal(module._path_groups(text), text)
    missed = pc.invert(pc.match_substring_regex(text, module._PATH_GATE))
    assert not pc.any(pc.and_(changed, missed)).as_py()
    for group in module._PROGRAM:
        lines = check(lines, group)
    words = pc.unique(pc.list_flatten(pc.split_pattern(lines, " ")))
    for group in (*module._TOKENS, module._QUOTES):
        words = check(words, group)
    check(lines, module._SPACES)


def test_template_values_splits_large_inputs_between_threads(monkeypatch):
    values = pa.array(
        [v for v in _MIXED_COMMAND_LINES if v is not None] * 7, pa.large_string()
    )
    expected = normalize_module._TEMPLATERS["command_line"](values)
    monkeypatch.setattr(normalize_module, "_CHUNK_MIN", 5)
    assert template_values(values, "command_line").equals(expected)


def test_template_values_unknown_kind_raises_parameter_error():
    with pytest.raises(ParameterError, match="kind"):
        template_values(pa.array(["x"]), "ipaddress")


def test_template_fingerprint_is_short_and_stable():
    assert template_fingerprint() == template_fingerprint()
    assert len(template_fingerprint()) == 12
