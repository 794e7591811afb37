"""Standards: a chosen set of checks with parameters, team control ids and waivers.

Usage::

    standard = load_standard(Path("iam_baseline.yaml"), library)
    for control in standard.controls:
        result = apply_waivers(run_check(control.check, inventory, control.params), standard.waivers, control)

A standard file::

    standard: acme-baseline
    controls:
      - {check: iam-access-key-rotation, id: ACME-IAM-04, with: {max_age_days: 60}}
    waivers:
      - check: iam-access-key-rotation            # or control: ACME-IAM-04
        resources: ["arn:aws:iam::123456789012:user/svc-ci"]   # ARNs; * and ? allowed
        reason: vendor integration, rotation scheduled
        approved_by: security@acme.example
        expires: 2027-01-31                       # the day after, the waiver no longer applies
        ticket: CHG-4411                          # optional: the change or risk ticket that approved it
"""

from __future__ import annotations

import datetime as dt
import fnmatch
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterable, Optional, Tuple

from .checks import FAIL, WAIVED, Check, CheckDefinitionError, CheckResult, Finding, Library
from .files import FileError, load_yaml
from .schemas import validate

STANDARDS_DIR = "standards"


class StandardError(FileError):
    """A standard file that cannot be used (message: file, place, what is wrong)."""


@dataclass(frozen=True)
class Waiver:
    check: Optional[str]
    control: Optional[str]
    resources: Tuple[str, ...]
    reason: str
    approved_by: str
    expires: dt.date
    accounts: Tuple[str, ...] = ()
    ticket: Optional[str] = None
    source: str = ""  # "<standard file>: waivers[<index>]", naming it in the waiver trail

    def covers(self, control: "Control", account: str, arn: str) -> bool:
        if self.check is not None and self.check != control.check.id:
            return False
        if self.control is not None and self.control != control.id:
            return False
        if self.accounts and account not in self.accounts:
            return False
        return any(fnmatch.fnmatchcase(arn, pattern) for pattern in self.resources)

    def expired(self, today: dt.date) -> bool:
        return today > self.expires

    def applies_to(self, control: "Control", account: str) -> bool:
        """Whether the waiver is about this control on this account (whatever its resources)."""
        if self.check is not None and self.check != control.check.id:
            return False
        if self.control is not None and self.control != control.id:
            return False
        return not self.accounts or account in self.accounts

    def record(self) -> Dict[str, Any]:
        """The waiver as the trail records it: ``{"reason", "approved_by", "expires", "ticket"}``."""
        return {"reason": self.reason, "approved_by": self.approved_by, "expires": self.expires.isoformat(),
                "ticket": self.ticket}


@dataclass(frozen=True)
class Control:
    id: str
    check: Check
    params: Dict[str, Any]
    severity: str
    index: int

    @property
    def has_team_id(self) -> bool:
        return self.id != self.check.id


@dataclass(frozen=True)
class Standard:
    name: str
    title: str
    path: Path
    controls: Tuple[Control, ...]
    waivers: Tuple[Waiver, ...] = ()
    accounts: Tuple[str, ...] = ()


def _normalise(node: Any) -> Any:
    """YAML turns ``2027-01-31`` into a date; the schema speaks of strings."""
    if isinstance(node, dict):
        return {k: _normalise(v) for k, v in node.items()}
    if isinstance(node, list):
        return [_normalise(v) for v in node]
    if isinstance(node, (dt.date, dt.datetime)):
        return node.isoformat()[:10]
    return node


