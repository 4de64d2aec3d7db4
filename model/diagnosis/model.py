"""The legnumb model: load the priors, compile the engine, diagnose one person or many.

Examples
--------
>>> from legnumb import load_model
>>> m = load_model()
>>> d = m.diagnose({"laterality": "one_leg", "onset": "sudden", "face_arm_or_speech": "yes"})
>>> d.triage
'emergency'
>>> d.posteriors.idxmax()
'stroke'
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from legnumb import __version__
from legnumb.diagnosis.evidence import normalize_evidence
from legnumb.diagnosis.policy import Policy, RuleHits, load_policy
from legnumb.diagnosis.scoring import summarize
from legnumb.diagnosis.triage import shipped_policy
from legnumb.errors import InvalidArgumentError
from legnumb.inference.checks import distinct_rows
from legnumb.inference.independent import IndependentEngine
from legnumb.network.priors import PriorSet, load_priors
from legnumb.network.schema import TRIAGE_LEVELS, Schema

if TYPE_CHECKING:
    from legnumb.network.bayesnet import DiscreteBayesianNetwork

__all__ = ["Diagnosis", "Model", "load_model"]

_EMERGENCY = TRIAGE_LEVELS.index("emergency")


@dataclass(frozen=True)
class Diagnosis:
    """The result of :meth:`Model.diagnose` for one person.

    Attributes
    ----------
    evidence : dict
        The normalized findings used.
    posteriors : pandas.Series
        P(cause = present | evidence), indexed by cause in ``causes.csv`` order.
    triage : str
        ``"emergency"``, ``"urgent"``, ``"routine"`` or ``"self_care"``.
    red_flags : tuple of str
        The warning signs found, in plain words (always reported).
    triage_reason : str
        The rule or the likely cause that set the level, in plain words.
    p_other_cause : float
        P(no listed cause is present | evidence).
    """

    evidence: dict[str, str]
    posteriors: pd.Series
    triage: str
    red_flags: tuple[str, ...]
    triage_reason: str = ""
    p_other_cause: float = float("nan")

    @property
    def n_findings(self) -> int:
        """How many of the model's columns the evidence answered."""
        return len(self.evidence)

    @property
    def ranked(self) -> pd.Series:
        """Posteriors sorted from most to least likely."""
        return self.posteriors.sort_values(ascending=False, kind="stable")


