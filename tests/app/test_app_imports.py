"""Experiments handed over as JSON files import and open on their data."""

from __future__ import annotations

import json

import pytest
from streamlit.testing.v1 import AppTest

from procanom.store import ExperimentStore

TIMEOUT = 60


def _open(repo_root, experiment_id: str) -> AppTest:
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    app.query_params["id"] = experiment_id
    return app.switch_page("pages/experiment.py").run()


@pytest.fixture
def imported(data_dir, shared_cases):
    store = ExperimentStore(data_dir)
    payload = json.loads(
        (shared_cases / "case20_saved_experiments_variants.json").read_text()
    )
    experiments = {e.title: e for e in store.import_experiments(payload)}
    return store, experiments


def test_app_imported_experiment_asks_for_its_data_file(repo_root, imported):
    _, experiments = imported
    app = _open(repo_root, experiments["exp-single-field"].id)
    assert not app.exception, app.exception
    assert any("case16_high_cardinality_cmdline.csv" in i.value for i in app.info)


@pytest.mark.parametrize(
    ("title", "fields", "missing"),
    [
        ("exp-single-field", ["Name"], []),
        ("exp-list", ["Name", "CommandLine"], []),
        ("exp-missing-col", ["Name", "CommandLine"], ["ParentImage"]),
        ('exp with " quote', ["Process Command Line"], ['a" "b']),
    ],
)
def test_app_imported_experiment_opens_on_its_data(
    repo_root, imported, shared_cases, title, fields, missing
):
    store, experiments = imported
    for name in (
        "case16_high_cardinality_cmdline.csv",
        "case14_splunk_csv_multivalue_internal_fields.csv",
    ):
        store.save_dataset(name, [(name, (shared_cases / name).read_bytes())])

    app = _open(repo_root, experiments[title].id)
    assert not app.exception, app.exception
    assert app.title[0].value == title
    assert app.multiselect(key="exp.fields").value == fields
    for name in missing:
        assert any(name in w.value for w in app.warning), [w.value for w in app.warning]

    app = app.button(key="exp.detect").click().run()
    assert not app.exception, app.exception
    assert any(m.label == "Total Events" for m in app.metric)


def test_app_imported_sysmon_field_names_map_onto_the_schema(repo_root, data_dir):
    store = ExperimentStore(data_dir)
    (experiment,) = store.import_experiments(
        {
            "title": "Sysmon names",
            "fields": ["Image", "ParentImage", "CommandLine"],
            "data_source": {"kind": "sample", "name": "otrf-sysmon"},
        }
    )
    app = _open(repo_root, experiment.id)
    assert not app.exception, app.exception
    assert app.multiselect(key="exp.fields").value == [
        "Path",
        "ParentPath",
        "CommandLine",
    ]
    assert any("ParentImage is ParentPath" in i.value for i in app.info)
