"""Tests for legnumb.diagnosis.policy: the triage rules file is validated like the numbers."""

from __future__ import annotations

import shutil

import numpy as np
import pytest

from legnumb import PriorsError, load_model
from legnumb.diagnosis.policy import UNKNOWN, load_policy
from legnumb.network.priors import shipped_priors_dir
from legnumb.network.schema import load_schema

SCHEMA = load_schema()
HEADER = "rule_id,level,when,words,red_flag,source_id,note\n"


@pytest.fixture
def priors_dir(tmp_path):
    dest = tmp_path / "p"
    shutil.copytree(
        shipped_priors_dir(), dest, ignore=shutil.ignore_patterns("*.py", "__pycache__")
    )
    return dest


def _write_rules(priors_dir, *rows: str) -> None:
    (priors_dir / "triage_rules.csv").write_text(HEADER + "".join(r + "\n" for r in rows))


DEFAULT = "D,routine,,see a doctor if it does not clear,no,EJ-TRIAGE,"


def test_shipped_policy_loads_with_one_default_and_sources():
    policy = load_policy()
    assert policy.default.level == "routine"
    assert all(r.source_id for r in policy.rules)
    assert set(policy.thresholds) == {"emergency", "urgent", "routine"}


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (
            "X1,emergency,lateralty=both_legs,w,yes,EJ-TRIAGE,",
            r"triage_rules.csv, row 2: X1 when: unknown column 'lateralty'; closest: 'laterality'",
        ),
        (
            "X1,emergency,laterality=both_leg,w,yes,EJ-TRIAGE,",
            r"X1 when: column 'laterality': Got 'both_leg' instead; allowed: one_leg, both_legs; "
            r"closest: 'both_legs'",
        ),
        (
            "X1,emergncy,laterality=both_legs,w,yes,EJ-TRIAGE,",
            r"X1 level: expected one of emergency, urgent, routine, self_care. Got 'emergncy' "
            r"instead; closest: 'emergency'",
        ),
        ("X1,urgent,laterality=both_legs,w,yes,,", r"X1 source_id: is empty"),
        (
            "X1,urgent,laterality=both_legs,w,yes,EJ-TRIAGEX,",
            r"X1 source_id: 'EJ-TRIAGEX' is not in sources.csv; closest: 'EJ-TRIAGE'",
        ),
        (
            "X1,urgent,laterality,w,yes,EJ-TRIAGE,",
            r"X1 when: expected column=state. Got 'laterality'",
        ),
        ("X1,urgent,laterality=both_legs,w,maybe,EJ-TRIAGE,", r"X1 red_flag: expected yes or no"),
        ("X1,urgent,laterality=both_legs,,yes,EJ-TRIAGE,", r"X1 words: is empty"),
        (",urgent,laterality=both_legs,w,yes,EJ-TRIAGE,", r"row 2:  ?rule_id: is empty"),
        (
            "X1,urgent,zzzz=yes,w,yes,EJ-TRIAGE,",
            r"X1 when: unknown column 'zzzz'(?!; closest)",
        ),
        (
            "X1,urgent,onset=sudden|?|sometimes,w,yes,EJ-TRIAGE,",
            r"X1 when: column 'onset': Got 'sometimes' instead; allowed: sudden, over_hours, "
            r"gradual",
        ),
        (
            "D2,urgent,,w,no,EJ-TRIAGE,",
            r"triage_rules.csv: default rule: expected exactly one rule with an empty 'when'.*"
            r"Got 2 instead",
        ),
    ],
)
def test_each_rule_problem_names_file_row_and_key(priors_dir, row, message):
    _write_rules(priors_dir, row, DEFAULT)
    with pytest.raises(PriorsError, match=message):
        load_policy(priors_dir)


def test_default_rule_is_required_once_and_never_self_care(priors_dir):
    _write_rules(priors_dir, "X1,urgent,weakness=yes,w,yes,EJ-TRIAGE,")
    with pytest.raises(PriorsError, match=r"expected exactly one rule with an empty 'when'.*Got 0"):
        load_policy(priors_dir)
    _write_rules(priors_dir, "D,self_care,,w,no,EJ-TRIAGE,")
    with pytest.raises(PriorsError, match="self_care cannot be the default level"):
        load_policy(priors_dir)


def test_duplicate_rule_ids_and_all_problems_at_once(priors_dir):
    _write_rules(
        priors_dir,
        "X1,urgent,weakness=yes,w,yes,EJ-TRIAGE,",
        "X1,urgnt,weakness=maybe,w,yes,NOPE,",
        DEFAULT,
    )
    with pytest.raises(PriorsError) as info:
        load_policy(priors_dir)
    text = str(info.value)
    assert len(info.value.problems) == 4
    assert "duplicate rule_id (first at row 2)" in text
    assert "Got 'urgnt' instead" in text
    assert "Got 'maybe' instead" in text
    assert "'NOPE' is not in sources.csv" in text


