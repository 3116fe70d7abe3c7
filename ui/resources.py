"""Long-lived resources shared by every page: the store, loaded events.

Caches are keyed on content (dataset ids are content hashes, samples are
fixed files) and bounded, so a server that runs for weeks does not grow
without limit.
"""

from __future__ import annotations

import os
from pathlib import Path

import pandas as pd
import streamlit as st

from procanom.io import LoadedEvents, read_upload
from procanom.profile import profile_fields
from procanom.samples import SAMPLES
from procanom.store import ExperimentStore

#: Environment variable naming the folder for the database and uploads.
DATA_DIR_ENV = "PROCANOM_DATA_DIR"
#: Environment variable with the analyst's name (used when nobody signs in).
ANALYST_ENV = "PROCANOM_ANALYST"

_CACHED_SOURCES = 6


def data_dir() -> Path:
    """The app's data folder: ``$PROCANOM_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).expanduser().resolve()


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> ExperimentStore:
    return ExperimentStore(path)


def get_store() -> ExperimentStore:
    """The experiment store of this server's data folder."""
    return _open_store(str(data_dir()))


@st.cache_data(max_entries=_CACHED_SOURCES, show_spinner="Reading the sample…")
def load_sample(key: str) -> LoadedEvents:
    """Read a bundled sample (by file name, so no server path reaches the page)."""
    sample = SAMPLES[key]
    return read_upload([(sample.filename, sample.path.read_bytes())])


@st.cache_data(max_entries=_CACHED_SOURCES, show_spinner="Reading the dataset…")
def load_dataset(dataset_id: str, store_path: str) -> LoadedEvents:
    """Read a stored dataset by id (a content hash, so the key is exact)."""
    files = _open_store(store_path).dataset_files(dataset_id)
    return read_upload([(name, path.read_bytes()) for name, path in files])


def load_source(kind: str, key: str) -> LoadedEvents:
    """Read the events of a data source (``"sample"`` or ``"dataset"``)."""
    if kind == "dataset":
        return load_dataset(key, str(data_dir()))
    return load_sample(key)


@st.cache_data(max_entries=_CACHED_SOURCES * 4, show_spinner=False)
def profile(source: tuple[str, str], selection: str, _frame: pd.DataFrame):
    """Field profile of the selected events (keyed by source and selection)."""
    return profile_fields(_frame)
