"""Fixtures for the experiment store tests: a fresh store and run records."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from procanom.store import ExperimentStore, RunRecord


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """A data folder that does not exist yet."""
    return tmp_path / "procanom-data"


@pytest.fixture
def store(data_dir: Path) -> ExperimentStore:
    """A fresh store in ``data_dir``."""
    opened = ExperimentStore(data_dir)
    yield opened
    opened.close()


def build_run(experiment_id: str, **overrides: Any) -> RunRecord:
    """A plausible run of ``experiment_id``; keyword arguments replace fields."""
    values: dict[str, Any] = {
        "id": None,
        "experiment_id": experiment_id,
        "started_at": "2025-03-01T10:00:00.000000+00:00",
        "duration_s": 1.25,
        "procanom_version": "0.1.0",
        "settings": {"fields": ["Name", "ParentImage"], "method": "histogram"},
        "data_fingerprint": "sha256:abc",
        "rows_read": 1000,
        "rows_skipped": 3,
        "total_events": 997,
        "num_outliers": 12,
        "threshold": 0.01,
        "summary": {"top": [{"Name": "evil.exe", "score": 9.5}]},
    }
    values.update(overrides)
    return RunRecord(**values)


@pytest.fixture
def make_run() -> Callable[..., RunRecord]:
    """Factory for run records: ``make_run(experiment_id, num_outliers=3)``."""
    return build_run
