"""Tests for legnumb.errors: one exception tree, errors that say what arrived."""

from __future__ import annotations

import ast
import inspect
from pathlib import Path

import pytest

import legnumb.errors as errors
from legnumb.errors import (
    EngineError,
    EvidenceError,
    InputError,
    InvalidArgumentError,
    InvalidTypeError,
    LegnumbError,
    NetworkError,
    PriorsError,
    Problem,
    UnknownNameError,
)

PACKAGE = Path(errors.__file__).resolve().parent
BUILTIN_ERRORS = {
    "ValueError",
    "KeyError",
    "TypeError",
    "RuntimeError",
    "AssertionError",
    "IndexError",
    "Exception",
    "LegnumbError",  # raise a specific subclass, never the base
}


def test_every_error_class_derives_from_legnumb_error():
    classes = [
        obj
        for _, obj in inspect.getmembers(errors, inspect.isclass)
        if issubclass(obj, BaseException)
    ]
    assert len(classes) >= 9
    assert all(issubclass(c, LegnumbError) for c in classes)


@pytest.mark.parametrize(
    ("cls", "builtin"),
    [
        (EngineError, ValueError),
        (InvalidArgumentError, ValueError),
        (InvalidTypeError, TypeError),
        (UnknownNameError, KeyError),
    ],
)
def test_errors_are_also_the_builtin_a_caller_expects(cls, builtin):
    with pytest.raises(builtin, match="Got 3 instead"):
        raise cls("expected an int >= 5. Got 3 instead.")


def test_unknown_name_error_reads_as_a_sentence():
    # KeyError would quote its message; ours reads like every other error
    assert str(UnknownNameError("unknown node 'x'")) == "unknown node 'x'"


def test_problems_errors_list_every_problem():
    problems = [Problem("a.csv, row 2", "value", "Got 2 instead"), Problem("a.csv", "file", "x")]
    err = PriorsError("2 problem(s):", problems)
    assert err.problems == tuple(problems)
    assert str(err) == "2 problem(s):\n  - a.csv, row 2: value: Got 2 instead\n  - a.csv: file: x"
    assert isinstance(EvidenceError("e"), LegnumbError)
    assert isinstance(InputError("i"), LegnumbError)
    assert isinstance(NetworkError("n"), LegnumbError)


def _raised_names(path: Path) -> list[tuple[int, str]]:
    out = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if isinstance(node, ast.Raise) and node.exc is not None:
            exc = node.exc.func if isinstance(node.exc, ast.Call) else node.exc
            if isinstance(exc, ast.Name):
                out.append((node.lineno, exc.id))
    return out


def test_no_module_raises_a_builtin_error_or_the_bare_base_class():
    offenders = [
        f"{path.relative_to(PACKAGE)}:{line} raises {name}"
        for path in sorted(PACKAGE.rglob("*.py"))
        for line, name in _raised_names(path)
        if name in BUILTIN_ERRORS
    ]
    assert offenders == []
