"""One benchmark run: legnumb's engine against pgmpy (and pyAgrum), end to end through the CLI.

Measures on this machine, in one run:

* pgmpy ``VariableElimination``: one query per row for the 24 causes (``joint=False``) on the
  pgmpy network (noisy-MAX findings divorced into chains), for as many sampled rows as fit
  in ``--pgmpy-seconds`` (pgmpy takes from a fraction of a second to over a minute per row);
* pyAgrum ``LazyPropagation`` (if installed: ``pip install -e ".[bench]"``), same queries;
* ``legnumb score`` end to end (CSV in, CSV out, through the CLI in a subprocess) on 200,000
  random rows with ~60% of cells filled, with 1 and 2 threads; ratios to pgmpy per row;
* the pyarrow I/O floor: pyarrow's CSV reader and writer reading the same file and writing an
  output of the same shape (every input cell plus the scored columns), and the ratio of
  ``legnumb score`` to it;
* peak memory (max RSS) of ``legnumb score`` on 1,000,000 rows;
* ``diagnose`` latency; the what-if widget update and the sensitivity timings when their
  benchmark modules are present (``scripts/bench_whatif.py``, ``scripts/bench_sensitivity.py``).

Run: ``python scripts/benchmark.py [--rows 200000] [--big-rows 1000000] [--json out.json]``.
It prints a Markdown table that the README quotes.
"""

from __future__ import annotations

import argparse
import datetime as dt
import importlib.util
import json
import os
import platform
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

HERE = Path(__file__).resolve().parent
STAGE_NAMES = ("read", "validate", "infer", "triage", "format", "write")


def random_csv(path: Path, n: int, *, fill: float = 0.6, seed: int = 0) -> None:
    """Write ``n`` random valid rows (each cell filled with probability ``fill``)."""
    from legnumb.network.schema import load_schema

    schema = load_schema()
    rng = np.random.default_rng(seed)
    cols = []
    for col in schema.columns.values():
        states = np.array([*col.states, ""], dtype=object)
        idx = rng.integers(len(col.states), size=n)
        idx = np.where(rng.random(n) < fill, idx, len(col.states))
        cols.append(states[idx])
    ids = np.char.add("r", np.arange(n).astype(str)).astype(object)
    with path.open("w", encoding="utf-8", newline="") as f:
        f.write("id," + ",".join(schema.columns) + "\n")
        block = 100_000
        for start in range(0, n, block):
            stop = min(n, start + block)
            rows = zip(ids[start:stop], *(c[start:stop] for c in cols), strict=True)
            f.write("".join(",".join(r) + "\n" for r in rows))


def sampled_csv(model, path: Path, n: int, *, fill: float = 0.6, seed: int = 5) -> None:
    """Write ``n`` rows drawn from the model itself (realistic answers), cells kept with ``fill``.

    Uniformly random rows answer "yes" to half of the yes/no questions, which no patient
    does; rows forward-sampled from the network answer like the people the priors describe.
    """
    from legnumb.analysis.conflict import simulate_cases

    sim = simulate_cases(model, n, seed=seed)[list(model.schema.columns)]
    rng = np.random.default_rng(seed)
    keep = rng.random(sim.shape) < fill
    sim = sim.where(keep, "")
    sim.insert(0, "id", [f"s{i}" for i in range(n)])
    sim.to_csv(path, index=False)


def sample_evidence(n: int, *, fill: float = 0.6, seed: int = 1) -> list[dict[str, str]]:
    """Random evidence dicts (for the per-row libraries)."""
    from legnumb.network.schema import load_schema

    schema = load_schema()
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(n):
        out.append(
            {
                name: col.states[rng.integers(len(col.states))]
                for name, col in schema.columns.items()
                if rng.random() < fill
            }
        )
    return out


