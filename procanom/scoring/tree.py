"""Process trees: which event started which, and scores along the lineage.

Sysmon and Security 4688 events name their parent. When the parent's own
start is in the same data, the two events can be linked, and an event can be
judged with its ancestry: ``whoami.exe`` under a ``cmd.exe`` that an unknown
program started is not the ``whoami.exe`` an administrator typed.

Two ways of linking, tried in this order:

``ProcessGuid`` / ``ParentProcessGuid``
    Sysmon's process GUIDs are unique per process start, so the link is exact.
``ProcessId`` / ``ParentProcessId`` (with the host, and the time when known)
    Process ids are reused, so the parent is the latest event on the same
    host with that id that started at or before the child. Without a time
    column, the latest such event in file order is used.

An event whose parent is not in the data (started before the export, or not
logged) has no parent link (``-1``).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.scoring._encode import as_text_array
from procanom.scoring._tables import as_numbers

__all__ = [
    "GUID_LINK",
    "PID_LINK",
    "link_parents",
    "link_description",
    "propagate_lineage",
]

logger = logging.getLogger(__name__)

#: Column pairs (own id, parent id) used for linking, by kind.
GUID_LINK = ("ProcessGuid", "ParentProcessGuid")
PID_LINK = ("ProcessId", "ParentProcessId")
_HOST_COLUMNS = ("host", "Computer", "ComputerName", "hostname", "dvc")
_TIME_COLUMNS = ("_time", "UtcTime", "TimeGenerated", "TimeCreated", "time")


def _first_present(frame: pd.DataFrame, names: Sequence[str]) -> str | None:
    for name in names:
        if name in frame.columns:
            return name
    return None


def link_description(frame: pd.DataFrame) -> str | None:
    """Say how :func:`link_parents` would link ``frame``, or None if it cannot."""
    if all(c in frame.columns for c in GUID_LINK):
        return "ProcessGuid -> ParentProcessGuid"
    if all(c in frame.columns for c in PID_LINK):
        host = _first_present(frame, _HOST_COLUMNS)
        time = _first_present(frame, _TIME_COLUMNS)
        parts = ["ProcessId -> ParentProcessId"]
        if host:
            parts.append(f"on the same {host}")
        if time:
            parts.append(f"started at or before the child ({time})")
        return ", ".join(parts)
    return None


def _link_by_guid(frame: pd.DataFrame) -> np.ndarray:
    own = frame[GUID_LINK[0]].astype("string").str.lower()
    parent = frame[GUID_LINK[1]].astype("string").str.lower()
    # A GUID logged twice (duplicated export rows) links to its first row.
    index = pd.Index(own.to_numpy(dtype=object, na_value=None))
    first = ~index.duplicated(keep="first")
    lookup = pd.Index(index[first])
    rows = np.flatnonzero(first)
    found = lookup.get_indexer(parent.to_numpy(dtype=object, na_value=None))
    links = np.where(found >= 0, rows[np.maximum(found, 0)], -1)
    links[parent.isna().to_numpy()] = -1
    links[links == np.arange(len(frame))] = -1
    return links.astype(np.int64)


def _as_ids(column: pd.Series) -> np.ndarray:
    # Ids come as decimal or as 4688's hexadecimal ("0x1a2c"). Plain
    # decimal integers everywhere (Sysmon) are read by one cast; the same
    # numbers as_numbers gives, without its pattern matching.
    text = as_text_array(column)
    try:
        return pc.cast(text, pa.int64()).to_numpy().astype(np.float64)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        return as_numbers(column, hexadecimal=True)


def _as_times(column: pd.Series) -> pd.Series:
    """Parse event times to UTC timestamps (NaT where unreadable)."""
    # Arrow reads ISO 8601 (what the readers write) fast; anything else
    # goes through pandas' slower guessing.
    text = as_text_array(column)
    text = pc.if_else(pc.equal(text, ""), pa.scalar(None, text.type), text)
    try:
        parsed = pc.cast(text, pa.timestamp("ns", tz="UTC"))
        return pd.Series(parsed.to_pandas().array, index=column.index)
    except (pa.ArrowInvalid, pa.ArrowNotImplementedError):
        pass
    when = pd.to_datetime(column, errors="coerce", utc=True, format="ISO8601")
    if when.isna().sum() > column.isna().sum():
        when = pd.to_datetime(column, errors="coerce", utc=True, format="mixed")
    return when


def _link_by_pid(frame: pd.DataFrame) -> np.ndarray:
    n = len(frame)
    host_col = _first_present(frame, _HOST_COLUMNS)
    time_col = _first_present(frame, _TIME_COLUMNS)
    # Hosts compared case-insensitively, as small integer codes.
    host = (
        pc.dictionary_encode(pc.utf8_lower(as_text_array(frame[host_col])))
        .indices.to_numpy(zero_copy_only=False)
        .astype(np.int64)
        if host_col
        else np.zeros(n, dtype=np.int64)
    )
    if time_col:
        when = _as_times(frame[time_col])
        order_key = pd.DatetimeIndex(when).asi8  # NaT sorts first
    else:
        order_key = np.arange(n, dtype=np.int64)

    pid = _as_ids(frame[PID_LINK[0]])
    ppid = _as_ids(frame[PID_LINK[1]])
    starts = pd.DataFrame(
        {"host": host, "pid": pid, "key": order_key, "row": np.arange(n)}
    )
    starts = starts.dropna(subset=["pid"]).sort_values(["key", "row"], kind="stable")
    children = pd.DataFrame(
        {"host": host, "pid": ppid, "key": order_key, "child": np.arange(n)}
    )
    children = children.dropna(subset=["pid"]).sort_values(
        ["key", "child"], kind="stable"
    )

    merged = pd.merge_asof(
        children,
        starts,
        on="key",
        by=["host", "pid"],
        direction="backward",
        allow_exact_matches=True,
    )
    links = np.full(n, -1, dtype=np.int64)
    matched = merged["row"].notna().to_numpy()
    child_rows = merged["child"].to_numpy()[matched]
    parent_rows = merged["row"].to_numpy()[matched].astype(np.int64)
    keep = parent_rows != child_rows
    links[child_rows[keep]] = parent_rows[keep]
    return links


def link_parents(frame: pd.DataFrame, how: str = "auto") -> np.ndarray:
    """Return, for each event, the row position of its parent's event.

    Parameters
    ----------
    frame : pandas.DataFrame
        Process events in any order.
    how : {"auto", "guid", "pid", "none"}
        ``"auto"`` uses GUIDs when both GUID columns exist, else process ids
        when both id columns exist, else links nothing.

    Returns
    -------
    numpy.ndarray
        ``int64`` row position (0-based, not index label) of each event's
        parent, ``-1`` where the parent is not in ``frame``.
    """
    n = len(frame)
    if how == "none" or n == 0:
        return np.full(n, -1, dtype=np.int64)
    if how in ("auto", "guid") and all(c in frame.columns for c in GUID_LINK):
        return _link_by_guid(frame)
    if how in ("auto", "pid") and all(c in frame.columns for c in PID_LINK):
        return _link_by_pid(frame)
    if how in ("guid", "pid"):
        from procanom.errors import ParameterError

        needed = GUID_LINK if how == "guid" else PID_LINK
        raise ParameterError(
            "link", f"columns {needed[0]} and {needed[1]} in the data", how
        )
    return np.full(n, -1, dtype=np.int64)


def propagate_lineage(
    scores: np.ndarray, parents: np.ndarray, decay: float = 1.0
) -> tuple[np.ndarray, np.ndarray]:
    """Let every event inherit the most unusual score of its ancestry.

    ``lineage[i] = max(scores[i], decay * lineage[parent[i]])``: a process is
    at least as unusual as ``decay`` times its parent's lineage, so the
    children of an unusual process stand out too, however ordinary they
    look alone.

    Parameters
    ----------
    scores : numpy.ndarray
        Each event's own score.
    parents : numpy.ndarray
        Output of :func:`link_parents`.
    decay : float, default 1.0
        Share of the parent's lineage score a child inherits (0 disables).

    Returns
    -------
    lineage : numpy.ndarray
        The propagated scores.
    source : numpy.ndarray
        ``int64`` row position of the event each lineage score came from
        (the event itself when its own score is the larger).
    """
    n = len(scores)
    lineage = np.asarray(scores, dtype=np.float64).copy()
    source = np.arange(n, dtype=np.int64)
    if n == 0 or decay <= 0:
        return lineage, source
    has_parent = parents >= 0
    # A cycle in bad data (an id reused within the same second) must not
    # loop forever: the number of passes is bounded by the number of events.
    for _ in range(n):
        inherited = np.full(n, -np.inf)
        inherited[has_parent] = decay * lineage[parents[has_parent]]
        better = inherited > lineage
        if not better.any():
            break
        lineage[better] = inherited[better]
        source[better] = source[parents[better]]
    return lineage, source
