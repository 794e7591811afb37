"""Findings as OCSF Compliance Findings (class 2003), one JSON object a line, and read back.

Usage::

    write_findings(path, records)          # records: the finding records of a run (see ``RECORD_KEYS``)
    records = read_findings(path)          # the same records again: the exact inverse of ``to_event``

A finding record is a plain dict::

    {"account", "account_id", "standard", "control", "check", "title", "severity", "frameworks",
     "status": "pass"|"fail"|"waived"|"error", "resource", "label", "reason",
     "waiver": None | {"reason", "approved_by", "expires", "ticket"}, "remediation", "time"}

The mapping (OCSF 1.5.0, with the ``cloud`` profile): the control is ``compliance.control``, the check
``compliance.checks[0]`` (uid, name, severity), the standard ``compliance.standards``, the framework references
``compliance.requirements`` (``"<framework> <id>"``), the resource ``resources[0]`` (uid = ARN, name = label), the
account ``cloud.account``, the verdict ``compliance.status_id`` (Pass 1, Fail 3, Other 99 for "could not be
evaluated"), a waiver ``status_id`` 3 (Suppressed) with the waiver in ``comment``, the reason ``message`` and
``compliance.status_details``, the check's remediation ``remediation.desc``, the time of the facts judged ``time``
(epoch milliseconds). What OCSF has no attribute for (the account's name in this run, the frameworks as a mapping,
the waiver's fields, our own status word) is kept in ``unmapped.pytest_iam``, OCSF's place for source data, so that
``read_findings`` gives back exactly what was written.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from pathlib import Path
from typing import Any, Dict, Iterable, List, Mapping, Optional

from . import __version__
from .findings import STATUSES

OCSF_VERSION = "1.5.0"
CLASS_UID = 2003  # Compliance Finding
CATEGORY_UID = 2  # Findings
ACTIVITY_CREATE = 1
TYPE_UID = CLASS_UID * 100 + ACTIVITY_CREATE
PRODUCT = {"name": "pytest-iam", "vendor_name": "pytest-iam", "version": __version__}

RECORD_KEYS = ("account", "account_id", "standard", "control", "check", "title", "severity", "frameworks", "status",
               "resource", "label", "reason", "waiver", "remediation", "time")
WAIVER_KEYS = ("reason", "approved_by", "expires", "ticket")

SEVERITY_IDS = {"info": 1, "low": 2, "medium": 3, "high": 4, "critical": 5}
SEVERITY_NAMES = {1: "Informational", 2: "Low", 3: "Medium", 4: "High", 5: "Critical"}
SEVERITY_WORDS = {v: k for k, v in SEVERITY_IDS.items()}  # severity_id -> our word
# our status -> (compliance.status_id, compliance.status, finding status_id, finding status)
STATUS_MAP = {
    "pass": (1, "Pass", 1, "New"),
    "fail": (3, "Fail", 1, "New"),
    "waived": (3, "Fail", 3, "Suppressed"),
    "error": (99, "Could not be evaluated", 1, "New"),
}


class OcsfError(Exception):
    """A findings file that cannot be read back (message: file, line, what is wrong)."""


def _millis(iso: str) -> int:
    when = dt.datetime.fromisoformat(iso)
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return int(round(when.timestamp() * 1000))


def iso_millis(when: dt.datetime) -> str:
    """A time as the records hold it: ISO-8601 UTC with milliseconds (what survives OCSF's epoch milliseconds)."""
    if when.tzinfo is None:
        when = when.replace(tzinfo=dt.timezone.utc)
    return when.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds")


def _from_millis(value: int) -> str:
    return iso_millis(dt.datetime.fromtimestamp(value / 1000, tz=dt.timezone.utc))


def finding_uid(record: Mapping[str, Any]) -> str:
    """A stable id of the finding: the same account, standard, control and resource give the same id in every run."""
    key = "\n".join(str(record.get(k) or "") for k in ("account_id", "account", "standard", "control", "resource"))
    return hashlib.sha256(key.encode("utf-8")).hexdigest()[:32]


def _partition(arn: str) -> Optional[str]:
    parts = arn.split(":")
    return parts[1] if len(parts) > 2 and parts[0] == "arn" and parts[1] else None


def to_event(record: Mapping[str, Any]) -> Dict[str, Any]:
    """One finding record -> one OCSF Compliance Finding (no null values: OCSF leaves absent attributes out)."""
    status = record["status"]
    if status not in STATUS_MAP:
        raise ValueError(f"finding status {status!r} is not one of {', '.join(STATUSES)}")
    compliance_id, compliance_word, status_id, status_word = STATUS_MAP[status]
    severity_id = SEVERITY_IDS.get(record.get("severity") or "", 0)
    frameworks = {str(k): [str(i) for i in v] for k, v in (record.get("frameworks") or {}).items()}
    reason = record.get("reason") or ""
    waiver = record.get("waiver")
    uid = finding_uid(record)
    millis = _millis(record["time"])
    account: Dict[str, Any] = {"name": record["account"], "type": "AWS Account", "type_id": 10}
    if record.get("account_id"):
        account["uid"] = record["account_id"]
    resource: Dict[str, Any] = {"uid": record["resource"], "name": record.get("label") or record["resource"]}
    partition = _partition(record["resource"])
    if partition:
        resource["cloud_partition"] = partition
    check: Dict[str, Any] = {"uid": record["check"], "name": record.get("title") or record["check"],
                             "status": compliance_word, "status_id": compliance_id}
    if severity_id:
        check["severity_id"] = severity_id
        check["severity"] = SEVERITY_NAMES[severity_id]
    if frameworks:
        check["standards"] = sorted(frameworks)
    compliance: Dict[str, Any] = {
        "control": record["control"],
        "standards": [record["standard"]],
        "checks": [check],
        "status_id": compliance_id,
        "status": compliance_word,
    }
    requirements = [f"{name} {ident}" for name in sorted(frameworks) for ident in frameworks[name]]
    if requirements:
        compliance["requirements"] = requirements
    if reason:
        compliance["status_details"] = [reason]
    event: Dict[str, Any] = {
        "class_uid": CLASS_UID,
        "class_name": "Compliance Finding",
        "category_uid": CATEGORY_UID,
        "category_name": "Findings",
        "activity_id": ACTIVITY_CREATE,
        "activity_name": "Create",
        "type_uid": TYPE_UID,
        "type_name": "Compliance Finding: Create",
        "time": millis,
        "severity_id": severity_id,
        "severity": SEVERITY_NAMES.get(severity_id, "Unknown"),
        "status_id": status_id,
        "status": status_word,
        "metadata": {"version": OCSF_VERSION, "product": dict(PRODUCT), "profiles": ["cloud"],
                     "uid": uid},
        "cloud": {"provider": "AWS", "account": account},
        "finding_info": {"uid": uid, "title": record.get("title") or record["check"],
                         "created_time": millis, "types": ["pytest-iam/" + record["check"]]},
        "compliance": compliance,
        "resources": [resource],
        "unmapped": {"pytest_iam": {"account": record["account"], "frameworks": frameworks, "status": status,
                                    "label": record.get("label") or "", "reason": reason,
                                    "waiver": dict(waiver) if waiver else None,
                                    "time": record["time"]}},
    }
    if partition:
        event["cloud"]["cloud_partition"] = partition
    if reason:
        event["message"] = reason
    if record.get("remediation"):
        event["remediation"] = {"desc": record["remediation"]}
    if waiver:
        ticket = f", ticket {waiver['ticket']}" if waiver.get("ticket") else ""
        event["comment"] = (f"waived until {waiver['expires']}, approved by {waiver['approved_by']}{ticket}: "
                            f"{waiver['reason']}")
    return event


def from_event(event: Mapping[str, Any]) -> Dict[str, Any]:
    """One OCSF Compliance Finding written by ``to_event`` -> its finding record."""
    if event.get("class_uid") != CLASS_UID:
        raise ValueError(f"class_uid {event.get('class_uid')!r} is not {CLASS_UID} (Compliance Finding)")
    ours = (event.get("unmapped") or {}).get("pytest_iam") or {}
    compliance = event["compliance"]
    check = (compliance.get("checks") or [{}])[0]
    resource = (event.get("resources") or [{}])[0]
    account = (event.get("cloud") or {}).get("account") or {}
    status = ours.get("status") or _status_from_ids(compliance.get("status_id"), event.get("status_id"))
    waiver = ours.get("waiver")
    severity_word = SEVERITY_WORDS.get(event.get("severity_id"), "")
    return {
        "account": ours.get("account", account.get("name", "")),
        "account_id": account.get("uid", ""),
        "standard": (compliance.get("standards") or [""])[0],
        "control": compliance.get("control", ""),
        "check": check.get("uid", ""),
        "title": (event.get("finding_info") or {}).get("title", ""),
        "severity": severity_word,
        "frameworks": {k: list(v) for k, v in (ours.get("frameworks") or {}).items()},
        "status": status,
        "resource": resource.get("uid", ""),
        "label": ours.get("label", resource.get("name", "")),
        "reason": ours.get("reason", event.get("message", "")),
        "waiver": {k: waiver.get(k) for k in WAIVER_KEYS} if waiver else None,
        "remediation": (event.get("remediation") or {}).get("desc", ""),
        "time": ours.get("time") or _from_millis(event["time"]),
    }


def _status_from_ids(compliance_id: Any, status_id: Any) -> str:
    if status_id == 3:
        return "waived"
    return {1: "pass", 3: "fail"}.get(compliance_id, "error")


def event_line(record: Mapping[str, Any]) -> str:
    return json.dumps(to_event(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False) + "\n"


def write_findings(path: Path, records: Iterable[Mapping[str, Any]]) -> int:
    """Write one OCSF event a line; returns the number of lines."""
    lines = [event_line(r) for r in records]
    Path(path).write_text("".join(lines), encoding="utf-8")
    return len(lines)


def read_events(path: Path) -> List[Dict[str, Any]]:
    """The OCSF events of a findings file, one per non-empty line."""
    events = []
    try:
        text = Path(path).read_text(encoding="utf-8")
    except FileNotFoundError:
        raise OcsfError(f"{path}: no such findings file") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise OcsfError(f"{path}: cannot be read ({exc})") from None
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            event = json.loads(line)
        except ValueError as exc:
            raise OcsfError(f"{path}:{number}: not JSON: {exc}") from None
        if not isinstance(event, dict):
            raise OcsfError(f"{path}:{number}: not a JSON object")
        events.append(event)
    return events


def read_findings(path: Path) -> List[Dict[str, Any]]:
    """The finding records of a ``findings.ocsf.jsonl`` file, in file order (the inverse of ``write_findings``)."""
    out = []
    for number, event in enumerate(read_events(path), 1):
        try:
            out.append(from_event(event))
        except (KeyError, ValueError, TypeError, AttributeError, IndexError) as exc:
            raise OcsfError(f"{path}: finding {number}: not a pytest-iam compliance finding ({exc})") from None
    return out
