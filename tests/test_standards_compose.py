"""Standards that compose (``extends:``) and the severity gate (``--iam-fail-on``), run as a user would: against the
demo account's snapshot, offline."""

from __future__ import annotations

from pathlib import Path

import pytest

from pytest_iam.checks import Library
from pytest_iam.standards import StandardError, load_standard
from support import junit_case_list, one_line_error

LIB = Library.load()

OVERLAY = """\
standard: acme-cis
extends: cis-aws-foundations
controls:
  - {id: cis-1.13, with: {max_age_days: 30}}
  - {id: cis-1.12, skip: "one key per user is enforced by the SCIM sync (RISK-12)"}
  - {id: cis-1.4, severity: low}
  - {id: ACME-7, check: iam-user-console-mfa, severity: critical}
"""


def _by_control(path: Path) -> dict:
    return {c["props"]["control"]: c for c in junit_case_list(path) if "control" in c["props"]}


def test_overlay_overrides_skips_and_adds(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    pytester.path.joinpath("iam_acme.yaml").write_text(OVERLAY)
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--junitxml=out.xml", "-rs")
    cases = _by_control(pytester.path / "out.xml")
    base = load_standard(Path(LIB.checks["iam-root-mfa"].source).parent / "standards" / "cis-aws-foundations.yaml", LIB)
    assert set(cases) == {c.id for c in base.controls} | {"ACME-7"}
    rotation = cases["cis-1.13"]["props"]
    assert rotation["parameters"] == '{"max_age_days":30}' and rotation["overridden_in"] == "acme-cis"
    assert rotation["standard"] == "acme-cis" and cases["cis-1.13"]["outcome"] == "failed"
    assert cases["cis-1.4"]["props"]["severity"] == "low"
    assert cases["cis-1.11"]["props"].get("overridden_in") is None  # untouched controls say nothing of overlays
    skipped = cases["cis-1.12"]
    assert skipped["outcome"] == "skipped"
    assert skipped["props"]["outcome"] == "skipped"
    assert skipped["props"]["skip_reason"] == "one key per user is enforced by the SCIM sync (RISK-12)"
    added = cases["ACME-7"]["props"]
    assert added["check"] == "iam-user-console-mfa" and added["severity"] == "critical"
    result.stdout.fnmatch_lines([
        "*skipped on purpose: cis-1.12: one key per user is enforced by the SCIM sync (RISK-12)",
        "SKIPPED [[]1[]] iam_acme.yaml:5: cis-1.12 skipped by the standard: one key per user*(RISK-12)",
    ])
    # the JUnit <skipped> element carries the reason for a reader of the XML alone
    xml = (pytester.path / "out.xml").read_text()
    assert 'message="cis-1.12 skipped by the standard: one key per user is enforced by the SCIM sync (RISK-12)"' in xml


def test_override_of_an_unknown_control_stops_the_run(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    pytester.path.joinpath("iam_acme.yaml").write_text(
        "extends: cis-aws-foundations\ncontrols:\n  - {id: cis-1.14}\n  - {id: cis-1.133, with: {max_age_days: 30}}\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    one_line_error(result, "iam_acme.yaml: controls[1].id: no control 'cis-1.133' in the extended standard "
                         "cis-aws-foundations", "did you mean 'cis-1.13'?")


def test_override_cannot_change_the_check(tmp_path: Path) -> None:
    path = tmp_path / "iam_a.yaml"
    path.write_text("extends: cis-aws-foundations\ncontrols:\n  - {id: cis-1.13, check: iam-root-mfa}\n")
    with pytest.raises(StandardError, match=r"controls\[0\]\.check: control 'cis-1.13' of the extended standard runs "
                                            r"iam-access-key-rotation"):
        load_standard(path, LIB)


def test_unknown_base_names_the_shipped_ones(tmp_path: Path) -> None:
    path = tmp_path / "iam_a.yaml"
    path.write_text("extends: cis-aws-foundation\n")
    with pytest.raises(StandardError, match=r"iam_a.yaml: extends: no shipped standard named 'cis-aws-foundation'.*"
                                            r"did you mean 'cis-aws-foundations'\?"):
        load_standard(path, LIB)


def test_chains_merge_and_waivers_of_every_level_apply(tmp_path: Path) -> None:
    (tmp_path / "base").mkdir()
    (tmp_path / "base" / "org.yaml").write_text("""\
standard: org-base
controls:
  - {id: ORG-1, check: iam-access-key-rotation, with: {max_age_days: 90}}
  - {id: ORG-2, check: iam-user-console-mfa}
waivers:
  - {control: ORG-1, resources: ["arn:aws:iam::*:user/svc-ci"], reason: vendor key, approved_by: sec, expires: 2099-01-01}
""")
    (tmp_path / "team.yaml").write_text("""\
standard: team
extends: base/org.yaml
controls:
  - {id: ORG-1, with: {max_age_days: 60}}
  - {id: TEAM-1, check: iam-root-mfa}
waivers:
  - {control: ORG-2, resources: ["arn:aws:iam::*:user/bob"], reason: travelling, approved_by: sec, expires: 2099-01-01}
""")
    (tmp_path / "iam_app.yaml").write_text("""\
standard: app
extends: team.yaml
controls:
  - {id: ORG-1, severity: high}
  - {id: TEAM-1, skip: covered by the organization's root-user process}
""")
    standard = load_standard(tmp_path / "iam_app.yaml", LIB)
    controls = {c.id: c for c in standard.controls}
    assert list(controls) == ["ORG-1", "ORG-2", "TEAM-1"]
    assert controls["ORG-1"].params == {"max_age_days": 60} and controls["ORG-1"].severity == "high"
    assert controls["ORG-1"].overridden_in == ("team", "app")
    assert controls["TEAM-1"].skip == "covered by the organization's root-user process"
    assert [w.source for w in standard.waivers] == ["org.yaml: waivers[0]", "team.yaml: waivers[0]"]
    assert standard.extends == ("team", "org-base")
    assert [p.name for p in standard.files] == ["iam_app.yaml", "team.yaml", "org.yaml"]


def test_cycles_are_an_error(tmp_path: Path) -> None:
    (tmp_path / "a.yaml").write_text("extends: b.yaml\n")
    (tmp_path / "b.yaml").write_text("extends: iam_c.yaml\n")
    (tmp_path / "iam_c.yaml").write_text("extends: a.yaml\n")
    with pytest.raises(StandardError, match=r"b.yaml: extends: the chain of standards loops "
                                            r"\(iam_c.yaml -> a.yaml -> b.yaml -> iam_c.yaml\)"):
        load_standard(tmp_path / "iam_c.yaml", LIB)
    (tmp_path / "self.yaml").write_text("extends: self.yaml\n")
    with pytest.raises(StandardError, match="loops"):
        load_standard(tmp_path / "self.yaml", LIB)


def test_a_waiver_may_name_a_control_of_the_base(tmp_path: Path) -> None:
    (tmp_path / "base.yaml").write_text("controls:\n  - {id: ORG-KEYS, check: iam-access-key-rotation}\n")
    path = tmp_path / "iam_a.yaml"
    path.write_text("extends: base.yaml\nwaivers:\n  - {control: ORG-KEYS, resources: ['*'], reason: none yet, "
                    "approved_by: sec, expires: 2099-01-01}\n  - {control: ORG-KEY, resources: ['*'], reason: typo, "
                    "approved_by: sec, expires: 2099-01-01}\n")
    assert len(load_standard(path.parent / "base.yaml", LIB).controls) == 1
    with pytest.raises(StandardError, match=r"waivers\[1\]\.control: no control 'ORG-KEY' in this standard; did you "
                                            r"mean 'ORG-KEYS'\?"):
        load_standard(path, LIB)


def test_a_standard_without_extends_still_needs_controls(tmp_path: Path) -> None:
    path = tmp_path / "iam_a.yaml"
    path.write_text("standard: empty\ncontrols: []\n")
    with pytest.raises(StandardError, match="needs at least one control"):
        load_standard(path, LIB)
    path.write_text("controls:\n  - {id: X-1}\n")
    with pytest.raises(StandardError, match=r"controls\[0\]: a control needs a check"):
        load_standard(path, LIB)


# --- the severity gate -------------------------------------------------------------------------------------------------

GATE_STANDARD = """\
standard: gate
controls:
  - {id: KEYS, check: iam-access-key-rotation}          # medium: fails on the demo
  - {id: DIRECT, check: iam-user-no-direct-policies}    # low: fails on the demo
  - {id: ROOT-MFA, check: iam-root-mfa}                 # critical: passes on the demo
"""


def test_failures_below_the_gate_are_reported_but_do_not_fail_the_run(pytester: pytest.Pytester,
                                                                      demo_snapshot: Path) -> None:
    pytester.path.joinpath("iam_gate.yaml").write_text(GATE_STANDARD)
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-fail-on=high", "--junitxml=out.xml")
    assert result.ret == pytest.ExitCode.OK, result.stdout.str()
    result.assert_outcomes(failed=2, passed=1)
    cases = _by_control(pytester.path / "out.xml")
    assert cases["KEYS"]["outcome"] == "failed" and cases["KEYS"]["props"]["gated"] == "below high"
    assert cases["DIRECT"]["props"]["gated"] == "below high"
    assert "gated" not in cases["ROOT-MFA"]["props"]
    result.stdout.fnmatch_lines([
        "*gated: 2 failing controls below high (medium 1, low 1) reported, not failing the exit code; the run passes on them",
        "*gated: demo DIRECT (low)", "*gated: demo KEYS (medium)",
    ])


def test_the_gate_from_the_ini_and_failures_at_or_above_it(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    pytester.path.joinpath("iam_gate.yaml").write_text(GATE_STANDARD)
    pytester.makeini("[pytest]\niam_fail_on = medium\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--junitxml=out.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    cases = _by_control(pytester.path / "out.xml")
    assert "gated" not in cases["KEYS"]["props"] and cases["DIRECT"]["props"]["gated"] == "below medium"
    result.stdout.fnmatch_lines(["*gated: 1 failing control below medium (low 1)*the run fails on 1 other failure*"])
    # the option wins over the ini; the default gate is info: every failure fails the run
    assert pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-fail-on=critical").ret == 0


def test_errors_always_fail_the_run(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    pytester.path.joinpath("iam_gate.yaml").write_text(GATE_STANDARD)
    pytester.makepyfile(test_more="def test_broken():\n    assert False\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-fail-on=critical")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # a failing Python test is never gated


def test_a_misspelt_gate_is_a_one_line_error(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-fail-on=hihg")
    one_line_error(result, "--iam-fail-on: 'hihg' is not a severity (critical, high, medium, low, info); did you mean 'high'?")
