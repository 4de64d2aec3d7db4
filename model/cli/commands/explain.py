"""``legnumb explain [CASES.csv] --case-id ID [--json]``: why, what next, and does it fit together.

For one case: the ranked posteriors, the triage level with its red flags, the weight of
evidence of each finding for the three most likely causes, the next questions with their
expected value, and the calibrated data-conflict check (see :mod:`legnumb.analysis`).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap

import pandas as pd

from legnumb.analysis import (
    BASELINES,
    Analysis,
    analyse,
    case_evidence,
    cause_phrase,
    format_pct,
)
from legnumb.cli.common import (
    add_cases_options,
    add_priors_option,
    epilog,
    exit_codes,
    id_column,
    model_from_args,
    printable,
    read_cases,
)
from legnumb.io.cases import row_errors, row_number, select_case, source_name
from legnumb.network.schema import normalize_name

__all__ = ["EPILOG", "format_text", "register", "run", "to_json"]

_EXPLAINED = 3
_QUESTIONS = 3
_FINDINGS_SHOWN = 6


EPILOG = epilog(
    exit_codes(
        ok="the case was explained",
        rows="the case carries an error (an invalid value, a row with more cells than the\n"
        "     header): it is printed with its row number and nothing is explained",
    )
)


def register(subparsers) -> None:
    """Add the ``explain`` subcommand."""
    p = subparsers.add_parser(
        "explain",
        help="explain one case: ranked causes, why, next questions, data conflict",
        description="For one case of a symptom CSV (the bundled examples by default): ranked "
        "posteriors with the probability that no listed cause is present and how many columns "
        "the case answered, triage and red flags, the weight of evidence of each finding for "
        "the three most likely causes, the three most useful next questions, and whether the "
        "findings fit together (data conflict). The file is read as `legnumb score` reads it.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    add_cases_options(p, ids="to find the case given with --case-id")
    p.add_argument(
        "--case-id",
        required=True,
        metavar="ID",
        help="the id of the case to explain (in the --id-column; must name one row)",
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


def _case(args: argparse.Namespace, schema) -> tuple[pd.Series, str, str | None]:
    """The chosen row, where it is (file, row, id) and its error (None when it has none)."""
    cases = read_cases(args, "explain", schema=schema)
    source = source_name(cases)
    ids = id_column(args)
    row = select_case(cases, args.case_id, id_column=ids)
    where = f"{source}, row {row_number(cases, row.name)} ({ids} {str(args.case_id).strip()})"
    return row, where, row_errors(cases).get(row.name)


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
        "p_other_cause": float(a.diagnosis.p_other_cause),
        "n_findings": a.diagnosis.n_findings,
        "triage": a.diagnosis.triage,
        "triage_reason": a.diagnosis.triage_reason,
        "red_flags": list(a.diagnosis.red_flags),
        "explanations": expl,
        "next_questions": questions,
        "conflict": conflict,
        "disclaimer": DISCLAIMER,
    }


def format_text(a: Analysis, *, label: str, n_columns: int) -> str:
    """The analysis as readable text (without the disclaimer).

    ``n_columns`` is how many columns the model reads (the answered ones are counted against
    it).
    """
    d = a.diagnosis
    out = [label, ""]
    out.append(f"Triage: {d.triage.upper().replace('_', ' ')} ({d.triage_reason})")
    out.append("Red flags: " + ("; ".join(d.red_flags) if d.red_flags else "none"))
    out += ["", "Ranked causes (P(cause present | findings)):"]
    for i, (cause, p) in enumerate(d.ranked.items(), start=1):
        out.append(f"  {i:>2}. {cause_phrase(cause):<26} {format_pct(p):>7}  {'#' * round(p * 30)}")
    out.append(
        f"      {'no listed cause':<26} {format_pct(d.p_other_cause):>7}  "
        "(P(none of the causes above is present | findings))"
    )
    out.append(f"  Findings answered: {d.n_findings} of {n_columns} columns.")
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
    """Print the explanation of one case; 0 on success, 1 when the case carries an error."""
    from legnumb import DISCLAIMER

    model = model_from_args(args)
    row, where, error = _case(args, model.schema)
    if error is not None:
        print(
            f"legnumb explain: case {printable(str(args.case_id).strip())} not explained: "
            f"{printable(error)}",
            file=sys.stderr,
        )
        return 1
    evidence = case_evidence(model.schema, row, where=where)
    a = analyse(
        model,
        evidence,
        explain_causes=_EXPLAINED,
        baseline=args.baseline,
        with_conflict=True,
        n_sim=args.n_sim,
    )
    source = args.cases or ("case_library.csv" if args.library else "examples.csv")
    if args.json:
        print(json.dumps(to_json(a, case_id=args.case_id, source=source, model=model), indent=2))
        return 0
    story = next((row[c] for c in row.index if normalize_name(c) == "story"), "")
    story = textwrap.shorten(printable(story), width=200, placeholder="...")
    label = f"Case {printable(args.case_id)} from {printable(source)}" + (
        f": {story}" if story else ""
    )
    print(textwrap.fill(DISCLAIMER, width=100))
    print(f"model {model.version}, priors {model.priors_hash}\n")
    label = "\n".join(textwrap.wrap(label, 100))
    print(format_text(a, label=label, n_columns=len(model.columns)))
    return 0
