"""Priors as reviewed data: read, validate and expand every hand-set number of the network.

A priors directory holds four CSV files (see ``priors/README.md`` for the full format):

``sources.csv``
    ``source_id, kind, citation, locator, reasoning``; ``kind`` is ``seed``, ``literature``
    or ``expert_judgement``.
``history.csv``, ``causes.csv``, ``findings.csv``
    One row per number: ``node, kind, state, parent, parent_state, value, low, high,
    source_id, note``.

The ``kind`` of a number row says what it is:

``prior``
    P(node = state), or P(node = state | parent = parent_state): a plain table (history nodes).
``leak``
    Noisy-OR nodes: P(node = on | no parent active). Mixture nodes: P(node = state | no
    parent cause present); one row per state, summing to 1.
``link``
    Noisy-OR nodes: P(node = on | only parent = parent_state active). Mixture nodes:
    P(node = state | the finding is driven by parent cause); one row per state, summing to 1.
``leak_weight``
    Mixture nodes only: the share of the leak when at least one parent cause is present.

Causes and yes/no findings are noisy-OR nodes (``on`` is ``present`` or ``yes``); findings
with other states are mixture ("noisy-average") nodes; history columns are plain tables.
Every number is addressed by state label, never by position.

Examples
--------
>>> from legnumb.network.priors import load_priors
>>> priors = load_priors()
>>> priors.get("findings", node="shooting_pain", kind="link", parent="sciatica").label
'P(shooting_pain | sciatica)'
>>> len(priors.expand())  # one CPT per node
50
"""

from __future__ import annotations

import csv
import hashlib
import io
import itertools
import math
from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from importlib import resources
from pathlib import Path

import numpy as np

from legnumb.errors import InvalidArgumentError, PriorsError, Problem, UnknownNameError
from legnumb.network.cpt import CPT
from legnumb.network.schema import Schema, closest, load_schema

__all__ = [
    "MAX_FIELD_BYTES",
    "MIN_PROBABILITY",
    "NUMBER_FIELDS",
    "NUMBER_FILES",
    "SOURCE_FIELDS",
    "SOURCE_KINDS",
    "Number",
    "PriorSet",
    "Source",
    "load_priors",
    "probability_problem",
    "shipped_priors_dir",
]

NUMBER_FILES: tuple[str, ...] = ("history", "causes", "findings")
NUMBER_FIELDS: tuple[str, ...] = (
    "node",
    "kind",
    "state",
    "parent",
    "parent_state",
    "value",
    "low",
    "high",
    "source_id",
    "note",
)
SOURCE_FIELDS: tuple[str, ...] = ("source_id", "kind", "citation", "locator", "reasoning")
SOURCE_KINDS: tuple[str, ...] = ("seed", "literature", "expert_judgement")
_KINDS = ("prior", "leak", "link", "leak_weight")
_SUM_TOL = 1e-9
#: Longest field a priors CSV may hold, in UTF-8 bytes (the csv module's default limit).
MAX_FIELD_BYTES = 128 * 1024
_SHOWN_CHARS = 4096  # how much of a broken line is read back for its names
#: Every number (value, low and high) must lie in ``[MIN_PROBABILITY, 1 - MIN_PROBABILITY]``:
#: closer to 0 or 1, ``1 - (1 - x)`` loses most of ``x`` (for 1e-17 it is exactly 0), so
#: noisy-OR complements and scores downstream would come out wrong or blank.
MIN_PROBABILITY = 1e-9


@dataclass(frozen=True)
class Source:
    """One row of ``sources.csv``."""

    source_id: str
    kind: str
    citation: str
    locator: str
    reasoning: str


@dataclass(frozen=True)
class Number:
    """One hand-set number: one row of a number file.

    ``param_id`` is stable and unique: ``file:node|kind|parent=parent_state|state``.
    """

    file: str
    line: int
    node: str
    kind: str
    state: str
    parent: str
    parent_state: str
    value: float
    low: float
    high: float
    source_id: str
    note: str

    @property
    def param_id(self) -> str:
        """Stable identifier of this number."""
        return f"{self.file}:{self.node}|{self.kind}|{self.parent}={self.parent_state}|{self.state}"

    @property
    def label(self) -> str:
        """How a reviewer reads the number, e.g. ``P(shooting_pain | sciatica)``."""
        on_state = self.state in ("yes", "present")
        target = self.node if on_state else f"{self.node}={self.state}"
        if self.kind == "leak_weight":
            return f"leak share of {self.node}"
        if self.kind == "leak":
            return f"P({target} | no cause)"
        if self.parent:
            given = (
                self.parent
                if self.parent_state in ("yes", "present")
                else (f"{self.parent}={self.parent_state}")
            )
            return f"P({target} | {given})"
        return f"P({target})"


