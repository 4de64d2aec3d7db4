"""Shared fixtures: the shipped model is loaded once per session."""

from __future__ import annotations

import matplotlib
import pytest

matplotlib.use("Agg")


@pytest.fixture(scope="session")
def model():
    """The shipped model (priors, pgmpy network, engine)."""
    from legnumb import load_model

    return load_model()
