"""Tests for legnumb.network.priors: the v2 format, its checks and its expansion.

Two fixtures: the tiny example priors (:func:`legnumb.network.priors.example_priors`, with its
own schema) and a synthetic full set for the contract schema (:func:`write_full_priors`).
"""

from __future__ import annotations

import csv
import itertools
import math
import re
from pathlib import Path

import numpy as np
import pytest

from legnumb.errors import InvalidArgumentError, PriorsError
from legnumb.network.cpt import CPT
from legnumb.network.independent import IndependentNetwork, NoisyMax
from legnumb.network.priors import (
    NUMBER_FIELDS,
    example_priors,
    example_schema,
    load_priors,
    odds_range,
    reference_state,
)
from legnumb.network.schema import load_schema

# --------------------------------------------------------------------------- helpers
#: The orders of the multi-state findings of the contract (SPEC.md).
ORDERS = {
    "onset": "gradual|over_hours|sudden",
    "pattern": "comes_and_goes|constant",
    "duration": "minutes|hours_to_days|weeks_or_longer",
    "laterality": "one_leg|both_legs",
    "distribution": "feet_and_toes|front_or_side_of_thigh|back_of_leg|whole_leg|saddle_area",
    "position_trigger": "none|sitting|lying_down|standing|walking",
    "relieved_by": "nothing|moving_or_shifting|bending_forward|stopping_walking",
}


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


def _drop(path: Path, match: dict[str, str]) -> None:
    """Remove every row of ``path`` matching ``match``."""
    rows = _rows(path)
    kept = [r for r in rows if not all(r[k] == v for k, v in match.items())]
    assert len(kept) < len(rows), match
    _write(path, kept, list(rows[0]))


def _append(path: Path, *new: dict[str, str]) -> int:
    """Append rows to ``path``; return the line of the first one."""
    rows = _rows(path)
    fields = list(rows[0])
    _write(path, rows + [{k: r.get(k, "") for k in fields} for r in new], fields)
    return len(rows) + 2


def _bounds(value: float, basis: str, ratio: bool) -> tuple[str, str]:
    low, high = odds_range(value, basis, ratio=ratio)
    if ratio:
        return f"{round(low, 4):g}", f"{round(high, 4):g}"
    low = min(max(round(low, 4), 1e-9), value)
    high = max(min(round(high, 4), 1 - 1e-9), value)
    return f"{low:g}", f"{high:.10g}"


def number(
    node, kind, state, value, basis="x3", parent="", parent_state="", source="EJ-SYN", note=""
):
    """One row of a number file, with its range following ``basis``."""
    low, high = _bounds(value, basis, kind == "odds_ratio") if basis != "ci" else ("", "")
    return {
        "node": node, "kind": kind, "state": state, "parent": parent,
        "parent_state": parent_state, "value": repr(value), "low": low, "high": high,
        "range_basis": basis, "source_id": source, "note": note,
    }  # fmt: skip


SYN_SOURCES = [
    {"source_id": "EJ-SYN", "kind": "expert_judgement", "citation": "Synthetic judgement",
     "locator": "", "reasoning": "made-up numbers for the tests"},
    {"source_id": "L-SYN", "kind": "literature", "citation": "Synthetic A. J Tests 2024",
     "locator": "doi:10.1000/tests", "reasoning": ""},
]  # fmt: skip


def write_full_priors(directory: Path, schema=None) -> Path:
    """A synthetic, valid v2 priors folder for the contract schema (every node, every kind)."""
    schema = schema or load_schema()
    directory.mkdir(parents=True, exist_ok=True)
    _write(directory / "sources.csv", SYN_SOURCES)
    history = []
    for h in schema.history:
        states = schema.states_of(h)
        if h in ("pregnant", "postpartum"):
            for sex, p in (("female", 0.02), ("male", 0.0001)):
                basis = "x3" if sex == "female" else "x10"
                history.append(number(h, "prior", "yes", p, basis, "sex", sex))
                history.append(number(h, "prior", "no", 1 - p, basis, "sex", sex))
        elif set(states) == {"yes", "no"}:
            history += [number(h, "prior", "yes", 0.1), number(h, "prior", "no", 0.9)]
        else:
            dist = [0.3, 0.4, 0.3] if len(states) == 3 else [0.5, 0.5]
            history += [number(h, "prior", s, p) for s, p in zip(states, dist, strict=True)]
    _write(directory / "history.csv", history)
    causes, hist = [], schema.history
    for i, c in enumerate(schema.causes):
        causes.append(number(c, "baseline", "present", 0.05, "x10"))
        for h in (hist[i % len(hist)], hist[(i + 5) % len(hist)]):
            ref = reference_state(schema, h)
            for s in schema.states_of(h):
                if s != ref:
                    causes.append(number(c, "odds_ratio", "present", 2.0, "x3", h, s))
    causes = [r for r in causes if (r["node"], r["parent"]) != ("stroke", "atrial_fibrillation")]
    causes.append(
        number("stroke", "odds_ratio", "present", 4.5, "ci", "atrial_fibrillation", "yes",
               "L-SYN", "95% CI 3.2 to 6.1") | {"low": "3.2", "high": "6.1"}
    )  # fmt: skip
    _write(directory / "causes.csv", causes)
    findings, cs = [], tuple(schema.causes)
    for i, f in enumerate(schema.symptoms):
        parents = [cs[i % len(cs)], cs[(i + 7) % len(cs)], cs[(i + 13) % len(cs)]]
        states = schema.states_of(f)
        if set(states) == {"yes", "no"}:
            findings.append(number(f, "leak", "yes", 0.05, "x10"))
            findings += [number(f, "link", "yes", 0.6, "x3", p, "present") for p in parents]
            continue
        order = ORDERS[f].split("|")
        leak = {s: (0.9 if s == order[0] else 0.1 / (len(states) - 1)) for s in states}
        findings += [number(f, "leak", s, leak[s], "x10") for s in states]
        link = {s: (0.5 if s == order[-1] else 0.5 / (len(states) - 1)) for s in states}
        for p in parents:
            findings += [number(f, "link", s, link[s], "x3", p, "present") for s in states]
    _write(directory / "findings.csv", findings)
    _write(
        directory / "orders.csv",
        [
            {"node": f, "order": o, "source_id": "EJ-SYN", "note": "SPEC.md"}
            for f, o in ORDERS.items()
        ],
    )
    return directory