@dataclass(frozen=True)
class Model:
    """A loaded legnumb model. Build it with :func:`load_model`.

    Attributes
    ----------
    priors : PriorSet
        Every hand-set number, validated.
    engine : IndependentEngine
        The exact batch engine for the causally independent network (pgmpy's variable
        elimination on :attr:`network` is its reference).
    policy : Policy
        The triage rules and thresholds of the same priors folder.
    """

    priors: PriorSet
    engine: IndependentEngine
    policy: Policy | None = None
    version: str = __version__

    @cached_property
    def network(self) -> DiscreteBayesianNetwork:
        """The pgmpy network of the same numbers; ``check_model()`` passes.

        Built on first use: scoring, diagnosis and the analyses run on :attr:`engine` and
        never need it, and importing pgmpy alone takes seconds.
        """
        from legnumb.network.bayesnet import build_network

        return build_network(self.priors.network().to_cpts())

    @property
    def schema(self) -> Schema:
        """The symptom-CSV schema the model reads."""
        return self.priors.schema

    @property
    def causes(self) -> tuple[str, ...]:
        """Cause names, in ``causes.csv`` order."""
        return tuple(self.schema.causes)

    @property
    def columns(self) -> tuple[str, ...]:
        """Column names of the symptom CSV, in ``columns.csv`` order."""
        return tuple(self.schema.columns)

    @property
    def priors_hash(self) -> str:
        """First 16 hex digits of the sha256 of the priors files (numbers and triage policy)."""
        if self.policy is None:
            return self.priors.sha256[:16]
        both = f"{self.priors.sha256}:{self.policy.sha256}".encode()
        return hashlib.sha256(both).hexdigest()[:16]

    # ------------------------------------------------------------------ encoding
    def encode(self, evidences: Sequence[Mapping[str, str]]) -> np.ndarray:
        """Normalized evidence dicts as codes ``(B, len(columns))``; -1 where not known.

        Raises
        ------
        InvalidArgumentError
            For a name or state that is not normalized (see
            :func:`~legnumb.diagnosis.evidence.normalize_evidence`).
        """
        book = self._codebook
        codes = np.full((len(evidences), len(book)), -1, dtype=np.int64)
        for i, ev in enumerate(evidences):
            for col, state in ev.items():
                try:
                    j, states = book[col]
                    codes[i, j] = states[state]
                except KeyError:
                    raise InvalidArgumentError(
                        f"expected normalized evidence. Got {col!r}: {state!r} instead"
                    ) from None
        return codes

    def posterior_matrix(self, codes: np.ndarray, *, n_threads: int = 1) -> np.ndarray:
        """P(cause = present | row) for coded rows: an array ``(B, len(causes))``."""
        return self.infer(codes, n_threads=n_threads)[0]

    def infer(
        self, codes: np.ndarray, *, n_threads: int = 1, with_none: bool = True
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posteriors ``(B, len(causes))`` and P(no listed cause | row) ``(B,)`` of coded rows.

        With ``with_none=False`` the second array is NaN and its pass is skipped.
        """
        codes = np.asarray(codes, dtype=np.int64)
        full = np.full((codes.shape[0], len(self.engine.variables)), -1, dtype=np.int64)
        full[:, self._column_positions] = codes
        causes = self.causes
        res = self.engine.query(full, targets=causes, n_threads=n_threads, with_none=with_none)
        post = np.column_stack([res.marginals[c][:, 1] for c in causes])
        with np.errstate(invalid="ignore"):
            other = np.exp(res.log_none - res.log_evidence)
        return post, other

    @cached_property
    def _column_positions(self) -> np.ndarray:
        """Where each column of the symptom CSV sits among the engine's variables."""
        variables = self.engine.variables
        return np.array([variables.index(c) for c in self.columns], dtype=np.int64)

    @cached_property
    def _codebook(self) -> dict[str, tuple[int, dict[str, int]]]:
        """Column -> its position and the code of each of its states."""
        return {
            name: (j, {s: k for k, s in enumerate(col.states)})
            for j, (name, col) in enumerate(self.schema.columns.items())
        }

    @cached_property
    def _cause_index(self) -> pd.Index:
        """The causes as the (immutable, so shared) index of posterior Series."""
        return pd.Index(list(self.causes))

    @property
    def _policy(self) -> Policy:
        return self.policy or shipped_policy()

    # ------------------------------------------------------------------ API
    def diagnose(self, evidence: Mapping[str, object]) -> Diagnosis:
        """Posteriors, triage and red flags for one person's findings.

        Names and states are normalized as in the CSV contract; blank values mean "not
        known". Raises :class:`~legnumb.errors.EvidenceError` listing every unknown column or
        state.
        """
        ev = normalize_evidence(self.schema, evidence)
        codes = self.encode([ev])
        post, other = self.infer(codes)
        levels, reasons, flags = self.triage(codes, post)
        posteriors = pd.Series(post[0], index=self._cause_index, name="posterior")
        return Diagnosis(ev, posteriors, str(levels[0]), flags[0], reasons[0], float(other[0]))

    def triage(
        self, codes: np.ndarray, post: np.ndarray, *, n_threads: int = 1
    ) -> tuple[np.ndarray, np.ndarray, list[tuple[str, ...]]]:
        """Triage levels, reasons (arrays of str) and red flags of coded rows and their posteriors.

        The one triage of the package: the rules, the causes likely given the answers and the
        causes likely before the red-flag answers (:meth:`base_posteriors`), so that
        :meth:`diagnose`, ``legnumb score`` and the what-if analyses agree on every row. Rows
        with NaN posteriors (unscored) take the rules alone.

        Examples
        --------
        >>> m = load_model()
        >>> codes = m.encode([{"saddle_numbness": "yes"}])
        >>> levels, reasons, flags = m.triage(codes, m.posterior_matrix(codes))
        >>> str(levels[0]), flags[0]
        ('emergency', ('numbness between the legs, around the genitals or back passage (possible cauda equina syndrome)',))
        """
        codes = np.asarray(codes, dtype=np.int64)
        post = np.asarray(post, dtype=float)
        hits = self._policy.hits(self.schema, codes)
        ok = ~np.isnan(post).any(axis=1)
        base = self.base_posteriors(codes, post, ok, n_threads=n_threads, hits=hits)
        return hits.triage(post, base)

    def score_codes(
        self,
        codes: np.ndarray,
        *,
        row_ok: np.ndarray | None = None,
        n_threads: int = 1,
        seconds: dict[str, float] | None = None,
    ) -> pd.DataFrame:
        """Score coded rows: the output columns of the contract from ``p_<cause>`` to ``n_findings``.

        Rows with ``row_ok`` False are not scored (NaN posteriors, blank top cause) but their
        red flags are still found and their triage follows the red-flag rules alone.
        ``n_threads`` splits the batch over threads; results do not depend on it. With
        ``seconds``, the time spent in inference and in triage is added to its ``"infer"``
        and ``"triage"`` entries.
        """
        start = time.perf_counter()
        codes = np.asarray(codes, dtype=np.int64)
        n = codes.shape[0]
        ok = np.ones(n, dtype=bool) if row_ok is None else np.asarray(row_ok, dtype=bool)
        # identical rows (same answers, both scored or both not) are scored once
        work, inverse = distinct_rows(np.column_stack([codes, ok]))
        if inverse is not None:
            if seconds is not None:
                seconds["infer"] += time.perf_counter() - start
            out = self.score_codes(
                work[:, :-1], row_ok=work[:, -1] == 1, n_threads=n_threads, seconds=seconds
            )
            return out.iloc[inverse].reset_index(drop=True)
        post = np.full((n, len(self.causes)), np.nan)
        other = np.full(n, np.nan)
        if ok.any():
            post[ok], other[ok] = self.infer(codes[ok], n_threads=n_threads)
        middle = time.perf_counter()
        hits = self._policy.hits(self.schema, codes)
        mark = time.perf_counter()
        base = self.base_posteriors(codes, post, ok, n_threads=n_threads, hits=hits)
        after = time.perf_counter()
        out = summarize(self, codes, post, other, ok, base, hits=hits)
        if seconds is not None:  # the pass without red-flag answers counts as inference
            seconds["infer"] += (middle - start) + (after - mark)
            seconds["triage"] += (mark - middle) + (time.perf_counter() - after)
        return out

    def base_posteriors(
        self,
        codes: np.ndarray,
        post: np.ndarray,
        ok: np.ndarray,
        *,
        n_threads: int = 1,
        hits: RuleHits | None = None,
    ) -> np.ndarray | None:
        """Posteriors of rows with their red-flag answers left out, where triage needs them.

        Adding a warning sign can lower a cause's posterior (a swollen calf makes PAD less
        likely); triage takes a cause that was likely *before* the warning signs into account
        too, so that a red-flag answer never lowers the level. Computed only for scored rows
        that hold a red-flag answer and are not already at emergency; NaN elsewhere, and None
        when no row needs it. ``hits``: the rules that fire for ``codes``, when already found
        (:meth:`legnumb.diagnosis.policy.Policy.hits`).
        """
        codes = np.asarray(codes, dtype=np.int64)
        policy = self._policy
        hits = hits if hits is not None else policy.hits(self.schema, codes)
        level, _ = hits.classify(post)
        rows = np.flatnonzero(np.asarray(ok, dtype=bool) & (level != _EMERGENCY))
        rfa = policy.red_flag_answers(self.schema, codes[rows])
        keep = rfa.any(axis=1)
        rows, rfa = rows[keep], rfa[keep]
        if not rows.size:
            return None
        base = np.full(post.shape, np.nan)
        base[rows] = self.infer(
            np.where(rfa, -1, codes[rows]), n_threads=n_threads, with_none=False
        )[0]
        return base

    def score(self, df: pd.DataFrame) -> pd.DataFrame:
        """Score a DataFrame of raw symptom-CSV cells; same columns as ``legnumb score``."""
        from legnumb.io.batch import score_frame

        return score_frame(self, df)


def load_model(priors: str | Path | None = None) -> Model:
    """Load and validate the priors and triage policy and compile the engine.

    The pgmpy network (:attr:`Model.network`) is built when first used.

    Parameters
    ----------
    priors : str or Path, optional
        A priors directory; the shipped priors when omitted.
    """
    ps: PriorSet = load_priors(priors)
    policy = load_policy(ps.directory, schema=ps.schema, sources=_source_kinds(ps))
    return Model(priors=ps, engine=IndependentEngine.from_network(ps.network()), policy=policy)


def _source_kinds(ps: PriorSet) -> dict[str, str]:
    return {sid: getattr(src, "kind", "") for sid, src in ps.sources.items()}