@dataclass(frozen=True)
class PriorSet:
    """Every validated number and source of a priors directory.

    Use :func:`load_priors` to build one; :meth:`expand` turns it into CPTs and
    :meth:`with_value` makes a variant with one number changed. :meth:`expand_batch` is the
    one implementation of the expansion (tables, noisy-OR, mixtures), over a batch of
    variants; :meth:`expand` is its batch of one.
    """

    numbers: tuple[Number, ...]
    sources: dict[str, Source]
    schema: Schema
    sha256: str
    directory: str = ""
    _layouts: dict[str, _Layout] = field(default_factory=dict, compare=False, repr=False)
    _index: dict[str, int] = field(default_factory=dict, compare=False, repr=False)

    def __post_init__(self) -> None:
        self._index.update({n.param_id: i for i, n in enumerate(self.numbers)})

    # ----- lookup
    def __getitem__(self, param_id: str) -> Number:
        return self.numbers[self._index[param_id]]

    def get(self, file: str, **key: str) -> Number:
        """The one number of ``file`` whose fields equal ``key`` (unset fields: any value)."""
        found = [
            n
            for n in self.numbers
            if n.file == file and all(getattr(n, k) == v for k, v in key.items())
        ]
        if len(found) != 1:
            raise UnknownNameError(
                f"expected one number in {file} matching {key}. Got {len(found)} instead."
            )
        return found[0]

    def siblings(self, param_id: str) -> tuple[Number, ...]:
        """The other numbers of the same distribution (empty for noisy-OR numbers)."""
        n = self[param_id]
        if _model_of(self.schema, n.node) == "noisy_or" or n.kind == "leak_weight":
            return ()
        return tuple(
            m
            for m in self.numbers
            if m.node == n.node
            and m.kind == n.kind
            and m.parent == n.parent
            and m.parent_state == n.parent_state
            and m.param_id != param_id
        )

    @property
    def expert_only(self) -> tuple[Number, ...]:
        """Numbers whose source is expert judgement alone."""
        return tuple(
            n for n in self.numbers if self.sources[n.source_id].kind == "expert_judgement"
        )

    def table(self):
        """Every number as a tidy pandas DataFrame (one row per number, with source details)."""
        import pandas as pd

        rows = []
        for n in self.numbers:
            s = self.sources[n.source_id]
            rows.append(
                {
                    "param_id": n.param_id,
                    "label": n.label,
                    "file": n.file,
                    "node": n.node,
                    "kind": n.kind,
                    "state": n.state,
                    "parent": n.parent,
                    "parent_state": n.parent_state,
                    "value": n.value,
                    "low": n.low,
                    "high": n.high,
                    "source_id": n.source_id,
                    "source_kind": s.kind,
                    "citation": s.citation,
                    "note": n.note,
                }
            )
        return pd.DataFrame(rows)

    # ----- variants
    def with_value(self, param_id: str, value: float) -> PriorSet:
        """A copy with one number set to ``value`` and its siblings scaled to keep the sum.

        The siblings of a distribution (other states of the same table column) are scaled
        proportionally so the distribution still sums to 1. Ranges are not enforced here
        (this is for sensitivity analysis), but ``value`` must lie in
        ``[MIN_PROBABILITY, 1 - MIN_PROBABILITY]``.
        """
        return self.with_values({param_id: value})

    def with_values(self, values: Mapping[str, float]) -> PriorSet:
        """A copy with several numbers changed (siblings rescaled, see :meth:`with_value`)."""
        numbers = list(self.numbers)
        for pid, v in values.items():
            i = self._index[pid]
            message = probability_problem(v, outside="must lie in (0, 1)")
            if message:
                raise InvalidArgumentError(f"{pid}: a probability {message}")
            sibs = self.siblings(pid)
            if sibs:
                rest = sum(numbers[self._index[s.param_id]].value for s in sibs)
                scale = (1.0 - v) / rest if rest > 0 else 0.0
                for s in sibs:
                    j = self._index[s.param_id]
                    numbers[j] = replace(numbers[j], value=numbers[j].value * scale)
            numbers[i] = replace(numbers[i], value=float(v))
        # same numbers in the same places: the layouts of the CPTs carry over
        return PriorSet(
            tuple(numbers), self.sources, self.schema, self.sha256, self.directory, self._layouts
        )

    # ----- expansion
    def expand(self) -> list[CPT]:
        """Expand the numbers into one full :class:`CPT` per node (schema node order)."""
        theta = np.array([[n.value for n in self.numbers]])
        return [self._cpt(node, theta) for node in self.schema.nodes]

    def expand_node(self, node: str) -> CPT:
        """The CPT of one node (used to build model variants cheaply)."""
        return self._cpt(node, np.array([[n.value for n in self.numbers]]))

    def _cpt(self, node: str, theta: np.ndarray) -> CPT:
        layout = self._layout(node)
        values = _expand_layout(layout, theta)[0]
        return CPT(node, layout.parents, dict(layout.states), values)

    def expand_batch(
        self,
        theta: np.ndarray,
        *,
        nodes: Iterable[str] | None = None,
        observed: Mapping[str, str] | None = None,
    ) -> dict[str, np.ndarray]:
        """CPT arrays of ``nodes`` (default: all) for a batch of variants of the numbers.

        This is the one expansion of numbers into CPTs: :meth:`expand` is this with a batch of
        one (the numbers' own values), and :class:`~legnumb.network.parameters.ParameterSpace`
        uses it for sensitivity analysis.

        Parameters
        ----------
        theta : numpy.ndarray
            ``(B, len(numbers))`` (or ``(len(numbers),)`` for one variant): row ``b`` holds a
            value for every number, in ``numbers`` order.
        nodes : iterable of str, optional
            The nodes to expand.
        observed : mapping of str to str, optional
            Evidence ``{node: state}``. The CPT of an observed node enters every query with
            that evidence only through its row ``P(node = state | parents)``, so for the
            noisy-average mixture nodes listed here only that row is computed; the other
            rows are filled to keep every column a distribution (the complement on one
            other state). Posteriors given this evidence are unchanged; the tables are not
            the node's true CPT.

        Returns
        -------
        dict of str to numpy.ndarray
            ``node -> (B, *cpt.values.shape)``, axes as in the node's :class:`CPT`.

        Raises
        ------
        InvalidArgumentError
            When ``theta`` does not have one column per number.
        UnknownNameError
            For an unknown node or observed state.
        """
        theta = np.atleast_2d(np.asarray(theta, dtype=float))
        if theta.ndim != 2 or theta.shape[1] != len(self.numbers):
            raise InvalidArgumentError(
                f"expected theta of shape (B, {len(self.numbers)}). Got {theta.shape} instead."
            )
        observed = observed or {}
        out = {}
        for node in self.schema.nodes if nodes is None else nodes:
            layout = self._layout(node)
            obs = observed.get(node)
            if obs is not None and obs not in layout.states[node]:
                raise UnknownNameError(
                    f"unknown state {obs!r} of {node}; "
                    f"expected one of {', '.join(layout.states[node])}"
                )
            code = None if obs is None else layout.states[node].index(obs)
            out[node] = _expand_layout(layout, theta, code)
        return out

    def _layout(self, node: str) -> _Layout:
        layout = self._layouts.get(node)
        if layout is None:
            if node not in self.schema.nodes:
                raise UnknownNameError(f"unknown node {node!r}")
            positions = [i for i, n in enumerate(self.numbers) if n.node == node]
            layout = _node_layout(self.schema, node, self.numbers, positions)
            self._layouts[node] = layout
        return layout


