"""The sections of the Experiment page, top to bottom.

Each function draws one numbered step of the flow and returns what the next
step needs. They read widgets and call :mod:`procanom`; they hold no scoring
or parsing logic.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import time
from pathlib import PurePath

import pandas as pd
import streamlit as st

import procanom
from procanom import export
from procanom.allowlist import LOOKUP_FILE
from procanom.errors import ParameterError, ProcanomError, QueryError, StaleEditError
from procanom.experiment import DEFAULT_FIELDS, ExperimentSettings, fingerprint
from procanom.export import reveal_hidden_frame
from procanom.library import DatasetInfo
from procanom.profile import NEAR_UNIQUE_SHARE
from procanom.samples import SAMPLES
from procanom.scoring import DEFAULT_METHOD, METHODS, DetectionResult, ThresholdRule
from procanom.snippets import to_python
from procanom.spl import to_cli, to_spl
from procanom.store import RunRecord
from ui import act_view, resources, results_view
from ui.text import counted, literal, short_time, shown_by
from ui.workspace import (
    METHOD_LABELS,
    REOPENED_RUN,
    RunState,
    Workspace,
    loaded_events_key,
    method_parameters,
    settings_from_widgets,
    write_widgets,
)

TIME_PRESETS = {
    "all": "All time",
    "15m": "Last 15 minutes",
    "1h": "Last hour",
    "24h": "Last 24 hours",
    "7d": "Last 7 days",
    "30d": "Last 30 days",
    "custom": "Custom range",
}
RESULT_VIEWS = ["Data and Outliers", "Charts", "Compare runs", "Alerts", "Export"]


# --- Header ----------------------------------------------------------------
def header(workspace: Workspace):
    """Title, description and messages; returns where the draft notice goes.

    The notice is filled by :func:`draft_notice` once the page has run, so
    it knows about a Detect made further down.
    """
    experiment = workspace.experiment
    st.title(literal(experiment.title))
    if experiment.description:
        st.caption(literal(experiment.description))
    banner = st.empty()
    for level, text in workspace.messages:
        getattr(st, level)(text)
    workspace.messages.clear()
    return banner


def draft_notice(workspace: Workspace, banner) -> None:
    """Say so when the page differs from what is stored."""
    if is_draft(workspace):
        banner.warning(
            "Draft: changes on this page are not saved yet.", icon=":material/edit:"
        )


def is_draft(workspace: Workspace) -> bool:
    """True when the widgets or an unsaved run differ from what is stored."""
    current = settings_from_widgets().to_dict()
    saved = workspace.saved_settings.to_dict()
    unsaved_run = workspace.run is not None and workspace.run.saved_run_id is None
    return current != saved or unsaved_run


# --- 1. Data ---------------------------------------------------------------
def data_source(workspace: Workspace) -> DatasetInfo | None:
    """Step 1: a bundled sample, a stored dataset, or new uploaded files."""
    st.subheader("1. Data")
    store = resources.get_store()
    datasets = {d.id: d for d in store.list_datasets()}
    choices = ["sample", "dataset"]
    st.radio(
        "Events from",
        choices,
        key="exp.source_kind",
        horizontal=True,
        format_func={"sample": "Bundled sample", "dataset": "Uploaded files"}.get,
    )
    if st.session_state["exp.source_kind"] == "sample":
        st.selectbox(
            "Sample",
            list(SAMPLES),
            key="exp.sample",
            format_func=lambda key: SAMPLES[key].title,
        )
        st.caption(SAMPLES[st.session_state["exp.sample"]].description)
    else:
        _upload(store, datasets)
        if not _choose_dataset(datasets):
            return None

    settings = settings_from_widgets()
    kind, key = loaded_events_key(settings)
    try:
        info = resources.dataset_for(kind, key)
    except ProcanomError as error:
        st.error(literal(f"Could not read the data: {error}"))
        return None
    _load_report(info)
    return info


def _choose_dataset(datasets: dict) -> bool:
    """Pick the stored dataset to analyse; False when there is none to pick."""
    state = st.session_state
    wanted = state.get("exp.wanted_file")
    if wanted and state.get("exp.dataset") not in datasets:
        holding = [i for i, d in datasets.items() if wanted in _file_names(d)]
        if not holding:
            st.info(
                f"This experiment was made on `{wanted}`. Upload that file to"
                " open it on its data."
            )
            return False
        state["exp.dataset"] = holding[0]
    if not datasets:
        st.info("Upload one or more exports to analyse them.")
        return False
    chosen = state.get("exp.dataset")
    if chosen and chosen not in datasets:
        # Deleted since: another dataset is never picked in its place, or
        # Detect would quietly score other data.
        state["exp.dataset_gone"] = state.get("exp.source_name") or chosen
        state["exp.dataset"] = None
    # Nothing is picked for the analyst either: the newest upload may be
    # someone else's, and scoring it unasked would pass for their own data.
    if state.get("exp.dataset_gone") and state.get("exp.dataset") is None:
        st.warning(
            literal(
                f"The dataset this experiment was made on"
                f" ({state['exp.dataset_gone']}) is no longer in the library."
                " Pick the data to analyse, or upload its files again."
            )
        )
    st.selectbox(
        "Dataset",
        list(datasets),
        key="exp.dataset",
        index=None,
        placeholder="Choose a dataset",
        format_func=shown_by(
            lambda i: f"{datasets[i].name} ({len(datasets[i].files)} files)"
        ),
    )
    if state.get("exp.dataset") is None:
        st.caption("Upload files above, or choose a dataset uploaded before.")
        return False
    state.pop("exp.dataset_gone", None)
    state["exp.source_name"] = datasets[state["exp.dataset"]].name
    state["exp.wanted_file"] = None
    return True


def _file_names(dataset) -> set[str]:
    return {f["name"] for f in dataset.files}


def _upload(store, datasets: dict) -> None:
    limit = st.get_option("server.maxUploadSize")
    files = st.file_uploader(
        "Upload process events",
        accept_multiple_files=True,
        key="exp.upload",
        help="CSV (PowerShell Export-Csv, Splunk), JSON (array, lines, Splunk"
        " results), EVTX, Windows event XML, Parquet; gzip or zip.",
    )
    st.caption(
        f"Up to {limit} MB per file. Raise `server.maxUploadSize` in"
        " `.streamlit/config.toml`, or ingest bigger exports with"
        " `procanom ingest PATH --dataset NAME`."
    )
    if not files:
        return
    # Uploads are kept at once, content-addressed, so the experiment reopens
    # on the same data after a restart; the same files again are one dataset.
    signature = tuple((f.name, f.size, f.file_id) for f in files)
    state = st.session_state
    if state.get("exp.upload_signature") == signature:
        if state.get("exp.upload_error"):
            st.error(literal(state["exp.upload_error"]))
        return
    name = ", ".join(f.name for f in files)[:120]
    state["exp.upload_signature"] = signature
    state["exp.upload_error"] = None
    try:
        with st.spinner(f"Reading {len(files)} file(s)…"):
            info = resources.ingest_upload(name, files)
    except ProcanomError as error:
        # Shown until other files are chosen: nothing was kept, and no
        # other dataset stands in for these files.
        state["exp.upload_error"] = f"Could not read the upload: {error}"
        state["exp.dataset"] = None
        st.error(literal(state["exp.upload_error"]))
        return
    datasets[info.id] = store.get_dataset(info.id)
    state["exp.dataset"] = info.id
    state["exp.wanted_file"] = None
    st.toast(literal(f"Kept {len(files)} file(s) as dataset {info.name!r}."))


def _load_report(info: DatasetInfo) -> None:
    st.caption(
        f"{info.events:,} process events from {len(info.source_files)} file(s)"
        f" ({', '.join(dict.fromkeys(info.formats.values())) or 'n/a'}),"
        f" {counted(info.hosts, 'host')}"
        + (
            f", {info.time_min[:19]} to {info.time_max[:19]} UTC"
            if info.time_min
            else ""
        )
        + "."
    )
    for warning in info.warnings:
        st.warning(warning)
    other = sum(info.other_events.values())
    if other:
        st.caption(
            f"{other:,} other records set aside (not process creations): "
            + ", ".join(f"{k} ({v:,})" for k, v in info.other_events.items())
        )
    if info.rows_skipped:
        with st.expander(f"{info.rows_skipped:,} rows could not be read"):
            st.dataframe(
                reveal_hidden_frame(
                    pd.DataFrame(
                        info.skipped, columns=["file", "line", "reason", "text"]
                    )
                ),
                hide_index=True,
            )


# --- 2. Search -------------------------------------------------------------
def search(info: DatasetInfo) -> int | None:
    """Step 2: a Splunk-style search and a time range select the events.

    Returns the number of matching events (the page goes on only when some
    match), or None when the search is bad.
    """
    st.subheader("2. Search")
    has_time = bool(info.time_min)
    query_column, time_column = st.columns([3, 1])
    query_column.text_input(
        "Search",
        key="exp.query",
        placeholder='Name=powershell.exe NOT User="NT AUTHORITY\\SYSTEM"',
        help="field=value, field!=value, * wildcards, NOT, OR, parentheses,"
        " quoted values, comparisons on numbers; values match"
        " case-insensitively.",
    )
    if has_time:
        time_column.selectbox(
            "Time range",
            list(TIME_PRESETS),
            key="exp.time_preset",
            format_func=TIME_PRESETS.get,
        )
        if st.session_state["exp.time_preset"] == "custom":
            start, end = st.columns(2)
            start.text_input("Earliest (ISO-8601, UTC)", key="exp.time_earliest")
            end.text_input("Latest (ISO-8601, UTC)", key="exp.time_latest")
        elif st.session_state["exp.time_preset"] != "all":
            time_column.radio(
                "Relative to",
                ["latest", "now"],
                key="exp.relative_to",
                horizontal=True,
                format_func={"latest": "latest event", "now": "now"}.get,
            )
    else:
        st.session_state["exp.time_preset"] = "all"

    settings = settings_from_widgets()
    try:
        matching = resources.count(
            info.id, info.updated_at, settings.query, _time_key(settings)
        )
    except QueryError as error:
        st.error(literal(f"Search: {error.problem}"))
        st.code(error.pointer(), language=None)
        return None
    except ProcanomError as error:
        st.error(literal(f"Time range: {error}"))
        return None
    st.caption(f"{matching:,} of {info.events:,} events match.")
    for warning in _unknown_fields(settings.query, info.columns):
        st.warning(literal(warning))
    if not matching:
        st.warning("No event matches: widen the search or the time range to go on.")
    return matching


# Splunk's search words that select data rather than match event fields.
_SPLUNK_SELECTORS = {"index", "sourcetype", "source", "earliest", "latest"}
# Splunk's "field IN (a, b)", outside quotes.
_SPLUNK_IN = re.compile(r'^(?:[^"]*"[^"]*")*[^"]*?\b(\w+)\s+IN\s*\(', re.IGNORECASE)


def _unknown_fields(query: str, columns: list[str]) -> list[str]:
    """Say which fields the query names that the data does not have."""
    from procanom.search import And, Compare, Not, Or, parse_query

    names: list[str] = []

    def walk(node) -> None:
        if isinstance(node, Compare):
            names.append(node.field)
        elif isinstance(node, Not):
            walk(node.child)
        elif isinstance(node, And | Or):
            for child in node.children:
                walk(child)

    walk(parse_query(query).root)
    by_lower = {c.lower(): c for c in columns}
    warnings = []
    listed = _SPLUNK_IN.search(query)
    if listed:
        field = listed.group(1)
        warnings.append(
            f"IN (...) is not part of this search language, so the words are"
            f" searched as free text: write {field}=a OR {field}=b instead."
        )
    for name in dict.fromkeys(names):
        if name in columns:
            continue
        if name.lower() in _SPLUNK_SELECTORS:
            warnings.append(
                f"{name}= selects data in Splunk; here the data is picked above"
                " and times with the time range, so no event has this field."
            )
        elif name.lower() in by_lower:
            warnings.append(
                f"The data has no field {name}: field names are case-sensitive"
                f" (did you mean {by_lower[name.lower()]}?)."
            )
        else:
            warnings.append(f"The data has no field {name}: no event can match it.")
    return warnings


def _time_key(settings: ExperimentSettings) -> str:
    if settings.time_range.get("preset", "all") == "all":
        return ""
    return json.dumps(settings.time_range, sort_keys=True)


# --- 3. Fields -------------------------------------------------------------
def fields(info: DatasetInfo) -> None:
    """Step 3: pick the fields to analyse, seeing what each holds."""
    st.subheader("3. Fields to analyze")
    settings = settings_from_widgets()
    profile = resources.profile(
        info.id, info.updated_at, settings.query, _time_key(settings)
    )
    show_internal = st.toggle("Show internal fields", key="exp.show_internal")
    offered = profile[profile["offer"] & (show_internal | ~profile["internal"])]
    uninformative = offered["role"].isin(["constant", "empty", "type name placeholder"])
    ordered = pd.concat([offered[~uninformative], offered[uninformative]])
    options = ordered["field"].tolist()

    state = st.session_state
    # What the analyst asked for is kept apart from what this data allows:
    # data lacking some fields (a dataset picked on the way) narrows the
    # selection shown, not the fields wanted on the next data.
    shown = list(state.get("exp.fields", []))
    if state.get("exp.fields_shown") not in (None, shown):
        state["exp.fields_wanted"] = shown  # changed by the analyst
    wanted = list(state.get("exp.fields_wanted") or shown)
    new_data = state.get("exp.fields_for") not in (None, info.id)
    if new_data and not set(_schema_names(wanted, options)[0]) & set(options):
        # None of them here: other data starts again from the usual fields.
        wanted = list(DEFAULT_FIELDS)
    state["exp.fields_for"] = info.id
    wanted, renamed = _schema_names(wanted, options)
    if renamed:
        st.info(
            literal(
                "; ".join(f"{old} is {new} here" for old, new in renamed.items())
                + ": procanom maps every source onto one process schema."
            )
        )
    chosen = [f for f in wanted if f in options]
    missing = [f for f in wanted if f not in options]
    # The defaults a new experiment starts with are kept where the data has
    # them; only fields the analyst chose are worth a warning.
    if missing and tuple(wanted) != DEFAULT_FIELDS:
        st.warning(
            "The data has no field "
            + ", ".join(literal(m) for m in missing)
            + ": removed from the selection."
        )
    state["exp.fields"] = chosen
    state["exp.fields_shown"] = chosen
    st.multiselect(
        "Fields to analyze",
        options,
        key="exp.fields",
        help="Every field seen in any event. Labels of labelled datasets are"
        " never offered.",
    )
    with st.expander(f"What the {len(options)} fields hold", expanded=False):
        st.dataframe(
            ordered[["field", "present_pct", "distinct", "role", "note"]],
            hide_index=True,
            column_config={
                "present_pct": st.column_config.ProgressColumn(
                    "present", format="%.0f%%", min_value=0, max_value=100
                ),
            },
        )
    notes = profile.set_index("field")
    for name in st.session_state["exp.fields"]:
        row = notes.loc[name]
        if row["role"] == "near-unique text" or (
            row["present"]
            and row["distinct"] / max(row["present"], 1) >= NEAR_UNIQUE_SHARE
        ):
            note = row["note"] or "nearly every value is distinct."
            st.warning(literal(f"{name}: {note}"))
        elif row["note"]:
            st.info(literal(f"{name}: {row['note']}"))


def _schema_names(
    fields: list[str], options: list[str]
) -> tuple[list[str], dict[str, str]]:
    """Fields by their schema names (``ParentImage`` is ``ParentPath``)."""
    from procanom.schema import FIELD_ALIASES

    canonical = {
        alias.lower(): name
        for name, aliases in FIELD_ALIASES.items()
        for alias in aliases
    }
    wanted, renamed = [], {}
    for name in fields:
        schema_name = canonical.get(name.lower())
        if name not in options and schema_name in options:
            renamed[name] = schema_name
            name = schema_name
        if name not in wanted:
            wanted.append(name)
    return wanted, renamed


# --- 4. Method ---------------------------------------------------------------
def method() -> None:
    """Step 4: the method, its parameters, field types and notes."""
    st.subheader("4. Method")
    left, right = st.columns(2)
    chosen = left.selectbox(
        "Method",
        list(METHOD_LABELS),
        key="exp.method",
        format_func=lambda name: (
            METHOD_LABELS[name] + (" (default)" if name == DEFAULT_METHOD else "")
        ),
    )
    left.multiselect(
        "Numeric fields",
        st.session_state.get("exp.fields", []),
        key="exp.numeric",
        help="Binned into a histogram. Every other field is a category, even"
        " when it looks like a number (session ids, event codes).",
    )
    if chosen == "histogram":
        right.checkbox(
            "cutoff (strict threshold)",
            key="exp.cutoff",
            help="On: outliers below Q1 - 3 IQR of log_event_prob. Off: Splunk's"
            " Q1 - 1.5 IQR.",
        )
    if "pthresh" in METHODS[chosen]._get_param_names():
        right.checkbox("Use pthresh instead", key="exp.use_pthresh")
        if st.session_state.get("exp.use_pthresh"):
            right.number_input(
                "pthresh (flag events less probable than this)",
                min_value=1e-12,
                max_value=1.0,
                format="%.6g",
                key="exp.pthresh",
            )
    tunable = method_parameters(chosen)
    ranges = METHODS[chosen].parameter_ranges
    if tunable:
        with right.expander(f"{chosen} parameters"):
            for name, spec in tunable.items():
                # The value lives under a key no widget owns: a box that a
                # run does not draw (a search error stops the page above it)
                # loses its state, and the browser redrew it at 0. The box
                # is given the value on every run and hands changes back.
                key = f"exp.param.{chosen}.{name}"
                box = f"exp.param_box.{chosen}.{name}"
                st.session_state[box] = st.session_state.setdefault(key, spec.default)
                kept = {"key": box, "on_change": _keep_parameter, "args": (box, key)}
                # Every tunable number is a weight, count or share: none is
                # negative, so the box refuses what the method would.
                if isinstance(spec.default, bool):
                    st.checkbox(name, help=spec.help, **kept)
                elif isinstance(spec.default, int):
                    st.number_input(name, help=spec.help, step=1, min_value=0, **kept)
                else:
                    low, high = ranges.get(name, (0.0, None))
                    st.number_input(
                        name,
                        help=spec.help,
                        format="%g",
                        min_value=low,
                        max_value=high,
                        **kept,
                    )
            st.button(
                "Reset to defaults",
                key="exp.param_reset",
                on_click=_reset_parameters,
                args=(chosen,),
            )
    _baseline()
    st.text_area("Notes", key="exp.notes", height=80)


def _keep_parameter(box: str, key: str) -> None:
    st.session_state[key] = st.session_state[box]


def _with_count(name: str, events: int) -> str:
    """A dataset's name with its event count, unless the name says it."""
    count = f"{events:,} events"
    return name if count in name else f"{name} ({count})"


