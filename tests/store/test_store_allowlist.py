"""Allow-list entries in the store: moving between scopes, use over runs."""

from __future__ import annotations

import pytest

from procanom.errors import NotFoundError, ParameterError


def test_store_allow_entry_update_moves_between_scopes(store):
    first = store.create_experiment("First")
    second = store.create_experiment("Second")
    entry = store.add_allow_entry(
        {"Name": "ccmexec.exe"}, experiment_id=first.id, reason="SCCM"
    )

    moved = store.update_allow_entry(
        entry.id, scope="experiment", experiment_id=second.id
    )
    assert (moved.scope, moved.experiment_id) == ("experiment", second.id)
    assert store.list_allow_entries(first.id, include_global=False) == []

    widened = store.update_allow_entry(entry.id, scope="global")
    assert (widened.scope, widened.experiment_id) == ("global", None)
    assert widened.reason == "SCCM" and widened.conditions == {"Name": "ccmexec.exe"}

    narrowed = store.update_allow_entry(
        entry.id, scope="experiment", experiment_id=first.id
    )
    assert narrowed.experiment_id == first.id


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"scope": "experiment"}, "experiment_id"),
        ({"scope": "global", "experiment_id": "abc"}, "experiment_id"),
        ({"scope": "everywhere"}, "scope"),
        ({"experiment_id": "abc"}, "scope"),
    ],
)
def test_store_allow_entry_update_refuses_a_bad_scope(store, kwargs, name):
    entry = store.add_allow_entry({"Name": "a.exe"}, scope="global")
    with pytest.raises(ParameterError) as caught:
        store.update_allow_entry(entry.id, **kwargs)
    assert caught.value.name == name
    assert store.get_allow_entry(entry.id).scope == "global"


def test_store_allow_entry_update_to_a_missing_experiment_is_not_found(store):
    entry = store.add_allow_entry({"Name": "a.exe"}, scope="global")
    with pytest.raises(NotFoundError):
        store.update_allow_entry(entry.id, scope="experiment", experiment_id="nope")
    assert store.get_allow_entry(entry.id).scope == "global"


def test_store_allow_entry_uses_sum_the_runs_that_recorded_them(store, make_run):
    experiment = store.create_experiment("Daily")
    used = store.add_allow_entry({"Name": "a.exe"}, experiment_id=experiment.id)
    idle = store.add_allow_entry({"Name": "b.exe"}, scope="global")
    never = store.add_allow_entry({"Name": "c.exe"}, scope="global")
    for day, counts in [("01", {used.id: 3, idle.id: 0}), ("02", {used.id: 2})]:
        store.add_run(
            make_run(
                experiment.id,
                started_at=f"2025-03-{day}T10:00:00.000000+00:00",
                summary={"allowlist": {"by_entry": counts}},
            )
        )
    # Runs saved without allow-list counts are not guessed at.
    store.add_run(make_run(experiment.id, summary={"num_suppressed": 9}))

    uses = store.allow_entry_uses()
    assert never.id not in uses
    assert uses[used.id].outliers == 5
    assert (uses[used.id].runs_checked, uses[used.id].runs_matched) == (2, 2)
    assert uses[used.id].last_matched_at.startswith("2025-03-02")
    assert (uses[idle.id].outliers, uses[idle.id].runs_checked) == (0, 1)
    assert uses[idle.id].last_matched_at is None
