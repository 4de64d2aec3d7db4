"""Options and helpers shared by several subcommands."""

from __future__ import annotations

import argparse
from pathlib import Path

import pandas as pd

from legnumb.errors import InputError

__all__ = ["add_priors_option", "load_cases", "model_from_args", "select_case"]


def add_priors_option(parser: argparse.ArgumentParser) -> None:
    """``--priors DIR``: use another priors directory than the shipped one."""
    parser.add_argument(
        "--priors",
        metavar="DIR",
        default=None,
        help="priors directory to use instead of the shipped priors",
    )


def model_from_args(args: argparse.Namespace):
    """Load the model named by ``--priors`` (the shipped priors by default)."""
    from legnumb import load_model

    return load_model(getattr(args, "priors", None))


def load_cases(path: str | Path | None) -> pd.DataFrame:
    """Read a small case file as raw strings (the bundled examples when ``path`` is None)."""
    if path is None:
        from legnumb.data import examples_path

        path = examples_path()
    path = Path(path)
    if not path.is_file():
        raise InputError(f"{path}: no such file.")
    try:
        return pd.read_csv(path, dtype=str, keep_default_na=False, encoding="utf-8-sig")
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError) as exc:
        raise InputError(f"{path}: not a readable CSV file ({exc}).") from exc


def select_case(cases: pd.DataFrame, case_id: str, *, path: str = "cases") -> pd.Series:
    """The row whose ``case_id`` is ``case_id``; a clear error names the ids available."""
    if "case_id" not in cases.columns:
        raise InputError(f"{path}: has no case_id column; cannot select case {case_id!r}.")
    hit = cases[cases["case_id"].str.strip() == case_id.strip()]
    if hit.empty:
        ids = ", ".join(cases["case_id"].head(40))
        raise InputError(f"{path}: no case with case_id {case_id!r}. Got ids: {ids}")
    return hit.iloc[0]
