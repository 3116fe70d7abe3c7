"""Unreadable input raises InputFileError naming the file, never a parser error.

Decided behaviour: an empty file, binary content of no known format, JSON
with not one readable record, a CSV with only a #TYPE line, a missing file,
and an unsafe or oversized archive raise :class:`InputFileError`. A CSV
with a header and no rows, or JSON with no records, loads as an empty
frame with a warning.
"""

from __future__ import annotations

import random

import pytest

from procanom.errors import InputFileError
from procanom.io import read_events

_GARBAGE = random.Random(7).randbytes(4096)


@pytest.mark.parametrize(
    ("content", "problem", "line"),
    [
        (b"", "is empty", None),
        (b"\r\n  \n\t", "is empty", None),
        (b"\xef\xbb\xbf", "is empty", None),
        (_GARBAGE, "does not look like a process export", None),
        (b'{"EventID": 1, "Image": "C:\\\\cmd', "is not valid JSON", 1),
        (b'\n\n{"EventID": 1,, }', "is not valid JSON", 3),
        (b"[{broken", "is not valid JSON", 1),
        (b"#TYPE System.Diagnostics.Process\r\n", "has no header line", None),
        (b"\x1f\x8b\x08\x00", "gzip data cut short", None),
        (b"PAR1" + bytes(20), "not a readable Parquet file", None),
        (b"ElfFile\x00" + bytes(100), "not a readable EVTX file", None),
    ],
    ids=[
        "empty",
        "blank",
        "bom-only",
        "binary-garbage",
        "truncated-json",
        "broken-json-line",
        "broken-array",
        "type-line-only",
        "cut-gzip",
        "broken-parquet",
        "broken-evtx",
    ],
)
def test_read_bad_input_raises_input_file_error(tmp_path, content, problem, line):
    path = tmp_path / "bad.dat"
    path.write_bytes(content)
    with pytest.raises(InputFileError) as caught:
        read_events(path, normalise=False)
    assert caught.value.path == str(path)
    assert problem in caught.value.problem
    assert caught.value.line == line
    assert str(path) in str(caught.value)


def test_read_missing_file_raises(tmp_path):
    with pytest.raises(InputFileError, match="no such file"):
        read_events(tmp_path / "absent.csv")


def test_read_empty_folder_raises(tmp_path):
    with pytest.raises(InputFileError, match="no files"):
        read_events(tmp_path)


@pytest.mark.parametrize(
    ("content", "warning"),
    [
        (b"Name,Path\r\n", "has a header but no data rows"),
        (b"[]", "holds no event records"),
        (b'{"results": []}', "holds no event records"),
    ],
)
def test_read_no_rows_gives_empty_frame_with_warning(tmp_path, content, warning):
    path = tmp_path / "empty_rows.txt"
    path.write_bytes(content)
    loaded = read_events(path, normalise=False)
    assert len(loaded.frame) == 0
    assert any(warning in w and str(path) in w for w in loaded.report.warnings)
