"""Allow-list page: outliers marked as expected, their edits and Splunk CSV."""

import streamlit as st

from ui import allowlist_view, entry, resources

entry.through_app()

store = resources.get_store()
titles = allowlist_view.experiment_titles(store)

st.title("Allow-list")
st.caption(
    "Outliers marked as expected: later runs no longer flag the events an"
    " enabled entry matches. Scores do not change, only the flags."
)
chosen, shown = allowlist_view.entry_list(store, titles)
entry = allowlist_view.pick_entry(shown, titles)
if entry is not None:
    allowlist_view.entry_detail(store, entry, titles)
allowlist_view.add_form(store, titles, chosen)
allowlist_view.csv_exchange(store, shown, titles, chosen)
