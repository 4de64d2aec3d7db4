"""Tests for legnumb.cli.commands.check_priors."""

from __future__ import annotations

import shutil

from legnumb.cli.main import main
from legnumb.network.priors import shipped_priors_dir


def test_check_priors_summary(capsys):
    assert main(["check-priors"]) == 0
    out = capsys.readouterr().out
    assert "valid: yes" in out
    assert "numbers resting on expert judgement alone:" in out
    assert "nodes" in out
    assert "sources:" in out


def test_check_priors_lists_the_triage_policy_and_judgement(capsys):
    assert main(["check-priors", "--list-judgement"]) == 0
    out = capsys.readouterr().out
    assert "triage policy: " in out
    assert "R01   emergency face_arm_or_speech=yes  [G-NG128]" in out
    assert "(default)  [EJ-TRIAGE]" in out
    assert "numbers resting on judgement alone (node | kind | state | parent=state: value):" in out


def test_check_priors_reports_triage_policy_problems(tmp_path, capsys):
    dest = tmp_path / "p"
    shutil.copytree(
        shipped_priors_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py")
    )
    rules = (dest / "triage_rules.csv").read_text().replace("R01,emergency", "R01,emergncy")
    (dest / "triage_rules.csv").write_text(rules)
    assert main(["check-priors", str(dest)]) == 1
    out = capsys.readouterr().out
    assert "R01 level: expected one of emergency, urgent, routine, self_care" in out


def test_check_priors_reports_all_problems(tmp_path, capsys):
    dest = tmp_path / "p"
    shutil.copytree(
        shipped_priors_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py")
    )
    text = (
        (dest / "causes.csv")
        .read_text()
        .replace("stroke,leak,present,,,0.001,", "stroke,leak,present,,,1.5,")
    )
    # blank the source of the first number of causes.csv, whichever source it cites
    lines = text.splitlines(keepends=True)
    source = lines[1].split(",")[8]
    lines[1] = lines[1].replace(f",{source},", ",,", 1)
    (dest / "causes.csv").write_text("".join(lines))
    assert main(["check-priors", str(dest)]) == 1
    out = capsys.readouterr().out
    assert "2 problem(s)" in out
    assert "must lie strictly between 0 and 1. Got 1.5 instead" in out
    assert "source_id: is empty" in out
