"""The run's audit trail: every finding with its waiver, waivers that matched nothing or expire soon, what changed
since a baseline, and the evidence bundle (``--iam-evidence DIR``).

Usage: ``plugin.py`` registers one ``AuditTrail`` per run. It records each control as it is judged, where the
control ran (an xdist worker, or the one process); the controller gathers the workers' parts, adds suite properties
before the JUnit XML is written, and finishes the bundle after it.

Under pytest-xdist each worker writes its findings into ``<bundle>/.parts/<worker>.json`` (a temporary folder when
only ``--iam-baseline`` was given) and its accounts' snapshots straight into ``<bundle>/snapshots/`` (an account's
items all run on one worker); its waiver tallies travel back with xdist's ``workeroutput``. The controller merges
the parts and removes them.
"""

from __future__ import annotations

import datetime as dt
import json
import platform
import re
import shutil
import tempfile
from pathlib import Path
from types import SimpleNamespace
from typing import Any, Dict, List, Optional, Tuple

import pytest

from . import __version__
from .baseline import BaselineError, compare, judged_pairs, load_bundle_findings, summary
from .bundle import BundleError, finish_bundle, prepare, sha256_file, tally, verify_problem
from .baseline import CATEGORIES
from .checks import WAIVED, library_dir
from .evidence import compact_json
from .flow import item_account
from .inventory import save_snapshot, snapshot_path
from .ocsf import iso_millis
from .secrets import MASK, redact
from .standards import covering_waiver, expiring

MAX_LISTED = 100
_SECRET_OPTION = re.compile(r"(?i)^(--?[\w-]*(secret|token|password|passwd|credential)[\w-]*)(=.*)?$")


def masked_command_line(args: List[str]) -> List[str]:
    """The run's arguments with every credential-shaped text masked, and the values of options whose names speak of
    secrets, tokens or passwords."""
    out: List[str] = []
    hide_next = False
    for arg in args:
        if hide_next:
            out.append(MASK)
            hide_next = False
            continue
        match = _SECRET_OPTION.match(arg)
        if match:
            out.append(f"{match.group(1)}={MASK}" if match.group(3) else match.group(1))
            hide_next = match.group(3) is None
            continue
        out.append(redact(arg))
    return out


def _versions() -> Dict[str, str]:
    import boto3
    import botocore

    return {"pytest_iam": __version__, "python": platform.python_version(), "pytest": pytest.__version__,
            "boto3": boto3.__version__, "botocore": botocore.__version__}


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _display_path(path: Path, rootpath: Path) -> str:
    """A file as the manifest names it: inside the shipped library, inside the rootdir, or as given."""
    resolved = Path(path).resolve()
    for base, prefix in ((library_dir().resolve(), "pytest_iam:checks/"), (rootpath.resolve(), "")):
        try:
            return prefix + resolved.relative_to(base).as_posix()
        except ValueError:
            continue
    return resolved.as_posix()


