"""How search text is read: the tree, the refusals and where they point."""

from __future__ import annotations

import pytest
from search_cases import CASES

from procanom.errors import ParameterError, QueryError
from procanom.search import (
    MAX_DEPTH,
    MAX_QUERY_LENGTH,
    And,
    Compare,
    MatchAll,
    Not,
    Or,
    Query,
    Term,
    describe_query,
    parse_query,
    to_spl,
)

# -- the tree ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "root"),
    [
        ("", MatchAll()),
        ("  ", MatchAll()),
        ("*", MatchAll()),
        ("Name=cmd.exe", Compare("Name", "=", "cmd.exe")),
        ('Name="a b"', Compare("Name", "=", "a b")),
        ("Name!=x", Compare("Name", "!=", "x")),
        ("n<=5", Compare("n", "<=", "5")),
        ("n>=5", Compare("n", ">=", "5")),
        ("n<5", Compare("n", "<", "5")),
        ("n>5", Compare("n", ">", "5")),
        ("'A B'=x", Compare("A B", "=", "x")),
        ("'it\\'s'=x", Compare("it's", "=", "x")),
        ('"A B"=x', Compare("A B", "=", "x")),
        ("Event-ID:x.y_z=1", Compare("Event-ID:x.y_z", "=", "1")),
        ('Name="say \\"hi\\""', Compare("Name", "=", 'say "hi"')),
        ('Path="C:\\\\Temp\\\\"', Compare("Path", "=", "C:\\Temp\\")),
        ('Path="C:\\Temp\\x"', Compare("Path", "=", "C:\\Temp\\x")),
        ("Path=C:\\Temp\\*", Compare("Path", "=", "C:\\Temp\\*")),
        ("Name=NOT", Compare("Name", "=", "NOT")),
        ("powershell", Term("powershell")),
        ('"a phrase"', Term("a phrase")),
        ("O'Brien", Term("O'Brien")),
        ("a!b", Term("a!b")),
        ("a b", And((Term("a"), Term("b")))),
        ("a AND b", And((Term("a"), Term("b")))),
        ("a and b", And((Term("a"), Term("and"), Term("b")))),
        ("a OR b", Or((Term("a"), Term("b")))),
        ("a b OR c", And((Term("a"), Or((Term("b"), Term("c")))))),
        ("a OR b c", And((Or((Term("a"), Term("b"))), Term("c")))),
        ("(a b) OR c", Or((And((Term("a"), Term("b"))), Term("c")))),
        ("NOT a b", And((Not(Term("a")), Term("b")))),
        ("NOT a OR b", Or((Not(Term("a")), Term("b")))),
        ("NOT (a OR b)", Not(Or((Term("a"), Term("b"))))),
        ("NOT(a)", Not(Term("a"))),
        ("((a))", Term("a")),
        ("a (b c) d", And((Term("a"), Term("b"), Term("c"), Term("d")))),
        ("* a", Term("a")),
        ("a OR *", MatchAll()),
    ],
)
def test_parse_query_builds_tree(text, root):
    assert parse_query(text).root == root


def test_parse_query_keeps_text_out_of_equality():
    query = parse_query("a   AND (b)")

    assert query.text == "a   AND (b)"
    assert query == parse_query("a b")


def test_query_fields_lists_compared_names():
    query = parse_query("Name=x (User=y OR 'A B'=z) free NOT host=q n>3")

    assert query.fields() == {"Name", "User", "A B", "host", "n"}
    assert parse_query("just text").fields() == set()


def test_query_matches_everything_only_for_empty_search():
    assert parse_query(" * ").matches_everything
    assert not parse_query("NOT *").matches_everything


def test_parse_query_refuses_non_text():
    with pytest.raises(ParameterError, match="query"):
        parse_query(None)


# -- refusals and where they point ---------------------------------------------


