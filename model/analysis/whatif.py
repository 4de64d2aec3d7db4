"""What-if analysis in one call.

A diagnosis with its explanation, next questions and conflict (:func:`analyse`), scenarios side by side (:func:`compare`), and a replayed intake
(:func:`guided_intake`). Drawing lives in :mod:`legnumb.plots.explain`, the interactive app in
:mod:`legnumb.app.widgets`.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

import numpy as np
import pandas as pd

from legnumb.analysis.conflict import Conflict, _check_conflict_options, _conflict
from legnumb.analysis.context import (
    _base_and_answers,
    _check_baseline,
    _codes,
    _context,
    _explain_codes,
    _p_other_cause,
    _resolve_causes,
)
from legnumb.analysis.next_questions import _question_frames
from legnumb.analysis.phrases import cause_phrase, finding_phrase, format_pct
from legnumb.analysis.weight_of_evidence import _sentence
from legnumb.diagnosis.evidence import normalize_evidence
from legnumb.diagnosis.model import Diagnosis, Model
from legnumb.errors import EvidenceError, InputError, Problem
from legnumb.io.cases import history_only


# --------------------------------------------------------------------------- one-call analysis
@dataclass(frozen=True)
class Analysis:
    """Everything the what-if app shows for one evidence set (see :func:`analyse`).

    Attributes
    ----------
    evidence : dict
        The normalized findings.
    diagnosis : Diagnosis
        Posteriors, triage and red flags.
    explanation : pandas.DataFrame
        Weights of evidence (see :func:`explain`) for the explained causes.
    sentences : dict of str to str
        One plain sentence per explained cause.
    questions, outcomes : pandas.DataFrame
        See :func:`next_questions` and :func:`answer_outcomes`.
    conflict : Conflict or None
        When asked for.
    baseline : str
        ``"prior"`` or ``"history"``.
    log_evidence : float
        ``ln P(evidence)``.
    loo_log_evidence : pandas.Series
        ``ln P(evidence without the column)`` per observed column.
    timings : dict
        Milliseconds spent per stage.
    """

    evidence: dict[str, str]
    diagnosis: Diagnosis
    explanation: pd.DataFrame
    sentences: dict[str, str]
    questions: pd.DataFrame
    outcomes: pd.DataFrame
    conflict: Conflict | None
    baseline: str
    log_evidence: float = field(default=np.nan, repr=False)
    loo_log_evidence: pd.Series = field(default=None, repr=False, compare=False)
    timings: dict[str, float] = field(default_factory=dict, compare=False)

    def summary(self) -> pd.DataFrame:
        """One row per explained cause, most likely first: posterior and the sentence.

        Examples
        --------
        >>> from legnumb.diagnosis.model import load_model
        >>> a = analyse(load_model(), {"calf_swelling": "yes", "recent_immobility": "yes"})
        >>> a.summary().columns.tolist()
        ['posterior', 'why']
        >>> a.summary().index[0]
        'deep_vein_thrombosis'
        """
        post = self.diagnosis.posteriors
        names = sorted(self.sentences, key=lambda c: -post[c])
        return pd.DataFrame(
            {
                "posterior": [float(post[c]) for c in names],
                "why": [self.sentences[c] for c in names],
            },
            index=pd.Index(names, name="cause"),
        )

    def describe(self) -> str:
        """Triage, red flags and one sentence per explained cause, as plain text.

        Examples
        --------
        >>> from legnumb.diagnosis.model import load_model
        >>> a = analyse(load_model(), {"calf_swelling": "yes", "recent_immobility": "yes"},
        ...             explain_causes=1)
        >>> print(a.describe())  # doctest: +ELLIPSIS
        Triage: emergency. Red flags: swollen calf after immobility (possible blood clot); ...
        - deep vein thrombosis (...%): A swollen calf and recent immobility raise deep vein ...
        """
        flags = "; ".join(self.diagnosis.red_flags) or "none"
        lines = [f"Triage: {self.diagnosis.triage.replace('_', ' ')}. Red flags: {flags}."]
        for cause, row in self.summary().iterrows():
            lines.append(f"- {cause_phrase(cause)} ({format_pct(row['posterior'])}): {row['why']}")
        return "\n".join(lines)


def analyse(
    model: Model,
    evidence: Mapping[str, object],
    *,
    explain_causes: Sequence[str] | int | None = 3,
    baseline: str = "prior",
    questions: bool = True,
    with_conflict: bool = False,
    n_sim: int = 500,
    seed: int = 0,
    level: float = 0.95,
) -> Analysis:
    """Posteriors, triage, explanation, next questions and (optionally) conflict at once.

    Two batched engine calls: the evidence plus one row per cause clamped present (answers to
    every open question), and one row per observed finding left out (weights of evidence and
    the conflict drivers). The conflict reference is simulated once per observed pattern and
    cached.

    Parameters
    ----------
    explain_causes : sequence of str, int or None
        Causes to explain (names, the ``n`` most likely, or all when None). Default 3.
    baseline : {"prior", "history"}
        Starting point of the explanation sentences.
    questions : bool
        Rank the unobserved columns.
    with_conflict : bool
        Compute the calibrated conflict measure (the first call per pattern simulates
        ``n_sim`` cases).

    Examples
    --------
    >>> from legnumb.diagnosis.model import load_model
    >>> a = analyse(load_model(), {"laterality": "one_leg", "back_pain": "yes"})
    >>> a.diagnosis.ranked.index[0], a.questions["column"].iloc[0]
    ('sciatica', 'position_trigger')
    >>> a.sentences["sciatica"]  # doctest: +ELLIPSIS
    'Back pain and one leg raise sciatica from ...% (the prior, no findings) to ...%.'
    """
    _check_baseline(baseline)
    if with_conflict:
        _check_conflict_options(n_sim, level)
    t0 = time.perf_counter()
    ctx = _context(model)
    ev, row = _codes(model, evidence)
    t1 = time.perf_counter()
    if questions:
        ba = _base_and_answers(ctx, model, row)
    else:
        row_only = row.copy()
        res = model.engine.query(ctx.full(row_only[None, :]), targets=ctx.causes)
        ba = {
            "post": np.array([res.marginals[c][0, 1] for c in ctx.causes]),
            "post2": np.stack([res.marginals[c][0] for c in ctx.causes]),
            "log_evidence": float(res.log_evidence[0]),
            "p_other_cause": _p_other_cause(res),
        }
    t2 = time.perf_counter()
    post = ba["post"]
    series = pd.Series(post, index=list(ctx.causes), name="posterior")
    levels, reasons, flags = model.triage(row[None, :], post[None, :])
    diag = Diagnosis(ev, series, str(levels[0]), tuple(flags[0]), reasons[0], ba["p_other_cause"])
    frame, obs, loo_logev = _explain_codes(ctx, model, row, explain_causes, baseline, ba["post2"])
    t3 = time.perf_counter()
    names = _resolve_causes(ctx, explain_causes, post)
    cols = {k: frame[k].to_numpy() for k in ("cause", "woe", "finding", "p_baseline")}
    sentences = {}
    for c in names:
        hit = cols["cause"] == c
        rows = {"woe": cols["woe"][hit], "finding": cols["finding"][hit]}
        p0 = (
            float(cols["p_baseline"][hit][0])
            if hit.any()
            else float(ctx.prior_causes[ctx.causes.index(c)])
        )
        sentences[c] = _sentence(c, p0, float(post[ctx.causes.index(c)]), baseline, rows)
    if questions:
        q, outcomes = _question_frames(ctx, row, ba)
    else:
        q, outcomes = _question_frames(
            ctx,
            row,
            {
                "post": post,
                "a_col": np.zeros(0, int),
                "a_state": np.zeros(0, int),
                "p_answer": np.zeros(0),
                "post_after": np.zeros((0, len(post))),
            },
        )
    t4 = time.perf_counter()
    conf = None
    if with_conflict:
        conf = _conflict(
            ctx, model, row, ba["log_evidence"], obs, loo_logev, n_sim=n_sim, seed=seed, level=level
        )
    t5 = time.perf_counter()
    timings = {
        "encode_ms": 1e3 * (t1 - t0),
        "posteriors_and_answers_ms": 1e3 * (t2 - t1),
        "explanation_ms": 1e3 * (t3 - t2),
        "questions_ms": 1e3 * (t4 - t3),
        "conflict_ms": 1e3 * (t5 - t4),
        "total_ms": 1e3 * (t5 - t0),
    }
    loo = pd.Series(loo_logev, index=[ctx.columns[j] for j in obs], name="log_evidence")
    return Analysis(
        ev, diag, frame, sentences, q, outcomes, conf, baseline, ba["log_evidence"], loo, timings
    )


# --------------------------------------------------------------------------- scenarios
@dataclass(frozen=True)
class Comparison:
    """Two or more evidence sets side by side (see :func:`compare`).

    Attributes
    ----------
    names : tuple of str
        Scenario names; the first is the reference.
    evidence : dict
        Name -> normalized evidence.
    posteriors : pandas.DataFrame
        Causes (rows, ranked by the largest posterior in any scenario) x scenarios.
    differences : pandas.DataFrame
        Each other scenario minus the reference, same rows.
    triage : pandas.Series
        Triage level per scenario.
    red_flags : pandas.Series
        Red flags (tuple of str) per scenario.
    findings : pandas.DataFrame
        Observed columns (rows) x scenarios, as readable phrases; blank = not known.
    changed : tuple of str
        Columns whose state differs between scenarios.
    """

    names: tuple[str, ...]
    evidence: dict[str, dict[str, str]]
    posteriors: pd.DataFrame
    differences: pd.DataFrame
    triage: pd.Series
    red_flags: pd.Series
    findings: pd.DataFrame
    changed: tuple[str, ...]

    def summary(self, *, top: int = 3) -> list[str]:
        """One sentence per non-reference scenario: triage and the biggest moves."""
        ref = self.names[0]
        out = []
        for name in self.names[1:]:
            diff = self.differences[name]
            big = diff.reindex(diff.abs().sort_values(ascending=False).index).head(top)
            moves = ", ".join(
                f"{cause_phrase(c)} {format_pct(self.posteriors.at[c, ref])} -> "
                f"{format_pct(self.posteriors.at[c, name])}"
                for c in big.index
                if abs(big[c]) >= 0.005
            )
            tri = (
                f"triage {self.triage[ref]} -> {self.triage[name]}"
                if self.triage[name] != self.triage[ref]
                else f"triage stays {self.triage[name]}"
            )
            out.append(
                f"{name} vs {ref}: {tri}; " + (moves or "no cause moves by 0.5 points") + "."
            )
        return out


def compare(
    model: Model,
    scenarios: Mapping[str, Mapping[str, object]] | Sequence[Mapping[str, object]],
) -> Comparison:
    """Compare two or more evidence sets: posteriors, triage, red flags and differences.

    Parameters
    ----------
    model : Model
        A loaded model.
    scenarios : mapping of name to evidence, or sequence of evidence
        The first scenario is the reference; unnamed ones are called ``A``, ``B``, ...

    Examples
    --------
    >>> from legnumb.diagnosis.model import load_model
    >>> c = compare(load_model(), {"now": {"onset": "sudden"},
    ...                             "with weakness": {"onset": "sudden", "weakness": "yes"}})
    >>> c.triage.tolist(), c.changed
    (['urgent', 'emergency'], ('weakness',))
    """
    if isinstance(scenarios, Mapping):
        items = list(scenarios.items())
    else:
        items = [
            (chr(ord("A") + i) if i < 26 else f"S{i + 1}", ev) for i, ev in enumerate(scenarios)
        ]
    if len(items) < 2:
        raise InputError(f"expected two or more scenarios to compare. Got {len(items)} instead.")
    names = tuple(str(n) for n, _ in items)
    if len(set(names)) != len(names):
        raise InputError(f"expected distinct scenario names. Got {names} instead.")
    evs = {}
    problems: list[Problem] = []
    for name, ev in items:
        try:
            evs[name] = normalize_evidence(model.schema, ev)
        except EvidenceError as exc:
            problems += [Problem(f"scenario {name!r}", p.key, p.message) for p in exc.problems]
    if problems:
        raise EvidenceError(f"{len(problems)} problem(s) in the scenarios:", problems)
    codes = model.encode([evs[n] for n in names])
    post = model.posterior_matrix(codes)
    levels, _, flags = model.triage(codes, post)
    causes = list(model.causes)
    table = pd.DataFrame(post.T, index=causes, columns=list(names))
    table = table.loc[table.max(axis=1).sort_values(ascending=False, kind="stable").index]
    diffs = table[list(names[1:])].sub(table[names[0]], axis=0)
    observed = [c for c in model.columns if any(c in evs[n] for n in names)]
    findings = pd.DataFrame(
        {n: [finding_phrase(c, evs[n][c]) if c in evs[n] else "" for c in observed] for n in names},
        index=observed,
    )
    changed = tuple(c for c in observed if len({evs[n].get(c) for n in names}) > 1)
    return Comparison(
        names,
        evs,
        table,
        diffs,
        pd.Series(levels.astype(str), index=list(names), name="triage"),
        pd.Series(flags, index=list(names), name="red_flags", dtype=object),
        findings,
        changed,
    )


def guided_intake(
    model: Model,
    case: Mapping[str, object],
    *,
    start: str = "history",
    max_steps: int = 5,
    min_info: float = 0.0,
) -> pd.DataFrame:
    """Replay an intake: ask the best next question, take the answer from ``case``, repeat.

    Parameters
    ----------
    model : Model
        A loaded model.
    case : mapping
        The full findings of a case (the answers the person would give).
    start : {"history", "nothing"}
        Begin from the case's history columns, or from no findings.
    max_steps : int
        Questions to ask at most.
    min_info : float
        Stop when the best question's expected information (bits) falls below this.

    Returns
    -------
    pandas.DataFrame
        Step 0 is the start; each further row is the state after one answer: ``step``,
        ``asked``, ``question``, ``answer``, ``finding``, ``expected_info`` and
        ``expected_top_change`` of the question when it was chosen, ``top_cause``, ``p_top``,
        ``triage``, ``n_known`` and one ``p_<cause>`` column per cause.

    Examples
    --------
    >>> from legnumb.diagnosis.model import load_model
    >>> from legnumb.io.cases import example_evidence
    >>> steps = guided_intake(load_model(), example_evidence("E03"), max_steps=2)
    >>> steps["step"].tolist(), steps["asked"].iloc[0], steps["top_cause"].iloc[-1]
    ([0, 1, 2], '', 'sciatica')
    """
    if start not in ("history", "nothing"):
        raise InputError(f"expected start in ('history', 'nothing'). Got {start!r} instead.")
    if not isinstance(max_steps, int) or max_steps < 0:
        raise InputError(f"expected max_steps as an int >= 0. Got {max_steps!r} instead.")
    full = normalize_evidence(model.schema, case)
    known = history_only(model.schema, full) if start == "history" else {}
    recs = []
    chosen = None
    for step in range(max_steps + 1):
        a = analyse(model, known, explain_causes=[], questions=True)
        post = a.diagnosis.posteriors
        rec = {
            "step": step,
            "asked": chosen["column"] if chosen is not None else "",
            "question": chosen["question"] if chosen is not None else "",
            "answer": known[chosen["column"]] if chosen is not None else "",
            "finding": finding_phrase(chosen["column"], known[chosen["column"]])
            if chosen is not None
            else "",
            "expected_info": chosen["expected_info"] if chosen is not None else np.nan,
            "expected_top_change": chosen["expected_top_change"] if chosen is not None else np.nan,
            "top_cause": post.idxmax(),
            "p_top": float(post.max()),
            "triage": a.diagnosis.triage,
            "n_known": len(known),
        }
        rec.update({f"p_{c}": float(p) for c, p in post.items()})
        recs.append(rec)
        if step == max_steps:
            break
        answerable = a.questions[a.questions["column"].isin(list(full))]
        if answerable.empty or answerable["expected_info"].iloc[0] < min_info:
            break
        chosen = answerable.iloc[0]
        known = {**known, chosen["column"]: full[chosen["column"]]}
    return pd.DataFrame(recs)
