"""The what-if app: pick findings from dropdowns, watch the causes move, see why, ask next.

:func:`what_if_app` builds an ipywidgets app around :func:`legnumb.analysis.analyse`; the
notebooks only call it. Every change of a dropdown recomputes the posteriors, the
explanation and the next questions (two batched engine calls) and redraws the panels as HTML
(a matplotlib redraw alone would take longer than the whole computation). The conflict check
runs after the other panels are shown; its reference simulation is cached per set of answered
questions.

Where widgets are not rendered (GitHub, a viewer without the widget JavaScript), the app's
display falls back to an HTML snapshot of its panels. A notebook exported to HTML shows the
widget area blank (nbconvert keeps the widget, not the fallback), so displaying the app also
shows its state at that moment as a static figure (:meth:`WhatIfApp.snapshot_png`): the
posteriors with the triage level and red flags.

Examples
--------
>>> from legnumb.diagnosis.model import load_model
>>> app = what_if_app(load_model(), evidence={"laterality": "one_leg"}, check_conflict=False)
>>> app.controls["laterality"].value
'one_leg'
>>> app.controls["back_pain"].value = "yes"  # as a clinician would, in the dropdown
>>> app.analysis.evidence
{'laterality': 'one_leg', 'back_pain': 'yes'}
>>> app.analysis.diagnosis.ranked.index[0]
'sciatica'
"""

from __future__ import annotations

import html
import textwrap
import time
from collections.abc import Mapping

import ipywidgets as w
import pandas as pd

from legnumb.analysis import (
    Analysis,
    Comparison,
    Conflict,
    analyse,
    cause_phrase,
    compare,
    conflict,
    format_pct,
)
from legnumb.diagnosis.evidence import normalize_evidence
from legnumb.diagnosis.model import Model
from legnumb.errors import InputError
from legnumb.network.schema import load_schema
from legnumb.plots.style import TRIAGE_COLORS

__all__ = [
    "WhatIfApp",
    "comparison_html",
    "conflict_html",
    "explanation_html",
    "posterior_html",
    "questions_html",
    "triage_html",
    "what_if_app",
]

_TRIAGE_STYLE = {
    "emergency": (TRIAGE_COLORS["emergency"], "white", "EMERGENCY: seek emergency care now"),
    "urgent": (TRIAGE_COLORS["urgent"], "white", "URGENT: see a doctor within 24 hours"),
    "routine": (TRIAGE_COLORS["routine"], "white", "ROUTINE: book an appointment"),
    "self_care": (
        TRIAGE_COLORS["self_care"],
        "white",
        "SELF CARE: watch and wait, return if it changes",
    ),
}
_CLASS_COLOR = TRIAGE_COLORS
_UNKNOWN = "not known"


_TD_R = 'style="text-align:right;padding-right:6px;white-space:nowrap"'
_TD_L = 'style="padding-left:6px;white-space:nowrap"'
_NOTE = 'style="font-size:0.8em;color:#555"'
_TABLE = "style='border-collapse:collapse;font-size:0.9em'"


def _e(text) -> str:
    return html.escape(str(text))


def _points(diff: float) -> str:
    d = round(100 * float(diff))
    return f"{d:+d} pts" if d else "0 pts"


def _signed(x: float) -> str:
    return "0.00" if abs(x) < 0.005 else f"{x:+.2f}"


def _words(name) -> str:
    return str(name).replace("_", " ")


# --------------------------------------------------------------------------- HTML panels
def triage_html(diagnosis) -> str:
    """A coloured banner with the triage level and every red flag."""
    bg, fg, words = _TRIAGE_STYLE.get(diagnosis.triage, ("#7f8c8d", "white", diagnosis.triage))
    flags = (
        "<br>".join(f"&#9888; {_e(f)}" for f in diagnosis.red_flags)
        if diagnosis.red_flags
        else "No red flags among the findings given."
    )
    reason = getattr(diagnosis, "triage_reason", "")
    why = f"<br><i>Why: {_e(reason)}</i>" if reason else ""
    return (
        f'<div style="background:{bg};color:{fg};padding:8px 12px;border-radius:6px;">'
        f'<b style="font-size:1.15em">{_e(words)}</b>{why}<br>{flags}</div>'
    )


