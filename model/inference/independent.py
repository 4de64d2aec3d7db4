"""Exact batch inference for causally independent networks (noisy-MAX findings).

:class:`IndependentEngine` answers the same questions as :class:`~legnumb.inference.engine.Engine`
(same ``variables``, ``states``, ``encode`` and ``query``) for an
:class:`~legnumb.network.independent.IndependentNetwork`, without ever building a noisy-MAX
table: a finding with ``n`` parent causes costs ``O(n)`` per row instead of ``2^n``.

Method (one row; :mod:`legnumb.inference.ci_kernels` has the details): variable elimination
over the causes in a per-row order, keeping as state only the history blocks still needed and
one bit per finding observed above its bottom state (the sequential decomposition of noisy-MAX,
Díez & Galán 2003, cut to two states). Every term is non-negative, so the result is as exact as
pgmpy's variable elimination on the divorced network (:meth:`IndependentNetwork.to_cpts`),
without the cancellation of Quickscore's alternating sum. A backward pass gives the posteriors
of every cause and history node; a finding's posterior is ``P(e, X = s) / P(e)`` by one more
pass per state. ``log_none`` is ``log P(every cause absent, e)``: a pass with every cause
clamped absent (no finding bits, so it is cheap). An observed cause costs nothing: a present
one is folded into the leaks of its findings and an absent one drops out. A row whose tables
would exceed the memory caps is split on one cause (absent / present) and the two halves'
exact answers are added up (conditioning; :meth:`IndependentEngine._split`).

Rows are answered in compiled code (numba, compiled on first use), in chunks that run in a
thread pool; a row's result does not depend on the chunking or the number of threads.
Identical rows are scored once.

Examples
--------
>>> import numpy as np
>>> from legnumb.network.cpt import CPT
>>> from legnumb.network.independent import IndependentNetwork, NoisyMax
>>> cause = CPT("flu", (), {"flu": ("absent", "present")}, np.array([0.9, 0.1]))
>>> fever = NoisyMax("fever", ("no", "yes"), (0, 1), ("flu",), leak=np.array([0.95, 0.05]),
...                  links=np.array([[0.2, 0.8]]))
>>> eng = IndependentEngine.from_network(IndependentNetwork((cause,), ("flu",), (fever,)))
>>> res = eng.query(eng.encode([{"fever": "yes"}]), targets=["flu"])
>>> res.marginals["flu"].round(4)  # 0.1 * (1 - .95 * .2) / (0.1 * 0.81 + 0.9 * 0.05)
array([[0.3571, 0.6429]])
>>> np.exp(res.log_none - res.log_evidence).round(4)  # P(no listed cause | fever)
array([0.3571])
"""

from __future__ import annotations

import itertools
import math
import queue
from collections.abc import Mapping, Sequence
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
from legnumb.inference.engine import QueryResult
from legnumb.network.independent import IndependentNetwork

__all__ = ["IndependentEngine", "IndependentResult"]

_SUM_TOL = 1e-6
_DEFAULT_CHUNK = 2048
#: Workspace (entries of 8 bytes) each thread first answers rows with: 8 MiB.
_SMALL_WORKSPACE = 1 << 20
#: A row too large for the caps is split on one cause at a time, at most this many times
#: (up to ``2^MAX_SPLITS`` smaller rows).
MAX_SPLITS = 8


@dataclass(frozen=True)
class IndependentResult(QueryResult):
    """A :class:`QueryResult` plus ``log_none``.

    Parameters
    ----------
    log_none : numpy.ndarray
        ``(B,)`` natural log of ``P(every cause absent, evidence row)``, so that
        ``exp(log_none - log_evidence)`` is P(no listed cause | row); ``-inf`` when a cause is
        observed present or the evidence is impossible without a cause; NaN for a row too
        large to answer (see :class:`IndependentEngine`).
    """

    log_none: np.ndarray


