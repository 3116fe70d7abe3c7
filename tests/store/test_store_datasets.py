"""Datasets: uploaded files kept by content so experiments reopen after a restart."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest

from procanom.errors import InputFileError, NotFoundError, ParameterError, StoreError
from procanom.store import ExperimentStore

EVENTS = b"Name,ParentImage\nsvchost.exe,services.exe\n"
OTHER = b"Name,ParentImage\nevil.exe,winword.exe\n"


def stored_blobs(store: ExperimentStore) -> list[Path]:
    root = store.data_dir / "datasets"
    return sorted(p for p in root.rglob("*") if p.is_file())


def test_store_dataset_blob_is_named_by_its_sha256(store):
    record = store.save_dataset("upload", [("events.csv", EVENTS)])

    digest = hashlib.sha256(EVENTS).hexdigest()
    assert record.files == [
        {"name": "events.csv", "sha256": digest, "size": len(EVENTS)}
    ]
    assert stored_blobs(store) == [store.data_dir / "datasets" / digest[:2] / digest]


def test_store_same_bytes_are_stored_once(store):
    first = store.save_dataset("one", [("a.csv", EVENTS), ("b.csv", OTHER)])
    second = store.save_dataset("two", [("renamed.csv", EVENTS)])

    assert first.id != second.id
    assert len(stored_blobs(store)) == 2


def test_store_same_upload_twice_is_one_dataset(store):
    first = store.save_dataset("one", [("a.csv", EVENTS), ("b.csv", OTHER)])
    again = store.save_dataset("again", [("b.csv", OTHER), ("a.csv", EVENTS)])

    assert again == first
    assert [d.id for d in store.list_datasets()] == [first.id]


def test_store_dataset_files_give_the_uploaded_bytes(store):
    record = store.save_dataset("one", [("a.csv", EVENTS), ("b.csv", OTHER)])

    files = store.dataset_files(record.id)

    assert [name for name, _ in files] == ["a.csv", "b.csv"]
    assert [path.read_bytes() for _, path in files] == [EVENTS, OTHER]


def test_store_save_dataset_paths_matches_save_dataset(store, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(EVENTS + b"x.exe,y.exe\n" * 300_000)  # several read chunks

    from_disk = store.save_dataset_paths("disk", [big])
    from_memory = store.save_dataset("memory", [("big.csv", big.read_bytes())])

    assert from_disk.id == from_memory.id
    assert from_disk.files[0]["size"] == big.stat().st_size
    assert store.dataset_files(from_disk.id)[0][1].read_bytes() == big.read_bytes()
    assert not list((store.data_dir / "datasets" / ".tmp").iterdir())


def test_store_save_dataset_paths_names_an_unreadable_file(store, tmp_path):
    with pytest.raises(InputFileError, match=r"missing\.csv"):
        store.save_dataset_paths("x", [tmp_path / "missing.csv"])
    assert store.list_datasets() == []
    assert not list((store.data_dir / "datasets" / ".tmp").iterdir())


@pytest.mark.parametrize(
    "name, files, bad",
    [
        ("", [("a.csv", EVENTS)], "name"),
        ("x", [], "files"),
        ("x", [("a.csv", "text")], "files[0] contents"),
        ("x", [("", EVENTS)], "files[0] name"),
        ("x", [b"just bytes"], "files[0]"),
    ],
)
def test_store_save_dataset_rejects_bad_uploads(store, name, files, bad):
    with pytest.raises(ParameterError, match=bad.replace("[", r"\[")):
        store.save_dataset(name, files)


def test_store_delete_dataset_keeps_blobs_another_dataset_shares(store):
    shared = store.save_dataset("shared", [("a.csv", EVENTS)])
    doomed = store.save_dataset("doomed", [("a.csv", EVENTS), ("b.csv", OTHER)])

    store.delete_dataset(doomed.id)

    with pytest.raises(NotFoundError, match=doomed.id):
        store.get_dataset(doomed.id)
    assert [p.read_bytes() for p in stored_blobs(store)] == [EVENTS]
    assert store.dataset_files(shared.id)[0][1].read_bytes() == EVENTS


def test_store_experiments_using_dataset_follow_the_data_source(store):
    record = store.save_dataset("d", [("a.csv", EVENTS)])
    user = store.create_experiment(
        "uses it",
        settings={"data_source": {"kind": "dataset", "dataset_id": record.id}},
    )
    store.create_experiment("other", settings={"data_source": {"kind": "file"}})
    store.create_experiment("none")

    assert [e.id for e in store.experiments_using_dataset(record.id)] == [user.id]


def test_store_missing_blob_is_reported_and_reupload_restores_it(store):
    record = store.save_dataset("d", [("a.csv", EVENTS)])
    blob = store.dataset_files(record.id)[0][1]
    blob.unlink()

    with pytest.raises(StoreError, match=r"a\.csv.*upload the file again"):
        store.dataset_files(record.id)

    store.save_dataset("d", [("a.csv", EVENTS)])
    assert store.dataset_files(record.id)[0][1].read_bytes() == EVENTS


def test_store_dataset_keeps_extra_details(store):
    record = store.save_dataset("d", [("a.csv", EVENTS)], extra={"format": "csv"})

    assert store.get_dataset(record.id).extra == {"format": "csv"}
