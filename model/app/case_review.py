"""The case-review app: pick a case and a target cause, see that case's sensitivity review.

:func:`case_review` builds an ipywidgets app around :func:`legnumb.analysis.sensitivity.one_way`
and :func:`~legnumb.analysis.sensitivity.robustness`; the panel is the case's section of the
reviewer report (:func:`legnumb.app.report.case_section_html`). Displayed in a notebook, the
app also shows its state at that moment as a static figure (the tornado), so a notebook shared
as HTML, where widgets are blank, still shows the result.

Examples
--------
>>> from legnumb.diagnosis.model import load_model
>>> from legnumb.io.cases import load_cases
>>> review = case_review(load_model(), load_cases(None), case_id="E03", n_draws=10)
>>> review.case_id, review.one_way.top_cause
('E03', 'sciatica')
"""

from __future__ import annotations

import html

import pandas as pd

from legnumb.errors import InputError

__all__ = ["CaseReview", "case_review"]


def _e(text) -> str:
    return html.escape(str(text))


class CaseReview:
    """Pick a case and a target cause in dropdowns and see that case's review.

    Build it with :func:`case_review`. The attributes :attr:`case_id`, :attr:`target`,
    :attr:`row`, :attr:`one_way` and :attr:`robustness` follow the dropdowns, so notebook
    cells below can reuse them. Displayed without a live kernel (a static notebook), it
    shows a snapshot of the current selection as HTML and as a figure.
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
        id_column: str = "case_id",
    ) -> None:
        import ipywidgets as widgets

        from legnumb.analysis.sensitivity import check_target
        from legnumb.io.cases import check_unique_ids, find_column, row_errors, source_name

        path = source_name(cases)
        col = find_column(cases, id_column)
        if col is None or len(cases) == 0:
            raise InputError(
                f"{path}: expected a non-empty {id_column} column to pick cases from. Got "
                f"{len(cases)} row(s) and columns {', '.join(map(str, cases.columns[:8]))}."
            )
        check_unique_ids(cases, id_column=id_column, path=path)
        errors = row_errors(cases)
        usable = cases.drop(index=list(errors))
        ids = [str(c).strip() for c in usable[col]]
        ids = [i for i in ids if i]
        if not ids:
            raise InputError(f"{path}: no case with an {id_column} and no error to pick from.")
        if case_id is not None and str(case_id).strip() not in ids:
            raise InputError(
                f"{path}: no case with {id_column} {case_id!r}. Got ids: {', '.join(ids)}"
            )
        self.model, self.cases, self.n_draws, self.seed = model, usable, n_draws, seed
        self._column = col
        self.case_dropdown = widgets.Dropdown(
            options=ids, value=str(case_id).strip() if case_id else ids[0], description="case"
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
        ids = self.cases[self._column].astype(str).str.strip()
        return self.cases[ids == self.case_id].iloc[0]

    def _update(self, change=None) -> None:
        from legnumb.analysis.sensitivity import one_way, robustness
        from legnumb.app.report import case_section_html

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

    # ----------------------------------------------------------------- static display
    def snapshot_png(self, *, dpi: float = 80) -> bytes:
        """The tornado of the current case and target as PNG bytes (the static snapshot)."""
        from legnumb.plots.sensitivity import plot_tornado
        from legnumb.plots.style import figure_bytes

        return figure_bytes(plot_tornado(self.one_way, n=20), dpi=dpi)

    def _repr_mimebundle_(self, **kwargs):
        bundle = dict(self.widget._repr_mimebundle_(**kwargs) or {})
        bundle["text/html"] = (
            "<div><b>Sensitivity review (static snapshot; run the notebook to choose another "
            f"case or target)</b> — case {_e(self.case_id)}, target "
            f"{_e(self.target or 'top cause')}</div>" + self.panel.value
        )
        bundle["text/plain"] = f"CaseReview(case={self.case_id!r}, target={self.target!r})"
        return bundle

    def _ipython_display_(self) -> None:
        """Show the app, then its current state as a figure (kept in exported notebooks)."""
        from IPython.display import Image, display

        display(self._repr_mimebundle_(), raw=True)
        display(Image(data=self.snapshot_png(), format="png"))


def case_review(
    model,
    cases: pd.DataFrame,
    *,
    case_id: str | None = None,
    target: str | None = None,
    n_draws: int = 1000,
    seed: int = 0,
    id_column: str = "case_id",
) -> CaseReview:
    """Dropdowns for a case and a target cause, and the chosen case's review below them.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    cases : pandas.DataFrame
        Raw case rows with an id column; rows that carry a read error are left out.
    case_id : str, optional
        The case shown first (default: the first case).
    target : str, optional
        The target cause shown first (default: the top cause).
    n_draws, seed : int, optional
        Joint draws of the robustness analysis and their seed.
    id_column : str, optional
        The column naming the cases (default ``case_id``).

    Raises
    ------
    InputError
        For an unknown case id or target cause, a missing id column or repeated ids.
    """
    return CaseReview(
        model,
        cases,
        case_id=case_id,
        target=target,
        n_draws=n_draws,
        seed=seed,
        id_column=id_column,
    )
