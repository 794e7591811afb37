"""Hand-written cases from the AWS documentation that the reference model must get right on its own.

Usage: ``pytest tests/policy_oracle/test_model_sanity.py``. Each test name ends with the AWS page it follows.
"""
from __future__ import annotations

import json

import pytest

from .model import reference_evaluate
from .patterns import glob_match, to_tokens

A, B, M = "111122223333", "444455556666", "999988887777"
ALICE = f"arn:aws:iam::{A}:user/alice"
ROLE = f"arn:aws:iam::{A}:role/app/deploy"
SESSION = f"arn:aws:sts::{A}:assumed-role/deploy/build-42"
OBJECT = "arn:aws:s3:::bucket/key"
V12 = "2012-10-17"


def doc(*statements, version=V12):
    policy = {"Statement": list(statements)}
    if version:
        policy["Version"] = version
    return policy


def allow(action="*", resource="*", **extra):
    return {"Effect": "Allow", "Action": action, "Resource": resource, **extra}


def deny(action="*", resource="*", **extra):
    return {"Effect": "Deny", "Action": action, "Resource": resource, **extra}


def decide(principal=ALICE, action="s3:GetObject", resource=OBJECT, context=None, resource_account=None, **policies):
    request = {"principal": principal, "action": action, "resource": resource,
               "resource_account": resource_account, "context": context or {}}
    return reference_evaluate(request, policies.get("identity", []), policies.get("rpol"),
                              policies.get("boundary"), policies.get("scps"), policies.get("rcps"),
                              policies.get("session"), policies.get("management"))


# ---- grammar and matching --------------------------------------------------------------------------------------
def test_no_policy_is_implicit_deny__aws_policy_eval_logic():
    assert decide() == "implicit_deny"


def test_identity_allow_grants_in_same_account__aws_policy_eval_logic():
    assert decide(identity=[doc(allow("s3:GetObject", "arn:aws:s3:::bucket/*"))]) == "allow"


def test_explicit_deny_overrides_allow__aws_policy_eval_logic():
    assert decide(identity=[doc(allow()), doc(deny("s3:*"))]) == "explicit_deny"


def test_action_is_case_insensitive__iam_json_action_element():
    assert decide(action="S3:getobject", identity=[doc(allow("s3:GetObject"))]) == "allow"


def test_resource_is_case_sensitive__iam_json_resource_element():
    assert decide(identity=[doc(allow("s3:*", "arn:aws:s3:::BUCKET/*"))]) == "implicit_deny"


def test_resource_star_crosses_slash_and_colon__iam_json_resource_element():
    assert decide(identity=[doc(allow("s3:*", "arn:aws:*"))]) == "allow"
    assert glob_match(to_tokens("a*z"), "a/b:c/z")


def test_question_mark_matches_one_character__iam_json_action_element():
    assert decide(identity=[doc(allow("s3:?etObject"))]) == "allow"
    assert decide(identity=[doc(allow("s3:?Object"))]) == "implicit_deny"


def test_not_action_allows_everything_else__iam_json_notaction_element():
    policy = doc({"Effect": "Allow", "NotAction": "iam:*", "Resource": "*"})
    assert decide(identity=[policy]) == "allow"
    assert decide(action="iam:CreateUser", identity=[policy]) == "implicit_deny"


def test_not_resource_deny_spares_listed_resource__iam_json_notresource_element():
    policy = doc(allow(), {"Effect": "Deny", "Action": "s3:*", "NotResource": "arn:aws:s3:::bucket/*"})
    assert decide(identity=[policy]) == "allow"
    assert decide(resource="arn:aws:s3:::other/key", identity=[policy]) == "explicit_deny"


def test_statement_may_be_a_single_object_and_json_text__iam_json_statement_element():
    policy = json.dumps({"Version": V12, "Statement": allow("s3:GetObject")})
    assert decide(identity=[policy]) == "allow"


