"""Tests for legnumb.network.parameters: ParameterSpace and the one expansion."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.errors import InvalidArgumentError, UnknownNameError
from legnumb.network.cpt import CPT
from legnumb.network.parameters import ParameterSpace
from legnumb.network.priors import PriorSet, example_priors, load_priors
from tests.network.test_priors import write_full_priors


@pytest.fixture(scope="module")
def priors() -> PriorSet:
    return example_priors()


@pytest.fixture(scope="module")
def space(priors) -> ParameterSpace:
    return ParameterSpace.from_priors(priors)


@pytest.fixture(scope="module")
def full_space(tmp_path_factory) -> ParameterSpace:
    """The parameter space of a synthetic full priors set for the contract schema."""
    return ParameterSpace.from_priors(load_priors(write_full_priors(tmp_path_factory.mktemp("p"))))


def _variant(priors: PriorSet, theta_row: np.ndarray) -> PriorSet:
    """The priors with every number set to ``theta_row`` (no sibling rescaling)."""
    numbers = tuple(
        replace(n, value=float(x)) for n, x in zip(priors.numbers, theta_row, strict=True)
    )
    return PriorSet(numbers, priors.sources, priors.schema, priors.sha256, orders=priors.orders)


AF = "causes:stroke|odds_ratio|atrial_fibrillation=yes|present"


# --------------------------------------------------------------------------- layout
def test_vectors_follow_priors_numbers(priors, space):
    assert space.n_numbers == len(priors.numbers)
    assert space.param_ids == tuple(n.param_id for n in priors.numbers)
    np.testing.assert_array_equal(space.values, [n.value for n in priors.numbers])
    np.testing.assert_array_equal(space.is_ratio, [n.kind == "odds_ratio" for n in priors.numbers])
    assert space.nodes == priors.schema.nodes
    for i in range(space.n_numbers):
        assert space.index(space.param_ids[i]) == i
        assert i in space.numbers_of(space.node_of[i])
    assert space.parents["stroke"] == ("age_group", "atrial_fibrillation")
    assert space.parents["onset"] == ("stroke", "sciatica")
    assert space.base_values["onset"].shape == (3, 3)
    assert space.base_values["weakness"].shape == (3, 2)
    assert space.base_values["stroke"].shape == (2, 3, 2)


def test_groups_are_the_distributions_of_priorset_siblings(priors, space):
    for i, n in enumerate(priors.numbers):
        sibs = {space.param_ids[j] for j in space.siblings_of(i)}
        assert sibs == {m.param_id for m in priors.siblings(n.param_id)}, n.param_id
        assert (space.group[i] >= 0) == bool(sibs)
    assert space.group[space.index(AF)] == -1


# --------------------------------------------------------------------------- variants
@pytest.mark.parametrize("which", ["example", "full"])
def test_draws_stay_in_range_and_distributions_sum_to_one(space, full_space, which):
    s = space if which == "example" else full_space
    theta = s.draw(300, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(theta, s.draw(300, rng=np.random.default_rng(1)))
    free = s.group < 0
    assert ((theta[:, free] >= s.low[free]) & (theta[:, free] <= s.high[free])).all()
    assert (theta[:, s.is_ratio] > 0).all()
    for g in np.unique(s.group[~free]):
        members = np.flatnonzero(s.group == g)
        np.testing.assert_allclose(theta[:, members].sum(axis=1), 1.0, atol=1e-12)
        if len(members) == 2:
            np.testing.assert_array_equal(theta[:, members[1]], 1.0 - theta[:, members[0]])
    assert s.in_range(theta).mean() > 0.95


def test_odds_ratios_are_drawn_log_uniformly(space):
    i = space.index(AF)  # OR 4 in [2, 8]: log-uniform, so half the draws below 4
    theta = space.draw(4000, rng=np.random.default_rng(5))[:, i]
    assert abs((theta < 4.0).mean() - 0.5) < 0.03
    assert theta.min() >= 2.0
    assert theta.max() <= 8.0


def test_one_at_a_time_rescales_siblings_as_with_value(priors, space):
    pid = priors.get(
        "findings", node="onset", kind="link", parent="stroke", state="sudden"
    ).param_id
    i = space.index(pid)
    theta = space.one_at_a_time([i, i, space.index(AF)], [0.6, 0.2, 7.5])
    for row, (p, x) in zip(theta, ((pid, 0.6), (pid, 0.2), (AF, 7.5)), strict=True):
        variant = priors.with_value(p, x)
        np.testing.assert_allclose(row, [n.value for n in variant.numbers], rtol=0, atol=1e-15)
    assert theta[0, space.siblings_of(i)].sum() == pytest.approx(0.4, abs=1e-15)
    others = np.setdiff1d(np.arange(space.n_numbers), [i, *space.siblings_of(i)])
    np.testing.assert_array_equal(theta[:2, others], np.tile(space.values[others], (2, 1)))


# --------------------------------------------------------------------------- expansion
def test_expansion_at_the_point_values_is_priorset_expand_bit_for_bit(priors, space):
    batch = space.expand(space.values)
    for x in priors.expand():
        name = x.variable if isinstance(x, CPT) else x.node
        want = x.values if isinstance(x, CPT) else np.vstack([x.leak[None], x.links])
        assert batch[name].shape == (1, *want.shape)
        assert np.array_equal(batch[name][0], want), name
        assert np.array_equal(space.base_values[name], want), name
        assert type(space.base[name]) is type(x)


def test_each_batch_row_is_priorset_expand_of_that_variant(priors, space):
    theta = space.draw(3, rng=np.random.default_rng(7))
    batch = space.expand(theta)
    for b in range(len(theta)):
        net = _variant(priors, theta[b]).network()
        for t in net.tables:
            assert np.array_equal(batch[t.variable][b], t.values), (b, t.variable)
        for f in net.findings:
            assert np.array_equal(batch[f.node][b, 0], f.leak), (b, f.node)
            assert np.array_equal(batch[f.node][b, 1:], f.links), (b, f.node)


# --------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("call", "error", "match"),
    [
        (lambda s: s.index("nope"), UnknownNameError, r"unknown param_id 'nope'"),
        (
            lambda s: s.expand(np.zeros((2, 3))),
            InvalidArgumentError,
            r"expected theta of shape \(B, \d+\). Got \(2, 3\) instead",
        ),
        (lambda s: s.expand(s.values, nodes=["onsett"]), UnknownNameError, r"unknown node"),
        (lambda s: s.one_at_a_time([0, 1], [0.5]), InvalidArgumentError, r"1-d sequences"),
        (
            lambda s: s.draw(0, rng=np.random.default_rng(0)),
            InvalidArgumentError,
            r"n as an int >= 1. Got 0 instead",
        ),
        (
            lambda s: s.one_at_a_time([s.index(AF)], [0.0]),
            InvalidArgumentError,
            r"odds_ratio.*: an odds ratio must be a finite number > 0",
        ),
    ],
)
def test_errors(space, call, error, match):
    with pytest.raises(error, match=match):
        call(space)


@pytest.mark.parametrize("x", [0.0, 1.0, 1e-17, 1 - 1e-12, float("nan")])
def test_one_at_a_time_rejects_unusable_probabilities(space, x):
    with pytest.raises(
        InvalidArgumentError,
        match=r"a probability (must lie in \(0, 1\)|is too close to [01])\. Got .* instead; "
        r"probabilities must lie in \[1e-09, 1 - 1e-09\]",
    ):
        space.one_at_a_time([0], [x])


# --------------------------------------------------------------------------- properties
def _check_valid(space, theta):
    """Every variant expands to valid tables: distributions strictly inside (0, 1)."""
    batch = space.expand(theta)
    net = space.priors.network()
    for b in range(theta.shape[0]):
        variant = net.replace_values({node: arr[b] for node, arr in batch.items()})
        for t in variant.tables:
            np.testing.assert_allclose(t.values.sum(axis=0), 1.0, atol=1e-12, err_msg=t.variable)
            assert ((t.values > 0) & (t.values < 1)).all(), t.variable
        for f in variant.findings:
            stack = np.vstack([f.leak[None], f.links])
            np.testing.assert_allclose(stack.sum(axis=1), 1.0, atol=1e-12, err_msg=f.node)
            assert ((stack > 0) & (stack < 1)).all(), f.node
            table = f.table()
            np.testing.assert_allclose(table.sum(axis=0), 1.0, atol=1e-12, err_msg=f.node)
            assert (table >= 0).all(), f.node


@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 4))
def test_drawn_variants_expand_to_valid_tables(space, seed, n):
    _check_valid(space, space.draw(n, rng=np.random.default_rng(seed)))


@settings(max_examples=5, deadline=None)
@given(seed=st.integers(0, 2**32 - 1))
def test_drawn_variants_of_the_full_schema_expand_to_valid_tables(full_space, seed):
    _check_valid(full_space, full_space.draw(2, rng=np.random.default_rng(seed)))


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_one_number_anywhere_in_its_range_expands_as_priorset_does(priors, space, data):
    i = data.draw(st.integers(0, space.n_numbers - 1))
    x = data.draw(st.floats(float(space.low[i]), float(space.high[i])))
    node = space.node_of[i]
    got = space.expand(space.one_at_a_time([i], [x]), nodes=[node])[node][0]
    obj = priors.with_value(space.param_ids[i], x).expand_node(node)
    want = obj.values if isinstance(obj, CPT) else np.vstack([obj.leak[None], obj.links])
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    axis = 0 if isinstance(obj, CPT) else 1
    np.testing.assert_allclose(got.sum(axis=axis), 1.0, rtol=0, atol=1e-12)
    assert ((got > 0) & (got < 1)).all()
