"""Whole runs: xdist fan-out, user scenarios (mock:PATH), Python tests with the iam fixture, secrets kept out."""

from __future__ import annotations

import pytest

from support import dead_account, junit_cases

SCENARIO = """
alias: tiny
root: {mfa: hardware}
password_policy: {MinimumPasswordLength: 16, PasswordReusePrevention: 24}
users:
  - {name: ana, console: {last_used_days: 1}, mfa: virtual, access_keys: [{age_days: 10, last_used_days: 1}]}
  - {name: ben, console: {last_used_days: 1}, access_keys: [{age_days: 100, last_used_days: 1}]}
buckets:
  - {name: tiny-private}
account_public_access_block: {BlockPublicAcls: true, IgnorePublicAcls: true, BlockPublicPolicy: true, RestrictPublicBuckets: true}
"""

STANDARD = """
controls:
  - check: iam-root-mfa
  - check: iam-root-hardware-mfa
  - check: iam-password-policy
  - check: iam-user-console-mfa
  - check: iam-access-key-rotation
  - check: s3-account-public-access-block
  - check: s3-no-public-bucket-policy
  - check: org-scps-present
"""


def test_a_users_own_scenario_via_mock_path(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenario.yaml").write_text(SCENARIO)
    pytester.path.joinpath("iam_tiny.yaml").write_text(STANDARD)
    pytester.makepyfile(test_tiny="""
        def test_inventory(iam, iam_account):
            assert iam_account.alias == "tiny"
            assert sorted(u.name for u in iam.users) == ["ana", "ben"]
            assert iam.root.source == "credential_report"
            assert not iam.check("iam-access-key-rotation")
            assert iam.check("iam-access-key-rotation", max_age_days=120)
    """)
    result = pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml", "--junitxml=t.xml")
    outcomes = {name: case["outcome"] for name, case in junit_cases(pytester.path / "t.xml").items()}
    assert outcomes == {
        "iam-root-mfa[mock:scenario.yaml]": "passed",
        "iam-root-hardware-mfa[mock:scenario.yaml]": "passed",
        "iam-password-policy[mock:scenario.yaml]": "passed",
        "iam-user-console-mfa[mock:scenario.yaml]": "failed",
        "iam-access-key-rotation[mock:scenario.yaml]": "failed",
        "s3-account-public-access-block[mock:scenario.yaml]": "passed",
        "s3-no-public-bucket-policy[mock:scenario.yaml]": "passed",
        "org-scps-present[mock:scenario.yaml]": "failed",  # not in an organization
        "test_inventory[mock:scenario.yaml]": "passed",
    }
    result.stdout.fnmatch_lines(["*the account is not in an organization: no SCP can apply*"])


def test_xdist_workers_collect_the_same_items(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenario.yaml").write_text(SCENARIO)
    pytester.path.joinpath("iam_tiny.yaml").write_text(STANDARD)
    result = pytester.runpytest_subprocess("-n", "2", "--iam-account=mock:scenario.yaml", "--junitxml=x.xml",
                                           "-p", "no:cacheprovider")
    result.assert_outcomes(passed=5, failed=3)
    cases = junit_cases(pytester.path / "x.xml")
    assert len(cases) == 8
    assert {c["props"]["account_id"] for c in cases.values()} == {"123456789012"}
    result.stdout.fnmatch_lines(["*pytest-iam summary*", "mock:scenario.yaml (123456789012): 8 checks, 5 passed, 3 failed*"])


def test_no_credential_reaches_output_reports_or_snapshots(pytester: pytest.Pytester, monkeypatch) -> None:
    secret = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYzEXAMPLEKEY"
    pytester.path.joinpath("scenario.yaml").write_text(SCENARIO)
    pytester.path.joinpath("iam_tiny.yaml").write_text(STANDARD)
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", secret)
    monkeypatch.setenv("AWS_SESSION_TOKEN", secret + "TOKEN")
    result = pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml", "--junitxml=r.xml",
                                          "--iam-save-snapshot=snap", "-rA")
    texts = [result.stdout.str(), result.stderr.str(), (pytester.path / "r.xml").read_text()]
    texts += [p.read_text() for p in (pytester.path / "snap").glob("*.json")]
    for text in texts:
        assert secret not in text
        assert "SecretAccessKey" not in text and "Base32StringSeed" not in text


def test_an_unreachable_account_is_tried_once_and_reported_in_one_line(pytester: pytest.Pytester, monkeypatch) -> None:
    dead_account(pytester, monkeypatch)
    pytester.path.joinpath("iam_tiny.yaml").write_text(STANDARD)
    pytester.makepyfile(test_x="def test_uses_iam(iam):\n    pass\n")
    result = pytester.runpytest_inprocess("--iam-account=dead")
    result.assert_outcomes(errors=9)  # could not be evaluated: errors, never failures that read like verdicts
    text = result.stdout.str()
    assert "Traceback" not in text and "botocore/" not in text
    assert text.count("account dead: cannot connect: EndpointConnectionError") >= 9
