"""Tests for legnumb.app.report: a small, self-contained HTML page a reviewer can navigate."""

from __future__ import annotations

import base64
import html
import re
from types import SimpleNamespace

import matplotlib

matplotlib.use("Agg")

import pytest

from legnumb.analysis.review import analyse
from legnumb.app.report import (
    _locator_html,
    case_anchor,
    linkify,
    render_html,
    robustness_html,
    write_report,
)
from legnumb.data import DISCLAIMER
from legnumb.errors import InputError
from legnumb.io.cases import load_cases


@pytest.fixture(scope="module")
def data(model):
    cases = load_cases(None)
    return analyse(model, cases[cases["case_id"].isin(["E03", "E16"])], n_draws=25, seed=3)


@pytest.fixture(scope="module")
def page(data):
    return render_html(data)


def _images(page: str) -> list[bytes]:
    return [base64.b64decode(b) for b in re.findall(r"data:image/png;base64,([^'\"]+)", page)]


def test_sections_and_embedded_figures(page):
    for heading in (
        "1. The network",
        "2. Accuracy on the case set",
        "3. Robustness overview",
        "4. Numbers the conclusions rest on",
        "5. Cases",
        "6. Every hand-set number",
    ):
        assert heading in page
    # network, confusion, decisive, and a tornado per case (robustness is a table)
    assert len(_images(page)) == 3 + 2
    assert all(img[:4] == b"\x89PNG" for img in _images(page))
    assert "Case E16" in page
    assert "Case E03" in page
    assert "top-1 accuracy" in page


def test_accuracy_reports_over_triage_and_the_triage_table(data, page):
    s = data.evaluation.summary
    assert (
        f"under-triaged <b>{s['under_triaged']}</b>, over-triaged <b>{s['over_triaged']}</b>"
        in page
    )
    assert s["emergencies"] == 0  # E03 and E16: the recall says so rather than "nan%"
    assert f"over-triaged <b>{s['over_triaged']}</b>; no case expected an emergency." in page
    i = page.index("<h3>Triage, expected (rows) by given (columns)</h3>")
    table = page[i : page.index("</table>", i)]
    assert "<th>expected</th><th>emergency</th><th>urgent</th>" in table
    # one row per expected level, its cells the counts of the evaluation's triage table
    tt = data.evaluation.triage_table
    for level, row in tt.iterrows():
        cells = "".join(f"<td>{int(v)}</td>" for v in row)
        assert f"<td>{level}</td>{cells}" in table


def test_disclaimer_and_tables(page):
    # the shipped disclaimer, with the v2 red flags (saddle numbness, a cold pale leg)
    assert f"<p class='warn'>{html.escape(DISCLAIMER)}</p>" in page
    assert "numbness around the genitals or back passage" in page
    assert page.count("<table class='rob'>") == 2


def test_contents_and_one_folded_section_per_case(page):
    nav = page.split("<nav>")[1].split("</nav>")[0]
    for anchor in ("method", "network", "accuracy", "overview", "decisive", "cases", "priors"):
        assert f"href='#{anchor}'" in nav
        assert f"id='{anchor}'" in page
    for case in ("E03", "E16"):
        assert f"href='#case-{case}'" in nav
        section = page.split(f"<h3 id='case-{case}'>")[0].rsplit("<details", 1)[1]
        assert section.startswith((">", " class='fragile'>"))
        assert f"<summary><b>Case {case}</b>" in section
    assert "<details class='fragile'><summary><b>Case E16</b>" in page  # a near tie
    # the 949 numbers are folded too
    assert "<details><summary>Show all" in page.split("id='priors'")[1]


def test_figures_are_small(page, data):
    images = _images(page)
    assert max(len(img) for img in images) < 200_000
    tornados = images[3:]
    assert all(len(t) < 45_000 for t in tornados)
    # one case's section (story, tables, tornado); the network picture and the 949 numbers
    # are paid once, so the 57 bundled cases stay under 3.5 MB
    sections = [
        "</details>".join(page.split(f"<h3 id='case-{ow.case_id}'>")[1].split("</details>")[:2])
        for ow in data.one_way
    ]
    assert all(len(s) < 60_000 for s in sections)
    fixed = len(page) - sum(len(s) for s in sections)
    assert fixed + 57 * max(len(s) for s in sections) < 3_500_000