# --------------------------------------------------------------------------- node models
def _model_of(schema: Schema, node: str) -> str:
    if node in schema.causes:
        return "noisy_or"
    col = schema.columns[node]
    if col.group == "history":
        return "table"
    return "noisy_or" if col.is_yes_no else "mixture"


def _on_state(schema: Schema, node: str) -> str:
    return "present" if node in schema.causes else "yes"


def _parent_order(schema: Schema, numbers: Iterable[Number]) -> tuple[str, ...]:
    parents = {n.parent for n in numbers if n.parent}
    return tuple(p for p in schema.nodes if p in parents)


@dataclass(frozen=True)
class _Table:
    """A plain table: number ``pidx[j]`` goes to flat cell ``flat[j]``."""

    flat: np.ndarray
    pidx: np.ndarray


@dataclass(frozen=True)
class _NoisyOr:
    """Noisy-OR: P(off | parents) = (1 - leak) * prod over active links of (1 - link)."""

    on: int  # code of the "on" state
    leak: int  # position of the leak in theta
    links: tuple[tuple[int, int, int], ...]  # (position in theta, parent axis, parent state)


@dataclass(frozen=True)
class _Mixture:
    """Noisy-average: (1 - w) * mean of the present causes' distributions + w * leak."""

    leak: np.ndarray  # (S,) positions in theta, one per state
    weight: int  # position of the leak share w
    dists: np.ndarray  # (k, S) positions of each parent cause's distribution
    present: np.ndarray  # (k,) code of "present" of each parent
    count: np.ndarray  # (2^k,) number of present causes per configuration (1 where none)
    none: np.ndarray  # (2^k,) True where no parent cause is present


@dataclass(frozen=True)
class _Layout:
    """How the numbers of one node fill its CPT (axes, states and formula)."""

    node: str
    parents: tuple[str, ...]
    states: dict[str, tuple[str, ...]]
    shape: tuple[int, ...]
    recipe: _Table | _NoisyOr | _Mixture


