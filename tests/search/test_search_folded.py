"""Searching folded columns through lower() LIKE selects what the regex does."""

from __future__ import annotations

import duckdb
import pytest

from procanom.errors import ParameterError
from procanom.search import compile_sql
from procanom.search._patterns import wildcard_like

VALUES = [
    "cmd.exe",
    "CMD.EXE",
    "powerſhell.exe",  # long s: RE2 folds it to "s"
    "powershell.exe",
    "İnstaller.exe",  # dotted capital I: lower() makes it "i", RE2 does not
    "installer.exe",
    "\u212aill.exe",  # Kelvin sign: both fold it to "k"
    "kill.exe",
    "50%_off.exe",
    "50xyoff.exe",
    "ΣΊΣΥΦΟΣ",
    "σίσυφος",
    "line\nbreak -ENC x",
    "C:\\Windows\\System32\\cmd.exe",
    "",
    None,
]
QUERIES = [
    "v=cmd.exe",
    "v=*.EXE",
    "v=cmd*",
    "v=*ll*",
    "v=powershell.exe",
    "v=installer.exe",
    "v=*nstaller*",
    "v=kill.exe",
    "v=50%_off.exe",
    "v=*%*",
    "v=σίσυφος",
    "v=*break*-enc*",
    "v=c:\\windows\\*\\cmd.exe",
    "NOT v=*.exe",
    "v!=cmd.exe",
    "v=cmd.exe OR v=kill*",
    "ll",
    "*ſ*",
    'v=""',
    "v=*",
]


@pytest.fixture(scope="module")
def conn():
    conn = duckdb.connect()
    conn.execute("CREATE TABLE events (v VARCHAR)")
    conn.executemany("INSERT INTO events VALUES (?)", [[v] for v in VALUES])
    yield conn
    conn.close()


def _selected(conn, query: str, folded: set[str]) -> list:
    sql, params = compile_sql(query, ["v"], folded=folded)
    rows = conn.execute(
        f"SELECT rowid FROM events WHERE {sql} ORDER BY rowid", params
    ).fetchall()
    return [r[0] for r in rows]


@pytest.mark.parametrize("query", QUERIES)
def test_compile_sql_folded_column_selects_what_the_regex_selects(conn, query):
    assert _selected(conn, query, {"v"}) == _selected(conn, query, set())


def test_compile_sql_folded_column_uses_lower_like():
    sql, params = compile_sql("v=*-enc*", ["v"], folded=["v"])
    assert sql == 'COALESCE(lower(CAST("v" AS VARCHAR)) LIKE ?, FALSE)'
    assert params == ["%-enc%"]


def test_compile_sql_folded_column_confirms_inexact_like_with_regex():
    sql, params = compile_sql("v=svchost.exe", ["v"], folded=["v"])
    assert "regexp_matches" in sql
    assert params == ["_vcho_t.exe", r"(?is)^svchost\.exe$"]


def test_compile_sql_refuses_folded_given_as_text():
    with pytest.raises(ParameterError, match="folded"):
        compile_sql("v=x", ["v"], folded="v")


@pytest.mark.parametrize(
    ("pattern", "whole", "expected"),
    [
        ("CMD.exe", True, ("cmd.exe", True)),
        ("*-Enc*", False, ("%%-enc%%", True)),
        ("a*b", True, ("a%b", True)),
        ("50%_x", True, ("50__x", False)),
        ("Sigma", True, ("__gma", False)),
        ("σ", False, ("%_%", False)),
    ],
)
def test_wildcard_like_marks_characters_it_cannot_write(pattern, whole, expected):
    assert wildcard_like(pattern, whole=whole) == expected
