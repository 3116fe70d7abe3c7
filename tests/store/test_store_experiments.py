"""Experiments: create, read, list, edit with versions, duplicate, delete."""

from __future__ import annotations

import re
import sqlite3
import threading
from datetime import datetime, timedelta

import pytest

from procanom.errors import NotFoundError, ParameterError, StaleEditError
from procanom.store import Experiment, ExperimentStore

SETTINGS = {
    "fields": ["Name", "ParentImage"],
    "field_types": {"Name": "categorical"},
    "method": "histogram",
    "params": {"pthresh": 0.01},
    "query": "Name=*.exe",
    "time_range": {"earliest": "-24h"},
    "notes": "first try",
    "data_source": {"kind": "dataset", "dataset_id": "abc"},
    "future_key": [1, 2, 3],
}


def test_store_open_creates_folder_database_and_datasets(data_dir):
    store = ExperimentStore(data_dir)

    assert store.data_dir == data_dir
    assert store.path == data_dir / "procanom.sqlite3"
    assert store.path.is_file()
    assert (data_dir / "datasets").is_dir()


def test_store_connection_uses_wal_foreign_keys_and_busy_timeout(store):
    conn = store._conn()

    assert conn.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    assert conn.execute("PRAGMA foreign_keys").fetchone()[0] == 1
    assert conn.execute("PRAGMA busy_timeout").fetchone()[0] >= 5000


def test_store_create_then_get_returns_the_same_experiment(store):
    created = store.create_experiment("Rare parents", "desc", SETTINGS, owner="ana")

    assert store.get_experiment(created.id) == created
    assert created.version == 1
    assert created.settings == SETTINGS
    assert created.owner == "ana"


def test_store_ids_are_short_and_url_safe(store):
    ids = {store.create_experiment(f"e{i}").id for i in range(20)}

    assert len(ids) == 20
    assert all(re.fullmatch(r"[a-z0-9]{8,16}", i) for i in ids)


def test_store_times_are_utc_iso8601(store):
    created = store.create_experiment("t")

    stamp = datetime.fromisoformat(created.created_at)
    assert stamp.utcoffset() == timedelta(0)
    assert created.updated_at == created.created_at


def test_store_fields_string_is_stored_as_a_list(store):
    created = store.create_experiment("t", settings={"fields": "Name, CommandLine"})

    assert created.settings["fields"] == ["Name", "CommandLine"]
    assert store.list_experiments()[0].fields == ["Name", "CommandLine"]


def test_store_list_shows_most_recently_edited_first(store):
    first = store.create_experiment("first", settings={"fields": ["A"]})
    second = store.create_experiment("second")
    store.update_experiment(first.id, expected_version=1, description="edited")

    listed = store.list_experiments()

    assert [s.id for s in listed] == [first.id, second.id]
    assert listed[0].fields == ["A"]
    assert listed[1].fields == []
    assert listed[0].version == 2
    assert listed[0].last_run_at is None


def test_store_list_filters_by_owner(store):
    mine = store.create_experiment("mine", owner="ana")
    store.create_experiment("theirs", owner="bo")

    assert [s.id for s in store.list_experiments(owner="ana")] == [mine.id]
    assert len(store.list_experiments()) == 2


def test_store_update_bumps_version_and_keeps_unset_values(store):
    created = store.create_experiment("t", "d", {"fields": ["A"]})

    updated = store.update_experiment(
        created.id, expected_version=1, settings={"fields": ["B"]}
    )

    assert updated.version == 2
    assert updated.title == "t"
    assert updated.description == "d"
    assert updated.settings == {"fields": ["B"]}
    assert updated.updated_at >= created.updated_at
    assert store.get_experiment(created.id) == updated


def test_store_update_from_an_old_version_raises_stale_edit(store):
    created = store.create_experiment("t")
    store.update_experiment(created.id, expected_version=1, title="tab one")

    with pytest.raises(StaleEditError, match=r"now version 2\); reload it"):
        store.update_experiment(created.id, expected_version=1, title="tab two")

    assert store.get_experiment(created.id).title == "tab one"


@pytest.mark.parametrize(
    "method, args",
    [
        ("get_experiment", ()),
        ("delete_experiment", ()),
        ("duplicate_experiment", ()),
        ("list_runs", ()),
        ("export_experiment", ()),
    ],
)
def test_store_missing_experiment_raises_not_found_naming_the_id(store, method, args):
    with pytest.raises(NotFoundError, match="nosuchid"):
        getattr(store, method)("nosuchid", *args)


