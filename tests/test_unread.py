"""Facts, not defaults: a source that cannot be read is recorded as unread (call, AWS's code, permission to grant),
its facts stay None, and the resource views say which fields are unread and why.

Usage: ``pytest tests/test_unread.py``

Calls go through ``botocore.stub.Stubber`` on clients of the plugin's own ClientFactory (guard and counter run; the
factory points at a closed port on 127.0.0.1, so nothing could leave the machine even if a stub were missing).
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Iterator, Tuple

import boto3
import pytest
from botocore.stub import Stubber

from pytest_iam.aws import ClientFactory
from pytest_iam.collect.errors import ErrorLog, advice_for, permission_for
from pytest_iam.collect.iam import collect_iam, redact_document
from pytest_iam.collect.organizations import collect_organization
from pytest_iam.collect.s3 import collect_s3
from pytest_iam.inventory import (
    ACCOUNT_PUBLIC_ACCESS_BLOCK,
    BUCKET_LIST,
    CREDENTIAL_REPORT,
    ORGANIZATION,
    PASSWORD_POLICY,
    Inventory,
    Organization,
    Unread,
    load_snapshot,
    save_snapshot,
)
from pytest_iam.resources import RESOURCE_TYPES, ResourceUnavailable

ACCOUNT = "111122223333"
UTC = dt.timezone.utc
CREATED = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC)
SECRET_ID = "AKIAIOSFODNN7EXAMPLE"  # AWS's documented example key id: shaped like a real one
USER_FIELDS_FROM_REPORT = {"password_enabled", "password_last_used", "password_last_changed", "mfa_active",
                           "mfa_devices", "access_keys", "active_access_keys", "in_credential_report"}


@pytest.fixture
def factory() -> ClientFactory:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return ClientFactory(session, endpoint_url="http://127.0.0.1:9", max_attempts=1)


def _stub(factory: ClientFactory, service: str, region: str = "us-east-1") -> Stubber:
    return Stubber(factory.client(service, region))


@pytest.fixture
def iam_stub(factory: ClientFactory) -> Iterator[Stubber]:
    with _stub(factory, "iam") as stub:
        yield stub
        stub.assert_no_pending_responses()


def _users(*names: str) -> list:
    return [{"UserName": n, "UserId": f"AIDA{i:016d}", "Arn": f"arn:aws:iam::{ACCOUNT}:user/{n}", "Path": "/",
             "CreateDate": CREATED, "UserPolicyList": []} for i, n in enumerate(names)]


def _stub_iam(stub: Stubber, report: Any, users: list, virtual: Any = (), summary: Any = None,
              password_policy: Any = "none") -> None:
    """collect_iam's calls in order. ``report``: CSV text, or an error code for both report calls."""
    if isinstance(report, str) and report.startswith("user,"):
        stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
        stub.add_response("get_credential_report",
                          {"Content": report.encode(), "ReportFormat": "text/csv", "GeneratedTime": CREATED}, {})
    else:
        stub.add_client_error("generate_credential_report", service_error_code=report, http_status_code=403)
    summary = summary if summary is not None else {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}
    if isinstance(summary, str):
        stub.add_client_error("get_account_summary", service_error_code=summary, http_status_code=403)
    else:
        stub.add_response("get_account_summary", {"SummaryMap": summary}, {})
    if password_policy == "none":
        stub.add_client_error("get_account_password_policy", service_error_code="NoSuchEntity", http_status_code=404)
    else:
        stub.add_client_error("get_account_password_policy", service_error_code=password_policy,
                              http_status_code=403)
    if isinstance(virtual, str):
        stub.add_client_error("list_virtual_mfa_devices", service_error_code=virtual, http_status_code=403)
    else:
        stub.add_response("list_virtual_mfa_devices", {"VirtualMFADevices": list(virtual), "IsTruncated": False},
                          {"AssignmentStatus": "Assigned", "MaxItems": 1000})
    stub.add_response("get_account_authorization_details", {"UserDetailList": users, "IsTruncated": False},
                      {"MaxItems": 1000})
    stub.add_response("list_server_certificates", {"ServerCertificateMetadataList": [], "IsTruncated": False}, {})


def _inventory(facts: dict, errors: ErrorLog, **more: Any) -> Inventory:
    return Inventory(account_name="stub", account_id=ACCOUNT, collected_at=CREATED, errors=errors.freeze(),
                     unread=errors.freeze_unread(),
                     **{"security_contact_registered": True, "access_analyzers": (), **facts, **more})


