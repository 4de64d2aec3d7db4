"""Tests for legnumb.network.cpt: the CPT class (shapes, state names, errors)."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.errors import InvalidArgumentError, InvalidTypeError, LegnumbError, UnknownNameError
from legnumb.network.cpt import CPT
from legnumb.network.independent import AUX_SEPARATOR, NoisyMax
from legnumb.network.priors import load_priors
from legnumb.network.schema import load_schema

FT = ("no", "yes")


@pytest.fixture
def wet() -> CPT:
    """P(wet | rain, sprinkler), a column per parent configuration."""
    values = np.array([[[0.99, 0.1], [0.2, 0.01]], [[0.01, 0.9], [0.8, 0.99]]])
    return CPT("wet", ("rain", "sprinkler"), {"wet": FT, "rain": FT, "sprinkler": FT}, values)


def test_axes_are_named_and_cells_addressed_by_state(wet):
    assert wet.scope == ("wet", "rain", "sprinkler")
    assert wet.values.shape == (2, 2, 2)
    assert wet.prob("yes", rain="yes", sprinkler="no") == 0.8
    assert wet.prob("no", sprinkler="yes", rain="no") == 0.1  # keyword order is free
    root = CPT("rain", (), {"rain": FT}, np.array([0.8, 0.2]))
    assert root.scope == ("rain",)
    assert root.prob("yes") == 0.2


def test_shipped_cpts_have_one_axis_per_scope_name_with_schema_states():
    """History and cause tables are CPTs; findings are noisy-MAX (checked the same way)."""
    schema = load_schema()
    objects = load_priors().expand()
    assert len(objects) == len(schema.nodes)
    for obj in objects:
        if isinstance(obj, NoisyMax):
            assert obj.node in schema.symptoms, obj.node
            assert obj.states == schema.states_of(obj.node), obj.node
            assert obj.leak.shape == (len(obj.states),), obj.node
            assert obj.links.shape == (len(obj.parents), len(obj.states)), obj.node
            assert set(obj.parents) <= set(schema.causes), obj.node
            parents = obj.parents
            name = obj.node
        else:
            assert obj.variable not in schema.symptoms, obj.variable
            assert obj.values.shape == tuple(len(obj.states[v]) for v in obj.scope), obj.variable
            assert set(obj.states) == set(obj.scope), obj.variable
            for v in obj.scope:
                assert obj.states[v] == schema.states_of(v), (obj.variable, v)
            parents = obj.parents
            name = obj.variable
        order = [schema.nodes.index(p) for p in parents]
        assert order == sorted(order), name  # parents in schema order


def test_shipped_divorced_tables_for_pgmpy_have_schema_or_finding_states():
    """Auxiliary ``<finding>_max<k>`` nodes carry the states of their finding, nothing new."""
    schema = load_schema()
    nodes = set(schema.nodes)
    for cpt in load_priors().network().to_cpts():
        assert cpt.values.shape == tuple(len(cpt.states[v]) for v in cpt.scope), cpt.variable
        np.testing.assert_allclose(cpt.values.sum(axis=0), 1.0, atol=1e-12)
        for v in cpt.scope:
            finding = v if v in nodes else v.rsplit(AUX_SEPARATOR, 1)[0]
            assert finding in nodes, (cpt.variable, v)
            assert set(cpt.states[v]) == set(schema.states_of(finding)), (cpt.variable, v)
        if cpt.variable not in nodes or cpt.variable in schema.symptoms:
            assert len(cpt.scope) <= 3, cpt.variable  # at most (S, S, 2) after divorcing


@pytest.mark.parametrize(
    ("args", "error", "match"),
    [
        (
            ("wet", ("rain",), {"wet": FT, "rain": FT}, np.full((2, 3), 0.5)),
            InvalidArgumentError,
            r"CPT of 'wet' must have shape \(2, 2\) \(variable, \*parents\). "
            r"Got shape \(2, 3\) instead",
        ),
        (
            ("wet", ("rain",), {"wet": FT}, np.full((2, 2), 0.5)),
            InvalidArgumentError,
            r"states must name the states of every axis; missing for rain",
        ),
        (
            ("wet", ("wet",), {"wet": FT}, np.full((2, 2), 0.5)),
            InvalidArgumentError,
            r"every axis needs its own name",
        ),
        (
            ("wet", (), {"wet": FT}, [0.5, 0.5]),
            InvalidTypeError,
            r"values must be a numpy array. Got list instead",
        ),
    ],
)
def test_construction_errors(args, error, match):
    with pytest.raises(error, match=match):
        CPT(*args)


@pytest.mark.parametrize(
    ("state", "parents", "error", "match"),
    [
        (
            "maybe",
            {"rain": "no", "sprinkler": "no"},
            UnknownNameError,
            r"unknown state 'maybe' of wet",
        ),
        ("yes", {"rain": "drizzle", "sprinkler": "no"}, UnknownNameError, r"'drizzle' of rain"),
        (
            "yes",
            {"rain": "no", "sprinkler": "no", "hail": "no"},
            UnknownNameError,
            r"hail: not a parent",
        ),
        (
            "yes",
            {"rain": "no"},
            InvalidArgumentError,
            r"needs the state of every parent; missing: sprinkler",
        ),
    ],
)
def test_prob_errors_name_what_is_wrong(wet, state, parents, error, match):
    with pytest.raises(error, match=match) as info:
        wet.prob(state, **parents)
    assert isinstance(info.value, LegnumbError)


@settings(max_examples=40, deadline=None)
@given(
    sizes=st.lists(st.integers(2, 4), min_size=1, max_size=4),
    seed=st.integers(0, 2**32 - 1),
)
def test_prob_reads_the_cell_its_state_names_address(sizes, seed):
    rng = np.random.default_rng(seed)
    scope = [f"v{i}" for i in range(len(sizes))]
    states = {v: tuple(f"{v}_s{j}" for j in range(k)) for v, k in zip(scope, sizes, strict=True)}
    raw = rng.uniform(0.1, 1.0, size=sizes)
    cpt = CPT(scope[0], tuple(scope[1:]), states, raw / raw.sum(axis=0))
    np.testing.assert_allclose(cpt.values.sum(axis=0), 1.0, atol=1e-12)
    cell = tuple(int(rng.integers(k)) for k in sizes)
    given_parents = {v: states[v][j] for v, j in zip(scope[1:], cell[1:], strict=True)}
    assert cpt.prob(states[scope[0]][cell[0]], **given_parents) == cpt.values[cell]