@pytest.fixture
def example_dir(tmp_path) -> Path:
    """A writable copy of the example priors."""
    example_priors(tmp_path / "priors")
    return tmp_path / "priors"


def load(directory: Path):
    return load_priors(directory, schema=example_schema())


def _problems(directory: Path) -> str:
    with pytest.raises(PriorsError) as info:
        load(directory)
    return str(info.value)


STROKE_AF = {"node": "stroke", "kind": "odds_ratio", "parent": "atrial_fibrillation"}
STROKE_65 = {"node": "stroke", "kind": "odds_ratio", "parent_state": "65_plus"}
STROKE_40 = {"node": "stroke", "kind": "odds_ratio", "parent_state": "40_to_64"}
WEAK_STROKE = {"node": "weakness", "kind": "link", "parent": "stroke"}
ONSET_STROKE = {"node": "onset", "kind": "link", "parent": "stroke", "state": "sudden"}


def _expit(z):
    return 1 / (1 + math.exp(-z))


def _logit(p):
    return math.log(p / (1 - p))


# --------------------------------------------------------------------------- valid sets
def test_example_priors_load():
    ps = example_priors()
    assert {n.node for n in ps.numbers} == set(ps.schema.nodes)
    assert all(n.low <= n.value <= n.high for n in ps.numbers)
    assert len(ps.sha256) == 64
    assert ps.orders["onset"].states == ("gradual", "over_hours", "sudden")
    assert ps.get("causes", **STROKE_AF).is_ratio


def test_synthetic_full_priors_load_for_the_contract_schema(tmp_path):
    ps = load_priors(write_full_priors(tmp_path / "p"))
    schema = load_schema()
    assert (len(schema.causes), len(schema.columns)) == (24, 49)
    assert {n.node for n in ps.numbers} == set(schema.nodes)
    objects = ps.expand()
    assert [type(x) for x in objects] == [CPT] * (17 + 24) + [NoisyMax] * 32
    net = ps.network()
    assert isinstance(net, IndependentNetwork)
    assert net.causes == tuple(schema.causes)
    for t in net.tables:
        np.testing.assert_allclose(t.values.sum(axis=0), 1.0, atol=1e-12, err_msg=t.variable)
        assert (t.values > 0).all(), t.variable
    for f in net.findings:
        np.testing.assert_allclose(f.table().sum(axis=0), 1.0, atol=1e-12, err_msg=f.node)
    # history roots come before the conditional tables
    names = [t.variable for t in net.tables]
    assert names.index("sex") < names.index("pregnant") < names.index("stroke")
    assert net.finding("onset").ordered_states == tuple(ORDERS["onset"].split("|"))
    assert net.finding("weakness").ordered_states == ("no", "yes")


def test_reference_states_and_odds_range():
    schema = load_schema()
    assert [reference_state(schema, h) for h in ("age_group", "sex", "diabetes")] == [
        "under_40",
        "female",
        "no",
    ]
    low, high = odds_range(0.3, "x3")
    assert (round(low, 4), round(high, 4)) == (0.125, 0.5625)
    assert odds_range(0.5, "x10", ratio=True) == (0.05, 5.0)