def _reset_parameters(method: str) -> None:
    for name, spec in method_parameters(method).items():
        st.session_state[f"exp.param.{method}.{name}"] = spec.default


def _baseline() -> None:
    """Score against the events themselves (Splunk) or a baseline selection."""
    datasets = {info.id: info for info in resources.get_library().list()}
    choices = ["", *datasets]
    if st.session_state.get("exp.baseline") not in choices:
        st.session_state["exp.baseline"] = ""
    left, right = st.columns(2)
    left.selectbox(
        "Baseline",
        choices,
        key="exp.baseline",
        format_func=shown_by(
            lambda key: (
                "None: the events against themselves, as Splunk does"
                if not key
                else _with_count(datasets[key].name, datasets[key].events)
            )
        ),
        help="Fit on a period or dataset known to be normal, then score the"
        " events above against it. Values the baseline never saw are"
        " flagged first seen; the fitted model is saved with the experiment.",
    )
    if st.session_state["exp.baseline"]:
        right.text_input(
            "Baseline search",
            key="exp.baseline_query",
            placeholder="earlier period or known-good hosts, e.g. NOT host=LAB*",
        )


# --- 5. Detect --------------------------------------------------------------
def detect(workspace: Workspace, info: DatasetInfo) -> None:
    """Step 5: the Detect Outliers button, with progress while it runs."""
    settings = settings_from_widgets()
    ready = bool(settings.fields)
    clicked = st.button(
        "Detect Outliers",
        type="primary",
        key="exp.detect",
        disabled=not ready,
        help=None if ready else "Pick at least one field first.",
    )
    if not ready:
        st.caption("Pick at least one field to analyze to detect outliers.")
    # A reloaded history run re-runs at once, as in Splunk's experiment.
    if not (clicked or (st.session_state.pop("exp.autorun", False) and ready)):
        return
    # The previous results go first: a million scored events held while as
    # many are scored again doubles the memory and slows the scoring.
    workspace.run = None
    with st.status("Detecting outliers…", expanded=False) as status:
        started = dt.datetime.now(dt.UTC)
        clock = time.perf_counter()
        try:
            status.write(f"Scoring {settings.method} on {', '.join(settings.fields)}")
            result = _score(info, settings)
        except ProcanomError as error:
            status.update(label="Detection failed", state="error")
            failure = error
        else:
            failure = None
            status.update(
                label=f"Scored {result.num_events:,} events", state="complete"
            )
    if failure is not None:
        # Under the status box, not inside it: a collapsed box hides it.
        st.error(literal(_detect_error(failure, settings.method)))
        return
    workspace.run = run = RunState(
        result=result,
        settings=settings.to_dict(),
        started_at=started.isoformat(timespec="seconds"),
        duration_s=time.perf_counter() - clock,
        fingerprint=fingerprint([info.id, settings.query, _time_key(settings)]),
        rows_read=info.rows_read,
        rows_skipped=info.rows_skipped,
        dataset_id=info.id,
    )
    reopened = st.session_state.pop(REOPENED_RUN, None)
    if reopened and list(reopened[1:]) == [run.settings, run.fingerprint]:
        run.saved_run_id = reopened[0]
    st.session_state["exp.page"] = 1


