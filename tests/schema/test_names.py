"""Process names: kept as the source writes them, taken from the path otherwise."""

from __future__ import annotations

import pandas as pd
import pytest

from procanom.schema import to_process_events
from procanom.schema._values import basenames

STRING = pd.StringDtype("pyarrow")
SCRIPT_NAME = "<script>alert(1)</script>.exe"


@pytest.mark.parametrize(
    ("path", "name"),
    [
        (r"C:\Windows\System32\cmd.exe", "cmd.exe"),
        (r'"C:\Program Files\Contoso App\app.exe"', "app.exe"),
        (r"\??\C:\Windows\system32\conhost.exe", "conhost.exe"),
        (r"\\server\share\tools\psexec.exe", "psexec.exe"),
        (rf"C:\Users\u1\Downloads\{SCRIPT_NAME}", SCRIPT_NAME),
        ("C:/Tools/a.exe", "a.exe"),
        ("/usr/bin/python3", "python3"),
        ("cmd.exe", "cmd.exe"),
        ("", ""),
    ],
)
def test_basenames_split_at_the_separator_the_path_uses(path, name):
    values = pd.Series([path, None], dtype=STRING)
    assert basenames(values).tolist() == [name, pd.NA]


def test_to_process_events_keeps_an_explicit_name_as_written(frame_of):
    frame = frame_of(
        [
            {"Name": SCRIPT_NAME, "Path": rf"C:\Temp\{SCRIPT_NAME}"},
            {"Name": "a/b.exe", "Path": r"C:\Temp\x.exe"},
            {"Name": "cmd", "Path": r"C:\Windows\System32\cmd.exe"},
        ]
    )
    names = to_process_events(frame).frame["Name"].tolist()
    assert names == [SCRIPT_NAME, "a/b.exe", "cmd"]


def test_to_process_events_takes_the_name_from_the_path_only_where_missing(frame_of):
    frame = frame_of(
        [
            {"Name": None, "Path": rf"C:\Temp\{SCRIPT_NAME}"},
            {"Name": "", "Path": "/usr/bin/python3"},
            {"Name": "svchost.exe", "Path": r"C:\Windows\System32\svchost.exe"},
        ]
    )
    names = to_process_events(frame).frame["Name"].tolist()
    assert names == [SCRIPT_NAME, "python3", "svchost.exe"]


def test_to_process_events_sysmon_image_with_a_slash_in_its_name(frame_of):
    frame = frame_of(
        [
            {
                "EventID": "1",
                "Channel": "Microsoft-Windows-Sysmon/Operational",
                "Image": rf"C:\Users\u1\AppData\Local\Temp\{SCRIPT_NAME}",
                "ParentImage": r"C:\Windows\explorer.exe",
            }
        ]
    )
    event = to_process_events(frame).frame.iloc[0]
    assert (event["Name"], event["ParentName"]) == (SCRIPT_NAME, "explorer.exe")


def test_to_process_events_keeps_an_explicit_parent_name(frame_of):
    frame = frame_of([{"ParentName": SCRIPT_NAME, "ParentPath": r"C:\Temp\p.exe"}])
    assert to_process_events(frame).frame["ParentName"].tolist() == [SCRIPT_NAME]