REPORT_HEADER = ("user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,mfa_active,"
                 "access_key_1_active,access_key_1_last_rotated,access_key_2_active,access_key_2_last_rotated\n")


def _row(name: str, password: str = "true", mfa: str = "false", key: str = "true") -> str:
    rotated = "2024-01-02T03:04:05+00:00" if key == "true" else "N/A"
    return (f"{name},arn:aws:iam::{ACCOUNT}:user/{name},2024-01-01T00:00:00+00:00,{password},N/A,"
            f"2024-01-01T00:00:00+00:00,{mfa},{key},{rotated},false,N/A\n")


# --- the one-line record -----------------------------------------------------------------------------------------------


@pytest.mark.parametrize("service, operation, permission", [
    ("iam", "GetCredentialReport", "iam:GetCredentialReport"),
    ("iam", "GenerateCredentialReport", "iam:GenerateCredentialReport"),
    ("s3", "ListBuckets", "s3:ListAllMyBuckets"),
    ("s3", "GetPublicAccessBlock", "s3:GetBucketPublicAccessBlock"),
    ("s3control", "GetPublicAccessBlock", "s3:GetAccountPublicAccessBlock"),
    ("s3", "GetBucketPolicy", "s3:GetBucketPolicy"),
    ("s3", "GetBucketAcl", "s3:GetBucketAcl"),
    ("organizations", "ListPolicies", "organizations:ListPolicies"),
])
def test_operations_map_to_their_iam_permission__service_authorization_reference(
    service: str, operation: str, permission: str
) -> None:
    assert permission_for(service, operation) == permission


def test_the_record_is_one_line_naming_the_call_the_code_and_the_permission() -> None:
    gap = Unread(source=CREDENTIAL_REPORT, operation="iam:GetCredentialReport", code="AccessDenied",
                 permission="iam:GetCredentialReport", advice=advice_for("AccessDenied", "iam:GetCredentialReport"))
    assert str(gap) == "iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport"
    assert "settings.max_attempts" in advice_for("Throttling", "iam:GetCredentialReport")
    assert "settings.max_attempts" in advice_for("ThrottlingException", "organizations:ListRoots")
    assert "settings.max_attempts" in advice_for("SlowDown", "s3:GetBucketPolicy")


# --- the credential report ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("code", ["AccessDenied", "Throttling"])
def test_refused_report_leaves_credential_facts_unread_not_false(
    factory: ClientFactory, iam_stub: Stubber, code: str
) -> None:
    _stub_iam(iam_stub, code, _users("alice", "bob"))
    errors = ErrorLog()
    facts = collect_iam(factory, ACCOUNT, "aws", errors)
    (gap,) = errors.freeze_unread()
    assert gap.source == CREDENTIAL_REPORT and gap.operation == "iam:GenerateCredentialReport" and gap.code == code
    if code == "AccessDenied":
        assert str(gap) == "iam:GenerateCredentialReport: AccessDenied; grant iam:GenerateCredentialReport"
    else:
        assert str(gap).startswith("iam:GenerateCredentialReport: Throttling; raise settings.max_attempts")
    for user in facts["users"]:
        assert user.password_enabled is None and user.mfa_active is None and user.access_keys is None
        assert user.password_last_used is None and user.mfa_devices is None and user.in_credential_report is None

    inventory = _inventory(facts, errors)
    for view in RESOURCE_TYPES["users"](inventory):
        assert set(view["unread"]) == USER_FIELDS_FROM_REPORT
        assert set(view["unread"].values()) == {str(gap)}
        assert view["password_enabled"] is None and view["active_access_keys"] is None
    with pytest.raises(ResourceUnavailable, match="iam:GenerateCredentialReport"):
        RESOURCE_TYPES["access_keys"](inventory)
    (root,) = RESOURCE_TYPES["root"](inventory)  # root's MFA and keys still come from the account summary
    assert root["source"] == "account_summary" and root["mfa_active"] is True and root["active_access_keys"] == 0
    assert set(root["unread"]) == {"password_enabled", "password_last_used"}


