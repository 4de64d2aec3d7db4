"""Bundled data: the symptom-CSV schema (columns, causes) and the worked examples."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["DISCLAIMER", "examples_path"]

#: What legnumb is and is not: shown by the CLI, the report and the notebooks (disclaimer.txt).
DISCLAIMER: str = (
    resources.files("legnumb.data").joinpath("disclaimer.txt").read_text(encoding="utf-8").strip()
)


def examples_path() -> Path:
    """Path of the bundled ``examples.csv`` (30 worked cases with expected cause and triage)."""
    return Path(str(resources.files("legnumb.data").joinpath("examples.csv")))
