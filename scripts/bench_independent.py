"""Benchmark of IndependentEngine on a random network shaped like legnumb's v2 model.

17 history nodes (age_group 3 states, sex 2, 15 yes/no, pregnant and postpartum | sex), 24
causes (logistic in at most 4 history parents), 25 yes/no findings with 2-8 random parent causes
and 7 multi-state findings (2-5 states) with all 24 causes as parents. 100,000 random rows, each
of the 49 history and finding columns filled with probability 0.6 (uniform over its states).

Run: ``.venv/bin/python scripts/bench_independent.py [--rows N] [--check N] [--check-seconds S]``
(pgmpy needs about a minute per query on this network, so the check stops at its time budget.)
"""

from __future__ import annotations

import argparse
import time

import numpy as np

from legnumb.inference.independent import IndependentEngine
from legnumb.network.cpt import CPT
from legnumb.network.independent import CAUSE_STATES, IndependentNetwork, NoisyMax

YN = ("no", "yes")
AGE = ("under_40", "40_64", "65_plus")
SEX = ("female", "male")


def bench_network(seed: int = 0) -> IndependentNetwork:
    """The v2-shaped random network."""
    rng = np.random.default_rng(seed)
    tables = [
        CPT("age_group", (), {"age_group": AGE}, np.array([0.3, 0.4, 0.3])),
        CPT("sex", (), {"sex": SEX}, np.array([0.55, 0.45])),
    ]
    for name in ("pregnant", "postpartum"):
        p = rng.uniform(0.02, 0.08)
        tables.append(
            CPT(name, ("sex",), {name: YN, "sex": SEX}, np.array([[1 - p, 1 - 1e-4], [p, 1e-4]]))
        )
    binary = ["pregnant", "postpartum"]
    for i in range(13):
        name = f"hist{i}"
        p = rng.uniform(0.05, 0.4)
        tables.append(CPT(name, (), {name: YN}, np.array([1 - p, p])))
        binary.append(name)
    states = {t.variable: t.states[t.variable] for t in tables}
    causes = []
    for j in range(24):
        name = f"cause{j}"
        parents = []
        if rng.random() < 0.7:
            parents.append("age_group")
        if rng.random() < 0.5:
            parents.append("sex")
        n_more = int(rng.integers(0, 3))
        parents += rng.choice(binary, size=min(n_more, 4 - len(parents)), replace=False).tolist()
        base = rng.uniform(1e-3, 0.1)
        logit = np.full([len(states[p]) for p in parents], np.log(base / (1 - base)))
        for a, p in enumerate(parents):
            lor = np.concatenate([[0.0], rng.normal(0.0, 1.0, size=len(states[p]) - 1)])
            shape = [1] * len(parents)
            shape[a] = -1
            logit = logit + lor.reshape(shape)
        p1 = 1 / (1 + np.exp(-logit))
        st = {name: CAUSE_STATES, **{p: states[p] for p in parents}}
        tables.append(CPT(name, tuple(parents), st, np.stack([1 - p1, p1])))
        causes.append(name)
    findings = []
    for j in range(25):
        n = int(rng.integers(2, 9))
        parents = tuple(rng.choice(causes, size=n, replace=False).tolist())
        leak = rng.uniform(0.005, 0.05)
        links = rng.uniform(0.05, 0.9, size=n)
        findings.append(
            NoisyMax(
                f"finding{j}",
                YN,
                (0, 1),
                parents,
                np.array([1 - leak, leak]),
                np.stack([1 - links, links], axis=1),
            )
        )
    for j in range(7):
        n_states = int(rng.integers(2, 6))
        leak = np.concatenate(
            [[0.0], rng.dirichlet(np.ones(n_states - 1)) * rng.uniform(0.01, 0.1)]
        )
        leak[0] = 1 - leak[1:].sum()
        links = rng.dirichlet(np.ones(n_states) * 0.8, size=24)
        order = tuple(rng.permutation(n_states).tolist())
        full = np.empty(n_states)
        full[list(order)] = leak  # leak mass on the bottom state of the order
        findings.append(
            NoisyMax(
                f"multi{j}",
                tuple(f"m{t}" for t in range(n_states)),
                order,
                tuple(causes),
                full,
                links,
            )
        )
    return IndependentNetwork(tuple(tables), tuple(causes), tuple(findings))


