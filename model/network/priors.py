"""Priors as reviewed data: read, validate and expand every hand-set number of the network.

A priors directory holds five CSV files (see ``priors/README.md`` for the full format):

``sources.csv``
    ``source_id, kind, citation, locator, reasoning``; ``kind`` is ``seed``, ``literature``
    or ``expert_judgement``.
``history.csv``, ``causes.csv``, ``findings.csv``
    One row per number: ``node, kind, state, parent, parent_state, value, low, high,
    range_basis, source_id, note``.
``orders.csv``
    ``node, order, source_id, note``: the order of the states of every multi-state finding,
    bottom first, joined by ``|`` (the noisy-MAX combines the causes' values by maximum in
    this order).

The ``kind`` of a number row says what it is:

``prior`` (``history.csv``)
    P(node = state), or P(node = state | parent = parent_state) for the conditional history
    tables (``pregnant | sex``, ``postpartum | sex``): plain tables.
``baseline`` (``causes.csv``, state ``present``, no parent)
    P(cause present | every history parent at its reference state).
``odds_ratio`` (``causes.csv``, state ``present``)
    The odds ratio of the cause for ``parent = parent_state`` against the parent's reference
    state (``no``, ``under_40`` for ``age_group``, ``female`` for ``sex``, else the first
    state). A positive number, not a probability. A cause's table is logistic:
    ``logit P(present | h) = logit(baseline) + sum over parents of log OR(parent = h_parent)``.
``leak`` (``findings.csv``)
    What the leak produces: P(finding = state | no parent cause present). Yes/no findings
    give one row (state ``yes``); multi-state findings one row per state, summing to 1.
``link`` (``findings.csv``, ``parent_state`` ``present``)
    What ``parent`` alone produces: P(finding = state | only that cause present, no leak).
    Yes/no findings: state ``yes`` only (noisy-OR); multi-state findings: one row per state.

Findings are noisy-MAX nodes (:class:`~legnumb.network.independent.NoisyMax`): the answer is
the largest of the values the leak and the present causes produce, in the finding's order
(``no < yes`` for yes/no findings). ``range_basis`` says how ``low`` and ``high`` were set:
``ci`` (a published 95% confidence interval named in the note) or ``x2``, ``x3``, ``x10``
(the odds multiplied and divided by 2, 3 or 10; an odds ratio itself multiplied and divided),
which loading checks to 4 decimals. Every number is addressed by state label, never by
position.

Examples
--------
A tiny priors set (four history nodes, two causes, two findings) with its own schema:

>>> priors = example_priors()
>>> priors.get("causes", node="stroke", kind="odds_ratio", parent="atrial_fibrillation").label
'OR(stroke | atrial_fibrillation)'
>>> priors.get("findings", node="onset", kind="link", parent="stroke", state="sudden").label
'P(onset=sudden | stroke alone)'
>>> [type(x).__name__ for x in priors.expand()]  # history, causes, findings
['CPT', 'CPT', 'CPT', 'CPT', 'CPT', 'CPT', 'NoisyMax', 'NoisyMax']
>>> stroke = priors.expand_node("stroke")  # odds 0.01/0.99 times OR 5 (65+) times OR 4 (AF)
>>> round(stroke.prob("present", age_group="65_plus", atrial_fibrillation="yes"), 4)
0.1681
>>> priors.orders["onset"].states
('gradual', 'over_hours', 'sudden')
>>> net = priors.network()  # the IndependentNetwork
>>> round(net.finding("onset").prob("sudden", stroke="present"), 4)  # 1 - 0.97 * 0.2
0.806
"""

from __future__ import annotations

import csv
import hashlib
import io
import math
import re
import tempfile
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from legnumb.errors import InvalidArgumentError, PriorsError, Problem, UnknownNameError
from legnumb.network.cpt import CPT
from legnumb.network.independent import IndependentNetwork, NoisyMax
from legnumb.network.schema import Cause, Column, Schema, closest, load_schema

__all__ = [
    "HISTORY_PARENTS",
    "MAX_CAUSE_PARENTS",
    "MAX_FIELD_BYTES",
    "MIN_PROBABILITY",
    "NUMBER_FIELDS",
    "NUMBER_FILES",
    "NUMBER_KINDS",
    "ORDER_FIELDS",
    "RANGE_BASES",
    "SOURCE_FIELDS",
    "SOURCE_KINDS",
    "Number",
    "Order",
    "PriorSet",
    "Source",
    "example_priors",
    "example_schema",
    "load_priors",
    "odds_range",
    "probability_problem",
    "ratio_problem",
    "reference_state",
    "shipped_priors_dir",
    "value_problem",
]

NUMBER_FILES: tuple[str, ...] = ("history", "causes", "findings")
NUMBER_FIELDS: tuple[str, ...] = (
    "node",
    "kind",
    "state",
    "parent",
    "parent_state",
    "value",
    "low",
    "high",
    "range_basis",
    "source_id",
    "note",
)
ORDER_FIELDS: tuple[str, ...] = ("node", "order", "source_id", "note")
SOURCE_FIELDS: tuple[str, ...] = ("source_id", "kind", "citation", "locator", "reasoning")
SOURCE_KINDS: tuple[str, ...] = ("seed", "literature", "expert_judgement")
#: The kinds of numbers each number file holds.
NUMBER_KINDS: dict[str, tuple[str, ...]] = {
    "history": ("prior",),
    "causes": ("baseline", "odds_ratio"),
    "findings": ("leak", "link"),
}
_KINDS = tuple(k for kinds in NUMBER_KINDS.values() for k in kinds)
#: How ``low`` and ``high`` were set; ``xK`` is the odds (or the odds ratio) x/÷ K.
RANGE_BASES: tuple[str, ...] = ("ci", "x2", "x3", "x10")
_FACTORS = {"x2": 2.0, "x3": 3.0, "x10": 10.0}
_RANGE_TOL = 5e-5 + 1e-12  # "to 4 decimals": within half a unit of the 4th decimal
#: Most history parents a cause may have (its table has ``2 * prod(states)`` cells).
MAX_CAUSE_PARENTS = 4
#: The conditional history tables: node -> its one parent (a root history node).
HISTORY_PARENTS: dict[str, str] = {"pregnant": "sex", "postpartum": "sex"}
_REFERENCE = {"age_group": "under_40", "sex": "female"}
_SUM_TOL = 1e-9
#: Longest field a priors CSV may hold, in UTF-8 bytes (the csv module's default limit).
MAX_FIELD_BYTES = 128 * 1024
_SHOWN_CHARS = 4096  # how much of a broken line is read back for its names
#: Every probability (value, low and high) must lie in ``[MIN_PROBABILITY, 1 - MIN_PROBABILITY]``:
#: closer to 0 or 1, ``1 - (1 - x)`` loses most of ``x`` (for 1e-17 it is exactly 0), so
#: complements and scores downstream would come out wrong or blank.
MIN_PROBABILITY = 1e-9


def reference_state(schema: Schema, node: str) -> str:
    """The reference state of a history node: the state whose odds ratio is 1 by definition.

    ``no`` for yes/no columns, ``under_40`` for ``age_group``, ``female`` for ``sex``, else
    the first state in contract order.

    >>> reference_state(load_schema(), "age_group"), reference_state(load_schema(), "diabetes")
    ('under_40', 'no')
    """
    states = schema.states_of(node)
    if node in _REFERENCE and _REFERENCE[node] in states:
        return _REFERENCE[node]
    if set(states) == {"yes", "no"}:
        return "no"
    return states[0]


