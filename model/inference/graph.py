"""Graph stage of the engine: elimination orders, triangulation, junction trees.

Pure functions on integer variable ids and cardinalities; no arrays of numbers.
"""

from __future__ import annotations

import math
from collections.abc import Sequence

import numpy as np

from legnumb.errors import EngineError
from legnumb.inference.kernels import _rank1

__all__: list[str] = []


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
