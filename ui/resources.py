"""Long-lived resources shared by every page: the store, the dataset library.

Every data source, a bundled sample or uploaded files, is a dataset of the
library (DuckDB), so the pages search, profile and score in the database
rather than in browser or server memory. Caches are keyed on content
(dataset ids are content hashes; a dataset's ``updated_at`` changes when its
mapping does) and bounded, so a server that runs for weeks does not grow
without limit.
"""

from __future__ import annotations

import logging
import os
import threading
from pathlib import Path

import pandas as pd
import streamlit as st

from procanom.errors import ProcanomError
from procanom.library import DatasetInfo, DatasetLibrary
from procanom.samples import SAMPLES
from procanom.store import ExperimentStore

#: Environment variable naming the folder for the database and uploads.
DATA_DIR_ENV = "PROCANOM_DATA_DIR"
#: Environment variable with the analyst's name, used when nobody signs in.
ANALYST_ENV = "PROCANOM_ANALYST"
#: Environment variable listing server folders the Data page may ingest from
#: (separated like PATH). The page reads no other server path.
IMPORT_DIRS_ENV = "PROCANOM_IMPORT_DIRS"

_CACHED_QUERIES = 32

logger = logging.getLogger(__name__)

_prepared: set[tuple[str, str]] = set()
_prepared_guard = threading.Lock()


def data_dir() -> Path:
    """The app's data folder: ``$PROCANOM_DATA_DIR``, else ``./data``."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).expanduser().resolve()


def analyst() -> str:
    """Who is acting: the name set in the sidebar, else ``$PROCANOM_ANALYST``."""
    name = st.session_state.get("settings.analyst") or os.environ.get(ANALYST_ENV)
    return (name or "analyst").strip()


def import_dirs() -> list[Path]:
    """Server folders the admin allows the Data page to ingest from."""
    value = os.environ.get(IMPORT_DIRS_ENV, "")
    return [Path(p).expanduser().resolve() for p in value.split(os.pathsep) if p]


@st.cache_resource(show_spinner=False)
def _open_store(path: str) -> ExperimentStore:
    return ExperimentStore(path)


@st.cache_resource(show_spinner=False)
def _open_library(path: str) -> DatasetLibrary:
    return DatasetLibrary(path)


def get_store() -> ExperimentStore:
    """The experiment store of this server's data folder."""
    return _open_store(str(data_dir()))


def get_library() -> DatasetLibrary:
    """The dataset library of this server's data folder."""
    return _open_library(str(data_dir()))


def sample_dataset_id(key: str) -> str:
    """The library id under which the bundled sample ``key`` is kept."""
    return f"sample-{key}"


def dataset_for(kind: str, key: str) -> DatasetInfo:
    """Return the library dataset of a data source, ingesting it on first use.

    Parameters
    ----------
    kind : {"sample", "dataset"}
    key : str
        The sample's key, or the store's dataset id.
    """
    library = get_library()
    if kind == "sample":
        dataset_id = sample_dataset_id(key)
        if dataset_id in library:
            info = library.get(dataset_id)
        else:
            with st.spinner("Preparing the sample…"):
                sample = SAMPLES[key]
                info = library.ingest(
                    [sample.path], sample.title, dataset_id=dataset_id
                )
    elif key in library:
        info = library.get(key)
    else:
        with st.spinner("Reading the uploaded files into the library…"):
            info = library.ensure_ingested(get_store(), key)
    _prepare_templates(library, info)
    return info


def ingest_upload(name: str, files: list) -> DatasetInfo:
    """Keep uploaded files as a dataset and read them into the library.

    Files that cannot be read (no process events in them, say) leave
    nothing behind: a dataset that could never be opened would otherwise
    sit in every dataset list.

    Raises
    ------
    ProcanomError
        What went wrong, naming the file.
    """
    store, library = get_store(), get_library()
    known = {d.id for d in store.list_datasets()}
    record = store.save_dataset(name, [(f.name, f.getvalue()) for f in files])
    try:
        return library.ensure_ingested(store, record.id)
    except ProcanomError:
        if record.id not in known:
            store.delete_dataset(record.id)
        raise


def _prepare_templates(library: DatasetLibrary, info: DatasetInfo) -> None:
    """Make the dataset's templates in the background, once per server.

    The default method compares names, paths and command lines as templates,
    which take seconds to make on a large dataset; made while the analyst
    picks the fields, they are ready when Detect is pressed (a Detect that
    comes first waits for the column being made, never makes it twice).
    """
    key = (str(library.folder), info.id + info.updated_at)
    with _prepared_guard:
        if key in _prepared:
            return
        _prepared.add(key)

    def prepare() -> None:
        try:
            seconds = library.make_templates(info.id)
        except Exception as exc:
            # Whatever went wrong, scoring makes them itself when needed:
            # nothing is lost, and a background thread has nobody to tell.
            logger.warning("templates of %s not made ahead: %s", info.id, exc)
            return
        logger.info("templates of %s ready in %.1f s", info.id, seconds)

    threading.Thread(target=prepare, name=f"templates-{info.id}", daemon=True).start()


@st.cache_data(max_entries=_CACHED_QUERIES, show_spinner=False)
def count(dataset_id: str, version: str, query: str, time_range: str) -> int:
    """Events matching a search (``version`` keys the cache on mapping edits)."""
    return get_library().count(dataset_id, query, _time(time_range))


@st.cache_data(max_entries=_CACHED_QUERIES, show_spinner="Profiling fields…")
def profile(
    dataset_id: str, version: str, query: str, time_range: str, top: int = 5
) -> pd.DataFrame:
    """Field profile of the selected events."""
    return get_library().profile(dataset_id, query, _time(time_range), top=top)


@st.cache_data(max_entries=_CACHED_QUERIES, show_spinner=False)
def preview(dataset_id: str, version: str, limit: int = 100) -> pd.DataFrame:
    """The first events of a dataset."""
    return get_library().search(dataset_id, limit=limit)


def _time(time_range: str) -> dict | None:
    import json

    return json.loads(time_range) if time_range else None
