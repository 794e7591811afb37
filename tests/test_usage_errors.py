"""Bad input a user can cause gets one line naming the file and the place, pytest's usage-error exit code, and no
traceback."""

from __future__ import annotations

import pytest

from support import one_line_error as _one_line_error


def test_accounts_file_with_bad_yaml(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("iam-accounts.yaml").write_text("accounts:\n  prod:\n    profile: [unclosed\n")
    result = pytester.runpytest_inprocess("--iam-account=prod")
    _one_line_error(result, "iam-accounts.yaml:", "not valid YAML")


def test_accounts_file_with_a_wrong_field_names_the_place(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("iam-accounts.yaml").write_text("accounts:\n  prod:\n    regions: us-east-1\n")
    result = pytester.runpytest_inprocess("--iam-account=prod")
    _one_line_error(result, "iam-accounts.yaml: accounts.prod.regions:", "is not of type 'array'")


def test_accounts_file_with_an_unknown_field(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("iam-accounts.yaml").write_text("accounts:\n  prod:\n    profle: audit\n")
    result = pytester.runpytest_inprocess("--iam-account=prod")
    _one_line_error(result, "accounts.prod", "'profle' was unexpected")


def test_accounts_file_reference_to_a_missing_account(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("iam-accounts.yaml").write_text(
        "accounts:\n  prod:\n    role_arn: arn:aws:iam::111122223333:role/Audit\n    source_account: hub\n")
    result = pytester.runpytest_inprocess("--iam-account=prod")
    _one_line_error(result, "accounts.prod.source_account: no account named 'hub'")


def test_unknown_account_lists_the_known_ones(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("iam-accounts.yaml").write_text("accounts:\n  prod: {profile: p}\n  dev: {profile: d}\n")
    result = pytester.runpytest_inprocess("--iam-account=staging")
    _one_line_error(result, "unknown account 'staging'", "demo, dev, mock:PATH, prod")


def test_missing_accounts_file_given_explicitly(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--iam-accounts-file=nope.yaml", "--iam-account=demo")
    _one_line_error(result, "nope.yaml: accounts file not found")


def test_standard_with_an_unknown_check(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("iam_team.yaml").write_text("controls:\n  - check: iam-root-mfa\n  - check: iam-rot-mfa\n")
    result = pytester.runpytest_inprocess("--iam-snapshot=does-not-matter.json")
    # the snapshot error comes first: fix the run, then see the standard's error
    _one_line_error(result, "does-not-matter.json: no such snapshot file")


def test_standard_with_an_unknown_check_names_the_control(pytester: pytest.Pytester, demo_snapshot) -> None:
    pytester.path.joinpath("iam_team.yaml").write_text("controls:\n  - check: iam-root-mfa\n  - check: iam-rot-mfa\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    _one_line_error(result, "iam_team.yaml: controls[1].check: unknown check 'iam-rot-mfa'")


def test_standard_with_a_parameter_of_the_wrong_type(pytester: pytest.Pytester, demo_snapshot) -> None:
    pytester.path.joinpath("iam_team.yaml").write_text(
        "controls:\n  - {check: iam-access-key-rotation, with: {max_age_days: ninety}}\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    _one_line_error(result, "iam_team.yaml: controls[0].with: parameter 'max_age_days'", "must be integer")


def test_standard_with_an_unknown_parameter(pytester: pytest.Pytester, demo_snapshot) -> None:
    pytester.path.joinpath("iam_team.yaml").write_text(
        "controls:\n  - {check: iam-access-key-rotation, with: {max_days: 60}}\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    _one_line_error(result, "controls[0].with: unknown parameter 'max_days'", "known: max_age_days")


def test_standard_with_broken_yaml(pytester: pytest.Pytester, demo_snapshot) -> None:
    pytester.path.joinpath("iam_team.yaml").write_text("controls:\n  - check: iam-root-mfa\n   with: {}\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    _one_line_error(result, "iam_team.yaml:3:", "not valid YAML")


def test_standard_waiver_without_expiry(pytester: pytest.Pytester, demo_snapshot) -> None:
    pytester.path.joinpath("iam_team.yaml").write_text(
        "controls:\n  - check: iam-root-mfa\nwaivers:\n  - {check: iam-root-mfa, resources: ['*'], reason: why not,"
        " approved_by: me}\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    _one_line_error(result, "iam_team.yaml: waivers[0]:", "'expires' is a required property")


def test_iam_standard_option_with_a_missing_file(pytester: pytest.Pytester) -> None:
    result = pytester.runpytest_inprocess("--iam-standard=team/iam_missing.yaml")
    _one_line_error(result, "--iam-standard team/iam_missing.yaml: no such file", "cis-aws-foundations")


def _run_with_team_check(pytester: pytest.Pytester, snapshot, require: str) -> pytest.RunResult:
    checks = pytester.mkdir("team-checks")
    checks.joinpath("team-check.yaml").write_text(
        "id: team-check\ntitle: A team check\nseverity: low\nresource: users\nrationale: r\nremediation: r\n"
        f"frameworks: {{team: ['1']}}\nrequire:\n  - {require}\n")
    pytester.makeini("[pytest]\niam_check_paths = team-checks\n")
    return pytester.runpytest_inprocess(f"--iam-snapshot={snapshot}")


@pytest.mark.parametrize("require, expected", [
    ("{key: mfa_active, op: equals, value: true}", "team-check.yaml: require[0]"),
    ("{key: 'access_keys[?active', op: eq, value: 1}", "team-check.yaml: require[0].key: not a JMESPath expression"),
    ("{predicate: has_owner}", "team-check.yaml: require[0].predicate: unknown predicate 'has_owner'"),
    ("{key: name, op: regex, value: '[a-'}", "team-check.yaml: require[0].value: bad regular expression"),
    ("{key: name, value: {param: limit}}", "team-check.yaml: require[0]: refers to unknown parameter 'limit'"),
])
def test_check_file_errors_name_file_and_place(pytester: pytest.Pytester, demo_snapshot, require, expected) -> None:
    _one_line_error(_run_with_team_check(pytester, demo_snapshot, require), expected)


def test_corrupt_snapshot(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("snap.json").write_text('{"schema_version": 1, "account_id": "12"}')
    result = pytester.runpytest_inprocess("--iam-snapshot=snap.json")
    _one_line_error(result, "snap.json:")


# --- mock:PATH scenarios: every bad one is refused when the account name is resolved, before an emulator starts ---

_GOOD_POLICY = '{Version: "2012-10-17", Statement: [{Effect: Allow, Action: "s3:GetObject", Resource: "*"}]}'
_TRUST = '{Version: "2012-10-17", Statement: [{Effect: Allow, Principal: {Service: ec2.amazonaws.com}, Action: "sts:AssumeRole"}]}'


@pytest.mark.parametrize("text, expected", [
    ("users: [{name: alice\n", "scenario.yaml:2:1: not valid YAML"),
    ("- just\n- a list\n", "scenario.yaml: (top level): ['just', 'a list'] is not of type 'object'"),
    ("users: [{name: alice, mfa: yes}]\n", "scenario.yaml: users[0]"),
    ("users: [{name: alice, groups: [Admins]}]\n", "scenario.yaml: users[0].groups[0]: no group named 'Admins'"),
    ("users: [{name: alice, attached_policies: [Missing]}]\n",
     "scenario.yaml: users[0].attached_policies[0]: no policy named 'Missing'"),
    ("users: [{name: alice}, {name: alice}]\n", "scenario.yaml: users[1].name: user 'alice' is defined twice"),
    ("users: [{template: {count: 2, name: dev}}]\n", "scenario.yaml: users[0].template.name: user 'dev' is defined twice"),
    ("users: [{template: {count: 2, name: 'dev-{n}'}}]\n", "scenario.yaml: users[0].template.name: not a template"),
    ("users: [{template: {count: 2, name: 'dev-{i:q}'}}]\n", "scenario.yaml: users[0].template.name: not a template"),
    ("users: [{template: {count: 2, name: 'dev {i}'}}]\n", "scenario.yaml: users[0].template.name: 'dev 1' is not a user name"),
    ("policies: [{name: P, document: " + _GOOD_POLICY + "}, {name: P, document: " + _GOOD_POLICY + "}]\n",
     "scenario.yaml: policies[1].name: policy 'P' is defined twice"),
    ("policies: [{name: P, document: 'not json'}]\n", "scenario.yaml: policies[0].document: not a JSON policy document"),
    ("policies: [{name: P, document: {Statement: [{Effect: Allow, Action: 's3:*', Resource: '*'}]}}]\n",
     "scenario.yaml: policies[0].document: IAM refuses this policy document"),
    ("roles: [{name: R, trust: " + _GOOD_POLICY + "}]\n", "scenario.yaml: roles[0].trust: IAM refuses this policy document"),
    ("roles: [{name: R, trust: " + _TRUST + ", boundary: Nope}]\n", "scenario.yaml: roles[0].boundary: no policy named 'Nope'"),
    ("password_policy: {MinimumPasswordLength: 4}\n", "scenario.yaml: password_policy.MinimumPasswordLength"),
    ("password_policy: {MinimumLength: 14}\n", "scenario.yaml: password_policy: Additional properties"),
    ("users: [{name: alice, created_days: .inf}]\n", "scenario.yaml: users[0].created_days: inf is not a number"),
    ("users: [{name: alice, created_days: 1e12}]\n", "scenario.yaml: users[0].created_days"),
    ("buckets: [{name: my-bucket, region: xx-north-9}]\n", "scenario.yaml: buckets[0].region: unknown region"),
    ("organization: {units: [{name: Prod, parent: Workloads}, {name: Workloads}]}\n",
     "scenario.yaml: organization.units[0].parent: no unit named 'Workloads'"),
    ("organization: {accounts: [{name: a, email: a@example.com, unit: Nope}]}\n",
     "scenario.yaml: organization.accounts[0].unit: no unit named 'Nope'"),
    ("organization: {scps: [{name: S, document: " + _GOOD_POLICY + ", targets: [Sandbox]}]}\n",
     "scenario.yaml: organization.scps[0].targets[0]: no unit or account named 'Sandbox'"),
    ("a: &a [*a, *a]\n", "scenario.yaml: a[0]: an alias refers to a value that contains it"),
    ("x: !!python/object/apply:os.system ['true']\n", "scenario.yaml:1:4: not valid YAML"),
    ("users: [{name: alice, 1: 2}]\n", "scenario.yaml: users[0]: key 1 is not a string"),
])
def test_bad_scenario_is_one_line_before_any_emulator(pytester: pytest.Pytester, text: str, expected: str) -> None:
    from pytest_iam import mock

    mock.stop_server()
    pytester.path.joinpath("scenario.yaml").write_text(text)
    result = pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml")
    _one_line_error(result, expected)
    assert mock._SERVER is None, "the scenario was refused only after an emulator had started"


def test_scenario_that_is_not_utf8(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenario.yaml").write_bytes(b"alias: \xff\xfe\n")
    _one_line_error(pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml"), "scenario.yaml: not UTF-8 text")


def test_scenario_alias_bomb_is_refused_quickly(pytester: pytest.Pytester) -> None:
    lines = ["a0: &a0 [x, x, x, x, x, x, x, x, x, x]"]
    lines += [f"a{n}: &a{n} [{', '.join([f'*a{n - 1}'] * 10)}]" for n in range(1, 10)]
    pytester.path.joinpath("scenario.yaml").write_text("\n".join(lines) + "\n")
    _one_line_error(pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml"), "scenario.yaml:",
                    "once aliases are expanded")


# --- waivers -----------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("waiver, expected", [
    ("resources: [], expires: 2027-01-31", "waivers[0].resources: [] should be non-empty"),
    ("resources: ['*'], expires: soon", "waivers[0].expires: 'soon' is not a 'date'"),
    ("resources: ['*'], expires: 2027-02-30", "waivers[0].expires: '2027-02-30' is not a 'date'"),
    ("resources: ['*'], expires: 20270131", "waivers[0].expires: 20270131 is not of type 'string'"),
    ("resources: ['*'], expires: 2027-01-31, accounts: [12]", "waivers[0].accounts[0]: 12 is not of type 'string'"),
    ("resources: ['*'], expires: 2027-01-31, accounts: [{prod: x}]", "waivers[0].accounts[0]: {'prod': 'x'} is not of type"),
    ("resources: ['*'], expires: 2027-01-31, accounts: prod", "waivers[0].accounts: 'prod' is not of type 'array'"),
    ("resources: ['*'], expires: 2027-01-31, accounts: []", "waivers[0].accounts: [] should be non-empty"),
])
def test_bad_waiver_is_one_line(pytester: pytest.Pytester, waiver: str, expected: str) -> None:
    pytester.path.joinpath("iam_team.yaml").write_text(
        "controls:\n  - check: iam-root-mfa\nwaivers:\n"
        f"  - {{check: iam-root-mfa, reason: vendor integration, approved_by: me, {waiver}}}\n")
    result = pytester.runpytest_inprocess("--iam-standard=iam_team.yaml")
    _one_line_error(result, "iam_team.yaml: " + expected)
