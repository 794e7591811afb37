"""The S3 and EC2 side of CIS v5.0.0 and the engine-decided S3 checks, on inventories built for each case, and the
EC2 collector against AWS-shaped responses (botocore's Stubber; no network)."""

from __future__ import annotations

import datetime as dt
from typing import Any, Optional

import boto3
import pytest
from botocore.stub import Stubber

from pytest_iam.aws import ClientFactory
from pytest_iam.checks import Library
from pytest_iam.collect.ec2 import collect_ec2
from pytest_iam.collect.errors import ErrorLog
from pytest_iam.inventory import (UTC, Bucket, Grant, Instance, Inventory, Organization, PublicAccessBlock,
                                  from_json, to_jsonable)
from pytest_iam.resources import RESOURCE_TYPES

ACCT = "111122223333"
NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)
LIB = Library.load()
ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
OWNER = Grant(grantee_type="CanonicalUser", permission="FULL_CONTROL", grantee="owner-id")
ALL_OFF = PublicAccessBlock()


def inventory(*buckets: Bucket, account_pab: Optional[PublicAccessBlock] = ALL_OFF, **more: Any) -> Inventory:
    return Inventory(account_name="t", account_id=ACCT, collected_at=NOW, buckets=buckets,
                     account_public_access_block=account_pab, organization=Organization(status="not_in_organization"),
                     **more)


def bucket(name: str = "b", policy: Any = None, grants: tuple = (OWNER,), **more: Any) -> Bucket:
    return Bucket(name=name, arn=f"arn:aws:s3:::{name}", region="us-east-1", policy=policy, acl_grants=grants,
                  versioning="Off", mfa_delete=False, **more)


def doc(*statements: dict) -> dict:
    return {"Version": "2012-10-17", "Statement": list(statements)}


def judged(check_id: str, inv: Inventory, **params: Any) -> dict:
    result = LIB.run(check_id, inv, params)
    return {f.label: (f.status, f.reason) for f in result.findings}


DENY_HTTP = {"Sid": "DenyHttp", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
             "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"], "Condition": {"Bool": {"aws:SecureTransport": "false"}}}


# --- CIS 2.1.1: the bucket policy denies HTTP, as the engine decides -------------------------------------------------

@pytest.mark.parametrize("policy, status, reason", [
    (doc(DENY_HTTP), "pass", ""),
    # AWS Config s3-bucket-ssl-requests-only: no policy means HTTP is not denied
    (None, "fail", "the bucket has no policy"),
    # a Deny of reads only: writes and configuration changes over HTTP are not denied
    (doc({**DENY_HTTP, "Action": "s3:GetObject"}),
     "fail", "s3:PutObject, s3:ListBucket, s3:PutBucketPolicy by an anonymous caller"),
    # lifted for one VPC endpoint: from that endpoint HTTP is allowed (a negated operator on a key the request sets)
    (doc({**DENY_HTTP, "Condition": {"Bool": {"aws:SecureTransport": "false"},
                                     "StringNotEquals": {"aws:SourceVpce": "vpce-1"}}}),
     "fail", "when aws:SourceVpce is vpce-1"),
    # narrowed to one caller's account: anonymous callers and other accounts may use HTTP
    (doc({**DENY_HTTP, "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"}}), "fail", "by an anonymous caller"),
    # the Deny covers the objects only: bucket operations over HTTP are not denied
    (doc({**DENY_HTTP, "Resource": "arn:aws:s3:::b/*"}), "fail", "s3:ListBucket, s3:PutBucketPolicy"),
    # an Allow that requires TLS is not a Deny: a principal of the account still gets in over HTTP through IAM
    (doc({"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
          "Condition": {"Bool": {"aws:SecureTransport": "true"}}}), "fail", "by a principal of the account"),
])
def test_deny_insecure_transport_is_decided_by_the_engine(policy: Any, status: str, reason: str) -> None:
    (found,) = judged("s3-deny-insecure-transport", inventory(bucket(policy=policy))).values()
    assert found[0] == status, found
    assert reason in found[1]


