"""Tests for legnumb.plots.explain: every plot returns its figure, draws on a given axes, reads well."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.figure import Figure

from legnumb import LegnumbError
from legnumb import analysis as x
from legnumb.plots import explain as viz
from tests.plots.support import overlaps

CASE = x.example_evidence("E03")


@pytest.fixture(autouse=True)
def _close_figures():
    yield
    plt.close("all")


@pytest.fixture(scope="module")
def analysis(model):
    return x.analyse(model, CASE, explain_causes=3)


def test_plot_posteriors(model, analysis):
    base = model.diagnose(x.history_only(model.schema, CASE)).posteriors
    fig = viz.plot_posteriors(analysis.diagnosis, baseline=base, title="Case E03")
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    assert ax.get_title() == "Case E03"
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert labels[-1] == "sciatica"  # most likely on top
    assert len(labels) == len(model.causes)
    assert ">99.9%" in [t.get_text() for t in ax.texts]  # v2: P(sciatica | E03) = 0.9997
    fig.canvas.draw()
    assert not overlaps(ax.get_yticklabels(), fig.canvas.get_renderer())


def test_plot_posteriors_on_given_axes_and_top(analysis):
    fig, (a1, a2) = plt.subplots(1, 2)
    out = viz.plot_posteriors(analysis.diagnosis.posteriors, ax=a2, top=4)
    assert out is fig
    assert len(a2.patches) == 4
    assert not a1.patches
    with pytest.raises(TypeError, match="expected a pandas Series of posteriors"):
        viz.plot_posteriors([0.1, 0.2])


def test_plot_evidence_weights(analysis):
    fig = viz.plot_evidence_weights(analysis.explanation, cause="sciatica", top=5)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()][::-1]
    rows = analysis.explanation[analysis.explanation["cause"] == "sciatica"].head(5)
    assert labels == rows["finding"].tolist()
    widths = [p.get_width() for p in ax.patches][::-1]
    np.testing.assert_allclose(widths, rows["woe"].to_numpy())
    assert ax.get_title().startswith("Why sciatica:")
    fig.canvas.draw()
    assert not overlaps(ax.get_yticklabels(), fig.canvas.get_renderer())
    with pytest.raises(LegnumbError, match="expected rows for cause 'stroke'"):
        viz.plot_evidence_weights(analysis.explanation, cause="stroke")
    with pytest.raises(LegnumbError, match="at least one finding"):
        viz.plot_evidence_weights(analysis.explanation.iloc[:0])


def test_plot_next_questions(model):
    q = x.next_questions(model, x.history_only(model.schema, CASE))
    fig = viz.plot_next_questions(q, top=6, title="Case E03: next question")
    ax = fig.axes[0]
    assert ax.get_title() == "Case E03: next question"
    assert len(ax.patches) == 6
    assert [t.get_text() for t in ax.get_yticklabels()][-1] == q["question"].iloc[0]
    assert "bits" in ax.get_xlabel()
    with pytest.raises(LegnumbError, match="at least one open question"):
        viz.plot_next_questions(q.iloc[:0])


def test_plot_comparison(model):
    c = x.compare(model, {"history": x.history_only(model.schema, CASE), "case": CASE})
    fig = viz.plot_comparison(c, top=5, title="Case E03")
    ax = fig.axes[0]
    assert len(ax.patches) == 10
    legend = [t.get_text() for t in ax.get_legend().get_texts()]
    # the triage levels come from the policy (priors/triage_*.csv); the legend shows them
    assert legend == [
        f"history (triage: {c.triage['history'].replace('_', ' ')})",
        "case (triage: routine)",
    ]


def test_scenario_names_with_dollars_are_drawn_as_text(model):
    import io

    c = x.compare(model, {"$x^$": {}, "cost $5": CASE})
    fig = viz.plot_comparison(c, top=3)
    fig.savefig(io.BytesIO(), format="png")
    legend = [t._preprocess_math(t.get_text())[0] for t in fig.axes[0].get_legend().get_texts()]
    assert legend[0].startswith("$x^$ (triage: ")


def test_plot_intake(model):
    steps = x.guided_intake(model, CASE, max_steps=3)
    fig = viz.plot_intake(steps, title="Case E03: intake")
    ax = fig.axes[0]
    assert len(ax.lines) == 4
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks[0] == "start"
    assert ticks[1].startswith("+ ")
    fig.canvas.draw()
    assert not overlaps(ax.get_xticklabels(), fig.canvas.get_renderer())
    # a longer intake (the walkthrough's E16, six answers with long v2 phrases) still reads
    long = viz.plot_intake(x.guided_intake(model, x.example_evidence("E16"), max_steps=6))
    long.canvas.draw()
    assert len(long.axes[0].get_xticklabels()) == 7
    assert not overlaps(long.axes[0].get_xticklabels(), long.canvas.get_renderer())


def test_figures_render_to_png(tmp_path, analysis):
    fig = viz.plot_posteriors(analysis.diagnosis, title="png")
    path = tmp_path / "p.png"
    fig.savefig(path)
    assert path.read_bytes()[:4] == b"\x89PNG"
