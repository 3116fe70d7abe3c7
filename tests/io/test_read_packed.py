"""Parquet, gzip and zip, recognised by their magic bytes, and safe unpacking.

Real EVTX events are written out in each format and must read back to the
frame the EVTX file gives.
"""

from __future__ import annotations

import gzip
import io
import sys
import types
import zipfile

import pandas as pd
import pyarrow as pa
import pyarrow.parquet as pq
import pytest

from procanom.errors import InputFileError
from procanom.io import SOURCE_FILE_COLUMN, read_upload

SYSMON = "raw/evtx/eas_Lateral_Movement_LM_wmiexec_impacket_sysmon_whoami.evtx"
CSV = b'"Name","Path"\r\n"cmd.exe","C:\\cmd.exe"\r\n"whoami.exe","C:\\whoami.exe"\r\n'


@pytest.fixture(scope="module")
def sysmon(shared_data):
    """The EVTX file's bytes and the frame it reads to."""
    data = (shared_data / SYSMON).read_bytes()
    frame = read_upload([("s.evtx", data)], normalise=False).frame
    return data, frame


def _zip(members: dict[str, bytes]) -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, content in members.items():
            archive.writestr(name, content)
    return out.getvalue()


def _parquet(frame: pd.DataFrame) -> bytes:
    out = io.BytesIO()
    frame.to_parquet(out, index=False)
    return out.getvalue()


def test_read_parquet_roundtrip(sysmon, read_bytes):
    _, expected = sysmon
    loaded = read_bytes(_parquet(expected), "events.bin")
    assert loaded.report.formats["events.bin"] == "parquet"
    pd.testing.assert_frame_equal(loaded.frame, expected)


def test_read_parquet_typed_columns_become_text(read_bytes, assert_all_text):
    table = pa.table(
        {
            "pid": pa.array([4, None], pa.int64()),
            "cpu": pa.array([1.5, 0.25]),
            "elevated": pa.array([True, False]),
            "users": pa.array([["b", "a"], []], pa.list_(pa.string())),
            "process": pa.array([{"name": "cmd.exe"}, {"name": None}]),
            "host": pa.array(["a", "b"]).dictionary_encode(),
        }
    )
    out = io.BytesIO()
    pq.write_table(table, out)
    frame = read_bytes(out.getvalue(), "typed.parquet").frame
    assert list(frame.columns) == [
        "pid",
        "cpu",
        "elevated",
        "users",
        "process.name",
        "host",
    ]
    assert frame["pid"].tolist()[0] == "4" and pd.isna(frame["pid"].iloc[1])
    assert frame["cpu"].tolist() == ["1.5", "0.25"]
    assert frame["elevated"].tolist() == ["true", "false"]
    assert frame["users"].tolist()[0] == "a\nb"
    assert frame["process.name"].tolist()[0] == "cmd.exe"
    assert frame["host"].tolist() == ["a", "b"]
    assert_all_text(frame)


@pytest.mark.parametrize("inner", ["evtx", "parquet"])
def test_read_gzip_matches_plain(sysmon, read_bytes, inner):
    data, expected = sysmon
    raw = data if inner == "evtx" else _parquet(expected)
    loaded = read_bytes(gzip.compress(raw), "events.gz")
    assert loaded.report.formats["events.gz"] == f"{inner}+gzip"
    pd.testing.assert_frame_equal(loaded.frame, expected)


