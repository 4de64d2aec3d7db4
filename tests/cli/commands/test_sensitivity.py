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
    assert "bad.csv: the file is UTF-16 text" in capsys.readouterr().err
    clash = tmp_path / "file"
    clash.write_text("x")
    assert main(["sensitivity", "--case-id", "E16", "-o", str(clash), "--draws", "2"]) == 2
    assert "got a file (not a directory)" in capsys.readouterr().err


@pytest.fixture(scope="module")
def odd_ids(tmp_path_factory):
    """E03 and E16 renamed with ids that matplotlib would read as math, and a ragged row."""
    cases = load_cases(None)
    two = cases[cases["case_id"].isin(["E03", "E16"])].copy()
    two["case_id"] = ["$x^$ E03", "cost $5 or $6"]
    path = tmp_path_factory.mktemp("odd") / "odd.csv"
    text = two.to_csv(index=False, lineterminator="\n")
    text += "bad," + ",".join([""] * (len(two.columns) - 1)) + ",extra\n"
    path.write_text(text, encoding="utf-8")
    return path


def test_dollar_ids_do_not_crash_and_bad_rows_are_reported(odd_ids, tmp_path, capsys):
    out = tmp_path / "o"
    argv = ["sensitivity", str(odd_ids), "--all", "-o", str(out), "--draws", "5", "--top", "5"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "$x^$ E03: top cause sciatica" in captured.out
    assert "bad: not analysed: odd.csv, row 3: has " in captured.out
    names = sorted(p.name for p in out.iterdir())
    assert "_x___E03_tornado.png" in names
    assert "cost__5_or__6_functions.png" in names
    assert not [n for n in names if n.endswith(".tmp") or n.startswith("bad")]


def test_a_failure_leaves_no_partial_files(two_cases, tmp_path, capsys, monkeypatch):
    import legnumb.plots.sensitivity as plots

    def broken(*args, **kwargs):
        raise ValueError("cannot draw")

    monkeypatch.setattr(plots, "plot_robustness", broken)
    out = tmp_path / "o"
    assert main(["sensitivity", str(two_cases), "--all", "-o", str(out), "--draws", "5"]) == 2
    assert "internal error (ValueError: cannot draw)" in capsys.readouterr().err
    assert list(out.iterdir()) == []  # the first case's CSVs were not written either


def test_id_column_and_duplicate_ids(tmp_path, capsys):
    path = tmp_path / "c.csv"
    path.write_text("patient,onset,laterality\nA,sudden,one_leg\nB,gradual,both_legs\nA,,\n")
    out = tmp_path / "o"
    argv = ["sensitivity", str(path), "--id-column", "patient", "-o", str(out), "--draws", "5"]
    assert main([*argv, "--case-id", "B"]) == 0
    assert (out / "B_tornado.png").is_file()
    capsys.readouterr()
    assert main([*argv, "--case-id", "A"]) == 2
    assert "patient 'A' appears in rows 1 and 3" in capsys.readouterr().err
    assert main([*argv, "--all"]) == 2
    assert "patient 'A' appears in rows 1 and 3; expected each patient once" in (
        capsys.readouterr().err
    )


def test_report_with_dollar_ids_and_a_bad_row(odd_ids, tmp_path, capsys):
    out = tmp_path / "rep"
    argv = ["report", str(odd_ids), "-o", str(out), "--draws", "5", "--jobs", "1", "--quiet"]
    assert main(argv) == 1
    captured = capsys.readouterr()
    assert "Traceback" not in captured.err
    assert "legnumb report: not analysed: odd.csv, row 3: has" in captured.err
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "Case $x^$ E03" in html
    assert "1 case(s) not analysed" in html
    assert sorted(p.name for p in out.iterdir()) == [
        "decisive_numbers.csv",
        "report.html",
        "robustness_overview.csv",
    ]


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