def _node_layout(schema: Schema, node: str, numbers, positions) -> _Layout:
    """The layout of ``node``, whose numbers are ``numbers[i]`` for ``i`` in ``positions``."""
    nums = [numbers[i] for i in positions]
    model = _model_of(schema, node)
    states = schema.states_of(node)
    parents = _parent_order(schema, nums)
    st = {node: states, **{p: schema.states_of(p) for p in parents}}
    shape = tuple(len(st[v]) for v in (node, *parents))
    if model == "table":
        flat = []
        for n in nums:
            cell = [states.index(n.state)]
            if parents:
                cell.append(st[parents[0]].index(n.parent_state))
            flat.append(np.ravel_multi_index(tuple(cell), shape))
        recipe = _Table(np.array(flat, dtype=np.int64), np.array(positions, dtype=np.int64))
    elif model == "noisy_or":
        links = tuple(
            (i, parents.index(n.parent), st[n.parent].index(n.parent_state))
            for n, i in zip(nums, positions, strict=True)
            if n.kind == "link"
        )
        leak = next(i for n, i in zip(nums, positions, strict=True) if n.kind == "leak")
        recipe = _NoisyOr(states.index(_on_state(schema, node)), leak, links)
    else:
        pos = {(n.kind, n.parent, n.state): i for n, i in zip(nums, positions, strict=True)}
        k = len(parents)
        grid = np.array(list(itertools.product((0, 1), repeat=k))).reshape(2**k, k)  # C order
        present = np.array([st[p].index("present") for p in parents], dtype=np.int64)
        count = (grid == present).sum(axis=1).astype(float)
        recipe = _Mixture(
            leak=np.array([pos[("leak", "", s)] for s in states], dtype=np.int64),
            weight=pos[("leak_weight", "", "")],
            dists=np.array(
                [[pos[("link", p, s)] for s in states] for p in parents], dtype=np.int64
            ).reshape(k, len(states)),
            present=present,
            count=np.where(count > 0, count, 1.0),
            none=count == 0,
        )
    return _Layout(node, parents, st, shape, recipe)


def _expand_layout(layout: _Layout, theta: np.ndarray, obs: int | None = None) -> np.ndarray:
    """CPT arrays ``(B, *layout.shape)`` of one node for the variants ``theta`` ``(B, n)``.

    With ``obs`` (a state code), a mixture node gets only its row ``obs`` right, and the
    complement on the next state (see :meth:`PriorSet.expand_batch`).
    """
    shape, b, r = layout.shape, theta.shape[0], layout.recipe
    if isinstance(r, _Table):
        out = np.zeros((b, int(np.prod(shape))))
        out[:, r.flat] = theta[:, r.pidx]
        return out.reshape((b, *shape))
    if isinstance(r, _NoisyOr):
        pshape = shape[1:]
        q = np.broadcast_to(
            (1.0 - theta[:, r.leak]).reshape((b,) + (1,) * len(pshape)), (b, *pshape)
        )
        for i, axis, state in r.links:
            factor = np.ones((b, pshape[axis]))
            factor[:, state] = 1.0 - theta[:, i]
            q = q * factor.reshape([b] + [-1 if a == axis else 1 for a in range(len(pshape))])
        out = np.empty((b, *shape))
        out[:, r.on] = 1.0 - q
        out[:, 1 - r.on] = q
        return out
    # Mixture: (1 - w) * (sum of the present causes' distributions / their count) + w * leak,
    # and the leak alone where no cause is present; configurations in C order (axis 1 first).
    # With ``obs``, only the state ``obs`` is computed (the rows are then filled, see above).
    states = slice(None) if obs is None else [obs]
    weight = theta[:, r.weight]  # (B,)
    leak = theta[:, r.leak[states]]  # (B, S)
    out = _subset_sums(theta[:, r.dists[:, states]].transpose(0, 2, 1), r.present)  # (B, S, G)
    out /= r.count
    out *= (1.0 - weight)[:, None, None]
    out += (weight[:, None] * leak)[:, :, None]
    out[:, :, r.none] = leak[:, :, None]
    if obs is not None:
        row, out = out[:, 0], np.zeros((b, shape[0], out.shape[2]))
        out[:, obs] = row
        out[:, (obs + 1) % shape[0]] = 1.0 - row
    return out.reshape((b, *shape))


def _subset_sums(d: np.ndarray, present: np.ndarray) -> np.ndarray:
    """Sums of ``d[..., p]`` over the present parents, for every parent configuration.

    ``d`` is ``(..., k)``; the result is ``(..., 2^k)`` with configurations in C order
    (first parent slowest) and parent ``p`` present at code ``present[p]``. Each sum adds
    the present parents in parent order. Built by doubling, without BLAS (tiny matrix
    products are slow when BLAS threads compete).

    >>> _subset_sums(np.array([[1.0, 10.0]]), np.array([1, 1]))
    array([[ 0., 10.,  1., 11.]])
    """
    out = np.zeros((*d.shape[:-1], 1))
    for p in range(d.shape[-1]):
        step = d[..., p, None]
        pair = (out + step, out) if present[p] == 0 else (out, out + step)
        out = np.stack(pair, axis=-1).reshape(*d.shape[:-1], -1)
    return out


