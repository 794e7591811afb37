"""Analysis functions: public buckets, external access, administrators, privilege escalation."""

import pytest

from pytest_iam.policy import (external_access, full_admin, grants_full_admin, is_public, privilege_escalation)

ACCT, OTHER = "111122223333", "444455556666"
USER = f"arn:aws:iam::{ACCT}:user/bob"
ROLE_SESSION = f"arn:aws:sts::{ACCT}:assumed-role/deploy/s1"
ADMIN = {"Version": "2012-10-17", "Statement": [{"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}]}


def doc(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def public_get(**more):
    return {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::b/*", **more}


# --- is_public (S3 user guide, "The meaning of public") --------------------------------------------------------
@pytest.mark.parametrize("cidr,public", [
    ("203.0.113.0/24", False), ("10.0.0.0/8", False), ("0.0.0.0/1", True), ("0.0.0.0/0", True),
    ("2001:db8::/32", False), ("2001:db8::/31", True), ("11.0.0.0/7", True),
])
def test_source_ip_limit_is_slash8_v4_slash32_v6__s3_meaning_of_public(cidr, public):
    policy = doc(public_get(Condition={"IpAddress": {"aws:SourceIp": cidr}}))
    assert is_public(policy).public is public


@pytest.mark.parametrize("key", ["aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner",
                                 "aws:SourceAccount", "aws:userid", "s3:DataAccessPointAccount",
                                 "aws:PrincipalOrgID", "aws:PrincipalAccount", "aws:PrincipalArn",
                                 "s3:x-amz-server-side-encryption-aws-kms-key-id"])
def test_fixed_restricting_key_makes_grant_non_public__s3_meaning_of_public(key):
    assert not is_public(doc(public_get(Condition={"StringEquals": {key: "fixed-value-1"}}))).public


@pytest.mark.parametrize("condition", [
    {"StringEquals": {"aws:SourceVpce": "${aws:username}"}},
    {"StringLike": {"aws:SourceVpce": "vpce-*"}},
    {"StringNotEquals": {"aws:SourceVpce": "vpce-1"}},
    {"StringEqualsIfExists": {"aws:SourceVpce": "vpce-1"}},
    {"ForAllValues:StringEquals": {"aws:SourceVpce": "vpce-1"}},
    {"StringLike": {"aws:userid": "AROAEXAMPLE:*"}},
])
def test_unfixed_or_escapable_restriction_stays_public__s3_meaning_of_public(condition):
    assert is_public(doc(public_get(Condition=condition))).public


def test_access_point_arn_may_wildcard_the_name_only__s3_meaning_of_public():
    fixed = {"StringLike": {"s3:DataAccessPointArn": "arn:aws:s3:us-west-2:123456789012:accesspoint/*"}}
    any_account = {"StringLike": {"s3:DataAccessPointArn": "arn:aws:s3:us-west-2:*:accesspoint/*"}}
    assert not is_public(doc(public_get(Condition=fixed))).public
    assert is_public(doc(public_get(Condition=any_account))).public


def test_federated_principal_is_public__s3_meaning_of_public_example():
    policy = doc({"Effect": "Allow", "Principal": {"Federated": "graph.facebook.com"}, "Action": "s3:PutObject",
                  "Resource": "*"})
    assert is_public(policy).public and is_public(policy).write


def test_fixed_principals_are_not_public():
    policy = doc({"Effect": "Allow", "Principal": {"AWS": OTHER, "Service": "cloudtrail.amazonaws.com"},
                  "Action": "s3:*", "Resource": "*"})
    assert not is_public(policy).public


def test_wildcard_principal_arn_is_public():
    policy = doc({"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::*:root"}, "Action": "s3:GetObject",
                  "Resource": "*"})
    assert is_public(policy).public


def test_restrict_public_buckets_makes_public_policy_not_public__s3_block_public_access():
    result = is_public(doc(public_get()), block_public_access={"RestrictPublicBuckets": True, "BlockPublicAcls": True})
    assert not result.public and result.statements and "RestrictPublicBuckets" in result.reasons[-1]
    assert is_public(doc(public_get()), block_public_access={"BlockPublicPolicy": True}).public


def test_public_statement_is_reported_among_others():
    policy = doc({"Sid": "Trail", "Effect": "Allow", "Principal": {"Service": "cloudtrail.amazonaws.com"},
                  "Action": "s3:PutObject", "Resource": "*"}, public_get(Sid="Open"))
    result = is_public(policy)
    assert [s.sid for s in result.statements] == ["Open"]


# --- external_access --------------------------------------------------------------------------------------------
def test_external_account_in_trust_policy():
    trust = doc({"Sid": "Partner", "Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{OTHER}:root"},
                 "Action": "sts:AssumeRole", "Condition": {"StringEquals": {"sts:ExternalId": "k-123"}}})
    grants = external_access(trust, {ACCT})
    assert len(grants) == 1
    grant = grants[0]
    assert grant.principal == f"AWS:{OTHER}" and grant.requires_external_id and grant.statement.sid == "Partner"
    assert grant.actions == ("sts:AssumeRole",) and not grant.kept_in_organization


def test_external_id_with_wildcard_is_not_required():
    trust = doc({"Effect": "Allow", "Principal": {"AWS": OTHER}, "Action": "sts:AssumeRole",
                 "Condition": {"StringLike": {"sts:ExternalId": "*"}}})
    assert not external_access(trust, {ACCT})[0].requires_external_id


def test_account_inside_zone_is_not_external():
    trust = doc({"Effect": "Allow", "Principal": {"AWS": [f"arn:aws:iam::{ACCT}:role/ci", ACCT]},
                 "Action": "sts:AssumeRole"})
    assert external_access(trust, {ACCT}) == ()


def test_star_principal_is_external_unless_pinned():
    open_policy = doc(public_get())
    assert [g.principal for g in external_access(open_policy, {ACCT})] == ["*"]
    pinned = doc(public_get(Condition={"StringEquals": {"aws:PrincipalAccount": ACCT}}))
    assert external_access(pinned, {ACCT}) == ()


def test_principal_org_id_keeps_grant_in_organization():
    policy = doc(public_get(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))
    grants = external_access(policy, {ACCT, "o-abc123"})
    assert grants and all(g.kept_in_organization for g in grants)
    other_org = external_access(policy, {ACCT, "o-zzz999"})
    assert other_org and not other_org[0].kept_in_organization


def test_federated_principal_is_external():
    trust = doc({"Effect": "Allow", "Principal": {"Federated": "token.actions.githubusercontent.com"},
                 "Action": "sts:AssumeRoleWithWebIdentity"})
    assert external_access(trust, {ACCT})[0].principal == "Federated:token.actions.githubusercontent.com"


def test_deny_statements_grant_nothing():
    policy = doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*"})
    assert external_access(policy, {ACCT}) == ()


# --- grants_full_admin / full_admin -----------------------------------------------------------------------------
def test_grants_full_admin_finds_star_on_star__cis():
    policy = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"},
                 {"Sid": "Admin", "Effect": "Allow", "Action": ["*:*"], "Resource": ["*"]})
    refs = grants_full_admin(policy)
    assert [r.sid for r in refs] == ["Admin"]


@pytest.mark.parametrize("statement", [
    {"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"},
    {"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/*"},
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
])
def test_grants_full_admin_ignores_partial_grants(statement):
    assert grants_full_admin(doc(statement)) == ()


@pytest.mark.parametrize("deny", [
    {"Effect": "Deny", "Action": "*", "Resource": "*"},
    {"Effect": "Deny", "Action": ["*:*"], "Resource": ["*"]},
])
def test_grants_full_admin_cancelled_by_unconditional_deny_of_everything__eval_logic_doc(deny):
    # an explicit deny overrides any allow (IAM "Policy evaluation logic"): the policy grants nothing
    assert grants_full_admin(doc({"Effect": "Allow", "Action": "*", "Resource": "*"}, deny)) == ()


@pytest.mark.parametrize("deny", [
    {"Effect": "Deny", "Action": "*", "Resource": "*", "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}},
    {"Effect": "Deny", "Action": "iam:*", "Resource": "*"},
    {"Effect": "Deny", "Action": "*", "Resource": "arn:aws:s3:::b/*"},
    {"Effect": "Deny", "NotAction": "iam:*", "Resource": "*"},
])
def test_grants_full_admin_kept_with_conditional_or_narrower_deny(deny):
    refs = grants_full_admin(doc({"Sid": "All", "Effect": "Allow", "Action": "*", "Resource": "*"}, deny))
    assert [r.sid for r in refs] == ["All"]


def test_full_admin_plain_admin():
    decision = full_admin(USER, [ADMIN])
    assert decision.allowed and "Sid 'All'" in str(decision.reasons[0])


def test_full_admin_notaction_allow_is_not_all_actions():
    assert full_admin(USER, [doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})]).decision == \
        "implicit_deny"


def test_full_admin_unconditional_deny_removes_all():
    decision = full_admin(USER, [ADMIN, doc({"Effect": "Deny", "Action": "iam:DeleteUser", "Resource": "*"})])
    assert decision.decision == "explicit_deny"


def test_full_admin_conditional_deny_is_noted_not_counted():
    deny = {"Effect": "Deny", "Action": "*", "Resource": "*",
            "Condition": {"Bool": {"aws:MultiFactorAuthPresent": "false"}}}
    decision = full_admin(USER, [ADMIN, doc(deny)])
    assert decision.allowed and any("conditional Deny" in r.message for r in decision.reasons)


def test_full_admin_boundary_limits():
    assert not full_admin(USER, [ADMIN], permissions_boundary=doc({"Effect": "Allow", "Action": "s3:*",
                                                                   "Resource": "*"})).allowed


def test_full_admin_scp_level_without_full_access():
    restricted = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert not full_admin(USER, [ADMIN], scps=[[ADMIN], [restricted]]).allowed
    assert full_admin(USER, [ADMIN], scps=[[ADMIN], [restricted]], management_account=ACCT).allowed


def test_full_admin_session_policy_limits():
    assert not full_admin(ROLE_SESSION, [ADMIN], session_policy=doc({"Effect": "Allow", "Action": "s3:*",
                                                                      "Resource": "*"})).allowed


# --- privilege_escalation ---------------------------------------------------------------------------------------
def test_user_can_attach_policy_to_itself():
    policy = doc({"Sid": "Self", "Effect": "Allow", "Action": "iam:AttachUserPolicy",
                  "Resource": "arn:aws:iam::*:user/${aws:username}"})
    paths = privilege_escalation(USER, [policy])
    assert [p.actions for p in paths] == [("iam:AttachUserPolicy",)]
    assert paths[0].resource == USER and "Sid 'Self'" in paths[0].statements[0]


def test_role_can_put_inline_policy_on_its_role():
    policy = doc({"Effect": "Allow", "Action": "iam:PutRolePolicy", "Resource": f"arn:aws:iam::{ACCT}:role/deploy"})
    paths = privilege_escalation(ROLE_SESSION, [policy])
    assert [(p.actions, p.resource) for p in paths] == [(("iam:PutRolePolicy",), f"arn:aws:iam::{ACCT}:role/deploy")]


def test_create_policy_version_on_attached_customer_policy_only():
    customer = f"arn:aws:iam::{ACCT}:policy/app"
    policy = doc({"Effect": "Allow", "Action": "iam:CreatePolicyVersion", "Resource": "*"})
    paths = privilege_escalation(USER, [policy], attached_policy_arns=[customer,
                                                                       "arn:aws:iam::aws:policy/ReadOnlyAccess"])
    assert [p.resource for p in paths] == [customer]


def test_group_paths():
    policy = doc({"Effect": "Allow", "Action": ["iam:PutGroupPolicy", "iam:AddUserToGroup"], "Resource": "*"})
    names = {p.actions[0] for p in privilege_escalation(USER, [policy], group_names=["devs"])}
    assert names == {"iam:PutGroupPolicy", "iam:AddUserToGroup"}


def test_update_trust_alone_is_a_path__sts_assumerole_doc():
    # a same-account principal named in a trust policy needs no identity permission to assume the role (STS
    # AssumeRole API reference; IAM User Guide, "Cross-account policy evaluation logic"): the rewritten trust names
    # the principal itself, so iam:UpdateAssumeRolePolicy alone is enough
    update_only = doc({"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"})
    paths = privilege_escalation(USER, [update_only])
    assert [(p.actions, p.other_principal) for p in paths] == [
        (("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"), True)]
    assert any("the rewritten trust policy" in s for s in paths[0].statements)
    both = doc({"Effect": "Allow", "Action": ["iam:UpdateAssumeRolePolicy", "sts:AssumeRole"], "Resource": "*"})
    paths = privilege_escalation(USER, [both])
    assert len(paths) == 1 and paths[0].other_principal


def test_iam_full_access_rewrites_a_trust_policy__sts_assumerole_doc():
    iam_full_access = doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})  # the AWS managed IAMFullAccess
    names = {p.name for p in privilege_escalation(USER, [iam_full_access])}
    assert "rewrite a role's trust policy and assume it" in names
    role_names = {p.name for p in privilege_escalation(ROLE_SESSION, [iam_full_access])}
    assert "rewrite a role's trust policy and assume it" in role_names


def test_update_trust_assume_step_still_limited__boundaries_doc_scp_doc():
    update_only = doc({"Effect": "Allow", "Action": "iam:UpdateAssumeRolePolicy", "Resource": "*"})
    role = f"arn:aws:iam::{ACCT}:role/deploy"
    # a trust naming the role ARN is limited by the role's boundary ("Permissions boundaries")
    assert privilege_escalation(role, [update_only], permissions_boundary=update_only) == ()
    assert privilege_escalation(role, [update_only], permissions_boundary=ADMIN)
    # SCPs and explicit denies apply to the assume step
    scp = doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    assert privilege_escalation(USER, [update_only], scps=[[scp]]) == ()
    denied = doc({"Effect": "Deny", "Action": "sts:AssumeRole", "Resource": "*"})
    assert privilege_escalation(USER, [update_only, denied]) == ()


def test_paths_to_named_administrators_carry_the_target():
    admin_role, admin_user = f"arn:aws:iam::{ACCT}:role/Admin", f"arn:aws:iam::{ACCT}:user/root-like"
    narrow = doc({"Effect": "Allow", "Action": ["iam:UpdateAssumeRolePolicy", "iam:CreateAccessKey"],
                  "Resource": [admin_role, admin_user]})
    paths = privilege_escalation(USER, [narrow], admin_targets=[admin_role, admin_user, USER])
    assert {(p.target, p.actions[0]) for p in paths} == {(admin_role, "iam:UpdateAssumeRolePolicy"),
                                                         (admin_user, "iam:CreateAccessKey")}
    assert all(p.resource == p.target for p in paths)
    assert privilege_escalation(USER, [narrow]) == ()  # "some other role/user" (role/*, user/*) is not granted


def test_other_user_credentials_paths_and_deny():
    allow = {"Effect": "Allow", "Action": ["iam:CreateAccessKey", "iam:UpdateLoginProfile"], "Resource": "*"}
    assert {p.actions[0] for p in privilege_escalation(USER, [doc(allow)])} == {"iam:CreateAccessKey",
                                                                                 "iam:UpdateLoginProfile"}
    denied = doc(allow, {"Effect": "Deny", "Action": "iam:*", "Resource": "*"})
    assert privilege_escalation(USER, [denied]) == ()


def test_scp_blocks_escalation():
    policy = doc({"Effect": "Allow", "Action": "iam:*", "Resource": "*"})
    scp = doc({"Effect": "Allow", "Action": "s3:*", "Resource": "*"})
    assert privilege_escalation(USER, [policy], scps=[[scp]]) == ()
    assert privilege_escalation(USER, [policy], scps=[[scp]], management_account=ACCT)