def odds_range(value: float, basis: str, *, ratio: bool = False) -> tuple[float, float]:
    """The exact ``(low, high)`` that ``range_basis`` ``basis`` (``x2``, ``x3``, ``x10``) gives.

    For a probability ``p`` the odds are multiplied and divided by ``k``:
    ``low = p / (p + (1 - p) k)``, ``high = p k / (p k + (1 - p))``; for an odds ratio
    (``ratio=True``) the ratio itself: ``(OR / k, OR * k)``.

    >>> [round(x, 4) for x in odds_range(0.3, "x3")]
    [0.125, 0.5625]
    >>> odds_range(4.0, "x2", ratio=True)
    (2.0, 8.0)
    """
    k = _FACTORS[basis]
    if ratio:
        return value / k, value * k
    return value / (value + (1.0 - value) * k), value * k / (value * k + (1.0 - value))


@dataclass(frozen=True)
class Source:
    """One row of ``sources.csv``."""

    source_id: str
    kind: str
    citation: str
    locator: str
    reasoning: str


@dataclass(frozen=True)
class Order:
    """One row of ``orders.csv``: the states of a multi-state finding, bottom first."""

    node: str
    states: tuple[str, ...]
    source_id: str
    note: str
    line: int = 0


@dataclass(frozen=True)
class Number:
    """One hand-set number: one row of a number file.

    ``param_id`` is stable and unique: ``file:node|kind|parent=parent_state|state``.
    """

    file: str
    line: int
    node: str
    kind: str
    state: str
    parent: str
    parent_state: str
    value: float
    low: float
    high: float
    range_basis: str
    source_id: str
    note: str

    @property
    def param_id(self) -> str:
        """Stable identifier of this number."""
        return f"{self.file}:{self.node}|{self.kind}|{self.parent}={self.parent_state}|{self.state}"

    @property
    def is_ratio(self) -> bool:
        """True for an odds ratio (a positive number), False for a probability."""
        return self.kind == "odds_ratio"

    @property
    def label(self) -> str:
        """How a reviewer reads the number.

        >>> ps = example_priors()
        >>> [n.label for n in ps.numbers if n.node in ("stroke", "weakness")][:4]
        ['P(stroke | reference risk factors)', 'OR(stroke | age_group=40_to_64)', 'OR(stroke | age_group=65_plus)', 'OR(stroke | atrial_fibrillation)']
        >>> ps.get("findings", node="weakness", kind="leak").label
        'P(weakness | no cause)'
        """
        given = (
            self.parent
            if self.parent_state in ("yes", "present")
            else f"{self.parent}={self.parent_state}"
        )
        if self.kind == "odds_ratio":
            return f"OR({self.node} | {given})"
        if self.kind == "baseline":
            return f"P({self.node} | reference risk factors)"
        target = self.node if self.state in ("yes", "present") else f"{self.node}={self.state}"
        if self.kind == "leak":
            return f"P({target} | no cause)"
        if self.kind == "link":
            return f"P({target} | {self.parent} alone)"
        if self.parent:
            return f"P({target} | {given})"
        return f"P({target})"


