"""Benchmark a what-if update: posteriors, explanation and next questions for one evidence set.

For every case of the bundled ``examples.csv`` the intake is replayed at three stages (history
only; history plus the first half of the symptoms; the full case) and one update is timed at
each: :func:`legnumb.analysis.analyse` with every cause explained and every open question ranked,
exactly what a dropdown change in the what-if app computes. The app's full update (the same
plus its HTML panels) and the conflict check (first call per pattern, then cached) are timed
too. Medians are over cases; the budget is 100 ms per update.

Usage::

    python scripts/bench_whatif.py [--repeats 3] [--json]
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

BUDGET_MS = 100.0
STAGES = ("history", "half", "full")


def _stages(schema, case: dict[str, str]) -> dict[str, dict[str, str]]:
    hist = {c: s for c, s in case.items() if schema.columns[c].group == "history"}
    symptoms = [c for c in schema.symptoms if c in case]
    half = {**hist, **{c: case[c] for c in symptoms[: len(symptoms) // 2]}}
    return {"history": hist, "half": half, "full": dict(case)}


def _timed(fn, repeats: int) -> tuple[float, float]:
    """Median wall-clock and CPU milliseconds of ``fn()``."""
    wall, cpu = [], []
    for _ in range(repeats):
        t, c = time.perf_counter(), time.process_time()
        fn()
        wall.append(1e3 * (time.perf_counter() - t))
        cpu.append(1e3 * (time.process_time() - c))
    return statistics.median(wall), statistics.median(cpu)


def _summary(values: list[tuple[float, float]]) -> dict[str, float]:
    wall = np.asarray([v[0] for v in values])
    cpu = np.asarray([v[1] for v in values])
    return {
        "median_ms": float(np.median(wall)),
        "p90_ms": float(np.quantile(wall, 0.9)),
        "max_ms": float(wall.max()),
        "cpu_median_ms": float(np.median(cpu)),
    }


def measure(*, repeats: int = 3, cases: list[str] | None = None) -> dict:
    """Time what-if updates over the bundled examples.

    Parameters
    ----------
    repeats : int
        Timings per case and stage; their median is kept.
    cases : list of str, optional
        Case ids to use (all 30 by default).

    Returns
    -------
    dict
        ``analyse`` and ``widget_update`` timings per stage and overall (median, p90, max in
        ms over cases), ``conflict_first_ms`` and ``conflict_cached_ms``, ``budget_ms``,
        ``within_budget`` (overall median of the widget update below the budget), and the
        number of cases. Each summary holds wall-clock ``median_ms``, ``p90_ms`` and ``max_ms``
        and ``cpu_median_ms`` (process CPU time, less sensitive to other load on the machine).
    """
    from legnumb import load_model
    from legnumb.analysis import analyse, conflict, example_evidence, load_examples

    model = load_model()
    ids = cases or load_examples()["case_id"].tolist()
    evs = {cid: _stages(model.schema, example_evidence(cid)) for cid in ids}
    analyse(model, evs[ids[0]]["half"], explain_causes=None)  # warm the engine's plans
    per_stage: dict[str, list[tuple[float, float]]] = {s: [] for s in STAGES}
    for cid in ids:
        for stage in STAGES:
            ev = evs[cid][stage]
            per_stage[stage].append(
                _timed(lambda ev=ev: analyse(model, ev, explain_causes=None), repeats)
            )
    out: dict = {
        "n_cases": len(ids),
        "repeats": repeats,
        "budget_ms": BUDGET_MS,
        "analyse": {s: _summary(v) for s, v in per_stage.items()},
    }
    out["analyse"]["all"] = _summary([t for v in per_stage.values() for t in v])
    try:
        from legnumb.app.widgets import what_if_app
    except ImportError:  # ipywidgets is a dev/notebooks extra
        out["widget_update"] = None
    else:
        app = what_if_app(model, check_conflict=False)
        upd: dict[str, list[tuple[float, float]]] = {s: [] for s in STAGES}
        for cid in ids:
            for stage in STAGES:
                app.set_evidence(evs[cid][stage])
                upd[stage].append(_timed(app.update, repeats))
        out["widget_update"] = {s: _summary(v) for s, v in upd.items()}
        out["widget_update"]["all"] = _summary([t for v in upd.values() for t in v])
    first, cached = [], []
    for cid in ids[:5]:
        ev = evs[cid]["half"]
        a = analyse(model, ev)
        t = time.perf_counter()
        conflict(model, a, n_sim=400, seed=12345 + len(first))
        first.append(1e3 * (time.perf_counter() - t))
        cached.append(_timed(lambda a=a: conflict(model, a, n_sim=400, seed=12345), 1)[0])
    out["conflict_first_ms"] = float(np.median(first))
    out["conflict_cached_ms"] = float(np.median(cached))
    key = "widget_update" if out["widget_update"] else "analyse"
    out["within_budget"] = bool(out[key]["all"]["median_ms"] < BUDGET_MS)
    return out


def _print(res: dict) -> None:
    print(f"what-if update over {res['n_cases']} example cases (median of {res['repeats']} each)")
    for key in ("analyse", "widget_update"):
        block = res.get(key)
        if not block:
            continue
        print(f"\n{key}:")
        for stage in (*STAGES, "all"):
            s = block[stage]
            print(
                f"  {stage:<8} median {s['median_ms']:7.1f} ms   p90 {s['p90_ms']:7.1f} ms   "
                f"max {s['max_ms']:7.1f} ms   (CPU median {s['cpu_median_ms']:6.1f} ms)"
            )
    print(
        f"\nconflict check: first call per answered-column pattern "
        f"{res['conflict_first_ms']:.0f} ms "
        f"(simulates 400 cases), cached {res['conflict_cached_ms']:.1f} ms"
    )
    verdict = "within" if res["within_budget"] else "OVER"
    print(f"budget {res['budget_ms']:.0f} ms per update: {verdict} (median over all stages)")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--json", action="store_true", help="print the measurements as JSON")
    args = parser.parse_args(argv)
    res = measure(repeats=args.repeats)
    if args.json:
        print(json.dumps(res, indent=2))
    else:
        _print(res)
    return 0


if __name__ == "__main__":
    sys.exit(main())