def posterior_html(
    posteriors: pd.Series, *, baseline: pd.Series | None = None, top: int | None = None
) -> str:
    """Horizontal bars of the posteriors (most likely first), with baseline ticks and changes.

    ``top`` keeps only the most likely causes; every cause by default.
    """
    schema = load_schema()
    post = posteriors.sort_values(ascending=False, kind="stable")
    if top is not None:
        post = post.head(top)
    rows = []
    for cause, p in post.items():
        color = _CLASS_COLOR.get(schema.causes[cause].triage_if_likely, "#7f8c8d")
        tick, delta = "", ""
        if baseline is not None and cause in baseline.index:
            b = float(baseline[cause])
            tick = (
                f'<div title="baseline {format_pct(b)}" '
                f'style="position:absolute;left:{100 * b:.1f}%;'
                'top:-2px;width:2px;height:18px;background:black;"></div>'
            )
            d = 100 * (p - b)
            if abs(d) >= 0.5:
                arrow = "&#9650;" if d > 0 else "&#9660;"
                delta = f' <span style="color:#555">{arrow}{abs(d):.0f}</span>'
        rows.append(
            f'<tr><td style="text-align:right;padding-right:6px;white-space:nowrap">'
            f"{_e(cause_phrase(cause))}</td>"
            f'<td style="width:260px"><div style="position:relative;background:#eee;height:14px;">'
            f'<div style="background:{color};width:{100 * p:.1f}%;height:14px;"></div>{tick}'
            f"</div></td><td {_TD_L}>{format_pct(p)}{delta}</td></tr>"
        )
    legend = " ".join(
        f'<span style="color:{c}">&#9632;</span> {k.replace("_", " ")}'
        for k, c in _CLASS_COLOR.items()
    )
    note = (
        " &nbsp; black tick = baseline; &#9650;&#9660; change in points"
        if baseline is not None
        else ""
    )
    return (
        "<div><b>P(cause present | findings)</b>"
        f'<table style="border-collapse:collapse;font-size:0.92em">{"".join(rows)}</table>'
        f'<div style="font-size:0.8em;color:#555">colour = triage class if likely: {legend}{note}'
        "</div></div>"
    )


def explanation_html(analysis: Analysis, cause: str, *, top: int = 8) -> str:
    """The sentence for ``cause`` and its findings' weights of evidence as diverging bars."""
    rows = analysis.explanation[analysis.explanation["cause"] == cause].head(top)
    sentence = analysis.sentences.get(cause)
    if sentence is None:
        sentence = f"{cause_phrase(cause)}: {format_pct(analysis.diagnosis.posteriors[cause])}."
    if rows.empty:
        return f"<div><b>Why</b><p>{_e(sentence)}</p></div>"
    span = max(float(rows["woe"].abs().max()), 0.5)
    trs = []
    for r in rows.itertuples():
        width = 50 * min(abs(r.woe) / span, 1.0)
        color = "#2e86c1" if r.woe >= 0 else "#e67e22"
        left = 50 if r.woe >= 0 else 50 - width
        trs.append(
            f"<tr><td {_TD_R}>{_e(r.finding)}</td>"
            '<td style="width:220px">'
            '<div style="position:relative;height:12px;background:#f4f4f4">'
            f'<div style="position:absolute;left:50%;width:1px;height:12px;background:#333"></div>'
            f'<div style="position:absolute;left:{left:.1f}%;width:{width:.1f}%;height:12px;'
            f'background:{color}"></div></div></td>'
            f'<td style="padding-left:6px">{_signed(r.woe)}</td></tr>'
        )
    return (
        f'<div><b>Why: {_e(cause_phrase(cause))}</b><p style="margin:4px 0">{_e(sentence)}</p>'
        f'<table style="border-collapse:collapse;font-size:0.9em">{"".join(trs)}</table>'
        f"<div {_NOTE}>weight of evidence = ln P(finding | cause present, "
        "rest) &minus; ln P(finding | cause absent, rest); blue raises, orange lowers</div></div>"
    )


