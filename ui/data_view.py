"""The Data page's parts: adding data, the dataset list, one dataset's detail."""

from __future__ import annotations

from pathlib import PurePath

import pandas as pd
import streamlit as st

from procanom.errors import ProcanomError
from procanom.export import reveal_hidden_frame
from procanom.library import DatasetInfo
from procanom.schema import PROCESS_FIELDS
from ui import resources
from ui.text import literal, shown_by

_SAMPLE_PREFIX = "sample-"


def add_data(store, library) -> None:
    """Upload files, or ingest files from folders the admin allowed."""
    with st.expander(":material/upload: Add data"):
        limit = st.get_option("server.maxUploadSize")
        files = st.file_uploader(
            "Upload process events",
            accept_multiple_files=True,
            key="data.upload",
            help="CSV, JSON, EVTX, Windows event XML, Parquet; gzip or zip.",
        )
        st.caption(
            f"Up to {limit} MB per file (`server.maxUploadSize` in"
            " `.streamlit/config.toml`). For bigger exports, on the server:"
            " `procanom ingest PATH... --dataset NAME`."
        )
        name = st.text_input("Dataset name", key="data.name")
        if files and st.button("Add to the library", key="data.add", type="primary"):
            label = name.strip() or ", ".join(f.name for f in files)[:120]
            _ingest_upload(store, library, label, files)
        _server_folders(store, library)


def _ingest_upload(store, library, name: str, files) -> None:
    try:
        with st.spinner(f"Reading {len(files)} file(s)…"):
            info = resources.ingest_upload(name, files)
    except ProcanomError as error:
        st.error(literal(error))
        return
    st.session_state["data.selected"] = info.id
    st.success(literal(f"Added {info.name!r}: {info.events:,} process events."))


def _server_folders(store, library) -> None:
    folders = resources.import_dirs()
    if not folders:
        st.caption(
            "Server folders: none configured (set `PROCANOM_IMPORT_DIRS` to"
            " let this page ingest files that are already on the server)."
        )
        return
    candidates = sorted(
        str(path)
        for folder in folders
        if folder.is_dir()
        for path in folder.iterdir()
        if path.is_file()
    )
    chosen = st.multiselect("Files in the server's import folders", candidates)
    name = st.text_input("Name for these files", key="data.folder_name")
    if chosen and st.button("Ingest from the server", key="data.ingest_folder"):
        try:
            with st.spinner("Ingesting…"):
                info = library.add_to_store(store, chosen, name.strip() or chosen[0])
        except ProcanomError as error:
            st.error(literal(error))
            return
        st.session_state["data.selected"] = info.id
        st.success(literal(f"Added {info.name!r}: {info.events:,} process events."))


def dataset_list(library) -> DatasetInfo | None:
    """The datasets with their sizes and spans; returns the one selected."""
    datasets = library.list()
    st.subheader(f"Datasets ({len(datasets)})")
    if not datasets:
        st.caption("None yet: add data above, or open an experiment on a sample.")
        return None
    table = pd.DataFrame(
        [
            {
                "name": d.name,
                "events": d.events,
                "hosts": d.hosts,
                "from": (d.time_min or "")[:19],
                "to": (d.time_max or "")[:19],
                # File names only: the page shows no server paths.
                "files": ", ".join(PurePath(f).name for f in d.source_files),
                "formats": ", ".join(dict.fromkeys(d.formats.values())),
                "warnings": len(d.warnings),
                "skipped rows": d.rows_skipped,
            }
            for d in datasets
        ]
    )
    st.dataframe(table, hide_index=True)
    ids = [d.id for d in datasets]
    if st.session_state.get("data.selected") not in ids:
        st.session_state["data.selected"] = ids[0]
    names = {d.id: d.name for d in datasets}
    selected = st.selectbox(
        "Dataset", ids, format_func=shown_by(names.get), key="data.selected"
    )
    return next(d for d in datasets if d.id == selected)


