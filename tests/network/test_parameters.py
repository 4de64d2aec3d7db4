"""Tests for legnumb.network.parameters: ParameterSpace and the one CPT expansion."""

from __future__ import annotations

import csv
import shutil
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.errors import InvalidArgumentError, UnknownNameError
from legnumb.network.parameters import ParameterSpace
from legnumb.network.priors import PriorSet, load_priors, shipped_priors_dir


@pytest.fixture(scope="module")
def priors() -> PriorSet:
    return load_priors()


@pytest.fixture(scope="module")
def space(priors) -> ParameterSpace:
    return ParameterSpace.from_priors(priors)


def _variant(priors: PriorSet, theta_row: np.ndarray) -> PriorSet:
    """The priors with every number set to ``theta_row`` (no sibling rescaling)."""
    numbers = tuple(
        replace(n, value=float(x)) for n, x in zip(priors.numbers, theta_row, strict=True)
    )
    return PriorSet(numbers, priors.sources, priors.schema, priors.sha256)


# --------------------------------------------------------------------------- layout
def test_vectors_follow_priors_numbers(priors, space):
    assert space.n_numbers == len(priors.numbers)
    assert space.param_ids == tuple(n.param_id for n in priors.numbers)
    np.testing.assert_array_equal(space.values, [n.value for n in priors.numbers])
    assert space.nodes == priors.schema.nodes
    for i in (0, 100, space.n_numbers - 1):
        assert space.index(space.param_ids[i]) == i
        assert i in space.numbers_of(space.node_of[i])


def test_groups_are_the_distributions_of_priorset_siblings(priors, space):
    for i, n in enumerate(priors.numbers):
        sibs = {space.param_ids[j] for j in space.siblings_of(i)}
        assert sibs == {m.param_id for m in priors.siblings(n.param_id)}, n.param_id
        assert (space.group[i] >= 0) == bool(sibs)


# --------------------------------------------------------------------------- variants
def test_draws_stay_in_range_and_distributions_sum_to_one(space):
    theta = space.draw(300, rng=np.random.default_rng(1))
    np.testing.assert_array_equal(theta, space.draw(300, rng=np.random.default_rng(1)))
    free = space.group < 0
    assert ((theta[:, free] >= space.low[free]) & (theta[:, free] <= space.high[free])).all()
    for g in np.unique(space.group[~free]):
        members = np.flatnonzero(space.group == g)
        np.testing.assert_allclose(theta[:, members].sum(axis=1), 1.0, atol=1e-12)
        if len(members) == 2:
            np.testing.assert_array_equal(theta[:, members[1]], 1.0 - theta[:, members[0]])
    assert space.in_range(theta).mean() > 0.95


def test_one_at_a_time_rescales_siblings_as_with_value(priors, space):
    pid = priors.get(
        "findings", node="laterality", kind="link", parent="sciatica", state="one_leg"
    ).param_id
    i = space.index(pid)
    theta = space.one_at_a_time([i, i], [0.6, 0.2])
    for row, x in zip(theta, (0.6, 0.2), strict=True):
        variant = priors.with_value(pid, x)
        np.testing.assert_allclose(row, [n.value for n in variant.numbers], rtol=0, atol=1e-15)
        assert row[i] == x
        assert row[space.siblings_of(i)].sum() == pytest.approx(1 - x, abs=1e-15)
    others = np.setdiff1d(np.arange(space.n_numbers), [i, *space.siblings_of(i)])
    np.testing.assert_array_equal(theta[:, others], np.tile(space.values[others], (2, 1)))


# --------------------------------------------------------------------------- expansion
def test_expansion_at_the_point_values_is_priorset_expand_bit_for_bit(priors, space):
    batch = space.expand(space.values)
    for cpt in priors.expand():
        assert batch[cpt.variable].shape == (1, *cpt.values.shape)
        assert np.array_equal(batch[cpt.variable][0], cpt.values), cpt.variable
        assert np.array_equal(space.base_cpts[cpt.variable].values, cpt.values)


def test_each_batch_row_is_priorset_expand_of_that_variant(priors, space):
    theta = space.draw(3, rng=np.random.default_rng(7))
    batch = space.expand(theta)
    for b in range(len(theta)):
        for cpt in _variant(priors, theta[b]).expand():
            assert np.array_equal(batch[cpt.variable][b], cpt.values), (b, cpt.variable)


def _by_hand(nums, cpt, node, state, given_):
    """One cell, computed as ``priors/README.md`` states it, in file and parent order."""
    kinds = {n.kind for n in nums}
    if "prior" in kinds:
        ps = next(iter(given_.values()), "")
        return next(n.value for n in nums if n.state == state and n.parent_state == ps)
    if "leak_weight" not in kinds:  # noisy-OR: P(off) = (1 - leak) * prod (1 - active link)
        q = 1.0 - next(n.value for n in nums if n.kind == "leak")
        for n in nums:
            if n.kind == "link" and given_[n.parent] == n.parent_state:
                q *= 1.0 - n.value
        return 1.0 - q if state in ("yes", "present") else q
    # mixture: (1 - w) * mean of the present causes' distributions + w * leak
    leak = next(n.value for n in nums if n.kind == "leak" and n.state == state)
    w = next(n.value for n in nums if n.kind == "leak_weight")
    link = {n.parent: n.value for n in nums if n.kind == "link" and n.state == state}
    on = [p for p in cpt.parents if given_[p] == "present"]
    if not on:
        return leak
    total = 0.0
    for p in on:
        total += link[p]
    return (1.0 - w) * (total / len(on)) + w * leak


