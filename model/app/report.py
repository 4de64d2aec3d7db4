"""A self-contained HTML report for the reviewer who signs off on the hand-set priors.

One file, no external resources (figures are embedded PNGs, reduced to a small palette), with
a table of contents and:

1. the network diagram;
2. accuracy on the case set (:mod:`legnumb.analysis.evaluate`) with the confusion matrix;
3. a robustness overview: per case, the top cause, how often it stays on top under joint
   draws of all numbers, and how many single numbers can change it within their range;
4. the numbers most often decisive across cases;
5. one folded section per case (``<details>``): the tornado, the robustness of each cause
   and the most influential numbers with their admissible deviation;
6. every number of ``priors/`` with its range and source (folded), numbers resting on expert
   judgement alone flagged, and the sources: DOIs, PMIDs and PMC ids are links, seed articles
   (not shipped with legnumb) are described in words.

The numbers come from :func:`legnumb.analysis.review.analyse`; this module only writes HTML.
:func:`render_html` builds the page, :func:`write_report` analyses and writes it (each file
whole or not at all), :func:`case_section_html` is one case's section (also shown by
:mod:`legnumb.app.case_review`).

Examples
--------
>>> import matplotlib
>>> matplotlib.use("Agg")
>>> from legnumb.analysis.review import analyse
>>> from legnumb.diagnosis.model import load_model
>>> from legnumb.io.cases import load_cases
>>> data = analyse(load_model(), load_cases(None).head(1), n_draws=20)
>>> page = render_html(data)
>>> page.startswith("<!DOCTYPE html>") and "data:image/png;base64," in page
True
>>> print(linkify("see doi:10.1000/xyz1, PMID: 12345."))
see <a href='https://doi.org/10.1000/xyz1'>doi:10.1000/xyz1</a>, \
<a href='https://pubmed.ncbi.nlm.nih.gov/12345/'>PMID: 12345</a>.
"""

from __future__ import annotations

import base64
import html
import io
import re
from collections.abc import Callable
from pathlib import Path
from urllib.parse import quote

import pandas as pd

from legnumb.data import DISCLAIMER

__all__ = [
    "case_anchor",
    "case_section_html",
    "linkify",
    "render_html",
    "robustness_html",
    "write_report",
]

#: Colours kept in the embedded PNGs (a palette PNG is about a third of a full-colour one).
PNG_COLORS = 48
#: Resolution of the embedded figures.
PNG_DPI = 80
#: Numbers in each case's tornado.
TORNADO_N = 20


# --------------------------------------------------------------------------- writing
def write_report(
    model,
    cases: pd.DataFrame,
    directory: str | Path,
    *,
    n_draws: int = 1000,
    seed: int = 0,
    path: str | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
    id_column: str = "case_id",
) -> Path:
    """Analyse ``cases`` and write ``report.html`` (plus the tables as CSV) to ``directory``.

    ``jobs`` worker processes share the analyses and the drawing. Every file is written to a
    temporary file and renamed into place only when complete, after everything has been
    computed, so a failure leaves no partial file. Returns the path of the HTML file.

    Raises
    ------
    InputError
        When ``directory`` is a file or cannot be created, or the cases cannot be used.
    """
    from legnumb.analysis.review import analyse
    from legnumb.io.symptom_csv import atomic_output, output_directory

    out = output_directory(directory, what="the report")
    data = analyse(
        model,
        cases,
        n_draws=n_draws,
        seed=seed,
        path=path,
        progress=progress,
        jobs=jobs,
        id_column=id_column,
    )
    files = {
        "report.html": render_html(data, jobs=jobs).encode("utf-8"),
        "robustness_overview.csv": _csv(data.overview),
        "decisive_numbers.csv": _csv(data.decisive),
    }
    for name, content in files.items():
        with atomic_output(out / name) as f:
            f.write(content)
    return out / "report.html"


def _csv(df: pd.DataFrame) -> bytes:
    return df.to_csv(index=False, lineterminator="\n").encode("utf-8")


