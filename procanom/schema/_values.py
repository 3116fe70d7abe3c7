"""Value normalisers: one function per kind of field, each vectorised.

Every function takes and returns a ``string[pyarrow]`` Series with the same
index, leaves ``<NA>`` alone, and never raises on odd text: what it cannot
read it keeps as written and reports in a count, so the caller can warn.
"""

from __future__ import annotations

import logging
import re

import numpy as np
import pandas as pd

logger = logging.getLogger(__name__)

STRING = pd.StringDtype("pyarrow")

#: Values that Windows writes for "nothing here" in account and logon fields.
UNSET_VALUES = frozenset({"", "-", "0x0", "S-1-0-0"})

_HEX_ID = re.compile(r"^0[xX][0-9a-fA-F]+$")
_DEC_ID = re.compile(r"^\+?\d+(?:\.0*)?$")
_IPV4 = r"^\d{1,3}(?:\.\d{1,3}){3}$"

# Mandatory-label SIDs as 4688 writes them, named as Sysmon names the levels.
_INTEGRITY_BY_SID = {
    "S-1-16-0": "Untrusted",
    "S-1-16-4096": "Low",
    "S-1-16-8192": "Medium",
    "S-1-16-8448": "MediumPlus",
    "S-1-16-12288": "High",
    "S-1-16-16384": "System",
    "S-1-16-20480": "Protected",
    "S-1-16-28672": "Secure",
}


def empty(index: pd.Index) -> pd.Series:
    """Return an all-``<NA>`` text Series on ``index``."""
    return pd.Series(pd.NA, index=index, dtype=STRING)


def is_unset(values: pd.Series) -> pd.Series:
    """Return True where a value is missing or one of :data:`UNSET_VALUES`."""
    return values.isna() | values.str.strip().isin(UNSET_VALUES).fillna(False)


def first_set(columns: list[pd.Series], index: pd.Index) -> pd.Series:
    """Coalesce ``columns``: the first value that is not unset, row by row.

    A row where every column is unset keeps the first column's own value
    (an empty string stays an empty string rather than becoming ``<NA>``).
    """
    if not columns:
        return empty(index)
    out = columns[0].where(~is_unset(columns[0]))
    for col in columns[1:]:
        out = out.where(out.notna(), col.where(~is_unset(col)))
    return out.where(out.notna(), columns[0]).astype(STRING)