def test_a_virtual_mfa_device_still_tells_mfa_when_the_report_is_unread(
    factory: ClientFactory, iam_stub: Stubber
) -> None:
    device = {"SerialNumber": f"arn:aws:iam::{ACCOUNT}:mfa/alice", "EnableDate": CREATED,
              "User": {"UserName": "alice", "UserId": "AIDA0000000000000000", "Arn": f"arn:aws:iam::{ACCOUNT}:user/alice",
                       "Path": "/", "CreateDate": CREATED}}
    _stub_iam(iam_stub, "AccessDenied", _users("alice", "bob"), virtual=[device])
    errors = ErrorLog()
    inventory = _inventory(collect_iam(factory, ACCOUNT, "aws", errors), errors)
    alice, bob = RESOURCE_TYPES["users"](inventory)
    assert alice["mfa_active"] is True and "mfa_active" not in alice["unread"]
    assert "mfa_devices" in alice["unread"]  # a hardware device would not be listed
    assert bob["mfa_active"] is None and "mfa_active" in bob["unread"]


def test_a_user_created_after_the_report_is_unread_with_the_reports_time(
    factory: ClientFactory, iam_stub: Stubber
) -> None:
    _stub_iam(iam_stub, REPORT_HEADER + _row("alice"), _users("alice", "carol"))
    errors = ErrorLog()
    inventory = _inventory(collect_iam(factory, ACCOUNT, "aws", errors), errors)
    assert errors.freeze_unread() == ()
    alice, carol = RESOURCE_TYPES["users"](inventory)
    assert "unread" not in alice and alice["password_enabled"] is True and alice["active_access_keys"] == 1
    assert carol["in_credential_report"] is False and carol["password_enabled"] is None
    assert set(carol["unread"]) == USER_FIELDS_FROM_REPORT - {"in_credential_report"}
    assert "2024-01-02T03:04:05Z" in carol["unread"]["access_keys"]
    keys = RESOURCE_TYPES["access_keys"](inventory)
    assert [k["label"] for k in keys] == ["user/alice key 1", "user/carol keys"]
    assert keys[1]["active"] is None and set(keys[1]["unread"]) >= {"active", "last_rotated"}


def test_unread_virtual_mfa_list_leaves_devices_unknown_only_where_mfa_is_on(
    factory: ClientFactory, iam_stub: Stubber
) -> None:
    _stub_iam(iam_stub, REPORT_HEADER + _row("alice", mfa="true") + _row("bob"), _users("alice", "bob"),
              virtual="AccessDenied")
    errors = ErrorLog()
    inventory = _inventory(collect_iam(factory, ACCOUNT, "aws", errors), errors)
    alice, bob = RESOURCE_TYPES["users"](inventory)
    assert alice["mfa_active"] is True and alice["unread"] == {
        "mfa_devices": "iam:ListVirtualMFADevices: AccessDenied; grant iam:ListVirtualMFADevices"}
    assert "unread" not in bob and bob["mfa_devices"] == []  # no MFA at all: no device, a fact
    (root,) = RESOURCE_TYPES["root"](inventory)
    assert root["mfa_active"] is True and root["hardware_mfa"] is None and root["virtual_mfa"] is None
    assert set(root["unread"]) >= {"mfa_devices", "hardware_mfa", "virtual_mfa"}


def test_root_with_neither_report_nor_summary_is_a_view_of_unread_fields(
    factory: ClientFactory, iam_stub: Stubber
) -> None:
    _stub_iam(iam_stub, "AccessDenied", _users("alice"), summary="AccessDenied")
    errors = ErrorLog()
    inventory = _inventory(collect_iam(factory, ACCOUNT, "aws", errors), errors)
    (root,) = RESOURCE_TYPES["root"](inventory)
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT}:root" and root["mfa_active"] is None
    assert "iam:GetAccountSummary: AccessDenied; grant iam:GetAccountSummary" in root["unread"]["mfa_active"]
    assert "iam:GenerateCredentialReport" in root["unread"]["active_access_keys"]


