"""GetAccountAuthorizationDetails pagination, against stubbed pages (moto ignores MaxItems and answers in one page).

Usage: ``pytest tests/test_collect_iam_pagination.py``

AWS returns at most MaxItems (up to 1,000) entities a page and sets ``IsTruncated`` / ``Marker`` while more remain
(IAM API reference, GetAccountAuthorizationDetails). The stubs below answer three pages through
``botocore.stub.Stubber`` on a client of the plugin's own ClientFactory, so the guard, the call counter and botocore's
paginator all run as they do against AWS; only the HTTP exchange is replaced. The factory points at a closed port on
127.0.0.1, so nothing could leave the machine even if a stub were missing.
"""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, Iterator, List, Tuple
from urllib.parse import quote

import boto3
import pytest
from botocore.stub import Stubber

from pytest_iam.aws import ClientFactory
from pytest_iam.checks import ERROR, Library, run_check
from pytest_iam.collect.errors import ErrorLog
from pytest_iam.collect.iam import collect_iam, fetch_authorization_details
from pytest_iam.inventory import Inventory

ACCOUNT = "111122223333"
CREATED = dt.datetime(2024, 1, 2, 3, 4, 5, tzinfo=dt.timezone.utc)
OPERATION = "get_account_authorization_details"
ALLOW_S3 = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
TRUST_EC2 = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}


def _id(prefix: str, n: int) -> str:
    return f"{prefix}{n:016d}"  # IAM unique ids are at least 16 characters


def _encoded(doc: dict) -> str:
    return quote(json.dumps(doc))  # documents in this API are URL-encoded JSON (RFC 3986)


def user(n: int) -> dict:
    name = f"user-{n}"
    return {
        "UserName": name, "UserId": _id("AIDA", n), "Arn": f"arn:aws:iam::{ACCOUNT}:user/{name}", "Path": "/",
        "CreateDate": CREATED, "GroupList": [f"group-{n}"],
        "AttachedManagedPolicies": [
            {"PolicyName": f"policy-{n}", "PolicyArn": f"arn:aws:iam::{ACCOUNT}:policy/policy-{n}"}],
        "UserPolicyList": [{"PolicyName": f"inline-{n}", "PolicyDocument": _encoded(ALLOW_S3)}],
    }


def group(n: int) -> dict:
    name = f"group-{n}"
    return {"GroupName": name, "GroupId": _id("AGPA", n), "Arn": f"arn:aws:iam::{ACCOUNT}:group/{name}", "Path": "/",
            "CreateDate": CREATED, "GroupPolicyList": [], "AttachedManagedPolicies": []}


def role(n: int) -> dict:
    name = f"role-{n}"
    return {"RoleName": name, "RoleId": _id("AROA", n), "Arn": f"arn:aws:iam::{ACCOUNT}:role/{name}", "Path": "/",
            "CreateDate": CREATED, "AssumeRolePolicyDocument": _encoded(TRUST_EC2), "RolePolicyList": [],
            "AttachedManagedPolicies": []}


def policy(n: int) -> dict:
    name = f"policy-{n}"
    return {
        "PolicyName": name, "PolicyId": _id("ANPA", n), "Arn": f"arn:aws:iam::{ACCOUNT}:policy/{name}", "Path": "/",
        "DefaultVersionId": "v2", "AttachmentCount": 1, "PermissionsBoundaryUsageCount": 0, "IsAttachable": True,
        "CreateDate": CREATED, "UpdateDate": CREATED,
        "PolicyVersionList": [
            {"Document": _encoded({"Version": "2012-10-17", "Statement": []}), "VersionId": "v1",
             "IsDefaultVersion": False, "CreateDate": CREATED},
            {"Document": _encoded(ALLOW_S3), "VersionId": "v2", "IsDefaultVersion": True, "CreateDate": CREATED},
        ],
    }


def pages(count: int = 3, per_page: int = 2) -> List[dict]:
    """``count`` pages of ``per_page`` entities of each kind; every page but the last is truncated with a marker."""
    out = []
    for p in range(count):
        ns = range(p * per_page, (p + 1) * per_page)
        page: Dict[str, Any] = {
            "UserDetailList": [user(n) for n in ns], "GroupDetailList": [group(n) for n in ns],
            "RoleDetailList": [role(n) for n in ns], "Policies": [policy(n) for n in ns],
            "IsTruncated": p < count - 1,
        }
        if p < count - 1:
            page["Marker"] = f"marker-{p + 1}"
        out.append(page)
    return out


def expected_params(page_index: int) -> dict:
    params: Dict[str, Any] = {"MaxItems": 1000}
    if page_index:
        params["Marker"] = f"marker-{page_index}"
    return params


@pytest.fixture
def factory() -> ClientFactory:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return ClientFactory(session, endpoint_url="http://127.0.0.1:9", max_attempts=1)


@pytest.fixture
def stubbed(factory: ClientFactory) -> Iterator[Tuple[Any, Stubber]]:
    iam = factory.client("iam")  # the factory caches it: collect_iam(factory, ...) gets this same stubbed client
    with Stubber(iam) as stub:
        yield iam, stub
        stub.assert_no_pending_responses()


def stub_details(stub: Stubber, page_list: List[dict]) -> None:
    for i, page in enumerate(page_list):
        stub.add_response(OPERATION, page, expected_params(i))


