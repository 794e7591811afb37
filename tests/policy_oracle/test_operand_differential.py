"""Targeted differential tests: wildcards over special characters, and odd but valid operands of the typed operators.

Usage: ``pytest tests/policy_oracle/test_operand_differential.py``. Each case is one identity policy with one
statement, so a disagreement points straight at a matcher or a comparison.
"""
from __future__ import annotations

import copy
import itertools
import random

import pytest

from .engine_adapter import engine_decision, model_decision
from .shrink import describe

ALICE = "arn:aws:iam::111122223333:user/alice"
# characters that regular-expression or fnmatch based matchers must escape
ALPHABET = "ab.[]+()^\\{}|/:-!"


def _case(statement: dict, action: str = "s3:GetObject", resource: str = "arn:aws:s3:::b",
          context: dict | None = None) -> dict:
    return {"request": {"principal": ALICE, "action": action, "resource": resource, "resource_account": None,
                        "context": context or {}},
            "identity_policies": [{"Version": "2012-10-17", "Statement": [statement]}],
            "resource_policy": None, "permissions_boundary": None, "scps": None, "rcps": None,
            "session_policy": None, "management_account": None}


def _glob_cases(seed: int, count: int) -> list[dict]:
    rng = random.Random(seed)

    def text(extra: str = "") -> str:
        return "".join(rng.choice(ALPHABET + extra) for _ in range(rng.randint(0, 7)))

    cases = []
    while len(cases) < count:
        pattern, value = text("*?*?"), text()
        if "${" in pattern or "${" in value:
            continue
        where = rng.choice(["resource", "action", "condition", "arn"])
        if where == "resource":
            cases.append(_case({"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::" + pattern},
                               resource="arn:aws:s3:::" + value))
        elif where == "action":
            action = "s3:" + (value.upper() if rng.random() < 0.3 else value)
            cases.append(_case({"Effect": "Allow", "Action": "s3:" + pattern, "Resource": "*"}, action=action))
        elif where == "condition":
            operator = rng.choice(["StringLike", "StringNotLike", "StringEquals", "StringEqualsIgnoreCase"])
            cases.append(_case({"Effect": "Allow", "Action": "*", "Resource": "*",
                                "Condition": {operator: {"aws:RequestTag/x": pattern}}},
                               context={"aws:RequestTag/x": value}))
        else:
            operator = rng.choice(["ArnLike", "ArnNotLike", "ArnEquals"])
            arn_pattern = f"arn:aws:{rng.choice(['s3', 's*', '*'])}:{rng.choice(['', '*', 'us-east-1'])}:" \
                          f"{rng.choice(['', '*', '111122223333'])}:{pattern}"
            arn_value = f"arn:aws:s3:{rng.choice(['', 'us-east-1'])}:{rng.choice(['', '111122223333'])}:{value}"
            cases.append(_case({"Effect": "Allow", "Action": "*", "Resource": "*",
                                "Condition": {operator: {"aws:SourceArn": arn_pattern}}},
                               context={"aws:SourceArn": arn_value}))
    return cases


NUMBERS = ["10", "010", "10.0", "+10", "-0", "0", "10.5", 10, 10.0, -1, "0.1"]
DATES = ["2024-06-01", "2024-06-01T00:00:00Z", "2024-06-01T00:00:00.000Z", "2024-06-01T02:00:00+02:00",
         "1717200000", 1717200000, "2024-05-31T23:59:59Z"]
NETWORKS = ["10.1.2.3", "10.1.2.3/32", "10.0.0.0/8", "10.1.2.0/24", "::/0", "0.0.0.0/0", "2001:db8::/32",
            "2001:DB8::1", "10.1.2.3/8"]
ADDRESSES = ["10.1.2.3", "10.1.2.4", "2001:db8::1", "2001:0db8:0000:0000:0000:0000:0000:0001", "192.0.2.1"]


def _operand_cases() -> list[dict]:
    cases = []
    for policy_value, request_value in itertools.product(NUMBERS, NUMBERS):
        for operator in ("NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericGreaterThanEquals"):
            cases.append(_case({"Effect": "Allow", "Action": "*", "Resource": "*",
                                "Condition": {operator: {"s3:max-keys": policy_value}}},
                               context={"s3:max-keys": request_value}))
    for policy_value, request_value in itertools.product(DATES, DATES):
        for operator in ("DateEquals", "DateNotEquals", "DateLessThan", "DateGreaterThanEquals"):
            cases.append(_case({"Effect": "Allow", "Action": "*", "Resource": "*",
                                "Condition": {operator: {"aws:CurrentTime": policy_value}}},
                               context={"aws:CurrentTime": request_value}))
    for policy_value, request_value in itertools.product(NETWORKS, ADDRESSES):
        for operator in ("IpAddress", "NotIpAddress"):
            cases.append(_case({"Effect": "Allow", "Action": "*", "Resource": "*",
                                "Condition": {operator: {"aws:SourceIp": policy_value}}},
                               context={"aws:SourceIp": request_value}))
    return cases


def _assert_agreement(cases: list[dict]) -> None:
    wrong = [case for case in cases if engine_decision(copy.deepcopy(case)) != model_decision(case)]
    if wrong:
        first = wrong[0]
        pytest.fail(f"{len(wrong)} of {len(cases)} cases disagree; first: engine "
                    f"{engine_decision(copy.deepcopy(first))!r}, reference model {model_decision(first)!r}\n"
                    f"{describe(first)}", pytrace=False)


def test_wildcards_over_regex_special_characters__iam_json_resource_and_action_elements():
    cases = _glob_cases(seed=5, count=3000)
    decisions = {model_decision(case) for case in cases}
    assert decisions == {"allow", "implicit_deny"}
    _assert_agreement(cases)


def test_typed_operators_on_equivalent_spellings__iam_condition_operators():
    cases = _operand_cases()
    assert len(cases) == 770
    assert {model_decision(case) for case in cases} == {"allow", "implicit_deny"}
    _assert_agreement(cases)
