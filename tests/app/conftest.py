"""Fixtures shared by the AppTest tests of the pages."""

from __future__ import annotations

import pytest


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    """An empty data folder the app under test uses (``PROCANOM_DATA_DIR``)."""
    folder = tmp_path / "appdata"
    monkeypatch.setenv("PROCANOM_DATA_DIR", str(folder))
    return folder