# --------------------------------------------------------------------------- loading
def shipped_priors_dir() -> Path:
    """The priors installed with the package (the repository's ``priors/`` folder)."""
    return Path(str(resources.files("legnumb.shipped_priors")))


def load_priors(directory: str | Path | None = None, *, schema: Schema | None = None) -> PriorSet:
    """Read and validate a priors directory; report every problem at once.

    Parameters
    ----------
    directory : str or Path, optional
        The priors folder; the shipped priors when omitted.
    schema : Schema, optional
        The node names and states; the bundled schema when omitted.

    Raises
    ------
    PriorsError
        With one :class:`~legnumb.errors.Problem` per problem found, each naming the file,
        the row, the key and what was expected.
    """
    schema = schema or load_schema()
    directory = Path(directory) if directory is not None else shipped_priors_dir()
    problems: list[Problem] = []
    if not directory.is_dir():
        raise PriorsError(f"priors directory {str(directory)!r} does not exist.")
    digest = hashlib.sha256()
    raw: dict[str, list[tuple[int, dict[str, str], bool]] | None] = {}
    for name, fields in [("sources", SOURCE_FIELDS)] + [(f, NUMBER_FIELDS) for f in NUMBER_FILES]:
        path = directory / f"{name}.csv"
        if not path.is_file():
            problems.append(Problem(f"{path}", "file", "missing; expected a CSV file"))
            raw[name] = None
            continue
        data = path.read_bytes()
        digest.update(name.encode() + b"\0" + data + b"\0")
        raw[name] = _read_rows(path, data, fields, problems)
    sources, unsure = _check_sources(directory, raw["sources"], problems)
    # Every check runs in one pass; a row that failed only hides the checks that need it:
    # its distribution (or its node, or its whole file) goes into ``unchecked``.
    numbers: list[Number] = []
    unchecked: set[tuple[str, ...]] = set()
    for name in NUMBER_FILES:
        if raw[name] is None:
            unchecked.add((f"{name}.csv",))
            continue
        numbers += _check_numbers(
            directory, name, raw[name], schema, sources, unsure, problems, unchecked
        )
    _check_structure(directory, numbers, schema, problems, unchecked)
    if problems:
        raise PriorsError(
            f"{len(problems)} problem(s) in priors directory {str(directory)!r}:", problems
        )
    return PriorSet(tuple(numbers), sources, schema, digest.hexdigest(), str(directory))


def _read_rows(path, data, fields, problems):
    """The rows of one CSV file as ``(line, {field: text}, readable)``; header problems noted.

    ``line`` is the line the row starts on. A row that is not ``readable`` (see
    :func:`_records`) was reported already; its fields are what its first line holds. None
    when the file is not UTF-8.
    """
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        problems.append(Problem(str(path), "encoding", f"must be UTF-8: {exc}"))
        return None
    records = _records(path, text, problems)
    header = next(records, (0, [], True))[1]
    for col in header:
        if col not in fields:
            hint = closest(col, fields)
            problems.append(
                Problem(
                    f"{path}, header",
                    repr(col),
                    f"unknown field; allowed: {', '.join(fields)}"
                    + (f" (did you mean {hint!r}?)" if hint else ""),
                )
            )
    for col in fields:
        if col not in header:
            problems.append(Problem(f"{path}, header", repr(col), "required field is missing"))
    rows = []
    for line, cells, readable in records:
        if readable and len(cells) > len(header):
            problems.append(Problem(f"{path}, row {line}", "row", "has more cells than the header"))
        row = dict(zip(header, (c.strip() for c in cells), strict=False))
        rows.append((line, {col: row.get(col, "") for col in header}, readable))
    return rows


def _records(path, text, problems):
    """Yield ``(line, cells, readable)`` for every non-blank record of ``text``, read strictly.

    ``line`` is the 1-based line where the record starts. A record that cannot be read (a
    quote left open or followed by text, a field longer than :data:`MAX_FIELD_BYTES`) is
    a problem naming its line; it is yielded with ``readable`` false and the cells its first
    line holds, and reading resumes on the line after the fault, so that the rest of the
    file is still checked.
    """
    lines = io.StringIO(text, newline="").readlines()
    first = 0  # index of the line the next record starts on
    while first < len(lines):
        resumed = first
        reader = csv.reader(lines[resumed:], strict=True)
        try:
            for cells in reader:
                line, first = first + 1, resumed + reader.line_num
                if not cells:
                    continue
                longest = max(len(c.encode()) for c in cells)
                if longest > MAX_FIELD_BYTES:
                    problems.append(_too_long(path, line, MAX_FIELD_BYTES))
                yield line, cells, longest <= MAX_FIELD_BYTES
            return
        except csv.Error as exc:
            line, failed = first + 1, resumed + reader.line_num  # failed: 1-based
            problem, resume = _unreadable(path, lines, first, failed, exc)
            problems.append(problem)
            yield line, next(csv.reader([lines[first][:_SHOWN_CHARS]]), []), False
            first = max(resume, first + 1)


