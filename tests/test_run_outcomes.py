"""Three outcomes as a user sees them (terminal, JUnit XML), no run without an account, and no secret in any text.

Each test runs pytest on example files through ``pytester``, as a user would.
"""

from __future__ import annotations

import dataclasses
import shutil
import xml.etree.ElementTree as ET
from typing import Any

import pytest

from support import REPO, dead_account, junit_cases, one_line_error


STANDARD = """
controls:
  - check: iam-root-mfa
  - check: iam-user-console-mfa
  - check: iam-no-admin-policies
  - check: s3-no-public-bucket-policy
"""

FAKE_KEY_ID = "AKIAQWERTYUIOPASDFGH"
FAKE_SECRET = "Qw3rTy7UiOpAsDfGhJkLzXcVbNm1234567890aBc"

SCENARIO_WITH_SECRETS = f"""
alias: leaky
root: {{mfa: hardware}}
policies:
  - name: LeakyAdmin
    document:
      Version: "2012-10-17"
      Statement:
        - {{Sid: {FAKE_KEY_ID}, Effect: Allow, Action: "*", Resource: "*"}}
        - {{Sid: {FAKE_SECRET}, Effect: Allow, Action: "s3:*", Resource: "*"}}
users:
  - {{name: ana, console: {{last_used_days: 1}}, attached_policies: [LeakyAdmin]}}
"""


# --- an account that cannot be reached: errors, with properties -----------------------------------------------------