class AuditTrail:
    """Records findings and waivers where controls run; adds properties, the terminal trail and the bundle."""

    def __init__(self, config: pytest.Config, iam_state: Any) -> None:
        self.config = config
        self.state = iam_state
        self.workerinput = getattr(config, "workerinput", None)
        self.evidence_dir = self._evidence_dir()
        given = config.getoption("iam_baseline", None)
        self.baseline_dir: Optional[Path] = Path(given) if given else None
        self.started_at = _now()
        self.records: List[Dict[str, Any]] = []
        self.files_used: Dict[str, str] = {}
        self._files_seen: set = set()  # the standard and check paths hashed so far
        self.waivers: Dict[str, Dict[str, Any]] = {}
        self.snapshots_written: set = set()
        self.controls: List[Dict[str, Any]] = []
        self.waived: List[Tuple[str, str, Dict[str, Any]]] = []
        self.baseline_records: Optional[List[Dict[str, Any]]] = None
        self.diff: Optional[Dict[str, Any]] = None
        self.stale: List[Dict[str, Any]] = []
        self.expiring: List[Dict[str, Any]] = []
        self.manifest_sha256: Optional[str] = None
        self.bundle_error: Optional[str] = None
        self.parts_dir: Optional[Path] = None
        if self.workerinput is not None:
            given_parts = self.workerinput.get("pytest_iam_parts")
            self.parts_dir = Path(given_parts) if given_parts else None
            return
        if self.baseline_dir is not None:
            self._load_baseline()
        if self.evidence_dir is not None:
            try:
                prepare(self.evidence_dir, self.baseline_dir)
            except BundleError as exc:
                raise pytest.UsageError(str(exc)) from None
        if self.evidence_dir is not None or self.baseline_dir is not None:
            if self.evidence_dir is not None:
                self.parts_dir = self.evidence_dir / ".parts"
            else:
                self.parts_dir = Path(tempfile.mkdtemp(prefix="pytest-iam-parts-"))

    def _evidence_dir(self) -> Optional[Path]:
        given = self.config.getoption("iam_evidence", None)
        if given:
            return Path(given)
        ini = self.config.getini("iam_evidence_dir")
        return Path(self.config.rootpath, ini) if ini else None

    def _load_baseline(self) -> None:
        assert self.baseline_dir is not None
        problem = verify_problem(self.baseline_dir)
        if problem:
            raise pytest.UsageError(f"--iam-baseline {self.baseline_dir}: the bundle does not verify: {problem}")
        try:
            self.baseline_records, _ = load_bundle_findings(self.baseline_dir)
        except BaselineError as exc:
            raise pytest.UsageError(f"--iam-baseline: {exc}") from None

    @property
    def wants_records(self) -> bool:
        return self.evidence_dir is not None or self.baseline_dir is not None

    # --- where controls run -------------------------------------------------------------------------------------------

    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: tell each worker where to leave its part."""
        if self.parts_dir is not None:
            node.workerinput["pytest_iam_parts"] = str(self.parts_dir)

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Any:
        report = yield
        from .items import ControlItem

        if isinstance(item, ControlItem) and (call.when == "call" or (call.when == "setup" and report.failed)):
            self._record_control(item)
        if call.when == "setup" and self.evidence_dir is not None:
            self._save_snapshot(item_account(item))
        return report

    def _save_snapshot(self, account: Optional[str]) -> None:
        if account is None or account in self.snapshots_written or self.evidence_dir is None:
            return
        inventory = self.state.collected(account)
        if inventory is not None:
            save_snapshot(inventory, self.evidence_dir / "snapshots")
            self.snapshots_written.add(account)

    def _record_control(self, item: Any) -> None:
        control, standard, account = item.control, item.standard, item.account
        check = control.check
        result = item.result
        inventory = self.state.collected(account)
        self._waiver_tally(item, result)
        if not self.wants_records:
            return
        for path in (standard.path, check.source):
            self._use_file(path)
        when = inventory.collected_at if inventory is not None and inventory.collected_at else dt.datetime.now(dt.timezone.utc)
        base = {
            "account": account, "account_id": result.account_id if result is not None else self.state.known_account_id(account),
            "standard": standard.name, "control": control.id, "check": check.id, "title": check.title,
            "severity": control.severity, "frameworks": {k: list(v) for k, v in check.frameworks.items()},
            "remediation": check.remediation or "", "time": iso_millis(when),
        }
        if result is None:  # the account could not be reached: one error finding on the account
            ident = base["account_id"]
            resource = f"arn:aws:iam::{ident}:root" if ident else account
            reason = redact(dict(item.user_properties).get("reason") or "could not be evaluated")
            self.records.append({**base, "status": "error", "resource": resource, "label": account,
                                 "reason": reason, "waiver": None})
            return
        for finding in result.findings:
            waiver = None
            if finding.status == WAIVED:
                found = covering_waiver(standard.waivers, control, account, finding.resource)
                waiver = found.record() if found is not None else None
            self.records.append({**base, "status": finding.status, "resource": finding.resource,
                                 "label": redact(finding.label), "reason": redact(finding.reason), "waiver": waiver})

    def _use_file(self, path: Any) -> None:
        """A standard or check file the run used, hashed into the manifest: once, however many controls share it."""
        if not path or path in self._files_seen:
            return
        self._files_seen.add(path)
        if Path(path).is_file():
            self.files_used[_display_path(Path(path), self.config.rootpath)] = sha256_file(Path(path))

    def _waiver_tally(self, item: Any, result: Any) -> None:
        """Which waivers were about a judged control, and which of them matched one of its resources."""
        if result is None:
            return
        for waiver in item.standard.waivers:
            if not waiver.applies_to(item.control, item.account):
                continue
            key = f"{item.standard.name}: {waiver.source}"
            entry = self.waivers.setdefault(key, {
                "standard": item.standard.name, "waiver": waiver.source, "control": waiver.control,
                "check": waiver.check, "resources": list(waiver.resources), **waiver.record(), "matched": False,
            })
            if not entry["matched"]:
                entry["matched"] = any(waiver.covers(item.control, item.account, f.resource) for f in result.findings)

    # --- the controller ------------------------------------------------------------------------------------------------

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "teardown" or (report.when == "setup" and report.passed):
            return
        props = dict(report.user_properties)
        if "check" not in props or "control" not in props or "outcome" not in props:
            return
        check = self.state.library.checks.get(props["check"])
        self.controls.append({
            "account": props.get("account", ""), "account_id": props.get("account_id", ""),
            "standard": props.get("standard", ""), "control": props["control"], "check": props["check"],
            "title": check.title if check is not None else "", "severity": props.get("severity", ""),
            "frameworks": json.loads(props.get("frameworks") or "{}"),
            "remediation": (check.remediation or "") if check is not None else "",
            "outcome": props["outcome"], "evaluated": int(props.get("evaluated") or 0),
            "nothing_to_evaluate": props.get("nothing_to_evaluate") or None, "reason": props.get("reason") or None,
            "gated": props.get("gated") or None,
        })
        for entry in json.loads(props.get("waived_resources") or "[]"):
            self.waived.append((props.get("account", ""), props["control"], entry))

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        for key, entry in (getattr(node, "workeroutput", {}).get("pytest_iam_waivers") or {}).items():
            mine = self.waivers.setdefault(key, dict(entry))
            mine["matched"] = mine["matched"] or entry["matched"]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.workerinput is not None:
            session.config.workeroutput["pytest_iam_waivers"] = self.waivers  # type: ignore[attr-defined]
            if self.parts_dir is not None and self.wants_records:
                self.parts_dir.mkdir(parents=True, exist_ok=True)
                part = {"records": self.records, "files_used": self.files_used}
                (self.parts_dir / f"{self.workerinput['workerid']}.json").write_text(json.dumps(part), encoding="utf-8")
            return
        if self.state.usage_error:
            return
        self._merge_parts()
        today = dt.date.today()
        self.stale = sorted((w for w in self.waivers.values() if not w["matched"]), key=lambda w: (w["standard"], w["waiver"]))
        self.expiring = sorted((w for w in self.waivers.values() if expiring(dt.date.fromisoformat(w["expires"]), today)),
                               key=lambda w: (w["expires"], w["standard"], w["waiver"]))
        if self.baseline_records is not None:
            self.diff = compare(self.baseline_records, self.records, judged_pairs(self.controls),
                                baseline=str(self.baseline_dir))
        self._suite_properties()

    def _merge_parts(self) -> None:
        if self.parts_dir is None or not self.parts_dir.is_dir():
            return
        for path in sorted(self.parts_dir.glob("*.json")):
            part = json.loads(path.read_text(encoding="utf-8"))
            self.records.extend(part["records"])
            self.files_used.update(part["files_used"])
        shutil.rmtree(self.parts_dir, ignore_errors=True)

    def _suite_properties(self) -> None:
        from _pytest.junitxml import xml_key

        xml = self.config.stash.get(xml_key, None)
        if xml is None:
            return
        if self.stale:
            xml.add_global_property("stale_waivers", compact_json([_waiver_text_fields(w) for w in self.stale]))
        if self.expiring:
            xml.add_global_property("expiring_waivers", compact_json([_waiver_text_fields(w) for w in self.expiring]))
        if self.diff is not None:
            xml.add_global_property("diff.baseline", self.diff["baseline"])
            for name in CATEGORIES:
                entries = self.diff[name]
                xml.add_global_property(f"diff.{name}", compact_json(entries[:MAX_LISTED]))
                xml.add_global_property(f"diff.{name}_count", str(len(entries)))

    def finish(self, session: pytest.Session) -> None:
        """After the JUnit XML is written: the bundle."""
        if self.workerinput is not None or self.evidence_dir is None or self.state.usage_error:
            return
        records = sorted(self.records, key=lambda r: (r["account"], r["standard"], r["control"], r["resource"],
                                                      r["status"]))
        controls = sorted(self.controls, key=lambda c: (c["account"], c["standard"], c["control"]))
        _fill_control_reasons(controls, records)
        xml_path = getattr(self.config.option, "xmlpath", None)
        manifest = {
            "versions": _versions(),
            "started_at": self.started_at,
            "finished_at": _now(),
            "command_line": masked_command_line(["pytest", *self.config.invocation_params.args]),
            "exit_status": int(session.exitstatus),
            "accounts": self._accounts(),
            "standards_and_checks": dict(sorted(self.files_used.items())),
            "findings": tally(records),
            "stale_waivers": [_waiver_text_fields(w) for w in self.stale],
            "expiring_waivers": [_waiver_text_fields(w) for w in self.expiring],
            "baseline": str(self.baseline_dir) if self.baseline_dir is not None else None,
            "controls": controls,
        }
        try:
            self.manifest_sha256 = finish_bundle(self.evidence_dir, manifest, records, diff=self.diff,
                                                 junit_xml=Path(xml_path) if xml_path else None)
        except OSError as exc:
            self.bundle_error = f"{type(exc).__name__}: {exc}"

    def _accounts(self) -> Dict[str, Any]:
        out = {}
        for name in sorted(self.state.account_facts):
            facts = self.state.account_facts[name]
            flat = dict(facts)
            ident = flat.get("account_id", "")
            file = snapshot_path("snapshots", SimpleNamespace(account_name=name, account_id=ident)).as_posix()
            out[name] = {
                "account_id": ident, "caller_arn": flat.get("caller_arn", ""),
                "collected_at": flat.get("collected_at", ""), "api_calls": int(flat.get("api_calls") or 0),
                "snapshot": file, "snapshot_sha256": flat.get("snapshot_sha256", ""),
                "credential_report_generated_at": flat.get("credential_report_generated_at"),
                "collection_errors": [value for key, value in facts if key == "collection_error"],
            }
        return out

    # --- the terminal ----------------------------------------------------------------------------------------------------

    @pytest.hookimpl(trylast=True)
    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if self.workerinput is not None:
            return
        write = terminalreporter.write_line
        if self.waived or self.stale or self.expiring or self.diff is not None or self.evidence_dir is not None:
            terminalreporter.write_sep("-", "pytest-iam audit trail")
        for account, control, entry in sorted(self.waived, key=lambda t: (t[0], t[1], t[2].get("resource", ""))):
            ticket = f", ticket {entry['ticket']}" if entry.get("ticket") else ""
            write(redact(f"waived: {account} {control} {entry.get('resource')} until {entry.get('expires')}, "
                         f"approved by {entry.get('approved_by')}{ticket}: {entry.get('reason')}"), yellow=True)
        for waiver in self.stale:
            write(redact(f"stale waiver: {waiver['standard']}: {waiver['waiver']} ({_waiver_target(waiver)}) matches "
                         "no resource of any account in the run"), yellow=True)
        for waiver in self.expiring:
            left = (dt.date.fromisoformat(waiver["expires"]) - dt.date.today()).days
            write(redact(f"waiver expiring: {waiver['standard']}: {waiver['waiver']} ({_waiver_target(waiver)}) "
                         f"expires {waiver['expires']} (in {left} day{'s' if left != 1 else ''}), approved by "
                         f"{waiver['approved_by']}"), yellow=True)
        if self.diff is not None:
            write(f"since baseline {self.diff['baseline']}: {summary(self.diff)}")
            for name, word in (("new_failures", "new failure"), ("fixed", "fixed"), ("newly_waived", "newly waived"),
                               ("waivers_gone", "waiver gone")):
                for entry in self.diff[name]:
                    write(redact(f"  {word}: {entry['account']} {entry['control']} {entry['resource']}"
                                 + (f": {entry['reason']}" if entry.get("reason") else "")),
                          red=name == "new_failures", green=name == "fixed")
        if self.evidence_dir is not None:
            if self.manifest_sha256:
                write(f"evidence bundle: {self.evidence_dir} (manifest sha256 {self.manifest_sha256})")
            elif self.bundle_error:
                write(f"evidence bundle: {self.evidence_dir} could not be written: {self.bundle_error}", red=True)


class BundleFinisher:
    """The bundle is finished after pytest's junitxml has written its file, so the XML is in it and hashed."""

    def __init__(self, trail: AuditTrail) -> None:
        self.trail = trail

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        self.trail.finish(session)


def _waiver_target(waiver: Dict[str, Any]) -> str:
    what = f"control {waiver['control']}" if waiver.get("control") else f"check {waiver['check']}"
    return f"{what}, resources {', '.join(waiver['resources'])}"


def _waiver_text_fields(waiver: Dict[str, Any]) -> Dict[str, Any]:
    keys = ("standard", "waiver", "control", "check", "resources", "reason", "approved_by", "expires", "ticket")
    return {k: waiver.get(k) for k in keys}


def _fill_control_reasons(controls: List[Dict[str, Any]], records: List[Dict[str, Any]]) -> None:
    """A control that could not be evaluated says why: its own reason, else its error findings' reasons."""
    reasons: Dict[Tuple[str, str, str], List[str]] = {}
    for record in records:
        if record["status"] == "error" and record.get("reason"):
            reasons.setdefault((record["account"], record["standard"], record["control"]), []).append(record["reason"])
    for control in controls:
        if control["outcome"] == "error" and not control.get("reason"):
            found = reasons.get((control["account"], control["standard"], control["control"]), [])
            unique = list(dict.fromkeys(found))
            control["reason"] = "; ".join(unique[:5]) + (f" (and {len(unique) - 5} more)" if len(unique) > 5 else "") or None
