"""The experiment store: saved experiments, their runs and uploaded data.

Everything lives in one data folder: a SQLite database and the uploaded files,
kept by content hash. See :class:`ExperimentStore`.
"""

from __future__ import annotations

from procanom.store.experiment_store import ExperimentStore
from procanom.store.interchange import read_experiment_file
from procanom.store.records import (
    DatasetRecord,
    Experiment,
    ExperimentSummary,
    RunRecord,
)
from procanom.store.triage import (
    AlertRule,
    AllowEntry,
    DeliveryRecord,
    OutlierKeySet,
)

__all__ = [
    "AlertRule",
    "AllowEntry",
    "DatasetRecord",
    "DeliveryRecord",
    "Experiment",
    "ExperimentStore",
    "ExperimentSummary",
    "OutlierKeySet",
    "RunRecord",
    "read_experiment_file",
]
