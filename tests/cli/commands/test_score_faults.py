"""``legnumb score`` on the faults found by fuzzing it (issue 12): every failure is exit 2
with one line and no output file, every row is kept, and the output path is handled safely.
"""

from __future__ import annotations

import os
import signal
import stat
from pathlib import Path

import pytest

from legnumb.cli.main import main
from legnumb.data import examples_path
from tests.cli.commands.support import FullDisk

EXAMPLES = Path(examples_path())


@pytest.fixture(autouse=True)
def _model_loaded_once(model, monkeypatch):
    """Reuse the session's model instead of loading it for every command."""
    monkeypatch.setattr("legnumb.cli.commands.score.model_from_args", lambda args: model)


def run(*argv: object) -> int:
    return main(["score", *map(str, argv)])


def one_error_line(capsys) -> str:
    """The only line on standard error, which must be an error line."""
    err = capsys.readouterr().err
    lines = err.splitlines()
    assert len(lines) == 1, err
    assert lines[0].startswith("legnumb score: error: "), err
    assert "Traceback" not in err
    return lines[0]


# --------------------------------------------------------------------------- D1
def test_d1_unclosed_quote_is_exit_2_naming_file_and_line(tmp_path, capsys):
    src = tmp_path / "u.csv"
    src.write_bytes(
        b"case_id,note,laterality,bladder_bowel_problems\n"
        b'A1,"5 ft 10,one_leg,no\n'
        b"A2,ok,both_legs,yes\n"
    )
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 2
    line = one_error_line(capsys)
    assert "u.csv: line 2: not readable as CSV: a quote opened on this line" in line
    assert sorted(os.listdir(tmp_path)) == ["u.csv"]


def test_d1_quote_over_the_field_limit_is_exit_2(tmp_path, capsys):
    src = tmp_path / "u.csv"
    rows = b"".join(b"A%d,x,one_leg,no\n" % i for i in range(100_000))
    src.write_bytes(b"case_id,note,laterality,bladder_bowel_problems\n" + b'B,"x\n' + rows)
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 2
    line = one_error_line(capsys)
    assert "u.csv: line 2: not readable as CSV" in line
    assert "not closed within 1 MiB" in line
    assert not out.exists()


