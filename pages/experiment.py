"""Experiment page: data, search, fields, method, Detect, results, save."""

import streamlit as st

from ui import resources, sections, workspace

current = workspace.current(resources.get_store())
if current is None:
    st.info("Open an experiment from the Experiments page, or create one.")
    st.page_link("pages/experiments.py", label="Experiments", icon=":material/science:")
    st.stop()

sections.header(current)
loaded = sections.data_source(current)
if loaded is None:
    st.stop()
selected = sections.search(loaded.frame)
if selected is None:
    st.stop()
source = workspace.loaded_events_key(workspace.settings_from_widgets())
sections.fields(selected, source)
sections.method()
sections.detect(current, loaded, source)
sections.results(current)
sections.actions(current, loaded)
sections.history(current)
