"""Plain words for findings, questions, causes and probabilities.

The words are data (``legnumb/data/phrases.csv``); a reviewer edits that file, not this module.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Sequence
from importlib import resources

import numpy as np

from legnumb.network.schema import Schema

_NAME_EPS = 0.05


def _read_phrases() -> tuple[dict, dict, dict]:
    """Read ``phrases.csv``: kind (finding, question, cause), name, state, text."""
    text = resources.files("legnumb.data").joinpath("phrases.csv").read_text(encoding="utf-8")
    findings: dict[tuple[str, str], str] = {}
    questions: dict[str, str] = {}
    causes: dict[str, str] = {}
    for row in csv.DictReader(io.StringIO(text)):
        if row["kind"] == "finding":
            findings[(row["name"], row["state"])] = row["text"]
        elif row["kind"] == "question":
            questions[row["name"]] = row["text"]
        else:
            causes[row["name"]] = row["text"]
    return findings, questions, causes


#: Readable phrase for every (column, state), as used in explanation sentences;
#: the question a clinician asks to fill in each column; readable cause names (the default
#: is the name with spaces). All three are data: ``legnumb/data/phrases.csv``.
FINDING_PHRASES, QUESTIONS, CAUSE_PHRASES = _read_phrases()


def finding_phrase(column: str, state: str) -> str:
    """A short readable phrase for ``column = state``.

    >>> finding_phrase("position_trigger", "sitting")
    'worse when sitting'
    >>> finding_phrase("mystery_column", "yes")
    'mystery column'
    """
    phrase = FINDING_PHRASES.get((column, state))
    if phrase is not None:
        return phrase
    words = column.replace("_", " ")
    if state == "yes":
        return words
    if state == "no":
        return f"no {words}"
    return f"{words}: {state.replace('_', ' ')}"


def question_text(schema: Schema, column: str) -> str:
    """The question that fills ``column`` (from :data:`QUESTIONS`, else its meaning)."""
    return QUESTIONS.get(column) or schema.columns[column].meaning + "?"


def cause_phrase(cause: str) -> str:
    """A readable cause name.

    >>> cause_phrase("deep_vein_thrombosis"), cause_phrase("b12_deficiency")
    ('deep vein thrombosis', 'B12 deficiency')
    """
    return CAUSE_PHRASES.get(cause, cause.replace("_", " "))


def format_pct(p: float) -> str:
    """A probability as a short percentage: one decimal below 10% and above 99%.

    >>> format_pct(0.0423), format_pct(0.71), format_pct(0.9987), format_pct(0.0002)
    ('4.2%', '71%', '99.9%', '<0.1%')
    """
    if not np.isfinite(p):
        return "n/a"
    if p <= 0.0:
        return "0%"
    if p >= 1.0:
        return "100%"
    if p < 0.0005:
        return "<0.1%"
    if p > 0.9995:
        return ">99.9%"
    if p < 0.1 or p > 0.99:
        return f"{100 * p:.1f}%"
    return f"{100 * p:.0f}%"


def _join(words: Sequence[str]) -> str:
    words = list(words)
    if len(words) <= 1:
        return "".join(words)
    return ", ".join(words[:-1]) + " and " + words[-1]
