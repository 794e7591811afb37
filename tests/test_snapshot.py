"""--iam-save-snapshot then --iam-snapshot: identical verdicts, and no AWS call at all offline."""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import types
import typing
from pathlib import Path
from typing import Any, Dict, Tuple

import botocore.client
import pytest

from support import junit_cases
from pytest_iam import inventory as inventory_module
from pytest_iam.inventory import (
    SCHEMA_VERSION,
    Inventory,
    SnapshotError,
    Unread,
    dumps,
    from_json,
    load_snapshot,
    save_snapshot,
    snapshot_bytes,
)
from pytest_iam.schemas import load as load_schema


def _verdicts(path: Path) -> dict:
    out = {}
    for name, case in junit_cases(path).items():
        props = dict(case["props"])
        out[name] = (case["outcome"], props["failed_resources"], props["evaluated"], props["snapshot_sha256"])
    return out


def test_snapshot_round_trip_is_exact(demo_inventory: Inventory, tmp_path: Path) -> None:
    path = save_snapshot(demo_inventory, tmp_path)
    loaded = load_snapshot(path)
    assert loaded == demo_inventory
    assert dumps(loaded) == dumps(demo_inventory)
    assert loaded.sha256() == demo_inventory.sha256()


def test_snapshot_sha256_is_the_hash_of_the_files_bytes(demo_inventory: Inventory, tmp_path: Path) -> None:
    """``sha256sum <snapshot>`` gives the snapshot_sha256 of the evidence, for the live and the reloaded inventory."""
    path = save_snapshot(demo_inventory, tmp_path)
    assert path.read_bytes() == snapshot_bytes(demo_inventory)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == demo_inventory.sha256()
    loaded = load_snapshot(path)
    assert hashlib.sha256(path.read_bytes()).hexdigest() == loaded.sha256()
    again = save_snapshot(loaded, tmp_path / "again")
    assert again.read_bytes() == path.read_bytes()


def test_unread_records_survive_the_round_trip(demo_inventory: Inventory, tmp_path: Path) -> None:
    gap = Unread(source="credential_report", operation="iam:GetCredentialReport", code="AccessDenied",
                 permission="iam:GetCredentialReport", advice="grant iam:GetCredentialReport")
    refused = dataclasses.replace(demo_inventory, unread=(gap,), users=None)
    loaded = load_snapshot(save_snapshot(refused, tmp_path))
    assert loaded == refused and loaded.gap("credential_report") == gap and loaded.users is None
    assert str(loaded.unread[0]) == "iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport"


def test_snapshot_holds_no_secret(demo_inventory: Inventory) -> None:
    text = dumps(demo_inventory)
    for word in ("SecretAccessKey", "secret_access_key", "Base32StringSeed", "QRCodePNG", "SessionToken", "Password\""):
        assert word not in text
    assert "Not-a-real-password" not in text  # the seeded login password never reaches the inventory


def test_snapshot_with_a_newer_schema_is_refused(demo_inventory: Inventory, tmp_path: Path) -> None:
    data = json.loads(dumps(demo_inventory))
    data["schema_version"] = 99
    with pytest.raises(Exception, match="schema_version"):
        from_json(data, "future.json")


def test_snapshot_of_the_previous_schema_version_is_refused_with_a_one_line_fix(
    demo_inventory: Inventory, tmp_path: Path
) -> None:
    data = json.loads(dumps(demo_inventory))
    data["schema_version"] = SCHEMA_VERSION - 1
    path = tmp_path / "old.json"
    path.write_text(json.dumps(data))
    with pytest.raises(SnapshotError, match=rf"old.json: schema_version {SCHEMA_VERSION - 1} is not supported") as exc:
        load_snapshot(path)
    assert "\n" not in str(exc.value)


# --- the schema follows the dataclasses ------------------------------------------------------------------------------


def _type_schema(tp: Any, defs: Dict[str, Any]) -> Dict[str, Any]:
    if tp is Any:
        return {}
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        (inner,) = [a for a in typing.get_args(tp) if a is not type(None)]
        schema = _type_schema(inner, defs)
        return {"anyOf": [schema, {"type": "null"}]} if schema else {}
    if origin in (tuple, Tuple):
        return {"type": "array", "items": _type_schema(typing.get_args(tp)[0], defs)}
    if tp is dt.datetime:
        return {"type": "string", "format": "date-time"}
    simple = {str: "string", bool: "boolean", int: "integer"}
    if tp in simple:
        return {"type": simple[tp]}
    assert dataclasses.is_dataclass(tp), tp
    if tp.__name__ not in defs:
        defs[tp.__name__] = {}
        defs[tp.__name__] = _object_schema(tp, defs)
    return {"$ref": f"#/$defs/{tp.__name__}"}


def _object_schema(cls: Any, defs: Dict[str, Any]) -> Dict[str, Any]:
    hints = typing.get_type_hints(cls)
    fields = dataclasses.fields(cls)
    return {
        "type": "object",
        "additionalProperties": False,
        "properties": {f.name: _type_schema(hints[f.name], defs) for f in fields},
        "required": [f.name for f in fields
                     if f.default is dataclasses.MISSING and f.default_factory is dataclasses.MISSING],
    }


def derived_snapshot_schema() -> Dict[str, Any]:
    """The snapshot schema as the inventory's dataclasses define it."""
    defs: Dict[str, Any] = {}
    top = _object_schema(inventory_module.Inventory, defs)
    top["properties"]["schema_version"] = {"const": SCHEMA_VERSION}
    top["properties"]["account_id"]["pattern"] = "^[0-9]{12}$"
    top["required"] = ["account_id", "account_name", "collected_at", "schema_version"]
    return {"$schema": "https://json-schema.org/draft/2020-12/schema",
            "title": f"pytest-iam inventory snapshot (schema_version {SCHEMA_VERSION})", **top, "$defs": defs}


def test_the_snapshot_schema_matches_the_inventory_dataclasses() -> None:
    """A field added to the inventory without a schema change (or a version bump) fails here."""
    assert load_schema("snapshot") == derived_snapshot_schema()


def test_save_then_offline_run_gives_identical_verdicts(pytester: pytest.Pytester, monkeypatch) -> None:
    live = pytester.runpytest_inprocess("--iam-account=demo", "--iam-standard=cis-aws-foundations",
                                        "--iam-save-snapshot=snap", "--junitxml=live.xml")
    snapshots = list((pytester.path / "snap").glob("*.json"))
    assert [p.name for p in snapshots] == ["demo-123456789012.json"]

    def no_aws(*args, **kwargs):  # any botocore API call offline would be a bug
        raise AssertionError("an AWS API call was made in an offline run")

    monkeypatch.setattr(botocore.client.BaseClient, "_make_api_call", no_aws)
    offline = pytester.runpytest_inprocess("--iam-snapshot=snap", "--iam-standard=cis-aws-foundations",
                                           "--junitxml=offline.xml")
    assert offline.ret == live.ret
    offline.assert_outcomes(passed=3, failed=20, errors=1)
    assert _verdicts(pytester.path / "offline.xml") == _verdicts(pytester.path / "live.xml")
