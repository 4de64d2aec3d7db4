"""Tests for legnumb.analysis.sensitivity: one-way (exact functions), robustness, across cases."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.analysis.sensitivity import (
    admissible_interval,
    decisive_numbers,
    fit_linear,
    one_way,
    parameter_space,
    relevant_nodes,
    robustness,
)
from legnumb.errors import EvidenceError, InputError
from legnumb.inference.independent import IndependentEngine
from legnumb.io.cases import case_evidence, load_cases, select_case
from legnumb.network.bayesnet import build_network, reference_query
from legnumb.network.parameters import ParameterSpace

#: Few findings, no history: baselines and odds ratios move several compatible cells.
SPARSE = {"onset": "sudden", "face_arm_or_speech": "yes"}


@pytest.fixture(scope="module")
def cases():
    return load_cases(None)


@pytest.fixture(scope="module")
def fragile(model, cases):
    """E16 (multiple sclerosis vs B12 deficiency): several numbers can flip the top cause."""
    return select_case(cases, "E16")


@pytest.fixture(scope="module")
def ow16(model, fragile):
    return one_way(model, fragile)


@pytest.fixture(scope="module")
def sparse(model):
    return one_way(model, SPARSE, case_id="sparse")


def _brute_force(model, param_id, x, evidence):
    """P(cause | evidence) for every cause with one number set to x: a fresh engine."""
    net = model.priors.with_value(param_id, x).network()
    eng = IndependentEngine.from_network(net)
    res = eng.query(eng.encode([evidence]), targets=list(model.causes))
    return pd.Series({c: res.marginals[c][0, 1] for c in model.causes})


def _pgmpy(model, param_id, x, evidence):
    """The same with pgmpy's variable elimination on the divorced network."""
    bn = build_network(model.priors.with_value(param_id, x).network().to_cpts())
    res = reference_query(bn, list(model.causes), evidence)
    return pd.Series({c: res[c][1] for c in model.causes})


# --------------------------------------------------------------------------- one-way
def test_one_way_table_holds_every_number(model, ow16):
    t = ow16.table
    assert len(t) == len(model.priors.numbers)
    assert set(t["param_id"]) == {n.param_id for n in model.priors.numbers}
    assert "P(shooting_pain | sciatica alone)" in set(t["label"])
    assert "OR(sciatica | obesity)" in set(t["label"])
    for col in ("label", "base", "low", "high", "p_low", "p_high", "swing", "source_kind"):
        assert col in t.columns
    assert t["swing"].is_monotonic_decreasing
    distinct = t[t["mirror_of"] == ""]
    assert (distinct["rank"] == np.arange(1, len(distinct) + 1)).all()
    assert ow16.case_id == "E16"
    assert ow16.target == ow16.top_cause == "multiple_sclerosis"


def test_sensitivity_function_matches_brute_force(model, fragile, ow16):
    """Probabilities: fitted from three evaluations; checked at a fourth point and at low."""
    ev = case_evidence(model.schema, fragile)
    t = ow16.table.set_index("param_id")
    probs = t[t["kind"].isin(["prior", "leak", "link"]) & t["relevant"]].head(3).index
    for param_id in [*ow16.top(3)["param_id"], *probs]:
        r = t.loc[param_id]
        x4 = 0.5 * (r.base + r.high) if r.kind == "odds_ratio" or r.high < 0.9 else 0.5 * r.base
        f = ow16.function(param_id)
        assert float(f(x4)) == pytest.approx(
            _brute_force(model, param_id, x4, ev)[ow16.target], abs=1e-9
        )
        assert r.p_low == pytest.approx(
            _brute_force(model, param_id, r.low, ev)[ow16.target], abs=1e-9
        )


@pytest.mark.parametrize(
    ("param_id", "xs"),
    [
        ("causes:stroke|baseline|=|present", (1e-6, 0.0003, 0.02, 0.6)),
        ("causes:stroke|odds_ratio|age_group=65_plus|present", (0.05, 3.0, 60.0, 5e3)),
        ("causes:anxiety_related|odds_ratio|sex=male|present", (0.1, 2.5)),
    ],
)
def test_logistic_functions_are_exact_in_the_cells(model, sparse, param_id, xs):
    """Baselines and odds ratios with unobserved parents: not linear-fractional, yet exact."""
    r = sparse.table.set_index("param_id").loc[param_id]
    assert not r.linear_fractional
    assert np.isnan([r.a, r.b, r.g, r.d, r.fit_error]).all()
    for cause in ("stroke", "anxiety_related"):
        f = sparse.function(param_id, cause=cause)
        assert f.scale == ("log" if r.kind == "odds_ratio" else "logit")
        assert not f.linear_fractional
        got = f(np.array(xs))
        want = [_brute_force(model, param_id, x, SPARSE)[cause] for x in xs]
        np.testing.assert_allclose(got, want, atol=1e-9, rtol=0)
    assert r.p_high == pytest.approx(_pgmpy(model, param_id, r.high, SPARSE)["stroke"], abs=1e-9)


