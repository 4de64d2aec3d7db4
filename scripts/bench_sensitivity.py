"""Benchmark the sensitivity analyses against their targets.

Targets (from the issue): one-way sensitivity over every number for one case < 2 s; the
1,000-draw robustness analysis for one case < 10 s; the full reviewer report for the 30
bundled examples < 2 minutes.

:func:`measure` returns the timings as a dict; run alone it prints them as JSON::

    python scripts/bench_sensitivity.py [--cases E07 E16] [--no-report] [--jobs N]

The machine's load average is recorded too: timings on a shared machine are only
comparable at similar load.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

TARGETS = {"one_way_s": 2.0, "robustness_s": 10.0, "report_s": 120.0}


def measure(
    *,
    case_ids: Sequence[str] = ("E07", "E16"),
    report: bool = True,
    jobs: int | None = None,
    n_draws: int = 1000,
) -> dict:
    """Time one-way and robustness per case (best of 2) and, optionally, the full report.

    Parameters
    ----------
    case_ids : sequence of str
        Bundled example cases to time.
    report : bool
        Also time ``write_report`` on all 30 examples (the slow part).
    jobs : int, optional
        Worker processes for the report (default: CPUs, at most 4, as the CLI).
    n_draws : int
        Joint draws per robustness run (1000 as in the targets).

    Returns
    -------
    dict
        ``load_model_s``, per case ``one_way_s``, ``one_way_rescored`` (variants sent to the
        engine), ``robustness_s`` and ``stability``; ``report_s`` when timed; ``targets``,
        ``cpus`` and ``loadavg_1min`` before and after.
    """
    import matplotlib

    matplotlib.use("Agg")
    from legnumb.analysis.sensitivity import one_way, robustness
    from legnumb.app.report import write_report
    from legnumb.diagnosis.model import load_model
    from legnumb.io.cases import load_cases, select_case

    out: dict = {"targets": TARGETS, "cpus": os.cpu_count(), "loadavg_1min_before": _load()}
    t = time.perf_counter()
    model = load_model()
    out["load_model_s"] = round(time.perf_counter() - t, 3)
    cases = load_cases(None)
    one_way(model, select_case(cases, case_ids[0]))  # warm the engine's plan cache
    per_case = {}
    for cid in case_ids:
        row = select_case(cases, cid)
        times_ow, times_rob = [], []
        for _ in range(2):
            t = time.perf_counter()
            ow = one_way(model, row)
            times_ow.append(time.perf_counter() - t)
            t = time.perf_counter()
            rob = robustness(model, row, n_draws=n_draws)
            times_rob.append(time.perf_counter() - t)
        per_case[cid] = {
            "one_way_s": round(min(times_ow), 3),
            "one_way_rescored": ow.n_evaluated,
            "numbers": len(ow.table),
            "robustness_s": round(min(times_rob), 3),
            "n_draws": n_draws,
            "top_cause": rob.top_cause,
            "stability": rob.stability,
        }
    out["cases"] = per_case
    if report:
        jobs = jobs if jobs is not None else min(4, os.cpu_count() or 1)
        with tempfile.TemporaryDirectory() as tmp:
            t = time.perf_counter()
            write_report(model, cases, tmp, n_draws=n_draws, jobs=jobs)
            out["report_s"] = round(time.perf_counter() - t, 1)
            out["report_jobs"] = jobs
            out["report_cases"] = len(cases)
    out["loadavg_1min_after"] = _load()
    return out


def _load() -> float | None:
    try:
        return round(os.getloadavg()[0], 2)
    except OSError:  # pragma: no cover - not on every platform
        return None


def main(argv: Sequence[str] | None = None) -> int:
    """Print :func:`measure` as JSON."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--cases", nargs="+", default=["E07", "E16"], metavar="ID")
    p.add_argument("--no-report", action="store_true", help="skip the full-report timing")
    p.add_argument("--jobs", type=int, default=None, help="worker processes for the report")
    args = p.parse_args(argv)
    print(
        json.dumps(
            measure(case_ids=args.cases, report=not args.no_report, jobs=args.jobs), indent=2
        )
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