def bench_pgmpy(model, evidences, *, budget: float = 300.0) -> tuple[float, int]:
    """Rows per second of pgmpy VariableElimination, one query per row for all causes.

    Rows are run in order until ``budget`` seconds have passed (at least one row); returns
    the rate and the number of rows it rests on.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        from pgmpy.inference import VariableElimination

    infer = VariableElimination(model.network)
    causes = list(model.causes)
    t = time.perf_counter()
    done = 0
    for ev in evidences:
        infer.query(causes, evidence=ev, joint=False, show_progress=False)
        done += 1
        if time.perf_counter() - t > budget:
            break
    return done / (time.perf_counter() - t), done


def to_pyagrum(model):
    """The legnumb network as a pyAgrum BayesNet, CPTs copied by variable and state name."""
    import pyagrum as gum

    bn = gum.BayesNet("legnumb")
    cpts = model.priors.network().to_cpts()  # the same tables as the pgmpy network
    for c in cpts:
        bn.add(gum.LabelizedVariable(c.variable, c.variable, list(c.states[c.variable])))
    for c in cpts:
        for p in c.parents:
            bn.addArc(p, c.variable)
    for c in cpts:
        pot = bn.cpt(c.variable)
        names = list(reversed(pot.names))  # pot[:] has its axes in reverse name order
        order = [c.scope.index(n) for n in names]
        # same variable/state names on both sides; states were added in our order
        pot[:] = np.ascontiguousarray(np.transpose(c.values, order))
    return bn


def bench_pyagrum(model, evidences, check_against=None, *, budget: float = 300.0) -> float | None:
    """Rows per second of pyAgrum LazyPropagation (None when pyAgrum is not installed).

    Rows are run until ``budget`` seconds have passed (at least one row).
    """
    if importlib.util.find_spec("pyagrum") is None:
        return None
    import pyagrum as gum

    bn = to_pyagrum(model)
    causes = list(model.causes)
    ie = gum.LazyPropagation(bn)
    if check_against is not None:  # correctness first: same posteriors as our engine
        ev, expected = check_against
        ie.setEvidence(ev)
        ie.makeInference()
        got = [ie.posterior(c)[1] for c in causes]
        assert np.allclose(got, expected, atol=1e-9), (got, expected)
        ie.eraseAllEvidence()
    t = time.perf_counter()
    done = 0
    for ev in evidences:
        ie.setEvidence(ev)
        ie.makeInference()
        for c in causes:
            ie.posterior(c)
        ie.eraseAllEvidence()
        done += 1
        if time.perf_counter() - t > budget:
            break
    return done / (time.perf_counter() - t)


def run_cli(
    inp: Path, out: Path, *, threads: int, stages: dict | None = None
) -> tuple[float, float]:
    """Run ``legnumb score`` in a subprocess; returns (seconds, peak RSS in MiB).

    With ``stages``, the run prints its seconds per stage (``--timings``), put into it.
    """
    code = (
        "import resource, sys, subprocess; "
        f"r = subprocess.run([sys.executable, '-m', 'legnumb.cli', 'score', {str(inp)!r}, '-o', {str(out)!r}, "
        f"'-q', '--timings', '--threads', '{threads}']); "
        "print(resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss); sys.exit(r.returncode)"
    )
    t = time.perf_counter()
    proc = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - t
    if proc.returncode not in (0, 1):
        raise RuntimeError(f"legnumb score failed ({proc.returncode}): {proc.stderr[-2000:]}")
    if stages is not None:
        line = next(x for x in proc.stderr.splitlines() if "seconds:" in x)
        for part in line.split("seconds:", 1)[1].split("(total")[0].split(","):
            name, value = part.split()
            stages[name] = float(value)
        stages["process"] = seconds  # start-up (imports, model load) included
    return seconds, int(proc.stdout.strip().splitlines()[-1]) / 1024


def bench_io_floor(inp: Path, out: Path, model, *, repeat: int = 3) -> float | None:
    """Seconds for pyarrow to read ``inp`` as text and write an output of the scored shape.

    The output has every input cell, one six-decimal column per cause and the text columns
    of ``legnumb score`` (``top_cause``, ``triage``, ``red_flags``, ``error``,
    ``model_version``, ``priors_hash``), like the real output. Best of ``repeat`` runs.
    """
    try:
        import pyarrow as pa
        import pyarrow.csv as pacsv
    except ImportError:
        return None
    best = float("inf")
    rng = np.random.default_rng(0)
    for _ in range(repeat):
        start = time.perf_counter()
        with open(inp, "rb") as f:
            header = f.readline().decode().strip().split(",")
        table = pacsv.read_csv(
            inp,
            convert_options=pacsv.ConvertOptions(column_types=dict.fromkeys(header, pa.string())),
        )
        n = table.num_rows
        for cause in model.causes:
            probs = np.round(rng.random(n), 6)
            table = table.append_column(f"p_{cause}", pa.array(probs))
        for name in ("top_cause", "triage", "red_flags", "error", "model_version", "priors_hash"):
            table = table.append_column(name, pa.array(np.full(n, "sciatica", dtype=object)))
        pacsv.write_csv(table, out, pacsv.WriteOptions(quoting_style="needed"))
        best = min(best, time.perf_counter() - start)
    return best


def bench_diagnose(model, evidences) -> float:
    """Median seconds of one ``diagnose`` call."""
    times = []
    for ev in evidences:
        t = time.perf_counter()
        model.diagnose(ev)
        times.append(time.perf_counter() - t)
    return float(np.median(times))


def optional(name: str) -> dict:
    """``measure()`` of a sibling benchmark module, if present."""
    path = HERE / f"{name}.py"
    if not path.is_file():
        return {}
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod.measure()


def machine() -> str:
    cpu = platform.processor() or platform.machine()
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    return f"{cpu}, {os.cpu_count()} cores, {mem:.0f} GiB, Python {platform.python_version()}"


def main(argv=None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--rows", type=int, default=200_000)
    ap.add_argument("--big-rows", type=int, default=1_000_000)
    ap.add_argument("--per-row-sample", type=int, default=300)
    ap.add_argument("--pgmpy-seconds", type=float, default=300.0)
    ap.add_argument(
        "--memory-threads",
        default="2",
        help="thread counts for the peak-memory run on --big-rows, e.g. 1,2,16 (default 2)",
    )
    ap.add_argument("--json", type=Path, default=None)
    args = ap.parse_args(argv)

    from legnumb import load_model

    model = load_model()
    res: dict = {"date": dt.date.today().isoformat(), "machine": machine(), "rows": args.rows}
    evs = sample_evidence(args.per_row_sample)
    res["pgmpy_rows_per_s"], res["pgmpy_rows"] = bench_pgmpy(model, evs, budget=args.pgmpy_seconds)
    first = model.diagnose(evs[0]).posteriors.to_numpy()
    res["pyagrum_rows_per_s"] = bench_pyagrum(
        model, evs * 3, check_against=(evs[0], first), budget=args.pgmpy_seconds
    )
    res["diagnose_ms"] = 1000 * bench_diagnose(model, evs[:200])
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        inp = tmp / "in.csv"
        random_csv(inp, args.rows)
        for threads in (1, 2):
            stages: dict = {}
            sec, rss = run_cli(inp, tmp / f"out{threads}.csv", threads=threads, stages=stages)
            res[f"cli_{threads}t_rows_per_s"] = args.rows / sec
            res[f"cli_{threads}t_seconds"] = sec
            res[f"cli_{threads}t_stages"] = stages
        same = (tmp / "out1.csv").read_bytes() == (tmp / "out2.csv").read_bytes()
        sampled = tmp / "sampled.csv"
        sampled_csv(model, sampled, args.rows)
        stages = {}
        sec, _ = run_cli(sampled, tmp / "sampled_out.csv", threads=1, stages=stages)
        res["cli_sampled_rows_per_s"] = args.rows / sec
        res["cli_sampled_stages"] = stages
        res["io_floor_seconds"] = bench_io_floor(inp, tmp / "floor.csv", model)
        res["threads_identical_output"] = same
        if args.big_rows:
            big = tmp / "big.csv"
            random_csv(big, args.big_rows, seed=3)
            res["big_csv_mib"] = big.stat().st_size / 2**20
            res["big_rows"] = args.big_rows
            res["big_runs"] = {}
            for threads in (int(t) for t in args.memory_threads.split(",")):
                sec, rss = run_cli(big, tmp / "big_out.csv", threads=threads)
                res["big_runs"][threads] = {"seconds": sec, "peak_rss_mib": rss}
    best = max(res["cli_1t_rows_per_s"], res["cli_2t_rows_per_s"])
    res["ratio_cli_vs_pgmpy"] = best / res["pgmpy_rows_per_s"]
    if res["pyagrum_rows_per_s"]:
        res["ratio_cli_vs_pyagrum"] = best / res["pyagrum_rows_per_s"]
    if res.get("io_floor_seconds"):
        res["ratio_cli_vs_io_floor"] = (
            min(res["cli_1t_seconds"], res["cli_2t_seconds"]) / res["io_floor_seconds"]
        )
    res.update({f"whatif_{k}": v for k, v in optional("bench_whatif").items()})
    res.update({f"sensitivity_{k}": v for k, v in optional("bench_sensitivity").items()})
    print(markdown(res))
    if args.json:
        args.json.write_text(json.dumps(res, indent=2, default=str))
    return 0


def markdown(r: dict) -> str:
    """The README table."""
    lines = [
        f"Measured {r['date']} on {r['machine']} with `python scripts/benchmark.py`:",
        "",
        "| measure | result |",
        "|---|---|",
        f"| pgmpy VariableElimination, one query per row (24 causes; {r['pgmpy_rows']} rows) | {r['pgmpy_rows_per_s']:,.3g} rows/s |",
    ]
    if r.get("pyagrum_rows_per_s"):
        lines.append(
            f"| pyAgrum LazyPropagation, one inference per row | {r['pyagrum_rows_per_s']:,.3g} rows/s |"
        )
    lines += [
        f"| `legnumb score`, CSV in and out, {r['rows']:,} rows, 1 thread | {r['cli_1t_rows_per_s']:,.0f} rows/s ({r['cli_1t_seconds']:.1f} s) |",
        f"| `legnumb score`, same, 2 threads | {r['cli_2t_rows_per_s']:,.0f} rows/s ({r['cli_2t_seconds']:.1f} s); output identical to 1 thread: {r['threads_identical_output']} |",
        f"| `legnumb score`, same number of rows drawn from the model (realistic answers), 1 thread | {r['cli_sampled_rows_per_s']:,.0f} rows/s |",
        f"| **speed-up over pgmpy per row, end to end** | **{r['ratio_cli_vs_pgmpy']:,.0f}×** |",
    ]
    if r.get("ratio_cli_vs_pyagrum"):
        lines.append(
            f"| speed-up over pyAgrum per row, end to end | {r['ratio_cli_vs_pyagrum']:,.0f}× |"
        )
    if r.get("io_floor_seconds"):
        lines.append(
            f"| pyarrow I/O floor: read the same file, write the same output shape | "
            f"{r['io_floor_seconds']:.2f} s; `legnumb score` takes "
            f"**{r['ratio_cli_vs_io_floor']:.0f}×** as long |"
        )
    for threads, big in r.get("big_runs", {}).items():
        lines.append(
            f"| `legnumb score` on {r['big_rows']:,} random rows ({r['big_csv_mib']:.0f} MiB CSV), "
            f"{threads} thread(s) | {big['seconds']:.0f} s, peak memory {big['peak_rss_mib']:.0f} MiB |"
        )
    for key, what in (
        ("cli_1t_stages", f"{r['rows']:,} random rows, 1 thread"),
        ("cli_2t_stages", f"{r['rows']:,} random rows, 2 threads"),
        ("cli_sampled_stages", f"{r['rows']:,} rows drawn from the model, 1 thread"),
    ):
        st = r.get(key)
        if st:
            parts = ", ".join(f"{k} {st[k]:.1f}" for k in STAGE_NAMES if k in st)
            lines.append(
                f"| seconds per stage, {what} | {parts}; whole process {st['process']:.1f} |"
            )
    lines.append(
        f"| `diagnose()`, one case, random evidence (median) | {r['diagnose_ms']:.2f} ms |"
    )
    upd = r.get("whatif_widget_update", {}).get("all")
    if upd:
        lines.append(
            f"| what-if widget update: posteriors, explanation, next questions (median / p90) | "
            f"{upd['median_ms']:.0f} / {upd['p90_ms']:.0f} ms (budget 100 ms) |"
        )
    for case, c in r.get("sensitivity_cases", {}).items():
        lines.append(
            f"| one-way sensitivity over all {c['numbers']} numbers, case {case} | {c['one_way_s']:.2f} s (budget 2 s) |"
        )
        lines.append(
            f"| robustness, {c['n_draws']:,} joint draws, case {case} | {c['robustness_s']:.2f} s (budget 10 s); "
            f"top cause kept in {c['stability']:.1%} |"
        )
    if "sensitivity_report_s" in r:
        lines.append(
            f"| `legnumb report` for the {r['sensitivity_report_cases']} examples, {r['sensitivity_report_jobs']} jobs | "
            f"{r['sensitivity_report_s']:.0f} s (budget 120 s) |"
        )
    return "\n".join(lines)


if __name__ == "__main__":
    sys.exit(main())
