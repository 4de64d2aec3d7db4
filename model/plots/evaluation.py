"""Drawing for :mod:`legnumb.analysis.evaluate`: the confusion matrix of expected vs top cause."""

from __future__ import annotations

import numpy as np

__all__ = ["plot_confusion"]


def plot_confusion(evaluation, *, ax=None, title: str | None = None):
    """Draw expected cause (rows) against top cause (columns); returns the figure.

    Parameters
    ----------
    evaluation : model.evaluate.Evaluation
        The evaluation to draw.
    ax : matplotlib.axes.Axes, optional
        Axes to draw on; a new figure is made when omitted.
    title : str, optional
        Figure title; a summary with top-1 accuracy by default.
    """
    import matplotlib.pyplot as plt

    conf = evaluation.confusion
    conf = conf.loc[:, (conf.sum(axis=0) > 0) | conf.columns.isin(conf.index)]
    rows = conf.index[conf.sum(axis=1) > 0]
    conf = conf.loc[rows, [c for c in conf.columns if c in rows or conf[c].sum() > 0]]
    if ax is None:
        size = max(5.0, 0.5 * max(conf.shape) + 3.0)
        fig, ax = plt.subplots(figsize=(size + 1.5, size), layout="constrained")
    else:
        fig = ax.figure
    data = conf.to_numpy()
    im = ax.imshow(data, cmap="Blues", vmin=0, vmax=max(1, data.max()))
    ax.set_xticks(
        np.arange(data.shape[1]),
        [c.replace("_", " ") for c in conf.columns],
        rotation=45,
        ha="right",
    )
    ax.set_yticks(np.arange(data.shape[0]), [c.replace("_", " ") for c in conf.index])
    for i in range(data.shape[0]):
        for j in range(data.shape[1]):
            if data[i, j]:
                color = "white" if data[i, j] > data.max() / 2 else "black"
                ax.text(j, i, str(data[i, j]), ha="center", va="center", color=color)
    ax.set_xlabel("top cause (model)")
    ax.set_ylabel("expected cause")
    s = evaluation.summary
    ax.set_title(
        title
        or f"Confusion matrix, n={s['n']}: top-1 {s['top1']:.0%}, top-3 {s['top3']:.0%}, "
        f"triage {s['triage_agreement']:.0%}"
    )
    from matplotlib.ticker import MaxNLocator

    bar = fig.colorbar(im, ax=ax, label="cases", shrink=0.8)
    bar.locator = MaxNLocator(integer=True)
    bar.update_ticks()
    return fig
