"""Helpers for the schema tests: hand-built frames as the readers give them."""

from __future__ import annotations

import pandas as pd
import pytest

STRING = pd.StringDtype("pyarrow")


def text_frame(rows: list[dict]) -> pd.DataFrame:
    """Build a frame the way the readers do: every column text, missing <NA>."""
    return pd.DataFrame(rows).astype(STRING)


@pytest.fixture
def frame_of():
    """Return :func:`text_frame` to tests."""
    return text_frame
