"""CIS AWS Foundations v5.0.0 section 1 beyond the credential basics, and the engine-decided IAM checks.

Collectors are tested against AWS-shaped answers with botocore's Stubber (Access Analyzer is not served by the
emulator); checks are tested on small inventories and on the demo account.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
from typing import Iterator

import boto3
import pytest
from botocore.stub import Stubber

from pytest_iam import checks
from pytest_iam.aws import ClientFactory
from pytest_iam.checks import Library, parse_check, run_check
from pytest_iam.collect.account import collect_account
from pytest_iam.collect.errors import ErrorLog
from pytest_iam.collect.iam import _tags
from pytest_iam.inventory import (ACCESS_ANALYZERS, SECURITY_CONTACT, UTC, AccessKey, AttachedPolicy, Inventory,
                                  ManagedPolicy, Organization, Role, Root, ServerCertificate, User)
from pytest_iam.policy import open_trust
from pytest_iam.resources import RESOURCE_TYPES
from support import REPO

ACCT = "111122223333"
NOW = dt.datetime(2026, 6, 1, 12, tzinfo=UTC)
LIB = Library.load()
ROOT_ARN = f"arn:aws:iam::{ACCT}:root"


def inventory(**kw) -> Inventory:
    base = dict(account_name="t", account_id=ACCT, collected_at=NOW, organization=Organization("not_in_organization"),
                security_contact_registered=True, access_analyzers=(), access_analyzer_regions=("us-east-1",))
    return Inventory(**{**base, **kw})


def days_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def role(name: str, trust: dict | None = None, **kw) -> Role:
    trust = trust or {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}, "Action": "sts:AssumeRole"}]}
    return Role(name=name, arn=f"arn:aws:iam::{ACCT}:role/{name}", id=f"AROA{name}", path=kw.pop("path", "/"),
                created=kw.pop("created", days_ago(400)), trust_policy=trust, **kw)


def user(name: str, **kw) -> User:
    return User(name=name, arn=f"arn:aws:iam::{ACCT}:user/{name}", id=f"AIDA{name}", path="/",
                created=kw.pop("created", days_ago(100)), **kw)


# --- collectors: the security contact and Access Analyzer (Stubber, AWS-shaped answers) ------------------------------


@pytest.fixture
def factory() -> ClientFactory:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return ClientFactory(session, endpoint_url="http://127.0.0.1:9", max_attempts=1)


@pytest.fixture
def stubs(factory: ClientFactory) -> Iterator[dict]:
    made = {"account": Stubber(factory.client("account")),
            "us-east-1": Stubber(factory.client("accessanalyzer", "us-east-1")),
            "eu-west-1": Stubber(factory.client("accessanalyzer", "eu-west-1"))}
    for stub in made.values():
        stub.activate()
    yield made
    for stub in made.values():
        stub.assert_no_pending_responses()
        stub.deactivate()


def _analyzer(name: str, region: str, status: str = "ACTIVE", type_: str = "ACCOUNT") -> dict:
    return {"arn": f"arn:aws:access-analyzer:{region}:{ACCT}:analyzer/{name}", "name": name, "type": type_,
            "createdAt": NOW, "status": status}


def _collect(factory: ClientFactory, regions=("us-east-1", "eu-west-1")) -> Inventory:
    errors = ErrorLog()
    facts = collect_account(factory, ACCT, "aws", errors, regions)
    return inventory(unread=errors.freeze_unread(), errors=errors.freeze(), **facts)


def test_security_contact_and_an_analyzer_in_each_region_pass(factory: ClientFactory, stubs: dict) -> None:
    stubs["account"].add_response("get_alternate_contact", {"AlternateContact": {
        "Name": "Security team", "EmailAddress": "security@example.com", "PhoneNumber": "+1-555-0100",
        "Title": "Security", "AlternateContactType": "SECURITY"}}, {"AlternateContactType": "SECURITY"})
    stubs["us-east-1"].add_response("list_analyzers", {"analyzers": [_analyzer("a", "us-east-1")]}, {})
    stubs["eu-west-1"].add_response("list_analyzers", {"analyzers": [_analyzer("org", "eu-west-1", type_="ORGANIZATION")]},
                                    {})
    inv = _collect(factory)
    assert inv.security_contact_registered is True and not inv.unread
    assert LIB.run("iam-security-contact", inv).outcome == "pass"
    assert LIB.run("iam-access-analyzer-enabled", inv).outcome == "pass"


def test_no_contact_is_a_fact_and_a_region_without_an_active_analyzer_fails(factory: ClientFactory,
                                                                              stubs: dict) -> None:
    # Account Management API: GetAlternateContact answers ResourceNotFoundException when none is registered
    stubs["account"].add_client_error("get_alternate_contact", service_error_code="ResourceNotFoundException",
                                      http_status_code=404)
    stubs["us-east-1"].add_response("list_analyzers", {"analyzers": [_analyzer("a", "us-east-1")]}, {})
    stubs["eu-west-1"].add_response("list_analyzers", {"analyzers": [
        _analyzer("off", "eu-west-1", status="DISABLED"),
        _analyzer("unused", "eu-west-1", type_="ACCOUNT_UNUSED_ACCESS")]}, {})
    inv = _collect(factory)
    assert inv.security_contact_registered is False and inv.gap(SECURITY_CONTACT) is None
    assert LIB.run("iam-security-contact", inv).failed[0].reason.startswith("no SECURITY alternate contact")
    result = LIB.run("iam-access-analyzer-enabled", inv)
    assert [f.reason for f in result.failed] == ["no ACTIVE ACCOUNT or ORGANIZATION analyzer in eu-west-1"]
    # an unused-access analyzer counts when the standard says so
    assert LIB.run("iam-access-analyzer-enabled", inv, {"types": []}).outcome == "pass"


def test_refused_reads_are_errors_naming_the_permission(factory: ClientFactory, stubs: dict) -> None:
    stubs["account"].add_client_error("get_alternate_contact", service_error_code="AccessDeniedException",
                                      http_status_code=403)
    stubs["us-east-1"].add_response("list_analyzers", {"analyzers": [_analyzer("a", "us-east-1")]}, {})
    stubs["eu-west-1"].add_client_error("list_analyzers", service_error_code="AccessDeniedException",
                                        http_status_code=403)
    inv = _collect(factory)
    assert inv.security_contact_registered is None and inv.access_analyzers is None
    contact = LIB.run("iam-security-contact", inv)
    assert contact.outcome == "error" and "grant account:GetAlternateContact" in contact.errors[0].reason
    analyzers = LIB.run("iam-access-analyzer-enabled", inv)
    assert analyzers.outcome == "error"
    # the IAM action prefix of Access Analyzer is access-analyzer (Service Authorization Reference)
    assert str(inv.gap(ACCESS_ANALYZERS)) == ("accessanalyzer:ListAnalyzers: AccessDeniedException; "
                                              "grant access-analyzer:ListAnalyzers")
    assert "grant access-analyzer:ListAnalyzers" in analyzers.errors[0].reason


def test_analyzers_are_listed_in_the_factory_region_when_the_account_names_none(factory: ClientFactory,
                                                                                stubs: dict) -> None:
    stubs["account"].add_response("get_alternate_contact", {"AlternateContact": {"EmailAddress": "s@example.com"}},
                                  {"AlternateContactType": "SECURITY"})
    stubs["us-east-1"].add_response("list_analyzers", {"analyzers": []}, {})
    inv = _collect(factory, regions=())
    assert inv.access_analyzer_regions == ("us-east-1",)
    assert LIB.run("iam-access-analyzer-enabled", inv).failed[0].reason.endswith("analyzer in us-east-1")


# --- tags -------------------------------------------------------------------------------------------------------------


def test_tag_values_are_redacted_at_collection() -> None:
    tags = _tags({"Tags": [{"Key": "owner", "Value": "web-team"}, {"Key": "ci", "Value": "AKIAIOSFODNN7EXAMPLE"}]})
    assert tags[0].value == "web-team"
    assert "AKIAIOSFODNN7EXAMPLE" not in tags[1].value


def _has_tag_example():
    spec = importlib.util.spec_from_file_location("acme_conftest", REPO / "conftest_examples" / "platform" / "conftest.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)  # type: ignore[union-attr]
    return module.has_tag


TAG_CHECK = {"id": "acme-owner-tag", "title": "Users carry an owner tag", "severity": "low", "resource": "users",
             "rationale": "Someone answers for every user.", "remediation": "aws iam tag-user --tags Key=owner,Value=TEAM",
             "frameworks": {"acme-security-policy": ["TAG-1"]},
             "require": [{"predicate": "has_tag", "with": {"key": "owner"}}]}


def test_the_example_has_tag_predicate_judges_collected_tags(demo_inventory: Inventory,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(checks._EXTRA_PREDICATES, "has_tag", _has_tag_example())
    checks.predicates.cache_clear()
    try:
        result = run_check(parse_check(TAG_CHECK, "acme.yaml"), demo_inventory)
        tagged = {f.label for f in result.findings if f.status == "pass"}
        assert tagged == {"user/alice", "user/judy"}
        assert "no 'owner' tag" in next(f.reason for f in result.failed if f.label == "user/bob")
        (alice,) = [v for v in RESOURCE_TYPES["users"](demo_inventory) if v["name"] == "alice"]
        assert alice["tags"] == {"owner": "platform-team", "cost-center": "4711"}
        # an inventory made before tags were collected: the tags are unread, never "no tags"
        old = inventory(users=(user("old"),))
        (finding,) = run_check(parse_check(TAG_CHECK, "acme.yaml"), old).findings
        assert finding.status == "error" and "tags could not be read" in finding.reason
    finally:
        checks.predicates.cache_clear()


# --- CIS 1.6, 1.10: from the credential report ----------------------------------------------------------------------


def test_root_used_within_the_window_fails_older_use_passes() -> None:
    used = Root(arn=ROOT_ARN, mfa_active=True, password_last_used=days_ago(3), access_keys=(
        AccessKey(slot=1, active=True, last_rotated=days_ago(400), last_used=days_ago(10)),))
    result = LIB.run("iam-root-not-used", inventory(root=used))
    assert result.failed[0].reason == ("the root password was used 3 days ago; root access key 1 was used 10 days ago "
                                       "(within the last 30 days)")
    old = Root(arn=ROOT_ARN, mfa_active=True, password_last_used=days_ago(31), access_keys=())
    assert LIB.run("iam-root-not-used", inventory(root=old)).outcome == "pass"
    assert LIB.run("iam-root-not-used", inventory(root=used), {"days": 2}).outcome == "pass"


def test_key_made_with_a_console_user_and_never_used_fails() -> None:
    created = days_ago(30)
    users = (
        user("setup", created=created, password_enabled=True,  # CIS 1.10: created with the user, last used N/A
             access_keys=(AccessKey(slot=1, active=True, last_rotated=created + dt.timedelta(seconds=5), last_used=None),)),
        user("used", created=created, password_enabled=True,
             access_keys=(AccessKey(slot=1, active=True, last_rotated=created, last_used=days_ago(1)),)),
        user("later", created=created, password_enabled=True,
             access_keys=(AccessKey(slot=1, active=True, last_rotated=days_ago(10), last_used=None),)),
        user("service", created=created, password_enabled=False,
             access_keys=(AccessKey(slot=1, active=True, last_rotated=created, last_used=None),)),
    )
    result = LIB.run("iam-no-key-at-console-setup", inventory(users=users))
    assert {f.label for f in result.failed} == {"user/setup"}
    assert result.evaluated == 3  # the user without a password is not a console user


# --- CIS 1.15, 1.16, 1.18, 1.21 ------------------------------------------------------------------------------------


ADMIN_DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
AWS_ADMIN = "arn:aws:iam::aws:policy/AdministratorAccess"


def test_attached_aws_managed_admin_fails_cis_but_not_the_customer_managed_only_scope() -> None:
    inv = inventory(
        users=(user("ops", attached_policies=(AttachedPolicy(AWS_ADMIN, "AdministratorAccess"),)),),
        groups=(), roles=(),
        policies=(ManagedPolicy(arn=AWS_ADMIN, name="AdministratorAccess", path="/", aws_managed=True,
                                default_version_id="v1", document=ADMIN_DOC, attachment_count=1),
                  ManagedPolicy(arn="arn:aws:iam::aws:policy/PowerUserAccess", name="PowerUserAccess", path="/",
                                aws_managed=True, default_version_id="v1", document=ADMIN_DOC)))  # not attached
    result = LIB.run("iam-no-admin-policies", inv)
    assert [f.resource for f in result.failed] == [AWS_ADMIN] and result.evaluated == 1
    scoped = LIB.run("iam-no-admin-policies", inv, {"customer_managed_only": True})  # Security Hub IAM.1
    assert scoped.outcome == "pass" and scoped.evaluated == 0


def test_attached_policy_missing_from_the_details_is_an_error_not_a_pass() -> None:
    inv = inventory(users=(user("ops", attached_policies=(AttachedPolicy(AWS_ADMIN, "AdministratorAccess"),)),),
                    groups=(), roles=(), policies=())
    result = LIB.run("iam-no-admin-policies", inv)
    assert result.outcome == "error" and "document could not be read" in result.errors[0].reason


def test_support_role_and_cloudshell_are_judged_from_attachments() -> None:
    support = AttachedPolicy("arn:aws:iam::aws:policy/AWSSupportAccess", "AWSSupportAccess")
    shell = AttachedPolicy("arn:aws:iam::aws:policy/AWSCloudShellFullAccess", "AWSCloudShellFullAccess")
    only_user = inventory(users=(user("help", attached_policies=(support, shell)),), groups=(), roles=())
    assert LIB.run("iam-support-role", only_user).failed[0].reason.endswith("but to no role")
    shell_result = LIB.run("iam-no-cloudshell-full-access", only_user)
    assert shell_result.failed[0].reason == f"AWSCloudShellFullAccess is attached to arn:aws:iam::{ACCT}:user/help"
    allowed = LIB.run("iam-no-cloudshell-full-access", only_user, {"allowed": [f"arn:aws:iam::{ACCT}:user/*"]})
    assert allowed.outcome == "pass"
    with_role = inventory(users=(), groups=(), roles=(role("Support", attached_policies=(support,)),))
    assert LIB.run("iam-support-role", with_role).outcome == "pass"
    assert LIB.run("iam-support-role", inventory(users=(), groups=(), roles=())).failed[0].reason == (
        "no role has AWSSupportAccess attached")
    unread = inventory(users=None, groups=None, roles=None)
    assert LIB.run("iam-support-role", unread).outcome == "error"


def test_expired_server_certificates_fail() -> None:
    certs = (ServerCertificate("old", f"arn:aws:iam::{ACCT}:server-certificate/old", days_ago(1), days_ago(400)),
             ServerCertificate("new", f"arn:aws:iam::{ACCT}:server-certificate/new", days_ago(-100), days_ago(10)))
    result = LIB.run("iam-expired-server-certificates", inventory(server_certificates=certs))
    assert [f.label for f in result.failed] == ["server-certificate/old"]
    assert LIB.run("iam-expired-server-certificates", inventory(server_certificates=None)).outcome == "error"


# --- beyond CIS: trust open to anyone, escalation, unused roles --------------------------------------------------


def _trust(condition: dict | None = None, principal: object = None) -> dict:
    statement = {"Effect": "Allow", "Principal": principal or {"AWS": "*"}, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def test_open_trust_is_pinned_only_by_restricting_keys_not_by_external_id() -> None:
    assert open_trust(_trust())
    assert open_trust(_trust(principal="*"))
    # sts:ExternalId is a shared value, not a pin (IAM User Guide, the confused deputy problem)
    assert open_trust(_trust({"StringEquals": {"sts:ExternalId": "x"}}))
    assert not open_trust(_trust({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))
    assert not open_trust(_trust({"StringEquals": {"aws:PrincipalAccount": ACCT}}))
    assert not open_trust(_trust(principal={"Service": "lambda.amazonaws.com"}))
    assert not open_trust(_trust(principal={"AWS": f"arn:aws:iam::{ACCT}:root"}))


def test_wildcard_assume_role_check() -> None:
    roles = (role("Open", _trust({"StringEquals": {"sts:ExternalId": "x"}})),
             role("Org", _trust({"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}})), role("Own"))
    result = LIB.run("iam-no-wildcard-assume-role", inventory(roles=roles, users=()))
    assert {f.label for f in result.failed} == {"role/Open"}
    # the external-trust check lets the same role pass: it requires sts:ExternalId
    assert "role/Open" not in {f.label for f in LIB.run("iam-role-external-trust",
                                                        inventory(roles=roles, users=())).failed}


def test_unused_roles() -> None:
    roles = (role("Stale", last_used=days_ago(91)), role("Recent", last_used=days_ago(5)),
             role("NeverOld", created=days_ago(120)), role("NeverYoung", created=days_ago(10)),
             role("AWSServiceRoleForSupport", path="/aws-service-role/support.amazonaws.com/", created=days_ago(900)))
    result = LIB.run("iam-unused-roles", inventory(roles=roles, users=()))
    assert {f.label for f in result.failed} == {"role/Stale", "role/NeverOld"}
    assert result.evaluated == 4  # the service-linked role is exempt


def test_privilege_escalation_from_the_demo_and_the_allowed_list(demo_inventory: Inventory) -> None:
    result = LIB.run("iam-privilege-escalation", demo_inventory)
    assert [f.label for f in result.failed] == ["user/heidi"]
    assert "iam:AttachUserPolicy" in result.failed[0].reason
    heidi = "arn:aws:iam::123456789012:user/heidi"
    assert LIB.run("iam-privilege-escalation", demo_inventory, {"allowed": [heidi]}).outcome == "pass"


def test_privilege_escalation_with_unknown_scps_is_an_error_only_where_a_path_exists() -> None:
    own = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": f"arn:aws:iam::{ACCT}:user/eve"}]}
    from pytest_iam.inventory import InlinePolicy

    inv = inventory(users=(user("eve", inline_policies=(InlinePolicy("self", own),)), user("plain")), groups=(),
                    roles=(), policies=(), organization=Organization("unavailable", reason="AccessDenied"))
    result = LIB.run("iam-privilege-escalation", inv)
    assert {f.label: f.status for f in result.findings} == {"user/eve": "error", "user/plain": "pass"}
    assert "unless an SCP denies it" in result.errors[0].reason