# --------------------------------------------------------------------------- expansion
def test_logistic_cause_by_hand():
    ps = example_priors()
    stroke = ps.expand_node("stroke")
    assert isinstance(stroke, CPT)
    assert stroke.parents == ("age_group", "atrial_fibrillation")
    assert stroke.values.shape == (2, 3, 2)
    assert stroke.prob("present", age_group="under_40", atrial_fibrillation="no") == (
        pytest.approx(0.01, rel=1e-12)
    )
    # odds 0.01/0.99 times OR 2 (40-64) times OR 4 (AF): 0.08/1.07
    assert stroke.prob("present", age_group="40_to_64", atrial_fibrillation="yes") == (
        pytest.approx(0.08 / 1.07, rel=1e-12)
    )
    assert stroke.prob("present", age_group="65_plus", atrial_fibrillation="no") == (
        pytest.approx(0.05 / 1.04, rel=1e-12)
    )
    for age, af in itertools.product(("under_40", "40_to_64", "65_plus"), ("yes", "no")):
        z = _logit(0.01) + {"under_40": 0, "40_to_64": math.log(2), "65_plus": math.log(5)}[age]
        z += math.log(4) if af == "yes" else 0.0
        got = stroke.prob("present", age_group=age, atrial_fibrillation=af)
        assert got == pytest.approx(_expit(z), rel=1e-12)
        assert got + stroke.prob("absent", age_group=age, atrial_fibrillation=af) == (
            pytest.approx(1.0, abs=1e-15)
        )
    sciatica = ps.expand_node("sciatica")  # no parents: the baseline itself
    assert sciatica.parents == ()
    np.testing.assert_allclose(sciatica.values, [0.8, 0.2], rtol=1e-12)


def _brute_force(leak, links, order, present):
    """P(finding = s) by enumerating every value the leak and each present cause produce."""
    rank = {s: r for r, s in enumerate(order)}
    n_states = len(leak)
    out = np.zeros(n_states)
    sources = [leak] + [links[i] for i in present]
    for values in itertools.product(range(n_states), repeat=len(sources)):
        p = np.prod([src[v] for src, v in zip(sources, values, strict=True)])
        out[max(values, key=lambda v: rank[v])] += p
    return out


def test_noisy_max_by_hand_and_by_brute_force():
    ps = example_priors()
    onset = ps.expand_node("onset")
    assert isinstance(onset, NoisyMax)
    assert onset.parents == ("stroke", "sciatica")
    assert onset.states == ("sudden", "over_hours", "gradual")  # contract order
    assert onset.ordered_states == ("gradual", "over_hours", "sudden")
    np.testing.assert_array_equal(onset.leak, [0.03, 0.07, 0.9])
    np.testing.assert_array_equal(onset.links, [[0.8, 0.15, 0.05], [0.1, 0.2, 0.7]])
    assert onset.prob("sudden", stroke="present") == pytest.approx(1 - 0.97 * 0.2)
    assert onset.prob("gradual", stroke="present", sciatica="present") == (
        pytest.approx(0.9 * 0.05 * 0.7)
    )
    table = onset.table()  # (onset, stroke, sciatica)
    for s_code, c_code in itertools.product((0, 1), (0, 1)):
        present = [i for i, code in enumerate((s_code, c_code)) if code == 1]
        want = _brute_force(onset.leak, onset.links, onset.order, present)
        np.testing.assert_allclose(table[:, s_code, c_code], want, rtol=0, atol=1e-15)


def test_yes_no_finding_is_a_noisy_or():
    weakness = example_priors().expand_node("weakness")
    assert isinstance(weakness, NoisyMax)
    assert weakness.states == ("yes", "no")
    assert weakness.order == (1, 0)
    np.testing.assert_allclose(weakness.leak, [0.05, 0.95])
    np.testing.assert_allclose(weakness.links, [[0.7, 0.3], [0.2, 0.8]])
    both = weakness.prob("yes", stroke="present", sciatica="present")
    assert both == pytest.approx(1 - 0.95 * 0.3 * 0.8)
    assert weakness.prob("yes") == pytest.approx(0.05)


def test_expand_batch_is_expand_and_feeds_replace_values():
    ps = example_priors()
    base = np.array([n.value for n in ps.numbers])
    theta = np.stack([base, base * 1.0])
    theta[1, ps.numbers.index(ps.get("causes", **STROKE_AF))] = 9.0
    batch = ps.expand_batch(theta)
    assert set(batch) == set(ps.schema.nodes)
    for x in ps.expand():
        if isinstance(x, CPT):
            assert batch[x.variable].shape == (2, *x.values.shape)
            assert np.array_equal(batch[x.variable][0], x.values), x.variable
        else:
            assert batch[x.node].shape == (2, 1 + len(x.parents), len(x.states))
            assert np.array_equal(batch[x.node][0, 0], x.leak)
            assert np.array_equal(batch[x.node][0, 1:], x.links)
    variant = ps.with_value(ps.get("causes", **STROKE_AF).param_id, 9.0).network()
    replaced = ps.network().replace_values({k: v[1] for k, v in batch.items()})
    for a, b in zip(replaced.tables, variant.tables, strict=True):
        np.testing.assert_array_equal(a.values, b.values)
    for a, b in zip(replaced.findings, variant.findings, strict=True):
        np.testing.assert_array_equal(a.table(), b.table())


def test_expand_batch_errors():
    ps = example_priors()
    with pytest.raises(InvalidArgumentError, match=r"expected theta of shape \(B, 28\)"):
        ps.expand_batch(np.zeros((1, 3)))
    with pytest.raises(KeyError, match="unknown node 'onsett'"):
        ps.expand_batch(np.array([n.value for n in ps.numbers]), nodes=["onsett"])


