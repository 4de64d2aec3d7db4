"""Tests for model.widgets: the what-if app reacts to its dropdowns like a clinician expects."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from legnumb import InputError
from legnumb import analysis as x
from legnumb.app.widgets import (
    comparison_html,
    conflict_html,
    explanation_html,
    posterior_html,
    questions_html,
    triage_html,
    what_if_app,
)

CASE = x.example_evidence("E03")
#: Every column answered (E01-E30 leave the v2 columns blank; E31-E51 answer them all).
FULL = x.example_evidence("E31")


@pytest.fixture
def app(model):
    return what_if_app(model, evidence=x.history_only(model.schema, CASE), check_conflict=False)


def test_one_dropdown_per_column_grouped(model, app):
    assert list(app.controls) == list(model.columns)
    hist, symp = app.tabs.children
    assert len(hist.children) == len(model.schema.history)
    assert len(symp.children) == len(model.schema.symptoms)
    assert app.tabs.get_title(0).startswith("History")
    assert app.tabs.get_title(1).startswith("Symptoms")
    dd = app.controls["laterality"]
    assert dd.options[0] == ("not known", "")
    assert dd.value == ""
    assert app.controls["age_group"].value == CASE["age_group"]


def test_a_change_updates_every_panel(model, app):
    before = app.analysis.diagnosis.posteriors["sciatica"]
    app.controls["shooting_pain"].value = "yes"
    a = app.analysis
    assert a.evidence["shooting_pain"] == "yes"
    assert a.diagnosis.posteriors["sciatica"] > before
    expected = model.diagnose(app.evidence).posteriors
    assert a.diagnosis.posteriors.equals(expected) or (
        (a.diagnosis.posteriors - expected).abs().max() < 1e-12
    )
    assert "shooting pain" in app.explanation_panel.value
    assert "Why: sciatica" in app.explanation_panel.value
    assert a.questions["column"].iloc[0] in app.questions_panel.value
    assert "shooting_pain" not in set(a.questions["column"])
    assert app.timings["compute_ms"] > 0
    assert app.timings["update_ms"] >= app.timings["compute_ms"]
    # back to not known
    app.controls["shooting_pain"].value = ""
    assert "shooting_pain" not in app.analysis.evidence


def test_red_flags_reach_the_banner(app):
    app.controls["onset"].value = "sudden"
    app.controls["face_arm_or_speech"].value = "yes"
    assert app.analysis.diagnosis.triage == "emergency"
    assert "EMERGENCY" in app.triage_panel.value
    assert "possible stroke" in app.triage_panel.value


def test_set_evidence_updates_once_and_clears(app, monkeypatch):
    calls = []
    original = app.update
    monkeypatch.setattr(app, "update", lambda: calls.append(1) or original())
    app.set_evidence(CASE)
    assert len(calls) == 1
    assert app.evidence == CASE
    assert "Every column is answered" not in app.questions_panel.value
    app.set_evidence(FULL)
    assert len(calls) == 2
    assert len(app.evidence) == len(app.controls)
    assert "Every column is answered" in app.questions_panel.value
    app.clear_button.click()
    assert app.evidence == {}
    assert "No red flags" in app.triage_panel.value


def test_baseline_comparison(app):
    app.set_baseline()
    app.controls["back_pain"].value = "yes"
    c = app.comparison
    assert c.names == ("baseline", "now")
    assert c.changed == ("back_pain",)
    assert "black tick = baseline" in app.posterior_panel.value
    assert app.compare_panel.value == ""  # closed sections are not rendered
    app.more.selected_index = 0  # open "Compare with baseline"
    assert "back pain (not known / back pain)" in app.compare_panel.value
    app.controls["shooting_pain"].value = "yes"  # an open section follows every change
    assert "shooting pain (not known / shooting pain)" in app.compare_panel.value
    app.baseline_button.click()
    assert app.comparison.changed == ()
    assert "Findings that differ: none" in app.compare_panel.value


def test_cause_picker_explains_any_cause(app):
    app.controls["back_pain"].value = "yes"
    app.cause_picker.value = "spinal_stenosis"
    assert "Why: spinal stenosis" in app.explanation_panel.value


def test_conflict_panel(model):
    app = what_if_app(model, evidence={"sex": "male", "pregnant": "yes"}, n_sim=100)
    assert "Warning" in app.conflict_panel.value
    assert app.more.get_title(1) == "Data conflict: WARNING"
    assert app.timings["conflict_ms"] > 0
    app.conflict_toggle.value = False
    assert "Not checked" in app.conflict_panel.value


def test_static_snapshot_and_network(app):
    bundle = app._repr_mimebundle_()
    assert "application/vnd.jupyter.widget-view+json" in bundle
    html = bundle["text/html"]
    assert "static snapshot" in html
    assert "P(cause present | findings)" in html
    assert app.network_image.value == b""
    app.more.selected_index = 2  # opening "Network" draws it
    assert app.network_image.value[:4] == b"\x89PNG"
    app.controls["weakness"].value = "yes"
    assert app.draw_network()[:4] == b"\x89PNG"


def test_display_adds_a_static_figure(app, monkeypatch):
    """A notebook exported to HTML shows no widget: the app also displays a PNG of its state."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    app._ipython_display_()
    (bundle, kw), (image, _) = shown
    assert kw == {"raw": True}
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert "static snapshot" in bundle["text/html"]
    assert isinstance(image, IPython.display.Image)
    assert image.data[:4] == b"\x89PNG"
    fig = app.snapshot_figure()
    assert "triage ROUTINE" in fig.axes[0].get_title()


def test_html_panels_escape_and_render(model):
    a = x.analyse(model, CASE)
    assert "ROUTINE" in triage_html(a.diagnosis)
    assert posterior_html(a.diagnosis.posteriors).count("<tr>") == len(model.causes)
    assert posterior_html(a.diagnosis.posteriors, top=5).count("<tr>") == 5
    assert "Why: sciatica" in explanation_html(a, "sciatica")
    assert "nothing left to ask" not in questions_html(a.questions)
    assert "nothing left to ask" in questions_html(x.analyse(model, FULL).questions)
    c = x.compare(model, [{}, CASE])
    assert "Compare with baseline" in comparison_html(c)
    assert conflict_html(None).count("Not checked") == 1


def test_what_if_app_options(model):
    with pytest.raises(InputError, match="expected n_questions as an int >= 1"):
        what_if_app(model, n_questions=0)


def test_bench_whatif_measure_runs():
    """scripts/bench_whatif.py exposes measure() -> dict (one case, one repeat here)."""
    import importlib.util
    from pathlib import Path

    path = Path(__file__).resolve().parents[2] / "scripts" / "bench_whatif.py"
    spec = importlib.util.spec_from_file_location("bench_whatif", path)
    bench = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(bench)
    res = bench.measure(repeats=1, cases=["E03"])
    assert res["n_cases"] == 1
    assert res["budget_ms"] == 100.0
    for block in (res["analyse"], res["widget_update"]):
        assert set(block) == {"history", "half", "full", "all"}
        assert block["all"]["median_ms"] > 0
        assert block["all"]["cpu_median_ms"] >= 0
    assert res["conflict_cached_ms"] >= 0
    assert isinstance(res["within_budget"], bool)
