"""No silent green: three outcomes, unread facts as errors, an empty scope said out loud, messages a person reads."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys

import pytest

from pytest_iam import findings
from pytest_iam.checks import (ERROR, FAIL, PASS, WAIVED, CheckDefinitionError, CheckError, CheckResult, Finding,
                               Library, parse_check, register_predicates, run_check)
from pytest_iam.findings import reads
from pytest_iam.inventory import (UTC, AccessKey, AttachedPolicy, Bucket, InlinePolicy, Inventory, Organization,
                                  PasswordPolicy, PublicAccessBlock, Root, Unread, User)

NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)
ACCT = "111122223333"
LIB = Library.load()
PUBLIC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                  "Resource": "arn:aws:s3:::b/*"}]}


def gap(source: str, operation: str, permission: str) -> Unread:
    return Unread(source, operation, "AccessDenied", permission, f"grant {permission}")


REPORT = gap("credential_report", "iam:GetCredentialReport", "iam:GetCredentialReport")


def inventory(**kw) -> Inventory:
    kw.setdefault("organization", Organization(status="not_in_organization"))
    return Inventory(account_name="t", account_id=ACCT, collected_at=NOW, **kw)


def user(name: str, **kw) -> User:
    return User(name=name, arn=f"arn:aws:iam::{ACCT}:user/{name}", id=f"AIDA{name.upper()}", path="/",
                created=kw.pop("created", NOW - dt.timedelta(days=400)), **kw)


def result_with(*statuses: str) -> CheckResult:
    check = LIB.get("iam-root-mfa")
    return CheckResult(check=check, account="t", account_id=ACCT, params={},
                       findings=tuple(Finding(check.id, f"arn:{i}", f"r{i}", s, f"reason {i}")
                                      for i, s in enumerate(statuses)))


# --- three outcomes ----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("statuses, outcome", [
    ((), PASS), ((PASS,), PASS), ((PASS, WAIVED), PASS), ((ERROR,), ERROR), ((PASS, ERROR), ERROR),
    ((FAIL,), FAIL), ((ERROR, FAIL), FAIL), ((WAIVED, FAIL, PASS), FAIL),
])
def test_outcome_is_fail_then_error_then_pass(statuses, outcome) -> None:
    result = result_with(*statuses)
    assert result.outcome == outcome
    assert result.passed is (outcome == PASS)
    assert bool(result) is (outcome == PASS)


def test_a_failing_result_lists_its_failures_and_its_errors_one_per_line() -> None:
    result = result_with(FAIL, ERROR, PASS)
    result = CheckResult(check=result.check, account="t", account_id=ACCT, params={},
                         findings=result.findings + (Finding("x", "arn:z", "z", FAIL, "two\nlines"),))
    lines = result.table().splitlines()
    assert lines[0].endswith(": 2 failed, 1 error, 4 evaluated")
    assert [line.split()[0] for line in lines[1:]] == ["FAIL", "ERROR", "FAIL"]
    assert len(lines) == 4 and lines[-1].endswith(" two lines")


def test_summary_counts_read_correctly() -> None:
    assert result_with(ERROR, ERROR).summary().endswith(": 0 failed, 2 errors, 2 evaluated")
    assert result_with(WAIVED).summary().endswith(": 0 failed, 1 evaluated, 1 waived")


# --- unread facts are errors, never defaults ---------------------------------------------------------------------------

def test_an_unread_credential_report_makes_every_user_an_error_not_a_pass() -> None:
    inv = inventory(unread=(REPORT,), users=(user("a", password_enabled=None, mfa_active=None, mfa_devices=None,
                                                  access_keys=None),))
    for check_id in ("iam-user-console-mfa", "iam-unused-credentials", "iam-user-single-active-key"):
        result = LIB.run(check_id, inv)
        assert result.outcome == ERROR, result.table()
        assert [f.status for f in result.findings] == [ERROR]
        reason = result.findings[0].reason
        assert "could not be read (iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport)" in reason
        assert result.nothing_to_evaluate is None


def test_a_check_that_reads_no_unread_field_still_judges() -> None:
    inv = inventory(unread=(REPORT,), users=(user("a", password_enabled=None, mfa_active=None, mfa_devices=None,
                                                  access_keys=None, attached_policies=(AttachedPolicy("arn:p", "P"),)),))
    result = LIB.run("iam-user-no-direct-policies", inv)
    assert [f.status for f in result.findings] == [FAIL]
    assert result.findings[0].reason == "managed policies attached directly: P"


def test_an_unread_password_policy_is_an_error_not_no_policy() -> None:
    inv = inventory(unread=(gap("password_policy", "iam:GetAccountPasswordPolicy", "iam:GetAccountPasswordPolicy"),))
    result = LIB.run("iam-password-policy", inv)
    assert result.outcome == ERROR
    assert result.findings[0].reason == ("password_policy could not be read (iam:GetAccountPasswordPolicy: "
                                         "AccessDenied; grant iam:GetAccountPasswordPolicy)")


def test_an_unread_bucket_policy_is_an_error_and_select_still_leaves_other_buckets_out() -> None:
    denied = gap("policy", "s3:GetBucketPolicy", "s3:GetBucketPolicy")
    inv = inventory(buckets=(Bucket(name="logs-1", arn="arn:aws:s3:::logs-1", region="us-east-1", unread=(denied,)),
                             Bucket(name="web", arn="arn:aws:s3:::web", region="us-east-1", unread=(denied,)),
                             Bucket(name="ok", arn="arn:aws:s3:::ok", region="us-east-1")))
    result = LIB.run("s3-no-public-bucket-policy", inv)
    assert {f.label: f.status for f in result.findings} == {"bucket/logs-1": ERROR, "bucket/web": ERROR,
                                                             "bucket/ok": PASS}
    check = parse_check({
        "id": "team-logs", "title": "Log buckets have a policy", "severity": "low", "resource": "buckets",
        "rationale": "r", "remediation": "r", "frameworks": {"team": ["1"]},
        "select": [{"key": "name", "op": "regex", "value": "logs-.*"}],
        "require": [{"key": "policy", "value": "present"}]}, "team.yaml")
    result = run_check(check, inv)
    assert [(f.label, f.status) for f in result.findings] == [("bucket/logs-1", ERROR)]
    assert result.findings[0].reason == "policy could not be read (s3:GetBucketPolicy: AccessDenied; grant s3:GetBucketPolicy)"


def test_the_account_block_public_access_unread_matters_only_when_the_bucket_is_public_by_itself() -> None:
    unread_pab = gap("account_public_access_block", "s3control:GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock")
    inv = inventory(unread=(unread_pab,), buckets=(
        Bucket(name="open", arn="arn:aws:s3:::open", region="us-east-1", policy=PUBLIC),
        Bucket(name="blocked", arn="arn:aws:s3:::blocked", region="us-east-1", policy=PUBLIC,
               public_access_block=PublicAccessBlock(restrict_public_buckets=True)),
        Bucket(name="none", arn="arn:aws:s3:::none", region="us-east-1")))
    result = LIB.run("s3-no-public-bucket-policy", inv)
    assert {f.label: f.status for f in result.findings} == {"bucket/open": ERROR, "bucket/blocked": PASS,
                                                             "bucket/none": PASS}
    assert "s3control:GetPublicAccessBlock: AccessDenied; grant s3:GetAccountPublicAccessBlock" in result.errors[0].reason


def test_an_unreadable_organization_is_an_error_for_scp_predicates() -> None:
    org = Organization(status="unavailable", reason="organizations:ListPolicies: AccessDenied; grant organizations:ListPolicies")
    result = LIB.run("org-scps-present", inventory(organization=org))
    assert result.outcome == ERROR
    assert result.findings[0].reason.endswith("organizations:ListPolicies: AccessDenied; grant organizations:ListPolicies")


def test_a_team_predicate_reads_everything_unless_it_declares_its_fields() -> None:
    def no_console(resource, inventory, params):
        return "has a console password" if resource["password_enabled"] else None

    @reads("groups")
    def in_admins(resource, inventory, params):
        return "in admins" if "admins" in resource["groups"] else None

    register_predicates({"team_no_console": no_console, "team_in_admins": in_admins})
    inv = inventory(unread=(REPORT,), users=(user("a", groups=("admins",), password_enabled=None, mfa_active=None,
                                                  mfa_devices=None, access_keys=None),))

    def team(predicate: str):
        return parse_check({"id": "team-x", "title": "A check", "severity": "low", "resource": "users",
                            "rationale": "r", "remediation": "r", "frameworks": {"team": ["1"]},
                            "require": [{"predicate": predicate}]}, "team.yaml")

    assert [f.status for f in run_check(team("team_no_console"), inv).findings] == [ERROR]
    assert [(f.status, f.reason) for f in run_check(team("team_in_admins"), inv).findings] == [(FAIL, "in admins")]


# --- nothing to evaluate -----------------------------------------------------------------------------------------------

def test_nothing_to_evaluate_says_why() -> None:
    empty = LIB.run("iam-user-console-mfa", inventory())
    assert empty.outcome == PASS and empty.evaluated == 0
    assert empty.nothing_to_evaluate == "the account has no IAM users"
    assert empty.summary().endswith("0 failed, 0 evaluated; nothing to evaluate: the account has no IAM users")
    cli = inventory(users=tuple(user(f"cli{i}") for i in range(12)))
    result = LIB.run("iam-user-console-mfa", cli)
    assert result.nothing_to_evaluate == "none of the 12 users matched select (password_enabled eq true)"
    assert LIB.run("iam-access-key-rotation", cli).nothing_to_evaluate == "no IAM user has an access key"
    judged = LIB.run("iam-user-console-mfa", inventory(users=(user("web", password_enabled=True),)))
    assert judged.nothing_to_evaluate is None


def test_guardrails_outside_an_organization_fail_like_scps_present() -> None:
    inv = inventory(organization=Organization(status="not_in_organization"))
    result = LIB.run("org-scp-guardrails", inv)
    assert result.outcome == FAIL
    assert [(f.resource, f.label, f.status, f.reason) for f in result.findings] == [
        (f"arn:aws:iam::{ACCT}:root", f"account {ACCT}", FAIL,
         "the account is not in an organization: the guardrail SCPs cannot exist")]
    assert result.nothing_to_evaluate == "the account is not in an organization"
    assert LIB.run("org-scps-present", inv).outcome == FAIL


def test_an_empty_scope_declaration_is_in_the_schema() -> None:
    base = {"id": "team-x", "title": "A check", "severity": "low", "resource": "roles", "rationale": "r",
            "remediation": "r", "frameworks": {"team": ["1"]}, "require": [{"key": "name", "value": "present"}]}
    with pytest.raises(CheckDefinitionError, match="empty_scope"):
        parse_check({**base, "empty_scope": {"fails": "x"}}, "team.yaml")
    check = parse_check({**base, "empty_scope": {"fail": "{why}, and a role is required"}}, "team.yaml")
    result = run_check(check, inventory())
    assert [f.reason for f in result.failed] == ["the account has no IAM roles, and a role is required"]


# --- messages a person reads -------------------------------------------------------------------------------------------

def test_no_password_policy_is_said_once_without_none() -> None:
    result = LIB.run("iam-password-policy", inventory(password_policy=None),
                     {"require_symbols": True, "max_age_days": 90})
    assert [f.reason for f in result.failed] == [
        "no password policy is set (IAM then accepts any password of 8 or more characters)"]
    weak = LIB.run("iam-password-policy", inventory(password_policy=PasswordPolicy(minimum_password_length=8)))
    assert weak.failed[0].reason == ("the minimum password length is 8, at least 14 is required; "
                                     "password reuse prevention is not set, at least 24 is required")


def test_reasons_render_values_for_people() -> None:
    inv = inventory(users=(user("a", inline_policies=(InlinePolicy("x", {}), InlinePolicy("y", {}))),),
                    root=Root(arn=f"arn:aws:iam::{ACCT}:root", mfa_active=False))
    assert LIB.run("iam-user-no-direct-policies", inv).failed[0].reason == "inline user policies: x, y"
    check = parse_check({"id": "team-x", "title": "A check", "severity": "low", "resource": "root",
                         "rationale": "r", "remediation": "r", "frameworks": {"team": ["1"]},
                         "require": [{"key": "mfa_active", "op": "eq", "value": True},
                                     {"key": "password_last_used", "value": "present"},
                                     {"key": "access_keys", "op": "eq", "value": [1]},
                                     {"key": "mfa_active", "value": "absent"}]}, "team.yaml")
    reason = run_check(check, inv).failed[0].reason
    assert reason == ("mfa_active is false, expected true; password_last_used is not set; access_keys is none, "
                      "expected 1; mfa_active is set (false), expected it not to be")


def test_an_active_key_without_a_date_says_so() -> None:
    inv = inventory(users=(user("a", access_keys=(AccessKey(slot=1, active=True, last_rotated=None, last_used=None),)),))
    result = LIB.run("iam-access-key-rotation", inv)
    assert result.failed[0].reason == "last_rotated is not set, so its age cannot be judged"


def test_shipped_reasons_carry_no_python_reprs() -> None:
    inv = inventory(
        root=Root(arn=f"arn:aws:iam::{ACCT}:root", mfa_active=True, access_keys=(
            AccessKey(slot=1, active=True, last_rotated=NOW - dt.timedelta(days=3), last_used=None),)),
        users=(user("a", password_enabled=True, access_keys=(
            AccessKey(slot=1, active=True, last_rotated=NOW - dt.timedelta(days=300), last_used=None),
            AccessKey(slot=2, active=True, last_rotated=NOW - dt.timedelta(days=300), last_used=None)),
            attached_policies=(AttachedPolicy("arn:p", "P"),)),),
        password_policy=PasswordPolicy(minimum_password_length=6),
        buckets=(Bucket(name="b", arn="arn:aws:s3:::b", region="us-east-1", policy=PUBLIC),))
    for check in LIB:
        for finding in run_check(check, inv).findings:
            for bad in ("None", "True", "False", "['", "[{", "{'", "datetime", "'arn"):
                assert bad not in finding.reason, (check.id, finding.reason)


def test_unknown_check_did_you_mean_is_one_sentence() -> None:
    with pytest.raises(CheckDefinitionError) as caught:
        LIB.get("iam-root-mfaa", where="team.yaml: controls[0].check")
    assert str(caught.value) == ("team.yaml: controls[0].check: unknown check 'iam-root-mfaa'; "
                                 "did you mean 'iam-root-mfa'?")


def test_readable_and_did_you_mean() -> None:
    assert findings.readable(None) == "not set"
    assert findings.readable([True, None, {"name": "P", "arn": "arn:p"}]) == "true, not set, P"
    assert findings.readable(90.54) == "90.5" and findings.readable(90.0) == "90"
    assert findings.days(1) == "1 day" and findings.days(45.5) == "45.5 days"
    assert findings.did_you_mean("grups", ["groups", "users"]) == "did you mean 'groups'?"
    assert findings.did_you_mean("zzz", ["groups"]) == ""
    assert findings.either(["a", "b", "c"]) == "'a', 'b' or 'c'"
    assert findings.plural(1, "check") == "1 check" and findings.plural(2, "policy", "policies") == "2 policies"


# --- one floor down ----------------------------------------------------------------------------------------------------

def test_predicates_no_longer_import_checks() -> None:
    code = "import sys, pytest_iam.predicates; print('pytest_iam.checks' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


def test_the_old_import_paths_still_work() -> None:
    assert CheckError is findings.CheckError and Finding is findings.Finding
    assert (PASS, FAIL, WAIVED, ERROR) == (findings.PASS, findings.FAIL, findings.WAIVED, findings.ERROR)
    assert CheckDefinitionError is findings.CheckDefinitionError
