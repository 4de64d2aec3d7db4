"""``legnumb explain CASES.csv --case-id ID [--json]``: why, what next, and does it fit together.

For one case: the ranked posteriors, the triage level with its red flags, the weight of
evidence of each finding for the three most likely causes, the next questions with their
expected value, and the calibrated data-conflict check (see :mod:`legnumb.analysis`).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

from legnumb.analysis import (
    BASELINES,
    Analysis,
    analyse,
    case_evidence,
    cause_phrase,
    format_pct,
)
from legnumb.cli.common import add_priors_option, model_from_args
from legnumb.io.cases import load_cases, select_case
from legnumb.network.schema import normalize_name

__all__ = ["format_text", "register", "run", "to_json"]

_EXPLAINED = 3
_QUESTIONS = 3
_FINDINGS_SHOWN = 6


def register(subparsers) -> None:
    """Add the ``explain`` subcommand."""
    from legnumb import DISCLAIMER

    p = subparsers.add_parser(
        "explain",
        help="explain one case: ranked causes, why, next questions, data conflict",
        description="For one case of a symptom CSV: ranked posteriors, triage and red flags, the "
        "weight of evidence of each finding for the three most likely causes, the three most "
        "useful next questions, and whether the findings fit together (data conflict).",
        epilog=DISCLAIMER,
    )
    p.add_argument("cases", metavar="CASES.csv", help="symptom CSV with a case_id column")
    p.add_argument(
        "--case-id", required=True, metavar="ID", help="the case_id of the row to explain"
    )
    p.add_argument("--json", action="store_true", help="print one JSON object instead of text")
    p.add_argument(
        "--baseline",
        choices=BASELINES,
        default="prior",
        help="what the explanation starts from: the prior with no findings (default) or the "
        "history alone",
    )
    p.add_argument(
        "--n-sim",
        type=int,
        default=500,
        metavar="N",
        help="cases simulated from the network to calibrate the conflict check (default 500)",
    )
    add_priors_option(p)
    p.set_defaults(func=run)


def _case(args: argparse.Namespace, schema) -> tuple[dict, dict[str, str], str]:
    cases = load_cases(args.cases)
    row = select_case(cases, args.case_id, path=args.cases)
    line = int(row.name) + 2  # header is line 1
    where = f"{args.cases}, row {line} (case_id {args.case_id})"
    for col in cases.columns:
        name = normalize_name(col)
        if name not in schema.columns and name != "case_id":
            hint = schema.closest_column(col)
            if hint and hint not in {normalize_name(c) for c in cases.columns}:
                print(
                    f"warning: {args.cases}: column {col!r} is not known; did you mean {hint!r}?",
                    file=sys.stderr,
                )
    raw = row.to_dict()
    return raw, case_evidence(schema, raw, where=where), where


def to_json(a: Analysis, *, case_id: str, source: str, model) -> dict:
    """The analysis as plain JSON-able data."""
    from legnumb import DISCLAIMER

    ranked = a.diagnosis.ranked
    expl = []
    for cause in list(ranked.index[:_EXPLAINED]):
        rows = a.explanation[a.explanation["cause"] == cause]
        expl.append(
            {
                "cause": cause,
                "posterior": float(ranked[cause]),
                "baseline": a.baseline,
                "p_baseline": float(rows["p_baseline"].iloc[0]) if len(rows) else None,
                "sentence": a.sentences[cause],
                "findings": [
                    {
                        "column": r.column,
                        "state": r.state,
                        "finding": r.finding,
                        "woe": float(r.woe),
                        "p_without": float(r.p_without),
                    }
                    for r in rows.itertuples()
                ],
            }
        )
    questions = [
        {
            "column": r.column,
            "question": r.question,
            "expected_info_bits": float(r.expected_info),
            "expected_top_change": float(r.expected_top_change),
            "p_triage_change": float(r.p_triage_change),
            "most_likely_answer": r.most_likely_answer,
        }
        for r in a.questions.head(_QUESTIONS).itertuples()
    ]
    c = a.conflict
    conflict = None
    if c is not None:
        conflict = {
            "conf": c.conf,
            "threshold": None if c.n_findings < 2 else c.threshold,
            "percentile": None if c.n_findings < 2 else c.percentile,
            "warn": c.warn,
            "n_sim": c.n_sim,
            "message": c.message,
        }
    return {
        "case_id": case_id,
        "source": source,
        "model_version": model.version,
        "priors": model.priors_hash,
        "evidence": a.evidence,
        "posteriors": {k: float(v) for k, v in ranked.items()},
        "triage": a.diagnosis.triage,
        "red_flags": list(a.diagnosis.red_flags),
        "explanations": expl,
        "next_questions": questions,
        "conflict": conflict,
        "disclaimer": DISCLAIMER,
    }


def format_text(a: Analysis, *, label: str) -> str:
    """The analysis as readable text (without the disclaimer)."""
    d = a.diagnosis
    out = [label, ""]
    out.append(f"Triage: {d.triage.upper().replace('_', ' ')}")
    out.append("Red flags: " + ("; ".join(d.red_flags) if d.red_flags else "none"))
    out += ["", "Ranked causes (P(cause present | findings)):"]
    for i, (cause, p) in enumerate(d.ranked.items(), start=1):
        out.append(f"  {i:>2}. {cause_phrase(cause):<26} {format_pct(p):>7}  {'#' * round(p * 30)}")
    out += ["", "Why (weight of evidence = ln likelihood ratio, other findings held; + raises):"]
    for cause in list(d.ranked.index[:_EXPLAINED]):
        out.append(f"  {cause_phrase(cause)} ({format_pct(d.posteriors[cause])}):")
        out += textwrap.wrap(
            a.sentences[cause], 96, initial_indent="    ", subsequent_indent="    "
        )
        rows = a.explanation[a.explanation["cause"] == cause].head(_FINDINGS_SHOWN)
        for r in rows.itertuples():
            woe = "  0.00" if abs(r.woe) < 0.005 else f"{r.woe:+6.2f}"
            out.append(f"      {woe}  {r.finding}")
    out += [
        "",
        "Next questions (expected information about the causes; expected change of "
        f"P({cause_phrase(d.ranked.index[0])})):",
    ]
    if a.questions.empty:
        out.append("  Every column is answered: no question left to ask.")
    for i, r in enumerate(a.questions.head(_QUESTIONS).itertuples(), start=1):
        extra = f", triage may change: {r.p_triage_change:.0%}" if r.p_triage_change > 0 else ""
        out.append(
            f"  {i}. {r.question} [{r.column}]  {r.expected_info:.2f} bits, "
            f"\u00b1{100 * r.expected_top_change:.0f} pts{extra}"
        )
    if a.conflict is not None:
        out += ["", "Data conflict:"]
        out += textwrap.wrap(a.conflict.message, 96, initial_indent="  ", subsequent_indent="  ")
    return "\n".join(out)


def run(args: argparse.Namespace) -> int:
    """Print the explanation of one case; 0 on success."""
    from legnumb import DISCLAIMER

    model = model_from_args(args)
    raw, evidence, _ = _case(args, model.schema)
    a = analyse(
        model,
        evidence,
        explain_causes=_EXPLAINED,
        baseline=args.baseline,
        with_conflict=True,
        n_sim=args.n_sim,
    )
    if args.json:
        print(
            json.dumps(to_json(a, case_id=args.case_id, source=args.cases, model=model), indent=2)
        )
        return 0
    story = textwrap.shorten(str(raw.get("story", "") or ""), width=200, placeholder="...")
    label = f"Case {args.case_id} from {args.cases}" + (f": {story}" if story else "")
    print(textwrap.fill(DISCLAIMER, width=100))
    print(f"model {model.version}, priors {model.priors_hash}\n")
    print(format_text(a, label="\n".join(textwrap.wrap(label, 100))))
    return 0