def test_expansion_follows_the_readme_formulas_cell_by_cell(priors, space):
    """Sampled cells of every node, computed one by one; equal bit for bit."""
    rng = np.random.default_rng(11)
    theta = space.draw(1, rng=rng)[0]
    batch = space.expand(theta)
    variant = _variant(priors, theta)
    for node, cpt in space.base_cpts.items():
        nums = [n for n in variant.numbers if n.node == node]
        for _ in range(40):
            cell = tuple(int(rng.integers(k)) for k in cpt.values.shape)
            state = cpt.states[node][cell[0]]
            given_ = {p: cpt.states[p][c] for p, c in zip(cpt.parents, cell[1:], strict=True)}
            got = batch[node][(0, *cell)]
            want = _by_hand(nums, cpt, node, state, given_)
            assert got == want, (node, cell, got, want)


def test_observed_mixture_rows_are_exact_and_columns_stay_distributions(space):
    theta = space.draw(4, rng=np.random.default_rng(3))
    for node in ("distribution", "onset", "relieved_by"):
        full = space.expand(theta, nodes=[node])[node]
        for o, state in enumerate(space.base_cpts[node].states[node]):
            eq = space.expand(theta, nodes=[node], observed={node: state})[node]
            np.testing.assert_array_equal(eq[:, o], full[:, o])
            np.testing.assert_allclose(eq.sum(axis=1), 1.0, atol=1e-12)


def _without_links(tmp_path: Path, node: str) -> Path:
    """A copy of the shipped priors in which ``node`` has no link rows (no parents)."""
    dest = tmp_path / "priors"
    shutil.copytree(
        shipped_priors_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py")
    )
    path = dest / "findings.csv"
    with path.open(newline="", encoding="utf-8") as f:
        rows = list(csv.DictReader(f))
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]), lineterminator="\n")
        w.writeheader()
        w.writerows(r for r in rows if not (r["node"] == node and r["kind"] == "link"))
    return dest


def test_mixture_node_without_parent_causes_is_its_leak(tmp_path):
    priors = load_priors(_without_links(tmp_path, "onset"))
    cpt = priors.expand_node("onset")
    assert cpt.parents == ()
    leak = [priors.get("findings", node="onset", kind="leak", state=s) for s in cpt.states["onset"]]
    np.testing.assert_array_equal(cpt.values, [n.value for n in leak])
    space = ParameterSpace.from_priors(priors)
    theta = space.draw(2, rng=np.random.default_rng(0))
    obs = space.expand(theta, nodes=["onset"], observed={"onset": "sudden"})["onset"]
    np.testing.assert_array_equal(obs[:, 0], theta[:, space.index(leak[0].param_id)])


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
        (
            lambda s: s.expand(s.values, nodes=["onsett"]),
            UnknownNameError,
            r"unknown node 'onsett'",
        ),
        (
            lambda s: s.expand(s.values, nodes=["onset"], observed={"onset": "slow"}),
            UnknownNameError,
            r"unknown state 'slow' of onset; expected one of sudden, gradual",
        ),
        (
            lambda s: s.one_at_a_time([0, 1], [0.5]),
            InvalidArgumentError,
            r"1-d sequences of one length",
        ),
        (
            lambda s: s.draw(0, rng=np.random.default_rng(0)),
            InvalidArgumentError,
            r"n as an int >= 1. Got 0 instead",
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
@settings(max_examples=20, deadline=None)
@given(seed=st.integers(0, 2**32 - 1), n=st.integers(1, 8))
def test_admissible_vectors_give_distributions_strictly_inside_0_1(space, seed, n):
    theta = space.draw(n, rng=np.random.default_rng(seed))
    for node, cpts in space.expand(theta).items():
        np.testing.assert_allclose(cpts.sum(axis=1), 1.0, rtol=0, atol=1e-12, err_msg=node)
        assert ((cpts > 0) & (cpts < 1)).all(), node


@settings(max_examples=25, deadline=None)
@given(data=st.data())
def test_one_number_anywhere_in_its_range_expands_as_priorset_does(priors, space, data):
    i = data.draw(st.integers(0, space.n_numbers - 1))
    x = data.draw(st.floats(float(space.low[i]), float(space.high[i])))
    node = space.node_of[i]
    got = space.expand(space.one_at_a_time([i], [x]), nodes=[node])[node][0]
    want = priors.with_value(space.param_ids[i], x).expand_node(node).values
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-15)
    np.testing.assert_allclose(got.sum(axis=0), 1.0, rtol=0, atol=1e-12)
    assert ((got > 0) & (got < 1)).all()
