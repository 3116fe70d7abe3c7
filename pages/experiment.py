"""Experiment page: data, search, fields, method, Detect, results, save."""

import streamlit as st

from ui import entry, resources, sections, workspace
from ui.text import literal

entry.through_app()

current = workspace.current(resources.get_store())
if current is None:
    missing = st.session_state.pop(workspace.MISSING_ID, None)
    if missing:
        st.warning(
            literal(
                f"There is no experiment {missing!r} here: it was deleted, or the"
                " link comes from another procanom."
            )
        )
    st.info("Open an experiment from the Experiments page, or create one.")
    st.page_link("pages/experiments.py", label="Experiments", icon=":material/science:")
    st.stop()

banner = sections.header(current)
dataset = sections.data_source(current)
if dataset is None or not sections.search(dataset):
    sections.draft_notice(current, banner)
    st.stop()
sections.fields(dataset)
sections.method()
sections.detect(current, dataset)
shown = sections.results(current)
sections.actions(current, dataset, shown)
sections.history(current)
sections.draft_notice(current, banner)
