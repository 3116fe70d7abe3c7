"""procanom's web app: Streamlit entry point and navigation.

Start it with ``streamlit run app.py`` (see README). The data folder, where
the experiment database and uploaded files live, is ``$PROCANOM_DATA_DIR``
or ``./data``.
"""

import logging

import streamlit as st

st.set_page_config(page_title="procanom", page_icon="🔎", layout="wide")

# The library only logs; the app decides where it goes (the server's console).
logging.basicConfig(
    level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s"
)

navigation = st.navigation(
    [
        st.Page(
            "pages/experiments.py",
            title="Experiments",
            icon=":material/science:",
            default=True,
        ),
        st.Page(
            "pages/experiment.py", title="Experiment", icon=":material/troubleshoot:"
        ),
        st.Page("pages/data.py", title="Data", icon=":material/database:"),
        st.Page("pages/allowlist.py", title="Allow-list", icon=":material/rule:"),
    ]
)
with st.sidebar:
    # Who gets the credit for allow-list entries when nobody signs in.
    st.text_input("Your name", key="settings.analyst", placeholder="analyst")
navigation.run()
