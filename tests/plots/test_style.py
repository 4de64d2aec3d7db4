"""Tests for legnumb.plots.style: user text is drawn as it is, figures are saved whole."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import io

import matplotlib.pyplot as plt
import pytest

from legnumb.errors import InputError
from legnumb.plots.style import figure_bytes, plain, save_figure

TRICKY = ["$x^$", "cost $5 or $6", "a\\$b$c$", "\\\\$", "x\\y", "$", "$\\alpha$", "E1\x1b[2J"]


@pytest.mark.parametrize("text", TRICKY)
def test_plain_text_is_never_math(text):
    fig, ax = plt.subplots()
    title = ax.set_title(plain(text))
    shown, is_math = title._preprocess_math(title.get_text())
    assert not is_math
    assert shown == text.replace("\x1b", "\\x1b")
    fig.savefig(io.BytesIO(), format="png")  # draws without a mathtext error
    plt.close(fig)


def test_unescaped_dollars_would_fail():
    """The defect plain() prevents: an id such as $x^$ makes matplotlib fail to draw."""
    fig, ax = plt.subplots()
    ax.set_title("Case $x^$")
    with pytest.raises(ValueError, match="Expected"):
        fig.savefig(io.BytesIO(), format="png")
    plt.close(fig)


def test_save_figure_is_atomic(tmp_path, monkeypatch):
    fig, _ = plt.subplots()
    path = save_figure(fig, tmp_path / "a.png", dpi=30)
    assert path.read_bytes()[:4] == b"\x89PNG"
    assert not plt.fignum_exists(fig.number)
    with pytest.raises(InputError, match="no such directory"):
        save_figure(plt.figure(), tmp_path / "no" / "a.png")
    assert not (tmp_path / "no").exists()

    bad, ax = plt.subplots()
    ax.set_title("Case $x^$")  # drawing fails: nothing may be written
    with pytest.raises(ValueError, match="Expected"):
        save_figure(bad, tmp_path / "b.png")
    assert sorted(p.name for p in tmp_path.iterdir()) == ["a.png"]


def test_figure_bytes_formats():
    fig, _ = plt.subplots()
    assert figure_bytes(fig, fmt="svg", close=False).startswith(b"<?xml")
    assert figure_bytes(fig, dpi=20)[:4] == b"\x89PNG"
