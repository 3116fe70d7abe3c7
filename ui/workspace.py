"""The open experiment's working state, kept in ``st.session_state``.

Session-state keys follow one scheme, set up here and nowhere else:

- ``"experiment_id"``: the experiment the Experiment page shows;
- ``"workspace"``: the :class:`Workspace` of that experiment;
- ``"exp.<name>"``: the Experiment page's widgets (stable keys, so tests
  and the browser drive them by name); written from the saved settings when
  an experiment is opened, read back by :func:`settings_from_widgets`.
"""

from __future__ import annotations

import inspect
import re
from dataclasses import dataclass, field

import streamlit as st

from procanom.experiment import ExperimentSettings
from procanom.samples import DEFAULT_SAMPLE
from procanom.scoring import DEFAULT_METHOD, METHODS, DetectionResult
from procanom.store import Experiment
from ui.entry import came_back

#: The methods as the page lists them.
METHOD_LABELS = {
    "conditional": "conditional: rare values and combinations, per-host baselines",
    "histogram": "histogram: Splunk's anomalydetection",
    "zscore": "zscore: Splunk's anomalousvalue",
    "iqr": "iqr: Splunk's outlier, numeric fields",
}
# Parameters the page does not offer as plain numbers: fields and thresholds
# have their own controls, the rest take structured values.
_NOT_TUNABLE = {"fields", "numeric_fields", "roles", "threshold", "cutoff", "pthresh"}

EXPERIMENT_ID = "experiment_id"
WORKSPACE = "workspace"
# The id asked for (in the link) when no such experiment exists.
MISSING_ID = "exp.missing_id"
# The latest saved run of the experiment just opened: id, settings, data.
REOPENED_RUN = "exp.reopened_run"


@dataclass(frozen=True)
class ParameterSpec:
    """A method parameter the page offers: its default and its help text."""

    default: bool | int | float
    help: str


def method_parameters(method: str) -> dict[str, ParameterSpec]:
    """The plain (number or flag) parameters of ``method``, from its signature."""
    cls = METHODS.get(method)
    if cls is None:
        return {}
    signature = inspect.signature(cls.__init__)
    docs = _parameter_docs(inspect.getdoc(cls) or "")
    return {
        name: ParameterSpec(parameter.default, docs.get(name, ""))
        for name, parameter in signature.parameters.items()
        if name not in _NOT_TUNABLE
        and isinstance(parameter.default, bool | int | float)
    }


def _parameter_docs(docstring: str) -> dict[str, str]:
    # The numpydoc "Parameters" section: "name : type" then indented text.
    docs: dict[str, str] = {}
    name = None
    for line in docstring.splitlines():
        header = re.match(r"^(\w+) : ", line)
        if header:
            name = header.group(1)
            docs[name] = ""
        elif name and line.startswith("    "):
            docs[name] = (docs[name] + " " + line.strip()).strip()
        elif line.strip() in {"Examples", "Attributes", "Notes", "See Also"}:
            name = None
    return docs


@dataclass
class RunState:
    """A Detect that has been run on the page (saved or not)."""

    result: DetectionResult
    settings: dict
    started_at: str
    duration_s: float
    fingerprint: str
    rows_read: int
    rows_skipped: int
    dataset_id: str = ""
    saved_run_id: str | None = None
    events: object = None  # every column of the scored events, loaded on demand
    suppression: object = None  # what the allow-list did to the shown result
    # The shown result and figures drawn from it, for one sensitivity and
    # allow-list state (see ui.results_view.labelled).
    memo: dict = field(default_factory=dict)
    # Figures of the run itself, whatever the sensitivity.
    memo_run: dict = field(default_factory=dict)


@dataclass
class Workspace:
    """The experiment open on the Experiment page."""

    experiment: Experiment
    run: RunState | None = None
    messages: list[tuple[str, str]] = field(default_factory=list)
    # The settings widgets' values as the page last had them: Streamlit
    # forgets a widget's state when a run does not draw it, so leaving the
    # page (the sidebar, the browser's Back) would otherwise come back to
    # empty fields.
    widgets: dict = field(default_factory=dict)

    @property
    def saved_settings(self) -> ExperimentSettings:
        """The settings as last saved."""
        return ExperimentSettings.from_dict(self.experiment.settings)