def questions_html(questions: pd.DataFrame, *, top: int = 5) -> str:
    """The best next questions with their expected value."""
    if questions.empty:
        return (
            "<div><b>Next question</b><p>Every column is answered: nothing left to ask.</p></div>"
        )
    top_cause = cause_phrase(str(questions["top_cause"].iloc[0]))
    c = "style='text-align:center;padding:2px 10px'"
    head = (
        "<tr><th></th><th style='text-align:left'>question</th>"
        f"<th {c}>bits</th><th {c}>&plusmn;P({_e(top_cause)})</th>"
        f"<th {c}>P(triage changes)</th><th {c}>likely answer</th></tr>"
    )
    trs = []
    for i, r in enumerate(questions.head(top).itertuples(), start=1):
        trs.append(
            f"<tr><td>{i}.</td><td style='padding:2px 6px'>{_e(r.question)} "
            f"<span style='color:#777'>[{_e(r.column)}]</span></td>"
            f"<td {c}>{r.expected_info:.2f}</td>"
            f"<td {c}>{100 * r.expected_top_change:.0f} pts</td>"
            f"<td {c}>{format_pct(r.p_triage_change)}</td>"
            f"<td {c}>{_e(_words(r.most_likely_answer))}</td></tr>"
        )
    return (
        f"<div><b>Next question</b><table {_TABLE}>{head}"
        f"{''.join(trs)}</table><div {_NOTE}>bits = expected reduction of the summed per-cause "
        "uncertainty (sum of binary entropies); &plusmn; = expected absolute change of the top "
        "cause's probability; P(triage changes) = probability that the answer changes the "
        "triage level</div></div>"
    )


def comparison_html(comparison: Comparison, *, top: int = 8) -> str:
    """Scenarios side by side: triage, red flags, top posteriors, differing findings."""
    names = comparison.names
    head = "".join(f"<th>{_e(n)}</th>" for n in names)
    diff_head = "".join(f"<th>{_e(n)} &minus; {_e(names[0])}</th>" for n in names[1:])
    trs = [
        "<tr><td><b>triage</b></td>"
        + "".join(f"<td>{_e(comparison.triage[n].replace('_', ' '))}</td>" for n in names)
        + "<td></td>" * (len(names) - 1)
        + "</tr>",
        "<tr><td><b>red flags</b></td>"
        + "".join(f"<td>{_e('; '.join(comparison.red_flags[n]) or 'none')}</td>" for n in names)
        + "<td></td>" * (len(names) - 1)
        + "</tr>",
    ]
    for cause in comparison.posteriors.index[:top]:
        cells = "".join(f"<td>{format_pct(comparison.posteriors.at[cause, n])}</td>" for n in names)
        diffs = "".join(
            f"<td>{_points(comparison.differences.at[cause, n])}</td>" for n in names[1:]
        )
        trs.append(f"<tr><td>{_e(cause_phrase(cause))}</td>{cells}{diffs}</tr>")
    changed = ", ".join(
        f"{_words(c)} ({' / '.join(comparison.findings.at[c, n] or _UNKNOWN for n in names)})"
        for c in comparison.changed
    )
    return (
        "<div><b>Compare with baseline</b>"
        f"<table {_TABLE}><tr><th></th>{head}{diff_head}</tr>"
        f"{''.join(trs)}</table><p style='margin:4px 0'>Findings that differ: "
        f"{_e(changed) or 'none'}</p><p style='margin:4px 0'>"
        f"{'<br>'.join(_e(s) for s in comparison.summary())}</p></div>"
    )


def conflict_html(result: Conflict | None) -> str:
    """The conflict verdict, highlighted when it warns."""
    if result is None:
        return "<div><b>Data conflict</b><p>Not checked.</p></div>"
    style = (
        "background:#fdebd0;border-left:4px solid #e67e22;padding:4px 8px" if result.warn else ""
    )
    return f"<div><b>Data conflict</b><p style='{style}'>{_e(result.message)}</p></div>"


