"""An organization of many member accounts in a moto server, each seeded differently, with the verdicts known in
advance; and a proxy that refuses ``sts:AssumeRole`` into chosen roles.

Plain boto3 calls only (no code of the plugin), so the seeding is independent of what it tests. Member accounts are
made with Organizations ``CreateAccount`` and seeded through ``sts:AssumeRole`` into
``arn:aws:iam::<member>:role/<MEMBER_ROLE>``: moto hands out credentials that act in that account.

Usage::

    world = seed_organization(endpoint_url, members=22)
    world.expected[(account_id, "iam-password-policy")]   # "passed" or "failed"
    world.names[account_id]                               # the account's name in the organization

    with RoleGate(endpoint_url, refuse_accounts={locked_id}) as gate:
        ...point the accounts file's endpoint_url at gate.url...
        gate.count("ListRoots")                           # how many times the organization's root was listed

moto does not check that an assumed role exists or trusts the caller; AWS answers ``AccessDenied`` when it does not,
which is what ``RoleGate`` answers for the refused accounts.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler
from typing import Any, Dict, Iterable, List, Mapping, Tuple
from urllib.parse import parse_qs

import boto3
from botocore.config import Config

from fault_proxy import refusal
from recording_http import RecordingProxy

REGION = "us-east-1"
MEMBER_ROLE = "OrganizationAccountAccessRole"
GUARDRAIL_ACTIONS = ["organizations:LeaveOrganization", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail"]
# The checks whose verdict every member account gets from its own seeding (the rest of the standard runs too).
JUDGED = ("org-scps-present", "iam-password-policy", "iam-user-console-mfa", "s3-account-public-access-block",
          "s3-no-public-bucket-policy", "iam-user-single-active-key", "iam-no-admin-policies")


@dataclass(frozen=True)
class OrgWorld:
    endpoint_url: str
    management_id: str
    organization_id: str
    names: Mapping[str, str]  # account id -> name, the management account included
    expected: Mapping[Tuple[str, str], str]  # (member account id, check) -> "passed" | "failed"

    @property
    def member_ids(self) -> List[str]:
        return sorted(i for i in self.names if i != self.management_id)


def _session(key: str = "testing", secret: str = "testing", token: Any = None) -> boto3.Session:
    return boto3.Session(aws_access_key_id=key, aws_secret_access_key=secret, aws_session_token=token,
                         region_name=REGION)


def _clients(session: boto3.Session, endpoint_url: str, *names: str) -> List[Any]:
    config = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)
    return [session.client(n, endpoint_url=endpoint_url, region_name=REGION, config=config) for n in names]


def _doc(statements: list) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def member_session(endpoint_url: str, account_id: str) -> boto3.Session:
    """Credentials acting in ``account_id``, from ``sts:AssumeRole`` into its member role."""
    (sts,) = _clients(_session(), endpoint_url, "sts")
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/{MEMBER_ROLE}",
                            RoleSessionName="seeding")["Credentials"]
    return _session(creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"])


def seed_organization(endpoint_url: str, members: int = 22, name_prefix: str = "team") -> OrgWorld:
    """The caller's account becomes the management account of an organization with ``members`` member accounts."""
    org, sts = _clients(_session(), endpoint_url, "organizations", "sts")
    management = sts.get_caller_identity()["Account"]
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    workloads = org.create_organizational_unit(ParentId=root, Name="Workloads")["OrganizationalUnit"]["Id"]
    prod = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
    sandbox = org.create_organizational_unit(ParentId=root, Name="Sandbox")["OrganizationalUnit"]["Id"]

    def policy(name: str, statements: list) -> str:
        return org.create_policy(Name=name, Description=name, Type="SERVICE_CONTROL_POLICY",
                                 Content=_doc(statements))["Policy"]["PolicySummary"]["Id"]

    guardrails = policy("Guardrails", [{"Effect": "Deny", "Action": GUARDRAIL_ACTIONS, "Resource": "*"}])
    no_leaving = policy("NoLeaving", [{"Effect": "Deny", "Action": "organizations:LeaveOrganization",
                                       "Resource": "*"}])
    org.attach_policy(PolicyId=guardrails, TargetId=workloads)

    names = {management: org.describe_account(AccountId=management)["Account"]["Name"]}
    expected: Dict[Tuple[str, str], str] = {}
    for i in range(members):
        name = f"{name_prefix} {i:02d}" if i % 5 == 4 else f"{name_prefix}-{i:02d}"  # some names hold a space
        account_id = org.create_account(Email=f"{name_prefix}{i}@example.com",
                                        AccountName=name)["CreateAccountStatus"]["AccountId"]
        names[account_id] = name
        parent = (prod, sandbox, root)[i % 3]  # Prod is two levels down, under Workloads (guardrails)
        if parent != root:
            org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=parent)
        if i % 6 == 5:
            org.attach_policy(PolicyId=no_leaving, TargetId=account_id)
        facts = _seed_member(member_session(endpoint_url, account_id), endpoint_url, account_id, i)
        facts["org-scps-present"] = parent == prod or i % 6 == 5
        for check, passes in facts.items():
            expected[(account_id, check)] = "passed" if passes else "failed"
    return OrgWorld(endpoint_url=endpoint_url, management_id=management, organization_id=org_id, names=names,
                    expected=expected)


