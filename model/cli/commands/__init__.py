"""Subcommands of the ``legnumb`` CLI, one module each with ``register(subparsers)``."""
