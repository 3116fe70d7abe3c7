"""Fixtures for the search tests; the data lives in ``search_cases.py``."""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest
from search_cases import load_into_duckdb, make_events


@pytest.fixture(scope="session")
def events() -> pd.DataFrame:
    """The hand-made events (do not modify: shared by the whole session)."""
    return make_events()


@pytest.fixture(scope="session")
def duck(events: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """The hand-made events in DuckDB, for read-only queries."""
    con = load_into_duckdb(events)
    yield con
    con.close()