def test_logistic_numbers_with_observed_parents_are_linear_fractional(model, fragile, ow16):
    """Every risk factor observed: a baseline or odds ratio moves one cell, a Möbius map."""
    ev = case_evidence(model.schema, fragile)
    t = ow16.table.set_index("param_id")
    pid = "causes:multiple_sclerosis|baseline|=|present"
    r = t.loc[pid]
    assert r.linear_fractional
    assert r.fit_error < 1e-12
    f = ow16.function(pid)
    lf = type(f)(f.a, f.b, f.g, f.d)  # the a, b, g, d alone
    for x in (1e-4, 0.3, 0.9):
        want = _brute_force(model, pid, x, ev)[ow16.target]
        assert float(lf(x)) == pytest.approx(want, abs=1e-9)
        assert float(f(x)) == pytest.approx(want, abs=1e-9)
    # an odds ratio of a parent state that is not observed moves no compatible cell
    other = "causes:multiple_sclerosis|odds_ratio|sex=male|present"
    assert t.loc[other, "linear_fractional"]
    assert t.loc[other, "swing"] == 0.0
    kinds = t[t["kind"].isin(["prior", "leak", "link"])]
    assert kinds["linear_fractional"].all()


def test_spanning_subset_equals_exhaustive(model, cases):
    row = select_case(cases, "E03")
    for case in (row, SPARSE):
        fast = one_way(model, case)
        slow = one_way(model, case, exhaustive=True)
        assert fast.n_evaluated < slow.n_evaluated / 2
        a = fast.table.set_index("param_id")
        b = slow.table.set_index("param_id").loc[a.index]
        for col in ("p_low", "p_high", "a", "b", "g", "d", "x_down", "x_up"):
            np.testing.assert_allclose(a[col], b[col], atol=1e-11, rtol=1e-9)
        assert (a["top_down"] == b["top_down"]).all()
        assert slow.table["fit_error"].max() < 1e-9  # three evaluations lie on one function


def test_admissible_deviation_is_where_the_top_cause_changes(model, fragile, ow16, sparse):
    """Both kinds: a linear-fractional crossing (E16) and a grid-and-root one (sparse)."""
    ev = case_evidence(model.schema, fragile)
    checked = set()
    for ow, evidence in ((ow16, ev), (sparse, SPARSE)):
        t = ow.table
        for lf in (True, False):
            dec = t[t["decisive"] & (t["linear_fractional"] == lf)]
            if dec.empty:
                continue
            r = dec.iloc[0]
            checked.add((r.kind in ("baseline", "odds_ratio"), lf))
            x, other = (r.x_up, r.top_up) if np.isfinite(r.x_up) else (r.x_down, r.top_down)
            step = 0.02 * abs(x - r.base)
            beyond = x + step if x > r.base else x - step
            inside = x - step if x > r.base else x + step
            assert _brute_force(model, r.param_id, beyond, evidence).idxmax() == other
            assert _brute_force(model, r.param_id, inside, evidence).idxmax() == ow.top_cause
            # at the crossing the two posteriors tie
            at = _brute_force(model, r.param_id, x, evidence)
            assert at[other] == pytest.approx(at[ow.top_cause], abs=1e-9)
    assert (True, False) in checked
    assert any(lf for _, lf in checked)


def test_odds_ratio_crossing_on_the_log_scale(model, sparse):
    t = sparse.table.set_index("param_id")
    r = t.loc["causes:stroke|odds_ratio|age_group=65_plus|present"]
    assert r.decisive
    assert r.low < r.x_down < r.base  # stroke stops being the top cause inside the range
    at = _brute_force(model, r.name, r.x_down, SPARSE)
    assert at[r.top_down] == pytest.approx(at["stroke"], abs=1e-9)


