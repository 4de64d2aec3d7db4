"""Exact, vectorized batch inference for discrete Bayesian networks.

:class:`Engine` compiles a network once (from :class:`legnumb.network.cpt.CPT` tables) and then
answers many evidence rows at a time with numpy array operations that carry a leading batch
axis. Every answer is exact: it is the same posterior pgmpy's ``VariableElimination`` gives,
up to floating-point rounding.

Method
------
The engine is junction-tree propagation in the Hugin architecture (Lauritzen & Spiegelhalter
1988; Jensen, Lauritzen & Olesen 1990; Koller & Friedman 2009, ch. 10; Darwiche 2009,
ch. 7), specialised to each *evidence pattern* the way variable elimination specialises to
each query:

1. **Leaf folding.** A node without children only enters the joint through its own CPT, so it
   is kept out of the junction tree: per row its CPT is a likelihood factor over its parents,
   ``P(x = observed | parents)``, read by indexing, or all ones when ``x`` is unobserved (a
   barren node sums out; Shachter 1986). Its posterior, when asked for, is
   ``sum_pa P(x | pa) P(pa | e)`` read from a clique that holds ``pa``.
2. **Evidence by slicing.** Rows are grouped by which non-leaf nodes they observe. For each
   group a plan is compiled once and cached: observed nodes are removed from the graph and
   every CPT that mentions them is *sliced* per row at the observed state by a gather (evidence
   reduction; Koller & Friedman 2009, 9.3.2). Removing observed roots (history items) shrinks
   the cliques a lot. When a batch holds too many distinct patterns, only the nodes whose
   slicing saves most are sliced; other observations multiply in 0/1 indicators.
3. **Compilation of a plan.** The remaining nodes are moralized, triangulated by greedy
   elimination (weighted min-fill, min-fill, min-weight, min-neighbours; Kjærulff 1990), also
   in a two-phase order that eliminates the non-parents of leaves first, keeping the cheapest
   result under a cost that counts the leaf likelihoods each clique will receive; cliques are
   joined by a maximum spanning tree on separator sizes (Jensen & Jensen 1994). Each factor
   goes to the smallest clique holding its scope. All cliques of a plan share one axis order
   (so separators line up by ``reshape``): non-parents of leaves first, then the parents of
   leaves grouped so that the large factors and separators of the big cliques are contiguous
   runs of axes, because numpy broadcasting over short runs of small axes is many times slower
   than over contiguous memory. Products inside a clique run as a sweep from the last axis.
4. **Local structure of leaves.** A leaf's likelihood slice that is an outer product of
   vectors (the "absent" state of a noisy-OR; Heckerman 1989; Savický & Vomlel 2007) becomes
   one small factor per parent. In large cliques the other slices are stored expanded to the
   clique's layout (a bounded LRU cache) and multiplied into each row as contiguous array
   operations, skipping rows where the leaf is unobserved.
5. **Large cliques, row by row.** In cliques of 4096 states or more, the last products, the
   leaf rows and the first reductions run one row at a time in a reused buffer that stays in
   cache, instead of streaming ``(B, clique)`` arrays through memory. A large root is also
   *split*: the parents of leaves are divided once, at compile time, into two halves that as
   few leaf likelihoods as possible straddle (exhaustive search). With ``phi(L, R)`` the
   product of the factors straddling both halves and ``g_L``, ``g_R`` the products of the
   factors inside each half (applied at half size, so nearly free), the half marginals are
   ``(phi @ g_R) * g_L`` and ``(g_L @ phi) * g_R`` (one matrix-vector product each, per row);
   deeper marginals follow by recursive bisection of the axes.
6. **Per batch.** Collect (leaves to root) and distribute (root to the cliques holding the
   targets, Hugin division with ``0/0 = 0``) passes run on chunks of rows. Every upward
   message is normalized per row and its log scale accumulated, so ``log P(e)`` is exact and
   nothing underflows. Rows with ``P(e) = 0`` get NaN marginals and ``-inf`` log evidence.
   Large temporaries live in reused, aligned buffers, so no page faults are paid per chunk.

All arithmetic is float64 and row-wise: elementwise products, reductions over non-batch axes
and per-row matrix-vector products, none of which spans rows. So a row's result does not
depend on the chunking or the number of threads (it may differ in the last bits between
batches that slice differently). Identical rows are scored once.

Performance notes (legnumb's network, 50 nodes, largest clique 2^15 states over the 15
causes): ``scripts/bench_engine.py`` compares with pgmpy. The cost per row is about ten
contiguous passes over the 2^15 states of the causes, plus more for rows that leave many
history items unobserved (they need cliques joining the causes to those items).

Examples
--------
>>> import numpy as np
>>> from legnumb.network.cpt import CPT
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
import threading
from collections import OrderedDict
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from legnumb.errors import EngineError, InvalidTypeError, UnknownNameError
from legnumb.network.cpt import CPT

__all__ = ["DEFAULT_CHUNK_BYTES", "Engine", "QueryResult"]

DEFAULT_CHUNK_BYTES = 256 * 2**20
"""Default bound on the working set of one chunk of rows, in bytes."""

_FAST_CHUNK_BYTES = 24 * 2**20  # preferred working set of a chunk (stays in cache)
_SUM_TOL = 1e-6  # tolerance on CPT column sums (then renormalized)
_RANK1_TOL = 1e-13  # relative tolerance of the rank-1 test of a likelihood slice
_EXPAND_MIN_STATES = 1024  # cliques from this size get expanded leaf tables
_INNER_MIN = 4096  # expanded leaf rows cover the trailing axes up to this many states
_ROW_MODE_STATES = 4096  # roots from this size run their heavy part one row at a time
_EXPAND_MAX_BYTES = 128 * 2**20  # bound on all expanded leaf tables of an engine
_MAX_PLANS = 512  # bound on the evidence patterns compiled for one batch
_ROWS_PER_PLAN = 64  # a pattern is worth compiling from about this many rows


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


# ------------------------------------------------------------------------ graph algorithms


def _bits(mask: int):
    """Indices of the set bits of ``mask``, lowest first."""
    while mask:
        low = mask & -mask
        yield low.bit_length() - 1
        mask ^= low


def _eliminate(nb: list[int], card: Sequence[int], heuristic: str, first: int) -> list[int]:
    """Greedy elimination on bitset adjacency ``nb``; returns the elimination cliques.

    Nodes in the bitmask ``first`` are eliminated before all others.
    """
    nb = list(nb)
    logc = [math.log(k) for k in card]
    weight = []  # log state count of each node's elimination clique, kept up to date
    for v, nv in enumerate(nb):
        w, m = logc[v], nv
        while m:
            low = m & -m
            w += logc[low.bit_length() - 1]
            m ^= low
        weight.append(w)
    alive = (1 << len(nb)) - 1
    cliques = []
    weighted = heuristic == "weighted_min_fill"
    while alive:
        cand = alive & first or alive
        best, best_key = -1, None
        m = cand
        while m:
            low = m & -m
            v = low.bit_length() - 1
            m ^= low
            nv = nb[v]
            if heuristic == "min_weight":
                key: tuple = (weight[v], v)
            elif heuristic == "min_neighbors":
                key = (nv.bit_count(), weight[v], v)
            else:
                fill = 0
                mu = nv
                while mu:
                    lu = mu & -mu
                    u = lu.bit_length() - 1
                    mu ^= lu
                    missing = nv & ~nb[u] & ~lu
                    if not missing:
                        continue
                    if weighted:
                        tot = 0
                        while missing:
                            lw = missing & -missing
                            tot += card[lw.bit_length() - 1]
                            missing ^= lw
                        fill += card[u] * tot
                    else:
                        fill += missing.bit_count()
                key = (fill, weight[v], v)
            if best_key is None or key < best_key:
                best, best_key = v, key
        nv = nb[best]
        bit = 1 << best
        cliques.append(nv | bit)
        mu = nv
        while mu:
            lu = mu & -mu
            u = lu.bit_length() - 1
            mu ^= lu
            added = nv & ~nb[u] & ~lu
            w = weight[u] - logc[best]
            while added:
                la = added & -added
                w += logc[la.bit_length() - 1]
                added ^= la
            weight[u] = w
            nb[u] = (nb[u] | nv) & ~lu & ~bit
        alive &= ~bit
        first &= ~bit
    return cliques


def _triangulate(
    adj: dict[int, set[int]],
    card: Sequence[int],
    *,
    late: frozenset = frozenset(),
    loads: Sequence[tuple[frozenset, float]] = (),
    heuristics: Sequence[str] = ("weighted_min_fill", "min_fill", "min_weight", "min_neighbors"),
) -> list[frozenset]:
    """Maximal cliques of the cheapest triangulation found by greedy heuristics.

    Each heuristic runs once freely and, when ``late`` is given, once eliminating the nodes not
    in ``late`` first. The cost of a triangulation is the total state count of its cliques
    plus, for each ``(scope, weight)`` in ``loads``, ``weight`` times the size of the smallest
    clique holding ``scope`` (the leaf likelihoods multiplied into it).

    Examples
    --------
    >>> cliques = _triangulate({0: {1, 3}, 1: {0, 2}, 2: {1, 3}, 3: {0, 2}}, [2, 2, 2, 2])
    >>> sorted(len(c) for c in cliques)  # the 4-cycle needs one chord
    [3, 3]
    """
    if not adj:
        return [frozenset()]
    nodes = sorted(adj)
    local = {v: i for i, v in enumerate(nodes)}
    lcard = [card[v] for v in nodes]
    nb = [sum(1 << local[u] for u in adj[v] if u != v) for v in nodes]
    early = sum(1 << local[v] for v in nodes if v not in late) if late else 0
    firsts = [0, early] if 0 < early < (1 << len(nodes)) - 1 else [0]
    lmask = [(sum(1 << local[v] for v in scope), w) for scope, w in loads]
    best, best_cost, seen = None, None, set()
    for first in firsts:
        for heuristic in heuristics:
            maximal: list[int] = []
            for c in _eliminate(nb, lcard, heuristic, first):
                if not any(c & m == c for m in maximal):  # later cliques can only be subsets
                    maximal.append(c)
            key = tuple(sorted(maximal))
            if key in seen:
                continue
            seen.add(key)
            sizes = [math.prod(lcard[i] for i in _bits(c)) for c in maximal]
            cost = float(sum(sizes))
            for m, w in lmask:
                cost += w * min(sz for c, sz in zip(maximal, sizes, strict=True) if m & c == m)
            if best_cost is None or cost < best_cost:
                best, best_cost = maximal, cost
    return [frozenset(nodes[i] for i in _bits(c)) for c in best]


def _junction_tree(cliques: list[frozenset], card: Sequence[int]) -> list[list[int]]:
    """Adjacency lists of a maximum spanning tree on separator sizes (Prim's algorithm)."""
    n = len(cliques)
    adj: list[list[int]] = [[] for _ in range(n)]
    if n < 2:
        return adj

    def key(i: int, j: int) -> tuple:
        sep = cliques[i] & cliques[j]
        return (len(sep), -math.prod(card[v] for v in sep))

    in_tree = [False] * n
    in_tree[0] = True
    best_key = [key(0, j) for j in range(n)]
    best_from = [0] * n
    for _ in range(n - 1):
        j = max((j for j in range(n) if not in_tree[j]), key=lambda j: (best_key[j], -j))
        in_tree[j] = True
        adj[j].append(best_from[j])
        adj[best_from[j]].append(j)
        for k in range(n):
            if not in_tree[k]:
                kk = key(j, k)
                if kk > best_key[k]:
                    best_key[k], best_from[k] = kk, j
    return adj


def _check_running_intersection(cliques: list[frozenset], adj: list[list[int]]) -> None:
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
            raise EngineError(f"junction tree violates running intersection at {v}")


def _product_order(masks: list[int], card: Sequence[int]) -> list[tuple[int, int]]:
    """Pairwise product order over factor scopes given as axis bitmasks.

    Axis ``i`` of the clique is bit ``i``; the last axis is innermost in memory. Small
    factors are merged as a sweep from the last axis to the first (each product prepends
    axes, so numpy's inner loop runs over the contiguous suffix already built); factors
    larger than an eighth of the clique are multiplied in last, smallest first.

    Examples
    --------
    >>> _product_order([0b00001, 0b00010, 0b10000], [2, 2, 2, 2, 2])  # last axis first
    [(1, 2), (0, 3)]
    """
    full = math.prod(card)

    def size(m: int) -> int:
        return math.prod(card[i] for i in _bits(m))

    small = [i for i, m in enumerate(masks) if size(m) * 8 <= full]
    large = [i for i, m in enumerate(masks) if size(m) * 8 > full]
    small.sort(key=lambda i: (-masks[i].bit_length(), size(masks[i]), i))
    large.sort(key=lambda i: (size(masks[i]), i))
    chain = small + large
    ops = []
    if not chain:
        return ops
    acc = chain[0]
    nxt = len(masks)
    for i in chain[1:]:
        ops.append((i, acc) if i in small else (acc, i))
        acc = nxt
        nxt += 1
    return ops


def _reduce_plan(n_axes: int, requests: list[frozenset]) -> tuple[list, dict, list]:
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
            elif r not in where and r not in rest:
                rest.append(r)
        if not rest:
            return
        union = frozenset().union(*rest)
        if union != src_axes:
            kept = tuple(a for a in axes_of[src] if a in union)
            summed = tuple(i + 1 for i, a in enumerate(axes_of[src]) if a not in union)
            ops.append((src, summed))
            axes_of.append(kept)
            go(len(axes_of) - 1, rest)
            return
        rest.sort(key=lambda r: (min(r, default=-1), len(r)))
        half = len(rest) // 2
        go(src, rest[:half])
        go(src, rest[half:])

    go(0, requests)
    return ops, where, axes_of


def _rank1(t: np.ndarray) -> list[np.ndarray] | None:
    """Vectors whose outer product is ``t`` (one per axis), or None if ``t`` is not rank 1.

    Examples
    --------
    >>> vs = _rank1(np.multiply.outer([1.0, 0.5], [0.2, 0.4, 0.8]))
    >>> np.allclose(np.multiply.outer(*vs), np.multiply.outer([1.0, 0.5], [0.2, 0.4, 0.8]))
    True
    >>> _rank1(np.array([[1.0, 0.0], [0.0, 1.0]])) is None
    True
    """
    if t.ndim == 0:
        return None
    anchor = np.unravel_index(int(np.argmax(t)), t.shape)
    top = float(t[anchor])
    if top <= 0.0:
        return None
    vecs = []
    for axis in range(t.ndim):
        idx = list(anchor)
        idx[axis] = slice(None)
        vecs.append(np.array(t[tuple(idx)], dtype=np.float64) / (top if axis else 1.0))
    recon = vecs[0]
    for v in vecs[1:]:
        recon = np.multiply.outer(recon, v)
    if np.abs(recon - t).max() > _RANK1_TOL * top:
        return None
    return vecs


class _Arena:
    """A bump allocator over one float64 buffer, reused from chunk to chunk."""

    def __init__(self, n: int) -> None:
        self.buf = _aligned(n)
        self.off = 0
        self.need = 0

    def take(self, shape: tuple[int, ...]) -> np.ndarray:
        n = math.prod(shape)
        if n < 4096:  # small arrays come cheaply from malloc's free lists
            return np.empty(shape)
        step = -(-n // 8) * 8  # keep 64-byte alignment
        self.need += step
        if self.off + step <= self.buf.size:
            out = self.buf[self.off : self.off + n].reshape(shape)
            self.off += step
            return out
        return np.empty(shape)


def _bipartition(leaf_parents, scopes, folded, card, tables) -> frozenset | None:
    """Split the parents of leaves in two halves so that few leaf likelihoods span both.

    Leaf factors that fall inside one half of a large root are applied at half size (see
    ``Engine._root_split``); each leaf is weighted by the share of its states whose
    likelihood slice is not rank 1. Exhaustive over the balanced splits (at most 18 parents).
    """
    lp = sorted(leaf_parents)
    m = len(lp)
    if m < 6 or m > 18:
        return None
    bit = {v: 1 << i for i, v in enumerate(lp)}
    subsets = np.arange(1 << m, dtype=np.int64)
    count = np.zeros(len(subsets), dtype=np.int64)
    for i in range(m):
        count += (subsets >> i) & 1
    cost = np.zeros(len(subsets))
    for v, scope in enumerate(scopes):
        if not folded[v] or len(scope) < 2:
            continue
        k = card[v]
        w = sum(1 for s in range(k) if _rank1(tables[v][s]) is None) / k
        sm = sum(bit[p] for p in scope[1:])
        if w and sm & (sm - 1):  # more than one parent
            inside = subsets & sm
            cost += w * ((inside != 0) & (inside != sm))
    low = -(-m // 4)
    ok = (count >= low) & (count <= m - low)
    order = np.lexsort((np.abs(2 * count - m), cost + np.where(ok, 0.0, np.inf)))
    best = int(order[0])
    return frozenset(v for v in lp if best & bit[v])


def _aligned(n: int) -> np.ndarray:
    """An uninitialized float64 buffer of ``n`` elements starting on a 64-byte boundary."""
    raw = np.empty(max(n, 1) + 8)
    skip = (-raw.ctypes.data % 64) // 8
    return raw[skip : skip + max(n, 1)]


def _check_table(arr: np.ndarray, name: str, *, batched: bool) -> None:
    """Raise ValueError unless ``arr`` holds finite probabilities whose columns sum to 1.

    Columns may be off by up to 1e-6 (tables read from files are rounded); the engine then
    renormalizes them, so that an unobserved leaf sums out to exactly 1.
    """
    if not np.isfinite(arr).all() or (arr < 0).any():
        raise EngineError(
            f"expected finite, non-negative probabilities in the CPT of {name!r}. "
            "Got negative, infinite or NaN entries instead."
        )
    sums = arr.sum(axis=1 if batched else 0)
    if sums.size and np.abs(sums - 1.0).max() > _SUM_TOL:
        worst = float(sums.flat[np.abs(sums - 1.0).argmax()])
        raise EngineError(
            f"expected every column of the CPT of {name!r} to sum to 1. "
            f"Got a column summing to {worst!r} instead."
        )


# ----------------------------------------------------------------------------------- plans


@dataclass
class _CliquePlan:
    """Everything one clique does in one plan."""

    shape: tuple[int, ...]  # (*clique cards)
    factors: list[tuple]  # runtime factor specs, see Engine._factor
    products: list[tuple[int, int]]
    expanded: list[tuple]  # (leaf, code -> expanded row or -1, row axes, broadcast shape)
    block: tuple[int, ...]  # the trailing block of leaf parents the expanded rows cover
    msg_axes: tuple[int, ...] | None  # axes summed for the upward message (None: root)
    msg_shape: tuple[int, ...] | None  # (-1, *broadcast shape in the parent)
    keep_raw: bool  # upward message needed again in the distribute pass
    reduce_ops: list[tuple[int, tuple[int, ...]]] = field(default_factory=list)
    reduce_where: dict[frozenset, int] = field(default_factory=dict)
    down_shape: tuple[int, ...] | None = None  # (-1, *separator broadcast shape here)
    # Row mode (large roots): products from index ``row_from`` on, the leaf rows and the
    # reductions of the clique tensor run one row at a time in a reused buffer.
    row_from: int = -1
    row_shapes: list[tuple[int, ...]] = field(default_factory=list)
    # Split root: axes [0, split) form the half L, the others R. Factors inside one half are
    # multiplied into that half's vector; the first reductions are two matrix-vector products.
    split: int = -1
    halves: tuple = ()  # per half: (factors, products, expanded, reduce_ops, reduce_where, dims)


@dataclass
class _Plan:
    """A compiled query plan for one evidence pattern, target set and set of overrides."""

    sliced: frozenset  # observed in every row of the plan, removed from the graph
    cliques: list[tuple[int, ...]]
    root: int
    collect: list[int]  # post-order
    parent: list[int]
    distribute: list[int]  # pre-order, root first
    steps: dict[int, _CliquePlan]
    down: dict[int, frozenset]  # child clique -> separator request in the parent
    targets: list[tuple]  # (name, var, clique, kind, request, table spec)
    r1: tuple | None  # rank-1 unaries: (leaf columns, mods, offsets, table)
    bytes_per_row: int
    fixed_bytes: int = 0  # per chunk, whatever its rows (row-mode scratch buffers)


# ---------------------------------------------------------------------------------- engine


class Engine:
    """An exact batch inference engine compiled once from a discrete Bayesian network.

    Build it with :meth:`from_cpts` or :meth:`from_network`, turn evidence dicts into codes
    with :meth:`encode`, and answer a batch of rows with :meth:`query`.

    Examples
    --------
    >>> import numpy as np
    >>> from legnumb.network.cpt import CPT
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
        self._compile(list(cpts), max_chunk_bytes=max_chunk_bytes)

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
            tables with negative entries or columns that do not sum to 1 (within 1e-6;
            columns are then renormalized).
        """
        return cls(list(cpts), max_chunk_bytes=max_chunk_bytes)

    @classmethod
    def from_network(cls, bn: Any, *, max_chunk_bytes: int = DEFAULT_CHUNK_BYTES) -> Engine:
        """Compile an engine from a pgmpy network (:func:`legnumb.network.bayesnet.extract_tables`).

        Examples
        --------
        >>> from legnumb.network.bayesnet import example_network
        >>> eng = Engine.from_network(example_network("asia"))
        >>> len(eng.variables)
        8
        """
        from legnumb.network.bayesnet import extract_tables

        return cls.from_cpts(extract_tables(bn), max_chunk_bytes=max_chunk_bytes)

    def _compile(self, cpts: list[CPT], *, max_chunk_bytes: int) -> None:
        if not cpts:
            raise EngineError("expected at least one CPT. Got an empty sequence instead.")
        for c in cpts:
            if not isinstance(c, CPT):
                raise InvalidTypeError(f"expected CPT objects. Got {type(c).__name__} instead.")
        if isinstance(max_chunk_bytes, bool) or not isinstance(max_chunk_bytes, int):
            raise EngineError(
                f"expected max_chunk_bytes as an int. Got {max_chunk_bytes!r} instead."
            )
        if max_chunk_bytes <= 0:
            raise EngineError(f"expected max_chunk_bytes > 0. Got {max_chunk_bytes} instead.")
        names = [c.variable for c in cpts]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise EngineError(f"expected one CPT per node. Got several for {dupes} instead.")
        index = {n: i for i, n in enumerate(names)}
        states = {n: tuple(c.states[n]) for n, c in zip(names, cpts, strict=True)}
        for c in cpts:
            for p in c.parents:
                if p not in index:
                    raise EngineError(
                        f"expected a CPT for every parent. Got parent {p!r} of {c.variable!r} "
                        "without one instead."
                    )
                if tuple(c.states[p]) != states[p]:
                    raise EngineError(
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
        children: list[list[int]] = [[] for _ in range(n)]
        for i, s in enumerate(scopes):
            for p in s[1:]:
                children[p].append(i)
        _check_acyclic(names, scopes, children)

        folded = [not children[i] for i in range(n)]
        core = [i for i in range(n) if not folded[i]]
        leaf_parents = {p for i in range(n) if folded[i] for p in scopes[i][1:]}
        # Global axis order: other nodes first, leaf parents last (the trailing block of the
        # cliques that receive leaf likelihoods); among leaf parents, those tied most to the
        # rest come last, so separators with the rest tend to be trailing runs.
        tie = dict.fromkeys(leaf_parents, 0.0)
        for i, s in enumerate(scopes):
            fam = s[1:] if folded[i] else s
            others = [v for v in fam if v not in leaf_parents]
            w = sum(math.log(card[v]) for v in others)
            for v in fam:
                if v in leaf_parents and others:
                    tie[v] += w
        split = _bipartition(leaf_parents, scopes, folded, card, tables)
        order = [v for v in core if v not in leaf_parents]
        order += sorted(
            leaf_parents, key=lambda v: (split is not None and v not in split, tie[v], v)
        )
        order += [v for v in range(n) if folded[v]]
        pos = [0] * n
        for p, v in enumerate(order):
            pos[v] = p

        self._names = tuple(names)
        self._index = index
        self._states = states
        self._state_codes = {v: {s: j for j, s in enumerate(states[v])} for v in names}
        self._card = card
        self._card_arr = np.asarray(card, dtype=np.int64)
        self._scopes = scopes
        self._tables = tables
        self._folded = folded
        self._core = core
        self._core_arr = np.asarray(core, dtype=np.int64)
        self._leaf_parents = leaf_parents
        self._split = split  # leaf parents of the first half of a split root (or None)
        self._pos = pos
        self._max_chunk_bytes = max_chunk_bytes
        self._eyes = [np.eye(k) for k in card]
        # Rank-1 slices of leaf likelihoods: code -> per-parent vectors (or None).
        self._rank1: dict[int, list[list[np.ndarray] | None]] = {}
        for v in range(n):
            if folded[v] and len(scopes[v]) > 1:
                self._rank1[v] = [_rank1(tables[v][s]) for s in range(card[v])]
        # Leaves by decreasing number of parent states (the costliest likelihoods first).
        self._leaf_order = sorted(
            (v for v in range(n) if folded[v] and len(scopes[v]) > 1),
            key=lambda v: (-math.prod(card[p] for p in scopes[v][1:]), v),
        )[:8]
        self._plans: dict[tuple, _Plan] = {}
        self._gather_cache: dict[tuple, np.ndarray] = {}
        self._expand_cache: OrderedDict[tuple, np.ndarray] = OrderedDict()
        self._expand_bytes = 0
        self._lock = threading.Lock()
        self._arenas: list[_Arena] = []
        self._full_plan = self._plan(frozenset(), frozenset(core), tuple(range(n)), frozenset())
        # How much slicing a node saves (states of the unsliced cliques holding it).
        self._benefit = dict.fromkeys(core, 0.0)
        for c in self._full_plan.cliques:
            size = math.prod(card[v] for v in c)
            for v in c:
                self._benefit[v] += size * (1.0 - 1.0 / card[v])

    def __getstate__(self) -> dict:
        """Pickle without locks, buffers and caches (they are rebuilt on demand)."""
        state = self.__dict__.copy()
        for key in ("_lock", "_arenas", "_plans", "_gather_cache", "_expand_cache"):
            state.pop(key, None)
        state["_expand_bytes"] = 0
        return state

    def __setstate__(self, state: dict) -> None:
        self.__dict__.update(state)
        self._lock = threading.Lock()
        self._arenas = []
        self._plans = {}
        self._gather_cache = {}
        self._expand_cache = OrderedDict()

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
        """Sizes of the junction tree compiled without evidence (the worst case), and memory.

        ``buffer_bytes`` lists the reusable working buffers (one per thread that ran a
        chunk; a chunk's working set), ``expanded_cache_bytes`` the cached leaf rows.

        Examples
        --------
        >>> from legnumb.network.bayesnet import example_network
        >>> info = Engine.from_network(example_network("asia")).info()
        >>> info["n_cliques"] >= 1 and info["chunk_rows"] >= 1
        True
        """
        plan = self._full_plan
        sizes = [math.prod(self._card[v] for v in c) for c in plan.cliques]
        return {
            "n_cliques": len(plan.cliques),
            "cliques": [tuple(self._names[v] for v in c) for c in plan.cliques],
            "max_clique_states": max(sizes),
            "total_clique_states": sum(sizes),
            "folded_leaves": [self._names[v] for v in range(len(self._names)) if self._folded[v]],
            "bytes_per_row": plan.bytes_per_row,
            "chunk_rows": self._chunk_rows(plan),
            "compiled_plans": len(self._plans),
            "buffer_bytes": [a.buf.nbytes for a in self._arenas],
            "expanded_cache_bytes": self._expand_bytes,
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
        >>> from legnumb.network.bayesnet import example_network
        >>> eng = Engine.from_network(example_network("cancer"))
        >>> eng.variables[:3]
        ('Pollution', 'Smoker', 'Cancer')
        >>> eng.encode([{"Smoker": "False"}, {}])[:, :3].tolist()
        [[-1, 1, -1], [-1, -1, -1]]
        """
        if isinstance(evidences, Mapping):
            raise InvalidTypeError(
                "expected a sequence of evidence dicts (one per row). Got a single mapping "
                "instead; wrap it in a list."
            )
        codes = np.full((len(evidences), len(self._names)), -1, dtype=np.int64)
        for b, ev in enumerate(evidences):
            for var, state in ev.items():
                col = self._index.get(var)
                if col is None:
                    raise UnknownNameError(
                        f"expected a node of the network in row {b}. Got {var!r} instead; "
                        f"known nodes: {', '.join(self._names)}."
                    )
                if state is None:
                    continue
                code = self._state_codes[var].get(state)
                if code is None:
                    raise EngineError(
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
            Rows per chunk; by default chosen from the largest clique so that a chunk's
            working set stays small (and within ``max_chunk_bytes``). Results do not depend
            on it.

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
        >>> from legnumb.network.bayesnet import example_network
        >>> eng = Engine.from_network(example_network("cancer"))
        >>> res = eng.query(eng.encode([{"Xray": "positive"}]), targets=["Cancer"])
        >>> res.marginals["Cancer"].round(4)
        array([[0.0503, 0.9497]])
        """
        codes = self._check_codes(codes)
        target_idx = self._check_targets(targets)
        overrides = self._check_overrides(cpt_values)
        if isinstance(n_threads, bool) or not isinstance(n_threads, int) or n_threads < 1:
            raise EngineError(f"expected n_threads as an int >= 1. Got {n_threads!r} instead.")
        if chunk_rows is not None and (
            isinstance(chunk_rows, bool) or not isinstance(chunk_rows, int) or chunk_rows < 1
        ):
            raise EngineError(f"expected chunk_rows as an int >= 1. Got {chunk_rows!r} instead.")
        n_rows = max([codes.shape[0], *(a.shape[0] for a in overrides.values())])
        for v, a in overrides.items():
            if a.shape[0] not in (1, n_rows):
                raise EngineError(
                    f"expected cpt_values[{self._names[v]!r}] with {n_rows} or 1 rows. "
                    f"Got {a.shape[0]} rows instead."
                )
        if codes.shape[0] not in (1, n_rows):
            raise EngineError(
                f"expected codes with {n_rows} or 1 rows (as many as cpt_values). "
                f"Got {codes.shape[0]} rows instead."
            )

        # Identical rows are scored once when every row shares the same CPTs.
        inverse = None
        if any(a.shape[0] > 1 for a in overrides.values()):
            work = np.broadcast_to(codes, (n_rows, codes.shape[1]))
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
        tasks = self._tasks(work, target_idx, frozenset(overrides), chunk_rows, n_threads)

        def run(task: tuple[_Plan, np.ndarray]) -> None:
            plan, rows = task
            ov = {v: (a if a.shape[0] == 1 else a[rows]) for v, a in overrides.items()}
            arena = self._acquire_arena((plan.bytes_per_row * len(rows) + plan.fixed_bytes) // 8)
            try:
                self._run(plan, work[rows], ov, out_m, out_l, rows, arena)
            finally:
                self._release_arena(arena)

        if n_threads == 1 or len(tasks) < 2:
            for task in tasks:
                run(task)
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(run, tasks))
        if inverse is not None:
            out_m = {k: v[inverse] for k, v in out_m.items()}
            out_l = out_l[inverse]
        return QueryResult(marginals=out_m, log_evidence=out_l)

    # ------------------------------------------------------------------------- validation
    def _check_codes(self, codes: Any) -> np.ndarray:
        arr = np.asarray(codes)
        n = len(self._names)
        if arr.ndim != 2 or arr.shape[1] != n:
            raise EngineError(
                f"expected codes of shape (B, {n}) (one column per node, see "
                f"Engine.variables). Got shape {arr.shape} instead."
            )
        if arr.dtype.kind not in "iu":
            raise EngineError(f"expected integer codes. Got dtype {arr.dtype} instead.")
        arr = arr.astype(np.int64, copy=False)
        if arr.size:
            bad = (arr < -1) | (arr >= self._card_arr)
            if bad.any():
                b, i = map(int, np.argwhere(bad)[0])
                raise EngineError(
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
                raise UnknownNameError(
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
                raise UnknownNameError(
                    f"expected cpt_values keyed by nodes of the network. Got {name!r} instead."
                )
            v = self._index[name]
            arr = np.asarray(vals, dtype=np.float64)
            shape = self._tables[v].shape
            if arr.ndim != len(shape) + 1 or arr.shape[1:] != shape:
                raise EngineError(
                    f"expected cpt_values[{name!r}] of shape (B, *{shape}). "
                    f"Got shape {arr.shape} instead."
                )
            _check_table(arr, name, batched=True)
            out[v] = arr / arr.sum(axis=1, keepdims=True)
        return out

    # ------------------------------------------------------------------------ scheduling
    def _chunk_rows(self, plan: _Plan) -> int:
        budget = min(self._max_chunk_bytes, _FAST_CHUNK_BYTES)
        return max(1, budget // max(plan.bytes_per_row, 1))

    def _tasks(self, work, targets, overridden, chunk_rows, n_threads) -> list[tuple]:
        """Group rows by evidence pattern, compile a plan per group, cut groups in chunks."""
        n_work = work.shape[0]
        if n_work == 0:
            return []
        observed = work[:, self._core_arr] >= 0 if self._core else np.zeros((n_work, 0), bool)
        counts = observed.sum(axis=0)
        always = [self._core[j] for j in np.flatnonzero(counts == n_work)]
        some = [j for j in np.flatnonzero((counts > 0) & (counts < n_work))]
        some.sort(key=lambda j: -self._benefit[self._core[j]])
        cap = max(1, min(_MAX_PLANS, n_work // _ROWS_PER_PLAN))
        key = np.zeros(n_work, dtype=np.int64)
        chosen = []
        n_keys = 1
        for j in some:
            if len(chosen) >= 62:
                break
            trial = key * 2 + observed[:, j]
            n_trial = len(np.unique(trial)) if n_keys * 2 > cap else n_keys * 2
            if n_trial > cap:
                continue
            key, n_keys = trial, n_trial
            chosen.append(j)
        indicators = frozenset(self._core[j] for j in some if j not in chosen)
        if chosen:
            _, first, group = np.unique(key, return_index=True, return_inverse=True)
            group = group.reshape(-1)
        else:
            first, group = np.zeros(1, dtype=np.int64), np.zeros(n_work, dtype=np.int64)
        # Within a pattern, rows sorted by the states of the leaves with the largest parent
        # sets: consecutive rows then reuse the same expanded leaf rows while they are in cache.
        keys = [work[:, v] for v in self._leaf_order[::-1]] + [group]
        order = np.lexsort(keys)
        bounds = np.searchsorted(group[order], np.arange(len(first) + 1))
        tasks = []
        for g in range(len(first)):
            rows = order[bounds[g] : bounds[g + 1]]
            r0 = int(first[g])
            sliced = frozenset(always) | frozenset(self._core[j] for j in chosen if observed[r0, j])
            plan = self._plan(sliced, indicators, targets, overridden)
            step = chunk_rows or self._chunk_rows(plan)
            if n_threads > 1:
                step = max(1, min(step, -(-n_work // n_threads)))
            tasks += [(plan, rows[s : s + step]) for s in range(0, len(rows), step)]
        return tasks

    def _acquire_arena(self, n: int) -> _Arena:
        with self._lock:
            arena = self._arenas.pop() if self._arenas else _Arena(0)
        if arena.buf.size < n:
            arena.buf = _aligned(n)
        arena.off = arena.need = 0
        return arena

    def _release_arena(self, arena: _Arena) -> None:
        if arena.need > arena.buf.size:
            arena.buf = _aligned(arena.need)
        with self._lock:
            if len(self._arenas) < 8:
                self._arenas.append(arena)

    # ------------------------------------------------------------------------------ plans
    def _plan(
        self, sliced: frozenset, indicators: frozenset, targets: tuple, overridden: frozenset
    ) -> _Plan:
        key = (sliced, indicators - sliced, targets, overridden)
        plan = self._plans.get(key)
        if plan is None:
            plan = self._build_plan(sliced, indicators - sliced, targets, overridden)
            with self._lock:
                self._plans[key] = plan
        return plan

    def _gather_table(self, v: int, sliced: tuple[int, ...], leaf: bool, pos) -> np.ndarray:
        """Table of node ``v`` with gathered axes first (flattened), then the rest by ``pos``.

        Gathered axes are ``v`` itself for a leaf (with an extra all-ones row for code -1)
        followed by the sliced parents ``sliced``, or just the sliced scope nodes otherwise.
        """
        scope = self._scopes[v]
        gathered = ((v,) if leaf else ()) + sliced
        rest = tuple(sorted((a for a in scope if a not in gathered), key=lambda a: pos[a]))
        key = (v, sliced, leaf, rest)
        table = self._gather_cache.get(key)
        if table is not None:
            return table
        perm = [scope.index(a) for a in gathered] + [scope.index(a) for a in rest]
        t = self._tables[v].transpose(perm)
        if leaf:
            t = np.concatenate([t, np.ones((1, *t.shape[1:]))])
        table = np.ascontiguousarray(t).reshape(-1, *t.shape[len(gathered) :])
        with self._lock:
            self._gather_cache[key] = table
        return table

    def _code_rows(self, leaf: int) -> np.ndarray:
        """For each code of a leaf (and -1 last): its row among the expanded rows, or -1.

        Expanded rows exist for the observed states whose likelihood slice is not rank 1;
        rank-1 slices become per-parent unaries, and code -1 contributes nothing.
        """
        k = self._card[leaf]
        r1 = self._rank1.get(leaf) or [None] * k
        full = [s for s in range(k) if r1[s] is None]
        code_row = np.full(k + 1, -1, dtype=np.int64)
        code_row[full] = np.arange(len(full))
        return code_row

    def _expanded_rows(self, leaf: int, axes: tuple[int, ...]) -> np.ndarray:
        """Rows ``P(leaf = s | parents)`` broadcast over the nodes ``axes`` (C order).

        ``axes`` holds the leaf's parents and the trailing nodes of its clique, so that numpy's
        inner loop is long when the row multiplies the clique. One row per non-rank-1 state,
        built by one gather from the leaf's table and kept in a bounded LRU cache.
        """
        key = (leaf, axes)
        with self._lock:
            rows = self._expand_cache.get(key)
            if rows is not None:
                self._expand_cache.move_to_end(key)
                return rows
        code_row = self._code_rows(leaf)
        full = [s for s in range(self._card[leaf]) if code_row[s] >= 0]
        pa = self._scopes[leaf][1:]
        shape = tuple(self._card[v] for v in axes)
        idx = np.zeros(shape, dtype=np.int64)
        stride = 1
        for p in reversed(pa):
            ax = axes.index(p)
            coord = np.arange(self._card[p]).reshape(
                [-1 if i == ax else 1 for i in range(len(shape))]
            )
            idx = idx + coord * stride
            stride *= self._card[p]
        flat = self._tables[leaf].reshape(self._card[leaf], -1)[full]
        rows = np.ascontiguousarray(np.take(flat, idx.reshape(-1), axis=1)).reshape(
            len(full), *shape
        )
        with self._lock:
            self._expand_cache[key] = rows
            self._expand_bytes += rows.nbytes
            while self._expand_bytes > _EXPAND_MAX_BYTES and len(self._expand_cache) > 1:
                _, old = self._expand_cache.popitem(last=False)
                self._expand_bytes -= old.nbytes
        return rows

    def _build_plan(
        self, sliced: frozenset, indicators: frozenset, targets: tuple, overridden: frozenset
    ) -> _Plan:
        card, scopes, folded, lp = self._card, self._scopes, self._folded, self._leaf_parents
        gpos = self._pos
        n = len(self._names)

        def by_gpos(vs: Iterable[int]) -> tuple[int, ...]:
            return tuple(sorted(vs, key=lambda a: gpos[a]))

        # ---- factors before the junction tree: (kind, remaining scope, payload)
        pre: list[tuple[str, frozenset, tuple]] = []
        for v in range(n):
            scope = scopes[v]
            if folded[v]:
                gat = by_gpos(a for a in scope[1:] if a in sliced)
                rest = frozenset(a for a in scope[1:] if a not in sliced)
                kind = "leaf_ovr" if v in overridden else "leaf"
                pre.append((kind, rest, (v, gat)))
                continue
            gat = by_gpos(a for a in scope if a in sliced)
            rest = frozenset(a for a in scope if a not in sliced)
            if v in overridden:
                pre.append(("ovr", rest, (v, gat)))
            elif gat:
                pre.append(("gather", rest, (v, gat)))
            else:
                pre.append(("static", rest, (v,)))
        for v in sorted(indicators):
            pre.append(("ind", frozenset([v]), (v,)))

        # ---- junction tree (independent of the axis order)
        core = [v for v in self._core if v not in sliced]
        adj: dict[int, set[int]] = {v: set() for v in core}
        for _, rest, _ in pre:
            for a in rest:
                adj[a].update(rest)
        for a in adj:
            adj[a].discard(a)
        loads = [
            (rest, 1.0)
            for kind, rest, payload in pre
            if kind == "leaf" and not payload[1] and len(scopes[payload[0]]) > 1
        ]
        csets = _triangulate(
            adj,
            card,
            late=frozenset(core) & lp,
            loads=loads,
            heuristics=(
                ("weighted_min_fill",)
                if sliced
                else ("weighted_min_fill", "min_fill", "min_weight", "min_neighbors")
            ),
        )
        csize = [math.prod(card[v] for v in c) for c in csets]
        tree = _junction_tree(csets, card)
        _check_running_intersection(csets, tree)
        n_c = len(csets)

        def needs(t: int) -> frozenset | None:
            if t in sliced:
                return None
            if folded[t]:
                return frozenset(a for a in scopes[t][1:] if a not in sliced)
            return frozenset([t])

        wanted = [s for s in (needs(t) for t in targets) if s is not None]
        root = max(range(n_c), key=lambda i: (sum(s <= csets[i] for s in wanted), csize[i], -i))
        parent = [-1] * n_c
        depth = [0] * n_c
        order = [root]
        for i in order:
            for j in tree[i]:
                if j != root and parent[j] == -1:
                    parent[j] = i
                    depth[j] = depth[i] + 1
                    order.append(j)
        collect = order[::-1]

        def home(scope: frozenset) -> int:
            return min((i for i in range(n_c) if scope <= csets[i]), key=lambda i: (csize[i], i))

        def top(scope: frozenset) -> int:
            return min((i for i in range(n_c) if scope <= csets[i]), key=lambda i: (depth[i], i))

        # ---- assign factors to cliques; leaves of large cliques get expanded rows
        assigned: dict[int, list[tuple[str, frozenset, tuple]]] = {i: [] for i in range(n_c)}
        expanded: dict[int, list[int]] = {i: [] for i in range(n_c)}
        r1_leaves: list[int] = []
        for kind, rest, payload in pre:
            c = home(rest)
            f = payload[0]
            if (
                kind == "leaf"
                and not payload[1]
                and len(scopes[f]) > 1
                and csize[c] >= _EXPAND_MIN_STATES
                and rest <= lp
            ):
                expanded[c].append(f)
                if any(r is not None for r in self._rank1[f]):
                    r1_leaves.append(f)
                continue
            assigned[c].append((kind, rest, payload))
        r1_parents = {a for f in r1_leaves for a in scopes[f][1:]}
        for a in sorted(r1_parents, key=lambda a: gpos[a]):
            assigned[home(frozenset([a]))].append(("unary", frozenset([a]), (a,)))

        # ---- axis order of this plan: other nodes first, then the leaf parents, grouped so
        # that the multi-node factors and separators of the large cliques are contiguous runs.
        group: dict[int, int] = {}
        for c in sorted(range(n_c), key=lambda i: -csize[i]):
            if csize[c] < _EXPAND_MIN_STATES:
                break
            scs = [rest & lp for _, rest, _ in assigned[c]]
            scs += [csets[c] & csets[j] & lp for j in tree[c]]
            scs = [x for x in scs if len(x) > 1]
            scs.sort(key=lambda x: (-math.prod(card[a] for a in x), by_gpos(x)))
            for x in scs:
                g = len(group) + 1
                for a in by_gpos(x):
                    group.setdefault(a, g)
        pos = {
            v: i
            for i, v in enumerate(
                sorted(
                    range(n),
                    key=lambda v: (
                        folded[v],
                        v in lp,
                        self._split is not None and v in lp and v not in self._split,
                        v in group,
                        -group.get(v, 0),
                        gpos[v],
                    ),
                )
            )
        }
        cliques = [tuple(sorted(c, key=lambda a: pos[a])) for c in csets]

        def bshape(scope: Iterable[int], clique: tuple[int, ...]) -> tuple[int, ...]:
            s = set(scope)
            return tuple(card[a] if a in s else 1 for a in clique)

        # ---- targets: where each is read, and the distribute set
        target_specs = []
        in_dist = {root}
        requests: dict[int, list[frozenset]] = {root: [frozenset()]}
        for t in targets:
            need = needs(t)
            name = self._names[t]
            if need is None:
                target_specs.append((name, t, -1, "sliced", None, None))
                continue
            c = top(need)
            req = frozenset(cliques[c].index(a) for a in need)
            requests.setdefault(c, []).append(req)
            while c not in in_dist:
                in_dist.add(c)
                c = parent[c]
            c = top(need)
            if folded[t]:
                gat = by_gpos(a for a in scopes[t][1:] if a in sliced)
                if t in overridden:
                    perm = self._ovr_perm(t, gat, pos, leaf=False, keep_self=True)
                    spec = ("ovr", t, perm, gat)
                else:
                    spec = ("table", t, self._marg_table(t, gat, pos), gat)
                target_specs.append((name, t, c, "leaf", req, spec))
            else:
                target_specs.append((name, t, c, "var", req, None))
        distribute = [c for c in order if c in in_dist]
        down: dict[int, frozenset] = {}
        for c in distribute[1:]:
            p = parent[c]
            req = frozenset(cliques[p].index(a) for a in csets[c] & csets[p])
            down[c] = req
            requests.setdefault(p, []).append(req)

        # ---- rank-1 slices of expanded leaves: one unary factor per parent
        r1 = None
        col0: dict[int, int] = {}
        if r1_leaves:
            c_off = 0
            for a in sorted(r1_parents, key=lambda a: gpos[a]):
                col0[a] = c_off
                c_off += card[a]
            offsets, rows_total = [], 0
            for f in r1_leaves:
                offsets.append(rows_total)
                rows_total += card[f] + 1
            tab = np.ones((rows_total, c_off))
            for f, off in zip(r1_leaves, offsets, strict=True):
                for s, vecs in enumerate(self._rank1[f]):
                    if vecs is not None:  # one vector per parent, in CPT parent order
                        for a, vec in zip(scopes[f][1:], vecs, strict=True):
                            tab[off + s, col0[a] : col0[a] + card[a]] = vec
            r1 = (
                np.asarray(r1_leaves, dtype=np.int64),
                np.asarray([card[f] + 1 for f in r1_leaves], dtype=np.int64),
                np.asarray(offsets, dtype=np.int64),
                tab,
            )

        # ---- per-clique steps
        steps: dict[int, _CliquePlan] = {}
        elems = 0
        fixed = 0
        for c in collect:
            clique = cliques[c]
            cpos = {a: i for i, a in enumerate(clique)}
            specs: list[tuple] = []
            masks: list[int] = []
            static = None
            static_scope: set[int] = set()
            for kind, rest, payload in assigned[c]:
                v = payload[0]
                bs = bshape(rest, clique)
                if kind == "static":
                    f = self._gather_table(v, (), False, pos).reshape(bs)
                    static = f if static is None else static * f
                    static_scope |= rest
                    continue
                if kind in ("gather", "leaf", "ind"):
                    if kind == "ind":
                        table = np.vstack([np.eye(card[v]), np.ones((1, card[v]))])
                        cols, mods = (v,), (card[v] + 1,)
                    else:
                        leaf = kind == "leaf"
                        table = self._gather_table(v, payload[1], leaf, pos)
                        cols = ((v,) if leaf else ()) + payload[1]
                        mods = tuple(card[a] + (1 if a == v and leaf else 0) for a in cols)
                    mults = np.cumprod((1, *mods[:0:-1]))[::-1].astype(np.int64)
                    skip = v if kind in ("leaf", "ind") else -1
                    cols_a = np.asarray(cols, dtype=np.int64)
                    mods_a = np.asarray(mods, dtype=np.int64)
                    spec = ("gather", table.reshape(-1, *bs), cols_a, mods_a, mults, skip)
                elif kind in ("ovr", "leaf_ovr"):
                    leaf = kind == "leaf_ovr"
                    perm = self._ovr_perm(v, payload[1], pos, leaf=leaf)
                    spec = ("ovr", v, payload[1], perm, bs, leaf)
                else:  # unary
                    spec = ("unary", col0[v], col0[v] + card[v], bs)
                specs.append(spec)
                masks.append(sum(1 << cpos[a] for a in rest))
            for spec in specs:  # per-row factor arrays (gathers, overrides) use the buffers
                if spec[0] == "gather":
                    elems += math.prod(spec[1].shape[1:])
                elif spec[0] == "ovr":
                    elems += math.prod(spec[4])
            for j in tree[c]:
                if parent[j] == c:
                    specs.append(("msg", j))
                    masks.append(sum(1 << cpos[a] for a in csets[c] & csets[j]))
            if static is not None:
                specs.append(("static", static[None]))
                masks.append(sum(1 << cpos[a] for a in static_scope))
            # Factors sorted by their last axis, so neighbours merge first.
            keys = [(m.bit_length(), -m, i) for i, m in enumerate(masks)]
            perm_f = sorted(range(len(specs)), key=lambda i: keys[i])
            specs = [specs[i] for i in perm_f]
            masks = [masks[i] for i in perm_f]
            products = _product_order(masks, [card[a] for a in clique])
            shape = tuple(card[a] for a in clique)
            size_c = math.prod(shape)
            row_mode = size_c >= _ROW_MODE_STATES and (c == root or c not in in_dist)
            all_masks = list(masks)
            row_from = len(products) if row_mode else -1
            out_sizes = []
            for a_, b_ in products:
                m = all_masks[a_] | all_masks[b_]
                all_masks.append(m)
                out_sizes.append(math.prod(card[a] for i, a in enumerate(clique) if m >> i & 1))
            if row_mode:  # the trailing run of large products goes row by row
                while row_from > 0 and out_sizes[row_from - 1] * 8 >= size_c:
                    row_from -= 1
            if not row_mode:
                elems += size_c  # a materialized copy
            block_vars = tuple(a for a in clique if a in lp)
            if c == root:
                msg_axes = msg_shape = None
            else:
                p = parent[c]
                sep = csets[c] & csets[p]
                msg_axes = tuple(i + 1 for i, a in enumerate(clique) if a not in sep)
                msg_shape = (-1, *bshape(sep, cliques[p]))
                elems += 3 * math.prod(card[a] for a in sep)
            tail: list[int] = []  # trailing clique axes the expanded rows also cover
            for a in reversed(clique):
                if math.prod(card[x] for x in tail) >= _INNER_MIN:
                    break
                tail.append(a)
            exp_specs = []
            for f in expanded[c]:
                axes = tuple(a for a in clique if a in scopes[f][1:] or a in tail)
                exp_specs.append((f, self._code_rows(f), axes, bshape(axes, clique)))
            split = -1
            if row_mode and self._split is not None and c in in_dist:
                split = sum(1 for a in clique if a not in lp or a in self._split)
                reqs = requests.get(c, [])
                if not 0 < split < len(clique) or any(r and min(r) < split <= max(r) for r in reqs):
                    split = -1
            halves: tuple = ()
            if split > 0:
                mask_l = (1 << split) - 1
                mask_r = ((1 << len(clique)) - 1) ^ mask_l
                sides: list[tuple] = []
                for lo, hi, side_mask in ((0, split, mask_l), (split, len(clique), mask_r)):
                    keep = [
                        i for i, m_ in enumerate(masks) if m_ & ~side_mask == 0 and (m_ or lo == 0)
                    ]
                    f_side = [specs[i] for i in keep]
                    p_side = _product_order([masks[i] for i in keep], [card[a] for a in clique])
                    side_masks = [masks[i] for i in keep]
                    for a_, b_ in p_side:  # the half's intermediate products
                        side_masks.append(side_masks[a_] | side_masks[b_])
                        elems += math.prod(
                            card[a] for i, a in enumerate(clique) if side_masks[-1] >> i & 1
                        )
                    axes = clique[lo:hi]
                    e_side = [
                        (f, self._code_rows(f), axes)
                        for f in expanded[c]
                        if all(lo <= cpos[a] < hi for a in scopes[f][1:])
                    ]
                    reqs_side = [
                        frozenset(i - lo for i in r)
                        for r in requests.get(c, [])
                        if (r and min(r) >= lo and max(r) < hi) or (not r and lo == 0)
                    ]
                    ops_s, where_s, axes_of = _reduce_plan(hi - lo, reqs_side)
                    dims = tuple(card[a] for a in axes)
                    sides.append((f_side, p_side, e_side, ops_s, where_s, dims))
                    elems += 2 * math.prod(dims) + sum(
                        math.prod(dims[a] for a in ax) for ax in axes_of[1:]
                    )
                taken = {id(x) for side in sides for x in side[0]}
                rest_i = [i for i in range(len(specs)) if id(specs[i]) not in taken]
                specs = [specs[i] for i in rest_i]
                masks = [masks[i] for i in rest_i]
                products = _product_order(masks, [card[a] for a in clique])
                halved = {f for side in sides for f, _, _ in side[2]}
                exp_specs = [e for e in exp_specs if e[0] not in halved]
                halves = tuple(sides)
                all_masks = list(masks)
                out_sizes = []
                for a_, b_ in products:
                    m_ = all_masks[a_] | all_masks[b_]
                    all_masks.append(m_)
                    out_sizes.append(
                        math.prod(card[a] for i, a in enumerate(clique) if m_ >> i & 1)
                    )
                row_from = len(products)
                while row_from > 0 and out_sizes[row_from - 1] * 8 >= size_c:
                    row_from -= 1
            elems += sum(out_sizes[: row_from if row_mode else len(out_sizes)])
            step = _CliquePlan(
                shape=shape,
                factors=specs,
                products=products,
                expanded=exp_specs,
                block=block_vars,
                msg_axes=msg_axes,
                msg_shape=msg_shape,
                keep_raw=c in in_dist and c != root,
            )
            if row_mode:
                fixed += size_c * (len(products) - row_from + 2)
                step.row_from = row_from
                step.row_shapes = [
                    tuple(
                        card[a] if all_masks[len(masks) + k] >> i & 1 else 1
                        for i, a in enumerate(clique)
                    )
                    for k in range(len(products))
                ]
            if split > 0:
                step.split, step.halves = split, halves
            elif row_mode and c != root:  # the upward message is its only reduction
                step.reduce_ops = [(0, msg_axes)]
            elif c in in_dist:
                ops, where, axes_of = _reduce_plan(len(clique), requests.get(c, []))
                step.reduce_ops, step.reduce_where = ops, where
                elems += sum(math.prod(card[clique[a]] for a in ax) for ax in axes_of[1:])
                if not row_mode or 0 in where.values():
                    elems += size_c  # the distributed belief (or the whole root, kept)
                if c != root:
                    step.down_shape = (-1, *bshape(csets[c] & csets[parent[c]], clique))
            steps[c] = step
        bytes_per_row = 8 * (elems + 2 * sum(card[t] for t in targets) + 2 * n + 64)
        return _Plan(
            sliced=sliced,
            cliques=cliques,
            root=root,
            collect=collect,
            parent=parent,
            distribute=distribute,
            steps=steps,
            down=down,
            targets=target_specs,
            r1=r1,
            bytes_per_row=bytes_per_row,
            fixed_bytes=8 * fixed,
        )

    def _ovr_perm(
        self, v: int, gat: tuple[int, ...], pos, *, leaf: bool, keep_self: bool = False
    ) -> tuple[int, ...]:
        """Axis order of an override ``(B, *cpt.shape)``: batch, gathered, then the rest."""
        scope = self._scopes[v]
        gathered = ((v,) if leaf else ()) + gat
        keep = sorted((a for a in scope if a not in gathered and a != v), key=lambda a: pos[a])
        if v not in gathered:
            keep = [v, *keep] if keep_self else sorted([v, *keep], key=lambda a: pos[a])
        return (0, *(1 + scope.index(a) for a in gathered), *(1 + scope.index(a) for a in keep))

    def _marg_table(self, t: int, gat: tuple[int, ...], pos) -> np.ndarray:
        """P(t | parents) as (flat sliced parents, k_t, flat remaining parents in order)."""
        scope = self._scopes[t]
        rest = sorted((a for a in scope[1:] if a not in gat), key=lambda a: pos[a])
        perm = [scope.index(a) for a in gat] + [0] + [scope.index(a) for a in rest]
        tab = np.ascontiguousarray(self._tables[t].transpose(perm))
        return tab.reshape(-1, self._card[t], math.prod(self._card[a] for a in rest))

    # ---------------------------------------------------------------------------- runtime
    def _run(
        self,
        plan: _Plan,
        codes: np.ndarray,
        overrides: dict[int, np.ndarray],
        out_m: dict[str, np.ndarray],
        out_l: np.ndarray,
        rows_out: np.ndarray,
        arena: _Arena,
    ) -> None:
        """Propagate one chunk of rows and write its results at ``out_*[rows_out]``."""
        n_rows = codes.shape[0]
        observed = codes >= 0
        obs_any = observed.any(axis=0)
        logscale = np.zeros(n_rows)
        unary = None
        if plan.r1 is not None:
            leaves, mods, offsets, tab = plan.r1
            unary = np.multiply.reduce(tab[codes[:, leaves] % mods + offsets], axis=1)
        msgs: dict[int, np.ndarray] = {}
        raw: dict[int, np.ndarray] = {}
        phis: dict[int, np.ndarray] = {}
        root = plan.root
        for c in plan.collect:
            st = plan.steps[c]
            bufs: list[np.ndarray | None] = []
            owned: list[bool] = []
            for spec in st.factors:
                kind = spec[0]
                if kind == "msg":
                    bufs.append(msgs.pop(spec[1]))
                    owned.append(True)
                else:
                    bufs.append(self._factor(spec, codes, obs_any, overrides, unary, arena))
                    owned.append(kind == "gather")
            n_batched = st.row_from if st.row_from >= 0 else len(st.products)
            for a, b in st.products[:n_batched]:
                x, y = bufs[a], bufs[b]
                if x is None or y is None:
                    bufs.append(y if x is None else x)
                    owned.append(owned[b] if x is None else owned[a])
                else:
                    out = arena.take(_bshape2(x.shape, y.shape))
                    bufs.append(np.multiply(x, y, out=out))
                    owned.append(True)
            if st.split > 0:
                phis[c] = self._root_split(st, bufs, codes, obs_any, overrides, unary, msgs, arena)
                continue
            m = None
            rowwise = st.row_from >= 0
            if rowwise:
                red = self._root_rows(st, bufs, codes, arena)
                if c == root:
                    phis[c] = red
                    continue
                m = red[1]  # the raw upward message, reduced row by row
            phi = bufs[-1] if bufs else None
            full = (n_rows, *st.shape)
            if rowwise:
                pass
            elif st.expanded:
                if phi is None or phi.shape != full or not owned[-1]:
                    acc = arena.take(full)
                    if phi is None:
                        acc.fill(1.0)
                    else:
                        np.copyto(acc, np.broadcast_to(phi, full))
                    phi = acc
                tables = [
                    self._expanded_rows(f, axes).reshape(-1, *bs) for f, _, axes, bs in st.expanded
                ]
                self._multiply_expanded(phi, st.expanded, tables, codes)
            elif phi is None:
                phi = np.broadcast_to(np.ones((1,) * len(full)), full)
            elif phi.shape != full:
                phi = np.broadcast_to(phi, full)
            if st.msg_axes is not None:
                kept = (n_rows, *(d for i, d in enumerate(st.shape) if i + 1 not in st.msg_axes))
                if rowwise:
                    pass
                elif st.msg_axes:
                    m = np.add.reduce(phi, axis=st.msg_axes, out=arena.take(kept))
                else:
                    m = np.array(phi)
                s = m.reshape(n_rows, -1).sum(axis=1)
                s_safe = np.where(s > 0, s, 1.0)
                logscale += np.log(s_safe)
                mn = np.divide(
                    m, s_safe.reshape((n_rows,) + (1,) * (m.ndim - 1)), out=arena.take(m.shape)
                )
                msgs[c] = mn.reshape(st.msg_shape)
                if st.keep_raw:
                    raw[c] = m
            if st.reduce_where and not rowwise:
                phis[c] = phi

        reduced: dict[int, dict[frozenset, np.ndarray]] = {}
        z_safe = possible = None
        for c in plan.distribute:
            st = plan.steps[c]
            phi = phis.pop(c)
            if st.split > 0:  # a split root: reduced already
                reduced[c] = phi
                z = reduced[c][frozenset()]
                possible = z > 0
                z_safe = np.where(possible, z, 1.0)
                continue
            if st.row_from >= 0:  # reduced row by row already: phi = first-level buffers
                bufs = phi
                for k, (src, axes) in enumerate(st.reduce_ops):
                    if src:
                        x = bufs[src]
                        kept = tuple(d for i, d in enumerate(x.shape) if i not in axes)
                        bufs[k + 1] = np.add.reduce(x, axis=axes, out=arena.take(kept))
                reduced[c] = {req: bufs[i] for req, i in st.reduce_where.items()}
                z = reduced[c][frozenset()]
                possible = z > 0
                z_safe = np.where(possible, z, 1.0)
                continue
            if c != root:
                down = reduced[plan.parent[c]][plan.down[c]]
                denom = raw.pop(c)
                if plan.parent[c] == root:
                    denom = denom * z_safe.reshape((n_rows,) + (1,) * (denom.ndim - 1))
                ratio = np.divide(down, denom, out=np.zeros(denom.shape), where=denom > 0)
                phi = np.multiply(
                    phi, ratio.reshape(st.down_shape), out=arena.take((n_rows, *st.shape))
                )
            bufs = [phi]
            for src, axes in st.reduce_ops:
                x = bufs[src]
                kept = tuple(d for i, d in enumerate(x.shape) if i not in axes)
                bufs.append(np.add.reduce(x, axis=axes, out=arena.take(kept)))
            reduced[c] = {req: bufs[i] for req, i in st.reduce_where.items()}
            if c == root:
                z = reduced[c][frozenset()]
                possible = z > 0
                z_safe = np.where(possible, z, 1.0)

        impossible = ~possible
        any_impossible = bool(impossible.any())
        for name, t, c, kind, req, spec in plan.targets:
            if kind == "sliced":
                marg = self._eyes[t][codes[:, t]]
            else:
                r = reduced[c][req]
                if kind == "leaf":
                    marg = (
                        r.reshape(n_rows, 1, -1) * self._leaf_table(spec, codes, overrides)
                    ).sum(axis=-1)
                else:
                    marg = r
                tot = marg.sum(axis=1, keepdims=True)
                marg = marg / np.where(tot > 0, tot, 1.0)
                if obs_any[t]:
                    rows = observed[:, t]
                    marg[rows] = self._eyes[t][codes[rows, t]]
            if any_impossible:
                marg[impossible] = np.nan
            out_m[name][rows_out] = marg
        logev = logscale + np.log(z_safe)
        logev[impossible] = -np.inf
        logev[~observed.any(axis=1)] = 0.0
        out_l[rows_out] = logev

    def _root_rows(self, st: _CliquePlan, bufs: list, codes: np.ndarray, arena: _Arena) -> list:
        """Finish a large root one row at a time: last products, leaf rows, first reductions.

        Returns the reduce buffers (index 0 unused; first-level reductions filled, deeper
        levels left as None for the batched pass).
        """
        n_rows = codes.shape[0]
        n_f = len(st.factors)
        row_ops = st.products[st.row_from :]
        scratch = [arena.take(st.row_shapes[st.row_from + k]) for k in range(len(row_ops))]
        phi_buf = arena.take(st.shape)
        red: list = [None] * (len(st.reduce_ops) + 1)
        if 0 in st.reduce_where.values():  # the whole clique is asked for (a leaf target)
            red[0] = arena.take((n_rows, *st.shape))
        first = []
        for k, (src, axes) in enumerate(st.reduce_ops):
            if src == 0:
                kept = tuple(d for i, d in enumerate(st.shape) if i + 1 not in axes)
                red[k + 1] = arena.take((n_rows, *kept))
                first.append((k + 1, tuple(a - 1 for a in axes)))
        tables = [self._expanded_rows(f, axes).reshape(-1, *bs) for f, _, axes, bs in st.expanded]
        if st.expanded:
            which = np.stack([cr[codes[:, f]] for f, cr, _, _ in st.expanded], axis=1)
            todo = [np.flatnonzero(w).tolist() for w in which >= 0]
            which = which.tolist()
        last = n_f + len(st.products) - 1
        for b in range(n_rows):
            row = {}
            for k, (i, j) in enumerate(row_ops):
                x = row[i] if i in row else _row(bufs[i], b)
                y = row[j] if j in row else _row(bufs[j], b)
                if x is None or y is None:
                    row[n_f + st.row_from + k] = y if x is None else x
                else:
                    row[n_f + st.row_from + k] = np.multiply(x, y, out=scratch[k])
            phi = row[last] if last in row else (_row(bufs[last], b) if bufs else None)
            if phi is not None and phi.shape == st.shape and any(phi is s_ for s_ in scratch):
                pass  # already a private buffer of the full shape
            elif phi is None:
                phi = phi_buf
                phi.fill(1.0)
            else:
                np.copyto(phi_buf, np.broadcast_to(phi, st.shape))
                phi = phi_buf
            if st.expanded:
                wb = which[b]
                for j in todo[b]:
                    np.multiply(phi, tables[j][wb[j]], out=phi)
            for k, axes in first:
                np.add.reduce(phi, axis=axes, out=red[k][b, ...])
            if red[0] is not None:
                red[0][b] = phi
        return red

    def _root_split(self, st, bufs, codes, obs_any, overrides, unary, msgs, arena) -> dict:
        """Finish a split root: half vectors, row loop with two matrix-vector products.

        With the root tensor ``phi(L, R)`` (product of the factors spanning both halves and
        of the spanning leaf rows) and the half vectors ``g_L``, ``g_R`` (products of the
        factors inside each half), the half marginals are ``(phi @ g_R) * g_L`` and
        ``(g_L @ phi) * g_R``. Returns the root's reductions, keyed by request.
        """
        n_rows = codes.shape[0]
        ndim = len(st.shape)
        split = st.split
        gs, tabs, whichs = [], [], []
        for h, (f_side, p_side, e_side, _, _, dims) in enumerate(st.halves):
            fb: list = []
            for spec in f_side:
                if spec[0] == "msg":
                    fb.append(msgs.pop(spec[1]))
                else:
                    fb.append(self._factor(spec, codes, obs_any, overrides, unary, arena))
            for a, b in p_side:
                x, y = fb[a], fb[b]
                if x is None or y is None:
                    fb.append(y if x is None else x)
                else:
                    fb.append(np.multiply(x, y, out=arena.take(_bshape2(x.shape, y.shape))))
            prod = fb[-1] if fb else None
            g = arena.take((n_rows, math.prod(dims)))
            if prod is None:
                g.fill(1.0)
            else:
                ones = (1,) * (ndim - len(dims))
                view = g.reshape((n_rows, *dims, *ones) if h == 0 else (n_rows, *ones, *dims))
                np.copyto(view, np.broadcast_to(prod, view.shape))
            gs.append(g)
            tabs.append(
                [self._expanded_rows(f, axes).reshape(-1, g.shape[1]) for f, _, axes in e_side]
            )
            whichs.append([cr[codes[:, f]] for f, cr, _ in e_side])
        g_l, g_r = gs
        size_l, size_r = g_l.shape[1], g_r.shape[1]
        m_l = arena.take((n_rows, size_l))
        m_r = arena.take((n_rows, size_r))

        n_f = len(st.factors)
        row_ops = st.products[st.row_from :]
        scratch = [arena.take(st.row_shapes[st.row_from + k]) for k in range(len(row_ops))]
        phi_buf = arena.take(st.shape)
        full_tabs = [
            self._expanded_rows(f, axes).reshape(-1, *bs) for f, _, axes, bs in st.expanded
        ]
        full_todo = _row_tables([cr[codes[:, f]] for f, cr, _, _ in st.expanded], full_tabs, n_rows)
        half_todo = [_row_tables(whichs[h], tabs[h], n_rows) for h in (0, 1)]
        last = n_f + len(st.products) - 1
        first_row = n_f + st.row_from
        if row_ops and st.row_shapes[-1] == st.shape:
            scratch[-1] = phi_buf  # the last product lands where the leaf rows go
        for b in range(n_rows):
            row: dict = {}
            for k, (i, j) in enumerate(row_ops):
                x = row[i] if i >= first_row else _row(bufs[i], b)
                y = row[j] if j >= first_row else _row(bufs[j], b)
                if x is None or y is None:
                    row[first_row + k] = y if x is None else x
                else:
                    row[first_row + k] = np.multiply(x, y, out=scratch[k])
            phi = row[last] if last >= first_row else (_row(bufs[last], b) if bufs else None)
            todo = full_todo[b]
            if todo:
                if phi is phi_buf:
                    rest = todo
                elif phi is None:
                    np.copyto(phi_buf, todo[0])
                    rest = todo[1:]
                else:  # the copy into the row buffer doubles as the first product
                    np.multiply(phi, todo[0], out=phi_buf)
                    rest = todo[1:]
                phi = phi_buf
                for t in rest:
                    np.multiply(phi, t, out=phi)
            for h in (0, 1):
                if half_todo[h][b]:
                    gb = gs[h][b]
                    for t in half_todo[h][b]:
                        np.multiply(gb, t, out=gb)
            if phi is None:
                m_l[b] = g_r[b].sum()
                m_r[b] = g_l[b].sum()
                continue
            if phi.shape != st.shape:
                np.copyto(phi_buf, phi)
                phi = phi_buf
            mat = phi.reshape(size_l, size_r)
            np.dot(mat, g_r[b], out=m_l[b])
            np.dot(g_l[b], mat, out=m_r[b])
        np.multiply(m_l, g_l, out=m_l)
        np.multiply(m_r, g_r, out=m_r)
        out: dict[frozenset, np.ndarray] = {}
        for h, m_h in enumerate((m_l, m_r)):
            _, _, _, ops, where, dims = st.halves[h]
            rb = [m_h.reshape(n_rows, *dims)]
            for src, axes in ops:
                x = rb[src]
                kept = tuple(d for i, d in enumerate(x.shape) if i not in axes)
                rb.append(np.add.reduce(x, axis=axes, out=arena.take(kept)))
            shift = 0 if h == 0 else split
            for req, i in where.items():
                out[frozenset(a + shift for a in req)] = rb[i]
        return out

    @staticmethod
    def _multiply_expanded(acc: np.ndarray, expanded: list, tables: list, codes) -> None:
        """Multiply expanded leaf rows into ``acc`` (B, *clique), one row at a time.

        Looping rows outermost keeps a row's slice of the clique in cache across its leaves.
        """
        which = np.stack([code_row[codes[:, f]] for f, code_row, _, _ in expanded], axis=1)
        bs, js = np.nonzero(which >= 0)
        rs = which[bs, js].tolist()
        for b, j, r in zip(bs.tolist(), js.tolist(), rs, strict=True):
            row = acc[b]
            np.multiply(row, tables[j][r], out=row)

    def _factor(self, spec, codes, obs_any, overrides, unary, arena) -> np.ndarray | None:
        """One per-row (or static) factor of a clique, in broadcast form; None = all ones."""
        kind = spec[0]
        if kind == "static":
            return spec[1]
        n_rows = codes.shape[0]
        if kind == "gather":
            _, table, cols, mods, mults, skip = spec
            if skip >= 0 and not obs_any[skip]:
                return None
            if len(cols) == 1:
                idx = codes[:, cols[0]]
            else:
                idx = ((codes[:, cols] % mods) * mults).sum(axis=1)
            out = arena.take((n_rows, *table.shape[1:]))
            return np.take(table, idx, axis=0, out=out, mode="wrap")
        if kind == "unary":
            _, lo, hi, bshape = spec
            return unary[:, lo:hi].reshape((n_rows, *bshape))
        # "ovr": a CPT replaced per row, sliced at the observed parents (and leaf state).
        _, v, gat, perm, bshape, leaf = spec
        a = overrides[v].transpose(perm)
        if not (leaf or gat):
            return a.reshape((a.shape[0], *bshape))
        if leaf and not gat and not obs_any[v]:
            return None
        sel = np.arange(n_rows) if a.shape[0] > 1 else np.zeros(n_rows, dtype=np.int64)
        idx = [np.maximum(codes[:, v], 0)] if leaf else []
        idx += [codes[:, g] for g in gat]
        out = a[(sel, *idx)]
        if leaf:
            out[codes[:, v] < 0] = 1.0
        return out.reshape((n_rows, *bshape))

    def _leaf_table(self, spec: tuple, codes: np.ndarray, overrides: dict) -> np.ndarray:
        """P(leaf | parents) per row as (B or 1, k, flat unsliced parents)."""
        kind, t, data, gat = spec
        n_rows = codes.shape[0]
        if kind == "table":
            if not gat:
                return data[0][None]
            idx = np.zeros(n_rows, dtype=np.int64)
            for g in gat:
                idx = idx * self._card[g] + codes[:, g]
            return data[idx]
        a = overrides[t].transpose(data)  # (B or 1, *sliced parents, k, *rest)
        if gat:
            sel = np.arange(n_rows) if a.shape[0] > 1 else np.zeros(n_rows, dtype=np.int64)
            a = a[(sel, *(codes[:, g] for g in gat))]
        return a.reshape(a.shape[0], self._card[t], -1)


def _check_acyclic(names: list[str], scopes: list[tuple[int, ...]], children) -> None:
    """Raise ValueError when the parent links contain a directed cycle (Kahn's algorithm)."""
    indeg = [len(s) - 1 for s in scopes]
    ready = [i for i, d in enumerate(indeg) if d == 0]
    seen = 0
    while ready:
        i = ready.pop()
        seen += 1
        for ch in children[i]:
            indeg[ch] -= 1
            if indeg[ch] == 0:
                ready.append(ch)
    if seen != len(names):
        cyc = sorted(names[i] for i, d in enumerate(indeg) if d > 0)
        raise EngineError(f"expected a directed acyclic graph. Got a cycle among {cyc} instead.")


def _row(buf: np.ndarray | None, b: int) -> np.ndarray | None:
    """Row ``b`` of a batched buffer ``(B, ...)``, or its only row if it is shared."""
    if buf is None:
        return None
    return buf[b] if buf.shape[0] > 1 else buf[0]


def _row_tables(code_rows: list[np.ndarray], tables: list, n_rows: int) -> list[list]:
    """Per row, the expanded table rows to multiply in (codes mapped to rows >= 0)."""
    out: list[list] = [[] for _ in range(n_rows)]
    if not code_rows:
        return out
    which = np.stack(code_rows, axis=1)
    bs, js = np.nonzero(which >= 0)
    for b, j, r in zip(bs.tolist(), js.tolist(), which[bs, js].tolist(), strict=True):
        out[b].append(tables[j][r])
    return out


def _bshape2(a: tuple[int, ...], b: tuple[int, ...]) -> tuple[int, ...]:
    """Broadcast shape of two shapes of equal length (every factor has the clique's ndim)."""
    return tuple(x if x != 1 else y for x, y in zip(a, b, strict=True))
