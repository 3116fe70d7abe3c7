"""The app's frame: page config, logging, navigation and the sidebar.

``app.py`` runs it on every rerun. Pages also call :func:`through_app`
first: Streamlit still honours its older folder-based multipage mode when a
``pages/`` folder sits beside the entry point, and until some session has
run ``app.py`` (whose ``st.navigation`` call turns that mode off), a visitor
arriving on a page's own URL (a bookmark, a reload after a restart) would
get the page script run alone, without the app's layout and sidebar, and
so would everyone after them.
"""

from __future__ import annotations

import logging

import streamlit as st
from streamlit.navigation.page import StreamlitPage
from streamlit.runtime.pages_manager import PagesManager

CURRENT_PAGE = "app.page"
PREVIOUS_PAGE = "app.previous_page"


def app_frame() -> StreamlitPage:
    """Draw the frame around every page; return the page to run."""
    st.set_page_config(page_title="procanom", page_icon="🔎", layout="wide")
    # The library only logs; the app decides where it goes (the server's
    # console).
    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
    )
    page = st.navigation(
        [
            st.Page(
                "pages/experiments.py",
                title="Experiments",
                icon=":material/science:",
                default=True,
            ),
            st.Page(
                "pages/experiment.py",
                title="Experiment",
                icon=":material/troubleshoot:",
            ),
            st.Page("pages/data.py", title="Data", icon=":material/database:"),
            st.Page("pages/allowlist.py", title="Allow-list", icon=":material/rule:"),
        ]
    )
    with st.sidebar:
        # Who gets the credit for allow-list entries when nobody signs in.
        st.text_input("Your name", key="settings.analyst", placeholder="analyst")
    # Which page the previous run showed: a page can tell it was come back to.
    state = st.session_state
    state[PREVIOUS_PAGE] = state.get(CURRENT_PAGE)
    state[CURRENT_PAGE] = page.url_path
    return page


def came_back() -> bool:
    """Whether this run shows another page than the previous run did."""
    state = st.session_state
    return state.get(PREVIOUS_PAGE) != state.get(CURRENT_PAGE)


def through_app() -> None:
    """Run the page inside the app's frame if Streamlit started it alone."""
    if PagesManager.uses_pages_directory:
        app_frame().run()  # runs this page again, inside the frame
        st.stop()
