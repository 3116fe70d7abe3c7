"""The Experiments page's parts: create, list with actions, import."""

from __future__ import annotations

import json

import streamlit as st

from procanom.errors import ProcanomError, StaleEditError
from procanom.experiment import DEFAULT_FIELDS, ExperimentSettings
from procanom.samples import DEFAULT_SAMPLE
from ui.text import literal, short_time
from ui.workspace import open_experiment

EXPERIMENT_PAGE = "pages/experiment.py"


def _open(experiment_id: str) -> None:
    open_experiment(experiment_id)
    st.switch_page(EXPERIMENT_PAGE, query_params={"id": experiment_id})


def create_form(store) -> None:
    """The "Create new experiment" form: a title and a description."""
    first_time = not store.list_experiments()
    expander = st.expander(":material/add: Create new experiment", expanded=first_time)
    with expander, st.form("create", clear_on_submit=True):
        title = st.text_input("Title", key="new.title")
        description = st.text_area("Description", key="new.description")
        if not st.form_submit_button("Create", type="primary"):
            return
    if not title.strip():
        st.error("Give the experiment a title.")
        return
    settings = ExperimentSettings(fields=list(DEFAULT_FIELDS))
    settings.data_source.name = DEFAULT_SAMPLE
    experiment = store.create_experiment(
        title.strip(), description.strip(), settings.to_dict()
    )
    _open(experiment.id)


def experiment_list(store) -> None:
    """The saved experiments with open, edit, duplicate, export and delete."""
    experiments = store.list_experiments()
    st.subheader(f"Experiments ({len(experiments)})")
    if not experiments:
        st.caption("None yet: create one above, or import a file below.")
        return
    wanted = st.text_input(
        "Find",
        key="list.find",
        placeholder="Words of a title, description or field",
        label_visibility="collapsed",
    )
    shown = [s for s in experiments if _matches(s, wanted)]
    if not shown:
        st.caption(literal(f"No experiment matches {wanted!r}."))
    for summary in shown:
        _experiment_card(store, summary)


def _matches(summary, wanted: str) -> bool:
    """Whether every word of ``wanted`` is in the title, description or fields."""
    text = " ".join([summary.title, summary.description, *summary.fields]).lower()
    return all(word in text for word in wanted.lower().split())


def _experiment_card(store, summary) -> None:
    key = summary.id
    with st.container(border=True, key=f"card-{key}"):
        info, numbers = st.columns([3, 2])
        info.markdown(f"**{literal(summary.title)}**")
        if summary.description:
            info.caption(literal(summary.description))
        info.caption("Fields: " + (", ".join(summary.fields) or "none yet"))
        if summary.last_run_at:
            numbers.caption(f"Last run {short_time(summary.last_run_at)}")
            numbers.markdown(
                f"**{summary.last_outliers:,}** outliers of"
                f" **{summary.last_total:,}** events"
            )
        else:
            numbers.caption("Never run")
        buttons = st.columns(5)
        if buttons[0].button("Open", key=f"open.{key}", type="primary"):
            _open(key)
        editing = buttons[1].toggle("Edit", key=f"edit.{key}")
        if buttons[2].button("Duplicate", key=f"duplicate.{key}"):
            store.duplicate_experiment(key)
            st.rerun()
        buttons[3].download_button(
            "Export",
            data=lambda: json.dumps(store.export_experiment(key), indent=1),
            file_name=f"{summary.title[:60]}.procanom.json",
            mime="application/json",
            key=f"export.{key}",
        )
        deleting = buttons[4].toggle("Delete", key=f"delete.{key}")
        if editing:
            _edit_form(store, summary)
        if deleting:
            st.warning(literal(f"Delete {summary.title!r} and its run history?"))
            if st.button("Yes, delete it", key=f"confirm_delete.{key}"):
                store.delete_experiment(key)
                st.session_state.pop(f"delete.{key}", None)
                st.rerun()


def _edit_form(store, summary) -> None:
    with st.form(f"edit_form.{summary.id}"):
        title = st.text_input("Title", value=summary.title)
        description = st.text_area("Description", value=summary.description)
        if st.form_submit_button("Save title and description"):
            if not title.strip():
                st.error("Give the experiment a title; nothing was saved.")
                return
            try:
                store.update_experiment(
                    summary.id,
                    expected_version=summary.version,
                    title=title.strip(),
                    description=description.strip(),
                )
            except StaleEditError as error:
                st.error(literal(f"Not saved: {error}"))
                return
            st.session_state.pop(f"edit.{summary.id}", None)
            st.rerun()


def import_form(store) -> None:
    """Import experiments from a JSON file another analyst handed over."""
    with st.expander("Import experiments from a file"):
        upload = st.file_uploader("Experiment JSON", type=["json"], key="import.file")
        if upload is not None and st.button("Import", key="import.go"):
            try:
                payload = json.loads(upload.getvalue().decode("utf-8-sig"))
                imported = store.import_experiments(payload)
            except (ValueError, ProcanomError) as error:
                st.error(literal(f"{upload.name}: {error}"))
                return
            st.toast(f"Imported {len(imported)} experiment(s).")
            # The list above was drawn before the import: draw it again.
            st.rerun()
