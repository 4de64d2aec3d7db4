"""Tests for legnumb.network.bayesnet: CPTs to pgmpy and back, exact queries, BIF/XMLBIF files."""

from __future__ import annotations

import socket

import numpy as np
import pytest

from legnumb.errors import LegnumbError, NetworkError
from legnumb.network.bayesnet import (
    build_network,
    example_network,
    extract_tables,
    read_network,
    reference_query,
    write_network,
)
from legnumb.network.cpt import CPT

# Burglary and earthquake both set off the alarm (a v-structure, so "explaining away" shows).
# Burglary's states are listed yes-first on purpose: query results follow the table's order.
BURGLARY = CPT("burglary", (), {"burglary": ("yes", "no")}, np.array([0.1, 0.9]))
EARTHQUAKE = CPT("earthquake", (), {"earthquake": ("no", "yes")}, np.array([0.8, 0.2]))
ALARM = CPT(
    "alarm",
    ("burglary", "earthquake"),
    {"alarm": ("off", "on"), "burglary": ("yes", "no"), "earthquake": ("no", "yes")},
    # P(on | b, e):  b=yes,e=no 0.9   b=yes,e=yes 0.95   b=no,e=no 0.1   b=no,e=yes 0.5
    np.array([[[0.1, 0.05], [0.9, 0.5]], [[0.9, 0.95], [0.1, 0.5]]]),
)
TABLES = [ALARM, BURGLARY, EARTHQUAKE]  # children before parents: order must not matter


def _awkward_tables() -> list[CPT]:
    """Three nodes with probabilities that have no short decimal form (1/3, 1/7, random)."""
    rng = np.random.default_rng(2)
    a = CPT("a", (), {"a": ("lo", "mid", "hi")}, np.array([1 / 3, 1 / 7, 1 - 1 / 3 - 1 / 7]))
    b_vals = rng.dirichlet(np.ones(2), size=3).T
    b = CPT("b", ("a",), {"b": ("yes", "no"), "a": ("lo", "mid", "hi")}, b_vals)
    c_vals = rng.dirichlet(np.ones(2), size=6).T.reshape(2, 2, 3)
    c = CPT(
        "c", ("b", "a"), {"c": ("x", "y"), "b": ("yes", "no"), "a": ("lo", "mid", "hi")}, c_vals
    )
    return [a, b, c]


@pytest.fixture(scope="module")
def alarm_net():
    return build_network(TABLES)


def _same_tables(got: list[CPT], expected: list[CPT]) -> None:
    by_name = {t.variable: t for t in expected}
    assert sorted(t.variable for t in got) == sorted(by_name)
    for t in got:
        want = by_name[t.variable]
        assert t.parents == want.parents, t.variable
        assert t.states == want.states, t.variable
        np.testing.assert_array_equal(t.values, want.values, err_msg=t.variable)


# --------------------------------------------------------------------------- build and query
def test_build_network_checks_and_keeps_structure(alarm_net):
    assert alarm_net.check_model()
    assert set(alarm_net.edges()) == {("burglary", "alarm"), ("earthquake", "alarm")}
    assert alarm_net.get_cpds("burglary").state_names["burglary"] == ["yes", "no"]
    assert alarm_net.get_cpds("alarm").variables == ["alarm", "burglary", "earthquake"]


def test_posteriors_match_the_hand_computation(alarm_net):
    # P(on, b=yes) = 0.1 * (0.8*0.9 + 0.2*0.95) = 0.091
    # P(on, b=no)  = 0.9 * (0.8*0.1 + 0.2*0.5)  = 0.162     P(on) = 0.253
    p = reference_query(alarm_net, ["burglary", "earthquake"], {"alarm": "on"})
    np.testing.assert_allclose(p["burglary"], [0.091 / 0.253, 0.162 / 0.253], atol=1e-12)
    # P(on, e=yes) = 0.2 * (0.1*0.95 + 0.9*0.5) = 0.109
    np.testing.assert_allclose(p["earthquake"], [0.144 / 0.253, 0.109 / 0.253], atol=1e-12)
    # explaining away: an earthquake makes a burglary less likely given the alarm
    both = reference_query(alarm_net, ["burglary"], {"alarm": "on", "earthquake": "yes"})
    np.testing.assert_allclose(both["burglary"], [0.095 / 0.545, 0.45 / 0.545], atol=1e-12)
    # no evidence: the prior marginal of the alarm
    prior = reference_query(alarm_net, ["alarm"], {})
    np.testing.assert_allclose(prior["alarm"], [1 - 0.253, 0.253], atol=1e-12)