def open_experiment(experiment_id: str) -> None:
    """Make ``experiment_id`` the one the Experiment page shows."""
    st.session_state[EXPERIMENT_ID] = experiment_id
    st.session_state.pop(WORKSPACE, None)


def current(store) -> Workspace | None:
    """Return the open experiment's workspace, loading it on first use."""
    experiment_id = st.session_state.get(EXPERIMENT_ID) or st.query_params.get("id")
    if not experiment_id:
        return None
    workspace = st.session_state.get(WORKSPACE)
    if workspace is None or workspace.experiment.id != experiment_id:
        from procanom.errors import NotFoundError

        try:
            experiment = store.get_experiment(experiment_id)
        except NotFoundError:
            # A bookmark to a deleted experiment, or one from another store.
            st.session_state.pop(EXPERIMENT_ID, None)
            st.session_state[MISSING_ID] = experiment_id
            st.query_params.pop("id", None)
            return None
        workspace = Workspace(experiment)
        st.session_state[EXPERIMENT_ID] = experiment_id
        st.session_state[WORKSPACE] = workspace
        write_widgets(workspace.saved_settings)
        # A saved experiment that has run before opens on its results, as
        # Splunk's does: its saved settings are scored again at once. Scored
        # on the same settings and data, that is its latest run, not a draft.
        runs = store.list_runs(experiment_id)
        if runs:
            st.session_state["exp.autorun"] = True
            st.session_state[REOPENED_RUN] = (
                runs[0].id,
                runs[0].settings,
                runs[0].data_fingerprint,
            )
    _keep_widgets(workspace)
    st.query_params["id"] = experiment_id
    return workspace


def _keep_widgets(workspace: Workspace) -> None:
    """Put the settings widgets back as they were when the page was left.

    Streamlit drops (or resets) the state of widgets a run does not draw, so
    a run that comes back from another page restores the values the page
    last had; every run of the page then notes them again.
    """
    state = st.session_state
    if came_back():
        state.update(workspace.widgets)
    workspace.widgets = {
        key: state[key]
        for key in state
        if key in _SETTINGS_KEYS or key.startswith(_PARAM_PREFIX)
    }


def write_widgets(settings: ExperimentSettings) -> None:
    """Set the page's widgets from ``settings`` (on open, or reloading a run)."""
    st.session_state.update(_widget_values(settings))


_PARAM_PREFIX = "exp.param."


def _widget_values(settings: ExperimentSettings) -> dict:
    """The value of each settings widget (and helper key) for ``settings``."""
    source = settings.data_source
    time_range = settings.time_range or {}
    state: dict = {}
    # An imported experiment may name a file ("file" source): it opens on the
    # uploaded dataset holding a file of that name, once there is one.
    state["exp.source_kind"] = "sample" if source.kind == "sample" else "dataset"
    state["exp.sample"] = source.name if source.kind == "sample" else DEFAULT_SAMPLE
    state["exp.dataset"] = source.dataset_id
    state["exp.wanted_file"] = source.name if source.kind == "file" else None
    state["exp.dataset_gone"] = None
    state["exp.fields_for"] = None
    state["exp.query"] = settings.query
    state["exp.time_preset"] = time_range.get("preset", "all")
    state["exp.time_earliest"] = time_range.get("earliest") or ""
    state["exp.time_latest"] = time_range.get("latest") or ""
    state["exp.relative_to"] = time_range.get("relative_to", "latest")
    state["exp.fields"] = list(settings.fields)
    state["exp.fields_wanted"] = list(settings.fields)
    state["exp.fields_shown"] = None
    state["exp.numeric"] = list(settings.numeric_fields)
    state["exp.method"] = settings.method
    params = settings.params or {}
    for name, spec in method_parameters(settings.method).items():
        state[f"{_PARAM_PREFIX}{settings.method}.{name}"] = params.get(
            name, spec.default
        )
    threshold = params.get("threshold") or {}
    state["exp.sensitivity"] = threshold.get("kind", "saved")
    state["exp.sensitivity_kind"] = threshold.get("kind")
    state["exp.sensitivity_value"] = threshold.get("value")
    state["exp.cutoff"] = bool(params.get("cutoff", True))
    state["exp.use_pthresh"] = params.get("pthresh") is not None
    state["exp.pthresh"] = float(params.get("pthresh") or 0.01)
    state["exp.notes"] = settings.notes
    baseline = settings.baseline or {}
    state["exp.baseline"] = baseline.get("dataset_id") or ""
    state["exp.baseline_query"] = baseline.get("query", "")
    state["exp.source_name"] = source.name
    state["exp.page"] = 1
    return state