def stub_other_iam_calls_before_details(stub: Stubber) -> None:
    """collect_iam's calls before the authorization details, in its order; each answered as AWS would."""
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    header = "user,arn,user_creation_time,password_enabled,mfa_active,access_key_1_active,access_key_1_last_rotated\n"
    rows = "".join(f"user-{n},arn:aws:iam::{ACCOUNT}:user/user-{n},2024-01-02T03:04:05+00:00,false,false,true,"
                   f"2024-01-02T03:04:05+00:00\n" for n in range(6))
    stub.add_response("get_credential_report",
                      {"Content": (header + rows).encode(), "ReportFormat": "text/csv", "GeneratedTime": CREATED}, {})
    summary = {"SummaryMap": {"AccountMFAEnabled": 1, "AccountAccessKeysPresent": 0}}
    stub.add_response("get_account_summary", summary, {})
    stub.add_client_error("get_account_password_policy", service_error_code="NoSuchEntity", http_status_code=404)
    stub.add_response("list_virtual_mfa_devices", {"VirtualMFADevices": [], "IsTruncated": False},
                      {"AssignmentStatus": "Assigned", "MaxItems": 1000})


def test_every_page_is_requested_with_max_items_1000_and_merged(stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    page_list = pages()
    stub_details(stub, page_list)  # Stubber fails the call if the request's parameters differ
    errors = ErrorLog()
    merged = fetch_authorization_details(iam, errors)
    assert errors.freeze() == ()
    assert merged is not None
    assert [u["UserName"] for u in merged["UserDetailList"]] == [f"user-{n}" for n in range(6)]
    assert [g["GroupName"] for g in merged["GroupDetailList"]] == [f"group-{n}" for n in range(6)]
    assert [r["RoleName"] for r in merged["RoleDetailList"]] == [f"role-{n}" for n in range(6)]
    assert [p["PolicyName"] for p in merged["Policies"]] == [f"policy-{n}" for n in range(6)]


def test_pages_are_counted_once_each(factory: ClientFactory, stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    stub_details(stub, pages(count=3))
    fetch_authorization_details(iam, ErrorLog())
    assert factory.calls == {("iam", "GetAccountAuthorizationDetails"): 3}


def test_every_entity_of_every_page_lands_in_the_inventory_facts(
    factory: ClientFactory, stubbed: Tuple[Any, Stubber]
) -> None:
    _, stub = stubbed
    stub_other_iam_calls_before_details(stub)
    stub_details(stub, pages())
    stub.add_response("list_server_certificates", {"ServerCertificateMetadataList": [], "IsTruncated": False}, {})
    errors = ErrorLog()
    facts = collect_iam(factory, ACCOUNT, "aws", errors)
    assert errors.freeze() == ()
    names = range(6)
    assert [u.name for u in facts["users"]] == [f"user-{n}" for n in names]
    assert [g.name for g in facts["groups"]] == [f"group-{n}" for n in names]
    assert [r.name for r in facts["roles"]] == [f"role-{n}" for n in names]
    assert [p.name for p in facts["policies"]] == [f"policy-{n}" for n in names]
    last = facts["users"][-1]  # from the third page: every detail came along, not just the name
    assert last.groups == ("group-5",)
    assert [p.arn for p in last.attached_policies] == [f"arn:aws:iam::{ACCOUNT}:policy/policy-5"]
    assert last.inline_policies[0].document == ALLOW_S3  # URL-encoded JSON decoded
    assert last.in_credential_report and last.access_keys[0].active
    assert facts["roles"][-1].trust_policy == TRUST_EC2
    assert facts["policies"][-1].document == ALLOW_S3  # the default version, not v1
    assert facts["policies"][-1].default_version_id == "v2"


def test_access_denied_on_a_middle_page_is_recorded_not_raised(stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    first = pages()[0]
    stub.add_response(OPERATION, first, expected_params(0))
    stub.add_client_error(OPERATION, service_error_code="AccessDenied", service_message="not authorized",
                          http_status_code=403, expected_params=expected_params(1))
    errors = ErrorLog()
    assert fetch_authorization_details(iam, errors) is None
    (error,) = errors.freeze()
    assert (error.service, error.operation) == ("iam", "GetAccountAuthorizationDetails")
    assert error.message.startswith("AccessDenied: not authorized")
    assert "read-only permission" in error.message  # the hint says what to fix


def test_a_partial_listing_never_looks_like_an_account_without_users(
    factory: ClientFactory, stubbed: Tuple[Any, Stubber]
) -> None:
    """After a failed page, checks on IAM entities report an error instead of passing on an empty list."""
    _, stub = stubbed
    stub_other_iam_calls_before_details(stub)
    stub.add_response(OPERATION, pages()[0], expected_params(0))
    stub.add_client_error(OPERATION, service_error_code="AccessDenied", http_status_code=403,
                          expected_params=expected_params(1))
    stub.add_response("list_server_certificates", {"ServerCertificateMetadataList": [], "IsTruncated": False}, {})
    errors = ErrorLog()
    facts = collect_iam(factory, ACCOUNT, "aws", errors)
    assert facts["users"] is None  # unread: not the first page's users, as if they were all of them
    assert facts["groups"] is None and facts["roles"] is None and facts["policies"] is None
    inventory = Inventory(account_name="stub", account_id=ACCOUNT, errors=errors.freeze(),
                          unread=errors.freeze_unread(), **facts)
    result = run_check(Library.load().get("iam-user-console-mfa"), inventory)
    assert [f.status for f in result.findings] == [ERROR]
    assert "GetAccountAuthorizationDetails" in result.findings[0].reason

