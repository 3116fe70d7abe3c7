"""Re-running a saved experiment without the app: the scheduled path.

:func:`run_experiment` is what ``procanom run`` and the app's "Run now" both
call. It reads the experiment's data source (a bundled sample, a stored
dataset, or files given instead), selects and scores the events as the
experiment says, applies the allow-list, records the run and its outlier
keys in the history, evaluates the experiment's alert rules against the
previous run, and delivers the alerts that fire.

When files are given and the experiment's settings hold a fitted model
(``settings["model"]``, as :func:`procanom.scoring.persist.detector_to_dict`
writes it), the new events are scored against that baseline instead of
against themselves.
"""

from __future__ import annotations

import hashlib
import logging
import os
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import procanom
from procanom.alerts import AlertDecision, DeliveryOptions, deliver, evaluate
from procanom.allowlist import SuppressionSummary, apply_allowlist
from procanom.compare import Comparison, compare_outliers
from procanom.errors import NotFoundError, ParameterError, StoreError
from procanom.experiment import ExperimentSettings, fingerprint, run_settings
from procanom.export import json_summary
from procanom.io import (
    LoadedEvents,
    LoadReport,
    expand_paths,
    read_events,
    read_upload,
)
from procanom.samples import SAMPLES
from procanom.scoring import DetectionResult
from procanom.store import (
    DeliveryRecord,
    Experiment,
    ExperimentStore,
    OutlierKeySet,
    RunRecord,
)
from procanom.store.experiment_store import DB_FILENAME, utc_now

__all__ = [
    "DATA_DIR_ENV",
    "RunOutcome",
    "default_data_dir",
    "load_events",
    "open_store",
    "resolve_experiment",
    "run_experiment",
]

logger = logging.getLogger(__name__)

#: Environment variable naming the data folder, as for the app.
DATA_DIR_ENV = "PROCANOM_DATA_DIR"
_CHUNK = 1 << 20


def default_data_dir() -> Path:
    """Return ``$PROCANOM_DATA_DIR``, else ``./data`` (what the app uses)."""
    return Path(os.environ.get(DATA_DIR_ENV, "data")).expanduser().resolve()


def open_store(data_dir: str | Path | None = None) -> ExperimentStore:
    """Open an existing store, refusing to create one in a mistyped folder.

    Raises
    ------
    StoreError
        If the folder holds no procanom store.
    """
    folder = Path(data_dir).expanduser().resolve() if data_dir else default_data_dir()
    if not (folder / DB_FILENAME).is_file():
        raise StoreError(
            f"no procanom store in {folder} (no {DB_FILENAME}); give the app's data"
            f" folder with --data-dir or ${DATA_DIR_ENV}"
        )
    return ExperimentStore(folder)


def resolve_experiment(store: ExperimentStore, name: str) -> Experiment:
    """Return the experiment with id ``name``, else the one titled exactly so.

    Raises
    ------
    NotFoundError
        If none matches, or several share the title (their ids are listed).
    """
    try:
        return store.get_experiment(name)
    except NotFoundError:
        pass
    matches = [summary for summary in store.list_experiments() if summary.title == name]
    if len(matches) == 1:
        return store.get_experiment(matches[0].id)
    if matches:
        ids = ", ".join(summary.id for summary in matches)
        raise NotFoundError(
            f"{len(matches)} experiments are titled {name!r} (ids {ids}); give an id"
        )
    raise NotFoundError(f"no experiment has the id or title {name!r} in {store.path}")


def _file_digest(path: Path) -> str:
    digest = hashlib.sha256()
    try:
        with path.open("rb") as handle:
            while chunk := handle.read(_CHUNK):
                digest.update(chunk)
    except OSError:
        # read_events reports the unreadable file with a proper message.
        return f"unreadable:{path}"
    return digest.hexdigest()