def _unreadable(path, lines, first, failed, exc):
    """The problem of a record (from line index ``first``) that failed on line ``failed``.

    Returns the problem and the index of the line to resume reading on. A quote still open
    when the reader stopped, or open at the end of the line before (and closed, wrongly, by
    a quote on the failing line), is an unterminated quote: the problem names the line it
    opened on, and reading resumes on the line after it.
    """
    opened = _open_quote(lines, first, failed)
    if opened is None and failed - 1 > first:
        opened = _open_quote(lines, first, failed - 1)
    if opened is not None:
        runs_on = (
            "is never closed"
            if failed == len(lines) and "end of data" in str(exc)
            else f"is not closed on that line and runs on to line {failed} ({exc})"
        )
        message = f"unterminated quote: the quoted field opened on line {opened + 1} {runs_on}"
        return Problem(f"{path}, row {opened + 1}", "quote", message), opened + 1
    if "field limit" in str(exc):
        return _too_long(path, first + 1, csv.field_size_limit()), failed
    if "expected after" in str(exc):
        message = f"malformed quoting ({exc}): a quoted field must end at its closing quote"
        return Problem(f"{path}, row {failed}", "quote", message), failed
    return Problem(f"{path}, row {failed}", "csv", f"not readable as CSV: {exc}"), failed


def _too_long(path, line, limit):
    return Problem(
        f"{path}, row {line}",
        "field",
        f"field longer than {limit} bytes; a priors field holds a number, a name or a note",
    )


def _open_quote(lines, first, stop):
    """Index of the line where the quote left open after ``lines[first:stop]`` opened, or None.

    Reads as the csv module does: a quote opens a field only at the field's start, and
    ``""`` inside a quoted field is a literal quote.
    """
    quoted, at_start, opened = False, True, None
    for i in range(first, stop):
        text = lines[i]
        j = 0
        while j < len(text):
            c = text[j]
            if quoted:
                if c == '"':
                    if text[j + 1 : j + 2] == '"':
                        j += 1
                    else:
                        quoted = False
            elif c == '"' and at_start:
                quoted, opened = True, i
            at_start = not quoted and c in ",\r\n"
            j += 1
    return opened if quoted else None


def _check_sources(directory, rows, problems):
    """Check ``sources.csv``; return the sources and the ids that cannot be checked.

    The second item is None when the file could not be read at all (then no source id of a
    number can be checked), else the ids of rows that could not be read.
    """
    sources = {}
    if rows is None:
        return sources, None
    unsure = set()
    path = directory / "sources.csv"
    for line, r, readable in rows:
        if not readable:
            unsure.add(r.get("source_id", ""))
            continue
        where = f"{path}, row {line}"
        sid = r.get("source_id", "")
        if not sid:
            problems.append(Problem(where, "source_id", "is empty"))
            continue
        if sid in sources:
            problems.append(Problem(where, sid, "duplicate source_id"))
        kind = r.get("kind", "")
        if kind not in SOURCE_KINDS:
            problems.append(
                Problem(
                    where,
                    f"{sid}.kind",
                    f"must be one of {', '.join(SOURCE_KINDS)}. Got {kind!r} instead.",
                )
            )
        if not r.get("citation"):
            problems.append(
                Problem(where, f"{sid}.citation", "is empty; every source needs a citation")
            )
        if kind in ("seed", "literature") and not r.get("locator"):
            problems.append(
                Problem(
                    where,
                    f"{sid}.locator",
                    "is empty; a seed needs its file name, literature a DOI, PMID or URL",
                )
            )
        if kind == "expert_judgement" and not r.get("reasoning"):
            problems.append(
                Problem(
                    where, f"{sid}.reasoning", "is empty; expert judgement must give its reasoning"
                )
            )
        sources[sid] = Source(
            sid, kind, r.get("citation", ""), r.get("locator", ""), r.get("reasoning", "")
        )
    return sources, unsure


def _parse_prob(text, where, key, problems):
    if text == "":
        problems.append(Problem(where, key, "is missing; expected a number in (0, 1)"))
        return None
    try:
        x = float(text)
    except ValueError:
        problems.append(Problem(where, key, f"expected a number in (0, 1). Got {text!r} instead."))
        return None
    message = probability_problem(x, text)
    if message:
        problems.append(Problem(where, key, message))
        return None
    return x


