"""A self-contained HTML report for the reviewer who signs off on the hand-set priors.

One file, no external resources (every figure is an embedded base64 PNG), with:

1. the network diagram;
2. accuracy on the case set (:mod:`legnumb.analysis.evaluate`) with the confusion matrix;
3. a robustness overview: per case, the top cause, how often it stays on top under joint
   draws of all numbers, and how many single numbers can change it within their range;
4. the numbers most often decisive across cases;
5. per case: the tornado, the robustness plot and the most influential numbers with their
   admissible deviation;
6. every number of ``priors/`` with its range and source, numbers resting on expert
   judgement alone flagged, and the list of sources.

:func:`analyse` computes (slow part), :func:`render_html` writes the page from the
results, :func:`write_report` does both into a directory. :func:`case_review` shows one case's
section interactively, with dropdowns for the case and the target cause (notebooks).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from legnumb.diagnosis.model import load_model
>>> from legnumb.io.cases import load_cases
>>> m = load_model()
>>> data = analyse(m, load_cases(None).head(1), n_draws=20)
>>> html = render_html(data)
>>> html.startswith("<!DOCTYPE html>") and "data:image/png;base64," in html
True
"""

from __future__ import annotations

import base64
import html
import io
import multiprocessing as mp
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import pandas as pd

from legnumb.errors import InputError