def test_build_network_rejects_bad_tables_with_a_network_error():
    bad = CPT("a", (), {"a": ("x", "y")}, np.array([0.5, 0.6]))
    with pytest.raises(NetworkError, match=r"pgmpy rejected the network: .*node a") as info:
        build_network([bad])
    assert isinstance(info.value.__cause__, ValueError)
    orphan = CPT("b", ("a",), {"b": ("x", "y"), "a": ("x", "y")}, np.eye(2))
    with pytest.raises(NetworkError, match="pgmpy rejected the network"):
        build_network([orphan])


def test_a_cycle_is_a_network_error():
    states = {"a": ("x", "y"), "b": ("x", "y")}
    with pytest.raises(NetworkError, match="pgmpy rejected the network"):
        build_network([CPT("a", ("b",), states, np.eye(2)), CPT("b", ("a",), states, np.eye(2))])


# --------------------------------------------------------------------------- tables
def test_extract_tables_returns_the_input_tables_parents_first(alarm_net):
    got = extract_tables(alarm_net)
    _same_tables(got, TABLES)
    order = [t.variable for t in got]
    assert order.index("alarm") > max(order.index("burglary"), order.index("earthquake"))


def test_extract_tables_keeps_parent_order_and_awkward_values():
    tables = _awkward_tables()
    _same_tables(extract_tables(build_network(tables)), tables)


# --------------------------------------------------------------------------- files
@pytest.mark.parametrize("fmt", ["bif", "xmlbif"])
def test_file_round_trip_gives_identical_posteriors(tmp_path, fmt):
    tables = _awkward_tables()
    bn = build_network(tables)
    path = write_network(bn, tmp_path / f"net.{fmt}", fmt=fmt)
    assert path == tmp_path / f"net.{fmt}"
    assert path.stat().st_size > 0
    back = read_network(path, fmt=fmt)
    assert back.check_model()
    assert set(back.edges()) == set(bn.edges())
    _same_tables(extract_tables(back), tables)
    for evidence in ({}, {"c": "y"}, {"c": "x", "b": "no"}):
        query = [v for v in ("a", "b", "c") if v not in evidence]
        want = reference_query(bn, query, evidence)
        got = reference_query(back, query, evidence)
        for var in want:
            np.testing.assert_array_equal(got[var], want[var], err_msg=f"{var} | {evidence}")


@pytest.mark.parametrize("fmt", ["json", "BIF", "", "net"])
def test_an_unknown_format_is_a_network_error(alarm_net, tmp_path, fmt):
    target = tmp_path / "net.out"
    allowed = r"format must be one of \('bif', 'xmlbif'\)\. Got " + repr(fmt) + " instead"
    with pytest.raises(NetworkError, match=allowed):
        write_network(alarm_net, target, fmt=fmt)
    assert not target.exists()
    with pytest.raises(NetworkError, match=allowed) as info:
        read_network(target, fmt=fmt)
    assert isinstance(info.value, LegnumbError)


# --------------------------------------------------------------------------- bundled networks
def test_example_network_loads_offline(monkeypatch):
    def no_network(*args, **kwargs):
        raise AssertionError("example_network tried to use the network")

    monkeypatch.setattr(socket.socket, "connect", no_network)
    monkeypatch.setattr(socket, "create_connection", no_network)
    monkeypatch.setattr(socket, "getaddrinfo", no_network)
    asia = example_network("asia")
    assert asia.check_model()
    assert set(asia.nodes()) == {"asia", "tub", "smoke", "lung", "bronc", "either", "xray", "dysp"}
    assert ("smoke", "lung") in asia.edges()
    # the bundled tables: P(lung = yes | smoke = yes) = 0.1 in the asia network
    lung = reference_query(asia, ["lung"], {"smoke": "yes"})["lung"]
    names = asia.get_cpds("lung").state_names["lung"]
    assert lung[names.index("yes")] == pytest.approx(0.1, abs=1e-12)
