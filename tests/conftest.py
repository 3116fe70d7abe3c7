"""Fixtures shared by the whole suite.

The real process exports and the fault cases live beside the repository in
``../shared`` (``PROCANOM_SHARED`` overrides where). Tests that need them are
skipped with a reason when the folder is absent, never silently passed.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO_ROOT = Path(__file__).resolve().parents[1]
SHARED_DIR = Path(os.environ.get("PROCANOM_SHARED", REPO_ROOT.parent / "shared"))


def _require(path: Path) -> Path:
    if not path.exists():
        pytest.skip(f"shared test data not found at {path}")
    return path


@pytest.fixture(scope="session")
def repo_root() -> Path:
    """The repository's root folder."""
    return REPO_ROOT


@pytest.fixture(scope="session")
def shared_data() -> Path:
    """``shared/data``: real public Windows process events."""
    return _require(SHARED_DIR / "data")


@pytest.fixture(scope="session")
def shared_cases() -> Path:
    """``shared/cases``: small inputs reproducing known faults."""
    return _require(SHARED_DIR / "cases")