__all__ = [
    "CaseReview",
    "ReportData",
    "analyse",
    "case_review",
    "case_section_html",
    "render_html",
    "write_report",
]


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed once.

    Attributes
    ----------
    model : legnumb.diagnosis.model.Model
        The model analysed.
    cases : pandas.DataFrame
        The cases, raw strings.
    one_way : list of model.sensitivity.OneWay
        Per case.
    robustness : list of model.sensitivity.Robustness
        Per case, same order.
    decisive : pandas.DataFrame
        :func:`legnumb.analysis.sensitivity.decisive_numbers` across the cases.
    overview : pandas.DataFrame
        One row per case: top cause, posterior, runner-up, stability, decisive numbers.
    evaluation : model.evaluate.Evaluation or None
        Accuracy, when the cases carry expected answers.
    evaluation_note : str
        Why there is no evaluation, when there is none.
    n_draws, seed : int
        Settings of the joint draws.
    """

    model: object
    cases: pd.DataFrame
    one_way: list
    robustness: list
    decisive: pd.DataFrame
    overview: pd.DataFrame
    evaluation: object
    evaluation_note: str
    n_draws: int
    seed: int


def analyse(
    model,
    cases: pd.DataFrame,
    *,
    n_draws: int = 1000,
    seed: int = 0,
    path: str = "cases",
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> ReportData:
    """Run the one-way and robustness analyses on every case, and the evaluation.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    cases : pandas.DataFrame
        Raw case rows (as :func:`legnumb.io.cases.load_cases` reads them).
    n_draws, seed : int, optional
        Joint draws per case and their seed (default 1000 and 0).
    path : str, optional
        Name of the case file, for error messages.
    progress : callable, optional
        Called with a short message after each case.
    jobs : int, optional
        Worker processes (forked, so the model is not reloaded); 1 (default) runs in this
        process. Results do not depend on it.

    Raises
    ------
    InputError
        When there are no cases.
    """
    from legnumb.analysis.sensitivity import decisive_numbers

    if len(cases) == 0:
        raise InputError(f"{path}: has no cases to report on.")
    _WORK.update(model=model, cases=cases, n_draws=n_draws, seed=seed)
    try:
        pairs = _pmap(
            _analyse_one,
            len(cases),
            jobs=jobs,
            progress=progress
            and (
                lambda pair: progress(
                    f"{pair[0].case_id}: top {pair[0].top_cause}, "
                    f"kept in {pair[1].stability:.1%} of draws"
                )
            ),
        )
    finally:
        _WORK.clear()
    ows = [p[0] for p in pairs]
    robs = [p[1] for p in pairs]
    overview = pd.DataFrame(
        [
            {
                "case_id": ow.case_id,
                "expected_cause": _cell(cases.iloc[i], "expected_cause"),
                "top_cause": ow.top_cause,
                "p_top": float(ow.posterior[ow.top_cause]),
                "runner_up": rob.summary["cause"].iloc[1] if len(rob.summary) > 1 else "",
                "p_runner_up": float(rob.summary["base"].iloc[1]) if len(rob.summary) > 1 else 0.0,
                "stability": rob.stability,
                "decisive_numbers": int(ow.table["decisive"].sum()),
            }
            for i, (ow, rob) in enumerate(zip(ows, robs, strict=True))
        ]
    )
    evaluation, note = None, ""
    try:
        from legnumb.analysis.evaluate import evaluate

        evaluation = evaluate(model, cases, path=path)
    except InputError as exc:
        note = str(exc)
    return ReportData(
        model=model,
        cases=cases,
        one_way=ows,
        robustness=robs,
        decisive=decisive_numbers(ows),
        overview=overview,
        evaluation=evaluation,
        evaluation_note=note,
        n_draws=n_draws,
        seed=seed,
    )


def write_report(
    model,
    cases: pd.DataFrame,
    directory: str | Path,
    *,
    n_draws: int = 1000,
    seed: int = 0,
    path: str = "cases",
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
) -> Path:
    """Analyse ``cases`` and write ``report.html`` (plus the tables as CSV) to ``directory``.

    ``jobs`` worker processes share the analyses and the drawing. Returns the path of the
    HTML file.
    """
    out = Path(directory)
    if out.exists() and not out.is_dir():
        raise InputError(f"{out}: exists and is not a directory.")
    out.mkdir(parents=True, exist_ok=True)
    data = analyse(
        model, cases, n_draws=n_draws, seed=seed, path=path, progress=progress, jobs=jobs
    )
    target = out / "report.html"
    target.write_text(render_html(data, jobs=jobs), encoding="utf-8")
    data.overview.to_csv(out / "robustness_overview.csv", index=False)
    data.decisive.to_csv(out / "decisive_numbers.csv", index=False)
    return target


# --------------------------------------------------------------------------- rendering
def render_html(data: ReportData, *, jobs: int = 1) -> str:
    """The report as one self-contained HTML page (case figures drawn in ``jobs`` processes)."""
    from legnumb.plots.sensitivity import plot_decisive

    m = data.model
    parts = [_HEAD.format(title="legnumb: sensitivity report for reviewers")]
    parts.append(
        f"<h1>legnumb — sensitivity report for reviewers</h1>"
        f"<p class='meta'>model {_e(m.version)} · priors sha256 {_e(m.priors_hash)} · "
        f"{len(m.priors.numbers)} hand-set numbers · {len(data.cases)} cases · "
        f"{data.n_draws:,} joint draws per case (seed {data.seed})</p>"
        "<p class='warn'>Decision support, not a diagnosis. Red flags are always reported; "
        "anyone with sudden weakness, face/arm/speech problems, loss of bladder or bowel "
        "control, chest pain or a swollen calf should seek urgent care whatever the "
        "posteriors say.</p>"
    )
    parts.append(_toc())
    parts.append(_METHOD)

    parts.append("<h2 id='network'>1. The network</h2>")
    parts.append(_img(_network_figure(m), "the network"))

    parts.append("<h2 id='accuracy'>2. Accuracy on the case set</h2>")
    if data.evaluation is not None:
        s = data.evaluation.summary
        parts.append(
            f"<p>{s['n']} cases: top-1 accuracy <b>{s['top1']:.1%}</b>, top-3 accuracy "
            f"<b>{s['top3']:.1%}</b>, triage agreement <b>{s['triage_agreement']:.1%}</b>, "
            f"under-triaged <b>{s['under_triaged']}</b>.</p>"
        )
        from legnumb.plots.evaluation import plot_confusion

        parts.append(_img(plot_confusion(data.evaluation), "confusion matrix", width=760))
        misses = data.evaluation.misses
        if len(misses):
            cols = [
                c
                for c in (
                    "case_id",
                    "expected_cause",
                    "top_cause",
                    "p_top",
                    "p_expected",
                    "expected_triage",
                    "triage",
                )
                if c in misses
            ]
            parts.append("<h3>Misses</h3>" + _table(misses[cols]))
        else:
            parts.append("<p>No misses: every case's top cause and triage match.</p>")
    else:
        parts.append(f"<p>No accuracy: {_e(data.evaluation_note)}</p>")

    parts.append("<h2 id='overview'>3. Robustness overview</h2>")
    parts.append(
        "<p><i>kept</i>: share of joint draws (all numbers within their ranges) in which the "
        "top cause stays on top. <i>decisive numbers</i>: single numbers whose own range "
        "contains a change of the top cause. Least robust cases first.</p>"
    )
    ov = data.overview.sort_values(
        ["stability", "decisive_numbers"], ascending=[True, False], kind="stable"
    )
    parts.append(
        _table(
            ov,
            formats={"p_top": "{:.3f}", "p_runner_up": "{:.3f}", "stability": "{:.1%}"},
            row_class=lambda r: "fragile" if r["stability"] < 0.95 else "",
            link="case_id",
        )
    )

    parts.append("<h2 id='decisive'>4. Numbers the conclusions rest on, across cases</h2>")
    dec = data.decisive
    if len(dec):
        parts.append(
            "<p>Per number: in how many cases moving it within its stated range changes the "
            "top cause (<i>decisive</i>), and in how many it is among the 10 largest swings of "
            "the top cause's posterior. (EJ) = expert judgement only.</p>"
        )
        parts.append(_img(plot_decisive(dec), "numbers most often decisive", width=900))
        show = dec[(dec["decisive"] > 0) | (dec["in_top"] > 0)].head(25)
        parts.append(
            _table(
                show[["label", "source_kind", "decisive", "in_top", "max_swing", "decisive_cases"]],
                formats={"max_swing": "{:.3f}"},
                row_class=lambda r: "ej" if r["source_kind"] == "expert_judgement" else "",
            )
        )

    parts.append("<h2 id='cases'>5. Cases</h2>")
    _WORK.update(data=data)
    try:
        parts.extend(_pmap(_case_section, len(data.one_way), jobs=jobs))
    finally:
        _WORK.clear()
    parts.append("<h2 id='priors'>6. Every hand-set number</h2>")
    pt = m.priors.table()
    n_ej = int(pt["source_kind"].eq("expert_judgement").sum())
    parts.append(
        f"<p>{len(pt)} numbers; <b>{n_ej}</b> rest on expert judgement alone (highlighted, "
        "(EJ)). Each has a documented plausible range [low, high], which the analyses "
        "above use.</p>"
    )
    pt = pt.assign(
        label=[
            f"{lab} (EJ)" if k == "expert_judgement" else lab
            for lab, k in zip(pt["label"], pt["source_kind"], strict=True)
        ]
    )
    parts.append(
        _table(
            pt[["label", "value", "low", "high", "source_id", "source_kind", "note"]],
            formats={"value": "{:.4g}", "low": "{:.4g}", "high": "{:.4g}"},
            row_class=lambda r: "ej" if r["source_kind"] == "expert_judgement" else "",
        )
    )
    parts.append("<h3 id='sources'>Sources</h3>")
    src = pd.DataFrame(
        [
            {
                "source_id": s.source_id,
                "kind": s.kind,
                "citation": s.citation,
                "locator": s.locator,
                "reasoning": s.reasoning,
            }
            for s in m.priors.sources.values()
        ]
    )
    parts.append(_table(src, row_class=lambda r: "ej" if r["kind"] == "expert_judgement" else ""))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _case_section(i: int) -> str:
    """The HTML of case ``i`` of ``_WORK["data"]``."""
    data = _WORK["data"]
    return case_section_html(data.one_way[i], data.robustness[i], data.cases.iloc[i])


def case_section_html(ow, rob, row: pd.Series, *, functions: bool = False) -> str:
    """One case's review as HTML: story, ranking, tornado, robustness, influential numbers.

    Parameters
    ----------
    ow : model.sensitivity.OneWay
        The case's one-way analysis.
    rob : model.sensitivity.Robustness
        The case's robustness analysis.
    row : pandas.Series
        The case's raw row (for the story and the expected cause).
    functions : bool, optional
        Also draw the sensitivity functions of the six most influential numbers.
    """
    import matplotlib.pyplot as plt

    from legnumb.plots.sensitivity import (
        plot_robustness,
        plot_sensitivity_functions,
        plot_tornado,
    )

    parts = []
    parts.append(f"<h3 id='case-{_e(ow.case_id)}'>Case {_e(ow.case_id)}</h3>")
    story = _cell(row, "story")
    expected = _cell(row, "expected_cause")
    if story:
        parts.append(f"<p class='story'>{_e(story)}</p>")
    ranked = ow.posterior.sort_values(ascending=False, kind="stable").head(3)
    top3 = ", ".join(f"{_e(c)} {p:.3f}" for c, p in ranked.items())
    parts.append(
        f"<p>Top causes: {top3}."
        + (f" Expected: {_e(expected)}." if expected else "")
        + f" Top cause kept in <b>{rob.stability:.1%}</b> of {rob.n_draws:,} joint draws;"
        f" <b>{int(ow.table['decisive'].sum())}</b> single number(s) can change it within"
        " their range.</p>"
    )
    parts.append(_img(plot_tornado(ow, n=20), f"tornado {ow.case_id}"))
    if functions:
        parts.append(_img(plot_sensitivity_functions(ow), f"functions {ow.case_id}"))
    parts.append(_img(plot_robustness(rob), f"robustness {ow.case_id}"))
    plt.close("all")
    top = ow.top(8)[
        [
            "label",
            "base",
            "low",
            "high",
            "p_low",
            "p_high",
            "swing",
            "x_down",
            "x_up",
            "top_down",
            "top_up",
            "source_kind",
        ]
    ]
    parts.append(
        "<details><summary>The 8 most influential numbers, with where the top cause "
        "would change (admissible deviation)</summary>"
        + _table(
            top,
            formats={
                c: "{:.4g}"
                for c in ("base", "low", "high", "p_low", "p_high", "swing", "x_down", "x_up")
            },
            row_class=lambda r: "ej" if r["source_kind"] == "expert_judgement" else "",
        )
        + "</details>"
    )

    return "\n".join(parts)


def _analyse_one(i: int):
    """One-way and robustness analyses of case ``i`` of ``_WORK["cases"]``."""
    from legnumb.analysis.sensitivity import one_way, robustness

    model, row = _WORK["model"], _WORK["cases"].iloc[i]
    cid = str(row["case_id"]).strip() if "case_id" in row.index else f"row{i + 2}"
    ow = one_way(model, row, case_id=cid)
    rob = robustness(model, row, case_id=cid, n_draws=_WORK["n_draws"], seed=_WORK["seed"])
    return ow, rob


#: State shared with forked worker processes (set just before forking, cleared after).
_WORK: dict = {}


def _fresh_engine() -> None:
    """In a forked worker: recompile the model's engine from its CPTs.

    The parent's engine holds caches and buffers that another thread may have been using at
    the moment of the fork; a worker must not inherit them half-updated.
    """
    from dataclasses import replace

    from legnumb.inference.engine import Engine

    model = _WORK.get("model")
    if model is not None:
        _WORK["model"] = replace(model, engine=Engine.from_cpts(model.priors.expand()))


def _pmap(fn, n: int, *, jobs: int, progress=None) -> list:
    """``[fn(0), ..., fn(n - 1)]``, in ``jobs`` forked processes when possible."""
    out = []
    if jobs <= 1 or n <= 1 or "fork" not in mp.get_all_start_methods():
        for i in range(n):
            out.append(fn(i))
            if progress:
                progress(out[-1])
        return out
    ctx = mp.get_context("fork")
    with ProcessPoolExecutor(max_workers=jobs, mp_context=ctx, initializer=_fresh_engine) as pool:
        for res in pool.map(fn, range(n)):
            out.append(res)
            if progress:
                progress(res)
    return out


# --------------------------------------------------------------------------- interactive
class CaseReview:
    """Pick a case and a target cause in dropdowns and see that case's review.

    Build it with :func:`case_review`. The attributes :attr:`case_id`, :attr:`target`,
    :attr:`row`, :attr:`one_way` and :attr:`robustness` follow the dropdowns, so notebook
    cells below can reuse them. Displayed without a live kernel (a static notebook), it
    shows a snapshot of the current selection as HTML.
    """

    def __init__(
        self,
        model,
        cases: pd.DataFrame,
        *,
        case_id: str | None,
        target: str | None,
        n_draws: int,
        seed: int,
    ) -> None:
        import ipywidgets as widgets

        from legnumb.analysis.sensitivity import check_target

        if "case_id" not in cases.columns or len(cases) == 0:
            raise InputError("cases: need a non-empty case_id column to pick from.")
        ids = [str(c).strip() for c in cases["case_id"]]
        if case_id is not None and case_id not in ids:
            raise InputError(f"cases: no case with case_id {case_id!r}. Got ids: {', '.join(ids)}")
        self.model, self.cases, self.n_draws, self.seed = model, cases, n_draws, seed
        self.case_dropdown = widgets.Dropdown(
            options=ids, value=case_id or ids[0], description="case"
        )
        self.target_dropdown = widgets.Dropdown(
            options=[("top cause", "")] + [(c.replace("_", " "), c) for c in model.causes],
            value=check_target(model, target) or "",
            description="target",
        )
        self.panel = widgets.HTML()
        self.widget = widgets.VBox(
            [widgets.HBox([self.case_dropdown, self.target_dropdown]), self.panel]
        )
        self.case_dropdown.observe(self._update, names="value")
        self.target_dropdown.observe(self._update, names="value")
        self._update()

    @property
    def case_id(self) -> str:
        """The chosen case."""
        return self.case_dropdown.value

    @property
    def target(self) -> str | None:
        """The chosen target cause; None for the top cause."""
        return self.target_dropdown.value or None

    @property
    def row(self) -> pd.Series:
        """The chosen case's raw row."""
        ids = self.cases["case_id"].astype(str).str.strip()
        return self.cases[ids == self.case_id].iloc[0]

    def _update(self, change=None) -> None:
        from legnumb.analysis.sensitivity import one_way, robustness

        row = self.row
        self.one_way = one_way(self.model, row, target=self.target, case_id=self.case_id)
        self.robustness = robustness(
            self.model,
            row,
            target=self.target,
            case_id=self.case_id,
            n_draws=self.n_draws,
            seed=self.seed,
        )
        self.panel.value = case_section_html(self.one_way, self.robustness, row, functions=True)

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = (
            "<div><b>Sensitivity review (static snapshot; run the notebook to choose another "
            f"case or target)</b> — case {_e(self.case_id)}, target "
            f"{_e(self.target or 'top cause')}</div>" + self.panel.value
        )
        bundle["text/plain"] = f"CaseReview(case={self.case_id!r}, target={self.target!r})"
        return bundle


