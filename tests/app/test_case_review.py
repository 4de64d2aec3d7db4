"""Tests for legnumb.app.case_review: the case-review app follows its dropdowns."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import pytest

from legnumb.app.case_review import case_review
from legnumb.errors import InputError
from legnumb.io.cases import load_cases


def test_case_review_follows_the_dropdowns(model):
    cases = load_cases(None)
    review = case_review(model, cases, case_id="E16", n_draws=10)
    assert review.case_id == "E16"
    assert review.target is None
    assert review.one_way.top_cause == "multiple_sclerosis"
    bundle = review._repr_mimebundle_()
    assert "static snapshot" in bundle["text/html"]
    assert "Case E16" in bundle["text/html"]
    assert "application/vnd.jupyter.widget-view+json" in bundle
    review.target_dropdown.value = "b12_deficiency"
    assert review.target == "b12_deficiency" == review.one_way.target
    assert review.robustness.target == "b12_deficiency"
    with pytest.raises(InputError, match="no case with case_id 'E99'"):
        case_review(model, cases, case_id="E99")
    with pytest.raises(InputError, match="did you mean 'stroke'"):
        case_review(model, cases, target="strok")


def test_display_adds_a_static_figure(model, monkeypatch):
    """Exported to HTML a notebook keeps no widget: the app also shows a PNG."""
    import IPython.display

    shown = []
    monkeypatch.setattr(IPython.display, "display", lambda obj, **kw: shown.append((obj, kw)))
    review = case_review(model, load_cases(None), case_id="E03", n_draws=10)
    review._ipython_display_()
    (bundle, kw), (image, _) = shown
    assert kw == {"raw": True}
    assert "application/vnd.jupyter.widget-view+json" in bundle
    assert isinstance(image, IPython.display.Image)
    assert image.data[:4] == b"\x89PNG"


def test_id_column_and_rows_with_errors(model, tmp_path):
    path = tmp_path / "c.csv"
    path.write_text("patient,onset,laterality\nP1,sudden,one_leg\nP2,sudden,one_leg,x\n")
    review = case_review(model, load_cases(path), id_column="patient", n_draws=5)
    assert list(review.case_dropdown.options) == ["P1"]  # P2's row carries an error
    with pytest.raises(InputError, match="expected a non-empty case_id column"):
        case_review(model, load_cases(path), n_draws=5)
    path.write_text("case_id,onset\nA,sudden\nA,gradual\n")
    with pytest.raises(InputError, match="case_id 'A' appears in rows 1 and 2"):
        case_review(model, load_cases(path), n_draws=5)
