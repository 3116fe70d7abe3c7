"""The dataset library: exports too large for memory, kept in DuckDB.

:class:`DatasetLibrary` reads files of any size into an embedded DuckDB
database (one file per dataset, registered in a small catalogue), maps them
onto the process schema, and serves the search bar, field profiles, value
counts and histogram scoring from there, so a ten-million-event export is
searched and scored without ever being loaded whole into pandas.

Searches use the same language and give the same events as
:func:`procanom.search.filter_events`; histogram scores are bit for bit
those of :func:`procanom.scoring.detect`.
"""

from __future__ import annotations

from procanom.library._catalogue import DatasetInfo
from procanom.library.library import LIBRARY_FOLDER, DatasetLibrary, content_id

__all__ = ["LIBRARY_FOLDER", "DatasetInfo", "DatasetLibrary", "content_id"]
