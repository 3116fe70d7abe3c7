"""Results leave procanom as text that stays text."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from procanom.export import defuse_formula, to_csv, to_json, to_terminal


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-enc AAA", "'-enc AAA"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\tx", "'\tx"),
        ("\rx", "'\rx"),
        ("cmd.exe", "cmd.exe"),
        ("", ""),
    ],
)
def test_export_defuse_formula(value, expected):
    assert defuse_formula(value) == expected


def test_export_csv_defuses_text_but_keeps_numbers(shared_cases):
    frame = pd.DataFrame(
        {"CommandLine": ['=HYPERLINK("http://x")', "ok"], "score": [-1.5, 2.0]}
    )
    rows = list(csv.DictReader(io.StringIO(to_csv(frame))))
    assert rows[0]["CommandLine"] == '\'=HYPERLINK("http://x")'
    assert rows[0]["score"] == "-1.5"


def test_export_json_is_splunk_shaped_and_finite():
    frame = pd.DataFrame({"a": ["x", None], "b": [np.nan, np.int64(3)]})
    payload = json.loads(to_json(frame, summary={"n": 2}))
    assert payload["summary"] == {"n": 2}
    assert payload["results"] == [{"a": "x", "b": None}, {"a": None, "b": 3.0}]


def test_export_terminal_strips_control_characters():
    assert to_terminal("a\x1b[2Jb\nc\x07") == "a[2Jb\\nc"