def _seed_member(session: boto3.Session, endpoint_url: str, account_id: str, i: int) -> Dict[str, bool]:
    """Seed member ``i`` in its own account; returns check -> passes for the checks in JUDGED but org-scps-present."""
    iam, s3, s3control = _clients(session, endpoint_url, "iam", "s3", "s3control")
    s3control.meta.events.register("before-sign.s3-control", _drop_account_label)
    strong = i % 2 == 0
    iam.update_account_password_policy(
        MinimumPasswordLength=14 if strong else 8, PasswordReusePrevention=24 if strong else 3,
        RequireSymbols=True, RequireNumbers=True, RequireUppercaseCharacters=True, RequireLowercaseCharacters=True)
    console_without_mfa = i % 4 == 1
    iam.create_user(UserName="person")
    iam.create_login_profile(UserName="person", Password="Seeded-only-Passw0rd!")
    if not console_without_mfa:
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName="person")["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName="person", SerialNumber=serial, AuthenticationCode1="123456",
                              AuthenticationCode2="654321")
    two_keys = i % 7 == 3
    iam.create_user(UserName="service")
    for _ in range(2 if two_keys else 1):
        iam.create_access_key(UserName="service")
    admin_policy = i % 4 == 2
    iam.create_policy(PolicyName="workload", PolicyDocument=_doc(
        [{"Effect": "Allow", "Action": "*" if admin_policy else "s3:GetObject", "Resource": "*"}]))
    bucket = f"{account_id}-data"
    s3.create_bucket(Bucket=bucket)
    public_policy = i % 5 == 2
    if public_policy:
        s3.put_bucket_policy(Bucket=bucket, Policy=_doc([{"Effect": "Allow", "Principal": "*",
                                                         "Action": "s3:GetObject",
                                                         "Resource": f"arn:aws:s3:::{bucket}/*"}]))
    block_all = i % 3 == 0  # set after the bucket policy: BlockPublicPolicy would refuse a public one
    if block_all:
        s3control.put_public_access_block(AccountId=account_id, PublicAccessBlockConfiguration={
            "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True,
            "RestrictPublicBuckets": True})
    return {
        "iam-password-policy": strong,
        "iam-user-console-mfa": not console_without_mfa,
        "s3-account-public-access-block": block_all,
        # RestrictPublicBuckets at the account level makes a public policy non-public
        "s3-no-public-bucket-policy": not (public_policy and not block_all),
        "iam-user-single-active-key": not two_keys,
        "iam-no-admin-policies": not admin_policy,
    }


def _drop_account_label(request: Any, **_: Any) -> None:
    from urllib.parse import urlsplit, urlunsplit

    parts = urlsplit(request.url)
    label, _, rest = (parts.hostname or "").partition(".")
    if label.isdigit() and rest:
        request.url = urlunsplit((parts.scheme, f"{rest}:{parts.port}" if parts.port else rest, parts.path,
                                  parts.query, parts.fragment))


class RoleGate(RecordingProxy):
    """Forwards to the emulator, records operations, and answers ``AccessDenied`` to ``sts:AssumeRole`` into any
    role of ``refuse_accounts`` (as AWS does when the role is missing or does not trust the caller)."""

    def __init__(self, upstream: str, refuse_accounts: Iterable[str] = (), limit: int = 20000,
                 timeout: float = 30.0) -> None:
        super().__init__(upstream, limit=limit, timeout=timeout)
        self.refuse_accounts = frozenset(refuse_accounts)
        self.assumed: List[str] = []

    def respond(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        if body and b"Action=AssumeRole" in body:
            arn = parse_qs(body.decode("utf-8", "replace")).get("RoleArn", [""])[0]
            account = arn.split(":")[4] if arn.count(":") >= 5 else ""
            with self._lock:
                self.assumed.append(account)
            if account in self.refuse_accounts:
                handler._reply(*refusal("query", "sts:AssumeRole"))  # type: ignore[attr-defined]
                return
        super().respond(handler, method, body)

    def count(self, operation: str) -> int:
        return sum(1 for r in self.requests if r.operation == operation)
