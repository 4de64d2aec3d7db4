"""Noisy-MAX findings and causally independent networks: tables, divorcing, no dilution."""

from __future__ import annotations

import itertools

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.errors import InvalidArgumentError, UnknownNameError
from legnumb.network.bayesnet import build_network, reference_query
from legnumb.network.cpt import CPT
from legnumb.network.independent import CAUSE_STATES, IndependentNetwork, NoisyMax
from legnumb.network.priors import load_priors


def _dist(rng, k):
    x = rng.random(k) + 0.05
    return x / x.sum()


def _noisy_max(rng, n_parents=3, n_states=3, order=None):
    parents = tuple(f"c{i}" for i in range(n_parents))
    order = order or tuple(rng.permutation(n_states).tolist())
    return NoisyMax(
        "x",
        tuple(f"s{k}" for k in range(n_states)),
        order,
        parents,
        _dist(rng, n_states),
        np.array([_dist(rng, n_states) for _ in parents]).reshape(n_parents, n_states),
    )


def _brute(x: NoisyMax) -> np.ndarray:
    """P(x | parents) by enumerating every produced value: the definition of noisy-MAX."""
    n_states, n = len(x.states), len(x.parents)
    rank = {s: r for r, s in enumerate(x.order)}  # state index -> rank
    out = np.zeros((n_states,) + (2,) * n)
    for cfg in itertools.product((0, 1), repeat=n):
        dists = [x.leak] + [
            x.links[i] if cfg[i] else np.eye(n_states)[x.order[0]] for i in range(n)
        ]
        for values in itertools.product(range(n_states), repeat=n + 1):
            p = np.prod([d[v] for d, v in zip(dists, values, strict=True)])
            top = max(values, key=lambda v: rank[v])
            out[(top, *cfg)] += p
    return out


# ------------------------------------------------------------------ NoisyMax
def test_noisy_or_by_hand():
    # P(yes | a, b) = 1 - (1 - 0.1)(1 - 0.5)(1 - 0.2) = 0.64
    x = NoisyMax(
        "f",
        ("yes", "no"),
        (1, 0),
        ("a", "b"),
        np.array([0.1, 0.9]),
        np.array([[0.5, 0.5], [0.2, 0.8]]),
    )
    assert x.prob("yes", a="present", b="present") == pytest.approx(0.64)
    assert x.prob("yes") == pytest.approx(0.1)
    assert x.prob("no", b="present") == pytest.approx(0.9 * 0.8)


@pytest.mark.parametrize("seed", range(6))
def test_table_equals_definition(seed):
    rng = np.random.default_rng(seed)
    x = _noisy_max(rng, n_parents=int(rng.integers(0, 4)), n_states=int(rng.integers(2, 5)))
    np.testing.assert_allclose(x.table(), _brute(x), atol=1e-12)
    np.testing.assert_allclose(x.table().sum(axis=0), 1.0, atol=1e-12)


@pytest.mark.parametrize("seed", range(4))
def test_divorced_chain_equals_table_in_pgmpy(seed):
    rng = np.random.default_rng(seed)
    x = _noisy_max(rng, n_parents=4, n_states=3)
    priors = [CPT(p, (), {p: CAUSE_STATES}, np.array([0.7, 0.3])) for p in x.parents]
    chain = build_network(priors + x.to_cpts())
    full = build_network(
        [
            *priors,
            CPT("x", x.parents, {"x": x.states, **{p: CAUSE_STATES for p in x.parents}}, x.table()),
        ]
    )
    assert any(n.startswith("x_max") for n in chain.nodes())
    for state in x.states:
        ev = {"x": state, "c1": "present"}
        a = reference_query(chain, ["c0", "c3"], ev)
        b = reference_query(full, ["c0", "c3"], ev)
        for v in a:
            np.testing.assert_allclose(a[v], b[v], atol=1e-12)


def test_bad_shapes_are_all_reported():
    with pytest.raises(InvalidArgumentError, match=r"order must be.*leak must have shape"):
        NoisyMax("x", ("a", "b"), (0, 0), ("c",), np.array([1.0]), np.array([[0.5, 0.5]]))


