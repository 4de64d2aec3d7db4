"""Shared facts of the command tests."""

from __future__ import annotations

import errno
import os

#: Columns contract v2 added (CONTRACT.md, "Version 2"); a version-1 file has none of them, and
#: the examples E01-E30 leave them blank.
V2_COLUMNS = (
    "postpartum",
    "previous_clot",
    "atrial_fibrillation",
    "cancer_history",
    "recent_infection",
    "neurotoxic_exposure",
    "saddle_numbness",
    "numb_hands",
    "foot_drop",
    "rest_pain",
    "severe_pain_after_injury",
    "fever",
    "rash",
    "anxiety_or_overbreathing",
)


class FullDisk:
    """Stands in for ``legnumb.io.symptom_csv._open_temp``: a temporary output file whose
    writes fail as on a full disk (after writing the first bytes of the first chunk)."""

    def __init__(self, fd):
        self._file = os.fdopen(fd, "wb")

    def write(self, data):
        self._file.write(data[:10])
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self._file.close()
