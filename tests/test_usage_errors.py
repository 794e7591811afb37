"""Bad input a user can cause gets one line naming the file and the place, pytest's usage-error exit code, and no
traceback."""

from __future__ import annotations

import pytest

USAGE_ERROR = pytest.ExitCode.USAGE_ERROR


def _one_line_error(result: pytest.RunResult, *fragments: str) -> str:
    assert result.ret == USAGE_ERROR, result.stdout.str() + result.stderr.str()
    text = result.stdout.str() + "\n" + result.stderr.str()
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


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
