"""Tests for model.cli and the diagnose, check-priors and evaluate subcommands."""

from __future__ import annotations

import importlib.util
import shutil

import pytest

from legnumb import DISCLAIMER
from legnumb.cli.main import COMMANDS, build_parser, main
from legnumb.network.priors import shipped_priors_dir


def test_every_listed_command_exists():
    for name in COMMANDS:
        assert importlib.util.find_spec(f"legnumb.cli.commands.{name}") is not None, name


def test_help_says_decision_support_not_a_diagnosis(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "It is not a diagnosis." in out
    assert "not a diagnosis" in DISCLAIMER


def test_diagnose_prints_a_ranked_table_per_example(capsys):
    assert main(["diagnose", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "not a diagnosis" in out
    assert out.count("triage:") == 30
    block = out.split("E17 ")[1].split("\n\n")[0]
    assert "triage: EMERGENCY" in block
    assert "1. stroke" in block
    assert "face drooping" in block


def test_diagnose_reports_bad_rows_and_keeps_going(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text(
        "case_id,laterality,onset,lateralty\nA,one_leg,sudden,\nB,three_legs,sudden,\nC,both_legs,,\n"
    )
    assert main(["diagnose", str(f)]) == 1
    captured = capsys.readouterr()
    assert "did you mean 'laterality'" in captured.err
    assert f"not scored: {f}, row 3:" in captured.out
    assert (
        "column 'laterality': Got 'three_legs' instead; allowed: one_leg, both_legs" in captured.out
    )
    assert captured.out.count("triage:") == 2


def test_diagnose_missing_file_is_exit_2(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_check_priors_summary(capsys):
    assert main(["check-priors"]) == 0
    out = capsys.readouterr().out
    assert "valid: yes" in out
    assert "numbers resting on expert judgement alone:" in out
    assert "nodes" in out
    assert "sources:" in out


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


def test_evaluate_prints_accuracy_and_writes_plot(tmp_path, capsys):
    png = tmp_path / "conf.png"
    assert main(["evaluate", "--plot", str(png)]) == 0
    out = capsys.readouterr().out
    for text in (
        "top-1 accuracy",
        "top-3 accuracy",
        "triage agreement",
        "under-triaged",
        "per cause:",
    ):
        assert text in out
    assert png.stat().st_size > 10_000


def test_parser_lists_commands():
    text = build_parser().format_help()
    for name in ("diagnose", "check-priors", "evaluate"):
        assert name in text
