"""Evidence: what an auditor keeps. Findings become JUnit properties; nothing secret ever gets in.

Usage::

    item.user_properties.extend(control_properties(result, control, standard, inventory))
    # -> check, account, account_id, severity, frameworks, evaluated, failed, failed_resources, snapshot_sha256, ...

Properties are plain strings. ``failed_resources`` is a JSON list of at most 100 ARNs; ``failed_resources_count``
says how many there are in all.
"""

from __future__ import annotations

import json
from typing import Any, List, Tuple

from .checks import CheckResult
from .inventory import Inventory
from .secrets import redact

__all__ = ["control_properties", "redact", "suite_properties"]

MAX_LISTED_RESOURCES = 100


def _json(value: Any) -> str:
    return json.dumps(value, sort_keys=True, separators=(",", ":"))


def control_properties(result: CheckResult, control: Any, standard: Any, inventory: Inventory) -> List[Tuple[str, str]]:
    check = result.check
    failed_arns = result.failed_resources()
    props = [
        ("check", check.id),
        ("control", control.id),
        ("standard", standard.name),
        ("account", result.account),
        ("account_id", result.account_id),
        ("severity", control.severity),
        ("frameworks", _json({k: list(v) for k, v in check.frameworks.items()})),
        ("parameters", _json(dict(result.params))),
        ("evaluated", str(result.evaluated)),
        ("failed", str(len(result.failed))),
        ("errors", str(len(result.errors))),
        ("waived", str(len(result.waived))),
        ("failed_resources", _json(failed_arns[:MAX_LISTED_RESOURCES])),
        ("failed_resources_count", str(len(failed_arns))),
        ("snapshot_sha256", inventory.sha256()),
    ]
    return [(key, redact(value)) for key, value in props]


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
