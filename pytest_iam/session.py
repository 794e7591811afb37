"""One run's state: the accounts, the check library, and each account's inventory, collected at most once.

Usage (from hooks and fixtures)::

    run = state(config)                 # the run's IamSession, made in pytest_configure
    run.account_names                   # ["demo", "prod"]: sorted, so xdist workers agree
    inventory = run.inventory("prod")   # collected on first use, then reused; AccountUnavailable if unreachable

An account that cannot be reached at all is tried once: every later request for it raises the same one-line
AccountUnavailable. Under xdist, every item of one account runs on the same worker (``distribution.py``), so an
account is still collected once per run.

``--iam-account=org:NAME`` expands to every account of an organization (``organization.py``): the process that
expands it reads the organization once and hands the member list and the organization to xdist workers through
``workerinput`` (``flow.py``). ``--iam-shard K/N`` keeps the accounts whose id (or, outside an organization, name)
hashes to shard K. ``flow.py`` collects accounts ahead of their items in a bounded pool and calls ``release`` after an
account's last item, so a run over many accounts holds few inventories at a time.
"""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional, Tuple

import pytest

from .accounts import (Account, AccountsError, AccountSpec, AccountUnavailable, load_accounts_file, resolve_spec,
                       split_names)
from .organization import MemberAccount, OrganizationTarget, expand, parse_shard, shard_of
from .checks import CheckDefinitionError, Library, register_predicates
from .findings import plural
from .evidence import suite_properties
from .inventory import Inventory, SnapshotError, load_snapshot, save_snapshot
from .secrets import redact
from .standards import StandardError, load_standard, resolve_standard

STATE = pytest.StashKey["IamSession"]()
DEFAULT_ACCOUNTS_FILE = "iam-accounts.yaml"
NO_ACCOUNT_HELP = (
    "give the account to check with --iam-account NAME (a name from the accounts file, 'demo', or mock:PATH), "
    "or run offline with --iam-snapshot PATH"
)


class OfflineAccount:
    """An account known only from a snapshot: its facts, and no session (no AWS call can be made)."""

    def __init__(self, inventory: Inventory) -> None:
        self.name = inventory.account_name
        self.id = inventory.account_id
        self.alias = inventory.alias
        self.caller_arn = inventory.caller_arn
        self.partition = inventory.partition
        self.organization_reader = None

    @property
    def factory(self) -> Any:
        raise pytest.UsageError(f"account {self.name} comes from a snapshot: no AWS call can be made for it")


def load_library(config: pytest.Config) -> Library:
    """The shipped checks plus the ini's ``iam_check_paths`` and the hooks' check packs and predicates."""
    hook = config.pluginmanager.hook
    for mapping in hook.pytest_iam_predicates(config=config):
        register_predicates(mapping or {})
    extra = [Path(p) for p in config.getini("iam_check_paths")]
    for paths in hook.pytest_iam_check_paths(config=config):
        extra.extend(Path(p) for p in paths or [])
    try:
        return Library.load(extra)
    except CheckDefinitionError as exc:
        raise pytest.UsageError(str(exc)) from None


