"""Tests of :mod:`legnumb.inference.independent` and :mod:`legnumb.inference.ci_kernels`.

Exactness against hand computation, brute-force enumeration of the joint and pgmpy's variable
elimination on the divorced network; overrides, threads, duplicates and error messages."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from numba import njit

from legnumb.errors import EngineError, InvalidTypeError, UnknownNameError
from legnumb.inference import ci_kernels
from legnumb.inference import independent as independent_module
from legnumb.inference.independent import IndependentEngine, IndependentResult
from legnumb.network.bayesnet import build_network, reference_query
from legnumb.network.cpt import CPT
from legnumb.network.independent import CAUSE_STATES, IndependentNetwork, NoisyMax

TOL = 1e-9
YN = ("no", "yes")


# ------------------------------------------------------------------------------ helpers
def _dist(rng, k, lead=()):
    x = rng.dirichlet(np.ones(k), size=lead)  # (*lead, k)
    return np.moveaxis(x, -1, 0)


def random_network(seed: int, n_hist=3, n_causes=4, n_findings=5, linked=True, min_parents=0):
    """A small random network: history (one linked pair), causes, noisy-MAX findings."""
    rng = np.random.default_rng(seed)
    tables = []
    hist = []
    for i in range(n_hist):
        name = f"h{i}"
        k = int(rng.integers(2, 4))
        states = tuple(f"s{j}" for j in range(k))
        parents = (hist[0],) if (linked and i == 1) else ()
        st = {name: states, **{p: tables[0].states[p] for p in parents}}
        shape = tuple(len(st[p]) for p in parents)
        tables.append(CPT(name, parents, st, _dist(rng, k, shape)))
        hist.append(name)
    cards = {t.variable: len(t.states[t.variable]) for t in tables}
    causes = []
    for j in range(n_causes):
        name = f"c{j}"
        n_par = int(rng.integers(0, min(3, n_hist) + 1))
        parents = tuple(rng.choice(hist, size=n_par, replace=False).tolist())
        st = {name: CAUSE_STATES, **{p: tables[hist.index(p)].states[p] for p in parents}}
        shape = tuple(cards[p] for p in parents)
        p1 = rng.uniform(0.05, 0.6, size=shape)
        tables.append(CPT(name, parents, st, np.stack([1 - p1, p1])))
        causes.append(name)
    findings = []
    for j in range(n_findings):
        n_states = int(rng.integers(2, 5))
        n_par = int(rng.integers(min_parents, n_causes + 1))
        parents = tuple(rng.choice(causes, size=n_par, replace=False).tolist())
        order = tuple(rng.permutation(n_states).tolist())
        leak = rng.dirichlet(np.ones(n_states) * 0.7)
        links = rng.dirichlet(np.ones(n_states) * 0.7, size=n_par).reshape(n_par, n_states)
        findings.append(
            NoisyMax(f"f{j}", tuple(f"v{t}" for t in range(n_states)), order, parents, leak, links)
        )
    return IndependentNetwork(tuple(tables), tuple(causes), tuple(findings))


def brute_force(net: IndependentNetwork, ev: dict[str, str]):
    """(marginals of every node, P(e), P(no cause, e)) by enumerating the whole joint."""
    names = [t.variable for t in net.tables]
    st = net.states
    fnames = [f.node for f in net.findings]
    # NoisyMax.table() does not handle a finding without parents: its table is the leak
    ftab = {f.node: f.table() if f.parents else f.leak for f in net.findings}
    marg = {v: np.zeros(len(st[v])) for v in net.variables}
    pe = pnone = 0.0
    for conf in itertools.product(*(range(len(st[v])) for v in names)):
        a = dict(zip(names, conf, strict=True))
        if any(v in ev and st[v][a[v]] != ev[v] for v in names):
            continue
        w = 1.0
        for t in net.tables:
            w *= t.values[(a[t.variable], *(a[p] for p in t.parents))]
        fw = []
        for f in net.findings:
            dist = ftab[f.node][(slice(None), *(a[p] for p in f.parents))]
            if f.node in ev:
                w *= dist[st[f.node].index(ev[f.node])]
            fw.append(dist)
        if w == 0.0:
            continue
        pe += w
        if all(a[c] == 0 for c in net.causes):
            pnone += w
        for v in names:
            marg[v][a[v]] += w
        for f, dist in zip(fnames, fw, strict=True):
            if f in ev:
                marg[f][st[f].index(ev[f])] += w
            else:
                marg[f] += w * dist
    return {v: m / pe if pe > 0 else m * np.nan for v, m in marg.items()}, pe, pnone


def random_rows(rng, eng: IndependentEngine, n: int, p_obs=0.6) -> np.ndarray:
    card = np.array([len(eng.states[v]) for v in eng.variables])
    codes = (rng.random((n, len(card))) * card).astype(np.int64)
    codes[rng.random((n, len(card))) > p_obs] = -1
    return codes


def evidence(eng, row) -> dict[str, str]:
    return {v: eng.states[v][c] for v, c in zip(eng.variables, row, strict=True) if c >= 0}


# ---------------------------------------------------------------------- hand computation
def hand_network() -> IndependentNetwork:
    """sex -> {a, b}; finding x noisy-OR of a, b; finding y over (lo < mid < hi) of a.

    P(sex = m) = 0.4; P(a | f) = 0.1, P(a | m) = 0.3; P(b | f) = 0.2, P(b | m) = 0.5.
    x: leak 0.1, links a 0.8, b 0.5. y: states (hi, lo, mid), order lo < mid < hi;
    leak (0, 1, 0) in (hi, lo, mid) order = always lo; link a = (0.3, 0.2, 0.5).
    """
    sex = CPT("sex", (), {"sex": ("f", "m")}, np.array([0.6, 0.4]))
    a = CPT(
        "a", ("sex",), {"a": CAUSE_STATES, "sex": ("f", "m")}, np.array([[0.9, 0.7], [0.1, 0.3]])
    )
    b = CPT(
        "b", ("sex",), {"b": CAUSE_STATES, "sex": ("f", "m")}, np.array([[0.8, 0.5], [0.2, 0.5]])
    )
    x = NoisyMax(
        "x", YN, (0, 1), ("a", "b"), np.array([0.9, 0.1]), np.array([[0.2, 0.8], [0.5, 0.5]])
    )
    y = NoisyMax(
        "y",
        ("hi", "lo", "mid"),
        (1, 2, 0),
        ("a",),
        np.array([0.0, 1.0, 0.0]),
        np.array([[0.3, 0.2, 0.5]]),
    )
    return IndependentNetwork((sex, a, b), ("a", "b"), (x, y))


def test_hand_computed():
    # x = yes, y = mid. P(x=no | a, b) = 0.9 * 0.2^a * 0.5^b; P(y=mid | a) = 0.5 a (leak = lo).
    # So a must be present: P(e | sex) = P(a|sex) * 0.5 * [1 - 0.9*0.2*(1 - P(b|sex)*0.5)]
    #   sex f: 0.1 * 0.5 * (1 - 0.18 * 0.9) = 0.05 * 0.838 = 0.0419
    #   sex m: 0.3 * 0.5 * (1 - 0.18 * 0.75) = 0.15 * 0.865 = 0.12975
    # P(e) = 0.6 * 0.0419 + 0.4 * 0.12975 = 0.02514 + 0.0519 = 0.07704
    # P(b, e | f) = 0.1*0.5*0.2*(1 - 0.9*0.2*0.5) = 0.01*0.91 = 0.0091; | m: 0.15*0.5*0.91 = 0.06825
    # P(b, e) = 0.6*0.0091 + 0.4*0.06825 = 0.00546 + 0.0273 = 0.03276; P(b | e) = 0.03276/0.07704
    # P(sex = m | e) = 0.0519 / 0.07704; P(no cause, e) = 0 (y = mid needs a).
    eng = IndependentEngine.from_network(hand_network())
    res = eng.query(eng.encode([{"x": "yes", "y": "mid"}]))
    assert isinstance(res, IndependentResult)
    np.testing.assert_allclose(np.exp(res.log_evidence), [0.07704], rtol=1e-12)
    np.testing.assert_allclose(res.marginals["a"], [[0.0, 1.0]], atol=1e-15)
    np.testing.assert_allclose(res.marginals["b"][0, 1], 0.03276 / 0.07704, rtol=1e-12)
    np.testing.assert_allclose(res.marginals["sex"][0], [0.02514 / 0.07704, 0.0519 / 0.07704])
    assert res.log_none[0] == -np.inf
    np.testing.assert_allclose(res.marginals["y"], [[0.0, 0.0, 1.0]])
    # x = yes alone: P(no cause, x=yes) = P(a=0,b=0) * 0.1 = (0.6*0.72 + 0.4*0.35) * 0.1 = 0.0572
    res = eng.query(eng.encode([{"x": "yes"}]), targets=["a"])
    np.testing.assert_allclose(np.exp(res.log_none), [0.0572], rtol=1e-12)


# ---------------------------------------------------------------- random vs brute force
@pytest.mark.parametrize("seed", range(12))
def test_random_networks_vs_brute_force(seed):
    net = random_network(seed, n_hist=3, n_causes=4, n_findings=5)
    eng = IndependentEngine.from_network(net)
    rng = np.random.default_rng(100 + seed)
    codes = random_rows(rng, eng, 30, p_obs=0.5)
    codes[0] = -1  # empty row
    res = eng.query(codes)
    for b, row in enumerate(codes):
        ev = evidence(eng, row)
        marg, pe, pnone = brute_force(net, ev)
        if pe == 0.0:
            assert res.log_evidence[b] == -np.inf
            assert all(np.isnan(m[b]).all() for m in res.marginals.values())
            continue
        assert res.log_evidence[b] == pytest.approx(np.log(pe), rel=TOL, abs=1e-12)
        if pnone == 0.0:
            assert res.log_none[b] == -np.inf
        else:
            assert res.log_none[b] == pytest.approx(np.log(pnone), rel=TOL, abs=1e-12)
        for v in eng.variables:
            np.testing.assert_allclose(res.marginals[v][b], marg[v], atol=TOL, rtol=0)


@pytest.mark.parametrize("seed", range(4))
def test_links_with_zero_probabilities_vs_brute_force(seed):
    # A link that puts no mass on a finding's lowest states makes a bit's map singular
    # (a = Qcum(r - 1) = 0, or c = Qcum(r) = 0): the kernels then cannot take a or c out as a
    # scalar and use the plain maps. Rows mixing both kinds of links must still be exact.
    net = random_network(40 + seed, n_hist=2, n_causes=4, n_findings=6, min_parents=3)
    rng = np.random.default_rng(seed)
    values = {}
    for f in net.findings:
        links = f.links.copy()
        for i in range(len(f.parents)):
            if rng.random() < 0.5:
                low = f.order[: int(rng.integers(1, len(f.states)))]  # lowest states in order
                links[i, list(low)] = 0.0
                links[i] /= links[i].sum()
        values[f.node] = np.vstack([f.leak[None], links])
    net = net.replace_values(values)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(rng, eng, 40, p_obs=0.8)
    res = eng.query(codes)
    n_checked = 0
    for b, row in enumerate(codes):
        marg, pe, _ = brute_force(net, evidence(eng, row))
        if pe == 0.0:
            assert res.log_evidence[b] == -np.inf
            continue
        n_checked += 1
        assert res.log_evidence[b] == pytest.approx(np.log(pe), rel=TOL, abs=1e-12)
        for v in eng.variables:
            np.testing.assert_allclose(res.marginals[v][b], marg[v], atol=TOL, rtol=0)
    assert n_checked >= 10


@pytest.mark.parametrize(("seed", "zero_links"), [(0, False), (1, False), (2, True), (3, True)])
def test_steps_that_close_several_findings_vs_brute_force(seed, zero_links):
    # Two causes, every finding a child of both: whichever cause comes second closes every
    # positive finding in its step (the closed bits are taken first, then the cause's other
    # bits). With zero links the maps of some bits are singular and the plain maps are used.
    net = random_network(70 + seed, n_hist=2, n_causes=2, n_findings=4, min_parents=2)
    rng = np.random.default_rng(seed)
    if zero_links:
        values = {}
        for f in net.findings:
            links = f.links.copy()
            links[0, f.order[0]] = 0.0
            links[0] /= links[0].sum()
            values[f.node] = np.vstack([f.leak[None], links])
        net = net.replace_values(values)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(rng, eng, 30, p_obs=0.9)
    findings = [eng.variables.index(f.node) for f in net.findings]
    codes[:, findings] = np.where(codes[:, findings] < 0, 1, codes[:, findings])
    causes = [eng.variables.index(c) for c in net.causes]
    codes[:, causes] = -1
    n_positive = (codes[:, findings] > 0).sum(axis=1)
    assert n_positive.max() >= 3  # steps closing three or more findings are exercised
    res = eng.query(codes)
    for b, row in enumerate(codes):
        marg, pe, _ = brute_force(net, evidence(eng, row))
        assert res.log_evidence[b] == pytest.approx(np.log(pe), rel=TOL, abs=1e-12)
        for v in eng.variables:
            np.testing.assert_allclose(res.marginals[v][b], marg[v], atol=TOL, rtol=0)


def test_a_history_block_is_open_only_for_the_causes_of_its_unobserved_members():
    # h1 depends on h0 (one block). With h0 observed, the causes of h0 (c0, c1) see it as a
    # constant: the block's axis is needed only from the first cause of h1 to its last, so the
    # pass costs what it costs in the same network with c0 and c1 cut from h0.
    rng = np.random.default_rng(5)
    two = ("s0", "s1")

    def net(c01_from_h0: bool) -> IndependentNetwork:
        tables = [
            CPT("h0", (), {"h0": two}, np.array([0.3, 0.7])),
            CPT("h1", ("h0",), {"h1": two, "h0": two}, np.array([[0.8, 0.4], [0.2, 0.6]])),
        ]
        for j in range(4):
            par = ("h0",) if j < 2 and c01_from_h0 else ("h1",) if j >= 2 else ()
            p1 = rng.uniform(0.05, 0.6, size=(2,) * len(par))
            st = {f"c{j}": CAUSE_STATES, **{p: two for p in par}}
            tables.append(CPT(f"c{j}", par, st, np.stack([1 - p1, p1])))
        pairs = [("c0", "c2"), ("c1", "c3"), ("c0", "c1"), ("c2", "c3")]
        links = rng.uniform(0.1, 0.9, size=(len(pairs), 2))  # P(yes) from each parent
        findings = tuple(
            NoisyMax(f"f{j}", YN, (0, 1), par, np.array([0.9, 0.1]), np.stack([1 - q, q], axis=1))
            for j, (par, q) in enumerate(zip(pairs, links, strict=True))
        )
        return IndependentNetwork(tuple(tables), ("c0", "c1", "c2", "c3"), findings)

    costs = []
    for linked in (True, False):
        eng = IndependentEngine.from_network(net(linked))
        row = np.full((1, len(eng.variables)), -1, dtype=np.int64)
        row[0, eng.variables.index("h0")] = 1
        for f in ("f0", "f1", "f2", "f3"):
            row[0, eng.variables.index(f)] = 1
        eng.query(row)
        costs.append(int(eng.last_cost[0]))
    assert costs[0] == costs[1]


@pytest.mark.parametrize("seed", range(4))
def test_random_networks_vs_pgmpy(seed):
    net = random_network(50 + seed, n_hist=4, n_causes=6, n_findings=7, min_parents=1)
    eng = IndependentEngine.from_network(net)
    bn = build_network(net.to_cpts())
    rng = np.random.default_rng(seed)
    codes = random_rows(rng, eng, 12, p_obs=0.6)
    res = eng.query(codes, targets=list(net.causes) + list(net.history))
    for b, row in enumerate(codes):
        ev = evidence(eng, row)
        hidden = [v for v in res.marginals if v not in ev]
        if not np.isfinite(res.log_evidence[b]):
            continue
        ref = reference_query(bn, hidden, ev) if hidden else {}
        for v in hidden:
            np.testing.assert_allclose(res.marginals[v][b], ref[v], atol=TOL, rtol=0)


def test_every_state_of_every_finding_and_observed_causes():
    net = random_network(7, n_hist=3, n_causes=4, n_findings=4)
    eng = IndependentEngine.from_network(net)
    rows = []
    for f in net.findings:
        for s in f.states:
            for cstate in (None, "absent", "present"):
                ev = {f.node: s, "h0": net.states["h0"][0]}
                if cstate:
                    ev["c1"] = cstate
                rows.append(ev)
    codes = eng.encode(rows)
    res = eng.query(codes)
    for b, ev in enumerate(rows):
        marg, pe, pnone = brute_force(net, ev)
        assert np.exp(res.log_evidence[b]) == pytest.approx(pe, rel=TOL)
        assert np.exp(res.log_none[b]) == pytest.approx(pnone, rel=TOL, abs=1e-300)
        for v in eng.variables:
            np.testing.assert_allclose(res.marginals[v][b], marg[v], atol=TOL, rtol=0)


def test_without_none_the_same_marginals_and_nan_log_none():
    net = random_network(8, n_hist=3, n_causes=4, n_findings=5)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(np.random.default_rng(4), eng, 25)
    full = eng.query(codes)
    res = eng.query(codes, with_none=False)
    assert np.isnan(res.log_none).all()
    np.testing.assert_array_equal(res.log_evidence, full.log_evidence)
    for v in eng.variables:
        np.testing.assert_array_equal(res.marginals[v], full.marginals[v])


def test_impossible_evidence():
    net = hand_network()
    eng = IndependentEngine.from_network(net)
    # y = mid needs a present; a observed absent makes the row impossible.
    res = eng.query(eng.encode([{"y": "mid", "a": "absent"}, {}]))
    assert res.log_evidence[0] == -np.inf
    assert res.log_none[0] == -np.inf
    assert np.isnan(res.marginals["b"][0]).all()
    assert np.isnan(res.marginals["x"][0]).all()
    assert res.log_evidence[1] == 0.0
    assert res.log_none[1] == pytest.approx(np.log(0.6 * 0.72 + 0.4 * 0.35))
    np.testing.assert_allclose(res.marginals["sex"][1], [0.6, 0.4])


def test_kernel_matches_interpreted_reference():
    net = random_network(3, n_hist=3, n_causes=4, n_findings=5)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(np.random.default_rng(0), eng, 15)
    outs = []
    for fn in (ci_kernels.run_rows, ci_kernels.run_rows_reference):
        n = len(codes)
        logz, c1 = np.empty(n), np.full((n, 4), np.nan)
        hm, status, work = np.zeros((n, 3, 3)), np.zeros(n, np.int64), np.zeros(n, np.int64)
        caps = np.array([eng.max_state, eng.max_tape, 1 << 40], dtype=np.int64)
        args = (eng._params, eng._off, eng._struct, False, 2, logz, c1, hm, status, work, caps)
        fn(codes, *args, np.full((n, 4), -1, dtype=np.int64), np.empty(0))
        outs.append((logz, c1, hm))
    for x, y in zip(*outs, strict=True):
        np.testing.assert_array_equal(x, y)


def _kernel_outputs(eng, codes, cap, ws):
    n, n_c = len(codes), len(eng.causes)
    out = (np.empty(n), np.full((n, n_c), np.nan), np.zeros((n, *eng._hm_shape)))
    status, work = np.zeros(n, np.int64), np.zeros(n, np.int64)
    caps = np.array([eng.max_state, eng.max_tape, cap], dtype=np.int64)
    orders = np.full((n, n_c), -1, dtype=np.int64)
    args = (eng._params, eng._off, eng._struct, False, 2, *out, status, work, caps, orders)
    ws = ci_kernels.run_rows(codes, *args, ws)
    return (*out, status, work), ws


def test_kernel_workspace_passed_in_changes_nothing_but_is_kept():
    net = random_network(21, n_hist=4, n_causes=6, n_findings=8, min_parents=2)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(np.random.default_rng(2), eng, 40, p_obs=0.9)
    fresh, ws = _kernel_outputs(eng, codes, 1 << 30, np.empty(0))
    assert ws.shape[0] == 1 << 16  # the starting size, returned for the next call
    used = np.full(ws.shape[0], np.nan)  # a used workspace: its contents are never read
    again, ws2 = _kernel_outputs(eng, codes, 1 << 30, used)
    assert np.shares_memory(ws2, used)
    for x, y in zip(fresh, again, strict=True):
        np.testing.assert_array_equal(x, y)
    # a workspace larger than the cap does not let a row past it: deferral follows the cap
    small, _ = _kernel_outputs(eng, codes, 300, np.empty(0))
    big_ws, ws3 = _kernel_outputs(eng, codes, 300, used)
    deferred = small[3] == ci_kernels.STATUS_DEFERRED
    assert 0 < deferred.sum() < len(codes)
    for x, y in zip(small, big_ws, strict=True):
        np.testing.assert_array_equal(x, y)
    assert ws3.shape[0] == 300
    assert np.shares_memory(ws3, used)


def _too_large_setup():
    net = random_network(21, n_hist=4, n_causes=6, n_findings=8, min_parents=2)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(np.random.default_rng(2), eng, 40, p_obs=0.9)
    codes[:, [eng.variables.index(c) for c in eng.causes]] = -1
    full = eng.query(codes)
    cost = eng.last_cost
    eng.max_tape = int(np.median(cost))
    return net, eng, codes, full, cost > eng.max_tape


def test_row_too_large_without_splits_gives_nan_for_that_row_only():
    net, eng, codes, full, big = _too_large_setup()
    eng.max_splits = 0
    res = eng.query(codes)
    assert big.any()
    assert (~big).any()
    assert np.isnan(res.log_evidence[big]).all()
    assert np.isnan(res.log_none[big]).all()
    findings = {f.node for f in net.findings}
    for v in eng.variables:
        assert np.isnan(res.marginals[v][big]).all()
        ok = ~big
        if v in findings:  # a pass with the finding observed may be too large on its own
            nan = np.isnan(res.marginals[v]).any(axis=1)
            assert np.isnan(res.marginals[v][nan]).all()
            ok &= ~nan
        np.testing.assert_array_equal(res.marginals[v][ok], full.marginals[v][ok])
    np.testing.assert_array_equal(res.log_evidence[~big], full.log_evidence[~big])
    np.testing.assert_array_equal(res.log_none[~big], full.log_none[~big])


@pytest.mark.parametrize("n_threads", [1, 2])
def test_rows_too_large_are_split_on_causes_and_stay_exact(n_threads):
    net, eng, codes, full, big = _too_large_setup()
    res = eng.query(codes, n_threads=n_threads)
    assert big.sum() >= 5
    assert np.isfinite(res.log_evidence).all()
    np.testing.assert_allclose(res.log_evidence, full.log_evidence, rtol=1e-12)
    np.testing.assert_array_equal(res.log_none, full.log_none)  # no cause: never split
    for v in eng.variables:
        np.testing.assert_allclose(res.marginals[v], full.marginals[v], atol=1e-12, rtol=0)
    # the brute force agrees on a split row, and no half of a split exceeded the cap
    b = int(np.flatnonzero(big)[0])
    marg, pe, _ = brute_force(net, evidence(eng, codes[b]))
    assert res.log_evidence[b] == pytest.approx(np.log(pe), rel=TOL)
    for v in eng.variables:
        np.testing.assert_allclose(res.marginals[v][b], marg[v], atol=TOL, rtol=0)


def test_a_split_with_an_impossible_half():
    # y = mid needs a present: splitting on a leaves one half impossible (weight 0)
    eng = IndependentEngine.from_network(hand_network())
    codes = eng.encode([{"y": "mid", "x": "yes"}, {"x": "yes"}])
    full = eng.query(codes)
    eng.max_tape = int(eng.last_cost.min()) - 1  # both rows must be split
    res = eng.query(codes)
    np.testing.assert_allclose(res.log_evidence, full.log_evidence, rtol=1e-12)
    for v in eng.variables:
        np.testing.assert_allclose(res.marginals[v], full.marginals[v], atol=1e-12, rtol=0)
    assert res.marginals["a"][0, 1] == 1.0  # a is certain in the possible half
    eng.max_splits = 0  # (without splits neither row could be answered)
    assert np.isnan(eng.query(codes).log_evidence).all()


def test_a_row_that_no_split_makes_small_enough_stays_unanswered():
    _, eng, codes, _, _ = _too_large_setup()
    eng.max_tape = 1  # no pass fits, however many causes are observed
    res = eng.query(codes[:3])
    assert np.isnan(res.log_evidence).all()
    assert all(np.isnan(m).all() for m in res.marginals.values())


def test_finding_without_parent_causes():
    base = hand_network()
    lone = NoisyMax(
        "z", ("lo", "mid", "hi"), (0, 1, 2), (), np.array([0.7, 0.2, 0.1]), np.zeros((0, 3))
    )
    net = IndependentNetwork(base.tables, base.causes, (*base.findings, lone))
    eng = IndependentEngine.from_network(net)
    rows = [{"z": "mid"}, {"z": "lo", "x": "yes"}, {"z": "hi", "x": "yes", "y": "mid"}, {}]
    res = eng.query(eng.encode(rows))
    for b, ev in enumerate(rows):
        marg, pe, pnone = brute_force(net, ev)
        assert res.log_evidence[b] == pytest.approx(np.log(pe), rel=TOL, abs=1e-12)
        if pnone == 0.0:
            assert res.log_none[b] == -np.inf
        else:
            assert res.log_none[b] == pytest.approx(np.log(pnone), rel=TOL, abs=1e-12)
        for v in eng.variables:
            np.testing.assert_allclose(res.marginals[v][b], marg[v], atol=TOL, rtol=0)
    np.testing.assert_allclose(res.marginals["z"][3], [0.7, 0.2, 0.1], atol=1e-15)


# -------------------------------------------------------------------------- overrides
def test_overrides_match_a_rebuilt_network():
    net = random_network(11, n_hist=3, n_causes=4, n_findings=5)
    eng = IndependentEngine.from_network(net)
    rng = np.random.default_rng(5)
    codes = random_rows(rng, eng, 6)
    f = net.findings[1]
    cause = net.tables[4]
    stacks, tabs = [], []
    for _ in range(6):
        stack = np.vstack([f.leak[None], f.links])
        stacks.append(rng.dirichlet(np.ones(stack.shape[1]), size=stack.shape[0]))
        p1 = rng.uniform(0.01, 0.9, size=cause.values.shape[1:])
        tabs.append(np.stack([1 - p1, p1]))
    ov = {f.node: np.array(stacks), cause.variable: np.array(tabs)}
    res = eng.query(codes, cpt_values=ov)
    for b in range(6):
        alt = net.replace_values({f.node: stacks[b], cause.variable: tabs[b]})
        ref = IndependentEngine.from_network(alt).query(codes[b : b + 1])
        assert res.log_evidence[b] == pytest.approx(ref.log_evidence[0], rel=1e-12)
        assert res.log_none[b] == pytest.approx(ref.log_none[0], rel=1e-12)
        for v in eng.variables:
            np.testing.assert_allclose(res.marginals[v][b], ref.marginals[v][0], atol=1e-12)
    # one code row broadcast against many override rows
    res1 = eng.query(codes[:1], cpt_values=ov, targets=["c0"])
    assert res1.log_evidence.shape == (6,)
    assert res1.log_evidence[0] == pytest.approx(res.log_evidence[0], rel=1e-12)


# ------------------------------------------------------------- batch invariance, errors
def test_threads_chunks_duplicates_give_identical_results():
    net = random_network(21, n_hist=4, n_causes=6, n_findings=8)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(np.random.default_rng(1), eng, 300)
    codes = np.vstack([codes, codes[:50]])
    t = [*list(net.causes), "h0"]
    a = eng.query(codes, targets=t)
    b = eng.query(codes, targets=t, n_threads=2, chunk_rows=7)
    c = eng.query(codes[::-1], targets=t)
    for v in t:
        np.testing.assert_array_equal(a.marginals[v], b.marginals[v])
        np.testing.assert_array_equal(a.marginals[v], c.marginals[v][::-1])
    np.testing.assert_array_equal(a.log_evidence, b.log_evidence)
    np.testing.assert_array_equal(a.log_none, b.log_none)
    np.testing.assert_array_equal(a.log_evidence[300:], a.log_evidence[:50])


def test_errors():
    eng = IndependentEngine.from_network(hand_network())
    with pytest.raises(UnknownNameError, match="expected a node"):
        eng.encode([{"nope": "yes"}])
    with pytest.raises(EngineError, match="expected a state of 'x'"):
        eng.encode([{"x": "maybe"}])
    with pytest.raises(InvalidTypeError, match="sequence of evidence dicts"):
        eng.encode({"x": "yes"})
    with pytest.raises(EngineError, match="expected codes of shape"):
        eng.query(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(EngineError, match="expected integer codes"):
        eng.query(np.zeros((1, 5)))
    with pytest.raises(EngineError, match=r"expected codes of 'x' in -1\.\.1"):
        eng.query(np.array([[0, 0, 0, 2, 0]]))
    with pytest.raises(UnknownNameError, match="expected target nodes"):
        eng.query(eng.encode([{}]), targets=["zzz"])
    with pytest.raises(UnknownNameError, match="keyed by nodes"):
        eng.query(eng.encode([{}]), cpt_values={"zzz": np.ones(1)})
    with pytest.raises(EngineError, match=r"of shape \(B, \*\(3, 2\)\)"):
        eng.query(eng.encode([{}]), cpt_values={"x": np.full((1, 2, 2), 0.5)})
    with pytest.raises(EngineError, match="to sum to 1"):
        eng.query(eng.encode([{}]), cpt_values={"x": np.full((1, 3, 2), 0.9)})
    with pytest.raises(EngineError, match="codes with 3 or 1 rows"):
        eng.query(eng.encode([{}, {}]), cpt_values={"sex": np.full((3, 2), 0.5)})
    with pytest.raises(EngineError, match="n_threads"):
        eng.query(eng.encode([{}]), n_threads=0)
    with pytest.raises(InvalidTypeError, match="IndependentNetwork"):
        IndependentEngine.from_network([])


@pytest.mark.parametrize("stv", [1, 2, 4, 8, 16, 32, 64])
def test_butterflies_equal_the_two_by_two_map_on_every_pair(stv):
    """Both ways of sweeping a bit (one loop over the range below stride 32, pair by pair
    above) give exactly the map ``(g0, g1) -> (a g0, b g0 + c g1)``, its transpose and the
    last-bit combine, on a run that starts inside the buffer."""
    rng = np.random.default_rng(stv)
    n, lo = 8 * stv, 4 * stv  # the run [lo, lo + n) of a buffer with other entries around it
    fin, g, y = rng.random(3 * n), rng.random(3 * n), rng.random(3 * n)
    a, b, c, r, r1, y0, y1 = rng.random(7)

    def pairs(x):  # (run blocks, bit, entries under the bit)
        return x[lo : lo + n].reshape(-1, 2, stv)

    want = np.stack([a * pairs(fin)[:, 0], c * pairs(fin)[:, 1] + b * pairs(fin)[:, 0]], 1)
    out = np.zeros(3 * n)
    ci_kernels._fw_mid(fin, out, lo, lo + n, stv, a, b, c)
    assert np.array_equal(pairs(out), want)
    assert not out[:lo].any()
    assert not out[lo + n :].any()
    want = np.stack([a * pairs(y)[:, 0] + b * pairs(y)[:, 1], c * pairs(y)[:, 1]], 1)
    out = np.zeros(3 * n)
    ci_kernels._bw_mid(y, out, lo, lo + n, stv, a, b, c)
    assert np.array_equal(pairs(out), want)
    assert not out[:lo].any()
    assert not out[lo + n :].any()
    f, x = pairs(fin), pairs(g)
    want = np.stack([y0 * f[:, 0] + x[:, 0], y0 * f[:, 1] + (r1 * x[:, 1] + r * x[:, 0])], 1)
    out = np.zeros(3 * n)
    ci_kernels._fw_last(fin, g, out, lo, lo + n, stv, r, r1, y0)
    assert np.array_equal(pairs(out), want)
    out = np.zeros(3 * n)
    m1 = ci_kernels._bw_combine(fin, y, g, out, lo, lo + n, y0, y1)
    sl = slice(lo, lo + n)
    assert np.array_equal(out[sl], y1 * g[sl] + y0 * y[sl])
    np.testing.assert_allclose(m1, y1 * fin[sl] @ g[sl], rtol=1e-14)


def test_step_cost_from_bit_sets_equals_the_loop():
    rng = np.random.default_rng(3)
    n_c, n_k = 9, 20
    fmask = np.array([int(rng.integers(1, 1 << n_c)) for _ in range(n_k)])
    bm, bkf = np.array([0b11, 0b1100000]), np.array([3.0, 5.0])  # two open blocks' causes, sizes
    fc = [sum(1 << q for q in range(n_k) if (fmask[q] >> c) & 1) for c in range(n_c)]
    for _ in range(200):
        before = int(rng.integers(0, 1 << n_c))
        c = int(rng.integers(n_c))
        touched = sum(1 << q for q in range(n_k) if fmask[q] & before)
        rest = sum(1 << q for q in range(n_k) if fmask[q] & ~before)
        rest2 = sum(1 << q for q in range(n_k) if fmask[q] & ~(before | 1 << c))
        want = ci_kernels._step_cost(before, c, n_k, fmask, 2, bm, bkf)
        got = ci_kernels._step_cost_sets(before, c, touched, rest, rest2, fc[c], 2, bm, bkf)
        assert got == want
    compiled = njit(lambda x: ci_kernels._popcount(x))  # the popcnt instruction
    for x in (0, 1, 0b1011, (1 << 62) - 1, int(rng.integers(0, 1 << 62))):
        assert compiled(np.int64(x)) == bin(x).count("1")


def test_order_search_leaves_rows_over_62_finding_bits_alone():
    rng = np.random.default_rng(5)
    n_c, n_k = 6, 63
    fmask = np.array([int(rng.integers(1, 1 << n_c)) for _ in range(n_k)])
    args = (n_k, fmask, 0, np.zeros(0, np.int64), np.zeros(0))
    order = np.arange(n_c, dtype=np.int64)[::-1].copy()
    cost = 1.0 + sum(
        ci_kernels._step_cost(int(sum(1 << int(c) for c in order[:j])), order[j], *args)
        for j in range(n_c)
    )
    assert ci_kernels._improve_order(order, *args, 8) == cost
    np.testing.assert_array_equal(order, np.arange(n_c)[::-1])


def test_restarts_never_cost_more_and_do_not_depend_on_the_caller():
    rng = np.random.default_rng(11)
    n_c, n_k = 12, 16
    fmask = np.array(
        [sum(1 << int(c) for c in rng.choice(n_c, 4, replace=False)) for _ in range(n_k)]
    )
    args = (n_k, fmask, 0, np.zeros(0, np.int64), np.zeros(0))

    def cost(order):
        steps = (
            ci_kernels._step_cost(int(sum(1 << int(c) for c in order[:j])), order[j], *args)
            for j in range(n_c)
        )
        return 1.0 + sum(steps)

    for fn in (ci_kernels._restarts.py_func, ci_kernels._restarts):
        start = rng.permutation(n_c).astype(np.int64)
        before = cost(start)
        orders = []
        for _ in range(2):
            order = start.copy()
            # a cost of 20 restart units asks for every restart (MAX_RESTARTS)
            got = fn(order, 20 * ci_kernels.RESTART_COST, *args)
            assert sorted(order) == list(range(n_c))
            assert got == pytest.approx(cost(order))
            orders.append(order)
        np.testing.assert_array_equal(orders[0], orders[1])
        assert cost(orders[0]) < before  # a random order is far from the best here
        kept = start.copy()
        assert fn(kept, 0.0, *args) == 0.0  # no restart asked: the order stays
        np.testing.assert_array_equal(kept, start)


def test_order_search_keeps_results_and_lowers_cost():
    rng = np.random.default_rng(7)
    n_c, n_k = 10, 12
    fmask = np.array(
        [sum(1 << int(c) for c in rng.choice(n_c, 3, replace=False)) for _ in range(n_k)]
    )
    args = (n_k, fmask, 1, np.array([0b11]), np.array([3.0]))
    for fn in (ci_kernels._improve_order.py_func, ci_kernels._improve_order):
        order = rng.permutation(n_c).astype(np.int64)
        start = 1.0 + sum(
            ci_kernels._step_cost(int(sum(1 << int(c) for c in order[:j])), order[j], *args)
            for j in range(n_c)
        )
        cost = fn(order, *args, 8)
        assert sorted(order) == list(range(n_c))
        assert cost < start
    # rows whose greedy order gets the search: same numbers (up to rounding), same cost reported
    net = random_network(5, n_hist=3, n_causes=14, n_findings=30, min_parents=3)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(np.random.default_rng(0), eng, 20, p_obs=0.9)
    codes[:, [eng.variables.index(c) for c in eng.causes]] = -1  # an observed cause costs nothing
    res = eng.query(codes, targets=list(eng.causes))
    big = np.flatnonzero((eng.last_cost > 1e5) & (eng.last_cost < 2e5))
    assert big.size
    plan = ci_kernels._interpreted(ci_kernels._plan_order, SEARCH_MIN_COST=np.inf)  # no search
    greedy = ci_kernels._interpreted(ci_kernels._row, _plan_order=plan)
    n = len(big)
    logz, c1 = np.empty(n), np.full((n, 14), np.nan)
    hm, status, work = np.zeros((n, 3, 3)), np.zeros(n, np.int64), np.zeros(n, np.int64)
    caps = np.array([eng.max_state, eng.max_tape, 1 << 40], dtype=np.int64)
    args = (eng._params, eng._off[0], eng._struct, False, 1, logz, c1, hm, status, work, caps)
    for i, b in enumerate(big):
        order = np.full(14, -1, dtype=np.int64)
        need = greedy(i, codes[b], *args, np.empty(0), order)
        greedy(i, codes[b], *args, np.empty(need), order)  # the order planned by the first call
    assert (work >= eng.last_cost[big]).all()
    assert (work > eng.last_cost[big]).any()
    np.testing.assert_allclose(res.log_evidence[big], logz, rtol=1e-12)
    np.testing.assert_allclose(
        np.stack([res.marginals[c][big, 1] for c in eng.causes], 1), c1, rtol=1e-10
    )


@pytest.mark.parametrize("n_threads", [1, 2])
def test_rows_deferred_to_larger_workspaces_give_the_same_numbers(monkeypatch, n_threads):
    net = random_network(21, n_hist=4, n_causes=6, n_findings=8, min_parents=2)
    eng = IndependentEngine.from_network(net)
    codes = random_rows(np.random.default_rng(2), eng, 40, p_obs=0.9)
    full = eng.query(codes)
    # each thread first gets 64 entries: most rows are deferred to the budget's shares
    monkeypatch.setattr(independent_module, "_SMALL_WORKSPACE", 64)
    res = eng.query(codes, n_threads=n_threads, chunk_rows=7)
    assert (eng.last_cost > 64).sum() > 10
    np.testing.assert_array_equal(res.log_evidence, full.log_evidence)
    np.testing.assert_array_equal(res.log_none, full.log_none)
    for v in eng.variables:
        np.testing.assert_array_equal(res.marginals[v], full.marginals[v])


def test_evidence_far_below_the_smallest_double_is_answered_in_logs():
    # 30 causes, each with a rare finding of its own, all present: P(e) is about 1e-435, far
    # below the smallest double, so the pass must rescale as it goes
    n = 30
    leak, link = 1e-15, 1e-14
    causes = tuple(
        CPT(f"c{i}", (), {f"c{i}": CAUSE_STATES}, np.array([0.5, 0.5])) for i in range(n)
    )
    findings = tuple(
        NoisyMax(
            f"f{i}",
            ("no", "yes"),
            (0, 1),
            (f"c{i}",),
            leak=np.array([1 - leak, leak]),
            links=np.array([[1 - link, link]]),
        )
        for i in range(n)
    )
    names = tuple(c.variable for c in causes)
    eng = IndependentEngine.from_network(IndependentNetwork(causes, names, findings))
    res = eng.query(eng.encode([{f"f{i}": "yes" for i in range(n)}]), targets=list(names))
    p_yes = leak + link - leak * link  # given the cause: 1 - (1 - leak)(1 - link)
    expected = n * np.log(0.5 * leak + 0.5 * p_yes)
    assert expected < np.log(np.finfo(float).tiny)
    assert res.log_evidence[0] == pytest.approx(expected, rel=1e-12)
    for name in names:
        assert res.marginals[name][0, 1] == pytest.approx(p_yes / (leak + p_yes), rel=1e-12)
    assert res.log_none[0] == pytest.approx(n * np.log(0.5 * leak), rel=1e-12)