def by_unique(values: pd.Series, func) -> pd.Series:
    """Apply the vectorised ``func`` to the distinct values only.

    Channels, hosts, integrity levels and paths repeat heavily; working on
    the distinct values and taking the results back by code turns a pass
    over a million rows into a pass over a few hundred.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) * 2 > len(values):
        return func(values)
    result = func(pd.Series(uniques, dtype=STRING))
    taken = result.array.take(codes, allow_fill=True)
    return pd.Series(taken, index=values.index)


def _map_unique(values: pd.Series, func) -> pd.Series:
    """Apply ``func`` to each distinct value once and spread the results back.

    Process ids and logon ids repeat heavily, so converting the distinct
    values in Python and taking them back by code stays fast on a million
    rows.
    """
    codes, uniques = pd.factorize(values, use_na_sentinel=True)
    if len(uniques) == 0:
        return values.astype(STRING)
    converted = np.array([func(str(u)) for u in uniques], dtype=object)
    out = np.where(codes >= 0, converted[np.clip(codes, 0, None)], None)
    return pd.Series(out, index=values.index, dtype=STRING)


def _decimal_id(text: str) -> str:
    stripped = text.strip()
    if _HEX_ID.match(stripped):
        return str(int(stripped, 16))
    if _DEC_ID.match(stripped):
        return str(int(stripped.lstrip("+").split(".")[0]))
    return text


def decimal_ids(values: pd.Series) -> tuple[pd.Series, int]:
    """Write process ids as decimal text (``0x1a2c`` becomes ``6700``).

    Returns
    -------
    values : pandas.Series
        The ids; values that are neither hex nor decimal stay as written.
    unreadable : int
        How many non-empty values were neither hex nor decimal.
    """
    out = _map_unique(values, _decimal_id)
    text = out.str.strip()
    bad = int((text.notna() & (text != "") & ~text.str.fullmatch(r"\d+")).sum())
    return out, bad


def _hex_logon(text: str) -> str:
    stripped = text.strip()
    if _HEX_ID.match(stripped):
        return f"0x{int(stripped, 16):x}"
    if _DEC_ID.match(stripped):
        return f"0x{int(stripped.lstrip('+').split('.')[0]):x}"
    return text


def hex_logon_ids(values: pd.Series) -> pd.Series:
    """Write logon ids as Windows shows them: lower-case hex (``999`` -> ``0x3e7``).

    Sysmon and 4688 both write hex, other exports sometimes decimal; one form
    lets the same logon session compare equal whatever the source.
    """
    return _map_unique(values, _hex_logon)


_RENDERED_LEVEL = re.compile(r"(?i)^(?:Mandatory Label\\)?(\w[\w ]*?) Mandatory Level$")


def _integrity(text: str) -> str:
    stripped = text.strip()
    named = _INTEGRITY_BY_SID.get(stripped.upper())
    if named:
        return named
    rendered = _RENDERED_LEVEL.match(stripped)
    return rendered.group(1).replace(" ", "") if rendered else text


def integrity_levels(values: pd.Series) -> pd.Series:
    """Name integrity levels as Sysmon does.

    4688 writes the mandatory-label SID (``S-1-16-12288``) and Splunk renders
    it as ``Mandatory Label\\High Mandatory Level``; both become ``High``.
    Other values stay as written.
    """
    return _map_unique(values, _integrity)


def basenames(values: pd.Series) -> pd.Series:
    """Return the file name of each path (``C:\\Windows\\cmd.exe`` -> ``cmd.exe``).

    Surrounding quotes and spaces are dropped first, so a quoted path gives
    the same name as an unquoted one. A path with a backslash is split at
    its last backslash only: a ``/`` there is part of the name (Windows
    refuses it in file names, but event data can still carry one, as in
    ``C:\\x\\<b>a</b>.exe``). A path without a backslash is split at its
    last ``/`` (``/usr/bin/python3``, ``C:/Tools/a.exe``). A value without
    a separator is kept.
    """
    return by_unique(values, _basenames)


def _basenames(values: pd.Series) -> pd.Series:
    text = values.str.strip().str.strip('"').str.strip()
    windows = text.str.contains("\\", regex=False).fillna(False)
    after_backslash = text.str.replace(r"^.*\\", "", regex=True)
    after_slash = text.str.replace(r"^.*/", "", regex=True)
    return after_backslash.where(windows, after_slash).astype(STRING)


def short_hosts(values: pd.Series) -> pd.Series:
    """Return the short upper-case host name (``wks-1.corp.example`` -> ``WKS-1``).

    IP addresses are kept whole, since their first label names nothing.
    """
    return by_unique(values, _short_hosts)


def _short_hosts(values: pd.Series) -> pd.Series:
    text = values.str.strip()
    is_ip = text.str.fullmatch(_IPV4).fillna(False)
    short = text.str.replace(r"\..*$", "", regex=True).str.upper()
    return short.where(~is_ip, text).astype(STRING)


def accounts(pairs: list[tuple[pd.Series | None, pd.Series]], index) -> pd.Series:
    """Compose ``DOMAIN\\user`` from (domain, user) pairs, first set pair wins.

    A pair whose user is unset (``-``, empty, missing) is skipped; a missing
    or unset domain gives the bare user name.
    """
    out = empty(index)
    for domain, user in pairs:
        user_ok = ~is_unset(user)
        if domain is None:
            value = user
        else:
            with_domain = (domain.str.strip() + "\\" + user.str.strip()).astype(STRING)
            value = with_domain.where(~is_unset(domain), user)
        out = out.where(out.notna() | ~user_ok, value)
    return out.astype(STRING)


def log_names(columns: list[pd.Series], index: pd.Index) -> pd.Series:
    """Name the log each row came from: ``sysmon``, ``security`` or as written.

    Columns are tried in order; a recognised log in any column wins over a
    raw name in an earlier one (``source=process`` next to
    ``sourcetype=WinHostMon`` gives ``winhostmon``). Splunk's ``source`` is
    usually a file path or a script; it names the log only when it is a
    ``WinEventLog:`` or ``XmlWinEventLog:`` source.
    """
    kind = empty(index)
    raw = empty(index)
    for col in columns:
        kind = kind.where(kind.notna(), classify_log(col))
        usable = ~is_unset(col)
        if str(col.name).lower() == "source":
            usable &= col.str.contains(_EVENT_LOG_SOURCE).fillna(False)
        raw = raw.where(raw.notna() | ~usable, by_unique(col, _clean_log))
    return kind.where(kind.notna(), raw).astype(STRING)


_EVENT_LOG_SOURCE = r"(?i)^(?:xml)?wineventlog:"


def _clean_log(values: pd.Series) -> pd.Series:
    text = values.str.strip().str.replace(_EVENT_LOG_SOURCE, "", regex=True)
    return text.str.lower()


def classify_log(values: pd.Series) -> pd.Series:
    """Return ``sysmon``, ``security`` or ``<NA>`` for channel or provider text."""
    return by_unique(values, _classify_log)


def _classify_log(values: pd.Series) -> pd.Series:
    lower = values.str.lower()
    sysmon = lower.str.contains("sysmon", regex=False).fillna(False)
    security = (
        lower.str.contains(r"(?:^|[:/\\ ])security(?:$|[:/ ])", regex=True)
        | lower.str.contains("security-auditing", regex=False)
    ).fillna(False)
    out = empty(values.index)
    out = out.mask(security, "security")
    out = out.mask(sysmon, "sysmon")
    return out


def counted(n: int, noun: str) -> str:
    """``n`` and ``noun``, plural unless ``n`` is 1: "1 row", "2,048 rows"."""
    return f"{n:,} {noun}" + ("" if n == 1 else "s")
