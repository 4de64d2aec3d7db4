"""The symptom-CSV schema: the columns the model reads, their states, and the causes it scores.

The schema is the project's own copy of the input contract (``model/data/columns.csv`` and
``model/data/causes.csv``). This module also owns the normalization rules of the contract:
names and states are trimmed and matched case-insensitively, and yes/no columns accept
``y``/``n``, ``true``/``false`` and ``1``/``0``.

Examples
--------
>>> from legnumb.network.schema import load_schema
>>> schema = load_schema()
>>> schema.columns["laterality"].states
('one_leg', 'both_legs')
>>> schema.normalize_state("diabetes", " TRUE ")
'yes'
>>> schema.closest_column("lateralty")
'laterality'
"""

from __future__ import annotations

import csv
import difflib
import io
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources

from legnumb.errors import UnknownNameError

__all__ = [
    "CAUSE_STATES",
    "TRIAGE_LEVELS",
    "Cause",
    "Column",
    "Schema",
    "closest",
    "load_schema",
    "normalize_name",
]

#: States of every cause node.
CAUSE_STATES: tuple[str, str] = ("absent", "present")
#: Triage levels, most urgent first.
TRIAGE_LEVELS: tuple[str, ...] = ("emergency", "urgent", "routine", "self_care")

_YES = frozenset({"yes", "y", "true", "1"})
_NO = frozenset({"no", "n", "false", "0"})


def normalize_name(text: str) -> str:
    """Trim and lower-case a column name or state, as the contract prescribes.

    >>> normalize_name("  Laterality ")
    'laterality'
    """
    return str(text).strip().lower()


def closest(word: str, candidates, *, cutoff: float = 0.6) -> str | None:
    """Return the candidate closest to ``word``, or None when nothing is close.

    ``cutoff`` is the least :class:`difflib.SequenceMatcher` ratio that counts as close.

    >>> closest("both_leg", ["one_leg", "both_legs"])
    'both_legs'
    >>> closest("Age", ["fatigue", "age_group"])
    'age_group'
    """
    by_lower = {normalize_name(c): c for c in candidates}
    w = normalize_name(word)
    # a word that starts a candidate ("age" -> "age_group") is closer than any letter match
    prefixed = sorted((c for c in by_lower if len(w) >= 3 and c.startswith(w)), key=len)
    if prefixed:
        return by_lower[prefixed[0]]
    found = difflib.get_close_matches(w, list(by_lower), n=1, cutoff=cutoff)
    return by_lower[found[0]] if found else None


#: Longest value quoted in a message; longer values are cut with "...".
MAX_SHOWN = 60


def shown(value: str) -> str:
    """A value as quoted in a message, cut when very long.

    >>> shown("x" * 100)[-5:]
    "...'"
    """
    if len(value) > MAX_SHOWN:
        value = value[: MAX_SHOWN - 3] + "..."
    return repr(value)


def invalid_state(
    schema: Schema, column: str, value: str, *, raw_name: str | None = None
) -> tuple[str, str]:
    """The one wording of an invalid state, as ``(key, message)``.

    Every reader (``legnumb score``, evidence, case files) reports an invalid state this way.

    >>> key, msg = invalid_state(load_schema(), "laterality", "both_leg")
    >>> print(f"{key}: {msg}")
    column 'laterality': Got 'both_leg' instead; allowed: one_leg, both_legs; closest: 'both_legs'
    """
    col = schema.columns[column]
    raw = column if raw_name is None else raw_name
    key = f"column {raw!r}" if normalize_name(raw) == raw else f"column {raw!r} ({column})"
    allowed = ", ".join(col.states)
    if col.is_yes_no:
        allowed += " (or y/n, true/false, 1/0)"
    guess = closest(value, col.states)
    hint = f"; closest: {guess!r}" if guess else ""
    return key, f"Got {shown(value)} instead; allowed: {allowed}{hint}"


@dataclass(frozen=True)
class Column:
    """One column of the symptom CSV, which is also a node of the network."""

    name: str
    group: str  # "history" or "symptom"
    states: tuple[str, ...]
    meaning: str

    @property
    def is_yes_no(self) -> bool:
        """True for columns whose states are exactly ``yes`` and ``no``."""
        return set(self.states) == {"yes", "no"}


@dataclass(frozen=True)
class Cause:
    """One cause the model scores; a node with states ``absent`` and ``present``."""

    name: str
    triage_if_likely: str
    meaning: str


@dataclass(frozen=True)
class Schema:
    """The columns and causes of the symptom-CSV contract, in contract order."""

    columns: dict[str, Column]
    causes: dict[str, Cause]

    @property
    def history(self) -> tuple[str, ...]:
        """Names of the history (risk factor) columns."""
        return tuple(c.name for c in self.columns.values() if c.group == "history")

    @property
    def symptoms(self) -> tuple[str, ...]:
        """Names of the symptom (finding) columns."""
        return tuple(c.name for c in self.columns.values() if c.group == "symptom")

    def states_of(self, node: str) -> tuple[str, ...]:
        """States of a column or cause node."""
        if node in self.columns:
            return self.columns[node].states
        if node in self.causes:
            return CAUSE_STATES
        raise UnknownNameError(node)

    @property
    def nodes(self) -> tuple[str, ...]:
        """Every node name: history columns, causes, then symptom columns."""
        return self.history + tuple(self.causes) + self.symptoms

    def closest_column(self, name: str) -> str | None:
        """The known column closest to ``name`` (for typo hints), or None.

        Stricter than state hints: a header such as ``citation`` is an extra column, not a
        typo of ``duration``, while ``lateralty`` is a typo of ``laterality``.

        >>> load_schema().closest_column("lateralty"), load_schema().closest_column("citation")
        ('laterality', None)
        """
        return closest(name, self.columns, cutoff=0.75)

    def normalize_state(self, column: str, value: str) -> str | None:
        """Map a raw cell to a state of ``column``; None when it is not a valid state.

        A blank cell is not handled here (callers treat it as "not known").
        """
        col = self.columns[column]
        text = normalize_name(value)
        if text in col.states:
            return text
        if col.is_yes_no:
            if text in _YES:
                return "yes"
            if text in _NO:
                return "no"
        return None


def _read_csv(name: str) -> list[dict[str, str]]:
    text = resources.files("legnumb.data").joinpath(name).read_text(encoding="utf-8")
    return list(csv.DictReader(io.StringIO(text)))


@lru_cache(maxsize=1)
def load_schema() -> Schema:
    """Load the bundled schema (cached; the returned object is immutable)."""
    columns = {
        r["column"]: Column(r["column"], r["group"], tuple(r["states"].split("|")), r["meaning"])
        for r in _read_csv("columns.csv")
    }
    causes = {
        r["cause"]: Cause(r["cause"], r["triage_if_likely"], r["meaning"])
        for r in _read_csv("causes.csv")
    }
    return Schema(columns=columns, causes=causes)