def _detect_error(error: ProcanomError, method: str) -> str:
    """The error in words, with where to fix a method parameter's value."""
    if isinstance(error, ParameterError) and error.name in method_parameters(method):
        return (
            f"{error} Change it under 4. Method, {method} parameters, or press"
            " Reset to defaults there."
        )
    return str(error)


def _score(info: DatasetInfo, settings: ExperimentSettings) -> DetectionResult:
    """Score in the library, or against the baseline the settings name."""
    library = resources.get_library()
    if settings.baseline is None:
        return library.score(info.id, settings)
    from procanom.experiment import fit_baseline, score_against

    spec = settings.baseline
    baseline = library.search(spec["dataset_id"], spec.get("query", ""))
    detector = fit_baseline(settings, baseline)
    return score_against(detector, settings, library.search(info.id))


# --- 6. Results -------------------------------------------------------------
def results(workspace: Workspace) -> DetectionResult | None:
    """The scored events: numbers, sensitivity, charts, table, detail, actions.

    Returns the result as shown (sensitivity and allow-list applied).
    """
    run = workspace.run
    if run is None:
        return None
    st.subheader("Results")
    rule = results_view.sensitivity(run) or _rule_if_only_threshold_changed(run)
    if run.settings != settings_from_widgets().to_dict() and rule is None:
        st.info("The settings changed since this run: press Detect Outliers again.")
    result = results_view.labelled(workspace, rule)
    results_view.numbers(run, result)

    def context() -> pd.DataFrame | None:
        # Loaded when a chart or a filter on an unscored field needs it.
        return results_view.context_frame(workspace)

    # A stateful switch rather than st.tabs: the view stays put across the
    # reruns its own buttons cause, and only the view shown is computed.
    view = st.segmented_control(
        "View",
        RESULT_VIEWS,
        default=RESULT_VIEWS[0],
        key="exp.view",
        label_visibility="collapsed",
    )
    if view == "Charts":
        results_view.charts(run, result, context())
        if results_view.filter_chips():
            # What the selection picked, right under the charts.
            results_view.table(run, result, context)
    elif view == "Compare runs":
        act_view.compare(workspace, result)
    elif view == "Alerts":
        act_view.alerts(workspace, result)
    elif view == "Export":
        act_view.exports(
            workspace, result, lambda: results_view.events_frame(workspace)
        )
    else:
        results_view.filter_chips()
        row = results_view.table(run, result, context)
        if row is not None:
            frame = results_view.events_frame(workspace)
            results_view.detail(workspace, result, frame, row)
    return result


