"""Bundled data: the symptom-CSV schema (columns, causes) and the worked examples."""

from __future__ import annotations

from importlib import resources
from pathlib import Path

__all__ = ["examples_path"]


def examples_path() -> Path:
    """Path of the bundled ``examples.csv`` (30 worked cases with expected cause and triage)."""
    return Path(str(resources.files("model.data").joinpath("examples.csv")))
