"""API calls of a collection do not grow with the number of users.

Usage: ``pytest tests/test_scaling.py``

Two accounts are seeded in a moto server on 127.0.0.1 -- one with 20 users, one with 120 -- that differ only in their
users (each with an access key, a console password and/or a virtual MFA device, a group membership, some with a
direct or inline policy; the same groups, roles, policies, buckets and organization). Both are collected over HTTP
through the plugin's client factory, and the calls are compared operation by operation. 120 users hold more than 100
virtual MFA devices, the default page size of ListVirtualMFADevices, so a page size left at its default shows up here
as an extra call.

Each account gets its own id (moto's ``x-moto-account-id`` header for seeding, credentials from an AssumeRole into
that account for collecting), so nothing here touches the emulator's default account that mock accounts use.
"""

from __future__ import annotations

import json
import logging
import os
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, Iterator, Tuple

import pytest

from pytest_iam.accounts import Account, AccountSpec
from pytest_iam.aws import emulator_client
from pytest_iam.collect import collect_inventory
from pytest_iam.inventory import ACCESS_ANALYZERS, ORG_MEMBER, Inventory
from pytest_iam.mock import MotoGaps

SMALL, LARGE = 20, 120
SMALL_ACCOUNT, LARGE_ACCOUNT = "210000000020", "210000000120"
GROUPS = ("admins", "developers", "analysts")

READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}
ALL_ON_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
EC2_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
PARTNER_TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole"}]}


@dataclass(frozen=True)
class Collected:
    inventory: Inventory
    calls: Counter


def _client(service: str, endpoint: str, account_id: str) -> Any:
    """A seeding client whose requests land in ``account_id`` (moto's account header)."""
    client = emulator_client(service, endpoint)

    def to_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id

    client.meta.events.register("before-sign", to_account)
    return client


