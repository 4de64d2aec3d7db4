"""Tests for the packaging: every subpackage and data file is installed with the package."""

from __future__ import annotations

import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_every_subpackage_is_listed_in_pyproject():
    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    listed = set(config["tool"]["setuptools"]["packages"])
    found = {
        ".".join(("legnumb", *p.parent.relative_to(ROOT / "model").parts))
        for p in (ROOT / "model").rglob("__init__.py")
        if "__pycache__" not in p.parts
    }
    assert found <= listed, found - listed
    assert config["tool"]["setuptools"]["package-dir"]["legnumb"] == "model"
    assert config["tool"]["setuptools"]["package-dir"]["legnumb.shipped_priors"] == "priors"


def test_import_name_is_legnumb_even_beside_a_model_py(tmp_path):
    import subprocess
    import sys

    (tmp_path / "model.py").write_text("raise SystemExit(1)\n")
    code = "import legnumb; m = legnumb.load_model(); print(len(m.causes))"
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=tmp_path, capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    assert int(done.stdout) > 0


def test_version_is_kept_in_one_place():
    from importlib.metadata import version

    import legnumb

    config = tomllib.loads((ROOT / "pyproject.toml").read_text())
    assert "version" in config["project"]["dynamic"]
    assert version("legnumb") == legnumb.__version__


def test_shipped_priors_resolve_to_the_priors_folder():
    from legnumb.network.priors import shipped_priors_dir

    assert (shipped_priors_dir() / "findings.csv").is_file()
    assert (shipped_priors_dir() / "sources.csv").read_text().startswith("source_id,")