# --------------------------------------------------------------------------- variants
def test_with_value_rescales_siblings_of_distributions_only():
    ps = example_priors()
    pid = ps.get("findings", **ONSET_STROKE).param_id
    new = ps.with_value(pid, 0.6)
    sibs = ps.siblings(pid)
    assert [s.state for s in sibs] == ["over_hours", "gradual"]
    assert new[pid].value == 0.6
    assert new[sibs[0].param_id].value == pytest.approx(0.15 * 0.4 / 0.2)
    assert sum(new[s.param_id].value for s in sibs) == pytest.approx(0.4)
    assert ps[pid].value == 0.8  # the original is unchanged
    for key in (STROKE_AF, {"node": "stroke", "kind": "baseline"}):
        assert ps.siblings(ps.get("causes", **key).param_id) == ()
    assert ps.siblings(ps.get("findings", **WEAK_STROKE).param_id) == ()
    assert (
        len(ps.siblings(ps.get("findings", node="onset", kind="leak", state="sudden").param_id))
        == 2
    )
    sex = ps.siblings(ps.get("history", node="pregnant", state="yes", parent_state="male").param_id)
    assert [(s.state, s.parent_state) for s in sex] == [("no", "male")]
    ratio = ps.with_value(ps.get("causes", **STROKE_AF).param_id, 12.0)
    assert ratio.get("causes", **STROKE_AF).value == 12.0


@pytest.mark.parametrize(
    ("key", "x", "match"),
    [
        ({"file": "findings", **WEAK_STROKE}, 1.0, r"a probability must lie in \(0, 1\)"),
        ({"file": "findings", **WEAK_STROKE}, 1e-17, r"a probability is too close to 0"),
        ({"file": "causes", **STROKE_AF}, 0.0, r"an odds ratio must be a finite number > 0"),
        ({"file": "causes", **STROKE_AF}, float("inf"), r"an odds ratio must be a finite"),
        ({"file": "causes", **STROKE_AF}, -2.0, r"an odds ratio must be a finite number > 0"),
    ],
)
def test_with_value_rejects_unusable_values(key, x, match):
    ps = example_priors()
    file = key.pop("file")
    with pytest.raises(InvalidArgumentError, match=match):
        ps.with_value(ps.get(file, **key).param_id, x)


def test_labels_read_as_a_reviewer_reads_them():
    ps = example_priors()
    assert ps.get("causes", **STROKE_AF).label == "OR(stroke | atrial_fibrillation)"
    assert ps.get("causes", **STROKE_65).label == "OR(stroke | age_group=65_plus)"
    assert ps.get("causes", node="stroke", kind="baseline").label == (
        "P(stroke | reference risk factors)"
    )
    assert ps.get("findings", **ONSET_STROKE).label == "P(onset=sudden | stroke alone)"
    assert ps.get("findings", **WEAK_STROKE).label == "P(weakness | stroke alone)"
    leak = ps.get("findings", node="onset", kind="leak", state="gradual")
    assert leak.label == "P(onset=gradual | no cause)"
    assert ps.get("history", node="sex", state="male").label == "P(sex=male)"
    prior = ps.get("history", node="pregnant", state="yes", parent_state="male")
    assert prior.label == "P(pregnant | sex=male)"


def test_table_and_expert_only():
    ps = example_priors()
    table = ps.table()
    assert len(table) == len(ps.numbers)
    assert {"range_basis", "source_kind", "label"} <= set(table.columns)
    assert len(ps.expert_only) == len(ps.numbers) - 2  # two numbers cite L-EX


def test_hash_covers_orders_and_numbers(example_dir):
    before = load(example_dir).sha256
    (example_dir / "orders.csv").write_text(
        (example_dir / "orders.csv").read_text() + "\n", encoding="utf-8"
    )
    after = load(example_dir).sha256
    assert after != before
    _edit(example_dir / "findings.csv", WEAK_STROKE, note="changed")
    assert load(example_dir).sha256 != after


