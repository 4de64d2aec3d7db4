"""Tests for ``legnumb export``: BIF and XMLBIF written with pgmpy's writers read back exactly.

pgmpy 1.1 prints every probability with ``str(float)``, the shortest decimal that reads back
as the same float64, so the tables read back bit for bit and the posteriors agree to rounding
(we require 1e-12).
"""

from __future__ import annotations

import stat

import numpy as np
import pytest

from legnumb.cli.main import main
from legnumb.network.bayesnet import extract_tables, read_network, reference_query
from tests.cli.commands.support import FullDisk

# Few observed findings: pgmpy's variable elimination on the v2 network (401 nodes) is fast
# with sparse evidence and takes about a minute with a dozen observed findings.
EVIDENCE = {
    "age_group": "40_to_64",
    "sex": "female",
    "onset": "sudden",
    "laterality": "one_leg",
    "face_arm_or_speech": "yes",
    "distribution": "whole_leg",
}


@pytest.mark.parametrize("fmt", ["bif", "xmlbif"])
def test_export_reads_back_with_identical_posteriors(model, tmp_path, capsys, monkeypatch, fmt):
    monkeypatch.setattr("legnumb.cli.commands.export.model_from_args", lambda args: model)
    path = tmp_path / f"legnumb.{fmt}"
    assert main(["export", "--format", fmt, "-o", str(path)]) == 0
    # 49 contract columns + 24 causes, plus the auxiliary nodes of the divorced noisy-MAX
    # findings (a finding with n parent causes has n - 1 of them)
    n_aux = sum(max(len(f.parents) - 1, 0) for f in model.priors.network().findings)
    assert n_aux > 0
    assert (
        f"wrote {fmt.upper()} network ({73 + n_aux} nodes, of which {n_aux} auxiliary "
        "noisy-MAX nodes;" in capsys.readouterr().out
    )
    bn = read_network(path, fmt=fmt)
    assert set(bn.nodes()) == set(model.network.nodes())
    assert len([n for n in bn.nodes() if "_max" in n]) == n_aux
    assert set(bn.edges()) == set(model.network.edges())
    back = {c.variable: c for c in extract_tables(bn)}
    for cpt in extract_tables(model.network):
        other = back[cpt.variable]
        assert other.scope == cpt.scope
        assert other.states == cpt.states
        np.testing.assert_array_equal(other.values, cpt.values)  # printed at full precision
    want = reference_query(model.network, list(model.causes), EVIDENCE)
    got = reference_query(bn, list(model.causes), EVIDENCE)
    for cause in model.causes:
        np.testing.assert_allclose(got[cause], want[cause], rtol=0, atol=1e-12)
    engine = model.diagnose(EVIDENCE).posteriors
    for cause in model.causes:
        assert got[cause][1] == pytest.approx(engine[cause], abs=1e-9)


def test_export_errors_are_exit_2(tmp_path, capsys):
    assert main(["export", "--format", "bif", "-o", str(tmp_path)]) == 2
    assert "expected a file name; got a directory" in capsys.readouterr().err
    assert main(["export", "--format", "bif", "-o", str(tmp_path / "no" / "x.bif")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["export", "--format", "net", "-o", str(tmp_path / "x.net")])
    assert "invalid choice: 'net'" in capsys.readouterr().err


def test_export_failure_leaves_the_old_file_and_no_temporary(tmp_path, capsys, monkeypatch):
    monkeypatch.setattr("legnumb.io.symptom_csv._open_temp", FullDisk)
    target = tmp_path / "net.bif"
    target.write_text("old\n")
    assert main(["export", "--format", "bif", "-o", str(target)]) == 2
    err = capsys.readouterr().err
    assert f"{target}: cannot write the output: No space left on device" in err
    assert "Traceback" not in err
    assert target.read_text() == "old\n"
    assert list(tmp_path.iterdir()) == [target]


def test_export_writes_through_a_symlink_and_keeps_its_mode(tmp_path, capsys):
    real = tmp_path / "real.xml"
    real.write_text("old\n")
    real.chmod(0o640)
    link = tmp_path / "net.xml"
    link.symlink_to(real)
    assert main(["export", "--format", "xmlbif", "-o", str(link)]) == 0
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8").startswith("<?xml")
    assert stat.S_IMODE(real.stat().st_mode) == 0o640
    assert sorted(p.name for p in tmp_path.iterdir()) == ["net.xml", "real.xml"]
