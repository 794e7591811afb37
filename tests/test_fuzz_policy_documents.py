"""Malformed policy documents as an account can hold them: every shipped check runs over an inventory whose users,
groups, roles, managed policies, buckets and SCPs carry random JSON values, random text and near-valid documents.
No check raises, and a resource whose document the policy parser refuses is an error finding naming its ARN: never a
pass, never a fail that hides that the document could not be read."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any, Dict, List, Tuple

from fuzz_inputs import FUZZ, assert_one_line, mutated, nasty
from hypothesis import given
from hypothesis import strategies as st

from pytest_iam.checks import ERROR, PASS, Library, run_check
from pytest_iam.inventory import (Bucket, Group, InlinePolicy, Inventory, ManagedPolicy, Organization, OrgAccount,
                                  OrgUnit, ORG_MEMBER, Role, Scp, User)
from pytest_iam.policy import Policy, PolicyError

ACCOUNT = "123456789012"
MANAGEMENT = "999999999999"
OTHER_MEMBER = "222233334444"
AT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
LIBRARY = Library.load()

IDENTITY = {"Version": "2012-10-17", "Statement": [
    {"Sid": "Read", "Effect": "Allow", "Action": ["s3:GetObject", "s3:List*"], "Resource": "arn:aws:s3:::data/*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "data"}}},
    {"Effect": "Deny", "NotAction": "iam:*", "NotResource": "*"}]}
TRUST = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "sts:AssumeRole",
     "Condition": {"StringEquals": {"sts:ExternalId": "x-1"}}}]}
BUCKET = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*",
     "Condition": {"IpAddress": {"aws:SourceIp": "10.0.0.0/8"}}}]}
SCP = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "Action": ["organizations:LeaveOrganization", "cloudtrail:*"], "Resource": "*",
     "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}]}

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=10),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner, max_size=3),
    max_leaves=8,
)


def documents(valid: dict) -> st.SearchStrategy:
    """Random JSON, random text, JSON text, the valid document itself, and mutations of it."""
    return st.one_of(
        json_values,
        st.text(max_size=40),
        st.sampled_from(["", "{", "null", "[]", "{}", '{"Statement": []}', '{"Version": "2012-10-17"}']),
        st.just(valid),
        mutated(valid, steps=3),
        mutated(valid, steps=2).map(lambda d: json.dumps(d, default=str)),
        nasty,
    )


def _malformed(document: Any, kind: str) -> bool:
    try:
        Policy.parse(document, kind)
    except PolicyError as exc:
        assert_one_line(exc, "")
        return True
    return False


@st.composite
def inventories(draw: Any) -> Tuple[Inventory, Dict[str, List[Tuple[str, str, Any]]]]:
    """An inventory, and per check id the (ARN, label, document, kind) of what the check must read."""
    expect: Dict[str, list] = {"iam-no-admin-policies": [], "iam-role-external-trust": [], "s3-no-public-bucket-policy": [],
                               "org-scp-guardrails": []}
    arn = f"arn:aws:iam::{ACCOUNT}"

    def inline(kind: str, name: str) -> tuple:
        found = []
        for i in range(draw(st.integers(0, 2))):
            document = draw(documents(IDENTITY))
            found.append(InlinePolicy(name=f"p{i}", document=document))
            expect["iam-no-admin-policies"].append((f"{arn}:{kind}/{name}", f"{kind}/{name} inline p{i}", document, "identity"))
        return tuple(found)

    users = tuple(User(name=f"u{i}", arn=f"{arn}:user/u{i}", id=f"AIDA{i}", path="/", created=AT,
                       inline_policies=inline("user", f"u{i}")) for i in range(draw(st.integers(0, 2))))
    groups = tuple(Group(name=f"g{i}", arn=f"{arn}:group/g{i}", id=f"AGPA{i}", path="/",
                         inline_policies=inline("group", f"g{i}")) for i in range(draw(st.integers(0, 2))))
    roles = []
    for i in range(draw(st.integers(0, 2))):
        trust = draw(documents(TRUST))
        roles.append(Role(name=f"r{i}", arn=f"{arn}:role/r{i}", id=f"AROA{i}", path="/", created=AT, trust_policy=trust,
                          inline_policies=inline("role", f"r{i}")))
        expect["iam-role-external-trust"].append((f"{arn}:role/r{i}", f"role/r{i}", trust, "trust"))
    policies = []
    for i in range(draw(st.integers(0, 2))):
        document = draw(documents(IDENTITY))
        policies.append(ManagedPolicy(arn=f"{arn}:policy/m{i}", name=f"m{i}", path="/", aws_managed=False,
                                      default_version_id="v1", document=document, attachment_count=1))
        expect["iam-no-admin-policies"].append((f"{arn}:policy/m{i}", f"policy/m{i}", document, "identity"))
    buckets = []
    for i in range(draw(st.integers(0, 2))):
        document = draw(documents(BUCKET))
        buckets.append(Bucket(name=f"b{i}", arn=f"arn:aws:s3:::b{i}", region="us-east-1", policy=document))
        if document is not None:  # no policy at all is a fact, not a malformed document
            expect["s3-no-public-bucket-policy"].append((f"arn:aws:s3:::b{i}", f"bucket/b{i}", document, "resource"))
    scps = []
    for i in range(draw(st.integers(0, 2))):
        document = draw(documents(SCP))
        target = draw(st.sampled_from(["r-root", "ou-work", ACCOUNT]))
        scps.append(Scp(id=f"p-{i}", arn=f"arn:aws:organizations::{MANAGEMENT}:policy/o-1/service_control_policy/p-{i}",
                        name=f"scp{i}", aws_managed=False, content=document, targets=(target,)))
    organization = Organization(
        status=ORG_MEMBER, id="o-1", management_account_id=MANAGEMENT, root_ids=("r-root",),
        units=(OrgUnit("ou-work", "Work", "r-root"),),
        accounts=(OrgAccount(MANAGEMENT, "mgmt", "m@example.com", "ACTIVE", "r-root"),
                  OrgAccount(ACCOUNT, "this", "t@example.com", "ACTIVE", "ou-work"),
                  OrgAccount(OTHER_MEMBER, "other", "o@example.com", "ACTIVE", "r-root")),
        scps=tuple(scps), scps_enabled=True)
    chains = {ACCOUNT: {"r-root", "ou-work", ACCOUNT}, OTHER_MEMBER: {"r-root"}}
    for member, chain in chains.items():
        for scp in scps:
            if set(scp.targets) & chain:
                expect["org-scp-guardrails"].append(
                    (f"arn:aws:organizations::{MANAGEMENT}:account/o-1/{member}", None, scp.content, "scp"))
    own = [scp.content for scp in scps if set(scp.targets) & chains[ACCOUNT]]
    if own and all(_malformed(content, "scp") for content in own):
        # only unreadable SCPs apply: whether one of them is more than FullAWSAccess cannot be told
        expect["org-scps-present"] = [(f"arn:aws:iam::{ACCOUNT}:root", None, own[0], "scp")]
    inventory = Inventory(account_name="fuzz", account_id=ACCOUNT, collected_at=AT, users=users, groups=groups,
                          roles=tuple(roles), policies=tuple(policies), buckets=tuple(buckets), organization=organization)
    return inventory, expect


@FUZZ
@given(case=inventories())
def test_every_check_over_malformed_documents(case: tuple) -> None:
    inventory, expect = case
    for check in LIBRARY:
        result = run_check(check, inventory, at=AT)  # never raises
        for finding in result.findings:
            assert finding.resource and len(finding.reason.splitlines()) <= 1, finding
        for arn, label, document, kind in expect.get(check.id, []):
            if not _malformed(document, kind):
                continue
            mine = [f for f in result.findings if f.resource == arn and (label is None or f.label == label)]
            assert mine, f"{check.id}: no finding for {arn} ({label}) whose document is malformed: {document!r}"
            assert all(f.status == ERROR for f in mine), (check.id, document, mine)
            assert all(f.status != PASS for f in mine)


@FUZZ
@given(kind=st.sampled_from(["identity", "resource", "boundary", "scp", "rcp", "session", "trust"]),
       document=documents(IDENTITY) | documents(TRUST) | documents(BUCKET))
def test_the_policy_parser_refuses_in_one_line(kind: str, document: Any) -> None:
    _malformed(document, kind)  # a Policy, or a one-line PolicyError: nothing else
