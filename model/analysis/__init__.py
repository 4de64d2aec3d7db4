"""Analyses of a diagnosis: tidy tables in, tidy tables out; no drawing here.

Weight of evidence, next questions, conflict, what-if comparison, sensitivity, robustness
and accuracy.

The what-if functions are re-exported here:

>>> from legnumb import analysis, load_model
>>> ev = {"laterality": "one_leg", "shooting_pain": "yes"}
>>> analysis.analyse(load_model(), ev).diagnosis.ranked.index[0]
'sciatica'
"""

from legnumb.analysis.conflict import Conflict, conf_scores, conflict, simulate_cases
from legnumb.analysis.context import BASELINES
from legnumb.analysis.next_questions import answer_outcomes, next_questions
from legnumb.analysis.phrases import (
    CAUSE_PHRASES,
    FINDING_PHRASES,
    QUESTIONS,
    cause_phrase,
    finding_phrase,
    format_pct,
    question_text,
)
from legnumb.analysis.weight_of_evidence import describe, explain
from legnumb.analysis.whatif import Analysis, Comparison, analyse, compare, guided_intake
from legnumb.io.cases import case_evidence, example_evidence, history_only, load_examples

__all__ = [
    "BASELINES",
    "CAUSE_PHRASES",
    "FINDING_PHRASES",
    "QUESTIONS",
    "Analysis",
    "Comparison",
    "Conflict",
    "analyse",
    "answer_outcomes",
    "case_evidence",
    "cause_phrase",
    "compare",
    "conf_scores",
    "conflict",
    "describe",
    "example_evidence",
    "explain",
    "finding_phrase",
    "format_pct",
    "guided_intake",
    "history_only",
    "load_examples",
    "next_questions",
    "question_text",
    "simulate_cases",
]
