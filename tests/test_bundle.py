"""Evidence bundles: what a run leaves for an auditor, and `pytest-iam verify` noticing any edit."""

from __future__ import annotations

import hashlib
import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import List

import pytest

from pytest_iam.audit import masked_command_line
from pytest_iam.bundle import BundleError, bundle_files, prepare, verify_bundle
from pytest_iam.ocsf import read_findings
from support import dead_account, junit_case_list, shipped_control_count, suite_properties

CONTROL_KEYS = {"account", "account_id", "standard", "control", "check", "title", "severity", "frameworks",
                "remediation", "outcome", "evaluated", "nothing_to_evaluate", "reason", "gated"}
ACCOUNT_KEYS = {"account_id", "caller_arn", "collected_at", "api_calls", "snapshot", "snapshot_sha256"}


def _verify(bundle: Path, *extra: str, console: bool = False) -> subprocess.CompletedProcess:
    command = ([str(Path(sys.executable).with_name("pytest-iam"))] if console
               else [sys.executable, "-m", "pytest_iam"])
    return subprocess.run([*command, "verify", str(bundle), *extra], capture_output=True, text=True, timeout=60)


def _sha(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture(scope="module")
def demo_bundle(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One live demo run (moto server) with --iam-evidence and --junitxml, as a user runs it."""
    work = tmp_path_factory.mktemp("demo-run")
    result = subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--iam-account=demo",
         "--iam-standard=cis-aws-foundations", "--iam-evidence=out", "--junitxml=evidence.xml", "-q"],
        cwd=work, capture_output=True, text=True, timeout=300)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-3000:]  # the demo has known violations
    assert "evidence bundle: out (manifest sha256 " in result.stdout
    (work / "stdout.txt").write_text(result.stdout)
    return work


def test_a_demo_run_writes_a_bundle_that_verifies(demo_bundle: Path) -> None:
    out = demo_bundle / "out"
    names = set(bundle_files(out))
    assert {"findings.ocsf.jsonl", "junit.xml", "report.html", "snapshots/demo-123456789012.json"} <= names
    assert (out / "manifest.json").is_file() and (out / "manifest.json.sha256").is_file()
    assert not (out / ".parts").exists()
    manifest = json.loads((out / "manifest.json").read_text())
    assert set(manifest["files"]) == names
    assert all(manifest["files"][name] == _sha(out / name) for name in names)
    assert set(manifest["versions"]) == {"pytest_iam", "python", "pytest", "boto3", "botocore"}
    assert manifest["started_at"] <= manifest["finished_at"]
    assert "--iam-evidence=out" in manifest["command_line"]
    assert manifest["junit_xml"]["sha256"] == _sha(demo_bundle / "evidence.xml") == _sha(out / "junit.xml")
    assert any(name.startswith("pytest_iam:checks/standards/cis-aws-foundations.yaml") for name in
               manifest["standards_and_checks"])
    assert "pytest_iam:checks/iam-root-mfa.yaml" in manifest["standards_and_checks"]
    # the accounts, as the contract with the report says
    demo = manifest["accounts"]["demo"]
    assert ACCOUNT_KEYS <= set(demo)
    assert demo["account_id"] == "123456789012" and demo["caller_arn"].startswith("arn:aws:")
    assert demo["api_calls"] > 0
    suite = dict(suite_properties(demo_bundle / "evidence.xml"))
    assert demo["api_calls"] == int(suite["demo.api_calls"])
    assert demo["snapshot"] == "snapshots/demo-123456789012.json"
    # the snapshot is the bytes --iam-save-snapshot writes, and its hash is every testcase's snapshot_sha256
    cases = junit_case_list(demo_bundle / "evidence.xml")
    assert {case["props"]["snapshot_sha256"] for case in cases} == {_sha(out / demo["snapshot"])}
    assert demo["snapshot_sha256"] == _sha(out / demo["snapshot"]) == suite["demo.snapshot_sha256"]
    # one control entry per testcase, with the contract's fields and the testcase's verdict
    controls = manifest["controls"]
    assert len(controls) == len(cases) == shipped_control_count()
    assert all(set(c) == CONTROL_KEYS for c in controls)
    by_control = {c["control"]: c for c in controls}
    for case in cases:
        entry = by_control[case["props"]["control"]]
        assert entry["outcome"] == case["props"]["outcome"]
        assert entry["evaluated"] == int(case["props"]["evaluated"])
    assert by_control["cis-1.9"]["title"] and by_control["cis-1.9"]["remediation"]
    assert by_control["cis-1.9"]["frameworks"] == {"cis-aws-foundations-v5.0": ["1.9"],
                                                   "aws-foundational-security-best-practices": ["IAM.5"]}
    # the findings: the testcases' findings, every one
    records = read_findings(out / "findings.ocsf.jsonl")
    assert len(records) == sum(int(case["props"]["evaluated"]) for case in cases)
    failed = {(r["control"], r["resource"]) for r in records if r["status"] == "fail"}
    assert failed == {(case["props"]["control"], arn) for case in cases
                      for arn in json.loads(case["props"]["failed_resources"])}
    # both commands say so in one line, exit 0
    for console in (False, True):
        result = _verify(out, console=console)
        assert result.returncode == 0, result.stdout + result.stderr
        assert len(result.stdout.splitlines()) == 1 and "verified" in result.stdout
    digest = _sha(out / "manifest.json")
    assert f"manifest sha256 {digest}" in (demo_bundle / "stdout.txt").read_text()
    assert _verify(out, "--sha256", digest).returncode == 0
    assert _verify(out, "--sha256", "0" * 64).returncode == 1


def _every_file(bundle: Path) -> List[str]:
    return sorted(p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file())


def test_changing_one_byte_of_any_file_is_named(demo_bundle: Path, tmp_path: Path) -> None:
    original = demo_bundle / "out"
    files = _every_file(original)
    assert len(files) == 6
    for name in files:
        copy = tmp_path / name.replace("/", "_")
        shutil.copytree(original, copy)
        data = bytearray((copy / name).read_bytes())
        middle = len(data) // 2
        data[middle] = ord("0") if data[middle] != ord("0") else ord("1")  # one byte, the file stays text
        (copy / name).write_bytes(bytes(data))
        problems = verify_bundle(copy)
        assert problems, f"an edit of {name} went unnoticed"
        assert all(name in line for line in problems), (name, problems)
        result = _verify(copy)
        assert result.returncode == 1
        assert all(name in line for line in result.stdout.splitlines()), (name, result.stdout)


def test_a_removed_or_an_added_file_is_named(demo_bundle: Path, tmp_path: Path) -> None:
    removed = tmp_path / "removed"
    shutil.copytree(demo_bundle / "out", removed)
    (removed / "snapshots" / "demo-123456789012.json").unlink()
    result = _verify(removed)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{removed}: removed: snapshots/demo-123456789012.json"]
    added = tmp_path / "added"
    shutil.copytree(demo_bundle / "out", added)
    (added / "snapshots" / "prod-999999999999.json").write_text("{}\n")
    (added / "notes.txt").write_text("nothing to see\n")
    result = _verify(added)
    assert result.returncode == 1
    assert result.stdout.splitlines() == [f"{added}: added: notes.txt",
                                          f"{added}: added: snapshots/prod-999999999999.json"]
    gone = tmp_path / "no-manifest"
    shutil.copytree(demo_bundle / "out", gone)
    (gone / "manifest.json").unlink()
    result = _verify(gone)
    assert result.returncode == 1 and "removed: manifest.json" in result.stdout


def test_replaying_the_bundles_snapshots_reproduces_its_findings(demo_bundle: Path, pytester: pytest.Pytester) -> None:
    snapshots = demo_bundle / "out" / "snapshots"
    pytester.runpytest_inprocess(f"--iam-snapshot={snapshots}", "--iam-standard=cis-aws-foundations",
                                 "--iam-evidence=again", "--junitxml=again.xml")
    first = read_findings(demo_bundle / "out" / "findings.ocsf.jsonl")
    again = read_findings(pytester.path / "again" / "findings.ocsf.jsonl")
    assert again == first
    assert (pytester.path / "again" / "findings.ocsf.jsonl").read_bytes() == \
        (demo_bundle / "out" / "findings.ocsf.jsonl").read_bytes()
    assert (pytester.path / "again" / "snapshots" / "demo-123456789012.json").read_bytes() == \
        (snapshots / "demo-123456789012.json").read_bytes()
    manifest = json.loads((pytester.path / "again" / "manifest.json").read_text())
    assert manifest["accounts"]["demo"]["api_calls"] == 0  # offline: no AWS call at all
    assert verify_bundle(pytester.path / "again") == []


def _two_account_snapshots(demo_snapshot: Path, into: Path) -> Path:
    into.mkdir()
    shutil.copy(demo_snapshot, into / demo_snapshot.name)
    data = json.loads(demo_snapshot.read_text())
    data["account_name"] = "demo-copy"
    (into / "demo-copy.json").write_text(json.dumps(data, sort_keys=True, indent=1) + "\n")
    return into


STANDARD = """
standard: acme-bundle
controls:
  - {id: ACME-KEYS, check: iam-user-single-active-key}
  - {id: ACME-ROTATION, check: iam-access-key-rotation}
  - {id: ACME-ROOT, check: iam-root-mfa}
waivers:
  - control: ACME-KEYS
    resources: ["arn:aws:iam::123456789012:user/svc-ci"]
    reason: second key during rotation
    approved_by: security@acme.example
    expires: 2099-01-31
  - control: ACME-ROTATION
    resources: ["arn:aws:iam::123456789012:user/nobody-*"]
    reason: nobody is there
    approved_by: security@acme.example
    expires: 2099-01-31
"""


def test_two_workers_write_the_same_bundle_as_one_process(demo_snapshot: Path, pytester: pytest.Pytester) -> None:
    snapshots = _two_account_snapshots(demo_snapshot, pytester.path / "snaps")
    pytester.path.joinpath("iam_acme.yaml").write_text(STANDARD)
    common = [f"--iam-snapshot={snapshots}", "-p", "no:cacheprovider"]
    serial = pytester.runpytest_subprocess(*common, "--iam-evidence=serial", "--junitxml=serial.xml")
    parallel = pytester.runpytest_subprocess(*common, "-n", "2", "--iam-evidence=parallel", "--junitxml=parallel.xml")
    one, two = pytester.path / "serial", pytester.path / "parallel"
    assert verify_bundle(one) == [] and verify_bundle(two) == []
    assert not (two / ".parts").exists()
    assert (one / "findings.ocsf.jsonl").read_bytes() == (two / "findings.ocsf.jsonl").read_bytes()
    for name in ("snapshots/demo-123456789012.json", "snapshots/demo-copy-123456789012.json"):
        assert (one / name).read_bytes() == (two / name).read_bytes()
    m1, m2 = (json.loads((d / "manifest.json").read_text()) for d in (one, two))
    for key in ("controls", "accounts", "standards_and_checks", "findings", "stale_waivers", "expiring_waivers"):
        assert m1[key] == m2[key], key
    assert {c["account"] for c in m2["controls"]} == {"demo", "demo-copy"}
    assert len(m2["controls"]) == 6
    skip = {"junit.xml", "report.html"}  # they hold the run's own times
    assert {k: v for k, v in m1["files"].items() if k not in skip} == {k: v for k, v in m2["files"].items() if k not in skip}
    # the stale waiver is found across workers: each worker saw one account, neither matched it
    assert [w["waiver"] for w in m2["stale_waivers"]] == ["iam_acme.yaml: waivers[1]"]
    for result in (serial, parallel):
        result.stdout.fnmatch_lines(["stale waiver: acme-bundle: iam_acme.yaml: waivers?1? *matches no resource*"])
    props = dict(suite_properties(pytester.path / "parallel.xml"))
    assert [w["waiver"] for w in json.loads(props["stale_waivers"])] == ["iam_acme.yaml: waivers[1]"]


def test_an_evidence_folder_holding_other_files_is_refused(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "thesis.docx").write_text("mine")
    with pytest.raises(BundleError, match="holds 'thesis.docx', which is not part of a bundle"):
        prepare(target)
    with pytest.raises(BundleError, match="is the --iam-baseline folder"):
        prepare(tmp_path / "same", baseline=tmp_path / "same")
    earlier = tmp_path / "earlier"
    (earlier / "snapshots").mkdir(parents=True)
    (earlier / "manifest.json").write_text("{}")
    (earlier / "snapshots" / "old.json").write_text("{}")
    prepare(earlier)  # an earlier bundle is replaced whole
    assert list(earlier.iterdir()) == []


def test_the_command_line_in_the_manifest_is_masked() -> None:
    key = "AKIA" + "IOSFODNN7EXAMPLE"
    assert masked_command_line(["pytest", f"--note={key}", "--api-token", "s3cr3t-value", "--db-password=hunter2",
                                "--iam-account=prod"]) == [
        "pytest", "--note=AKIA****************", "--api-token", "****", "--db-password=****", "--iam-account=prod"]


def test_an_unreachable_account_is_one_error_finding_per_control(pytester: pytest.Pytester,
                                                                  monkeypatch: pytest.MonkeyPatch) -> None:
    dead_account(pytester, monkeypatch)
    pytester.path.joinpath("iam_tiny.yaml").write_text("controls:\n  - check: iam-root-mfa\n  - check: iam-password-policy\n")
    result = pytester.runpytest_inprocess("--iam-account=dead", "--iam-evidence=out", "--junitxml=r.xml")
    result.assert_outcomes(errors=2)
    out = pytester.path / "out"
    assert verify_bundle(out) == []
    records = read_findings(out / "findings.ocsf.jsonl")
    assert [(r["check"], r["status"], r["resource"]) for r in records] == [
        ("iam-password-policy", "error", "dead"), ("iam-root-mfa", "error", "dead")]
    assert all(r["reason"].startswith("account dead: cannot connect") for r in records)
    manifest = json.loads((out / "manifest.json").read_text())
    assert manifest["accounts"] == {}  # nothing was collected, so no snapshot either
    assert not [name for name in manifest["files"] if name.startswith("snapshots/")]
    assert [(c["outcome"], c["evaluated"], c["reason"][:28]) for c in manifest["controls"]] == [
        ("error", 0, "account dead: cannot connect"), ("error", 0, "account dead: cannot connect")]


def test_the_ini_names_the_evidence_folder(pytester: pytest.Pytester, demo_snapshot: Path) -> None:
    pytester.makeini("[pytest]\niam_evidence_dir = evidence/latest\n")
    pytester.path.joinpath("iam_tiny.yaml").write_text("controls:\n  - check: iam-root-mfa\n")
    result = pytester.runpytest_inprocess(f"--iam-snapshot={demo_snapshot}")
    result.stdout.fnmatch_lines(["evidence bundle: */evidence/latest (manifest sha256 *)"])
    assert verify_bundle(pytester.path / "evidence" / "latest") == []
