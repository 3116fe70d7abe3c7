"""Alert rules: tell someone when a run finds too many outliers.

A rule (:class:`AlertRule`, kept in the store per experiment) counts a run's
outliers, optionally only those with given probable causes and only those
new since the previous run, and fires when the count **exceeds** its
threshold. :func:`evaluate` decides; :func:`deliver` sends.

Delivery
--------
``webhook``
    One JSON POST (:func:`alert_payload`): the experiment, run id and time,
    count, threshold, the top outliers with their fields, probable cause and
    score, and a ``text`` field that Slack and Microsoft Teams incoming
    webhooks display as the message. Tries up to ``attempts`` times with
    short timeouts and doubling pauses, within ``max_seconds`` overall;
    retries only what may pass on a second try (no connection, timeouts,
    HTTP 408, 425, 429 and 5xx). Redirects are not followed: a webhook that
    moved should be given its new URL.
``file``
    One JSON line appended. A file is written only inside an allowed folder
    (:func:`resolve_alert_file`): a relative name is kept in the data
    folder's ``alerts`` folder, and an absolute path must lie in one of the
    folders an admin lists in ``$PROCANOM_ALERT_DIRS`` (separated like
    ``PATH``). ``..`` is refused, and a path is checked after symbolic links
    are followed, so a link cannot lead out either. A rule saved with another
    path is not delivered: its delivery is recorded as failed with the reason.

Each alert carries an ``Idempotency-Key`` header (``procanom-<run>-<rule>``)
and is claimed in the store's deliveries table before it is sent, so a run
and rule are delivered at most once per destination: delivering again does
nothing once a delivery succeeded, and retries only the failed ones. A
failure is recorded with its error; the run stays recorded either way.

Event values are attacker-controlled (a command line can say anything), so
in ``text`` each one is shown in a code span with ``&``, ``<`` and ``>``
escaped as Slack documents (``<!channel>``, ``<@U123>`` and
``<http://x|y>`` cannot form), backticks replaced by a look-alike so the
span cannot be closed, ``@`` followed by a zero-width space so no mention
forms, and control characters removed. Everything else is JSON, with
``<``, ``>`` and ``&`` written as ``\\u`` escapes. Teams may show the
escaped entities literally inside code spans; the text stays inert.
"""

from __future__ import annotations

import http.client
import json
import logging
import os
import time
import urllib.error
import urllib.request
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pandas as pd

import procanom
from procanom.compare import key_columns, new_rows
from procanom.errors import ParameterError, ProcanomError
from procanom.export import _json_value, reveal_hidden, to_terminal
from procanom.scoring import DetectionResult
from procanom.store.triage import AlertRule, DeliveryRecord, destination_label

if TYPE_CHECKING:
    from procanom.store import Experiment, ExperimentStore, RunRecord

__all__ = [
    "ALERT_DIRS_ENV",
    "ALERTS_FOLDER",
    "AlertDecision",
    "AlertRule",
    "DeliveryOptions",
    "alert_dirs",
    "alert_payload",
    "alert_text",
    "deliver",
    "encode_payload",
    "escape_chat",
    "evaluate",
    "idempotency_key",
    "resolve_alert_file",
]

logger = logging.getLogger(__name__)

#: Outliers listed in an alert.
TOP_OUTLIERS = 10
#: Longest event value shown in an alert's text.
TEXT_VALUE_LIMIT = 160
_RETRY_STATUSES = frozenset({408, 425, 429, 500, 502, 503, 504})
#: Environment variable listing the server folders, besides the data folder's
#: ``alerts`` folder, where alert rules may append (separated like PATH).
ALERT_DIRS_ENV = "PROCANOM_ALERT_DIRS"
#: Folder of the data folder that holds the files named by a relative path.
ALERTS_FOLDER = "alerts"


# -- deciding ----------------------------------------------------------------------


