"""Tests for legnumb.plots.sensitivity: each plot draws, names case and target, returns a figure."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt
import pytest
from matplotlib.figure import Figure

from legnumb.analysis.sensitivity import decisive_numbers, one_way, robustness
from legnumb.io.cases import load_cases, select_case
from legnumb.plots.network import plot_network
from legnumb.plots.sensitivity import (
    _prob_label,
    plot_decisive,
    plot_robustness,
    plot_sensitivity_function,
    plot_sensitivity_functions,
    plot_tornado,
)


@pytest.fixture(scope="module")
def e16(model):
    row = select_case(load_cases(None), "E16")
    return one_way(model, row, target="b12_deficiency"), robustness(model, row, n_draws=40)


@pytest.fixture(autouse=True)
def _close():
    yield
    plt.close("all")


def _texts(fig) -> str:
    return " ".join(t.get_text() for t in fig.findobj(matplotlib.text.Text))


def test_tornado_labels_read_as_probabilities(e16):
    ow, _ = e16
    fig = plot_tornado(ow, n=12)
    assert isinstance(fig, Figure)
    ax = fig.axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == 12
    assert all(lab.lstrip("◆ ").startswith(("P(", "OR(", "leak share")) for lab in labels)
    assert any("(EJ)" in lab for lab in labels)
    assert "Case E16" in ax.get_title(loc="right")
    assert "b12_deficiency" in ax.get_title(loc="right")
    assert "P(b12_deficiency | case evidence)" in ax.get_xlabel()
    lo, hi = ax.get_xlim()
    assert 0.0 <= lo < hi <= 1.0


def test_tornado_draws_on_a_given_axes(e16):
    fig, ax = plt.subplots()
    assert plot_tornado(e16[0], n=5, ax=ax) is fig


def test_sensitivity_functions_mark_the_admissible_deviation(e16):
    ow, _ = e16
    dec = ow.table[ow.table["decisive"]].iloc[0]
    fig = plot_sensitivity_function(ow, dec.param_id)
    assert "top →" in _texts(fig)
    ax = fig.axes[0]
    assert ax.get_xscale() == "logit"
    assert ax.get_ylim()[0] >= -0.05
    assert ax.get_ylim()[1] <= 1.05
    assert "0.5" in [t.get_text() for t in ax.get_xticklabels()]
    grid = plot_sensitivity_functions(ow, n=4)
    assert "Case E16" in grid._suptitle.get_text()
    assert sum(a.get_visible() for a in grid.axes) == 4
    with pytest.raises(KeyError, match="unknown param_id"):
        plot_sensitivity_function(ow, "nope")


def test_odds_ratio_function_on_a_log_axis(model):
    ow = one_way(model, {"onset": "sudden", "face_arm_or_speech": "yes"}, case_id="sparse")
    pid = "causes:stroke|odds_ratio|age_group=65_plus|present"
    r = ow.table.set_index("param_id").loc[pid]
    fig = plot_sensitivity_function(ow, pid)
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    lo, hi = ax.get_xlim()
    assert lo < r.low < r.x_down < r.base < r.high < hi
    assert "top →" in _texts(fig)
    assert "odds ratio" in ax.get_xlabel()


def test_robustness_plot_names_case_and_stability(e16):
    _, rob = e16
    fig = plot_robustness(rob)
    title = fig.axes[0].get_title()
    assert "Case E16" in title
    assert f"{rob.stability:.1%}" in title
    assert len(fig.axes[0].get_yticklabels()) == min(15, len(rob.summary))  # max_causes
    lin = plot_robustness(rob, scale="linear")
    assert lin.axes[0].get_xlim() == (0.0, 1.0)


def test_decisive_plot(e16):
    fig = plot_decisive(decisive_numbers([e16[0]]), n=6)
    assert len(fig.axes[0].get_yticklabels()) == 6


def test_network_plot(model):
    net = plot_network(model)
    text = _texts(net)
    assert "history" in text
    assert "causes" in text
    assert "findings" in text
    assert "shooting pain" in text


def test_probability_tick_labels():
    assert [_prob_label(p) for p in (0.001, 0.5, 0.999, 1e-5)] == ["0.001", "0.5", "0.999", "1e-5"]
    assert _prob_label(1 - 1e-6) == "1 − 1e-6"


def test_case_ids_with_dollars_are_drawn_as_text(model):
    """D9: an id such as $x^$ made matplotlib read math and fail when saving."""
    import io

    row = select_case(load_cases(None), "E03")
    ow = one_way(model, row, case_id="$x^$ 50$")
    rob = robustness(model, row, case_id="$x^$ 50$", n_draws=5)
    for fig in (plot_tornado(ow, n=5), plot_sensitivity_functions(ow, n=2), plot_robustness(rob)):
        fig.savefig(io.BytesIO(), format="png")
        assert "$x^$ 50$" in " ".join(
            t._preprocess_math(t.get_text())[0] for t in fig.findobj(matplotlib.text.Text)
        )


def test_tornado_skips_mirror_images(model):
    row = select_case(load_cases(None), "E03")
    ow = one_way(model, row)
    fig = plot_tornado(ow, n=30)
    labels = [t.get_text() for t in fig.axes[0].get_yticklabels()]
    mirrors = set(ow.table.loc[ow.table["mirror_of"] != "", "label"])
    assert not [lab for lab in labels if lab.lstrip("◆ ").split(" = ")[0] in mirrors]