def test_root_keys_present_in_the_summary_are_unread_not_assumed_active(
    factory: ClientFactory, iam_stub: Stubber
) -> None:
    _stub_iam(iam_stub, "AccessDenied", _users(), summary={"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1})
    errors = ErrorLog()
    inventory = _inventory(collect_iam(factory, ACCOUNT, "aws", errors), errors)
    (root,) = RESOURCE_TYPES["root"](inventory)
    assert root["access_keys"] is None and root["active_access_keys"] is None
    assert {"access_keys", "active_access_keys"} <= set(root["unread"])


def test_no_password_policy_is_a_fact_a_refused_one_is_unread(factory: ClientFactory, iam_stub: Stubber) -> None:
    _stub_iam(iam_stub, REPORT_HEADER + _row("alice"), _users("alice"), password_policy="AccessDenied")
    errors = ErrorLog()
    inventory = _inventory(collect_iam(factory, ACCOUNT, "aws", errors), errors, organization=Organization("member"))
    (view,) = RESOURCE_TYPES["account"](inventory)
    assert inventory.gap(PASSWORD_POLICY) is not None
    assert view["unread"] == {
        "password_policy": "iam:GetAccountPasswordPolicy: AccessDenied; grant iam:GetAccountPasswordPolicy"}
    assert view["password_policy_collected"] is False

    clean = _inventory({}, ErrorLog(), organization=Organization("member"))  # NoSuchEntity records nothing
    (view,) = RESOURCE_TYPES["account"](clean)
    assert "unread" not in view and view["password_policy"] is None


# --- S3 ------------------------------------------------------------------------------------------------------------------


@pytest.fixture
def s3_stubs(factory: ClientFactory) -> Iterator[Tuple[Stubber, Stubber]]:
    with _stub(factory, "s3") as s3, _stub(factory, "s3control") as control:
        yield s3, control
        s3.assert_no_pending_responses()
        control.assert_no_pending_responses()


def _stub_bucket(s3: Stubber, name: str, policy: Any, pab: Any, acl: Any, versioning: Any = None) -> None:
    """The collector's calls for one bucket, in its order; ``acl`` None: the ACL is not read (IgnorePublicAcls)."""
    calls = (("get_public_access_block", pab, "PublicAccessBlockConfiguration"), ("get_bucket_policy", policy, "Policy"),
             ("get_bucket_versioning", versioning if versioning is not None else {}, None),
             ("get_bucket_acl", acl, "Grants"))
    for method, answer, key in calls:
        if method == "get_bucket_acl" and acl is None:
            continue
        if isinstance(answer, str) and not answer.startswith("{"):  # an error code (a policy is JSON text)
            s3.add_client_error(method, service_error_code=answer, http_status_code=403 if "Denied" in answer else 404,
                                expected_params={"Bucket": name})
        elif key is None:
            s3.add_response(method, answer, {"Bucket": name})
        else:
            s3.add_response(method, {key: answer} if key != "Grants" else {"Grants": answer, "Owner": {"ID": "o"}},
                            {"Bucket": name})


def test_bucket_calls_refused_are_unread_per_field_absent_ones_are_facts(
    factory: ClientFactory, s3_stubs: Tuple[Stubber, Stubber]
) -> None:
    s3, control = s3_stubs
    control.add_client_error("get_public_access_block", service_error_code="AccessDenied", http_status_code=403)
    s3.add_response("list_buckets", {"Buckets": [{"Name": "a", "CreationDate": CREATED, "BucketRegion": "us-east-1"},
                                                 {"Name": "b", "CreationDate": CREATED, "BucketRegion": "us-east-1"}],
                                     "Owner": {"ID": "o"}}, {})
    policy = json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
         "Condition": {"StringNotEquals": {"aws:PrincipalAccount": SECRET_ID}}}]})
    # one worker: the stubbed responses are consumed in order, bucket by bucket
    _stub_bucket(s3, "a", "AccessDenied", "AccessDenied", "AccessDenied", versioning="AccessDenied")
    _stub_bucket(s3, "b", policy, "NoSuchPublicAccessBlockConfiguration", [], versioning={"Status": "Suspended"})
    errors = ErrorLog()
    facts = collect_s3(factory, ACCOUNT, "aws", errors, workers=1)
    inventory = _inventory(facts, errors)
    assert inventory.account_public_access_block is None
    assert str(inventory.gap(ACCOUNT_PUBLIC_ACCESS_BLOCK)) == (
        "s3control:GetPublicAccessBlock: AccessDenied; grant s3:GetAccountPublicAccessBlock")
    a, b = RESOURCE_TYPES["buckets"](inventory)
    account_gap = "s3control:GetPublicAccessBlock: AccessDenied; grant s3:GetAccountPublicAccessBlock"
    bucket_gap = "s3:GetPublicAccessBlock: AccessDenied; grant s3:GetBucketPublicAccessBlock"
    versioning_gap = "s3:GetBucketVersioning: AccessDenied; grant s3:GetBucketVersioning"
    assert a["unread"] == {
        "policy": "s3:GetBucketPolicy: AccessDenied; grant s3:GetBucketPolicy",
        "public_access_block": bucket_gap,
        "acl_grants": "s3:GetBucketAcl: AccessDenied; grant s3:GetBucketAcl",
        "versioning": versioning_gap,
        "mfa_delete": versioning_gap,
        "effective_public_access_block": f"{bucket_gap}; {account_gap}",
        "public_acl_grants": "s3:GetBucketAcl: AccessDenied; grant s3:GetBucketAcl",
    }
    assert a["policy"] is None and a["acl_grants"] is None and "errors" not in a
    # the settings in effect need the account's, which were not read; an ACL without public grants is a fact
    assert b["unread"] == {"effective_public_access_block": account_gap}
    assert b["public_access_block"] is None and b["acl_grants"] == [] and b["public_acl_grants"] == []
    assert (b["versioning"], b["mfa_delete"]) == ("Suspended", False)
    assert SECRET_ID not in json.dumps(b["policy"])  # redacted at collection time, and still a document
    assert b["policy"]["Statement"][0]["Effect"] == "Deny"
    (account,) = RESOURCE_TYPES["account"](inventory)
    assert account["unread"]["s3_public_access_block"].startswith("s3control:GetPublicAccessBlock: AccessDenied")


