"""Effective access over small hand-built inventories: ``access.can``, ``access.admins`` and the policy predicates.

Each test names the AWS documentation it follows; the inventories hold only what the question needs.
"""

import pytest

from pytest_iam.access import IncompleteFacts, admins, can
from pytest_iam.inventory import (ORG_MEMBER, ORG_NONE, AttachedPolicy, Bucket, InlinePolicy, Inventory,
                                  ManagedPolicy, OrgAccount, Organization, PublicAccessBlock, Role, User)
from pytest_iam.predicates import no_full_admin, trust_within_zone

ACCT, OTHER, MEMBER = "111122223333", "444455556666", "777788889999"
V12 = "2012-10-17"
ALICE = f"arn:aws:iam::{ACCT}:user/alice"
AUDITOR = f"arn:aws:iam::{ACCT}:user/auditor"
ADMIN_ROLE = f"arn:aws:iam::{ACCT}:role/Admin"
PARTNER_ROLE = f"arn:aws:iam::{ACCT}:role/Partner"
AWS_READONLY = "arn:aws:iam::aws:policy/ReadOnlyAccess"
NOT_IN_ORG = Organization(status=ORG_NONE)


def doc(*statements):
    return {"Version": V12, "Statement": list(statements)}


def allow(action="*", resource="*", **more):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **more}


def deny(action="*", resource="*", **more):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **more}


ADMINISTRATOR_ACCESS = doc(allow())
READ_ONLY_ACCESS = doc(allow(["iam:Get*", "iam:List*", "s3:Get*", "s3:List*"]))  # ReadOnlyAccess-shaped
IAM_FULL_ACCESS = doc(allow("iam:*"))  # the AWS managed policy IAMFullAccess


def trust(principal):
    return doc({"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"})


def user(name, *documents, attached=()):
    return User(name, f"arn:aws:iam::{ACCT}:user/{name}", f"AID{name.upper()}", "/", None,
                inline_policies=tuple(InlinePolicy(f"p{i}", d) for i, d in enumerate(documents)),
                attached_policies=tuple(AttachedPolicy(arn, arn.rsplit("/", 1)[-1]) for arn in attached))


def role(name, trust_policy, *documents):
    return Role(name, f"arn:aws:iam::{ACCT}:role/{name}", f"ARO{name.upper()}", "/", None, trust_policy=trust_policy,
                inline_policies=tuple(InlinePolicy(f"p{i}", d) for i, d in enumerate(documents)))


def inventory(users=(), roles=(), buckets=(), policies=(), account_pab=None, organization=NOT_IN_ORG):
    return Inventory("test", ACCT, users=tuple(users), roles=tuple(roles), buckets=tuple(buckets),
                     policies=tuple(policies), account_public_access_block=account_pab, organization=organization)


# --- AWS-owned resources (IAM User Guide, "IAM identifiers": "aws" in the account field) -------------------------
def test_administrator_reads_an_aws_managed_policy__iam_identifiers():
    inv = inventory(users=[user("alice", ADMINISTRATOR_ACCESS)])
    decision = can(inv, ALICE, "iam:GetPolicy", AWS_READONLY)
    assert decision.allowed, str(decision)
    assert can(inv, ALICE, "iam:GetPolicyVersion", AWS_READONLY).allowed


def test_read_only_identity_reads_an_aws_managed_policy_but_cannot_write__iam_identifiers():
    inv = inventory(users=[user("auditor", READ_ONLY_ACCESS)])
    assert can(inv, AUDITOR, "iam:GetPolicy", AWS_READONLY).allowed
    assert can(inv, AUDITOR, "iam:ListPolicyVersions", AWS_READONLY).allowed
    assert can(inv, AUDITOR, "iam:CreatePolicyVersion", AWS_READONLY).decision == "implicit_deny"


def test_aws_owned_hub_decided_by_identity__iam_identifiers():
    inv = inventory(users=[user("alice", ADMINISTRATOR_ACCESS), user("auditor", READ_ONLY_ACCESS)])
    hub = "arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub"
    assert can(inv, ALICE, "sagemaker:DescribeHub", hub).allowed
    assert not can(inv, AUDITOR, "sagemaker:DescribeHub", hub).allowed


# --- principals of other accounts (IAM Access Analyzer's reading: the other account's side is assumed to allow) ---
@pytest.mark.parametrize("principal", [OTHER, f"arn:aws:iam::{OTHER}:root", f"arn:aws:iam::{OTHER}:user/bob",
                                       f"arn:aws:iam::{OTHER}:role/deployer",
                                       f"arn:aws:sts::{OTHER}:assumed-role/deployer/s1"])