# ---- policy variables -------------------------------------------------------------------------------------------
def test_username_variable_in_resource__iam_policy_variables():
    policy = doc(allow("s3:*", "arn:aws:s3:::bucket/home/${aws:username}/*"))
    assert decide(resource="arn:aws:s3:::bucket/home/alice/doc", identity=[policy]) == "allow"
    assert decide(resource="arn:aws:s3:::bucket/home/bob/doc", identity=[policy]) == "implicit_deny"


def test_variables_are_literal_text_in_version_2008__iam_policy_variables():
    policy = doc(allow("s3:*", "arn:aws:s3:::bucket/home/${aws:username}/*"), version="2008-10-17")
    assert decide(resource="arn:aws:s3:::bucket/home/alice/doc", identity=[policy]) == "implicit_deny"
    assert decide(resource="arn:aws:s3:::bucket/home/${aws:username}/doc", identity=[policy]) == "allow"


def test_variable_default_used_when_key_missing__iam_policy_variables_default_values():
    policy = doc(allow("s3:*", "arn:aws:s3:::bucket/${aws:PrincipalTag/team, 'company-wide'}/*"))
    assert decide(resource="arn:aws:s3:::bucket/company-wide/x", identity=[policy]) == "allow"
    assert decide(resource="arn:aws:s3:::bucket/red/x", context={"aws:PrincipalTag/team": "red"},
                  identity=[policy]) == "allow"


def test_escaped_star_is_literal__iam_policy_variables_special_characters():
    policy = doc(allow("s3:*", "arn:aws:s3:::bucket/${*}"))
    assert decide(resource="arn:aws:s3:::bucket/*", identity=[policy]) == "allow"
    assert decide(resource="arn:aws:s3:::bucket/key", identity=[policy]) == "implicit_deny"


def test_unresolvable_variable_makes_statement_not_match__iam_policy_variables_no_value():
    policy = doc(allow(), deny("s3:*", "arn:aws:s3:::bucket/${aws:userid}"))
    assert decide(identity=[policy]) == "allow"
    negated = doc(allow(), deny(Condition={"StringNotEquals": {"aws:RequestTag/x": "${aws:userid}"}}))
    assert decide(identity=[negated]) == "allow"


# ---- condition operators ----------------------------------------------------------------------------------------
def cond(block):
    return [doc(allow(Condition=block))]


def test_negated_operator_on_missing_key_matches__iam_condition_operators():
    assert decide(identity=cond({"StringNotLike": {"aws:RequestTag/env": "prod*"}})) == "allow"
    assert decide(identity=cond({"StringLike": {"aws:RequestTag/env": "prod*"}})) == "implicit_deny"


def test_negated_operator_over_several_values_is_nor__iam_multi_value_conditions():
    block = {"StringNotEquals": {"aws:RequestTag/env": ["prod", "dev"]}}
    assert decide(context={"aws:RequestTag/env": "dev"}, identity=cond(block)) == "implicit_deny"
    assert decide(context={"aws:RequestTag/env": "test"}, identity=cond(block)) == "allow"


def test_values_ored_keys_anded__iam_multi_value_conditions():
    block = {"StringEquals": {"aws:RequestTag/env": ["prod", "dev"], "aws:PrincipalTag/team": "red"}}
    assert decide(context={"aws:RequestTag/env": "dev", "aws:PrincipalTag/team": "red"}, identity=cond(block)) \
        == "allow"
    assert decide(context={"aws:RequestTag/env": "dev"}, identity=cond(block)) == "implicit_deny"


def test_if_exists_matches_missing_key__iam_condition_operators_ifexists():
    block = {"StringEqualsIfExists": {"aws:RequestTag/env": "prod"}}
    assert decide(identity=cond(block)) == "allow"
    assert decide(context={"aws:RequestTag/env": "dev"}, identity=cond(block)) == "implicit_deny"


def test_null_checks_presence__iam_condition_operators_null():
    assert decide(identity=cond({"Null": {"aws:TokenIssueTime": "true"}})) == "allow"
    assert decide(context={"aws:TokenIssueTime": "2024-01-01T00:00:00Z"},
                  identity=cond({"Null": {"aws:TokenIssueTime": "true"}})) == "implicit_deny"
    assert decide(identity=cond({"Null": {"aws:TokenIssueTime": "false"}})) == "implicit_deny"


