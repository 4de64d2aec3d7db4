"""One look for every figure and app: colours, the axes helper, safe text and safe saving.

Text from a user's file (a case id, a story, a label from another priors directory) goes
through :func:`plain` before it reaches a figure, so a ``$`` never turns on matplotlib's
math mode; figures are written with :func:`save_figure`, which never leaves a partial file.

>>> TRIAGE_COLORS["emergency"]
'#c0392b'
>>> fig, ax = axes(None, (2, 2))
>>> ax.figure is fig
True
>>> print(plain("case $x^$"))
case \\$x^\\$
"""

from __future__ import annotations

import io
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure

__all__ = ["LAYER_COLORS", "TRIAGE_COLORS", "axes", "figure_bytes", "plain", "save_figure"]

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


def plain(text: object) -> str:
    """``text`` to be shown as it is in a figure: every ``$`` escaped, control characters too.

    Matplotlib reads text with an even number of unescaped ``$`` as math (``$x^$`` then
    fails to draw). With every ``$`` escaped as ``\\$`` no text is math, and matplotlib shows
    ``\\$`` as ``$``; backslashes outside math are shown as they are, so they need no
    escaping. Control characters are written as ``\\x1b`` (:func:`legnumb.io.cases.printable`).
    """
    from legnumb.io.cases import printable

    return printable(text).replace("$", r"\$")


def figure_bytes(fig: Figure, *, fmt: str = "png", dpi: float = 90, close: bool = True) -> bytes:
    """The figure drawn into memory (PNG by default); the figure is closed unless asked."""
    buf = io.BytesIO()
    try:
        fig.savefig(buf, format=fmt, dpi=dpi)
    finally:
        if close:
            plt.close(fig)
    return buf.getvalue()


def save_figure(fig: Figure, path: str | Path, *, dpi: float = 110, close: bool = True) -> Path:
    """Write ``fig`` to ``path`` (format from the suffix, PNG by default), atomically.

    The figure is drawn in memory first and written to a temporary file beside ``path``,
    renamed over it only when complete: a failure leaves no file behind.

    Raises
    ------
    InputError
        When the folder of ``path`` does not exist or cannot be written.
    """
    from legnumb.io.symptom_csv import atomic_output

    path = Path(path)
    fmt = path.suffix.lstrip(".").lower() or "png"
    data = figure_bytes(fig, fmt=fmt, dpi=dpi, close=close)
    with atomic_output(path) as out:
        out.write(data)
    return path
