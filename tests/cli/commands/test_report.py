"""Tests for legnumb.cli.commands.report."""

from __future__ import annotations

import os

from legnumb.cli.main import main
from legnumb.data import examples_path


def test_report_writes_one_html_file_for_the_cases(tmp_path, capsys):
    lines = examples_path().read_text(encoding="utf-8").splitlines()
    cases = tmp_path / "two.csv"
    cases.write_text("\n".join([*lines[:1], lines[3], lines[16]]) + "\n", encoding="utf-8")
    out = tmp_path / "out"
    assert main(["report", str(cases), "-o", str(out), "--jobs", "1"]) == 0
    html = (out / "report.html").read_text(encoding="utf-8")
    assert "E03" in html
    assert "E16" in html
    assert "<details" in html
    written = sorted(os.listdir(out))
    assert "report.html" in written
    assert not [f for f in written if f.endswith(".tmp") or f.startswith(".")]  # nothing partial


def test_report_with_a_duplicate_id_is_exit_2(tmp_path, capsys):
    lines = examples_path().read_text(encoding="utf-8").splitlines()
    cases = tmp_path / "dup.csv"
    cases.write_text("\n".join([lines[0], lines[3], lines[3]]) + "\n", encoding="utf-8")
    assert main(["report", str(cases), "-o", str(tmp_path / "o")]) == 2
    assert "appears in rows 1 and 2" in capsys.readouterr().err