def test_other_account_principal_answered_for_this_accounts_side__cross_account_doc(principal):
    inv = inventory(roles=[role("Partner", trust({"AWS": f"arn:aws:iam::{OTHER}:root"})),
                           role("Internal", trust({"AWS": ALICE}))])
    decision = can(inv, principal, "sts:AssumeRole", PARTNER_ROLE)
    assert decision.allowed, str(decision)
    assert any("assumed to allow" in r.message and OTHER in r.message for r in decision.reasons)
    refused = can(inv, principal, "sts:AssumeRole", f"arn:aws:iam::{ACCT}:role/Internal")
    assert refused.decision == "implicit_deny"
    assert any("assumed to allow" in r.message for r in refused.reasons)


def test_other_account_principal_trust_conditions_still_apply__trust_doc():
    external_id = doc({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole",
                       "Condition": {"StringEquals": {"sts:ExternalId": "abc123"}}})
    inv = inventory(roles=[role("Partner", external_id)])
    principal = f"arn:aws:iam::{OTHER}:role/vendor"
    assert not can(inv, principal, "sts:AssumeRole", PARTNER_ROLE)
    assert can(inv, principal, "sts:AssumeRole", PARTNER_ROLE, context={"sts:ExternalId": "abc123"})


def test_other_account_principal_on_a_bucket_needs_the_bucket_policy__cross_account_doc():
    shared = doc(allow("s3:GetObject", "arn:aws:s3:::share/*", Principal={"AWS": OTHER}))
    inv = inventory(buckets=[Bucket("share", "arn:aws:s3:::share", "us-east-1", policy=shared),
                             Bucket("private", "arn:aws:s3:::private", "us-east-1")])
    bob = f"arn:aws:iam::{OTHER}:user/bob"
    assert can(inv, bob, "s3:GetObject", "arn:aws:s3:::share/report.csv").allowed
    assert not can(inv, bob, "s3:PutObject", "arn:aws:s3:::share/report.csv").allowed
    assert not can(inv, bob, "s3:GetObject", "arn:aws:s3:::private/x").allowed


def test_other_account_principal_rcp_deny_applies__rcp_evaluation_doc():
    inv = inventory(roles=[role("Partner", trust({"AWS": OTHER}))])
    perimeter = doc({"Effect": "Deny", "Principal": "*", "Action": "sts:AssumeRole", "Resource": "*",
                     "Condition": {"StringNotEqualsIfExists": {"aws:PrincipalOrgID": "o-mine"}}})
    principal = f"arn:aws:iam::{OTHER}:root"
    assert can(inv, principal, "sts:AssumeRole", PARTNER_ROLE, rcps=[[], [perimeter]]).decision == "explicit_deny"
    # a level of Deny statements only does not deny what it does not match (Organizations, "RCP syntax")
    assert can(inv, principal, "sts:AssumeRole", PARTNER_ROLE, rcps=[[], [perimeter]],
               context={"aws:PrincipalOrgID": "o-mine"}).allowed


def test_other_account_principal_on_another_accounts_resource_is_a_one_line_error():
    inv = inventory()
    with pytest.raises(IncompleteFacts, match="only requests on resources of account"):
        can(inv, f"arn:aws:iam::{OTHER}:root", "sqs:SendMessage", f"arn:aws:sqs:us-east-1:{MEMBER}:q")


# --- S3 Block Public Access (S3 User Guide, "Blocking public access": RestrictPublicBuckets) --------------------
PUBLIC_READ = doc(allow("s3:GetObject", "arn:aws:s3:::site/*", Principal="*"))
RESTRICT = PublicAccessBlock(block_public_acls=True, ignore_public_acls=True, restrict_public_buckets=True)


def site(pab=None, policy=PUBLIC_READ):
    return Bucket("site", "arn:aws:s3:::site", "us-east-1", policy=policy, public_access_block=pab)


def test_anonymous_read_of_a_public_unblocked_bucket__s3_meaning_of_public():
    assert can(inventory(buckets=[site()]), "anonymous", "s3:GetObject", "arn:aws:s3:::site/index.html").allowed


def test_restrict_public_buckets_on_the_bucket_denies_anonymous__s3_block_public_access():
    decision = can(inventory(buckets=[site(RESTRICT)]), "anonymous", "s3:GetObject", "arn:aws:s3:::site/index.html")
    assert decision.decision == "implicit_deny"
    assert any("RestrictPublicBuckets" in r.message for r in decision.reasons)


def test_restrict_public_buckets_on_the_account_denies_anonymous__s3_block_public_access():
    inv = inventory(buckets=[site(PublicAccessBlock())], account_pab=RESTRICT)
    assert not can(inv, "anonymous", "s3:GetObject", "arn:aws:s3:::site/index.html").allowed