# --------------------------------------------------------------------------- the page
def render_html(data, *, jobs: int = 1) -> str:
    """The report as one self-contained HTML page (case figures drawn in ``jobs`` processes).

    Parameters
    ----------
    data : legnumb.analysis.review.ReportData
        The analyses.
    jobs : int, optional
        Worker processes for the case figures.
    """
    from legnumb.app.parallel import pmap, shared
    from legnumb.plots.sensitivity import plot_decisive

    m = data.model
    anchors = _anchors([ow.case_id for ow in data.one_way])
    parts = [_HEAD.format(title="legnumb: sensitivity report for reviewers")]
    parts.append(
        f"<h1>legnumb — sensitivity report for reviewers</h1>"
        f"<p class='meta'>model {_e(m.version)} · priors sha256 {_e(m.priors_hash)} · "
        f"{len(m.priors.numbers)} hand-set numbers · {len(data.one_way)} cases from "
        f"{_e(data.source)} · {data.n_draws:,} joint draws per case (seed {data.seed})</p>"
        f"<p class='warn'>{_e(DISCLAIMER)}</p>"
    )
    parts.append(_toc(data, anchors))
    parts.append(_METHOD)

    parts.append("<h2 id='network'>1. The network</h2>")
    parts.append(_img(_network_figure(m), "the network"))

    parts.append("<h2 id='accuracy'>2. Accuracy on the case set</h2>")
    parts.append(_accuracy(data))

    parts.append("<h2 id='overview'>3. Robustness overview</h2>")
    parts.append(
        "<p><i>kept</i>: share of joint draws (all numbers within their ranges) in which the "
        "top cause stays on top. <i>decisive numbers</i>: single numbers whose own range "
        "contains a change of the top cause (the two numbers of a two-state distribution "
        "count once). Least robust cases first; highlighted when kept in under 95%.</p>"
    )
    ov = data.overview.sort_values(
        ["stability", "decisive_numbers"], ascending=[True, False], kind="stable"
    )
    parts.append(
        _table(
            ov,
            formats={"p_top": "{:.3f}", "p_runner_up": "{:.3f}", "stability": "{:.1%}"},
            row_class=lambda r: "fragile" if r["stability"] < 0.95 else "",
            links={"case_id": lambda v: "#" + anchors[v]},
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
    parts.append(
        "<p>One section per case, folded: click a case to open it. Each shows the case as "
        "told, the tornado of the numbers its top cause rests on, how each cause's posterior "
        "spreads under the joint draws, and the most influential numbers with their "
        "admissible deviation.</p>"
    )
    if data.skipped:
        items = "".join(f"<li>{_e(c)}: {_e(msg)}</li>" for c, msg in data.skipped)
        parts.append(
            f"<p class='warn'>{len(data.skipped)} case(s) not analysed: their rows carry "
            f"errors.</p><ul>{items}</ul>"
        )
    with shared(data=data, anchors=anchors):
        parts.extend(pmap(_case_section, len(data.one_way), jobs=jobs))

    parts.append(_priors_section(m))
    parts.append("</body></html>\n")
    return "\n".join(parts)


def _accuracy(data) -> str:
    from legnumb.plots.evaluation import plot_confusion

    if data.evaluation is None:
        return f"<p>No accuracy: {_e(data.evaluation_note)}</p>"
    ev = data.evaluation
    s = ev.summary
    recall = (
        f"emergency recall <b>{s['emergency_recall']:.1%}</b> of {s['emergencies']} expected "
        "emergencies"
        if s["emergencies"]
        else "no case expected an emergency"
    )
    given = ev.triage_table.reset_index()
    given.columns = ["expected", *map(str, ev.triage_table.columns)]
    out = [
        f"<p>{s['n']} cases ({s['scored']} scored): top-1 accuracy <b>{s['top1']:.1%}</b>, "
        f"top-3 accuracy <b>{s['top3']:.1%}</b>, triage agreement "
        f"<b>{s['triage_agreement']:.1%}</b>, under-triaged <b>{s['under_triaged']}</b>, "
        f"over-triaged <b>{s['over_triaged']}</b>; {recall}.</p>",
        "<h3>Triage, expected (rows) by given (columns)</h3>" + _table(given),
        _img(plot_confusion(ev), "confusion matrix", width=760),
    ]
    misses = ev.misses
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
        out.append("<h3>Misses</h3>" + _table(misses[cols]))
    else:
        out.append("<p>No misses: every case's top cause and triage match.</p>")
    return "\n".join(out)


def _case_section(i: int) -> str:
    """The folded HTML section of case ``i`` of ``WORK["data"]`` (run in a worker)."""
    from legnumb.app.parallel import WORK

    data, anchors = WORK["data"], WORK["anchors"]
    ow, rob = data.one_way[i], data.robustness[i]
    ranked = ow.posterior.sort_values(ascending=False, kind="stable")
    runner = ranked.index[1] if len(ranked) > 1 else ""
    fragile = rob.stability < 0.95
    summary = (
        f"<b>Case {_e(ow.case_id)}</b> — {_e(_words(ow.top_cause))} {ranked.iloc[0]:.2f}"
        + (f" vs {_e(_words(runner))} {ranked.iloc[1]:.2f}" if runner else "")
        + f" · kept in {rob.stability:.1%} of draws · {ow.n_decisive} decisive number(s)"
    )
    body = case_section_html(ow, rob, data.cases.iloc[i], anchor=anchors[ow.case_id])
    cls = " class='fragile'" if fragile else ""
    return f"<details{cls}><summary>{summary}</summary>\n{body}\n</details>"


def case_section_html(
    ow,
    rob,
    row: pd.Series,
    *,
    functions: bool = False,
    robustness_plot: bool = False,
    anchor: str | None = None,
) -> str:
    """One case's review as HTML: story, ranking, tornado, robustness, influential numbers.

    Parameters
    ----------
    ow : legnumb.analysis.sensitivity.OneWay
        The case's one-way analysis.
    rob : legnumb.analysis.sensitivity.Robustness
        The case's robustness analysis.
    row : pandas.Series
        The case's raw row (for the story and the expected cause).
    functions : bool, optional
        Also draw the sensitivity functions of the six most influential numbers.
    robustness_plot : bool, optional
        Draw the robustness as a figure too (the table is always there).
    anchor : str, optional
        The ``id`` of the section's heading (default: :func:`case_anchor` of the case id).
    """
    from legnumb.plots.sensitivity import (
        plot_robustness,
        plot_sensitivity_functions,
        plot_tornado,
    )

    anchor = anchor or case_anchor(ow.case_id)
    parts = [f"<h3 id='{_e(anchor)}'>Case {_e(ow.case_id)}</h3>"]
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
        f" <b>{ow.n_decisive}</b> single number(s) can change it within their range.</p>"
    )
    parts.append(_img(plot_tornado(ow, n=TORNADO_N), f"tornado {ow.case_id}"))
    if functions:
        parts.append(_img(plot_sensitivity_functions(ow), f"functions {ow.case_id}"))
    if robustness_plot:
        parts.append(_img(plot_robustness(rob), f"robustness {ow.case_id}"))
    parts.append(robustness_html(rob))
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


def robustness_html(rob, *, top: int = 6) -> str:
    """The robustness of a case as a small table with a bar per cause (no figure).

    Each bar spans the 5–95% range of the cause's posterior over the joint draws on a
    0–1 scale; the dark tick is the posterior with the base numbers.
    """
    rows = []
    for r in rob.summary.head(top).itertuples(index=False):
        lo, hi, base = (min(max(float(v), 0.0), 1.0) for v in (r.q05, r.q95, r.base))
        bar = (
            "<div class='rb'>"
            f"<span class='rr' style='left:{100 * lo:.1f}%;width:{max(100 * (hi - lo), 0.4):.1f}%'>"
            f"</span><span class='rt' style='left:{100 * base:.1f}%'></span></div>"
        )
        bold = " style='font-weight:bold'" if r.cause == rob.top_cause else ""
        rows.append(
            f"<tr><td{bold}>{_e(_words(r.cause))}</td><td>{r.base:.3f}</td>"
            f"<td>{r.q05:.3f}–{r.q95:.3f}</td><td>{bar}</td><td>{r.top_share:.1%}</td></tr>"
        )
    return (
        f"<p><b>Robustness</b> ({rob.n_draws:,} joint draws, seed {rob.seed}): posterior of "
        f"each cause with the base numbers, its 5–95% range over the draws, and how often it "
        f"is the top cause.</p><table class='rob'><thead><tr><th>cause</th><th>base</th>"
        "<th>5–95%</th><th>0 ——— 1</th><th>top in</th></tr></thead><tbody>"
        + "".join(rows)
        + "</tbody></table>"
    )


def _priors_section(m) -> str:
    pt = m.priors.table()
    n_ej = int(pt["source_kind"].eq("expert_judgement").sum())
    out = [
        "<h2 id='priors'>6. Every hand-set number</h2>",
        f"<p>{len(pt)} numbers; <b>{n_ej}</b> rest on expert judgement alone (highlighted, "
        "(EJ)). Each has a documented plausible range [low, high], which the analyses "
        "above use. The source of each number is listed under <a href='#sources'>Sources"
        "</a>.</p>",
    ]
    pt = pt.assign(
        label=[
            f"{lab} (EJ)" if k == "expert_judgement" else lab
            for lab, k in zip(pt["label"], pt["source_kind"], strict=True)
        ]
    )
    out.append(
        f"<details><summary>Show all {len(pt)} numbers with their ranges and notes</summary>"
        + _table(
            pt[["label", "value", "low", "high", "source_id", "source_kind", "note"]],
            formats={"value": "{:.4g}", "low": "{:.4g}", "high": "{:.4g}"},
            row_class=lambda r: "ej" if r["source_kind"] == "expert_judgement" else "",
            links={"source_id": lambda v: f"#src-{_slug(v)}"},
            rich={"note"},
        )
        + "</details>"
    )
    out.append("<h3 id='sources'>Sources</h3>")
    rows = []
    for s in m.priors.sources.values():
        cls = "ej" if s.kind == "expert_judgement" else ""
        rows.append(
            f"<tr class='{cls}' id='src-{_e(_slug(s.source_id))}'><td>{_e(s.source_id)}</td>"
            f"<td>{_e(s.kind)}</td><td>{linkify(s.citation)}</td>"
            f"<td>{_locator_html(s)}</td><td>{linkify(s.reasoning)}</td></tr>"
        )
    out.append(
        "<table class='sources'><colgroup><col style='width:8%'><col style='width:11%'>"
        "<col style='width:25%'><col style='width:16%'><col style='width:40%'></colgroup>"
        "<thead><tr><th>source_id</th><th>kind</th><th>citation</th><th>where</th>"
        "<th>reasoning</th></tr></thead><tbody>" + "".join(rows) + "</tbody></table>"
    )
    return "\n".join(out)


def _locator_html(source) -> str:
    """Where a source can be read: a link for a DOI, PMID, PMC id or URL; words for a seed."""
    if source.kind == "seed":
        return (
            "a consumer article used as a seed for the network's structure; its text is not "
            "shipped with legnumb, so it is described here, not linked"
        )
    return linkify(source.locator) if source.locator else "—"


# --------------------------------------------------------------------------- links
_LINKS = re.compile(
    r"(?P<doi>\bdoi:\s*(?P<doi_id>10\.\d{4,9}/\S+))"
    r"|(?P<pmid>\bPMID:?\s*(?P<pmid_id>\d{1,9})\b)"
    r"|(?P<pmc>\b(?P<pmc_id>PMC\d{3,9})\b)"
    r"|(?P<url>\bhttps?://\S+)",
    re.IGNORECASE,
)


def _trim(text: str) -> str:
    """Drop punctuation that ends a sentence rather than an identifier or URL."""
    while text and (
        text[-1] in ".,;:'\"]>" or (text[-1] == ")" and text.count(")") > text.count("("))
    ):
        text = text[:-1]
    return text


def linkify(text: object) -> str:
    """``text`` as HTML (escaped), with DOIs, PMIDs, PMC ids and web addresses as links.

    ``doi:10.x/y`` links to https://doi.org/10.x/y, ``PMID: N`` to
    https://pubmed.ncbi.nlm.nih.gov/N/, ``PMCN`` to https://www.ncbi.nlm.nih.gov/pmc/articles/PMCN/.
    Nothing else is linked (file names of sources not shipped stay plain text).

    >>> print(linkify("PMC3120210; seeds/000_x.txt"))
    <a href='https://www.ncbi.nlm.nih.gov/pmc/articles/PMC3120210/'>PMC3120210</a>; seeds/000_x.txt
    """
    text = "" if text is None or (isinstance(text, float) and pd.isna(text)) else str(text)
    out, pos = [], 0
    for m in _LINKS.finditer(text):
        shown = m.group(0)
        if m.group("doi"):
            ident = _trim(m.group("doi_id"))
            shown = shown[: len(shown) - (len(m.group("doi_id")) - len(ident))]
            href = "https://doi.org/" + quote(ident, safe="/:;()._-")
        elif m.group("pmid"):
            href = f"https://pubmed.ncbi.nlm.nih.gov/{m.group('pmid_id')}/"
        elif m.group("pmc"):
            href = f"https://www.ncbi.nlm.nih.gov/pmc/articles/{m.group('pmc_id').upper()}/"
        else:
            shown = _trim(shown)
            href = shown
        out.append(_e(text[pos : m.start()]))
        out.append(f"<a href='{_e(href)}'>{_e(shown)}</a>")
        pos = m.start() + len(shown)
    out.append(_e(text[pos:]))
    return "".join(out)


# --------------------------------------------------------------------------- helpers
def _network_figure(model):
    """The network diagram (:func:`legnumb.plots.network.plot_network`)."""
    from legnumb.plots.network import plot_network

    return plot_network(model)


def _words(name) -> str:
    return str(name).replace("_", " ")


def _cell(row: pd.Series, name: str) -> str:
    from legnumb.network.schema import normalize_name

    for col in row.index:
        if normalize_name(col) == name:
            return str(row[col]).strip()
    return ""


def _e(text) -> str:
    return html.escape(str(text))


def _slug(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9_-]", "_", str(text))


def case_anchor(case_id: str) -> str:
    """The ``id`` of a case's heading in the report (letters, digits, ``-`` and ``_`` only).

    >>> case_anchor("E 1/$x$")
    'case-E_1__x_'
    """
    return "case-" + _slug(case_id)


def _anchors(case_ids: list[str]) -> dict[str, str]:
    """A distinct anchor per case id (``case-x``, then ``case-x-2`` when two ids look alike)."""
    out: dict[str, str] = {}
    used: set[str] = set()
    for cid in case_ids:
        a = base = case_anchor(cid)
        k = 2
        while a in used:
            a, k = f"{base}-{k}", k + 1
        used.add(a)
        out[cid] = a
    return out


def _png(fig, *, dpi: float = PNG_DPI, colors: int = PNG_COLORS) -> bytes:
    """The figure as a palette PNG (``colors`` colours, no dithering); the figure is closed."""
    from PIL import Image

    from legnumb.plots.style import figure_bytes

    raw = figure_bytes(fig, dpi=dpi)
    im = Image.open(io.BytesIO(raw)).convert("RGB")
    small = im.quantize(colors=colors, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)
    buf = io.BytesIO()
    small.save(buf, format="PNG", optimize=True)
    return buf.getvalue() if buf.tell() < len(raw) else raw


def _img(fig, alt: str, *, width: int | None = None) -> str:
    data = base64.b64encode(_png(fig)).decode("ascii")
    style = f" style='max-width:{width}px'" if width else ""
    return f"<img alt='{_e(alt)}'{style} src='data:image/png;base64,{data}'>"


def _table(
    df: pd.DataFrame,
    *,
    formats=None,
    row_class=None,
    links: dict[str, Callable[[object], str]] | None = None,
    rich: set[str] | frozenset[str] = frozenset(),
) -> str:
    """An HTML table; ``links`` makes a column's cells links, ``rich`` columns are linkified."""
    formats = formats or {}
    links = links or {}
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
            cell = linkify(text) if c in rich else _e(text)
            if c in links:
                cell = f"<a href='{_e(links[c](v))}'>{cell}</a>"
            cells.append(f"<td>{cell}</td>")
        body.append(f"<tr class='{cls}'>" + "".join(cells) + "</tr>")
    return f"<table><thead><tr>{head}</tr></thead><tbody>{''.join(body)}</tbody></table>"


def _toc(data, anchors: dict[str, str]) -> str:
    items = [
        ("method", "How to read this report"),
        ("network", "1. The network"),
        ("accuracy", "2. Accuracy on the case set"),
        ("overview", "3. Robustness overview"),
        ("decisive", "4. Numbers the conclusions rest on"),
        ("cases", "5. Cases"),
        ("priors", "6. Every hand-set number and its source"),
    ]
    cases = " ".join(
        f"<a href='#{_e(anchors[ow.case_id])}'"
        + (" class='fragile'" if rob.stability < 0.95 else "")
        + f">{_e(ow.case_id)}</a>"
        for ow, rob in zip(data.one_way, data.robustness, strict=True)
    )
    lis = "".join(f"<li><a href='#{a}'>{t}</a></li>" for a, t in items)
    return (
        "<nav><h2>Contents</h2><ul>"
        + lis
        + f"</ul><p class='cases'>Cases (highlighted: kept in under 95% of draws): {cases}</p>"
        "</nav>"
    )


_METHOD = """
<h2 id='method'>How to read this report</h2>
<ul>
<li><b>Tornado.</b> Each hand-set number is moved alone to the low and the high end of its own
documented range (the other numbers of its distribution rescaled proportionally), and the case
is rescored. Bars show the posterior of the top cause at both ends; the 20 largest swings are
drawn. ◆ marks a number whose range contains a change of the top cause. The two numbers of a
two-state distribution (a history prior such as P(smoker = yes) and its complement) are one
number and are drawn once.</li>
<li><b>Admissible deviation.</b> For a probability (a history prior, or a leak or link of a
finding: P(finding | no cause), P(finding | c alone)) the posterior as a function of the
number x is (a x + b) / (c x + d) (Coupé &amp; van der Gaag 2002,
<a href='https://doi.org/10.1023/A:1016398407857'>doi:10.1023/A:1016398407857</a>). A cause's
baseline P(c | reference risk factors) and its odds ratios OR(c | risk factor) act through the
logistic model and are evaluated exactly on a fine grid instead. All causes share the
denominator P(e)(x), so the top cause changes where another cause's numerator overtakes it;
x_down and x_up give those values (van der Gaag &amp; Renooij 2001).</li>
<li><b>Robustness.</b> All numbers drawn jointly within [low, high]: probabilities
logit-uniform, odds ratios log-uniform; two-state distributions as a drawn number and its
complement; distributions of three or more states drawn number by number and renormalized to
sum to 1. The case is rescored for every draw; <i>kept</i> is the share of draws in which the
top cause stays on top.</li>
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
nav h2 {{ margin-top: 1em; }}
.meta {{ color: #555; }}
.warn {{ background: #fff4e5; border-left: 4px solid #e69500; padding: 0.5em 0.8em; }}
.story {{ font-style: italic; color: #444; }}
table {{ border-collapse: collapse; font-size: 0.82em; margin: 0.6em 0; }}
th, td {{ border: 1px solid #ddd; padding: 2px 6px; text-align: left; vertical-align: top; }}
th {{ background: #f0f0f0; position: sticky; top: 0; }}
tr.ej td {{ background: #fbeaea; }}
tr.fragile td, a.fragile, details.fragile > summary {{ background: #fff1c1; }}
img {{ max-width: 100%; height: auto; }}
table.sources {{ table-layout: fixed; width: 100%; }}
table.sources td {{ overflow-wrap: anywhere; }}
nav ul {{ columns: 2; }}
nav .cases a {{ margin-right: 0.35em; }}
details {{ margin: 0.3em 0; }}
details > summary {{ cursor: pointer; padding: 0.3em 0.4em; border: 1px solid #e3e3e3;
       border-radius: 4px; }}
details[open] > summary {{ margin-bottom: 0.6em; }}
.rb {{ position: relative; width: 220px; height: 10px; background: #f2f2f2; }}
.rr {{ position: absolute; top: 0; height: 10px; background: #b8cce4; }}
.rt {{ position: absolute; top: -2px; width: 2px; height: 14px; background: #c44e52; }}
</style></head><body>"""
