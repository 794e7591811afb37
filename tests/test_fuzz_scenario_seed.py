"""What ``load_scenario`` accepts, the emulator accepts: generated scenarios at the edges of every rule (longest names,
every allowed character, paths, regions, nested units, templates, odd documents) are either refused at startup in one
line, or seeded into a moto server on 127.0.0.1 without a single refused call."""

from __future__ import annotations

import os
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import yaml
from fuzz_inputs import assert_one_line, write
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from pytest_iam import mock
from pytest_iam.mock import ScenarioError, load_scenario

NAME_CHARS = "abcXYZ019_+=,.@-"
STATEMENTS = [
    {"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"},
    {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*"},
    {"Sid": "Own", "Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::b/${aws:username}/*",
     "Condition": {"StringEquals": {"aws:PrincipalTag/team": "ünïcode 名前"}}},
    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*", "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": "3600"}}},
]
BAD_DOCUMENTS = ['{"Version": "2012-10-17", "Statement": []}', "not json", {"Version": "2008-10-17", "Statement": STATEMENTS[0]},
                 {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:*"}]},  # no Resource
                 {"Version": "2012-10-17", "Statement": [{"Effect": "allow", "Action": "s3:*", "Resource": "*"}]},
                 {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
                                                          "Condition": {"NumericLessThan": {"aws:MultiFactorAuthAge": 10 ** 20}}}]},
                 {"Version": "2012-10-17", "Statement": [{"Sid": "Ünïcode", "Effect": "Allow", "Action": "s3:*", "Resource": "*"}]}]
TRUSTS = [
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]},
    {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "*"}, "Action": "sts:AssumeRole",
                                             "Condition": {"StringEquals": {"aws:PrincipalOrgID": "@organization_id@"}}}]},
]
BAD_TRUST = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"},
                                                      "Action": "s3:GetObject"}]}


def _pick(clean: bool, good: st.SearchStrategy, bad: list) -> st.SearchStrategy:
    """Only good values in a clean scenario (it should reach the emulator); else good ones and edge cases past the rules."""
    return good if clean else good | st.sampled_from(bad)


