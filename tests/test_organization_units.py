"""The parts of organization targets that need no emulator: the accounts file's organization block, which accounts a
target takes, readable ids, shards, the grouping of items by account, and merging bundles that overlap."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path
from types import SimpleNamespace

import pytest

from pytest_iam.accounts import AccountsError, OrganizationSpec, load_accounts_file
from pytest_iam.bundle import finish_bundle
from pytest_iam.flow import group_by_account
from pytest_iam.inventory import ORG_MEMBER, OrgAccount, Organization, OrgUnit
from pytest_iam.merge import MergeError, merge_bundles
from pytest_iam.organization import parse_shard, readable_id, select_accounts, shard_of

ROOT = "r-ab12"
ORG = Organization(
    status=ORG_MEMBER, id="o-abc", management_account_id="111111111111", root_ids=(ROOT,),
    units=(OrgUnit("ou-work", "Workloads", ROOT), OrgUnit("ou-prod", "Prod", "ou-work"),
           OrgUnit("ou-sand", "Sandbox", ROOT)),
    accounts=(OrgAccount("111111111111", "management", "m@x", "ACTIVE", ROOT),
              OrgAccount("222222222222", "prod-a", "a@x", "ACTIVE", "ou-prod"),
              OrgAccount("333333333333", "work-b", "b@x", "ACTIVE", "ou-work"),
              OrgAccount("444444444444", "sandbox c", "c@x", "ACTIVE", "ou-sand"),
              OrgAccount("555555555555", "closed", "d@x", "SUSPENDED", "ou-prod")),
    scps=(),
)


def _ids(spec: OrganizationSpec) -> list:
    return [a.id for a in select_accounts(ORG, spec, "here")]


def test_a_target_takes_active_accounts_under_the_ous_at_any_depth_included_and_not_excluded() -> None:
    assert _ids(OrganizationSpec("R")) == ["111111111111", "222222222222", "333333333333", "444444444444"]
    assert _ids(OrganizationSpec("R", include_ous=("Workloads",))) == ["222222222222", "333333333333"]
    assert _ids(OrganizationSpec("R", include_ous=("ou-prod", "Sandbox"))) == ["222222222222", "444444444444"]
    assert _ids(OrganizationSpec("R", include_ous=(ROOT,), exclude=("management", "333333333333"))) == [
        "222222222222", "444444444444"]
    assert _ids(OrganizationSpec("R", include=("prod-a", "444444444444"))) == ["222222222222", "444444444444"]


def test_a_filter_that_names_nothing_is_a_one_line_error() -> None:
    with pytest.raises(AccountsError, match=r"^here: include_ous: no OU 'Prodd' in the organization \(OUs: "):
        select_accounts(ORG, OrganizationSpec("R", include_ous=("Prodd",)), "here")
    with pytest.raises(AccountsError, match=r"^here: include: no account 'nobody'"):
        select_accounts(ORG, OrganizationSpec("R", include=("nobody",)), "here")


def test_readable_ids_hold_the_entry_the_name_and_the_id() -> None:
    assert readable_id("acme", "prod-a", "222222222222") == "acme/prod-a-222222222222"
    assert readable_id("acme", "sandbox c/ü", "444444444444") == "acme/sandbox_c-444444444444"
    assert readable_id("acme", "", "444444444444") == "acme/account-444444444444"


def test_shards_partition_ids_stably_and_cover_every_account_once() -> None:
    ids = [f"{n:012d}" for n in range(100000000000, 100000000000 + 500 * 7919, 7919)]
    for count in (1, 2, 3, 8):
        placed = Counter(shard_of(i, count) for i in ids)
        assert set(placed) == set(range(1, count + 1)) and sum(placed.values()) == len(ids)
    assert shard_of("123456789012", 4) == shard_of("123456789012", 4) == 3  # the same on every machine
    assert parse_shard("2/4") == (2, 4) and parse_shard(" 1 / 1 ") == (1, 1)
    for bad in ("0/2", "3/2", "2", "a/b", ""):
        with pytest.raises(ValueError, match="--iam-shard"):
            parse_shard(bad)


def test_the_accounts_file_takes_an_organization_block(tmp_path: Path) -> None:
    path = tmp_path / "a.yaml"
    path.write_text("accounts:\n  acme:\n    profile: mgmt\n    organization:\n      member_role: Audit\n"
                    "      external_id: xyz-123\n      include_ous: [Prod]\n      exclude: ['222222222222']\n")
    spec = load_accounts_file(path)["acme"]
    assert spec.organization == OrganizationSpec("Audit", external_id="xyz-123", include_ous=("Prod",),
                                                 exclude=("222222222222",))
    path.write_text("accounts:\n  acme:\n    organization:\n      member_role: Audit\n      roles: [x]\n")
    with pytest.raises(AccountsError, match="roles"):
        load_accounts_file(path)
    path.write_text("accounts:\n  acme:\n    organization: {}\n")
    with pytest.raises(AccountsError, match="member_role"):
        load_accounts_file(path)
    path.write_text("accounts:\n  m: {}\n  acme:\n    organization_reader: m\n    organization: {member_role: A}\n")
    with pytest.raises(AccountsError):
        load_accounts_file(path)


def test_items_are_grouped_by_account_in_the_order_of_each_accounts_first_item() -> None:
    def item(name: str, account: str = None) -> SimpleNamespace:  # type: ignore[assignment]
        return SimpleNamespace(name=name, account=account)

    items = [item("x"), item("a1", "a"), item("b1", "b"), item("y"), item("a2", "a"), item("b2", "b"), item("z")]
    assert [i.name for i in group_by_account(items)] == ["x", "a1", "a2", "b1", "b2", "y", "z"]


def _bundle(folder: Path, accounts: list) -> Path:
    manifest = {"accounts": {a: {"account_id": "", "snapshot": None} for a in accounts},
                "controls": [{"account": a, "standard": "s", "control": "c", "check": "c", "outcome": "pass"}
                             for a in accounts], "standards_and_checks": {}, "findings": {}}
    finish_bundle(folder, manifest, [], report=False)
    return folder


def test_merge_refuses_bundles_that_share_an_account(tmp_path: Path) -> None:
    one = _bundle(tmp_path / "one", ["acme/a-1", "acme/b-2"])
    two = _bundle(tmp_path / "two", ["acme/b-2"])
    with pytest.raises(MergeError, match=r"account acme/b-2 is in both .*one and .*two"):
        merge_bundles(tmp_path / "out", [one, two])
    three = _bundle(tmp_path / "three", ["acme/c-3"])
    merge_bundles(tmp_path / "out", [one, three])
    manifest = json.loads((tmp_path / "out" / "manifest.json").read_text())
    assert [c["account"] for c in manifest["controls"]] == ["acme/a-1", "acme/b-2", "acme/c-3"]
    assert [m["bundle"] for m in manifest["merged_from"]] == ["one", "three"]
