"""Drawing: every plot function takes ``ax=`` and returns the figure.

Computation lives in :mod:`legnumb.analysis`; colours and the axes helper in
:mod:`legnumb.plots.style`.
"""

from legnumb.plots.evaluation import plot_confusion
from legnumb.plots.explain import (
    plot_comparison,
    plot_evidence_weights,
    plot_intake,
    plot_next_questions,
    plot_posteriors,
)
from legnumb.plots.network import plot_network
from legnumb.plots.sensitivity import (
    plot_decisive,
    plot_robustness,
    plot_sensitivity_function,
    plot_sensitivity_functions,
    plot_tornado,
)

__all__ = [
    "plot_comparison",
    "plot_confusion",
    "plot_decisive",
    "plot_evidence_weights",
    "plot_intake",
    "plot_network",
    "plot_next_questions",
    "plot_posteriors",
    "plot_robustness",
    "plot_sensitivity_function",
    "plot_sensitivity_functions",
    "plot_tornado",
]
