"""Bundled data: the symptom-CSV schema (columns, causes), the worked examples and the case library."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DISCLAIMER", "examples_path", "library_path"]

#: What legnumb is and is not: shown by the CLI, the report and the notebooks (disclaimer.txt).
DISCLAIMER: str = (
    resources.files("legnumb.data").joinpath("disclaimer.txt").read_text(encoding="utf-8").strip()
)


def examples_path() -> Path:
    """Path of the bundled ``examples.csv`` (57 worked cases with expected cause and triage)."""
    return Path(str(resources.files("legnumb.data").joinpath("examples.csv")))


def library_path() -> Path:
    """Path of the bundled ``case_library.csv``: cases transcribed from published reports.

    For evaluation only (``legnumb evaluate --library``); no number of the model is set from it.
    """
    return Path(str(resources.files("legnumb.data").joinpath("case_library.csv")))
