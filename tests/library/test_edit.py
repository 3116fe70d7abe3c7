"""Mapping edits, renames and deletes."""

from __future__ import annotations

import pandas as pd
import pytest

from procanom.errors import NotFoundError, ParameterError
from procanom.io import read_events
from procanom.library import DatasetLibrary
from procanom.schema import to_process_events


def _other_mapping(mapping: dict) -> dict:
    # CommandLine from the image path instead: an edit that shows in results.
    edited = {"sources": dict(mapping["sources"]), "derived": dict(mapping["derived"])}
    edited["sources"]["CommandLine"] = "Path"
    return edited


def test_library_set_mapping_rederives_process_fields(library, winhostmon):
    flat = read_events(winhostmon, normalise=False).frame
    info = library.ingest(winhostmon, "win")
    edited = _other_mapping(info.mapping)

    changed = library.set_mapping(info.id, edited)

    expected = to_process_events(flat, edited).frame
    assert changed.mapping == edited
    pd.testing.assert_frame_equal(library.search(info.id), expected)
    assert library.count(info.id, "CommandLine=*cscript.exe") == int(
        expected["CommandLine"].str.endswith("cscript.exe").sum()
    )


def test_library_set_mapping_back_restores_the_original_values(library, winhostmon):
    info = library.ingest(winhostmon, "win")
    library.set_mapping(info.id, _other_mapping(info.mapping))

    library.set_mapping(info.id, info.mapping)

    pd.testing.assert_frame_equal(
        library.search(info.id), read_events(winhostmon).frame
    )


def test_library_set_mapping_is_used_by_scoring(library, winhostmon):
    info = library.ingest(winhostmon, "win")
    library.set_mapping(info.id, _other_mapping(info.mapping))

    result = library.score(info.id, {"fields": ["CommandLine"], "params": {}})

    assert set(result.annotated["CommandLine"]) <= set(library.search(info.id)["Path"])


def test_library_set_mapping_on_chunked_data_uses_originals(tmp_path):
    frame = pd.DataFrame(
        {
            "_time": [f"2024-01-01T00:00:{s % 60:02d}.000Z" for s in range(200)],
            "Name": ["cmd.exe", "net.exe"] * 100,
            "Path": ["C:\\Windows\\cmd.exe", "C:\\Windows\\net.exe"] * 100,
            "Image": ["C:\\Tools\\a.exe", "C:\\Tools\\b.exe"] * 100,
        }
    )
    path = tmp_path / "events.csv"
    frame.to_csv(path, index=False)
    flat = read_events(path, normalise=False).frame
    with DatasetLibrary(tmp_path / "data", stream_bytes=0, chunk_rows=64) as library:
        info = library.ingest(path, "chunked")
        edited = {"sources": {"_time": "_time", "Path": "Image"}, "derived": {}}

        library.set_mapping(info.id, edited)

        expected = to_process_events(flat, edited).frame
        pd.testing.assert_frame_equal(library.search(info.id), expected)


def test_library_set_mapping_refuses_malformed_mapping(library, winhostmon):
    info = library.ingest(winhostmon, "win")

    with pytest.raises(ParameterError):
        library.set_mapping(info.id, {"sources": "Name"})


def test_library_set_mapping_replaces_the_dataset_file(library, winhostmon):
    info = library.ingest(winhostmon, "win")
    before = set(p.name for p in library.folder.glob("*.duckdb"))

    library.set_mapping(info.id, _other_mapping(info.mapping))

    after = set(p.name for p in library.folder.glob("*.duckdb"))
    assert len(after) == 1 and after != before


def test_library_rename_changes_only_the_name(library, winhostmon):
    info = library.ingest(winhostmon, "win")

    renamed = library.rename(info.id, "Workstation, January")

    assert renamed.name == "Workstation, January"
    assert renamed.events == info.events
    assert library.get(info.id).name == "Workstation, January"


def test_library_rename_refuses_blank_name(library, winhostmon):
    info = library.ingest(winhostmon, "win")

    with pytest.raises(ParameterError, match="name"):
        library.rename(info.id, " ")


def test_library_delete_removes_dataset_and_file(library, winhostmon):
    info = library.ingest(winhostmon, "win")
    library.count(info.id)  # opens a reader on the file

    library.delete(info.id)

    assert info.id not in library
    assert list(library.folder.glob("*.duckdb")) == []
    with pytest.raises(NotFoundError):
        library.search(info.id)


@pytest.mark.parametrize("action", ["rename", "delete", "set_mapping", "get"])
def test_library_edits_of_unknown_dataset_are_not_found(library, action):
    args = {"rename": ("x",), "set_mapping": ({"sources": {}, "derived": {}},)}
    with pytest.raises(NotFoundError, match="no dataset"):
        getattr(library, action)("0123456789abcdef", *args.get(action, ()))


def _holds_open(library: DatasetLibrary, file: str) -> bool:
    """Whether the library's reader pool has this dataset file open."""
    return library._readers.is_open(library.folder / file)


def test_library_sees_dataset_reingested_by_another_instance(tmp_path, winhostmon):
    flat = read_events(winhostmon, normalise=False).frame
    with DatasetLibrary(tmp_path) as app, DatasetLibrary(tmp_path) as other:
        info = app.ingest(winhostmon, "win")
        app.count(info.id)  # the app holds a reader on the first file
        first_file = app._catalogue.get(info.id).file
        edited = _other_mapping(info.mapping)

        other.delete(info.id)
        with pytest.raises(NotFoundError):
            app.count(info.id)
        again = other.ingest(winhostmon, "win again", mapping=edited)

        assert again.id == info.id
        assert app.get(info.id).name == "win again"
        pd.testing.assert_frame_equal(
            app.search(info.id), to_process_events(flat, edited).frame
        )
        # The reader on the replaced file is let go, not kept until exit.
        assert not _holds_open(app, first_file)
        assert _holds_open(app, app._catalogue.get(info.id).file)


def test_library_sees_mapping_edited_by_another_instance(tmp_path, winhostmon):
    flat = read_events(winhostmon, normalise=False).frame
    with DatasetLibrary(tmp_path) as app, DatasetLibrary(tmp_path) as other:
        info = app.ingest(winhostmon, "win")
        before = app.search(info.id)
        first_file = app._catalogue.get(info.id).file
        edited = _other_mapping(info.mapping)

        other.set_mapping(info.id, edited)

        after = app.search(info.id)
        assert not after.equals(before)
        pd.testing.assert_frame_equal(after, to_process_events(flat, edited).frame)
        # The reader on the replaced file is let go, not kept until exit.
        assert not _holds_open(app, first_file)
        assert _holds_open(app, app._catalogue.get(info.id).file)


def test_library_set_mapping_after_a_search_in_the_same_library(library, winhostmon):
    flat = read_events(winhostmon, normalise=False).frame
    info = library.ingest(winhostmon, "win")
    library.search(info.id, limit=5)  # the page shows the dataset first
    edited = _other_mapping(info.mapping)

    library.set_mapping(info.id, edited)

    pd.testing.assert_frame_equal(
        library.search(info.id), to_process_events(flat, edited).frame
    )


def test_library_two_instances_in_one_process_read_one_dataset(tmp_path, winhostmon):
    with DatasetLibrary(tmp_path) as first, DatasetLibrary(tmp_path) as second:
        info = first.ingest(winhostmon, "win")
        expected = first.count(info.id, "Name=cmd.exe")

        assert second.count(info.id, "Name=cmd.exe") == expected
        first.close()
        assert second.count(info.id, "Name=cmd.exe") == expected
