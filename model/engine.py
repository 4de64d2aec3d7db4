"""Exact, vectorized batch inference for discrete Bayesian networks.

:class:`Engine` compiles a network once (from :class:`model.tables.CPT` tables) into a
junction tree and then answers many evidence rows at a time with numpy array operations that
carry a leading batch axis: no Python loop runs per row.

Method
------
The engine is the Hugin architecture of junction-tree propagation (Lauritzen & Spiegelhalter
1988; Jensen, Lauritzen & Olesen 1990; Koller & Friedman 2009, ch. 10; Darwiche 2009,
ch. 7), which is exact:

1. **Leaf folding.** A node without children only ever enters the joint through its own CPT,
   so it is kept out of the junction tree: per row its CPT becomes a likelihood factor over its
   parents, read by indexing, ``P(x = observed | parents)``, or all ones when unobserved (a
   barren node sums out; Shachter 1986). Its posterior, when asked for, is
   ``sum_pa P(x | pa) P(pa | e)`` from a clique that holds ``pa``.
2. **Compilation.** The remaining nodes are moralized (the parent set of every folded leaf is
   married too), triangulated by greedy elimination with several heuristics (min-fill,
   weighted min-fill, min-weight, min-neighbours; Kjærulff 1990) keeping the triangulation
   with the smallest total clique state space, and joined into a junction tree by a maximum
   spanning tree on separator sizes (Jensen & Jensen 1994). Each CPT is assigned to the
   smallest clique holding its scope and each clique's static potential (the product of its
   CPTs) is computed once. Every clique keeps its variables in one global order, so separator
   axes line up by a plain ``reshape`` and every factor is stored in "broadcast form" (size-1
   axes for the clique variables it does not mention).
3. **Plans.** For each target set a plan is made once and cached: the root is the clique that
   holds most targets, the distribute pass only visits cliques on the paths from the root to
   the targets, the order of factor products inside a clique is chosen greedily (smallest
   intermediate first), and many marginals of one clique are read by recursive bisection of
   its axes instead of one full reduction per variable.
4. **Per batch.** Evidence indicators and folded-leaf likelihoods are gathered by fancy
   indexing, multiplied into their cliques, and messages are passed leaves-to-root (collect)
   and root-to-targets (distribute, Hugin division with ``0/0 = 0``). Every upward message is
   normalized per row and its log scale accumulated, so ``log P(e)`` is exact and nothing
   underflows. Rows with ``P(e) = 0`` get NaN marginals and ``-inf`` log evidence.

All arithmetic is float64 and row-wise (elementwise products and reductions over non-batch
axes; no BLAS call spans rows), so a row's result does not depend on the other rows of the
batch, the chunking or the number of threads.

Examples
--------
>>> import numpy as np
>>> from model.tables import CPT
>>> rain = CPT("rain", (), {"rain": ("no", "yes")}, np.array([0.8, 0.2]))
>>> wet = CPT("wet", ("rain",), {"wet": ("no", "yes"), "rain": ("no", "yes")},
...           np.array([[0.9, 0.1], [0.1, 0.9]]))
>>> eng = Engine.from_cpts([rain, wet])
>>> res = eng.query(eng.encode([{"wet": "yes"}, {}]), targets=["rain"])
>>> res.marginals["rain"].round(4)
array([[0.3077, 0.6923],
       [0.8   , 0.2   ]])
>>> np.exp(res.log_evidence).round(4)  # P(wet = yes) = 0.8 * 0.1 + 0.2 * 0.9
array([0.26, 1.  ])
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import Any

import numpy as np

from model.tables import CPT

__all__ = ["Engine", "QueryResult"]

DEFAULT_CHUNK_BYTES = 256 * 2**20
"""Default bound on the working set of one chunk of rows, in bytes."""

_SUM_TOL = 1e-6


@dataclass(frozen=True)
class QueryResult:
    """Posterior marginals and log evidence of a batch of evidence rows.

    Parameters
    ----------
    marginals : dict of str to numpy.ndarray
        ``target -> (B, k)`` array of ``P(target = state | evidence row)``, states in
        :attr:`Engine.states` order. NaN rows for evidence of probability 0.
    log_evidence : numpy.ndarray
        ``(B,)`` natural log of ``P(evidence row)``; ``0.0`` for an empty row, ``-inf`` for
        impossible evidence.
    """

    marginals: dict[str, np.ndarray]
    log_evidence: np.ndarray


# ----------------------------------------------------------------------------- compile helpers


def _bshape(scope: Iterable[int], clique: tuple[int, ...], card: Sequence[int]) -> tuple:
    """Broadcast shape (without batch axis) of a factor over ``scope`` inside ``clique``."""
    s = set(scope)
    return tuple(card[v] if v in s else 1 for v in clique)


def _to_bform(values: np.ndarray, scope: Sequence[int], clique, card) -> np.ndarray:
    """Permute a table's axes (given as global indices ``scope``) to clique order and reshape."""
    order = sorted(range(len(scope)), key=lambda a: scope[a])
    return np.ascontiguousarray(values.transpose(order)).reshape(_bshape(scope, clique, card))


