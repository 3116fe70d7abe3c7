"""The benchmark event generator: shape, types and determinism, on 2,000 rows."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path
from types import ModuleType

import pandas as pd
import pytest

N = 2_000


@pytest.fixture(scope="module")
def generate(repo_root: Path) -> ModuleType:
    """``benchmarks/generate.py``, loaded from the checkout (it is not installed)."""
    spec = importlib.util.spec_from_file_location(
        "procanom_bench_generate", repo_root / "benchmarks" / "generate.py"
    )
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def events(generate: ModuleType, shared_data: Path) -> pd.DataFrame:
    return generate.make_events(N, seed=0, shared_dir=shared_data.parent)


def test_make_events_columns_and_dtypes(generate, events):
    assert tuple(events.columns) == generate.COLUMNS
    assert len(events) == N
    assert all(dtype == pd.StringDtype("pyarrow") for dtype in events.dtypes)
    assert not events.isna().any().any()


def test_make_events_same_seed_same_frame(generate, events, shared_data):
    again = generate.make_events(N, seed=0, shared_dir=shared_data.parent)
    other = generate.make_events(N, seed=1, shared_dir=shared_data.parent)
    pd.testing.assert_frame_equal(events, again)
    assert not events["CommandLine"].equals(other["CommandLine"])


def test_make_events_cardinality_shape(events):
    distinct = events.nunique()
    counts = events["host"].value_counts()
    # Many hosts, a few of them busy (Zipf popularity).
    assert distinct["host"] > 300
    assert counts.iloc[0] >= 20 * counts.median()
    # Fewer names than paths, and most command lines unique.
    assert 50 <= distinct["Name"] <= 300
    assert distinct["Name"] < distinct["Path"] < distinct["CommandLine"]
    assert distinct["CommandLine"] >= 0.6 * N


def test_make_events_rows_are_consistent(events):
    pairs = zip(events["Path"], events["Name"], strict=True)
    assert all(path.endswith("\\" + name) for path, name in pairs)
    assert events["_time"].is_monotonic_increasing
    assert (events["ProcessId"].astype(int) % 4 == 0).all()


def test_make_events_zero_rows(generate, shared_data):
    empty = generate.make_events(0, shared_dir=shared_data.parent)
    assert empty.shape == (0, len(generate.COLUMNS))


def test_make_events_missing_data_names_the_folder(generate, tmp_path):
    with pytest.raises(FileNotFoundError, match="PROCANOM_SHARED"):
        generate.make_events(10, shared_dir=tmp_path)


def test_generate_cli_writes_csv(generate, shared_data, tmp_path):
    out = tmp_path / "events.csv"
    assert generate.main(["500", str(out), "--shared", str(shared_data.parent)]) == 0
    written = pd.read_csv(out, dtype=str, keep_default_na=False)
    assert list(written.columns) == list(generate.COLUMNS)
    assert len(written) == 500
