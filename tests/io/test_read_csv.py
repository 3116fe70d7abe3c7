"""CSV and TSV: encodings, separators, quoting, malformed rows, speed paths."""

from __future__ import annotations

import codecs

import pytest

from procanom.io._delimited import quotes_well_formed, sniff_delimiter

ROWS = (
    'Name,Path\r\n"reportgen","C:\\Users\\jürgen\\r.exe"\r\n"cmd.exe","C:\\cmd.exe"\r\n'
)


@pytest.mark.parametrize(
    ("encoded", "encoding"),
    [
        (ROWS.encode("utf-8"), "utf-8"),
        (codecs.BOM_UTF8 + ROWS.encode("utf-8"), "utf-8 with BOM"),
        (codecs.BOM_UTF16_LE + ROWS.encode("utf-16-le"), "utf-16-le with BOM"),
        (ROWS.encode("utf-16-le"), "utf-16-le"),
        (codecs.BOM_UTF16_BE + ROWS.encode("utf-16-be"), "utf-16-be with BOM"),
        (ROWS.encode("utf-16-be"), "utf-16-be"),
    ],
)
def test_read_csv_encodings_decode_without_loss(read_bytes, encoded, encoding):
    loaded = read_bytes(encoded, "p.csv")
    assert list(loaded.frame.columns) == ["Name", "Path"]
    assert loaded.frame["Path"].iloc[0] == "C:\\Users\\jürgen\\r.exe"
    assert loaded.report.encodings["p.csv"] == encoding
    assert not loaded.report.warnings


def test_read_csv_windows_1252_fallback_warns(read_bytes):
    loaded = read_bytes(ROWS.encode("cp1252"), "ansi.csv")
    assert loaded.frame["Path"].iloc[0] == "C:\\Users\\jürgen\\r.exe"
    assert loaded.report.encodings["ansi.csv"] == "windows-1252"
    (warning,) = loaded.report.warnings
    assert "ansi.csv" in warning and "not valid UTF-8" in warning


def test_read_csv_forced_encoding(read_bytes):
    loaded = read_bytes(ROWS.encode("cp1252"), "ansi.csv", encoding="cp1252")
    assert loaded.frame["Path"].iloc[0] == "C:\\Users\\jürgen\\r.exe"
    assert not loaded.report.warnings


@pytest.mark.parametrize(
    ("delimiter", "fmt"), [(",", "csv"), (";", "csv"), ("\t", "tsv"), ("|", "csv")]
)
def test_read_csv_sniffs_delimiter(read_bytes, delimiter, fmt):
    lines = [
        ["Name", "CommandLine", "CPU"],
        ["a.exe", "a.exe /x", "1"],
        ["b", "b", "2"],
    ]
    content = "\n".join(delimiter.join(r) for r in lines) + "\n"
    loaded = read_bytes(content.encode(), "d.txt")
    assert list(loaded.frame.columns) == ["Name", "CommandLine", "CPU"]
    assert loaded.frame["CommandLine"].tolist() == ["a.exe /x", "b"]
    assert loaded.report.formats["d.txt"] == fmt


def test_read_csv_use_culture_keeps_decimal_commas(read_bytes):
    content = (
        b'"Name";"CPU";"Id"\r\n"chrome";"12,5";"4711"\r\n"svchost";"0,25";"812"\r\n'
    )
    frame = read_bytes(content, "culture.csv").frame
    assert frame["CPU"].tolist() == ["12,5", "0,25"]
    assert frame["Id"].tolist() == ["4711", "812"]


def test_sniff_delimiter_prefers_consistent_widths():
    sample = "Name;Value\nx;1,5\ny;2,25\nz;3\n"
    assert sniff_delimiter(sample) == ";"
    assert sniff_delimiter("OnlyOneColumn\nx\ny\n") == ","


@pytest.mark.parametrize(
    ("data", "ok"),
    [
        (b'a,"b",c\n', True),
        (b'"a ""quoted"" word",b\r\n', True),
        (b'"",""\n', True),
        (b'"line\nbreak",x\n', True),
        (b'a,"b "c" d",e\n', False),
        (b'a,"never closed\n', False),
        (b'a,x"y,z\n', False),
        (b'"a" b,c\n', False),
    ],
)
def test_quotes_well_formed(data, ok):
    assert quotes_well_formed(data, ",") is ok


