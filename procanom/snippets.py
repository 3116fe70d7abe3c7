"""The page's result as a short Python program using procanom.

Beside the SPL and the ``procanom detect`` command (:mod:`procanom.spl`), an
analyst can take an experiment into a notebook: :func:`to_python` writes the
few lines that read the same events and run the same settings through
:func:`procanom.experiment.run_settings`, which is what the app runs, so the
outliers are the same.
"""

from __future__ import annotations

import pprint
import textwrap
from collections.abc import Sequence

from procanom.experiment import ExperimentSettings

__all__ = ["to_python"]


def to_python(
    settings: ExperimentSettings,
    files: Sequence[str] = (),
    allowlist_file: str | None = None,
) -> str:
    """Return a Python snippet reproducing ``settings`` on ``files``.

    Parameters
    ----------
    settings : ExperimentSettings
    files : sequence of str
        The event files, as the page names them. A bundled sample is read
        by its key instead; uploaded files are named as they were uploaded,
        so the reader may need to give their path.
    allowlist_file : str, optional
        The allow-list exported as CSV; the snippet clears the outliers it
        covers, as the page does.

    Returns
    -------
    str
        Python source that prints the outliers; running it leaves
        ``events``, ``result`` and ``outliers`` defined.
    """
    source = settings.data_source
    lines = [
        "# The experiment's outliers, with procanom's Python API.",
        "from procanom.experiment import ExperimentSettings, run_settings",
        "from procanom.io import read_events",
    ]
    if source.kind == "sample" and source.name:
        lines += [
            "from procanom.samples import sample_path",
            "",
            f"events = read_events(sample_path({source.name!r})).frame",
        ]
    else:
        lines += [
            "",
            "# The files as the experiment read them; give their path if needed.",
            f"events = read_events({list(files)!r}).frame",
        ]
    literal = pprint.pformat(settings.to_dict(), sort_dicts=False, width=80)
    shown = [*settings.fields, "probable_cause", "anomaly_score"]
    lines += [
        "settings = ExperimentSettings.from_dict(",
        textwrap.indent(literal, "    "),
        ")",
        "result = run_settings(settings, events)",
        *_allowlist_lines(allowlist_file),
        "outliers = result.outliers().sort_values('anomaly_score', ascending=False)",
        "print(f'{result.num_outliers} outliers in {result.num_events} events')",
        f"print(outliers[{shown!r}].to_string())",
    ]
    return "\n".join(lines) + "\n"


def _allowlist_lines(path: str | None) -> list[str]:
    if not path:
        return []
    return [
        "",
        "# Clear the outliers the allow-list covers (exported from the app).",
        "from pathlib import Path",
        "from procanom.allowlist import allowlist_from_csv, apply_allowlist",
        "",
        f"text = Path({path!r}).read_text(encoding='utf-8-sig')",
        "entries = allowlist_from_csv(text, experiment_id='notebook')",
        "result, _ = apply_allowlist(result, events, entries)",
    ]
