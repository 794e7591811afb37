"""pytest hooks: options, fixtures, collecting standard files, JUnit properties, the terminal summary.

Usage::

    pytest --iam-account=prod --junitxml=evidence.xml
    pytest --iam-account=demo --iam-standard=cis-aws-foundations
    pytest --iam-snapshot=evidence/ --iam-standard=cis-aws-foundations    # offline, no AWS call
"""

from __future__ import annotations

import threading
from collections import defaultdict
from pathlib import Path
from typing import Any, Dict, List, Optional

import pytest

from . import __version__
from .accounts import Account, AccountsError, AccountSpec, load_accounts_file, resolve_spec, split_names
from .checks import SEVERITIES, CheckDefinitionError, CheckResult, Library, register_predicates, run_check
from .evidence import control_properties, redact, suite_properties
from .inventory import Inventory, SnapshotError, load_snapshot, save_snapshot
from .standards import Standard, StandardError, apply_waivers, load_standard, resolve_standard

STATE = pytest.StashKey["IamState"]()
DEFAULT_ACCOUNTS_FILE = "iam-accounts.yaml"


# --- options ---------------------------------------------------------------------------------------------------------


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("iam", "AWS IAM standards (pytest-iam)")
    group.addoption("--iam-account", action="append", default=[], metavar="NAME",
                    help="account(s) to check: names from the accounts file, 'demo', or 'mock:PATH' (repeatable, comma-separated)")
    group.addoption("--iam-accounts-file", default=None, metavar="PATH",
                    help=f"accounts file (default: ini iam_accounts_file, else {DEFAULT_ACCOUNTS_FILE} in the rootdir if present)")
    group.addoption("--iam-standard", action="append", default=[], metavar="NAME|PATH",
                    help="run a standard: a shipped one by name (e.g. cis-aws-foundations) or a YAML file (repeatable)")
    group.addoption("--iam-snapshot", action="append", default=[], metavar="PATH",
                    help="run offline from saved snapshots (a JSON file or a folder of them): no AWS call at all")
    group.addoption("--iam-save-snapshot", default=None, metavar="DIR",
                    help="write each account's inventory as JSON into DIR")
    group.addoption("--iam-list-checks", action="store_true", default=False,
                    help="print the check library as a table and exit")
    parser.addini("iam_accounts_file", "accounts file for pytest-iam", default=None)
    parser.addini("iam_check_paths", "extra folders of check YAML files", type="paths", default=[])


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


# --- state -------------------------------------------------------------------------------------------------------------


class AccountUnavailable(Exception):
    """An account that could not be reached at all; the message is one line."""


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


