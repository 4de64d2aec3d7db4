"""The ``legnumb`` command line.

Each subcommand lives in its own module under :mod:`legnumb.cli.commands` and provides
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from legnumb import DISCLAIMER, __version__
from legnumb.errors import LegnumbError

__all__ = ["DISCLAIMER", "build_parser", "main"]


#: Subcommand modules under legnumb.cli.commands, in the order ``--help`` lists them.
COMMANDS: tuple[str, ...] = (
    "diagnose",
    "check_priors",
    "score",
    "evaluate",
    "explain",
    "sensitivity",
    "report",
    "export",
)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser with every subcommand registered."""
    parser = argparse.ArgumentParser(
        prog="legnumb",
        description="Rank the likely causes of leg numbness with a Bayesian network.",
        epilog=DISCLAIMER,
    )
    parser.add_argument("--version", action="version", version=f"legnumb {__version__}")
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"legnumb.cli.commands.{name}").register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used by the console script)."""
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return int(args.func(args) or 0)
    except LegnumbError as exc:
        print(f"legnumb {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:  # e.g. `legnumb score x.csv | head`
        return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
