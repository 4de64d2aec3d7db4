"""Tests for legnumb.analysis.conflict: Hugin's conflict measure and simulated reference cases."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from legnumb import InputError
from legnumb import analysis as x
from legnumb.network.bayesnet import reference_query
from tests.analysis.support import CASE, CAUSES, COLUMNS, EVIDENCE, SETTINGS, full_codes


@SETTINGS
@given(ev=EVIDENCE)
def test_conflict_two_ways(model, ev):
    """conf from prior marginals + joint log P agrees with one engine query per finding."""
    c = x.conflict(model, ev, n_sim=50)
    if len(ev) < 2:
        assert c.conf == 0.0
        assert not c.warn
        return
    rows = [{k: v} for k, v in ev.items()] + [ev]
    logp = model.engine.query(full_codes(model, rows), targets=CAUSES[:1]).log_evidence
    assert c.conf == pytest.approx(logp[:-1].sum() - logp[-1], abs=1e-9)
    a = x.analyse(model, ev)
    assert x.conflict(model, a, n_sim=50).conf == pytest.approx(c.conf, abs=1e-12)


def test_conflict_flags_contradictions(model):
    c = x.conflict(model, {"sex": "male", "pregnant": "yes", "age_group": "under_40"})
    assert c.warn
    assert c.conf > c.threshold
    assert c.drivers.index[0] in ("sex", "pregnant")
    assert c.message.startswith("Warning: these findings fit together worse than")
    ok = x.conflict(model, x.example_evidence("E03"))
    assert not ok.warn
    assert ok.n_findings == len(x.example_evidence("E03")) == 35  # the v1 columns, all answered
    assert "fit together as usual" in ok.message


def test_conflict_calibration_holds_out_of_sample(model):
    """About 5% of fresh simulated cases exceed the 95th-percentile threshold."""
    observed = np.zeros(len(COLUMNS), dtype=bool)
    for col in (
        "age_group",
        "sex",
        "diabetes",
        "onset",
        "laterality",
        "distribution",
        "back_pain",
        "shooting_pain",
        "weakness",
    ):
        observed[COLUMNS.index(col)] = True
    sim = x.simulate_cases(model, 600, seed=11)
    ev0 = {c: sim.at[0, c] for c in np.array(COLUMNS)[observed]}
    threshold = x.conflict(model, ev0, n_sim=500, seed=0).threshold
    codes = model.encode(
        [{c: sim.at[i, c] for c in np.array(COLUMNS)[observed]} for i in range(len(sim))]
    )
    rate = float((x.conf_scores(model, codes) > threshold).mean())
    assert 0.02 <= rate <= 0.09


def test_conflict_needs_two_findings(model):
    c = x.conflict(model, {"onset": "sudden"})
    assert c.conf == 0.0
    assert not c.warn
    assert "at least two findings" in c.message
    with pytest.raises(InputError, match="expected n_sim as an int >= 20"):
        x.conflict(model, CASE, n_sim=5)
    with pytest.raises(InputError, match=r"expected level in \[0.5, 1\)"):
        x.conflict(model, CASE, level=1.5)


def test_simulated_cases_follow_the_network(model):
    sim = x.simulate_cases(model, 4000, seed=3)
    prior = model.diagnose({}).posteriors
    for cause in ("sciatica", "positional_compression", "diabetic_neuropathy"):
        p = prior[cause]
        se = np.sqrt(p * (1 - p) / len(sim))
        assert abs((sim[cause] == "present").mean() - p) < 4 * se
    p_one = reference_query(model.network, ["laterality"], {})["laterality"][0]
    assert abs((sim["laterality"] == "one_leg").mean() - p_one) < 4 * np.sqrt(0.25 / len(sim))
    assert not (sim["pregnant"].eq("yes") & sim["sex"].eq("male")).mean() > 0.01
    with pytest.raises(InputError, match="expected n as a positive int"):
        x.simulate_cases(model, 0)