def probability_problem(
    x: float, shown: str | None = None, *, outside: str = "must lie strictly between 0 and 1"
) -> str | None:
    """What is wrong with ``x`` as a probability of the network, or None if nothing is.

    A probability must lie in ``[MIN_PROBABILITY, 1 - MIN_PROBABILITY]``. ``shown`` is how
    the value is quoted (default ``repr(x)``); ``outside`` opens the message for a value
    outside (0, 1).

    >>> probability_problem(0.3) is None
    True
    >>> probability_problem(1e-17)
    'is too close to 0. Got 1e-17 instead; probabilities must lie in [1e-09, 1 - 1e-09] so that complements are exact enough.'
    """
    if MIN_PROBABILITY <= x <= 1.0 - MIN_PROBABILITY:
        return None
    what = (
        outside
        if not (math.isfinite(x) and 0.0 < x < 1.0)
        else f"is too close to {0 if x < 0.5 else 1}"
    )
    return (
        f"{what}. Got {repr(x) if shown is None else shown} instead; probabilities must lie "
        f"in [{MIN_PROBABILITY:g}, 1 - {MIN_PROBABILITY:g}] so that complements are exact enough."
    )


def _check_name(name, allowed, where, key, problems, what):
    if name in allowed:
        return True
    hint = closest(name, allowed)
    problems.append(
        Problem(
            where,
            key,
            f"unknown {what} {name!r}"
            + (f"; did you mean {hint!r}?" if hint else f"; allowed: {', '.join(allowed)}"),
        )
    )
    return False


def _check_numbers(directory, name, rows, schema, sources, unsure, problems, unchecked):
    """Check the rows of one number file; return those that can enter the structure checks.

    A row enters the structure checks (duplicates, sums, missing states and leaks) when its
    node, kind, parent and state are valid and its value parses, even if its range or source
    is wrong. A row that does not is added to ``unchecked``: its distribution
    ``(node, kind, parent, parent_state)`` when that much is valid, else its node ``(node,)``
    when the node is valid (a row naming no valid node hides nothing).
    """
    path = directory / f"{name}.csv"
    nodes_here = {
        "history": schema.history,
        "causes": tuple(schema.causes),
        "findings": schema.symptoms,
    }[name]
    out = []
    for line, r, readable in rows:
        where = f"{path}, row {line}"
        found = problems if readable else []  # an unreadable row is reported already
        node, kind, state = r.get("node", ""), r.get("kind", ""), r.get("state", "")
        parent, pstate = r.get("parent", ""), r.get("parent_state", "")
        key = f"{node}|{kind}|{parent}={pstate}|{state}"
        node_ok = _check_name(node, nodes_here, where, "node", found, f"node for {name}.csv")
        kind_ok = kind in _KINDS
        if not kind_ok:
            found.append(
                Problem(
                    where,
                    f"{key} kind",
                    f"must be one of {', '.join(_KINDS)}. Got {kind!r} instead.",
                )
            )
        parent_ok = state_ok = False
        if node_ok and kind_ok:
            model = _model_of(schema, node)
            allowed_kinds = {
                "table": ("prior",),
                "noisy_or": ("leak", "link"),
                "mixture": ("leak", "link", "leak_weight"),
            }[model]
            if kind not in allowed_kinds:
                found.append(
                    Problem(
                        where,
                        f"{key} kind",
                        f"{node} is a {model} node; kind must be one of {', '.join(allowed_kinds)}. Got {kind!r} instead.",
                    )
                )
                kind_ok = False
        if node_ok and kind_ok:
            state_ok = _check_state(schema, node, kind, state, where, key, found)
            parent_ok = _check_parent(schema, name, node, kind, parent, pstate, where, key, found)
        value = _parse_prob(r.get("value", ""), where, f"{key} value", found)
        low = _parse_prob(r.get("low", ""), where, f"{key} low", found)
        high = _parse_prob(r.get("high", ""), where, f"{key} high", found)
        if low is not None and high is not None and low > high:
            found.append(
                Problem(
                    where,
                    f"{key} range",
                    f"low must not exceed high. Got low={low} > high={high} instead.",
                )
            )
        elif None not in (value, low, high) and not low <= value <= high:
            found.append(
                Problem(
                    where,
                    f"{key} value",
                    f"must lie in its own range [{low}, {high}]. Got {value} instead.",
                )
            )
        sid = r.get("source_id", "")
        if not sid:
            found.append(
                Problem(where, f"{key} source_id", "is empty; every number needs a source")
            )
        elif sid not in sources and unsure is not None and sid not in unsure:
            hint = closest(sid, sources)
            found.append(
                Problem(
                    where,
                    f"{key} source_id",
                    f"unknown source {sid!r}"
                    + (f"; did you mean {hint!r}?" if hint else "; add it to sources.csv"),
                )
            )
        if readable and node_ok and kind_ok and parent_ok and state_ok and value is not None:
            low, high = (math.nan, math.nan) if None in (low, high) else (low, high)
            out.append(
                Number(
                    name,
                    line,
                    node,
                    kind,
                    state,
                    parent,
                    pstate,
                    value,
                    low,
                    high,
                    sid,
                    r.get("note", ""),
                )
            )
        elif node_ok and kind_ok and parent_ok:
            unchecked.add((node, kind, parent, pstate))
        elif node_ok:
            unchecked.add((node,))
    return out