def load_events(
    store: ExperimentStore,
    settings: ExperimentSettings,
    data_paths: Sequence[str | Path] | None = None,
) -> tuple[LoadedEvents, list[str]]:
    """Read the events a run scores, and what identifies them.

    Parameters
    ----------
    store : ExperimentStore
    settings : ExperimentSettings
    data_paths : sequence of path, optional
        Files (or folders) to read instead of the saved data source.

    Returns
    -------
    (LoadedEvents, list of str)
        The events and the parts of the data fingerprint (source kind, then
        the sample key, dataset id or files' SHA-256).

    Raises
    ------
    ParameterError
        If the experiment names a file that is not kept in the store and no
        files were given.
    """
    if data_paths:
        files = expand_paths(data_paths)
        loaded = read_events([str(path) for path in files])
        return loaded, ["file", *(_file_digest(path) for path in files)]

    source = settings.data_source
    if source.kind == "sample":
        if source.name not in SAMPLES:
            raise ParameterError(
                "data source", "one of the samples " + ", ".join(SAMPLES), source.name
            )
        sample = SAMPLES[source.name]
        # Read as the app reads it, so both give the same frame.
        loaded = read_upload([(sample.filename, sample.path.read_bytes())])
        return loaded, ["sample", source.name]
    if source.kind == "dataset" and source.dataset_id:
        files = store.dataset_files(source.dataset_id)
        loaded = read_upload([(name, path.read_bytes()) for name, path in files])
        return loaded, ["dataset", source.dataset_id]
    raise ParameterError(
        "data_paths (--data)",
        f"the event files to read: the experiment's source {source.name!r} is a"
        " file that is not kept in the store",
        None,
    )


def _started_at(now: datetime | str | None) -> str:
    if now is None:
        return utc_now()
    if isinstance(now, str):
        try:
            now = datetime.fromisoformat(now)
        except ValueError:
            raise ParameterError("now", "an ISO-8601 date and time", now) from None
    if now.tzinfo is None:
        now = now.replace(tzinfo=UTC)
    return now.astimezone(UTC).isoformat(timespec="microseconds")


def _score(
    experiment: Experiment,
    settings: ExperimentSettings,
    loaded: LoadedEvents,
    with_model: bool,
) -> DetectionResult:
    model = experiment.settings.get("model") if with_model else None
    if isinstance(model, dict):
        try:
            from procanom.scoring.persist import detector_from_dict
        except ImportError:
            logger.warning("this procanom cannot read saved models; scoring afresh")
        else:
            from procanom.experiment import select_events

            detector = detector_from_dict(model)
            selected = select_events(loaded.frame, settings.query, settings.time_range)
            logger.info(
                "scoring %d events against the saved %s baseline of %d events",
                len(selected),
                model.get("method"),
                getattr(detector, "n_events_", 0),
            )
            return detector.score(selected)
    return run_settings(settings, loaded.frame)


@dataclass
class RunOutcome:
    """Everything one run of a saved experiment produced.

    Attributes
    ----------
    experiment : Experiment
    run : RunRecord
        As saved in the history.
    result : DetectionResult
        With the allow-list applied (``suppressed_by`` column).
    suppressed : SuppressionSummary
    alerts : list of AlertDecision
        One per enabled alert rule, fired or not.
    deliveries : list of DeliveryRecord
        One per destination of each fired rule.
    report : LoadReport
        What reading the events found (rows read and skipped, warnings).
    outlier_keys : OutlierKeySet
        What the history kept of the outliers.
    previous_run_id : str or None
        The run compared with, for "new" outliers.
    comparison : Comparison or None
        Outliers new, gone and still flagged since that run; None without
        one (or when it kept no outliers).
    warnings : list of str
    """

    experiment: Experiment
    run: RunRecord
    result: DetectionResult
    suppressed: SuppressionSummary
    alerts: list[AlertDecision]
    deliveries: list[DeliveryRecord]
    report: LoadReport
    outlier_keys: OutlierKeySet
    previous_run_id: str | None = None
    comparison: Comparison | None = None
    warnings: list[str] = field(default_factory=list)

    @property
    def fired(self) -> bool:
        """Whether any alert rule fired."""
        return any(decision.fired for decision in self.alerts)

    @property
    def failed_deliveries(self) -> list[DeliveryRecord]:
        """Deliveries that did not get through."""
        return [d for d in self.deliveries if d.status == "failed"]


def _previous_keys(
    store: ExperimentStore, experiment_id: str, warnings: list[str]
) -> tuple[str | None, object]:
    runs = store.list_runs(experiment_id)
    if not runs:
        return None, None
    previous = runs[0]
    try:
        return previous.id, store.run_outliers(str(previous.id))
    except NotFoundError:
        warnings.append(
            f"the previous run {previous.id} kept no outliers to compare with;"
            " every outlier counts as new"
        )
        return previous.id, None


