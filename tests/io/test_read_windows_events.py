"""EVTX and Windows event XML: real records, damaged chunks, one column naming.

No real XML export is among the shared samples, so the XML tests write
real EVTX records out as ``wevtutil`` and Event Viewer would and check that
they read back to the very frame the EVTX file gives.
"""

from __future__ import annotations

import codecs

import evtx
import pandas as pd
import pytest

from procanom.errors import InputFileError

SYSMON = "eas_AutomatedTestingTools_PanacheSysmon_vs_AtomicRedTeam01.evtx"
SECURITY_4688 = (
    "eas_Privilege_Escalation_NTLM2SelfRelay-med0x2e-security_4624_4688.evtx"
)
BAD_CHUNK = "evtxrs_sysmon_with_bad_trailing_chunk.evtx"


@pytest.fixture(scope="module")
def evtx_dir(shared_data):
    return shared_data / "raw" / "evtx"


def _records_xml(path) -> list[str]:
    """Each readable record of an EVTX file as the XML evtx renders."""
    out = []
    records = evtx.PyEvtxParser(str(path)).records()
    while True:
        try:
            out.append(next(records)["data"])
        except StopIteration:
            return out
        except RuntimeError:  # a damaged chunk; its records are gone
            continue


@pytest.mark.parametrize(
    ("name", "records", "process_creations"),
    [
        (SYSMON, 565, 511),
        ("eas_Lateral_Movement_LM_wmiexec_impacket_sysmon_whoami.evtx", 7, 4),
        (SECURITY_4688, 11, 0),
        ("evtxrs_security_no_process_events.evtx", 2261, 0),
    ],
)
def test_read_evtx_record_counts(
    evtx_dir, read_flat, assert_all_text, name, records, process_creations
):
    loaded = read_flat(evtx_dir / name)
    frame = loaded.frame
    assert len(frame) == records
    assert loaded.report.formats[str(evtx_dir / name)] == "evtx"
    assert loaded.report.encodings[str(evtx_dir / name)] == "binary"
    assert not loaded.report.warnings
    sysmon_1 = (frame["Event.System.EventID"] == "1") & frame[
        "Event.System.Channel"
    ].str.contains("Sysmon")
    assert int(sysmon_1.sum()) == process_creations
    assert_all_text(frame)


def test_read_evtx_4688_columns(evtx_dir, read_flat):
    frame = read_flat(evtx_dir / SECURITY_4688).frame
    event = frame[frame["Event.System.EventID"] == "4688"].iloc[0]
    assert event["Event.System.Provider.Name"] == "Microsoft-Windows-Security-Auditing"
    assert event["Event.EventData.NewProcessName"] == r"C:\Windows\System32\notepad.exe"
    assert event["Event.EventData.NewProcessId"] == "0x1dc"
    assert event["Event.EventData.CommandLine"] == ""
    assert event["Event.System.TimeCreated.SystemTime"] == "2022-05-01T04:42:06.656542Z"
    assert event["Event.System.Execution.ProcessID"] == "4"


def test_read_evtx_damaged_chunks_keep_readable_records(evtx_dir, read_flat):
    path = evtx_dir / BAD_CHUNK
    loaded = read_flat(path)
    frame = loaded.frame
    # SOURCES.md counts 355 records before the corrupt chunk; the evtx
    # parser recovers 358 from the readable chunks, 227 of them Sysmon EID 1.
    assert len(frame) == 358
    assert int((frame["Event.System.EventID"] == "1").sum()) == 227
    (warning,) = loaded.report.warnings
    assert str(path) in warning
    assert "8 damaged chunk(s)" in warning and "chunks 9-16" in warning
    assert "358 records" in warning


def test_read_evtx_event_id_plain_when_it_has_qualifiers(read_bytes):
    xml = (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
        "<System><Provider Name='Service Control Manager'/>"
        "<EventID Qualifiers='16384'>7036</EventID></System>"
        "<EventData><Data Name='param1'>Windows Update</Data></EventData></Event>"
    )
    frame = read_bytes(xml.encode(), "scm.xml").frame
    assert frame["Event.System.EventID"].tolist() == ["7036"]
    assert frame["Event.System.EventID.Qualifiers"].tolist() == ["16384"]


@pytest.mark.parametrize("name", [SYSMON, SECURITY_4688, BAD_CHUNK])
def test_read_event_xml_wevtutil_matches_evtx(evtx_dir, read_flat, read_bytes, name):
    expected = read_flat(evtx_dir / name).frame
    xml = "\r\n".join(_records_xml(evtx_dir / name))
    loaded = read_bytes(xml.encode("utf-8"), "wevtutil.xml")
    assert loaded.report.formats["wevtutil.xml"] == "event-xml"
    pd.testing.assert_frame_equal(loaded.frame, expected)


def test_read_event_xml_event_viewer_utf16_matches_evtx(
    evtx_dir, read_flat, read_bytes
):
    expected = read_flat(evtx_dir / SECURITY_4688).frame
    events = [
        x.split("?>", 1)[1] for x in _records_xml(evtx_dir / SECURITY_4688)
    ]  # drop each record's own declaration
    xml = '<?xml version="1.0" encoding="UTF-16"?>\r\n<Events>' + "".join(events)
    xml += "</Events>"
    loaded = read_bytes(codecs.BOM_UTF16_LE + xml.encode("utf-16-le"), "saved.xml")
    assert loaded.report.encodings["saved.xml"] == "utf-16-le with BOM"
    pd.testing.assert_frame_equal(loaded.frame, expected)


def test_read_event_xml_wevtutil_text_form(read_bytes):
    xml = (
        "<Event xmlns='http://schemas.microsoft.com/win/2004/08/events/event'>"
        "<System><Provider Name='Microsoft-Windows-Security-Auditing' "
        "Guid='{54849625-5478-4994-a5ba-3e3b0328c30d}'/><EventID>4688</EventID>"
        "<Correlation/><Channel>Security</Channel><Computer>WKS-1</Computer>"
        "</System><EventData><Data Name='NewProcessName'>C:\\cmd.exe</Data>"
        "<Data Name='CommandLine'/><Data Name='ProcessId'>0x1f40</Data>"
        "</EventData><RenderingInfo Culture='en-US'><Message>A new process"
        "</Message><Keywords><Keyword>Audit Success</Keyword></Keywords>"
        "</RenderingInfo></Event>"
    )
    frame = read_bytes((xml + xml).encode(), "qe.xml").frame
    assert len(frame) == 2
    row = frame.iloc[0]
    assert row["Event.System.Provider.Guid"] == "{54849625-5478-4994-a5ba-3e3b0328c30d}"
    assert row["Event.EventData.NewProcessName"] == "C:\\cmd.exe"
    assert row["Event.EventData.CommandLine"] == ""
    assert pd.isna(row["Event.System.Correlation"])
    assert row["Event.RenderingInfo.Keywords.Keyword"] == "Audit Success"


def test_read_event_xml_cut_short_keeps_complete_events(evtx_dir, read_bytes):
    records = _records_xml(evtx_dir / SECURITY_4688)
    xml = "".join(records)
    loaded = read_bytes(xml[: len(xml) - 300].encode(), "cut.xml")
    assert len(loaded.frame) == len(records) - 1
    assert loaded.report.rows_skipped == 1
    assert any("breaks off" in w and "cut.xml" in w for w in loaded.report.warnings)


def test_read_event_xml_broken_from_the_start_raises(read_bytes):
    with pytest.raises(InputFileError, match="not well-formed XML") as caught:
        read_bytes(b"<Event><System><EventID>1</Event>", "broken.xml")
    assert caught.value.line == 1
