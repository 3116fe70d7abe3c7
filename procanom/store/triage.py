"""What the store keeps for acting on outliers.

Four kinds of record, each in its own table (schema migration 3):

allow-list entries
    :class:`AllowEntry`: conditions on event fields marking outliers as
    expected, for one experiment or for all of them.
run outlier keys
    For each run, the distinct values of its outliers in the experiment's
    fields (and ``host``), with how many outliers share them and their top
    score, so two saved runs compare without their data. At most
    :data:`MAX_RUN_OUTLIER_KEYS` keys per run are kept, most anomalous first.
alert rules
    :class:`AlertRule`: when an experiment's run should notify someone, and
    where.
deliveries
    :class:`DeliveryRecord`: one row per (run, rule, destination), claimed
    before sending and finished after, so an alert is never sent twice.

:class:`TriageMixin` holds the methods; :class:`ExperimentStore` inherits
them, so they share its connections and transactions.
"""

from __future__ import annotations

import hashlib
import json
import logging
import math
import sqlite3
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from procanom.errors import NotFoundError, ParameterError

if TYPE_CHECKING:
    import contextlib

    import pandas as pd

__all__ = [
    "ALLOW_MATCHES",
    "ALLOW_SCOPES",
    "DELIVERY_STATUSES",
    "MAX_RUN_OUTLIER_KEYS",
    "AlertRule",
    "AllowEntry",
    "AllowEntryUse",
    "DeliveryRecord",
    "OutlierKeySet",
    "TriageMixin",
    "check_destinations",
    "destination_key",
    "destination_label",
]

logger = logging.getLogger(__name__)

ALLOW_SCOPES = ("experiment", "global")
ALLOW_MATCHES = ("literal", "pattern")
DELIVERY_STATUSES = ("sending", "delivered", "failed")
DESTINATION_TYPES = ("webhook", "file")

#: Most outlier keys kept per run; the most anomalous are kept when cut.
MAX_RUN_OUTLIER_KEYS = 100_000

# A delivery left "sending" this long is taken to have died with its process
# and may be claimed again. Until then a second sender stays away, because
# the first may still be waiting on the receiver.
STALE_SENDING_S = 600.0

# Marks an argument left out, where None is a meaningful value.
_UNSET: Any = object()


# -- records ---------------------------------------------------------------------


@dataclass
class AllowEntry:
    """One allow-list entry: outliers matching its conditions are expected.

    Parameters
    ----------
    id : str or None
        None until the store saves it.
    scope : {"experiment", "global"}
        One experiment's entry, or an entry applied to every experiment.
    experiment_id : str or None
        The experiment, for ``scope="experiment"``; None for global entries.
    conditions : dict of str to str
        Field name to value. An event matches when every field matches.
    match : {"literal", "pattern"}
        ``literal``: the whole value, ignoring case. ``pattern``: the whole
        value against a glob where ``*`` stands for any run of characters
        (also empty), ignoring case, as in Splunk's wildcard lookups.
    reason : str
        Why these outliers are expected.
    author : str
        The signed-in user, or the name the analyst set in the app.
    created_at, updated_at : str
        UTC ISO-8601 times.
    enabled : bool
        Disabled entries are kept but suppress nothing.
    """

    id: str | None
    scope: str
    experiment_id: str | None
    conditions: dict[str, str]
    match: str = "literal"
    reason: str = ""
    author: str = ""
    created_at: str = ""
    enabled: bool = True
    updated_at: str = ""


@dataclass
class AllowEntryUse:
    """What one allow-list entry suppressed over the saved runs.

    Parameters
    ----------
    outliers : int
        Outliers it matched, summed over the runs (an outlier matched in two
        runs counts twice).
    runs_checked, runs_matched : int
        Runs that applied it, and those where it matched at least one outlier.
    last_matched_at : str or None
        Start time of the newest run where it matched.
    """

    outliers: int
    runs_checked: int
    runs_matched: int
    last_matched_at: str | None


@dataclass
class AlertRule:
    """When a run of an experiment notifies someone, and where.

    Parameters
    ----------
    id : str or None
        None until the store saves it.
    experiment_id : str
    threshold : int
        The rule fires when more than this many outliers are counted.
    only_causes : list of str or None
        Count only outliers whose ``probable_cause`` is one of these; None
        counts every outlier.
    only_new : bool
        Count only outliers whose key (the experiment's fields, with
        ``host``) the previous run did not flag.
    destinations : list of dict
        ``{"type": "webhook", "url": "https://..."}`` (JSON POST) or
        ``{"type": "file", "path": "alerts.jsonl"}`` (one JSON line appended).
        A relative file name is kept in the data folder's ``alerts`` folder;
        an absolute path must lie in a folder listed in
        ``$PROCANOM_ALERT_DIRS`` (:func:`procanom.alerts.resolve_alert_file`).
    enabled : bool
    created_at, updated_at : str
        UTC ISO-8601 times.
    """

    id: str | None
    experiment_id: str
    threshold: int = 0
    only_causes: list[str] | None = None
    only_new: bool = False
    destinations: list[dict[str, str]] = field(default_factory=list)
    enabled: bool = True
    created_at: str = ""
    updated_at: str = ""