_THRESHOLD_PARAMS = ("cutoff", "pthresh", "threshold")


def _rule_if_only_threshold_changed(run: RunState) -> ThresholdRule | None:
    """Relabel instead of asking to Detect again when only the threshold moved.

    None when anything else changed (a field, the search, a method
    parameter such as ``alpha``): those need the events scored again.
    """
    current = settings_from_widgets().to_dict()
    before = dict(run.settings)
    if current == before:
        return None

    def without_threshold(settings: dict) -> dict:
        params = {
            k: v
            for k, v in (settings["params"] or {}).items()
            if k not in _THRESHOLD_PARAMS
        }
        return {**settings, "params": params}

    if without_threshold(current) != without_threshold(before):
        return None
    params = current["params"] or {}
    if params.get("threshold"):
        return ThresholdRule.from_dict(params["threshold"])
    if current["method"] == "histogram":
        return ThresholdRule.from_splunk(
            params.get("cutoff", True), params.get("pthresh")
        )
    # Other methods read cutoff and pthresh their own way: score again.
    return None


# --- 7. Show SPL, Save, Download -----------------------------------------------
def actions(
    workspace: Workspace, info: DatasetInfo, shown: DetectionResult | None
) -> None:
    """Show SPL (and the same as a command and in Python), and Save."""
    settings = settings_from_widgets()
    entries = resources.get_store().list_allow_entries(
        workspace.experiment.id, include_global=True, enabled_only=True
    )
    allowlist = LOOKUP_FILE if entries else None
    spl_column, save_column = st.columns(2)
    with spl_column.expander("Show SPL"):
        if entries:
            st.caption(
                f"With the allow-list's {counted(len(entries), 'entry', 'entries')}"
                f" applied: export them as {LOOKUP_FILE} from the Allow-list page"
                " (this experiment's and global entries)."
            )
        fields = list(dict.fromkeys(n for e in entries for n in e.conditions))
        st.code(to_spl(settings, allowlist_fields=fields), language="sql")
        # The files as the analyst named them; the page shows no server paths.
        files = [PurePath(f).name for f in info.source_files]
        st.caption("The same with procanom's command line:")
        st.code(to_cli(settings, files, allowlist), language="bash")
        st.caption("And in Python:")
        st.code(to_python(settings, files, allowlist), language="python")
    with save_column:
        if st.button("Save", key="exp.save", type="secondary"):
            save(workspace, settings, shown)


