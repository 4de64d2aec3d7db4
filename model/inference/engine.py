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
from dataclasses import dataclass
from typing import Any

import numpy as np

from legnumb.errors import EngineError, InvalidTypeError
from legnumb.inference.checks import (
    batch_rows,
    check_codes,
    check_overrides,
    check_targets,
    distinct_rows,
    encode_evidence,
)
from legnumb.inference.graph import _bipartition, _check_acyclic
from legnumb.inference.kernels import (
    _EXPAND_MAX_BYTES,
    _FAST_CHUNK_BYTES,
    _MAX_PLANS,
    _ROWS_PER_PLAN,
    DEFAULT_CHUNK_BYTES,
    _aligned,
    _Arena,
    _bshape2,
    _check_table,
    _rank1,
    _row,
    _row_tables,
)
from legnumb.inference.plan import _CliquePlan, _Plan, build_plan
from legnumb.network.cpt import CPT

__all__ = ["DEFAULT_CHUNK_BYTES", "Engine", "QueryResult"]


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
        return encode_evidence(evidences, self._names, self._states)

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
        n_rows = batch_rows(codes, overrides, self._names, n_threads, chunk_rows)

        # Identical rows are scored once when every row shares the same CPTs.
        inverse = None
        if any(a.shape[0] > 1 for a in overrides.values()):
            work = np.broadcast_to(codes, (n_rows, codes.shape[1]))
        else:
            work, inverse = distinct_rows(codes)
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
        return check_codes(codes, self._names, self._card_arr, "Engine")

    def _check_targets(self, targets: Sequence[str] | None) -> tuple[int, ...]:
        return check_targets(targets, self._names)

    def _check_overrides(self, cpt_values: Mapping[str, np.ndarray] | None) -> dict:
        out = check_overrides(cpt_values, self._names, lambda v: self._tables[v].shape)
        for v, arr in out.items():
            _check_table(arr, self._names[v], batched=True)
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
        return build_plan(self, sliced, indicators, targets, overridden)

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