@dataclass
class AlertDecision:
    """Whether a rule fired on a run, and why.

    Attributes
    ----------
    rule_id : str or None
    fired : bool
    count : int
        Outliers the rule counted.
    threshold : int
        The rule fires when ``count`` exceeds it.
    reason : str
        The decision in a sentence.
    outliers : pandas.DataFrame
        The counted outlier rows, most anomalous first.
    """

    rule_id: str | None
    fired: bool
    count: int
    threshold: int
    reason: str
    outliers: pd.DataFrame = field(repr=False, default_factory=pd.DataFrame)


def _what(rule: AlertRule, previous_known: bool) -> str:
    parts = ["outliers"]
    if rule.only_new:
        parts.insert(0, "new")
    if rule.only_causes:
        parts.append("with probable cause " + " or ".join(rule.only_causes))
    text = " ".join(parts)
    if rule.only_new and not previous_known:
        text += " (no earlier run's outliers to compare with: all count as new)"
    return text


def evaluate(
    rule: AlertRule,
    result: DetectionResult,
    previous_outliers: pd.DataFrame | None = None,
) -> AlertDecision:
    """Decide whether ``rule`` fires on ``result``.

    Parameters
    ----------
    rule : AlertRule
    result : DetectionResult
        The run's result, allow-list already applied (suppressed events are
        not outliers and are not counted).
    previous_outliers : pandas.DataFrame, optional
        The previous run's outliers (its stored keys, or rows), for
        ``only_new``; None means there is none, so every outlier is new.

    Returns
    -------
    AlertDecision
    """
    outliers = result.outliers()
    if rule.only_causes:
        causes = outliers["probable_cause"].astype("string").fillna("")
        outliers = outliers[causes.isin(rule.only_causes).to_numpy()]
    if rule.only_new:
        outliers = outliers[new_rows(outliers, previous_outliers, result.fields)]
    outliers = outliers.sort_values("anomaly_score", ascending=False, kind="stable")

    count = len(outliers)
    what = _what(rule, previous_outliers is not None)
    if not rule.enabled:
        fired, reason = False, f"rule is disabled ({count:,} {what})"
    elif count > rule.threshold:
        fired, reason = True, f"{count:,} {what}, more than {rule.threshold:,}"
    else:
        fired, reason = False, f"{count:,} {what}, not more than {rule.threshold:,}"
    logger.info("alert rule %s: %s", rule.id, reason)
    return AlertDecision(rule.id, fired, count, rule.threshold, reason, outliers)


# -- what is sent ------------------------------------------------------------------


def idempotency_key(run_id: str, rule_id: str) -> str:
    """Return the key that identifies one run's alert for one rule."""
    return f"procanom-{run_id}-{rule_id}"


def escape_chat(value: object, limit: int = TEXT_VALUE_LIMIT) -> str:
    """Return a value as an inert code span for a Slack or Teams message.

    Examples
    --------
    >>> escape_chat("<!channel> *now*")
    '`&lt;!channel&gt; *now*`'
    >>> escape_chat("")
    '(empty)'
    """
    text = to_terminal(value)
    if len(text) > limit:
        text = text[: limit - 1] + "…"
    if not text:
        return "(empty)"
    text = text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")
    # A backtick would close the span; "@here" must not become a mention.
    text = text.replace("`", "ˋ").replace("@", "@\u200b")
    return f"`{text}`"


def _outlier_items(
    outliers: pd.DataFrame, fields: Sequence[str], top: int
) -> list[dict[str, Any]]:
    columns = key_columns(list(outliers.columns), fields)
    items = []
    for _, row in outliers.head(top).iterrows():
        item: dict[str, Any] = {
            "fields": {name: _json_value(row.get(name)) for name in columns},
            "probable_cause": _json_value(row.get("probable_cause")),
            "anomaly_score": _json_value(row.get("anomaly_score")),
        }
        if "_time" in row.index:
            item["time"] = _json_value(row["_time"])
        items.append(item)
    return items


