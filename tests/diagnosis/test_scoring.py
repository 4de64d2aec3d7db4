"""Tests for legnumb.diagnosis.scoring: posteriors -> p_<cause>, top_cause ... n_findings.

Scored rows are checked against :meth:`legnumb.Model.diagnose` (a separate path: dict evidence,
``triage_level`` and ``red_flags``); unscored rows against the rules read one by one.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from legnumb.diagnosis.scoring import summarize
from legnumb.diagnosis.triage import LIKELY_THRESHOLD, RULES
from legnumb.network.schema import TRIAGE_LEVELS

EVIDENCE = [
    {"laterality": "one_leg", "shooting_pain": "yes", "back_pain": "yes"},  # no rule fires
    {"onset": "sudden", "weakness": "yes", "progressive": "yes"},  # emergency and urgent rules
    {"progressive": "yes"},  # a routine rule only (not a red flag)
    {"calf_swelling": "yes", "recent_immobility": "yes"},  # urgent rule; DVT likely
    {},
    {"bladder_bowel_problems": "yes", "back_pain": "yes"},  # emergency rule
]
# brief numbness from a posture, cleared by moving: self-care when no cause is likely
BENIGN = {"duration": "minutes", "position_trigger": "sitting", "relieved_by": "moving_or_shifting"}


def _rule_level(ev) -> str:
    """The most urgent level among the rules that fire on ``ev`` ("" when none)."""
    levels = [r.level for r in RULES if r.fires(ev)]
    return min(levels, key=TRIAGE_LEVELS.index) if levels else ""


def _rule_words(ev) -> str:
    """The words of the first most urgent rule that fires on ``ev``."""
    level = _rule_level(ev)
    return next(r.words for r in RULES if r.fires(ev) and r.level == level)


def _flags(ev) -> str:
    return ";".join(r.words for r in RULES if r.red_flag and r.fires(ev))


SCORED = ["top_cause", "triage", "triage_reason", "red_flags", "p_other_cause", "n_findings"]


def _none(n: int) -> np.ndarray:
    """P(no listed cause) of rows whose value does not matter to the test."""
    return np.full(n, 0.5)


@pytest.fixture(scope="module")
def scored(model):
    codes = model.encode(EVIDENCE)
    post, other = model.infer(codes)
    return codes, post, other


def test_columns_and_scored_rows_match_diagnose(model, scored):
    codes, post, other = scored
    out = summarize(model, codes, post, other, np.ones(len(EVIDENCE), dtype=bool))
    assert list(out.columns) == [f"p_{c}" for c in model.causes] + SCORED
    assert len(out) == len(EVIDENCE)
    for i, ev in enumerate(EVIDENCE):
        d = model.diagnose(ev)
        row = out.iloc[i]
        np.testing.assert_allclose(
            row[[f"p_{c}" for c in model.causes]].to_numpy(dtype=float),
            d.posteriors.to_numpy(),
            atol=1e-12,
        )
        assert row["top_cause"] == d.ranked.index[0]
        assert row["triage"] == d.triage
        assert row["red_flags"] == ";".join(d.red_flags)
        assert row["triage_reason"] == d.triage_reason != ""
        assert row["p_other_cause"] == pytest.approx(d.p_other_cause, abs=1e-12)
        assert row["n_findings"] == d.n_findings == len(ev)
    # the likely DVT lifts the urgent calf rule to an emergency once the row is scored
    assert out.at[3, "top_cause"] == "deep_vein_thrombosis"
    assert out.at[3, "triage"] == "emergency"


def test_top_cause_is_the_most_likely_cause(model):
    rng = np.random.default_rng(5)
    post = rng.uniform(size=(40, len(model.causes)))
    codes = model.encode([{}] * len(post))
    out = summarize(model, codes, post, _none(len(post)), np.ones(len(post), dtype=bool))
    assert out["top_cause"].tolist() == [model.causes[k] for k in post.argmax(axis=1)]
    np.testing.assert_array_equal(out[[f"p_{c}" for c in model.causes]].to_numpy(), post)


def test_unscored_rows_keep_only_emergency_and_urgent_rule_levels(model, scored):
    codes = scored[0]
    nan = np.full((len(EVIDENCE), len(model.causes)), np.nan)
    out = summarize(
        model, codes, nan, np.full(len(EVIDENCE), np.nan), np.zeros(len(EVIDENCE), dtype=bool)
    )
    expected = [lvl if lvl in ("emergency", "urgent") else "" for lvl in map(_rule_level, EVIDENCE)]
    assert out["triage"].tolist() == expected
    assert out.at[1, "triage"] == out.at[5, "triage"] == "emergency"
    assert _rule_level(EVIDENCE[2]) == "routine"  # a routine rule fired, and was dropped
    assert out.at[2, "triage"] == ""
    assert (out["top_cause"] == "").all()
    assert out[[f"p_{c}" for c in model.causes]].isna().all().all()
    assert out["red_flags"].tolist() == [_flags(ev) for ev in EVIDENCE]
    # a reason only where a rule set the level; P(no listed cause) blank; answers counted
    assert out["triage_reason"].tolist() == [
        _rule_words(ev) if lvl else "" for ev, lvl in zip(EVIDENCE, expected, strict=True)
    ]
    assert out.at[2, "triage_reason"] == ""  # the dropped routine rule leaves no reason
    assert out["p_other_cause"].isna().all()
    assert out["n_findings"].tolist() == [len(ev) for ev in EVIDENCE]


def test_red_flags_are_listed_whatever_the_posteriors(model, scored):
    codes, post, other = scored
    n = len(EVIDENCE)
    expected = [_flags(ev) for ev in EVIDENCE]
    assert "sudden leg weakness" in expected[1].split(";")
    assert expected[2] == ""  # "numbness getting worse" is a rule, not a red flag
    for p, ok in (
        (post, np.ones(n, dtype=bool)),
        (np.zeros_like(post), np.ones(n, dtype=bool)),
        (np.full_like(post, np.nan), np.zeros(n, dtype=bool)),
    ):
        assert summarize(model, codes, p, other, ok)["red_flags"].tolist() == expected


def test_a_mixed_batch_scores_each_row_on_its_own(model, scored):
    codes, post, other = scored
    ok = np.array([True, False, True, False, True, False])
    mixed_post = np.where(ok[:, None], post, np.nan)
    mixed = summarize(model, codes, mixed_post, np.where(ok, other, np.nan), ok)
    every = summarize(model, codes, post, other, np.ones(len(ok), dtype=bool))
    nan = np.full_like(post, np.nan)
    none = summarize(model, codes, nan, np.full(len(ok), np.nan), np.zeros(len(ok), dtype=bool))
    pd.testing.assert_frame_equal(mixed[ok], every[ok])
    pd.testing.assert_frame_equal(mixed[~ok], none[~ok])
    # score_codes is summarize over the rows it scores
    pd.testing.assert_frame_equal(model.score_codes(codes, row_ok=ok), mixed, atol=1e-12)


@pytest.mark.parametrize("cause", ["stroke", "multiple_sclerosis", "sciatica"])
def test_a_cause_is_likely_from_its_threshold_on(model, cause):
    level = model.schema.causes[cause].triage_if_likely
    threshold = LIKELY_THRESHOLD[level]
    k = model.causes.index(cause)
    post = np.zeros((2, len(model.causes)))
    post[0, k] = threshold
    post[1, k] = np.nextafter(threshold, 0.0)
    zeros = np.zeros((1, len(model.causes)))
    base = summarize(model, model.encode([BENIGN]), zeros, _none(1), [True])
    assert base.at[0, "triage"] == "self_care"
    out = summarize(model, model.encode([BENIGN, BENIGN]), post, _none(2), np.ones(2, dtype=bool))
    assert out["triage"].tolist() == [level, "self_care"]
    assert out["triage_reason"].tolist() == [
        model.policy.cause_reason(model.schema.causes[cause]),
        next(r.words for r in RULES if r.level == "self_care"),
    ]
    assert out["top_cause"].tolist() == [cause, cause]


def test_nan_posteriors_never_win_or_make_a_cause_likely(model):
    post = np.zeros((1, len(model.causes)))
    post[0, model.causes.index("stroke")] = np.nan
    post[0, model.causes.index("fibromyalgia")] = 0.01
    out = summarize(model, model.encode([BENIGN]), post, _none(1), np.ones(1, dtype=bool))
    assert out.at[0, "top_cause"] == "fibromyalgia"
    assert out.at[0, "triage"] == "self_care"
    assert np.isnan(out.at[0, "p_stroke"])


def test_an_empty_batch_gives_the_columns_and_no_rows(model):
    codes = np.empty((0, len(model.columns)), dtype=np.int64)
    post = np.empty((0, len(model.causes)))
    out = summarize(model, codes, post, np.empty(0), np.empty(0, dtype=bool))
    assert out.empty
    assert list(out.columns)[-len(SCORED) :] == SCORED