def test_for_all_values_true_on_missing_key_and_for_any_value_false__iam_single_vs_multivalued_keys():
    assert decide(identity=cond({"ForAllValues:StringEquals": {"aws:TagKeys": "env"}})) == "allow"
    assert decide(identity=cond({"ForAnyValue:StringEquals": {"aws:TagKeys": "env"}})) == "implicit_deny"
    assert decide(context={"aws:TagKeys": []},
                  identity=cond({"ForAllValues:StringEquals": {"aws:TagKeys": "env"}})) == "allow"


@pytest.mark.parametrize("tag_keys, denied", [(["key1:legal"], False), (["key1:hr", "key1:personnel"], False),
                                              (["key2:audit"], True), (None, True)])
def test_for_all_values_not_like_deny_table__iam_multivalued_context_key_examples(tag_keys, denied):
    policy = doc(allow(), deny(Condition={"ForAllValues:StringNotLike": {"aws:TagKeys": "key1*"}}))
    context = {} if tag_keys is None else {"aws:TagKeys": tag_keys}
    assert decide(context=context, identity=[policy]) == ("explicit_deny" if denied else "allow")


def test_for_any_value_string_equals_subset__iam_multivalued_context_keys():
    block = {"ForAnyValue:StringEquals": {"aws:TagKeys": ["env", "team"]}}
    assert decide(context={"aws:TagKeys": ["owner", "team"]}, identity=cond(block)) == "allow"
    assert decide(context={"aws:TagKeys": ["owner"]}, identity=cond(block)) == "implicit_deny"
    block = {"ForAllValues:StringEquals": {"aws:TagKeys": ["env", "team"]}}
    assert decide(context={"aws:TagKeys": ["owner", "team"]}, identity=cond(block)) == "implicit_deny"


def test_ip_address_v4_and_v6_cidrs__iam_condition_operators_ip():
    block = {"IpAddress": {"aws:SourceIp": ["203.0.113.0/24", "2001:DB8:1234:5678::/64"]}}
    assert decide(context={"aws:SourceIp": "203.0.113.7"}, identity=cond(block)) == "allow"
    assert decide(context={"aws:SourceIp": "2001:db8:1234:5678::1"}, identity=cond(block)) == "allow"
    assert decide(context={"aws:SourceIp": "198.51.100.1"}, identity=cond(block)) == "implicit_deny"
    not_block = {"NotIpAddress": {"aws:SourceIp": "203.0.113.0/24"}}
    assert decide(context={"aws:SourceIp": "198.51.100.1"}, identity=cond(not_block)) == "allow"


def test_numeric_and_date_operators__iam_condition_operators_numeric_date():
    assert decide(context={"s3:max-keys": "10"}, identity=cond({"NumericLessThanEquals": {"s3:max-keys": "10"}})) \
        == "allow"
    assert decide(context={"s3:max-keys": 11}, identity=cond({"NumericLessThanEquals": {"s3:max-keys": "10"}})) \
        == "implicit_deny"
    before = {"DateLessThan": {"aws:CurrentTime": "2024-06-30T00:00:00Z"}}
    assert decide(context={"aws:CurrentTime": "2024-06-01T12:00:00Z"}, identity=cond(before)) == "allow"
    assert decide(context={"aws:CurrentTime": 1719792000}, identity=cond(before)) == "implicit_deny"  # 2024-07-01


