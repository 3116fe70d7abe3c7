"""Reading process-event exports into one all-text frame.

:func:`read_events` (paths) and :func:`read_upload` (browser uploads) read
CSV/TSV, JSON, EVTX, Windows event XML and Parquet files, recognising each
format from the content rather than the file name, and undoing gzip or zip
compression first. Every file gives a :class:`LoadReport` entry: format,
encoding, rows read, rows skipped with their lines and reasons, and
warnings in plain sentences.

The frame
---------
* One row per event, in file order; with several files, the files' rows
  one after another and a ``source_file`` column naming each row's file.
* Columns in the order fields are first seen over **all** rows (a field
  that appears only in the last record still gets its column).
* Every column is ``pd.StringDtype("pyarrow")`` holding the text as
  written: numbers stay text (``0x1a2c``, ``6700``, ``1,5``), JSON
  ``true``/``false`` stay lower-case words. A missing field is ``<NA>``;
  so is an empty CSV field, quoted or not.
* A byte-order mark never reaches a column name.
* Nested JSON objects become dotted names (``process.name``), as
  :func:`pandas.json_normalize` names them. EVTX and event XML records use
  the same scheme: ``Event.System.EventID``, ``Event.System.Provider.Name``
  (attributes sit under their element's name), ``Event.EventData.Image``.
* A multivalue field (a JSON list; a Splunk CSV cell whose values sit one
  per line when the file has the matching ``__mv_<field>`` column) becomes
  ONE stable value: its distinct values, sorted, joined with ``"\\n"``.
  The same set of values thus always reads the same, whatever order the
  source listed them in.

With ``normalise=True`` the flat frame is then handed to
``procanom.schema.to_process_events``, which maps the columns onto the
process schema and keeps process-creation events; its mapping, warnings
and the count of other events go into the report. Several files are each
mapped as if read alone (their own columns, their own time handling) and
then put together; only Security 4688 records are folded into the Sysmon
records of the same process across files. Files that hold no process event
at all raise :class:`~procanom.errors.InputFileError` saying what they hold.

Bad input never surfaces as a parser traceback: a file that cannot be read
at all raises :class:`~procanom.errors.InputFileError` naming the file and,
where known, the line; rows that cannot be parsed are left out, listed in
``report.skipped`` and summed up in a warning. A CSV with a header and no
rows, or a JSON file with no records, gives an empty frame and a warning
when read with ``normalise=False``; with the schema step, files that give no
process event at all raise instead.
"""

from __future__ import annotations

from procanom.io._delimited import sniff_delimiter
from procanom.io._read import (
    DEFAULT_MAX_EXPANDED_BYTES,
    expand_paths,
    read_events,
    read_upload,
)
from procanom.io._report import SOURCE_FILE_COLUMN, LoadedEvents, LoadReport, SkippedRow

__all__ = [
    "DEFAULT_MAX_EXPANDED_BYTES",
    "SOURCE_FILE_COLUMN",
    "LoadReport",
    "LoadedEvents",
    "SkippedRow",
    "expand_paths",
    "read_events",
    "read_upload",
    "sniff_delimiter",
]
