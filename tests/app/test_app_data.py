"""The Data page: datasets, their fields and mapping, rename and delete."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from procanom.library import DatasetLibrary
from procanom.store import ExperimentStore

TIMEOUT = 60


@pytest.fixture
def dataset(data_dir, shared_data):
    store = ExperimentStore(data_dir)
    library = DatasetLibrary(data_dir)
    path = shared_data / "winhostmon_process_sample.csv"
    info = library.add_to_store(store, [path], "MSTIC host")
    library.close()
    return store, info


def _data_page(repo_root) -> AppTest:
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    return app.switch_page("pages/data.py").run()


def test_app_data_page_lists_and_profiles_datasets(repo_root, dataset):
    app = _data_page(repo_root)
    assert not app.exception, app.exception
    listing = app.dataframe[0].value
    assert listing["name"].tolist() == ["MSTIC host"]
    assert listing["events"].tolist() == [363]
    profile = app.dataframe[2].value.set_index("field")
    assert profile.loc["Name", "distinct"] > 10
    assert profile.loc["is_simulated_attack", "note"].startswith("Ground-truth")


def test_app_data_page_renames_and_deletes_after_listing_users(repo_root, dataset):
    store, info = dataset
    store.create_experiment(
        "Uses it",
        settings={
            "fields": ["Name"],
            "data_source": {"kind": "dataset", "dataset_id": info.id, "name": "x"},
        },
    )
    app = _data_page(repo_root)
    app.text_input(key=f"data.rename.{info.id}").input("Host one").run()
    app = app.button(key="data.rename").click().run()
    assert not app.exception, app.exception
    assert app.dataframe[0].value["name"].tolist() == ["Host one"]

    app = app.toggle(key="data.delete").set_value(True).run()
    assert any("Uses it" in w.value for w in app.warning)
    app = app.button(key="data.confirm_delete").click().run()
    assert not app.exception, app.exception
    assert not store.list_datasets()
    assert any("None yet" in c.value for c in app.caption)


def test_app_experiment_on_a_deleted_dataset_asks_for_data(
    repo_root, data_dir, dataset
):
    from procanom.samples import SAMPLES

    store, info = dataset
    library = DatasetLibrary(data_dir)
    other = library.add_to_store(store, [SAMPLES["otrf-sysmon"].path], "OTRF")
    library.close()
    experiment = store.create_experiment(
        "On a dataset deleted since",
        settings={
            "fields": ["Name"],
            "data_source": {
                "kind": "dataset",
                "dataset_id": info.id,
                "name": "MSTIC host",
            },
        },
    )
    store.delete_dataset(info.id)

    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    app.query_params["id"] = experiment.id
    app = app.switch_page("pages/experiment.py").run()

    assert not app.exception, app.exception
    assert any("MSTIC host" in w.value for w in app.warning)
    assert app.selectbox(key="exp.dataset").value is None
    assert not any(b.key == "exp.detect" for b in app.button)

    app = app.selectbox(key="exp.dataset").select(other.id).run()
    assert not app.exception, app.exception
    assert not any("no longer in the library" in w.value for w in app.warning)


def test_app_data_unreadable_upload_says_why_and_keeps_nothing(repo_root, data_dir):
    app = _data_page(repo_root)
    app.file_uploader(key="data.upload").upload("empty.csv", b"", "text/csv").run()
    app = app.button(key="data.add").click().run()

    assert not app.exception, app.exception
    assert any("empty.csv" in e.value for e in app.error)
    assert not ExperimentStore(data_dir).list_datasets()


def test_app_data_mapping_edit_keeps_files_mapped_on_their_own(
    repo_root, data_dir, shared_data
):
    store = ExperimentStore(data_dir)
    library = DatasetLibrary(data_dir)
    files = [
        shared_data / "raw/otrf_LSASS_campaign_03_process_creation_only.jsonl",
        shared_data
        / "raw/evtx/eas_Lateral_Movement_LM_wmiexec_impacket_sysmon_whoami.evtx",
    ]
    info = library.add_to_store(store, files, "Mixed formats")
    library.close()
    assert info.mapping.get("files")

    app = _data_page(repo_root)
    app = app.button(key="data.apply_mapping").click().run()

    assert not app.exception, app.exception
    with DatasetLibrary(data_dir) as library:
        again = library.get(info.id)
    assert again.mapping["files"] == info.mapping["files"]
    assert again.hosts == info.hosts and again.events == info.events


def test_app_fields_come_back_after_passing_through_other_data(
    repo_root, data_dir, dataset, tmp_path
):
    from app_helpers import button

    from procanom.experiment import DEFAULT_FIELDS

    store, info = dataset
    odd = tmp_path / "not_processes.csv"
    odd.write_text("a,b,c\n1,2,3\n4,5,6\n")
    library = DatasetLibrary(data_dir)
    other = library.add_to_store(store, [odd], "Not processes")
    library.close()

    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Passing through")
    app = button(app, "Create").click().run()
    app.radio(key="exp.source_kind").set_value("dataset").run()
    app = app.selectbox(key="exp.dataset").select(other.id).run()
    assert app.multiselect(key="exp.fields").value == []
    assert any("Pick at least one field" in c.value for c in app.caption)

    app = app.selectbox(key="exp.dataset").select(info.id).run()

    assert not app.exception, app.exception
    fields = app.multiselect(key="exp.fields").value
    assert fields and set(fields) <= set(DEFAULT_FIELDS)


def test_app_narrower_data_on_the_way_keeps_the_fields_asked_for(
    repo_root, data_dir, dataset, tmp_path
):
    from app_helpers import button

    store, info = dataset
    narrow = tmp_path / "two_fields.csv"
    narrow.write_text("host,CommandLine\nPC1,cmd.exe /c whoami\nPC2,notepad.exe\n")
    library = DatasetLibrary(data_dir)
    other = library.add_to_store(store, [narrow], "Two fields")
    library.close()

    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Narrow first")
    app = button(app, "Create").click().run()
    app.radio(key="exp.source_kind").set_value("dataset").run()
    app = app.selectbox(key="exp.dataset").select(other.id).run()
    assert set(app.multiselect(key="exp.fields").value) == {"CommandLine", "host"}
    app = app.run()  # a rerun on the same data does not make the narrowing stick

    app = app.selectbox(key="exp.dataset").select(info.id).run()

    assert not app.exception, app.exception
    assert len(app.multiselect(key="exp.fields").value) > 2


def test_app_uploaded_files_picks_no_dataset_unasked(repo_root, dataset):
    from app_helpers import button

    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Own files")
    app = button(app, "Create").click().run()
    app = app.radio(key="exp.source_kind").set_value("dataset").run()

    assert not app.exception, app.exception
    assert app.selectbox(key="exp.dataset").value is None
    assert not any(b.key == "exp.detect" for b in app.button)


def test_app_refused_upload_leaves_no_dataset_to_score(repo_root, dataset):
    from app_helpers import button

    _, info = dataset
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT).run()
    app.text_input(key="new.title").input("Bad upload")
    app = button(app, "Create").click().run()
    app.radio(key="exp.source_kind").set_value("dataset").run()
    app = app.selectbox(key="exp.dataset").select(info.id).run()

    app.file_uploader(key="exp.upload").upload("empty.csv", b"", "text/csv")
    app = app.run()

    assert not app.exception, app.exception
    assert any("empty.csv" in e.value for e in app.error)
    assert app.selectbox(key="exp.dataset").value is None
    assert not any(b.key == "exp.detect" for b in app.button)
