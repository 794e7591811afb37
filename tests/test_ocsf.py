"""Findings as OCSF Compliance Findings: every line valid against the OCSF class, and read back exactly.

The JSON Schema is derived from the OCSF 1.5.0 definition that the ``ocsf-json-schema`` package ships (no download at
run time): the ``compliance_finding`` class with the ``cloud`` profile, every referenced object embedded, unknown
attributes refused.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any, Dict

import jsonschema
import pytest
from ocsf_json_schema import OcsfJsonSchemaEmbedded, get_ocsf_schema

from pytest_iam.ocsf import (CLASS_UID, OCSF_VERSION, OcsfError, from_event, read_events, read_findings, to_event,
                             write_findings)
from support import junit_case_list, shipped_control_count


@pytest.fixture(scope="module")
def ocsf_validator() -> jsonschema.Draft202012Validator:
    schema = OcsfJsonSchemaEmbedded(get_ocsf_schema(version=OCSF_VERSION))
    assert schema.lookup_class_name_from_uid(CLASS_UID) == "compliance_finding"
    class_schema = schema.get_class_schema("compliance_finding", profiles=["cloud"])
    jsonschema.Draft202012Validator.check_schema(class_schema)
    return jsonschema.Draft202012Validator(class_schema)


def assert_valid(validator: jsonschema.Draft202012Validator, event: Dict[str, Any]) -> None:
    errors = sorted(validator.iter_errors(event), key=lambda e: list(e.path))
    assert not errors, [f"{'/'.join(map(str, e.path))}: {e.message}" for e in errors[:5]]


def _record(**changes: Any) -> Dict[str, Any]:
    record = {
        "account": "prod", "account_id": "123456789012", "standard": "acme-baseline", "control": "ACME-IAM-04",
        "check": "iam-access-key-rotation", "title": "Active access keys are rotated", "severity": "medium",
        "frameworks": {"cis-aws-foundations-v5.0": ["1.13"], "acme": ["K-1", "K-2"]}, "status": "fail",
        "resource": "arn:aws:iam::123456789012:user/svc-ci", "label": "user/svc-ci key 1",
        "reason": "active key 1 is 120 days old (limit 90)", "waiver": None,
        "remediation": "Rotate the key.", "time": "2026-03-01T10:00:00.250+00:00",
    }
    record.update(changes)
    return record


WAIVER = {"reason": "CI key rotation in progress", "approved_by": "security@acme.example", "expires": "2027-01-31",
          "ticket": "CHG-4411"}
CASES = {
    "fail": _record(),
    "pass": _record(status="pass", reason=""),
    "waived": _record(status="waived", waiver=WAIVER),
    "waived without ticket": _record(status="waived", waiver={**WAIVER, "ticket": None}),
    "error": _record(status="error", reason="iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport"),
    "no frameworks, no remediation, info": _record(frameworks={}, remediation="", severity="info"),
    "no account id": _record(account_id="", status="error", resource="prod", label="prod"),
    "markup in names": _record(label="<script>alert(1)</script>", reason='"><img src=x onerror=alert(1)>'),
    "s3 bucket": _record(resource="arn:aws:s3:::demo-corp-website", label="demo-corp-website", severity="critical"),
}


@pytest.mark.parametrize("name", sorted(CASES))
def test_each_kind_of_finding_is_a_valid_compliance_finding_and_reads_back_exactly(
        name: str, ocsf_validator: jsonschema.Draft202012Validator) -> None:
    record = CASES[name]
    event = to_event(record)
    assert_valid(ocsf_validator, event)
    assert event["class_uid"] == 2003 and event["category_uid"] == 2 and event["type_uid"] == 200301
    assert event["compliance"]["control"] == record["control"]
    assert event["compliance"]["standards"] == [record["standard"]]
    assert event["compliance"]["checks"][0]["uid"] == record["check"]
    assert event["resources"][0]["uid"] == record["resource"]
    assert from_event(json.loads(json.dumps(event))) == record


def test_the_verdict_is_in_ocsf_words_not_only_in_ours() -> None:
    """A consumer that knows OCSF and nothing of pytest-iam reads pass, fail, waived (suppressed) and error."""
    by_status = {name: to_event(CASES[name]) for name in ("pass", "fail", "waived", "error")}
    assert by_status["pass"]["compliance"]["status_id"] == 1
    assert by_status["fail"]["compliance"]["status_id"] == 3 and by_status["fail"]["status_id"] == 1
    assert by_status["waived"]["compliance"]["status_id"] == 3 and by_status["waived"]["status"] == "Suppressed"
    assert "CHG-4411" in by_status["waived"]["comment"] and "security@acme.example" in by_status["waived"]["comment"]
    assert by_status["error"]["compliance"]["status_id"] == 99
    assert by_status["fail"]["severity_id"] == 3 and by_status["fail"]["severity"] == "Medium"
    assert by_status["fail"]["compliance"]["requirements"] == ["acme K-1", "acme K-2", "cis-aws-foundations-v5.0 1.13"]
    assert by_status["fail"]["cloud"]["account"]["uid"] == "123456789012"
    assert by_status["fail"]["time"] == 1772359200250
    # stripped of our own ``unmapped`` part, an event still reads back to the same verdicts
    for status, event in by_status.items():
        bare = {k: v for k, v in event.items() if k != "unmapped"}
        assert from_event(bare)["status"] == status


def test_a_findings_file_round_trips_and_bad_lines_are_named(tmp_path: Path) -> None:
    path = tmp_path / "findings.ocsf.jsonl"
    records = [CASES[name] for name in sorted(CASES)]
    assert write_findings(path, records) == len(records)
    assert len(path.read_text().splitlines()) == len(records)
    assert read_findings(path) == records
    path.write_text(path.read_text() + "{not json\n")
    with pytest.raises(OcsfError, match=rf"findings.ocsf.jsonl:{len(records) + 1}: not JSON"):
        read_events(path)
    path.write_text(json.dumps({"class_uid": 2004}) + "\n")
    with pytest.raises(OcsfError, match="finding 1: not a pytest-iam compliance finding"):
        read_findings(path)


WAIVED_STANDARD = """
standard: acme-ocsf
controls:
  - {id: ACME-KEYS, check: iam-user-single-active-key}
  - {id: ACME-ROOT, check: iam-root-mfa}
  - {id: ACME-CONSOLE, check: iam-user-console-mfa}