class IamState:
    """Per-session state: the accounts, the check library, inventories collected at most once per account."""

    def __init__(self, config: pytest.Config) -> None:
        self.config = config
        self.library = load_library(config)
        self.specs = self._load_specs()
        self.snapshots: Dict[str, Inventory] = self._load_snapshots()
        names = split_names(config.getoption("iam_account"))
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
                try:
                    resolve_spec(name, self.specs)
                except AccountsError as exc:
                    raise pytest.UsageError(str(exc)) from None
        self.account_names: List[str] = names
        self.accounts: Dict[str, Any] = {}
        # every configured account, made once: a role chain's hub is shared, so it assumes and resolves once
        self.registry: Dict[str, Account] = {}
        self.registry.update({spec_name: Account(spec, self.registry) for spec_name, spec in self.specs.items()})
        self.inventories: Dict[str, Inventory] = {}
        self.collection_errors: List[str] = []
        self.unavailable: Dict[str, str] = {}
        self.outcomes: Dict[str, Dict[str, Dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        self.account_facts: Dict[str, list] = {}
        self.account_ids: Dict[str, str] = {}
        self._locks: Dict[str, threading.Lock] = defaultdict(threading.Lock)
        self.standard_paths = [self._resolve_standard(s) for s in config.getoption("iam_standard")]

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

    # accounts and inventories --------------------------------------------------------------------------------------------
    def account(self, name: str) -> Any:
        with self._locks["accounts"]:
            if name not in self.accounts:
                if name in self.snapshots:
                    self.accounts[name] = OfflineAccount(self.snapshots[name])
                else:
                    if name not in self.registry:
                        self.registry[name] = Account(resolve_spec(name, self.specs), self.registry)
                    self.accounts[name] = self.registry[name]
            return self.accounts[name]

    def inventory(self, name: str) -> Inventory:
        """The account's inventory: from its snapshot, or collected once per session (per xdist worker).

        An account that cannot be reached at all (no credentials, no endpoint, AssumeRole refused) is tried once; every
        later request for it raises the same one-line AccountUnavailable."""
        with self._locks[name]:
            if name in self.unavailable:
                raise AccountUnavailable(self.unavailable[name])
            if name not in self.inventories:
                if name in self.snapshots:
                    inventory = self.snapshots[name]
                else:
                    inventory = self._collect(name)
                self.inventories[name] = inventory
                self.account_facts[name] = suite_properties(inventory)
                account = self.accounts.get(name)
                if isinstance(account, Account):
                    calls = account.factory.calls
                    self.account_facts[name].append(("api_calls", str(sum(calls.values()))))
            return self.inventories[name]

    def _collect(self, name: str) -> Inventory:
        from botocore.exceptions import BotoCoreError, ClientError

        from .collect import collect_inventory

        try:
            inventory = collect_inventory(self.account(name))
        except (BotoCoreError, ClientError, AccountsError, OSError) as exc:
            message = redact(f"account {name}: cannot connect: {type(exc).__name__}: {str(exc).splitlines()[0]}")
            self.unavailable[name] = message
            raise AccountUnavailable(message) from None
        target = self.config.getoption("iam_save_snapshot")
        if target:
            save_snapshot(inventory, Path(target))
        return inventory


def state(config: pytest.Config) -> IamState:
    return config.stash[STATE]


# --- configure ---------------------------------------------------------------------------------------------------------


@pytest.hookimpl(tryfirst=True)
def pytest_cmdline_main(config: pytest.Config) -> Optional[int]:
    if not config.getoption("iam_list_checks", False):
        return None
    from .report import checks_table

    try:
        library = load_library(config)
    except pytest.UsageError as exc:
        print(f"ERROR: {exc}")
        return int(pytest.ExitCode.USAGE_ERROR)
    print(checks_table(library))
    return 0


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "iam: a pytest-iam control (added to every standard item)")
    iam_state = IamState(config)
    config.stash[STATE] = iam_state
    config.pluginmanager.register(IamReporter(iam_state), "pytest-iam-reporter")
    if iam_state.standard_paths:
        _run_standards_only_or_also(config, iam_state.standard_paths)


def _run_standards_only_or_also(config: pytest.Config, paths: List[Path]) -> None:
    """With --iam-standard and no file arguments, the run is the standards; with arguments, the standards are added."""
    explicit = getattr(config, "args_source", None) == pytest.Config.ArgsSource.ARGS
    args = [str(p) for p in paths]
    if explicit:
        config.args.extend(a for a in args if a not in config.args)
    else:
        config.args[:] = args


def pytest_unconfigure(config: pytest.Config) -> None:
    if STATE in config.stash:
        from . import mock

        mock.stop_server()


# --- fixtures ----------------------------------------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "iam_account" in metafunc.fixturenames:
        names = state(metafunc.config).account_names
        metafunc.parametrize("iam_account", names, indirect=True, ids=names, scope="session")


@pytest.fixture(scope="session")
def iam_account(request: pytest.FixtureRequest) -> Any:
    """The account under test (parametrized over --iam-account; ids are the account names)."""
    name = getattr(request, "param", None)
    if name is None:
        raise pytest.UsageError("the iam_account fixture needs --iam-account NAME (or --iam-snapshot PATH)")
    return state(request.config).account(name)


@pytest.fixture(scope="session")
def iam(iam_account: Any, request: pytest.FixtureRequest) -> Any:
    """The account's inventory with helpers: ``iam.check(id, **params)``, ``iam.can(...)``, ``iam.admins()``."""
    from .view import IamView

    iam_state = state(request.config)
    try:
        inventory = iam_state.inventory(iam_account.name)
    except AccountUnavailable as exc:
        pytest.fail(str(exc), pytrace=False)
    return IamView(inventory, iam_state.library, iam_account)


# --- standards as test files ---------------------------------------------------------------------------------------------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
    iam_state = state(parent.config)
    is_standard = file_path.suffix in (".yaml", ".yml") and file_path.name.startswith("iam_")
    if is_standard or file_path.resolve() in iam_state.standard_paths:
        if _shipped_or_outside(file_path, parent.config.rootpath):  # named by its file name alone
            return StandardFile.from_parent(parent, path=file_path, nodeid=file_path.name)
        return StandardFile.from_parent(parent, path=file_path)
    return None


def _shipped_or_outside(path: Path, rootpath: Path) -> bool:
    from .checks import library_dir

    resolved = path.resolve()
    for base, inside_means in ((library_dir().resolve(), True), (rootpath.resolve(), False)):
        try:
            resolved.relative_to(base)
            return inside_means
        except ValueError:
            continue
    return True


class ControlFailed(Exception):
    def __init__(self, result: CheckResult, control: Any) -> None:
        super().__init__(result.summary())
        self.result = result
        self.control = control


class StandardFile(pytest.File):
    def collect(self):  # type: ignore[no-untyped-def]
        iam_state = state(self.config)
        try:
            standard = load_standard(self.path, iam_state.library)
        except StandardError as exc:
            iam_state.collection_errors.append(str(exc))
            return
        accounts = iam_state.account_names
        if standard.accounts:
            accounts = [a for a in accounts if a in standard.accounts]
        for control in standard.controls:
            if control.has_team_id:
                yield ControlGroup.from_parent(self, name=control.id, standard=standard, control=control, accounts=accounts)
            else:
                yield from _control_items(self, standard, control, accounts)


def _control_items(parent: pytest.Collector, standard: Standard, control: Any, accounts: List[str]):  # type: ignore[no-untyped-def]
    for account in accounts:
        item = ControlItem.from_parent(parent, name=f"{control.check.id}[{account}]", standard=standard,
                                       control=control, account=account)
        item.add_marker("iam")
        yield item


class ControlGroup(pytest.Collector):
    def __init__(self, *, standard: Standard, control: Any, accounts: List[str], **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.standard = standard
        self.control = control
        self.accounts = accounts

    def collect(self):  # type: ignore[no-untyped-def]
        return list(_control_items(self, self.standard, self.control, self.accounts))


class ControlItem(pytest.Item):
    def __init__(self, *, standard: Standard, control: Any, account: str, **kwargs: Any) -> None:
        super().__init__(**kwargs)
        self.standard = standard
        self.control = control
        self.account = account

    def runtest(self) -> None:
        iam_state = state(self.config)
        inventory = iam_state.inventory(self.account)
        result = run_check(self.control.check, inventory, self.control.params)
        result = apply_waivers(result, self.standard.waivers, self.control)
        self.user_properties.extend(control_properties(result, self.control, self.standard, inventory))
        if not result.passed:
            raise ControlFailed(result, self.control)

    def repr_failure(self, excinfo: pytest.ExceptionInfo[BaseException], style: Any = None) -> str:  # type: ignore[override]
        if isinstance(excinfo.value, ControlFailed):
            check = self.control.check
            lines = [
                f"{self.control.id}: {check.title}",
                f"severity {self.control.severity}; {check.frameworks_text()}",
                excinfo.value.result.table(),
            ]
            if check.remediation:
                lines.append(f"remediation: {check.remediation}")
            return redact("\n".join(lines))
        if isinstance(excinfo.value, AccountUnavailable):
            return str(excinfo.value)
        return super().repr_failure(excinfo)

    def reportinfo(self):  # type: ignore[no-untyped-def]
        return self.path, None, f"{self.control.id}: {self.control.check.title} [{self.account}]"


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    errors = state(config).collection_errors
    if errors:
        raise pytest.UsageError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))