def test_bool_and_binary_operators__iam_condition_operators_bool_binary():
    assert decide(context={"aws:SecureTransport": False},
                  identity=[doc(allow(), deny(Condition={"Bool": {"aws:SecureTransport": "false"}}))]) \
        == "explicit_deny"
    assert decide(context={"aws:MultiFactorAuthPresent": "true"},
                  identity=cond({"Bool": {"aws:MultiFactorAuthPresent": True}})) == "allow"
    assert decide(context={"kms:digest": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="},
                  identity=cond({"BinaryEquals": {"kms:digest": "QmluYXJ5VmFsdWVJbkJhc2U2NA=="}})) == "allow"


def test_arn_like_matches_each_part__iam_condition_operators_arn():
    block = {"ArnLike": {"aws:SourceArn": "arn:aws:sqs:*:111122223333:queue*"}}
    assert decide(context={"aws:SourceArn": "arn:aws:sqs:us-east-1:111122223333:queue1"}, identity=cond(block)) \
        == "allow"
    assert decide(context={"aws:SourceArn": "arn:aws:sqs:us-east-1:444455556666:queue1"}, identity=cond(block)) \
        == "implicit_deny"


def test_context_key_names_are_case_insensitive_and_principal_arn_of_session_is_role__iam_condition_keys():
    assert decide(context={"AWS:SourceIP": "10.0.0.1"}, identity=cond({"IpAddress": {"aws:sourceip": "10.0.0.0/8"}})) \
        == "allow"
    block = {"ArnEquals": {"aws:PrincipalArn": f"arn:aws:iam::{A}:role/deploy"}}
    assert decide(principal=SESSION, identity=cond(block)) == "allow"


# ---- resource policies, boundaries, sessions, accounts ------------------------------------------------------------
def rp(principal, effect="Allow", **extra):
    return doc({"Effect": effect, "Principal": principal, "Action": "s3:*", "Resource": "*", **extra})


def test_resource_policy_naming_user_grants_without_identity_policy__aws_policy_eval_logic():
    assert decide(rpol=rp({"AWS": ALICE})) == "allow"


def test_resource_policy_naming_account_grants_nothing_alone__aws_policy_eval_logic():
    assert decide(rpol=rp({"AWS": A})) == "implicit_deny"
    assert decide(rpol=rp({"AWS": f"arn:aws:iam::{A}:root"}), identity=[doc(allow())]) == "allow"


def test_boundary_does_not_limit_resource_policy_naming_user__permissions_boundaries_table():
    boundary = doc(allow("ec2:*"))
    assert decide(rpol=rp({"AWS": ALICE}), boundary=boundary) == "allow"
    assert decide(identity=[doc(allow())], boundary=boundary) == "implicit_deny"


def test_boundary_limits_resource_policy_naming_role__permissions_boundaries_table():
    boundary = doc(allow("ec2:*"))
    assert decide(principal=SESSION, rpol=rp({"AWS": ROLE}), boundary=boundary) == "implicit_deny"
    assert decide(principal=SESSION, rpol=rp({"AWS": ROLE})) == "allow"
    assert decide(principal=SESSION, rpol=rp({"AWS": SESSION}), boundary=boundary) == "allow"


def test_session_policy_limits_identity_and_role_arn_grants__iam_session_policies():
    session = doc(allow("ec2:*"))
    assert decide(principal=SESSION, identity=[doc(allow())], session=session) == "implicit_deny"
    assert decide(principal=SESSION, rpol=rp({"AWS": ROLE}), session=session) == "implicit_deny"
    assert decide(principal=SESSION, rpol=rp({"AWS": SESSION}), session=session) == "allow"


def test_cross_account_needs_both_sides__cross_account_policy_evaluation_logic():
    carol = f"arn:aws:iam::{B}:user/carol"
    assert decide(principal=carol, resource_account=A, rpol=rp({"AWS": carol})) == "implicit_deny"
    assert decide(principal=carol, resource_account=A, identity=[doc(allow())]) == "implicit_deny"
    assert decide(principal=carol, resource_account=A, identity=[doc(allow())], rpol=rp({"AWS": B})) == "allow"


def test_trust_policy_must_allow_even_in_same_account__iam_roles_trust():
    target = f"arn:aws:iam::{A}:role/target"
    trust_account = doc({"Effect": "Allow", "Principal": {"AWS": A}, "Action": "sts:AssumeRole"})
    assert decide(action="sts:AssumeRole", resource=target, identity=[doc(allow())]) == "implicit_deny"
    assert decide(action="sts:AssumeRole", resource=target, identity=[doc(allow())], rpol=trust_account) == "allow"
    assert decide(action="sts:AssumeRole", resource=target, rpol=trust_account) == "implicit_deny"
    trust_role = doc({"Effect": "Allow", "Principal": {"AWS": ALICE}, "Action": "sts:AssumeRole"})
    assert decide(action="sts:AssumeRole", resource=target, rpol=trust_role) == "allow"


def test_key_policy_must_allow_even_with_identity_allow__kms_key_policies():
    key = f"arn:aws:kms:us-east-1:{A}:key/1234"
    assert decide(action="kms:Decrypt", resource=key, identity=[doc(allow())]) == "implicit_deny"
    key_policy = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{A}:root"}, "Action": "kms:*",
                      "Resource": "*"})
    assert decide(action="kms:Decrypt", resource=key, identity=[doc(allow())], rpol=key_policy) == "allow"


