"""Experiments as JSON files that analysts hand to each other.

Our own export is one object per experiment::

    {"format": "procanom-experiment", "format_version": 1,
     "title": ..., "description": ..., "settings": {...}, "runs": [...]}

Import also takes the looser shapes people write by hand: a single object or
a list of them, the title under ``title`` or ``name``, ``fields`` as a list or
as one comma-separated string, ``source`` naming a data file, and app
settings (``method``, ``params``, ``query``...) at the top level rather than
under ``settings``. Keys we do not know are kept in the settings.
"""

from __future__ import annotations

import json
import logging
import math
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field, fields
from pathlib import Path
from typing import Any

from procanom.errors import InputFileError, ParameterError
from procanom.store.records import Experiment, RunRecord

__all__ = [
    "EXPORT_FORMAT",
    "EXPORT_FORMAT_VERSION",
    "ImportedExperiment",
    "export_payload",
    "normalise_fields",
    "normalise_settings",
    "parse_import",
    "read_experiment_file",
    "to_json",
]

logger = logging.getLogger(__name__)

EXPORT_FORMAT = "procanom-experiment"
EXPORT_FORMAT_VERSION = 1

# Top-level keys of an imported record that describe the record itself; every
# other key is an experiment setting.
_RECORD_KEYS = frozenset(
    {
        "format",
        "format_version",
        "title",
        "name",
        "description",
        "settings",
        "runs",
        "source",
        "id",
        "owner",
        "version",
        "created_at",
        "updated_at",
    }
)

_RUN_KEYS = tuple(
    f.name for f in fields(RunRecord) if f.name not in {"id", "experiment_id"}
)


@dataclass
class ImportedExperiment:
    """One validated record of an import, ready to be saved."""

    title: str
    description: str
    settings: dict[str, Any]
    runs: list[RunRecord] = field(default_factory=list)


def normalise_fields(value: object, context: str = "") -> list[str]:
    """Return a field list from a list of names or a comma-separated string.

    A string is split on commas and each piece trimmed, so ``"Name"`` and
    ``"Name, CommandLine"`` both work; a name containing a comma must be given
    in a list. Names in a list are kept exactly, quotes and spaces included.
    Repeated names are kept once, in first-seen order.

    Parameters
    ----------
    value : str or list of str
        The field list as written.
    context : str, optional
        Appended to the name in error messages (``" in record 2 of 3"``).

    Raises
    ------
    ParameterError
        If ``value`` is neither, or a list holds a blank or non-string name.
    """
    if isinstance(value, str):
        names = [piece.strip() for piece in value.split(",")]
        names = [name for name in names if name]
    elif isinstance(value, list | tuple):
        names = []
        for position, name in enumerate(value):
            if not isinstance(name, str) or not name.strip():
                raise ParameterError(
                    f"fields[{position}]{context}", "a non-empty field name", name
                )
            names.append(name)
    else:
        raise ParameterError(
            f"fields{context}",
            "a list of field names or a comma-separated string",
            value,
        )
    return list(dict.fromkeys(names))


def _json_default(value: object) -> Any:
    # numpy scalars and arrays (tolist) and timestamps (isoformat) reach the
    # store from scoring code; they are saved as the plain values they hold.
    for method in ("tolist", "isoformat"):
        convert = getattr(value, method, None)
        if callable(convert):
            return convert()
    raise TypeError(f"{type(value).__name__} is not JSON-compatible")


def to_json(value: object, where: str) -> str:
    """Serialise ``value`` for the database, naming ``where`` if it cannot be.

    Raises
    ------
    ParameterError
        If ``value`` holds something JSON cannot represent.
    """
    try:
        return json.dumps(value, ensure_ascii=False, default=_json_default)
    except (TypeError, ValueError) as exc:
        raise ParameterError(where, f"JSON-compatible values ({exc})", value) from exc


def normalise_settings(settings: object, context: str = "") -> dict[str, Any]:
    """Check ``settings`` is a JSON-compatible dict and normalise its fields.

    Returns a new dict; the argument is not modified.

    Raises
    ------
    ParameterError
        If ``settings`` is not a dict of JSON-compatible values, or its
        ``fields`` are neither a list of names nor a string.
    """
    if settings is None:
        return {}
    if not isinstance(settings, Mapping):
        raise ParameterError(f"settings{context}", "a dict of settings", settings)
    out = dict(settings)
    if "fields" in out and out["fields"] is not None:
        out["fields"] = normalise_fields(out["fields"], context)
    to_json(out, f"settings{context}")
    return out


def export_payload(experiment: Experiment, runs: list[RunRecord]) -> dict[str, Any]:
    """Build the export of one experiment and its runs (newest run first)."""
    return {
        "format": EXPORT_FORMAT,
        "format_version": EXPORT_FORMAT_VERSION,
        "title": experiment.title,
        "description": experiment.description,
        "settings": experiment.settings,
        "runs": [
            {
                key: value
                for key, value in asdict(run).items()
                if key not in {"id", "experiment_id"}
            }
            for run in runs
        ],
    }


