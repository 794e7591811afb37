"""The main job, as a user runs it: the shipped CIS standard on the embedded demo account."""

from __future__ import annotations

import json
import re

import pytest

from support import junit_cases, suite_properties

CIS_EXPECTED = {
    # check id -> (outcome, failing resources on the demo account)
    "iam-root-no-access-keys": ("failed", {"arn:aws:iam::123456789012:root"}),
    "iam-root-mfa": ("passed", set()),
    "iam-root-hardware-mfa": ("failed", {"arn:aws:iam::123456789012:root"}),
    "iam-password-policy": ("failed", {"arn:aws:iam::123456789012:root"}),
    "iam-user-console-mfa": ("failed", {f"arn:aws:iam::123456789012:user/{n}" for n in
                                        ["bob", "contractor-1", "contractor-2", "contractor-3", "contractor-4"]}),
    "iam-unused-credentials": ("failed", {f"arn:aws:iam::123456789012:user/{n}" for n in
                                          ["carol", "erin", "svc-reports"]}),
    "iam-user-single-active-key": ("failed", {"arn:aws:iam::123456789012:user/svc-ci"}),
    "iam-access-key-rotation": ("failed", {"arn:aws:iam::123456789012:user/bob", "arn:aws:iam::123456789012:user/svc-ci"}),
    "iam-user-no-direct-policies": ("failed", {f"arn:aws:iam::123456789012:user/{n}" for n in ["frank", "grace", "heidi"]}),
    "iam-no-admin-policies": ("failed", {"arn:aws:iam::123456789012:policy/FullAdmin",
                                         "arn:aws:iam::123456789012:role/BreakGlass"}),
    "s3-account-public-access-block": ("failed", {"arn:aws:iam::123456789012:root"}),
    "s3-no-public-bucket-policy": ("failed", {"arn:aws:s3:::demo-corp-website", "arn:aws:s3:::demo-corp-uploads"}),
    "org-scps-present": ("failed", {"arn:aws:iam::123456789012:root"}),
}

# The S3 and EC2 side of CIS v5.0.0. The emulator makes the instance ids: ec2-instance-profile is matched by pattern.
CIS_S3_EXPECTED = {
    "s3-deny-insecure-transport": ("failed", {f"arn:aws:s3:::demo-corp-{n}" for n in
                                              ["website", "uploads", "partner-share", "archive", "dropbox"]}),
    "s3-mfa-delete": ("failed", {"arn:aws:s3:::demo-corp-partner-share"}),
    "s3-bucket-public-access-block": ("failed", {f"arn:aws:s3:::demo-corp-{n}" for n in
                                                 ["website", "uploads", "vpc-data", "partner-share", "archive",
                                                  "dropbox"]}),
}
CIS_EXPECTED.update(CIS_S3_EXPECTED)

# The rest of CIS v5.0.0 section 1. Access Analyzer is not served by the emulator: an error naming the permission.
CIS_IAM_EXPECTED = {
    "iam-security-contact": ("passed", set()),
    "iam-root-not-used": ("failed", {"arn:aws:iam::123456789012:root"}),
    "iam-no-key-at-console-setup": ("failed", {"arn:aws:iam::123456789012:user/judy"}),
    "iam-support-role": ("passed", set()),
    "iam-expired-server-certificates": ("failed", {"arn:aws:iam::123456789012:server-certificate/demo-corp-legacy"}),
    "iam-access-analyzer-enabled": ("error", set()),  # error_resources names the account
    "iam-no-cloudshell-full-access": ("failed", {"arn:aws:iam::123456789012:root"}),
}
CIS_EXPECTED.update(CIS_IAM_EXPECTED)
CIS_EXPECTED["iam-no-admin-policies"][1].add("arn:aws:iam::aws:policy/AdministratorAccess")  # CIS 1.15: attached
INSTANCE_CHECK = "ec2-instance-profile"
DEMO_BATCH_INSTANCE = re.compile(r"arn:aws:ec2:us-east-1:123456789012:instance/i-[0-9a-f]{17}")


def _check_results(cases: dict) -> dict:
    out = {}
    for name, case in cases.items():
        check = case["props"]["check"]
        out[check] = (case["outcome"], set(json.loads(case["props"]["failed_resources"])))
    return out


