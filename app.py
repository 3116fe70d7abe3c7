"""procanom's web app: Streamlit entry point and navigation.

Start it with ``streamlit run app.py`` (see README). The data folder, where
the experiment database and uploaded files live, is ``$PROCANOM_DATA_DIR``
or ``./data``. The pages are listed, and the sidebar drawn, in
``ui/entry.py``.
"""

from ui.entry import app_frame

app_frame().run()