def test_numbers_of_unobserved_findings_cannot_matter(model):
    case = {"onset": "sudden", "face_arm_or_speech": "yes"}
    ow = one_way(model, case, case_id="few")
    t = ow.table.set_index("param_id")
    dead = t[t["node"] == "weakness"]
    assert not dead["relevant"].any()
    assert (dead["swing"] == 0).all()
    assert "weakness" not in relevant_nodes(model, case_evidence(model.schema, case))
    assert t.loc[t["node"] == "onset", "relevant"].all()


def test_target_other_than_top(model, fragile):
    ow = one_way(model, fragile, target="b12_deficiency")
    assert ow.target == "b12_deficiency"
    assert ow.top_cause == "multiple_sclerosis"
    assert ow.table["p_base"].iloc[0] == pytest.approx(ow.posterior["b12_deficiency"])


def test_unknown_target_suggests_the_closest_cause(model, fragile):
    with pytest.raises(InputError, match="did you mean 'sciatica'"):
        one_way(model, fragile, target="sciatic")
    with pytest.raises(InputError, match="unknown target cause 'xyz'"):
        robustness(model, fragile, target="xyz", n_draws=2)


def test_bad_evidence_is_an_evidence_error(model):
    with pytest.raises(EvidenceError, match="allowed: one_leg, both_legs"):
        one_way(model, {"laterality": "three_legs"})


# --------------------------------------------------------------------------- pure parts
@settings(max_examples=60, deadline=None)
@given(
    st.floats(0.05, 0.95),
    st.lists(st.tuples(st.floats(-3, 3), st.floats(0.01, 3)), min_size=2, max_size=6),
)
def test_admissible_interval_brackets_the_top_cause(x0, lines):
    slope = np.array([[s for s, _ in lines]])
    intercept = np.array([[b for _, b in lines]])
    num = slope[0] * x0 + intercept[0]
    if (num <= 0).any():
        intercept = intercept - min(0.0, num.min()) + 0.01
        num = slope[0] * x0 + intercept[0]
    top = int(np.argmax(num))
    x_down, x_up, to_down, to_up = admissible_interval(np.array([x0]), slope, intercept, top)
    lo = x_down[0] if np.isfinite(x_down[0]) else 0.0
    hi = x_up[0] if np.isfinite(x_up[0]) else 1.0
    for x in np.linspace(lo, hi, 9)[1:-1]:
        assert np.argmax(slope[0] * x + intercept[0]) == top or np.isclose(
            np.sort(slope[0] * x + intercept[0])[-2], (slope[0] * x + intercept[0]).max()
        )
    for xc, to in ((x_down[0], to_down[0]), (x_up[0], to_up[0])):
        if np.isfinite(xc):
            assert slope[0, to] * xc + intercept[0, to] == pytest.approx(
                slope[0, top] * xc + intercept[0, top], abs=1e-9
            )


@settings(max_examples=40, deadline=None)
@given(
    st.floats(-5, 5),
    st.floats(-5, 5),
    st.lists(st.floats(0.001, 0.999), min_size=3, max_size=3, unique=True),
)
def test_fit_linear_recovers_a_line(a, b, xs):
    x = np.array(xs)
    slope, intercept = fit_linear(x, a * x + b)
    assert float(slope) == pytest.approx(a, abs=1e-8)
    assert float(intercept) == pytest.approx(b, abs=1e-8)


# --------------------------------------------------------------------------- variants
@settings(max_examples=25, deadline=None)
@given(st.data())
def test_batched_expansion_equals_priorset_expand(model, data):
    space = parameter_space(model)
    i = data.draw(st.integers(0, space.n_numbers - 1))
    x = data.draw(st.floats(0.01, 0.99))
    pid = space.param_ids[i]
    node = space.node_of[i]
    want = model.priors.with_value(pid, x).expand_node(node)
    want = want.values if hasattr(want, "values") else np.vstack([want.leak, want.links])
    got = space.expand(space.one_at_a_time([i], [x]), nodes=[node])[node][0]
    np.testing.assert_allclose(got, want, rtol=0, atol=1e-14)


