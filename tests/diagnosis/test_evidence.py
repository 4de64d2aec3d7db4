"""Tests for legnumb.diagnosis.evidence: the one evidence normaliser (the CSV contract's rules)."""

from __future__ import annotations

import re

import numpy as np
import pandas as pd
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from legnumb.diagnosis.evidence import normalize_evidence
from legnumb.errors import EvidenceError, LegnumbError
from legnumb.network.schema import MAX_SHOWN, invalid_state, load_schema

SCHEMA = load_schema()
COLUMNS = list(SCHEMA.columns)
YES_NO = [c for c, spec in SCHEMA.columns.items() if spec.is_yes_no]
SYNONYMS = {"yes": ("yes", "y", "true", "1"), "no": ("no", "n", "false", "0")}


def _problems(evidence, **kwargs) -> list[str]:
    with pytest.raises(EvidenceError) as info:
        normalize_evidence(SCHEMA, evidence, **kwargs)
    return [str(p) for p in info.value.problems]


# --------------------------------------------------------------------------- accepted input
def test_names_and_states_are_trimmed_and_case_insensitive():
    raw = {
        " Laterality ": "ONE_LEG",
        "ONSET": " Sudden\t",
        "\tdistribution": "Feet_And_Toes ",
        "age_group": "65_PLUS",
    }
    assert normalize_evidence(SCHEMA, raw) == {
        "laterality": "one_leg",
        "onset": "sudden",
        "distribution": "feet_and_toes",
        "age_group": "65_plus",
    }


@pytest.mark.parametrize(
    ("raw", "state"),
    [(s, "yes") for s in ("y", "Y", "true", "TRUE", " True ", "1", "yes", "YES")]
    + [(s, "no") for s in ("n", "N", "false", "False", "0", " 0 ", "no", "No")]
    + [(1, "yes"), (0, "no"), (True, "yes"), (False, "no")],
)
def test_yes_no_synonyms(raw, state):
    assert normalize_evidence(SCHEMA, {"diabetes": raw}) == {"diabetes": state}


@pytest.mark.parametrize(("column", "raw"), [("laterality", "1"), ("onset", "y"), ("sex", "true")])
def test_synonyms_apply_to_yes_no_columns_only(column, raw):
    (problem,) = _problems({column: raw})
    assert f"column {column!r}: Got {raw!r} instead" in problem


def test_blanks_none_and_nan_mean_not_known():
    raw = {
        "onset": "",
        "weakness": "   ",
        "laterality": None,
        "diabetes": float("nan"),
        "smoker": np.nan,
        "back_pain": np.float64("nan"),
        "fatigue": "\t",
        "sex": "female",
    }
    assert normalize_evidence(SCHEMA, raw) == {"sex": "female"}
    assert normalize_evidence(SCHEMA, {}) == {}


@pytest.mark.parametrize("missing", [pd.NA, np.float32("nan")], ids=["pd.NA", "float32-nan"])
def test_pandas_missing_values_mean_not_known(missing):
    assert normalize_evidence(SCHEMA, {"diabetes": missing, "sex": "male"}) == {"sex": "male"}


def test_consistent_duplicates_are_accepted():
    raw = {"onset": "sudden", " Onset ": "SUDDEN", "diabetes": "y", "DIABETES": "yes"}
    assert normalize_evidence(SCHEMA, raw) == {"onset": "sudden", "diabetes": "yes"}


def test_blank_duplicate_does_not_clash():
    assert normalize_evidence(SCHEMA, {"onset": "gradual", "ONSET": ""}) == {"onset": "gradual"}


# --------------------------------------------------------------------------- problems
def test_unknown_column_names_the_closest_column():
    (problem,) = _problems({"lateralty": "one_leg"})
    assert problem.startswith("evidence: 'lateralty': unknown column; did you mean 'laterality'?")
    assert problem.endswith("Known columns: " + ", ".join(COLUMNS))
    (prefix,) = _problems({"Age": "65_plus"})
    assert "did you mean 'age_group'?" in prefix


def test_unknown_column_without_a_close_name_has_no_hint():
    (problem,) = _problems({"zzz": "1"})
    assert "did you mean" not in problem
    assert "Known columns: age_group, sex, diabetes" in problem


@pytest.mark.parametrize(
    ("column", "raw", "message"),
    [
        (
            "onset",
            "suddenly",
            "column 'onset': Got 'suddenly' instead; allowed: sudden, over_hours, gradual; closest: 'sudden'",
        ),
        (
            "laterality",
            "both_leg",
            "column 'laterality': Got 'both_leg' instead; allowed: one_leg, both_legs; "
            "closest: 'both_legs'",
        ),
        (
            "diabetes",
            "maybe",
            "column 'diabetes': Got 'maybe' instead; allowed: yes, no (or y/n, true/false, 1/0)",
        ),
    ],
)
def test_invalid_state_has_the_single_wording(column, raw, message):
    with pytest.raises(EvidenceError, match=re.escape(message)) as info:
        normalize_evidence(SCHEMA, {column: raw}, where="intake.csv, row 3")
    (problem,) = info.value.problems
    assert str(problem) == f"intake.csv, row 3: {message}"
    # the same words as `legnumb score` and the case files use
    assert (problem.key, problem.message) == invalid_state(SCHEMA, column, raw)