def test_read_csv_union_of_first_seen_columns_and_empty_as_missing(read_bytes):
    frame = read_bytes(b'a,b,c\n1,,""\n', "e.csv").frame
    assert frame["a"].tolist() == ["1"]
    assert frame["b"].isna().all() and frame["c"].isna().all()


def test_read_csv_duplicate_and_empty_header_names_renamed(read_bytes):
    loaded = read_bytes(b"Name,Name,,Path\nx,y,z,p\n", "dup.csv")
    assert list(loaded.frame.columns) == ["Name", "Name.1", "column_3", "Path"]
    assert any("renamed" in w for w in loaded.report.warnings)


def test_read_csv_repeated_header_and_type_line_skipped(read_bytes):
    content = (
        b'#TYPE System.Diagnostics.Process\r\n"Name","Id"\r\n"a","1"\r\n'
        b'#TYPE System.Diagnostics.Process\r\n"Name","Id"\r\n"b","2"\r\n'
    )
    loaded = read_bytes(content, "joined.csv")
    assert loaded.frame["Name"].tolist() == ["a", "b"]
    skipped = loaded.report.skipped
    assert [s.line for s in skipped] == [4, 5]
    assert "#TYPE" in skipped[0].reason and "repeated header" in skipped[1].reason


def test_read_csv_unclosed_quote_loses_only_its_line(read_bytes):
    content = b'Name,CommandLine\na,"ok"\nb,"never closed\nc,"fine"\nd,plain\n'
    loaded = read_bytes(content, "q.csv")
    assert loaded.frame["Name"].tolist() == ["a", "c", "d"]
    (skipped,) = loaded.report.skipped
    assert skipped.line == 3 and skipped.reason.startswith("broken quoting")


def test_read_csv_malformed_rows_in_large_file_keep_the_rest(read_bytes):
    good = "".join(f'WKS-{i},"cmd.exe /c echo {i}",x\n' for i in range(60_000))
    lines = good.splitlines(keepends=True)
    lines.insert(50_000, 'bad,"cmd "inner" x",y\n')
    lines.insert(10, "short,row\n")
    content = ("host,CommandLine,z\n" + "".join(lines)).encode()
    loaded = read_bytes(content, "big.csv")
    assert len(loaded.frame) == 60_000
    assert loaded.frame["host"].iloc[-1] == "WKS-59999"
    assert [s.line for s in loaded.report.skipped] == [12, 50_003]


def test_read_csv_skipped_text_is_truncated(read_bytes):
    content = b"a,b\n" + b"x," * 300 + b"y\n"
    (skipped,) = read_bytes(content, "long.csv").report.skipped
    assert len(skipped.text) <= 200


def test_read_csv_header_only_gives_empty_frame_and_warning(read_bytes):
    loaded = read_bytes(b'"Name","Path"\r\n', "header.csv")
    assert list(loaded.frame.columns) == ["Name", "Path"]
    assert len(loaded.frame) == 0
    assert loaded.report.warnings == ["header.csv has a header but no data rows."]


def test_read_csv_question_marks_in_urls_do_not_warn(read_bytes):
    content = (
        b"CommandLine\n"
        b'"curl https://example.invalid/a?b=c"\n'
        b'"\\??\\C:\\Windows\\system32\\conhost.exe 0xffffffff"\n'
    )
    assert not read_bytes(content, "urls.csv").report.warnings


def test_read_csv_question_mark_inside_word_warns(read_bytes):
    content = b"Path\nC:\\Users\\j?rgen\\a.exe\nC:\\b.exe\n"
    (warning,) = read_bytes(content, "ascii.csv").report.warnings
    assert "ascii.csv" in warning and "j?rgen" in warning


def test_read_csv_small_scientific_numbers_not_excel(read_bytes):
    content = b"Name,CPU\na,1.5625E-05\nb,2.5E+03\n"
    assert not read_bytes(content, "cpu.csv").report.warnings


def test_read_csv_excel_separator_hint_line(read_bytes):
    content = b"sep=;\r\nName;Path\r\na.exe;C:\\a,b.exe\r\n"
    frame = read_bytes(content, "hint.csv").frame
    assert list(frame.columns) == ["Name", "Path"]
    assert frame["Path"].tolist() == ["C:\\a,b.exe"]
