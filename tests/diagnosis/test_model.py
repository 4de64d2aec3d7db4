"""Tests for model.core: the network, diagnose() against pgmpy, and a hand-computed tiny network."""

from __future__ import annotations

import shutil

import networkx as nx
import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgmpy.inference import VariableElimination

from legnumb import Diagnosis, EvidenceError, load_model
from legnumb.errors import InvalidArgumentError
from legnumb.inference.engine import Engine
from legnumb.network.bayesnet import build_network, reference_query
from legnumb.network.cpt import CPT
from legnumb.network.independent import AUX_SEPARATOR
from legnumb.network.priors import shipped_priors_dir
from legnumb.network.schema import load_schema

SCHEMA = load_schema()
COLUMNS = list(SCHEMA.columns)
N_COLUMNS = len(COLUMNS)


def test_tiny_network_posterior_by_hand():
    """Disease D (prior 0.01) -> test T (sens 0.9, false-positive 0.05)."""
    d = CPT("D", (), {"D": ("absent", "present")}, np.array([0.99, 0.01]))
    t = CPT(
        "T",
        ("D",),
        {"T": ("neg", "pos"), "D": ("absent", "present")},
        np.array([[0.95, 0.1], [0.05, 0.9]]),
    )
    # Bayes by hand: P(D | pos) = 0.01*0.9 / (0.01*0.9 + 0.99*0.05) = 0.009 / 0.0585
    expected = 0.009 / 0.0585
    bn = build_network([d, t])
    assert reference_query(bn, ["D"], {"T": "pos"})["D"][1] == pytest.approx(expected, abs=1e-12)
    eng = Engine.from_cpts([d, t])
    res = eng.query(eng.encode([{"T": "pos"}]), targets=["D"])
    assert res.marginals["D"][0, 1] == pytest.approx(expected, abs=1e-12)
    assert np.exp(res.log_evidence[0]) == pytest.approx(0.0585, abs=1e-12)


def _aux_nodes(model) -> set[str]:
    """The divorcing nodes of the noisy-MAX findings: ``<finding>_max1 ... _max{n-1}``."""
    return {
        f"{f.node}{AUX_SEPARATOR}{k}"
        for f in model.priors.network().findings
        for k in range(1, len(f.parents))
    }


def test_network_has_every_column_and_cause(model):
    bn = model.network
    assert bn.check_model()
    aux = _aux_nodes(model)
    assert len(aux) == 328
    assert set(bn.nodes()) == set(COLUMNS) | set(SCHEMA.causes) | aux
    for col, spec in SCHEMA.columns.items():
        assert tuple(bn.get_cpds(col).state_names[col]) == spec.states
    for cause in SCHEMA.causes:
        assert tuple(bn.get_cpds(cause).state_names[cause]) == ("absent", "present")
    assert model.causes == tuple(SCHEMA.causes)
    # the engine answers for contract nodes only
    assert set(model.engine.variables) == set(COLUMNS) | set(SCHEMA.causes)


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("diabetes", "diabetic_neuropathy"),
        ("diabetes", "peripheral_artery_disease"),
        ("smoker", "peripheral_artery_disease"),
        ("smoker", "stroke"),
        ("atrial_fibrillation", "stroke"),
        ("recent_immobility", "deep_vein_thrombosis"),
        # v2 keeps 4 parents per cause: the postpartum weeks (OR 84) replace pregnancy for DVT
        ("postpartum", "deep_vein_thrombosis"),
        ("previous_clot", "deep_vein_thrombosis"),
        ("cancer_history", "deep_vein_thrombosis"),
        ("pregnant", "meralgia_paresthetica"),
        ("age_group", "spinal_stenosis"),
        ("age_group", "peripheral_artery_disease"),
        ("age_group", "stroke"),
        ("heavy_alcohol", "alcoholic_neuropathy"),
        ("vegan_diet", "b12_deficiency"),
        ("recent_trauma", "leg_injury"),
    ],
)
def test_clinical_edges(model, parent, child):
    assert model.network.has_edge(parent, child)