# --------------------------------------------------------------------------- row problems
ROW_CASES = [
    # (file, match, changes, message)
    ("findings", WEAK_STROKE, {"node": "weaknes"},
     r"node: unknown node for findings.csv 'weaknes'; did you mean 'weakness'"),
    ("findings", WEAK_STROKE, {"parent": "strok"},
     r"parent: unknown cause for weakness 'strok'; did you mean 'stroke'"),
    ("findings", WEAK_STROKE, {"parent": "atrial_fibrillation", "parent_state": "yes"},
     r"a finding's parents must be causes; 'atrial_fibrillation' is a history node"),
    ("findings", WEAK_STROKE, {"parent_state": "absent"},
     r"parent_state: a link gives what stroke produces when present; parent_state must be "
     r"'present'. Got 'absent' instead"),
    ("findings", WEAK_STROKE, {"state": "no"},
     r"a yes/no finding is noisy-OR: its numbers give P\(weakness=yes\); state must be 'yes'. "
     r"Got 'no' instead"),
    ("findings", ONSET_STROKE, {"state": "suden"},
     r"unknown state of onset 'suden'; did you mean 'sudden'"),
    ("findings", WEAK_STROKE, {"kind": "leak_weight"}, r"leak_weight is gone in v2"),
    ("findings", WEAK_STROKE, {"kind": "lnk"},
     r"kind: must be one of leak, link. Got 'lnk' instead; did you mean 'link'"),
    ("findings", WEAK_STROKE, {"kind": "odds_ratio"},
     r"findings.csv holds kinds leak, link. Got 'odds_ratio' instead \(a number of kind "
     r"'odds_ratio' belongs in causes.csv\)"),
    ("findings", WEAK_STROKE, {"value": ""}, r"value: is missing; expected a number in \(0, 1\)"),
    ("findings", WEAK_STROKE, {"value": "abc"}, r"expected a number in \(0, 1\). Got 'abc'"),
    ("findings", WEAK_STROKE, {"value": "1.0"},
     r"must lie strictly between 0 and 1. Got 1.0 instead"),
    ("findings", WEAK_STROKE, {"value": "nan"}, r"must lie strictly between 0 and 1. Got nan"),
    ("findings", WEAK_STROKE, {"value": "0.99"},
     r"value: must lie in its own range \[0.4375, 0.875\]. Got 0.99 instead"),
    ("findings", WEAK_STROKE, {"low": "0.9", "high": "0.5"},
     r"low must not exceed high. Got low=0.9 > high=0.5 instead"),
    ("findings", WEAK_STROKE, {"source_id": ""}, r"source_id: is empty; every number needs"),
    ("findings", WEAK_STROKE, {"source_id": "EJ-EXX"},
     r"unknown source 'EJ-EXX'; did you mean 'EJ-EX'"),
    ("findings", WEAK_STROKE, {"range_basis": "X3"},
     r"range_basis: must be one of ci, x2, x3, x10. Got 'X3' instead; did you mean 'x3'"),
    ("findings", WEAK_STROKE, {"range_basis": ""},
     r"range_basis: must be one of ci, x2, x3, x10. Got '' instead."),
    ("findings", WEAK_STROKE, {"low": "0.45"},
     r"range: range_basis x3 gives low = 0.4375 \(the odds ÷ 3\) and high = 0.8750 \(the odds "
     r"× 3\) to 4 decimals. Got low=0.45 instead"),
    ("findings", {"node": "weakness", "kind": "leak"}, {"low": "0.0052", "high": "0.1364"},
     r"range_basis x10 gives low = 0.0052 \(the odds ÷ 10\) and high = 0.3448 .* Got "
     r"high=0.1364 instead"),
    ("findings", WEAK_STROKE, {"range_basis": "ci"},
     r"range_basis: is ci, but the note does not name the 95% confidence interval"),
    ("findings", WEAK_STROKE, {"range_basis": "x2", "low": "0.5385", "high": "0.8235"},
     r"range_basis: x2 is for a literature figure; expert judgement \(EJ-EX\) takes x3"),
    ("causes", STROKE_AF, {"range_basis": "x3", "low": "1.3333", "high": "12"},
     r"range_basis: x3 is for expert judgement; a literature figure \(L-EX\) takes its "
     r"published CI \(ci\) or, without one, x2"),
    ("causes", STROKE_AF, {"value": "0", "low": "0"},
     r"value: must be a finite number > 0 \(an odds ratio, not a probability\). Got 0 instead"),
    ("causes", STROKE_AF, {"value": "-4"}, r"value: must be a finite number > 0 .*Got -4"),
    ("causes", STROKE_AF, {"value": "four"}, r"value: expected a positive odds ratio. Got 'four'"),
    ("causes", STROKE_AF, {"low": ""}, r"low: is missing; expected a positive odds ratio"),
    ("causes", STROKE_AF, {"value": "inf"}, r"value: must be a finite number > 0"),
    ("causes", STROKE_AF, {"low": "0"}, r"low: must be a finite number > 0 .*Got 0 instead"),
    ("causes", STROKE_AF, {"value": "9"},
     r"value: must lie in its own range \[2.0, 8.0\]. Got 9.0 instead"),
    ("causes", STROKE_40, {"high": "5"},
     r"range_basis x3 gives low = 0.6667 \(the odds ratio ÷ 3\) and high = 6.0000 \(the odds "
     r"ratio × 3\) to 4 decimals. Got high=5 instead"),
    ("causes", STROKE_AF, {"parent_state": "no"},
     r"parent_state: 'no' is the reference state of atrial_fibrillation, whose odds ratio is 1"),
    ("causes", STROKE_40, {"parent_state": "under_40"},
     r"'under_40' is the reference state of age_group"),
    ("causes", STROKE_AF, {"parent": "sciatica", "parent_state": "present"},
     r"parent: a cause's parents must be history nodes; 'sciatica' is a cause"),
    ("causes", STROKE_AF, {"parent": "weakness", "parent_state": "yes"},
     r"a cause's parents must be history nodes; 'weakness' is a finding node"),
    ("causes", STROKE_AF, {"parent": "atrial_fibrilation"},
     r"unknown history node for stroke 'atrial_fibrilation'; did you mean 'atrial_fibrillation'"),
    ("causes", STROKE_AF, {"parent_state": "maybe"},
     r"parent_state: unknown state of atrial_fibrillation 'maybe'"),
    ("causes", STROKE_AF, {"state": "absent"},
     r"state: a cause's numbers give P\(stroke=present\) or its odds; state must be 'present'"),
    ("causes", {"node": "sciatica"}, {"parent": "sex", "parent_state": "male"},
     r"parent: must be empty for kind 'baseline'. Got 'sex'='male' instead"),
    ("causes", {"node": "sciatica"}, {"kind": "prior"},
     r"causes.csv holds kinds baseline, odds_ratio. Got 'prior' instead"),
    ("history", {"node": "sex", "state": "male"}, {"parent": "age_group", "parent_state": "40_to_64"},
     r"parent: sex can only be conditioned on nothing \(a root\); 'age_group' is a history node"),
    ("history", {"node": "pregnant", "state": "yes"}, {"parent": "age_group"},
     r"pregnant can only be conditioned on sex; 'age_group' is a history node"),
]  # fmt: skip