@pytest.mark.parametrize(
    ("text", "position", "message"),
    [
        ("(Name=cmd.exe", 0, "never closed"),
        ("(((a)", 1, "never closed"),
        ("Name=cmd.exe)", 12, "no matching"),
        ("a)", 1, "no matching"),
        ("()", 1, "empty parentheses"),
        ("a AND", 2, "AND must be followed"),
        ("a OR", 2, "OR must be followed"),
        ("Name=cmd.exe OR", 13, "OR must be followed"),
        ("NOT", 0, "NOT must be followed"),
        ("NOT NOT", 4, "NOT must be followed"),
        ("a OR OR b", 2, "OR must be followed"),
        ("a AND OR b", 2, "AND must be followed"),
        ("(a OR) b", 3, "OR must be followed"),
        ("AND a", 0, "needs a search term before"),
        ("OR", 0, "needs a search term before"),
        ("Name=", 4, "needs a value"),
        ("Name= ", 4, "needs a value"),
        ("(Name=)", 5, "needs a value"),
        ("Name= AND x", 4, "needs a value"),
        ("x<", 1, "needs a value"),
        ("Name==x", 5, "cannot follow"),
        ("Name=a=b", 6, "after a value"),
        ("=x", 0, "needs a field name"),
        ("a/b=c", 1, "bare field name"),
        ("Name*=c", 4, "bare field name"),
        ("''=x", 0, "empty field name"),
        ("'A B'", 0, "single quotes name a field"),
        ("Name='cmd.exe'", 5, 'single quotes .* write Name="cmd.exe"'),
        ('""', 0, "empty phrase"),
        ('Name="abc', 5, "unterminated quote"),
        ('"abc', 0, "unterminated quote"),
        ('"C:\\"', 0, "unterminated quote"),
        ("'Name=x", 0, "unterminated quote"),
        ("Name=a|b", 6, "pipes"),
        ("x | stats count", 2, "pipes"),
        ("[search x]", 0, "subsearches"),
        ("a ]", 2, "subsearches"),
        ("`macro`", 0, "macros"),
        ("a\x00b", 1, "control character U\\+0000"),
        ('Name="a\x01"', 7, "control character U\\+0001"),
        ("a \x1b[31m", 2, "control character U\\+001B"),
    ],
)
def test_parse_query_error_points_at_offending_character(text, position, message):
    with pytest.raises(QueryError, match=message) as info:
        parse_query(text)

    assert info.value.position == position
    assert info.value.query == text
    assert info.value.pointer().endswith("\n" + " " * position + "^")


@pytest.mark.parametrize(
    ("text", "position"),
    [
        ("(" * 5000 + "a" + ")" * 4999, MAX_DEPTH),
        ("(" * 5000 + "a", MAX_DEPTH),
        ("NOT " * 2400 + "a", 4 * MAX_DEPTH),
        ("(NOT " * 60 + "a" + ")" * 60, 5 * 50),
    ],
    ids=["5000 parentheses", "5000 unclosed", "2400 NOTs", "mixed"],
)
def test_parse_query_deep_nesting_is_a_query_error(text, position):
    with pytest.raises(QueryError, match="levels deep") as info:
        parse_query(text)

    assert info.value.position == position


def test_parse_query_nesting_past_length_limit_is_a_query_error():
    with pytest.raises(QueryError, match="characters long"):
        parse_query("(" * 5000 + "a" + ")" * 5000)


def test_parse_query_accepts_nesting_up_to_the_limit():
    depth = MAX_DEPTH
    query = parse_query("(" * depth + "a" + ")" * depth)

    assert query.root == Term("a")


def test_parse_query_refuses_text_over_length_limit():
    text = "a " * (MAX_QUERY_LENGTH // 2 + 1)

    with pytest.raises(QueryError, match="characters long") as info:
        parse_query(text)

    assert info.value.position == MAX_QUERY_LENGTH


def test_parse_query_accepts_many_terms_without_recursion():
    text = " OR ".join(f"n={i}" for i in range(1000))

    query = parse_query(text)

    assert isinstance(query.root, Or)
    assert len(query.root.children) == 1000


# -- renderings ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "described", "spl"),
    [
        ("", "*", "*"),
        ("Name=cmd.exe  whoami OR  net", 'Name="cmd.exe" AND (whoami OR net)',
         "Name=cmd.exe (whoami OR net)"),
        ("(a b) OR c", "(a AND b) OR c", "(a b) OR c"),
        ("NOT (a OR b) c", "NOT (a OR b) AND c", "NOT (a OR b) c"),
        ("'Process Command Line'=*whoami*", "'Process Command Line'=\"*whoami*\"",
         '"Process Command Line"=*whoami*'),
        ('User="NT AUTHORITY\\SYSTEM"', 'User="NT AUTHORITY\\\\SYSTEM"',
         'User="NT AUTHORITY\\\\SYSTEM"'),
        ("n>=10 n<abc", 'n>=10 AND n<abc', "n>=10 n<abc"),
        ('"a b" c', '"a b" AND c', '"a b" c'),
        ("Name=AND", 'Name="AND"', 'Name="AND"'),
        ("'AND'=x", "'AND'=\"x\"", '"AND"=x'),
        ('Name=""', 'Name=""', 'Name=""'),
    ],
)  # fmt: skip
def test_describe_query_and_to_spl_render_search(text, described, spl):
    assert describe_query(text) == described
    assert to_spl(text) == spl
    assert str(parse_query(text)) == described


@pytest.mark.parametrize("text", [q for q, _ in CASES])
def test_renderings_parse_back_to_same_query(text):
    query = parse_query(text)

    assert parse_query(query.describe()) == query
    assert parse_query(query.to_spl()) == query


def test_renderings_accept_parsed_query():
    query = parse_query("a b")

    assert describe_query(query) == "a AND b"
    assert to_spl(query) == "a b"
    assert isinstance(query, Query)


@pytest.mark.parametrize(
    "module",
    ["procanom.search", "procanom.search._parser", "procanom.search._sql"],
)
def test_docstring_examples_hold(module):
    import doctest
    import importlib

    result = doctest.testmod(importlib.import_module(module))

    assert result.attempted > 0
    assert result.failed == 0