@dataclass(frozen=True)
class PriorSet:
    """Every validated number, source and order of a priors directory.

    Use :func:`load_priors` to build one. :meth:`expand` turns it into one object per node
    (a :class:`~legnumb.network.cpt.CPT` for history and cause nodes, a
    :class:`~legnumb.network.independent.NoisyMax` for findings), :meth:`network` into the
    :class:`~legnumb.network.independent.IndependentNetwork`, and :meth:`with_value` makes a
    variant with one number changed. :meth:`expand_batch` is the one implementation of the
    expansion (plain tables, logistic cause tables, noisy-MAX findings), over a batch of
    variants; :meth:`expand` is its batch of one.
    """

    numbers: tuple[Number, ...]
    sources: dict[str, Source]
    schema: Schema
    sha256: str
    directory: str = ""
    orders: dict[str, Order] = field(default_factory=dict)
    _layouts: dict[str, _Layout] = field(default_factory=dict, compare=False, repr=False)
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({n.param_id: i for i, n in enumerate(self.numbers)})

    # ----- lookup
    def __getitem__(self, param_id: str) -> Number:
        return self.numbers[self._index[param_id]]

    def get(self, file: str, **key: str) -> Number:
        """The one number of ``file`` whose fields equal ``key`` (unset fields: any value)."""
        found = [
            n
            for n in self.numbers
            if n.file == file and all(getattr(n, k) == v for k, v in key.items())
        ]
        if len(found) != 1:
            raise UnknownNameError(
                f"expected one number in {file} matching {key}. Got {len(found)} instead."
            )
        return found[0]

    def siblings(self, param_id: str) -> tuple[Number, ...]:
        """The other numbers of the same distribution.

        History tables (per parent state), and the leak and each link of a multi-state
        finding, are distributions that sum to 1. Baselines, odds ratios and the numbers of
        yes/no findings (one probability each) have no siblings.

        >>> ps = example_priors()
        >>> [n.state for n in ps.siblings("findings:onset|link|stroke=present|sudden")]
        ['over_hours', 'gradual']
        >>> ps.siblings("findings:weakness|link|stroke=present|yes")
        ()
        """
        n = self[param_id]
        if n.kind in ("baseline", "odds_ratio") or (
            n.file == "findings" and self.schema.columns[n.node].is_yes_no
        ):
            return ()
        return tuple(
            m
            for m in self.numbers
            if m.node == n.node
            and m.kind == n.kind
            and m.parent == n.parent
            and m.parent_state == n.parent_state
            and m.param_id != param_id
        )

    @property
    def expert_only(self) -> tuple[Number, ...]:
        """Numbers whose source is expert judgement alone."""
        return tuple(
            n for n in self.numbers if self.sources[n.source_id].kind == "expert_judgement"
        )

    def table(self):
        """Every number as a tidy pandas DataFrame (one row per number, with source details)."""
        import pandas as pd

        rows = []
        for n in self.numbers:
            s = self.sources[n.source_id]
            rows.append(
                {
                    "param_id": n.param_id,
                    "label": n.label,
                    "file": n.file,
                    "node": n.node,
                    "kind": n.kind,
                    "state": n.state,
                    "parent": n.parent,
                    "parent_state": n.parent_state,
                    "value": n.value,
                    "low": n.low,
                    "high": n.high,
                    "range_basis": n.range_basis,
                    "source_id": n.source_id,
                    "source_kind": s.kind,
                    "citation": s.citation,
                    "note": n.note,
                }
            )
        return pd.DataFrame(rows)

    # ----- variants
    def with_value(self, param_id: str, value: float) -> PriorSet:
        """A copy with one number set to ``value`` and its siblings scaled to keep the sum.

        The siblings of a distribution (see :meth:`siblings`) are scaled proportionally so
        the distribution still sums to 1. Ranges are not enforced here (this is for
        sensitivity analysis), but a probability must lie in
        ``[MIN_PROBABILITY, 1 - MIN_PROBABILITY]`` and an odds ratio must be finite and > 0.

        >>> ps = example_priors().with_value("causes:stroke|odds_ratio|atrial_fibrillation=yes|present", 1.0)
        >>> round(ps.expand_node("stroke").prob("present", age_group="under_40", atrial_fibrillation="yes"), 4)
        0.01
        """
        return self.with_values({param_id: value})

    def with_values(self, values: Mapping[str, float]) -> PriorSet:
        """A copy with several numbers changed (siblings rescaled, see :meth:`with_value`)."""
        numbers = list(self.numbers)
        for pid, v in values.items():
            i = self._index[pid]
            message = value_problem(numbers[i], v)
            if message:
                raise InvalidArgumentError(f"{pid}: {message}")
            sibs = self.siblings(pid)
            if sibs:
                rest = sum(numbers[self._index[s.param_id]].value for s in sibs)
                scale = (1.0 - v) / rest if rest > 0 else 0.0
                for s in sibs:
                    j = self._index[s.param_id]
                    numbers[j] = replace(numbers[j], value=numbers[j].value * scale)
            numbers[i] = replace(numbers[i], value=float(v))
        # same numbers in the same places: the layouts of the nodes carry over
        return PriorSet(
            tuple(numbers),
            self.sources,
            self.schema,
            self.sha256,
            self.directory,
            self.orders,
            self._layouts,
        )

    # ----- expansion
    def expand(self) -> list[CPT | NoisyMax]:
        """One object per node, in schema node order: a CPT or a NoisyMax (findings)."""
        return self._wrap(self.schema.nodes)

    def expand_node(self, node: str) -> CPT | NoisyMax:
        """The CPT (history node, cause) or NoisyMax (finding) of one node."""
        return self._wrap([node])[0]

    def network(self) -> IndependentNetwork:
        """The :class:`~legnumb.network.independent.IndependentNetwork` of these numbers.

        Its tables are the history tables (roots first) and the cause tables; its findings
        the noisy-MAX findings, in schema order.
        """
        objects = {x.variable if isinstance(x, CPT) else x.node: x for x in self.expand()}
        history = list(self.schema.history)
        ordered: list[str] = []
        while history:  # topological: a history node after its parents
            ready = [
                h
                for h in history
                if all(p in ordered for p in objects[h].parents)  # type: ignore[union-attr]
            ]
            if not ready:
                raise InvalidArgumentError(f"history nodes with a cycle: {', '.join(history)}")
            ordered += ready
            history = [h for h in history if h not in ready]
        tables = tuple(objects[h] for h in ordered) + tuple(objects[c] for c in self.schema.causes)
        findings = tuple(objects[f] for f in self.schema.symptoms)
        return IndependentNetwork(tables, tuple(self.schema.causes), findings)  # type: ignore[arg-type]

    def _wrap(self, nodes: Iterable[str]) -> list[CPT | NoisyMax]:
        nodes = list(nodes)
        arrays = self.expand_batch(np.array([[n.value for n in self.numbers]]), nodes=nodes)
        out: list[CPT | NoisyMax] = []
        for node in nodes:
            layout, values = self._layout(node), arrays[node][0]
            if isinstance(layout.recipe, _Max):
                out.append(
                    NoisyMax(
                        node,
                        layout.states[node],
                        layout.order,
                        layout.parents,
                        values[0],
                        values[1:],
                    )
                )
            else:
                out.append(CPT(node, layout.parents, dict(layout.states), values))
        return out

    def expand_batch(
        self, theta: np.ndarray, *, nodes: Iterable[str] | None = None
    ) -> dict[str, np.ndarray]:
        """The arrays of ``nodes`` (default: all) for a batch of variants of the numbers.

        This is the one expansion of numbers into the network's arrays: :meth:`expand` is
        this with a batch of one (the numbers' own values), and
        :class:`~legnumb.network.parameters.ParameterSpace` uses it for sensitivity analysis.
        The arrays are what :meth:`IndependentNetwork.replace_values
        <legnumb.network.independent.IndependentNetwork.replace_values>` takes per variant, and
        what the engine takes as ``cpt_values``.

        Parameters
        ----------
        theta : numpy.ndarray
            ``(B, len(numbers))`` (or ``(len(numbers),)`` for one variant): row ``b`` holds a
            value for every number, in ``numbers`` order.
        nodes : iterable of str, optional
            The nodes to expand.

        Returns
        -------
        dict of str to numpy.ndarray
            ``node -> array``: for a history node or a cause ``(B, *cpt.values.shape)``, axes
            as in its :class:`CPT`; for a finding ``(B, 1 + n_parents, S)``: the leak
            distribution then each parent cause's, states in contract order.

        Raises
        ------
        InvalidArgumentError
            When ``theta`` does not have one column per number.
        UnknownNameError
            For an unknown node.

        Examples
        --------
        >>> ps = example_priors()
        >>> theta = np.array([[n.value for n in ps.numbers]] * 2)
        >>> {k: v.shape for k, v in ps.expand_batch(theta, nodes=["stroke", "onset"]).items()}
        {'stroke': (2, 2, 3, 2), 'onset': (2, 3, 3)}
        """
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        if theta.ndim != 2 or theta.shape[1] != len(self.numbers):
            raise InvalidArgumentError(
                f"expected theta of shape (B, {len(self.numbers)}). Got {theta.shape} instead."
            )
        return {
            node: _expand_layout(self._layout(node), theta)
            for node in (self.schema.nodes if nodes is None else nodes)
        }

    def _layout(self, node: str) -> _Layout:
        layout = self._layouts.get(node)
        if layout is None:
            if node not in self.schema.nodes:
                raise UnknownNameError(f"unknown node {node!r}")
            positions = [i for i, n in enumerate(self.numbers) if n.node == node]
            layout = _node_layout(self.schema, self.orders, node, self.numbers, positions)
            self._layouts[node] = layout
        return layout


def value_problem(number: Number, x: float) -> str | None:
    """What is wrong with ``x`` as a new value of ``number``, or None if nothing is.

    >>> n = example_priors().get("causes", node="sciatica", kind="baseline")
    >>> value_problem(n, 0.5) is None, value_problem(replace(n, kind="odds_ratio"), 7.0) is None
    (True, True)
    """
    if number.is_ratio:
        message = ratio_problem(x)
        return f"an odds ratio {message}" if message else None
    message = probability_problem(x, outside="must lie in (0, 1)")
    return f"a probability {message}" if message else None


# --------------------------------------------------------------------------- node models
def _parent_order(schema: Schema, numbers: Iterable[Number]) -> tuple[str, ...]:
    parents = {n.parent for n in numbers if n.parent}
    return tuple(p for p in schema.nodes if p in parents)


@dataclass(frozen=True)
class _Table:
    """A plain table: number ``pidx[j]`` goes to flat cell ``flat[j]``."""

    flat: np.ndarray
    pidx: np.ndarray


@dataclass(frozen=True)
class _Logistic:
    """A cause: logit P(present | h) = logit(baseline) + sum of the log odds ratios in h."""

    baseline: int  # position of the baseline in theta
    ratios: tuple[tuple[int, int, int], ...]  # (position in theta, parent axis, parent state)


@dataclass(frozen=True)
class _Max:
    """A noisy-MAX finding: its leak and links, stacked ``(1 + n_parents, S)``.

    Multi-state findings: ``pos`` is ``(1 + n, S)`` positions in theta. Yes/no findings:
    ``pos`` is ``(1 + n,)`` positions of P(yes), and ``yes`` the code of ``yes``.
    """

    pos: np.ndarray
    yes: int | None


@dataclass(frozen=True)
class _Layout:
    """How the numbers of one node fill its array (axes, states and formula)."""

    node: str
    parents: tuple[str, ...]
    states: dict[str, tuple[str, ...]]
    shape: tuple[int, ...]  # of one variant's array
    recipe: _Table | _Logistic | _Max
    order: tuple[int, ...] = ()  # findings: state codes from the bottom of the order up


