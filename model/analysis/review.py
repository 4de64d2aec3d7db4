"""Everything a reviewer's report shows, computed once: per-case sensitivity and accuracy.

:func:`analyse` runs the one-way and robustness analyses of
:mod:`legnumb.analysis.sensitivity` on every usable case (in worker processes when asked,
:mod:`legnumb.app.parallel`), the evaluation when the cases carry expected answers, and the
numbers most often decisive across cases; :class:`ReportData` holds the results for
:mod:`legnumb.app.report` to draw. Nothing here draws or writes.

Examples
--------
>>> from legnumb.diagnosis.model import load_model
>>> from legnumb.io.cases import load_cases
>>> data = analyse(load_model(), load_cases(None).head(1), n_draws=20)
>>> data.overview[["case_id", "top_cause"]].values.tolist()
[['E01', 'positional_compression']]
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import pandas as pd

from legnumb.errors import InputError

__all__ = ["ReportData", "analyse"]


@dataclass(frozen=True)
class ReportData:
    """Everything the report shows, computed once.

    Attributes
    ----------
    model : legnumb.diagnosis.model.Model
        The model analysed.
    cases : pandas.DataFrame
        The cases analysed (raw strings), one per entry of ``one_way``.
    one_way : list of legnumb.analysis.sensitivity.OneWay
        Per case.
    robustness : list of legnumb.analysis.sensitivity.Robustness
        Per case, same order.
    decisive : pandas.DataFrame
        :func:`legnumb.analysis.sensitivity.decisive_numbers` across the cases.
    overview : pandas.DataFrame
        One row per case: top cause, posterior, runner-up, stability, decisive numbers.
    evaluation : legnumb.analysis.evaluate.Evaluation or None
        Accuracy, when the cases carry expected answers.
    evaluation_note : str
        Why there is no evaluation, when there is none.
    n_draws, seed : int
        Settings of the joint draws.
    skipped : list of (str, str)
        Cases not analysed because their row carries an error: (case, message).
    source : str
        The case file's name.
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
    skipped: list = field(default_factory=list)
    source: str = "cases"


def analyse(
    model,
    cases: pd.DataFrame,
    *,
    n_draws: int = 1000,
    seed: int = 0,
    path: str | None = None,
    progress: Callable[[str], None] | None = None,
    jobs: int = 1,
    id_column: str = "case_id",
) -> ReportData:
    """Run the one-way and robustness analyses on every case, and the evaluation.

    Parameters
    ----------
    model : legnumb.diagnosis.model.Model
        The loaded model.
    cases : pandas.DataFrame
        Raw case rows (as :func:`legnumb.io.cases.load_cases` reads them). Rows that carry a
        read error are not analysed; they are listed in :attr:`ReportData.skipped`.
    n_draws, seed : int, optional
        Joint draws per case and their seed (default 1000 and 0).
    path : str, optional
        Name of the case file, for messages (default: the file ``cases`` was read from).
    progress : callable, optional
        Called with a short message after each case.
    jobs : int, optional
        Worker processes (forked, so the model is not reloaded); 1 (default) runs in this
        process. Results do not depend on it.
    id_column : str, optional
        The column naming the cases (default ``case_id``); a case without an id is named
        ``row N``. Ids must be unique (they name the report's sections).

    Raises
    ------
    InputError
        When there are no cases, no usable case, or an id names several rows.
    """
    from legnumb.analysis.sensitivity import decisive_numbers
    from legnumb.app.parallel import pmap, shared
    from legnumb.io.cases import case_label, check_unique_ids, row_errors, source_name

    path = path or source_name(cases)
    if len(cases) == 0:
        raise InputError(f"{path}: has no cases to report on.")
    check_unique_ids(cases, id_column=id_column, path=path)
    errors = row_errors(cases)
    labels = [lab for lab in cases.index if lab not in errors]
    skipped = [(case_label(cases, lab, id_column=id_column), errors[lab]) for lab in errors]
    if not labels:
        raise InputError(
            f"{path}: no case can be analysed; every row carries an error (first: {skipped[0][1]})."
        )
    usable = cases.loc[labels]
    ids = [case_label(cases, lab, id_column=id_column) for lab in labels]

    def say(pair) -> None:
        if progress:
            progress(
                f"{pair[0].case_id}: top {pair[0].top_cause}, "
                f"kept in {pair[1].stability:.1%} of draws"
            )

    with shared(model=model, rows=usable, ids=ids, n_draws=n_draws, seed=seed):
        pairs = pmap(_analyse_one, len(usable), jobs=jobs, progress=say)
    ows = [p[0] for p in pairs]
    robs = [p[1] for p in pairs]
    overview = pd.DataFrame(
        [
            {
                "case_id": ow.case_id,
                "expected_cause": _cell(usable.iloc[i], "expected_cause"),
                "top_cause": ow.top_cause,
                "p_top": float(ow.posterior[ow.top_cause]),
                "runner_up": rob.summary["cause"].iloc[1] if len(rob.summary) > 1 else "",
                "p_runner_up": float(rob.summary["base"].iloc[1]) if len(rob.summary) > 1 else 0.0,
                "stability": rob.stability,
                "decisive_numbers": ow.n_decisive,
            }
            for i, (ow, rob) in enumerate(zip(ows, robs, strict=True))
        ]
    )
    evaluation, note = None, ""
    try:
        from legnumb.analysis.evaluate import evaluate

        evaluation = evaluate(model, cases, path=path, id_column=id_column)
    except InputError as exc:
        note = str(exc)
    return ReportData(
        model=model,
        cases=usable,
        one_way=ows,
        robustness=robs,
        decisive=decisive_numbers(ows),
        overview=overview,
        evaluation=evaluation,
        evaluation_note=note,
        n_draws=n_draws,
        seed=seed,
        skipped=skipped,
        source=path,
    )


def _analyse_one(i: int):
    """One-way and robustness analyses of case ``i`` of ``WORK["rows"]``."""
    from legnumb.analysis.sensitivity import one_way, robustness
    from legnumb.app.parallel import WORK

    model, row, cid = WORK["model"], WORK["rows"].iloc[i], WORK["ids"][i]
    ow = one_way(model, row, case_id=cid)
    rob = robustness(model, row, case_id=cid, n_draws=WORK["n_draws"], seed=WORK["seed"])
    return ow, rob


def _cell(row: pd.Series, name: str) -> str:
    """The cell of column ``name`` (any case, surrounding spaces ignored), stripped; or ``""``."""
    from legnumb.network.schema import normalize_name

    for col in row.index:
        if normalize_name(col) == name:
            return str(row[col]).strip()
    return ""
