"""Alert rules: deciding, what is sent, and delivery to a real local server."""

from __future__ import annotations

import json
import os
import time

import pandas as pd
import pytest
from act_helpers import small_result

from procanom.alerts import (
    ALERT_DIRS_ENV,
    DeliveryOptions,
    alert_dirs,
    alert_payload,
    deliver,
    encode_payload,
    escape_chat,
    evaluate,
    idempotency_key,
    resolve_alert_file,
)
from procanom.errors import ParameterError
from procanom.store import AlertRule, RunRecord

FAST = DeliveryOptions(attempts=3, timeout_s=1.0, backoff_s=0.01, max_seconds=5.0)
INJECTION = "<!channel> <@U024BE7LH> <http://evil.example|click me> *bold* `x` @here"


def events(extra: list[dict] | None = None) -> list[dict]:
    rows = [{"Name": "svchost.exe", "ParentName": "services.exe"}] * 100
    return rows + (extra or [])


def rare(name: str, parent: str = "services.exe", **more) -> dict:
    return {"Name": name, "ParentName": parent, **more}


@pytest.fixture
def result():
    scored = small_result(
        events([rare("a.exe"), rare("b.exe"), rare("c.exe", "winword.exe")]),
        ["Name", "ParentName"],
        cutoff=False,
    )
    assert scored.num_outliers == 3
    return scored


def rule(**kwargs) -> AlertRule:
    return AlertRule(id="r1", experiment_id="x", **kwargs)


# -- deciding --------------------------------------------------------------------


def test_evaluate_fires_only_when_the_count_exceeds_the_threshold(result):
    assert evaluate(rule(threshold=2), result).fired
    quiet = evaluate(rule(threshold=3), result)
    assert not quiet.fired
    assert quiet.count == 3
    assert quiet.reason == "3 outliers, not more than 3"


def test_evaluate_counts_only_the_chosen_causes(result):
    causes = set(result.outliers()["probable_cause"].astype(str))
    assert causes, "the outliers have probable causes"
    chosen = sorted(causes)[0]
    expected = int((result.outliers()["probable_cause"].astype(str) == chosen).sum())

    decision = evaluate(rule(threshold=0, only_causes=[chosen]), result)

    assert decision.count == expected
    assert f"with probable cause {chosen}" in decision.reason
    assert set(decision.outliers["probable_cause"].astype(str)) == {chosen}


def test_evaluate_only_new_compares_with_the_previous_run(result):
    previous = result.outliers()[result.outliers()["Name"] == "a.exe"]
    decision = evaluate(rule(threshold=1, only_new=True), result, previous)
    assert decision.count == 2
    assert decision.fired
    assert set(decision.outliers["Name"]) == {"b.exe", "c.exe"}

    first_run = evaluate(rule(threshold=2, only_new=True), result, None)
    assert first_run.count == 3
    assert "all count as new" in first_run.reason


def test_evaluate_disabled_rule_never_fires(result):
    decision = evaluate(rule(threshold=0, enabled=False), result)
    assert not decision.fired
    assert decision.reason.startswith("rule is disabled")


def test_evaluate_does_not_count_suppressed_events(result):
    from procanom.allowlist import AllowEntry, apply_allowlist

    allow = AllowEntry("e", "global", None, {"Name": "a.exe"})
    allowed, _ = apply_allowlist(result, None, [allow])
    assert evaluate(rule(threshold=0), allowed).count == 2


# -- what is sent ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "forbidden"),
    [
        ("<!channel>", "<!channel>"),
        ("<!here|here>", "<!here"),
        ("<@U024BE7LH>", "<@U"),
        ("<http://evil.example|click me>", "<http"),
        ("a`b", "a`b"),
        ("@channel", "@channel"),
        ("line\nbreak\x1b[31m", "\x1b"),
    ],
)
def test_escape_chat_leaves_no_slack_control_sequence(value, forbidden):
    text = escape_chat(value)
    assert forbidden not in text
    assert text.startswith("`") and text.endswith("`")
    assert text.count("`") == 2


def test_escape_chat_escapes_as_slack_documents():
    assert escape_chat("a & <b>") == "`a &amp; &lt;b&gt;`"
    assert escape_chat("x" * 500, limit=10) == "`xxxxxxxxx…`"