def bench_rows(eng: IndependentEngine, n: int, seed: int = 1, p_obs: float = 0.6) -> np.ndarray:
    """``n`` random rows: every history and finding column filled with probability ``p_obs``."""
    rng = np.random.default_rng(seed)
    card = np.array([len(eng.states[v]) for v in eng.variables])
    codes = (rng.random((n, len(card))) * card).astype(np.int64)
    codes[rng.random(codes.shape) > p_obs] = -1
    codes[:, [eng.variables.index(c) for c in eng.causes]] = -1
    return codes


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=100_000)
    ap.add_argument("--check", type=int, default=200, help="rows checked against pgmpy")
    ap.add_argument("--check-seconds", type=float, default=600.0, help="time budget of the check")
    args = ap.parse_args()
    net = bench_network()
    eng = IndependentEngine.from_network(net)
    codes = bench_rows(eng, args.rows)
    targets = list(net.causes)
    eng.query(codes[:50], targets=targets)  # compile
    for threads in (1, 2):
        t0 = time.perf_counter()
        res = eng.query(codes, targets=targets, n_threads=threads)
        dt = time.perf_counter() - t0
        print(
            f"{threads} thread(s): {len(codes) / dt:,.0f} rows/s ({dt:.2f} s for {len(codes)} rows)"
        )
    assert np.isfinite(res.log_none).any()
    w = eng.last_cost
    print(
        f"cost (state-table entries per row): median {np.median(w):,.0f}, mean {w.mean():,.0f}, "
        f"p99 {np.percentile(w, 99):,.0f}, max {w.max():,.0f}"
    )
    k = positive_findings(net, eng, codes)
    for lo, hi in ((0, 6), (6, 9), (9, 12), (12, 15), (15, 40)):
        m = (k >= lo) & (k < hi)
        if m.any():
            print(
                f"  K (findings above their bottom state) in [{lo}, {hi}): {m.mean():6.1%} of rows, "
                f"median cost {np.median(w[m]):,.0f}, share of total cost {w[m].sum() / w.sum():6.1%}"
            )
    if args.check:
        check(net, eng, codes, res, args.check, args.check_seconds)


def positive_findings(net: IndependentNetwork, eng: IndependentEngine, codes: np.ndarray):
    """Per row, how many findings are observed above the bottom state of their order."""
    k = np.zeros(len(codes), dtype=np.int64)
    for f in net.findings:
        col = codes[:, eng.variables.index(f.node)]
        rank = np.argsort(f.order)
        k += (col >= 0) & (rank[np.maximum(col, 0)] > 0)
    return k


def check(net, eng, codes, res, n_rows: int, seconds: float) -> None:
    """pgmpy's variable elimination on the divorced network, one cause per row (it is slow:
    about a minute per query on this network), until ``n_rows`` rows or ``seconds``."""
    from legnumb.network.bayesnet import build_network, reference_query

    bn = build_network(net.to_cpts())
    worst = 0.0
    done = 0
    t0 = time.perf_counter()
    for b in range(n_rows):
        if time.perf_counter() - t0 > seconds:
            break
        ev = {v: eng.states[v][c] for v, c in zip(eng.variables, codes[b], strict=True) if c >= 0}
        cause = net.causes[b % len(net.causes)]
        ref = reference_query(bn, [cause], ev)[cause]
        worst = max(worst, float(np.abs(ref - res.marginals[cause][b]).max()))
        done += 1
    print(
        f"pgmpy check: {done} rows (one cause each): max |posterior difference| = {worst:.2e} "
        f"({time.perf_counter() - t0:.0f} s)"
    )


if __name__ == "__main__":
    main()