def _node_layout(schema: Schema, orders, node: str, numbers, positions) -> _Layout:
    """The layout of ``node``, whose numbers are ``numbers[i]`` for ``i`` in ``positions``."""
    nums = [numbers[i] for i in positions]
    states = schema.states_of(node)
    parents = _parent_order(schema, nums)
    st = {node: states, **{p: schema.states_of(p) for p in parents}}
    pairs = list(zip(nums, positions, strict=True))
    if node in schema.causes:
        shape = tuple(len(st[v]) for v in (node, *parents))
        ratios = tuple(
            (i, parents.index(n.parent), st[n.parent].index(n.parent_state))
            for n, i in pairs
            if n.kind == "odds_ratio"
        )
        baseline = next(i for n, i in pairs if n.kind == "baseline")
        return _Layout(node, parents, st, shape, _Logistic(baseline, ratios))
    if schema.columns[node].group == "history":
        shape = tuple(len(st[v]) for v in (node, *parents))
        flat = []
        for n in nums:
            cell = [states.index(n.state)]
            if parents:
                cell.append(st[parents[0]].index(n.parent_state))
            flat.append(np.ravel_multi_index(tuple(cell), shape))
        recipe = _Table(np.array(flat, dtype=np.int64), np.array(positions, dtype=np.int64))
        return _Layout(node, parents, st, shape, recipe)
    shape = (1 + len(parents), len(states))
    if schema.columns[node].is_yes_no:
        yes = states.index("yes")
        order = (1 - yes, yes)
        pos = np.empty(1 + len(parents), dtype=np.int64)
        for n, i in pairs:
            pos[0 if n.kind == "leak" else 1 + parents.index(n.parent)] = i
        return _Layout(node, parents, st, shape, _Max(pos, yes), order)
    if node not in orders:
        raise InvalidArgumentError(f"finding {node!r} has no order (orders.csv)")
    order = tuple(states.index(s) for s in orders[node].states)
    pos = np.empty(shape, dtype=np.int64)
    for n, i in pairs:
        pos[0 if n.kind == "leak" else 1 + parents.index(n.parent), states.index(n.state)] = i
    return _Layout(node, parents, st, shape, _Max(pos, None), order)


def _expand_layout(layout: _Layout, theta: np.ndarray) -> np.ndarray:
    """Arrays ``(B, *layout.shape)`` of one node for the variants ``theta`` ``(B, n)``."""
    shape, b, r = layout.shape, theta.shape[0], layout.recipe
    if isinstance(r, _Table):
        out = np.zeros((b, int(np.prod(shape))))
        out[:, r.flat] = theta[:, r.pidx]
        return out.reshape((b, *shape))
    if isinstance(r, _Logistic):
        pshape = shape[1:]
        base = theta[:, r.baseline]
        z = np.broadcast_to(
            (np.log(base) - np.log1p(-base)).reshape((b,) + (1,) * len(pshape)), (b, *pshape)
        )
        for i, axis, state in r.ratios:
            term = np.zeros((b, pshape[axis]))
            term[:, state] = np.log(theta[:, i])
            z = z + term.reshape([b] + [-1 if a == axis else 1 for a in range(len(pshape))])
        out = np.empty((b, *shape))
        out[:, 1] = 1.0 / (1.0 + np.exp(-z))  # present (CAUSE_STATES order)
        out[:, 0] = 1.0 / (1.0 + np.exp(z))  # absent: exact where present is near 1
        return out
    if r.yes is None:
        return theta[:, r.pos]
    out = np.empty((b, *shape))
    out[:, :, r.yes] = theta[:, r.pos]
    out[:, :, 1 - r.yes] = 1.0 - theta[:, r.pos]
    return out


# --------------------------------------------------------------------------- loading
def shipped_priors_dir() -> Path:
    """The priors installed with the package (the repository's ``priors/`` folder)."""
    return Path(str(resources.files("legnumb.shipped_priors")))


def load_priors(directory: str | Path | None = None, *, schema: Schema | None = None) -> PriorSet:
    """Read and validate a priors directory; report every problem at once.

    Parameters
    ----------
    directory : str or Path, optional
        The priors folder; the shipped priors when omitted.
    schema : Schema, optional
        The node names and states; the bundled schema when omitted.

    Raises
    ------
    PriorsError
        With one :class:`~legnumb.errors.Problem` per problem found, each naming the file,
        the row, the key and what was expected.
    """
    schema = schema or load_schema()
    directory = Path(directory) if directory is not None else shipped_priors_dir()
    problems: list[Problem] = []
    if not directory.is_dir():
        raise PriorsError(f"priors directory {str(directory)!r} does not exist.")
    digest = hashlib.sha256()
    raw: dict[str, list[tuple[int, dict[str, str], bool]] | None] = {}
    files = (
        [("sources", SOURCE_FIELDS)]
        + [(f, NUMBER_FIELDS) for f in NUMBER_FILES]
        + [("orders", ORDER_FIELDS)]
    )
    for name, fields in files:
        path = directory / f"{name}.csv"
        if not path.is_file():
            problems.append(Problem(f"{path}", "file", "missing; expected a CSV file"))
            raw[name] = None
            continue
        data = path.read_bytes()
        digest.update(name.encode() + b"\0" + data + b"\0")
        raw[name] = _read_rows(path, data, fields, problems)
    sources, unsure = _check_sources(directory, raw["sources"], problems)
    # Every check runs in one pass; a row that failed only hides the checks that need it:
    # its distribution (or its node, or its whole file) goes into ``unchecked``.
    numbers: list[Number] = []
    unchecked: set[tuple[str, ...]] = set()
    for name in NUMBER_FILES:
        if raw[name] is None:
            unchecked.add((f"{name}.csv",))
            continue
        numbers += _check_numbers(
            directory, name, raw[name], schema, sources, unsure, problems, unchecked
        )
    _check_structure(directory, numbers, schema, problems, unchecked)
    orders = _check_orders(directory, raw["orders"], schema, sources, unsure, problems)
    if problems:
        raise PriorsError(
            f"{len(problems)} problem(s) in priors directory {str(directory)!r}:", problems
        )
    return PriorSet(tuple(numbers), sources, schema, digest.hexdigest(), str(directory), orders)


