"""Tests for legnumb.plots.network."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from legnumb import analysis as x
from legnumb.plots.network import plot_network
from tests.plots.support import overlaps

CASE = x.example_evidence("E03")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def analysis(model):
    return x.analyse(model, CASE, explain_causes=3)


def test_plot_network_layers_and_labels(model, analysis):
    fig = plot_network(
        model,
        posteriors=analysis.diagnosis.posteriors,
        evidence=analysis.evidence,
        title="Case E03",
    )
    ax = fig.axes[0]
    texts = ax.texts
    assert {"history", "causes", "findings"} <= {t.get_text() for t in texts}
    assert any(t.get_text() == "sciatica >99.9%" for t in texts)
    assert any(t.get_text() == "shooting pain: yes" for t in texts)
    fig.canvas.draw()
    renderer = fig.canvas.get_renderer()
    # labels of one layer never overlap each other
    for x0 in (0.0, 1.0, 2.0):
        layer = [
            t
            for t in texts
            if abs(t.get_position()[0] - x0) < 0.1
            and t.get_text() not in ("history", "causes", "findings")
        ]
        assert len(layer) in (17, 24, 32)  # history, causes, findings: contract nodes only
        assert not overlaps(layer, renderer)


def test_plot_network_without_evidence(model):
    fig = plot_network(model)
    assert isinstance(fig, Figure)
    names = {t.get_text() for t in fig.axes[0].texts}
    assert "shooting pain" in names
    assert "sciatica" in names
    # only contract nodes: no auxiliary divorcing node of the pgmpy network is drawn
    assert len(names) == 17 + 24 + 32 + 3
    assert not any("max" in n for n in names)