def test_read_gzip_csv_and_cut_short(read_bytes):
    header, rows = CSV.split(b"\r\n", 1)
    packed = gzip.compress(header + b"\r\n" + rows * 2000)
    assert len(read_bytes(packed, "p.csv.gz").frame) == 4000
    loaded = read_bytes(packed[: len(packed) // 2], "cut.csv.gz")
    assert 0 < len(loaded.frame) < 4000
    assert any("gzip data ends early" in w for w in loaded.report.warnings)


def test_read_zip_members_become_files(sysmon, read_bytes):
    data, expected = sysmon
    archive = _zip({"logs/sysmon.evtx": data, "ps.csv": CSV, "__MACOSX/._ps.csv": b"x"})
    loaded = read_bytes(archive, "bundle.zip")
    report = loaded.report
    assert report.files == ["bundle.zip/logs/sysmon.evtx", "bundle.zip/ps.csv"]
    assert report.formats == {
        "bundle.zip/logs/sysmon.evtx": "evtx+zip",
        "bundle.zip/ps.csv": "csv+zip",
    }
    frame = loaded.frame
    assert len(frame) == len(expected) + 2
    assert frame[SOURCE_FILE_COLUMN].value_counts().to_dict() == {
        "bundle.zip/logs/sysmon.evtx": len(expected),
        "bundle.zip/ps.csv": 2,
    }
    pd.testing.assert_frame_equal(
        frame.iloc[: len(expected)][list(expected.columns)], expected
    )


def test_read_zip_single_member_has_no_source_column(sysmon, read_bytes):
    data, expected = sysmon
    loaded = read_bytes(_zip({"sysmon.evtx": data}), "one.zip")
    pd.testing.assert_frame_equal(loaded.frame, expected)


@pytest.mark.parametrize("member", ["../evil.csv", "/etc/evil.csv", "C:/evil.csv"])
def test_read_zip_unsafe_member_name_refused(read_bytes, member):
    with pytest.raises(InputFileError, match="unsafe paths") as caught:
        read_bytes(_zip({member: CSV}), "slip.zip")
    assert caught.value.path == "slip.zip"


def test_read_zip_expansion_cap(read_bytes):
    archive = _zip({"big.csv": b"Name\n" + b"a\n" * 500_000})
    with pytest.raises(InputFileError, match="max_expanded_bytes"):
        read_bytes(archive, "bomb.zip", max_expanded_bytes=100_000)
    assert len(read_bytes(archive, "ok.zip").frame) == 500_000


def test_read_gzip_expansion_cap(read_bytes):
    with pytest.raises(InputFileError, match="expands to more than"):
        read_bytes(
            gzip.compress(b"a" * 5_000_000), "bomb.gz", max_expanded_bytes=10_000
        )


def test_read_damaged_zip_raises(read_bytes):
    with pytest.raises(InputFileError, match="damaged zip"):
        read_bytes(b"PK\x03\x04" + b"\x00" * 40, "broken.zip")


def test_read_upload_several_files_in_order(read_bytes):
    loaded = read_upload(
        [("a.csv", CSV), ("b.jsonl", b'{"Name": "x.exe", "User": "u"}\n')],
        normalise=False,
    )
    frame = loaded.frame
    assert list(frame.columns) == ["Name", "Path", "User", SOURCE_FILE_COLUMN]
    assert frame[SOURCE_FILE_COLUMN].tolist() == ["a.csv", "a.csv", "b.jsonl"]
    assert loaded.report.rows_read == 3


def test_read_normalise_takes_the_schema_steps_account(monkeypatch):
    class Mapping:
        def to_dict(self):
            return {"Path": "Path"}

    def to_process_events(frame, *, source=None):
        assert source == "a.csv"
        return types.SimpleNamespace(
            frame=frame.iloc[:1],
            mapping=Mapping(),
            other_events={"Security/4624": 1},
            warnings=["schema says hello"],
        )

    fake = types.ModuleType("procanom.schema")
    fake.to_process_events = to_process_events
    monkeypatch.setitem(sys.modules, "procanom.schema", fake)

    loaded = read_upload([("a.csv", CSV)])
    report = loaded.report
    assert len(loaded.frame) == 1
    assert report.mapping == {"Path": "Path"}
    assert report.other_events == {"Security/4624": 1}
    assert report.warnings == ["schema says hello"]
    assert report.rows_read == 2 and report.events == 1
    assert report.summary() == (
        "Read 2 records from a.csv (csv). 1 process event kept, 1 other event "
        "set aside. 1 warning."
    )