@pytest.mark.parametrize(("file", "match", "changes", "message"), ROW_CASES)
def test_bad_number_rows_are_reported_with_file_row_and_key(
    example_dir, file, match, changes, message
):
    line = _edit(example_dir / f"{file}.csv", match, **changes)
    text = _problems(example_dir)
    assert f"{file}.csv, row {line}: " in text
    assert any(re.search(message, p) for p in text.splitlines()[1:]), f"{message!r} not in\n{text}"


def test_a_seed_source_cannot_carry_a_number(example_dir):
    _append(
        example_dir / "sources.csv",
        {"source_id": "S-1", "kind": "seed", "citation": "a consumer page", "locator": "x.txt"},
    )
    line = _edit(example_dir / "findings.csv", WEAK_STROKE, source_id="S-1")
    text = _problems(example_dir)
    assert (
        f"findings.csv, row {line}: weakness|link|stroke=present|yes source_id: S-1 is a seed "
        "article: seeds support that an association exists, never a number" in text
    )


@pytest.mark.parametrize(
    ("locator", "ok"),
    [
        ("doi:10.1093/aje/kwu007", True),
        ("PMID:123456", True),
        ("PMC3120210", True),
        ("https://www.nice.org.uk/guidance/ng128", True),
        ("https://www.nice.org.uk/", False),
        ("https://en.wikipedia.org/wiki/Stroke", False),
        ("see the paper", False),
    ],
)
def test_literature_locators(example_dir, locator, ok):
    _edit(example_dir / "sources.csv", {"source_id": "L-EX"}, locator=locator)
    if ok:
        load(example_dir)
        return
    assert "L-EX.locator: must be a DOI (doi:10....), a PMID (PMID:123), a PMC id" in (
        _problems(example_dir)
    )


def test_empty_citation_and_missing_reasoning(example_dir):
    _edit(example_dir / "sources.csv", {"source_id": "L-EX"}, citation="")
    _edit(example_dir / "sources.csv", {"source_id": "EJ-EX"}, reasoning="")
    text = _problems(example_dir)
    assert "L-EX.citation: is empty; every source needs a citation" in text
    assert "EJ-EX.reasoning: is empty; expert judgement must give its reasoning" in text


@pytest.mark.parametrize(
    ("field", "text"),
    [("value", "1e-17"), ("low", "1e-17"), ("value", "0.9999999999"), ("high", "0.9999999999")],
)
def test_probabilities_too_close_to_0_or_1_are_rejected(example_dir, field, text):
    changes = {field: text}
    if field == "value":
        changes.update(low=text, high=text, range_basis="ci", note="CI")
    line = _edit(example_dir / "findings.csv", WEAK_STROKE, **changes)
    problems = _problems(example_dir)
    assert f"findings.csv, row {line}: weakness|link|stroke=present|yes {field}: " in problems
    assert (
        f"Got {text} instead; probabilities must lie in [1e-09, 1 - 1e-09] so that complements "
        "are exact enough" in problems
    )


def test_clamped_bounds_are_accepted(example_dir):
    """x10 of 0.0001 gives low 1e-5 (0.0000 to 4 decimals), written as 1e-09: accepted."""
    ps = load(example_dir)
    assert ps.get("history", node="pregnant", state="yes", parent_state="male").low == 1e-9
    assert ps.get("history", node="pregnant", state="no", parent_state="male").high == 0.9999


# --------------------------------------------------------------------------- structure
def test_missing_baseline_and_leak(example_dir):
    _drop(example_dir / "causes.csv", {"node": "stroke", "kind": "baseline"})
    _drop(example_dir / "findings.csv", {"node": "weakness", "kind": "leak"})
    text = _problems(example_dir)
    assert "causes.csv: stroke baseline: is missing; a cause needs its baseline" in text
    assert "findings.csv: weakness leak: is missing; a noisy-MAX finding needs a leak" in text


