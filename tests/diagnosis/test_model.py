"""Tests for model.core: the network, diagnose() against pgmpy, and a hand-computed tiny network."""

from __future__ import annotations

import shutil

import numpy as np
import pandas as pd
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pgmpy.inference import VariableElimination

from legnumb import Diagnosis, EvidenceError, load_model
from legnumb.inference.engine import Engine
from legnumb.network.bayesnet import build_network, reference_query
from legnumb.network.cpt import CPT
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


def test_network_has_every_column_and_cause(model):
    bn = model.network
    assert bn.check_model()
    assert set(bn.nodes()) == set(COLUMNS) | set(SCHEMA.causes)
    for col, spec in SCHEMA.columns.items():
        assert tuple(bn.get_cpds(col).state_names[col]) == spec.states
    for cause in SCHEMA.causes:
        assert tuple(bn.get_cpds(cause).state_names[cause]) == ("absent", "present")
    assert model.causes == tuple(SCHEMA.causes)


@pytest.mark.parametrize(
    ("parent", "child"),
    [
        ("diabetes", "diabetic_neuropathy"),
        ("diabetes", "peripheral_artery_disease"),
        ("smoker", "peripheral_artery_disease"),
        ("smoker", "stroke"),
        ("recent_immobility", "deep_vein_thrombosis"),
        ("pregnant", "deep_vein_thrombosis"),
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


def test_history_points_to_causes_and_causes_to_symptoms(model):
    for u, v in model.network.edges():
        if v in SCHEMA.causes:
            assert u in SCHEMA.history
        elif v in SCHEMA.symptoms:
            assert u in SCHEMA.causes
        else:
            assert (u, v) == ("sex", "pregnant")


def test_diagnose_api(model):
    d = model.diagnose({"laterality": "one_leg", "onset": "sudden"})
    assert isinstance(d, Diagnosis)
    assert isinstance(d.posteriors, pd.Series)
    assert list(d.posteriors.index) == list(model.causes)
    assert d.triage in ("emergency", "urgent", "routine", "self_care")
    assert isinstance(d.red_flags, tuple)


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
        "column 'onset': Got 'suddenly' instead; allowed: sudden, gradual; closest: 'sudden'"
        in text
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
    text = text.replace(
        "shooting_pain,link,yes,sciatica,present,0.85,",
        "shooting_pain,link,yes,sciatica,present,0.75,",
    )
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


def evidence_sets(min_size=0, max_size=N_COLUMNS):
    """Hypothesis strategy: any valid combination of findings."""
    return st.lists(
        st.sampled_from(COLUMNS), min_size=min_size, max_size=max_size, unique=True
    ).flatmap(
        lambda cols: st.fixed_dictionaries(
            {c: st.sampled_from(SCHEMA.columns[c].states) for c in cols}
        )
    )


@settings(
    max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ev=evidence_sets(max_size=12))
def test_diagnose_agrees_with_pgmpy(model, ev):
    d = model.diagnose(ev)
    np.testing.assert_allclose(d.posteriors.to_numpy(), _reference(model, ev), rtol=0, atol=1e-9)


def test_diagnose_agrees_with_pgmpy_on_full_and_empty_evidence(model):
    rng = np.random.default_rng(7)
    full = {
        c: SCHEMA.columns[c].states[rng.integers(len(SCHEMA.columns[c].states))] for c in COLUMNS
    }
    for ev in ({}, full):
        np.testing.assert_allclose(
            model.diagnose(ev).posteriors.to_numpy(), _reference(model, ev), atol=1e-9
        )


@settings(
    max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(ev=evidence_sets())
def test_every_valid_combination_is_accepted_and_posteriors_are_probabilities(model, ev):
    d = model.diagnose(ev)
    p = d.posteriors.to_numpy()
    assert np.isfinite(p).all()
    assert ((p >= 0) & (p <= 1)).all()