def experiment_and_run(store, settings=None):
    experiment = store.create_experiment(
        "Rare <!channel> parents", settings=settings or {"fields": ["Name"]}
    )
    run = store.add_run(
        RunRecord(
            id=None,
            experiment_id=experiment.id,
            started_at="2025-03-01T10:00:00.000000+00:00",
            duration_s=0.5,
            procanom_version="test",
            settings={"fields": ["Name", "ParentName"]},
            data_fingerprint="f",
            rows_read=10,
            rows_skipped=0,
            total_events=10,
            num_outliers=1,
            threshold=None,
        )
    )
    return experiment, run


def test_alert_payload_holds_the_alert_and_escaped_text(store):
    scored = small_result(
        events([rare("evil.exe", CommandLine=INJECTION, host="WS1")]),
        ["Name", "ParentName", "CommandLine"],
        cutoff=False,
    )
    experiment, run = experiment_and_run(store)
    saved = store.add_alert_rule(experiment.id, threshold=0)
    decision = evaluate(saved, scored)

    payload = alert_payload(
        decision, saved, experiment, run, ["Name", "ParentName", "CommandLine"]
    )

    assert payload["count"] == 1 and payload["threshold"] == 0
    assert payload["run_id"] == run.id and payload["time"] == run.started_at
    assert payload["experiment"] == {"id": experiment.id, "title": experiment.title}
    top = payload["outliers"][0]
    assert top["fields"]["CommandLine"] == INJECTION  # JSON keeps the value exact
    assert top["fields"]["host"] == "WS1"
    assert top["probable_cause"] and top["anomaly_score"] > 0
    text = payload["text"]
    for forbidden in ("<!channel>", "<@U", "<http", "@here"):
        assert forbidden not in text
    assert "&lt;!channel&gt;" in text
    body = encode_payload(payload)
    assert b"<" not in body and b">" not in body
    assert json.loads(body) == payload


# -- delivery ----------------------------------------------------------------------


def fired(store, destinations, **rule_kwargs):
    scored = small_result(
        events([rare("evil.exe", CommandLine=INJECTION)]),
        ["Name", "ParentName"],
        cutoff=False,
    )
    experiment, run = experiment_and_run(store)
    saved = store.add_alert_rule(
        experiment.id, threshold=0, destinations=destinations, **rule_kwargs
    )
    decision = evaluate(saved, scored)
    assert decision.fired
    return experiment, run, saved, decision


def send(store, experiment, run, rule, decision, options=FAST):
    return deliver(
        store, decision, rule, experiment=experiment, run=run, options=options
    )


def test_deliver_retries_server_errors_and_posts_once(store, webhook):
    webhook.statuses = [500, 500]
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )

    (record,) = send(store, experiment, run, saved, decision)

    assert record.status == "delivered"
    assert record.attempts == 3
    assert record.http_status == 200
    assert record.error is None
    assert [entry["outcome"] for entry in record.log] == [
        "HTTP 500 Internal Server Error",
        "HTTP 500 Internal Server Error",
        "HTTP 200",
    ]
    assert [r["status"] for r in webhook.requests] == [500, 500, 200]
    assert len(webhook.accepted) == 1
    key = idempotency_key(run.id, saved.id)
    assert {r["headers"]["Idempotency-Key"] for r in webhook.requests} == {key}
    assert store.list_deliveries(run_id=run.id) == [record]


def test_deliver_never_posts_a_delivered_alert_twice(store, webhook):
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    (first,) = send(store, experiment, run, saved, decision)

    (again,) = send(store, experiment, run, saved, decision)

    assert len(webhook.requests) == 1
    assert again == first


def test_deliver_to_a_server_that_is_down_fails_within_bounds(store, dead_url):
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": dead_url}]
    )
    started = time.monotonic()

    (record,) = send(store, experiment, run, saved, decision)

    assert time.monotonic() - started < FAST.max_seconds
    assert record.status == "failed"
    assert record.attempts == FAST.attempts
    assert record.error.startswith("could not connect")
    assert store.get_run(run.id) == run
    assert store.list_deliveries(rule_id=saved.id)[0].status == "failed"


def test_deliver_retries_a_failed_delivery_later(store, webhook):
    webhook.statuses = [503] * 3
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    (failed,) = send(store, experiment, run, saved, decision)
    assert (failed.status, failed.http_status) == ("failed", 503)

    (retried,) = send(store, experiment, run, saved, decision)

    assert retried.status == "delivered"
    assert retried.attempts == 4
    assert retried.id == failed.id
    assert len(webhook.accepted) == 1


