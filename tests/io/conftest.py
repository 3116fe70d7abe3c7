"""Helpers for the reader tests."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from procanom.io import LoadedEvents, read_events, read_upload


@pytest.fixture
def read_flat():
    """Read paths without the schema step, so the raw columns are checked."""

    def _read(*paths: str | Path, **kwargs) -> LoadedEvents:
        target = paths[0] if len(paths) == 1 else list(paths)
        return read_events(target, normalise=False, **kwargs)

    return _read


@pytest.fixture
def read_bytes():
    """Read in-memory content as an upload, without the schema step."""

    def _read(content: bytes, name: str = "upload.txt", **kwargs) -> LoadedEvents:
        return read_upload([(name, content)], normalise=False, **kwargs)

    return _read


@pytest.fixture
def assert_all_text():
    """Check that every column is string[pyarrow], as the frame contract says."""

    def _check(frame: pd.DataFrame) -> None:
        for column in frame.columns:
            assert frame[column].dtype == pd.StringDtype("pyarrow"), column

    return _check