def _eliminate(adj: dict[int, set[int]], card: Sequence[int], heuristic: str):
    """Greedy elimination; returns the elimination cliques (frozensets) in order."""
    adj = {v: set(n) for v, n in adj.items()}
    cliques = []
    while adj:

        def score(v: int) -> tuple:
            nb = adj[v]
            weight = math.prod(card[u] for u in nb) * card[v]
            if heuristic == "min_weight":
                return (weight, v)
            if heuristic == "min_neighbors":
                return (len(nb), weight, v)
            nbl = sorted(nb)
            fill = 0
            for i, a in enumerate(nbl):
                missing = [b for b in nbl[i + 1 :] if b not in adj[a]]
                if heuristic == "min_fill":
                    fill += len(missing)
                else:  # weighted_min_fill
                    fill += sum(card[a] * card[b] for b in missing)
            return (fill, weight, v)

        best = min(adj, key=score)
        nb = adj.pop(best)
        cliques.append(frozenset(nb | {best}))
        for a in nb:
            adj[a] |= nb - {a}
            adj[a].discard(best)
    return cliques


def _triangulate(adj: dict[int, set[int]], card: Sequence[int]) -> list[tuple[int, ...]]:
    """Maximal cliques of the cheapest triangulation found, each as sorted indices."""
    best, best_cost = None, None
    for heuristic in ("weighted_min_fill", "min_fill", "min_weight", "min_neighbors"):
        cliques = _eliminate(adj, card, heuristic)
        maximal: list[frozenset] = []
        for c in cliques:  # a later elimination clique can only be inside an earlier one
            if not any(c <= m for m in maximal):
                maximal.append(c)
        cost = sum(math.prod(card[v] for v in c) for c in maximal)
        if best_cost is None or cost < best_cost:
            best, best_cost = maximal, cost
    return [tuple(sorted(c)) for c in best] if best else [()]


def _junction_tree(cliques: list[tuple[int, ...]], card) -> list[list[int]]:
    """Adjacency lists of a maximum spanning tree on separator sizes (Prim's algorithm)."""
    n = len(cliques)
    sets = [set(c) for c in cliques]
    adj: list[list[int]] = [[] for _ in range(n)]
    if n == 1:
        return adj
    in_tree = [False] * n
    in_tree[0] = True
    best_key: list[tuple | None] = [None] * n
    best_from = [0] * n
    for j in range(1, n):
        sep = sets[0] & sets[j]
        best_key[j] = (len(sep), -math.prod(card[v] for v in sep))
    for _ in range(n - 1):
        j = max((j for j in range(n) if not in_tree[j]), key=lambda j: (best_key[j], -j))
        in_tree[j] = True
        adj[j].append(best_from[j])
        adj[best_from[j]].append(j)
        for k in range(n):
            if not in_tree[k]:
                sep = sets[j] & sets[k]
                key = (len(sep), -math.prod(card[v] for v in sep))
                if key > best_key[k]:
                    best_key[k], best_from[k] = key, j
    return adj


def _check_running_intersection(cliques, adj) -> None:
    """Every variable's cliques must form a connected subtree (a compile-time sanity check)."""
    holders: dict[int, list[int]] = {}
    for i, c in enumerate(cliques):
        for v in c:
            holders.setdefault(v, []).append(i)
    for v, hs in holders.items():
        hs_set, seen, stack = set(hs), {hs[0]}, [hs[0]]
        while stack:
            for nb in adj[stack.pop()]:
                if nb in hs_set and nb not in seen:
                    seen.add(nb)
                    stack.append(nb)
        if seen != hs_set:  # pragma: no cover - would be a bug in the triangulation
            raise AssertionError(f"junction tree violates running intersection at {v}")


def _product_order(scopes: list[frozenset], card_of_axis) -> list[tuple[int, int]]:
    """Greedy pairwise product order: always multiply the pair with the smallest result."""
    live = list(range(len(scopes)))
    scopes = list(scopes)
    ops = []
    while len(live) > 1:
        best = None
        for a in range(len(live)):
            for b in range(a + 1, len(live)):
                u = scopes[live[a]] | scopes[live[b]]
                key = (math.prod(card_of_axis[x] for x in u), live[a], live[b])
                if best is None or key < best[0]:
                    best = (key, a, b, u)
        _, a, b, u = best
        ops.append((live[a], live[b]))
        scopes.append(u)
        live = [x for i, x in enumerate(live) if i not in (a, b)] + [len(scopes) - 1]
    return ops


def _reduce_plan(n_axes: int, requests: list[frozenset]) -> tuple[list, dict, int]:
    """Plan reductions of one clique tensor to several axis subsets (recursive bisection).

    Axes are the clique's, numbered from 0; requests are sets of them. Returns
    ``(ops, where, axes_of)``: each op ``(src_buffer, sum_axes)`` appends a new buffer (buffer
    0 is the ``(B, *clique)`` tensor; ``sum_axes`` count the batch axis), ``where`` maps each
    request to its buffer and ``axes_of`` lists every buffer's remaining clique axes.

    Examples
    --------
    >>> ops, where, axes_of = _reduce_plan(3, [frozenset({0}), frozenset({2}), frozenset()])
    >>> [axes_of[where[frozenset({a})]] for a in (0, 2)]
    [(0,), (2,)]
    """
    ops: list[tuple[int, tuple[int, ...]]] = []
    axes_of = [tuple(range(n_axes))]
    where: dict[frozenset, int] = {}

    def go(src: int, reqs: list[frozenset]) -> None:
        src_axes = frozenset(axes_of[src])
        rest = []
        for r in reqs:
            if r == src_axes:
                where[r] = src
            elif r not in where:
                rest.append(r)
        rest = list(dict.fromkeys(rest))
        if not rest:
            return
        union = frozenset().union(*rest)
        if union != src_axes:
            kept = tuple(a for a in axes_of[src] if a in union)
            summed = tuple(i for i, a in enumerate(axes_of[src]) if a not in union)
            ops.append((src, tuple(i + 1 for i in summed)))
            axes_of.append(kept)
            go(len(axes_of) - 1, rest)
            return
        rest.sort(key=lambda r: (min(r, default=-1), len(r)))
        half = len(rest) // 2
        go(src, rest[:half])
        go(src, rest[half:])

    go(0, requests)
    return ops, where, axes_of