def dataset_detail(store, library, info: DatasetInfo) -> None:
    """Preview, field profile, mapping, rename and delete for one dataset."""
    st.subheader(literal(info.name))
    for warning in info.warnings:
        st.warning(warning)
    preview, profile, mapping, manage = st.tabs(
        ["Preview", "Fields", "Field mapping", "Rename or delete"]
    )
    with preview:
        st.dataframe(
            reveal_hidden_frame(resources.preview(info.id, info.updated_at)),
            hide_index=True,
        )
        st.caption(f"The first events of {info.events:,}.")
    with profile:
        _profile(info)
    with mapping:
        _mapping(library, info)
    with manage:
        _manage(store, library, info)


def _profile(info: DatasetInfo) -> None:
    profile = resources.profile(info.id, info.updated_at, "", "", top=5)
    shown = profile.assign(
        top_values=profile["top_values"].map(
            lambda pairs: "; ".join(f"{v or '(empty)'} ({c:,})" for v, c in pairs)
        )
    )
    st.dataframe(
        reveal_hidden_frame(shown)[
            [
                "field",
                "present_pct",
                "empty_pct",
                "distinct",
                "role",
                "top_values",
                "note",
            ]
        ],
        hide_index=True,
        column_config={
            "present_pct": st.column_config.ProgressColumn(
                "present", format="%.0f%%", min_value=0, max_value=100
            ),
            "empty_pct": st.column_config.NumberColumn("empty", format="%.0f%%"),
            "role": st.column_config.TextColumn("suggested role"),
        },
    )


def _mapping(library, info: DatasetInfo) -> None:
    mapping = info.mapping or {"sources": {}, "derived": {}}
    sources = mapping.get("sources", {})
    derived = mapping.get("derived", {})
    rows = pd.DataFrame(
        [
            {
                "field": field,
                "source column": sources.get(field, ""),
                "derived": derived.get(field, ""),
            }
            for field in PROCESS_FIELDS
        ]
    )
    st.caption(
        "Which column of the files fills each process field. Change a source"
        " column to remap; every later search and score uses the new mapping."
    )
    own = mapping.get("files") or {}
    if own:
        st.caption(
            literal(
                "Mapped on their own (another format), and kept as they are: "
                + ", ".join(sorted(own))
                + "."
            )
        )
    originals = [c for c in info.columns if c not in PROCESS_FIELDS]
    edited = st.data_editor(
        rows,
        hide_index=True,
        disabled=["field", "derived"],
        column_config={
            "source column": st.column_config.SelectboxColumn(options=["", *originals])
        },
        key=f"data.mapping.{info.id}",
    )
    if st.button("Apply this mapping", key="data.apply_mapping"):
        new_sources = {
            row["field"]: row["source column"]
            for _, row in edited.iterrows()
            if row["source column"]
        }
        kept = {k: v for k, v in derived.items() if k not in new_sources}
        try:
            with st.spinner("Mapping the events again…"):
                library.set_mapping(
                    info.id, {"sources": new_sources, "derived": kept, "files": own}
                )
        except ProcanomError as error:
            st.error(literal(error))
            return
        st.success("Mapping applied.")
        st.rerun()


def _manage(store, library, info: DatasetInfo) -> None:
    if info.id.startswith(_SAMPLE_PREFIX):
        st.caption("A bundled sample: it cannot be renamed or deleted.")
        return
    name = st.text_input("Name", value=info.name, key=f"data.rename.{info.id}")
    if st.button("Rename", key="data.rename") and name.strip():
        library.rename(info.id, name.strip())
        st.rerun()
    users = store.experiments_using_dataset(info.id)
    if users:
        st.warning(
            "Used by "
            + ", ".join(repr(e.title) for e in users)
            + ": deleting it leaves them without data."
        )
    if not st.toggle("Delete this dataset", key="data.delete"):
        return
    if st.button("Yes, delete it and its files", key="data.confirm_delete"):
        library.delete(info.id)
        if info.id in {d.id for d in store.list_datasets()}:
            store.delete_dataset(info.id)
        st.session_state.pop("data.selected", None)
        st.session_state.pop("data.delete", None)
        st.rerun()