_SETTINGS_KEYS = frozenset(_widget_values(ExperimentSettings()))


def settings_from_widgets() -> ExperimentSettings:
    """Read the page's widgets back into settings."""
    from procanom.experiment import DataSource

    state = st.session_state
    kind = state.get("exp.source_kind", "sample")
    if kind == "dataset" and state.get("exp.dataset"):
        source = DataSource(
            "dataset", state.get("exp.source_name", ""), state.get("exp.dataset")
        )
    elif kind == "dataset" and state.get("exp.wanted_file"):
        source = DataSource("file", state["exp.wanted_file"])
    else:
        source = DataSource("sample", state.get("exp.sample", DEFAULT_SAMPLE))
    fields = list(state.get("exp.fields") or [])
    numeric = set(state.get("exp.numeric") or [])
    method = state.get("exp.method", DEFAULT_METHOD)
    return ExperimentSettings(
        data_source=source,
        query=state.get("exp.query", ""),
        time_range={
            "preset": state.get("exp.time_preset", "all"),
            "earliest": state.get("exp.time_earliest") or None,
            "latest": state.get("exp.time_latest") or None,
            "relative_to": state.get("exp.relative_to", "latest"),
        },
        fields=fields,
        field_types={f: "numeric" for f in fields if f in numeric},
        method=method,
        params=_params_from_widgets(method),
        notes=state.get("exp.notes", ""),
        baseline=_baseline_from_widgets(),
    )


def _baseline_from_widgets() -> dict | None:
    state = st.session_state
    if not state.get("exp.baseline"):
        return None
    return {
        "dataset_id": state["exp.baseline"],
        "query": state.get("exp.baseline_query", ""),
    }


def _params_from_widgets(method: str) -> dict:
    state = st.session_state
    params: dict = {}
    if method == "histogram":
        params["cutoff"] = bool(state.get("exp.cutoff", True))
    accepted = METHODS[method]._get_param_names() if method in METHODS else []
    if state.get("exp.use_pthresh") and "pthresh" in accepted:
        params["pthresh"] = float(state["exp.pthresh"])
    for name, spec in method_parameters(method).items():
        value = state.get(f"exp.param.{method}.{name}", spec.default)
        if value != spec.default:
            params[name] = value
    rule = sensitivity_rule()
    if rule is not None:
        params["threshold"] = rule
    return params


def sensitivity_rule() -> dict | None:
    """The results' sensitivity as a threshold rule; None keeps the method's."""
    state = st.session_state
    kind = state.get("exp.sensitivity", "saved")
    if kind in (None, "saved"):
        return None
    if kind in ("auto", "auto-strict"):
        return {"kind": kind}
    value = state.get("exp.sensitivity_value")
    return None if value is None else {"kind": kind, "value": float(value)}


def loaded_events_key(settings: ExperimentSettings) -> tuple[str, str]:
    """The cache key of a data source: ``(kind, sample key or dataset id)``."""
    source = settings.data_source
    if source.kind == "dataset" and source.dataset_id:
        return ("dataset", source.dataset_id)
    return ("sample", source.name or DEFAULT_SAMPLE)


__all__ = [
    "EXPERIMENT_ID",
    "MISSING_ID",
    "REOPENED_RUN",
    "WORKSPACE",
    "RunState",
    "Workspace",
    "current",
    "loaded_events_key",
    "open_experiment",
    "settings_from_widgets",
    "write_widgets",
]
