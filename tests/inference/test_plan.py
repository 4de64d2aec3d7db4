"""Tests for legnumb.inference.plan: one compiled plan per evidence pattern."""

from __future__ import annotations

from legnumb.inference.engine import Engine
from legnumb.inference.plan import build_plan
from legnumb.network.bayesnet import example_network


def test_a_plan_covers_every_unsliced_factor_and_is_cached():
    eng = Engine.from_network(example_network("asia"))
    names = list(eng.variables)
    targets = tuple(range(len(names)))
    sliced = frozenset({names.index("smoke")})
    plan = build_plan(eng, sliced, frozenset(), targets, frozenset())
    assert plan.cliques  # at least one clique
    assert plan.sliced == sliced
    assert all(names.index("smoke") not in clique for clique in plan.cliques)
    assert sorted(plan.collect) == list(range(len(plan.cliques)))
    assert plan.distribute[0] == plan.root
    # the engine compiles a pattern once and reuses it
    first = eng._plan(sliced, frozenset(), targets, frozenset())
    assert eng._plan(sliced, frozenset(), targets, frozenset()) is first


def test_plans_give_the_same_posteriors_whatever_is_sliced():
    eng = Engine.from_network(example_network("asia"))
    rows = eng.encode([{"smoke": "yes", "xray": "yes"}, {"xray": "yes", "smoke": "yes"}])
    res = eng.query(rows, targets=["lung"])
    assert abs(res.marginals["lung"][0] - res.marginals["lung"][1]).max() < 1e-12