@dataclass
class DeliveryRecord:
    """One alert sent, or tried, to one destination.

    Parameters
    ----------
    id : str
    run_id, rule_id : str
        The run that fired the rule.
    idempotency_key : str
        Sent with the alert; the same for every try of one run and rule.
    destination : str
        Where it went, with secrets left out (a webhook shows its host only:
        Slack and Teams webhook URLs are credentials).
    status : {"sending", "delivered", "failed"}
    attempts : int
        Tries so far, over every call that delivered this alert.
    http_status : int or None
        The receiver's last HTTP status, for webhooks.
    error : str or None
        Why the last try failed.
    log : list of dict
        One ``{"at", "outcome"}`` per try.
    created_at, updated_at : str
    """

    id: str
    run_id: str
    rule_id: str
    idempotency_key: str
    destination: str
    status: str
    attempts: int
    http_status: int | None
    error: str | None
    log: list[dict[str, Any]]
    created_at: str
    updated_at: str


@dataclass
class OutlierKeySet:
    """What :meth:`TriageMixin.save_run_outliers` kept for a run.

    Parameters
    ----------
    run_id : str
    key_fields : list of str
        The columns that identify an outlier across runs.
    outliers : int
        Outlier events of the run.
    distinct_keys : int
        Distinct keys among them.
    stored_keys : int
        Keys kept (at most :data:`MAX_RUN_OUTLIER_KEYS`, most anomalous first).
    """

    run_id: str
    key_fields: list[str]
    outliers: int
    distinct_keys: int
    stored_keys: int

    @property
    def truncated(self) -> bool:
        """Whether some keys were left out."""
        return self.stored_keys < self.distinct_keys

    def as_attrs(self) -> dict[str, Any]:
        """Return the set's description for a frame's ``attrs``."""
        return {
            "run_id": self.run_id,
            "key_fields": list(self.key_fields),
            "outliers": self.outliers,
            "distinct_keys": self.distinct_keys,
            "stored_keys": self.stored_keys,
            "truncated": self.truncated,
        }


# -- checks ------------------------------------------------------------------------


def _check_choice(value: object, name: str, allowed: Sequence[str]) -> str:
    if value not in allowed:
        raise ParameterError(name, "one of " + ", ".join(allowed), value)
    return str(value)


def _check_string(value: object, name: str) -> str:
    if not isinstance(value, str):
        raise ParameterError(name, "a string", value)
    return value


def _check_bool(value: object, name: str) -> bool:
    if not isinstance(value, bool | int) or value not in (0, 1):
        raise ParameterError(name, "true or false", value)
    return bool(value)


def check_conditions(conditions: object) -> dict[str, str]:
    """Return allow-list conditions as ``{field: text}``, or raise.

    Numbers are accepted and kept as their text (events are read as text).
    """
    if not isinstance(conditions, Mapping) or not conditions:
        raise ParameterError(
            "conditions", "a non-empty mapping of field name to value", conditions
        )
    out: dict[str, str] = {}
    for name, value in conditions.items():
        if not isinstance(name, str) or not name.strip():
            raise ParameterError("conditions field name", "a non-empty string", name)
        if isinstance(value, bool) or not isinstance(value, str | int | float):
            raise ParameterError(f"conditions[{name!r}]", "a text value", value)
        if isinstance(value, float) and not math.isfinite(value):
            raise ParameterError(f"conditions[{name!r}]", "a finite number", value)
        out[name] = value if isinstance(value, str) else str(value)
    return out


def _check_scope(scope: object, experiment_id: object) -> tuple[str, str | None]:
    scope = _check_choice(scope, "scope", ALLOW_SCOPES)
    if scope == "global":
        if experiment_id is not None:
            raise ParameterError(
                "experiment_id", "None for a global entry", experiment_id
            )
        return scope, None
    if not isinstance(experiment_id, str) or not experiment_id:
        raise ParameterError(
            "experiment_id", "the experiment's id for scope 'experiment'", experiment_id
        )
    return scope, experiment_id


