"""The Allow-list page: list, filter, add, edit, disable, delete, CSV."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from procanom.allowlist import allowlist_from_csv, allowlist_to_csv
from procanom.store import ExperimentStore, RunRecord

TIMEOUT = 60


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    folder = tmp_path / "appdata"
    monkeypatch.setenv("PROCANOM_DATA_DIR", str(folder))
    monkeypatch.setenv("PROCANOM_ANALYST", "ann")
    return folder


@pytest.fixture
def store(data_dir):
    opened = ExperimentStore(data_dir)
    yield opened
    opened.close()


@pytest.fixture
def entries(store):
    """Two experiments; one entry scoped to the first, one for all."""
    hunt = store.create_experiment("Daily hunt")
    store.create_experiment("Servers")
    sccm = store.add_allow_entry(
        {"Name": "ccmexec.exe", "ParentName": "services.exe"},
        experiment_id=hunt.id,
        reason="SCCM agent",
        author="bob",
    )
    system = store.add_allow_entry(
        {"Path": r"C:\Windows\System32\*"},
        scope="global",
        match="pattern",
        reason="Signed system binaries",
        author="cy",
    )
    return hunt, sccm, system


def _page(repo_root) -> AppTest:
    app = AppTest.from_file(str(repo_root / "app.py"), default_timeout=TIMEOUT)
    app = app.switch_page("pages/allowlist.py").run()
    assert not app.exception, app.exception
    return app


def _run(app: AppTest) -> AppTest:
    app = app.run()
    assert not app.exception, app.exception
    return app


def test_app_allowlist_empty_state_says_where_entries_come_from(repo_root, store):
    app = _page(repo_root)
    assert any("This is expected" in info.value for info in app.info)
    assert not app.dataframe
    assert any("Nothing to export" in c.value for c in app.caption)


def test_app_allowlist_lists_entries_readably(repo_root, entries):
    app = _page(repo_root)
    table = app.dataframe[0].value
    assert table["conditions"].tolist() == [
        'Name is "ccmexec.exe" and ParentName is "services.exe"',
        r'Path matches "C:\Windows\System32\*"',
    ]
    assert table["scope"].tolist() == ["Daily hunt", "All experiments"]
    assert table["who"].tolist() == ["bob", "cy"]
    assert table["reason"].tolist() == ["SCCM agent", "Signed system binaries"]
    assert table["enabled"].tolist() == [True, True]
    assert table["when"].str.endswith("UTC").all()


def test_app_allowlist_filter_shows_what_applies_to_an_experiment(
    repo_root, store, entries
):
    servers = next(s for s in store.list_experiments() if s.title == "Servers")
    app = _page(repo_root)
    app = _run(app.selectbox(key="allow.filter").set_value(servers.id))
    assert app.dataframe[0].value["scope"].tolist() == ["All experiments"]
    app = _run(app.selectbox(key="allow.filter").set_value("__global__"))
    assert len(app.dataframe[0].value) == 1


def test_app_allowlist_shows_matches_recorded_by_runs(repo_root, store, entries):
    hunt, sccm, _ = entries
    store.add_run(
        RunRecord(
            id=None,
            experiment_id=hunt.id,
            started_at="",
            duration_s=1.0,
            procanom_version="0.1.0",
            settings={"fields": ["Name"]},
            data_fingerprint="sha256:abc",
            rows_read=10,
            rows_skipped=0,
            total_events=10,
            num_outliers=1,
            threshold=0.01,
            summary={"allowlist": {"by_entry": {sccm.id: 4}}},
        )
    )
    table = _page(repo_root).dataframe[0].value
    assert table["matched"].tolist()[0] == 4
    assert table["matched"].isna().tolist() == [False, True]


def test_app_allowlist_adds_an_entry_by_hand(repo_root, store, entries):
    hunt, _, _ = entries
    app = _page(repo_root)
    app.text_input(key="allow.add.field").input("CommandLine")
    app.text_input(key="allow.add.value").input("*\\backup.ps1*")
    app.radio(key="allow.add.match").set_value("pattern")
    app.selectbox(key="allow.add.scope").set_value(hunt.id)
    app.text_input(key="allow.add.reason").input("Nightly backup")
    app = _run(
        app.button(key="FormSubmitter:allow.add_form-Add to the allow-list").click()
    )

    added = store.list_allow_entries()[-1]
    assert added.conditions == {"CommandLine": "*\\backup.ps1*"}
    assert (added.match, added.scope, added.experiment_id) == (
        "pattern",
        "experiment",
        hunt.id,
    )
    assert (added.reason, added.author) == ("Nightly backup", "ann")
    assert len(app.dataframe[0].value) == 3


@pytest.mark.parametrize(
    ("field", "value", "match", "reason", "words"),
    [
        ("", "a.exe", "literal", "why", "Name the field"),
        ("Name", "**", "pattern", "why", "matches every value"),
        ("Name", "a.exe", "literal", " ", "Say why"),
    ],
)
def test_app_allowlist_add_refuses_an_unusable_entry(
    repo_root, store, field, value, match, reason, words
):
    app = _page(repo_root)
    app.text_input(key="allow.add.field").input(field)
    app.text_input(key="allow.add.value").input(value)
    app.radio(key="allow.add.match").set_value(match)
    app.text_input(key="allow.add.reason").input(reason)
    app = _run(
        app.button(key="FormSubmitter:allow.add_form-Add to the allow-list").click()
    )
    assert any(words in error.value for error in app.error)
    assert not store.list_allow_entries()


def test_app_allowlist_edits_reason_patterns_and_scope(repo_root, store, entries):
    _, sccm, _ = entries
    key = f"allow.edit.{sccm.id}."
    app = _page(repo_root)
    assert app.selectbox(key="allow.selected").value == sccm.id
    app.text_input(key=f"{key}value.Name").input("ccm*.exe")
    app.multiselect(key=f"{key}fields").set_value(["Name"])
    app.text_input(key=f"{key}new_field").input("host")
    app.text_input(key=f"{key}new_value").input("SRV-*")
    app.radio(key=f"{key}match").set_value("pattern")
    app.selectbox(key=f"{key}scope").set_value("__global__")
    app.text_area(key=f"{key}reason").input("SCCM client on servers")
    app = _run(
        app.button(key=f"FormSubmitter:allow.edit_form.{sccm.id}-Save changes").click()
    )

    edited = store.get_allow_entry(sccm.id)
    assert edited.conditions == {"Name": "ccm*.exe", "host": "SRV-*"}
    assert (edited.match, edited.scope, edited.experiment_id) == (
        "pattern",
        "global",
        None,
    )
    assert edited.reason == "SCCM client on servers"
    assert edited.author == "bob"
    row = app.dataframe[0].value.iloc[0]
    assert row["conditions"] == 'Name matches "ccm*.exe" and host matches "SRV-*"'
    assert row["scope"] == "All experiments"


def test_app_allowlist_edit_keeps_at_least_one_condition(repo_root, store, entries):
    _, sccm, _ = entries
    app = _page(repo_root)
    app.multiselect(key=f"allow.edit.{sccm.id}.fields").set_value([])
    app = _run(
        app.button(key=f"FormSubmitter:allow.edit_form.{sccm.id}-Save changes").click()
    )
    assert any("at least one condition" in error.value for error in app.error)
    assert store.get_allow_entry(sccm.id).conditions == sccm.conditions


def test_app_allowlist_disables_and_enables_an_entry(repo_root, store, entries):
    _, sccm, _ = entries
    app = _page(repo_root)
    app = _run(app.button(key="allow.toggle_enabled").click())
    assert store.get_allow_entry(sccm.id).enabled is False
    assert app.dataframe[0].value["enabled"].tolist() == [False, True]
    assert app.button(key="allow.toggle_enabled").label == "Enable"
    # The edit form shows the stored flag, so saving it does not undo this.
    assert app.checkbox(key=f"allow.edit.{sccm.id}.enabled").value is False

    app = _run(app.button(key="allow.toggle_enabled").click())
    assert store.get_allow_entry(sccm.id).enabled is True


def test_app_allowlist_deletes_only_after_confirmation(repo_root, store, entries):
    _, sccm, system = entries
    app = _page(repo_root)
    assert "allow.confirm_delete" not in [button.key for button in app.button]
    app = _run(app.toggle(key=f"allow.delete.{sccm.id}").set_value(True))
    assert any("Delete this entry?" in w.value for w in app.warning)
    assert len(store.list_allow_entries()) == 2

    app = _run(app.button(key="allow.confirm_delete").click())
    assert [e.id for e in store.list_allow_entries()] == [system.id]
    assert len(app.dataframe[0].value) == 1


def test_app_allowlist_export_csv_round_trips(repo_root, store, entries):
    hunt, _, _ = entries
    app = _page(repo_root)
    assert app.get("download_button")[0].label == "Export 2 entries as CSV"
    # The page shows the downloaded text; st.code trims its last line break.
    text = app.code[-1].value
    stored = store.list_allow_entries()
    assert text.rstrip() == allowlist_to_csv(stored).rstrip()

    back = allowlist_from_csv(text, experiment_id=hunt.id)
    for before, after in zip(stored, back, strict=True):
        assert after.conditions == before.conditions
        assert (after.match, after.scope, after.reason) == (
            before.match,
            before.scope,
            before.reason,
        )
        assert (after.author, after.created_at, after.enabled) == (
            before.author,
            before.created_at,
            before.enabled,
        )


def test_app_allowlist_import_adds_good_rows_and_names_the_bad_one(
    repo_root, store, entries
):
    hunt, _, _ = entries
    text = (
        "Name,ParentName,match,reason,scope,enabled\r\n"
        "a.exe,*,literal,first,global,1\r\n"
        "b.exe,cmd.exe,literal,second,global,maybe\r\n"
        "c*.exe,*,pattern,third,experiment,0\r\n"
    )
    app = _page(repo_root)
    app.file_uploader(key="allow.import.file").upload(
        "team.csv", text.encode(), "text/csv"
    )
    app = _run(app)
    app.selectbox(key="allow.import.experiment").set_value(hunt.id)
    app = _run(app.button(key="allow.import.go").click())

    assert any("Added 2 entries from team.csv" in s.value for s in app.success)
    warning = " ".join(w.value for w in app.warning)
    assert "1 row(s) of team.csv not added" in warning
    assert "line 3: column enabled holds 'maybe'; expected 1 or 0" in warning
    added = store.list_allow_entries()[2:]
    assert [e.conditions for e in added] == [{"Name": "a.exe"}, {"Name": "c*.exe"}]
    assert added[1].experiment_id == hunt.id and added[1].enabled is False
    assert [e.author for e in added] == ["ann", "ann"]


def test_app_allowlist_import_without_field_columns_adds_nothing(repo_root, store):
    app = _page(repo_root)
    app.file_uploader(key="allow.import.file").upload(
        "bad.csv", b"reason,enabled\r\nwhy,1\r\n", "text/csv"
    )
    app = _run(app)
    app = _run(app.button(key="allow.import.go").click())
    assert any("has no field columns" in e.value for e in app.error)
    assert not store.list_allow_entries()


def test_app_allowlist_read_csv_rows_counts_lines_inside_quotes():
    from ui.allowlist_view import read_csv_rows

    text = (
        "CommandLine,reason,scope\n"
        '"backup.exe\n/nightly",two lines,global\n'
        "\n"
        "*,matches everything,global\n"
        "agent.exe,fine,global\n"
    )
    entries, problems = read_csv_rows(text, None, "ann", "team.csv")
    assert [e.conditions["CommandLine"] for e in entries] == [
        "backup.exe\n/nightly",
        "agent.exe",
    ]
    assert len(problems) == 1
    assert problems[0].startswith("line 5: has no condition")


def test_app_allowlist_import_names_a_field_no_data_has(repo_root, store):
    text = "name,ParentNmae,host,reason\r\ncmd.exe,*,ws1,typo\r\n"
    app = _page(repo_root)
    app.file_uploader(key="allow.import.file").upload(
        "typo.csv", text.encode(), "text/csv"
    )
    app = _run(app)
    app = _run(app.button(key="allow.import.go").click())

    assert any("Added 1 entries from typo.csv" in s.value for s in app.success)
    warnings = [w.value for w in app.warning]
    assert len(warnings) == 1  # host is a field; * sets no condition on ParentNmae
    assert "'name' is not a field" in warnings[0]
    assert "Did you mean Name?" in warnings[0]


def test_unknown_field_notes_suggest_the_closest_field():
    from procanom.store import AllowEntry
    from ui.allowlist_view import unknown_field_notes

    entry = AllowEntry(None, "global", None, {"ParentNmae": "x", "Name": "y"})
    (note,) = unknown_field_notes([entry], {"Name", "ParentName"})
    assert "'ParentNmae'" in note and "Did you mean ParentName?" in note
    assert unknown_field_notes([entry], {"Name", "ParentNmae"}) == []


def test_app_allowlist_import_of_its_own_export_adds_nothing_twice(
    repo_root, store, entries
):
    hunt, _, _ = entries
    text = allowlist_to_csv(store.list_allow_entries())
    app = _page(repo_root)
    app.file_uploader(key="allow.import.file").upload(
        "again.csv", text.encode(), "text/csv"
    )
    app = _run(app)
    app.selectbox(key="allow.import.experiment").set_value(hunt.id)
    app = _run(app.button(key="allow.import.go").click())

    assert len(store.list_allow_entries()) == 2
    assert any("2 row(s) of again.csv are already" in i.value for i in app.info)
    assert not app.success


def test_app_allowlist_list_counts_imported_entries_at_once(repo_root, store):
    app = _page(repo_root)
    app.file_uploader(key="allow.import.file").upload(
        "one.csv", b"Name,reason\r\nagent.exe,fine\r\n", "text/csv"
    )
    app = _run(app)
    app = _run(app.button(key="allow.import.go").click())
    assert any("Added 1 entries from one.csv" in s.value for s in app.success)
    assert any("Entries (1)" in h.value for h in app.subheader)