def test_a_node_without_numbers(example_dir):
    _drop(example_dir / "causes.csv", {"node": "sciatica"})
    assert "causes.csv: sciatica: has no numbers; every node needs its distribution" in (
        _problems(example_dir)
    )


def test_more_than_four_history_parents(tmp_path):
    d = write_full_priors(tmp_path / "p")
    extra = ["diabetes", "smoker", "cancer_history"]  # sciatica has sex and obesity
    _append(d / "causes.csv", *[
        number("sciatica", "odds_ratio", "present", 1.5, "x3", h, "yes")
        for h in extra
    ])  # fmt: skip
    with pytest.raises(PriorsError) as info:
        load_priors(d)
    assert "causes.csv: sciatica parents: a cause may have at most 4 history parents (to keep " in (
        str(info.value)
    )
    assert "Got 5 instead: cancer_history, diabetes, obesity, sex, smoker." in str(info.value)
    assert len(info.value.problems) == 1


def test_distribution_not_summing_to_one(example_dir):
    _edit(example_dir / "findings.csv", ONSET_STROKE, value="0.8000001")
    assert (
        "onset|link|stroke=present: values must sum to 1 within 1e-09. Got 1.0000001 instead"
        in _problems(example_dir)
    )


def test_missing_state_in_distributions(example_dir):
    _drop(example_dir / "history.csv", {"node": "age_group", "state": "65_plus"})
    _drop(example_dir / "findings.csv", {"node": "onset", "kind": "leak", "state": "sudden"})
    text = _problems(example_dir)
    assert "age_group|prior|=: missing state(s) 65_plus" in text
    assert "onset|leak|=: missing state(s) sudden; expected one row per state of onset" in text


def test_conditional_history_tables(example_dir):
    _drop(example_dir / "history.csv", {"node": "pregnant", "parent_state": "male"})
    assert "history.csv: pregnant | male: distribution is missing" in _problems(example_dir)


def test_conditional_history_table_mixing_rows(example_dir):
    _append(
        example_dir / "history.csv",
        number("pregnant", "prior", "yes", 0.01),
        number("pregnant", "prior", "no", 0.99),
    )
    assert "history.csv: pregnant: mixes rows with and without a parent" in _problems(example_dir)


def test_duplicate_rows(example_dir):
    rows = _rows(example_dir / "causes.csv")
    line = _append(example_dir / "causes.csv", rows[1])
    assert (
        f"causes.csv, row {line}: causes:stroke|odds_ratio|age_group=40_to_64|present: "
        "duplicate of row 3" in _problems(example_dir)
    )


# --------------------------------------------------------------------------- orders
@pytest.mark.parametrize(
    ("order", "message"),
    [
        ("gradual|over_hours", r"onset order: missing state\(s\) sudden; the order must name "
         r"every state of onset once"),
        ("gradual|over_hours|sudden|slow", r"onset order: unknown state of onset 'slow'"),
        ("gradual|over_hour|sudden", r"onset order: unknown state of onset 'over_hour'; did you mean "
         r"'over_hours'"),
        ("gradual|sudden|sudden|over_hours", r"onset order: duplicate state\(s\) sudden"),
        ("", r"onset order: is empty; expected the states of onset bottom first, joined by \|"),
    ],
)  # fmt: skip
def test_bad_orders(example_dir, order, message):
    line = _edit(example_dir / "orders.csv", {"node": "onset"}, order=order)
    text = _problems(example_dir)
    assert re.search(rf"orders.csv, row {line}: {message}", text), text


def test_orders_rows(example_dir):
    path = example_dir / "orders.csv"
    _edit(path, {"node": "onset"}, source_id="EJ-EXX")
    _append(
        path,
        {"node": "onset", "order": "sudden|over_hours|gradual", "source_id": "EJ-EX"},
        {"node": "weakness", "order": "no|yes", "source_id": "EJ-EX"},
        {"node": "onsett", "order": "a|b", "source_id": "EJ-EX"},
        {"node": "onset", "order": "sudden|over_hours|gradual", "source_id": ""},
    )
    text = _problems(example_dir)
    assert (
        "orders.csv, row 2: onset source_id: unknown source 'EJ-EXX'; did you mean 'EJ-EX'" in text
    )
    assert "orders.csv, row 3: onset: duplicate order (the first is on row 2)" in text
    assert "orders.csv, row 4: weakness: is a yes/no finding: its order is no < yes" in text
    assert (
        "orders.csv, row 5: node: unknown multi-state finding 'onsett'; did you mean 'onset'"
        in text
    )


def test_missing_order_and_empty_source(example_dir):
    path = example_dir / "orders.csv"
    _edit(path, {"node": "onset"}, source_id="")
    text = _problems(example_dir)
    assert "orders.csv, row 2: onset source_id: is empty; every order needs a source" in text
    path.write_text("node,order,source_id,note\n", encoding="utf-8")
    assert "orders.csv: onset: has no order; every multi-state finding needs one" in (
        _problems(example_dir)
    )


def test_every_multistate_finding_of_the_contract_needs_an_order(tmp_path):
    d = write_full_priors(tmp_path / "p")
    _drop(d / "orders.csv", {"node": "distribution"})
    with pytest.raises(PriorsError) as info:
        load_priors(d)
    assert len(info.value.problems) == 1
    assert "orders.csv: distribution: has no order" in str(info.value)


