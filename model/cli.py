"""The ``legnumb`` command line.

Each subcommand lives in its own module under :mod:`model.commands` and provides
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` (the exit code).
"""

from __future__ import annotations

import argparse
import importlib
import importlib.util
import sys
from collections.abc import Sequence

from model import __version__
from model.errors import LegnumbError

__all__ = ["DISCLAIMER", "build_parser", "main"]

DISCLAIMER = (
    "legnumb ranks likely causes of leg numbness as decision support for clinicians and "
    "researchers. It is not a diagnosis. Red flags are always reported; anyone with sudden "
    "weakness, face/arm/speech problems, loss of bladder or bowel control, chest pain or a "
    "swollen calf should seek urgent medical care whatever the posteriors say."
)

#: Subcommand modules under model.commands, in the order ``--help`` lists them.
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
        if importlib.util.find_spec(f"model.commands.{name}") is None:
            continue  # a command still being written; tests check that all are present
        importlib.import_module(f"model.commands.{name}").register(sub)
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
