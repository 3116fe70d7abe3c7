"""The page's result as a Splunk pipeline and as a procanom command.

Analysts move between Splunk and procanom. "Show SPL" renders the settings
of an experiment as the commented Splunk search that would give the same
answer (for the methods Splunk has), and as the ``procanom detect`` command
that reproduces the page's outliers and threshold on the same files.
"""

from __future__ import annotations

import json
import shlex
from collections.abc import Sequence

from procanom.allowlist import LOOKUP_NAME
from procanom.experiment import ExperimentSettings

__all__ = ["to_cli", "to_spl"]

_SPLUNK_METHODS = {"histogram", "zscore", "iqr"}


def _spl_quote(name: str) -> str:
    return '"' + name.replace("\\", "\\\\").replace('"', '\\"') + '"'


def _spl_time(time_range: dict) -> str:
    preset = time_range.get("preset", "all")
    if preset == "all":
        return ""
    if preset == "custom":
        bounds = [
            f'{key}="{time_range[key]}"'
            for key in ("earliest", "latest")
            if time_range.get(key)
        ]
        return " ".join(bounds)
    return f"earliest=-{preset} latest=now"


def _time_note(time_range: dict) -> list[str]:
    if time_range.get("preset", "all") in {"all", "custom"}:
        return []
    if time_range.get("relative_to", "latest") == "now":
        return []
    return [
        "``` procanom counted this range back from the latest event in the data;"
        " Splunk counts back from now ```"
    ]


def to_spl(
    settings: ExperimentSettings,
    index_hint: str = "<your process events>",
    allowlist_fields: Sequence[str] = (),
) -> str:
    """Return the Splunk search equivalent to ``settings``, commented line by line.

    Parameters
    ----------
    settings : ExperimentSettings
    index_hint : str
        What to write where the data source goes.
    allowlist_fields : sequence of str
        The fields the experiment's allow-list entries name; when given, the
        search clears the outliers the ``procanom_allowlist`` lookup (the
        Allow-list page's CSV) covers, as the page does.
    """
    from procanom.search import to_spl as query_to_spl

    fields = " ".join(_spl_quote(f) for f in settings.fields)
    search = query_to_spl(settings.query) if settings.query.strip() else ""
    search = "" if search == "*" else search
    time = _spl_time(settings.time_range)
    params = settings.method_params()
    options = ["action=annotate"]
    if params.get("pthresh") is not None:
        options.append(f"pthresh={params['pthresh']}")
    elif settings.method == "histogram":
        options.append(f"cutoff={'true' if params.get('cutoff', True) else 'false'}")

    lines = [
        f"``` 1. Select the events: {index_hint}, filtered by the search"
        " and time range ```",
        f"search {search} {time}".rstrip() if (search or time) else "search *",
        *_time_note(settings.time_range),
    ]
    if settings.method in _SPLUNK_METHODS:
        lines += [
            f"``` 2. Score how improbable each event's combination of {fields}"
            f" is ({settings.method}) ```",
            f"| anomalydetection method={settings.method} {' '.join(options)} {fields}",
        ]
    else:
        lines += [
            f"``` 2. procanom's {settings.method!r} method has no Splunk"
            " equivalent; this scores with Splunk's histogram instead ```",
            f"| anomalydetection {' '.join(options)} {fields}",
        ]
    lines += [
        "``` 3. Mark outliers as the experiment does: a probable cause"
        " means an outlier ```",
        '| eval isOutlier=if(probable_cause != "", "1", "0")',
    ]
    if allowlist_fields:
        names = " ".join(_spl_quote(f) for f in allowlist_fields)
        lines += [
            "``` 3b. Clear the outliers the allow-list covers (the lookup"
            f" {LOOKUP_NAME}, exported from the Allow-list page) ```",
            f"| lookup {LOOKUP_NAME} {names}"
            " OUTPUT reason AS allow_reason enabled AS allow_enabled",
            '| eval isOutlier=if(isnotnull(allow_reason) AND allow_enabled="1",'
            ' "0", isOutlier)',
        ]
    lines += [
        "``` 4. Keep the analysed fields and sort outliers first ```",
        f"| table {fields} probable_cause isOutlier",
        "| sort 0 - isOutlier",
    ]
    return "\n".join(lines)


# Parameters with options of their own on ``procanom detect``.
_OWN_OPTIONS = {"cutoff", "pthresh", "threshold", "numeric_fields"}


def to_cli(
    settings: ExperimentSettings,
    files: Sequence[str],
    allowlist_file: str | None = None,
) -> str:
    """Return the ``procanom detect`` command reproducing ``settings`` on ``files``.

    A bundled sample is named with ``--sample`` rather than by its path;
    ``allowlist_file``, the allow-list exported as CSV, is passed as
    ``--allowlist``.
    """
    source = settings.data_source
    if source.kind == "sample" and source.name:
        args = ["procanom", "detect", "--sample", source.name]
    else:
        args = ["procanom", "detect", *files]
    if any("," in f for f in settings.fields):
        for name in settings.fields:
            args += ["--field", name]
    else:
        args += ["--fields", ",".join(settings.fields)]
    args += ["--method", settings.method]
    params = settings.method_params()
    for name in settings.numeric_fields:
        args += ["--numeric", name]
    if settings.query.strip():
        args += ["--search", settings.query.strip()]
    time_range = settings.time_range or {}
    if time_range.get("preset", "all") != "all":
        args += ["--time-range", time_range["preset"]]
        for key in ("earliest", "latest"):
            if time_range.get(key):
                args += [f"--{key}", str(time_range[key])]
        if time_range.get("relative_to", "latest") == "now":
            args += ["--relative-to", "now"]
    for name, value in params.items():
        if name not in _OWN_OPTIONS:
            args += ["--param", f"{name}={json.dumps(value)}"]
    if params.get("pthresh") is not None:
        args += ["--pthresh", str(params["pthresh"])]
    elif "cutoff" in params:
        args.append("--cutoff" if params["cutoff"] else "--no-cutoff")
    threshold = params.get("threshold")
    if threshold:
        args += ["--threshold", f"{threshold['kind']}:{threshold.get('value') or ''}"]
    if allowlist_file:
        args += ["--allowlist", allowlist_file]
    return " ".join(shlex.quote(a) for a in args)
