"""Reading event times in the forms Windows exports write them.

Each value is sorted into one form by a regular expression, and each form is
parsed for all its values at once, so a million rows parse in seconds. The
forms:

* ISO 8601 with or without a zone: ``2020-10-19T03:30:54.1234567Z``,
  ``2024-05-01T10:00:00.000+0000``, Sysmon's ``2020-10-19 03:30:54.123``;
* epoch seconds, milliseconds, microseconds or nanoseconds (by digit count);
* PowerShell's JSON form ``/Date(1714557600000)/``;
* WMI/CIM ``20240501100000.123456+060`` (offset in minutes);
* ``5/1/2024 10:00:00 AM`` (month first unless a first part above 12 shows
  the column is day first) and ``01.05.2024 10:00`` (day first);
* osquery's ``Wed May  1 10:00:00 2024 UTC``.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from procanom.schema._values import STRING

logger = logging.getLogger(__name__)

_ISO = (
    r"^\d{4}-\d{2}-\d{2}(?:[T ]\d{1,2}:\d{2}(?::\d{2}(?:\.\d+)?)?)?"
    r"(?:Z|[+-]\d{2}:?\d{2})?$"
)
_ZONE = r"(?:Z|[+-]\d{2}:?\d{2})$"
_EPOCH_UNITS = (
    (r"^-?\d{9,11}(?:\.\d+)?$", "s"),
    (r"^\d{12,13}(?:\.\d+)?$", "ms"),
    (r"^\d{15,16}$", "us"),
    (r"^\d{19}$", "ns"),
)
_DOTNET = r"^/Date\((-?\d+)(?:[+-]\d{4})?\)/$"
_CIM = r"^(\d{14})\.(\d{6})([+-])(\d{3})$"
_SLASH = (
    r"^(\d{1,2})/(\d{1,2})/(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2})(?:\.(\d+))?)?"
    r"\s*([AaPp][Mm])?)?$"
)
_DOTTED = r"^(\d{1,2})\.(\d{1,2})\.(\d{4})(?:,?\s+(\d{1,2}):(\d{2})(?::(\d{2}))?)?$"
_CTIME = r"^[A-Za-z]{3} [A-Za-z]{3} +\d{1,2} \d{2}:\d{2}:\d{2} \d{4}Z?$"


@dataclass
class ParsedTimes:
    """Times read from one column.

    Attributes
    ----------
    values : pandas.Series
        ``datetime64[ns, UTC]``, ``NaT`` where missing or unreadable.
    zoneless : numpy.ndarray
        True where the text named no zone and was read as UTC.
    unreadable : int
        Non-empty values that matched no known form.
    ambiguous_day_month : int
        ``a/b/yyyy`` values read month first with both parts 12 or less.
    """

    values: pd.Series
    zoneless: np.ndarray
    unreadable: int
    ambiguous_day_month: int


def parse_times(text: pd.Series) -> ParsedTimes:
    """Read a column of time text into UTC datetimes.

    Parameters
    ----------
    text : pandas.Series
        Text as written in the export.

    Returns
    -------
    ParsedTimes
    """
    index = text.index
    out = pd.Series(pd.NaT, index=index, dtype="datetime64[ns, UTC]")
    zoneless = pd.Series(False, index=index)
    ambiguous = 0

    clean = text.astype(STRING).str.strip()
    present = (clean.notna() & (clean != "")).fillna(False)

    # Most columns are ISO 8601 throughout: read those in one pass and look
    # at the few others (or a column in another form) on their own.
    iso = present & clean.str.match(_ISO).fillna(False)
    if iso.any():
        _read_iso(clean[iso], out, zoneless)
    rest = clean[present & ~iso]

    if len(rest):
        # A trailing UTC/GMT word, a space before the offset and a decimal
        # comma are common in SIEM exports; fold them into the ISO form.
        rest = rest.str.replace(r"\s*(?:UTC|GMT)$", "Z", regex=True)
        rest = rest.str.replace(r"(\d)\s+([+-]\d{2}:?\d{2})$", r"\1\2", regex=True)
        rest = rest.str.replace(r"(:\d{2}),(\d+)", r"\1.\2", regex=True)
        hit = rest.str.match(_ISO).fillna(False)
        if hit.any():
            _read_iso(rest[hit], out, zoneless)
        rest = rest[~hit]

    for pattern, unit in _EPOCH_UNITS:
        if not len(rest):
            break
        hit = rest.str.match(pattern).fillna(False)
        if hit.any():
            numbers = pd.to_numeric(rest[hit].astype(object), errors="coerce")
            out[numbers.index] = pd.to_datetime(
                numbers, unit=unit, utc=True, errors="coerce"
            )
        rest = rest[~hit]

    if len(rest):
        hit = rest.str.match(_DOTNET).fillna(False)
        if hit.any():
            ms = pd.to_numeric(rest[hit].str.extract(_DOTNET)[0], errors="coerce")
            out[ms.index] = pd.to_datetime(ms, unit="ms", utc=True, errors="coerce")
        rest = rest[~hit]

    if len(rest):
        hit = rest.str.match(_CIM).fillna(False)
        if hit.any():
            out[rest.index[hit]] = _parse_cim(rest[hit])
        rest = rest[~hit]

    if len(rest):
        hit = rest.str.match(_SLASH).fillna(False)
        if hit.any():
            parts = rest[hit].str.extract(_SLASH)
            first = parts[0].astype(int)
            second = parts[1].astype(int)
            if (first > 12).any():
                day, month = first, second
            else:
                day, month = second, first
                ambiguous = int(
                    ((first <= 12) & (second <= 12) & (first != second)).sum()
                )
            out[parts.index] = _from_parts(
                parts[2], month, day, parts[3], parts[4], parts[5], parts[7]
            )
            zoneless[parts.index] = True
        rest = rest[~hit]

    if len(rest):
        hit = rest.str.match(_DOTTED).fillna(False)
        if hit.any():
            parts = rest[hit].str.extract(_DOTTED)
            out[parts.index] = _from_parts(
                parts[2],
                parts[1].astype(int),
                parts[0].astype(int),
                parts[3],
                parts[4],
                parts[5],
            )
            zoneless[parts.index] = True
        rest = rest[~hit]

    if len(rest):
        hit = rest.str.match(_CTIME).fillna(False)
        if hit.any():
            sub = rest[hit].str.replace(r"\s+", " ", regex=True)
            out[sub.index] = pd.to_datetime(
                sub.str.rstrip("Z").str.strip(),
                format="%a %b %d %H:%M:%S %Y",
                utc=True,
                errors="coerce",
            )
            zoneless[sub.index] = ~sub.str.endswith("Z").fillna(False)

    unreadable = int((present & out.isna()).sum())
    zoneless &= out.notna()
    return ParsedTimes(out, zoneless.to_numpy(), unreadable, ambiguous)


def _read_iso(text: pd.Series, out: pd.Series, zoneless: pd.Series) -> None:
    """Parse ISO 8601 text into ``out``; mark values without a zone."""
    out[text.index] = pd.to_datetime(text, format="ISO8601", utc=True, errors="coerce")
    zoneless[text.index] = ~text.str.contains(_ZONE).fillna(False)


def _parse_cim(text: pd.Series) -> pd.Series:
    """Read CIM datetimes: local time plus an offset in minutes east of UTC."""
    parts = text.str.extract(_CIM)
    local = pd.to_datetime(
        parts[0].astype(object), format="%Y%m%d%H%M%S", errors="coerce"
    )
    micro = pd.to_timedelta(parts[1].astype(int), unit="us")
    sign = np.where(parts[2] == "-", -1, 1)
    offset = pd.to_timedelta(sign * parts[3].astype(int).to_numpy(), unit="m")
    return (local + micro - offset).dt.tz_localize("UTC")


def _from_parts(year, month, day, hour, minute, second, ampm=None) -> pd.Series:
    """Build datetimes from extracted text parts; missing time parts are zero."""
    hour = pd.to_numeric(hour, errors="coerce").fillna(0).astype(int)
    if ampm is not None:
        marker = ampm.str.upper()
        hour = hour.where(~((marker == "PM") & (hour < 12)).fillna(False), hour + 12)
        hour = hour.where(~((marker == "AM") & (hour == 12)).fillna(False), 0)
    frame = pd.DataFrame(
        {
            "year": pd.to_numeric(year, errors="coerce"),
            "month": month,
            "day": day,
            "hour": hour,
            "minute": pd.to_numeric(minute, errors="coerce").fillna(0).astype(int),
            "second": pd.to_numeric(second, errors="coerce").fillna(0).astype(int),
        }
    )
    return pd.to_datetime(frame, errors="coerce").dt.tz_localize("UTC")


def format_times(values: pd.Series) -> pd.Series:
    """Write UTC datetimes as ``YYYY-MM-DDTHH:MM:SS.fffZ`` text.

    Digits below the millisecond are cut, not rounded, so a time never moves
    into the next millisecond.
    """
    naive = values.astype("datetime64[ns, UTC]").dt.tz_localize(None)
    millis = pa.array(naive, from_pandas=True).cast(pa.timestamp("ms"), safe=False)
    # Arrow's cast to text is much faster than strftime and gives
    # "YYYY-MM-DD HH:MM:SS.fff" for millisecond timestamps.
    text = pc.replace_substring(millis.cast(pa.string()), " ", "T", max_replacements=1)
    text = pc.binary_join_element_wise(text, "Z", "")
    return pd.Series(pd.array(text, dtype=STRING), index=values.index)
