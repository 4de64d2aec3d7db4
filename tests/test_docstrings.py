"""Every docstring example of every legnumb module runs, imported under its real name."""

from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import legnumb

MODULES = sorted(
    m.name
    for m in pkgutil.walk_packages(legnumb.__path__, prefix="legnumb.")
    if not m.name.endswith("__main__")
)


def test_walks_every_subpackage():
    tops = {name.split(".")[1] for name in MODULES}
    assert {"network", "inference", "diagnosis", "analysis", "io", "plots", "app", "cli"} <= tops


@pytest.mark.parametrize("name", MODULES)
def test_examples_run(name):
    if name == "legnumb.app.widgets":
        pytest.importorskip("ipywidgets")
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} examples failed"
