"""What changed since an earlier bundle: new failures, fixed, still failing, newly waived, waivers gone."""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any, Dict, Optional

import pytest

from pytest_iam.baseline import compare, summary
from support import suite_properties

ACCOUNT = "123456789012"


def _r(resource: str, status: str, control: str = "C1", account: str = "prod", reason: str = "") -> Dict[str, Any]:
    return {"account": account, "control": control, "resource": f"arn:aws:iam::{ACCOUNT}:user/{resource}",
            "label": resource, "status": status, "reason": reason or f"{resource} is {status}",
            "waiver": None}


def _names(diff: Dict[str, Any], category: str) -> list:
    return [entry["label"] for entry in diff[category]]


def test_each_list_answers_its_own_question() -> None:
    old = [_r("a", "fail"), _r("b", "fail"), _r("c", "pass"), _r("d", "waived"), _r("e", "fail"), _r("f", "waived"),
           _r("g", "fail"), _r("h", "error"), _r("i", "fail"), _r("j", "fail", control="C2")]
    new = [_r("a", "fail"), _r("b", "pass"), _r("c", "fail"), _r("d", "fail"), _r("f", "pass"), _r("g", "waived"),
           _r("h", "fail"), _r("i", "error"), _r("k", "fail")]
    judged = {("prod", "C1")}  # C2 was not judged in the new run
    diff = compare(old, new, judged, baseline="last/")
    assert diff["baseline"] == "last/"
    assert _names(diff, "still_failing") == ["a"]
    assert _names(diff, "fixed") == ["b", "e"]  # e is gone from a judged control: fixed
    assert _names(diff, "new_failures") == ["c", "d", "h", "k"]  # d: its waiver went; h: could not be judged before
    assert _names(diff, "newly_waived") == ["g"]
    assert _names(diff, "waivers_gone") == ["d", "f"]
    # i could not be judged now and j's control did not run: neither is said to be fixed
    assert "user/i" not in json.dumps(diff) and "user/j" not in json.dumps(diff)
    assert set(diff["fixed"][0]) == {"account", "control", "resource", "label", "reason"}
    assert diff["fixed"][0]["reason"] == "b is pass"  # the newer word when there is one
    assert summary(diff) == "4 new failures, 2 fixed, 1 still failing, 1 newly waived, 2 waivers gone"


def test_accounts_are_compared_apart() -> None:
    old = [_r("a", "fail", account="prod"), _r("a", "pass", account="dev")]
    new = [_r("a", "pass", account="prod"), _r("a", "fail", account="dev")]
    diff = compare(old, new, {("prod", "C1"), ("dev", "C1")})
    assert [(e["account"], e["label"]) for e in diff["fixed"]] == [("prod", "a")]
    assert [(e["account"], e["label"]) for e in diff["new_failures"]] == [("dev", "a")]


SCENARIO = """
alias: acme
users:
  - {{name: ana, console: {{last_used_days: 1}}{ana_mfa}}}
  - {{name: ben, console: {{last_used_days: 1}}{ben_mfa}}}
  - {{name: cy, console: {{last_used_days: 1}}}}
"""
STANDARD = "standard: acme\ncontrols:\n  - {id: ACME-MFA, check: iam-user-console-mfa}\n"


def _run(pytester: pytest.Pytester, ana_mfa: bool, ben_mfa: bool, *args: str) -> Any:
    pytester.path.joinpath("scenario.yaml").write_text(SCENARIO.format(
        ana_mfa=", mfa: virtual" if ana_mfa else "", ben_mfa=", mfa: virtual" if ben_mfa else ""))
    return pytester.runpytest_inprocess("--iam-account=mock:scenario.yaml", "-p", "no:cacheprovider", *args)


def test_one_fixed_and_one_new_violation_between_two_runs(pytester: pytest.Pytester) -> None:
    pytester.path.joinpath("iam_acme.yaml").write_text(STANDARD)
    # last quarter: ana had MFA, ben and cy did not; now ben has it and ana lost it
    _run(pytester, True, False, "--iam-evidence=last")
    result = _run(pytester, False, True, "--iam-evidence=now", "--iam-baseline=last", "--junitxml=now.xml")
    user = f"arn:aws:iam::{ACCOUNT}:user/"
    account = "mock:scenario.yaml"
    diff = json.loads((pytester.path / "now" / "diff.json").read_text())
    assert diff["baseline"] == "last"
    assert [(e["account"], e["control"], e["resource"]) for e in diff["new_failures"]] == [(account, "ACME-MFA", user + "ana")]
    assert [(e["account"], e["control"], e["resource"]) for e in diff["fixed"]] == [(account, "ACME-MFA", user + "ben")]
    assert [e["resource"] for e in diff["still_failing"]] == [user + "cy"]
    assert diff["newly_waived"] == [] and diff["waivers_gone"] == []
    assert diff["new_failures"][0]["label"] and diff["new_failures"][0]["reason"]
    result.stdout.fnmatch_lines([
        "since baseline last: 1 new failure, 1 fixed, 1 still failing, 0 newly waived, 0 waivers gone",
        f"  new failure: {account} ACME-MFA {user}ana*",
        f"  fixed: {account} ACME-MFA {user}ben*",
    ])
    props = dict(suite_properties(pytester.path / "now.xml"))
    assert props["diff.baseline"] == "last"
    assert (props["diff.new_failures_count"], props["diff.fixed_count"], props["diff.still_failing_count"]) == ("1", "1", "1")
    assert json.loads(props["diff.new_failures"]) == diff["new_failures"]
    assert json.loads(props["diff.fixed"]) == diff["fixed"]
    # the bundle's manifest hashes diff.json like every other file, and the same diff comes offline
    manifest = json.loads((pytester.path / "now" / "manifest.json").read_text())
    assert "diff.json" in manifest["files"] and manifest["baseline"] == "last"
    offline = subprocess.run([sys.executable, "-m", "pytest_iam", "diff", "last", "now", "--json"], cwd=pytester.path,
                             capture_output=True, text=True, timeout=60)
    assert offline.returncode == 0, offline.stderr
    assert json.loads(offline.stdout) == diff
    text = subprocess.run([sys.executable, "-m", "pytest_iam", "diff", "last", "now"], cwd=pytester.path,
                          capture_output=True, text=True, timeout=60)
    assert text.stdout.splitlines()[0] == "since last: 1 new failure, 1 fixed, 1 still failing, 0 newly waived, 0 waivers gone"
    assert f"  new failure: {account} ACME-MFA {user}ana" in text.stdout


def test_a_baseline_that_does_not_verify_is_refused(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    pytester.path.joinpath("iam_acme.yaml").write_text(STANDARD)
    pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-evidence=last")
    findings = pytester.path / "last" / "findings.ocsf.jsonl"
    findings.write_text(findings.read_text().replace('"Fail"', '"Pass"', 1))
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-baseline=last")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    result.stderr.fnmatch_lines(["*--iam-baseline last: the bundle does not verify: changed: findings.ocsf.jsonl*"])
    missing = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--iam-baseline=nowhere")
    assert missing.ret == pytest.ExitCode.USAGE_ERROR
