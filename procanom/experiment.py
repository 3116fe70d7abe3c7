"""An experiment's settings, and running them on events.

An experiment is what an analyst names and saves: where the events come
from, the search that selects them, the fields and their types, the method
and its parameters, and notes. :class:`ExperimentSettings` is that record as
plain data (the store keeps it as JSON), and :func:`run_settings` is the one
path from settings and events to a :class:`~procanom.scoring.DetectionResult`
that the app, the command line and scheduled runs all take, so they agree.
"""

from __future__ import annotations

import hashlib
import logging
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field

import pandas as pd

from procanom.errors import ParameterError
from procanom.scoring import DEFAULT_METHOD, BaseDetector, DetectionResult, detect

__all__ = [
    "DEFAULT_FIELDS",
    "DataSource",
    "canonical_time_range",
    "ExperimentSettings",
    "FIELD_TYPES",
    "parse_field_list",
    "run_settings",
    "select_events",
    "fingerprint",
]

logger = logging.getLogger(__name__)

FIELD_TYPES = ("categorical", "numeric")

#: The analyst's usual process fields, which a new experiment starts with
#: (those its data has): the process, where it ran and who ran it, and its
#: parent. The default method scores the relations between them, so the
#: parent fields matter; ``benchmarks/accuracy.py`` measures on these.
DEFAULT_FIELDS = (
    "Name",
    "Path",
    "CommandLine",
    "host",
    "User",
    "ParentName",
    "ParentPath",
    "ParentCommandLine",
)


def parse_field_list(value: str | Iterable[str] | None) -> list[str]:
    """Read a field list written as a list, or as text separated by commas.

    A name that itself holds a comma can only be given in a list. Blank
    names are dropped; order and spelling are kept.

    Examples
    --------
    >>> parse_field_list("Name, Path")
    ['Name', 'Path']
    >>> parse_field_list(["Process Command Line", 'a" "b'])
    ['Process Command Line', 'a" "b']
    """
    if value is None:
        return []
    items = value.split(",") if isinstance(value, str) else [str(v) for v in value]
    names: list[str] = []
    for item in items:
        name = item.strip() if isinstance(value, str) else item
        if name and name not in names:
            names.append(name)
    return names


def canonical_time_range(value: dict | None) -> dict:
    """Return a time range as plain data with every key present.

    Keys: ``preset`` (``"all"``, ``"15m"``, ``"1h"``, ``"24h"``, ``"7d"``,
    ``"30d"`` or ``"custom"``), ``earliest`` and ``latest`` (ISO-8601 text or
    None, for custom ranges) and ``relative_to`` (``"latest"`` event or
    ``"now"``).
    """
    value = dict(value or {})
    return {
        "preset": str(value.get("preset") or "all"),
        "earliest": value.get("earliest") or None,
        "latest": value.get("latest") or None,
        "relative_to": str(value.get("relative_to") or "latest"),
    }


@dataclass
class DataSource:
    """Where an experiment's events come from.

    Attributes
    ----------
    kind : {"sample", "dataset", "file"}
        A sample bundled with procanom, a dataset kept in the store, or a
        file named in an imported experiment (to be matched by name).
    name : str
        The sample's key, the dataset's name, or the file name.
    dataset_id : str, optional
        The stored dataset, for ``kind="dataset"``.
    """

    kind: str = "sample"
    name: str = ""
    dataset_id: str | None = None


@dataclass
class ExperimentSettings:
    """Everything that decides an experiment's result.

    Attributes
    ----------
    data_source : DataSource
    query : str
        Splunk-style search selecting the events (empty: all).
    time_range : dict
        A :class:`procanom.search.TimeRange` as plain data.
    fields : list of str
        Fields to analyse, in priority order.
    field_types : dict
        Field name to ``"categorical"`` or ``"numeric"``; unlisted fields
        are categorical.
    method : str
    params : dict
        The method's parameters other than fields and numeric fields
        (``cutoff``, ``pthresh``, ``threshold``...); a parameter left out
        takes the method's own default, its threshold included.
    notes : str
    baseline : dict, optional
        Where the baseline events come from, as plain data:
        ``{"dataset_id", "name", "query", "time_range"}``. The method is
        fitted on them and scores the selected events; values never seen in
        the baseline are "first seen". None (the default) scores the events
        against themselves, as Splunk does.
    """

    data_source: DataSource = field(default_factory=DataSource)
    query: str = ""
    time_range: dict = field(default_factory=lambda: canonical_time_range(None))
    fields: list[str] = field(default_factory=list)
    field_types: dict[str, str] = field(default_factory=dict)
    method: str = DEFAULT_METHOD
    params: dict = field(default_factory=dict)
    notes: str = ""
    baseline: dict | None = None

    @property
    def numeric_fields(self) -> list[str]:
        """The chosen fields marked numeric."""
        return [f for f in self.fields if self.field_types.get(f) == "numeric"]

    def to_dict(self) -> dict:
        """Return the settings as JSON-able plain data."""
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict | None) -> ExperimentSettings:
        """Rebuild settings from plain data, tolerating older or looser shapes.

        Unknown keys are ignored; ``fields`` may be a list or text separated
        by commas; a missing key takes its default.
        """
        data = dict(data or {})
        source = data.get("data_source") or {}
        if isinstance(source, str):
            source = {"kind": "file", "name": source}
        field_types = {
            str(k): str(v)
            for k, v in (data.get("field_types") or {}).items()
            if v in FIELD_TYPES
        }
        return cls(
            data_source=DataSource(
                kind=str(source.get("kind", "sample")),
                name=str(source.get("name", "")),
                dataset_id=source.get("dataset_id"),
            ),
            query=str(data.get("query") or ""),
            time_range=canonical_time_range(data.get("time_range")),
            fields=parse_field_list(data.get("fields")),
            field_types=field_types,
            method=str(data.get("method") or _method_when_unnamed(data)),
            # A parameter set to None is the method's default: left out.
            params={
                k: v for k, v in dict(data.get("params") or {}).items() if v is not None
            },
            notes=str(data.get("notes") or ""),
            baseline=dict(data["baseline"])
            if isinstance(data.get("baseline"), dict)
            else None,
        )

    def method_params(self) -> dict:
        """Return the keyword arguments for :func:`procanom.scoring.detect`.

        Only the parameters the method takes are passed, so settings saved
        with one method (say ``cutoff``) still run after switching to another.
        """
        from procanom.scoring import METHODS

        accepted = (
            set(METHODS[self.method]._get_param_names())
            if self.method in METHODS
            else set(self.params)
        )
        params = {
            k: v for k, v in self.params.items() if v is not None and k in accepted
        }
        if self.numeric_fields and "numeric_fields" in accepted:
            params["numeric_fields"] = self.numeric_fields
        return params


