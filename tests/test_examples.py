"""The example team repositories (conftest_examples/) end on the demo account as their READMEs say.

They run on the demo account's snapshot (the same facts, collected once per test session); the platform team's
check pack is built and installed with ``pip install --target`` from its folder, offline."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from support import REPO, junit_case_list

EXAMPLES = REPO / "conftest_examples"


def _team(pytester: pytest.Pytester, name: str) -> Path:
    shutil.copytree(EXAMPLES / name, pytester.path, dirs_exist_ok=True)
    return pytester.path


def _controls(path: Path) -> dict:
    return {c["props"]["control"]: c for c in junit_case_list(path) if "control" in c["props"]}


def test_startup_runs_cis_gated_at_high(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    _team(pytester, "startup")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--junitxml=out.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED  # critical and high failures are not gated
    controls = _controls(pytester.path / "out.xml")
    assert controls["cis-1.3"]["outcome"] == "failed" and "gated" not in controls["cis-1.3"]["props"]
    gated = {c for c, case in controls.items() if case["props"].get("gated")}
    assert gated and all(controls[c]["props"]["severity"] in ("medium", "low") for c in gated)
    assert all(controls[c]["outcome"] == "failed" for c in gated)  # still failures in the XML
    assert {"cis-1.13", "cis-1.14"} <= gated
    result.stdout.fnmatch_lines(["*pytest-iam gate: --iam-fail-on high*", "*gated: * failing controls below high*"])


def test_regulated_overlay_with_skip_and_waivers(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    _team(pytester, "regulated")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}", "--junitxml=out.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED
    controls = _controls(pytester.path / "out.xml")
    assert controls["cis-1.12"]["outcome"] == "skipped"
    assert "RISK-118" in controls["cis-1.12"]["props"]["skip_reason"]
    assert controls["FIN-IAM-01"]["outcome"] == "passed"
    assert controls["FIN-S3-01"]["outcome"] == "failed" and controls["FIN-S3-01"]["props"]["waived"] == "1"
    assert controls["cis-1.13"]["props"]["severity"] == "high"
    assert controls["cis-1.13"]["props"]["parameters"] == '{"max_age_days":60}'
    assert controls["cis-1.9"]["outcome"] == "failed"
    assert "contractor-1" in controls["cis-1.9"]["props"]["failed_resources"]
    assert {c["props"]["standard"] for c in controls.values()} == {"finco-iam"}
    result.stdout.fnmatch_lines(["*[[]waiver expired 2024-06-30[]]*",
                                 "*skipped on purpose: cis-1.12: two active keys are allowed*RISK-118"])


def _install_pack(source: Path, target: Path) -> None:
    """Build and install the pack from its folder, offline, into ``target`` (bounded in time)."""
    work = target.parent / f"{source.name}-src"
    shutil.copytree(source, work, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-build-isolation",
                    "--no-index", "--disable-pip-version-check", "--target", str(target), str(work)],
                   check=True, timeout=120, capture_output=True)


def _run_with(pytester: pytest.Pytester, site: Path, *args: str) -> pytest.RunResult:
    env_path = os.pathsep.join([str(site), os.environ.get("PYTHONPATH", "")])
    pytester._monkeypatch.setenv("PYTHONPATH", env_path)  # the subprocess finds the pack's entry point there
    return pytester.runpytest_subprocess("-p", "no:cacheprovider", *args, timeout=300)


def test_platform_team_with_a_pack_and_unit_tested_checks(pytester: pytest.Pytester, demo_snapshot: Path,
                                                           tmp_path_factory: pytest.TempPathFactory) -> None:
    root = _team(pytester, "platform")
    site = tmp_path_factory.mktemp("site") / "lib"
    _install_pack(EXAMPLES / "platform" / "acme-iam-pack", site)
    shutil.rmtree(root / "acme-iam-pack")  # only the installed pack is used
    result = _run_with(pytester, site, f"--iam-snapshot={demo_snapshot}", "--junitxml=team.xml")
    assert result.ret == pytest.ExitCode.TESTS_FAILED, result.stdout.str()
    cases = junit_case_list(root / "team.xml")
    python_tests = {c["name"]: c["outcome"] for c in cases if c["name"].startswith("test_")}
    assert python_tests and set(python_tests.values()) == {"passed"}, python_tests
    assert {"test_service_user_with_console_fails", "test_admins_hardware_mfa[hardware-mfa-passes]",
            "test_admins_hardware_mfa[virtual-mfa-fails]"} <= set(python_tests)
    unit_tests = [c for c in cases if c["classname"] == "test_team_checks"]
    assert len(unit_tests) >= 20, unit_tests  # the README's table of scenario cases, each an account of its own
    controls = {c["props"]["control"]: c["outcome"] for c in cases if "control" in c["props"]}
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
    result.stdout.fnmatch_lines(["*WAIVED*bucket/demo-corp-website*waived until 2099-12-31*"])
    result.stdout.fnmatch_lines(["*[[]waiver expired 2024-06-30[]]*"])


def test_a_pack_check_id_that_is_taken_names_both_files(pytester: pytest.Pytester, demo_snapshot: Path,
                                                         tmp_path_factory: pytest.TempPathFactory) -> None:
    pack = tmp_path_factory.mktemp("pack") / "acme-iam-pack"
    shutil.copytree(EXAMPLES / "platform" / "acme-iam-pack", pack, ignore=shutil.ignore_patterns("build", "*.egg-info"))
    taken = (pack / "acme_iam_pack" / "checks" / "acme-service-users-no-console.yaml").read_text()
    (pack / "acme_iam_pack" / "checks" / "root-mfa.yaml").write_text(taken.replace(
        "id: acme-service-users-no-console", "id: iam-root-mfa"))
    site = tmp_path_factory.mktemp("site") / "lib"
    _install_pack(pack, site)
    pytester.path.joinpath("iam_x.yaml").write_text("controls:\n  - check: iam-root-mfa\n")
    result = _run_with(pytester, site, f"--iam-snapshot={demo_snapshot}")
    assert result.ret == pytest.ExitCode.USAGE_ERROR
    errors = [line for line in (result.stdout.str() + "\n" + result.stderr.str()).splitlines()
              if line.startswith("ERROR:")]
    assert len(errors) == 1, result.stdout.str() + result.stderr.str()
    assert "acme_iam_pack/checks/root-mfa.yaml: id: check 'iam-root-mfa' is already defined in " in errors[0]
    assert errors[0].endswith("iam-root-mfa.yaml")
