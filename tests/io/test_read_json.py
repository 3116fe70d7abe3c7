"""JSON: arrays, lines, back-to-back objects, Splunk shapes, damaged records."""

from __future__ import annotations

import json

import pytest

RECORDS = [
    {"host": "WKS-1", "Image": "C:\\cmd.exe", "ProcessId": 6700, "Elevated": True},
    {"host": "WKS-1", "Image": "C:\\whoami.exe", "User": "CORP\\u", "CPU": 1.50},
]


def _expected_columns():
    return ["host", "Image", "ProcessId", "Elevated", "User", "CPU"]


@pytest.mark.parametrize(
    ("content", "fmt"),
    [
        (json.dumps(RECORDS, indent=1), "json-array"),
        ("\n".join(json.dumps(r) for r in RECORDS) + "\n", "json-lines"),
        ("\r\n".join(json.dumps(r) for r in RECORDS), "json-lines"),
        ("".join(json.dumps(r) for r in RECORDS), "json-concatenated"),
        ("\n".join(json.dumps(r, indent=2) for r in RECORDS), "json-concatenated"),
        (json.dumps({"preview": False, "results": RECORDS}), "splunk-json"),
    ],
)
def test_read_json_shapes_give_the_same_frame(
    read_bytes, content, fmt, assert_all_text
):
    loaded = read_bytes(content.encode(), "e.json")
    frame = loaded.frame
    assert list(frame.columns) == _expected_columns()  # union, first-seen order
    assert frame["ProcessId"].tolist()[0] == "6700"
    assert frame["Elevated"].tolist()[0] == "true"
    assert frame["User"].isna().tolist() == [True, False]
    assert loaded.report.formats["e.json"] == fmt
    assert_all_text(frame)


def test_read_json_numbers_kept_as_written(read_bytes):
    content = b'{"a": 1.50, "b": 12345678901234567890, "c": -0.0, "d": 1e3, "e": null}'
    frame = read_bytes(content).frame
    assert frame.iloc[0, :4].tolist() == ["1.50", "12345678901234567890", "-0.0", "1e3"]
    assert frame["e"].isna().all()


def test_read_json_nested_objects_flattened(read_bytes):
    record = {"process": {"name": "cmd.exe", "parent": {"pid": 4}}, "tags": {}}
    frame = read_bytes(json.dumps(record).encode()).frame
    assert list(frame.columns) == ["process.name", "process.parent.pid", "tags"]
    assert frame.iloc[0, :2].tolist() == ["cmd.exe", "4"]


def test_read_json_multivalue_is_sorted_distinct(read_bytes):
    rows = [{"user": ["b", "a", "b"]}, {"user": ["a", "b"]}, {"user": []}]
    frame = read_bytes(json.dumps(rows).encode()).frame
    assert frame["user"].tolist()[:2] == ["a\nb", "a\nb"]
    assert frame["user"].isna().tolist()[2]


def test_read_json_splunk_line_by_line_export_drops_previews(read_bytes):
    lines = [
        {"preview": True, "offset": 0, "result": {"host": "preview-only"}},
        {"preview": False, "offset": 0, "result": {"host": "a", "Image": "x"}},
        {"preview": False, "offset": 1, "lastrow": True, "result": {"host": "b"}},
    ]
    content = "\n".join(json.dumps(line) for line in lines)
    loaded = read_bytes(content.encode(), "export.json")
    assert loaded.frame["host"].tolist() == ["a", "b"]
    assert loaded.report.formats["export.json"] == "splunk-json-rows"


def test_read_json_splunk_matrix(read_bytes):
    content = {"fields": [{"name": "host"}, "Image"], "rows": [["a", "x"], ["b", None]]}
    loaded = read_bytes(json.dumps(content).encode(), "rows.json")
    assert loaded.frame["host"].tolist() == ["a", "b"]
    assert loaded.report.formats["rows.json"] == "splunk-json-matrix"


def test_read_json_lines_bad_line_skipped_with_line_number(read_bytes):
    content = b'{"a": "1"}\n{"a": 2,,}\n{"a": "3"}\n{"a": "4", "b"'
    loaded = read_bytes(content, "l.jsonl")
    assert loaded.frame["a"].tolist() == ["1", "3"]
    assert [s.line for s in loaded.report.skipped] == [2, 4]
    (warning,) = loaded.report.warnings
    assert "l.jsonl" in warning and "line 2, 4" in warning


def test_read_json_truncated_array_keeps_complete_records(read_bytes):
    content = json.dumps(RECORDS, indent=1)[:-40].encode()
    loaded = read_bytes(content, "cut.json")
    assert loaded.frame["Image"].tolist() == ["C:\\cmd.exe"]
    assert loaded.report.rows_skipped == 1
    assert any("breaks off" in w and "cut.json" in w for w in loaded.report.warnings)


def test_read_json_non_objects_reported(read_bytes):
    loaded = read_bytes(b'[{"a": "1"}, 5, "x"]', "mixed.json")
    assert loaded.frame["a"].tolist() == ["1"]
    assert loaded.report.rows_skipped == 2


def test_read_json_utf16_from_powershell(read_bytes):
    content = "\ufeff" + json.dumps([{"Path": "C:\\Users\\jürgen\\a.exe"}])
    frame = read_bytes(content.encode("utf-16-le"), "ps.json").frame
    assert frame["Path"].tolist() == ["C:\\Users\\jürgen\\a.exe"]


def test_read_json_empty_array_gives_empty_frame_and_warning(read_bytes):
    loaded = read_bytes(b"[]", "none.json")
    assert len(loaded.frame) == 0
    assert loaded.report.warnings == ["none.json holds no event records."]


def test_read_json_nesting_too_deep_is_a_bad_record_not_a_crash(read_bytes):
    deep = b"[" * 100_000 + b"]" * 100_000
    content = b'{"Name": "a.exe"}\n' + deep + b'\n{"Name": "b.exe"}\n'
    loaded = read_bytes(content, "deep.jsonl")
    assert loaded.frame["Name"].tolist() == ["a.exe", "b.exe"]
    (skipped,) = loaded.report.skipped
    assert skipped.line == 2 and "nested too deeply" in skipped.reason