def _read_rows(path, data, fields, problems):
    """The rows of one CSV file as ``(line, {field: text}, readable)``; header problems noted.

    ``line`` is the line the row starts on. A row that is not ``readable`` (see
    :func:`_records`) was reported already; its fields are what its first line holds. None
    when the file is not UTF-8.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), "encoding", f"must be UTF-8: {exc}"))
        return None
    records = _records(path, text, problems)
    header = next(records, (0, [], True))[1]
    for col in header:
        if col not in fields:
            hint = closest(col, fields)
            problems.append(
                Problem(
                    f"{path}, header",
                    repr(col),
                    f"unknown field; allowed: {', '.join(fields)}"
                    + (f" (did you mean {hint!r}?)" if hint else ""),
                )
            )
    for col in fields:
        if col not in header:
            problems.append(Problem(f"{path}, header", repr(col), "required field is missing"))
    rows = []
    for line, cells, readable in records:
        if readable and len(cells) > len(header):
            problems.append(Problem(f"{path}, row {line}", "row", "has more cells than the header"))
        row = dict(zip(header, (c.strip() for c in cells), strict=False))
        rows.append((line, {col: row.get(col, "") for col in header}, readable))
    return rows


def _records(path, text, problems):
    """Yield ``(line, cells, readable)`` for every non-blank record of ``text``, read strictly.

    ``line`` is the 1-based line where the record starts. A record that cannot be read (a
    quote left open or followed by text, a field longer than :data:`MAX_FIELD_BYTES`) is
    a problem naming its line; it is yielded with ``readable`` false and the cells its first
    line holds, and reading resumes on the line after the fault, so that the rest of the
    file is still checked.
    """
    lines = io.StringIO(text, newline="").readlines()
    first = 0  # index of the line the next record starts on
    while first < len(lines):
        resumed = first
        reader = csv.reader(lines[resumed:], strict=True)
        try:
            for cells in reader:
                line, first = first + 1, resumed + reader.line_num
                if not cells:
                    continue
                longest = max(len(c.encode()) for c in cells)
                if longest > MAX_FIELD_BYTES:
                    problems.append(_too_long(path, line, MAX_FIELD_BYTES))
                yield line, cells, longest <= MAX_FIELD_BYTES
            return
        except csv.Error as exc:
            line, failed = first + 1, resumed + reader.line_num  # failed: 1-based
            problem, resume = _unreadable(path, lines, first, failed, exc)
            problems.append(problem)
            yield line, next(csv.reader([lines[first][:_SHOWN_CHARS]]), []), False
            first = max(resume, first + 1)


def _unreadable(path, lines, first, failed, exc):
    """The problem of a record (from line index ``first``) that failed on line ``failed``.

    Returns the problem and the index of the line to resume reading on. A quote still open
    when the reader stopped, or open at the end of the line before (and closed, wrongly, by
    a quote on the failing line), is an unterminated quote: the problem names the line it
    opened on, and reading resumes on the line after it.
    """
    opened = _open_quote(lines, first, failed)
    if opened is None and failed - 1 > first:
        opened = _open_quote(lines, first, failed - 1)
    if opened is not None:
        runs_on = (
            "is never closed"
            if failed == len(lines) and "end of data" in str(exc)
            else f"is not closed on that line and runs on to line {failed} ({exc})"
        )
        message = f"unterminated quote: the quoted field opened on line {opened + 1} {runs_on}"
        return Problem(f"{path}, row {opened + 1}", "quote", message), opened + 1
    if "field limit" in str(exc):
        return _too_long(path, first + 1, csv.field_size_limit()), failed
    if "expected after" in str(exc):
        message = f"malformed quoting ({exc}): a quoted field must end at its closing quote"
        return Problem(f"{path}, row {failed}", "quote", message), failed
    return Problem(f"{path}, row {failed}", "csv", f"not readable as CSV: {exc}"), failed


def _too_long(path, line, limit):
    return Problem(
        f"{path}, row {line}",
        "field",
        f"field longer than {limit} bytes; a priors field holds a number, a name or a note",
    )


def _open_quote(lines, first, stop):
    """Index of the line where the quote left open after ``lines[first:stop]`` opened, or None.

    Reads as the csv module does: a quote opens a field only at the field's start, and
    ``""`` inside a quoted field is a literal quote.
    """
    quoted, at_start, opened = False, True, None
    for i in range(first, stop):
        text = lines[i]
        j = 0
        while j < len(text):
            c = text[j]
            if quoted:
                if c == '"':
                    if text[j + 1 : j + 2] == '"':
                        j += 1
                    else:
                        quoted = False
            elif c == '"' and at_start:
                quoted, opened = True, i
            at_start = not quoted and c in ",\r\n"
            j += 1
    return opened if quoted else None


_LOCATOR = re.compile(
    r"^(doi:10\.\d{4,9}/\S+|PMID:\s?\d+|PMC\d+|https?://[^/\s]+/\S+)$", re.IGNORECASE
)


def _check_sources(directory, rows, problems):
    """Check ``sources.csv``; return the sources and the ids that cannot be checked.

    The second item is None when the file could not be read at all (then no source id of a
    number can be checked), else the ids of rows that could not be read.
    """
    sources = {}
    if rows is None:
        return sources, None
    unsure = set()
    path = directory / "sources.csv"
    for line, r, readable in rows:
        if not readable:
            unsure.add(r.get("source_id", ""))
            continue
        where = f"{path}, row {line}"
        sid = r.get("source_id", "")
        if not sid:
            problems.append(Problem(where, "source_id", "is empty"))
            continue
        if sid in sources:
            problems.append(Problem(where, sid, "duplicate source_id"))
        kind = r.get("kind", "")
        if kind not in SOURCE_KINDS:
            problems.append(
                Problem(
                    where,
                    f"{sid}.kind",
                    f"must be one of {', '.join(SOURCE_KINDS)}. Got {kind!r} instead.",
                )
            )
        if not r.get("citation"):
            problems.append(
                Problem(where, f"{sid}.citation", "is empty; every source needs a citation")
            )
        locator = r.get("locator", "")
        if kind in ("seed", "literature") and not locator:
            problems.append(
                Problem(
                    where,
                    f"{sid}.locator",
                    "is empty; a seed needs its file name, literature a DOI, PMID or URL",
                )
            )
        elif kind == "literature" and (
            not _LOCATOR.match(locator) or "wikipedia.org" in locator.lower()
        ):
            problems.append(
                Problem(
                    where,
                    f"{sid}.locator",
                    "must be a DOI (doi:10....), a PMID (PMID:123), a PMC id (PMC123) or a URL "
                    f"to the page itself (not a site root, not Wikipedia). Got {locator!r} instead.",
                )
            )
        if kind == "expert_judgement" and not r.get("reasoning"):
            problems.append(
                Problem(
                    where, f"{sid}.reasoning", "is empty; expert judgement must give its reasoning"
                )
            )
        sources[sid] = Source(sid, kind, r.get("citation", ""), locator, r.get("reasoning", ""))
    return sources, unsure


def _parse_value(text, where, key, problems, *, ratio):
    """A probability (or, with ``ratio``, an odds ratio) parsed from ``text``, or None."""
    expected = "a positive odds ratio" if ratio else "a number in (0, 1)"
    if text == "":
        problems.append(Problem(where, key, f"is missing; expected {expected}"))
        return None
    try:
        x = float(text)
    except ValueError:
        problems.append(Problem(where, key, f"expected {expected}. Got {text!r} instead."))
        return None
    message = ratio_problem(x, text) if ratio else probability_problem(x, text)
    if message:
        problems.append(Problem(where, key, message))
        return None
    return x


def probability_problem(
    x: float, shown: str | None = None, *, outside: str = "must lie strictly between 0 and 1"
) -> str | None:
    """What is wrong with ``x`` as a probability of the network, or None if nothing is.

    A probability must lie in ``[MIN_PROBABILITY, 1 - MIN_PROBABILITY]``. ``shown`` is how
    the value is quoted (default ``repr(x)``); ``outside`` opens the message for a value
    outside (0, 1).

    >>> probability_problem(0.3) is None
    True
    >>> probability_problem(1e-17)
    'is too close to 0. Got 1e-17 instead; probabilities must lie in [1e-09, 1 - 1e-09] so that complements are exact enough.'
    """
    if MIN_PROBABILITY <= x <= 1.0 - MIN_PROBABILITY:
        return None
    what = (
        outside
        if not (math.isfinite(x) and 0.0 < x < 1.0)
        else f"is too close to {0 if x < 0.5 else 1}"
    )
    return (
        f"{what}. Got {repr(x) if shown is None else shown} instead; probabilities must lie "
        f"in [{MIN_PROBABILITY:g}, 1 - {MIN_PROBABILITY:g}] so that complements are exact enough."
    )


def ratio_problem(x: float, shown: str | None = None) -> str | None:
    """What is wrong with ``x`` as an odds ratio, or None if nothing is.

    >>> ratio_problem(0.5) is None, ratio_problem(12.0) is None
    (True, True)
    >>> ratio_problem(0.0)
    'must be a finite number > 0 (an odds ratio, not a probability). Got 0.0 instead.'
    """
    if math.isfinite(x) and x > 0.0:
        return None
    return (
        "must be a finite number > 0 (an odds ratio, not a probability). "
        f"Got {repr(x) if shown is None else shown} instead."
    )


def _check_name(name, allowed, where, key, problems, what):
    if name in allowed:
        return True
    hint = closest(name, allowed)
    problems.append(
        Problem(
            where,
            key,
            f"unknown {what} {name!r}"
            + (f"; did you mean {hint!r}?" if hint else f"; allowed: {', '.join(allowed)}"),
        )
    )
    return False


def _check_numbers(directory, name, rows, schema, sources, unsure, problems, unchecked):
    """Check the rows of one number file; return those that can enter the structure checks.

    A row enters the structure checks (duplicates, sums, missing states, baselines and
    leaks) when its node, kind, parent and state are valid and its value parses, even if
    its range or source is wrong. A row that does not is added to ``unchecked``: its
    distribution ``(node, kind, parent, parent_state)`` when that much is valid, else its
    node ``(node,)`` when the node is valid (a row naming no valid node hides nothing).
    """
    path = directory / f"{name}.csv"
    nodes_here = {
        "history": schema.history,
        "causes": tuple(schema.causes),
        "findings": schema.symptoms,
    }[name]
    kinds_here = NUMBER_KINDS[name]
    out = []
    for line, r, readable in rows:
        where = f"{path}, row {line}"
        found = problems if readable else []  # an unreadable row is reported already
        node, kind, state = r.get("node", ""), r.get("kind", ""), r.get("state", "")
        parent, pstate = r.get("parent", ""), r.get("parent_state", "")
        key = f"{node}|{kind}|{parent}={pstate}|{state}"
        node_ok = _check_name(node, nodes_here, where, "node", found, f"node for {name}.csv")
        kind_ok = kind in kinds_here
        if not kind_ok:
            if kind == "leak_weight":
                message = (
                    "leak_weight is gone in v2: findings are noisy-MAX nodes, whose leak acts "
                    "in everyone; remove the row"
                )
            elif kind in _KINDS:
                message = (
                    f"{name}.csv holds kinds {', '.join(kinds_here)}. Got {kind!r} instead "
                    f"(a number of kind {kind!r} belongs in "
                    f"{next(f for f, k in NUMBER_KINDS.items() if kind in k)}.csv)."
                )
            else:
                hint = closest(kind, kinds_here)
                message = f"must be one of {', '.join(kinds_here)}. Got {kind!r} instead" + (
                    f"; did you mean {hint!r}?" if hint else "."
                )
            found.append(Problem(where, f"{key} kind", message))
        parent_ok = state_ok = False
        if node_ok and kind_ok:
            state_ok = _check_state(schema, node, kind, state, where, key, found)
            parent_ok = _check_parent(schema, node, kind, parent, pstate, where, key, found)
        ratio = kind == "odds_ratio"
        value = _parse_value(r.get("value", ""), where, f"{key} value", found, ratio=ratio)
        low = _parse_value(r.get("low", ""), where, f"{key} low", found, ratio=ratio)
        high = _parse_value(r.get("high", ""), where, f"{key} high", found, ratio=ratio)
        if low is not None and high is not None and low > high:
            found.append(
                Problem(
                    where,
                    f"{key} range",
                    f"low must not exceed high. Got low={low} > high={high} instead.",
                )
            )
        elif None not in (value, low, high) and not low <= value <= high:
            found.append(
                Problem(
                    where,
                    f"{key} value",
                    f"must lie in its own range [{low}, {high}]. Got {value} instead.",
                )
            )
        basis = r.get("range_basis", "")
        sid = r.get("source_id", "")
        _check_range(basis, value, low, high, ratio, r.get("note", ""), where, key, found)
        if not sid:
            found.append(
                Problem(where, f"{key} source_id", "is empty; every number needs a source")
            )
        elif sid not in sources and unsure is not None and sid not in unsure:
            hint = closest(sid, sources)
            found.append(
                Problem(
                    where,
                    f"{key} source_id",
                    f"unknown source {sid!r}"
                    + (f"; did you mean {hint!r}?" if hint else "; add it to sources.csv"),
                )
            )
        elif sid in sources:
            _check_source_kind(sources[sid], basis, where, key, found)
        if readable and node_ok and kind_ok and parent_ok and state_ok and value is not None:
            low, high = (math.nan, math.nan) if None in (low, high) else (low, high)
            out.append(
                Number(
                    name,
                    line,
                    node,
                    kind,
                    state,
                    parent,
                    pstate,
                    value,
                    low,
                    high,
                    basis,
                    sid,
                    r.get("note", ""),
                )
            )
        elif node_ok and kind_ok and parent_ok:
            unchecked.add((node, kind, parent, pstate))
        elif node_ok:
            unchecked.add((node,))
    return out


def _check_range(basis, value, low, high, ratio, note, where, key, problems):
    """``range_basis`` is known, and ``xK`` ranges follow the odds formula to 4 decimals."""
    if basis not in RANGE_BASES:
        hint = closest(basis, RANGE_BASES) if basis else None
        problems.append(
            Problem(
                where,
                f"{key} range_basis",
                f"must be one of {', '.join(RANGE_BASES)}. Got {basis!r} instead"
                + (f"; did you mean {hint!r}?" if hint else "."),
            )
        )
        return
    if basis == "ci":
        if not re.search(r"\bCI\b|confidence", note, re.IGNORECASE):
            problems.append(
                Problem(
                    where,
                    f"{key} range_basis",
                    "is ci, but the note does not name the 95% confidence interval (CI)",
                )
            )
        return
    if None in (value, low, high):
        return
    want_low, want_high = odds_range(value, basis, ratio=ratio)
    bad = [
        (what, want, got)
        for what, want, got in (("low", want_low, low), ("high", want_high, high))
        if abs(got - want) > _tolerance(want, ratio)
    ]
    if bad:
        k = basis[1:]
        what = "the odds ratio" if ratio else "the odds"
        expected = f"low = {want_low:.4f} ({what} ÷ {k}) and high = {want_high:.4f} ({what} × {k})"
        problems.append(
            Problem(
                where,
                f"{key} range",
                f"range_basis {basis} gives {expected} to 4 decimals. Got "
                + ", ".join(f"{w}={g:g}" for w, _, g in bad)
                + " instead.",
            )
        )


def _tolerance(want: float, ratio: bool) -> float:
    """How far a written bound may be from its exact value: half a unit of the 4th decimal.

    A probability bound whose 4-decimal rounding is not a valid probability (0 or 1) is
    written clamped (e.g. 1e-09 or 0.9999), so it may be up to one unit away.
    """
    if not ratio and not MIN_PROBABILITY <= round(want, 4) <= 1.0 - MIN_PROBABILITY:
        return 1e-4 + 1e-12
    return _RANGE_TOL


def _check_source_kind(source, basis, where, key, problems):
    """The reviewer's rules: what a number's source may be, and which range goes with it."""
    if source.kind == "seed":
        problems.append(
            Problem(
                where,
                f"{key} source_id",
                f"{source.source_id} is a seed article: seeds support that an association "
                "exists, never a number; cite an expert_judgement source and name the seed in "
                "the note",
            )
        )
    elif source.kind == "literature" and basis in ("x3", "x10"):
        problems.append(
            Problem(
                where,
                f"{key} range_basis",
                f"{basis} is for expert judgement; a literature figure ({source.source_id}) "
                "takes its published CI (ci) or, without one, x2",
            )
        )
    elif source.kind == "expert_judgement" and basis == "x2":
        problems.append(
            Problem(
                where,
                f"{key} range_basis",
                f"x2 is for a literature figure; expert judgement ({source.source_id}) takes "
                "x3, or x10 for a base rate no study reports",
            )
        )


def _check_state(schema, node, kind, state, where, key, problems):
    """Whether ``state`` is right for a ``kind`` number of ``node`` (noting a problem if not)."""
    fixed = None
    if kind in ("baseline", "odds_ratio"):
        fixed = "present"
    elif kind in ("leak", "link") and schema.columns[node].is_yes_no:
        fixed = "yes"
    if fixed is not None:
        if state != fixed:
            why = (
                f"a cause's numbers give P({node}=present) or its odds"
                if fixed == "present"
                else f"a yes/no finding is noisy-OR: its numbers give P({node}=yes)"
            )
            problems.append(
                Problem(
                    where,
                    f"{key} state",
                    f"{why}; state must be {fixed!r}. Got {state!r} instead.",
                )
            )
            return False
        return True
    return _check_name(
        state, schema.states_of(node), where, f"{key} state", problems, f"state of {node}"
    )


def _check_parent(schema, node, kind, parent, pstate, where, key, problems):
    """Whether ``parent`` and ``pstate`` are right for the number (noting a problem if not)."""
    needs = kind in ("odds_ratio", "link") or (kind == "prior" and parent)
    if not needs:
        if parent or pstate:
            problems.append(
                Problem(
                    where,
                    f"{key} parent",
                    f"must be empty for kind {kind!r}. Got {parent!r}={pstate!r} instead.",
                )
            )
            return False
        return True
    if kind == "prior":
        allowed, what = ((HISTORY_PARENTS[node],) if node in HISTORY_PARENTS else ()), "parent"
    elif kind == "odds_ratio":
        allowed, what = schema.history, "history node"
    else:
        allowed, what = tuple(schema.causes), "cause"
    if parent not in allowed and (parent in schema.causes or parent in schema.columns):
        group = (
            "a cause"
            if parent in schema.causes
            else f"a {schema.columns[parent].group.replace('symptom', 'finding')} node"
        )
        rule = {
            "prior": f"{node} can only be conditioned on "
            + (", ".join(allowed) if allowed else "nothing (a root)"),
            "odds_ratio": "a cause's parents must be history nodes",
            "link": "a finding's parents must be causes",
        }[kind]
        problems.append(Problem(where, f"{key} parent", f"{rule}; {parent!r} is {group}."))
        return False
    if not _check_name(
        parent, allowed or ("(none)",), where, f"{key} parent", problems, f"{what} for {node}"
    ):
        return False
    if kind == "link":
        if pstate != "present":
            problems.append(
                Problem(
                    where,
                    f"{key} parent_state",
                    f"a link gives what {parent} produces when present; parent_state must be "
                    f"'present'. Got {pstate!r} instead.",
                )
            )
            return False
        return True
    if not _check_name(
        pstate,
        schema.states_of(parent),
        where,
        f"{key} parent_state",
        problems,
        f"state of {parent}",
    ):
        return False
    if kind == "odds_ratio" and pstate == reference_state(schema, parent):
        problems.append(
            Problem(
                where,
                f"{key} parent_state",
                f"{pstate!r} is the reference state of {parent}, whose odds ratio is 1 by "
                "definition; give odds ratios for the other states only",
            )
        )
        return False
    return True


def _check_structure(directory, numbers, schema, problems, unchecked):
    """Duplicates, and every node's numbers complete: distributions, baselines, leaks.

    Skips what ``unchecked`` holds (see :func:`_check_numbers`): a distribution, a node, or
    every node of a file.
    """
    seen = {}
    by_node = defaultdict(list)
    for n in numbers:
        if n.param_id in seen:
            problems.append(
                Problem(
                    f"{directory / (n.file + '.csv')}, row {n.line}",
                    n.param_id,
                    f"duplicate of row {seen[n.param_id]}",
                )
            )
        seen.setdefault(n.param_id, n.line)
        by_node[n.node].append(n)
    for node in schema.nodes:
        cause = node in schema.causes
        history = not cause and schema.columns[node].group == "history"
        file = "history" if history else ("causes" if cause else "findings")
        if (f"{file}.csv",) in unchecked or (node,) in unchecked:
            continue
        nums = by_node.get(node, [])
        where = f"{directory / (file + '.csv')}"
        groups = defaultdict(list)
        for n in nums:
            groups[(n.kind, n.parent, n.parent_state)].append(n)
        known = set(groups) | {g[1:] for g in unchecked if len(g) == 4 and g[0] == node}
        if not known:
            problems.append(
                Problem(where, node, "has no numbers; every node needs its distribution")
            )
            continue
        if cause:
            _check_cause(node, known, where, problems)
            continue
        if not history and ("leak", "", "") not in known:
            problems.append(
                Problem(where, f"{node} leak", "is missing; a noisy-MAX finding needs a leak")
            )
        if not history and schema.columns[node].is_yes_no:
            continue  # one probability per row: nothing to sum
        if history:
            conditioned = {g[1] for g in known}
            if "" in conditioned and len(conditioned) > 1:
                problems.append(
                    Problem(
                        where,
                        node,
                        "mixes rows with and without a parent; give either one distribution "
                        f"or one per state of {HISTORY_PARENTS.get(node, 'its parent')}",
                    )
                )
                continue
            parent = next((p for p in conditioned if p), "")
            if parent:
                for ps in schema.states_of(parent):
                    if ("prior", parent, ps) not in known:
                        problems.append(Problem(where, f"{node} | {ps}", "distribution is missing"))
        states = schema.states_of(node)
        for (kind, parent, pstate), group in groups.items():
            if (node, kind, parent, pstate) in unchecked:
                continue
            label = f"{node}|{kind}|{parent}={pstate}"
            missing = [s for s in states if s not in {n.state for n in group}]
            if missing:
                problems.append(
                    Problem(
                        where,
                        label,
                        f"missing state(s) {', '.join(missing)}; expected one row per state of "
                        f"{node}: {', '.join(states)}",
                    )
                )
                continue
            total = sum(n.value for n in group)
            if abs(total - 1.0) > _SUM_TOL:
                problems.append(
                    Problem(
                        where,
                        label,
                        f"values must sum to 1 within {_SUM_TOL:g}. Got {total:.12g} instead "
                        f"(rows {', '.join(str(n.line) for n in group)}).",
                    )
                )


def _check_cause(node, known, where, problems):
    """A cause has its baseline and at most :data:`MAX_CAUSE_PARENTS` history parents."""
    if ("baseline", "", "") not in known:
        problems.append(
            Problem(where, f"{node} baseline", "is missing; a cause needs its baseline")
        )
    parents = sorted({g[1] for g in known if g[0] == "odds_ratio"})
    if len(parents) > MAX_CAUSE_PARENTS:
        problems.append(
            Problem(
                where,
                f"{node} parents",
                f"a cause may have at most {MAX_CAUSE_PARENTS} history parents (to "
                f"keep its table small). Got {len(parents)} instead: "
                f"{', '.join(parents)}.",
            )
        )


def _check_orders(directory, rows, schema, sources, unsure, problems):
    """Check ``orders.csv``: one order per multi-state finding, a permutation of its states."""
    if rows is None:
        return {}
    path = directory / "orders.csv"
    multi = tuple(s for s in schema.symptoms if not schema.columns[s].is_yes_no)
    orders: dict[str, Order] = {}
    first: dict[str, int] = {}
    unsure_nodes = set()
    for line, r, readable in rows:
        node = r.get("node", "")
        if not readable:
            unsure_nodes.add(node)
            continue
        where = f"{path}, row {line}"
        sid, text = r.get("source_id", ""), r.get("order", "")
        if node in schema.columns and node in schema.symptoms and node not in multi:
            problems.append(
                Problem(
                    where,
                    node,
                    "is a yes/no finding: its order is no < yes (noisy-OR); remove the row",
                )
            )
            continue
        if not _check_name(node, multi, where, "node", problems, "multi-state finding"):
            continue
        if node in first:
            problems.append(
                Problem(where, node, f"duplicate order (the first is on row {first[node]})")
            )
            continue
        first[node] = line
        ok = True
        states = schema.states_of(node)
        given = [s.strip() for s in text.split("|")] if text.strip() else []
        if not given:
            problems.append(
                Problem(
                    where,
                    f"{node} order",
                    f"is empty; expected the states of {node} bottom first, joined by |",
                )
            )
            ok = False
        for s in given:
            if s not in states:
                ok = _check_name(s, states, where, f"{node} order", problems, f"state of {node}")
        dups = sorted({s for s in given if given.count(s) > 1})
        if dups:
            problems.append(
                Problem(where, f"{node} order", f"duplicate state(s) {', '.join(dups)}")
            )
            ok = False
        missing = [s for s in states if s not in given]
        if given and missing:
            problems.append(
                Problem(
                    where,
                    f"{node} order",
                    f"missing state(s) {', '.join(missing)}; the order must name every state "
                    f"of {node} once: {', '.join(states)}",
                )
            )
            ok = False
        if not sid:
            problems.append(
                Problem(where, f"{node} source_id", "is empty; every order needs a source")
            )
        elif sid not in sources and unsure is not None and sid not in unsure:
            hint = closest(sid, sources)
            problems.append(
                Problem(
                    where,
                    f"{node} source_id",
                    f"unknown source {sid!r}"
                    + (f"; did you mean {hint!r}?" if hint else "; add it to sources.csv"),
                )
            )
        if ok:
            orders[node] = Order(node, tuple(given), sid, r.get("note", ""), line)
    for node in multi:
        if node not in first and node not in unsure_nodes:
            problems.append(
                Problem(
                    f"{path}",
                    node,
                    "has no order; every multi-state finding needs one (its states bottom "
                    "first, joined by |)",
                )
            )
    return orders


# --------------------------------------------------------------------------- example
_EXAMPLE_COLUMNS = (
    ("age_group", "history", "under_40|40_to_64|65_plus"),
    ("sex", "history", "female|male"),
    ("atrial_fibrillation", "history", "yes|no"),
    ("pregnant", "history", "yes|no"),
    ("onset", "symptom", "sudden|over_hours|gradual"),
    ("weakness", "symptom", "yes|no"),
)
_EXAMPLE_HEADER = ",".join(NUMBER_FIELDS)
_EXAMPLE_FILES = {
    "sources": """source_id,kind,citation,locator,reasoning