def run_experiment(
    store: ExperimentStore,
    experiment_id: str,
    data_paths: Sequence[str | Path] | None = None,
    now: datetime | str | None = None,
    *,
    deliver_alerts: bool = True,
    delivery_options: DeliveryOptions | None = None,
) -> RunOutcome:
    """Run a saved experiment, record it, and alert on it.

    Parameters
    ----------
    store : ExperimentStore
    experiment_id : str
    data_paths : sequence of path, optional
        Files or folders to score instead of the saved data source.
    now : datetime or str, optional
        The run's start time (UTC if naive); default: the current time.
    deliver_alerts : bool, default True
        Send the alerts that fire (False: decide only, e.g. for a preview).
    delivery_options : DeliveryOptions, optional
        Tries, timeouts and pauses for webhooks.

    Returns
    -------
    RunOutcome

    Raises
    ------
    NotFoundError
        If the experiment, or its stored dataset, does not exist.
    ParameterError
        If the settings cannot be run (no fields, a field not in the data).
    InputFileError
        If a file cannot be read.
    QueryError
        If the saved search does not parse.
    """
    clock = time.perf_counter()
    started_at = _started_at(now)
    experiment = store.get_experiment(experiment_id)
    settings = ExperimentSettings.from_dict(experiment.settings)
    warnings: list[str] = []

    loaded, source_parts = load_events(store, settings, data_paths)
    warnings.extend(loaded.report.warnings)
    # A saved baseline scores new files, and the saved source when the
    # experiment was built on one.
    with_model = bool(data_paths) or settings.baseline is not None
    scored = _score(experiment, settings, loaded, with_model=with_model)
    entries = store.list_allow_entries(experiment.id, enabled_only=True)
    result, suppressed = apply_allowlist(scored, loaded.frame, entries)
    warnings.extend(suppressed.warnings)

    # The previous run is read before this one is saved, so it is never itself.
    previous_id, previous_keys = _previous_keys(store, experiment.id, warnings)
    comparison = None
    if previous_keys is not None:
        comparison = compare_outliers(previous_keys, result.annotated, result.fields)
        warnings.extend(comparison.warnings)
    rules = store.list_alert_rules(experiment.id, enabled_only=True)
    decisions = [evaluate(rule, result, previous_keys) for rule in rules]

    summary = json_summary(result.summary)
    summary.update(
        allowlist=suppressed.to_dict(),
        alerts_fired=sum(d.fired for d in decisions),
        data_files=[
            path.name for path in expand_paths(data_paths or [], allow_empty=True)
        ],
        model=with_model and isinstance(experiment.settings.get("model"), dict),
    )
    if comparison is not None:
        summary["compared_with"] = {"run_id": previous_id, **comparison.counts}
    run = store.add_run(
        RunRecord(
            id=None,
            experiment_id=experiment.id,
            started_at=started_at,
            duration_s=time.perf_counter() - clock,
            procanom_version=procanom.__version__,
            settings=settings.to_dict(),
            data_fingerprint=fingerprint(
                [*source_parts, settings.query, str(settings.time_range)]
            ),
            rows_read=loaded.report.rows_read,
            rows_skipped=loaded.report.rows_skipped,
            total_events=result.num_events,
            num_outliers=result.num_outliers,
            threshold=result.summary.get("thresh"),
            summary=summary,
        )
    )
    keys = store.save_run_outliers(str(run.id), result.annotated, result.fields)
    if keys.truncated:
        warnings.append(
            f"kept the {keys.stored_keys:,} most anomalous outlier keys of"
            f" {keys.distinct_keys:,} for later comparisons"
        )

    deliveries: list[DeliveryRecord] = []
    if deliver_alerts:
        by_id = {rule.id: rule for rule in rules}
        for decision in decisions:
            deliveries += deliver(
                store,
                decision,
                by_id[decision.rule_id],
                experiment=experiment,
                run=run,
                fields=result.fields,
                options=delivery_options,
            )

    logger.info(
        "run %s of experiment %s: %d outliers in %d events, %s, %d alert(s) fired",
        run.id,
        experiment.id,
        result.num_outliers,
        result.num_events,
        suppressed.describe(),
        summary["alerts_fired"],
    )
    return RunOutcome(
        experiment=experiment,
        run=run,
        result=result,
        suppressed=suppressed,
        alerts=decisions,
        deliveries=deliveries,
        report=loaded.report,
        outlier_keys=keys,
        previous_run_id=previous_id,
        comparison=comparison,
        warnings=warnings,
    )