def save(
    workspace: Workspace,
    settings: ExperimentSettings,
    shown: DetectionResult | None = None,
) -> None:
    """Store the settings and the current run; refuse edits from a stale page."""
    store = resources.get_store()
    try:
        experiment = store.update_experiment(
            workspace.experiment.id,
            expected_version=workspace.experiment.version,
            settings=_with_model(settings, workspace.run),
        )
    except StaleEditError as error:
        st.error(literal(f"Not saved: {error}"))
        return
    workspace.experiment = experiment
    run = workspace.run
    if run is not None and run.saved_run_id is None:
        current = settings.to_dict()
        if current != run.settings and _rule_if_only_threshold_changed(run) is None:
            # The results on the page came from other settings: saving them
            # beside these would pair a count with settings that never made it.
            workspace.messages.append(
                (
                    "warning",
                    "Saved the settings. The results shown came from earlier"
                    " settings and were not kept as a run: press Detect"
                    " Outliers, then Save.",
                )
            )
            st.rerun()
        result = shown or run.result
        record = store.add_run(
            RunRecord(
                id=None,
                experiment_id=experiment.id,
                started_at=run.started_at,
                duration_s=run.duration_s,
                procanom_version=procanom.__version__,
                # Relabelled by a new threshold, the result is the current
                # settings' result.
                settings=current,
                data_fingerprint=run.fingerprint,
                rows_read=run.rows_read,
                rows_skipped=run.rows_skipped,
                total_events=result.num_events,
                num_outliers=result.num_outliers,
                threshold=result.summary.get("thresh"),
                summary=_run_summary(result, run),
            )
        )
        store.save_run_outliers(
            record.id, act_view.outlier_frame(result), result.fields
        )
        run.saved_run_id = record.id
    workspace.messages.append(("success", "Saved."))
    st.rerun()


