"""Every real export in shared/data loads with the record counts SOURCES.md gives."""

from __future__ import annotations

import pytest

from procanom.io import SOURCE_FILE_COLUMN


@pytest.mark.parametrize(
    ("relative", "rows", "fmt"),
    [
        ("winhostmon_process_sample.csv", 363, "csv"),
        ("eval/otrf_sysmon1_process_events_labelled.csv", 1316, "csv"),
        ("eval/otrf_labels.csv", 1316, "csv"),
        ("raw/otrf_cmd_psexec_lsa_secrets_dump_2020-10-1903305471.json", 286, None),
        (
            "raw/otrf_covenant_sc_query_dcerpc_smb_svcctl_2020-08-05034820.json",
            629,
            None,
        ),
        ("raw/otrf_LSASS_campaign_03_process_creation_only.jsonl", 182, None),
    ],
)
def test_read_shared_data_record_counts(shared_data, read_flat, relative, rows, fmt):
    loaded = read_flat(shared_data / relative)
    assert len(loaded.frame) == rows
    assert loaded.report.rows_read == rows
    assert loaded.report.rows_skipped == 0
    assert loaded.report.formats[str(shared_data / relative)] == (fmt or "json-lines")


def test_read_shared_data_every_csv_and_json_loads(shared_data, read_flat):
    paths = sorted(p for p in shared_data.rglob("*") if p.suffix in {".csv", ".json"})
    assert paths
    for path in paths:
        loaded = read_flat(path)
        assert len(loaded.frame) > 0, path
        assert not loaded.report.skipped, path


def test_read_shared_data_winhostmon_values(shared_data, read_flat):
    frame = read_flat(shared_data / "winhostmon_process_sample.csv").frame
    assert frame.columns[0] == "_time"
    assert frame["EventCode"].unique().tolist() == ["4688"]
    assert frame["is_simulated_attack"].value_counts().to_dict() == {"0": 201, "1": 162}


def test_read_several_files_adds_source_column(shared_data, read_flat):
    first = shared_data / "winhostmon_process_sample.csv"
    second = shared_data / "raw/otrf_LSASS_campaign_03_process_creation_only.jsonl"
    loaded = read_flat(first, second)
    frame = loaded.frame
    assert len(frame) == 363 + 182
    assert frame.columns[-1] == SOURCE_FILE_COLUMN
    assert frame[SOURCE_FILE_COLUMN].value_counts().to_dict() == {
        str(first): 363,
        str(second): 182,
    }
    # Columns of the second file follow those of the first.
    assert frame.columns[0] == "_time"
    assert "SourceName" in frame.columns
    assert frame["SourceName"].iloc[:363].isna().all()
    assert loaded.report.files == [str(first), str(second)]
    assert "2 files" in loaded.report.summary()
