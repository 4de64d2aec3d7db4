"""The ``legnumb`` command line: :func:`main` parses the arguments and runs one command.

Each command is a module of :mod:`legnumb.cli.commands` with ``register(subparsers)``.
"""

from legnumb import DISCLAIMER
from legnumb.cli.main import build_parser, main

__all__ = ["DISCLAIMER", "build_parser", "main"]