EJ-EX,expert_judgement,Example judgement,,a made-up figure for the examples
L-EX,literature,Example A et al. A made-up cohort. J Examples 2020,doi:10.1000/example,
""",
    "history": f"""{_EXAMPLE_HEADER}
age_group,prior,under_40,,,0.4,0.1818,0.6667,x3,EJ-EX,
age_group,prior,40_to_64,,,0.4,0.1818,0.6667,x3,EJ-EX,
age_group,prior,65_plus,,,0.2,0.0769,0.4286,x3,EJ-EX,
sex,prior,female,,,0.55,0.2895,0.7857,x3,EJ-EX,
sex,prior,male,,,0.45,0.2143,0.7105,x3,EJ-EX,
atrial_fibrillation,prior,yes,,,0.03,0.0102,0.0849,x3,EJ-EX,
atrial_fibrillation,prior,no,,,0.97,0.9151,0.9898,x3,EJ-EX,
pregnant,prior,yes,sex,female,0.02,0.0068,0.0577,x3,EJ-EX,
pregnant,prior,no,sex,female,0.98,0.9423,0.9932,x3,EJ-EX,
pregnant,prior,yes,sex,male,0.0001,1e-09,0.001,x10,EJ-EX,
pregnant,prior,no,sex,male,0.9999,0.999,0.9999,x10,EJ-EX,
""",
    "causes": f"""{_EXAMPLE_HEADER}
