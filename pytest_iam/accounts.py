"""Accounts: the targets a run checks. An Account is a name, an id and a boto3 session.

Usage::

    specs = load_accounts_file("iam-accounts.yaml")        # {name: AccountSpec}
    account = Account(resolve_spec("prod", specs))
    account.id, account.alias, account.caller_arn         # resolved once, on first use
    account.factory.client("iam")                         # a guarded client (pytest_iam.aws)

An accounts file::

    accounts:
      prod:
        profile: prod-audit
      audit:
        role_arn: arn:aws:iam::111122223333:role/SecurityAudit
        external_id: team-audit
        source_profile: hub          # or source_account: another entry, for a chain of roles
        regions: [us-east-1, eu-west-1]
        organization_reader: mgmt    # the account whose session reads the organization (SCPs)
      local:
        endpoint_url: http://127.0.0.1:4566
      acme:                          # --iam-account=org:acme: every ACTIVE account of the organization
        profile: org-management      # the management account's (or a delegated administrator's) session
        organization:
          member_role: OrganizationAccountAccessRole   # assumed in each member account
          include_ous: [ou-ab12-workloads]             # optional: only accounts under these OUs (ids or names)
          exclude: [legacy-sandbox]                    # optional: account ids or names left out

Nothing given means boto3's default credential chain. ``demo`` and ``mock:PATH`` need no file.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import boto3

from . import files, mock
from .aws import ClientFactory, assume_role_session
from .schemas import validate

DEMO = "demo"
MOCK_PREFIX = "mock:"


class AccountUnavailable(Exception):
    """An account that could not be reached at all; the message is one line."""


class AccountsError(files.FileError):
    """An accounts file or account name that cannot be used (message: file, place, what is wrong)."""


@dataclass(frozen=True)
class OrganizationSpec:
    """An entry's ``organization:`` block: how ``--iam-account=org:NAME`` reaches each member account."""

    member_role: str
    external_id: Optional[str] = None
    session_name: str = "pytest-iam"
    include_ous: Tuple[str, ...] = ()
    include: Tuple[str, ...] = ()
    exclude: Tuple[str, ...] = ()


@dataclass(frozen=True)
class AccountSpec:
    name: str
    profile: Optional[str] = None
    role_arn: Optional[str] = None
    external_id: Optional[str] = None
    source_profile: Optional[str] = None
    source_account: Optional[str] = None
    session_name: str = "pytest-iam"
    duration_seconds: Optional[int] = None
    regions: Tuple[str, ...] = ()
    endpoint_url: Optional[str] = None
    organization_reader: Optional[str] = None
    max_attempts: int = 8
    scenario: Optional[str] = None  # a moto scenario file (mock:PATH and demo)
    source: str = "<built-in>"
    organization: Optional[OrganizationSpec] = None  # set: the entry can be expanded with org:NAME

    @property
    def is_mock(self) -> bool:
        return self.scenario is not None


def load_accounts_file(path: str | Path) -> Dict[str, AccountSpec]:
    path = Path(path)
    data = files.load_yaml(path, error=AccountsError)
    validate("accounts", data, str(path), error=AccountsError)
    settings = data.get("settings") or {}
    specs = {}
    for name, entry in (data.get("accounts") or {}).items():
        entry = dict(entry or {})
        if "regions" in entry:
            entry["regions"] = tuple(entry["regions"])
        entry.setdefault("max_attempts", settings.get("max_attempts", 8))
        if "organization" in entry:
            block = dict(entry["organization"])
            for key in ("include_ous", "include", "exclude"):
                if key in block:
                    block[key] = tuple(block[key])
            entry["organization"] = OrganizationSpec(**block)
        specs[name] = AccountSpec(name=name, source=str(path), **entry)
    for spec in specs.values():
        for ref_field in ("source_account", "organization_reader"):
            ref = getattr(spec, ref_field)
            if ref is None or ref in specs:
                continue
            where = f"{path}: {files.place(['accounts', spec.name, ref_field])}"
            if not _builtin(ref):
                raise AccountsError(f"{where}: no account named {ref!r} (known: {', '.join(sorted(specs))})")
            try:
                builtin_spec(ref)
            except AccountsError as exc:
                raise AccountsError(f"{where}: {exc}") from None
    for spec in specs.values():
        chain = [spec.name]
        while specs.get(chain[-1]) is not None and specs[chain[-1]].source_account in specs:
            chain.append(specs[chain[-1]].source_account)
            if chain[-1] in chain[:-1]:
                raise AccountsError(
                    f"{path}: {files.place(['accounts', chain[-2], 'source_account'])}: the chain of roles loops "
                    f"({' -> '.join(chain[chain.index(chain[-1]):])})"
                )
    return specs