def test_an_unreachable_account_gives_junit_errors_with_properties(pytester: pytest.Pytester,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    dead_account(pytester, monkeypatch)
    pytester.path.joinpath("iam_tiny.yaml").write_text(STANDARD)
    pytester.makepyfile(test_x="def test_uses_iam(iam):\n    pass\n")
    result = pytester.runpytest_inprocess("--iam-account=dead", "--junitxml=r.xml")
    result.assert_outcomes(errors=5)
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    suite = ET.parse(pytester.path / "r.xml").getroot().find("testsuite")
    assert suite.get("errors") == "5" and suite.get("failures") == "0"
    cases = junit_cases(pytester.path / "r.xml")
    controls = {name: case for name, case in cases.items() if name != "test_uses_iam[dead]"}
    assert len(controls) == 4
    for name, case in controls.items():
        assert case["outcome"] == "error", name
        props = case["props"]
        assert props["outcome"] == "error" and props["account"] == "dead" and props["evaluated"] == "0"
        assert props["check"] == name.split("[")[0] and props["severity"] and props["frameworks"]
        assert props["reason"].startswith("account dead: cannot connect: EndpointConnectionError")
    text = result.stdout.str()
    assert "Traceback" not in text and "botocore/" not in text
    result.stdout.fnmatch_lines([
        "*pytest-iam summary*",
        "dead (?): 4 checks, 0 passed, 0 failed, 4 could not be evaluated",
        "  could not be evaluated by severity: *",
    ])


def test_unavailable_organization_facts_are_errors_with_properties(pytester: pytest.Pytester,
                                                                    demo_inventory: Any) -> None:
    from pytest_iam.inventory import ORG_UNAVAILABLE, Organization, save_snapshot

    reason = "DescribeOrganization: AccessDeniedException"
    inventory = dataclasses.replace(demo_inventory, account_name="member",
                                    organization=Organization(status=ORG_UNAVAILABLE, reason=reason))
    save_snapshot(inventory, pytester.path / "snap")
    pytester.path.joinpath("iam_org.yaml").write_text(
        "controls:\n  - check: org-scps-present\n  - check: org-scp-guardrails\n  - check: iam-root-mfa\n")
    result = pytester.runpytest_inprocess("--iam-snapshot=snap", "--junitxml=o.xml")
    cases = junit_cases(pytester.path / "o.xml")
    for name in ("org-scps-present[member]", "org-scp-guardrails[member]"):
        assert cases[name]["outcome"] == "error", name
        props = cases[name]["props"]
        assert props["outcome"] == "error" and props["errors"] == "1" and props["snapshot_sha256"]
    assert cases["iam-root-mfa[member]"]["outcome"] in ("passed", "failed")
    result.stdout.fnmatch_lines([f"*{reason}*", "*2 could not be evaluated*"])


def test_nothing_to_evaluate_is_said_in_the_terminal_and_a_property(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenario.yaml").write_text("users:\n  - {name: ana}\n")
    pytester.path.joinpath("iam_n.yaml").write_text("controls:\n  - check: iam-user-console-mfa\n")
    result = pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml", "--junitxml=n.xml")
    result.assert_outcomes(passed=1)
    case = junit_cases(pytester.path / "n.xml")["iam-user-console-mfa[mock:scenario.yaml]"]
    assert case["props"]["evaluated"] == "0"
    assert case["props"]["nothing_to_evaluate"]
    result.stdout.fnmatch_lines(["*1 check, 1 passed, 0 failed*",
                                 "  nothing to evaluate: iam-user-console-mfa: *"])


# --- no account, no run ----------------------------------------------------------------------------------------------


@pytest.fixture
def team_repository(pytester: pytest.Pytester) -> pytest.Pytester:
    """A copy of the example team repository (standards, team checks, Python tests that use ``iam``)."""
    source = REPO / "conftest_examples" / "platform"
    for entry in source.iterdir():
        if entry.name == "__pycache__":
            continue
        target = pytester.path / entry.name
        if entry.is_dir():
            shutil.copytree(entry, target, ignore=shutil.ignore_patterns("__pycache__"))
        else:
            shutil.copy(entry, target)
    return pytester


@pytest.mark.parametrize("args", [(), ("--iam-account=",), ("--iam-account=", "iam_baseline.yaml"),
                                  ("iam_baseline.yaml",), ("test_iam_access.py",)],
                         ids=["plain", "empty-value", "empty-value-standard", "standard-file", "python-tests"])
def test_no_account_means_a_usage_error_not_a_green_run(team_repository: pytest.Pytester, args: tuple) -> None:
    result = team_repository.runpytest_subprocess("-p", "no:cacheprovider", *args)
    line = one_line_error(result, "no account to check", "--iam-account NAME")
    assert "need" in line and "one" in line


def test_no_account_under_xdist_is_a_usage_error_too(team_repository: pytest.Pytester) -> None:
    result = team_repository.runpytest_subprocess("-p", "no:cacheprovider", "-n", "2", "--iam-account=")
    text = result.stdout.str() + result.stderr.str()
    assert result.ret != 0, text
    assert "no account to check" in text


def test_tests_that_need_no_account_still_run_without_one(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_plain="def test_plain():\n    assert True\n")
    result = pytester.runpytest_inprocess()
    result.assert_outcomes(passed=1)


# --- Python tests: findings on separate lines, the account they judged, nothing secret ------------------------------


def test_python_tests_show_findings_line_by_line_and_carry_the_account(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("scenario.yaml").write_text(
        "users:\n  - {name: ana, console: {last_used_days: 1}}\n  - {name: ben, console: {last_used_days: 1}}\n")
    pytester.makepyfile(test_mfa="""
        def test_console_users_have_mfa(iam):
            assert iam.check("iam-user-console-mfa")
    """)
    result = pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml", "--junitxml=m.xml",
                                          "--iam-save-snapshot=snap")
    result.assert_outcomes(failed=1)
    result.stdout.fnmatch_lines([
        "*pytest-iam findings*",
        "iam-user-console-mfa on mock:scenario.yaml (123456789012): 2 failed, 2 evaluated",
        "  FAIL   user/ana  console password without MFA",
        "  FAIL   user/ben  console password without MFA",
    ])
    case = junit_cases(pytester.path / "m.xml")["test_console_users_have_mfa[mock:scenario.yaml]"]
    import hashlib

    (snapshot,) = (pytester.path / "snap").glob("*.json")
    assert case["props"] == {"account": "mock:scenario.yaml", "account_id": "123456789012",
                             "snapshot_sha256": hashlib.sha256(snapshot.read_bytes()).hexdigest()}
    failure = ET.parse(pytester.path / "m.xml").getroot().find(".//failure")
    assert "  FAIL   user/ben  console password without MFA" in failure.text


def test_no_secret_reaches_terminal_junit_snapshot_or_assertion_messages(pytester: pytest.Pytester,
                                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", FAKE_SECRET)
    pytester.path.joinpath("scenario.yaml").write_text(SCENARIO_WITH_SECRETS)
    pytester.path.joinpath("iam_leaky.yaml").write_text("controls:\n  - check: iam-no-admin-policies\n")
    pytester.makepyfile(test_leaky=f"""
        import os

        def test_admin_policies(iam):
            assert iam.check("iam-no-admin-policies")

        def test_prints_and_asserts_secrets(iam):
            print("environment secret:", os.environ["AWS_SECRET_ACCESS_KEY"])
            print("a policy:", [p.document for p in iam.policies if p.name == "LeakyAdmin"])
            assert iam.policies[0].document == "{FAKE_SECRET}"
    """)
    result = pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml", "--junitxml=s.xml",
                                          "--iam-save-snapshot=snap", "-rA")
    result.assert_outcomes(failed=3)
    texts = {"terminal": result.stdout.str() + result.stderr.str(), "junit": (pytester.path / "s.xml").read_text()}
    texts.update({p.name: p.read_text() for p in (pytester.path / "snap").glob("*.json")})
    for where, text in texts.items():
        assert FAKE_KEY_ID not in text, where
        assert FAKE_SECRET not in text, where
    assert "AKIA****************" in texts["terminal"]  # masked, and still visibly there


def test_an_error_message_with_a_key_is_masked(pytester: pytest.Pytester, monkeypatch: pytest.MonkeyPatch) -> None:
    dead_account(pytester, monkeypatch, path=f"/{FAKE_KEY_ID}")
    pytester.path.joinpath("iam_tiny.yaml").write_text("controls:\n  - check: iam-root-mfa\n")
    result = pytester.runpytest_inprocess("--iam-account=dead", "--junitxml=e.xml", "-rA")
    result.assert_outcomes(errors=1)
    for text in (result.stdout.str(), (pytester.path / "e.xml").read_text()):
        assert "cannot connect" in text
        assert FAKE_KEY_ID not in text


# --- collecting ahead never collects an account twice ------------------------------------------------------------------


def test_the_collection_pool_does_not_collect_an_account_again_after_its_items_released_it(
        pytester: pytest.Pytester) -> None:
    """The pool queues an account, the main thread gets there first, runs its items and releases the inventory:
    when a pool thread then comes to the queued name, it must not collect the account a second time."""
    pytester.path.joinpath("scenario.yaml").write_text("users:\n  - {name: ana}\n")
    pytester.makepyfile(test_pool='''
from pytest_iam.flow import CollectionPool
from pytest_iam.session import state

NAME = "mock:scenario.yaml"

def test_a_released_account_is_not_collected_again(request, iam_account):
    run = state(request.config)
    assert run.inventory(NAME) is not None        # the main thread collects it (or finds it collected)
    run.release(NAME)                             # its last item ran
    told = []
    run.on_collected.append(lambda name, ok: told.append(name))
    pool = CollectionPool(run, [NAME], workers=1, window=2)
    pool._collect(NAME)                           # a pool thread comes to the queued name late
    pool.stop()
    assert run.collected(NAME) is None and told == []
''')
    result = pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml", "-p", "no:cacheprovider")
    result.assert_outcomes(passed=1)