waivers:
  - control: ACME-KEYS
    resources: ["arn:aws:iam::123456789012:user/svc-ci"]
    reason: second key during rotation
    approved_by: security@acme.example
    expires: 2099-01-31
    ticket: CHG-1
"""


def test_every_line_of_a_runs_findings_is_valid_and_the_count_is_the_runs_findings(
        pytester: pytest.Pytester, demo_snapshot: Path, ocsf_validator: jsonschema.Draft202012Validator) -> None:
    pytester.path.joinpath("iam_acme.yaml").write_text(WAIVED_STANDARD)
    pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-standard=cis-aws-foundations",
                                 "iam_acme.yaml", "--iam-evidence=out", "--junitxml=x.xml")
    events = read_events(pytester.path / "out" / "findings.ocsf.jsonl")
    for event in events:
        assert_valid(ocsf_validator, event)
    cases = junit_case_list(pytester.path / "x.xml")
    assert len(cases) == shipped_control_count() + 3  # the CIS standard and the three controls above
    evaluated = sum(int(case["props"]["evaluated"]) for case in cases)
    failed = sum(int(case["props"]["failed"]) for case in cases)
    waived = sum(int(case["props"]["waived"]) for case in cases)
    errors = sum(int(case["props"]["errors"]) for case in cases)
    passed = evaluated - failed - waived - errors
    statuses = [r["status"] for r in read_findings(pytester.path / "out" / "findings.ocsf.jsonl")]
    assert len(events) == passed + failed + waived + errors == evaluated
    assert (statuses.count("pass"), statuses.count("fail"), statuses.count("waived"), statuses.count("error")) == (
        passed, failed, waived, errors)
    assert waived == 1 and failed > 0 and passed > 0
    manifest = json.loads((pytester.path / "out" / "manifest.json").read_text())
    assert manifest["findings"] == {"pass": passed, "fail": failed, "waived": waived, "error": errors,
                                    "total": evaluated}
