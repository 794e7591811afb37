"""Properties of the evaluator that must hold for any policy (hypothesis, modest example counts)."""

import json

from hypothesis import HealthCheck, given, settings, strategies as st

from pytest_iam.policy import Policy, Request, evaluate

ACCT = "111122223333"
USER = f"arn:aws:iam::{ACCT}:user/alice"
SETTINGS = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])

services = st.sampled_from(["s3", "ec2", "iam", "kms"])
verbs = st.sampled_from(["GetObject", "PutObject", "ListBucket", "DescribeInstances", "CreateUser", "Decrypt"])
actions = st.builds(lambda s, v: f"{s}:{v}", services, verbs)
action_patterns = st.one_of(actions, st.just("*"), st.builds(lambda s: f"{s}:*", services),
                            st.builds(lambda s, v: f"{s}:{v[:3]}*", services, verbs))
names = st.text(alphabet="abcxyz/-.", min_size=1, max_size=6)
resources = st.builds(lambda b, k: f"arn:aws:s3:::{b}/{k}", st.sampled_from(["b1", "b2"]), names)
resource_patterns = st.one_of(resources, st.just("*"), st.builds(lambda b: f"arn:aws:s3:::{b}/*",
                                                                 st.sampled_from(["b1", "b2"])))
conditions = st.one_of(
    st.just(None),
    st.builds(lambda v: {"StringEquals": {"aws:PrincipalTag/team": v}}, st.sampled_from(["red", "blue"])),
    st.builds(lambda v: {"StringNotEquals": {"aws:PrincipalTag/team": v}}, st.sampled_from(["red", "blue"])),
    st.builds(lambda v: {"IpAddress": {"aws:SourceIp": v}}, st.sampled_from(["10.0.0.0/8", "192.0.2.0/24"])),
    st.builds(lambda v: {"ForAllValues:StringLike": {"aws:TagKeys": v}}, st.sampled_from(["e*", "t*"])),
)


@st.composite
def statements(draw, effect=None):
    out = {"Effect": effect or draw(st.sampled_from(["Allow", "Deny"])),
           "Action": draw(st.lists(action_patterns, min_size=1, max_size=3)),
           "Resource": draw(st.lists(resource_patterns, min_size=1, max_size=2))}
    condition = draw(conditions)
    if condition:
        out["Condition"] = condition
    if draw(st.booleans()):
        out["Sid"] = draw(st.sampled_from(["A", "B", "C"]))
    return out


policies = st.builds(lambda s: {"Version": "2012-10-17", "Statement": s}, st.lists(statements(), min_size=1,
                                                                                     max_size=5))
contexts = st.fixed_dictionaries({}, optional={
    "aws:PrincipalTag/team": st.sampled_from(["red", "blue"]),
    "aws:SourceIp": st.sampled_from(["10.1.2.3", "192.0.2.9", "203.0.113.1"]),
    "aws:TagKeys": st.lists(st.sampled_from(["env", "team", "cost"]), max_size=3),
})
requests = st.builds(lambda a, r, c: Request(USER, a, r, context=c), actions, resources, contexts)


@SETTINGS
@given(st.lists(policies, min_size=1, max_size=3), requests, statements(effect="Deny"))
def test_adding_an_explicit_deny_never_produces_an_allow(identity, request, extra_deny):
    before = evaluate(request, identity)
    after = evaluate(request, identity + [{"Version": "2012-10-17", "Statement": [extra_deny]}])
    if not before.allowed:
        assert not after.allowed
    if after.decision == "allow":
        assert before.decision == "allow"


@SETTINGS
@given(policies, requests, st.randoms(use_true_random=False))
def test_statement_order_does_not_matter(policy, request, rnd):
    shuffled = list(policy["Statement"])
    rnd.shuffle(shuffled)
    assert evaluate(request, [policy]).decision == evaluate(request, [{**policy, "Statement": shuffled}]).decision


@SETTINGS
@given(statements(), requests)
def test_statement_object_equals_one_item_list(statement, request):
    as_object = {"Version": "2012-10-17", "Statement": statement}
    as_list = {"Version": "2012-10-17", "Statement": [statement]}
    assert evaluate(request, [as_object]).decision == evaluate(request, [as_list]).decision


@SETTINGS
@given(policies, st.lists(requests, min_size=1, max_size=4))
def test_policy_equals_itself_parsed_from_its_own_json(policy, batch):
    parsed = Policy.parse(policy)
    again = Policy.parse(json.dumps(parsed.document))
    assert again.document == parsed.document
    for request in batch:
        assert evaluate(request, [parsed]).decision == evaluate(request, [again]).decision


@SETTINGS
@given(policies, requests, st.randoms(use_true_random=False))
def test_case_of_action_names_does_not_matter(policy, request, rnd):
    def scramble(text):
        return "".join(c.upper() if rnd.random() < 0.5 else c.lower() for c in text)

    other = Request(request.principal, scramble(request.action), request.resource, context=request.context)
    scrambled_policy = {**policy, "Statement": [{**s, "Action": [scramble(a) for a in s["Action"]]}
                                                for s in policy["Statement"]]}
    expected = evaluate(request, [policy]).decision
    assert evaluate(other, [policy]).decision == expected
    assert evaluate(request, [scrambled_policy]).decision == expected


@SETTINGS
@given(resources, resources)
def test_resource_pattern_without_wildcards_matches_only_itself(pattern, resource):
    policy = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject",
                                                       "Resource": pattern}]}
    decision = evaluate(Request(USER, "s3:GetObject", resource), [policy])
    assert decision.allowed == (pattern == resource)
