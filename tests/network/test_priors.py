"""Tests for model.priors: the shipped priors validate, and every bad-priors case is reported."""

from __future__ import annotations

import csv
import shutil
from pathlib import Path

import numpy as np
import pytest

from legnumb.errors import InvalidArgumentError, PriorsError
from legnumb.network.priors import NUMBER_FIELDS, load_priors, shipped_priors_dir
from legnumb.network.schema import load_schema


@pytest.fixture
def priors_dir(tmp_path) -> Path:
    """A writable copy of the shipped priors."""
    dest = tmp_path / "priors"
    shutil.copytree(
        shipped_priors_dir(), dest, ignore=shutil.ignore_patterns("__pycache__", "*.py")
    )
    return dest


def _rows(path: Path) -> list[dict[str, str]]:
    with path.open(newline="", encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _write(path: Path, rows: list[dict[str, str]], fields=None) -> None:
    fields = fields or list(rows[0])
    with path.open("w", newline="", encoding="utf-8") as f:
        w = csv.DictWriter(f, fieldnames=fields, lineterminator="\n")
        w.writeheader()
        w.writerows(rows)


def _edit(path: Path, match: dict[str, str], **changes: str) -> int:
    """Change the first row of ``path`` matching ``match``; return its line number."""
    rows = _rows(path)
    for i, r in enumerate(rows):
        if all(r[k] == v for k, v in match.items()):
            r.update(changes)
            _write(path, rows)
            return i + 2
    raise AssertionError(f"no row matches {match}")


def _find(path: Path, match: dict[str, str]) -> dict[str, str]:
    """The first row of ``path`` matching ``match``."""
    return next(r for r in _rows(path) if all(r[k] == v for k, v in match.items()))


SCIATICA_SHOOTING = {"node": "shooting_pain", "kind": "link", "parent": "sciatica"}


def test_shipped_priors_are_valid():
    ps = load_priors()
    schema = load_schema()
    assert {n.node for n in ps.numbers} == set(schema.nodes)
    assert len(ps.numbers) > 400
    assert all(0 < n.low <= n.value <= n.high < 1 for n in ps.numbers)
    assert all(ps.sources[n.source_id].citation for n in ps.numbers)
    assert len(ps.sha256) == 64


def test_expand_gives_normalized_cpts_without_zeros_or_ones():
    for cpt in load_priors().expand():
        assert np.allclose(cpt.values.sum(axis=0), 1.0, atol=1e-12), cpt.variable
        assert (cpt.values > 0).all(), cpt.variable
        assert (cpt.values < 1).all(), cpt.variable


def test_noisy_or_expansion_by_hand():
    ps = load_priors()
    cpt = ps.expand_node("alcoholic_neuropathy")
    leak = ps.get("causes", node="alcoholic_neuropathy", kind="leak").value
    link = ps.get("causes", node="alcoholic_neuropathy", kind="link", parent="heavy_alcohol").value
    assert cpt.prob("present", heavy_alcohol="no") == pytest.approx(leak)
    assert cpt.prob("present", heavy_alcohol="yes") == pytest.approx(1 - (1 - leak) * (1 - link))


def test_mixture_expansion_by_hand():
    ps = load_priors()
    cpt = ps.expand_node("relieved_by")
    w = ps.get("findings", node="relieved_by", kind="leak_weight").value
    leak = ps.get("findings", node="relieved_by", kind="leak", state="bending_forward").value
    ss = ps.get(
        "findings",
        node="relieved_by",
        kind="link",
        parent="spinal_stenosis",
        state="bending_forward",
    ).value
    pad = ps.get(
        "findings",
        node="relieved_by",
        kind="link",
        parent="peripheral_artery_disease",
        state="bending_forward",
    ).value
    none = dict.fromkeys(cpt.parents, "absent")
    assert cpt.prob("bending_forward", **none) == pytest.approx(leak)
    one = {**none, "spinal_stenosis": "present"}
    assert cpt.prob("bending_forward", **one) == pytest.approx((1 - w) * ss + w * leak)
    two = {**one, "peripheral_artery_disease": "present"}
    assert cpt.prob("bending_forward", **two) == pytest.approx((1 - w) * (ss + pad) / 2 + w * leak)


def test_with_value_rescales_siblings():
    ps = load_priors()
    pid = ps.get(
        "findings", node="laterality", kind="link", parent="sciatica", state="one_leg"
    ).param_id
    new = ps.with_value(pid, 0.6)
    sib = ps.siblings(pid)[0]
    assert new[pid].value == 0.6
    assert new[sib.param_id].value == pytest.approx(0.4)
    assert ps[pid].value == 0.9  # the original is unchanged


def test_labels_read_as_a_reviewer_reads_them():
    ps = load_priors()
    assert ps.get("findings", **SCIATICA_SHOOTING).label == "P(shooting_pain | sciatica)"
    lab = ps.get(
        "causes",
        node="stroke",
        kind="link",
        parent="age_group",
        state="present",
        parent_state="65_plus",
    ).label
    assert lab == "P(stroke | age_group=65_plus)"


@pytest.mark.parametrize(
    ("changes", "match"),
    [
        (
            {"node": "shooting_pains"},
            r"unknown node .*'shooting_pains'.*did you mean 'shooting_pain'",
        ),
        (
            {"parent": "sciatic"},
            r"unknown parent of shooting_pain 'sciatic'; did you mean 'sciatica'",
        ),
        ({"state": "maybe"}, r"state must be 'yes'. Got 'maybe' instead"),
        ({"value": ""}, r"value: is missing; expected a number in \(0, 1\)"),
        ({"value": "abc"}, r"expected a number in \(0, 1\). Got 'abc' instead"),
        ({"value": "1.0"}, r"must lie strictly between 0 and 1. Got 1.0 instead"),
        ({"value": "0"}, r"must lie strictly between 0 and 1. Got 0 instead"),
        ({"value": "nan"}, r"must lie strictly between 0 and 1. Got nan instead"),
        ({"value": "0.99"}, r"must lie in its own range \[0.\d+, 0.\d+\]. Got 0.99 instead"),
        (
            {"low": "0.9", "high": "0.5"},
            r"low must not exceed high. Got low=0.9 > high=0.5 instead",
        ),
        ({"source_id": ""}, r"source_id: is empty; every number needs a source"),
        ({"source_id": "NO-SUCH-SOURCE"}, r"unknown source 'NO-SUCH-SOURCE'"),
        (
            {"kind": "lnk"},
            r"kind: must be one of prior, leak, link, leak_weight. Got 'lnk' instead",
        ),
    ],
)
def test_bad_number_rows_are_reported_with_file_row_and_key(priors_dir, changes, match):
    line = _edit(priors_dir / "findings.csv", SCIATICA_SHOOTING, **changes)
    with pytest.raises(PriorsError, match=match) as info:
        load_priors(priors_dir)
    assert f"findings.csv, row {line}" in str(info.value)


def test_unknown_state_of_multistate_node(priors_dir):
    match = {"node": "laterality", "kind": "link", "parent": "sciatica", "state": "one_leg"}
    _edit(priors_dir / "findings.csv", match, state="one_legs")
    with pytest.raises(
        PriorsError, match=r"unknown state of laterality 'one_legs'; did you mean 'one_leg'"
    ):
        load_priors(priors_dir)


def test_distribution_not_summing_to_one(priors_dir):
    match = {"node": "laterality", "kind": "link", "parent": "sciatica", "state": "one_leg"}
    _edit(priors_dir / "findings.csv", match, value="0.9000001")
    with pytest.raises(
        PriorsError,
        match=r"laterality\|link\|sciatica=present: values must sum to 1 within 1e-09. "
        r"Got 1.0000001 instead",
    ):
        load_priors(priors_dir)


def test_missing_state_in_distribution(priors_dir):
    path = priors_dir / "history.csv"
    rows = [r for r in _rows(path) if not (r["node"] == "age_group" and r["state"] == "65_plus")]
    _write(path, rows)
    with pytest.raises(PriorsError, match=r"age_group\|prior\|=: missing state\(s\) 65_plus"):
        load_priors(priors_dir)


def test_unknown_key_in_header(priors_dir):
    path = priors_dir / "causes.csv"
    rows = _rows(path)
    fields = [("sorce_id" if f == "source_id" else f) for f in NUMBER_FIELDS]
    _write(
        path,
        [{("sorce_id" if k == "source_id" else k): v for k, v in r.items()} for r in rows],
        fields,
    )
    with pytest.raises(
        PriorsError, match=r"'sorce_id': unknown field; .*did you mean 'source_id'"
    ) as info:
        load_priors(priors_dir)
    assert "'source_id': required field is missing" in str(info.value)


def test_unknown_source_suggests_the_closest(priors_dir):
    sid = _find(priors_dir / "findings.csv", SCIATICA_SHOOTING)["source_id"]
    _edit(priors_dir / "findings.csv", SCIATICA_SHOOTING, source_id=sid + "x")
    with pytest.raises(PriorsError, match=rf"unknown source '{sid}x'; did you mean '{sid}'"):
        load_priors(priors_dir)


def test_empty_citation_and_missing_reasoning(priors_dir):
    path = priors_dir / "sources.csv"
    rows = _rows(path)
    lit = next(r for r in rows if r["kind"] == "literature")
    ej = next(r for r in rows if r["kind"] == "expert_judgement")
    lit["citation"], ej["reasoning"] = "", " "
    _write(path, rows)
    with pytest.raises(PriorsError, match=rf"{lit['source_id']}.citation: is empty") as info:
        load_priors(priors_dir)
    assert (
        f"{ej['source_id']}.reasoning: is empty; expert judgement must give its reasoning"
        in str(info.value)
    )


def test_every_problem_is_reported_at_once(priors_dir):
    _edit(priors_dir / "findings.csv", SCIATICA_SHOOTING, value="2")
    _edit(priors_dir / "causes.csv", {"node": "stroke", "kind": "leak"}, source_id="")
    _edit(priors_dir / "history.csv", {"node": "sex", "state": "male"}, node="gender")
    with pytest.raises(PriorsError) as info:
        load_priors(priors_dir)
    text = str(info.value)
    assert len(info.value.problems) == 4, text
    for where in ("findings.csv, row", "causes.csv, row", "history.csv, row"):
        assert where in text
    # a row naming no valid node hides no check: sex has lost its male row
    assert "history.csv: sex|prior|=: missing state(s) male" in text


def test_missing_directory_and_file(tmp_path, priors_dir):
    with pytest.raises(PriorsError, match="does not exist"):
        load_priors(tmp_path / "nowhere")
    (priors_dir / "findings.csv").unlink()
    with pytest.raises(PriorsError, match=r"findings.csv: file: missing"):
        load_priors(priors_dir)


def test_hash_changes_with_a_number(priors_dir):
    before = load_priors(priors_dir).sha256
    _edit(priors_dir / "findings.csv", SCIATICA_SHOOTING, value="0.8")
    assert load_priors(priors_dir).sha256 != before


# --------------------------------------------------------------------------- D4: bounds
@pytest.mark.parametrize(
    ("field", "text"),
    [("value", "1e-17"), ("low", "1e-17"), ("value", "0.9999999999"), ("high", "0.9999999999")],
)
def test_probabilities_too_close_to_0_or_1_are_rejected(priors_dir, field, text):
    """1 - (1 - 1e-17) is 0 in floating point: such a number would vanish downstream."""
    changes = {field: text}
    if field == "value":  # keep the range around the value so only the bound is at fault
        changes.update(low=text, high=text)
    line = _edit(priors_dir / "findings.csv", SCIATICA_SHOOTING, **changes)
    with pytest.raises(
        PriorsError,
        match=rf"findings.csv, row {line}: .* {field}: .*Got {text} instead; "
        r"probabilities must lie in \[1e-09, 1 - 1e-09\] so that complements are exact enough",
    ):
        load_priors(priors_dir)


def test_the_bounds_themselves_are_accepted(priors_dir):
    _edit(priors_dir / "findings.csv", SCIATICA_SHOOTING, low="1e-09")
    assert load_priors(priors_dir).get("findings", **SCIATICA_SHOOTING).low == 1e-9


@pytest.mark.parametrize("x", [1e-17, 0.0, 1.0, 1 - 1e-12, float("nan")])
def test_with_value_rejects_unrepresentable_probabilities(x):
    ps = load_priors()
    pid = ps.get("findings", **SCIATICA_SHOOTING).param_id
    with pytest.raises(
        InvalidArgumentError, match=r"probabilities must lie in \[1e-09, 1 - 1e-09\]"
    ):
        ps.with_value(pid, x)


# --------------------------------------------------------------------------- D3, D5: CSV
def _lines(path: Path) -> list[str]:
    return path.read_text(encoding="utf-8").splitlines(keepends=True)


def _line_of(path: Path, match: dict[str, str]) -> int:
    """1-based line of the first row matching ``match`` (rows of the shipped files are one line)."""
    for i, r in enumerate(_rows(path)):
        if all(r[k] == v for k, v in match.items()):
            return i + 2
    raise AssertionError(f"no row matches {match}")


def _set_note_raw(path: Path, line: int, raw_note: str) -> None:
    """Replace the note of the row on ``line`` by ``raw_note``, written as is (no quoting)."""
    lines = _lines(path)
    cells = next(csv.reader([lines[line - 1]]))
    lines[line - 1] = ",".join(cells[:-1]) + "," + raw_note + "\n"
    path.write_text("".join(lines), encoding="utf-8")


@pytest.mark.parametrize("where", ["middle", "second_to_last"])
def test_unterminated_quote_names_the_line_where_it_opened(priors_dir, where):
    path = priors_dir / "findings.csv"
    n_lines = len(_lines(path))
    line = _line_of(path, SCIATICA_SHOOTING) if where == "middle" else n_lines - 1
    _set_note_raw(path, line, '"a note whose quote is never closed')
    with pytest.raises(
        PriorsError,
        match=rf"findings.csv, row {line}: quote: unterminated quote: the quoted field opened "
        rf"on line {line} (is never closed|is not closed on that line and runs on to line)",
    ) as info:
        load_priors(priors_dir)
    # reading resumes after the broken line: only the quote is reported
    assert len(info.value.problems) == 1, str(info.value)


def test_malformed_quote_is_reported(priors_dir):
    path = priors_dir / "causes.csv"
    _set_note_raw(path, 3, '"quoted" then more')
    with pytest.raises(PriorsError, match=r"causes.csv, row 3: quote: malformed quoting") as info:
        load_priors(priors_dir)
    assert len(info.value.problems) == 1, str(info.value)


def test_quoted_note_over_several_lines_is_one_row(priors_dir):
    path = priors_dir / "findings.csv"
    line = _line_of(path, SCIATICA_SHOOTING)
    _set_note_raw(path, line, '"first line\nsecond, line"')
    ps = load_priors(priors_dir)
    assert ps.get("findings", **SCIATICA_SHOOTING).note == "first line\nsecond, line"
    assert ps.get("findings", **SCIATICA_SHOOTING).line == line


@pytest.mark.parametrize("csv_limit", [None, 1 << 20])
def test_field_over_128_kib_is_a_problem_not_a_crash(priors_dir, csv_limit):
    path = priors_dir / "findings.csv"
    line = _line_of(path, SCIATICA_SHOOTING)
    _set_note_raw(path, line, "x" * (128 * 1024 + 1))
    old = csv.field_size_limit(csv_limit) if csv_limit else None
    try:
        with pytest.raises(
            PriorsError, match=rf"findings.csv, row {line}: .*field longer than 131072 bytes"
        ) as info:
            load_priors(priors_dir)
    finally:
        if old is not None:
            csv.field_size_limit(old)
    assert len(info.value.problems) == 1, str(info.value)


# --------------------------------------------------------------------------- D12: one pass
def test_row_level_and_structural_problems_are_reported_in_one_pass(priors_dir):
    findings, causes = priors_dir / "findings.csv", priors_dir / "causes.csv"
    bad_value = _edit(findings, SCIATICA_SHOOTING, value="abc")
    lat = {"node": "laterality", "kind": "link", "parent": "sciatica", "state": "one_leg"}
    _edit(findings, lat, value="0.95")  # the distribution now sums to 1.05
    rows = _rows(causes)
    leak = next(i for i, r in enumerate(rows) if r["node"] == "stroke" and r["kind"] == "leak")
    del rows[leak]  # stroke loses its leak
    rows.append(dict(rows[0]))  # a duplicate of the first number
    _write(causes, rows)
    with pytest.raises(PriorsError) as info:
        load_priors(priors_dir)
    text = str(info.value)
    assert len(info.value.problems) == 4, text
    assert f"findings.csv, row {bad_value}: " in text
    assert "expected a number in (0, 1). Got 'abc' instead" in text
    assert "laterality|link|sciatica=present: values must sum to 1 within 1e-09" in text
    assert "stroke leak: is missing; a noisy-OR node needs a leak" in text
    first = rows[0]
    pid = f"causes:{first['node']}|{first['kind']}|{first['parent']}={first['parent_state']}|"
    assert f"causes.csv, row {len(rows) + 1}: {pid}{first['state']}: duplicate of row 2" in text


def test_a_row_that_failed_hides_only_the_checks_that_need_it(priors_dir):
    findings = priors_dir / "findings.csv"
    one_leg = {"node": "laterality", "kind": "link", "parent": "sciatica", "state": "one_leg"}
    _edit(findings, one_leg, value="")  # its distribution cannot be summed
    both = {"node": "laterality", "kind": "link", "parent": "stroke", "state": "both_legs"}
    _edit(findings, both, value="0.5", high="0.6")  # another one of the same node can
    with pytest.raises(PriorsError) as info:
        load_priors(priors_dir)
    text = str(info.value)
    assert len(info.value.problems) == 2, text
    assert "laterality|link|sciatica=present|one_leg value: is missing" in text
    assert "laterality|link|stroke=present: values must sum to 1" in text


@pytest.mark.parametrize("name", ["sources", "history", "causes", "findings"])
def test_a_missing_file_hides_only_the_checks_that_need_it(priors_dir, name):
    (priors_dir / f"{name}.csv").unlink()
    with pytest.raises(PriorsError, match=rf"{name}.csv: file: missing") as info:
        load_priors(priors_dir)
    assert len(info.value.problems) == 1, str(info.value)


def test_an_unreadable_source_row_hides_the_checks_of_its_id(priors_dir):
    path = priors_dir / "sources.csv"
    sid = _find(priors_dir / "findings.csv", SCIATICA_SHOOTING)["source_id"]
    line = next(i for i, r in enumerate(_rows(path)) if r["source_id"] == sid) + 2
    _set_note_raw(path, line, '"reasoning left open')
    with pytest.raises(PriorsError, match=rf"sources.csv, row {line}: quote: ") as info:
        load_priors(priors_dir)
    assert len(info.value.problems) == 1, str(info.value)