def test_anonymous_only_through_public_resource_policy__aws_policy_eval_logic():
    assert decide(principal="anonymous", resource_account=A, rpol=rp("*")) == "allow"
    assert decide(principal="anonymous", resource_account=A, rpol=rp({"AWS": A})) == "implicit_deny"


def test_service_principal_only_through_service_principal__iam_principal_element():
    assert decide(principal="ec2.amazonaws.com", resource_account=A,
                  rpol=rp({"Service": "ec2.amazonaws.com"})) == "allow"
    assert decide(principal="ec2.amazonaws.com", resource_account=A, rpol=rp("*")) == "implicit_deny"


def test_not_principal_deny_spares_listed_role_sessions__iam_notprincipal_element():
    policy = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
                 {"Effect": "Deny", "NotPrincipal": {"AWS": ROLE}, "Action": "s3:*", "Resource": "*"})
    assert decide(principal=SESSION, rpol=policy) == "allow"
    assert decide(principal=ALICE, rpol=policy) == "explicit_deny"


def test_federated_and_canonical_principals_do_not_match_iam_users__iam_principal_element():
    assert decide(rpol=rp({"Federated": "cognito-identity.amazonaws.com"})) == "implicit_deny"
    assert decide(rpol=rp({"CanonicalUser": "79a59df900b949e55d96a1e698fbaced"})) == "implicit_deny"


# ---- organizations --------------------------------------------------------------------------------------------------
FULL = doc(allow())


def test_scp_every_level_needs_allow__aws_policy_eval_logic():
    assert decide(identity=[FULL], scps=[[FULL], [doc(allow("ec2:*"))], [FULL]]) == "implicit_deny"
    assert decide(identity=[FULL], scps=[[FULL], [doc(allow("s3:*"))], [FULL]]) == "allow"


def test_scp_deny_wins_and_scp_grants_nothing__organizations_scps():
    assert decide(identity=[FULL], scps=[[FULL, doc(deny("s3:GetObject"))]]) == "explicit_deny"
    assert decide(scps=[[FULL]]) == "implicit_deny"


def test_scps_skip_management_account_and_service_linked_roles__organizations_scps():
    scps = [[doc(allow("ec2:*"))]]
    assert decide(identity=[FULL], scps=scps, management=A) == "allow"
    slr = f"arn:aws:iam::{A}:role/aws-service-role/ops.amazonaws.com/AWSServiceRoleForOps"
    assert decide(principal=slr, identity=[FULL], scps=scps) == "allow"
    assert decide(identity=[FULL], scps=scps, management=M) == "implicit_deny"