def test_store_update_missing_experiment_raises_not_found(store):
    with pytest.raises(NotFoundError, match="nosuchid"):
        store.update_experiment("nosuchid", expected_version=1, title="x")


@pytest.mark.parametrize(
    "kwargs, name",
    [
        ({"title": ""}, "title"),
        ({"title": "   "}, "title"),
        ({"title": None}, "title"),
        ({"title": "t", "description": 3}, "description"),
        ({"title": "t", "settings": ["fields"]}, "settings"),
        ({"title": "t", "settings": {"x": object()}}, "settings"),
        ({"title": "t", "settings": {"fields": 3}}, "fields"),
        ({"title": "t", "settings": {"fields": ["A", ""]}}, "fields"),
    ],
)
def test_store_create_rejects_bad_values_naming_them(store, kwargs, name):
    with pytest.raises(ParameterError, match=re.escape(name)):
        store.create_experiment(**kwargs)
    assert store.list_experiments() == []


def test_store_update_rejects_a_non_integer_version(store):
    created = store.create_experiment("t")

    with pytest.raises(ParameterError, match="expected_version"):
        store.update_experiment(created.id, expected_version="1", title="x")


def test_store_duplicate_copies_settings_but_not_runs(store, make_run):
    original = store.create_experiment("Rare parents", "d", SETTINGS, owner="ana")
    store.add_run(make_run(original.id))

    copy = store.duplicate_experiment(original.id)

    assert copy.id != original.id
    assert copy.title == "Copy of Rare parents"
    assert (copy.description, copy.settings, copy.owner) == ("d", SETTINGS, "ana")
    assert copy.version == 1
    assert store.list_runs(copy.id) == []
    assert len(store.list_runs(original.id)) == 1


def test_store_duplicate_takes_a_given_title(store):
    original = store.create_experiment("a")

    assert store.duplicate_experiment(original.id, title="b").title == "b"


def test_store_delete_removes_the_experiment_and_its_runs(store, make_run):
    doomed = store.create_experiment("doomed")
    kept = store.create_experiment("kept")
    doomed_run = store.add_run(make_run(doomed.id))
    kept_run = store.add_run(make_run(kept.id))

    store.delete_experiment(doomed.id)

    with pytest.raises(NotFoundError):
        store.get_experiment(doomed.id)
    with pytest.raises(NotFoundError):
        store.get_run(doomed_run.id)
    assert store.get_run(kept_run.id) == kept_run
    with sqlite3.connect(store.path) as raw:
        assert raw.execute("SELECT COUNT(*) FROM runs").fetchone()[0] == 1


def test_store_reopened_on_the_same_folder_sees_everything(data_dir, make_run):
    first = ExperimentStore(data_dir)
    experiment = first.create_experiment("t", settings=SETTINGS)
    experiment = first.update_experiment(experiment.id, expected_version=1, title="u")
    run = first.add_run(make_run(experiment.id))
    dataset = first.save_dataset("d", [("a.csv", b"Name\nx.exe\n")])
    first.close()
    del first

    again = ExperimentStore(data_dir)

    assert again.get_experiment(experiment.id) == experiment
    assert again.list_runs(experiment.id) == [run]
    assert again.get_dataset(dataset.id) == dataset
    assert again.dataset_files(dataset.id)[0][1].read_bytes() == b"Name\nx.exe\n"


def test_store_is_usable_from_many_threads(store):
    created: list[Experiment] = []
    errors: list[BaseException] = []

    def work(worker: int) -> None:
        try:
            for i in range(15):
                exp = store.create_experiment(f"w{worker}-{i}")
                created.append(
                    store.update_experiment(exp.id, expected_version=1, title="u")
                )
        except BaseException as exc:  # reported below, not lost in the thread
            errors.append(exc)

    threads = [threading.Thread(target=work, args=(w,)) for w in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert {s.id for s in store.list_experiments()} == {e.id for e in created}
    assert len(created) == 60


def test_store_edit_from_another_handle_makes_this_edit_stale(data_dir):
    # Two handles stand for the app and the command line on the same folder.
    app, cli = ExperimentStore(data_dir), ExperimentStore(data_dir)
    opened_in_app = app.create_experiment("shared")

    cli.update_experiment(opened_in_app.id, expected_version=1, title="from cli")

    with pytest.raises(StaleEditError, match="now version 2"):
        app.update_experiment(opened_in_app.id, expected_version=1, title="from app")
    assert app.get_experiment(opened_in_app.id).title == "from cli"
