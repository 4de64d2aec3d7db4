"""Tests for legnumb.plots.evaluation."""

from __future__ import annotations

from legnumb.analysis.evaluate import evaluate
from legnumb.io.cases import load_cases
from legnumb.plots.evaluation import plot_confusion


def test_plot_confusion_returns_figure_and_uses_given_axes(model):
    import matplotlib.pyplot as plt

    ev = evaluate(model, load_cases(None))
    fig, ax = plt.subplots()
    assert plot_confusion(ev, ax=ax) is fig
    assert "top-1 100%" in ax.get_title() or "top-1" in ax.get_title()
    assert ax.get_xlabel() == "top cause (model)"
    plt.close(fig)
