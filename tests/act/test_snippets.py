"""The Python snippet reproduces the experiment's outliers."""

from __future__ import annotations

import contextlib
import io

import pandas as pd
from act_helpers import FIELDS, SAMPLE

from procanom.experiment import DataSource, ExperimentSettings, run_settings
from procanom.io import read_events
from procanom.samples import SAMPLES
from procanom.snippets import to_python


def run_snippet(code: str) -> dict:
    namespace: dict = {}
    with contextlib.redirect_stdout(io.StringIO()):
        exec(compile(code, "<snippet>", "exec"), namespace)
    return namespace


def test_to_python_on_the_sample_gives_the_same_outliers(
    sample_settings, sample_result
):
    sample_settings.query = 'ParentName!="services.exe"'
    sample_settings.params = {"cutoff": False, "pthresh": None}
    code = to_python(sample_settings, [SAMPLES[SAMPLE].filename])

    namespace = run_snippet(code)

    from procanom.io import read_upload

    sample = SAMPLES[SAMPLE]
    events = read_upload([(sample.filename, sample.path.read_bytes())]).frame
    expected = run_settings(sample_settings, events)
    got = namespace["outliers"]
    assert sorted(got.index) == sorted(expected.outliers().index)
    assert len(got) == expected.num_outliers > 0
    assert f"sample_path({SAMPLE!r})" in code


def test_to_python_on_files_names_them(tmp_path):
    path = tmp_path / "events.csv"
    pd.read_csv(SAMPLES[SAMPLE].path, dtype=str).head(200).to_csv(path, index=False)
    settings = ExperimentSettings(
        data_source=DataSource("file", "events.csv"),
        fields=FIELDS,
        params={"threshold": {"kind": "top", "value": 7}},
    )

    namespace = run_snippet(to_python(settings, [str(path)]))

    expected = run_settings(settings, read_events(path).frame)
    assert sorted(namespace["outliers"].index) == sorted(expected.outliers().index)
    assert namespace["result"].threshold.kind == "top"