def test_deliver_retries_an_answer_that_is_not_http(store, webhook):
    webhook.statuses = [0]
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    (record,) = send(store, experiment, run, saved, decision)
    assert (record.status, record.attempts) == ("delivered", 2)
    assert record.log[0]["outcome"].startswith("no answer")


def test_deliver_does_not_retry_a_refused_alert(store, webhook):
    webhook.statuses = [400]
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    (record,) = send(store, experiment, run, saved, decision)
    assert (record.status, record.attempts, record.http_status) == ("failed", 1, 400)


def test_deliver_does_not_follow_redirects(store, webhook):
    webhook.statuses = [302]
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    (record,) = send(store, experiment, run, saved, decision)
    assert record.status == "failed"
    assert "redirect not followed" in record.error
    assert len(webhook.requests) == 1


def test_deliver_gives_up_on_a_slow_server_within_bounds(store, webhook):
    webhook.delay_s = 0.5
    options = DeliveryOptions(attempts=2, timeout_s=0.1, backoff_s=0.0, max_seconds=2)
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    started = time.monotonic()
    (record,) = send(store, experiment, run, saved, decision, options)
    assert time.monotonic() - started < 1.5
    assert (record.status, record.attempts) == ("failed", 2)


def test_deliver_sends_escaped_text_to_the_webhook(store, webhook):
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    send(store, experiment, run, saved, decision)

    (request,) = webhook.requests
    assert request["headers"]["Content-Type"].startswith("application/json")
    assert b"<" not in request["body"]
    text = request["json"]["text"]
    assert "<!channel>" not in text and "&lt;!channel&gt;" in text
    assert request["json"]["outliers"][0]["fields"]["Name"] == "evil.exe"


def test_deliver_record_hides_the_webhook_secret(store, webhook):
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    (record,) = send(store, experiment, run, saved, decision)
    assert "SECRET" not in record.destination
    assert record.destination == "webhook http://127.0.0.1"


def test_deliver_appends_one_json_line_per_alert(store, tmp_path, monkeypatch):
    allowed = tmp_path / "out"
    monkeypatch.setenv(ALERT_DIRS_ENV, str(allowed))
    target = allowed / "alerts.jsonl"
    destinations = [
        {"type": "file", "path": str(target)},
        {"type": "file", "path": "a.jsonl"},
    ]
    experiment, run, saved, decision = fired(store, destinations)

    first = send(store, experiment, run, saved, decision)
    send(store, experiment, run, saved, decision)

    assert [r.status for r in first] == ["delivered", "delivered"]
    lines = target.read_text(encoding="utf-8").splitlines()
    assert len(lines) == 1
    assert json.loads(lines[0])["run_id"] == run.id
    relative = store.data_dir / "alerts" / "a.jsonl"
    assert len(relative.read_text(encoding="utf-8").splitlines()) == 1


def test_deliver_refuses_a_file_outside_the_allowed_folders(
    store, tmp_path, monkeypatch
):
    outside = tmp_path / "elsewhere" / "passwd_test_alerts.jsonl"
    destinations = [
        {"type": "file", "path": str(outside)},
        {"type": "file", "path": "kept.jsonl"},
    ]
    # Saved while the admin allowed that folder, which is no longer allowed.
    monkeypatch.setenv(ALERT_DIRS_ENV, str(outside.parent))
    experiment, run, saved, decision = fired(store, destinations)
    monkeypatch.delenv(ALERT_DIRS_ENV)

    refused, kept = send(store, experiment, run, saved, decision)

    assert (refused.status, refused.attempts) == ("failed", 0)
    assert str(outside) in refused.error
    assert str(store.data_dir / "alerts") in refused.error
    assert ALERT_DIRS_ENV in refused.error
    assert not outside.parent.exists()
    assert kept.status == "delivered"
    assert store.get_run(run.id) == run
    recorded = {d.id: d for d in store.list_deliveries(run_id=run.id)}
    assert recorded == {refused.id: refused, kept.id: kept}


# -- where alert files may go -------------------------------------------------------


def test_alert_dirs_lists_the_data_folder_then_the_admins_folders(tmp_path):
    first, second = tmp_path / "a", tmp_path / "b"
    environ = {ALERT_DIRS_ENV: os.pathsep.join([str(first), "", str(second)])}

    folders = alert_dirs(tmp_path / "data", environ)

    assert folders == [(tmp_path / "data" / "alerts").resolve(), first, second]
    assert alert_dirs(tmp_path / "data", {}) == [folders[0]]


