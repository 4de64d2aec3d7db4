"""Tests for ``legnumb sensitivity`` and ``legnumb report`` on the command line."""

from __future__ import annotations

import pandas as pd
import pytest

from legnumb.cli.main import main
from legnumb.io.cases import load_cases
from legnumb.network.priors import load_priors


@pytest.fixture(scope="module")
def two_cases(tmp_path_factory):
    """E03 (clear sciatica) and E16 (a near tie) as a small case file."""
    cases = load_cases(None)
    path = tmp_path_factory.mktemp("cases") / "two.csv"
    cases[cases["case_id"].isin(["E03", "E16"])].to_csv(path, index=False)
    return path


def test_one_case_writes_tables_and_plots(tmp_path, capsys):
    out = tmp_path / "out"
    assert main(["sensitivity", "--case-id", "E16", "-o", str(out), "--draws", "30"]) == 0
    stdout = capsys.readouterr().out
    assert "E16: top cause multiple_sclerosis" in stdout
    assert "decisive:" in stdout
    for name in ("oneway.csv", "robustness.csv", "tornado.png", "functions.png", "robustness.png"):
        assert (out / f"E16_{name}").stat().st_size > 0
    table = pd.read_csv(out / "E16_oneway.csv")
    assert len(table) == table["param_id"].nunique() == len(load_priors().numbers)
    assert {"label", "base", "low", "high", "p_low", "p_high", "swing", "source_kind"} <= set(
        table.columns
    )


def test_target_and_all(two_cases, tmp_path, capsys):
    out = tmp_path / "all"
    args = ["sensitivity", str(two_cases), "--all", "--target", "b12_deficiency"]
    assert main([*args, "-o", str(out), "--draws", "10", "--top", "8"]) == 0
    stdout = capsys.readouterr().out
    assert stdout.count("target b12_deficiency") == 2
    assert (out / "decisive_numbers.csv").is_file()
    assert (out / "decisive_numbers.png").is_file()
    assert (out / "E03_tornado.png").is_file()
    assert (out / "E16_tornado.png").is_file()


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--case-id", "E99"], "no case with case_id 'E99'"),
        (["--case-id", "E16", "--target", "sciatic"], "did you mean 'sciatica'"),
        (["--case-id", "E16", "--draws", "0"], "--draws must be at least 1"),
    ],
)
def test_clear_errors_exit_2(tmp_path, capsys, argv, message):
    assert main(["sensitivity", *argv, "-o", str(tmp_path / "o")]) == 2
    assert message in capsys.readouterr().err


def test_bad_files_exit_2(tmp_path, capsys):
    assert main(["sensitivity", str(tmp_path / "none.csv"), "--case-id", "X", "-o", "o"]) == 2
    assert "no such file" in capsys.readouterr().err
    bad = tmp_path / "bad.csv"
    bad.write_bytes(b"\xff\xfe\x00bad")
    assert main(["sensitivity", str(bad), "--case-id", "X", "-o", str(tmp_path / "o")]) == 2
    assert "not a readable CSV file" in capsys.readouterr().err
    clash = tmp_path / "file"
    clash.write_text("x")
    assert main(["sensitivity", "--case-id", "E16", "-o", str(clash), "--draws", "2"]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_case_id_or_all_is_required(capsys):
    with pytest.raises(SystemExit):
        main(["sensitivity", "-o", "x"])
    assert "one of the arguments --case-id --all is required" in capsys.readouterr().err


def test_report_command(two_cases, tmp_path, capsys):
    out = tmp_path / "rep"
    argv = ["report", str(two_cases), "-o", str(out), "--draws", "10", "--jobs", "2"]
    assert main(argv) == 0
    captured = capsys.readouterr()
    assert f"wrote {out / 'report.html'}" in captured.out
    assert "E16: top multiple_sclerosis" in captured.err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Case E16" in html
    assert "Case E03" in html
    assert (out / "robustness_overview.csv").is_file()
    assert main(["report", str(tmp_path / "none.csv"), "-o", str(out)]) == 2
