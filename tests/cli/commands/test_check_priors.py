"""Tests for legnumb.cli.commands.check_priors (on a synthetic v2 priors folder)."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import pytest

from legnumb.cli.main import main
from legnumb.network.priors import shipped_priors_dir
from tests.network.test_priors import write_full_priors


@pytest.fixture
def priors_dir(tmp_path) -> Path:
    """Synthetic v2 numbers and orders, with the shipped triage policy and its sources."""
    dest = write_full_priors(tmp_path / "p")
    shipped = shipped_priors_dir()
    for name in ("triage_rules.csv", "triage_thresholds.csv"):
        shutil.copy(shipped / name, dest / name)
    with (shipped / "sources.csv").open(newline="", encoding="utf-8") as f:
        extra = [r for r in csv.DictReader(f) if r["source_id"] not in ("EJ-SYN", "L-SYN")]
    with (dest / "sources.csv").open("a", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=list(extra[0]), lineterminator="\n")
        w.writerows(extra)
    return dest


def test_check_priors_summary(priors_dir, capsys):
    assert main(["check-priors", str(priors_dir)]) == 0
    out = capsys.readouterr().out
    assert "valid: yes; pgmpy check_model passed (" in out
    assert "auxiliary noisy-MAX nodes" in out
    assert "numbers per source kind: expert_judgement " in out
    assert ", literature 1" in out
    assert "numbers per range basis: ci 1, x3 " in out
    assert "literature numbers whose range is a published confidence interval: 1 of 1" in out
    assert "numbers resting on expert judgement alone: " in out
    assert "orders of the multi-state findings (bottom < top): 7" in out
    assert "  onset: gradual < over_hours < sudden  [EJ-SYN]" in out
    assert "numbers per file: history.csv " in out
    assert "triage policy: " in out


def test_check_priors_lists_judgement_and_the_triage_policy(priors_dir, capsys):
    assert main(["check-priors", str(priors_dir), "--list-judgement"]) == 0
    out = capsys.readouterr().out
    assert (
        "numbers resting on judgement alone "
        "(node | kind | state | parent=state: value [low-high, basis]):" in out
    )
    assert "  stroke | baseline | present | -: 0.05 [0.0052-0.3448, x10] (EJ-SYN)" in out
    assert "stroke | odds_ratio | present | atrial_fibrillation=yes" not in out  # literature
    assert "R01   emergency face_arm_or_speech=yes  [G-NG128]" in out


def test_check_priors_reports_all_problems(priors_dir, capsys):
    path = priors_dir / "causes.csv"
    text = path.read_text(encoding="utf-8")
    text = text.replace("stroke,baseline,present,,,0.05,", "stroke,baseline,present,,,1.5,", 1)
    path.write_text(text, encoding="utf-8")
    orders = priors_dir / "orders.csv"
    orders.write_text(
        orders.read_text(encoding="utf-8").replace("gradual|over_hours|sudden", "gradual|sudden"),
        encoding="utf-8",
    )
    assert main(["check-priors", str(priors_dir)]) == 1
    out = capsys.readouterr().out
    assert "2 problem(s)" in out
    assert "must lie strictly between 0 and 1. Got 1.5 instead" in out
    assert "onset order: missing state(s) over_hours" in out


def test_check_priors_reports_triage_policy_problems(priors_dir, capsys):
    rules = priors_dir / "triage_rules.csv"
    rules.write_text(rules.read_text().replace("R01,emergency", "R01,emergncy"))
    assert main(["check-priors", str(priors_dir)]) == 1
    out = capsys.readouterr().out
    assert "R01 level: expected one of emergency, urgent, routine, self_care" in out
