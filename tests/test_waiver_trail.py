"""The waiver trail: every waived finding with its approver, expiry and ticket; waivers that match nothing, or expire
soon, are named."""

from __future__ import annotations

import datetime as dt
import json
from pathlib import Path

import pytest

from pytest_iam.ocsf import read_findings
from support import junit_case_list, suite_properties

USER = "arn:aws:iam::123456789012:user/"


def _standard(today: dt.date) -> str:
    soon = today + dt.timedelta(days=5)
    return f"""
standard: acme-waivers
controls:
  - {{id: ACME-KEYS, check: iam-user-single-active-key}}
  - {{id: ACME-ROTATION, check: iam-access-key-rotation}}
  - {{id: ACME-DIRECT, check: iam-user-no-direct-policies}}
waivers:
  - control: ACME-KEYS
    resources: ["{USER}svc-ci"]
    reason: second key while the CI moves to OIDC
    approved_by: security@acme.example
    expires: 2099-01-31
    ticket: CHG-4411
  - control: ACME-ROTATION
    resources: ["{USER}bob"]
    reason: bob leaves at the end of the month
    approved_by: it-lead@acme.example
    expires: {soon.isoformat()}
  - control: ACME-DIRECT
    resources: ["{USER}former-*"]
    reason: former staff, accounts being closed
    approved_by: security@acme.example
    expires: 2099-01-31
    ticket: RISK-7
  - control: ACME-ROTATION
    resources: ["{USER}svc-ci"]
    reason: expired long ago
    approved_by: security@acme.example
    expires: 2020-01-01
"""


@pytest.fixture
def waiver_run(pytester: pytest.Pytester, demo_snapshot: Path):  # type: ignore[no-untyped-def]
    today = dt.date.today()
    pytester.path.joinpath("iam_acme.yaml").write_text(_standard(today))
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--junitxml=w.xml", "--iam-evidence=out")
    return result, pytester.path, today


def test_a_control_that_passes_only_by_a_waiver_carries_the_waiver(waiver_run) -> None:  # type: ignore[no-untyped-def]
    result, path, _ = waiver_run
    cases = {case["props"]["control"]: case for case in junit_case_list(path / "w.xml")}
    keys = cases["ACME-KEYS"]
    assert keys["outcome"] == "passed" and keys["props"]["outcome"] == "pass"
    assert keys["props"]["failed"] == "0" and keys["props"]["waived"] == "1"
    assert json.loads(keys["props"]["waived_resources"]) == [{
        "resource": f"{USER}svc-ci", "label": "user/svc-ci", "reason": "second key while the CI moves to OIDC",
        "approved_by": "security@acme.example", "expires": "2099-01-31", "ticket": "CHG-4411"}]
    rotation = cases["ACME-ROTATION"]  # bob waived (no ticket); svc-ci's waiver expired, so it fails again
    assert rotation["outcome"] == "failed"
    assert json.loads(rotation["props"]["failed_resources"]) == [f"{USER}svc-ci"]
    assert json.loads(rotation["props"]["waived_resources"]) == [{
        "resource": f"{USER}bob", "label": "user/bob key 1", "reason": "bob leaves at the end of the month",
        "approved_by": "it-lead@acme.example", "expires": rotation_expiry(waiver_run), "ticket": None}]
    assert "waived_resources" not in cases["ACME-DIRECT"]["props"]  # nothing waived there
    result.stdout.fnmatch_lines([
        "*pytest-iam audit trail*",
        f"waived: demo ACME-KEYS {USER}svc-ci until 2099-01-31, approved by security@acme.example, ticket CHG-4411: "
        "second key while the CI moves to OIDC",
        f"waived: demo ACME-ROTATION {USER}bob until {rotation_expiry(waiver_run)}, approved by it-lead@acme.example: "
        "bob leaves at the end of the month",
    ])


def rotation_expiry(waiver_run) -> str:  # type: ignore[no-untyped-def]
    return (waiver_run[2] + dt.timedelta(days=5)).isoformat()


def test_stale_and_expiring_waivers_are_named_in_the_summary_and_the_properties(waiver_run) -> None:  # type: ignore[no-untyped-def]
    result, path, _ = waiver_run
    result.stdout.fnmatch_lines([
        f"stale waiver: acme-waivers: iam_acme.yaml: waivers?2? (control ACME-DIRECT, resources {USER}former-*) "
        "matches no resource of any account in the run",
        f"waiver expiring: acme-waivers: iam_acme.yaml: waivers?1? (control ACME-ROTATION, resources {USER}bob) "
        f"expires {rotation_expiry(waiver_run)} (in 5 days), approved by it-lead@acme.example",
    ])
    out = result.stdout.str()
    assert "expired long ago" not in out.split("pytest-iam audit trail")[1]  # an expired waiver is not "expiring"
    props = dict(suite_properties(path / "w.xml"))
    stale = json.loads(props["stale_waivers"])
    assert [(w["waiver"], w["control"], w["resources"], w["ticket"]) for w in stale] == [
        ("iam_acme.yaml: waivers[2]", "ACME-DIRECT", [f"{USER}former-*"], "RISK-7")]
    expiring = json.loads(props["expiring_waivers"])
    assert [(w["waiver"], w["expires"], w["approved_by"]) for w in expiring] == [
        ("iam_acme.yaml: waivers[1]", rotation_expiry(waiver_run), "it-lead@acme.example")]
    manifest = json.loads((path / "out" / "manifest.json").read_text())
    assert manifest["stale_waivers"] == stale and manifest["expiring_waivers"] == expiring


def test_the_bundle_records_every_waived_finding_with_its_waiver(waiver_run) -> None:  # type: ignore[no-untyped-def]
    _, path, _ = waiver_run
    waived = [r for r in read_findings(path / "out" / "findings.ocsf.jsonl") if r["status"] == "waived"]
    assert sorted((r["control"], r["resource"], r["waiver"]["approved_by"], r["waiver"]["ticket"]) for r in waived) == [
        ("ACME-KEYS", f"{USER}svc-ci", "security@acme.example", "CHG-4411"),
        ("ACME-ROTATION", f"{USER}bob", "it-lead@acme.example", None),
    ]
    assert all(r["waiver"]["reason"] and r["waiver"]["expires"] for r in waived)


def test_a_waiver_ticket_must_be_text(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    pytester.path.joinpath("iam_bad.yaml").write_text(
        "controls:\n  - {check: iam-root-mfa}\nwaivers:\n  - check: iam-root-mfa\n    resources: ['*']\n"
        "    reason: testing it\n    approved_by: me\n    expires: 2099-01-01\n    ticket: 4411\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*iam_bad.yaml*waivers*ticket*"])