# --------------------------------------------------------------------------- CSV and files
def test_unknown_and_missing_header_fields(example_dir):
    path = example_dir / "causes.csv"
    rows = _rows(path)
    fields = [("range_bases" if f == "range_basis" else f) for f in NUMBER_FIELDS]
    _write(path, [{("range_bases" if k == "range_basis" else k): v for k, v in r.items()}
                  for r in rows], fields)  # fmt: skip
    text = _problems(example_dir)
    assert "causes.csv, header: 'range_bases': unknown field; " in text
    assert "(did you mean 'range_basis'?)" in text
    assert "causes.csv, header: 'range_basis': required field is missing" in text


@pytest.mark.parametrize("name", ["sources", "history", "causes", "findings", "orders"])
def test_a_missing_file_hides_only_the_checks_that_need_it(example_dir, name):
    (example_dir / f"{name}.csv").unlink()
    with pytest.raises(PriorsError, match=rf"{name}.csv: file: missing") as info:
        load(example_dir)
    assert len(info.value.problems) == 1, str(info.value)


def test_missing_directory(tmp_path):
    with pytest.raises(PriorsError, match="does not exist"):
        load(tmp_path / "nowhere")


def _set_note_raw(path: Path, line: int, raw_note: str) -> None:
    lines = path.read_text(encoding="utf-8").splitlines(keepends=True)
    cells = next(csv.reader([lines[line - 1]]))
    lines[line - 1] = ",".join(cells[:-1]) + "," + raw_note + "\n"
    path.write_text("".join(lines), encoding="utf-8")


def _line(path: Path, match: dict[str, str]) -> int:
    return (
        next(i for i, r in enumerate(_rows(path)) if all(r[k] == v for k, v in match.items())) + 2
    )


def test_unterminated_quote_names_the_line_where_it_opened(example_dir):
    path = example_dir / "findings.csv"
    line = _line(path, WEAK_STROKE)
    _set_note_raw(path, line, '"a note whose quote is never closed')
    with pytest.raises(
        PriorsError,
        match=rf"findings.csv, row {line}: quote: unterminated quote: the quoted field opened "
        rf"on line {line}",
    ) as info:
        load(example_dir)
    assert len(info.value.problems) == 1, str(info.value)


def test_malformed_quote_and_multiline_note(example_dir):
    path = example_dir / "causes.csv"
    _set_note_raw(path, 3, '"quoted" then more')
    with pytest.raises(PriorsError, match=r"causes.csv, row 3: quote: malformed quoting") as info:
        load(example_dir)
    assert len(info.value.problems) == 1, str(info.value)
    _set_note_raw(path, 3, '"first line\nsecond, line"')
    ps = load(example_dir)
    assert ps.get("causes", **STROKE_40).note == "first line\nsecond, line"


def test_field_over_128_kib_is_a_problem_not_a_crash(example_dir):
    path = example_dir / "orders.csv"
    _set_note_raw(path, 2, "x" * (128 * 1024 + 1))
    with pytest.raises(PriorsError, match=r"orders.csv, row 2: .*field longer than 131072") as info:
        load(example_dir)
    assert len(info.value.problems) == 1, str(info.value)


def test_every_problem_is_reported_at_once(example_dir):
    _edit(example_dir / "findings.csv", WEAK_STROKE, value="2")
    _edit(example_dir / "causes.csv", STROKE_AF, source_id="")
    _edit(example_dir / "history.csv", {"node": "sex", "state": "male"}, node="gender")
    _edit(example_dir / "orders.csv", {"node": "onset"}, order="gradual|sudden")
    with pytest.raises(PriorsError) as info:
        load(example_dir)
    text = str(info.value)
    assert len(info.value.problems) == 5, text
    for where in ("findings.csv, row", "causes.csv, row", "history.csv, row", "orders.csv, row"):
        assert where in text
    # a row naming no valid node hides no check: sex has lost its male row
    assert "history.csv: sex|prior|=: missing state(s) male" in text


def test_a_row_that_failed_hides_only_the_checks_that_need_it(example_dir):
    path = example_dir / "findings.csv"
    _edit(path, ONSET_STROKE, value="")  # its distribution cannot be summed
    match = {"node": "onset", "kind": "link", "parent": "sciatica", "state": "gradual"}
    _edit(path, match, value="0.75", low="0.5", high="0.9")  # another one of the same node can
    text = _problems(example_dir)
    assert text.count("\n  - ") == 2, text
    assert "onset|link|stroke=present|sudden value: is missing" in text
    assert "onset|link|sciatica=present: values must sum to 1" in text


def test_an_unreadable_source_row_hides_the_checks_of_its_id(example_dir):
    _set_note_raw(example_dir / "sources.csv", 2, '"reasoning left open')
    with pytest.raises(PriorsError, match=r"sources.csv, row 2: quote: ") as info:
        load(example_dir)
    assert len(info.value.problems) == 1, str(info.value)
