"""Causally independent networks: history tables, cause tables and noisy-MAX findings.

In legnumb's network every finding (a symptom column) depends on its parent causes through a
*causally independent* model (Heckerman & Breese 1996; Díez & Galán 2003): each present cause
produces a value of the finding on its own, a leak produces one more, and the finding is the
largest of them in the column's order. With states ordered ``s_0 < s_1 < ... < s_{S-1}``::

    P(X <= s_r | causes) = Lcum(r) * prod over present parents i of Qcum_i(r)

where ``Lcum`` and ``Qcum_i`` are the cumulative sums of the leak distribution and of cause
``i``'s contribution distribution, in the column's order. A yes/no finding is the case
``no < yes`` (noisy-OR). An absent cause contributes the bottom state, so it has no effect.

:class:`NoisyMax` holds one finding's numbers; :class:`IndependentNetwork` holds the whole
network: plain tables (:class:`~legnumb.network.cpt.CPT`) for history and cause nodes, and
noisy-MAX findings. :meth:`IndependentNetwork.to_cpts` writes it as plain tables for pgmpy, with
the large noisy-MAX tables divorced into chains of small ones (below).

Parent divorcing
----------------
A finding with ``n`` parent causes would need a table of ``S * 2**n`` cells. For pgmpy it is
written as a chain of auxiliary nodes ``<node>_max1 ... <node>_max{n-1}`` whose states are the
finding's states in its order (Olesen et al. 1989; Díez & Galán 2003, sequential
decomposition): ``<node>_max1`` is the largest of the leak's value and cause 1's value,
``<node>_max{k}`` the largest of ``<node>_max{k-1}`` and cause ``k``'s value, and the finding
itself the largest of the last auxiliary node and cause ``n``'s value. Every table then has at
most ``S * S * 2`` cells, and summing the auxiliary nodes out gives back exactly the noisy-MAX
table. Auxiliary nodes are never observed and carry no numbers of their own.

Examples
--------
>>> import numpy as np
>>> x = NoisyMax("laterality", ("one_leg", "both_legs"), (0, 1), ("neuropathy", "sciatica"),
...              leak=np.array([0.95, 0.05]),
...              links=np.array([[0.1, 0.9], [0.9, 0.1]]))
>>> round(x.prob("both_legs", neuropathy="present", sciatica="present"), 4)  # 1 - .95*.1*.9
0.9145
>>> x.table().shape  # (laterality, neuropathy, sciatica)
(2, 2, 2)
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

import numpy as np

from legnumb.errors import InvalidArgumentError, UnknownNameError
from legnumb.network.cpt import CPT

__all__ = ["AUX_SEPARATOR", "CAUSE_STATES", "IndependentNetwork", "NoisyMax"]

#: States of every cause node, in this order.
CAUSE_STATES: tuple[str, str] = ("absent", "present")
#: Auxiliary (divorcing) nodes are named ``<finding><AUX_SEPARATOR><k>``.
AUX_SEPARATOR = "_max"
_TOL = 1e-9


@dataclass(frozen=True)
class NoisyMax:
    """One noisy-MAX (or noisy-OR) finding: its leak and each parent cause's contribution.

    Parameters
    ----------
    node : str
        The finding (a symptom column).
    states : tuple of str
        Its states, in contract order; ``leak`` and ``links`` follow this order.
    order : tuple of int
        Indexes into ``states`` from the bottom of the column's order to the top. The bottom
        state is what an absent cause produces.
    parents : tuple of str
        Parent causes (each with states ``absent``, ``present``).
    leak : numpy.ndarray
        ``(S,)`` distribution of the value the leak produces (the answer when no parent cause
        is present).
    links : numpy.ndarray
        ``(n_parents, S)`` distribution of the value each parent cause produces on its own,
        without the leak.
    """

    node: str
    states: tuple[str, ...]
    order: tuple[int, ...]
    parents: tuple[str, ...]
    leak: np.ndarray
    links: np.ndarray

    def __post_init__(self) -> None:
        n_states = len(self.states)
        problems = []
        if sorted(self.order) != list(range(n_states)):
            problems.append(f"order must be a permutation of 0..{n_states - 1}; got {self.order}")
        if np.shape(self.leak) != (n_states,):
            problems.append(f"leak must have shape ({n_states},); got {np.shape(self.leak)}")
        if np.shape(self.links) != (len(self.parents), n_states):
            problems.append(
                f"links must have shape ({len(self.parents)}, {n_states}); got {np.shape(self.links)}"
            )
        if len(set(self.parents)) != len(self.parents):
            problems.append(f"parents must be distinct; got {self.parents}")
        if problems:
            raise InvalidArgumentError(f"noisy-MAX {self.node!r}: " + "; ".join(problems) + ".")

    # ----------------------------------------------------------------- derived quantities
    @property
    def ordered_states(self) -> tuple[str, ...]:
        """The states from the bottom of the order to the top."""
        return tuple(self.states[i] for i in self.order)

    def cumulative(self) -> np.ndarray:
        """``(1 + n_parents, n_states)``: ``Lcum`` then each ``Qcum_i``, in the column's order.

        Column ``r`` is P(value <= r-th state from the bottom); the last column is 1.
        """
        stacked = np.vstack([self.leak[None, :], self.links])[:, list(self.order)]
        return np.cumsum(stacked, axis=1)

    def table(self) -> np.ndarray:
        """The full table ``P(node | parents)``, shape ``(n_states, 2, ..., 2)`` (small ``n`` only)."""
        n = len(self.parents)
        if n > 16:
            raise InvalidArgumentError(
                f"noisy-MAX {self.node!r}: a full table of {n} parents has "
                f"{len(self.states) * 2**n} cells; use to_cpts() (parent divorcing) instead."
            )
        cum = self.cumulative()
        grids = np.indices((2,) * n).reshape(n, -1).T  # (2**n, n) parent states
        cum_f = np.repeat(cum[0][None, :], len(grids), axis=0)
        for i in range(n):
            cum_f = cum_f * np.where(grids[:, i : i + 1] == 1, cum[1 + i][None, :], 1.0)
        pmf_ordered = np.diff(np.concatenate([np.zeros((len(grids), 1)), cum_f], axis=1), axis=1)
        pmf = np.empty_like(pmf_ordered)
        pmf[:, list(self.order)] = pmf_ordered
        return pmf.T.reshape((len(self.states),) + (2,) * n)

    def prob(self, state: str, **causes: str) -> float:
        """P(node = state | causes); causes not named are absent."""
        unknown = [c for c in causes if c not in self.parents]
        if unknown or state not in self.states:
            raise UnknownNameError(
                f"P({self.node}={state} | {', '.join(causes)}): "
                f"states {', '.join(self.states)}; parents {', '.join(self.parents)}"
            )
        cum = self.cumulative()
        cum_f = cum[0].copy()
        for i, p in enumerate(self.parents):
            if causes.get(p, "absent") == "present":
                cum_f = cum_f * cum[1 + i]
        r = list(self.order).index(self.states.index(state))
        return float(cum_f[r] - (cum_f[r - 1] if r else 0.0))

    def to_cpts(self) -> list[CPT]:
        """The finding as plain tables: a divorced chain when it has two or more parents."""
        n_states = len(self.states)
        ordered = self.ordered_states
        cum = self.cumulative()
        n = len(self.parents)
        if n <= 1:
            return [CPT(self.node, self.parents, self._states(self.parents), self.table())]
        out = []
        # first auxiliary node: max(leak, cause 1)
        prev = f"{self.node}{AUX_SEPARATOR}1"
        cum_f = np.stack([cum[0], cum[0] * cum[1]], axis=1)  # (n_states ordered, 2)
        first = np.diff(np.vstack([np.zeros((1, 2)), cum_f]), axis=0)
        states = {prev: ordered, self.parents[0]: CAUSE_STATES}
        out.append(CPT(prev, (self.parents[0],), states, first))
        # max(y, cause k): P(value <= r | y, c) = [y <= r] * Qcum_k(r) ** c
        step = np.arange(n_states)[:, None] >= np.arange(n_states)[None, :]  # [r, y]: y <= r
        for k in range(1, n):
            cum_g = np.stack([step * 1.0, step * cum[1 + k][:, None]], axis=2)  # (r, y, c)
            pmf = np.diff(np.concatenate([np.zeros((1, n_states, 2)), cum_g], axis=0), axis=0)
            parent = self.parents[k]
            if k < n - 1:
                name = f"{self.node}{AUX_SEPARATOR}{k + 1}"
                states = {name: ordered, prev: ordered, parent: CAUSE_STATES}
            else:
                name = self.node
                full = np.empty_like(pmf)
                full[list(self.order)] = pmf  # rows back into contract order
                pmf = full
                states = {name: self.states, prev: ordered, parent: CAUSE_STATES}
            out.append(CPT(name, (prev, parent), states, pmf))
            prev = name
        return out

    def _states(self, parents: Sequence[str]) -> dict[str, tuple[str, ...]]:
        return {self.node: self.states, **{p: CAUSE_STATES for p in parents}}


@dataclass(frozen=True)
class IndependentNetwork:
    """A causally independent network: plain tables for history and causes, noisy-MAX findings.

    Parameters
    ----------
    tables : tuple of CPT
        History tables (roots, or conditioned on other history nodes) and cause tables
        (conditioned on history nodes only), in topological order.
    causes : tuple of str
        The cause nodes (states ``absent``, ``present``), in contract order.
    findings : tuple of NoisyMax
        One per finding, each conditioned on causes only.
    """

    tables: tuple[CPT, ...]
    causes: tuple[str, ...]
    findings: tuple[NoisyMax, ...]

    def __post_init__(self) -> None:
        names = [t.variable for t in self.tables]
        problems = [f"cause {c!r} has no table" for c in self.causes if c not in names]
        cause_set = set(self.causes)
        for t in self.tables:
            if t.variable in cause_set and any(p in cause_set for p in t.parents):
                problems.append(f"cause {t.variable!r} has a cause parent")
            if t.variable in cause_set and t.states[t.variable] != CAUSE_STATES:
                problems.append(f"cause {t.variable!r} must have states {CAUSE_STATES}")
        for f in self.findings:
            bad = [p for p in f.parents if p not in cause_set]
            if bad:
                problems.append(f"finding {f.node!r} has parents that are not causes: {bad}")
        if problems:
            raise InvalidArgumentError("independent network: " + "; ".join(problems) + ".")

    @property
    def history(self) -> tuple[str, ...]:
        """The history (non-cause) table nodes."""
        return tuple(t.variable for t in self.tables if t.variable not in self.causes)

    @property
    def variables(self) -> tuple[str, ...]:
        """Every observable node: history, causes, findings (no auxiliary nodes)."""
        return tuple(t.variable for t in self.tables) + tuple(f.node for f in self.findings)

    @property
    def states(self) -> dict[str, tuple[str, ...]]:
        """States of every observable node."""
        out = {t.variable: t.states[t.variable] for t in self.tables}
        out.update({f.node: f.states for f in self.findings})
        return out

    def finding(self, node: str) -> NoisyMax:
        """The noisy-MAX of ``node``."""
        for f in self.findings:
            if f.node == node:
                return f
        raise UnknownNameError(f"{node!r} is not a finding of the network")

    def to_cpts(self) -> list[CPT]:
        """Every node as a plain table (findings divorced), for pgmpy."""
        out = list(self.tables)
        for f in self.findings:
            out.extend(f.to_cpts())
        return out

    def replace_values(self, values: Mapping[str, np.ndarray]) -> IndependentNetwork:
        """A copy with some nodes' numbers replaced.

        ``values[node]`` is a table's values array, or for a finding the ``(1 + n_parents, n_states)``
        stack of its leak and links.
        """
        tables = tuple(
            CPT(t.variable, t.parents, t.states, np.asarray(values[t.variable], dtype=float))
            if t.variable in values
            else t
            for t in self.tables
        )
        findings = tuple(
            NoisyMax(f.node, f.states, f.order, f.parents, values[f.node][0], values[f.node][1:])
            if f.node in values
            else f
            for f in self.findings
        )
        return IndependentNetwork(tables, self.causes, findings)