def test_self_contained(page):
    srcs = re.findall(r"src=['\"]([^'\"]+)", page)
    assert srcs
    assert all(s.startswith("data:image/png;base64,") for s in srcs)
    assert "<link" not in page
    assert "<script" not in page
    assert not re.search(r"url\(", page)


def test_priors_table_flags_expert_judgement(model, page):
    n_ej = len(model.priors.expert_only)
    assert f"<b>{n_ej}</b> rest on expert judgement alone" in page
    table = page.split("id='priors'")[1].split("id='sources'")[0]
    assert table.count("<tr class='ej'>") == n_ej
    assert table.count("<tr class=") == len(model.priors.numbers)
    assert "P(shooting_pain | sciatica alone)" in table  # a noisy-OR link (v2)


def test_sources_link_dois_pmids_and_pmc_ids(model, page):
    sources = page.split("id='sources'")[1]
    for s in model.priors.sources.values():
        assert f"id='src-{s.source_id}'" in sources
        if s.locator.startswith("doi:"):
            assert f"href='https://doi.org/{s.locator[4:]}'" in sources
        if s.locator.startswith("PMC"):
            assert f"href='https://www.ncbi.nlm.nih.gov/pmc/articles/{s.locator}/'" in sources
    assert "href='#src-EJ-PROFILE'" in page  # a number's source links to its row
    assert "href='seeds/" not in page


def test_linkify():
    assert linkify("doi:10.1001/archinte.159.4.387: and (doi:10.1023/A:1016398407857).") == (
        "<a href='https://doi.org/10.1001/archinte.159.4.387'>doi:10.1001/archinte.159.4.387</a>"
        ": and (<a href='https://doi.org/10.1023/A:1016398407857'>doi:10.1023/A:1016398407857</a>)."
    )
    assert linkify("PMID:8534966") == (
        "<a href='https://pubmed.ncbi.nlm.nih.gov/8534966/'>PMID:8534966</a>"
    )
    assert linkify("see PMC3260477, p. 2") == (
        "see <a href='https://www.ncbi.nlm.nih.gov/pmc/articles/PMC3260477/'>PMC3260477</a>, p. 2"
    )
    assert linkify("https://acrabstracts.org/?p=7552.") == (
        "<a href='https://acrabstracts.org/?p=7552'>https://acrabstracts.org/?p=7552</a>."
    )
    assert linkify("<b>seeds/000_x.txt</b>") == "&lt;b&gt;seeds/000_x.txt&lt;/b&gt;"
    assert linkify(None) == ""


def test_seed_sources_are_described_not_linked():
    seed = SimpleNamespace(kind="seed", locator="seeds/000_429fa789df42ad2c.txt")
    text = _locator_html(seed)
    assert "not shipped with legnumb" in text
    assert "<a " not in text
    paper = SimpleNamespace(kind="literature", locator="doi:10.1186/s12891-015-0787-8")
    assert "href='https://doi.org/10.1186/s12891-015-0787-8'" in _locator_html(paper)


def test_tornado_has_no_mirror_pairs(data):
    for ow in data.one_way:
        assert (ow.top(20)["mirror_of"] == "").all()


def test_robustness_table_and_anchors(data):
    html = robustness_html(data.robustness[1])
    assert html.count("<tr><td") == 6
    assert "multiple sclerosis" in html
    assert case_anchor("a b/$1$") == "case-a_b__1_"


def test_write_report_atomic_files_and_errors(model, tmp_path):
    cases = load_cases(None).head(1).drop(columns=["expected_cause", "expected_triage"])
    path = write_report(model, cases, tmp_path / "r", n_draws=5)
    html = path.read_text(encoding="utf-8")
    assert "No accuracy:" in html
    assert "expected_cause" in html
    assert sorted(p.name for p in path.parent.iterdir()) == [
        "decisive_numbers.csv",
        "report.html",
        "robustness_overview.csv",
    ]
    clash = tmp_path / "file"
    clash.write_text("x")
    with pytest.raises(InputError, match="expected a directory for the report; got a file"):
        write_report(model, cases, clash, n_draws=5)


def test_a_failure_while_rendering_leaves_no_file(model, tmp_path, monkeypatch):
    import legnumb.app.report as report

    def broken(*args, **kwargs):
        raise RuntimeError("no network picture")

    monkeypatch.setattr(report, "_network_figure", broken)
    with pytest.raises(RuntimeError):
        write_report(model, load_cases(None).head(1), tmp_path / "r", n_draws=5)
    assert list((tmp_path / "r").iterdir()) == []
