"""Shared facts of the command tests."""

from __future__ import annotations

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
