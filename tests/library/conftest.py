"""Fixtures for the dataset library tests: small libraries over real exports."""

from __future__ import annotations

from pathlib import Path

import pytest

from procanom.library import DatasetLibrary


@pytest.fixture
def library(tmp_path: Path):
    """An empty library in a fresh data folder."""
    with DatasetLibrary(tmp_path / "data") as lib:
        yield lib


@pytest.fixture
def winhostmon(shared_data: Path) -> Path:
    """One host's Security 4688 events in WinHostMon columns, labelled."""
    return shared_data / "winhostmon_process_sample.csv"


@pytest.fixture
def otrf(shared_data: Path) -> Path:
    """Sysmon 1 events from five OTRF labs, labelled."""
    return shared_data / "eval" / "otrf_sysmon1_process_events_labelled.csv"
