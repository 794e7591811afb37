"""Organization targets: ``--iam-account=org:NAME`` is every ACTIVE account of an AWS Organization.

Usage::

    target = OrganizationTarget.read(spec, hub)          # reads the organization once, through the entry's session
    [m.name for m in target.members]                     # ["acme/audit-210987654321", "acme/prod-123456789012", ...]
    account = target.account(target.members[0])          # a MemberAccount: the member role assumed in that account
    data = target.handover()                             # JSON-able: what an xdist worker needs, with no AWS call
    same = OrganizationTarget.from_handover(spec, hub, data)

The accounts-file entry named NAME is the management account's (or a delegated administrator's) session; its
``organization:`` block names the role assumed in each member account (``member_role``, optional ``external_id`` and
``session_name``) and which accounts to take (``include_ous`` at any depth, ``include``, ``exclude``: ids or names).
The account the entry's own session is in (the management account, usually) is reached with that session; every
other account by assuming ``arn:<partition>:iam::<id>:role/<member_role>`` from it.

The organization (OUs, accounts, SCPs with their targets) is read once per run, in the process that expands the
target (the xdist controller, or the only process); it becomes every member's organization facts, so SCP checks on
member accounts get verdicts. Workers receive it through ``workerinput``.

Member ids read ``<NAME>/<account name>-<account id>``: readable, unique, and sorted the same everywhere.
"""

from __future__ import annotations

import hashlib
import re
import threading
from dataclasses import dataclass, field
from typing import Any, Dict, List, Optional, Sequence, Tuple

import boto3

from .accounts import Account, AccountsError, AccountSpec, OrganizationSpec
from .aws import CallCounter, ClientFactory, assume_role_session, shared_loader_session
from .inventory import ORG_MEMBER, Organization, _from_jsonable, to_jsonable

ORG_PREFIX = "org:"
ACTIVE = "ACTIVE"
_UNSAFE = re.compile(r"[^A-Za-z0-9_.-]+")


def is_org_name(name: str) -> bool:
    return name.startswith(ORG_PREFIX)


def readable_id(entry: str, account_name: str, account_id: str) -> str:
    """``acme/prod-123456789012``: the entry, the account's name (characters outside ``[A-Za-z0-9_.-]`` as ``_``) and
    its id."""
    safe = _UNSAFE.sub("_", account_name).strip("_") or "account"
    return f"{entry}/{safe}-{account_id}"


# --- shards ----------------------------------------------------------------------------------------------------------


def parse_shard(text: str) -> Tuple[int, int]:
    """``"2/4"`` -> ``(2, 4)``; ValueError with a one-line reason otherwise."""
    match = re.fullmatch(r"\s*(\d+)\s*/\s*(\d+)\s*", text or "")
    if not match:
        raise ValueError(f"--iam-shard {text!r}: expected K/N, e.g. 1/4")
    k, n = int(match.group(1)), int(match.group(2))
    if not 1 <= k <= n:
        raise ValueError(f"--iam-shard {text!r}: K must be between 1 and N")
    return k, n


def shard_of(key: str, count: int) -> int:
    """The shard (1..count) that ``key`` (an account id, or the name of an account outside an organization) belongs
    to: the SHA-256 of the key modulo ``count``. Stable across runs, machines and Python versions."""
    return int(hashlib.sha256(key.encode("utf-8")).hexdigest(), 16) % count + 1


# --- members ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Member:
    """One account of an organization target."""

    name: str  # the readable id: acme/prod-123456789012
    account_id: str
    account_name: str
    own_session: bool  # reached with the entry's own session (its own account), not by assuming the member role


def select_accounts(organization: Organization, spec: OrganizationSpec, where: str) -> List[Any]:
    """The organization's ACTIVE accounts that ``spec`` takes, sorted by id. An ``include_ous`` or ``include`` entry
    that names nothing is an AccountsError (a typo would silently check fewer accounts)."""
    units = {u.id: u for u in organization.units}
    accounts = [a for a in organization.accounts if a.status == ACTIVE]
    if spec.include_ous:
        wanted = set()
        for given in spec.include_ous:
            found = {u.id for u in units.values() if given in (u.id, u.name)} | (
                {given} if given in organization.root_ids else set())
            if not found:
                known = ", ".join(sorted(f"{u.name} ({u.id})" for u in units.values())) or "none"
                raise AccountsError(f"{where}: include_ous: no OU {given!r} in the organization (OUs: {known})")
            wanted |= found
        accounts = [a for a in accounts if wanted & set(organization.parent_chain(a.id) or ())]
    if spec.include:
        every = {a.id for a in organization.accounts} | {a.name for a in organization.accounts}
        missing = [given for given in spec.include if given not in every]
        if missing:
            raise AccountsError(f"{where}: include: no account {missing[0]!r} (id or name) in the organization")
        accounts = [a for a in accounts if a.id in spec.include or a.name in spec.include]
    if spec.exclude:
        accounts = [a for a in accounts if a.id not in spec.exclude and a.name not in spec.exclude]
    return sorted(accounts, key=lambda a: a.id)