def _with_model(settings: ExperimentSettings, run: RunState | None) -> dict:
    data = settings.to_dict()
    model = run.result.model if run is not None else None
    if settings.baseline is not None and model is not None:
        from procanom.scoring.persist import detector_to_dict

        # Plain data, so `procanom run` scores new files against it.
        data["model"] = detector_to_dict(model)
    return data


def _run_summary(result: DetectionResult, run: RunState) -> dict:
    summary = export.json_summary(result.summary)
    if run.suppression is not None:
        # Kept with the run so the Allow-list page can count each entry's use.
        summary["allowlist"] = run.suppression.to_dict()
    return summary


# --- 8. History --------------------------------------------------------------
def history(workspace: Workspace) -> None:
    """The saved runs of this experiment; any can be reloaded and re-run."""
    runs = resources.get_store().list_runs(workspace.experiment.id)
    st.subheader("History")
    if not runs:
        st.caption("No saved runs yet. Detect, then Save.")
        return
    table = pd.DataFrame(
        [
            {
                "run": r.id,
                "time": short_time(r.started_at, seconds=True),
                "search": r.settings.get("query", ""),
                "fields": ", ".join(r.settings.get("fields", [])),
                "method": r.settings.get("method", ""),
                "outliers": r.num_outliers,
                "events": r.total_events,
                "seconds": round(r.duration_s, 2),
                "version": r.procanom_version,
            }
            for r in runs
        ]
    )
    st.dataframe(table, hide_index=True)
    labels = {
        r.id: f"{short_time(r.started_at, seconds=True)} — "
        + counted(r.num_outliers, "outlier")
        for r in runs
    }
    st.selectbox("Run", list(labels), format_func=labels.get, key="exp.run")
    st.button(
        "Load this run",
        key="exp.load_run",
        on_click=_load_run,
        args=(workspace, {r.id: r for r in runs}),
    )


def _load_run(workspace: Workspace, runs: dict) -> None:
    # A callback, so the widgets can be rewritten before they are drawn.
    chosen = runs[st.session_state["exp.run"]]
    write_widgets(ExperimentSettings.from_dict(chosen.settings))
    workspace.run = None
    st.session_state["exp.autorun"] = True
    workspace.messages.append(
        ("info", f"Re-ran the settings of run {chosen.started_at}.")
    )