@st.composite
def scenarios(draw: Any) -> dict:
    clean = draw(st.integers(0, 3)) > 0  # three in four scenarios follow every rule
    iam_names = _pick(clean, st.text(alphabet=NAME_CHARS, min_size=1, max_size=64) | st.sampled_from(["A" * 64, "x@y.z"]),
                      ["A" * 65, "é", ""])
    paths = _pick(clean, st.sampled_from(["/", "/team/", "/a/b/c/", "/~!$&()*/", "///", "/" + "p" * 100 + "/"]), ["//", "/nope"])
    documents = _pick(clean, st.lists(st.sampled_from(STATEMENTS), min_size=1, max_size=2, unique_by=str).map(
        lambda statements: {"Version": "2012-10-17", "Statement": statements}), BAD_DOCUMENTS)
    trusts = _pick(clean, st.sampled_from(TRUSTS), [BAD_TRUST])
    regions = _pick(clean, st.sampled_from(["us-east-1", "eu-west-1", "ap-southeast-2", "ca-central-1", "sa-east-1"]),
                    ["xx-north-9"])
    bucket_names = _pick(clean, st.from_regex(r"[a-z0-9][a-z0-9-]{1,20}[a-z0-9]", fullmatch=True) | st.sampled_from(
        ["abc", "a" * 63, "a.b.c", "xn--bucket"]), ["my..bucket", "1.2.3.4", "a-.b"])

    policies = draw(st.lists(st.fixed_dictionaries({"name": iam_names, "document": documents}, optional={"path": paths}),
                             max_size=3, unique_by=lambda p: p["name"] if clean else id(p)))
    names = [p["name"] for p in policies] or ["Missing"]
    refs = st.sampled_from(names) if policies or not clean else None

    def some(strategy: Any, size: int) -> st.SearchStrategy:
        return st.lists(strategy, max_size=size, unique=True) if strategy is not None else st.just([])

    groups = draw(st.lists(st.fixed_dictionaries({"name": iam_names}, optional={"attached_policies": some(refs, 2)}),
                           max_size=2, unique_by=lambda g: g["name"] if clean else id(g)))
    group_refs = st.sampled_from([g["name"] for g in groups] or ["Nobody"]) if groups or not clean else None
    user = st.fixed_dictionaries({"name": iam_names}, optional={
        "path": paths, "groups": some(group_refs, 2),
        "console": st.booleans() | st.fixed_dictionaries({}, optional={"last_used_days": st.floats(0, 36500)}),
        "mfa": st.sampled_from(["none", "virtual", "hardware"]), "created_days": st.integers(0, 36500),
        "access_keys": st.lists(st.fixed_dictionaries({}, optional={"active": st.booleans(), "age_days": st.integers(0, 999)}), max_size=2),
        "attached_policies": some(refs, 1),
        "inline_policies": st.dictionaries(iam_names, documents, max_size=1),
    })
    template = st.fixed_dictionaries({"template": st.fixed_dictionaries({
        "count": st.integers(1, 3), "name": _pick(clean, st.sampled_from(["t-{i}", "t{i:03d}", "{i}", "t-{i:x}"]), ["t-{i!r}", "t"])},
        optional={"start": st.integers(0, 10 ** 6), "mfa": st.sampled_from(["virtual", "hardware"])})})
    users = draw(st.lists(user, max_size=3, unique_by=lambda u: u["name"] if clean else id(u)))
    if draw(st.booleans()):
        users.append(draw(template))
    scenario: dict = {
        "policies": policies, "groups": groups, "users": users,
        "roles": draw(st.lists(st.fixed_dictionaries({"name": iam_names.filter(lambda n: len(n) <= 64) if clean else iam_names,
                                                      "trust": trusts}, optional={
            "path": paths, "boundary": refs if refs is not None else st.just("Missing"), "attached_policies": some(refs, 1)}),
            max_size=2, unique_by=lambda r: r["name"] if clean else id(r))),
        "buckets": draw(st.lists(st.fixed_dictionaries({"name": bucket_names}, optional={
            "region": regions, "acl": st.sampled_from(["private", "public-read"]),
            "public_access_block": st.fixed_dictionaries({"BlockPublicPolicy": st.booleans(), "BlockPublicAcls": st.booleans()}),
            "policy": _pick(clean, st.just({"Version": "2012-10-17", "Statement": [
                {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject", "Resource": "arn:aws:s3:::x/*"}]}), ["[]", "{"])}),
            max_size=2, unique_by=lambda b: b["name"] if clean else id(b))),
        "root": draw(st.fixed_dictionaries({}, optional={"mfa": st.sampled_from(["none", "virtual", "hardware"]),
                                                         "mfa_days": st.integers(0, 9999), "password_last_used_days": st.integers(0, 99)})),
    }
    if draw(st.booleans()):
        scenario["alias"] = draw(_pick(clean, st.sampled_from(["acme", "a-b-c", "a" * 63, "demo-corp"]), ["ab", "a--b"]))
    if draw(st.booleans()):
        scenario["password_policy"] = draw(st.fixed_dictionaries({}, optional={
            "MinimumPasswordLength": st.integers(6, 128), "MaxPasswordAge": st.integers(1, 1095),
            "PasswordReusePrevention": st.integers(1, 24), "HardExpiry": st.booleans(), "RequireSymbols": st.booleans()}))
    if draw(st.booleans()):
        units = draw(st.lists(st.sampled_from(["A", "B", "C"]), max_size=3, unique=True))
        scenario["organization"] = {
            "units": [{"name": u, "parent": draw(st.sampled_from(["root"] + units[:i]))} for i, u in enumerate(units)],
            "accounts": [{"name": f"acct{i}", "email": f"a{i}@example.com", "unit": draw(st.sampled_from(units))}
                         for i in range(draw(st.integers(0, 2)))] if units else [],
            "scps": [{"name": "Guard", "document": {"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]},
                      "targets": draw(st.lists(st.sampled_from(["root", "self", *units]), max_size=2, unique=True))}],
        }
    return scenario


@pytest.fixture(scope="module")
def endpoint():
    mock.stop_server()
    yield mock.server_endpoint()
    mock.stop_server()


@settings(max_examples=int(os.environ.get("PYTEST_IAM_FUZZ_EXAMPLES", "15")), deadline=timedelta(seconds=20),
          suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture, HealthCheck.data_too_large])
@given(scenario=scenarios())
def test_what_loads_also_seeds(endpoint: str, tmp_path_factory: pytest.TempPathFactory, scenario: dict) -> None:
    path = write(tmp_path_factory.getbasetemp() / "seed" / "scenario.yaml", yaml.safe_dump(scenario, allow_unicode=True))
    try:
        loaded = load_scenario(path)
    except ScenarioError as exc:
        assert_one_line(exc, path)
        event(f"refused: {str(exc).split(': ')[1].split('[')[0].split('.')[0]}")
        return
    mock._reset_emulator()
    mock.seed(loaded, endpoint)  # any refused call raises here
    event("seeded")


def test_a_policy_with_a_path_is_attached_by_its_real_arn(endpoint: str, tmp_path: Path) -> None:
    document = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}
    scenario = load_scenario(write(tmp_path / "s.yaml", yaml.safe_dump({
        "policies": [{"name": "Read", "path": "/team/", "document": document}],
        "users": [{"name": "alice", "attached_policies": ["Read"]}],
        "roles": [{"name": "R", "boundary": "Read", "trust": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}],
    })))
    mock._reset_emulator()
    mock.seed(scenario, endpoint)
    from pytest_iam.aws import emulator_client

    attached = emulator_client("iam", endpoint).list_attached_user_policies(UserName="alice")["AttachedPolicies"]
    assert [p["PolicyArn"] for p in attached] == ["arn:aws:iam::123456789012:policy/team/Read"]
