"""Parser errors: one test per error class; each message is one line and names the place."""

import json

import pytest

from pytest_iam.policy import Policy, PolicyError


def stmt(**more):
    out = {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}
    out.update(more)
    return {k: v for k, v in out.items() if v is not None}


def doc(*statements, **top):
    return {"Version": "2012-10-17", "Statement": list(statements), **top}


def error_of(document, kind="identity") -> str:
    with pytest.raises(PolicyError) as info:
        Policy.parse(document, kind=kind)
    text = str(info.value)
    assert "\n" not in text
    return text


def test_unknown_top_level_element():
    assert error_of(doc(stmt(), Statment=[])) == "Policy: unknown element 'Statment' (expected Version, Id, Statement)"


def test_bad_version():
    assert error_of({"Version": "2012-10-18", "Statement": [stmt()]}).startswith("Version: '2012-10-18'")


def test_missing_statement():
    assert error_of({"Version": "2012-10-17"}) == "Policy: missing Statement"


def test_statement_not_object():
    assert error_of(doc(stmt(), "s3:GetObject")) == "Statement[1]: must be an object"


def test_unknown_statement_element():
    assert error_of(doc(stmt(), stmt(Actions="s3:*"))) == "Statement[1]: unknown element 'Actions'"


def test_bad_effect():
    assert error_of(doc(stmt(Effect="allow"))) == "Statement[0].Effect: must be \"Allow\" or \"Deny\", not 'allow'"


def test_missing_effect():
    assert error_of(doc(stmt(Effect=None))) == "Statement[0]: missing Effect"


def test_unknown_condition_operator():
    bad = stmt(Condition={"StringEqualz": {"aws:username": "x"}})
    assert error_of(doc(stmt(), stmt(), bad)) == "Statement[2].Condition: unknown operator 'StringEqualz'"


def test_ifexists_on_null_is_unknown():
    assert "unknown operator 'NullIfExists'" in error_of(doc(stmt(Condition={"NullIfExists": {"k": "true"}})))


def test_condition_not_an_object():
    assert error_of(doc(stmt(Condition=["x"]))).startswith("Statement[0].Condition: must be an object")


def test_bad_numeric_value_names_key():
    text = error_of(doc(stmt(Condition={"NumericLessThan": {"s3:max-keys": "ten"}})))
    assert text.startswith("Statement[0].Condition.NumericLessThan.s3:max-keys:")


def test_bad_cidr_names_key():
    text = error_of(doc(stmt(Condition={"IpAddress": {"aws:SourceIp": "10.0.0.300/8"}})))
    assert text.startswith("Statement[0].Condition.IpAddress.aws:SourceIp:")


def test_bad_date_names_key():
    assert "is not a date" in error_of(doc(stmt(Condition={"DateLessThan": {"aws:CurrentTime": "soon"}})))


@pytest.mark.parametrize("kind", ["identity", "boundary", "scp", "session"])
def test_principal_not_allowed_in_identity_like_policies(kind):
    assert error_of(doc(stmt(Principal="*")), kind) == f"Statement[0].Principal: not allowed in a {kind} policy"


def test_notprincipal_not_allowed_in_identity_policy():
    assert error_of(doc(stmt(NotPrincipal={"AWS": "111122223333"}))) == \
        "Statement[0].NotPrincipal: not allowed in a identity policy"


@pytest.mark.parametrize("kind", ["resource", "trust"])
def test_resource_and_trust_statements_need_a_principal(kind):
    assert error_of(doc(stmt()), kind) == f"Statement[0]: missing Principal (required in a {kind} policy)"


def test_both_action_and_notaction():
    assert error_of(doc(stmt(NotAction="iam:*"))) == "Statement[0]: has both Action and NotAction"


def test_missing_action():
    assert error_of(doc(stmt(Action=None))) == "Statement[0]: missing Action (or NotAction)"


def test_both_resource_and_notresource():
    assert error_of(doc(stmt(NotResource="x"))) == "Statement[0]: has both Resource and NotResource"


def test_missing_resource_in_identity_policy():
    assert error_of(doc(stmt(Resource=None))) == "Statement[0]: missing Resource (or NotResource)"


def test_action_without_service_prefix():
    assert error_of(doc(stmt(Action=["s3:GetObject", "GetObject"]))).startswith("Statement[0].Action: 'GetObject'")


def test_empty_action_list():
    assert error_of(doc(stmt(Action=[]))) == "Statement[0].Action: must not be an empty list"


def test_unknown_principal_type():
    text = error_of(doc(stmt(Principal={"Aws": "*"})), "resource")
    assert text.startswith("Statement[0].Principal: unknown principal type 'Aws'")


def test_both_principal_and_notprincipal():
    text = error_of(doc(stmt(Principal="*", NotPrincipal={"AWS": "111122223333"})), "resource")
    assert text == "Statement[0]: has both Principal and NotPrincipal"


def test_invalid_json_text_is_one_line():
    assert error_of('{"Version": "2012-10-17",\n "Statement": [}').startswith("Policy: not valid JSON")


def test_document_not_an_object():
    assert error_of(json.dumps([1, 2])) == "Policy: must be a JSON object, not list"


def test_unknown_kind_is_a_usage_error():
    with pytest.raises(ValueError, match="kind must be one of"):
        Policy.parse(doc(stmt()), kind="bucket")


def test_parsed_policy_keeps_document_and_is_immutable():
    source = doc(stmt(Sid="S1"))
    policy = Policy.parse(json.dumps(source), kind="identity", name="ReadOnly")
    assert policy.document == source and policy.name == "ReadOnly"
    assert policy.statements[0].sid == "S1"
    with pytest.raises(AttributeError):
        policy.kind = "scp"  # type: ignore[misc]
    assert len({policy, Policy.parse(source)}) == 2  # hashable, by identity
    assert Policy.parse(policy, kind="identity") is policy