class IndependentEngine:
    """Exact batch inference on an :class:`IndependentNetwork` (see the module docstring).

    After :meth:`query`, ``last_cost`` holds per row the number of state-table entries its
    pass went through (the cost of the row; it grows about as ``2^K`` with ``K`` the findings
    observed above their bottom state).

    A row whose pass would need a state table of more than ``max_state`` entries, or
    forward tables of more than ``max_tape`` entries in all (they are kept for the backward
    pass), or a workspace of more than half the budget below, is answered by conditioning: it
    is split into two rows, one with a cause observed absent and one with it present (an
    observed cause drops out of the pass, which makes the tables smaller), and the two answers
    are added up exactly, weighted by ``P(e, cause)``. The cause is the one whose split leaves
    the cheaper larger half. A row still too large after ``max_splits`` splits (default 8) is
    not answered: its marginals, ``log_evidence`` and ``log_none`` are NaN (the other rows of
    the batch are answered as usual). A finding's marginal is NaN in a row where one of its
    states' passes cannot be answered. The workspaces of all threads together stay within
    ``max_tape + 4 * max_state`` entries (a row's tape and four buffers of its largest
    table), so memory does not grow with ``n_threads``. The defaults
    (``2^22`` and ``2^25`` entries: 384 MiB of workspace) can be changed per engine by
    setting the attributes.
    """

    last_cost: np.ndarray
    max_state: int = 1 << 22
    max_tape: int = 1 << 25
    max_splits: int = MAX_SPLITS

    def __init__(self, net: IndependentNetwork) -> None:
        if not isinstance(net, IndependentNetwork):
            raise InvalidTypeError(
                f"expected an IndependentNetwork. Got {type(net).__name__} instead."
            )
        causes = tuple(net.causes)
        if len(causes) > 62:
            raise EngineError(f"expected at most 62 causes. Got {len(causes)} instead.")
        self._net = net
        self._names = net.variables
        self._index = {v: i for i, v in enumerate(self._names)}
        self._states = net.states
        self._card = np.array([len(self._states[v]) for v in self._names], dtype=np.int64)
        tables = {t.variable: t for t in net.tables}
        history = [t.variable for t in net.tables if t.variable not in set(causes)]
        hidx = {h: i for i, h in enumerate(history)}
        cidx = {c: i for i, c in enumerate(causes)}
        for h in history:
            bad = [p for p in tables[h].parents if p not in hidx]
            if bad:
                raise EngineError(
                    f"expected history nodes conditioned on history nodes only. Got {h!r} "
                    f"with parents {bad} instead."
                )
        # history blocks: connected components of the history-history edges
        parent = list(range(len(history)))

        def root(i: int) -> int:
            while parent[i] != i:
                parent[i] = parent[parent[i]]
                i = parent[i]
            return i

        for h in history:
            for p in tables[h].parents:
                parent[root(hidx[h])] = root(hidx[p])
        roots = sorted({root(i) for i in range(len(history))})
        block_of = {r: g for g, r in enumerate(roots)}
        hblk = np.array([block_of[root(i)] for i in range(len(history))], dtype=np.int64)
        blk_mem: list[int] = []
        blk_ptr = [0]
        for g in range(len(roots)):
            blk_mem += [i for i in range(len(history)) if hblk[i] == g]  # topological order
            blk_ptr.append(len(blk_mem))
        hcmask = np.zeros(len(history), dtype=np.int64)  # each history node's causes
        for c in causes:
            for p in tables[c].parents:
                hcmask[hidx[p]] |= np.int64(1) << cidx[c]
        big = max(
            (
                math.prod(int(self._card[self._index[history[i]]]) for i in blk_mem[a:b])
                for a, b in itertools.pairwise(blk_ptr)
            ),
            default=1,
        )
        if big > 1 << 16:
            raise EngineError(
                f"expected linked history nodes with at most 65536 joint states. Got {big} instead."
            )

        def ptrs(lists: list[list[int]]) -> tuple[np.ndarray, np.ndarray]:
            ptr = np.zeros(len(lists) + 1, dtype=np.int64)
            ptr[1:] = np.cumsum([len(x) for x in lists])
            flat = np.array([v for x in lists for v in x], dtype=np.int64)
            return ptr, flat

        hpar_ptr, hpar = ptrs([[hidx[p] for p in tables[h].parents] for h in history])
        cpar_ptr, cpar = ptrs([[hidx[p] for p in tables[c].parents] for c in causes])
        fpar_ptr, fpar = ptrs([[cidx[p] for p in f.parents] for f in net.findings])
        ford_ptr, ford = ptrs([list(f.order) for f in net.findings])
        frank = np.concatenate(
            [np.argsort(f.order).astype(np.int64) for f in net.findings] or [np.zeros(0, np.int64)]
        )
        self._history = tuple(history)
        self._causes = causes
        self._hcol = np.array([self._index[h] for h in history], dtype=np.int64)
        self._ccol = np.array([self._index[c] for c in causes], dtype=np.int64)
        self._fcol = np.array([self._index[f.node] for f in net.findings], dtype=np.int64)
        self._struct = (
            self._hcol,
            np.array([self._card[c] for c in self._hcol], dtype=np.int64),
            hpar_ptr,
            hpar,
            hblk,
            np.array(blk_ptr, dtype=np.int64),
            np.array(blk_mem, dtype=np.int64),
            self._ccol,
            cpar_ptr,
            cpar,
            self._fcol,
            np.array([len(f.states) for f in net.findings], dtype=np.int64),
            fpar_ptr,
            fpar,
            ford_ptr,
            ford,
            frank,
            hcmask,
        )
        # base numbers: every node's table (or stacked leak and links), flattened, normalized
        self._shapes: dict[int, tuple[int, ...]] = {}
        chunks = []
        off = np.zeros(len(self._names), dtype=np.int64)
        pos = 0
        for v, name in enumerate(self._names):
            if name in tables:
                vals = np.asarray(tables[name].values, dtype=np.float64)
                vals = self._normalized(vals[None], name, axis=1)[0]
            else:
                f = net.finding(name)
                vals = np.vstack([f.leak[None, :], f.links]).astype(np.float64)
                vals = self._normalized(vals[None], name, axis=2)[0]
            self._shapes[v] = vals.shape
            off[v] = pos
            chunks.append(vals.reshape(-1))
            pos += vals.size
        self._params = np.concatenate(chunks)
        self._off = off[None, :]

    @classmethod
    def from_network(cls, net: IndependentNetwork) -> IndependentEngine:
        """Compile an engine for ``net``."""
        return cls(net)

    # ----------------------------------------------------------------------------- public
    @property
    def variables(self) -> tuple[str, ...]:
        """Node names (history, causes, findings), in the column order of evidence codes."""
        return self._names

    @property
    def states(self) -> dict[str, tuple[str, ...]]:
        """State names of every node; code ``j`` of a node is its ``j``-th state."""
        return dict(self._states)

    @property
    def causes(self) -> tuple[str, ...]:
        """The cause nodes."""
        return self._causes

    def encode(self, evidences: Sequence[Mapping[str, str | None]]) -> np.ndarray:
        """Turn evidence dicts into a ``(B, n_vars)`` int64 array of codes (``-1`` = unobserved).

        Raises
        ------
        UnknownNameError
            For an unknown node name.
        EngineError
            For an unknown state name.
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
        with_none: bool = True,
    ) -> IndependentResult:
        """Exact posterior marginals, log evidence and ``log_none`` for a batch of rows.

        Parameters
        ----------
        codes : numpy.ndarray
            ``(B, n_vars)`` integer codes from :meth:`encode`, ``-1`` = unobserved.
        targets : sequence of str, optional
            Nodes whose marginals are wanted (default: every node). Findings cost one more
            pass per state each.
        cpt_values : mapping of str to numpy.ndarray, optional
            Per-row numbers: for a history or cause node ``(B or 1, *table.shape)``; for a
            finding ``(B or 1, 1 + n_parents, S)``, its leak then its links, states in
            contract order. A leading axis of size 1 broadcasts (and so do ``codes`` with
            one row).
        n_threads : int, optional
            Chunks of rows run in this many threads (default 1).
        chunk_rows : int, optional
            Rows per chunk (default 2048). Results do not depend on it.
        with_none : bool, optional
            Compute ``log_none`` (default). When False, ``log_none`` is NaN and its pass (one
            per row, cheap but not free) is skipped.

        Returns
        -------
        IndependentResult
        """
        codes = self._check_codes(codes)
        target_idx = self._check_targets(targets)
        overrides = self._check_overrides(cpt_values)
        n_rows = batch_rows(codes, overrides, self._names, n_threads, chunk_rows)
        params, off = self._params, self._off
        per_row = any(a.shape[0] > 1 for a in overrides.values())
        if overrides:
            chunks = [self._params]
            off = np.repeat(self._off, n_rows if per_row else 1, axis=0)
            pos = self._params.size
            for v, a in overrides.items():
                size = int(np.prod(a.shape[1:]))
                chunks.append(a.reshape(-1))
                off[:, v] = pos + (np.arange(off.shape[0]) * size if a.shape[0] > 1 else 0)
                pos += a.size
            params = np.concatenate(chunks)
        inverse = None
        if per_row:
            work = np.broadcast_to(codes, (n_rows, codes.shape[1]))
        else:
            work, inverse = distinct_rows(codes)
        work = np.ascontiguousarray(work)
        step = chunk_rows or _DEFAULT_CHUNK

        want = [self._names[t] for t in target_idx]
        cset, fset = self._cset, self._fset
        # 0: log evidence only, 1: the causes' marginals too, 2: the history nodes' too
        need_marg = (
            2
            if any(name in self._history for name in want)
            else int(any(name in cset for name in want))
        )
        logz, c1, hm, too_big = self._run(work, params, off, False, need_marg, step, n_threads)
        cost = self._work
        if with_none:
            log_none, _, _, _ = self._run(work, params, off, True, 0, step, n_threads)
            log_none = np.where(np.isfinite(log_none), log_none, -np.inf)
        else:
            log_none = np.full(work.shape[0], np.nan)
        impossible = ~np.isfinite(logz)
        out: dict[str, np.ndarray] = {}
        if any(name in cset for name in want):  # every cause's marginal, made at once
            both = np.stack([1.0 - c1, c1], axis=2)
            both[impossible] = np.nan
        for name in want:
            if name in cset:
                out[name] = both[:, self._causes.index(name)]
                continue
            v = self._index[name]
            k = int(self._card[v])
            if name in fset:
                m = self._finding_marginal(work, params, off, v, logz, step, n_threads)
            else:
                m = hm[:, self._history.index(name), :k].copy()
            m[impossible] = np.nan
            out[name] = m
        logz = np.where(impossible, -np.inf, logz)
        logz[(work < 0).all(axis=1)] = 0.0
        logz[too_big] = np.nan
        log_none[too_big] = np.nan
        if inverse is not None:
            out = {k: v[inverse] for k, v in out.items()}
            logz, log_none, cost = logz[inverse], log_none[inverse], cost[inverse]
        self.last_cost = cost
        return IndependentResult(marginals=out, log_evidence=logz, log_none=log_none)

    # ------------------------------------------------------------------------- internals
    @property
    def _cset(self) -> frozenset[str]:
        return frozenset(self._causes)

    @property
    def _fset(self) -> frozenset[str]:
        return frozenset(f.node for f in self._net.findings)

    def _run(self, work, params, off, force_absent, want_marg, step, n_threads, splits=0):
        """One pass over every row: (log evidence, P(cause present), history marginals, too_big).

        ``too_big`` marks the rows whose pass would exceed the memory caps even after
        ``max_splits - splits`` more splits (:meth:`_split`); their log evidence is NaN.
        Workspaces stay within ``max_tape + 4 * max_state`` entries in all, whatever
        ``n_threads``: each thread first answers the rows whose workspace fits in
        ``_SMALL_WORKSPACE`` entries (most rows); the rows it defers are answered next with
        a share of the budget each. A row that needs more than half the budget is split while
        splits are left; at the last level it runs alone with all of it.
        """
        from legnumb.inference.ci_kernels import STATUS_DEFERRED, STATUS_TOO_LARGE

        n = work.shape[0]
        logz = np.empty(n)
        c1 = np.full((n, len(self._causes)), np.nan)
        hm = np.zeros((n, *self._hm_shape))
        status = np.zeros(n, dtype=np.int64)
        work_done = np.zeros(n, dtype=np.int64)
        orders = np.full((n, len(self._causes)), -1, dtype=np.int64)  # planned once per row
        budget = int(self.max_tape) + 4 * int(self.max_state)
        # a row that needs more than half the budget is split on a cause (while splits are
        # left), so that no row holds the whole budget while the other threads wait; the
        # split depends on the row alone, never on n_threads, so results do not either
        can_split = splits < self.max_splits
        top = budget // 2 if can_split else budget
        per_thread = min(budget // n_threads, top)
        tiers = sorted({min(_SMALL_WORKSPACE, per_thread), per_thread, top})
        rows = np.zeros(0, dtype=np.int64)  # rows deferred by the previous tier
        if n_threads > 1:  # small chunks balance the threads (a row's cost varies a lot)
            step = max(1, min(step, -(-n // (16 * n_threads))))
        for tier, cap in enumerate(tiers):
            threads = max(1, min(n_threads, budget // cap))
            if tier == 0:
                self._pass(
                    work,
                    params,
                    off,
                    force_absent,
                    want_marg,
                    step,
                    threads,
                    cap,
                    (logz, c1, hm, status, work_done, orders),
                )
            else:
                per_row = off.shape[0] > 1
                out = (logz[rows], c1[rows], hm[rows], status[rows], work_done[rows], orders[rows])
                out[2][:] = 0.0  # the kernel adds to the history marginals
                out[3][:] = 0  # and marks only the rows it could not answer
                o = off[rows] if per_row else off
                self._pass(work[rows], params, o, force_absent, want_marg, step, threads, cap, out)
                logz[rows], c1[rows], hm[rows], status[rows], work_done[rows], _ = out
            rows = np.flatnonzero(status == STATUS_DEFERRED)
            if not len(rows):
                break
            # the deferred rows are the costliest: deal them, largest first, to one chunk per
            # thread in turn, so that the threads finish together
            rows = rows[np.argsort(-work_done[rows], kind="stable")]
            rows = np.concatenate([rows[j::n_threads] for j in range(n_threads)])
            step = -(-len(rows) // n_threads)
        rows = np.flatnonzero((status == STATUS_TOO_LARGE) | (status == STATUS_DEFERRED))
        if rows.size and can_split:
            o = off[rows] if off.shape[0] > 1 else off
            lz, cc, hh, big, cost = self._split(
                work[rows], params, o, force_absent, want_marg, n_threads, splits
            )
            logz[rows], c1[rows], hm[rows], work_done[rows] = lz, cc, hh, cost
            status[rows] = np.where(big, STATUS_TOO_LARGE, 0)
        too_big = (status == STATUS_TOO_LARGE) | (status == STATUS_DEFERRED)
        logz[too_big] = np.nan
        c1[too_big] = np.nan
        hm[too_big] = np.nan
        self._work = work_done
        return logz, c1, hm, too_big

    def _split(self, work, params, off, force_absent, want_marg, n_threads, splits):
        """Answer rows too large for the caps by conditioning each on one unobserved cause.

        ``P(e) = P(e, c absent) + P(e, c present)``; every other marginal is the mixture of
        the two halves' marginals weighted by ``P(e, c = x) / P(e)``, and ``c``'s own is those
        weights: sums of non-negative terms, so the answer is as exact as a single pass. Each
        row's ``c`` is the cause whose halves have the smallest larger pass (their costs are
        planned, not run). Returns ``(logz, c1, hm, too_big, cost)`` for the rows.
        """
        from legnumb.inference.ci_kernels import run_rows

        n, n_c = work.shape[0], len(self._causes)
        ccol = self._ccol

        def halves(rows: np.ndarray, causes: np.ndarray) -> np.ndarray:
            """Each row twice: cause ``causes[i]`` observed absent, then present."""
            out = np.repeat(work[rows], 2, axis=0)
            out[np.arange(out.shape[0]), np.repeat(ccol[causes], 2)] = np.tile([0, 1], rows.size)
            return out

        # plan (do not run) both halves for every unobserved cause: caps of 0 stop each row
        # right after its plan (without the plan's restarts), with the plan's cost in out_work
        free = work[:, ccol] < 0  # (n, n_c)
        rows, causes = np.nonzero(free)
        trial = halves(rows, causes)
        m = trial.shape[0]
        plan_cost = np.zeros(m, dtype=np.int64)
        run_rows(
            trial,
            params,
            np.repeat(off[rows], 2, axis=0) if off.shape[0] > 1 else off,
            self._struct,
            force_absent,
            want_marg,
            np.empty(m),
            np.full((m, n_c), np.nan),
            np.zeros((m, *self._hm_shape)),
            np.zeros(m, dtype=np.int64),
            plan_cost,
            np.zeros(3, dtype=np.int64),
            np.full((m, n_c), -1, dtype=np.int64),
            np.empty(0),
        )
        larger = np.full((n, n_c), np.iinfo(np.int64).max)
        larger[rows, causes] = plan_cost.reshape(-1, 2).max(axis=1)
        pick = np.argmin(larger, axis=1)
        can = free[np.arange(n), pick]
        # run the two halves of every row that has a cause left to split on
        idx = np.flatnonzero(can)
        split = halves(idx, pick[idx])
        o = np.repeat(off[idx], 2, axis=0) if off.shape[0] > 1 else off
        step = max(1, min(_DEFAULT_CHUNK, -(-split.shape[0] // n_threads)))
        lz, cc, hh, big = self._run(
            split, params, o, force_absent, want_marg, step, n_threads, splits + 1
        )
        cost = self._work.reshape(-1, 2).sum(axis=1)
        logz = np.full(n, np.nan)
        c1 = np.full((n, n_c), np.nan)
        hm = np.full((n, *self._hm_shape), np.nan)
        too_big = ~can
        work_done = np.zeros(n, dtype=np.int64)
        work_done[idx] = cost
        lz, cc, big = lz.reshape(-1, 2), cc.reshape(-1, 2, n_c), big.reshape(-1, 2)
        hh = hh.reshape(idx.size, 2, *self._hm_shape)
        with np.errstate(invalid="ignore", divide="ignore"):
            total = np.logaddexp(lz[:, 0], lz[:, 1])
            w = np.exp(lz - total[:, None])  # (rows, 2): P(c = x | e)
        w = np.where(np.isfinite(lz), w, 0.0)
        logz[idx] = total
        mix_c = np.where(w[:, :, None] > 0, cc, 0.0)
        c1[idx] = (w[:, :, None] * mix_c).sum(axis=1)
        c1[idx, pick[idx]] = w[:, 1]
        wh = w[:, :, None, None]  # over the history marginals' two axes
        hm[idx] = (wh * np.where(wh > 0, hh, 0.0)).sum(axis=1)
        impossible = ~np.isfinite(total)
        c1[idx[impossible]] = np.nan
        hm[idx[impossible]] = 0.0  # as the kernel leaves an impossible row's
        too_big[idx] = big.any(axis=1)
        logz[too_big] = np.nan
        return logz, c1, hm, too_big, work_done

    @property
    def _hm_shape(self) -> tuple[int, int]:
        return (len(self._history), int(self._card.max()) if self._card.size else 1)

    def _pass(self, work, params, off, force_absent, want_marg, step, n_threads, cap, out):
        """Run the kernel over ``work`` in chunks of ``step`` rows on ``n_threads`` threads."""
        from legnumb.inference.ci_kernels import run_rows

        logz, c1, hm, status, work_done, orders = out
        n = work.shape[0]
        per_row = off.shape[0] > 1
        caps = np.array([self.max_state, self.max_tape, cap], dtype=np.int64)
        # one workspace per thread, kept from chunk to chunk (at most n_threads at once, each
        # within ``cap``): a fresh one per chunk would fault in its pages again
        spare: queue.SimpleQueue = queue.SimpleQueue()
        for _ in range(n_threads):
            spare.put(np.empty(0))

        def run(s: int) -> None:
            e = min(n, s + step)
            o = off[s:e] if per_row else off
            ws = spare.get()
            ws = run_rows(
                work[s:e],
                params,
                o,
                self._struct,
                force_absent,
                want_marg,
                logz[s:e],
                c1[s:e],
                hm[s:e],
                status[s:e],
                work_done[s:e],
                caps,
                orders[s:e],
                ws,
            )
            spare.put(ws)

        starts = list(range(0, n, step))
        if n_threads == 1 or len(starts) < 2:
            for s in starts:
                run(s)
        else:
            with ThreadPoolExecutor(max_workers=n_threads) as pool:
                list(pool.map(run, starts))

    def _finding_marginal(self, work, params, off, v, logz, step, n_threads) -> np.ndarray:
        """P(finding = s | e) = P(e, finding = s) / P(e), one pass per state."""
        n = work.shape[0]
        k = int(self._card[v])
        out = np.zeros((n, k))
        obs = work[:, v] >= 0
        out[np.flatnonzero(obs), work[obs, v]] = 1.0
        rows = np.flatnonzero(~obs)
        if rows.size:
            sub = work[rows]
            o = off[rows] if off.shape[0] > 1 else off
            for s in range(k):
                trial = sub.copy()
                trial[:, v] = s
                lz, _, _, _ = self._run(trial, params, o, False, 0, step, n_threads)
                with np.errstate(invalid="ignore"):
                    out[rows, s] = np.exp(lz - logz[rows])
            out[rows[np.isnan(out[rows]).any(axis=1)]] = np.nan  # a state's pass too large
        return out

    # ------------------------------------------------------------------------- validation
    @staticmethod
    def _normalized(arr: np.ndarray, name: str, *, axis: int) -> np.ndarray:
        if not np.isfinite(arr).all() or (arr < 0).any():
            raise EngineError(
                f"expected finite, non-negative probabilities for {name!r}. "
                "Got negative, infinite or NaN entries instead."
            )
        sums = arr.sum(axis=axis, keepdims=True)
        if sums.size and np.abs(sums - 1.0).max() > _SUM_TOL:
            worst = float(sums.flat[np.abs(sums - 1.0).argmax()])
            raise EngineError(
                f"expected the distributions of {name!r} to sum to 1. "
                f"Got one summing to {worst!r} instead."
            )
        return arr / sums

    def _check_codes(self, codes: Any) -> np.ndarray:
        return check_codes(codes, self._names, self._card, "IndependentEngine")

    def _check_targets(self, targets: Sequence[str] | None) -> tuple[int, ...]:
        return check_targets(targets, self._names)

    def _check_overrides(self, cpt_values: Mapping[str, np.ndarray] | None) -> dict:
        out = check_overrides(cpt_values, self._names, lambda v: self._shapes[v])
        for v, arr in out.items():
            name = self._names[v]
            axis = 2 if name in self._fset else 1
            out[v] = np.ascontiguousarray(self._normalized(arr, name, axis=axis))
        return out
