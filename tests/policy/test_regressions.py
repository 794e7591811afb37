"""Known false verdicts of heuristic public-access checkers, and how the engine decides them.

Rules: S3 user guide "The meaning of public"; IAM "Policy evaluation logic".
"""

from pytest_iam.policy import Request, evaluate, is_public

BUCKET = "arn:aws:s3:::reports"


def bucket_policy(*statements):
    return {"Version": "2012-10-17", "Statement": list(statements)}


def public_get(**more):
    return {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": f"{BUCKET}/*", **more}


def test_star_principal_pinned_to_vpce_is_not_public__s3_meaning_of_public():
    policy = bucket_policy(public_get(Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))
    assert not is_public(policy).public


def test_star_principal_pinned_to_org_is_not_public__s3_meaning_of_public():
    policy = bucket_policy(public_get(Condition={"StringEquals": {"aws:PrincipalOrgID": "o-abc123"}}))
    assert not is_public(policy).public


def test_star_principal_with_wildcard_vpc_is_public__s3_meaning_of_public_example():
    policy = bucket_policy(public_get(Condition={"StringLike": {"aws:SourceVpc": "vpc-*"}}))
    result = is_public(policy)
    assert result.public and result.statements[0].index == 0


def test_star_principal_with_non_restricting_condition_is_public__s3_meaning_of_public():
    policy = bucket_policy(public_get(Condition={"Bool": {"aws:SecureTransport": "true"}}))
    assert is_public(policy).public


def test_pinned_grant_still_decides_per_request__eval_logic_doc():
    policy = bucket_policy(public_get(Condition={"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}))
    inside = Request("anonymous", "s3:GetObject", f"{BUCKET}/a", "111122223333", {"aws:SourceVpce": "vpce-1a2b3c4d"})
    outside = Request("anonymous", "s3:GetObject", f"{BUCKET}/a", "111122223333", {"aws:SourceVpce": "vpce-other"})
    assert evaluate(inside, resource_policy=policy).allowed
    assert not evaluate(outside, resource_policy=policy).allowed


def test_s3_get_star_is_read_not_write__s3_meaning_of_public():
    result = is_public(bucket_policy(public_get(Action="s3:Get*")))
    assert result.public and result.actions == ("s3:Get*",) and result.write is False


def test_s3_list_star_is_read_not_write():
    assert is_public(bucket_policy(public_get(Action=["s3:List*", "s3:GetObject"]))).write is False


def test_s3_put_object_is_write():
    assert is_public(bucket_policy(public_get(Action="s3:PutObject"))).write is True


def test_s3_star_is_write():
    assert is_public(bucket_policy(public_get(Action="s3:*"))).write is True


def test_s3_star_object_pattern_is_write_because_it_covers_putobject():
    assert is_public(bucket_policy(public_get(Action="s3:*Object"))).write is True


def test_unconditional_deny_makes_public_allow_unreachable__eval_logic_doc():
    policy = bucket_policy(public_get(), {"Effect": "Deny", "Principal": "*", "Action": "s3:*",
                                          "Resource": [BUCKET, f"{BUCKET}/*"]})
    assert not is_public(policy).public
    request = Request("anonymous", "s3:GetObject", f"{BUCKET}/a", "111122223333")
    assert evaluate(request, resource_policy=policy).decision == "explicit_deny"


def test_deny_unless_fixed_vpce_pins_public_allow__eval_logic_doc():
    policy = bucket_policy(public_get(), {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                                          "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}})
    assert not is_public(policy).public


def test_deny_on_other_actions_does_not_pin_public_allow():
    policy = bucket_policy(public_get(), {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                                          "Resource": "*"})
    assert is_public(policy).public


def test_deny_with_two_conditions_is_not_trusted_to_pin():
    policy = bucket_policy(public_get(), {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "*",
                                          "Condition": {"StringNotEquals": {"aws:SourceVpce": "vpce-1"},
                                                        "Bool": {"aws:SecureTransport": "false"}}})
    result = is_public(policy)
    assert result.public and result.reasons


def test_deny_ignored_by_naive_checkers_is_applied__eval_logic_doc():
    identity = [{"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "*", "Resource": "*"},
        {"Effect": "Deny", "Action": "s3:DeleteBucket", "Resource": "*"}]}]
    request = Request("arn:aws:iam::111122223333:user/bob", "s3:DeleteBucket", BUCKET)
    decision = evaluate(request, identity)
    assert decision.decision == "explicit_deny"
    assert "Statement[1]" in str(decision.reasons[0])
