"""--iam-save-snapshot then --iam-snapshot: identical verdicts, and no AWS call at all offline."""

from __future__ import annotations

import json
from pathlib import Path

import botocore.client
import pytest

from support import junit_cases
from pytest_iam.inventory import Inventory, dumps, from_json, load_snapshot, save_snapshot


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
    offline.assert_outcomes(passed=1, failed=12)
    assert _verdicts(pytester.path / "offline.xml") == _verdicts(pytester.path / "live.xml")