class OrganizationTarget:
    """An accounts-file entry with an ``organization:`` block, expanded: the organization and its member accounts."""

    def __init__(self, spec: AccountSpec, hub: Account, organization: Organization, own_account_id: str,
                 partition: str = "aws") -> None:
        assert spec.organization is not None
        self.spec = spec
        self.hub = hub
        self.organization = organization
        self.own_account_id = own_account_id
        self.partition = partition
        where = f"{spec.source}: accounts.{spec.name}.organization"
        self.members: List[Member] = sorted(
            (Member(readable_id(spec.name, a.name, a.id), a.id, a.name, a.id == own_account_id)
             for a in select_accounts(organization, spec.organization, where)),
            key=lambda m: m.name,
        )
        self._lock = threading.Lock()
        self._credentials: Any = None

    @property
    def name(self) -> str:
        return ORG_PREFIX + self.spec.name

    @classmethod
    def read(cls, spec: AccountSpec, hub: Account) -> "OrganizationTarget":
        """Read the organization through the entry's session (once); AccountsError with one line if it cannot be."""
        from botocore.exceptions import BotoCoreError, ClientError

        from .collect.errors import ErrorLog
        from .collect.organizations import read_organization

        try:
            own, partition = hub.id, hub.partition
            organization = read_organization(hub.factory, ErrorLog(), own_session=True)
        except (BotoCoreError, ClientError, OSError) as exc:
            first = (str(exc).splitlines() or [""])[0]
            raise AccountsError(f"{ORG_PREFIX}{spec.name}: cannot reach the organization's account: "
                                f"{type(exc).__name__}: {first}") from None
        if organization.status != ORG_MEMBER:
            raise AccountsError(f"{ORG_PREFIX}{spec.name}: cannot read the organization: "
                                f"{organization.reason or organization.status}")
        return cls(spec, hub, organization, own, partition)

    def handover(self) -> Dict[str, Any]:
        """What an xdist worker needs to rebuild this target without an AWS call."""
        return {"organization": to_jsonable(self.organization), "own_account_id": self.own_account_id,
                "partition": self.partition}

    @classmethod
    def from_handover(cls, spec: AccountSpec, hub: Account, data: Dict[str, Any]) -> "OrganizationTarget":
        organization = _from_jsonable(Organization, data["organization"])
        return cls(spec, hub, organization, data["own_account_id"], data.get("partition") or "aws")

    # sessions -----------------------------------------------------------------------------------------------------
    def hub_credentials(self) -> Any:
        with self._lock:
            if self._credentials is None:
                self._credentials = self.hub.factory.session.get_credentials()
            return self._credentials

    def account(self, member: Member) -> "MemberAccount":
        organization = self.spec.organization
        assert organization is not None
        spec = AccountSpec(
            name=member.name,
            role_arn=None if member.own_session else
            f"arn:{self.partition}:iam::{member.account_id}:role/{organization.member_role}",
            external_id=organization.external_id,
            session_name=organization.session_name,
            regions=self.spec.regions,
            endpoint_url=self.spec.endpoint_url,
            max_attempts=self.spec.max_attempts,
            source=self.spec.source,
        )
        return MemberAccount(spec, target=self, member=member)


@dataclass
class MemberAccount(Account):
    """An account of an organization target: its own call counter, the organization read once as its facts."""

    target: Optional[OrganizationTarget] = field(default=None, repr=False)
    member: Optional[Member] = field(default=None, repr=False)

    @property
    def shared_organization(self) -> Optional[Organization]:
        return self.target.organization if self.target is not None else None

    @property
    def expected_id(self) -> str:
        return self.member.account_id if self.member is not None else ""

    def _make_factory(self) -> ClientFactory:
        assert self.target is not None
        spec = self.spec
        hub = self.target.hub.factory
        region = spec.regions[0] if spec.regions else hub.default_region
        counter = CallCounter()  # this account's calls alone, AssumeRole included
        base_session = shared_loader_session()
        base_session._credentials = self.target.hub_credentials()
        base = ClientFactory(boto3.Session(botocore_session=base_session, region_name=region),
                             endpoint_url=spec.endpoint_url, max_attempts=spec.max_attempts, default_region=region,
                             counter=counter)
        if not spec.role_arn:
            return base
        session = assume_role_session(base, spec.role_arn, session_name=spec.session_name,
                                      external_id=spec.external_id, region=region,
                                      botocore_session=shared_loader_session())
        return ClientFactory(session, endpoint_url=spec.endpoint_url, max_attempts=spec.max_attempts,
                             default_region=region, counter=counter)

    def _caller(self) -> dict:
        identity = super()._caller()
        if self.expected_id and identity["Account"] != self.expected_id:
            raise AccountsError(f"account {self.name}: the session reached account {identity['Account']}, not "
                                f"{self.expected_id}: check member_role")
        return identity

    def release(self) -> None:
        """Drop the clients and sessions once the account is collected (its id and caller stay known)."""
        with self._lock:
            self._factory = None


# --- expansion -------------------------------------------------------------------------------------------------------


def expand(names: Sequence[str], specs: Dict[str, AccountSpec], registry: Dict[str, Account],
           handed_over: Optional[Dict[str, Any]] = None) -> Tuple[List[str], Dict[str, OrganizationTarget]]:
    """Split ``names`` into plain account names and organization targets (read now, or rebuilt from what the xdist
    controller ``handed_over``). AccountsError (one line) for an unknown entry or one without ``organization:``."""
    plain: List[str] = []
    targets: Dict[str, OrganizationTarget] = {}
    for name in names:
        if not is_org_name(name):
            plain.append(name)
            continue
        entry = name[len(ORG_PREFIX):]
        spec = specs.get(entry)
        if spec is None:
            with_org = sorted(n for n, s in specs.items() if s.organization is not None)
            raise AccountsError(f"--iam-account {name}: no accounts-file entry {entry!r} "
                                f"(entries with an organization block: {', '.join(with_org) or 'none'})")
        if spec.organization is None:
            raise AccountsError(f"--iam-account {name}: {spec.source}: accounts.{entry} has no organization block "
                                "(organization: {member_role: ROLE})")
        hub = registry[entry]
        if handed_over is not None and name in handed_over:
            targets[name] = OrganizationTarget.from_handover(spec, hub, handed_over[name])
        else:
            targets[name] = OrganizationTarget.read(spec, hub)
    return plain, targets