def test_resolve_alert_file_keeps_a_relative_name_in_the_alerts_folder(tmp_path):
    data = tmp_path / "data"
    assert resolve_alert_file("a.jsonl", data, {}) == data / "alerts" / "a.jsonl"
    assert (
        resolve_alert_file(" team/b.jsonl ", data, {})
        == data / "alerts" / "team" / "b.jsonl"
    )
    inside = data / "alerts" / "c.jsonl"
    assert resolve_alert_file(str(inside), data, {}) == inside


def test_resolve_alert_file_accepts_paths_in_the_admins_folders(tmp_path):
    shared = tmp_path / "shared alerts"
    environ = {ALERT_DIRS_ENV: str(shared)}
    target = shared / "x" / "alerts.jsonl"
    assert resolve_alert_file(str(target), tmp_path / "data", environ) == target


@pytest.mark.parametrize(
    "path",
    [
        "/etc/passwd_test_alerts.jsonl",
        "../procanom.sqlite3",
        "../../escape.jsonl",
        "team/../../escape.jsonl",
        "{allowed}/../escape.jsonl",
        "{allowed}-evil/x.jsonl",
        "{allowed}",
        "~/alerts.jsonl",
    ],
)
def test_resolve_alert_file_refuses_paths_outside_the_allowed_folders(tmp_path, path):
    allowed = tmp_path / "allowed"
    path = path.format(allowed=allowed)
    environ = {ALERT_DIRS_ENV: str(allowed)}

    with pytest.raises(ParameterError) as caught:
        resolve_alert_file(path, tmp_path / "data", environ)

    message = str(caught.value)
    assert caught.value.name == "alert file"
    assert repr(path) in message
    assert str(tmp_path / "data" / "alerts") in message and str(allowed) in message


def test_resolve_alert_file_refuses_a_symbolic_link_leading_out(tmp_path):
    data, outside = tmp_path / "data", tmp_path / "outside"
    (data / "alerts").mkdir(parents=True)
    outside.mkdir()
    (data / "alerts" / "team").symlink_to(outside, target_is_directory=True)
    (data / "alerts" / "log.jsonl").symlink_to(outside / "log.jsonl")

    for path in ("team/a.jsonl", "log.jsonl"):
        with pytest.raises(ParameterError, match="it leads to"):
            resolve_alert_file(path, data, {})
    # Without a link on the way, the path given is the one named.
    with pytest.raises(ParameterError) as caught:
        resolve_alert_file(str(outside / "log.jsonl"), data, {})
    assert "it leads to" not in str(caught.value)


def test_resolve_alert_file_follows_links_that_stay_inside(tmp_path):
    data = tmp_path / "data"
    (data / "alerts" / "real").mkdir(parents=True)
    (data / "alerts" / "link").symlink_to(data / "alerts" / "real")
    resolved = resolve_alert_file("link/a.jsonl", data, {})
    assert resolved == (data / "alerts" / "real" / "a.jsonl").resolve()


def test_deliver_sends_nothing_when_the_rule_did_not_fire(store, webhook):
    experiment, run, saved, decision = fired(
        store, [{"type": "webhook", "url": webhook.url}]
    )
    decision.fired = False
    assert send(store, experiment, run, saved, decision) == []
    assert webhook.requests == []


def test_claim_delivery_keeps_a_second_sender_away(store, webhook):
    _, run, saved, _ = fired(store, [{"type": "webhook", "url": webhook.url}])
    key = idempotency_key(run.id, saved.id)
    destination = saved.destinations[0]

    first, claimed = store.claim_delivery(run.id, saved.id, key, destination)
    second, claimed_again = store.claim_delivery(run.id, saved.id, key, destination)
    late, taken_over = store.claim_delivery(
        run.id, saved.id, key, destination, stale_after_s=-1
    )

    assert (claimed, claimed_again, taken_over) == (True, False, True)
    assert first.id == second.id == late.id
    assert second.status == "sending"


# -- rules in the store -------------------------------------------------------------


def test_store_alert_rules_add_list_update_delete(store):
    experiment = store.create_experiment("e")
    saved = store.add_alert_rule(
        experiment.id,
        threshold=5,
        only_causes=["Name", "Name", "ParentName"],
        only_new=True,
        destinations=[{"type": "webhook", "url": "https://hooks.slack.com/x"}],
    )
    assert saved.only_causes == ["Name", "ParentName"]
    assert store.list_alert_rules(experiment.id) == [saved]

    changed = store.update_alert_rule(saved.id, threshold=9, only_causes=None)
    assert (changed.threshold, changed.only_causes, changed.only_new) == (9, None, True)
    store.update_alert_rule(saved.id, enabled=False)
    assert store.list_alert_rules(experiment.id, enabled_only=True) == []

    store.delete_alert_rule(saved.id)
    assert store.list_alert_rules(experiment.id) == []


