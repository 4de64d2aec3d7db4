"""Tests for legnumb.cli.commands.diagnose."""

from __future__ import annotations

import re

from legnumb.cli.main import main


def test_diagnose_prints_a_ranked_table_per_example(capsys):
    assert main(["diagnose", "--top", "3"]) == 0
    out = capsys.readouterr().out
    assert "not a diagnosis" in out
    assert out.count("triage:") == 57  # the 57 bundled examples of contract v2
    assert out.count("no listed cause") == 57
    block = out.split("E17 ")[1].split("\n\n")[0]
    assert "triage: EMERGENCY" in block
    assert "1. stroke" in block
    assert "face drooping" in block
    # E17 answers the 35 columns of contract v1, none of the 14 added in v2
    assert "(findings answered: 35 of 49)" in block
    assert re.search(r"no listed cause +0\.\d%", block)  # stroke explains the findings


def test_diagnose_shows_p_other_cause_and_answered_columns(model, tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text("case_id,laterality,onset\nA,one_leg,sudden\nB,,\n")
    assert main(["diagnose", str(f), "--top", "2"]) == 0
    out = capsys.readouterr().out
    for case_id, evidence, answered in (
        ("A", {"laterality": "one_leg", "onset": "sudden"}, 2),
        ("B", {}, 0),
    ):
        block = out.split(f"\n{case_id}")[1].split("\n\n")[0]
        d = model.diagnose(evidence)
        assert d.n_findings == answered
        assert 0 < d.p_other_cause < 1
        pct = re.escape(f"{d.p_other_cause:.1%}")
        assert re.search(
            rf"\n +no listed cause +{pct}  \(findings answered: {answered} of 49\)$", block
        )


def test_diagnose_reports_bad_rows_and_keeps_going(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text(
        "case_id,laterality,onset,lateralty\nA,one_leg,sudden,\nB,three_legs,sudden,\nC,both_legs,,\n"
    )
    assert main(["diagnose", str(f)]) == 1
    captured = capsys.readouterr()
    assert "did you mean 'laterality'" in captured.err
    assert "not scored: c.csv, row 2:" in captured.out  # 1 = first data row, as in `score`
    assert (
        "column 'laterality': Got 'three_legs' instead; allowed: one_leg, both_legs" in captured.out
    )
    assert captured.out.count("triage:") == 2


def test_diagnose_missing_file_is_exit_2(tmp_path, capsys):
    assert main(["diagnose", str(tmp_path / "none.csv")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_diagnose_shows_control_characters_escaped(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text('case_id,laterality,story\n"\x1b[2JE1",one_leg,"a \x1b]0;pwned\x07 story"\n')
    assert main(["diagnose", str(f)]) == 0
    out = capsys.readouterr().out
    assert "\x1b" not in out
    assert "\x07" not in out
    assert "\\x1b[2JE1  a \\x1b]0;pwned\\x07 story" in out