def alert_text(
    decision: AlertDecision,
    experiment: Experiment,
    run: RunRecord,
    items: Sequence[Mapping[str, Any]],
) -> str:
    """Return the message chat webhooks display (Slack mrkdwn, Teams markdown)."""
    lines = [
        f"procanom alert: {decision.count:,} outliers in experiment"
        f" {escape_chat(experiment.title)} (more than {decision.threshold:,})",
        f"Run {escape_chat(run.id)} at {escape_chat(run.started_at)}:"
        f" {escape_chat(decision.reason, limit=300)}",
    ]
    for item in items:
        values = ", ".join(
            f"{escape_chat(name, limit=60)}={escape_chat(value)}"
            for name, value in item["fields"].items()
        )
        score = item["anomaly_score"]
        score_text = f"{score:.2f}" if isinstance(score, float) else "n/a"
        lines.append(
            f"• score {score_text}, cause {escape_chat(item['probable_cause'])}:"
            f" {values}"
        )
    if decision.count > len(items):
        lines.append(f"… and {decision.count - len(items):,} more")
    return "\n".join(lines)


def alert_payload(
    decision: AlertDecision,
    rule: AlertRule,
    experiment: Experiment,
    run: RunRecord,
    fields: Sequence[str],
    top: int = TOP_OUTLIERS,
) -> dict[str, Any]:
    """Return the alert as JSON-able data, with the chat ``text``.

    Parameters
    ----------
    decision : AlertDecision
    rule : AlertRule
    experiment : Experiment
    run : RunRecord
        The saved run (with its id).
    fields : sequence of str
        The experiment's fields, listed for each outlier (with ``host``).
    top : int
        Outliers listed, most anomalous first.
    """
    items = _outlier_items(decision.outliers, fields, top)
    return {
        "text": alert_text(decision, experiment, run, items),
        "source": "procanom",
        "procanom_version": procanom.__version__,
        "idempotency_key": idempotency_key(str(run.id), str(rule.id)),
        "experiment": {"id": experiment.id, "title": experiment.title},
        "run_id": run.id,
        "time": run.started_at,
        "rule_id": rule.id,
        "count": decision.count,
        "threshold": decision.threshold,
        "reason": decision.reason,
        "only_new": rule.only_new,
        "only_causes": rule.only_causes,
        "outliers": items,
    }


def encode_payload(payload: Mapping[str, Any]) -> bytes:
    """Return the payload as UTF-8 JSON with ``<``, ``>`` and ``&`` escaped.

    The escapes read back as the same characters; they keep a body that is
    logged or pasted into a web page from being read as markup.
    """
    text = json.dumps(payload, ensure_ascii=False, allow_nan=False, default=str)
    text = text.replace("<", "\\u003c").replace(">", "\\u003e").replace("&", "\\u0026")
    return text.encode("utf-8")


# -- where files go ----------------------------------------------------------------


def alert_dirs(
    data_dir: str | Path, environ: Mapping[str, str] | None = None
) -> list[Path]:
    """Return the folders alert rules may append to, the data folder's first.

    Parameters
    ----------
    data_dir : str or Path
        The app's data folder; relative names are kept in its ``alerts``
        folder.
    environ : mapping, optional
        Where ``PROCANOM_ALERT_DIRS`` is read; default: the process's
        environment.

    Returns
    -------
    list of Path
        ``<data_dir>/alerts``, then the folders of ``PROCANOM_ALERT_DIRS``,
        with symbolic links followed and repeats left out.
    """
    environ = os.environ if environ is None else environ
    listed = environ.get(ALERT_DIRS_ENV, "").split(os.pathsep)
    folders = [(Path(data_dir).expanduser() / ALERTS_FOLDER).resolve()]
    for entry in listed:
        if entry.strip():
            folder = Path(entry.strip()).expanduser().resolve()
            if folder not in folders:
                folders.append(folder)
    return folders


def _allowed_folders(folders: Sequence[Path]) -> str:
    text = f"a name or path inside {folders[0]} (where a relative name is kept)"
    if len(folders) > 1:
        listed = ", ".join(str(folder) for folder in folders[1:])
        return f"{text} or inside {listed} (from {ALERT_DIRS_ENV})"
    return f"{text}; an admin can allow other folders with {ALERT_DIRS_ENV}"


