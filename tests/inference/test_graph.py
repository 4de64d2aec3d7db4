"""Tests for legnumb.inference.graph: triangulation and junction trees on small graphs."""

from __future__ import annotations

import itertools

import pytest

from legnumb.errors import EngineError
from legnumb.inference.graph import (
    _check_acyclic,
    _check_running_intersection,
    _junction_tree,
    _triangulate,
)


def _cycle(n: int) -> dict[int, set[int]]:
    return {i: {(i - 1) % n, (i + 1) % n} for i in range(n)}


def _is_chordal_cover(adj, cliques) -> bool:
    # every edge lies in some clique
    return all(any({a, b} <= c for c in cliques) for a in adj for b in adj[a])


@pytest.mark.parametrize("n", [4, 5, 6])
def test_a_cycle_triangulates_into_triangles(n):
    adj = _cycle(n)
    cliques = _triangulate(adj, [2] * n)
    assert _is_chordal_cover(adj, cliques)
    assert max(len(c) for c in cliques) == 3  # a chordless cycle needs width 2
    assert len(cliques) == n - 2


def test_junction_tree_has_the_running_intersection_property():
    adj = {0: {1, 2}, 1: {0, 2, 3}, 2: {0, 1, 4}, 3: {1, 4}, 4: {2, 3}}
    cliques = _triangulate(adj, [2, 3, 2, 4, 2])
    tree = _junction_tree(cliques, [2, 3, 2, 4, 2])
    assert sum(len(nb) for nb in tree) == 2 * (len(cliques) - 1)  # a tree
    _check_running_intersection(cliques, tree)  # raises when violated


def test_running_intersection_violation_is_an_engine_error():
    cliques = [frozenset({0, 1}), frozenset({2, 3}), frozenset({1, 3})]
    chain = [[1], [0, 2], [1]]  # {0,1} - {2,3} - {1,3}: 1 skips the middle clique
    with pytest.raises(EngineError, match="running intersection"):
        _check_running_intersection(cliques, chain)


def test_a_directed_cycle_is_named():
    names = ["a", "b", "c"]
    scopes = [(0, 2), (1, 0), (2, 1)]  # a <- c, b <- a, c <- b
    children = [[] for _ in names]
    for v, scope in enumerate(scopes):
        for p in scope[1:]:
            children[p].append(v)
    with pytest.raises(EngineError, match="cycle"):
        _check_acyclic(names, scopes, children)


def test_complete_graph_is_one_clique():
    n = 4
    adj = {i: {j for j in range(n) if j != i} for i in range(n)}
    assert _triangulate(adj, [2] * n) == [frozenset(range(n))]
    assert all(
        any({a, b} <= c for c in _triangulate(adj, [2] * n))
        for a, b in itertools.combinations(range(n), 2)
    )