stroke,baseline,present,,,0.01,0.001,0.0917,x10,EJ-EX,
stroke,odds_ratio,present,age_group,40_to_64,2,0.6667,6,x3,EJ-EX,
stroke,odds_ratio,present,age_group,65_plus,5,3,8,ci,L-EX,95% CI 3 to 8
stroke,odds_ratio,present,atrial_fibrillation,yes,4,2,8,x2,L-EX,
sciatica,baseline,present,,,0.2,0.0244,0.7143,x10,EJ-EX,
""",
    "findings": f"""{_EXAMPLE_HEADER}
onset,leak,sudden,,,0.03,0.0031,0.2362,x10,EJ-EX,
onset,leak,over_hours,,,0.07,0.0075,0.4294,x10,EJ-EX,
onset,leak,gradual,,,0.9,0.4737,0.989,x10,EJ-EX,
onset,link,sudden,stroke,present,0.8,0.5714,0.9231,x3,EJ-EX,
onset,link,over_hours,stroke,present,0.15,0.0556,0.3462,x3,EJ-EX,
onset,link,gradual,stroke,present,0.05,0.0172,0.1364,x3,EJ-EX,
onset,link,sudden,sciatica,present,0.1,0.0357,0.25,x3,EJ-EX,
onset,link,over_hours,sciatica,present,0.2,0.0769,0.4286,x3,EJ-EX,
onset,link,gradual,sciatica,present,0.7,0.4375,0.875,x3,EJ-EX,
weakness,leak,yes,,,0.05,0.0052,0.3448,x10,EJ-EX,
weakness,link,yes,stroke,present,0.7,0.4375,0.875,x3,EJ-EX,
weakness,link,yes,sciatica,present,0.2,0.0769,0.4286,x3,EJ-EX,
""",
    "orders": """node,order,source_id,note
