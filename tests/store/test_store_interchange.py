"""Import and export of experiments as the JSON files analysts exchange."""

from __future__ import annotations

import json

import pytest

from procanom.errors import InputFileError, ParameterError
from procanom.store import read_experiment_file

SETTINGS = {
    "fields": ["Process Command Line", 'a" "b'],
    "method": "histogram",
    "params": {"pthresh": 0.01},
    "data_source": {"kind": "file", "name": "events.csv"},
    "custom": {"kept": True},
}


def test_store_export_then_import_round_trips(store, make_run, data_dir, tmp_path):
    original = store.create_experiment('Quote "me" twice', "desc", SETTINGS)
    runs = [
        store.add_run(
            make_run(original.id, started_at=f"2025-03-0{day}T00:00:00+00:00")
        )
        for day in (1, 2)
    ]
    exported = store.export_experiment(original.id)
    # Through a file, as analysts hand them over.
    path = tmp_path / "exp.json"
    path.write_text(json.dumps(exported), encoding="utf-8")

    (imported,) = store.import_experiments(read_experiment_file(path))

    assert exported["format"] == "procanom-experiment"
    assert exported["format_version"] == 1
    assert imported.id != original.id
    assert (imported.title, imported.description, imported.settings) == (
        original.title,
        original.description,
        original.settings,
    )
    again = store.list_runs(imported.id)
    assert [r.started_at for r in again] == [r.started_at for r in reversed(runs)]
    assert [r.summary for r in again] == [r.summary for r in reversed(runs)]
    assert store.export_experiment(imported.id) == exported


def test_store_import_sets_the_summary_from_the_newest_run(store, make_run):
    original = store.create_experiment("t")
    store.add_run(make_run(original.id, started_at="2025-03-09T00:00:00+00:00"))
    store.add_run(make_run(original.id, started_at="2025-03-01T00:00:00+00:00"))
    payload = store.export_experiment(original.id)

    (imported,) = store.import_experiments(payload)

    summaries = {s.id: s for s in store.list_experiments()}
    assert summaries[imported.id].last_run_at == "2025-03-09T00:00:00+00:00"


def test_store_imports_every_shape_in_case20(store, shared_cases):
    payload = read_experiment_file(
        shared_cases / "case20_saved_experiments_variants.json"
    )

    imported = store.import_experiments(payload)

    assert [e.title for e in imported] == [
        "exp-single-field",
        "exp-list",
        "exp-missing-col",
        'exp with " quote',
    ]
    assert [e.settings["fields"] for e in imported] == [
        ["Name"],
        ["Name", "CommandLine"],
        ["Name", "CommandLine", "ParentImage"],
        ["Process Command Line", 'a" "b'],
    ]
    assert imported[3].settings["data_source"] == {
        "kind": "file",
        "name": "case14_splunk_csv_multivalue_internal_fields.csv",
    }
    for experiment in imported:
        assert store.get_experiment(experiment.id) == experiment


def test_store_import_takes_a_single_loose_object(store):
    (imported,) = store.import_experiments(
        {
            "name": "loose",
            "fields": "Name, CommandLine,,",
            "method": "histogram",
            "unknown": {"a": 1},
            "source": "x.csv",
        }
    )

    assert imported.title == "loose"
    assert imported.settings == {
        "fields": ["Name", "CommandLine"],
        "method": "histogram",
        "unknown": {"a": 1},
        "data_source": {"kind": "file", "name": "x.csv"},
    }


def test_store_import_prefers_nested_settings_and_data_source(store):
    (imported,) = store.import_experiments(
        {
            "title": "t",
            "method": "loose",
            "source": "ignored.csv",
            "settings": {"method": "nested", "data_source": {"kind": "dataset"}},
        }
    )

    assert imported.settings == {"method": "nested", "data_source": {"kind": "dataset"}}


@pytest.mark.parametrize(
    "payload, message",
    [
        ([{"name": "ok"}, "not an object", {"name": "ok"}], "record 2 of 3 must be"),
        ([{"name": "ok"}, ["x"]], "record 2 of 2 must be"),
        ([{"fields": "A"}], "title in record 1 of 1 must be"),
        ([{"name": "x", "fields": 7}], "fields in record 1 of 1 must be"),
        ([{"name": "x", "fields": ["A", 3]}], r"fields\[1\] in record 1 of 1"),
        ({"name": "x", "format": "other"}, "format"),
        ({"name": "x", "format_version": 2}, "newer procanom"),
        ({"name": "x", "runs": [{"started_at": "x"}]}, "run 1 in record 1 of 1"),
        ({"name": "x", "settings": "fields=A"}, "settings in record 1 of 1"),
        ("just text", "experiment file"),
    ],
)
def test_store_import_rejects_bad_records_and_saves_nothing(store, payload, message):
    with pytest.raises(ParameterError, match=message):
        store.import_experiments(payload)
    assert store.list_experiments() == []


def test_store_read_experiment_file_names_the_line_of_bad_json(tmp_path):
    path = tmp_path / "bad.json"
    path.write_text('[\n {"name": "a"},\n {"name": }\n]\n', encoding="utf-8")

    with pytest.raises(InputFileError, match=r"bad\.json, line 3: is not valid JSON"):
        read_experiment_file(path)
