"""Accounts as a user configures them: role chains through a real moto server on 127.0.0.1, organization readers."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from moto.server import ThreadedMotoServer

from pytest_iam.accounts import Account, AccountsError, load_accounts_file, resolve_spec, split_names
from pytest_iam.aws import emulator_client
from pytest_iam.collect import collect_inventory
from pytest_iam.inventory import ORG_MEMBER, ORG_NONE

MANAGEMENT = "123456789012"


@pytest.fixture()
def server(monkeypatch: pytest.MonkeyPatch):
    from pytest_iam import mock

    mock.stop_server()  # the emulator's state is process-wide: start clean
    srv = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    srv.start()
    host, port = srv.get_host_and_port()
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    yield f"http://{host}:{port}"
    srv.stop()
    mock._reset_emulator()


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "iam-accounts.yaml"
    path.write_text(text)
    return path


def test_role_chain_hub_to_audit_to_member(server: str, tmp_path: Path) -> None:
    org = emulator_client("organizations", server)
    org.create_organization(FeatureSet="ALL")
    member = org.create_account(Email="m@example.com", AccountName="member")["CreateAccountStatus"]["AccountId"]
    specs = load_accounts_file(_write(tmp_path, f"""
accounts:
  hub: {{endpoint_url: "{server}"}}
  audit:
    role_arn: arn:aws:iam::{MANAGEMENT}:role/Audit
    source_account: hub
    external_id: team-audit
    endpoint_url: "{server}"
  member:
    role_arn: arn:aws:iam::{member}:role/OrganizationAccountAccessRole
    source_account: audit
    session_name: pytest-iam-member
    endpoint_url: "{server}"
    organization_reader: audit
"""))
    registry: dict = {}
    accounts = {name: Account(spec, registry) for name, spec in specs.items()}
    registry.update(accounts)
    assert accounts["hub"].caller_arn.endswith(":user/moto")
    assert accounts["audit"].caller_arn == f"arn:aws:sts::{MANAGEMENT}:assumed-role/Audit/pytest-iam"
    assert accounts["member"].id == member
    assert accounts["member"].caller_arn == f"arn:aws:sts::{member}:assumed-role/OrganizationAccountAccessRole/pytest-iam-member"
    # the second hop's STS call went through the first hop's guarded factory, and was counted there
    assert accounts["hub"].factory.calls[("sts", "AssumeRole")] >= 1
    inventory = collect_inventory(accounts["member"])
    assert inventory.account_id == member
    assert inventory.organization.status == ORG_MEMBER  # read through the organization reader
    assert inventory.organization.scp_chain(member) is not None


def test_account_outside_any_organization_is_recorded_as_such(server: str, tmp_path: Path) -> None:
    specs = load_accounts_file(_write(tmp_path, f'accounts:\n  solo: {{endpoint_url: "{server}"}}\n'))
    assert collect_inventory(Account(specs["solo"])).organization.status == ORG_NONE


def test_builtin_names_and_sorted_ids() -> None:
    assert split_names(["prod,dev", " audit ", "dev"]) == ["audit", "dev", "prod"]
    assert resolve_spec("demo", {}).is_mock
    with pytest.raises(AccountsError, match="no scenario file"):
        resolve_spec("mock:/nonexistent/scenario.yaml", {})


entry = st.fixed_dictionaries({}, optional={
    "profile": st.one_of(st.text(max_size=5), st.integers()),
    "role_arn": st.sampled_from(["arn:aws:iam::111122223333:role/A", "arn:aws:iam::1:role/A", "role"]),
    "regions": st.one_of(st.lists(st.sampled_from(["us-east-1", "mars-1", ""]), max_size=2), st.text(max_size=3)),
    "duration_seconds": st.integers(0, 50000),
    "source_account": st.sampled_from(["a", "zz"]),
    "endpoint_url": st.sampled_from(["http://127.0.0.1:1", "ftp://x"]),
    "colour": st.just("blue"),
})


@settings(max_examples=150, deadline=None)
@given(st.dictionaries(st.sampled_from(["a", "b", "bad name"]), st.one_of(st.none(), entry), max_size=3))
def test_accounts_parser_accepts_or_names_the_place(tmp_path_factory, accounts) -> None:
    path = tmp_path_factory.mktemp("acc") / "iam-accounts.yaml"
    path.write_text(json.dumps({"accounts": accounts}))  # JSON is YAML
    try:
        specs = load_accounts_file(path)
    except AccountsError as exc:
        message = str(exc)
        assert message.startswith(str(path) + ":") and "\n" not in message
        return
    assert set(specs) == set(accounts)
