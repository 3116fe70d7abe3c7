"""The Streamlit layer: shared resources, session state and page components.

Nothing in here decides a result: pages read widgets, call :mod:`procanom`,
and draw. Caching and session state live here and only here.
"""
