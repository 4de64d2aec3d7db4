"""One look for every figure and app: triage colours, layer colours, and the axes helper.

>>> TRIAGE_COLORS["emergency"]
'#c0392b'
>>> fig, ax = axes(None, (2, 2))
>>> ax.figure is fig
True
"""

from __future__ import annotations

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["LAYER_COLORS", "TRIAGE_COLORS", "axes"]

#: Colour of each triage level (and of causes by the level they trigger when likely).
TRIAGE_COLORS: dict[str, str] = {
    "emergency": "#c0392b",
    "urgent": "#e67e22",
    "routine": "#2e86c1",
    "self_care": "#27ae60",
}

#: Colour of each layer of the network picture.
LAYER_COLORS: dict[str, str] = {"history": "#95a5a6", "cause": "#f5b041", "finding": "#5dade2"}


def axes(ax, figsize: tuple[float, float]) -> tuple[Figure, plt.Axes]:
    """``(figure, axes)``: the given axes and its figure, or a new constrained-layout figure."""
    if ax is None:
        fig, ax = plt.subplots(figsize=figsize, layout="constrained")
        return fig, ax
    return ax.figure, ax
