"""Benchmark :mod:`legnumb.inference.engine` against pgmpy's VariableElimination.

Prints rows/s for pgmpy VE (one ``query(variables=causes, evidence=row, joint=False)`` per
row, measured on a few hundred rows and extrapolated), for the engine with 1 and 2 threads,
and their ratios. Uses legnumb's network when ``model.load_model`` works, else a synthetic
stand-in of the same shape (11 history roots -> 15 binary noisy-OR causes -> 24 findings).

Usage::

    python scripts/bench_engine.py [--rows 200000] [--pgmpy-rows 200] [--observed 0.6]
                                   [--synthetic]
"""

from __future__ import annotations

import argparse
import sys
import time
import warnings
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from legnumb.inference.engine import Engine
from legnumb.network.cpt import CPT

# State counts of legnumb's symptom CSV (model/data/columns.csv).
HISTORY_CARDS = (3, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2)
FINDING_CARDS = (2, 2, 3, 2, 5, 5, 4, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2)
N_CAUSES = 15


def synthetic_cpts(*, seed: int = 0, max_finding_parents: int = 9) -> list[CPT]:
    """A random network shaped like legnumb's: history roots -> noisy-OR causes -> findings.

    Parameters
    ----------
    seed : int
        Seed of the random generator.
    max_finding_parents : int
        Largest number of cause parents of a finding.

    Returns
    -------
    list of CPT
        In topological order.
    """
    rng = np.random.default_rng(seed)
    cpts: list[CPT] = []
    histories = [f"h{i}" for i in range(len(HISTORY_CARDS))]
    for name, k in zip(histories, HISTORY_CARDS, strict=True):
        states = tuple(f"s{j}" for j in range(k))
        cpts.append(CPT(name, (), {name: states}, rng.dirichlet(np.ones(k) * 2)))
    causes = [f"c{i}" for i in range(N_CAUSES)]
    for name in causes:
        parents = tuple(rng.choice(histories, size=rng.integers(1, 4), replace=False))
        states = {name: ("absent", "present")}
        states.update({p: cpts[histories.index(p)].states[p] for p in parents})
        # Noisy-OR with a leak: each non-baseline parent state inhibits with probability q.
        shape = tuple(len(states[p]) for p in parents)
        p_absent = np.full(shape, 1.0 - rng.uniform(0.01, 0.1))
        for axis, p in enumerate(parents):
            q = np.concatenate([[1.0], rng.uniform(0.2, 0.95, size=len(states[p]) - 1)])
            p_absent = p_absent * q.reshape([-1 if a == axis else 1 for a in range(len(shape))])
        cpts.append(CPT(name, parents, states, np.stack([p_absent, 1.0 - p_absent])))
    for i, k in enumerate(FINDING_CARDS):
        name = f"f{i}"
        n_parents = int(rng.integers(2, max_finding_parents + 1))
        parents = tuple(rng.choice(causes, size=n_parents, replace=False))
        states = {name: tuple(f"s{j}" for j in range(k))}
        states.update({p: ("absent", "present") for p in parents})
        values = rng.dirichlet(np.ones(k) * 0.7, size=2**n_parents).T
        cpts.append(CPT(name, parents, states, values.reshape((k,) + (2,) * n_parents)))
    return cpts


def random_codes(engine: Engine, n: int, *, observed: float, seed: int = 1) -> np.ndarray:
    """``n`` random evidence rows, each cell observed with probability ``observed``.

    Causes (names starting with ``c`` in the synthetic network, or the legnumb causes) are
    never observed.
    """
    rng = np.random.default_rng(seed)
    cards = np.array([len(engine.states[v]) for v in engine.variables])
    codes = (rng.random((n, len(cards))) * cards).astype(np.int64)
    codes[rng.random(codes.shape) >= observed] = -1
    return codes


def _network(*, synthetic: bool):
    """(bn, causes, label): legnumb's network if it loads (and not ``synthetic``), else the
    synthetic stand-in."""
    from legnumb.network.bayesnet import build_network

    if not synthetic:
        try:
            from legnumb import load_model

            model = load_model()
            return model.network, list(model.causes), "legnumb"
        except Exception as exc:  # any failure means "not available"
            print(f"legnumb network not available ({type(exc).__name__}: {exc}); synthetic")
    cpts = synthetic_cpts()
    causes = [c.variable for c in cpts if c.variable.startswith("c")]
    return build_network(cpts), causes, "synthetic"


def main(argv: list[str] | None = None) -> None:
    """Run the benchmark and print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=200_000)
    parser.add_argument("--pgmpy-rows", type=int, default=200)
    parser.add_argument("--observed", type=float, default=0.6)
    parser.add_argument("--synthetic", action="store_true", help="use the synthetic network")
    args = parser.parse_args(argv)

    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pgmpy.inference import VariableElimination

    bn, causes, label = _network(synthetic=args.synthetic)
    t0 = time.perf_counter()
    engine = Engine.from_network(bn)
    compile_s = time.perf_counter() - t0
    info = engine.info()
    print(f"network: {label}, {len(engine.variables)} nodes, {len(causes)} causes as targets")
    print(
        f"compile: {compile_s * 1e3:.0f} ms; without evidence {info['n_cliques']} cliques, "
        f"largest {info['max_clique_states']} states"
    )
    codes = random_codes(engine, args.rows, observed=args.observed)
    is_cause = np.isin(np.array(engine.variables), causes)
    codes[:, is_cause] = -1

    # pgmpy: one VE query per row.
    infer = VariableElimination(bn)
    n_ref = min(args.pgmpy_rows, args.rows)
    rows = [
        {v: engine.states[v][c] for v, c in zip(engine.variables, r, strict=True) if c >= 0}
        for r in codes[:n_ref]
    ]
    t0 = time.perf_counter()
    for ev in rows:
        infer.query(variables=causes, evidence=ev, joint=False, show_progress=False)
    pgmpy_rate = n_ref / (time.perf_counter() - t0)
    print(f"pgmpy VE        : {pgmpy_rate:12,.1f} rows/s  (on {n_ref} rows)")

    # Single-row latency (interactive use).
    one = codes[:1]
    engine.query(one, targets=causes)
    reps = 200
    t0 = time.perf_counter()
    for _ in range(reps):
        engine.query(one, targets=causes)
    latency = (time.perf_counter() - t0) / reps
    print(f"single query    : {latency * 1e3:12.3f} ms")

    for n_threads in (1, 2):
        t0 = time.perf_counter()
        engine.query(codes, targets=causes, n_threads=n_threads)
        rate = len(codes) / (time.perf_counter() - t0)
        print(
            f"engine {n_threads} thread{'s' if n_threads > 1 else ' '}: {rate:12,.1f} rows/s"
            f"  = {rate / pgmpy_rate:8.0f}x pgmpy"
        )
    info = engine.info()
    buffers = ", ".join(f"{b / 2**20:.0f}" for b in info["buffer_bytes"])
    print(
        f"memory: {info['compiled_plans']} evidence-pattern plans; working buffer per thread "
        f"{buffers} MiB; cached leaf rows {info['expanded_cache_bytes'] / 2**20:.0f} MiB"
    )


if __name__ == "__main__":
    main()
