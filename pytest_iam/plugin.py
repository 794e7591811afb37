"""pytest hooks and options: the entry point pytest loads. The work lives one floor down.

Usage::

    pytest --iam-account=prod --junitxml=evidence.xml
    pytest --iam-account=demo --iam-standard=cis-aws-foundations
    pytest --iam-snapshot=evidence/ --iam-standard=cis-aws-foundations    # offline, no AWS call

``session.py`` holds the run's state (accounts, library, inventories collected once), ``items.py`` the standard files
as items, ``reporter.py`` the JUnit properties and terminal summary, ``distribution.py`` the xdist grouping by account.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Generator, List, Optional

import pytest

from . import items, reporter
from .accounts import AccountUnavailable
from .session import STATE, IamSession, NO_ACCOUNT_HELP, load_library, state


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("iam", "AWS IAM standards (pytest-iam)")
    group.addoption("--iam-account", action="append", default=[], metavar="NAME",
                    help="account(s) to check: names from the accounts file, 'demo', 'mock:PATH', or 'org:NAME' (every "
                         "account of the organization of entry NAME) (repeatable, comma-separated)")
    group.addoption("--iam-accounts-file", default=None, metavar="PATH",
                    help="accounts file (default: ini iam_accounts_file, else iam-accounts.yaml in the rootdir if present)")
    group.addoption("--iam-standard", action="append", default=[], metavar="NAME|PATH",
                    help="run a standard: a shipped one by name (e.g. cis-aws-foundations) or a YAML file (repeatable)")
    group.addoption("--iam-snapshot", action="append", default=[], metavar="PATH",
                    help="run offline from saved snapshots (a JSON file or a folder of them): no AWS call at all")
    group.addoption("--iam-save-snapshot", default=None, metavar="DIR",
                    help="write each account's inventory as JSON into DIR")
    group.addoption("--iam-list-checks", action="store_true", default=False,
                    help="print the check library as a table and exit")
    group.addoption("--iam-evidence", default=None, metavar="DIR",
                    help="write an evidence bundle into DIR: manifest with hashes, OCSF findings, snapshots, JUnit copy, "
                         "report (default: ini iam_evidence_dir)")
    group.addoption("--iam-baseline", default=None, metavar="DIR",
                    help="an earlier evidence bundle: report new failures, fixed, still failing, newly waived, waivers gone")
    group.addoption("--iam-max-workers", type=int, default=8, metavar="N",
                    help="accounts collected at once, ahead of their items (without xdist; default 8)")
    group.addoption("--iam-shard", default=None, metavar="K/N",
                    help="check only shard K of N: the accounts whose id hashes to K (a CI matrix of N jobs covers "
                         "every account once)")
    group.addoption("--iam-fail-on", default=None, metavar="SEVERITY",
                    help="fail the run only for failing controls of this severity or above (critical, high, medium, low, "
                         "info); failures below are still reported (default: ini iam_fail_on, else info)")
    parser.addini("iam_fail_on", "the lowest severity whose failing controls fail the run (as --iam-fail-on)", default=None)
    parser.addini("iam_accounts_file", "accounts file for pytest-iam", default=None)
    parser.addini("iam_evidence_dir", "folder for the evidence bundle (as --iam-evidence)", default=None)
    parser.addini("iam_check_paths", "extra folders of check YAML files", type="paths", default=[])


def pytest_addhooks(pluginmanager: pytest.PytestPluginManager) -> None:
    from . import hookspecs

    pluginmanager.add_hookspecs(hookspecs)


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
    iam_state = IamSession(config)
    config.stash[STATE] = iam_state
    config.pluginmanager.register(reporter.IamReporter(iam_state), "pytest-iam-reporter")
    from .audit import AuditTrail, BundleFinisher

    trail = AuditTrail(config, iam_state)
    config.pluginmanager.register(trail, "pytest-iam-audit")
    config.pluginmanager.register(BundleFinisher(trail), "pytest-iam-bundle")
    from .gate import SeverityGate

    config.pluginmanager.register(SeverityGate(config), "pytest-iam-gate")
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


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """Keep every item of an account on one worker (the load-balancing modes; ``--dist each`` is left alone)."""
    if config.getvalue("dist") == "each":
        return None
    from .distribution import AccountScheduling

    return AccountScheduling(config, log, state(config).account_names)


# --- fixtures ----------------------------------------------------------------------------------------------------------


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "iam_account" in metafunc.fixturenames:
        iam_state = state(metafunc.config)
        names = iam_state.account_names
        if not names:
            iam_state.needs_account.append(("test", metafunc.definition.nodeid))
        metafunc.parametrize("iam_account", names, indirect=True, ids=names, scope="session")


@pytest.fixture(scope="session")
def iam_account(request: pytest.FixtureRequest) -> Any:
    """The account under test (parametrized over --iam-account; ids are the account names)."""
    name = getattr(request, "param", None)
    if name is None:
        raise pytest.UsageError(f"the iam_account fixture needs an account: {NO_ACCOUNT_HELP}")
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


@pytest.fixture
def iam_scenario(request: pytest.FixtureRequest) -> Any:
    """Build accounts from scenarios on the embedded emulator: ``iam_scenario({...} or "path.yaml")`` -> an ``iam``
    view (no --iam-account needed; see pytest_iam.scenario_fixture)."""
    from .scenario_fixture import ScenarioAccounts

    accounts = ScenarioAccounts(state(request.config).library, Path(str(request.path)).parent, request.node.nodeid)
    yield accounts
    accounts.close()


# --- collection and reports ----------------------------------------------------------------------------------------


def pytest_collect_file(file_path: Path, parent: pytest.Collector) -> Optional[pytest.Collector]:
    return items.collect_file(file_path, parent)


def pytest_collection_modifyitems(session: pytest.Session, config: pytest.Config, items: List[pytest.Item]) -> None:
    iam_state = state(config)
    errors = iam_state.collection_errors
    if errors:
        raise pytest.UsageError(errors[0] + (f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""))
    no_account = iam_state.no_account_error()
    if no_account:
        if not hasattr(config, "workerinput"):
            raise pytest.UsageError(no_account)
        # an xdist worker: run nothing, and let the controller end the run with the usage error
        iam_state.usage_error = no_account
        config.hook.pytest_deselected(items=list(items))
        items[:] = []


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    report = yield
    reporter.finish_report(state(item.config), item, call, report)
    return report