def _finding_of(node: str) -> str:
    return node.rsplit(AUX_SEPARATOR, 1)[0]


def test_history_points_to_causes_and_causes_to_symptoms(model):
    aux = _aux_nodes(model)
    for u, v in model.network.edges():
        if v in SCHEMA.causes:
            assert u in SCHEMA.history
        elif v in SCHEMA.symptoms or v in aux:
            # a finding (or a link of its divorcing chain) hangs from causes and its own chain
            assert u in SCHEMA.causes or (u in aux and _finding_of(u) == _finding_of(v)), (u, v)
        else:
            assert (u, v) in {("sex", "pregnant"), ("sex", "postpartum")}


@pytest.mark.parametrize("finding", ["shooting_pain", "onset", "calf_swelling", "saddle_numbness"])
def test_a_finding_depends_on_exactly_its_causes(model, finding):
    """Through the divorcing chain, the causes above a finding are its noisy-MAX parents."""
    parents = model.priors.network().finding(finding).parents
    above = nx.ancestors(model.network, finding)
    assert above & set(SCHEMA.causes) == set(parents)
    assert all(model.network.out_degree(a) == 1 for a in above & _aux_nodes(model))


def test_diagnose_api(model):
    d = model.diagnose({"laterality": "one_leg", "onset": "sudden"})
    assert isinstance(d, Diagnosis)
    assert isinstance(d.posteriors, pd.Series)
    assert list(d.posteriors.index) == list(model.causes)
    assert d.triage in ("emergency", "urgent", "routine", "self_care")
    assert isinstance(d.red_flags, tuple)


def test_encode_takes_normalized_evidence_only(model):
    codes = model.encode([{"onset": "gradual", "weakness": "yes"}, {}])
    assert codes.shape == (2, N_COLUMNS)
    assert codes[0, COLUMNS.index("onset")] == SCHEMA.columns["onset"].states.index("gradual")
    assert (codes[1] == -1).all()
    with pytest.raises(
        InvalidArgumentError, match=r"expected normalized evidence. Got 'Onset': 'sudden'"
    ):
        model.encode([{"Onset": "sudden"}])
    with pytest.raises(InvalidArgumentError, match=r"Got 'weakness': 'Y' instead"):
        model.encode([{"weakness": "Y"}])


def test_base_posteriors_are_the_same_from_given_rule_hits(model):
    codes = model.encode(
        [{"weakness": "yes", "onset": "gradual"}, {"face_arm_or_speech": "yes"}, {}]
    )
    post = model.posterior_matrix(codes)
    ok = np.array([True, True, False])
    hits = model.policy.hits(model.schema, codes)
    base = model.base_posteriors(codes, post, ok)
    np.testing.assert_array_equal(base, model.base_posteriors(codes, post, ok, hits=hits))
    assert np.isfinite(base[0]).all()  # a red-flag answer, not an emergency
    assert np.isnan(base[2]).all()  # not scored


def test_causes_can_co_occur(model):
    d = model.diagnose(
        {
            "diabetes": "yes",
            "smoker": "yes",
            "age_group": "65_plus",
            "distribution": "feet_and_toes",
            "laterality": "both_legs",
            "position_trigger": "walking",
            "relieved_by": "stopping_walking",
            "burning_pain": "yes",
            "cold_pale_foot": "yes",
        }
    )
    assert d.posteriors["diabetic_neuropathy"] > 0.5
    assert d.posteriors["peripheral_artery_disease"] > 0.5


def test_evidence_is_normalized_like_the_csv(model):
    a = model.diagnose({" Laterality ": " ONE_LEG ", "diabetes": "Y", "smoker": "0", "onset": ""})
    b = model.diagnose({"laterality": "one_leg", "diabetes": "yes", "smoker": "no"})
    assert a.evidence == b.evidence
    pd.testing.assert_series_equal(a.posteriors, b.posteriors)


