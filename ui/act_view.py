"""Acting on a result: compare runs, alert rules, exports."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from procanom import report
from procanom.alerts import ALERT_DIRS_ENV, alert_dirs, evaluate, resolve_alert_file
from procanom.compare import compare_outliers
from procanom.errors import ProcanomError
from procanom.export import reveal_hidden_frame, to_csv, to_json, with_event_numbers
from procanom.scoring import DetectionResult
from ui import resources
from ui.text import literal, short_time
from ui.workspace import Workspace

#: Outliers explained in the downloads, the most unusual first.
EXPLAINED_IN_EXPORTS = 2_000  # about a second and a half of explaining


def compare(workspace: Workspace, result: DetectionResult) -> None:
    """New, gone and still-flagged outliers between two runs."""
    store = resources.get_store()
    runs = store.list_runs(workspace.experiment.id)
    if not runs:
        st.caption("Save this run, then compare it with later ones.")
        return
    labels = {"current": "This result (on the page)"}
    labels |= {
        r.id: f"{short_time(r.started_at, seconds=True)} ({r.num_outliers:,} outliers)"
        for r in runs
    }
    left, right = st.columns(2)
    older = left.selectbox(
        "Earlier run", [r.id for r in runs], format_func=labels.get, key="exp.cmp_old"
    )
    newer = right.selectbox(
        "Later run", list(labels), format_func=labels.get, key="exp.cmp_new"
    )
    try:
        old = store.run_outliers(older)
        new = result.annotated if newer == "current" else store.run_outliers(newer)
        comparison = compare_outliers(old, new, result.fields)
    except ProcanomError as error:
        st.error(literal(error))
        return
    st.markdown(f"**{comparison.describe()}**")
    for warning in comparison.warnings:
        st.warning(warning)
    counts = comparison.counts
    tabs = st.tabs(
        [
            f"New ({counts['new']:,})",
            f"Gone ({counts['gone']:,})",
            f"Still flagged ({counts['still']:,})",
            f"Count changed ({counts['counts_changed']:,})",
        ]
    )
    frames = (
        comparison.new_outliers,
        comparison.gone_outliers,
        comparison.still,
        comparison.counts_changed,
    )
    for tab, frame in zip(tabs, frames, strict=True):
        tab.dataframe(reveal_hidden_frame(frame), hide_index=True)


def alerts(workspace: Workspace, result: DetectionResult) -> None:
    """The experiment's alert rules; whether each would fire on this result."""
    store = resources.get_store()
    rules = store.list_alert_rules(workspace.experiment.id)
    st.caption(
        "Rules are checked when the experiment is re-run with"
        f" `procanom run {workspace.experiment.id}` (cron, Task Scheduler);"
        " here you see whether each would fire on the result above."
    )
    for rule in rules:
        decision = evaluate(rule, result)
        where = ", ".join(d.get("url") or d.get("path", "") for d in rule.destinations)
        refused = _refused_files(store, rule.destinations)
        with st.container(border=True):
            st.markdown(
                f"More than **{rule.threshold:,}**"
                + (" new" if rule.only_new else "")
                + " outliers"
                + (
                    f" with probable cause {literal(', '.join(rule.only_causes))}"
                    if rule.only_causes
                    else ""
                )
                + f" → {literal(where) if where else 'no destination'}"
            )
            verdict = "would fire" if decision.fired else "would stay quiet"
            st.caption(literal(f"On this result: {verdict} ({decision.reason})."))
            for problem in refused:
                st.warning(literal(f"Not written when the rule fires: {problem}"))
            if st.button("Delete rule", key=f"exp.alert_delete.{rule.id}"):
                store.delete_alert_rule(rule.id)
                st.rerun()
    with st.form("exp.alert_form", clear_on_submit=True):
        st.markdown("**New alert rule**")
        threshold = st.number_input("Alert when outliers exceed", min_value=0, step=1)
        causes = st.multiselect("Only these probable causes", _causes(result))
        only_new = st.checkbox("Only outliers new since the previous run")
        url = st.text_input("Webhook URL (Slack, Teams or any JSON receiver)")
        folders = alert_dirs(store.data_dir)
        name, place = st.columns([2, 3])
        path = name.text_input("Or append to a file (JSON lines)")
        place.caption(literal(_where_files_go(folders)))
        if not st.form_submit_button("Add rule"):
            return
    if not url.strip() and not path.strip():
        st.error("Give a webhook URL or a file to write the alerts to.")
        return
    destinations = []
    if url.strip():
        destinations.append({"type": "webhook", "url": url.strip()})
    if path.strip():
        destinations.append({"type": "file", "path": path.strip()})
    try:
        # The store refuses a file outside the allowed folders.
        store.add_alert_rule(
            workspace.experiment.id,
            threshold=int(threshold),
            only_causes=causes or None,
            only_new=only_new,
            destinations=destinations,
        )
    except ProcanomError as error:
        st.error(literal(error))
        return
    st.rerun()