def test_cis_standard_on_demo_gives_the_seeded_verdicts(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--iam-account=demo", "--iam-standard=cis-aws-foundations",
                                          "--junitxml=evidence.xml", "-W", "error::pytest.PytestWarning")
    result.assert_outcomes(passed=3, failed=20, errors=1)
    cases = junit_cases(pytester.path / "evidence.xml")
    results = _check_results(cases)
    outcome, instances = results.pop(INSTANCE_CHECK)  # demo-batch-1: stopped, no instance profile
    assert outcome == "failed" and len(instances) == 1 and DEMO_BATCH_INSTANCE.fullmatch(instances.pop())
    assert results == CIS_EXPECTED
    # node ids end in <check-id>[<account>]
    assert set(cases) == {f"{check}[demo]" for check in [*CIS_EXPECTED, INSTANCE_CHECK]}
    result.stdout.fnmatch_lines([
        "*pytest-iam summary*",
        "demo (123456789012): 24 checks, 3 passed, 20 failed, 1 could not be evaluated, * read-only API calls",
        "  not collected: accessanalyzer:ListAnalyzers: UnknownOperationException: *",
        "  failed by severity: critical 2, high 6, medium 8, low 4",
        "  could not be evaluated by severity: medium 1",
        "  passed by severity: critical 1, medium 1, low 1",
    ])


def test_junit_properties_are_complete_evidence(pytester: pytest.Pytester) -> None:
    pytester.runpytest_inprocess("--iam-account=demo", "--iam-standard=cis-aws-foundations", "--junitxml=e.xml")
    cases = junit_cases(pytester.path / "e.xml")
    props = cases["iam-user-console-mfa[demo]"]["props"]
    for key in ("check", "account", "account_id", "severity", "frameworks", "evaluated", "failed",
                "failed_resources", "failed_resources_count", "snapshot_sha256"):
        assert key in props, key
    assert props["account"] == "demo" and props["account_id"] == "123456789012"
    assert props["severity"] == "high"
    assert json.loads(props["frameworks"]) == {"cis-aws-foundations-v5.0": ["1.9"],
                                               "aws-foundational-security-best-practices": ["IAM.5"]}
    assert props["failed"] == "5" and props["failed_resources_count"] == "5"
    assert int(props["evaluated"]) >= 50
    assert len(props["snapshot_sha256"]) == 64
    suite = dict(suite_properties(pytester.path / "e.xml"))
    assert suite["demo.caller_arn"].startswith("arn:aws:")
    assert suite["demo.collected_at"].endswith("+00:00")
    assert suite["demo.account_id"] == "123456789012"
    assert suite["pytest_iam_version"]
    assert suite["demo.snapshot_sha256"] == props["snapshot_sha256"]
    assert int(suite["demo.api_calls"]) > 0
    assert not [name for name in suite if name != "pytest_iam_version" and not name.startswith("demo.")]


def test_failure_message_is_a_table_of_resources_with_reasons(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--iam-account=demo", "--iam-standard=cis-aws-foundations")
    result.stdout.fnmatch_lines([
        "iam-access-key-rotation on demo (123456789012): 2 failed, * evaluated",
        "  FAIL   user/bob key 1     active key 1 is * days old (limit 90)",
        "  FAIL   user/svc-ci key 1  active key 1 is * days old (limit 90)",
    ])
    assert "Traceback" not in result.stdout.str()


def test_list_checks_prints_the_library(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--iam-list-checks")
    assert result.ret == 0
    result.stdout.fnmatch_lines(["ID*SEVERITY*RESOURCE*FRAMEWORKS*", "iam-access-key-rotation*medium*access_keys*",
                                 "*31 checks"])


POLICY_ENGINE_CHECKS = """
standard: engine-checks
controls:
  - check: iam-no-admin-policies
  - check: iam-role-external-trust
  - check: org-scp-guardrails
  - check: s3-no-public-bucket-policy
"""


def test_policy_engine_checks_find_exactly_the_seeded_violations(pytester: pytest.Pytester, demo_snapshot) -> None:
    pytester.path.joinpath("iam_engine.yaml").write_text(POLICY_ENGINE_CHECKS)
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--junitxml=e.xml")
    result.assert_outcomes(failed=4)
    found = _check_results(junit_cases(pytester.path / "e.xml"))
    assert found["iam-no-admin-policies"][1] == {"arn:aws:iam::123456789012:policy/FullAdmin",
                                                  "arn:aws:iam::aws:policy/AdministratorAccess",
                                                  "arn:aws:iam::123456789012:role/BreakGlass"}
    assert found["iam-role-external-trust"][1] == {"arn:aws:iam::123456789012:role/DeployFromPartner"}
    assert found["s3-no-public-bucket-policy"][1] == {"arn:aws:s3:::demo-corp-website", "arn:aws:s3:::demo-corp-uploads"}
    guardrails = found["org-scp-guardrails"][1]
    assert len(guardrails) == 1  # the sandbox account: its SCP limits regions but lets it leave the organization
    result.stdout.fnmatch_lines([
        "*FAIL*account demo-sandbox (*)*SCPs allow organizations:LeaveOrganization in us-east-1*",
    ])
    assert "demo-prod" not in result.stdout.str().split("org-scp-guardrails on demo")[1].split("remediation")[0]
