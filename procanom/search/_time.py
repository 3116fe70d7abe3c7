"""The time-range picker beside the search bar.

A :class:`TimeRange` is what the user chose ("Last 24 hours", a custom
window); :func:`resolve_time_range` turns it into two UTC timestamps. By
default relative presets count back from the latest event in the data rather
than from the clock, because exports are usually analysed days after they
were taken and "last 24 hours" of the clock would then select nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

import pandas as pd

from procanom.errors import ParameterError

__all__ = [
    "PRESETS",
    "PRESET_LABELS",
    "TimeRange",
    "parse_event_times",
    "resolve_time_range",
]

logger = logging.getLogger(__name__)

PRESETS: dict[str, pd.Timedelta] = {
    "15m": pd.Timedelta(minutes=15),
    "1h": pd.Timedelta(hours=1),
    "24h": pd.Timedelta(hours=24),
    "7d": pd.Timedelta(days=7),
    "30d": pd.Timedelta(days=30),
}
"""Relative presets and the span each one covers."""

PRESET_LABELS: dict[str, str] = {
    "15m": "Last 15 minutes",
    "1h": "Last 60 minutes",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "all": "All time",
    "custom": "Date & time range",
}
"""What the picker shows for each preset, in Splunk's wording."""

_ANCHORS = ("latest", "now")


def _parse_instant(name: str, value: str | None) -> pd.Timestamp | None:
    """Read an ISO-8601 bound; a time without an offset is taken as UTC."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ParameterError(name, "an ISO-8601 time as text, or None", value)
    try:
        stamp = pd.Timestamp(value)
    except (ValueError, TypeError) as exc:
        raise ParameterError(
            name, "an ISO-8601 time such as 2024-05-01T10:00:00Z", value
        ) from exc
    if pd.isna(stamp):
        raise ParameterError(
            name, "an ISO-8601 time such as 2024-05-01T10:00:00Z", value
        )
    return stamp.tz_localize("UTC") if stamp.tzinfo is None else stamp.tz_convert("UTC")


@dataclass(frozen=True)
class TimeRange:
    """A time window chosen beside the search bar.

    Parameters
    ----------
    preset : str, default "all"
        ``"15m"``, ``"1h"``, ``"24h"``, ``"7d"``, ``"30d"`` (relative),
        ``"all"`` or ``"custom"``.
    earliest, latest : str, optional
        ISO-8601 bounds for ``"custom"``, both inclusive; either may be left
        out for an open end. A time without an offset is UTC. Ignored by the
        other presets.
    relative_to : str, default "latest"
        What relative presets count back from: ``"latest"``, the latest event
        in the data, or ``"now"``, the clock.

    Raises
    ------
    ParameterError
        For an unknown preset or anchor, an unreadable bound, or a custom
        range whose earliest is after its latest.
    """

    preset: str = "all"
    earliest: str | None = None
    latest: str | None = None
    relative_to: str = "latest"

    def __post_init__(self) -> None:
        if self.preset not in PRESET_LABELS:
            raise ParameterError(
                "preset", f"one of {', '.join(PRESET_LABELS)}", self.preset
            )
        if self.relative_to not in _ANCHORS:
            raise ParameterError("relative_to", "'latest' or 'now'", self.relative_to)
        if self.preset == "custom":
            earliest = _parse_instant("earliest", self.earliest)
            latest = _parse_instant("latest", self.latest)
            if earliest is not None and latest is not None and earliest > latest:
                raise ParameterError(
                    "latest",
                    f"a time at or after earliest ({self.earliest})",
                    self.latest,
                )

    def to_dict(self) -> dict[str, str | None]:
        """Return the range as plain JSON-ready values."""
        return {
            "preset": self.preset,
            "earliest": self.earliest,
            "latest": self.latest,
            "relative_to": self.relative_to,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any] | None) -> TimeRange:
        """Rebuild a range from :meth:`to_dict` output.

        Missing keys take their defaults and unknown keys are ignored, so
        records saved by older or newer versions still open.

        Parameters
        ----------
        data : mapping or None
            As written by :meth:`to_dict`; ``None`` means all time.

        Returns
        -------
        TimeRange

        Raises
        ------
        ParameterError
            If ``data`` is not a mapping or holds invalid values.
        """
        if data is None:
            return cls()
        if not isinstance(data, Mapping):
            raise ParameterError("time_range", "a mapping with a 'preset' key", data)
        return cls(
            preset=data.get("preset") or "all",
            earliest=data.get("earliest"),
            latest=data.get("latest"),
            relative_to=data.get("relative_to") or "latest",
        )

    @property
    def label(self) -> str:
        """The picker's wording for this range."""
        return PRESET_LABELS[self.preset]


def resolve_time_range(
    tr: TimeRange,
    latest_event_time: pd.Timestamp | None,
    now: pd.Timestamp | None = None,
) -> tuple[pd.Timestamp | None, pd.Timestamp | None]:
    """Turn a time range into inclusive UTC bounds.

    Parameters
    ----------
    tr : TimeRange
        The chosen range.
    latest_event_time : pandas.Timestamp or None
        The latest event time in the data, the anchor of relative presets by
        default; ``None`` when the data has no readable time.
    now : pandas.Timestamp, optional
        The clock, for ``relative_to="now"``; the current UTC time by default.

    Returns
    -------
    tuple of (pandas.Timestamp or None, pandas.Timestamp or None)
        ``(earliest, latest)``, tz-aware UTC; ``None`` is an open end. A
        relative preset whose anchor is unknown resolves to ``(None, None)``.
    """
    if tr.preset == "all":
        return None, None
    if tr.preset == "custom":
        return _parse_instant("earliest", tr.earliest), _parse_instant(
            "latest", tr.latest
        )

    if tr.relative_to == "now":
        anchor = pd.Timestamp.now(tz="UTC") if now is None else now
    else:
        anchor = latest_event_time
    if anchor is None or pd.isna(anchor):
        logger.info("time range %s has no anchor time; not restricting", tr.preset)
        return None, None
    anchor = (
        anchor.tz_localize("UTC") if anchor.tzinfo is None else anchor.tz_convert("UTC")
    )
    return anchor - PRESETS[tr.preset], anchor


def parse_event_times(values: pd.Series) -> pd.Series:
    """Read event times as UTC timestamps.

    Parameters
    ----------
    values : pandas.Series
        ISO-8601 text (``2024-05-01T10:00:00Z``, ``...+0000``, ``...+02:00``,
        or without an offset, taken as UTC) or already datetimes.

    Returns
    -------
    pandas.Series
        ``datetime64[..., UTC]`` aligned with ``values``; ``NaT`` where a time
        is missing or unreadable, so callers can count those.
    """
    if pd.api.types.is_datetime64_any_dtype(values.dtype):
        if getattr(values.dt, "tz", None) is None:
            return values.dt.tz_localize("UTC")
        return values.dt.tz_convert("UTC")
    return pd.to_datetime(values, utc=True, errors="coerce", format="ISO8601")
