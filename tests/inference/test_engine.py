"""Tests of :mod:`legnumb.inference.engine`.

Exactness against hand computation and pgmpy, overrides, batch invariance (order, chunking, threads, duplicates) and error messages."""

from __future__ import annotations

import importlib.util
import itertools
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.inference.engine import Engine, QueryResult
from legnumb.network.bayesnet import build_network, example_network, extract_tables, reference_query
from legnumb.network.cpt import CPT

ROOT = Path(__file__).resolve().parents[2]
TOL = 1e-9


def _bench_module():
    """scripts/bench_engine.py, for its synthetic network shaped like legnumb's."""
    spec = importlib.util.spec_from_file_location(
        "bench_engine", ROOT / "scripts" / "bench_engine.py"
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def _normalized(cpts: list[CPT]) -> list[CPT]:
    """The same tables with columns summing to 1 exactly (pgmpy's files are rounded)."""
    return [
        CPT(c.variable, c.parents, c.states, c.values / c.values.sum(axis=0, keepdims=True))
        for c in cpts
    ]


_CACHE: dict[str, tuple] = {}


def _network(name: str):
    """(cpts, pgmpy network, engine) for a bundled or synthetic network, built once."""
    if name not in _CACHE:
        if name == "synthetic":
            cpts = _bench_module().synthetic_cpts(seed=3, max_finding_parents=8)
        else:
            cpts = _normalized(extract_tables(example_network(name)))
        _CACHE[name] = (cpts, build_network(cpts), Engine.from_cpts(cpts))
    return _CACHE[name]


def _evidence(engine: Engine, row: np.ndarray) -> dict[str, str]:
    return {v: engine.states[v][c] for v, c in zip(engine.variables, row, strict=True) if c >= 0}


def _reference(bn, engine: Engine, targets, evidence: dict[str, str]) -> dict[str, np.ndarray]:
    """pgmpy's marginals, and the one-hot vector for observed targets (as pgmpy would give)."""
    free = [t for t in targets if t not in evidence]
    out = reference_query(bn, free, evidence) if free else {}
    for t in targets:
        if t in evidence:
            out[t] = np.eye(len(engine.states[t]))[engine.states[t].index(evidence[t])]
    return out


def _chain_log_evidence(bn, evidence: dict[str, str]) -> float:
    """log P(e) from pgmpy as a product of one-variable VE queries (chain rule)."""
    total, seen = 0.0, {}
    for var, state in evidence.items():
        p = reference_query(bn, [var], seen)[var]
        total += np.log(p[bn.get_cpds(var).state_names[var].index(state)])
        seen[var] = state
    return total


def _random_rows(engine: Engine, n: int, *, observed: float, seed: int) -> np.ndarray:
    rng = np.random.default_rng(seed)
    cards = np.array([len(engine.states[v]) for v in engine.variables])
    codes = (rng.random((n, len(cards))) * cards).astype(np.int64)
    codes[rng.random(codes.shape) >= observed] = -1
    return codes


def _assert_same_result(a: QueryResult, b: QueryResult) -> None:
    """Bitwise equality of two results (NaN equal to NaN)."""
    assert a.marginals.keys() == b.marginals.keys()
    for k in a.marginals:
        np.testing.assert_array_equal(a.marginals[k], b.marginals[k])
    np.testing.assert_array_equal(a.log_evidence, b.log_evidence)


# ------------------------------------------------------------------------- hand computed


def _tiny() -> list[CPT]:
    """A -> B, A -> C with binary nodes."""
    ft = ("f", "t")
    a = CPT("A", (), {"A": ft}, np.array([0.7, 0.3]))
    b = CPT("B", ("A",), {"B": ft, "A": ft}, np.array([[0.8, 0.1], [0.2, 0.9]]))
    c = CPT("C", ("A",), {"C": ft, "A": ft}, np.array([[0.9, 0.4], [0.1, 0.6]]))
    return [a, b, c]


def test_tiny_network_by_hand():
    eng = Engine.from_cpts(_tiny())
    codes = eng.encode([{"B": "t", "C": "f"}, {"B": "t"}, {}])
    res = eng.query(codes)
    # P(A=t, B=t, C=f) = 0.3 * 0.9 * 0.4 = 0.108; P(A=f, B=t, C=f) = 0.7 * 0.2 * 0.9 = 0.126
    np.testing.assert_allclose(res.marginals["A"][0], [0.126 / 0.234, 0.108 / 0.234], rtol=1e-14)
    np.testing.assert_allclose(res.log_evidence[0], np.log(0.234), rtol=1e-14)
    # P(C=t | B=t) = (0.3*0.9*0.6 + 0.7*0.2*0.1) / (0.3*0.9 + 0.7*0.2) = 0.176 / 0.41
    np.testing.assert_allclose(res.marginals["C"][1], [1 - 0.176 / 0.41, 0.176 / 0.41], rtol=1e-14)
    np.testing.assert_allclose(res.log_evidence[1], np.log(0.41), rtol=1e-14)
    # Observed targets are exact one-hots; the empty row gives the priors and log P = 0.
    np.testing.assert_array_equal(res.marginals["B"][:2], [[0.0, 1.0], [0.0, 1.0]])
    np.testing.assert_allclose(res.marginals["A"][2], [0.7, 0.3], rtol=1e-14)
    np.testing.assert_allclose(
        res.marginals["B"][2], [0.7 * 0.8 + 0.3 * 0.1, 0.7 * 0.2 + 0.3 * 0.9]
    )
    assert res.log_evidence[2] == 0.0


def test_api_shapes_and_order():
    eng = Engine.from_cpts(_tiny()[::-1])  # any order of tables
    assert eng.variables == ("C", "B", "A")
    assert eng.states["A"] == ("f", "t")
    res = eng.query(np.full((4, 3), -1), targets=["A"])
    assert isinstance(res, QueryResult)
    assert set(res.marginals) == {"A"}
    assert res.marginals["A"].shape == (4, 2)
    assert res.log_evidence.shape == (4,)
    empty = eng.query(np.zeros((0, 3), dtype=np.int64))
    assert empty.marginals["A"].shape == (0, 2)
    assert empty.log_evidence.shape == (0,)


# ---------------------------------------------------------------------------- vs pgmpy


@pytest.mark.parametrize("name", ["asia", "cancer", "sachs", "alarm", "hepar2", "synthetic"])
def test_agrees_with_pgmpy(name):
    cpts, bn, eng = _network(name)
    rng = np.random.default_rng(len(name))
    n = len(eng.variables)
    roots = [i for i, c in enumerate(cpts) if not c.parents]
    roots = [eng.variables.index(cpts[i].variable) for i in roots]
    rows = [np.full(n, -1)]  # no evidence
    r = np.full(n, -1)
    r[roots] = [rng.integers(len(eng.states[eng.variables[i]])) for i in roots]
    rows.append(r)  # only roots observed
    rows += list(_random_rows(eng, 3, observed=0.3, seed=len(name)))
    targets = [str(t) for t in rng.choice(eng.variables, size=min(5, n), replace=False)]
    r = _random_rows(eng, 1, observed=1.0, seed=7)[0]
    r[[eng.variables.index(t) for t in targets]] = -1
    rows.append(r)  # everything but the targets observed
    codes = np.array(rows)
    res = eng.query(codes, targets=targets)
    full = eng.query(codes)
    for b, row in enumerate(codes):
        ev = _evidence(eng, row)
        if not np.isfinite(res.log_evidence[b]):
            continue  # impossible random evidence: checked in its own test
        ref = _reference(bn, eng, targets, ev)
        for t in targets:
            np.testing.assert_allclose(res.marginals[t][b], ref[t], atol=TOL, rtol=0)
            np.testing.assert_allclose(full.marginals[t][b], ref[t], atol=TOL, rtol=0)
        # log P(e): exactly by the chain rule for short rows, as ratios for the others:
        # log P(e, v = s) - log P(e) = log P(v = s | e).
        if len(ev) <= 6:
            assert res.log_evidence[b] == pytest.approx(_chain_log_evidence(bn, ev), abs=TOL)
        t = next((t for t in targets if t not in ev), None)
        if t is None:
            continue
        s = int(np.argmax(ref[t]))
        more = row.copy()
        more[eng.variables.index(t)] = s
        le = eng.query(more[None], targets=[t]).log_evidence[0]
        assert le - res.log_evidence[b] == pytest.approx(np.log(ref[t][s]), abs=TOL)


def test_legnumb_network_agrees_with_pgmpy_and_the_noisy_max_engine(model):
    """The shipped network (findings divorced into chains for pgmpy): pgmpy's VE, the general
    junction tree and the causally independent engine give the same posteriors.

    Rows answer four random columns: the junction tree over the divorced chains grows fast
    with the findings answered above their bottom state (pgmpy's VE too), the noisy-MAX engine
    does not; the junction tree is run on the first row (one finding with few parent causes).
    """
    from legnumb.inference.engine import Engine

    causes = list(model.causes)
    rng = np.random.default_rng(11)
    columns = list(model.schema.columns)
    evidences = [{"age_group": "65_plus", "smoker": "yes", "rash": "yes", "fever": "no"}]
    for _ in range(3):
        picked = rng.choice(len(columns), size=4, replace=False)
        states = [model.schema.columns[columns[j]].states for j in picked]
        evidences.append(
            {columns[j]: st[rng.integers(len(st))] for j, st in zip(picked, states, strict=True)}
        )
    got = model.engine.query(model.engine.encode(evidences), targets=causes)
    for b, ev in enumerate(evidences):
        ref = reference_query(model.network, causes, ev)
        for c in causes:
            np.testing.assert_allclose(got.marginals[c][b], ref[c], atol=TOL, rtol=0)
    jt = Engine.from_network(model.network)
    want = jt.query(jt.encode(evidences[:1]), targets=causes)
    for c in causes:
        np.testing.assert_allclose(got.marginals[c][:1], want.marginals[c], atol=TOL, rtol=0)
    assert got.log_evidence[0] == pytest.approx(want.log_evidence[0], abs=TOL)


def test_patterns_of_a_large_batch_agree_with_single_rows():
    """A batch compiles one plan per evidence pattern; each must match a lone query."""
    _, _, eng = _network("synthetic")
    codes = _random_rows(eng, 300, observed=0.6, seed=5)
    causes = [v for v in eng.variables if v.startswith("c")]
    codes[:, [eng.variables.index(c) for c in causes]] = -1
    res = eng.query(codes, targets=causes)
    for b in range(0, 300, 37):
        one = eng.query(codes[b : b + 1], targets=causes)
        for c in causes:
            np.testing.assert_allclose(one.marginals[c][0], res.marginals[c][b], atol=1e-12)
        assert one.log_evidence[0] == pytest.approx(res.log_evidence[b], abs=1e-10)


def test_impossible_evidence_gives_nan_and_minus_inf():
    cpts, _, eng = _network("alarm")
    pvsat = next(c for c in cpts if c.variable == "PVSAT")
    idx = np.argwhere(pvsat.values == 0)[0]
    ev = {pvsat.variable: pvsat.states[pvsat.variable][idx[0]]}
    ev.update({p: pvsat.states[p][i] for p, i in zip(pvsat.parents, idx[1:], strict=True)})
    codes = eng.encode([ev, {}])
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        res = eng.query(codes)
    assert res.log_evidence[0] == -np.inf
    assert all(np.isnan(m[0]).all() for m in res.marginals.values())
    assert res.log_evidence[1] == 0.0
    assert all(np.isfinite(m[1]).all() for m in res.marginals.values())


# -------------------------------------------------------------------------- cpt_values


@pytest.mark.parametrize("name", ["asia", "synthetic"])
def test_cpt_values_match_a_recompiled_engine(name):
    cpts, _, eng = _network(name)
    rng = np.random.default_rng(1)
    by_name = {c.variable: c for c in cpts}
    leaf = max((c for c in cpts if c.parents), key=lambda c: len(c.parents)).variable
    inner = next(c.variable for c in cpts if c.parents and c.variable != leaf)
    root = next(c.variable for c in cpts if not c.parents)
    nodes = [leaf, inner, root]
    n_var = 4
    variants = {}
    for v in nodes:
        vals = by_name[v].values
        k = vals.shape[0]
        draws = rng.dirichlet(np.ones(k), size=(n_var, *vals.shape[1:]))  # (B, *parents, k)
        variants[v] = np.moveaxis(draws, -1, 1)  # (B, k, *parents)
    row = _random_rows(eng, 1, observed=0.5, seed=2)
    codes = np.repeat(row, n_var, axis=0)
    codes[1] = -1
    targets = [*[v for v in eng.variables if v not in nodes][:6], leaf]
    for rows in (codes, row):  # per-row codes, and one row broadcast over the variants
        res = eng.query(rows, targets=targets, cpt_values=variants)
        assert res.log_evidence.shape == (n_var,)
        for b in range(n_var):
            mod = [
                CPT(c.variable, c.parents, c.states, variants[c.variable][b])
                if c.variable in variants
                else c
                for c in cpts
            ]
            ref = Engine.from_cpts(mod).query(rows[min(b, len(rows) - 1)][None], targets=targets)
            for t in targets:
                np.testing.assert_allclose(res.marginals[t][b], ref.marginals[t][0], atol=1e-12)
            assert res.log_evidence[b] == pytest.approx(ref.log_evidence[0], abs=1e-10)


def test_cpt_values_with_one_row_broadcast():
    cpts, _, eng = _network("asia")
    c = next(c for c in cpts if c.parents)
    codes = _random_rows(eng, 5, observed=0.4, seed=3)
    plain = eng.query(codes)
    same = eng.query(codes, cpt_values={c.variable: c.values[None]})
    for k in plain.marginals:
        np.testing.assert_allclose(same.marginals[k], plain.marginals[k], atol=1e-13)


# ------------------------------------------------------------------ batch invariance


@pytest.mark.parametrize("name", ["sachs", "synthetic"])
def test_chunking_threads_and_duplicates_are_bitwise_invariant(name):
    _, _, eng = _network(name)
    codes = _random_rows(eng, 150, observed=0.5, seed=9)
    codes = np.vstack([codes, codes[:20]])  # duplicates
    base = eng.query(codes)
    for kwargs in ({"chunk_rows": 1}, {"chunk_rows": 7}, {"n_threads": 2, "chunk_rows": 5}):
        _assert_same_result(base, eng.query(codes, **kwargs))
    dup = eng.query(codes[[0, 0, 1, 0]])
    for m in dup.marginals.values():
        np.testing.assert_array_equal(m[0], m[1])
        np.testing.assert_array_equal(m[0], m[3])
    for k, m in base.marginals.items():
        np.testing.assert_array_equal(m[150:], m[:20])
        np.testing.assert_allclose(dup.marginals[k][2], m[1], atol=1e-12)


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_property_marginals_are_distributions_and_order_free(data):
    name = data.draw(st.sampled_from(["asia", "sachs", "synthetic"]))
    _, _, eng = _network(name)
    n_rows = data.draw(st.integers(1, 12))
    cards = [len(eng.states[v]) for v in eng.variables]
    rows = [
        [data.draw(st.integers(-1, k - 1)) if data.draw(st.booleans()) else -1 for k in cards]
        for _ in range(n_rows)
    ]
    codes = np.array(rows, dtype=np.int64)
    res = eng.query(codes)
    ok = np.isfinite(res.log_evidence)
    for m in res.marginals.values():
        assert np.all((m[ok] >= 0.0) & (m[ok] <= 1.0))
        np.testing.assert_allclose(m[ok].sum(axis=1), 1.0, atol=1e-12)
    assert np.all(res.log_evidence[ok] <= 1e-12)
    perm = np.array(data.draw(st.permutations(range(n_rows))))
    chunk = data.draw(st.integers(1, 5))
    shuffled = eng.query(codes[perm], chunk_rows=chunk)
    for k, m in res.marginals.items():
        np.testing.assert_array_equal(shuffled.marginals[k], m[perm])
    np.testing.assert_array_equal(shuffled.log_evidence, res.log_evidence[perm])


# ------------------------------------------------------------------------------ errors


def test_encode_errors_name_the_problem():
    eng = Engine.from_cpts(_tiny())
    with pytest.raises(KeyError, match=r"expected a node of the network in row 1\. Got 'D'"):
        eng.encode([{}, {"D": "t"}])
    with pytest.raises(ValueError, match=r"expected a state of 'A' in row 0, one of \('f', 't'\)"):
        eng.encode([{"A": "yes"}])
    with pytest.raises(TypeError, match="expected a sequence of evidence dicts"):
        eng.encode({"A": "t"})
    assert eng.encode([{"A": None, "B": "t"}]).tolist() == [[-1, 1, -1]]


def test_query_errors_name_the_problem():
    eng = Engine.from_cpts(_tiny())
    with pytest.raises(ValueError, match=r"expected codes of shape \(B, 3\).*Got shape \(3,\)"):
        eng.query(np.array([-1, -1, -1]))
    with pytest.raises(ValueError, match=r"expected codes of 'B' in -1\.\.1\. Got 2 in row 0"):
        eng.query(np.array([[-1, 2, -1]]))
    with pytest.raises(ValueError, match="expected integer codes"):
        eng.query(np.zeros((1, 3)))
    with pytest.raises(KeyError, match=r"expected target nodes of the network\. Got 'Z'"):
        eng.query(np.full((1, 3), -1), targets=["Z"])
    with pytest.raises(ValueError, match="expected n_threads as an int >= 1"):
        eng.query(np.full((1, 3), -1), n_threads=0)
    with pytest.raises(ValueError, match=r"expected cpt_values\['B'\] of shape \(B, \*\(2, 2\)\)"):
        eng.query(np.full((1, 3), -1), cpt_values={"B": np.ones((1, 2))})
    with pytest.raises(ValueError, match="to sum to 1"):
        eng.query(np.full((1, 3), -1), cpt_values={"B": np.ones((1, 2, 2))})
    with pytest.raises(ValueError, match=r"expected cpt_values.*with 3 or 1 rows\. Got 2 rows"):
        eng.query(np.full((3, 3), -1), cpt_values={"A": np.full((2, 2), 0.5)})
    with pytest.raises(KeyError, match="expected cpt_values keyed by nodes"):
        eng.query(np.full((1, 3), -1), cpt_values={"Z": np.ones((1, 2))})


def test_compile_errors_name_the_problem():
    a, b, c = _tiny()
    with pytest.raises(ValueError, match=r"expected a CPT for every parent\. Got parent 'A'"):
        Engine.from_cpts([b, c])
    with pytest.raises(ValueError, match="expected one CPT per node"):
        Engine.from_cpts([a, b, b])
    ft = ("f", "t")
    loop = [
        CPT("X", ("Y",), {"X": ft, "Y": ft}, np.full((2, 2), 0.5)),
        CPT("Y", ("X",), {"Y": ft, "X": ft}, np.full((2, 2), 0.5)),
    ]
    with pytest.raises(ValueError, match="expected a directed acyclic graph"):
        Engine.from_cpts(loop)
    bad = CPT("A", (), {"A": ft}, np.array([0.5, 0.6]))
    with pytest.raises(ValueError, match="to sum to 1"):
        Engine.from_cpts([bad])
    with pytest.raises(ValueError, match="expected max_chunk_bytes > 0"):
        Engine.from_cpts([a], max_chunk_bytes=0)


def test_structureless_networks():
    """Isolated nodes (no edges) and a single node still work."""
    ft = ("f", "t")
    lone = [CPT(v, (), {v: ft}, np.array([0.25, 0.75])) for v in "XY"]
    eng = Engine.from_cpts(lone)
    res = eng.query(eng.encode([{"X": "t"}, {}]))
    np.testing.assert_allclose(res.marginals["Y"], [[0.25, 0.75]] * 2)
    np.testing.assert_allclose(res.log_evidence, [np.log(0.75), 0.0])


def test_all_pairs_of_evidence_on_a_small_net():
    """Exhaustive: every single and pair observation on 'cancer' vs pgmpy."""
    _, bn, eng = _network("cancer")
    rows = []
    for i, j in itertools.combinations(range(len(eng.variables)), 2):
        for si in range(len(eng.states[eng.variables[i]])):
            r = np.full(len(eng.variables), -1)
            r[i] = si
            r[j] = 0
            rows.append(r)
    codes = np.array(rows)
    res = eng.query(codes)
    for b, row in enumerate(codes):
        ev = _evidence(eng, row)
        ref = _reference(bn, eng, list(eng.variables), ev)
        for v in eng.variables:
            np.testing.assert_allclose(res.marginals[v][b], ref[v], atol=TOL)
        assert res.log_evidence[b] == pytest.approx(_chain_log_evidence(bn, ev), abs=TOL)
