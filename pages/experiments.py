"""Experiments page: the saved experiments, and creating, editing, importing."""

import streamlit as st

from ui import entry, experiments_view, resources

entry.through_app()

store = resources.get_store()

st.title("Detect Categorical Outliers")
st.caption(
    "Find the process events whose combination of values is improbable:"
    " name an experiment, pick its data and fields, and Detect Outliers."
)
experiments_view.create_form(store)
experiments_view.experiment_list(store)
experiments_view.import_form(store)
