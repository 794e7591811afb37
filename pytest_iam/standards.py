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

A standard may extend another (a shipped name, or a path relative to the file), like an overlay::

    standard: acme-cis
    extends: cis-aws-foundations
    controls:
      - {id: cis-1.13, with: {max_age_days: 30}}          # an override: parameters merge
      - {id: cis-1.12, skip: "one key per user is enforced by our SCIM sync (RISK-12)"}
      - {id: ACME-7, check: iam-user-console-mfa, severity: critical}   # a new control

An entry whose ``id`` names a control of the extended standard overrides it (``with:`` merges, ``severity:``
replaces, ``skip:`` reports it skipped with the reason); an entry with a new ``id`` and a ``check`` adds a control.
The waivers of every standard in the chain apply.
"""

from __future__ import annotations

import datetime as dt
import fnmatch
import re
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, Dict, Iterable, List, Optional, Tuple

from .checks import FAIL, WAIVED, Check, CheckDefinitionError, CheckResult, Finding, Library
from .files import FileError, dates_as_text, load_yaml
from .findings import did_you_mean, waiver_note
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
        """Whether the waiver is about this control on this account and names ``arn`` among its resources."""
        return self.applies_to(control, account) and any(fnmatch.fnmatchcase(arn, p) for p in self.resources)

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
    skip: Optional[str] = None  # the reason this control is skipped on purpose (a pytest skip)
    source: Optional[Path] = None  # the standard file that defined, or last overrode, the control
    line: Optional[int] = None  # its 0-based line in that file, when it can be found
    overridden_in: Tuple[str, ...] = ()  # the standards (names) that overrode it, outermost last

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
    extends: Tuple[str, ...] = ()  # the chain of extended standards, nearest first
    files: Tuple[Path, ...] = ()  # every file of the chain, this one first

    @property
    def skipped(self) -> Tuple[Control, ...]:
        return tuple(c for c in self.controls if c.skip)


def load_standard(path: Path, library: Library) -> Standard:
    """Read, validate and resolve a standard file (and the standards it extends)."""
    return _load(Path(path), library, ())


def _load(path: Path, library: Library, chain: Tuple[Path, ...]) -> Standard:
    data = dates_as_text(load_yaml(path, error=StandardError), date_only=True)  # the schema speaks of day strings
    validate("standard", data, str(path), error=StandardError)
    base: Optional[Standard] = None
    if data.get("extends"):
        base_path = _extended_path(data["extends"], path)
        resolved = base_path.resolve()
        if resolved in chain or resolved == path.resolve():
            loop = [p.name for p in (*chain, path.resolve())] + [base_path.name]
            raise StandardError(f"{path}: extends: the chain of standards loops ({' -> '.join(loop)})")
        base = _load(base_path, library, (*chain, path.resolve()))
    elif not data.get("controls"):
        raise StandardError(f"{path}: controls: a standard that extends nothing needs at least one control")
    name = data.get("standard", path.stem)
    lines = _control_lines(path)
    controls: List[Control] = list(base.controls) if base else []
    by_id: Dict[str, int] = {c.id: i for i, c in enumerate(controls)}
    seen: Dict[str, int] = {}
    for index, entry in enumerate(data.get("controls") or []):
        where = f"{path}: controls[{index}]"
        control_id = entry.get("id", entry.get("check"))
        if control_id in seen:
            raise StandardError(
                f"{where}.id: control {control_id!r} appears twice (also controls[{seen[control_id]}]); give each an id"
            )
        seen[control_id] = index
        line = lines.get(control_id)
        if base is not None and control_id in by_id:
            controls[by_id[control_id]] = _override(controls[by_id[control_id]], entry, where, name, path, line)
            continue
        if "check" not in entry:
            known = sorted(by_id)
            if base is None:
                raise StandardError(f"{where}: a control needs a check (this standard extends nothing)")
            hint = did_you_mean(control_id, known)
            raise StandardError(
                f"{where}.id: no control {control_id!r} in the extended standard {base.name} ({base.path.name}) to "
                f"override" + (f"; {hint}" if hint else "; to add a control, give it a check")
            )
        try:
            check = library.get(entry["check"], where=f"{where}.check")
            params = check.resolve_params(entry.get("with"), where=f"{where}.with")
        except CheckDefinitionError as exc:
            raise StandardError(str(exc)) from None
        by_id[control_id] = len(controls)
        controls.append(Control(id=control_id, check=check, params=params,
                                severity=entry.get("severity", check.severity), index=len(controls),
                                skip=entry.get("skip"), source=path, line=line))
    known_ids = set(by_id)
    waivers = list(base.waivers) if base else []
    for index, entry in enumerate(data.get("waivers") or []):
        where = f"{path}: waivers[{index}]"
        if entry.get("check") and entry["check"] not in library.checks:
            hint = did_you_mean(entry["check"], library.checks)
            raise StandardError(f"{where}.check: unknown check {entry['check']!r}" + (f"; {hint}" if hint else ""))
        if entry.get("control") and entry["control"] not in known_ids:
            hint = did_you_mean(entry["control"], known_ids)
            raise StandardError(f"{where}.control: no control {entry['control']!r} in this standard"
                                + (f"; {hint}" if hint else ""))
        try:
            expires = dt.date.fromisoformat(entry["expires"])
        except ValueError:
            raise StandardError(f"{where}.expires: not a date (YYYY-MM-DD): {entry['expires']!r}") from None
        waivers.append(Waiver(check=entry.get("check"), control=entry.get("control"),
                              resources=tuple(entry["resources"]), reason=entry["reason"],
                              approved_by=entry["approved_by"], expires=expires,
                              accounts=tuple(entry.get("accounts") or ()), ticket=entry.get("ticket"),
                              source=f"{path.name}: waivers[{index}]"))
    accounts = tuple(data.get("accounts") or ()) or (base.accounts if base else ())
    return Standard(name=name, title=data.get("title", base.title if base else ""), path=path,
                    controls=tuple(controls), waivers=tuple(waivers), accounts=accounts,
                    extends=((base.name,) + base.extends) if base else (),
                    files=(path,) + (base.files if base else ()))


def _override(control: Control, entry: Dict[str, Any], where: str, name: str, path: Path,
              line: Optional[int]) -> Control:
    """A control of the extended standard with this entry's changes: parameters merge, severity and skip replace."""
    if "check" in entry and entry["check"] != control.check.id:
        raise StandardError(
            f"{where}.check: control {control.id!r} of the extended standard runs {control.check.id}; an override "
            f"cannot change the check (give the control a new id to add it)"
        )
    params = control.params
    if "with" in entry:
        try:
            params = control.check.resolve_params({**control.params, **entry["with"]}, where=f"{where}.with")
        except CheckDefinitionError as exc:
            raise StandardError(str(exc)) from None
    return replace(control, params=params, severity=entry.get("severity", control.severity),
                   skip=entry.get("skip", control.skip), source=path, line=line,
                   overridden_in=control.overridden_in + (name,))


