"""Resource control policies: read with the organization, and applied by ``iam.can`` to this account's resources.

RCPs hold only Deny statements that count (``RCPFullAWSAccess`` is attached everywhere once the type is enabled), and
they govern the resources of the accounts they apply to (Organizations user guide, "Resource control policies").
"""

from __future__ import annotations

import json

import boto3
from moto import mock_aws

from pytest_iam.access import can
from pytest_iam.aws import ClientFactory
from pytest_iam.collect.errors import ErrorLog
from pytest_iam.collect.organizations import read_organization
from pytest_iam.inventory import ORG_MEMBER, Bucket, Inventory, OrgAccount, Organization, Scp

ACCOUNT = "123456789012"
OUTSIDER = "999999999999"
DENY_OUTSIDERS = {
    "Version": "2012-10-17",
    "Statement": [{"Sid": "OnlyOurOrganization", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                   "Resource": "*", "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-ours"}}}],
}


def _new_organization():
    """A session and an Organizations client (for seeding: the in-process emulator only) of a new organization."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    org = session.client("organizations", region_name="us-east-1")
    org.create_organization(FeatureSet="ALL")
    return session, org


@mock_aws
def test_rcps_are_read_with_their_targets_once_the_type_is_enabled() -> None:
    session, org = _new_organization()
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="RESOURCE_CONTROL_POLICY")
    policy = org.create_policy(Content=json.dumps(DENY_OUTSIDERS), Description="deny outsiders", Name="DenyOutsiders",
                               Type="RESOURCE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
    org.attach_policy(PolicyId=policy, TargetId=root)

    factory = ClientFactory(session)
    organization = read_organization(factory, ErrorLog())
    assert organization.status == ORG_MEMBER and organization.rcps_enabled is True
    ours = [p for p in organization.rcps if p.name == "DenyOutsiders"]
    assert len(ours) == 1 and ours[0].targets == (root,) and ours[0].content == DENY_OUTSIDERS
    chain = organization.rcp_chain(ACCOUNT)
    assert chain is not None and any(p.name == "DenyOutsiders" for p in chain[0])


@mock_aws
def test_no_rcp_is_listed_when_the_type_is_not_enabled() -> None:
    session, _org = _new_organization()
    factory = ClientFactory(session)
    organization = read_organization(factory, ErrorLog())
    assert organization.rcps_enabled is False and organization.rcps == ()
    assert organization.rcp_chain(ACCOUNT) == []
    assert ("organizations", "ListPolicies") in factory.calls  # the SCPs were listed
    assert factory.calls[("organizations", "ListPolicies")] == 1  # and nothing more: no RCP listing


def _inventory(rcps):
    public_read = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OUTSIDER}:root"}, "Action": "s3:GetObject",
         "Resource": "arn:aws:s3:::shared-data/*"}]}
    organization = Organization(status=ORG_MEMBER, id="o-ours", management_account_id="111111111111",
                                root_ids=("r-root",), accounts=(OrgAccount(ACCOUNT, "prod", "", "ACTIVE", "r-root"),),
                                scps=(), scps_enabled=False, rcps=rcps, rcps_enabled=rcps is not None)
    return Inventory(account_name="prod", account_id=ACCOUNT, organization=organization,
                     buckets=(Bucket(name="shared-data", arn="arn:aws:s3:::shared-data", region="us-east-1",
                                     policy=public_read),))


def test_can_applies_the_organizations_rcps_to_this_accounts_resources() -> None:
    rcp = Scp(id="p-rcp", arn="", name="DenyOutsiders", aws_managed=False, content=DENY_OUTSIDERS, targets=("r-root",))
    outsider = f"arn:aws:iam::{OUTSIDER}:root"
    allowed = can(_inventory(()), outsider, "s3:GetObject", "arn:aws:s3:::shared-data/report.csv")
    assert allowed.allowed  # the bucket policy grants it, and no RCP applies
    denied = can(_inventory((rcp,)), outsider, "s3:GetObject", "arn:aws:s3:::shared-data/report.csv")
    assert denied.decision == "explicit_deny"
    assert any("OnlyOurOrganization" in str(r) for r in denied.reasons)


def test_rcps_that_were_not_read_are_said_in_the_reasons() -> None:
    decision = can(_inventory(None), f"arn:aws:iam::{OUTSIDER}:root", "s3:GetObject",
                   "arn:aws:s3:::shared-data/report.csv")
    assert any("RCPs were not read" in str(r) for r in decision.reasons)


@mock_aws
def test_attachments_read_per_target_equal_those_read_per_policy() -> None:
    """With more policies than roots, OUs and accounts, attachments are asked per target: fewer calls, same pairs."""
    session, org = _new_organization()
    root = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
    unit = org.create_organizational_unit(ParentId=root, Name="workloads")["OrganizationalUnit"]["Id"]
    deny = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}
    for index in range(6):
        policy = org.create_policy(Content=json.dumps(deny), Description="d", Name=f"guard-{index}",
                                   Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=policy, TargetId=unit if index % 2 else root)
    factory = ClientFactory(session)
    organization = read_organization(factory, ErrorLog())
    expected = {p["Id"]: tuple(sorted(t["TargetId"] for t in org.list_targets_for_policy(PolicyId=p["Id"])["Targets"]))
                for p in org.list_policies(Filter="SERVICE_CONTROL_POLICY")["Policies"]}
    assert {p.id: p.targets for p in organization.scps} == expected
    calls = factory.calls
    assert ("organizations", "ListTargetsForPolicy") not in calls
    assert calls[("organizations", "ListPoliciesForTarget")] == 3  # the root, the OU and the management account
