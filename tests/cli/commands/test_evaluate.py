"""Tests for legnumb.cli.commands.evaluate."""

from __future__ import annotations

import re

from legnumb.cli.main import main


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
    assert ": 57 cases, 57 scored" in out  # the bundled examples of contract v2
    # no worked example is under-triaged, so every expected emergency is one
    assert "(under-triaged: 0," in out
    assert "emergency recall 100.0% of 19 expected emergencies" in out
    assert "triage, expected (rows) by given (columns):" in out


def test_evaluate_library_reads_the_bundled_case_library(tmp_path, capsys):
    assert main(["evaluate", "--library"]) == 0
    out = capsys.readouterr().out
    assert re.search(r": (\d+) cases, \1 scored", out)
    assert "emergency recall" in out
    f = tmp_path / "c.csv"
    f.write_text("case_id,onset\nA,sudden\n")
    assert main(["evaluate", str(f), "--library"]) == 2
    assert "give CASES.csv or --library, not both" in capsys.readouterr().err


def test_evaluate_plot_into_a_missing_folder_is_exit_2(tmp_path, capsys):
    png = tmp_path / "no" / "such" / "conf.png"
    assert main(["evaluate", "--plot", str(png)]) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert f"--plot {png}: expected an existing folder for the PNG; no such directory" in err
    assert not png.parent.exists()


def test_evaluate_counts_unreadable_rows_and_exits_1(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text(
        "case_id,onset,face_arm_or_speech,expected_cause,expected_triage\n"
        "A,sudden,yes,stroke,emergency\nB,sudden,yes,stroke,emergency,extra\n"
    )
    assert main(["evaluate", str(f)]) == 1
    out = capsys.readouterr().out
    assert "2 cases, 1 scored" in out
    assert "c.csv, row 2: has 6 cells but the header has 5" in out
