"""Options and helpers shared by several subcommands.

Examples
--------
>>> printable("E01\\x1b[31m red\\tstory")
'E01\\\\x1b[31m red\\\\tstory'
>>> print(exit_codes(ok="every case was scored", rows="some cases carry errors"))
exit status:
  0  every case was scored
  1  some cases carry errors
  2  unusable input (missing or unreadable file, bad option) or a failure; one line on
     standard error says what was expected and what arrived (--debug shows the traceback)
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import pandas as pd

from legnumb.errors import InputError
from legnumb.io.cases import printable

__all__ = [
    "add_cases_options",
    "add_priors_option",
    "check_priors_dir",
    "epilog",
    "exit_codes",
    "id_column",
    "model_from_args",
    "printable",
    "read_cases",
    "warn",
]


def warn(command: str, message: str) -> None:
    """Print ``legnumb COMMAND: warning: MESSAGE`` on standard error (control characters escaped)."""
    print(f"legnumb {command}: warning: {printable(message)}", file=sys.stderr)


def exit_codes(*, ok: str, rows: str | None = None, extra: str = "") -> str:
    """The ``exit status`` paragraph of a command's ``--help`` (0, 1 when used, 2)."""
    lines = ["exit status:", f"  0  {ok}"]
    if rows:
        lines.append(f"  1  {rows}")
    lines.append(
        "  2  unusable input (missing or unreadable file, bad option) or a failure; one line on\n"
        "     standard error says what was expected and what arrived (--debug shows the "
        "traceback)"
    )
    if extra:
        lines.append(extra)
    return "\n".join(lines)


def epilog(codes: str) -> str:
    """A command's epilog: its exit codes, then the disclaimer."""
    import textwrap

    from legnumb import DISCLAIMER

    return codes + "\n\n" + textwrap.fill(DISCLAIMER, width=88)


def add_priors_option(parser: argparse.ArgumentParser) -> None:
    """``--priors DIR``: use another priors directory than the shipped one."""
    parser.add_argument(
        "--priors",
        metavar="DIR",
        default=None,
        help="priors directory to use instead of the shipped priors",
    )


def add_cases_options(
    parser: argparse.ArgumentParser, *, ids: str = "to name the cases in the output"
) -> None:
    """``CASES.csv`` (optional: the bundled examples), ``--id-column`` and ``--encoding``."""
    parser.add_argument(
        "cases",
        nargs="?",
        metavar="CASES.csv",
        help="symptom CSV, one case per row (default: the 57 bundled worked examples)",
    )
    parser.add_argument(
        "--library",
        action="store_true",
        help="use the bundled case library instead (cases transcribed from published case "
        "reports, with expected cause and triage; for evaluation only)",
    )
    parser.add_argument(
        "--id-column",
        metavar="NAME",
        default=None,
        help=f"column that holds the case ids, {ids} (default: case_id; a case without an "
        "id is named by its row, 1 = first data row)",
    )
    parser.add_argument(
        "--encoding",
        default="utf-8",
        help="text encoding of CASES.csv (default utf-8; a byte-order mark is always "
        "dropped); e.g. cp1252 for CSV files saved by Excel on Windows",
    )


def check_priors_dir(path: str | Path, *, option: str = "--priors") -> Path:
    """``path`` as a directory, or an :class:`InputError` that says what it is instead."""
    p = Path(path)
    if not p.exists():
        raise InputError(f"{option} {p}: expected a priors directory; no such directory.")
    if not p.is_dir():
        raise InputError(f"{option} {p}: expected a priors directory; got a file, not a directory.")
    return p


def model_from_args(args: argparse.Namespace):
    """Load the model named by ``--priors`` (the shipped priors by default)."""
    from legnumb import load_model

    priors = getattr(args, "priors", None)
    if priors is not None:
        check_priors_dir(priors)
    return load_model(priors)


def id_column(args: argparse.Namespace) -> str:
    """The id column named by ``--id-column`` (``case_id`` by default)."""
    from legnumb.io.cases import DEFAULT_ID_COLUMN

    return getattr(args, "id_column", None) or DEFAULT_ID_COLUMN


def read_cases(args: argparse.Namespace, command: str, *, schema=None) -> pd.DataFrame:
    """Read ``args.cases`` with :func:`legnumb.io.cases.load_cases`; print its warnings.

    A column named with ``--id-column`` must exist.
    """
    from legnumb.io.cases import case_warnings, find_column, load_cases, source_name

    path, name = args.cases, None
    if getattr(args, "library", False):
        from legnumb.data import library_path

        if path is not None:
            raise InputError(f"{command}: give CASES.csv or --library, not both.")
        path, name = library_path(), "case_library.csv"
    encoding = getattr(args, "encoding", "utf-8")
    cases = load_cases(path, schema=schema, encoding=encoding, name=name)
    for message in case_warnings(cases):
        warn(command, message)
    name = getattr(args, "id_column", None)
    if name is not None and find_column(cases, name) is None:
        got = ", ".join(repr(str(c)) for c in list(cases.columns)[:12])
        raise InputError(
            f"{source_name(cases)}: --id-column {name!r}: expected a column of that name; "
            f"got columns: {got}."
        )
    return cases
