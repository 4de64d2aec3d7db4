"""Tests for legnumb.cli.main: the parser, help, exit codes, failures and interrupts."""

from __future__ import annotations

import importlib.util
import json

import pandas as pd
import pytest

from legnumb import DISCLAIMER
from legnumb.cli.main import COMMANDS, build_parser, main


def test_every_listed_command_exists():
    for name in COMMANDS:
        assert importlib.util.find_spec(f"legnumb.cli.commands.{name}") is not None, name


def test_help_says_decision_support_not_a_diagnosis(capsys):
    with pytest.raises(SystemExit):
        main(["--help"])
    out = " ".join(capsys.readouterr().out.split())
    assert "It is not a diagnosis." in out
    assert "not a diagnosis" in DISCLAIMER


def test_diagnose_and_score_agree_on_a_ragged_bom_crlf_file(tmp_path, capsys):
    """One reader: the bad row is that row's error, with score's row number and message."""
    f = tmp_path / "ragged.csv"
    f.write_bytes(
        b"\xef\xbb\xbfcase_id,laterality,onset\r\nA,one_leg,sudden\r\n"
        b"B,both_legs,gradual\r\nC,one_leg,sudden,extra\r\nD,both_legs,\r\n"
    )
    out = tmp_path / "scored.csv"
    assert main(["score", str(f), "-o", str(out), "-q"]) == 1
    error = next(e for e in pd.read_csv(out, dtype=str, keep_default_na=False)["error"] if e)
    assert error.startswith("ragged.csv, row 3: has 4 cells but the header has 3")
    capsys.readouterr()
    assert main(["diagnose", str(f)]) == 1
    captured = capsys.readouterr()
    assert "Error tokenizing" not in captured.err
    assert captured.out.count("triage:") == 3
    assert "not scored: ragged.csv, row 3: has 4 cells but the header has 3" in captured.out
    assert error.split(": ", 1)[1] in captured.out


@pytest.mark.parametrize("command", [c.replace("_", "-") for c in COMMANDS])
def test_every_command_help_lists_its_exit_codes(command, capsys):
    with pytest.raises(SystemExit) as stop:
        main([command, "--help"])
    assert stop.value.code == 0
    out = capsys.readouterr().out
    assert "exit status:" in out
    codes = out.split("exit status:")[1]
    assert "\n  0  " in codes
    assert "\n  2  " in codes
    if command != "export":
        assert "\n  1  " in codes


def test_failures_are_one_line_and_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    import legnumb.cli.commands.export as export

    def boom(args):
        raise RuntimeError("something broke\nsecond line")

    monkeypatch.setattr(export, "run", boom)
    argv = ["export", "--format", "bif", "-o", str(tmp_path / "x.bif")]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err
    assert err.count("\n") == 1
    assert "legnumb export: error: internal error (RuntimeError: something broke)" in err
    assert main(["--debug", *argv]) == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.strip().splitlines()[-1].startswith("legnumb export: error: internal error")


def test_priors_given_a_file_says_it_is_not_a_directory(tmp_path, capsys):
    f = tmp_path / "priors.csv"
    f.write_text("x\n")
    for argv in (["diagnose", "--priors", str(f)], ["check-priors", str(f)]):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert "got a file, not a directory" in err
        assert "does not exist" not in err
    assert main(["diagnose", "--priors", str(tmp_path / "none")]) == 2
    assert "expected a priors directory; no such directory" in capsys.readouterr().err


def test_diagnose_and_evaluate_take_an_id_column(tmp_path, capsys):
    f = tmp_path / "c.csv"
    f.write_text(
        "patient,onset,face_arm_or_speech,expected_cause,expected_triage\n"
        "P-7,sudden,yes,sciatica,emergency\nP-8,,,positional_compression,self_care\n"
    )
    assert main(["diagnose", str(f), "--id-column", "patient"]) == 0
    out = capsys.readouterr().out
    assert "\nP-7  " in out
    assert main(["evaluate", str(f), "--id-column", "patient"]) == 0
    assert "P-7" in capsys.readouterr().out
    assert main(["diagnose", str(f), "--id-column", "case_id"]) == 2
    assert "--id-column 'case_id': expected a column of that name" in capsys.readouterr().err
    assert main(["diagnose", str(f)]) == 0  # no case_id column: cases are named by row
    assert "\nrow 1  " in capsys.readouterr().out


def test_parser_lists_commands():
    text = build_parser().format_help()
    for name in ("diagnose", "check-priors", "evaluate"):
        assert name in text


def test_diagnose_and_explain_say_why_the_level(capsys):
    assert main(["diagnose"]) == 0
    out = capsys.readouterr().out
    assert out.count("why this level: ") == 57  # every bundled example (57 in contract v2)
    assert "why this level: brief numbness brought on by a posture and cleared by moving" in out
    assert main(["explain", "--case-id", "E05", "--json"]) == 0
    data = json.loads(capsys.readouterr().out)
    assert data["triage_reason"]


def test_ctrl_c_while_loading_is_one_line_and_exit_130(tmp_path):
    # D16: an interrupt while the modules load (pgmpy takes seconds) is not a traceback
    import signal
    import subprocess
    import sys
    import time

    # wait for the child to reach main() (a fixed sleep raced Python's start-up on a busy
    # machine), then interrupt it while main() imports the commands and loads the model
    code = (
        "import sys; from legnumb.cli import main; print('ready', flush=True); "
        "sys.exit(main(['diagnose']))"
    )
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        cwd=tmp_path,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stdout.readline() == "ready\n"
    time.sleep(0.2)
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=120)
    assert proc.returncode == 130, err
    assert "Traceback" not in err
    assert "interrupted" in err


def test_pgmpy_is_loaded_only_for_the_pgmpy_network():
    # importing pgmpy takes seconds; scoring, diagnosis and the CLI parser never need it
    import subprocess
    import sys

    code = (
        "import sys, legnumb; from legnumb.cli.main import build_parser; build_parser(); "
        "m = legnumb.load_model(); m.diagnose({'onset': 'sudden'}); "
        "print('pgmpy' in sys.modules); m.network; print('pgmpy' in sys.modules)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.split() == ["False", "True"]
