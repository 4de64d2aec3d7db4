"""The one module that talks to pgmpy.

Everything else in legnumb works on :class:`legnumb.network.cpt.CPT` arrays; this module converts
them to and from pgmpy's ``DiscreteBayesianNetwork``, runs pgmpy's exact
``VariableElimination`` (the reference every faster engine is tested against), and reads and
writes the BIF and XMLBIF exchange formats. A pgmpy upgrade should touch this file only.

Examples
--------
>>> import numpy as np
>>> from legnumb.network.cpt import CPT
>>> rain = CPT("rain", (), {"rain": ("no", "yes")}, np.array([0.8, 0.2]))
>>> wet = CPT("wet", ("rain",), {"wet": ("no", "yes"), "rain": ("no", "yes")},
...           np.array([[0.9, 0.1], [0.1, 0.9]]))
>>> bn = build_network([rain, wet])
>>> round(float(reference_query(bn, ["rain"], {"wet": "yes"})["rain"][1]), 4)
0.6923
"""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path

import numpy as np

with warnings.catch_warnings():
    # pgmpy 1.1 announces its own renames (StructureScore, get_example_model) at import time.
    warnings.simplefilter("ignore", FutureWarning)
    from pgmpy.factors.discrete import TabularCPD
    from pgmpy.inference import VariableElimination
    from pgmpy.models import DiscreteBayesianNetwork

from legnumb.errors import NetworkError
from legnumb.network.cpt import CPT

__all__ = [
    "DiscreteBayesianNetwork",
    "build_network",
    "example_network",
    "extract_tables",
    "network_text",
    "read_network",
    "reference_query",
    "write_network",
]

_FORMATS = ("bif", "xmlbif")


def build_network(cpts: Iterable[CPT]) -> DiscreteBayesianNetwork:
    """Build and check a pgmpy network from CPTs.

    Raises
    ------
    NetworkError
        When pgmpy rejects the network (a cycle, a bad table); pgmpy's or networkx's own
        error is kept as the cause.
    """
    import networkx as nx

    cpts = list(cpts)
    edges = [(p, c.variable) for c in cpts for p in c.parents]
    try:
        bn = DiscreteBayesianNetwork(edges)
    except (ValueError, nx.NetworkXError) as exc:
        raise NetworkError(f"pgmpy rejected the network: {exc}") from exc
    bn.add_nodes_from(c.variable for c in cpts)
    tabular = []
    for c in cpts:
        card = len(c.states[c.variable])
        tabular.append(
            TabularCPD(
                variable=c.variable,
                variable_card=card,
                values=np.asarray(c.values, dtype=float).reshape(card, -1),
                evidence=list(c.parents) or None,
                evidence_card=[len(c.states[p]) for p in c.parents] or None,
                state_names={v: list(c.states[v]) for v in c.scope},
            )
        )
    try:
        bn.add_cpds(*tabular)
        bn.check_model()
    except ValueError as exc:
        raise NetworkError(f"pgmpy rejected the network: {exc}") from exc
    return bn


def extract_tables(bn: DiscreteBayesianNetwork) -> list[CPT]:
    """Read every CPD of a pgmpy network as a :class:`CPT`, in topological order."""
    import networkx as nx

    out = []
    for node in nx.topological_sort(bn):
        cpd = bn.get_cpds(node)
        scope = tuple(cpd.variables)  # (variable, *evidence)
        states = {v: tuple(str(s) for s in cpd.state_names[v]) for v in scope}
        values = np.asarray(cpd.get_values(), dtype=float).reshape(cpd.cardinality)
        out.append(CPT(scope[0], scope[1:], states, values))
    return out


def reference_query(
    bn: DiscreteBayesianNetwork,
    variables: Sequence[str],
    evidence: Mapping[str, str],
) -> dict[str, np.ndarray]:
    """Exact marginals P(v | evidence) for each ``v`` in ``variables`` with pgmpy's VE.

    Returns a dict of arrays ordered as the variable's state names in the network.
    """
    infer = VariableElimination(bn)
    out = {}
    for var in variables:
        factor = infer.query([var], evidence=dict(evidence), show_progress=False)
        names = bn.get_cpds(var).state_names[var]
        out[var] = np.array([factor.get_value(**{var: s}) for s in names], dtype=float)
    return out


def network_text(bn: DiscreteBayesianNetwork, *, fmt: str) -> str:
    """``bn`` as BIF or XMLBIF text, by pgmpy's writers."""
    from pgmpy.readwrite import BIFWriter, XMLBIFWriter

    if fmt not in _FORMATS:
        raise NetworkError(f"format must be one of {_FORMATS}. Got {fmt!r} instead.")
    writer = BIFWriter(bn) if fmt == "bif" else XMLBIFWriter(bn)
    return str(writer)


def write_network(bn: DiscreteBayesianNetwork, path: str | Path, *, fmt: str) -> Path:
    """Write ``bn`` as BIF or XMLBIF (UTF-8) with pgmpy's writers."""
    path = Path(path)
    path.write_text(network_text(bn, fmt=fmt), encoding="utf-8")
    return path


def read_network(path: str | Path, *, fmt: str) -> DiscreteBayesianNetwork:
    """Read a BIF or XMLBIF file with pgmpy's readers."""
    from pgmpy.readwrite import BIFReader, XMLBIFReader

    if fmt not in _FORMATS:
        raise NetworkError(f"format must be one of {_FORMATS}. Got {fmt!r} instead.")
    reader = BIFReader(str(path)) if fmt == "bif" else XMLBIFReader(str(path))
    return reader.get_model()


def example_network(name: str) -> DiscreteBayesianNetwork:
    """One of the networks bundled in pgmpy's wheel (asia, alarm, hepar2, ...); never downloads."""
    from pgmpy.utils import get_example_model

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return get_example_model(name)