def case_review(
    model,
    cases: pd.DataFrame,
    *,
    case_id: str | None = None,
    target: str | None = None,
    n_draws: int = 1000,
    seed: int = 0,
) -> CaseReview:
    """Dropdowns for a case and a target cause, and the chosen case's review below them.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    cases : pandas.DataFrame
        Raw case rows with a ``case_id`` column.
    case_id : str, optional
        The case shown first (default: the first case).
    target : str, optional
        The target cause shown first (default: the top cause).
    n_draws, seed : int, optional
        Joint draws of the robustness analysis and their seed.

    Raises
    ------
    InputError
        For an unknown case id or target cause.
    """
    return CaseReview(model, cases, case_id=case_id, target=target, n_draws=n_draws, seed=seed)


# --------------------------------------------------------------------------- helpers
def _network_figure(model):
    """The network diagram (:func:`legnumb.plots.network.plot_network`)."""
    from legnumb.plots.network import plot_network

    return plot_network(model)


def _cell(row: pd.Series, name: str) -> str:
    return str(row[name]).strip() if name in row.index else ""


def _e(text) -> str:
    return html.escape(str(text))


def _img(fig, alt: str, *, width: int | None = None) -> str:
    import matplotlib.pyplot as plt

    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=90)
    plt.close(fig)
    data = base64.b64encode(buf.getvalue()).decode("ascii")
    style = f" style='max-width:{width}px'" if width else ""
    return f"<img alt='{_e(alt)}'{style} src='data:image/png;base64,{data}'>"


