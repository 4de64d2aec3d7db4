"""Tests for legnumb.analysis.weight_of_evidence: explain() and describe().

Exact numbers are cross-checked against pgmpy's variable elimination
(:func:`legnumb.network.bayesnet.reference_query`) and against independent engine queries.
"""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from legnumb import EvidenceError, InputError
from legnumb import analysis as x
from legnumb.network.bayesnet import reference_query
from legnumb.network.schema import load_schema
from tests.analysis.support import CASE, EVIDENCE, SETTINGS, full_codes

SCHEMA = load_schema()
COLUMNS = list(SCHEMA.columns)


def _state_index(col, state):
    return SCHEMA.columns[col].states.index(state)


def test_woe_matches_pgmpy(model):
    """WoE(f) = ln P(f | c present, rest) - ln P(f | c absent, rest), rest held, by pgmpy."""
    table = x.explain(model, CASE, causes=["diabetic_neuropathy", "sciatica"])
    assert len(table) == 2 * len(CASE)
    for cause in ("diabetic_neuropathy", "sciatica"):
        for col in ("burning_pain", "diabetes", "back_pain"):
            row = table[(table["cause"] == cause) & (table["column"] == col)].iloc[0]
            rest = {k: v for k, v in CASE.items() if k != col}
            k = _state_index(col, CASE[col])
            lp = {
                s: np.log(reference_query(model.network, [col], {**rest, cause: s})[col][k])
                for s in ("present", "absent")
            }
            assert row["woe"] == pytest.approx(lp["present"] - lp["absent"], abs=1e-9)
            without = reference_query(model.network, [cause], rest)[cause][1]
            assert row["p_without"] == pytest.approx(without, abs=1e-10)


def test_explanation_is_sorted_signed_and_tidy(model):
    table = x.explain(model, CASE, causes=2)
    ranked = model.diagnose(CASE).ranked
    assert table["cause"].unique().tolist() == list(ranked.index[:2])
    for _, rows in table.groupby("cause", sort=False):
        assert rows["woe"].abs().is_monotonic_decreasing
        assert set(rows["direction"]) <= {"raises", "lowers", "none"}
        assert ((rows["woe"] > 0) == (rows["direction"] == "raises")).all()
    assert set(table.columns) >= {"cause", "column", "state", "finding", "woe", "p_baseline"}
    assert (table.loc[table["column"] == "diabetes", "finding"] == "diabetes").all()


def test_baselines(model):
    prior = x.explain(model, CASE, causes=["diabetic_neuropathy"])
    hist = x.explain(model, CASE, causes=["diabetic_neuropathy"], baseline="history")
    p_prior = model.diagnose({}).posteriors["diabetic_neuropathy"]
    p_hist = model.diagnose(x.history_only(SCHEMA, CASE)).posteriors["diabetic_neuropathy"]
    assert prior["p_baseline"].iloc[0] == pytest.approx(p_prior, abs=1e-12)
    assert hist["p_baseline"].iloc[0] == pytest.approx(p_hist, abs=1e-12)
    assert "history alone" in x.describe(hist)
    assert "the prior, no findings" in x.describe(prior)


def test_describe_names_the_movers(model):
    table = x.explain(model, CASE, causes=["diabetic_neuropathy"])
    text = x.describe(table)
    assert text.startswith(("Burning pain", "Diabetes", "Feet and toes"))
    assert "raise diabetic neuropathy from" in text
    post = model.diagnose(CASE).posteriors["diabetic_neuropathy"]
    assert text.rstrip(".").split(" to ")[-1].split(";")[0] == x.format_pct(post)


def test_describe_lowering_sentence(model):
    ev = {"onset": "gradual", "pattern": "constant", "duration": "weeks_or_longer"}
    text = x.describe(x.explain(model, ev, causes=["positional_compression"]))
    assert "lower positional compression from" in text


def test_explain_errors(model):
    with pytest.raises(InputError, match=r"expected causes from .* Got 'sciatika' instead"):
        x.explain(model, CASE, causes=["sciatika"])
    with pytest.raises(InputError, match=r"expected baseline in \('prior', 'history'\)"):
        x.explain(model, CASE, baseline="history_only")
    with pytest.raises(EvidenceError, match="laterality"):
        x.explain(model, {"laterality": "left"})
    table = x.explain(model, CASE, causes=["stroke"])
    with pytest.raises(InputError, match="expected rows for cause 'sciatica'"):
        x.describe(table, "sciatica")
    with pytest.raises(InputError, match="nothing to explain"):
        x.describe(x.explain(model, {}))


def test_no_findings_sentence(model):
    a = x.analyse(model, {}, explain_causes=["stroke"])
    assert a.explanation.empty
    assert a.sentences["stroke"].startswith("No findings yet: stroke is at")


@SETTINGS
@given(ev=EVIDENCE)
def test_woe_is_the_log_odds_step_computed_from_clamped_evidence(model, ev):
    """logit P(c | e) = logit P(c | e \\ f) + WoE(f); WoE from independent clamped queries."""
    if not ev:
        return
    table = x.explain(model, ev, causes=["sciatica", "stroke"])
    col = next(iter(ev))
    rest = {k: v for k, v in ev.items() if k != col}
    rows = [
        {**e, c: s}
        for c in ("sciatica", "stroke")
        for s in ("present", "absent")
        for e in (ev, rest)
    ]
    logp = model.engine.query(full_codes(model, rows), targets=["sciatica"]).log_evidence
    for i, cause in enumerate(("sciatica", "stroke")):
        lp_pe, lp_pr, lp_ae, lp_ar = logp[4 * i : 4 * i + 4]
        woe = (lp_pe - lp_pr) - (lp_ae - lp_ar)
        r = table[(table["cause"] == cause) & (table["column"] == col)].iloc[0]
        assert r["woe"] == pytest.approx(woe, abs=1e-8)
        logit = lambda p: np.log(p) - np.log1p(-p)  # noqa: E731
        assert logit(r["p_with"]) == pytest.approx(logit(r["p_without"]) + r["woe"], abs=1e-8)
