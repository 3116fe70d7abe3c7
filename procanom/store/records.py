"""The records the experiment store hands out and takes in.

They are plain dataclasses so the app, the command line and the tests can
build and compare them without a database. Times are UTC ISO-8601 strings
(``2025-01-31T09:15:02.123456+00:00``), which sort in time order as text.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

__all__ = ["DatasetRecord", "Experiment", "ExperimentSummary", "RunRecord"]


@dataclass
class Experiment:
    """One saved experiment: a title and the settings of a detection.

    Parameters
    ----------
    id : str
        Short random URL-safe identifier.
    title : str
        Name shown in the experiment list.
    description : str
        Free text.
    settings : dict
        JSON-compatible settings owned by the caller. Keys the app uses:
        ``fields`` (list of str), ``field_types``, ``method``, ``params``,
        ``query``, ``time_range``, ``notes``, ``data_source``.
    version : int
        Starts at 1 and grows by one with every saved edit; an edit must name
        the version it was based on (optimistic concurrency).
    created_at, updated_at : str
        UTC ISO-8601 times of creation and of the last edit.
    owner : str or None
        Who created it, when the caller tracks users.
    """

    id: str
    title: str
    description: str
    settings: dict[str, Any]
    version: int
    created_at: str
    updated_at: str
    owner: str | None = None


@dataclass
class ExperimentSummary:
    """One line of the experiment list, with the outcome of the latest run.

    Parameters
    ----------
    id, title, description : str
        As in :class:`Experiment`.
    fields : list of str
        ``settings["fields"]``, or an empty list when unset.
    last_run_at : str or None
        Start time of the newest run, None before the first run.
    last_outliers, last_total : int or None
        Outliers found and events scored by the newest run.
    version : int
        Current version of the experiment.
    updated_at : str
        Time of the last edit.
    """

    id: str
    title: str
    description: str
    fields: list[str]
    last_run_at: str | None
    last_outliers: int | None
    last_total: int | None
    version: int
    updated_at: str


@dataclass
class RunRecord:
    """What one detection run produced, kept as the experiment's history.

    Parameters
    ----------
    id : str or None
        None until the store saves it.
    experiment_id : str
        The experiment the run belongs to.
    started_at : str
        UTC ISO-8601 start time; the store fills the current time when empty.
    duration_s : float
        Wall-clock seconds the run took.
    procanom_version : str
        Version of procanom that ran it.
    settings : dict
        Snapshot of the experiment settings the run used.
    data_fingerprint : str
        Identifies the input data (for example a dataset id or a hash).
    rows_read, rows_skipped : int
        Rows read from the input and rows that could not be parsed.
    total_events, num_outliers : int
        Events scored and events flagged.
    threshold : float or None
        Threshold applied, when the method has one.
    summary : dict
        JSON-compatible summary for display (top outliers, per-field counts).
    """

    id: str | None
    experiment_id: str
    started_at: str
    duration_s: float
    procanom_version: str
    settings: dict[str, Any]
    data_fingerprint: str
    rows_read: int
    rows_skipped: int
    total_events: int
    num_outliers: int
    threshold: float | None
    summary: dict[str, Any] = field(default_factory=dict)


@dataclass
class DatasetRecord:
    """An uploaded set of files, kept content-addressed in the data folder.

    Parameters
    ----------
    id : str
        Derived from the sorted SHA-256 hashes of the files, so uploading the
        same files again yields the same dataset.
    name : str
        Name given at the first upload.
    files : list of dict
        ``{"name": display name, "sha256": hex digest, "size": bytes}`` in
        upload order.
    created_at : str
        UTC ISO-8601 time of the first upload.
    extra : dict
        JSON-compatible details the caller wants kept (detected format, ...).
    """

    id: str
    name: str
    files: list[dict[str, Any]]
    created_at: str
    extra: dict[str, Any] = field(default_factory=dict)
