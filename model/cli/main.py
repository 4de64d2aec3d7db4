"""The ``legnumb`` command line.

Each subcommand lives in its own module under :mod:`legnumb.cli.commands` and provides
``register(subparsers)``, which adds its parser and sets ``func(args) -> int`` (the exit code).

Every failure ends with exit code 2 and one line on standard error,
``legnumb COMMAND: error: ...``, never a traceback; ``legnumb --debug COMMAND ...`` prints the
traceback as well. Ctrl-C ends with 130.
"""

from __future__ import annotations

import argparse
import importlib
import sys
import traceback
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
        epilog="Every command exits with 0 when all went well, 1 when some rows or cases carry "
        "errors (the others are done) and 2 on unusable input or a failure. " + DISCLAIMER,
    )
    parser.add_argument("--version", action="version", version=f"legnumb {__version__}")
    parser.add_argument(
        "--debug",
        action="store_true",
        help="on a failure, print the Python traceback too (for bug reports)",
    )
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"legnumb.cli.commands.{name}").register(sub)
    return parser


def _fail(command: str, message: str, *, debug: bool) -> int:
    from legnumb.cli.common import printable

    if debug:
        traceback.print_exc()
    lines = [printable(line) for line in str(message).splitlines()] or [""]
    print(f"legnumb {command}: error: " + "\n".join(lines), file=sys.stderr)
    return 2


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; returns the exit code (also used by the console script)."""
    try:
        parser = build_parser()
        args = parser.parse_args(argv)
    except KeyboardInterrupt:  # while the commands' modules load (pgmpy takes seconds)
        print("legnumb: interrupted.", file=sys.stderr)
        return 130
    debug = bool(getattr(args, "debug", False))
    try:
        return int(args.func(args) or 0)
    except LegnumbError as exc:
        return _fail(args.command, str(exc), debug=debug)
    except BrokenPipeError:  # e.g. `legnumb score x.csv | head`
        return 0
    except KeyboardInterrupt:
        print(f"legnumb {args.command}: interrupted.", file=sys.stderr)
        return 130
    except OSError as exc:
        where = f"{exc.filename}: " if exc.filename else ""
        text = exc.strerror or str(exc)
        return _fail(args.command, f"{where}{text}.", debug=debug)
    except Exception as exc:  # a bug: one line, the traceback only with --debug
        first = (str(exc).splitlines() or [""])[0]
        return _fail(
            args.command,
            f"internal error ({type(exc).__name__}: {first}); run `legnumb --debug "
            f"{args.command} ...` for the traceback and report it.",
            debug=debug,
        )


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
