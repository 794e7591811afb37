"""A hand-made evidence bundle (manifest, findings, diff) for the HTML report's tests, with hostile names in it."""

from __future__ import annotations

import copy
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, List

ACCOUNT_ID = "123456789012"
SCRIPT_NAME = "<script>document.title='pwned-script'</script>"
IMG_NAME = "\"><img src=x onerror=\"document.title='pwned-img'\">"
HOSTILE_ROLE = f"arn:aws:iam::{ACCOUNT_ID}:role/{IMG_NAME}"
FRAMEWORKS = {"cis-aws-foundations-v5.0": ["1.13"]}


def _control(control: str, check: str, title: str, severity: str, outcome: str, evaluated: int,
             nothing: str | None = None, reason: str | None = None, account: str = "demo") -> Dict[str, Any]:
    return {"account": account, "account_id": ACCOUNT_ID, "standard": "acme-baseline", "control": control,
            "check": check, "title": title, "severity": severity,
            "frameworks": FRAMEWORKS if check == "iam-access-key-rotation" else {},
            "remediation": f"Fix {check} <by hand>.", "outcome": outcome, "evaluated": evaluated,
            "nothing_to_evaluate": nothing, "reason": reason}


def _finding(control: Dict[str, Any], status: str, resource: str, label: str, reason: str = "",
             waiver: Dict[str, Any] | None = None) -> Dict[str, Any]:
    keys = ("account", "account_id", "standard", "control", "check", "title", "severity", "frameworks", "remediation")
    return {**{k: control[k] for k in keys}, "status": status, "resource": resource, "label": label,
            "reason": reason, "waiver": waiver, "time": "2026-03-01T10:00:00+00:00"}


def sample() -> tuple[Dict[str, Any], List[Dict[str, Any]], Dict[str, Any]]:
    """(manifest, findings, diff): four controls on ``demo`` (one of each outcome) and one on ``prod``."""
    rotation = _control("ACME-04", "iam-access-key-rotation", "Access keys are rotated", "medium", "fail", 3)
    admin = _control("ACME-09", "iam-no-admin-policies", "No policy grants * on *", "high", "pass", 2)
    report = _control("ACME-01", "iam-root-mfa", "The root user has MFA", "critical", "error", 1,
                      reason="iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport")
    console = _control("ACME-05", "iam-user-console-mfa", "Console users have MFA", "high", "pass", 0,
                       nothing="no user has a console password")
    prod_root = _control("ACME-01", "iam-root-mfa", "The root user has MFA", "critical", "pass", 1, account="prod")
    user = f"arn:aws:iam::{ACCOUNT_ID}:user/"
    waiver = {"reason": "CI key rotation in progress", "approved_by": "security@acme.example",
              "expires": "2027-01-31", "ticket": "CHG-4411"}
    findings = [
        _finding(rotation, "fail", user + "bob", "bob", "key AKIA1 is 120 days old (max 90)"),
        _finding(rotation, "waived", user + "svc-ci", "svc-ci", "key is 200 days old (max 90)", waiver),
        _finding(rotation, "pass", user + "alice", "alice"),
        _finding(admin, "waived", HOSTILE_ROLE, IMG_NAME, f"trust policy names {SCRIPT_NAME}",
                 {"reason": f"break glass {SCRIPT_NAME}", "approved_by": "ciso@acme.example",
                  "expires": "2026-12-31", "ticket": None}),
        _finding(admin, "pass", f"arn:aws:iam::{ACCOUNT_ID}:policy/ReadOnly", "ReadOnly"),
        _finding(report, "error", f"arn:aws:iam::{ACCOUNT_ID}:root", "root",
                 "iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport"),
        _finding(prod_root, "pass", f"arn:aws:iam::{ACCOUNT_ID}:root", "root"),
    ]
    manifest = {
        "format": "pytest-iam-evidence/1",
        "pytest_iam_version": "0.1.0",
        "started_at": "2026-03-01T10:00:00+00:00",
        "finished_at": "2026-03-01T10:00:09+00:00",
        "command_line": ["pytest", "--iam-account=demo,prod", "--iam-evidence", "out"],
        "controls": [rotation, admin, report, console, prod_root],
        "accounts": {
            "demo": {"account_id": ACCOUNT_ID, "caller_arn": f"arn:aws:iam::{ACCOUNT_ID}:user/auditor",
                     "collected_at": "2026-03-01T10:00:01+00:00", "api_calls": 42,
                     "snapshot": "snapshots/demo.json", "snapshot_sha256": "ab" * 32},
            "prod": {"account_id": ACCOUNT_ID, "caller_arn": f"arn:aws:iam::{ACCOUNT_ID}:role/Audit",
                     "collected_at": "2026-03-01T10:00:02+00:00", "api_calls": 17,
                     "snapshot": "snapshots/prod.json", "snapshot_sha256": "cd" * 32},
        },
        "files": {"findings.ocsf.jsonl": "01" * 32, "snapshots/demo.json": "ab" * 32,
                  "snapshots/prod.json": "cd" * 32},
    }
    diff = {
        "baseline": "last/manifest.json",
        "new_failures": [{"account": "demo", "control": "ACME-04", "resource": user + "bob", "label": "bob",
                          "reason": "key AKIA1 is 120 days old (max 90)"}],
        "fixed": [{"account": "demo", "control": "ACME-04", "resource": user + "dave", "label": "dave",
                   "reason": "key was 100 days old (max 90)"}],
        "still_failing": [],
        "newly_waived": [{"account": "demo", "control": "ACME-09", "resource": HOSTILE_ROLE, "label": IMG_NAME,
                          "reason": SCRIPT_NAME}],
        "waivers_gone": [],
    }
    return copy.deepcopy(manifest), findings, diff


def write_bundle(directory: Path, with_diff: bool = True) -> Path:
    """Write the sample as a bundle folder, the findings as OCSF events the way a run writes them."""
    from pytest_iam.ocsf import write_findings

    manifest, findings, diff = sample()
    directory.mkdir(parents=True, exist_ok=True)
    write_findings(directory / "findings.ocsf.jsonl", findings)
    data = (directory / "findings.ocsf.jsonl").read_bytes()
    manifest["files"]["findings.ocsf.jsonl"] = hashlib.sha256(data).hexdigest()
    (directory / "manifest.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    if with_diff:
        (directory / "diff.json").write_text(json.dumps(diff, indent=2), encoding="utf-8")
    return directory