def test_draw_scheme(model):
    space = ParameterSpace.from_priors(model.priors)
    theta = space.draw(400, rng=np.random.default_rng(0))
    again = space.draw(400, rng=np.random.default_rng(0))
    np.testing.assert_array_equal(theta, again)
    free = space.group < 0
    assert ((theta[:, free] >= space.low[free]) & (theta[:, free] <= space.high[free])).all()
    for g in np.unique(space.group[~free]):
        members = np.flatnonzero(space.group == g)
        np.testing.assert_allclose(theta[:, members].sum(axis=1), 1.0, atol=1e-12)
        if len(members) == 2:  # complementary ranges: both stay in range
            assert space.in_range(theta)[:, members].all()
    assert space.in_range(theta).mean() > 0.95
    ratio = space.is_ratio & (space.high > space.low)  # log-uniform: median at the log middle
    mid = 0.5 * (np.log(space.low[ratio]) + np.log(space.high[ratio]))
    half = 0.5 * (np.log(space.high[ratio]) - np.log(space.low[ratio]))
    assert np.abs((np.median(np.log(theta[:, ratio]), axis=0) - mid) / half).max() < 0.25
    with pytest.raises(ValueError, match="n as an int >= 1"):
        space.draw(0, rng=np.random.default_rng(0))


def test_one_at_a_time_rejects_non_probabilities(model):
    space = parameter_space(model)
    with pytest.raises(ValueError, match=r"must lie in \(0, 1\)"):
        space.one_at_a_time([0], [1.0])
    ratio = int(np.flatnonzero(space.is_ratio)[0])
    with pytest.raises(ValueError, match="an odds ratio must be a finite number > 0"):
        space.one_at_a_time([ratio], [0.0])


# --------------------------------------------------------------------------- robustness
def test_robustness_is_seeded_and_summarized(model, fragile):
    a = robustness(model, fragile, n_draws=60, seed=7)
    b = robustness(model, fragile, n_draws=60, seed=7)
    c = robustness(model, fragile, n_draws=60, seed=8)
    pd.testing.assert_frame_equal(a.draws, b.draws)
    assert not np.allclose(a.draws["posterior"], c.draws["posterior"])
    assert len(a.draws) == 60 * len(model.causes)
    assert set(a.summary["cause"]) == set(model.causes)
    assert a.summary["top_share"].sum() == pytest.approx(1.0)
    share = a.summary.set_index("cause").loc[a.top_cause, "top_share"]
    assert a.stability == pytest.approx(share)
    assert 0.3 < a.stability < 0.8  # E16 is a near tie
    assert 0.9 < a.in_range <= 1.0


def test_mirror_images_of_two_state_distributions_count_once(model, ow16, sparse):
    """P(sex=male) = 1 - P(sex=female): one number, shown and counted once."""
    space = parameter_space(model)
    t = ow16.table.set_index("param_id")
    male, female = "history:sex|prior|=|male", "history:sex|prior|=|female"
    assert t.loc[male, "mirror_of"] == female
    assert t.loc[female, "mirror_of"] == ""
    assert t.loc[male, "rank"] == t.loc[female, "rank"]
    assert t.loc[male, "swing"] == pytest.approx(t.loc[female, "swing"], abs=1e-12)
    pairs = sum(
        1 for g in np.unique(space.group[space.group >= 0]) if (space.group == g).sum() == 2
    )
    assert (ow16.table["mirror_of"] != "").sum() == pairs > 0
    # the tornado's numbers hold no pair: no two rows of one two-state distribution
    top = ow16.top(40)
    assert (top["mirror_of"] == "").all()
    sizes = np.bincount(space.group[space.group >= 0])
    groups = [space.group[space.index(p)] for p in top["param_id"]]
    two = [g for g in groups if g >= 0 and sizes[g] == 2]
    assert two
    assert len(two) == len(set(two))
    assert len(ow16.top(40, mirrors=True)) == 40
    assert ow16.n_decisive == int(ow16.numbers["decisive"].sum())
    for ow in (ow16, sparse):  # a decisive pair counts once, as its first number
        t = ow.table.set_index("param_id")
        mirrors = t[(t["mirror_of"] != "") & t["decisive"]]
        assert t.loc[mirrors["mirror_of"], "decisive"].all()
        assert ow.n_decisive == int(t["decisive"].sum()) - len(mirrors)


def test_decisive_numbers_across_cases(model, cases, ow16):
    other = one_way(model, select_case(cases, "E03"))
    table = decisive_numbers([ow16, other])
    assert len(table) == len(ow16.numbers) < len(model.priors.numbers)
    assert (table["cases"] == 2).all()
    first = table.iloc[0]
    assert first["decisive"] >= 1
    assert "E16" in first["decisive_cases"]
    assert table["decisive"].is_monotonic_decreasing