onset,gradual|over_hours|sudden,EJ-EX,the fastest onset any present cause produces
""",
}


def example_schema() -> Schema:
    """The schema of :func:`example_priors`: 4 history columns, 2 causes, 2 findings."""
    columns = {
        name: Column(name, group, tuple(states.split("|")), name.replace("_", " "))
        for name, group, states in _EXAMPLE_COLUMNS
    }
    causes = {c: Cause(c, "routine", c) for c in ("stroke", "sciatica")}
    return Schema(columns=columns, causes=causes)


def example_priors(directory: str | Path | None = None) -> PriorSet:
    """A tiny priors set for examples and tests, loaded with :func:`example_schema`.

    History: ``age_group``, ``sex``, ``atrial_fibrillation``, ``pregnant | sex``; causes:
    ``stroke`` (baseline 0.01, odds ratios for age and atrial fibrillation) and ``sciatica``
    (baseline only); findings: ``onset`` (noisy-MAX, order gradual < over_hours < sudden) and
    ``weakness`` (noisy-OR). The files are written to ``directory`` and loaded from there;
    when it is omitted they go to a temporary directory that is removed once they are loaded
    (the returned set holds every number, so it needs no files).

    >>> ps = example_priors()
    >>> len(ps.numbers), sorted(ps.orders)
    (28, ['onset'])
    """
    if directory is None:
        with tempfile.TemporaryDirectory(prefix="legnumb-example-priors-") as tmp:
            return example_priors(tmp)
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    for name, text in _EXAMPLE_FILES.items():
        (directory / f"{name}.csv").write_text(text, encoding="utf-8")
    return load_priors(directory, schema=example_schema())