def _causes(result: DetectionResult) -> list[str]:
    """The probable causes a rule can count: the fields, and the method's own."""
    causes = list(result.fields)
    column = result.annotated["probable_cause"]
    if isinstance(column.dtype, pd.CategoricalDtype):
        causes += [c for c in column.cat.categories if c and c not in causes]
    return causes


def _where_files_go(folders) -> str:
    text = f"A file name is kept in {folders[0]}."
    if len(folders) > 1:
        listed = ", ".join(str(folder) for folder in folders[1:])
        return f"{text} Full paths are allowed inside {listed}."
    return f"{text} Full paths need a folder the admin lists in {ALERT_DIRS_ENV}."


def _refused_files(store, destinations) -> list[str]:
    """Why each file destination of a saved rule would not be written."""
    problems = []
    for destination in destinations:
        if destination.get("type") != "file":
            continue
        try:
            resolve_alert_file(destination.get("path", ""), store.data_dir)
        except ProcanomError as error:
            problems.append(str(error))
    return problems


def exports(workspace: Workspace, result: DetectionResult, load_events) -> None:
    """Downloads: outliers, every event, and a one-file HTML report."""
    stem = workspace.experiment.title.strip().replace(" ", "_")[:60] or "results"
    explained: dict[str, object] = {}

    def explanations():
        # Explaining every outlier costs a pass over the events: only when a
        # file is asked for, once per page view.
        if "value" not in explained:
            explained["value"] = None
            frame = load_events() if result.num_outliers else None
            if frame is not None:
                from procanom.explain import explain_outliers

                explained["value"] = explain_outliers(
                    result, frame, limit=EXPLAINED_IN_EXPORTS
                )
        return explained["value"]

    st.markdown("**Outliers, with their explanations**")
    if result.num_outliers > EXPLAINED_IN_EXPORTS:
        st.caption(
            f"Explanations are written for the {EXPLAINED_IN_EXPORTS:,} most"
            f" anomalous of the {result.num_outliers:,} outliers; the others"
            " are exported with an empty explanation."
        )
    columns = st.columns(4)
    for column, fmt, mime in (
        (columns[0], "csv", "text/csv"),
        (columns[1], "json", "application/json"),
        (columns[2], "parquet", "application/octet-stream"),
    ):
        column.download_button(
            fmt.upper(),
            data=lambda fmt=fmt: report.export_outliers(result, fmt, explanations()),
            file_name=f"{stem}_outliers.{fmt}",
            mime=mime,
            key=f"exp.download_outliers_{fmt}",
        )
    columns[3].download_button(
        "HTML report",
        data=lambda: report.html_report(
            workspace.experiment, _saved_run(workspace), result, explanations()
        ),
        file_name=f"{stem}_report.html",
        mime="text/html",
        key="exp.download_report",
    )
    st.markdown("**Every event with its score**")
    st.caption(
        "The scored fields and scores, with every other column of the events"
        " (up to the events the row detail can load)."
    )

    def ordered() -> pd.DataFrame:
        return scored_events(result, load_events())

    left, right, _ = st.columns([1, 1, 2])
    left.download_button(
        "Download CSV",
        # With a byte-order mark, as the outliers' CSV: Excel needs it to
        # read non-ASCII text as UTF-8.
        data=lambda: to_csv(ordered()).encode("utf-8-sig"),
        file_name=f"{stem}.csv",
        mime="text/csv",
        key="exp.download_csv",
    )
    right.download_button(
        "Download JSON",
        data=lambda: to_json(ordered(), summary=result.summary),
        file_name=f"{stem}.json",
        mime="application/json",
        key="exp.download_json",
    )


def _saved_run(workspace: Workspace):
    """The stored run the page shows, for the report; None before Save."""
    run_id = workspace.run.saved_run_id if workspace.run else None
    return resources.get_store().get_run(run_id) if run_id else None


def scored_events(result: DetectionResult, events: pd.DataFrame | None) -> pd.DataFrame:
    """Every scored event, outliers first, with the events' other columns.

    ``events`` are the run's events with every column (None when too many
    to load): the context an analyst needs in a ticket (user, parent,
    ids...) beside the scored fields.
    """
    frame = result.annotated
    if events is not None and events.index.equals(frame.index):
        extra = [c for c in events.columns if c not in frame.columns]
        frame = frame.join(events[extra])
    return with_event_numbers(
        frame.sort_values(
            ["isOutlier", "anomaly_score"], ascending=False, kind="stable"
        )
    )


def outlier_frame(result: DetectionResult) -> pd.DataFrame:
    """The flagged rows, for saving their keys with a run."""
    return result.annotated[result.annotated["isOutlier"] == 1]