# --- public write: a public policy that writes, honouring Deny and Block Public Access; public write ACL grants -----

PUBLIC = {"Effect": "Allow", "Principal": "*", "Resource": ["arn:aws:s3:::b", "arn:aws:s3:::b/*"]}


@pytest.mark.parametrize("policy, pab, status, reason", [
    (doc({**PUBLIC, "Action": "s3:GetObject"}), None, "pass", ""),  # public, but read only
    (doc({**PUBLIC, "Action": "s3:*"}), None, "fail", "the bucket policy lets anyone s3:PutObject"),
    (doc({**PUBLIC, "Action": "s3:Delete*"}), None, "fail", "s3:DeleteObject"),
    (doc({**PUBLIC, "Action": "s3:PutBucketPolicy"}), None, "fail", "s3:PutBucketPolicy"),
    # every write the Allow grants is denied to everyone: public (for reads), but nobody outside can write
    (doc({**PUBLIC, "Action": ["s3:GetObject", "s3:Put*"]},
         {"Effect": "Deny", "Principal": "*", "Action": "s3:Put*", "Resource": "arn:aws:s3:::b*"}), None, "pass", ""),
    # a Deny the caller side-steps by sending the header is not trusted
    (doc({**PUBLIC, "Action": "s3:PutObject"},
         {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject", "Resource": "arn:aws:s3:::b/*",
          "Condition": {"StringNotEquals": {"s3:x-amz-acl": "bucket-owner-full-control"}}}), None, "fail", "s3:PutObject"),
    # a Deny over HTTP only: anyone may still write over HTTPS
    (doc({**PUBLIC, "Action": "s3:PutObject"}, DENY_HTTP), None, "fail", "s3:PutObject"),
    # S3 "meaning of public": pinned to a VPC endpoint, the policy is not public
    (doc({**PUBLIC, "Action": "s3:PutObject", "Condition": {"StringEquals": {"aws:SourceVpce": "vpce-1"}}}),
     None, "pass", ""),
    # "*" with aws:SourceIp 0.0.0.0/0 restricts nothing: the condition does not make it private
    (doc({**PUBLIC, "Action": "s3:PutObject", "Condition": {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}}),
     None, "fail", "s3:PutObject"),
    # RestrictPublicBuckets on the bucket: only the owner's principals and AWS services keep the grant
    (doc({**PUBLIC, "Action": "s3:*"}), PublicAccessBlock(restrict_public_buckets=True), "pass", ""),
])
def test_public_write_by_policy_is_decided_by_the_engine(policy: Any, pab: Any, status: str, reason: str) -> None:
    (found,) = judged("s3-no-public-write", inventory(bucket(policy=policy, public_access_block=pab))).values()
    assert found[0] == status, found
    assert reason in found[1]


@pytest.mark.parametrize("permission, status", [("READ", "pass"), ("WRITE", "fail"), ("WRITE_ACP", "fail"),
                                                ("FULL_CONTROL", "fail"), ("READ_ACP", "pass")])
def test_public_write_by_acl_grant(permission: str, status: str) -> None:
    grants = (OWNER, Grant(grantee_type="Group", permission=permission, grantee=AUTHENTICATED_USERS))
    (found,) = judged("s3-no-public-write", inventory(bucket(grants=grants))).values()
    assert found[0] == status
    if status == "fail":
        assert found[1] == f"the ACL grants {permission} to AuthenticatedUsers"


# --- public ACLs: IgnorePublicAcls on the bucket or the account neutralises them --------------------------------------

def test_public_acl_grants_fail_unless_ignore_public_acls_is_in_effect() -> None:
    grants = (OWNER, Grant(grantee_type="Group", permission="READ", grantee=ALL_USERS))
    open_ = bucket("open", grants=grants)
    own = bucket("own-setting", grants=grants, public_access_block=PublicAccessBlock(ignore_public_acls=True))
    private = bucket("private")
    found = judged("s3-no-public-acl", inventory(open_, own, private))
    assert found["bucket/open"] == ("fail", f"the ACL grants READ to {ALL_USERS}, and IgnorePublicAcls is off for the "
                                            "bucket and the account")
    assert found["bucket/own-setting"][0] == "pass" and found["bucket/private"][0] == "pass"
    account_wide = judged("s3-no-public-acl", inventory(open_, account_pab=PublicAccessBlock(ignore_public_acls=True)))
    assert account_wide["bucket/open"][0] == "pass"


def test_an_acl_not_read_because_acls_are_ignored_is_no_finding_but_not_a_fact_either() -> None:
    """The collector skips GetBucketAcl under IgnorePublicAcls: the public-ACL checks pass, a check of the grants
    themselves gets an error, never an empty list."""
    skipped = Bucket(name="b", arn="arn:aws:s3:::b", region="us-east-1", acl_grants=None, versioning="Off",
                     mfa_delete=False, public_access_block=PublicAccessBlock(ignore_public_acls=True),
                     acl_not_read="IgnorePublicAcls is on for the bucket: S3 ignores its public ACL grants, so the ACL "
                                  "was not read")
    inv = inventory(skipped)
    assert judged("s3-no-public-acl", inv)["bucket/b"][0] == "pass"
    assert judged("s3-no-public-write", inv)["bucket/b"][0] == "pass"
    (view,) = RESOURCE_TYPES["buckets"](inv)
    assert view["unread"] == {"acl_grants": skipped.acl_not_read} and view["public_acl_grants"] == []


def test_unknown_account_settings_make_public_grants_an_error_not_a_pass() -> None:
    grants = (OWNER, Grant(grantee_type="Group", permission="WRITE", grantee=ALL_USERS))
    found = judged("s3-no-public-acl", inventory(bucket(grants=grants), account_pab=None))
    assert found["bucket/b"][0] == "error"


# --- CIS 2.1.4 for each bucket: bucket OR account ----------------------------------------------------------------------

def test_bucket_public_access_block_is_the_bucket_or_the_account_setting() -> None:
    half = PublicAccessBlock(block_public_acls=True, ignore_public_acls=True)
    other_half = PublicAccessBlock(block_public_policy=True, restrict_public_buckets=True)
    found = judged("s3-bucket-public-access-block", inventory(bucket("x", public_access_block=half), bucket("y"),
                                                             account_pab=other_half))
    assert found["bucket/x"] == ("pass", "")
    assert found["bucket/y"] == ("fail", "BlockPublicAcls is off for the bucket and the account; IgnorePublicAcls is "
                                         "off for the bucket and the account")
    all_on = PublicAccessBlock(True, True, True, True)
    assert judged("s3-bucket-public-access-block", inventory(bucket("y"), account_pab=all_on))["bucket/y"][0] == "pass"


# --- CIS 2.1.2: MFA delete on versioned buckets, with a parameter to turn it off -------------------------------------

def test_mfa_delete_judges_versioned_buckets_only_and_can_be_turned_off() -> None:
    versioned = Bucket(name="v", arn="arn:aws:s3:::v", region="us-east-1", versioning="Enabled", mfa_delete=False)
    suspended = Bucket(name="s", arn="arn:aws:s3:::s", region="us-east-1", versioning="Suspended", mfa_delete=True)
    plain = bucket("p")
    result = LIB.run("s3-mfa-delete", inventory(versioned, suspended, plain))
    assert {f.label: f.status for f in result.findings} == {"bucket/v": "fail", "bucket/s": "pass"}
    assert result.failed[0].reason == "versioning is Enabled but MFA delete is off"
    assert LIB.run("s3-mfa-delete", inventory(versioned), {"require_mfa_delete": False}).passed
    unknown = Bucket(name="u", arn="arn:aws:s3:::u", region="us-east-1")  # an inventory made before versioning was read
    assert LIB.run("s3-mfa-delete", inventory(unknown)).outcome == "error"


# --- CIS 1.17: instances, per region; a refused region is unread -------------------------------------------------------

def _reservation(instance_id: str, state: str, profile: Optional[str] = None) -> dict:
    item: dict = {"InstanceId": instance_id, "State": {"Code": 16, "Name": state},
                  "LaunchTime": dt.datetime(2026, 5, 1, tzinfo=UTC), "Tags": [{"Key": "Name", "Value": instance_id}]}
    if profile:
        item["IamInstanceProfile"] = {"Arn": f"arn:aws:iam::{ACCT}:instance-profile/{profile}", "Id": "AIPA"}
    return {"ReservationId": f"r-{instance_id}", "Instances": [item]}


def test_instances_are_paged_per_region_and_a_refused_region_is_an_error_naming_the_call() -> None:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    factory = ClientFactory(session, endpoint_url="http://127.0.0.1:9", max_attempts=1)
    filters = [{"Name": "instance-state-name", "Values": ["pending", "running", "stopping", "stopped"]}]
    with Stubber(factory.client("ec2", "us-east-1")) as east, Stubber(factory.client("ec2", "eu-west-1")) as west:
        east.add_response("describe_instances", {"Reservations": [_reservation("i-0a", "running", "web")],
                                                 "NextToken": "page-2"},
                          {"Filters": filters, "MaxResults": 1000})
        east.add_response("describe_instances", {"Reservations": [_reservation("i-0b", "stopped")]},
                          {"Filters": filters, "MaxResults": 1000, "NextToken": "page-2"})
        # an SCP denying the region, or a missing permission: EC2 answers UnauthorizedOperation
        west.add_client_error("describe_instances", service_error_code="UnauthorizedOperation", http_status_code=403)
        errors = ErrorLog()
        facts = collect_ec2(factory, ("us-east-1", "eu-west-1"), ACCT, "aws", errors)
        east.assert_no_pending_responses()
        west.assert_no_pending_responses()
    inv = Inventory(account_name="t", account_id=ACCT, collected_at=NOW, unread=errors.freeze_unread(), **facts)
    assert [i.id for i in inv.instances] == ["i-0a", "i-0b"]
    assert factory.calls[("ec2", "DescribeInstances")] == 3
    result = LIB.run("ec2-instance-profile", inv)
    found = {f.label: (f.status, f.reason) for f in result.findings}
    assert found["instance/i-0a (i-0a) in us-east-1"] == ("pass", "")
    assert found["instance/i-0b (i-0b) in us-east-1"] == ("fail", "no instance profile is associated (stopped in "
                                                                  "us-east-1)")
    status, reason = found["instances in eu-west-1"]
    assert status == "error"
    assert "ec2:DescribeInstances: UnauthorizedOperation; grant ec2:DescribeInstances" in reason
    assert result.outcome == "fail"


def test_no_instance_in_any_region_says_which_regions_were_asked() -> None:
    inv = Inventory(account_name="t", account_id=ACCT, collected_at=NOW, instances=(),
                    instance_regions=("us-east-1", "eu-west-1"))
    result = LIB.run("ec2-instance-profile", inv)
    assert result.passed and result.nothing_to_evaluate == (
        "the account has no pending, running, stopping or stopped EC2 instance in us-east-1, eu-west-1")


def test_a_snapshot_made_before_instances_were_collected_is_not_read_as_none() -> None:
    inv = Inventory(account_name="t", account_id=ACCT, collected_at=NOW, instances=(
        Instance(id="i-1", arn=f"arn:aws:ec2:us-east-1:{ACCT}:instance/i-1", region="us-east-1", state="running"),))
    data = to_jsonable(inv)
    assert from_json(data).instances == inv.instances
    del data["instances"]
    assert from_json(data).instances is None
    assert LIB.run("ec2-instance-profile", from_json(data)).outcome == "error"
