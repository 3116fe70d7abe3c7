"""The combination-aware method: launch surprise, lineage, host baselines, windows."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from procanom.errors import ParameterError
from procanom.scoring import ConditionalDetector, ThresholdRule, detect
from procanom.scoring.conditional import INHERITED_CAUSE


def _web_server_events() -> pd.DataFrame:
    # cmd.exe is common, w3wp.exe is a common parent; w3wp.exe -> cmd.exe
    # happens once.
    rows = (
        [("explorer.exe", "cmd.exe")] * 60
        + [("w3wp.exe", "csc.exe")] * 40
        + [("services.exe", "svchost.exe")] * 80
        + [("w3wp.exe", "cmd.exe")]
    )
    frame = pd.DataFrame(rows, columns=["ParentName", "Name"])
    frame["host"] = ["WEB01", "WEB02", "WKS01"] * 60 + ["WEB01"]
    return frame


def test_conditional_flags_unusual_parent_child_of_common_values():
    frame = _web_server_events()
    result = detect(frame, ["ParentName", "Name", "host"], method="conditional")
    assert result.outliers()[["ParentName", "Name"]].values.tolist() == [
        ["w3wp.exe", "cmd.exe"]
    ]
    assert result.outliers()["probable_cause"].tolist() == ["ParentName"]


def test_conditional_histogram_cannot_see_the_same_combination():
    frame = _web_server_events()
    result = detect(frame, ["ParentName", "Name"], method="histogram", cutoff=False)
    assert result.num_outliers == 0


def test_conditional_small_data_gives_finite_scores():
    frame = pd.DataFrame({"ParentName": ["a.exe", "b.exe"], "Name": ["x.exe", "y.exe"]})
    result = detect(frame, ["ParentName", "Name"], method="conditional")
    assert np.isfinite(result.annotated["anomaly_score"]).all()
    assert result.num_outliers == 0


def _tree_events() -> pd.DataFrame:
    # A common shell tree, and one started by an unknown program.
    rows = []
    for i in range(30):
        rows.append((f"e{i}", "", "explorer.exe", "cmd.exe"))
        rows.append((f"w{i}", f"e{i}", "cmd.exe", "whoami.exe"))
    rows.append(("p", "", "explorer.exe", "payload.exe"))
    rows.append(("c", "p", "payload.exe", "cmd.exe"))
    rows.append(("x", "c", "cmd.exe", "whoami.exe"))
    frame = pd.DataFrame(
        rows, columns=["ProcessGuid", "ParentProcessGuid", "ParentName", "Name"]
    )
    frame["ParentProcessGuid"] = frame["ParentProcessGuid"].replace("", None)
    return frame


def test_conditional_children_inherit_an_unusual_parent_score():
    frame = _tree_events()
    result = detect(frame, ["ParentName", "Name"], method="conditional")
    annotated = result.annotated.set_index("ProcessGuid")
    # whoami.exe under the payload's cmd.exe looks like every other whoami.exe
    # on its own, and inherits the cmd.exe's score.
    assert annotated.loc["x", "event_score"] == pytest.approx(
        annotated.loc["w0", "event_score"]
    )
    assert annotated.loc["x", "anomaly_score"] >= annotated.loc["c", "anomaly_score"]
    assert annotated.loc["x", "anomaly_score"] > annotated.loc["w0", "anomaly_score"]
    assert (
        result.annotated.loc[
            frame.index[frame["ProcessGuid"] == "x"][0], "inherited_from"
        ]
        == frame.index[frame["ProcessGuid"] == "c"][0]
    )


@pytest.mark.parametrize("fields", [["ParentName", "Name"], ["Name"]])
def test_conditional_inherited_outlier_cause_is_marked_inherited(fields):
    frame = _tree_events()
    result = detect(frame, fields, method="conditional")
    annotated = result.annotated
    x = frame.index[frame["ProcessGuid"] == "x"][0]
    ancestor = annotated.loc[x, "inherited_from"]

    # whoami.exe's own values are common: naming one of them (or the link to
    # its parent) as the cause would send the analyst to the wrong event.
    assert annotated.loc[x, "isOutlier"] == 1
    assert annotated.loc[x, "probable_cause"] == INHERITED_CAUSE
    assert annotated.loc[ancestor, "probable_cause"] in fields
    assert annotated.loc[x, "probable_cause_freq"] == pytest.approx(
        annotated.loc[ancestor, "probable_cause_freq"]
    )
    own = annotated[annotated["inherited_from"].isna() & (annotated["isOutlier"] == 1)]
    assert INHERITED_CAUSE not in set(own["probable_cause"])
    quiet = annotated[annotated["isOutlier"] == 0]
    assert (quiet["probable_cause"] == "").all()


def test_conditional_lineage_off_scores_events_alone():
    frame = _tree_events()
    result = detect(frame, ["ParentName", "Name"], method="conditional", lineage=0.0)
    annotated = result.annotated.set_index("ProcessGuid")
    assert annotated.loc["x", "anomaly_score"] == pytest.approx(
        annotated.loc["w0", "anomaly_score"]
    )
    assert result.annotated["inherited_from"].isna().all()


def test_conditional_host_baseline_judges_events_against_their_host():
    # Host A is noisy (ten programs), host B quiet (one program): the same
    # rare program stands out more on B.
    rng = np.random.default_rng(0)
    noisy = pd.DataFrame(
        {"host": "A", "Name": rng.choice([f"p{i}.exe" for i in range(10)], 200)}
    )
    quiet = pd.DataFrame({"host": "B", "Name": ["svchost.exe"] * 199 + ["odd.exe"]})
    frame = pd.concat([noisy, quiet], ignore_index=True)
    with_baseline = detect(frame, ["host", "Name"], method="conditional")
    top = with_baseline.annotated["anomaly_score"].idxmax()
    assert frame.loc[top, "Name"] == "odd.exe"
    without = detect(frame, ["host", "Name"], method="conditional", host_baseline=False)
    assert (
        without.annotated.loc[top, "anomaly_score"]
        < with_baseline.annotated.loc[top, "anomaly_score"]
    )


def test_conditional_detection_window_lists_first_seen_fields():
    baseline = _web_server_events()
    window = pd.DataFrame(
        {
            "ParentName": ["explorer.exe", "explorer.exe"],
            "Name": ["cmd.exe", "rclone.exe"],
            "host": ["WEB01", "NEW01"],
        }
    )
    detector = ConditionalDetector(["ParentName", "Name", "host"]).fit(baseline)
    result = detector.score(window)
    assert result.annotated["first_seen"].tolist() == ["", "Name, host"]
    assert (
        result.annotated["anomaly_score"].iloc[1]
        > result.annotated["anomaly_score"].iloc[0]
    )


def test_conditional_fit_score_has_no_first_seen_values():
    result = detect(_web_server_events(), ["ParentName", "Name"], method="conditional")
    assert (result.annotated["first_seen"] == "").all()


def test_conditional_saved_model_scores_a_window_identically():
    baseline = _tree_events()
    window = _tree_events().iloc[::-1]
    detector = ConditionalDetector(["ParentName", "Name"]).fit(baseline)
    data = json.loads(json.dumps(detector.to_dict()))
    assert data["method"] == "conditional"
    reloaded = ConditionalDetector.from_dict(data)
    pd.testing.assert_frame_equal(
        detector.score(window).annotated, reloaded.score(window).annotated
    )


def test_conditional_odd_switch_on_a_common_program_stands_out():
    lines = ["svchost.exe -k netsvcs -p"] * 100 + [
        "svchost.exe -k netsvcs -p -s schedule"
    ] * 100
    lines.append("svchost.exe -k netsvcs -p --inject")
    frame = pd.DataFrame({"CommandLine": lines})
    result = detect(frame, ["CommandLine"], method="conditional", token_weight=1.0)
    assert result.annotated["anomaly_score"].idxmax() == len(lines) - 1
    assert result.summary["terms"][-1] == "CommandLine switches"


def _usual_processes() -> list[dict]:
    system32 = "C:\\Windows\\System32\\"
    usual = [
        ("svchost.exe", system32 + "svchost.exe", "services.exe", "SYSTEM"),
        ("cmd.exe", system32 + "cmd.exe", "explorer.exe", "bob"),
        ("chrome.exe", "C:\\Program Files\\Chrome\\chrome.exe", "explorer.exe", "bob"),
        ("conhost.exe", system32 + "conhost.exe", "cmd.exe", "bob"),
    ]
    rows = []
    for i in range(400):
        name, path, parent, user = usual[i % 4]
        rows.append(
            {
                "Name": name,
                "Path": path,
                "ParentName": parent,
                "host": f"ws{i % 5}",
                "User": user,
            }
        )
    return rows


@pytest.mark.parametrize("with_parent", [True, False])
def test_conditional_known_name_from_an_unusual_path_is_blamed_on_the_path(
    with_parent,
):
    rogue = {
        "Name": "svchost.exe",
        "Path": "C:\\Users\\bob\\AppData\\Local\\Temp\\svchost.exe",
        "ParentName": "services.exe",
        "host": "ws1",
        "User": "SYSTEM",
    }
    frame = pd.DataFrame([*_usual_processes(), rogue])
    fields = ["Name", "Path", "ParentName", "host", "User"]
    if not with_parent:
        fields.remove("ParentName")

    result = detect(frame, fields, method="conditional")

    outliers = result.outliers()
    assert outliers.index.tolist() == [400]
    assert outliers["probable_cause"].tolist() == ["Path"]


def test_conditional_path_weight_zero_leaves_the_path_to_the_other_terms():
    rogue = dict(_usual_processes()[0], Path="C:\\Temp\\svchost.exe")
    frame = pd.DataFrame([*_usual_processes(), rogue])
    fields = ["Name", "Path", "ParentName", "host"]

    weighted = detect(frame, fields, method="conditional").annotated
    plain = detect(frame, fields, method="conditional", path_weight=0).annotated

    assert weighted["anomaly_score"].iloc[-1] > plain["anomaly_score"].iloc[-1]


def test_conditional_pthresh_flags_that_share_of_events():
    frame = _web_server_events()
    result = detect(frame, ["ParentName", "Name"], method="conditional", pthresh=0.01)
    assert result.threshold == ThresholdRule("percent", 1.0)
    assert result.num_outliers >= 1
    with pytest.raises(ParameterError, match="pthresh"):
        detect(frame, ["Name"], method="conditional", pthresh=2.0)


def test_conditional_roles_can_be_overridden():
    frame = _web_server_events().rename(columns={"ParentName": "launcher"})
    guessed = ConditionalDetector(["launcher", "Name"]).fit(frame)
    assert guessed.roles_["launcher"] == "other"
    told = ConditionalDetector(
        ["launcher", "Name"], roles={"launcher": "parent_name"}
    ).fit(frame)
    assert told.terms_[0].label == "launcher | Name"
    result = told.score(frame)
    assert (
        frame.loc[result.annotated["anomaly_score"].idxmax(), "launcher"] == "w3wp.exe"
    )


@pytest.mark.parametrize(
    ("param", "value"),
    [
        ("alpha", 0),
        ("lineage", 2.0),
        ("content_weight", -1),
        ("path_weight", -1),
        ("link", "magic"),
    ],
)
def test_conditional_bad_parameters_raise(param, value):
    with pytest.raises(ParameterError, match=param):
        ConditionalDetector(["Name"], **{param: value}).fit(_web_server_events())


def test_conditional_missing_values_are_no_evidence():
    frame = _web_server_events()
    frame.loc[:9, "ParentName"] = None
    result = detect(frame, ["ParentName", "Name"], method="conditional")
    # Events without a parent name are not flagged for lacking it.
    assert not result.annotated.loc[:9, "isOutlier"].any()


def _command_line_events() -> pd.DataFrame:
    lines = [f"consent.exe {i} 5{i % 7} F465E3078{i:07d}" for i in range(40)]
    lines += ['"C:\\Windows\\System32\\cmd.exe" /c whoami'] * 30
    lines += ["C:\\Users\\bob\\AppData\\Local\\Temp\\x1.exe -enc QQBBAA"]
    return pd.DataFrame(
        {
            "Name": ["consent.exe"] * 40 + ["cmd.exe"] * 30 + ["x1.exe"],
            "CommandLine": lines,
            "host": ["WKS1", "WKS2"] * 35 + ["WKS1"],
        }
    )


def test_conditional_uses_templates_made_at_ingest():
    from procanom.normalize import add_templates

    frame = _command_line_events()
    fields = ["Name", "CommandLine", "host"]
    templated = add_templates(frame, fields, kinds={"Name": "name", "host": "text"})
    # A template column made at ingest is read, not made again.
    marked = templated.assign(
        CommandLine_template=templated["CommandLine_template"].str.upper()
    )
    got = detect(marked, fields).annotated["CommandLine_template"]
    assert got.tolist() == marked["CommandLine_template"].tolist()

    templated = add_templates(frame, fields, kinds={"Name": "name", "host": "text"})
    expected = detect(frame, fields).annotated
    got = detect(templated, fields).annotated
    np.testing.assert_allclose(got["anomaly_score"], expected["anomaly_score"])
    assert got["isOutlier"].tolist() == expected["isOutlier"].tolist()


def test_conditional_ignores_template_columns_it_did_not_record():
    frame = _command_line_events()
    fields = ["Name", "CommandLine", "host"]
    expected = detect(frame, fields).annotated["anomaly_score"]
    bogus = frame.assign(CommandLine_template="same for all")
    np.testing.assert_allclose(
        detect(bogus, fields).annotated["anomaly_score"], expected
    )


def test_conditional_without_a_host_field_uses_the_automatic_fence():
    # The "2 host deviations" default reads scores against a host baseline;
    # with no host among the fields there is none, and surprisals of a few
    # nats would all be "above 2".
    frame = _web_server_events()
    with_host = detect(frame, ["ParentName", "Name", "host"], method="conditional")
    without = detect(frame, ["ParentName", "Name"], method="conditional")
    assert with_host.threshold == ThresholdRule("score", 2.0)
    assert without.threshold == ThresholdRule("auto")
    assert without.num_outliers < len(frame) // 10