def test_invalid_state_names_the_normalized_column_and_cuts_long_values():
    (problem,) = _problems({" ONSET ": "x" * 200})
    assert problem.startswith("evidence: column 'onset': Got '" + "x" * (MAX_SHOWN - 3) + "...'")


def test_conflicting_duplicates_are_reported():
    with pytest.raises(
        EvidenceError,
        match=r"column 'onset': given twice with different states: 'sudden' and 'gradual'",
    ):
        normalize_evidence(SCHEMA, {"onset": "sudden", " ONSET ": "Gradual"})
    (problem,) = _problems({"diabetes": "y", "Diabetes": "0"})
    assert problem.endswith("given twice with different states: 'yes' and 'no'")


def test_known_only_skips_other_names_but_not_bad_states():
    raw = {"case_id": "X1", "Story": "numb after a long drive", "lateralty": "?", "Onset": "Sudden"}
    assert normalize_evidence(SCHEMA, raw, known_only=True) == {"onset": "sudden"}
    assert len(_problems(raw)) == 3  # case_id, Story, lateralty: unknown columns
    (problem,) = _problems({"case_id": "X2", "onset": "slowly"}, known_only=True)
    assert problem.startswith("evidence: column 'onset': Got 'slowly' instead")


def test_every_problem_is_reported_at_once():
    raw = {
        "lateralty": "one_leg",
        "onset": "suddenly",
        "laterality": "one_leg",
        "diabetes": "maybe",
        " LATERALITY": "both_legs",
        "weakness": "",
    }
    pattern = (
        r"^4 problem\(s\) in cases\.csv, row 4:\n"
        r"  - cases\.csv, row 4: 'lateralty': unknown column; did you mean 'laterality'\?.*\n"
        r"  - cases\.csv, row 4: column 'onset': Got 'suddenly' instead; .*closest: 'sudden'\n"
        r"  - cases\.csv, row 4: column 'diabetes': Got 'maybe' instead; allowed: yes, no.*\n"
        r"  - cases\.csv, row 4: column 'laterality': given twice with different states: "
        r"'one_leg' and 'both_legs'$"
    )
    with pytest.raises(EvidenceError, match=pattern) as info:
        normalize_evidence(SCHEMA, raw, where="cases.csv, row 4")
    assert isinstance(info.value, LegnumbError)
    assert [p.where for p in info.value.problems] == ["cases.csv, row 4"] * 4


# --------------------------------------------------------------------------- properties
def _valid_evidence():
    """Any normalized evidence: a subset of columns, each with one of its states."""
    return st.lists(st.sampled_from(COLUMNS), unique=True, max_size=len(COLUMNS)).flatmap(
        lambda cols: st.fixed_dictionaries(
            {c: st.sampled_from(SCHEMA.columns[c].states) for c in cols}
        )
    )


@st.composite
def _disguised(draw, word: str) -> str:
    """``word`` with any letters upper-cased and blanks around it."""
    upper = draw(st.lists(st.booleans(), min_size=len(word), max_size=len(word)))
    cased = "".join(ch.upper() if u else ch for ch, u in zip(word, upper, strict=True))
    pad = st.text(alphabet=" \t\r\n", max_size=3)
    return draw(pad) + cased + draw(pad)


@st.composite
def _messy_evidence(draw):
    """Normalized evidence and one raw spelling of it (case, padding, yes/no synonyms)."""
    ev = draw(_valid_evidence())
    raw = {}
    for col, state in ev.items():
        if col in YES_NO:
            state = draw(st.sampled_from(SYNONYMS[state]))
        raw[draw(_disguised(col))] = draw(_disguised(state))
    return ev, raw


@settings(max_examples=100, deadline=None)
@given(ev=_valid_evidence())
def test_normalized_evidence_is_a_fixed_point(ev):
    once = normalize_evidence(SCHEMA, ev)
    assert once == ev
    assert normalize_evidence(SCHEMA, once) == once


@settings(max_examples=100, deadline=None)
@given(case=_messy_evidence())
def test_any_spelling_of_valid_evidence_normalizes_to_the_same_dict(case):
    ev, raw = case
    once = normalize_evidence(SCHEMA, raw)
    assert once == ev
    assert normalize_evidence(SCHEMA, once) == once
    assert list(once) == [k.strip().lower() for k in raw]  # input order kept


def test_whole_floats_read_as_integers_for_yes_no_columns():
    # pandas reads a 1/0 column with blanks as floats
    assert normalize_evidence(SCHEMA, {"diabetes": 1.0, "smoker": np.float64(0.0)}) == {
        "diabetes": "yes",
        "smoker": "no",
    }
