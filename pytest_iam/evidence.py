"""Evidence: what an auditor keeps. Findings become JUnit properties; nothing secret ever gets in.

Usage::

    item.user_properties.extend(control_properties(control, standard, "prod", result=result, inventory=inventory))
    # -> check, account, account_id, severity, frameworks, outcome, evaluated, failed, failed_resources, ...

Properties are plain strings. ``outcome`` is pass, fail or error (could not be evaluated). ``failed_resources`` and
``error_resources`` are JSON lists of at most 100 ARNs; their ``*_count`` says how many there are in all.
``waived_resources`` (when something was waived) is a JSON list of every waived resource with its waiver:
``[{"resource", "label", "reason", "approved_by", "expires", "ticket"}, ...]``.
"""

from __future__ import annotations

import json
from typing import Any, List, Optional, Tuple

from .checks import CheckResult
from .inventory import Inventory
from .secrets import redact

__all__ = ["account_properties", "control_properties", "redact", "skipped_properties", "suite_properties"]

MAX_LISTED_RESOURCES = 100


def compact_json(value: Any) -> str:
    """A property's JSON value: keys sorted, no spaces."""
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def control_properties(control: Any, standard: Any, account: str, *, result: Optional[CheckResult] = None,
                       inventory: Optional[Inventory] = None, outcome: str = "", reason: str = "",
                       account_id: str = "") -> List[Tuple[str, str]]:
    """A control's testcase properties. Without a result (the account could not be reached) the same names are
    there, with ``evaluated`` 0, ``outcome`` error and the ``reason``."""
    check = control.check
    props = [
        ("check", check.id),
        ("control", control.id),
        ("standard", standard.name),
        ("account", account),
        ("account_id", result.account_id if result is not None else account_id),
        ("severity", control.severity),
        ("frameworks", compact_json({k: list(v) for k, v in check.frameworks.items()})),
        ("parameters", compact_json(dict(result.params if result is not None else control.params))),
        ("outcome", outcome or (result.outcome if result is not None else "error")),
    ]
    if getattr(control, "overridden_in", ()):  # an extending standard changed it: parameters, severity or skip
        props.append(("overridden_in", ", ".join(control.overridden_in)))
    if result is None:
        props += [("evaluated", "0"), ("failed", "0"), ("errors", "0"), ("waived", "0"), ("reason", reason)]
        return [(key, redact(value)) for key, value in props]
    failed = sorted({f.resource for f in result.failed})
    errors = sorted({f.resource for f in result.errors})
    props += [
        ("evaluated", str(result.evaluated)),
        ("failed", str(len(result.failed))),
        ("errors", str(len(result.errors))),
        ("waived", str(len(result.waived))),
        ("failed_resources", compact_json(failed[:MAX_LISTED_RESOURCES])),
        ("failed_resources_count", str(len(failed))),
    ]
    waived = waived_resources(result, standard, control)
    if waived:
        props.append(("waived_resources", compact_json(waived)))
    if errors:
        props += [("error_resources", compact_json(errors[:MAX_LISTED_RESOURCES])), ("error_resources_count", str(len(errors)))]
    if result.nothing_to_evaluate:
        props.append(("nothing_to_evaluate", result.nothing_to_evaluate))
    if inventory is not None:
        props.append(("snapshot_sha256", inventory.sha256()))
    return [(key, redact(value)) for key, value in props]


def skipped_properties(control: Any, standard: Any, account: str) -> List[Tuple[str, str]]:
    """A control the standard skips on purpose: the usual names, ``outcome`` skipped, ``skip_reason`` (and ``reason``)
    the standard's words, and ``overridden_in`` when an extending standard set the skip."""
    props = control_properties(control, standard, account, outcome="skipped", reason=control.skip)
    props = [(k, v) for k, v in props if k not in ("evaluated", "failed", "errors", "waived")]
    props.append(("skip_reason", redact(control.skip)))
    return props


def waived_resources(result: CheckResult, standard: Any, control: Any) -> List[dict]:
    """Every waived finding with the waiver that waived it: resource, label, and the waiver's reason, approver,
    expiry and ticket."""
    from .standards import covering_waiver

    out = []
    for finding in result.waived:
        waiver = covering_waiver(getattr(standard, "waivers", ()), control, result.account, finding.resource)
        record = waiver.record() if waiver is not None else {"reason": "", "approved_by": "", "expires": "", "ticket": None}
        out.append({"resource": finding.resource, "label": finding.label, **record})
    return sorted(out, key=lambda r: (r["resource"], r["label"]))


def account_properties(inventory: Inventory) -> List[Tuple[str, str]]:
    """What ties a Python test that used ``iam`` to the facts it judged."""
    return [("account", inventory.account_name), ("account_id", inventory.account_id),
            ("snapshot_sha256", inventory.sha256())]


def suite_properties(inventory: Inventory) -> List[Tuple[str, str]]:
    """Per-account facts for the test suite: who looked, when, at what."""
    collected = inventory.collected_at.isoformat() if inventory.collected_at else ""
    props = [
        ("account", f"{inventory.account_name}"),
        ("account_id", inventory.account_id),
        ("caller_arn", inventory.caller_arn or ""),
        ("collected_at", collected),
        ("snapshot_sha256", inventory.sha256()),
    ]
    if inventory.credential_report_generated_at:
        props.append(("credential_report_generated_at", inventory.credential_report_generated_at.isoformat()))
    for error in inventory.errors:
        props.append(("collection_error", redact(str(error))))
    return [(key, redact(value)) for key, value in props]
