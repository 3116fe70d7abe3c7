"""Data page: the dataset library, each dataset's fields, mapping and files."""

import streamlit as st

from ui import data_view, entry, resources

entry.through_app()

st.title("Data")
st.caption(
    "Process events kept in the library: uploaded once, then searched, profiled"
    " and scored in place."
)
data_view.add_data(resources.get_store(), resources.get_library())
chosen = data_view.dataset_list(resources.get_library())
if chosen is not None:
    data_view.dataset_detail(resources.get_store(), resources.get_library(), chosen)
