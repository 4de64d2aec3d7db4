"""Tests for legnumb.cli.common: shared options, exit-code help, escaped text, priors dirs."""

from __future__ import annotations

import pytest

from legnumb.cli.common import check_priors_dir, exit_codes, printable
from legnumb.errors import InputError


def test_printable_escapes_control_characters_only():
    assert printable("E01\x1b[31m red\tstory") == "E01\\x1b[31m red\\tstory"
    assert printable("Zoë, 5 ft 10") == "Zoë, 5 ft 10"


def test_exit_codes_paragraph_lists_0_1_2():
    text = exit_codes(ok="all scored", rows="some rows carry errors")
    lines = text.splitlines()
    assert lines[0] == "exit status:"
    assert lines[1].split() == ["0", "all", "scored"]
    assert lines[2].startswith("  1  some rows carry errors")
    assert "2  unusable input" in text
    assert "  1  " not in exit_codes(ok="written")


def test_priors_option_must_name_a_directory(tmp_path):
    assert check_priors_dir(tmp_path) == tmp_path
    with pytest.raises(InputError, match="no such directory"):
        check_priors_dir(tmp_path / "missing")
    f = tmp_path / "file.csv"
    f.write_text("x")
    with pytest.raises(InputError, match="got a file, not a directory"):
        check_priors_dir(f)
