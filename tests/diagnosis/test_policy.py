"""Tests for legnumb.diagnosis.policy: the triage rules file is validated like the numbers."""

from __future__ import annotations

import dataclasses
import shutil

import numpy as np
import pytest

from legnumb import PriorsError, load_model
from legnumb.diagnosis.policy import UNKNOWN, Policy, load_policy
from legnumb.network.priors import shipped_priors_dir
from legnumb.network.schema import TRIAGE_LEVELS, load_schema

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


# ------------------------------------------------------------------ the rules as tables
NOT_A_STATE = "<not a state>"  # what a code outside its column's states reads as


def _by_hand(policy, ev, post, base):
    """Level, reason, red flags and red-flag answers of one row, as the module docstring says.

    The most urgent proposal wins, the first in order (rules, then per cause its posterior
    and its posterior without the red flags) on a tie; else self-care when a self-care rule
    fires; else the default.
    """
    proposals = [
        (r.level, r.words)
        for r in policy.rules
        if not r.is_default and r.level != "self_care" and r.fires(ev)
    ]
    for i, cause in enumerate(SCHEMA.causes.values()):
        t = policy.thresholds.get(cause.triage_if_likely)
        if t is not None and post[i] >= t:
            proposals.append((cause.triage_if_likely, policy.cause_reason(cause)))
        if t is not None and base is not None and base[i] >= t:
            words = policy.cause_reason(cause) + " before the warning signs"
            proposals.append((cause.triage_if_likely, words))
    care = [r.words for r in policy.rules if r.level == "self_care" and r.fires(ev)]
    if proposals:
        level, reason = min(proposals, key=lambda p: TRIAGE_LEVELS.index(p[0]))
    elif care:
        level, reason = "self_care", care[0]
    else:
        level, reason = policy.default.level, policy.default.words
    flags = tuple(r.words for r in policy.rules if r.red_flag and r.fires(ev))
    named = {(c.column, s) for r in policy.rules if r.red_flag for c in r.when for s in c.states}
    answers = [(col, ev.get(col)) in named for col in SCHEMA.columns]
    return level, reason, flags, answers


def _random_rows(rng, n: int):
    """Coded rows with blanks, some codes that are not states, posteriors with NaN."""
    card = np.array([len(c.states) for c in SCHEMA.columns.values()])
    codes = rng.integers(-1, card, size=(n, len(card)))
    codes[rng.random(codes.shape) < rng.uniform(0.2, 0.9)] = -1
    odd = rng.random(codes.shape) < 0.03
    codes[odd] = rng.choice([-7, -2, 5, 99], size=int(odd.sum()))
    post = rng.random((n, len(SCHEMA.causes))) ** rng.uniform(1.0, 6.0)
    post[rng.random(post.shape) < 0.1] = np.nan
    base = np.where(rng.random(post.shape) < 0.5, post * 2.0, np.nan)
    return codes, post, base


def _evidence(codes_row) -> dict[str, str]:
    out = {}
    for j, (name, col) in enumerate(SCHEMA.columns.items()):
        if 0 <= codes_row[j] < len(col.states):
            out[name] = col.states[codes_row[j]]
        elif codes_row[j] != -1:
            out[name] = NOT_A_STATE
    return out


def _many_rules_policy():
    """The shipped rules twice more, as red flags at shifted levels: 133 rules, 127 flags."""
    policy = load_policy()
    extra = [
        dataclasses.replace(
            r, rule_id=f"{r.rule_id}x{i}", red_flag=True, level=TRIAGE_LEVELS[(i + k) % 4]
        )
        for i in range(2)
        for k, r in enumerate(policy.rules)
        if not r.is_default
    ]
    return Policy(policy.rules[:10] + tuple(extra) + policy.rules[10:], policy.thresholds, "x")


@pytest.mark.parametrize("n", [0, 1, 3, 200])
@pytest.mark.parametrize("many", [False, True], ids=["shipped", "133_rules"])
def test_the_rule_tables_give_the_rules_row_by_row(n, many):
    policy = _many_rules_policy() if many else load_policy()
    assert len(policy.rules) > 64 if many else len(policy.rules) <= 64
    rng = np.random.default_rng(n + 7 * many)
    codes, post, base = _random_rows(rng, n)
    for b in (None, base):
        levels, reasons, flags = policy.triage(SCHEMA, codes, post, b)
        fired = policy.rule_matrix(SCHEMA, codes)
        answers = policy.red_flag_answers(SCHEMA, codes)
        assert len(levels) == len(reasons) == len(flags) == fired.shape[0] == n
        for i in range(n):
            ev = _evidence(codes[i])
            want = _by_hand(policy, ev, post[i], None if b is None else b[i])
            assert (levels[i], reasons[i], flags[i], answers[i].tolist()) == want
            assert fired[i].tolist() == [r.fires(ev) for r in policy.rules]


def test_hits_triage_the_same_rows_for_any_posteriors():
    policy = load_policy()
    codes, post, base = _random_rows(np.random.default_rng(3), 100)
    hits = policy.hits(SCHEMA, codes)
    for p, b in ((post, None), (post, base), (np.zeros_like(post), base)):
        got = hits.triage(p, b)
        want = policy.triage(SCHEMA, codes, p, b)
        assert [x.tolist() for x in got[:2]] == [x.tolist() for x in want[:2]]
        assert got[2] == want[2]
        level, reason = hits.classify(p, b)
        assert hits.level_names(level).tolist() == got[0].tolist()
        assert [hits.words[k] for k in reason] == got[1].tolist()
    patterns, inverse = hits.flag_patterns()
    assert len(set(patterns)) == len(patterns)
    assert [patterns[k] for k in inverse] == got[2]