@pytest.mark.parametrize(
    ("kwargs", "name"),
    [
        ({"threshold": -1}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"only_causes": "Name"}, "only_causes"),
        ({"destinations": [{"type": "email", "to": "x"}]}, "type"),
        ({"destinations": [{"type": "webhook", "url": "file:///etc/passwd"}]}, None),
        ({"destinations": [{"type": "webhook", "url": "ftp://x/y"}]}, None),
        ({"destinations": [{"type": "webhook", "url": "https://"}]}, None),
        ({"destinations": [{"type": "file", "path": " "}]}, "file path"),
        (
            {"destinations": [{"type": "file", "path": "a"}, {"type": "webhook"}]},
            "webhook URL of destination 2",
        ),
    ],
)
def test_store_alert_rule_refuses_bad_values(store, kwargs, name):
    experiment = store.create_experiment("e")
    with pytest.raises(ParameterError) as caught:
        store.add_alert_rule(experiment.id, **kwargs)
    assert caught.value.name == (name or "webhook URL")


@pytest.mark.parametrize(
    "path", ["{outside}/alerts.jsonl", "../procanom.sqlite3", "team/../../x.jsonl"]
)
def test_store_alert_rule_refuses_a_file_outside_the_allowed_folders(
    store, tmp_path, path
):
    experiment = store.create_experiment("e")
    path = path.format(outside=tmp_path / "elsewhere")
    destinations = [{"type": "file", "path": path}]

    with pytest.raises(ParameterError) as caught:
        store.add_alert_rule(experiment.id, destinations=destinations)

    assert caught.value.name == "alert file"
    assert repr(path) in str(caught.value)
    assert str(store.data_dir / "alerts") in str(caught.value)
    assert store.list_alert_rules(experiment.id) == []
    assert not (tmp_path / "elsewhere").exists()


def test_store_alert_rule_keeps_files_in_the_allowed_folders_as_given(
    store, tmp_path, monkeypatch
):
    allowed = tmp_path / "shared alerts"
    monkeypatch.setenv(ALERT_DIRS_ENV, str(allowed))
    experiment = store.create_experiment("e")
    destinations = [
        {"type": "file", "path": "team/alerts.jsonl"},
        {"type": "file", "path": str(allowed / "alerts.jsonl")},
    ]

    saved = store.add_alert_rule(experiment.id, destinations=destinations)

    assert saved.destinations == destinations
    assert store.get_alert_rule(saved.id) == saved


def test_store_alert_rule_update_refuses_a_file_outside_the_allowed_folders(
    store, tmp_path
):
    experiment = store.create_experiment("e")
    saved = store.add_alert_rule(
        experiment.id, destinations=[{"type": "file", "path": "a.jsonl"}]
    )
    outside = str(tmp_path / "elsewhere" / "a.jsonl")

    with pytest.raises(ParameterError, match="alert file"):
        store.update_alert_rule(
            saved.id, destinations=[{"type": "file", "path": outside}]
        )

    assert store.get_alert_rule(saved.id) == saved


def test_store_alert_rules_go_with_their_experiment(store):
    experiment = store.create_experiment("e")
    saved = store.add_alert_rule(experiment.id)
    store.delete_experiment(experiment.id)
    with pytest.raises(KeyError):
        store.get_alert_rule(saved.id)


def test_alert_decision_outliers_are_most_anomalous_first(result):
    decision = evaluate(rule(threshold=0), result)
    scores = decision.outliers["anomaly_score"].to_numpy()
    assert list(scores) == sorted(scores, reverse=True)
    assert isinstance(decision.outliers, pd.DataFrame)


@pytest.mark.parametrize("name", ["alerts\u202elsonj.txt", "a\x1b[2Jb.jsonl", "a\nb"])
def test_resolve_alert_file_refuses_invisible_characters(tmp_path, name):
    with pytest.raises(ParameterError, match="invisible or control") as caught:
        resolve_alert_file(name, tmp_path / "data", {})
    assert "<U+" in str(caught.value) or "\\n" in str(caught.value)
