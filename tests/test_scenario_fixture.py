"""The iam_scenario fixture: a team unit-tests its own checks on accounts built from scenarios, without an AWS
account and without --iam-account."""

from __future__ import annotations

import pytest

TEAM_CHECK = """\
id: acme-key-rotation
title: Active keys are younger than 30 days
severity: high
resource: access_keys
rationale: short-lived keys leak less
remediation: rotate the key
frameworks: {acme-policy: ["SEC-3"]}
select: [{key: active, op: eq, value: true}]
require:
  - {key: last_rotated, value_type: age, op: le, value: 30, reason: "key {slot} is {age} days old"}
"""

TESTS = '''
def test_old_key_fails(iam_scenario):
    iam = iam_scenario({"users": [{"name": "bob", "access_keys": [{"age_days": 400}]}]})
    result = iam.check("acme-key-rotation")
    assert not result
    assert [f.label for f in result.failed] == ["user/bob key 1"]

def test_young_and_inactive_keys_pass(iam_scenario):
    iam = iam_scenario({"users": [{"name": "amy", "access_keys": [{"age_days": 3}, {"age_days": 900, "active": False}]}]})
    assert iam.check("acme-key-rotation")

def test_scenarios_are_separate_accounts(iam_scenario):
    one = iam_scenario({"users": [{"name": "bob"}], "buckets": [{"name": "acme-data"}]})
    two = iam_scenario("two.yaml")
    assert one.account_id != two.account_id
    assert [u.name for u in one.users] == ["bob"] and sorted(u.name for u in two.users) == ["carol", "dave"]
    assert [b.name for b in two.buckets] == ["acme-logs"]
    # @account_id@ names the scenario's own account: dave's policy lets him read the logs, bob (elsewhere) cannot
    logs = "arn:aws:s3:::acme-logs/x"
    assert two.can(f"arn:aws:iam::{two.account_id}:user/dave", "s3:GetObject", logs)
    assert not two.can(f"arn:aws:iam::{two.account_id}:user/carol", "s3:GetObject", logs)

def test_bucket_names_are_free_again_in_the_next_test(iam_scenario):
    iam = iam_scenario({"buckets": [{"name": "acme-data"}]})
    assert [b.name for b in iam.buckets] == ["acme-data"]

def test_a_wrong_scenario_is_one_line(iam_scenario):
    iam_scenario({"users": [{"name": "bob", "groups": ["admins"]}]})
'''

TWO = """\
users:
  - {name: carol}
  - {name: dave, inline_policies: {read-logs: {Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "arn:aws:s3:::acme-logs/*"}]}}}
buckets:
  - name: acme-logs
    policy: {Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {AWS: "arn:aws:iam::@account_id@:user/dave"}, Action: "s3:GetObject", Resource: "arn:aws:s3:::acme-logs/*"}]}
"""


def test_team_checks_unit_tested_on_scenarios(pytester: pytest.Pytester) -> None:
    pytester.mkdir("checks").joinpath("acme-key-rotation.yaml").write_text(TEAM_CHECK)
    pytester.makeini("[pytest]\niam_check_paths = checks\n")
    pytester.path.joinpath("two.yaml").write_text(TWO)
    pytester.makepyfile(test_team=TESTS)
    result = pytester.runpytest_inprocess("-p", "no:cacheprovider")  # no --iam-account: nothing asks for one
    result.assert_outcomes(passed=4, failed=1)
    result.stdout.fnmatch_lines(["*test_a_wrong_scenario_is_one_line*",
                                 "*users[[]0[]].groups[[]0[]]: no group named 'admins' in this scenario*"])
    assert "no account to check" not in result.stdout.str()