def _table(df: pd.DataFrame, *, formats=None, row_class=None, link: str | None = None) -> str:
    formats = formats or {}
    head = "".join(f"<th>{_e(c)}</th>" for c in df.columns)
    body = []
    for _, r in df.iterrows():
        cls = row_class(r) if row_class else ""
        cells = []
        for c in df.columns:
            v = r[c]
            if isinstance(v, float) and pd.isna(v):
                text = "—"
            elif c in formats:
                text = formats[c].format(v)
            elif isinstance(v, float):
                text = f"{v:.4g}"
            else:
                text = str(v)
            cell = _e(text)
            if c == link:
                cell = f"<a href='#case-{_e(v)}'>{cell}</a>"
            cells.append(f"<td>{cell}</td>")
        body.append(f"<tr class='{cls}'>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _toc() -> str:
    items = [
        ("method", "How to read this report"),
        ("network", "1. The network"),
        ("accuracy", "2. Accuracy on the case set"),
        ("overview", "3. Robustness overview"),
        ("decisive", "4. Numbers the conclusions rest on"),
        ("cases", "5. Cases"),
        ("priors", "6. Every hand-set number and its source"),
    ]
    return (
        "<nav><ul>" + "".join(f"<li><a href='#{a}'>{t}</a></li>" for a, t in items) + "</ul></nav>"
    )


_METHOD = """
<h2 id='method'>How to read this report</h2>
<ul>
<li><b>Tornado.</b> Each hand-set number is moved alone to the low and the high end of its own
documented range (the other numbers of its distribution rescaled proportionally), and the case
is rescored. Bars show the posterior of the top cause at both ends; the 20 largest swings are
drawn. ◆ marks a number whose range contains a change of the top cause.</li>
<li><b>Admissible deviation.</b> The posterior as a function of one number x is
(a x + b) / (c x + d) (Coupé &amp; van der Gaag 2002, doi:10.1023/A:1016398407857). All causes
share the denominator P(e)(x), so the top cause changes where another cause's numerator
overtakes it; x_down and x_up give those values (van der Gaag &amp; Renooij 2001).</li>
<li><b>Robustness.</b> All numbers drawn jointly: each free number logit-uniform within
[low, high]; two-state distributions as a drawn number and its complement; distributions of
three or more states drawn number by number and renormalized to sum to 1. The case is rescored
for every draw; <i>kept</i> is the share of draws in which the top cause stays on top.</li>
<li><b>(EJ)</b> marks numbers resting on expert judgement alone: the first candidates for better
evidence when they are decisive.</li>
</ul>
"""

_HEAD = """<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>{title}</title>
<style>
body {{ font-family: system-ui, -apple-system, "Segoe UI", sans-serif; margin: 2em auto;
       max-width: 1350px; padding: 0 1em; color: #222; line-height: 1.4; }}
h1 {{ font-size: 1.7em; margin-bottom: 0.2em; }}
h2 {{ border-bottom: 2px solid #ccc; padding-bottom: 0.2em; margin-top: 2em; }}
.meta {{ color: #555; }}
.warn {{ background: #fff4e5; border-left: 4px solid #e69500; padding: 0.5em 0.8em; }}
.story {{ font-style: italic; color: #444; }}
table {{ border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0; }}
th, td {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; position: sticky; top: 0; }}
tr.ej td {{ background: #fbeaea; }}
tr.fragile td {{ background: #fff1c1; }}
img {{ max-width: 100%; height: auto; }}
nav ul {{ columns: 2; }}
details {{ margin-bottom: 1.5em; }}
</style></head><body>"""