def test_evidence_errors_are_reported_together(model):
    with pytest.raises(EvidenceError) as info:
        model.diagnose({"lateralty": "one_leg", "onset": "suddenly", "diabetes": "maybe"})
    text = str(info.value)
    assert len(info.value.problems) == 3
    assert "'lateralty': unknown column; did you mean 'laterality'?" in text
    assert (
        "column 'onset': Got 'suddenly' instead; allowed: sudden, over_hours, gradual; "
        "closest: 'sudden'" in text
    )
    assert "column 'diabetes': Got 'maybe' instead; allowed: yes, no" in text


def test_evidence_error_without_close_name_lists_columns(model):
    with pytest.raises(
        EvidenceError, match=r"'zzz': unknown column\. Known columns: age_group, sex"
    ):
        model.diagnose({"zzz": "1"})


def test_load_model_from_another_priors_dir(tmp_path):
    dest = tmp_path / "p"
    shutil.copytree(
        shipped_priors_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py")
    )
    text = (dest / "findings.csv").read_text()
    # the link and its x3 range (odds x/÷3 of 0.75 is 0.5 to 0.9; the loader checks it)
    old = "shooting_pain,link,yes,sciatica,present,0.85,0.6538,0.9444,x3,"
    assert old in text
    text = text.replace(old, "shooting_pain,link,yes,sciatica,present,0.75,0.5,0.9,x3,")
    (dest / "findings.csv").write_text(text)
    base, other = load_model(), load_model(dest)
    assert other.priors_hash != base.priors_hash
    ev = {"shooting_pain": "yes"}
    assert other.diagnose(ev).posteriors["sciatica"] < base.diagnose(ev).posteriors["sciatica"]


def _reference(model, ev: dict[str, str]) -> np.ndarray:
    infer = VariableElimination(model.network)
    out = []
    for c in model.causes:
        f = infer.query([c], evidence=ev, show_progress=False)
        out.append(f.get_value(**{c: "present"}))
    return np.array(out)


def _chain(infer, items: list[tuple[str, str]], given: dict[str, str]) -> float:
    """log P(items | given) by pgmpy, one variable at a time (the chain rule)."""
    known, total = dict(given), 0.0
    for var, state in items:
        f = infer.query([var], evidence=known, show_progress=False)
        total += np.log(f.get_value(**{var: state}))
        known[var] = state
    return total


def _reference_log_evidence_and_p_other(model, ev: dict[str, str]) -> tuple[float, float]:
    """log P(e) and P(every cause absent | e) by pgmpy's variable elimination."""
    infer = VariableElimination(model.network)
    log_evidence = _chain(infer, list(ev.items()), {})
    p_other = np.exp(_chain(infer, [(c, "absent") for c in model.causes], ev))
    return log_evidence, p_other


#: pgmpy's variable elimination is slow on the v2 network when many findings are observed
#: (about a minute for 15); history answers are cheap. The comparisons use few findings.
MAX_FINDINGS = 4


def evidence_sets(min_size=0, max_size=N_COLUMNS, columns=COLUMNS):
    """Hypothesis strategy: any valid combination of answers to ``columns``."""
    return st.lists(
        st.sampled_from(list(columns)), min_size=min_size, max_size=max_size, unique=True
    ).flatmap(
        lambda cols: st.fixed_dictionaries(
            {c: st.sampled_from(SCHEMA.columns[c].states) for c in cols}
        )
    )


YES_NO = [c for c in SCHEMA.symptoms if SCHEMA.columns[c].states == ("yes", "no")]
MULTI_STATE = [c for c in SCHEMA.symptoms if c not in YES_NO]


