"""Tests for the packaging: every subpackage and data file is installed with the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(p.parent.relative_to(ROOT).parts)
        for p in (ROOT / "model").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, found - listed
    assert config["tool"]["setuptools"]["package-dir"]["model.shipped_priors"] == "priors"


def test_shipped_priors_resolve_to_the_priors_folder():
    from model.priors import shipped_priors_dir

    assert (shipped_priors_dir() / "findings.csv").is_file()
    assert (shipped_priors_dir() / "sources.csv").read_text().startswith("source_id,")