# --------------------------------------------------------------------------- the app
class WhatIfApp:
    """The interactive what-if app (build it with :func:`what_if_app`).

    Attributes
    ----------
    model : Model
    controls : dict of str to ipywidgets.Dropdown
        One dropdown per column; the value ``""`` means not known.
    analysis : Analysis
        The result of the last update.
    timings : dict
        ``compute_ms`` (posteriors, explanation, next questions), ``render_ms`` (HTML panels)
        and ``conflict_ms`` of the last update.
    widget : ipywidgets.VBox
        The whole app.
    """

    def __init__(
        self,
        model: Model,
        *,
        evidence: Mapping[str, object] | None = None,
        baseline: Mapping[str, object] | None = None,
        check_conflict: bool = True,
        n_sim: int = 400,
        n_questions: int = 5,
    ) -> None:
        self.model = model
        self.n_sim = n_sim
        self.n_questions = n_questions
        schema = model.schema
        start = normalize_evidence(schema, evidence or {})
        self.baseline = (
            normalize_evidence(schema, baseline) if baseline is not None else dict(start)
        )
        self._muted = False
        self.controls: dict[str, w.Dropdown] = {}
        for col in model.columns:
            c = schema.columns[col]
            options = [(_UNKNOWN, "")] + [(s.replace("_", " "), s) for s in c.states]
            dd = w.Dropdown(
                options=options,
                value=start.get(col, ""),
                description=col.replace("_", " "),
                tooltip=c.meaning,
                style={"description_width": "145px"},
                layout=w.Layout(width="auto"),
            )
            dd.observe(self._on_change, names="value")
            self.controls[col] = dd
        history = [self.controls[c] for c in schema.history]
        symptoms = [self.controls[c] for c in schema.symptoms]
        grid = {"grid_template_columns": "repeat(3, minmax(0, 1fr))", "grid_gap": "2px 10px"}
        self.tabs = w.Tab(
            children=[
                w.GridBox(history, layout=w.Layout(**grid)),
                w.GridBox(symptoms, layout=w.Layout(**grid)),
            ]
        )
        self.tabs.set_title(0, f"History ({len(history)})")
        self.tabs.set_title(1, f"Symptoms ({len(symptoms)})")
        self.clear_button = w.Button(description="Clear all")
        self.baseline_button = w.Button(
            description="Set as baseline",
            tooltip="compare later changes with the findings as they are now",
        )
        self.clear_button.on_click(lambda _: self.set_evidence({}))
        self.baseline_button.on_click(lambda _: self.set_baseline())
        self.cause_picker = w.Dropdown(
            options=[("most likely cause", "")] + [(cause_phrase(c), c) for c in model.causes],
            value="",
            description="explain",
            layout=w.Layout(width="320px"),
        )
        self.cause_picker.observe(lambda _: self._render_explanation(), names="value")
        self.conflict_toggle = w.Checkbox(
            value=check_conflict, description="check data conflict", indent=False
        )
        self.conflict_toggle.observe(lambda _: self.update(), names="value")
        self.triage_panel = w.HTML()
        self.posterior_panel = w.HTML()
        self.explanation_panel = w.HTML()
        self.questions_panel = w.HTML()
        self.compare_panel = w.HTML()
        self.conflict_panel = w.HTML()
        self.network_image = w.Image(format="png", layout=w.Layout(max_width="900px"))
        self.network_button = w.Button(
            description="Draw network with current findings", layout=w.Layout(width="300px")
        )
        self.network_button.on_click(lambda _: self.draw_network())
        header = w.HTML(
            "<h3 style='margin:2px 0'>legnumb what-if: causes of leg numbness</h3>"
            "<div style='font-size:0.85em;color:#555'>Decision support, not a diagnosis. Blank = "
            "not known. Red flags are always shown whatever the posteriors say.</div>"
        )
        controls = w.VBox(
            [self.tabs, w.HBox([self.clear_button, self.baseline_button, self.conflict_toggle])]
        )
        self.more = w.Accordion(
            children=[
                self.compare_panel,
                self.conflict_panel,
                w.VBox([self.network_button, self.network_image]),
            ]
        )
        for i, t in enumerate(["Compare with baseline", "Data conflict", "Network"]):
            self.more.set_title(i, t)
        self.more.selected_index = None  # sections render when opened (keeps updates fast)
        self.more.observe(lambda _: self._render_sections(), names="selected_index")
        self.widget = w.VBox(
            [
                header,
                self.triage_panel,
                controls,
                w.HBox(
                    [
                        w.VBox([self.posterior_panel], layout=w.Layout(width="50%")),
                        w.VBox(
                            [self.cause_picker, self.explanation_panel],
                            layout=w.Layout(width="50%"),
                        ),
                    ]
                ),
                self.questions_panel,
                self.more,
            ]
        )
        self.analysis: Analysis | None = None
        self._comparison: Comparison | None = None
        self.timings: dict[str, float] = {}
        self._baseline_post = model.diagnose(self.baseline).posteriors
        self.update()

    # ----------------------------------------------------------------- state
    @property
    def evidence(self) -> dict[str, str]:
        """The findings currently selected (not-known columns left out)."""
        return {c: d.value for c, d in self.controls.items() if d.value}

    def set_evidence(self, evidence: Mapping[str, object]) -> Analysis:
        """Set every dropdown at once (unlisted columns become not known) and update once."""
        ev = normalize_evidence(self.model.schema, evidence)
        self._muted = True
        try:
            for col, dd in self.controls.items():
                dd.value = ev.get(col, "")
        finally:
            self._muted = False
        return self.update()

    def set_baseline(self, evidence: Mapping[str, object] | None = None) -> None:
        """Compare later changes with ``evidence`` (the current findings by default)."""
        base = self.evidence if evidence is None else evidence
        self.baseline = normalize_evidence(self.model.schema, base)
        self._baseline_post = self.model.diagnose(self.baseline).posteriors
        self._comparison = None
        self._render_posteriors()
        self._render_sections()

    @property
    def comparison(self) -> Comparison:
        """The baseline and the current findings side by side (computed when first asked)."""
        if self._comparison is None:
            self._comparison = compare(
                self.model, {"baseline": self.baseline, "now": self.analysis.evidence}
            )
        return self._comparison

    def _on_change(self, _change) -> None:
        if not self._muted:
            self.update()

    # ----------------------------------------------------------------- updates
    def update(self) -> Analysis:
        """Recompute and redraw every panel; returns the new analysis."""
        t0 = time.perf_counter()
        a = analyse(self.model, self.evidence, explain_causes=None, questions=True)
        t1 = time.perf_counter()
        self.analysis = a
        self._comparison = None
        self.triage_panel.value = triage_html(a.diagnosis)
        self._render_posteriors()
        self._render_explanation()
        self.questions_panel.value = questions_html(a.questions, top=self.n_questions)
        self._render_sections()
        t2 = time.perf_counter()
        conflict_ms = 0.0
        if self.conflict_toggle.value:
            self.conflict_panel.value = "<div><b>Data conflict</b><p>checking...</p></div>"
            t3 = time.perf_counter()
            c = conflict(self.model, a, n_sim=self.n_sim)
            self.conflict_panel.value = conflict_html(c)
            self.more.set_title(1, "Data conflict: WARNING" if c.warn else "Data conflict")
            conflict_ms = 1e3 * (time.perf_counter() - t3)
        else:
            self.conflict_panel.value = conflict_html(None)
            self.more.set_title(1, "Data conflict")
        self.timings = {
            "compute_ms": 1e3 * (t1 - t0),
            "render_ms": 1e3 * (t2 - t1),
            "update_ms": 1e3 * (t2 - t0),
            "conflict_ms": conflict_ms,
        }
        return a

    def _render_explanation(self) -> None:
        if self.analysis is None:
            return
        cause = self.cause_picker.value or self.analysis.diagnosis.ranked.index[0]
        self.explanation_panel.value = explanation_html(self.analysis, cause)

    def _render_posteriors(self) -> None:
        if self.analysis is not None:
            self.posterior_panel.value = posterior_html(
                self.analysis.diagnosis.posteriors, baseline=self._baseline_post
            )

    def _render_sections(self) -> None:
        """Fill the open section of the accordion (compare or network) if it is stale."""
        if self.analysis is None:
            return
        if self.more.selected_index == 0:
            self.compare_panel.value = comparison_html(self.comparison)
        elif self.more.selected_index == 2 and not self.network_image.value:
            self.draw_network()  # first opening only; the button redraws (about a second)

    def draw_network(self) -> bytes:
        """Draw the network with the current findings into the Network panel (PNG bytes)."""
        import io

        import matplotlib.pyplot as plt

        from legnumb.plots.network import plot_network

        a = self.analysis
        fig = plot_network(
            self.model,
            posteriors=a.diagnosis.posteriors,
            evidence=a.evidence,
            title="The network with the current findings",
        )
        buf = io.BytesIO()
        fig.savefig(buf, format="png", dpi=72)
        plt.close(fig)
        self.network_image.value = buf.getvalue()
        return self.network_image.value

    # ----------------------------------------------------------------- display
    def snapshot_html(self) -> str:
        """A static HTML picture of every panel (shown where widgets are not rendered)."""
        a = self.analysis
        known = ", ".join(
            f"{c.replace('_', ' ')}: {s.replace('_', ' ')}" for c, s in a.evidence.items()
        )
        cause = self.cause_picker.value or a.diagnosis.ranked.index[0]
        return (
            "<div style='border:1px solid #ccc;padding:8px;border-radius:6px'>"
            "<b>legnumb what-if (static snapshot; run the notebook for the interactive app)</b>"
            f"<p style='font-size:0.85em'>Findings: {_e(known) or 'none'}</p>"
            f"{self.triage_panel.value}<div style='display:flex;gap:24px;flex-wrap:wrap'>"
            f"<div>{self.posterior_panel.value}</div><div>{explanation_html(a, cause)}</div></div>"
            f"{self.questions_panel.value}{comparison_html(self.comparison)}"
            f"{self.conflict_panel.value}</div>"
        )

    def snapshot_figure(self):
        """The posteriors of the current findings as a matplotlib figure (triage in the title)."""
        from legnumb.plots.explain import plot_posteriors

        a = self.analysis
        d = a.diagnosis
        flags = "; ".join(d.red_flags) if d.red_flags else "none"
        title = (
            f"What-if: {len(a.evidence)} finding(s); triage {d.triage.upper().replace('_', ' ')}"
            f"\nred flags: {textwrap.shorten(flags, 90, placeholder='...')}"
        )
        return plot_posteriors(
            d, baseline=self._baseline_post, baseline_label="baseline", title=title
        )

    def snapshot_png(self, *, dpi: float = 80) -> bytes:
        """:meth:`snapshot_figure` as PNG bytes (shown under the app, kept in HTML exports)."""
        from legnumb.plots.style import figure_bytes

        return figure_bytes(self.snapshot_figure(), dpi=dpi)

    def _repr_mimebundle_(self, **kwargs):
        bundle = self.widget._repr_mimebundle_(**kwargs) or {}
        bundle = dict(bundle)
        bundle["text/html"] = self.snapshot_html()
        bundle["text/plain"] = f"WhatIfApp({len(self.evidence)} findings)"
        return bundle

    def _ipython_display_(self) -> None:
        """Show the app, then its current state as a figure (kept in exported notebooks)."""
        from IPython.display import Image, display

        display(self._repr_mimebundle_(), raw=True)
        display(Image(data=self.snapshot_png(), format="png"))


def what_if_app(
    model: Model | None = None,
    *,
    evidence: Mapping[str, object] | None = None,
    baseline: Mapping[str, object] | None = None,
    check_conflict: bool = True,
    n_sim: int = 400,
    n_questions: int = 5,
) -> WhatIfApp:
    """Build the what-if app.

    Parameters
    ----------
    model : Model, optional
        A loaded model; the shipped model by default.
    evidence : mapping, optional
        Findings to start from.
    baseline : mapping, optional
        Findings to compare with; the starting findings by default.
    check_conflict : bool
        Run the calibrated data-conflict check on every change (after the other panels).
    n_sim : int
        Simulated cases per observed pattern for the conflict calibration.
    n_questions : int
        Questions listed in the next-question panel.
    """
    if model is None:
        from legnumb.diagnosis.model import load_model

        model = load_model()
    if not isinstance(n_questions, int) or n_questions < 1:
        raise InputError(f"expected n_questions as an int >= 1. Got {n_questions!r} instead.")
    return WhatIfApp(
        model,
        evidence=evidence,
        baseline=baseline,
        check_conflict=check_conflict,
        n_sim=n_sim,
        n_questions=n_questions,
    )