def resolve_alert_file(
    path: str, data_dir: str | Path, environ: Mapping[str, str] | None = None
) -> Path:
    """Return the file a ``file`` destination appends to, if it is allowed.

    Parameters
    ----------
    path : str
        The destination's path as saved: a relative name (kept in
        ``<data_dir>/alerts``) or an absolute path.
    data_dir : str or Path
        The app's data folder.
    environ : mapping, optional
        Where ``PROCANOM_ALERT_DIRS`` is read; default: the process's
        environment.

    Returns
    -------
    Path
        The file, with symbolic links followed.

    Raises
    ------
    ParameterError
        If the path holds ``..``, or leads (through links too) outside the
        allowed folders (:func:`alert_dirs`); the message names the path and
        the folders.
    """
    folders = alert_dirs(data_dir, environ)
    text = path.strip() if isinstance(path, str) else ""
    if not text:
        raise ParameterError("alert file", "a file name", path)
    if reveal_hidden(text) != text or any(c in "\t\n\r" for c in text):
        # A right-to-left override or a control character would show the
        # file under another name than the one written to.
        raise ParameterError(
            "alert file",
            "a path without invisible or control characters",
            to_terminal(text),
        )
    given = Path(text).expanduser()
    if ".." in given.parts:
        raise ParameterError(
            "alert file", _allowed_folders(folders) + ", without '..'", text
        )

    # Resolved first, so a link anywhere on the way is judged by its target.
    placed = given if given.is_absolute() else folders[0] / given
    target = placed.resolve()
    if any(target != folder and target.is_relative_to(folder) for folder in folders):
        return target
    allowed = _allowed_folders(folders)
    if target != Path(os.path.abspath(placed)):
        allowed += f"; it leads to {target}"
    raise ParameterError("alert file", allowed, text)


# -- sending -------------------------------------------------------------------------


@dataclass(frozen=True)
class DeliveryOptions:
    """How hard to try a delivery.

    Attributes
    ----------
    attempts : int
        Most tries per webhook.
    timeout_s : float
        Seconds to wait for one try's answer.
    backoff_s : float
        Pause before the second try; it doubles before each later one.
    max_seconds : float
        Most seconds spent on one destination, pauses included.
    """

    attempts: int = 3
    timeout_s: float = 5.0
    backoff_s: float = 0.5
    max_seconds: float = 20.0


@dataclass
class _Outcome:
    delivered: bool
    attempts: int
    http_status: int | None = None
    error: str | None = None
    log: list[dict[str, Any]] = field(default_factory=list)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    # urllib would turn a redirected POST into a GET without the alert.
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None


def _now() -> str:
    from procanom.store.experiment_store import utc_now

    return utc_now()


def _post(url: str, body: bytes, key: str, options: DeliveryOptions) -> _Outcome:
    opener = urllib.request.build_opener(_NoRedirect)
    headers = {
        "Content-Type": "application/json; charset=utf-8",
        "Idempotency-Key": key,
        "User-Agent": f"procanom/{procanom.__version__}",
    }
    outcome = _Outcome(delivered=False, attempts=0)
    deadline = time.monotonic() + options.max_seconds

    for attempt in range(1, max(1, options.attempts) + 1):
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            outcome.error = f"{outcome.error}; gave up after {options.max_seconds:g} s"
            break
        outcome.attempts = attempt
        request = urllib.request.Request(url, data=body, headers=headers, method="POST")
        retry = True
        try:
            with opener.open(
                request, timeout=min(options.timeout_s, remaining)
            ) as answer:
                outcome.http_status = answer.status
                answer.read(4096)
            outcome.delivered, outcome.error = True, None
            outcome.log.append({"at": _now(), "outcome": f"HTTP {answer.status}"})
            return outcome
        except urllib.error.HTTPError as exc:
            outcome.http_status = exc.code
            retry = exc.code in _RETRY_STATUSES
            outcome.error = f"HTTP {exc.code} {exc.reason}"
            if 300 <= exc.code < 400:
                outcome.error += " (redirect not followed; use the webhook's new URL)"
            exc.close()
        except urllib.error.URLError as exc:
            outcome.http_status = None
            outcome.error = f"could not connect: {exc.reason}"
        except (TimeoutError, OSError, http.client.HTTPException) as exc:
            outcome.http_status = None
            outcome.error = f"no answer: {exc or type(exc).__name__}"
        outcome.log.append({"at": _now(), "outcome": outcome.error})
        logger.info("webhook try %d failed: %s", attempt, outcome.error)
        if not retry:
            break
        if attempt < options.attempts:
            pause = min(
                options.backoff_s * 2 ** (attempt - 1), deadline - time.monotonic()
            )
            if pause > 0:
                time.sleep(pause)
    return outcome