def _check_state(schema, node, kind, state, where, key, problems):
    """Whether ``state`` is right for a ``kind`` number of ``node`` (noting a problem if not)."""
    if kind == "leak_weight":
        if state:
            problems.append(
                Problem(
                    where,
                    f"{key} state",
                    f"must be empty for leak_weight. Got {state!r} instead.",
                )
            )
            return False
        return True
    if _model_of(schema, node) == "noisy_or":
        on = _on_state(schema, node)
        if state != on:
            problems.append(
                Problem(
                    where,
                    f"{key} state",
                    f"noisy-OR numbers give P({node}={on}); state must be {on!r}. Got {state!r} instead.",
                )
            )
            return False
        return True
    return _check_name(
        state, schema.states_of(node), where, f"{key} state", problems, f"state of {node}"
    )


def _check_parent(schema, name, node, kind, parent, pstate, where, key, problems):
    """Whether ``parent`` and ``pstate`` are right for the number (noting a problem if not)."""
    parents_allowed = {
        "history": ("sex",) if node == "pregnant" else (),
        "causes": schema.history,
        "findings": tuple(schema.causes),
    }[name]
    if kind == "link" or (kind == "prior" and parent):
        return _check_name(
            parent,
            parents_allowed or ("(none)",),
            where,
            f"{key} parent",
            problems,
            f"parent of {node}",
        ) and _check_name(
            pstate,
            schema.states_of(parent),
            where,
            f"{key} parent_state",
            problems,
            f"state of {parent}",
        )
    if parent or pstate:
        problems.append(
            Problem(
                where,
                f"{key} parent",
                f"must be empty for kind {kind!r}. Got {parent!r}={pstate!r} instead.",
            )
        )
        return False
    return True


def _check_structure(directory, numbers, schema, problems, unchecked):
    """Duplicates, and every node's distributions complete and summing to 1.

    Skips what ``unchecked`` holds (see :func:`_check_numbers`): a distribution, a node, or
    every node of a file.
    """
    seen = {}
    by_node = defaultdict(list)
    for n in numbers:
        if n.param_id in seen:
            problems.append(
                Problem(
                    f"{directory / (n.file + '.csv')}, row {n.line}",
                    n.param_id,
                    f"duplicate of row {seen[n.param_id]}",
                )
            )
        seen.setdefault(n.param_id, n.line)
        by_node[n.node].append(n)
    for node in schema.nodes:
        model = _model_of(schema, node)
        file = (
            "history" if model == "table" else ("causes" if node in schema.causes else "findings")
        )
        if (f"{file}.csv",) in unchecked or (node,) in unchecked:
            continue
        nums = by_node.get(node, [])
        where = f"{directory / (file + '.csv')}"
        states = schema.states_of(node)
        groups = defaultdict(list)
        for n in nums:
            groups[(n.kind, n.parent, n.parent_state)].append(n)
        known = set(groups) | {g[1:] for g in unchecked if len(g) == 4 and g[0] == node}
        if not known:
            problems.append(
                Problem(where, node, "has no numbers; every node needs its distribution")
            )
            continue
        if model in ("noisy_or", "mixture") and ("leak", "", "") not in known:
            what = (
                "a noisy-OR node needs a leak"
                if model == "noisy_or"
                else ("a mixture node needs a leak distribution")
            )
            problems.append(Problem(where, f"{node} leak", f"is missing; {what}"))
        if model == "mixture" and ("leak_weight", "", "") not in known:
            problems.append(
                Problem(
                    where,
                    f"{node} leak_weight",
                    "is missing; a mixture node needs its leak share",
                )
            )
        if model == "noisy_or":
            continue
        if model == "table":
            parent = next((g[1] for g in known if g[1]), "")
            if parent:
                for ps in schema.states_of(parent):
                    if ("prior", parent, ps) not in known:
                        problems.append(Problem(where, f"{node} | {ps}", "distribution is missing"))
        for (kind, parent, pstate), group in groups.items():
            if kind == "leak_weight" or (node, kind, parent, pstate) in unchecked:
                continue
            label = f"{node}|{kind}|{parent}={pstate}"
            missing = [s for s in states if s not in {n.state for n in group}]
            if missing:
                problems.append(
                    Problem(
                        where,
                        label,
                        f"missing state(s) {', '.join(missing)}; expected one row per state of {node}: {', '.join(states)}",
                    )
                )
                continue
            total = sum(n.value for n in group)
            if abs(total - 1.0) > _SUM_TOL:
                problems.append(
                    Problem(
                        where,
                        label,
                        f"values must sum to 1 within {_SUM_TOL:g}. Got {total:.12g} instead (rows {', '.join(str(n.line) for n in group)}).",
                    )
                )