@dataclass
class _CliquePlan:
    """Everything one clique does in one plan."""

    factors: list[tuple]  # factor specs, see Engine._factor
    products: list[tuple[int, int]]
    shape: tuple[int, ...]  # (1, *clique cards)
    msg_axes: tuple[int, ...] | None  # axes summed for the upward message (None: root)
    msg_shape: tuple[int, ...] | None  # (-1, *broadcast shape in the parent)
    keep_raw: bool  # upward message needed again in the distribute pass
    reduce_ops: list[tuple[int, tuple[int, ...]]]
    reduce_where: dict[frozenset, int]
    down_shape: tuple[int, ...] | None  # (-1, *separator broadcast shape in this clique)


@dataclass
class _Plan:
    """A compiled query plan for one target set and one set of overridden CPTs."""

    root: int
    collect: list[int]  # post-order
    parent: list[int]
    distribute: list[int]  # pre-order, root first
    cliques: dict[int, _CliquePlan]
    down: dict[int, frozenset]  # child clique -> separator axes request in the parent
    targets: list[tuple]  # (name, var index, clique, kind, request)
    bytes_per_row: int


# ------------------------------------------------------------------------------------ engine


class Engine:
    """An exact batch inference engine compiled once from a discrete Bayesian network.

    Build it with :meth:`from_cpts` or :meth:`from_network`, turn evidence dicts into codes
    with :meth:`encode`, and answer a batch of rows with :meth:`query`.

    Examples
    --------
    >>> import numpy as np
    >>> from model.tables import CPT
    >>> a = CPT("a", (), {"a": ("f", "t")}, np.array([0.5, 0.5]))
    >>> b = CPT("b", ("a",), {"b": ("f", "t"), "a": ("f", "t")},
    ...         np.array([[1.0, 0.25], [0.0, 0.75]]))
    >>> eng = Engine.from_cpts([a, b])
    >>> eng.variables
    ('a', 'b')
    >>> eng.query(eng.encode([{"b": "t"}])).marginals["a"]
    array([[0., 1.]])
    """

    def __init__(self, cpts: Sequence[CPT], *, max_chunk_bytes: int) -> None:
        self._compile(cpts, max_chunk_bytes=max_chunk_bytes)

    # ----------------------------------------------------------------------- construction
    @classmethod
    def from_cpts(
        cls, cpts: Iterable[CPT], *, max_chunk_bytes: int = DEFAULT_CHUNK_BYTES
    ) -> Engine:
        """Compile an engine from conditional probability tables.

        Parameters
        ----------
        cpts : iterable of CPT
            One table per node; parents must have their own table. Any order.
        max_chunk_bytes : int, optional
            Bound on the working set of one chunk of rows (default 256 MiB).

        Returns
        -------
        Engine

        Raises
        ------
        ValueError
            On duplicate or missing nodes, inconsistent state names, a directed cycle, or
            tables with negative entries or columns that do not sum to 1.
        """
        return cls(list(cpts), max_chunk_bytes=max_chunk_bytes)

    @classmethod
    def from_network(cls, bn: Any, *, max_chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Engine:
        """Compile an engine from a pgmpy network, via :func:`model.network.extract_tables`.

        Examples
        --------
        >>> from model.network import example_network
        >>> eng = Engine.from_network(example_network("asia"))
        >>> len(eng.variables)
        8
        """
        from model.network import extract_tables

        return cls.from_cpts(extract_tables(bn), max_chunk_bytes=max_chunk_bytes)

    def _compile(self, cpts: list[CPT], *, max_chunk_bytes: int) -> None:
        if not cpts:
            raise ValueError("expected at least one CPT. Got an empty sequence instead.")
        for c in cpts:
            if not isinstance(c, CPT):
                raise TypeError(f"expected CPT objects. Got {type(c).__name__} instead.")
        if not isinstance(max_chunk_bytes, int) or max_chunk_bytes <= 0:
            raise ValueError(
                f"expected max_chunk_bytes as a positive int. Got {max_chunk_bytes!r} instead."
            )
        names = [c.variable for c in cpts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"expected one CPT per node. Got several for {dupes} instead.")
        index = {n: i for i, n in enumerate(names)}
        states: dict[str, tuple[str, ...]] = {n: tuple(c.states[n]) for n, c in zip(names, cpts)}
        for c in cpts:
            for p in c.parents:
                if p not in index:
                    raise ValueError(
                        f"expected a CPT for every parent. Got parent {p!r} of {c.variable!r} "
                        "without one instead."
                    )
                if tuple(c.states[p]) != states[p]:
                    raise ValueError(
                        f"expected the states of {p!r} in the CPT of {c.variable!r} to be "
                        f"{states[p]}. Got {tuple(c.states[p])} instead."
                    )
        n = len(cpts)
        card = [len(states[v]) for v in names]
        scopes = [tuple(index[v] for v in c.scope) for c in cpts]
        tables = []
        for c in cpts:
            vals = np.asarray(c.values, dtype=np.float64)
            _check_table(vals, c.variable, batched=False)
            tables.append(vals / vals.sum(axis=0, keepdims=True))
        # Acyclicity (Kahn) and children.
        children: list[list[int]] = [[] for _ in range(n)]
        indeg = [len(s) - 1 for s in scopes]
        for i, s in enumerate(scopes):
            for p in s[1:]:
                children[p].append(i)
        ready = [i for i in range(n) if indeg[i] == 0]
        seen = 0
        while ready:
            i = ready.pop()
            seen += 1
            for ch in children[i]:
                indeg[ch] -= 1
                if indeg[ch] == 0:
                    ready.append(ch)
        if seen != n:
            cyc = sorted(names[i] for i in range(n) if indeg[i] > 0)
            raise ValueError(f"expected a directed acyclic graph. Got a cycle among {cyc} instead.")

        folded = [not children[i] for i in range(n)]
        core = [i for i in range(n) if not folded[i]]
        adj: dict[int, set[int]] = {i: set() for i in core}
        for i, s in enumerate(scopes):
            married = s if not folded[i] else s[1:]
            for a in married:
                adj[a].update(b for b in married if b != a)
        cliques = _triangulate(adj, card) if core else [()]
        tree = _junction_tree(cliques, card)
        _check_running_intersection(cliques, tree)
        csize = [math.prod(card[v] for v in c) for c in cliques]
        csets = [frozenset(c) for c in cliques]

        def smallest_holder(scope: Iterable[int]) -> int:
            s = frozenset(scope)
            return min((i for i in range(len(cliques)) if s <= csets[i]), key=lambda i: csize[i])

        home: list[int] = [0] * n  # clique of each CPT (core) or leaf factor (folded)
        evid_home: dict[int, int] = {}
        for i in range(n):
            home[i] = smallest_holder(scopes[i][1:] if folded[i] else scopes[i])
            if not folded[i]:
                evid_home[i] = smallest_holder([i])

        self._names = tuple(names)
        self._index = index
        self._states = states
        self._state_codes = {v: {s: j for j, s in enumerate(states[v])} for v in names}
        self._card = card
        self._scopes = scopes
        self._tables = tables
        self._folded = folded
        self._cliques = cliques
        self._csize = csize
        self._csets = csets
        self._tree = tree
        self._home = home
        self._evid_home = evid_home
        self._max_chunk_bytes = max_chunk_bytes
        self._plans: dict[tuple, _Plan] = {}
        # Evidence indicator tables: row k (= code -1) is all ones.
        self._eye: dict[int, np.ndarray] = {}
        for v, c in evid_home.items():
            k = card[v]
            eye = np.vstack([np.eye(k), np.ones((1, k))])
            self._eye[v] = eye.reshape((k + 1, *_bshape([v], cliques[c], card)))
        # Folded leaves: likelihood tables over the parents, row k all ones.
        self._leaf: dict[int, np.ndarray] = {}
        for v in range(n):
            if folded[v]:
                c = cliques[home[v]]
                lik = np.stack([_to_bform(t, scopes[v][1:], c, card) for t in tables[v]])
                ones = np.ones((1, *lik.shape[1:]))
                self._leaf[v] = np.concatenate([lik, ones])
        # Folded leaves as targets: P(x | pa) as (k, prod(pa)) with pa in global order, and
        # the axis order that brings an override (B, k, *pa) to the same layout.
        self._leaf_marg: dict[int, tuple[np.ndarray, tuple[int, ...]]] = {}
        for v in range(n):
            if folded[v]:
                s = scopes[v]
                perm = (0, *sorted(range(1, len(s)), key=lambda a: s[a]))
                flat = np.ascontiguousarray(tables[v].transpose(perm)).reshape(1, card[v], -1)
                self._leaf_marg[v] = (flat, (0, *(1 + a for a in perm)))
        self._static_cache: dict[tuple[int, frozenset], np.ndarray | None] = {}
        self._eyes_plain = {v: np.eye(card[v]) for v in range(n)}
        self._default_plan = self._plan(tuple(range(n)), frozenset())

    # ----------------------------------------------------------------------------- public
    @property
    def variables(self) -> tuple[str, ...]:
        """Node names, in the column order of evidence codes."""
        return self._names

    @property
    def states(self) -> dict[str, tuple[str, ...]]:
        """State names of every node; code ``j`` of a node is its ``j``-th state."""
        return dict(self._states)

    def info(self) -> dict[str, Any]:
        """Sizes of the compiled junction tree and of the default (all-targets) plan.

        Examples
        --------
        >>> from model.network import example_network
        >>> info = Engine.from_network(example_network("asia")).info()
        >>> info["n_cliques"] >= 1 and info["chunk_rows"] >= 1
        True
        """
        plan = self._default_plan
        return {
            "n_cliques": len(self._cliques),
            "cliques": [tuple(self._names[v] for v in c) for c in self._cliques],
            "max_clique_states": max(self._csize),
            "total_clique_states": sum(self._csize),
            "folded_leaves": [self._names[v] for v in range(len(self._names)) if self._folded[v]],
            "bytes_per_row": plan.bytes_per_row,
            "chunk_rows": self._chunk_rows(plan),
        }

    def encode(self, evidences: Sequence[Mapping[str, str | None]]) -> np.ndarray:
        """Turn evidence dicts into a ``(B, n_vars)`` int64 array of state codes.

        Parameters
        ----------
        evidences : sequence of mapping of str to str
            One ``{node: state}`` dict per row. ``None`` values mean unobserved.

        Returns
        -------
        numpy.ndarray
            ``codes[b, i]`` is the index of the observed state of ``variables[i]`` in row
            ``b``, or ``-1`` when unobserved.

        Raises
        ------
        KeyError
            For an unknown node name.
        ValueError
            For an unknown state name.

        Examples
        --------
        >>> from model.network import example_network
        >>> eng = Engine.from_network(example_network("cancer"))
        >>> eng.variables[:3]
        ('Pollution', 'Smoker', 'Cancer')
        >>> eng.encode([{"Smoker": "False"}, {}])[:, :3].tolist()
        [[-1, 1, -1], [-1, -1, -1]]
        """
        if isinstance(evidences, Mapping):
            raise TypeError(
                "expected a sequence of evidence dicts (one per row). Got a single mapping "
                "instead; wrap it in a list."
            )
        codes = np.full((len(evidences), len(self._names)), -1, dtype=np.int64)
        for b, ev in enumerate(evidences):
            for var, state in ev.items():
                col = self._index.get(var)
                if col is None:
                    raise KeyError(
                        f"expected a node of the network in row {b}. Got {var!r} instead; "
                        f"known nodes: {', '.join(self._names)}."
                    )
                if state is None:
                    continue
                code = self._state_codes[var].get(state)
                if code is None:
                    raise ValueError(
                        f"expected a state of {var!r} in row {b}, one of "
                        f"{self._states[var]}. Got {state!r} instead."
                    )
                codes[b, col] = code
        return codes

    def query(
        self,
        codes: np.ndarray,
        *,
        targets: Sequence[str] | None = None,
        cpt_values: Mapping[str, np.ndarray] | None = None,
        n_threads: int = 1,
        chunk_rows: int | None = None,
    ) -> QueryResult:
        """Exact posterior marginals and log evidence for a batch of evidence rows.

        Parameters
        ----------
        codes : numpy.ndarray
            ``(B, n_vars)`` integer state codes from :meth:`encode`, ``-1`` = unobserved.
        targets : sequence of str, optional
            Nodes whose marginals are wanted (default: every node). Observed targets get their
            one-hot vector.
        cpt_values : mapping of str to numpy.ndarray, optional
            ``{node: array of shape (B, *cpt.shape)}`` replacing that node's CPT row by row;
            a leading axis of size 1 broadcasts (and so does ``codes`` with one row).
        n_threads : int, optional
            Chunks of rows run in this many threads (default 1).
        chunk_rows : int, optional
            Rows per chunk; by default chosen so a chunk's working set stays within the
            engine's ``max_chunk_bytes``. Results do not depend on it.

        Returns
        -------
        QueryResult

        Raises
        ------
        KeyError
            For unknown target or ``cpt_values`` node names.
        ValueError
            For codes or CPT arrays of the wrong shape or out of range.

        Examples
        --------
        >>> from model.network import example_network
        >>> eng = Engine.from_network(example_network("cancer"))
        >>> res = eng.query(eng.encode([{"Xray": "positive"}]), targets=["Cancer"])
        >>> res.marginals["Cancer"].round(4)
        array([[0.0503, 0.9497]])
        """
        codes = self._check_codes(codes)
        target_idx = self._check_targets(targets)
        overrides = self._check_overrides(cpt_values)
        if not isinstance(n_threads, int) or n_threads < 1:
            raise ValueError(f"expected n_threads as an int >= 1. Got {n_threads!r} instead.")
        if chunk_rows is not None and (not isinstance(chunk_rows, int) or chunk_rows < 1):
            raise ValueError(f"expected chunk_rows as an int >= 1. Got {chunk_rows!r} instead.")
        n_rows = max([codes.shape[0], *(a.shape[0] for a in overrides.values())])
        for name, a in overrides.items():
            if a.shape[0] not in (1, n_rows):
                raise ValueError(
                    f"expected cpt_values[{self._names[name]!r}] with {n_rows} or 1 rows. "
                    f"Got {a.shape[0]} rows instead."
                )
        if codes.shape[0] not in (1, n_rows):
            raise ValueError(
                f"expected codes with {n_rows} or 1 rows (as many as cpt_values). "
                f"Got {codes.shape[0]} rows instead."
            )
        plan = self._plan(target_idx, frozenset(overrides))

        # Identical rows are scored once when every row shares the same CPTs.
        inverse = None
        per_row_cpts = any(a.shape[0] > 1 for a in overrides.values())
        if per_row_cpts:
            if codes.shape[0] == 1 and n_rows > 1:
                codes = np.broadcast_to(codes, (n_rows, codes.shape[1]))
            work = codes
        elif codes.shape[0] > 1:
            work, inverse = np.unique(codes, axis=0, return_inverse=True)
            inverse = inverse.reshape(-1)
            if len(work) == len(codes):
                work, inverse = codes, None
        else:
            work = codes
        n_work = work.shape[0]

        out_m = {self._names[t]: np.empty((n_work, self._card[t])) for t in target_idx}
        out_l = np.empty(n_work)
        step = chunk_rows or self._chunk_rows(plan)
        if n_threads > 1:
            step = max(1, min(step, -(-n_work // n_threads)))
        bounds = [(s, min(s + step, n_work)) for s in range(0, n_work, step)] or [(0, 0)]

        def run(bound: tuple[int, int]) -> None:
            lo, hi = bound
            ov = {v: (a if a.shape[0] == 1 else a[lo:hi]) for v, a in overrides.items()}
            self._run(plan, work[lo:hi], ov, out_m, out_l, lo)

        if n_threads == 1 or len(bounds) == 1:
            for bd in bounds:
                run(bd)
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(run, bounds))
        if inverse is not None:
            out_m = {k: v[inverse] for k, v in out_m.items()}
            out_l = out_l[inverse]
        return QueryResult(marginals=out_m, log_evidence=out_l)

    # ------------------------------------------------------------------------- validation
    def _check_codes(self, codes: Any) -> np.ndarray:
        arr = np.asarray(codes)
        n = len(self._names)
        if arr.ndim != 2 or arr.shape[1] != n:
            raise ValueError(
                f"expected codes of shape (B, {n}) (one column per node, see "
                f"Engine.variables). Got shape {arr.shape} instead."
            )
        if arr.dtype.kind not in "iu":
            raise ValueError(f"expected integer codes. Got dtype {arr.dtype} instead.")
        arr = arr.astype(np.int64, copy=False)
        if arr.size:
            bad = (arr < -1) | (arr >= np.asarray(self._card))
            if bad.any():
                b, i = map(int, np.argwhere(bad)[0])
                raise ValueError(
                    f"expected codes of {self._names[i]!r} in -1..{self._card[i] - 1}. "
                    f"Got {int(arr[b, i])} in row {b} instead."
                )
        return arr

    def _check_targets(self, targets: Sequence[str] | None) -> tuple[int, ...]:
        if targets is None:
            return tuple(range(len(self._names)))
        if isinstance(targets, str):
            targets = (targets,)
        idx = []
        for t in targets:
            if t not in self._index:
                raise KeyError(
                    f"expected target nodes of the network. Got {t!r} instead; known nodes: "
                    f"{', '.join(self._names)}."
                )
            idx.append(self._index[t])
        return tuple(dict.fromkeys(idx))

    def _check_overrides(self, cpt_values: Mapping[str, np.ndarray] | None) -> dict:
        if not cpt_values:
            return {}
        out = {}
        for name, vals in cpt_values.items():
            if name not in self._index:
                raise KeyError(
                    f"expected cpt_values keyed by nodes of the network. Got {name!r} instead."
                )
            v = self._index[name]
            arr = np.asarray(vals, dtype=np.float64)
            shape = self._tables[v].shape
            if arr.ndim != len(shape) + 1 or arr.shape[1:] != shape:
                raise ValueError(
                    f"expected cpt_values[{name!r}] of shape (B, *{shape}). "
                    f"Got shape {arr.shape} instead."
                )
            _check_table(arr, name, batched=True)
            out[v] = arr / arr.sum(axis=1, keepdims=True)
        return out

    # ------------------------------------------------------------------------------ plans
    def _chunk_rows(self, plan: _Plan) -> int:
        return max(1, self._max_chunk_bytes // max(plan.bytes_per_row, 1))

    def _static(self, clique: int, excluded: frozenset) -> np.ndarray | None:
        """Product of the CPTs assigned to ``clique`` except ``excluded``, broadcast form."""
        key = (clique, excluded)
        if key not in self._static_cache:
            c = self._cliques[clique]
            prod = None
            for v in range(len(self._names)):
                if not self._folded[v] and self._home[v] == clique and v not in excluded:
                    f = _to_bform(self._tables[v], self._scopes[v], c, self._card)
                    prod = f if prod is None else prod * f
            self._static_cache[key] = None if prod is None else prod[None]
        return self._static_cache[key]

    def _plan(self, targets: tuple[int, ...], overridden: frozenset) -> _Plan:
        key = (targets, overridden)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._make_plan(targets, overridden)
            self._plans[key] = plan
        return plan

    def _make_plan(self, targets: tuple[int, ...], overridden: frozenset) -> _Plan:
        card, cliques, csets, n_c = self._card, self._cliques, self._csets, len(self._cliques)

        def needs(t: int) -> frozenset:
            return frozenset(self._scopes[t][1:]) if self._folded[t] else frozenset([t])

        # Root: the clique holding most targets, then the largest.
        def cover(i: int) -> tuple:
            return (sum(needs(t) <= csets[i] for t in targets), self._csize[i], -i)

        root = max(range(n_c), key=cover)
        parent = [-1] * n_c
        depth = [0] * n_c
        order = [root]
        for i in order:
            for j in self._tree[i]:
                if j != root and parent[j] == -1 and j != parent[i]:
                    parent[j] = i
                    depth[j] = depth[i] + 1
                    order.append(j)
        collect = order[::-1]
        # Where each target is read: the top-most clique holding what it needs.
        where_t = {}
        for t in targets:
            holders = [i for i in range(n_c) if needs(t) <= csets[i]]
            where_t[t] = min(holders, key=lambda i: (depth[i], self._csize[i]))
        in_dist = {root}
        for c in where_t.values():
            while c not in in_dist:
                in_dist.add(c)
                c = parent[c]
        distribute = [c for c in order if c in in_dist]

        # Per-clique requests for the reduce pass, as clique axis positions (0-based).
        requests: dict[int, list[frozenset]] = {c: [] for c in distribute}
        down: dict[int, frozenset] = {}
        target_specs = []
        for t in targets:
            c = where_t[t]
            pos = frozenset(cliques[c].index(v) for v in needs(t))
            requests[c].append(pos)
            kind = "leaf" if self._folded[t] else "var"
            target_specs.append((self._names[t], t, c, kind, pos))
        requests[root].append(frozenset())  # the total, for log P(e)
        for c in distribute[1:]:
            p = parent[c]
            sep = csets[c] & csets[p]
            pos = frozenset(cliques[p].index(v) for v in sep)
            down[c] = pos
            requests[p].append(pos)

        per_clique: dict[int, _CliquePlan] = {}
        elems = 0
        for c in collect:
            clique = cliques[c]
            axis_card = {i + 1: card[v] for i, v in enumerate(clique)}
            factors: list[tuple] = []
            scopes: list[frozenset] = []

            def add(spec: tuple, scope: Iterable[int], clique=clique) -> None:
                factors.append(spec)
                scopes.append(frozenset(clique.index(v) + 1 for v in scope))

            excluded = frozenset(v for v in overridden if self._home[v] == c)
            static = self._static(c, frozenset(v for v in excluded if not self._folded[v]))
            if static is not None:
                covered = [i + 1 for i, d in enumerate(static.shape[1:]) if d > 1]
                factors.append(("static", static))
                scopes.append(frozenset(covered))
            for v in sorted(excluded):
                s = self._scopes[v]
                if self._folded[v]:
                    order_pa = sorted(range(len(s) - 1), key=lambda a: s[1 + a])
                    bshape = _bshape(s[1:], clique, card)
                    add(("leaf_ovr", v, tuple(order_pa), bshape), s[1:])
                else:
                    order_all = sorted(range(len(s)), key=lambda a: s[a])
                    bshape = _bshape(s, clique, card)
                    add(("ovr", v, (0, *(1 + a for a in order_all)), bshape), s)
            for v, h in self._evid_home.items():
                if h == c:
                    add(("evid", v, self._eye[v]), [v])
            for v in range(len(self._names)):
                if self._folded[v] and self._home[v] == c and v not in excluded:
                    add(("leaf", v, self._leaf[v]), self._scopes[v][1:])
            for j in self._tree[c]:
                if parent[j] == c:
                    add(("msg", j), csets[c] & csets[j])
            products = _product_order(scopes, axis_card)
            all_scopes = list(scopes)
            for a, b in products:
                all_scopes.append(all_scopes[a] | all_scopes[b])
                elems += math.prod(axis_card[x] for x in all_scopes[-1])
            shape = (1, *(card[v] for v in clique))
            if c == root:
                msg_axes = msg_shape = None
            else:
                p = parent[c]
                sep = csets[c] & csets[p]
                msg_axes = tuple(i + 1 for i, v in enumerate(clique) if v not in sep)
                msg_shape = (-1, *_bshape(sep, cliques[p], card))
                elems += 3 * math.prod(card[v] for v in sep)
            if c in in_dist:
                ops, where, axes_of = _reduce_plan(len(clique), requests[c])
                elems += sum(math.prod(card[clique[a]] for a in ax) for ax in axes_of[1:])
                elems += math.prod(shape)  # the distributed belief
            else:
                ops, where, axes_of = [], {}, []
            down_shape = None
            if c in in_dist and c != root:
                down_shape = (-1, *_bshape(csets[c] & csets[parent[c]], clique, card))
            per_clique[c] = _CliquePlan(
                factors=factors,
                products=products,
                shape=shape,
                msg_axes=msg_axes,
                msg_shape=msg_shape,
                keep_raw=c in in_dist and c != root,
                reduce_ops=ops,
                reduce_where=where,
                down_shape=down_shape,
            )
        bytes_per_row = 8 * (elems + sum(card[t] for t in targets) * 2 + len(self._names))
        return _Plan(
            root=root,
            collect=collect,
            parent=parent,
            distribute=distribute,
            cliques=per_clique,
            down=down,
            targets=target_specs,
            bytes_per_row=bytes_per_row,
        )

    # ---------------------------------------------------------------------------- runtime
    def _run(
        self,
        plan: _Plan,
        codes: np.ndarray,
        overrides: dict[int, np.ndarray],
        out_m: dict[str, np.ndarray],
        out_l: np.ndarray,
        lo: int,
    ) -> None:
        """Propagate one chunk of rows and write its results at ``out_*[lo:lo + B]``."""
        n_rows = codes.shape[0]
        if n_rows == 0:
            return
        observed = codes >= 0
        obs_any = observed.any(axis=0)
        logscale = np.zeros(n_rows)
        msgs: dict[int, np.ndarray] = {}
        raw: dict[int, np.ndarray] = {}
        phis: dict[int, np.ndarray] = {}
        root = plan.root
        for c in plan.collect:
            cp = plan.cliques[c]
            bufs: list[np.ndarray | None] = [
                msgs.pop(spec[1])
                if spec[0] == "msg"
                else self._factor(spec, codes, obs_any, overrides)
                for spec in cp.factors
            ]
            for a, b in cp.products:
                x, y = bufs[a], bufs[b]
                bufs.append(y if x is None else x if y is None else x * y)
            phi = bufs[-1] if bufs else None
            full = (n_rows, *cp.shape[1:])
            if phi is None:
                phi = np.broadcast_to(np.ones(cp.shape), full)
            elif phi.shape != full:
                phi = np.broadcast_to(phi, full)
            if cp.msg_axes is not None:
                m = phi.sum(axis=cp.msg_axes) if cp.msg_axes else np.array(phi)
                s = m.reshape(n_rows, -1).sum(axis=1)
                s_safe = np.where(s > 0, s, 1.0)
                logscale += np.log(s_safe)
                mn = m / s_safe.reshape((n_rows,) + (1,) * (m.ndim - 1))
                msgs[c] = mn.reshape(cp.msg_shape)
                if cp.keep_raw:
                    raw[c] = m
            if cp.reduce_where:
                phis[c] = phi

        reduced: dict[int, dict[frozenset, np.ndarray]] = {}
        z = z_safe = possible = None
        for c in plan.distribute:
            cp = plan.cliques[c]
            phi = phis.pop(c)
            if c != root:
                down = reduced[plan.parent[c]][plan.down[c]]
                denom = raw.pop(c)
                if plan.parent[c] == root:
                    denom = denom * z_safe.reshape((n_rows,) + (1,) * (denom.ndim - 1))
                ratio = np.divide(down, denom, out=np.zeros(denom.shape), where=denom > 0)
                phi = phi * ratio.reshape(cp.down_shape)
            bufs = [phi]
            for src, axes in cp.reduce_ops:
                bufs.append(bufs[src].sum(axis=axes))
            reduced[c] = {req: bufs[i] for req, i in cp.reduce_where.items()}
            if c == root:
                z = reduced[c][frozenset()]
                possible = z > 0
                z_safe = np.where(possible, z, 1.0)

        impossible = ~possible
        any_impossible = bool(impossible.any())
        for name, t, c, kind, req in plan.targets:
            r = reduced[c][req]
            if kind == "leaf":
                table, perm = self._leaf_marg[t]
                if t in overrides:
                    a = overrides[t]
                    table = a.transpose(perm).reshape(a.shape[0], a.shape[1], -1)
                marg = (r.reshape(n_rows, 1, -1) * table).sum(axis=-1)
            else:
                marg = r
            tot = marg.sum(axis=1, keepdims=True)
            marg = marg / np.where(tot > 0, tot, 1.0)
            if obs_any[t]:
                rows = observed[:, t]
                marg[rows] = self._eyes_plain[t][codes[rows, t]]
            if any_impossible:
                marg[impossible] = np.nan
            out_m[name][lo : lo + n_rows] = marg
        logev = logscale + np.log(z_safe)
        logev[impossible] = -np.inf
        logev[~observed.any(axis=1)] = 0.0
        out_l[lo : lo + n_rows] = logev

    def _factor(self, spec: tuple, codes, obs_any, overrides) -> np.ndarray | None:
        """One per-row (or static) factor of a clique, in broadcast form; None = all ones."""
        kind = spec[0]
        if kind == "static":
            return spec[1]
        if kind == "msg":
            raise AssertionError("messages are filled in by _run")  # pragma: no cover
        v = spec[1]
        if kind in ("evid", "leaf"):
            return spec[2][codes[:, v]] if obs_any[v] else None
        a = overrides[v]
        if kind == "ovr":
            _, v, perm, bshape = spec
            return a.transpose(perm).reshape((a.shape[0], *bshape))
        # leaf_ovr: P(x = observed | pa) per row, ones where x is unobserved.
        _, v, order_pa, bshape = spec
        if not obs_any[v]:
            return None
        code = codes[:, v]
        if a.shape[0] == 1:
            ext = np.concatenate([a[0], np.ones((1, *a.shape[2:]))])
            g = ext[code]
        else:
            g = a[np.arange(len(code)), np.maximum(code, 0)]
            g[code < 0] = 1.0
        return g.transpose((0, *(1 + x for x in order_pa))).reshape((len(code), *bshape))


def _check_table(arr: np.ndarray, name: str, *, batched: bool) -> None:
    """Raise ValueError unless ``arr`` holds finite probabilities whose columns sum to 1.

    Columns may be off by up to 1e-6 (tables read from files are rounded); the engine then
    renormalizes them, so that an unobserved leaf sums out to exactly 1.
    """
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise ValueError(
            f"expected finite, non-negative probabilities in the CPT of {name!r}. "
            "Got negative, infinite or NaN entries instead."
        )
    sums = arr.sum(axis=1 if batched else 0)
    if sums.size and np.abs(sums - 1.0).max() > _SUM_TOL:
        worst = float(sums.flat[np.abs(sums - 1.0).argmax()])
        raise ValueError(
            f"expected every column of the CPT of {name!r} to sum to 1. "
            f"Got a column summing to {worst!r} instead."
        )