def _extended_path(value: str, path: Path) -> Path:
    """``extends:``: a shipped standard's name, or a file relative to the extending one."""
    looks_like_path = "/" in value or "\\" in value or value.endswith((".yaml", ".yml"))
    if not looks_like_path:
        shipped = library_standard(value)
        if shipped is not None:
            return shipped
    candidate = path.parent / value
    if candidate.is_file():
        return candidate
    names = shipped_standards()
    hint = did_you_mean(value, names)
    raise StandardError(
        f"{path}: extends: no shipped standard named {value!r} and no file {candidate.name} next to this one "
        f"(shipped: {', '.join(names)})" + (f"; {hint}" if hint else "")
    )


_ID_LINE = re.compile(r"""(?:^|[\s{,])id:\s*["']?([A-Za-z0-9][A-Za-z0-9_.:-]*)["']?""")


def _control_lines(path: Path) -> Dict[str, int]:
    """Control id -> the 0-based line where ``id: <it>`` first appears in the file (for report locations)."""
    out: Dict[str, int] = {}
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError):
        return out
    for number, line in enumerate(text.splitlines()):
        for match in _ID_LINE.finditer(line.split("#", 1)[0]):
            out.setdefault(match.group(1), number)
    return out


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
        return replace(finding, status=WAIVED, reason=finding.reason + waiver_note(w.expires, w.approved_by, w.reason))
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
