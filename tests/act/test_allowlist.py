"""Allow-lists: matching, suppression without rescoring, store, CSV lookups."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from act_helpers import small_result

from procanom.allowlist import (
    SUPPRESSED_BY_COLUMN,
    AllowEntry,
    SuppressionSummary,
    allowlist_from_csv,
    allowlist_to_csv,
    apply_allowlist,
    conditions_from_row,
    entry_mask,
)
from procanom.errors import InputFileError, NotFoundError, ParameterError


def entry(conditions, match="literal", enabled=True, id="e1"):
    return AllowEntry(
        id=id,
        scope="global",
        experiment_id=None,
        conditions=conditions,
        match=match,
        enabled=enabled,
    )


def fleet() -> list[dict]:
    rows = [{"Name": "svchost.exe", "Path": r"C:\Windows\System32\svchost.exe"}] * 40
    rows += [{"Name": "mimikatz.exe", "Path": r"C:\Users\bob\AppData\mimikatz.exe"}]
    rows += [{"Name": "evil.exe", "Path": r"C:\Temp\evil.exe"}]
    rows += [{"Name": "ccmexec.exe", "Path": r"C:\Windows\CCM\CcmExec.exe"}]
    return rows


@pytest.fixture
def result():
    scored = small_result(fleet(), ["Name"], cutoff=False)
    assert scored.num_outliers == 3
    return scored


def flagged_names(result) -> set[str]:
    return set(result.outliers()["Name"])


def test_allowlist_literal_entry_ignores_case_and_keeps_scores(result):
    before = result.annotated.copy()

    allowed, summary = apply_allowlist(result, None, [entry({"Name": "MIMIKATZ.EXE"})])

    assert flagged_names(allowed) == {"evil.exe", "ccmexec.exe"}
    row = allowed.annotated[allowed.annotated["Name"] == "mimikatz.exe"].iloc[0]
    assert row["isOutlier"] == 0
    assert row[SUPPRESSED_BY_COLUMN] == "e1"
    pd.testing.assert_series_equal(
        allowed.annotated["anomaly_score"], before["anomaly_score"]
    )
    pd.testing.assert_series_equal(
        allowed.annotated["log_event_prob"], before["log_event_prob"]
    )
    assert allowed.fence == result.fence
    assert allowed.summary["num_anomalies"] == 2
    assert allowed.summary["num_suppressed"] == 1
    assert summary.describe() == "1 suppressed by 1 rule"
    # The input result is left alone (the app caches it).
    pd.testing.assert_frame_equal(result.annotated, before)


def test_allowlist_pattern_is_a_case_insensitive_whole_value_glob(result):
    users = entry({"Path": r"c:\users\*\appdata\*"}, match="pattern")
    allowed, _ = apply_allowlist(result, None, [users])
    assert flagged_names(allowed) == {"evil.exe", "ccmexec.exe"}

    # Not a substring search, and "." is not a wildcard.
    partial = entry({"Path": r"appdata\*"}, match="pattern")
    dotted = entry({"Name": "evil?exe"}, match="pattern")
    allowed, summary = apply_allowlist(result, None, [partial, dotted])
    assert allowed.num_outliers == 3
    assert summary.describe() == "none suppressed (2 rules checked)"


def test_allowlist_combination_needs_every_condition(result):
    both = entry({"Name": "ccmexec.exe", "Path": r"C:\Windows\CCM\CcmExec.exe"})
    wrong_path = entry({"Name": "ccmexec.exe", "Path": r"C:\Temp\CcmExec.exe"}, id="e2")

    allowed, summary = apply_allowlist(result, None, [both, wrong_path])

    assert flagged_names(allowed) == {"evil.exe", "mimikatz.exe"}
    assert summary.by_entry == {"e1": 1, "e2": 0}


def test_allowlist_event_matched_twice_names_both_entries(result):
    by_name = entry({"Name": "evil.exe"}, id="a")
    by_path = entry({"Path": r"*\evil.exe"}, match="pattern", id="b")
    allowed, summary = apply_allowlist(result, None, [by_name, by_path])
    row = allowed.annotated[allowed.annotated["Name"] == "evil.exe"].iloc[0]
    assert row[SUPPRESSED_BY_COLUMN] == "a,b"
    assert summary.suppressed == 1
    assert summary.describe() == "1 suppressed by 2 rules"


def test_allowlist_disabled_entry_suppresses_nothing(result):
    allowed, summary = apply_allowlist(
        result, None, [entry({"Name": "evil.exe"}, enabled=False)]
    )
    assert allowed.num_outliers == 3
    assert summary.describe() == "no allow-list rules"


def test_allowlist_only_touches_outliers(result):
    allowed, summary = apply_allowlist(result, None, [entry({"Name": "svchost.exe"})])
    assert allowed.num_outliers == 3
    assert summary.suppressed == 0
    assert (allowed.annotated[SUPPRESSED_BY_COLUMN] == "").all()


def test_allowlist_entry_on_a_missing_field_warns(result):
    allowed, summary = apply_allowlist(result, None, [entry({"User": "SYSTEM"})])
    assert allowed.num_outliers == 3
    assert summary.warnings and "User" in summary.warnings[0]


def test_allowlist_looks_up_unscored_columns_in_the_events(result):
    events = pd.DataFrame(fleet()).astype("string")
    events["User"] = "bob"
    trimmed = result.annotated.drop(columns=["Path"])
    result.annotated, original = trimmed, result.annotated
    try:
        allowed, summary = apply_allowlist(
            result, events, [entry({"Path": r"C:\Temp\evil.exe"})]
        )
    finally:
        result.annotated = original
    assert flagged_names(allowed) == {"mimikatz.exe", "ccmexec.exe"}
    assert not summary.warnings


def test_allowlist_empty_condition_matches_missing_values():
    frame = pd.DataFrame({"Name": ["a", None, "b"]}, dtype="string")
    mask = entry_mask(entry({"Name": ""}), frame)
    assert mask.tolist() == [False, True, False]
    assert entry_mask(entry({"Name": "*"}, match="pattern"), frame).all()


def test_allowlist_conditions_from_row_take_the_outliers_values(result):
    row = result.outliers().iloc[0]
    conditions = conditions_from_row(row, ["Name", "Path"])
    assert conditions == {"Name": row["Name"], "Path": row["Path"]}
    assert conditions_from_row({"Name": pd.NA}, ["Name"]) == {"Name": ""}


def test_allowlist_on_real_events_reports_rules_and_counts(sample_result):
    top = sample_result.outliers()["Name"].value_counts()
    names = list(top.index[:3])
    entries = [entry({"Name": name}, id=f"r{i}") for i, name in enumerate(names)]

    allowed, summary = apply_allowlist(sample_result, None, entries)

    expected = int(top.iloc[:3].sum())
    assert summary.suppressed == expected
    assert summary.describe() == f"{expected} suppressed by 3 rules"
    assert allowed.num_outliers == sample_result.num_outliers - expected
    assert allowed.num_events == sample_result.num_events


def test_suppression_summary_counts_rules_that_matched():
    summary = SuppressionSummary(14, {"a": 10, "b": 4, "c": 1, "d": 0}, 4)
    assert summary.describe() == "14 suppressed by 3 rules"
    assert summary.to_dict()["by_entry"]["d"] == 0


# -- store ---------------------------------------------------------------------


def test_store_allow_entries_add_list_update_disable_delete(store):
    one = store.create_experiment("one")
    two = store.create_experiment("two")
    mine = store.add_allow_entry(
        {"Name": "ccmexec.exe"}, experiment_id=one.id, reason="SCCM", author="ana"
    )
    theirs = store.add_allow_entry({"Name": "x.exe"}, experiment_id=two.id)
    shared = store.add_allow_entry(
        {"Path": r"C:\Program Files\*"}, scope="global", match="pattern"
    )

    assert mine.id and mine.created_at and mine.author == "ana"
    assert [e.id for e in store.list_allow_entries(one.id)] == [mine.id, shared.id]
    assert [e.id for e in store.list_allow_entries(one.id, include_global=False)] == [
        mine.id
    ]
    assert {e.id for e in store.list_allow_entries()} == {
        mine.id,
        theirs.id,
        shared.id,
    }

    changed = store.update_allow_entry(mine.id, reason="SCCM agent", match="pattern")
    assert (changed.reason, changed.match, changed.created_at) == (
        "SCCM agent",
        "pattern",
        mine.created_at,
    )
    assert store.disable_allow_entry(mine.id).enabled is False
    assert store.list_allow_entries(one.id, enabled_only=True) == [
        store.get_allow_entry(shared.id)
    ]

    store.delete_allow_entry(shared.id)
    with pytest.raises(NotFoundError, match=shared.id):
        store.get_allow_entry(shared.id)
    store.delete_experiment(two.id)
    with pytest.raises(NotFoundError):
        store.get_allow_entry(theirs.id)


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"conditions": {}}, "conditions"),
        ({"conditions": {"": "x"}}, "conditions field name"),
        ({"conditions": {"Name": ["a"]}}, "conditions['Name']"),
        ({"conditions": {"Name": "a"}, "match": "regex"}, "match"),
        ({"conditions": {"Name": "a"}, "scope": "team"}, "scope"),
        ({"conditions": {"Name": "a"}, "scope": "experiment"}, "experiment_id"),
        (
            {"conditions": {"Name": "a"}, "scope": "global", "experiment_id": "x"},
            "experiment_id",
        ),
    ],
)
def test_store_allow_entry_refuses_bad_values(store, kwargs, name):
    with pytest.raises(ParameterError) as caught:
        store.add_allow_entry(**{"scope": "global", **kwargs})
    assert caught.value.name == name


def test_store_allow_entry_for_a_missing_experiment_is_not_found(store):
    with pytest.raises(NotFoundError, match="nope"):
        store.add_allow_entry({"Name": "a"}, experiment_id="nope")


# -- CSV -----------------------------------------------------------------------


def test_allowlist_csv_round_trips_through_the_store(store):
    experiment = store.create_experiment("rare parents")
    tricky = 'cmd.exe /c "echo a,b" \n& =HYPERLINK("x")'
    saved = store.add_allow_entries(
        [
            AllowEntry(None, "experiment", experiment.id, {"Name": "ccmexec.exe"}),
            AllowEntry(
                None,
                "global",
                None,
                {"Path": r"C:\Program Files\*", "User": "NT AUTHORITY\\SYSTEM"},
                match="pattern",
                reason='vendors, "signed"',
                author="Ana Lopes",
                enabled=False,
            ),
            AllowEntry(
                None,
                "experiment",
                experiment.id,
                {"CommandLine": tricky, "Name": "=SUM(1)"},
                reason="-starts with a dash",
                author="'quoted",
            ),
            AllowEntry(None, "experiment", experiment.id, {"Name": "Ünïcode.exe"}),
        ]
    )

    text = allowlist_to_csv(saved)
    again = allowlist_from_csv(text, experiment_id=experiment.id)
    reloaded = store.add_allow_entries(again)

    def comparable(items):
        return [
            (
                e.scope,
                e.experiment_id,
                e.conditions,
                e.match,
                e.reason,
                e.author,
                e.created_at,
                e.enabled,
            )
            for e in items
        ]

    assert comparable(reloaded) == comparable(saved)
    assert all(r.id not in {s.id for s in saved} for r in reloaded)


def test_allowlist_csv_is_a_splunk_lookup_table():
    entries = [
        entry({"Name": "a.exe"}),
        entry({"Name": "b*.exe", "ParentName": "services.exe"}, match="pattern"),
    ]
    lines = allowlist_to_csv(entries).splitlines()
    assert lines[0] == "Name,ParentName,match,reason,author,scope,created_at,enabled"
    assert lines[1] == "a.exe,*,literal,,,global,,1"
    assert lines[2] == "b*.exe,services.exe,pattern,,,global,,1"


def test_allowlist_csv_defuses_formulas_for_spreadsheets():
    text = allowlist_to_csv([entry({"CommandLine": "=cmd|' /C calc'!A0"})])
    assert "\r\n'=cmd" in text


def test_allowlist_csv_written_by_hand_takes_defaults():
    text = "\ufeffName,ParentName\r\nccm*.exe,*\r\nmimikatz.exe,cmd.exe\r\n"
    first, second = allowlist_from_csv(text, author="ana")
    assert first.conditions == {"Name": "ccm*.exe"}
    assert (first.match, first.scope, first.author, first.enabled) == (
        "pattern",
        "global",
        "ana",
        True,
    )
    assert second.match == "literal"
    assert second.conditions == {"Name": "mimikatz.exe", "ParentName": "cmd.exe"}


@pytest.mark.parametrize(
    ("text", "line", "words"),
    [
        ("", None, "empty"),
        ("reason,enabled\r\nx,1\r\n", 1, "no field columns"),
        ("Name,enabled\r\na.exe,maybe\r\n", 2, "enabled holds 'maybe'"),
        ("Name,ParentName\r\na.exe,b\r\n*,*\r\n", 3, "suppress every outlier"),
        ("Name,match\r\na.exe,regex\r\n", 2, "match holds 'regex'"),
        ("Name,scope\r\na.exe,experiment\r\n", 2, "import it into an experiment"),
        ("Name,reason\r\na.exe\r\n", 2, "has 1 values"),
    ],
)
def test_allowlist_csv_bad_rows_name_the_line(text, line, words):
    with pytest.raises(InputFileError) as caught:
        allowlist_from_csv(text, source="allow.csv")
    assert caught.value.line == line
    assert caught.value.path == "allow.csv"
    assert words in str(caught.value)


def test_allowlist_csv_refuses_a_field_named_like_a_column():
    with pytest.raises(ParameterError, match="reason"):
        allowlist_to_csv([entry({"reason": "x"})])


def test_allowlist_csv_applies_like_the_entries_it_came_from(result):
    entries = [entry({"Path": r"C:\USERS\*"}, match="pattern")]
    again = allowlist_from_csv(allowlist_to_csv(entries))
    first, _ = apply_allowlist(result, None, entries)
    second, _ = apply_allowlist(result, None, again)
    np.testing.assert_array_equal(
        first.annotated["isOutlier"], second.annotated["isOutlier"]
    )


@pytest.mark.parametrize("method", ["histogram", "conditional", "zscore"])
def test_allowlist_result_relabels_with_fresh_causes(method):
    from procanom.scoring import ThresholdRule

    result = small_result(fleet(), ["Name", "Path"], method=method)
    allowed, _ = apply_allowlist(result, None, [entry({"Name": "evil.exe"})])

    relabelled = allowed.relabel(ThresholdRule("top", 2))
    fresh = result.relabel(ThresholdRule("top", 2))
    columns = ["isOutlier", "probable_cause", "probable_cause_freq"]
    pd.testing.assert_frame_equal(
        relabelled.annotated[columns], fresh.annotated[columns]
    )