def test_refused_bucket_list_makes_buckets_unavailable_naming_the_permission(
    factory: ClientFactory, s3_stubs: Tuple[Stubber, Stubber]
) -> None:
    s3, control = s3_stubs
    control.add_client_error("get_public_access_block", service_error_code="NoSuchPublicAccessBlockConfiguration",
                             http_status_code=404)
    s3.add_client_error("list_buckets", service_error_code="AccessDenied", http_status_code=403)
    errors = ErrorLog()
    inventory = _inventory(collect_s3(factory, ACCOUNT, "aws", errors), errors)
    assert inventory.buckets is None and inventory.gap(BUCKET_LIST) is not None
    assert inventory.account_public_access_block is not None  # not set: all off, a fact
    with pytest.raises(ResourceUnavailable, match="s3:ListBuckets: AccessDenied; grant s3:ListAllMyBuckets"):
        RESOURCE_TYPES["buckets"](inventory)


# --- organizations -------------------------------------------------------------------------------------------------------


def test_refused_organization_is_unread_with_the_permission_and_the_reader_hint(factory: ClientFactory) -> None:
    with _stub(factory, "organizations") as stub:
        stub.add_response("describe_organization", {"Organization": {"Id": "o-abc1234567", "MasterAccountId": ACCOUNT}})
        stub.add_client_error("list_roots", service_error_code="AccessDeniedException", http_status_code=400)
        errors = ErrorLog()
        org = collect_organization(factory, ACCOUNT, errors)
    (gap,) = errors.freeze_unread()
    assert gap.source == ORGANIZATION
    assert org.reason == str(gap)
    assert str(gap).startswith("organizations:ListRoots: AccessDeniedException; grant organizations:ListRoots; ")
    inventory = _inventory({}, errors, organization=org)
    with pytest.raises(ResourceUnavailable, match="grant organizations:ListRoots"):
        RESOURCE_TYPES["org_accounts"](inventory)
    (account,) = RESOURCE_TYPES["account"](inventory)
    assert account["unread"] == {"organization_status": str(gap)}


# --- redaction and the snapshot --------------------------------------------------------------------------------------------


def test_documents_are_redacted_as_json_text_and_stay_documents() -> None:
    doc = {"Statement": [{"Sid": SECRET_ID, "Condition": {"StringEquals": {"x": "aws_secret_access_key=abc"}}}]}
    masked = redact_document(doc)
    assert SECRET_ID not in json.dumps(masked) and "abc" not in json.dumps(masked)
    assert isinstance(masked, dict) and masked["Statement"][0]["Sid"].startswith("AKIA")
    assert redact_document({"a": "plain"}) == {"a": "plain"}


def test_unread_records_round_trip_through_a_snapshot(
    factory: ClientFactory, iam_stub: Stubber, tmp_path: Any
) -> None:
    _stub_iam(iam_stub, "AccessDenied", _users("alice"), virtual="Throttling")
    errors = ErrorLog()
    inventory = _inventory(collect_iam(factory, ACCOUNT, "aws", errors), errors)
    assert {g.source for g in inventory.unread} == {CREDENTIAL_REPORT, "virtual_mfa_devices"}
    loaded = load_snapshot(save_snapshot(inventory, tmp_path))
    assert loaded == inventory and loaded.unread == inventory.unread
    assert RESOURCE_TYPES["users"](loaded) == RESOURCE_TYPES["users"](inventory)