class IamSession:
    """Per-run state: the accounts, the check library, inventories collected at most once per account."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.library = load_library(config)
        self.specs = self._load_specs()
        self.snapshots: Dict[str, Inventory] = self._load_snapshots()
        # every configured account, made once: a role chain's hub is shared, so it assumes and resolves once
        self.registry: Dict[str, Account] = {}
        self.registry.update({spec_name: Account(spec, self.registry) for spec_name, spec in self.specs.items()})
        self.organizations: Dict[str, OrganizationTarget] = {}
        self.members: Dict[str, MemberAccount] = {}
        names = split_names(config.getoption("iam_account"))
        if not self.snapshots:
            names = self._expand_organizations(names)
        self.shard = self._shard()
        if self.shard is not None:
            names = [n for n in names if shard_of(self.shard_key(n), self.shard[1]) == self.shard[0]]
        if not names and self.snapshots:
            names = sorted(self.snapshots)
        if self.snapshots:
            missing = [n for n in names if n not in self.snapshots]
            if missing:
                raise pytest.UsageError(
                    f"--iam-account {missing[0]}: not in the snapshots given (they hold: {', '.join(sorted(self.snapshots))})"
                )
        else:
            for name in names:
                if name in self.members:
                    continue
                try:
                    resolve_spec(name, self.specs)
                except AccountsError as exc:
                    raise pytest.UsageError(str(exc)) from None
        self.account_names: List[str] = names
        self.accounts: Dict[str, Any] = {}
        self.inventories: Dict[str, Inventory] = {}
        self.collection_errors: List[str] = []
        self.needs_account: List[Tuple[str, str]] = []  # ("standard"|"test", name): needs an account, none given
        self.usage_error: Optional[str] = None  # under xdist, a worker's usage error, reported by the controller
        self.unavailable: Dict[str, str] = {}
        self.account_facts: Dict[str, list] = {}
        self._locks: Dict[str, threading.RLock] = defaultdict(threading.RLock)
        self._accounts_lock = threading.Lock()
        self.released: set = set()
        self.on_collected: List[Any] = []  # callables(name, ok): told when an account is collected or unreachable
        self.standard_paths = [self._resolve_standard(s) for s in config.getoption("iam_standard")]
        from .flow import AccountFlow

        config.pluginmanager.register(AccountFlow(self), "pytest-iam-flow")

    # configuration ---------------------------------------------------------------------------------------------------
    def _load_specs(self) -> Dict[str, AccountSpec]:
        option = self.config.getoption("iam_accounts_file")
        ini = self.config.getini("iam_accounts_file")
        path: Optional[Path] = None
        if option:
            path = Path(option)
        elif ini:
            path = Path(self.config.rootpath, ini)
        elif (self.config.rootpath / DEFAULT_ACCOUNTS_FILE).is_file():
            path = self.config.rootpath / DEFAULT_ACCOUNTS_FILE
        specs: Dict[str, AccountSpec] = {}
        if path is not None:
            if not path.is_file():
                raise pytest.UsageError(f"{path}: accounts file not found")
            try:
                specs = load_accounts_file(path)
            except AccountsError as exc:
                raise pytest.UsageError(str(exc)) from None
        for extra in self.config.pluginmanager.hook.pytest_iam_account_specs(config=self.config):
            for name, fields in (extra or {}).items():
                specs[name] = AccountSpec(name=name, source="pytest_iam_account_specs", **fields)
        return specs

    def _expand_organizations(self, names: List[str]) -> List[str]:
        """``org:NAME`` -> the organization's member ids; read here, or from the xdist controller's hand-over."""
        handed_over = getattr(self.config, "workerinput", {}).get("pytest_iam_organizations")
        try:
            plain, self.organizations = expand(names, self.specs, self.registry, handed_over)
        except AccountsError as exc:
            raise pytest.UsageError(str(exc)) from None
        for target in self.organizations.values():
            for member in target.members:
                self.members.setdefault(member.name, target.account(member))
        return sorted(set(plain) | set(self.members))

    def _shard(self) -> Optional[Tuple[int, int]]:
        given = self.config.getoption("iam_shard", None)
        if not given:
            return None
        try:
            return parse_shard(given)
        except ValueError as exc:
            raise pytest.UsageError(str(exc)) from None

    def shard_key(self, name: str) -> str:
        """What places an account in a shard: its id when known without a call (organization members, snapshots),
        else its name."""
        return self.known_account_id(name) or name

    def known_account_id(self, name: str) -> str:
        """The account's id when it is known without an AWS call (a snapshot, an organization member); else empty."""
        if name in self.snapshots:
            return self.snapshots[name].account_id
        member = self.members.get(name)
        return member.expected_id if member is not None else ""

    def handover(self) -> Dict[str, Any]:
        """For xdist workers (``workerinput``): the organizations read here, so workers do not read them again."""
        return {name: target.handover() for name, target in self.organizations.items()}

    def _load_snapshots(self) -> Dict[str, Inventory]:
        out: Dict[str, Inventory] = {}
        for given in self.config.getoption("iam_snapshot"):
            path = Path(given)
            files = sorted(path.glob("*.json")) if path.is_dir() else [path]
            if not files:
                raise pytest.UsageError(f"--iam-snapshot {given}: no snapshot files (*.json) there")
            for file in files:
                try:
                    inventory = load_snapshot(file)
                except SnapshotError as exc:
                    raise pytest.UsageError(str(exc)) from None
                out[inventory.account_name] = inventory
        return out

    def _resolve_standard(self, name: str) -> Path:
        try:
            path = resolve_standard(name)
            load_standard(path, self.library)  # fail fast, before any collection
        except StandardError as exc:
            raise pytest.UsageError(str(exc)) from None
        return path

    def no_account_error(self) -> Optional[str]:
        """The one-line usage error when collected items need an account and none was given; else None."""
        if self.account_names or not self.needs_account:
            return None
        standards = sorted({what for kind, what in self.needs_account if kind == "standard"})
        tests = [what for kind, what in self.needs_account if kind == "test"]
        parts = [", ".join(standards)] if standards else []
        if tests:
            parts.append(f"{plural(len(tests), 'test')} that use{'s' if len(tests) == 1 else ''} iam")
        needs = "needs" if len(standards) + len(tests) == 1 else "need"
        return f"no account to check: {' and '.join(parts)} {needs} one; {NO_ACCOUNT_HELP}"

    # accounts and inventories --------------------------------------------------------------------------------------------
    def account(self, name: str) -> Any:
        with self._accounts_lock:
            if name not in self.accounts:
                if name in self.snapshots:
                    self.accounts[name] = OfflineAccount(self.snapshots[name])
                elif name in self.members:
                    self.accounts[name] = self.members[name]
                else:
                    if name not in self.registry:
                        self.registry[name] = Account(resolve_spec(name, self.specs), self.registry)
                    self.accounts[name] = self.registry[name]
            return self.accounts[name]

    def collected(self, name: str) -> Optional[Inventory]:
        """The account's inventory if it has been collected (or loaded) already; never collects."""
        return self.inventories.get(name)

    def inventory(self, name: str) -> Inventory:
        """The account's inventory: from its snapshot, or collected once per run."""
        with self._locks[name]:
            if name in self.unavailable:
                raise AccountUnavailable(self.unavailable[name])
            if name not in self.inventories:
                if name in self.snapshots:
                    inventory = self.snapshots[name]
                else:
                    try:
                        inventory = self._collect(name)
                    except AccountUnavailable:
                        self._collected(name, False)
                        raise
                self.inventories[name] = inventory
                self.account_facts[name] = suite_properties(inventory)
                account = self.accounts.get(name)
                if isinstance(account, Account):
                    calls = account.factory.calls
                    self.account_facts[name].append(("api_calls", str(sum(calls.values()))))
                if isinstance(account, MemberAccount):
                    account.release()  # its clients: the inventory is all the items need
                if name not in self.snapshots:
                    self._collected(name, True)
            return self.inventories[name]

    def prefetch(self, name: str) -> None:
        """Collect the account ahead of its items (the collection pool of ``flow.py``), unless its items have run and
        released it already: asked for then, it would be collected a second time for nobody."""
        with self._locks[name]:
            if name not in self.released:
                self.inventory(name)

    def _collected(self, name: str, ok: bool) -> None:
        for listener in list(self.on_collected):
            listener(name, ok)

    def release(self, name: str) -> None:
        """Forget the account's inventory after its last item (its snapshot and evidence are written by then); its
        suite facts stay. Asked for again, it would be collected again."""
        with self._locks[name]:
            self.inventories.pop(name, None)
            self.released.add(name)

    def _collect(self, name: str) -> Inventory:
        from botocore.exceptions import BotoCoreError, ClientError

        from .collect import collect_inventory

        try:
            inventory = collect_inventory(self.account(name))
        except (BotoCoreError, ClientError, AccountsError, OSError) as exc:
            first = str(exc).splitlines()[0] if str(exc) else ""
            message = redact(f"account {name}: cannot connect: {type(exc).__name__}: {first}")
            member = self.members.get(name)
            if member is not None and getattr(exc, "operation_name", "") == "AssumeRole":
                error = getattr(exc, "response", {}).get("Error", {})
                detail = (str(error.get("Message") or "").splitlines() or [""])[0]
                message = redact(f"account {name}: cannot assume {member.spec.role_arn}: {error.get('Code', 'error')}"
                                 + (f" ({detail})" if detail else "")
                                 + "; the role must exist in the account and trust the organization's session")
            self.unavailable[name] = message
            raise AccountUnavailable(message) from None
        target = self.config.getoption("iam_save_snapshot")
        if target:
            save_snapshot(inventory, Path(target))
        return inventory


def state(config: pytest.Config) -> IamSession:
    return config.stash[STATE]