# --- evidence and summary ------------------------------------------------------------------------------------------------


class IamReporter:
    """Tallies control outcomes per account and severity, writes suite properties and the terminal summary."""

    def __init__(self, iam_state: IamState) -> None:
        self.state = iam_state

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when != "call" and not (report.when == "setup" and report.outcome != "passed"):
            return
        props = dict(report.user_properties)
        if "check" not in props or "account" not in props:
            return
        outcome = "passed" if report.passed else "failed"
        self.state.outcomes[props["account"]][outcome][props.get("severity", "info")] += 1
        if "account_id" in props:
            self.state.account_ids[props["account"]] = props["account_id"]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: the accounts a worker collected, for the suite properties the controller writes."""
        facts = getattr(node, "workeroutput", {}).get("pytest_iam_accounts", {})
        for name, pairs in facts.items():
            self.state.account_facts[name] = [tuple(p) for p in pairs]

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = session.config
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["pytest_iam_accounts"] = {k: list(v) for k, v in self.state.account_facts.items()}
            return
        from _pytest.junitxml import xml_key

        xml = config.stash.get(xml_key, None)
        if xml is None or not self.state.account_facts:
            return
        xml.add_global_property("pytest_iam_version", __version__)
        for name in sorted(self.state.account_facts):
            for key, value in self.state.account_facts[name]:
                xml.add_global_property(key, value)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        outcomes = self.state.outcomes
        if not outcomes:
            return
        terminalreporter.write_sep("=", "pytest-iam summary")
        for account in sorted(outcomes):
            passed, failed = sum(outcomes[account]["passed"].values()), sum(outcomes[account]["failed"].values())
            ident = self.state.account_ids.get(account, "?")
            facts = dict(self.state.account_facts.get(account, ()))
            calls = f", {facts['api_calls']} read-only API calls" if "api_calls" in facts else ""
            terminalreporter.write_line(
                f"{account} ({ident}): {passed + failed} checks, {passed} passed, {failed} failed{calls}")
            for key, value in self.state.account_facts.get(account, ()):
                if key == "collection_error":
                    terminalreporter.write_line(f"  not collected: {value}", yellow=True)
            for label in ("failed", "passed"):
                counts = outcomes[account][label]
                if counts:
                    parts = ", ".join(f"{sev} {counts[sev]}" for sev in SEVERITIES if counts.get(sev))
                    terminalreporter.write_line(f"  {label:<6} by severity: {parts}",
                                                red=label == "failed", green=label == "passed")