def _method_when_unnamed(data: dict) -> str:
    # Settings that name fields but no method were written before procanom
    # had other methods, or come from Splunk's experiment: both meant
    # Splunk's histogram, and reopening them must give the same outliers.
    return "histogram" if data.get("fields") else DEFAULT_METHOD


def select_events(
    frame: pd.DataFrame, query: str = "", time_range: dict | None = None
) -> pd.DataFrame:
    """Return the events matching a search and a time range.

    Parameters
    ----------
    frame : pandas.DataFrame
    query : str
        Splunk-style search text (see :mod:`procanom.search`).
    time_range : dict, optional
        A :class:`procanom.search.TimeRange` as plain data.

    Raises
    ------
    procanom.errors.QueryError
        When the query cannot be parsed; the error points at the position.
    """
    from procanom.search import TimeRange, filter_events

    time = TimeRange.from_dict(time_range) if time_range else None
    if not query.strip() and (time is None or time.preset == "all"):
        return frame
    mask = filter_events(frame, query, time)
    return frame[mask.to_numpy()]


def run_settings(settings: ExperimentSettings, events: pd.DataFrame) -> DetectionResult:
    """Select the events the settings describe and score them.

    Parameters
    ----------
    settings : ExperimentSettings
    events : pandas.DataFrame
        All events of the experiment's data source.

    Returns
    -------
    DetectionResult
        Scores for the selected events; ``.annotated`` keeps their original
        index, so rows can be traced back to ``events``.
    """
    if not settings.fields:
        raise ParameterError("fields", "at least one field to analyse", [])
    selected = select_events(events, settings.query, settings.time_range)
    logger.info(
        "experiment selects %d of %d events with query %r",
        len(selected),
        len(events),
        settings.query,
    )
    return detect(
        selected, settings.fields, settings.method, **settings.method_params()
    )


def fit_baseline(
    settings: ExperimentSettings, baseline_events: pd.DataFrame
) -> BaseDetector:
    """Fit the experiment's method on the baseline its settings describe.

    Parameters
    ----------
    settings : ExperimentSettings
        Its fields, method and parameters; ``settings.baseline`` gives the
        search and time range selecting the baseline events.
    baseline_events : pandas.DataFrame
        All events of the baseline's data source.

    Returns
    -------
    BaseDetector
        Fitted; ``score`` it on new events, or save it with
        :func:`procanom.scoring.persist.detector_to_dict`.

    Raises
    ------
    procanom.errors.ParameterError
        When the baseline search selects no event.
    """
    from procanom.scoring import make_detector

    spec = settings.baseline or {}
    selected = select_events(
        baseline_events, str(spec.get("query") or ""), spec.get("time_range")
    )
    if selected.empty:
        raise ParameterError(
            "baseline search",
            "a search and time range selecting at least one event",
            spec.get("query") or "(all events)",
        )
    logger.info("fitting %s on a baseline of %d events", settings.method, len(selected))
    detector = make_detector(
        settings.method, fields=list(settings.fields), **settings.method_params()
    )
    return detector.fit(selected)


def score_against(
    detector: BaseDetector, settings: ExperimentSettings, events: pd.DataFrame
) -> DetectionResult:
    """Score the events the settings select with a fitted ``detector``."""
    selected = select_events(events, settings.query, settings.time_range)
    return detector.score(selected)


def fingerprint(parts: Sequence[bytes | str]) -> str:
    """Return a short stable hash of data identities (file hashes, queries)."""
    digest = hashlib.sha256()
    for part in parts:
        digest.update(part.encode() if isinstance(part, str) else part)
        digest.update(b"\0")
    return digest.hexdigest()[:16]