def _check_threshold(value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ParameterError(
            "threshold", "a whole number of outliers, 0 or more", value
        )
    if value < 0 or value != int(value):
        raise ParameterError(
            "threshold", "a whole number of outliers, 0 or more", value
        )
    return int(value)


def _check_causes(value: object) -> list[str] | None:
    if value is None:
        return None
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ParameterError("only_causes", "a list of probable causes, or None", value)
    causes = []
    for cause in value:
        if not isinstance(cause, str) or not cause:
            raise ParameterError("only_causes", "non-empty field names", cause)
        if cause not in causes:
            causes.append(cause)
    # An empty list would count nothing and never fire: read it as "any".
    return causes or None


def check_destinations(destinations: object) -> list[dict[str, str]]:
    """Return alert destinations in their canonical form, or raise.

    Webhook URLs must be ``http`` or ``https`` with a host: other schemes
    (``file:``, ``ftp:``) would let a rule read or write where it should not.
    """
    if isinstance(destinations, Mapping | str) or not isinstance(
        destinations, Sequence
    ):
        raise ParameterError("destinations", "a list of destinations", destinations)
    out = []
    for position, item in enumerate(destinations):
        # Named as the page names them: "webhook URL", or "webhook URL of
        # destination 2" when a rule has several.
        where = f" of destination {position + 1}" if len(destinations) > 1 else ""
        if not isinstance(item, Mapping):
            raise ParameterError(f"destination{where}", "a mapping with a 'type'", item)
        kind = _check_choice(item.get("type"), f"type{where}", DESTINATION_TYPES)
        if kind == "webhook":
            url = item.get("url")
            parts = urlsplit(url) if isinstance(url, str) else None
            if (
                parts is None
                or parts.scheme not in ("http", "https")
                or not parts.netloc
            ):
                raise ParameterError(
                    f"webhook URL{where}", "an http:// or https:// URL", url
                )
            out.append({"type": "webhook", "url": url.strip()})
        else:
            path = item.get("path")
            if not isinstance(path, str) or not path.strip():
                raise ParameterError(f"file path{where}", "a file path", path)
            out.append({"type": "file", "path": path.strip()})
    return out


def destination_key(destination: Mapping[str, str]) -> str:
    """Return a stable short hash identifying a destination (secrets included)."""
    canonical = json.dumps(dict(destination), sort_keys=True).encode()
    return hashlib.sha256(canonical).hexdigest()[:16]


def destination_label(destination: Mapping[str, str]) -> str:
    """Return a destination described without secrets, for display and records."""
    if destination.get("type") == "webhook":
        parts = urlsplit(destination.get("url", ""))
        # The path of a Slack or Teams webhook URL is its secret token.
        return f"webhook {parts.scheme}://{parts.hostname or ''}"
    return f"file {destination.get('path', '')}"


# -- the store's methods -------------------------------------------------------------


class TriageMixin:
    """Allow-list, run outlier keys, alert rules and deliveries.

    Mixed into :class:`~procanom.store.ExperimentStore`, whose connection
    and transaction helpers it uses.
    """

    path: Path
    data_dir: Path

    if TYPE_CHECKING:  # provided by ExperimentStore

        def _write(
            self, action: str
        ) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

        def _read(
            self, action: str
        ) -> contextlib.AbstractContextManager[sqlite3.Connection]: ...

        def _experiment_row(self, conn: sqlite3.Connection, experiment_id: str): ...

    # -- allow-list -------------------------------------------------------------

    @staticmethod
    def _allow_entry(row: sqlite3.Row) -> AllowEntry:
        return AllowEntry(
            id=row["id"],
            scope=row["scope"],
            experiment_id=row["experiment_id"],
            conditions=json.loads(row["conditions"]),
            match=row["match_kind"],
            reason=row["reason"],
            author=row["author"],
            created_at=row["created_at"],
            enabled=bool(row["enabled"]),
            updated_at=row["updated_at"],
        )

    def _allow_row(self, conn: sqlite3.Connection, entry_id: str) -> sqlite3.Row:
        row = conn.execute(
            "SELECT * FROM allow_entries WHERE id = ?", (entry_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(
                f"no allow-list entry with id {entry_id!r} in {self.path}"
            )
        return row

    @staticmethod
    def _checked_entry(entry: AllowEntry) -> AllowEntry:
        scope, experiment_id = _check_scope(entry.scope, entry.experiment_id)
        return AllowEntry(
            id=entry.id,
            scope=scope,
            experiment_id=experiment_id,
            conditions=check_conditions(entry.conditions),
            match=_check_choice(entry.match, "match", ALLOW_MATCHES),
            reason=_check_string(entry.reason, "reason"),
            author=_check_string(entry.author, "author"),
            created_at=entry.created_at,
            enabled=_check_bool(entry.enabled, "enabled"),
            updated_at=entry.updated_at,
        )

    def _insert_allow_entry(
        self, conn: sqlite3.Connection, entry: AllowEntry
    ) -> AllowEntry:
        from procanom.store.experiment_store import new_id, utc_now

        if entry.experiment_id is not None:
            self._experiment_row(conn, entry.experiment_id)
        now = utc_now()
        saved = AllowEntry(
            id=new_id(),
            scope=entry.scope,
            experiment_id=entry.experiment_id,
            conditions=entry.conditions,
            match=entry.match,
            reason=entry.reason,
            author=entry.author,
            created_at=entry.created_at or now,
            enabled=entry.enabled,
            updated_at=now,
        )
        conn.execute(
            "INSERT INTO allow_entries (id, scope, experiment_id, conditions, "
            "match_kind, reason, author, created_at, updated_at, enabled) "
            "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
            (
                saved.id,
                saved.scope,
                saved.experiment_id,
                json.dumps(saved.conditions, ensure_ascii=False),
                saved.match,
                saved.reason,
                saved.author,
                saved.created_at,
                saved.updated_at,
                int(saved.enabled),
            ),
        )
        return saved

    def add_allow_entry(
        self,
        conditions: Mapping[str, str],
        *,
        scope: str = "experiment",
        experiment_id: str | None = None,
        match: str = "literal",
        reason: str = "",
        author: str = "",
        enabled: bool = True,
    ) -> AllowEntry:
        """Save an allow-list entry.

        Parameters
        ----------
        conditions : mapping of str to str
            Field name to value (or glob pattern, with ``match="pattern"``).
        scope : {"experiment", "global"}, default "experiment"
        experiment_id : str, optional
            Required for ``scope="experiment"``; None for global entries.
        match : {"literal", "pattern"}, default "literal"
        reason, author : str
        enabled : bool, default True

        Returns
        -------
        AllowEntry
            As stored, with its id and creation time.

        Raises
        ------
        ParameterError
            If the conditions are empty or a value is not allowed.
        NotFoundError
            If the experiment does not exist.
        """
        return self.add_allow_entries(
            [
                AllowEntry(
                    id=None,
                    scope=scope,
                    experiment_id=experiment_id,
                    # Checked, with a message, by add_allow_entries.
                    conditions=conditions,  # type: ignore[arg-type]
                    match=match,
                    reason=reason,
                    author=author,
                    enabled=enabled,
                )
            ]
        )[0]

    def add_allow_entries(self, entries: Sequence[AllowEntry]) -> list[AllowEntry]:
        """Save several entries in one transaction (all or none).

        Ids are always new; a ``created_at`` already set is kept (imports
        keep when an entry was first written).

        Raises
        ------
        ParameterError
            Naming the entry (counting from 1) and what is wrong with it.
        NotFoundError
            If an entry's experiment does not exist.
        """
        checked = []
        for number, entry in enumerate(entries, start=1):
            try:
                checked.append(self._checked_entry(entry))
            except ParameterError as exc:
                if len(entries) == 1:
                    raise
                raise ParameterError(
                    f"entry {number} {exc.name}", exc.allowed, exc.got
                ) from exc

        with self._write("save allow-list entries") as conn:
            saved = [self._insert_allow_entry(conn, entry) for entry in checked]
        logger.info("saved %d allow-list entries", len(saved))
        return saved

    def get_allow_entry(self, entry_id: str) -> AllowEntry:
        """Return one allow-list entry.

        Raises
        ------
        NotFoundError
            If no entry has this id.
        """
        with self._read("read the allow-list entry") as conn:
            return self._allow_entry(self._allow_row(conn, entry_id))

    def list_allow_entries(
        self,
        experiment_id: str | None = None,
        include_global: bool = True,
        enabled_only: bool = False,
    ) -> list[AllowEntry]:
        """Return allow-list entries, oldest first.

        Parameters
        ----------
        experiment_id : str, optional
            Only this experiment's entries (plus global ones, see below).
            None: the entries of every experiment.
        include_global : bool, default True
            Include the entries that apply to every experiment.
        enabled_only : bool, default False
            Leave out disabled entries.
        """
        clauses = []
        params: list[Any] = []
        scoped = "scope = 'experiment'"
        if experiment_id is not None:
            scoped += " AND experiment_id = ?"
            params.append(experiment_id)
        clauses.append(f"({scoped})")
        if include_global:
            clauses.append("scope = 'global'")
        query = "SELECT * FROM allow_entries WHERE (" + " OR ".join(clauses) + ")"
        if enabled_only:
            query += " AND enabled = 1"
        query += " ORDER BY created_at, rowid"

        with self._read("list allow-list entries") as conn:
            rows = conn.execute(query, params).fetchall()
        return [self._allow_entry(row) for row in rows]

    def update_allow_entry(
        self,
        entry_id: str,
        *,
        conditions: Mapping[str, str] | None = None,
        match: str | None = None,
        reason: str | None = None,
        enabled: bool | None = None,
        scope: str | None = None,
        experiment_id: str | None = None,
    ) -> AllowEntry:
        """Change an entry; arguments left as None keep their stored value.

        ``experiment_id`` is read only with ``scope``: ``scope="experiment"``
        needs it, ``scope="global"`` must leave it None.

        Raises
        ------
        NotFoundError
            If no entry, or no experiment, has this id.
        ParameterError
            If a new value is not allowed.
        """
        from procanom.store.experiment_store import utc_now

        changes: dict[str, Any] = {}
        if scope is not None:
            changes["scope"], changes["experiment_id"] = _check_scope(
                scope, experiment_id
            )
        elif experiment_id is not None:
            raise ParameterError(
                "scope", "'experiment' when an experiment_id is given", scope
            )
        if conditions is not None:
            changes["conditions"] = json.dumps(
                check_conditions(conditions), ensure_ascii=False
            )
        if match is not None:
            changes["match_kind"] = _check_choice(match, "match", ALLOW_MATCHES)
        if reason is not None:
            changes["reason"] = _check_string(reason, "reason")
        if enabled is not None:
            changes["enabled"] = int(_check_bool(enabled, "enabled"))
        changes["updated_at"] = utc_now()

        # Column names come from the fixed keys above, never from the caller.
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._write("save the allow-list entry") as conn:
            self._allow_row(conn, entry_id)
            if changes.get("experiment_id") is not None:
                self._experiment_row(conn, changes["experiment_id"])
            conn.execute(
                f"UPDATE allow_entries SET {assignments} WHERE id = ?",
                (*changes.values(), entry_id),
            )
            entry = self._allow_entry(self._allow_row(conn, entry_id))
        logger.info("updated allow-list entry %s", entry_id)
        return entry

    def disable_allow_entry(self, entry_id: str) -> AllowEntry:
        """Keep an entry but stop it suppressing anything."""
        return self.update_allow_entry(entry_id, enabled=False)

    def delete_allow_entry(self, entry_id: str) -> None:
        """Delete an allow-list entry.

        Raises
        ------
        NotFoundError
            If no entry has this id.
        """
        with self._write("delete the allow-list entry") as conn:
            self._allow_row(conn, entry_id)
            conn.execute("DELETE FROM allow_entries WHERE id = ?", (entry_id,))
        logger.info("deleted allow-list entry %s", entry_id)

    def allow_entry_uses(self) -> dict[str, AllowEntryUse]:
        """Return what each entry suppressed in the saved runs that recorded it.

        Runs record it in ``summary["allowlist"]["by_entry"]`` (``procanom
        run`` does); entries no such run checked are left out.
        """
        query = (
            "SELECT entry.key AS entry_id, SUM(entry.value) AS outliers,"
            " COUNT(*) AS runs_checked, SUM(entry.value > 0) AS runs_matched,"
            " MAX(CASE WHEN entry.value > 0 THEN runs.started_at END) AS last"
            " FROM runs, json_each(runs.summary, '$.allowlist.by_entry') AS entry"
            " GROUP BY entry.key"
        )
        with self._read("count allow-list matches") as conn:
            rows = conn.execute(query).fetchall()
        return {
            row["entry_id"]: AllowEntryUse(
                outliers=int(row["outliers"] or 0),
                runs_checked=int(row["runs_checked"]),
                runs_matched=int(row["runs_matched"] or 0),
                last_matched_at=row["last"],
            )
            for row in rows
        }

    # -- run outlier keys -------------------------------------------------------

    def _run_row(self, conn: sqlite3.Connection, run_id: str) -> sqlite3.Row:
        row = conn.execute("SELECT * FROM runs WHERE id = ?", (run_id,)).fetchone()
        if row is None:
            raise NotFoundError(f"no run with id {run_id!r} in {self.path}")
        return row

    def save_run_outliers(
        self,
        run_id: str,
        frame: pd.DataFrame,
        fields: Sequence[str] | None = None,
        limit: int = MAX_RUN_OUTLIER_KEYS,
    ) -> OutlierKeySet:
        """Keep a run's outlier keys, so later runs can be compared with it.

        Saving again for the same run replaces what was kept.

        Parameters
        ----------
        run_id : str
            A saved run.
        frame : pandas.DataFrame
            The run's events with ``isOutlier`` (only flagged rows are kept),
            or its outlier rows only, or keys from
            :func:`procanom.compare.outlier_keys`.
        fields : sequence of str, optional
            The experiment's fields; default: those in the run's settings.
            ``host`` is added when the frame has it.
        limit : int, default 100,000
            Most keys kept; the most anomalous are kept when there are more,
            and a warning says how many were left out.

        Returns
        -------
        OutlierKeySet

        Raises
        ------
        NotFoundError
            If the run does not exist.
        ParameterError
            If a field is not a column of ``frame``.
        """
        from procanom.compare import outlier_keys

        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 0:
            raise ParameterError("limit", "a count of 0 or more", limit)
        if fields is None:
            with self._read("read the run") as conn:
                settings = json.loads(self._run_row(conn, run_id)["settings"])
            fields = list(settings.get("fields") or [])
        keys = outlier_keys(frame, fields)
        key_fields = list(keys.attrs["key_fields"])
        kept = keys.iloc[:limit]
        info = OutlierKeySet(
            run_id=run_id,
            key_fields=key_fields,
            outliers=int(keys["count"].sum()),
            distinct_keys=len(keys),
            stored_keys=len(kept),
        )
        rows = list(_key_rows(run_id, kept, key_fields))

        with self._write("save the run's outliers") as conn:
            self._run_row(conn, run_id)
            conn.execute("DELETE FROM run_outlier_sets WHERE run_id = ?", (run_id,))
            conn.execute(
                "INSERT INTO run_outlier_sets (run_id, key_fields, outliers, "
                "distinct_keys, stored_keys) VALUES (?, ?, ?, ?, ?)",
                (
                    run_id,
                    json.dumps(key_fields, ensure_ascii=False),
                    info.outliers,
                    info.distinct_keys,
                    info.stored_keys,
                ),
            )
            conn.executemany(
                "INSERT INTO run_outliers (run_id, position, key_values, count, "
                "score) VALUES (?, ?, ?, ?, ?)",
                rows,
            )
        if info.truncated:
            logger.warning(
                "run %s has %d distinct outlier keys; kept the %d most anomalous, "
                "so comparisons with this run may call the rest new",
                run_id,
                info.distinct_keys,
                info.stored_keys,
            )
        else:
            logger.debug("kept %d outlier keys of run %s", info.stored_keys, run_id)
        return info

    def run_outlier_set(self, run_id: str) -> OutlierKeySet | None:
        """Return what was kept of a run's outliers, or None if nothing was."""
        with self._read("read the run's outliers") as conn:
            row = conn.execute(
                "SELECT * FROM run_outlier_sets WHERE run_id = ?", (run_id,)
            ).fetchone()
        if row is None:
            return None
        return OutlierKeySet(
            run_id=run_id,
            key_fields=json.loads(row["key_fields"]),
            outliers=row["outliers"],
            distinct_keys=row["distinct_keys"],
            stored_keys=row["stored_keys"],
        )

    def run_outliers(self, run_id: str) -> pd.DataFrame:
        """Return a run's outlier keys: key columns, ``count``, ``anomaly_score``.

        Most anomalous first. ``frame.attrs`` holds ``key_fields``,
        ``outliers``, ``distinct_keys``, ``stored_keys`` and ``truncated``.

        Raises
        ------
        NotFoundError
            If the run does not exist or its outliers were not kept (runs
            saved before this was recorded, or by the app without keys).
        """
        import pandas as pd

        with self._read("read the run's outliers") as conn:
            self._run_row(conn, run_id)
            info = conn.execute(
                "SELECT * FROM run_outlier_sets WHERE run_id = ?", (run_id,)
            ).fetchone()
            if info is None:
                raise NotFoundError(
                    f"run {run_id!r} has no stored outliers to compare with"
                )
            rows = conn.execute(
                "SELECT key_values, count, score FROM run_outliers "
                "WHERE run_id = ? ORDER BY position",
                (run_id,),
            ).fetchall()
        key_fields = json.loads(info["key_fields"])
        values = [json.loads(row["key_values"]) for row in rows]
        frame = pd.DataFrame(values, columns=key_fields, dtype="string")
        frame["count"] = pd.array([row["count"] for row in rows], dtype="int64")
        frame["anomaly_score"] = pd.array(
            [math.nan if row["score"] is None else row["score"] for row in rows],
            dtype="float64",
        )
        info_record = OutlierKeySet(
            run_id=run_id,
            key_fields=key_fields,
            outliers=info["outliers"],
            distinct_keys=info["distinct_keys"],
            stored_keys=info["stored_keys"],
        )
        frame.attrs.update(info_record.as_attrs())
        return frame

    # -- alert rules --------------------------------------------------------------

    @staticmethod
    def _alert_rule(row: sqlite3.Row) -> AlertRule:
        causes = row["only_causes"]
        return AlertRule(
            id=row["id"],
            experiment_id=row["experiment_id"],
            threshold=row["threshold"],
            only_causes=None if causes is None else json.loads(causes),
            only_new=bool(row["only_new"]),
            destinations=json.loads(row["destinations"]),
            enabled=bool(row["enabled"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def _allowed_destinations(
        self, destinations: Sequence[Mapping[str, str]]
    ) -> list[dict[str, str]]:
        """Check destinations, refusing files outside the allowed alert folders.

        Delivery checks the files again: the allowed folders can change
        after a rule is saved.
        """
        # procanom.alerts imports this module, so it is imported here.
        from procanom.alerts import resolve_alert_file

        checked = check_destinations(list(destinations))
        for destination in checked:
            if destination["type"] == "file":
                resolve_alert_file(destination["path"], self.data_dir)
        return checked

    def _rule_row(self, conn: sqlite3.Connection, rule_id: str) -> sqlite3.Row:
        row = conn.execute(
            "SELECT * FROM alert_rules WHERE id = ?", (rule_id,)
        ).fetchone()
        if row is None:
            raise NotFoundError(f"no alert rule with id {rule_id!r} in {self.path}")
        return row

    def add_alert_rule(
        self,
        experiment_id: str,
        *,
        threshold: int = 0,
        only_causes: Sequence[str] | None = None,
        only_new: bool = False,
        destinations: Sequence[Mapping[str, str]] = (),
        enabled: bool = True,
    ) -> AlertRule:
        """Save an alert rule for an experiment.

        Parameters are those of :class:`AlertRule`.

        Raises
        ------
        ParameterError
            If a value is not allowed: a webhook URL that is not http(s), a
            file outside the allowed alert folders (a relative name is kept
            in ``<data folder>/alerts``, an absolute path must lie in a
            folder of ``$PROCANOM_ALERT_DIRS``), a negative threshold...
        NotFoundError
            If the experiment does not exist.
        """
        from procanom.store.experiment_store import new_id, utc_now

        now = utc_now()
        rule = AlertRule(
            id=new_id(),
            experiment_id=experiment_id,
            threshold=_check_threshold(threshold),
            only_causes=_check_causes(only_causes),
            only_new=_check_bool(only_new, "only_new"),
            destinations=self._allowed_destinations(destinations),
            enabled=_check_bool(enabled, "enabled"),
            created_at=now,
            updated_at=now,
        )
        with self._write("save the alert rule") as conn:
            self._experiment_row(conn, experiment_id)
            conn.execute(
                "INSERT INTO alert_rules (id, experiment_id, threshold, only_causes, "
                "only_new, destinations, enabled, created_at, updated_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    rule.id,
                    rule.experiment_id,
                    rule.threshold,
                    None if rule.only_causes is None else json.dumps(rule.only_causes),
                    int(rule.only_new),
                    json.dumps(rule.destinations),
                    int(rule.enabled),
                    rule.created_at,
                    rule.updated_at,
                ),
            )
        logger.info("saved alert rule %s of experiment %s", rule.id, experiment_id)
        return rule

    def get_alert_rule(self, rule_id: str) -> AlertRule:
        """Return one alert rule.

        Raises
        ------
        NotFoundError
            If no rule has this id.
        """
        with self._read("read the alert rule") as conn:
            return self._alert_rule(self._rule_row(conn, rule_id))

    def list_alert_rules(
        self, experiment_id: str, enabled_only: bool = False
    ) -> list[AlertRule]:
        """Return an experiment's alert rules, oldest first.

        Raises
        ------
        NotFoundError
            If the experiment does not exist.
        """
        query = "SELECT * FROM alert_rules WHERE experiment_id = ?"
        if enabled_only:
            query += " AND enabled = 1"
        with self._read("list alert rules") as conn:
            self._experiment_row(conn, experiment_id)
            rows = conn.execute(
                query + " ORDER BY created_at, rowid", (experiment_id,)
            ).fetchall()
        return [self._alert_rule(row) for row in rows]

    def update_alert_rule(
        self,
        rule_id: str,
        *,
        threshold: int | None = None,
        only_causes: Sequence[str] | object | None = _UNSET,
        only_new: bool | None = None,
        destinations: Sequence[Mapping[str, str]] | None = None,
        enabled: bool | None = None,
    ) -> AlertRule:
        """Change a rule; arguments left out keep their stored value.

        ``only_causes=None`` clears the cause filter (count every cause).

        Raises
        ------
        NotFoundError
            If no rule has this id.
        ParameterError
            If a new value is not allowed, as for :meth:`add_alert_rule`.
        """
        from procanom.store.experiment_store import utc_now

        changes: dict[str, Any] = {}
        if threshold is not None:
            changes["threshold"] = _check_threshold(threshold)
        if only_causes is not _UNSET:
            causes = _check_causes(only_causes)
            changes["only_causes"] = None if causes is None else json.dumps(causes)
        if only_new is not None:
            changes["only_new"] = int(_check_bool(only_new, "only_new"))
        if destinations is not None:
            changes["destinations"] = json.dumps(
                self._allowed_destinations(destinations)
            )
        if enabled is not None:
            changes["enabled"] = int(_check_bool(enabled, "enabled"))
        changes["updated_at"] = utc_now()

        # Column names come from the fixed keys above, never from the caller.
        assignments = ", ".join(f"{column} = ?" for column in changes)
        with self._write("save the alert rule") as conn:
            self._rule_row(conn, rule_id)
            conn.execute(
                f"UPDATE alert_rules SET {assignments} WHERE id = ?",
                (*changes.values(), rule_id),
            )
            rule = self._alert_rule(self._rule_row(conn, rule_id))
        logger.info("updated alert rule %s", rule_id)
        return rule

    def delete_alert_rule(self, rule_id: str) -> None:
        """Delete an alert rule; its past deliveries stay recorded.

        Raises
        ------
        NotFoundError
            If no rule has this id.
        """
        with self._write("delete the alert rule") as conn:
            self._rule_row(conn, rule_id)
            conn.execute("DELETE FROM alert_rules WHERE id = ?", (rule_id,))
        logger.info("deleted alert rule %s", rule_id)

    # -- deliveries ---------------------------------------------------------------

    @staticmethod
    def _delivery(row: sqlite3.Row) -> DeliveryRecord:
        return DeliveryRecord(
            id=row["id"],
            run_id=row["run_id"],
            rule_id=row["rule_id"],
            idempotency_key=row["idempotency_key"],
            destination=row["destination"],
            status=row["status"],
            attempts=row["attempts"],
            http_status=row["http_status"],
            error=row["error"],
            log=json.loads(row["log"]),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )

    def claim_delivery(
        self,
        run_id: str,
        rule_id: str,
        idempotency_key: str,
        destination: Mapping[str, str],
        stale_after_s: float = STALE_SENDING_S,
    ) -> tuple[DeliveryRecord, bool]:
        """Take the right to send one alert to one destination.

        Parameters
        ----------
        run_id, rule_id : str
        idempotency_key : str
            The same for every try of this run and rule.
        destination : mapping
            As in :attr:`AlertRule.destinations`.
        stale_after_s : float
            A claim left ``sending`` this long is taken over (its process is
            presumed dead).

        Returns
        -------
        (DeliveryRecord, bool)
            The record, and whether the caller may send now. False when the
            alert was already delivered or another sender holds a fresh claim.

        Raises
        ------
        NotFoundError
            If the run does not exist.
        """
        from procanom.store.experiment_store import new_id, utc_now

        key = destination_key(destination)
        now = utc_now()
        with self._write("record the delivery") as conn:
            self._run_row(conn, run_id)
            row = conn.execute(
                "SELECT * FROM deliveries WHERE idempotency_key = ? "
                "AND destination_key = ?",
                (idempotency_key, key),
            ).fetchone()
            if row is None:
                delivery_id = new_id()
                conn.execute(
                    "INSERT INTO deliveries (id, idempotency_key, destination_key, "
                    "run_id, rule_id, destination, status, created_at, updated_at) "
                    "VALUES (?, ?, ?, ?, ?, ?, 'sending', ?, ?)",
                    (
                        delivery_id,
                        idempotency_key,
                        key,
                        run_id,
                        rule_id,
                        destination_label(destination),
                        now,
                        now,
                    ),
                )
                claimed = True
            else:
                delivery_id = row["id"]
                claimed = row["status"] == "failed" or (
                    row["status"] == "sending"
                    and _age_s(row["updated_at"], now) > stale_after_s
                )
                if claimed:
                    conn.execute(
                        "UPDATE deliveries SET status = 'sending', updated_at = ? "
                        "WHERE id = ?",
                        (now, delivery_id),
                    )
            record = self._delivery(
                conn.execute(
                    "SELECT * FROM deliveries WHERE id = ?", (delivery_id,)
                ).fetchone()
            )
        return record, claimed

    def finish_delivery(
        self,
        delivery_id: str,
        *,
        status: str,
        attempts: int,
        http_status: int | None = None,
        error: str | None = None,
        log: Sequence[Mapping[str, Any]] = (),
    ) -> DeliveryRecord:
        """Record how a claimed delivery ended.

        Parameters
        ----------
        delivery_id : str
        status : {"delivered", "failed"}
        attempts : int
            Tries made by this call; added to the record's total.
        http_status : int, optional
        error : str, optional
            Why it failed; cleared when delivered.
        log : sequence of dict
            This call's tries, appended to the record's log.
        """
        from procanom.store.experiment_store import utc_now

        _check_choice(status, "status", ("delivered", "failed"))
        with self._write("record the delivery") as conn:
            row = conn.execute(
                "SELECT log FROM deliveries WHERE id = ?", (delivery_id,)
            ).fetchone()
            if row is None:
                raise NotFoundError(f"no delivery with id {delivery_id!r}")
            full_log = json.loads(row["log"]) + [dict(item) for item in log]
            conn.execute(
                "UPDATE deliveries SET status = ?, attempts = attempts + ?, "
                "http_status = ?, error = ?, log = ?, updated_at = ? WHERE id = ?",
                (
                    status,
                    int(attempts),
                    http_status,
                    None if status == "delivered" else error,
                    json.dumps(full_log, ensure_ascii=False),
                    utc_now(),
                    delivery_id,
                ),
            )
            return self._delivery(
                conn.execute(
                    "SELECT * FROM deliveries WHERE id = ?", (delivery_id,)
                ).fetchone()
            )

    def list_deliveries(
        self, run_id: str | None = None, rule_id: str | None = None
    ) -> list[DeliveryRecord]:
        """Return deliveries, newest first, of one run and/or one rule."""
        clauses, params = [], []
        if run_id is not None:
            clauses.append("run_id = ?")
            params.append(run_id)
        if rule_id is not None:
            clauses.append("rule_id = ?")
            params.append(rule_id)
        where = (" WHERE " + " AND ".join(clauses)) if clauses else ""
        with self._read("list deliveries") as conn:
            rows = conn.execute(
                f"SELECT * FROM deliveries{where} ORDER BY created_at DESC, rowid DESC",
                params,
            ).fetchall()
        return [self._delivery(row) for row in rows]


def _age_s(then: str, now: str) -> float:
    try:
        delta: timedelta = datetime.fromisoformat(now) - datetime.fromisoformat(then)
    except ValueError:
        return math.inf
    return delta.total_seconds()


def _key_rows(
    run_id: str, keys: pd.DataFrame, key_fields: Sequence[str]
) -> Iterator[tuple[Any, ...]]:
    values = keys[list(key_fields)].astype(object)
    counts = keys["count"].to_numpy()
    scores = keys["anomaly_score"].to_numpy(dtype=float, na_value=math.nan)
    for position, row in enumerate(values.itertuples(index=False, name=None)):
        plain = [None if _missing(v) else str(v) for v in row]
        score = float(scores[position])
        yield (
            run_id,
            position,
            json.dumps(plain, ensure_ascii=False),
            int(counts[position]),
            score if math.isfinite(score) else None,
        )


def _missing(value: object) -> bool:
    import pandas as pd

    return (
        value is None
        or value is pd.NA
        or (isinstance(value, float) and math.isnan(value))
    )