def seed(endpoint: str, account_id: str, users: int) -> None:
    """The same account shape every time; only the number of users changes."""
    iam = _client("iam", endpoint, account_id)
    iam.update_account_password_policy(MinimumPasswordLength=14, RequireSymbols=True)
    read_only = iam.create_policy(PolicyName="read-only-data", PolicyDocument=json.dumps(READ_ONLY))["Policy"]["Arn"]
    admin = iam.create_policy(PolicyName="legacy-admin", PolicyDocument=json.dumps(ALL_ON_ALL))["Policy"]["Arn"]
    for group in GROUPS:
        iam.create_group(GroupName=group)
    iam.attach_group_policy(GroupName="admins", PolicyArn=admin)
    iam.attach_group_policy(GroupName="analysts", PolicyArn=read_only)
    iam.create_role(RoleName="app", AssumeRolePolicyDocument=json.dumps(EC2_TRUST))
    iam.attach_role_policy(RoleName="app", PolicyArn=read_only)
    iam.create_role(RoleName="partner", AssumeRolePolicyDocument=json.dumps(PARTNER_TRUST))
    for i in range(users):
        name = f"user-{i:04d}"
        iam.create_user(UserName=name)
        iam.create_access_key(UserName=name)
        iam.add_user_to_group(GroupName=GROUPS[i % len(GROUPS)], UserName=name)
        if i % 10 == 0 or i % 3 == 0:
            iam.create_login_profile(UserName=name, Password="Not-a-real-password-1!")
        if i % 10 != 0:  # 9 users in 10 have a virtual MFA device
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
            iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456",
                                  AuthenticationCode2="654321")
        if i % 7 == 0:
            iam.attach_user_policy(UserName=name, PolicyArn=read_only)
        if i % 11 == 0:
            iam.put_user_policy(UserName=name, PolicyName="own", PolicyDocument=json.dumps(READ_ONLY))
    s3 = _client("s3", endpoint, account_id)
    for suffix in ("logs", "data", "public"):
        s3.create_bucket(Bucket=f"{account_id}-{suffix}")
    s3.put_public_access_block(Bucket=f"{account_id}-logs", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket=f"{account_id}-public", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{account_id}-public/*"}]}))
    org = _client("organizations", endpoint, account_id)
    org.create_organization(FeatureSet="ALL")
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    org.create_organizational_unit(ParentId=root_id, Name="workloads")
    scp = org.create_policy(Name="guardrails", Description="guardrails", Type="SERVICE_CONTROL_POLICY",
                            Content=json.dumps({"Version": "2012-10-17", "Statement": [
                                {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}))
    org.attach_policy(PolicyId=scp["Policy"]["PolicySummary"]["Id"], TargetId=root_id)


def collect(endpoint: str, account_id: str) -> Collected:
    """Collect ``account_id`` over HTTP with environment credentials, as against AWS."""
    creds = emulator_client("sts", endpoint).assume_role(
        RoleArn=f"arn:aws:iam::{account_id}:role/audit", RoleSessionName="scaling"
    )["Credentials"]
    with pytest.MonkeyPatch.context() as mp:
        for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE"):
            mp.delenv(var, raising=False)
        mp.setenv("AWS_CONFIG_FILE", os.devnull)
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", os.devnull)
        mp.setenv("AWS_EC2_METADATA_DISABLED", "true")
        mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
        mp.setenv("AWS_ACCESS_KEY_ID", creds["AccessKeyId"])
        mp.setenv("AWS_SECRET_ACCESS_KEY", creds["SecretAccessKey"])
        mp.setenv("AWS_SESSION_TOKEN", creds["SessionToken"])
        account = Account(AccountSpec(name=f"scaling-{account_id}", endpoint_url=endpoint))
        inventory = collect_inventory(account)
        return Collected(inventory=inventory, calls=account.factory.calls)


@pytest.fixture(scope="module")
def endpoint() -> Iterator[str]:
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    MotoGaps.answer_unserved_apis(server)  # moto serves no Access Analyzer: answered at once, not a retried 500
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@pytest.fixture(scope="module")
def collected(endpoint: str) -> Dict[int, Collected]:
    out = {}
    for account_id, users in ((SMALL_ACCOUNT, SMALL), (LARGE_ACCOUNT, LARGE)):
        seed(endpoint, account_id, users)
        out[users] = collect(endpoint, account_id)
    return out


def by_service(calls: Counter, *services: str) -> Dict[Tuple[str, str], int]:
    return {key: n for key, n in calls.items() if key[0] in services}


def test_both_accounts_are_collected_in_full(collected: Dict[int, Collected]) -> None:
    for users, result in collected.items():
        inv = result.inventory
        # the one source moto cannot serve; everything else read in full
        assert [e.operation for e in inv.errors] == ["ListAnalyzers"] and [g.source for g in inv.unread] == [
            ACCESS_ANALYZERS]
        assert len(inv.users) == users
        assert all(u.in_credential_report and len(u.access_keys) == 1 for u in inv.users)
        assert sum(u.mfa_active for u in inv.users) == users - len(range(0, users, 10))
        assert all(u.password_enabled or u.mfa_active for u in inv.users)
        assert {g.name for g in inv.groups} == set(GROUPS)
        assert {r.name for r in inv.roles} == {"app", "partner"}
        assert {p.name for p in inv.policies} == {"read-only-data", "legacy-admin"}
        assert len(inv.buckets) == 3
        assert inv.organization.status == ORG_MEMBER and {p.name for p in inv.organization.scps} >= {"guardrails"}


def test_large_account_has_more_mfa_devices_than_a_default_page(collected: Dict[int, Collected]) -> None:
    """ListVirtualMFADevices pages at 100 unless MaxItems says more (up to 1,000): here more than one default page."""
    devices = sum(len(u.mfa_devices) for u in collected[LARGE].inventory.users)
    assert devices > 100


def test_iam_calls_by_operation_do_not_depend_on_users(collected: Dict[int, Collected]) -> None:
    small = by_service(collected[SMALL].calls, "iam")
    large = by_service(collected[LARGE].calls, "iam")
    assert small == large
    # one page of authorization details carries up to 1,000 users; no per-user List*/Get* call is made
    assert small[("iam", "GetAccountAuthorizationDetails")] == 1
    per_user = {"ListAccessKeys", "ListMFADevices", "ListGroupsForUser", "ListUserPolicies",
                "ListAttachedUserPolicies", "GetLoginProfile", "GetUser", "GetAccessKeyLastUsed"}
    assert not per_user & {op for _, op in large}


def test_s3_organizations_and_sts_calls_do_not_depend_on_users(collected: Dict[int, Collected]) -> None:
    services = ("s3", "s3control", "organizations", "sts")
    small = by_service(collected[SMALL].calls, *services)
    large = by_service(collected[LARGE].calls, *services)
    assert small == large
    assert small[("s3", "ListBuckets")] == 1
    assert small[("organizations", "DescribeOrganization")] == 1
    assert small[("organizations", "ListOrganizationalUnitsForParent")] == 2  # the root, then the OU


def test_total_calls_are_equal_and_small(collected: Dict[int, Collected]) -> None:
    small, large = (sum(collected[n].calls.values()) for n in (SMALL, LARGE))
    assert small == large
    # 35 today: 10 IAM and STS, 14 S3 (account block, listing, 4 calls a bucket), 11 for the organization walk
    assert large <= 40