def test_rcp_limits_cross_account_access_to_resources__organizations_rcps():
    carol = f"arn:aws:iam::{B}:user/carol"
    rcp_deny = doc({"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                    "Condition": {"StringNotEquals": {"aws:PrincipalAccount": A}}})
    rcps = [[doc({"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}), rcp_deny]]
    assert decide(principal=carol, resource_account=A, identity=[FULL], rpol=rp({"AWS": B}), rcps=rcps) \
        == "explicit_deny"
    assert decide(identity=[FULL], rcps=rcps) == "allow"
    assert decide(principal=carol, resource_account=A, identity=[FULL], rpol=rp({"AWS": B}), rcps=rcps,
                  management=A) == "allow"


def test_rcps_do_not_apply_to_service_principals__organizations_rcps():
    rcps = [[doc({"Effect": "Deny", "Principal": "*", "Action": "*", "Resource": "*"})]]
    assert decide(principal="ec2.amazonaws.com", resource_account=A, rpol=rp({"Service": "ec2.amazonaws.com"}),
                  rcps=rcps) == "allow"
    assert decide(principal="anonymous", resource_account=A, rpol=rp("*"), rcps=rcps) == "explicit_deny"


def test_multivalued_key_without_set_operator_positive_any_negated_none__iam_single_vs_multivalued_keys():
    assert decide(context={"aws:TagKeys": ["env", "team"]},
                  identity=cond({"StringEquals": {"aws:TagKeys": "team"}})) == "allow"
    assert decide(context={"aws:TagKeys": ["env", "team"]},
                  identity=cond({"StringNotEquals": {"aws:TagKeys": "team"}})) == "implicit_deny"
    assert decide(context={"aws:TagKeys": ["env"]},
                  identity=cond({"StringNotEquals": {"aws:TagKeys": "team"}})) == "allow"


def test_strongest_principal_entry_counts__iam_principal_element_and_boundaries_table():
    role = f"arn:aws:iam::{A}:role/deploy"
    boundary = doc(allow("ec2:*"))
    assert decide(principal=role, rpol=rp({"AWS": role}), boundary=boundary) == "implicit_deny"
    assert decide(principal=role, rpol=rp({"AWS": [role, "*"]}), boundary=boundary) == "allow"


def test_not_principal_deny_always_denies_principal_with_boundary__permissions_boundaries_important_note():
    policy = doc({"Effect": "Allow", "Principal": "*", "Action": "s3:*", "Resource": "*"},
                 {"Effect": "Deny", "NotPrincipal": {"AWS": [ROLE, SESSION]}, "Action": "s3:*", "Resource": "*"})
    assert decide(principal=SESSION, rpol=policy) == "allow"
    assert decide(principal=SESSION, rpol=policy, boundary=doc(allow())) == "explicit_deny"


def test_rcp_level_without_allow_does_not_deny__organizations_rcp_syntax():
    # "RCP syntax": Allow is supported only in RCPFullAWSAccess, attached to the root, every OU and every account
    # and not detachable; so a level holding only Deny statements, or nothing, never denies by lacking an Allow
    only_deny = doc({"Effect": "Deny", "Principal": "*", "Action": "sqs:*", "Resource": "*"})
    assert decide(identity=[FULL], rcps=[[only_deny]]) == "allow"
    assert decide(identity=[FULL], rcps=[[], [only_deny], []]) == "allow"
    assert decide(identity=[FULL], rcps=[[doc({"Effect": "Allow", "Principal": "*", "Action": "ec2:*",
                                                "Resource": "*"})]]) == "allow"
    assert decide(rcps=[[only_deny]]) == "implicit_deny"  # an RCP grants nothing either


def test_aws_owned_resource_decided_by_identity_policies__iam_identifiers():
    managed = "arn:aws:iam::aws:policy/ReadOnlyAccess"
    assert decide(action="iam:GetPolicy", resource=managed, identity=[FULL]) == "allow"
    assert decide(action="iam:GetPolicy", resource=managed, identity=[doc(allow(["iam:Get*", "iam:List*"]))]) \
        == "allow"
    assert decide(action="iam:GetPolicy", resource=managed) == "implicit_deny"
    hub = "arn:aws:sagemaker:us-east-1:aws:hub/SageMakerPublicHub"
    assert decide(action="sagemaker:DescribeHub", resource=hub, identity=[FULL]) == "allow"
    # no account of the caller's is filled in as aws:ResourceAccount for an AWS-owned resource
    pinned = doc(allow("iam:GetPolicy", Condition={"StringEquals": {"aws:ResourceAccount": A}}))
    assert decide(action="iam:GetPolicy", resource=managed, identity=[pinned]) == "implicit_deny"
