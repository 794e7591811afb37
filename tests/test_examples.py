"""The example team repository (conftest_examples/) runs against the demo account as its README says."""

from __future__ import annotations

import shutil

import pytest

from support import REPO, junit_cases


def test_team_repository_on_demo(pytester: pytest.Pytester) -> None:
    shutil.copytree(REPO / "conftest_examples", pytester.path, dirs_exist_ok=True)
    result = pytester.runpytest_inprocess("--iam-account=demo", "--junitxml=team.xml")
    cases = junit_cases(pytester.path / "team.xml")
    python_tests = {name: c["outcome"] for name, c in cases.items() if name.startswith("test_")}
    assert python_tests and set(python_tests.values()) == {"passed"}, python_tests
    controls = {c["props"]["control"]: c["outcome"] for c in cases.values() if "control" in c["props"]}
    assert controls == {
        "ACME-IAM-01": "passed",
        "ACME-IAM-02": "failed",
        "ACME-IAM-03": "failed",   # the contractors' waiver has expired
        "ACME-IAM-04": "failed",
        "ACME-IAM-05": "passed",   # svc-ci's second key is waived
        "ACME-IAM-06": "passed",   # the partner account is trusted by parameter
        "ACME-IAM-07": "failed",   # bianca's virtual MFA (a team check from team-checks/)
        "ACME-S3-01": "failed",    # the website is waived, the uploads bucket is not
    }
    result.stdout.fnmatch_lines(["*WAIVED*bucket/demo-corp-website*waived until 2099-12-31*", "*[waiver expired 2024-06-30]*"])
    by_name = {c["props"].get("control"): c["props"] for c in cases.values()}
    assert by_name["ACME-IAM-05"]["waived"] == "1"
    assert "contractor-1" in by_name["ACME-IAM-03"]["failed_resources"]