def load_standard(path: Path, library: Library) -> Standard:
    data = _normalise(load_yaml(path, error=StandardError))
    validate("standard", data, str(path), error=StandardError)
    controls = []
    seen: Dict[str, int] = {}
    for index, entry in enumerate(data["controls"]):
        where = f"{path}: controls[{index}]"
        try:
            check = library.get(entry["check"], where=f"{where}.check")
            params = check.resolve_params(entry.get("with"), where=f"{where}.with")
        except CheckDefinitionError as exc:
            raise StandardError(str(exc)) from None
        control_id = entry.get("id", check.id)
        if control_id in seen:
            raise StandardError(
                f"{where}.id: control {control_id!r} appears twice (also controls[{seen[control_id]}]); give each an id"
            )
        seen[control_id] = index
        controls.append(Control(id=control_id, check=check, params=params,
                                severity=entry.get("severity", check.severity), index=index))
    waivers = []
    for index, entry in enumerate(data.get("waivers") or []):
        where = f"{path}: waivers[{index}]"
        if entry.get("check") and entry["check"] not in library.checks:
            raise StandardError(f"{where}.check: unknown check {entry['check']!r}")
        if entry.get("control") and entry["control"] not in seen:
            raise StandardError(f"{where}.control: no control {entry['control']!r} in this standard")
        try:
            expires = dt.date.fromisoformat(entry["expires"])
        except ValueError:
            raise StandardError(f"{where}.expires: not a date (YYYY-MM-DD): {entry['expires']!r}") from None
        waivers.append(Waiver(check=entry.get("check"), control=entry.get("control"),
                              resources=tuple(entry["resources"]), reason=entry["reason"],
                              approved_by=entry["approved_by"], expires=expires,
                              accounts=tuple(entry.get("accounts") or ()), ticket=entry.get("ticket"),
                              source=f"{path.name}: waivers[{index}]"))
    return Standard(name=data.get("standard", path.stem), title=data.get("title", ""), path=path,
                    controls=tuple(controls), waivers=tuple(waivers), accounts=tuple(data.get("accounts") or ()))


def apply_waivers(result: CheckResult, waivers: Iterable[Waiver], control: Control,
                  today: Optional[dt.date] = None) -> CheckResult:
    """Failing findings covered by a live waiver become ``waived``; an expired waiver is named in the reason."""
    today = today or dt.date.today()
    findings = []
    for finding in result.findings:
        if finding.status == FAIL:
            finding = _waive(finding, [w for w in waivers if w.covers(control, result.account, finding.resource)], today)
        findings.append(finding)
    return replace(result, findings=tuple(findings))


def covering_waiver(waivers: Iterable[Waiver], control: Control, account: str, arn: str,
                    today: Optional[dt.date] = None) -> Optional[Waiver]:
    """The live waiver that waives ``arn`` for this control on this account (the first one listed), or None."""
    today = today or dt.date.today()
    return next((w for w in waivers if w.covers(control, account, arn) and not w.expired(today)), None)


EXPIRING_DAYS = 14


def expiring(expires: dt.date, today: Optional[dt.date] = None, days: int = EXPIRING_DAYS) -> bool:
    """A waiver with this expiry date is still live, and will no longer be within ``days`` days."""
    today = today or dt.date.today()
    return 0 <= (expires - today).days <= days


def _waive(finding: Finding, waivers: list, today: dt.date) -> Finding:
    live = [w for w in waivers if not w.expired(today)]
    if live:
        w = live[0]
        return replace(finding, status=WAIVED,
                       reason=f"{finding.reason} [waived until {w.expires}, approved by {w.approved_by}: {w.reason}]")
    if waivers:
        return replace(finding, reason=f"{finding.reason} [waiver expired {waivers[0].expires}]")
    return finding


def library_standard(name: str) -> Optional[Path]:
    from .checks import library_dir

    path = library_dir() / STANDARDS_DIR / f"{name}.yaml"
    return path if path.is_file() else None


def shipped_standards() -> Tuple[str, ...]:
    from .checks import library_dir

    return tuple(sorted(p.stem for p in (library_dir() / STANDARDS_DIR).glob("*.yaml")))


def resolve_standard(name_or_path: str) -> Path:
    """A shipped standard's name or a file path -> the file."""
    path = library_standard(name_or_path)
    if path is not None:
        return path
    candidate = Path(name_or_path)
    if candidate.is_file():
        return candidate.resolve()
    raise StandardError(
        f"--iam-standard {name_or_path}: no such file and no shipped standard of that name "
        f"(shipped: {', '.join(shipped_standards())})"
    )
