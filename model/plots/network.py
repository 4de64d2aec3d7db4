"""The network picture: history (left), causes (middle), findings (right).

Nodes observed in a case are filled and labelled with their state; causes can be shaded by
their posterior.
"""

from __future__ import annotations

from collections.abc import Mapping

import matplotlib.pyplot as plt
import numpy as np
import pandas as pd
from matplotlib.figure import Figure

from legnumb.analysis.phrases import cause_phrase, format_pct
from legnumb.plots.style import LAYER_COLORS, axes

__all__ = ["plot_network"]


def _layer_order(edges, history, causes, findings):
    """Order history and findings by the mean position of their neighbours (fewer crossings)."""
    ypos = {c: i for i, c in enumerate(causes)}
    children, parents = {}, {}
    for a, b in edges:
        children.setdefault(a, []).append(b)
        parents.setdefault(b, []).append(a)

    def bary(node, nbrs):
        ys = [ypos[n] for n in nbrs.get(node, []) if n in ypos]
        return float(np.mean(ys)) if ys else len(causes) / 2

    hist = sorted(history, key=lambda n: bary(n, children))
    # a history node with a history parent (pregnant <- sex) sits right below it, so the edge
    # between them is short and crosses no other node
    for node in list(hist):
        inner = [p for p in parents.get(node, []) if p in hist and p != node]
        if inner:
            hist.remove(node)
            hist.insert(hist.index(inner[0]) + 1, node)
    find = sorted(findings, key=lambda n: bary(n, parents))
    return hist, find


def _contract_edges(model) -> list[tuple[str, str]]:
    """Edges between contract nodes, from the priors: history -> cause -> finding.

    The pgmpy network also holds the auxiliary divorcing nodes of each noisy-MAX finding
    (``<finding>_max<k>``); the picture draws a finding as depending on its causes directly,
    as the priors state it (:meth:`~legnumb.network.priors.PriorSet.network`).
    """
    net = model.priors.network()
    edges = [(p, t.variable) for t in net.tables for p in t.parents]
    edges += [(p, f.node) for f in net.findings for p in f.parents]
    return edges


def plot_network(
    model,
    *,
    ax=None,
    posteriors: pd.Series | None = None,
    evidence: Mapping[str, str] | None = None,
    title: str | None = None,
) -> Figure:
    """The network laid out by layer: history (left), causes (middle), findings (right).

    Parameters
    ----------
    model : Model
        A loaded model (its priors give the edges: history -> causes -> findings; the
        auxiliary divorcing nodes of the pgmpy network are not drawn).
    posteriors : pandas.Series, optional
        Cause posteriors: causes are then shaded by probability and labelled with it.
    evidence : mapping, optional
        Normalized findings: observed nodes are filled and labelled with their state, and the
        edges into observed findings are darker.
    title : str, optional
        Axes title.

    Examples
    --------
    >>> import matplotlib
    >>> matplotlib.use("Agg")
    >>> from legnumb.diagnosis.model import load_model
    >>> fig = plot_network(load_model())
    >>> len(fig.axes[0].texts)  # one label per node and three layer names
    76
    """
    import networkx as nx

    schema = model.schema
    evidence = dict(evidence or {})
    graph = nx.DiGraph()
    causes = list(schema.causes)
    graph.add_nodes_from([*schema.history, *causes, *schema.symptoms])
    graph.add_edges_from(_contract_edges(model))
    history, findings = _layer_order(
        list(graph.edges()), list(schema.history), causes, list(schema.symptoms)
    )
    pos = {}
    for x, layer in ((0.0, history), (1.0, causes), (2.0, findings)):
        ys = np.linspace(1.0, 0.0, len(layer)) if len(layer) > 1 else np.array([0.5])
        pos.update({n: (x, float(yy)) for n, yy in zip(layer, ys, strict=True)})
    fig, ax = axes(ax, (12, 10))
    observed = {n for n in evidence if n in graph}
    strong = [(a, b) for a, b in graph.edges() if b in observed or a in observed]
    weak = [e for e in graph.edges() if e not in set(strong)]
    nx.draw_networkx_edges(
        graph, pos, edgelist=weak, ax=ax, edge_color="#bbbbbb", width=0.5, alpha=0.5, arrows=False
    )
    nx.draw_networkx_edges(
        graph, pos, edgelist=strong, ax=ax, edge_color="#555555", width=0.8, alpha=0.7, arrows=False
    )
    cmap = plt.get_cmap("YlOrRd")
    for layer, nodes in (("history", history), ("cause", causes), ("finding", findings)):
        if layer == "cause" and posteriors is not None:
            colors = [cmap(0.15 + 0.85 * float(posteriors.get(c, 0.0))) for c in nodes]
        elif layer == "cause":
            colors = [LAYER_COLORS["cause"]] * len(nodes)
        else:
            colors = [LAYER_COLORS[layer] if n in observed else "white" for n in nodes]
        nx.draw_networkx_nodes(
            graph,
            pos,
            nodelist=nodes,
            ax=ax,
            node_color=colors,
            edgecolors=LAYER_COLORS[layer] if layer != "cause" else "#9c640c",
            node_size=140 if layer != "cause" else 260,
            linewidths=1.2,
        )
    for n in history + findings:
        x, y = pos[n]
        label = n.replace("_", " ")
        if n in observed:
            label = f"{label}: {evidence[n].replace('_', ' ')}"
        ax.text(
            x + (-0.04 if x == 0 else 0.04),
            y,
            label,
            ha="right" if x == 0 else "left",
            va="center",
            fontsize=8,
            fontweight="bold" if n in observed else "normal",
        )
    for c in causes:
        x, y = pos[c]
        label = cause_phrase(c)
        if posteriors is not None:
            label += f" {format_pct(float(posteriors.get(c, np.nan)))}"
        ax.text(  # beside the node: with 24 causes there is no room above it
            x + 0.035,
            y,
            label,
            ha="left",
            va="center",
            fontsize=8,
            bbox={
                "boxstyle": "round,pad=0.15",
                "facecolor": "white",
                "edgecolor": "none",
                "alpha": 0.85,
            },
        )
    for x, name in ((0.0, "history"), (1.0, "causes"), (2.0, "findings")):
        ax.text(x, 1.07, name, ha="center", va="bottom", fontsize=11, fontweight="bold")
    ax.set_xlim(-0.75, 2.75)
    ax.set_ylim(-0.04, 1.12)
    ax.axis("off")
    if title is None:
        title = "The legnumb network: history \u2192 causes \u2192 findings"
    ax.set_title(title, fontsize=12)
    return fig
