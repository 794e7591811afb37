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
    result = iam.check("acme-key-rotation")
    assert result and result.evaluated == 1  # the young key judged; the inactive one not selected

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
    # the line once in the failure's report (the short summary may repeat it: it does under CI), with no chained
    # "During handling of the above exception" repeating it
    report = result.stdout.str().split("short test summary info")[0]
    assert report.count("no group named 'admins' in this scenario") == 1
    assert "During handling" not in result.stdout.str()


def test_a_scenario_account_is_collected_as_itself_and_its_clients_refuse_to_sign_after() -> None:
    """Every scenario account shares one set of collector clients, which sign as the account being built; outside
    its build they refuse, rather than reach whichever account the emulator would default to."""
    from pytest_iam.aws import NoEmulatedAccount
    from pytest_iam.checks import Library
    from pytest_iam.scenario_fixture import ScenarioAccounts

    accounts = ScenarioAccounts(Library.load())
    try:
        web = accounts({"roles": [{"name": "web", "trust": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": "ec2.amazonaws.com"}, "Action": "sts:AssumeRole"}]}}],
            "instances": [{"name": "web-1", "profile": "web"}, {"name": "batch-1"}]})
        other = accounts({"users": [{"name": "solo"}]})
        assert web.account.factory is other.account.factory
        assert [u.name for u in other.users] == ["solo"] and not web.users
        # moto's public images are not loaded into scenario accounts; instances start and are read all the same
        result = web.check("ec2-instance-profile")
        assert [f.resource for f in result.failed] == [i.arn for i in web.instances if i.name == "batch-1"]
        assert sorted(i.name for i in web.instances) == ["batch-1", "web-1"]
        with pytest.raises(NoEmulatedAccount, match="outside its account's block"):
            web.account.factory.client("iam").list_users()
    finally:
        accounts.close()


def test_the_run_account_is_seeded_only_between_scenario_builds_and_in_the_default_account(tmp_path) -> None:
    """Emulator clients sign as the current emulated account, process-wide, and seeding the run's own mock account
    starts by emptying the emulator. So a thread that seeds it on first use (the run collects accounts ahead) waits
    for a scenario account being built to be finished, then seeds the default account."""
    import threading

    from pytest_iam import mock
    from pytest_iam.accounts import Account, builtin_spec
    from pytest_iam.aws import emulated_account
    from pytest_iam.checks import Library
    from pytest_iam.collect import collect_inventory
    from pytest_iam.scenario_fixture import ScenarioAccounts

    mock.stop_server()  # one run account per emulator: start clean
    path = tmp_path / "run.yaml"
    path.write_text("alias: run-alias\nusers: [{name: run-user}]\nbuckets: [{name: run-bucket}]\n", encoding="utf-8")
    accounts = ScenarioAccounts(Library.load())
    collected: dict = {}
    seeded = threading.Event()

    def collect_ahead() -> None:
        try:
            collected["inventory"] = collect_inventory(Account(builtin_spec(f"mock:{path}")))
        finally:
            seeded.set()

    try:
        scenario = accounts({"users": [{"name": "scenario-user"}]})
        with emulated_account(accounts._accounts[scenario.account_id].credentials):  # as while a scenario is being built
            ahead = threading.Thread(target=collect_ahead, daemon=True)
            ahead.start()
            assert not seeded.wait(1.0), "the run account was seeded while a scenario account was current"
            assert mock._SEEDED == {}
        assert seeded.wait(60) and "inventory" in collected
        inventory = collected["inventory"]
        assert inventory.account_id == mock.DEFAULT_ACCOUNT_ID
        assert [u.name for u in inventory.users] == ["run-user"]
        assert inventory.alias == "run-alias" and [b.name for b in inventory.buckets] == ["run-bucket"]
        again = accounts({"users": [{"name": "another"}]})
        assert [u.name for u in again.users] == ["another"] and again.alias is None and not again.buckets
    finally:
        accounts.close()
        mock.stop_server()


def test_closing_deletes_only_the_scenarios_own_buckets_and_only_in_their_accounts() -> None:
    """After something emptied the emulator (moto's own mock_aws does on start and stop), a scenario's credentials
    would reach the default account: closing then deletes nothing there."""
    from pytest_iam import mock
    from pytest_iam.aws import emulator_client
    from pytest_iam.checks import Library
    from pytest_iam.scenario_fixture import ScenarioAccounts

    accounts = ScenarioAccounts(Library.load())
    try:
        accounts({"buckets": [{"name": "scenario-data"}]})
        endpoint = mock.server_endpoint()
        mock._reset_emulator()
        s3 = emulator_client("s3", endpoint)  # the default account
        s3.create_bucket(Bucket="someone-elses")
        accounts.close()
        assert [b["Name"] for b in s3.list_buckets()["Buckets"]] == ["someone-elses"]

        built = accounts({"buckets": [{"name": "scenario-data"}, {"name": "scenario-logs"}]})
        assert sorted(b.name for b in built.buckets) == ["scenario-data", "scenario-logs"]  # the names are free again
        accounts.close()
        again = accounts({"buckets": [{"name": "scenario-data"}, {"name": "scenario-logs"}]})
        assert len(again.buckets) == 2
    finally:
        accounts.close()
        emulator_client("s3", mock.server_endpoint()).delete_bucket(Bucket="someone-elses")


def test_two_accounts_with_a_certificate_of_the_same_name_keep_their_own_dates() -> None:
    """The adapter reports a server certificate's real dates (moto answers 2012 for all): per account and name, so a
    later account's certificate of the same name cannot change an earlier account's verdict (CIS 1.18)."""
    from pytest_iam.checks import Library
    from pytest_iam.scenario_fixture import ScenarioAccounts

    accounts = ScenarioAccounts(Library.load())
    try:
        expired = accounts({"server_certificates": [{"name": "api", "expires_in_days": -3}]})
        valid = accounts({"server_certificates": [{"name": "api", "expires_in_days": 200}]})
        # read again after the second account was seeded: the first account's certificate is still expired
        from pytest_iam.aws import emulated_account
        from pytest_iam.collect import collect_inventory

        with emulated_account(accounts._accounts[expired.account_id].credentials):
            again = collect_inventory(expired.account)
        assert [c.name for c in again.server_certificates] == ["api"]
        assert again.server_certificates[0].expiration < again.collected_at
        assert not expired.check("iam-expired-server-certificates") and valid.check("iam-expired-server-certificates")
    finally:
        accounts.close()