def test_restrict_public_buckets_blocks_cross_account_but_not_the_owner__s3_block_public_access():
    policy = doc(allow("s3:GetObject", "arn:aws:s3:::site/*", Principal="*"),
                 allow("s3:PutObject", "arn:aws:s3:::site/*", Principal={"AWS": OTHER}))
    inv = inventory(users=[user("alice", doc(allow("s3:GetObject", "arn:aws:s3:::site/*")))],
                    buckets=[site(RESTRICT, policy)])
    bob = f"arn:aws:iam::{OTHER}:user/bob"
    assert not can(inv, bob, "s3:GetObject", "arn:aws:s3:::site/a").allowed
    # "non-public delegation to specific accounts" inside a public policy is blocked too
    assert not can(inv, bob, "s3:PutObject", "arn:aws:s3:::site/a").allowed
    assert can(inv, ALICE, "s3:GetObject", "arn:aws:s3:::site/a").allowed


# --- administrators and privilege escalation ------------------------------------------------------------------
def test_iam_full_access_is_reported_with_the_trust_rewrite__sts_assumerole_doc():
    iam_full = ManagedPolicy("arn:aws:iam::aws:policy/IAMFullAccess", "IAMFullAccess", "/", True, "v1",
                             IAM_FULL_ACCESS)
    inv = inventory(users=[user("ian", attached=[iam_full.arn])], roles=[role("Admin", trust({"AWS": ACCT}),
                                                                                 ADMINISTRATOR_ACCESS)],
                    policies=[iam_full])
    found = {a.principal: a for a in admins(inv)}
    ian = found[f"arn:aws:iam::{ACCT}:user/ian"]
    assert ian.how == "escalation"
    assert "rewrite the trust policy of administrator role Admin and assume it" in ian.detail
    assert found[ADMIN_ROLE].how == "full"


def test_update_assume_role_policy_alone_reaches_an_admin_role__sts_assumerole_doc():
    narrow = doc(allow("iam:UpdateAssumeRolePolicy", ADMIN_ROLE))
    inv = inventory(users=[user("olga", narrow)], roles=[role("Admin", trust({"AWS": ACCT}), ADMINISTRATOR_ACCESS)])
    found = {a.principal: a for a in admins(inv)}
    olga = found[f"arn:aws:iam::{ACCT}:user/olga"]
    assert olga.how == "escalation" and "role Admin" in olga.detail
    assert any("the rewritten trust policy" in s for s in olga.reasons)
    # with no administrator to take over, rewriting a trust policy raises nobody to admin
    assert admins(inventory(users=[user("olga", narrow)], roles=[role("Admin", trust({"AWS": ACCT}))])) == ()


def test_full_admin_cancelled_by_its_own_deny_is_not_an_admin__eval_logic_doc():
    cancelled = doc(allow(), deny())
    inv = inventory(users=[user("alice", cancelled)])
    assert admins(inv) == ()
    assert can(inv, ALICE, "s3:ListAllMyBuckets").decision == "explicit_deny"


# --- predicates -------------------------------------------------------------------------------------------------
def test_no_full_admin_passes_a_policy_whose_deny_cancels_it__eval_logic_doc():
    label = "arn:aws:iam::111122223333:policy/Cancelled"
    assert no_full_admin({"document": doc(allow(), deny()), "label": label}, inventory(), {}) is None
    conditional = deny(Condition={"Bool": {"aws:MultiFactorAuthPresent": "false"}})
    assert no_full_admin({"document": doc(allow(), conditional), "label": label}, inventory(), {})
    assert no_full_admin({"document": doc(allow()), "label": label}, inventory(), {})


def test_trust_within_zone_includes_the_organizations_accounts():
    organization = Organization(status=ORG_MEMBER, id="o-abc123", management_account_id=MEMBER,
                                accounts=(OrgAccount(ACCT, "this", "a@example.com", "ACTIVE", None),
                                          OrgAccount(MEMBER, "member", "m@example.com", "ACTIVE", None)))
    inv = inventory(organization=organization)

    def verdict(principal):
        return trust_within_zone({"trust_policy": trust({"AWS": principal}), "label": "role/x",
                                  "service_linked": False}, inv, {})

    assert verdict(f"arn:aws:iam::{MEMBER}:root") is None
    assert verdict(MEMBER) is None
    assert verdict(f"arn:aws:iam::{MEMBER}:role/deployer") is None
    assert verdict(f"arn:aws:iam::{OTHER}:root")  # not a member: outside
    # when the organization's accounts are not known, a member account cannot be told from a stranger
    unknown = inventory(organization=Organization(status="unavailable", reason="AccessDenied"))
    assert trust_within_zone({"trust_policy": trust({"AWS": MEMBER}), "label": "role/x", "service_linked": False},
                             unknown, {})