def few_findings():
    """Any history answers plus at most 3 yes/no findings and one multi-state finding.

    pgmpy's cost grows fast with the observed findings, most with multi-state ones (whose
    divorcing chains carry every state): this keeps each example under about 2 s.
    """
    return st.tuples(
        evidence_sets(columns=SCHEMA.history),
        evidence_sets(max_size=MAX_FINDINGS - 1, columns=YES_NO),
        evidence_sets(max_size=1, columns=MULTI_STATE),
    ).map(lambda parts: {k: v for part in parts for k, v in part.items()})


@settings(
    max_examples=10, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ev=few_findings())
def test_diagnose_agrees_with_pgmpy(model, ev):
    d = model.diagnose(ev)
    np.testing.assert_allclose(d.posteriors.to_numpy(), _reference(model, ev), rtol=0, atol=1e-9)


_RNG = np.random.default_rng(7)
#: Every history column answered (one random profile, a woman so pregnancy can be yes) plus
#: up to 4 findings, multi-state ones included; and the blank row.
_FULL_HISTORY = {
    h: SCHEMA.columns[h].states[_RNG.integers(len(SCHEMA.columns[h].states))]
    for h in SCHEMA.history
} | {"sex": "female"}
PGMPY_ROWS = [
    {},
    _FULL_HISTORY,
    _FULL_HISTORY | {"onset": "sudden", "weakness": "yes", "laterality": "one_leg"},
    {"calf_swelling": "yes", "recent_immobility": "yes", "postpartum": "yes"},
    {
        "age_group": "65_plus",
        "diabetes": "yes",
        "laterality": "both_legs",
        "burning_pain": "yes",
        "cold_pale_foot": "yes",
    },
    # two multi-state findings (several together make pgmpy take minutes)
    {"duration": "minutes", "relieved_by": "moving_or_shifting"},
]


@pytest.mark.parametrize("ev", PGMPY_ROWS, ids=[f"row{i}" for i in range(len(PGMPY_ROWS))])
def test_posteriors_log_evidence_and_p_other_cause_agree_with_pgmpy(model, ev):
    assert sum(c in SCHEMA.symptoms for c in ev) <= MAX_FINDINGS
    d = model.diagnose(ev)
    np.testing.assert_allclose(d.posteriors.to_numpy(), _reference(model, ev), atol=1e-9)
    log_evidence, p_other = _reference_log_evidence_and_p_other(model, ev)
    res = model.engine.query(model.engine.encode([ev]), targets=model.causes)
    assert res.log_evidence[0] == pytest.approx(log_evidence, abs=1e-9)
    # p_other_cause is P(every listed cause absent | row), not 1 - max or 1 - sum
    assert d.p_other_cause == pytest.approx(p_other, abs=1e-9)
    assert np.exp(res.log_none[0] - res.log_evidence[0]) == pytest.approx(p_other, abs=1e-9)
    assert d.n_findings == len(ev)


def test_p_other_cause_is_the_probability_that_no_cause_is_present(model):
    benign = model.diagnose(
        {"duration": "minutes", "position_trigger": "sitting", "relieved_by": "moving_or_shifting"}
    )
    stroke = model.diagnose({"onset": "sudden", "face_arm_or_speech": "yes", "weakness": "yes"})
    for d in (benign, stroke):
        assert 0.0 < d.p_other_cause < 1.0
        # no cause present is a subset of "this cause absent", for every cause
        assert d.p_other_cause <= (1.0 - d.posteriors).min() + 1e-12
    # three stroke signs are hard to explain by no listed cause at all
    assert stroke.p_other_cause < benign.p_other_cause


def test_n_findings_counts_the_answered_model_columns(model):
    assert model.diagnose({}).n_findings == 0
    d = model.diagnose({"Onset": " SUDDEN ", "diabetes": "y", "smoker": "", "weakness": "no"})
    assert d.n_findings == 3  # a blank cell is not an answer


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ev=evidence_sets())
def test_every_valid_combination_is_accepted_and_posteriors_are_probabilities(model, ev):
    d = model.diagnose(ev)
    p = d.posteriors.to_numpy()
    assert np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()
