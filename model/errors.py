"""The one exception hierarchy of legnumb.

Every error the package raises on purpose derives from :class:`LegnumbError`, so a caller
can catch them all in one place. Errors from lower layers (pgmpy, pandas, the file system)
are converted at the boundary with ``raise ... from exc`` so the original cause is kept.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

__all__ = [
    "ClusterError",
    "EngineError",
    "EvidenceError",
    "InputError",
    "InvalidArgumentError",
    "InvalidTypeError",
    "LegnumbError",
    "NetworkError",
    "OutputError",
    "PriorsError",
    "Problem",
    "UnknownNameError",
]


@dataclass(frozen=True)
class Problem:
    """One problem found while validating a file or a mapping.

    Parameters
    ----------
    where : str
        The place, e.g. ``"priors/findings.csv, row 12"``.
    key : str
        What is wrong there, e.g. a field or node name.
    message : str
        What was expected and what arrived.
    """

    where: str
    key: str
    message: str

    def __str__(self) -> str:
        return f"{self.where}: {self.key}: {self.message}"


class LegnumbError(Exception):
    """Base class of every error legnumb raises on purpose."""


class _ProblemsError(LegnumbError):
    """An error that carries every problem found, not only the first."""

    def __init__(self, summary: str, problems: Sequence[Problem] = ()) -> None:
        self.problems = tuple(problems)
        lines = [summary] + [f"  - {p}" for p in self.problems]
        super().__init__("\n".join(lines))


class PriorsError(_ProblemsError):
    """The priors directory is missing, malformed or inconsistent."""


class EvidenceError(_ProblemsError):
    """Evidence names an unknown column or state."""


class InputError(LegnumbError):
    """An input file cannot be used at all (missing, not CSV, no known column)."""


class InvalidArgumentError(LegnumbError, ValueError):
    """An argument has the right type but a value outside what is allowed."""


class InvalidTypeError(LegnumbError, TypeError):
    """An argument has the wrong type."""


class UnknownNameError(LegnumbError, KeyError):
    """A node, cause, state or parameter name that does not exist."""

    def __str__(self) -> str:
        return str(self.args[0]) if self.args else ""


class EngineError(LegnumbError, ValueError):
    """The inference engine was given tables, codes or options it cannot use."""


class NetworkError(LegnumbError):
    """pgmpy rejected a network, or a network file cannot be read or written."""


class OutputError(InputError):
    """The output cannot be written: not a regular file, the input itself, a full disk..."""


class ClusterError(LegnumbError):
    """The Dask cluster cannot be reached or used."""