def test_threshold_problems(priors_dir):
    (priors_dir / "triage_thresholds.csv").write_text(
        "triage_class,threshold,source_id,reasoning\n"
        "emergency,1.5,EJ-TRIAGE,r\n"
        "sometimes,0.2,EJ-TRIAGE,r\n"
        "urgent,0.15,,r\n"
    )
    with pytest.raises(PriorsError) as info:
        load_policy(priors_dir)
    text = str(info.value)
    assert "emergency threshold: expected a probability strictly between 0 and 1. Got '1.5'" in text
    assert "triage_class: expected one of emergency, urgent, routine. Got 'sometimes'" in text
    assert "urgent source_id: is empty" in text


def test_more_threshold_problems(priors_dir):
    (priors_dir / "triage_thresholds.csv").write_text(
        "triage_class,threshold,source_id,reasoning\n"
        "emergency,often,EJ-TRIAGE,r\n"
        "urgent,0.15,EJ-TRIAGE,r\n"
        "urgent,0.2,EJ-TRIAGX,r\n"
    )
    with pytest.raises(PriorsError) as info:
        load_policy(priors_dir)
    text = str(info.value)
    assert len(info.value.problems) == 3
    assert "row 2: emergency threshold: expected a probability strictly between 0 and 1. " in text
    assert "Got 'often' instead" in text
    assert "row 4: urgent: duplicate triage_class" in text
    assert (
        "row 4: urgent source_id: 'EJ-TRIAGX' is not in sources.csv; closest: 'EJ-TRIAGE'" in text
    )


def test_missing_header_field_and_missing_sources(priors_dir):
    (priors_dir / "triage_rules.csv").write_text(
        "rule_id,level,when,words,source_id,note\nD,routine,,w,EJ-TRIAGE,\n"
    )
    with pytest.raises(PriorsError, match=r"triage_rules.csv: header: missing field 'red_flag'"):
        load_policy(priors_dir)
    (priors_dir / "sources.csv").unlink()
    with pytest.raises(PriorsError, match=r"sources.csv: file: missing; expected a CSV file"):
        load_policy(priors_dir)


def test_missing_file_and_unreadable_csv(priors_dir):
    (priors_dir / "triage_thresholds.csv").unlink()
    (priors_dir / "triage_rules.csv").write_text(HEADER + 'X1,urgent,"weakness=yes,w\n')
    with pytest.raises(PriorsError) as info:
        load_policy(priors_dir)
    text = str(info.value)
    assert "triage_thresholds.csv: file: missing; expected a CSV file" in text
    assert "triage_rules.csv: csv: not a readable CSV file" in text


def test_load_model_rejects_a_broken_policy(priors_dir):
    _write_rules(priors_dir, "X1,urgent,weakness=yes,w,yes,EJ-TRIAGE,")
    with pytest.raises(PriorsError, match="triage policy"):
        load_model(priors_dir)


def test_unknown_state_matches_a_blank_cell():
    policy = load_policy()
    rule = next(r for r in policy.rules if any(UNKNOWN in c.states for c in r.when))
    columns = list(SCHEMA.columns)
    codes = np.full((2, len(columns)), -1, dtype=np.int64)
    for cond in rule.when:
        if UNKNOWN not in cond.states:
            codes[:, columns.index(cond.column)] = SCHEMA.columns[cond.column].states.index(
                cond.states[0]
            )
    cond = next(c for c in rule.when if UNKNOWN in c.states)
    # answered with a state the rule does not allow ("one_leg|?" still allows one_leg)
    other = next(s for s in SCHEMA.columns[cond.column].states if s not in cond.states)
    codes[1, columns.index(cond.column)] = SCHEMA.columns[cond.column].states.index(other)
    fired = policy.rule_matrix(SCHEMA, codes)[:, policy.rules.index(rule)]
    assert fired.tolist() == [True, False]


def test_changing_a_rule_changes_the_priors_hash(priors_dir):
    before = load_model(priors_dir).priors_hash
    text = (priors_dir / "triage_rules.csv").read_text()
    (priors_dir / "triage_rules.csv").write_text(text.replace("R24,routine", "R24,urgent"))
    after = load_model(priors_dir)
    assert after.priors_hash != before
    assert after.diagnose({"progressive": "yes"}).triage == "urgent"


def test_readme_triage_table_is_generated_from_the_rules_file():
    from pathlib import Path

    readme = (Path(__file__).resolve().parents[2] / "README.md").read_text(encoding="utf-8")
    start = readme.index("<!-- triage-table:start -->\n") + len("<!-- triage-table:start -->\n")
    end = readme.index("\n<!-- triage-table:end -->")
    assert readme[start:end] == load_policy().markdown()