def _builtin(name: str) -> bool:
    return name == DEMO or name.startswith(MOCK_PREFIX)


def builtin_spec(name: str) -> Optional[AccountSpec]:
    """``demo`` and ``mock:PATH`` as specs; a ``mock:PATH`` scenario is read and checked whole here, at startup, so a
    bad one is a one-line AccountsError before any emulator starts."""
    if name == DEMO:
        return AccountSpec(name=DEMO, scenario=str(mock.demo_scenario_path()))
    if name.startswith(MOCK_PREFIX):
        path = Path(name[len(MOCK_PREFIX):])
        if not path.is_file():
            raise AccountsError(f"{name}: no scenario file at {path}")
        try:
            mock.load_scenario(path)
        except mock.ScenarioError as exc:
            raise AccountsError(str(exc)) from None
        return AccountSpec(name=name, scenario=str(path), source=str(path))
    return None


def resolve_spec(name: str, specs: Dict[str, AccountSpec]) -> AccountSpec:
    if name in specs:
        return specs[name]
    spec = builtin_spec(name)
    if spec is None:
        known = sorted(set(specs) | {DEMO, "mock:PATH"})
        raise AccountsError(f"unknown account {name!r}; known accounts: {', '.join(known)}")
    return spec


def split_names(values: list) -> list:
    """``["prod,dev", "audit"]`` -> ``["audit", "dev", "prod"]`` (sorted, unique: xdist workers must agree)."""
    names = {part.strip() for value in values for part in value.split(",") if part.strip()}
    return sorted(names)


@dataclass
class Account:
    """A target account: the spec, its session and client factory, and facts resolved once."""

    spec: AccountSpec
    registry: Dict[str, "Account"] = field(default_factory=dict, repr=False)
    _factory: Optional[ClientFactory] = field(default=None, repr=False)
    _identity: Optional[dict] = field(default=None, repr=False)
    _alias: Any = field(default=..., repr=False)
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def name(self) -> str:
        return self.spec.name

    @property
    def factory(self) -> ClientFactory:
        with self._lock:
            if self._factory is None:
                self._factory = self._make_factory()
            return self._factory

    def _make_factory(self) -> ClientFactory:
        spec = self.spec
        region = spec.regions[0] if spec.regions else None
        if spec.is_mock:
            session, endpoint = mock.session_for(spec)
            return ClientFactory(session, endpoint_url=endpoint, max_attempts=spec.max_attempts, default_region=region)
        if spec.source_account:
            base = self.registry[spec.source_account].factory if spec.source_account in self.registry else Account(
                builtin_spec(spec.source_account), self.registry
            ).factory
        else:
            base_session = boto3.Session(profile_name=spec.source_profile or spec.profile, region_name=region)
            base = ClientFactory(base_session, endpoint_url=spec.endpoint_url, max_attempts=spec.max_attempts)
        if spec.role_arn:
            session = assume_role_session(
                base,
                spec.role_arn,
                session_name=spec.session_name,
                external_id=spec.external_id,
                duration_seconds=spec.duration_seconds,
                region=region,
            )
            return ClientFactory(
                session, endpoint_url=spec.endpoint_url, max_attempts=spec.max_attempts, default_region=region,
                counter=base.counter,
            )
        return base

    def _caller(self) -> dict:
        with self._lock:
            identity = self._identity
        if identity is None:
            identity = self.factory.client("sts").get_caller_identity()
            identity = {"Account": identity["Account"], "Arn": identity["Arn"]}
            with self._lock:
                self._identity = identity
        return identity

    @property
    def id(self) -> str:
        return self._caller()["Account"]

    @property
    def caller_arn(self) -> str:
        return self._caller()["Arn"]

    @property
    def partition(self) -> str:
        return self.caller_arn.split(":")[1]

    @property
    def alias(self) -> Optional[str]:
        if self._alias is ...:
            aliases = self.factory.client("iam").list_account_aliases().get("AccountAliases", [])
            self._alias = aliases[0] if aliases else None
        return self._alias

    @property
    def regions(self) -> Tuple[str, ...]:
        return self.spec.regions or (self.factory.default_region,)

    @property
    def organization_reader(self) -> Optional["Account"]:
        ref = self.spec.organization_reader
        if ref is None:
            return None
        if ref not in self.registry:
            self.registry[ref] = Account(resolve_spec(ref, {}), self.registry)
        return self.registry[ref]