def _append(path: Path, body: bytes) -> _Outcome:
    # ``path`` was resolved and checked: a link put in its place since is not
    # followed (O_NOFOLLOW, where the system has it).
    flags = os.O_WRONLY | os.O_APPEND | os.O_CREAT | getattr(os, "O_NOFOLLOW", 0)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        handle = os.open(path, flags | getattr(os, "O_BINARY", 0), 0o666)
        try:
            # One write of the whole line, so concurrent writers do not
            # interleave (a regular file takes it whole unless the disk fills).
            line = memoryview(body + b"\n")
            while line:
                line = line[os.write(handle, line) :]
        finally:
            os.close(handle)
    except OSError as exc:
        error = f"could not append to {path}: {exc.strerror or exc}"
        return _Outcome(False, 1, error=error, log=[{"at": _now(), "outcome": error}])
    return _Outcome(True, 1, log=[{"at": _now(), "outcome": "appended"}])


def deliver(
    store: ExperimentStore,
    decision: AlertDecision,
    rule: AlertRule,
    *,
    experiment: Experiment,
    run: RunRecord,
    fields: Sequence[str] | None = None,
    options: DeliveryOptions | None = None,
) -> list[DeliveryRecord]:
    """Send a fired alert to each of the rule's destinations, at most once.

    Parameters
    ----------
    store : ExperimentStore
        Where deliveries are claimed and recorded.
    decision : AlertDecision
        Nothing is sent unless it fired.
    rule : AlertRule
    experiment : Experiment
    run : RunRecord
        The saved run.
    fields : sequence of str, optional
        The experiment's fields; default: the run's settings.
    options : DeliveryOptions, optional

    Returns
    -------
    list of DeliveryRecord
        One per destination, as recorded: ``delivered``, ``failed``, or, when
        another process holds a fresh claim, ``sending``. A destination
        delivered before is returned as it was, without sending again.
    """
    if not decision.fired or not rule.destinations:
        return []
    options = options or DeliveryOptions()
    fields = list(fields if fields is not None else run.settings.get("fields") or [])
    key = idempotency_key(str(run.id), str(rule.id))
    body = encode_payload(alert_payload(decision, rule, experiment, run, fields))

    records = []
    for destination in rule.destinations:
        record, claimed = store.claim_delivery(
            str(run.id), str(rule.id), key, destination
        )
        if not claimed:
            logger.info(
                "alert %s to %s is %s already; not sent again",
                key,
                destination_label(destination),
                record.status,
            )
            records.append(record)
            continue
        try:
            if destination["type"] == "webhook":
                outcome = _post(destination["url"], body, key, options)
            else:
                path = resolve_alert_file(destination["path"], store.data_dir)
                outcome = _append(path, body)
        except ProcanomError as exc:
            # A destination refused as it stands (a file outside the allowed
            # folders): nothing was tried.
            outcome = _Outcome(
                False, 0, error=str(exc), log=[{"at": _now(), "outcome": str(exc)}]
            )
        except Exception as exc:  # recorded, so the claim is never left dangling
            outcome = _Outcome(False, 1, error=f"{type(exc).__name__}: {exc}")
        record = store.finish_delivery(
            record.id,
            status="delivered" if outcome.delivered else "failed",
            attempts=outcome.attempts,
            http_status=outcome.http_status,
            error=outcome.error,
            log=outcome.log,
        )
        level = logging.INFO if outcome.delivered else logging.WARNING
        logger.log(
            level,
            "alert %s to %s: %s after %d tr%s%s",
            key,
            record.destination,
            record.status,
            outcome.attempts,
            "y" if outcome.attempts == 1 else "ies",
            f" ({outcome.error})" if outcome.error else "",
        )
        records.append(record)
    return records