# --------------------------------------------------------------------------- D16
def test_d16_nul_late_in_the_file_is_exit_2_naming_the_line(tmp_path, capsys):
    src = tmp_path / "n.csv"
    src.write_bytes(b"case_id,onset\n" + b"A,sudden\n" * 20_000 + b"B,\x00\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 2
    line = one_error_line(capsys)
    assert "n.csv: line 20002 (byte offset 180016) holds a NUL byte" in line
    assert not out.exists()


# --------------------------------------------------------------------------- D11
def test_d11_one_column_file_keeps_its_blank_rows(tmp_path, capsys):
    src = tmp_path / "b.csv"
    src.write_bytes(b"laterality\none_leg\n\nboth_legs\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 0
    lines = out.read_text().splitlines()
    assert len(lines) == 4
    assert [line.split(",")[0] for line in lines[1:]] == ["one_leg", "", "both_legs"]
    blank = lines[2].split(",")
    assert blank[1].startswith("0.")  # scored, with nothing known
    err = capsys.readouterr().err
    assert "3 row(s) written" in err
    assert "b.csv: 1 blank line(s) were kept as rows with nothing known (first: row 2)" in err


def test_d11_blank_line_in_a_wide_file_is_counted(tmp_path):
    src = tmp_path / "b.csv"
    src.write_bytes(b"case_id,onset,laterality\r\nA,sudden,one_leg\r\n\r\nB,,both_legs\r\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "-q") == 0
    rows = out.read_text().splitlines()[1:]
    assert [r.split(",")[:3] for r in rows] == [
        ["A", "sudden", "one_leg"],
        ["", "", ""],
        ["B", "", "both_legs"],
    ]


# --------------------------------------------------------------------------- D2
def test_d2_symlink_output_is_written_through_to_its_target(tmp_path):
    real = tmp_path / "real.csv"
    real.write_text("old\n")
    link = tmp_path / "link.csv"
    link.symlink_to(real)
    assert run(EXAMPLES, "-o", link, "-q") == 0
    assert link.is_symlink()
    assert real.read_text().startswith("case_id,")
    assert sorted(os.listdir(tmp_path)) == ["link.csv", "real.csv"]


def test_d2_dangling_symlink_creates_its_target(tmp_path):
    (tmp_path / "sub").mkdir()
    link = tmp_path / "link.csv"
    link.symlink_to(tmp_path / "sub" / "new.csv")
    assert run(EXAMPLES, "-o", link, "-q") == 0
    assert link.is_symlink()
    assert (tmp_path / "sub" / "new.csv").read_text().startswith("case_id,")


def test_d2_fifo_output_is_refused(tmp_path, capsys):
    fifo = tmp_path / "pipe"
    os.mkfifo(fifo)
    assert run(EXAMPLES, "-o", fifo) == 2
    line = one_error_line(capsys)
    assert f"{fifo}: is a named pipe (FIFO), not a regular file" in line
    assert stat.S_ISFIFO(os.lstat(fifo).st_mode)
    assert sorted(os.listdir(tmp_path)) == ["pipe"]


def test_d2_device_output_is_refused(tmp_path, capsys, monkeypatch):
    import legnumb.io.symptom_csv as symptom_csv

    fake = tmp_path / "full"
    real_stat = symptom_csv._output_stat

    def fake_stat(path):
        if Path(path) == fake:
            return os.stat_result((stat.S_IFCHR | 0o666, 0, 0, 1, 0, 0, 0, 0, 0, 0))
        return real_stat(path)

    monkeypatch.setattr(symptom_csv, "_output_stat", fake_stat)
    assert run(EXAMPLES, "-o", fake) == 2
    line = one_error_line(capsys)
    assert f"{fake}: is a character device, not a regular file" in line
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- D15
@pytest.mark.parametrize("mode", [0o600, 0o640, 0o604])
def test_d15_overwriting_keeps_the_mode(tmp_path, mode):
    out = tmp_path / "o.csv"
    out.write_text("old\n")
    out.chmod(mode)
    assert run(EXAMPLES, "-o", out, "-q") == 0
    assert stat.S_IMODE(os.stat(out).st_mode) == mode
    assert out.read_text().startswith("case_id,")


# --------------------------------------------------------------------------- D6
@pytest.mark.parametrize(
    ("signum", "code", "word"), [(signal.SIGTERM, 143, "SIGTERM"), (signal.SIGHUP, 129, "SIGHUP")]
)
def test_d6_sigterm_and_sighup_leave_no_temp_file(
    tmp_path, capsys, monkeypatch, signum, code, word
):
    import legnumb.io.symptom_csv

    real = legnumb.io.symptom_csv.format_probabilities

    def signalled(*args, **kwargs):
        os.kill(os.getpid(), signum)
        return real(*args, **kwargs)

    monkeypatch.setattr(legnumb.io.symptom_csv, "format_probabilities", signalled)

    def guard(*args):  # the test's own handler: a run that installs none fails, not dies
        pass

    original = signal.signal(signum, guard)
    out = tmp_path / "o.csv"
    try:
        got = run(EXAMPLES, "-o", out)
        restored = signal.getsignal(signum)
    finally:
        signal.signal(signum, original)
    assert got == code
    assert restored is guard
    err = capsys.readouterr().err
    assert f"legnumb score: interrupted ({word}); {out} was not written." in err
    assert "Traceback" not in err
    assert os.listdir(tmp_path) == []


def test_d6_stale_temp_file_of_a_dead_run_is_removed(tmp_path):
    import subprocess
    import sys

    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    stale = tmp_path / f".o.csv.legnumb-{dead.pid}-k3j_x9.tmp"
    live = tmp_path / f".o.csv.legnumb-{os.getppid()}-a1b2c3.tmp"  # a run still going
    other = tmp_path / ".o.csv.notes.tmp"  # not our naming
    for f in (stale, live, other):
        f.write_text("patient data")
    assert run(EXAMPLES, "-o", tmp_path / "o.csv", "-q") == 0
    assert sorted(os.listdir(tmp_path)) == sorted(["o.csv", live.name, other.name])


# --------------------------------------------------------------------------- D16
@pytest.mark.parametrize("how", ["same", "relative", "symlink", "hardlink"])
def test_d16_output_equal_to_input_is_refused(tmp_path, capsys, monkeypatch, how):
    src = tmp_path / "cases.csv"
    src.write_bytes(EXAMPLES.read_bytes())
    out = {"same": src, "relative": Path("sub/../cases.csv")}.get(how, tmp_path / "other.csv")
    (tmp_path / "sub").mkdir()
    monkeypatch.chdir(tmp_path)
    if how == "symlink":
        out.symlink_to(src)
    elif how == "hardlink":
        os.link(src, out)
    assert run(src, "-o", out) == 2
    line = one_error_line(capsys)
    assert "is the input file" in line
    assert src.read_bytes() == EXAMPLES.read_bytes()


def test_d16_ctrl_c_before_scoring_is_one_line_exit_130(tmp_path, capsys, monkeypatch):
    def interrupted(args):
        raise KeyboardInterrupt

    monkeypatch.setattr("legnumb.cli.commands.score.model_from_args", interrupted)
    out = tmp_path / "o.csv"
    assert run(EXAMPLES, "-o", out) == 130
    assert capsys.readouterr().err == f"legnumb score: interrupted; {out} was not written.\n"
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- D7
def test_d7_disk_full_is_exit_2_one_line(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("legnumb.io.symptom_csv._open_temp", FullDisk)
    out = tmp_path / "o.csv"
    out.write_text("old\n")
    assert run(EXAMPLES, "-o", out) == 2
    line = one_error_line(capsys)
    assert f"{out}: cannot write the output: No space left on device" in line
    assert out.read_text() == "old\n"
    assert os.listdir(tmp_path) == ["o.csv"]


def test_d7_debug_shows_the_traceback(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("legnumb.io.symptom_csv._open_temp", FullDisk)
    out = tmp_path / "o.csv"
    assert run(EXAMPLES, "-o", out, "--debug") == 2
    err = capsys.readouterr().err
    assert "Traceback (most recent call last)" in err
    assert err.rstrip().splitlines()[-1].startswith("legnumb score: error: ")
    assert os.listdir(tmp_path) == []


def test_d7_unexpected_failure_is_exit_2_one_line(tmp_path, capsys, monkeypatch):
    def boom(*args, **kwargs):
        raise RuntimeError("boom\nsecond line")

    monkeypatch.setattr("legnumb.io.batch._score_chunk", boom)
    out = tmp_path / "o.csv"
    assert run(EXAMPLES, "-o", out) == 2
    line = one_error_line(capsys)
    assert "RuntimeError: boom second line" in line
    assert "--debug" in line
    assert os.listdir(tmp_path) == []


def test_d7_unreachable_scheduler_is_exit_2_one_line(tmp_path, capsys):
    dask = pytest.importorskip("dask")
    pytest.importorskip("dask.distributed")
    out = tmp_path / "o.csv"
    with dask.config.set({"distributed.comm.timeouts.connect": "1s"}):
        code = run(EXAMPLES, "-o", out, "--engine", "dask", "--scheduler", "tcp://127.0.0.1:1")
    assert code == 2
    line = one_error_line(capsys)
    assert "cannot reach the Dask scheduler at tcp://127.0.0.1:1" in line
    assert os.listdir(tmp_path) == []


# --------------------------------------------------------------------------- D8
@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--engine", "dask", "--blocksize", "-5"], "--blocksize: expected a size of at least"),
        (["--engine", "dask", "--blocksize", "0"], "Got 0 instead."),
        (["--engine", "dask", "--blocksize", "12 parsecs"], "Got '12 parsecs' instead."),
        (["--blocksize", "64MB"], "--blocksize needs --engine dask."),
        (["--engine", "dask", "--timings"], "--timings needs --engine local."),
        (["--threads", "100000"], "--threads: expected a whole number from 1 to"),
        (["--encoding", "utf8x"], "--encoding: expected a text encoding"),
        (["--encoding", "utf-16"], "Got utf-16 instead."),
        (["--engine", "dask", "--scheduler", "no address"], "--scheduler: expected an address"),
        (["--scheduler", "tcp://h:8786"], "--scheduler needs --engine dask."),
        (["-o", ""], "--output: expected"),
    ],
)
def test_d8_options_are_checked_before_anything_runs(tmp_path, capsys, monkeypatch, argv, message):
    def no_model(args):
        raise AssertionError("the model must not be loaded before the options are checked")

    monkeypatch.setattr("legnumb.cli.commands.score.model_from_args", no_model)
    monkeypatch.chdir(tmp_path)
    assert run(EXAMPLES, *argv) == 2
    line = one_error_line(capsys)
    assert message in line
    assert os.listdir(tmp_path) == []


def test_d8_blocksize_minus_5_message(capsys):
    assert run(EXAMPLES, "--engine", "dask", "--blocksize", "-5") == 2
    line = one_error_line(capsys)
    assert line.startswith("legnumb score: error: --blocksize: expected ")
    assert line.endswith(" Got -5 instead.")


def test_d8_encoding_suggests_the_closest_name(capsys):
    assert run(EXAMPLES, "--encoding", "cp1525") == 2
    assert "Did you mean 'cp1252'?" in one_error_line(capsys)


def test_d8_every_option_has_a_rule():
    import argparse

    from legnumb.cli.commands.score import OPTION_RULES, register

    parser = argparse.ArgumentParser()
    sub = register(parser.add_subparsers())
    dests = {a.dest for a in sub._actions if a.dest not in ("help",)}
    flags = {"quiet", "debug", "excel_safe", "strict", "timings"}  # switches
    assert dests - flags == set(OPTION_RULES)


# --------------------------------------------------------------------------- D4
def test_d4_non_finite_posterior_is_exit_1_with_a_row_error(tmp_path, capsys, monkeypatch):
    import numpy as np

    from legnumb.diagnosis.model import Model

    real = Model.infer  # what scoring calls: posteriors and P(no listed cause)

    def broken(self, codes, *, n_threads=1, with_none=True):
        post, other = real(self, codes, n_threads=n_threads, with_none=with_none)
        post = np.array(post, dtype=float)
        post[0, 0] = np.nan
        return post, other

    monkeypatch.setattr(Model, "infer", broken)
    src = tmp_path / "x.csv"
    src.write_text("case_id,onset\nA,sudden\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 1
    err = capsys.readouterr().err
    assert "0 scored, 1 with errors" in err
    assert "error in x.csv, row 1: could not score this row:" in err


# --------------------------------------------------------------------------- D13
_FORMULAS = (
    b'case_id,=cmd,onset,note\n=1+2,x,sudden,"=HYPERLINK(""http://evil"",""click"")"\n'
    b"-5,y,gradual,@SUM(A1)\nA3,+z,,plain\n"
)


def test_d13_formula_cells_are_written_back_unchanged_by_default(tmp_path):
    src = tmp_path / "f.csv"
    src.write_bytes(_FORMULAS)
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "-q") == 0
    lines = out.read_bytes().splitlines()
    assert lines[0].startswith(b"case_id,=cmd,onset,note,p_")
    assert lines[1].startswith(b'=1+2,x,sudden,"=HYPERLINK(""http://evil"",""click"")",0.')
    assert lines[2].startswith(b"-5,y,gradual,@SUM(A1),0.")


def test_d13_excel_safe_prefixes_formula_cells(tmp_path):
    src = tmp_path / "f.csv"
    src.write_bytes(_FORMULAS)
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "-q", "--excel-safe") == 0
    lines = out.read_bytes().splitlines()
    assert lines[0].startswith(b"case_id,'=cmd,onset,note,p_")
    assert lines[1].startswith(b'\'=1+2,x,sudden,"\'=HYPERLINK(""http://evil"",""click"")",0.')
    assert lines[2].startswith(b"'-5,y,gradual,'@SUM(A1),0.")
    assert lines[3].startswith(b"A3,'+z,,plain,0.")


def test_d13_excel_safe_error_cell(tmp_path):
    src = tmp_path / "@x.csv"
    src.write_bytes(b"case_id,onset\nA,=1\n")
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "-q", "--excel-safe") == 1
    line = out.read_text().splitlines()[1]
    assert line.startswith("A,'=1,")  # the invalid cell itself
    assert ",\"'@x.csv, row 1: column 'onset': Got '=1' instead" in line


def test_d13_help_documents_the_spreadsheet_risk(capsys):
    with pytest.raises(SystemExit):
        run("--help")
    out = " ".join(capsys.readouterr().out.split())
    assert "--excel-safe" in out
    assert "run as a formula when the output is opened in Excel" in out


# --------------------------------------------------------------------------- typos
_TYPO = b"case_id,lateralty,onst,diabetes\nA,one_leg,sudden,no\n"


def test_typo_is_a_warning_and_counted_in_the_summary(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_bytes(_TYPO)
    out = tmp_path / "o.csv"
    assert run(src, "-o", out) == 0
    err = capsys.readouterr().err
    assert "did you mean 'laterality'?" in err
    assert (
        "1 scored, 0 with errors; 2 column(s) that look like typos (lateralty, onst) were "
        "carried through unread."
    ) in err


def test_strict_refuses_a_likely_typo(tmp_path, capsys):
    src = tmp_path / "t.csv"
    src.write_bytes(_TYPO)
    out = tmp_path / "o.csv"
    assert run(src, "-o", out, "--strict") == 2
    err = capsys.readouterr().err
    assert (
        "legnumb score: error: t.csv: --strict: column 2 'lateralty' looks like a typo of "
        "'laterality'; column 3 'onst' looks like a typo of 'onset'. Fix the header"
    ) in err
    assert os.listdir(tmp_path) == ["t.csv"]


def test_strict_passes_a_clean_header(tmp_path):
    out = tmp_path / "o.csv"
    assert run(EXAMPLES, "-o", out, "-q", "--strict") == 0