def test_prob_unknown_names():
    x = _noisy_max(np.random.default_rng(0), n_parents=1)
    with pytest.raises(UnknownNameError, match="parents c0"):
        x.prob("s0", nope="present")


def test_network_checks_structure():
    c = CPT("c", (), {"c": CAUSE_STATES}, np.array([0.5, 0.5]))
    f = NoisyMax("f", ("no", "yes"), (0, 1), ("e",), np.array([0.9, 0.1]), np.array([[0.5, 0.5]]))
    with pytest.raises(InvalidArgumentError, match=r"cause 'd' has no table.*not causes"):
        IndependentNetwork((c,), ("c", "d"), (f,))


def test_replace_values_swaps_numbers():
    c = CPT("c", (), {"c": CAUSE_STATES}, np.array([0.5, 0.5]))
    f = NoisyMax("f", ("no", "yes"), (0, 1), ("c",), np.array([0.9, 0.1]), np.array([[0.5, 0.5]]))
    net = IndependentNetwork((c,), ("c",), (f,))
    new = net.replace_values({"f": np.array([[0.8, 0.2], [0.1, 0.9]]), "c": np.array([0.9, 0.1])})
    assert new.finding("f").prob("yes", c="present") == pytest.approx(1 - 0.8 * 0.1)
    assert new.tables[0].prob("present") == pytest.approx(0.1)
    assert net.finding("f").prob("yes") == pytest.approx(0.1)  # the original is unchanged


# ------------------------------------------------------------------ the shipped network
@pytest.fixture(scope="module")
def shipped():
    return load_priors().network()


@settings(max_examples=30, deadline=None)
@given(seed=st.integers(0, 2**16))
def test_adding_a_cause_never_lowers_a_higher_answer(seed):
    """P(X >= s) never drops when a cause is added: noisy-MAX is monotone (random networks)."""
    rng = np.random.default_rng(seed)
    x = _noisy_max(rng, n_parents=3, n_states=int(rng.integers(2, 5)))
    t = x.table()
    ranked = t[list(x.order)]  # states bottom -> top
    at_least = np.flip(np.cumsum(np.flip(ranked, 0), 0), 0)  # P(X >= r)
    for i in range(3):
        absent = np.take(at_least, 0, axis=1 + i)
        present = np.take(at_least, 1, axis=1 + i)
        assert (present >= absent - 1e-12).all()


def test_shipped_findings_monotone_for_every_cause_pair(shipped):
    """Every finding, every pair of causes: adding the second never lowers P(X >= s)."""
    for f in shipped.findings:
        cum = f.cumulative()  # P(X <= r) factors, bottom -> top
        for i, j in itertools.permutations(range(len(f.parents)), 2):
            alone = cum[0] * cum[1 + i]
            both = alone * cum[1 + j]
            assert (both <= alone + 1e-15).all(), (f.node, f.parents[i], f.parents[j])


def test_saddle_area_not_diluted_by_sciatica(shipped):
    f = shipped.finding("distribution")
    ces = f.prob("saddle_area", cauda_equina_syndrome="present")
    both = f.prob("saddle_area", cauda_equina_syndrome="present", sciatica="present")
    assert both >= 0.9 * ces
    assert ces > 0.3


def test_both_legs_is_a_union(shipped):
    f = shipped.finding("laterality")
    dn = f.prob("both_legs", diabetic_neuropathy="present")
    assert f.prob("both_legs", diabetic_neuropathy="present", sciatica="present") >= dn


def test_claudication_relief_not_diluted(shipped):
    f = shipped.finding("relieved_by")
    pad = f.prob("stopping_walking", peripheral_artery_disease="present")
    both = f.prob(
        "stopping_walking", peripheral_artery_disease="present", positional_compression="present"
    )
    assert both >= 0.9 * pad


def test_shipped_network_exports_to_pgmpy(shipped):
    bn = build_network(shipped.to_cpts())
    assert set(shipped.variables) <= set(bn.nodes())
    assert max(np.prod(bn.get_cpds(n).cardinality) for n in bn.nodes()) <= 2**12