def _parse_run(raw: object, where: str) -> RunRecord:
    if not isinstance(raw, Mapping):
        raise ParameterError(where, "a JSON object describing a run", raw)
    missing = [key for key in _RUN_KEYS if key not in raw]
    if missing:
        raise ParameterError(
            where, f"a run that also has {', '.join(missing)}", sorted(raw)
        )

    def number(key: str, kind: type, optional: bool = False) -> Any:
        value = raw[key]
        if optional and value is None:
            return None
        ok = isinstance(value, int | float) and not isinstance(value, bool)
        if kind is int:
            ok = ok and float(value).is_integer()
        if not ok or (isinstance(value, float) and not math.isfinite(value)):
            raise ParameterError(f"{key} in {where}", f"a {kind.__name__}", value)
        return kind(value)

    def text(key: str) -> str:
        if not isinstance(raw[key], str):
            raise ParameterError(f"{key} in {where}", "a string", raw[key])
        return raw[key]

    def mapping(key: str) -> dict[str, Any]:
        if not isinstance(raw[key], Mapping):
            raise ParameterError(f"{key} in {where}", "a JSON object", raw[key])
        return dict(raw[key])

    return RunRecord(
        id=None,
        experiment_id="",
        started_at=text("started_at"),
        duration_s=number("duration_s", float),
        procanom_version=text("procanom_version"),
        settings=mapping("settings"),
        data_fingerprint=text("data_fingerprint"),
        rows_read=number("rows_read", int),
        rows_skipped=number("rows_skipped", int),
        total_events=number("total_events", int),
        num_outliers=number("num_outliers", int),
        threshold=number("threshold", float, optional=True),
        summary=mapping("summary"),
    )


def _parse_record(raw: object, where: str) -> ImportedExperiment:
    if not isinstance(raw, Mapping):
        raise ParameterError(
            where, "a JSON object with a 'title' or 'name' and settings", raw
        )

    fmt = raw.get("format")
    if fmt is not None and fmt != EXPORT_FORMAT:
        raise ParameterError(f"format in {where}", repr(EXPORT_FORMAT), fmt)
    fmt_version = raw.get("format_version", EXPORT_FORMAT_VERSION)
    if not isinstance(fmt_version, int) or fmt_version > EXPORT_FORMAT_VERSION:
        raise ParameterError(
            f"format_version in {where}",
            f"at most {EXPORT_FORMAT_VERSION} (a newer procanom wrote this file)",
            fmt_version,
        )

    title = raw.get("title", raw.get("name"))
    if not isinstance(title, str) or not title.strip():
        raise ParameterError(
            f"title in {where}", "a non-empty string (under 'title' or 'name')", title
        )
    description = raw.get("description") or ""
    if not isinstance(description, str):
        raise ParameterError(f"description in {where}", "a string", description)

    # Nested settings win over loose top-level keys of the same name.
    nested = raw.get("settings") or {}
    if not isinstance(nested, Mapping):
        raise ParameterError(f"settings in {where}", "a JSON object", nested)
    settings = {k: v for k, v in raw.items() if k not in _RECORD_KEYS}
    settings.update(nested)
    source = raw.get("source")
    if source is not None and "data_source" not in settings:
        if not isinstance(source, str) or not source:
            raise ParameterError(f"source in {where}", "a data file name", source)
        settings["data_source"] = {"kind": "file", "name": source}
    settings = normalise_settings(settings, f" in {where}")

    raw_runs = raw.get("runs") or []
    if not isinstance(raw_runs, list):
        raise ParameterError(f"runs in {where}", "a list of runs", raw_runs)
    runs = [
        _parse_run(run, f"run {position + 1} in {where}")
        for position, run in enumerate(raw_runs)
    ]
    return ImportedExperiment(title, description, settings, runs)


def parse_import(payload: object) -> list[ImportedExperiment]:
    """Validate every record of an import before anything is saved.

    Parameters
    ----------
    payload : dict or list of dict
        Parsed JSON: one experiment or a list of them.

    Returns
    -------
    list of ImportedExperiment
        In the order given.

    Raises
    ------
    ParameterError
        Naming the record (counting from 1) and the key that is wrong.
    """
    if isinstance(payload, Mapping):
        records: list[object] = [payload]
    elif isinstance(payload, list):
        records = payload
    else:
        raise ParameterError(
            "experiment file", "a JSON object or a list of objects", payload
        )

    total = len(records)
    return [
        _parse_record(record, f"record {position + 1} of {total}")
        for position, record in enumerate(records)
    ]


def read_experiment_file(path: str | Path) -> Any:
    """Read an experiment file as JSON, for :meth:`ExperimentStore.import_experiments`.

    Raises
    ------
    InputFileError
        If the file cannot be read or is not JSON; the message gives the line.
    """
    path = Path(path)
    try:
        text = path.read_text(encoding="utf-8-sig")
    except OSError as exc:
        raise InputFileError(str(path), f"could not be read ({exc.strerror})") from exc
    except UnicodeDecodeError as exc:
        raise InputFileError(
            str(path), f"is not UTF-8 text (byte {exc.start}); expected JSON"
        ) from exc
    try:
        return json.loads(text)
    except json.JSONDecodeError as exc:
        raise InputFileError(
            str(path), f"is not valid JSON: {exc.msg} (column {exc.colno})", exc.lineno
        ) from exc
