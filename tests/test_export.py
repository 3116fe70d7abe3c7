"""Results leave procanom as text that stays text."""

from __future__ import annotations

import csv
import io
import json

import numpy as np
import pandas as pd
import pytest

from procanom.export import (
    defuse_formula,
    reveal_hidden,
    reveal_hidden_frame,
    to_csv,
    to_json,
    to_terminal,
)


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


def test_export_terminal_shows_control_characters_inert():
    assert to_terminal("a\x1b[2Jb\nc\x07") == "a<U+001B>[2Jb\\nc<U+0007>"


@pytest.mark.parametrize(
    ("text", "shown"),
    [
        # A right-to-left override dresses a program up as a document.
        ("invoice\u202eexe.txt", "invoice<U+202E>exe.txt"),
        ("a\u2066b\u2069c\u200fd\u061ce", "a<U+2066>b<U+2069>c<U+200F>d<U+061C>e"),
        # Zero-width characters make two different names look the same.
        ("svc\u200bhost.exe", "svc<U+200B>host.exe"),
        ("\ufeffcmd.exe\u00ad", "<U+FEFF>cmd.exe<U+00AD>"),
        ("x\x00y\x9bz", "x<U+0000>y<U+009B>z"),
        # Text people write is left alone, line breaks and tabs included.
        *[(text, text) for text in ["C:\\Users\\Zoë\\файл 文件.exe\t-x\r\n"]],
    ],
)
def test_reveal_hidden_shows_every_invisible_character(text, shown):
    assert reveal_hidden(text) == shown


def test_reveal_hidden_frame_touches_only_text_that_needs_it():
    frame = pd.DataFrame(
        {
            "Name": pd.array(["cmd.exe", "x\u202eexe.txt", None], dtype="string"),
            "score": [1.0, 2.0, 3.0],
            "Path": pd.Categorical(["a", "b\u200b", "a"]),
        },
        index=[7, 8, 9],
    )
    shown = reveal_hidden_frame(frame)
    assert shown["Name"].iloc[:2].tolist() == ["cmd.exe", "x<U+202E>exe.txt"]
    assert pd.isna(shown["Name"].iloc[2])
    assert shown.index.tolist() == [7, 8, 9]
    assert shown["score"].tolist() == [1.0, 2.0, 3.0]
    assert shown["Path"].tolist() == ["a", "b<U+200B>", "a"]
    clean = frame.drop(index=8).drop(columns="Path")
    assert reveal_hidden_frame(clean) is clean
    assert frame.loc[8, "Name"] == "x\u202eexe.txt"  # the data itself is untouched
