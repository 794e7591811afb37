"""What a run reports: outcome tallies, JUnit suite properties, the xdist hand-over and the terminal summary; and
the last look at every report of an ``iam`` test, so no secret leaves in it.

Usage: ``plugin.py`` registers one IamReporter per run and passes each test report through ``finish_report``.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any, Dict, List, Tuple

import pytest

from . import __version__
from .checks import SEVERITIES
from .findings import plural
from .flow import item_account
from .evidence import account_properties
from .items import ControlItem, not_evaluated_text
from .secrets import redact
from .session import IamSession

OUTCOMES = ("failed", "error", "passed", "skipped")
OUTCOME_WORDS = {"failed": "failed", "error": "could not be evaluated", "passed": "passed",
                 "skipped": "skipped on purpose"}


def _uses_iam(item: pytest.Item) -> bool:
    return "iam" in getattr(item, "fixturenames", ()) or "iam_account" in getattr(item, "fixturenames", ())


def finish_report(iam_state: IamSession, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
    """Shape the report of a control or of a Python test that uses ``iam``: one-line texts for controls that could
    not be evaluated, the findings behind a failed ``assert iam.check(...)``, the account a Python test judged, and
    every text masked."""
    is_control = isinstance(item, ControlItem)
    if not is_control and not _uses_iam(item):
        return
    text = not_evaluated_text(item, call)
    if text is not None:
        report.longrepr = text
    if not is_control:
        _python_test(iam_state, item, call, report)
    _mask(report)


def _python_test(iam_state: IamSession, item: pytest.Item, call: pytest.CallInfo, report: pytest.TestReport) -> None:
    view = getattr(item, "funcargs", {}).get("iam")
    if call.when == "setup":
        name = item_account(item)
        inventory = iam_state.collected(name) if name is not None else None
        if inventory is not None and not any(k == "snapshot_sha256" for k, _ in item.user_properties):
            item.user_properties.extend(account_properties(inventory))
            report.user_properties = list(item.user_properties)
        if view is not None:
            view.results.clear()
    elif call.when == "call" and report.failed and view is not None and view.results:
        tables = "\n".join(result.table() for result in view.results)
        if hasattr(report.longrepr, "addsection"):
            report.longrepr.addsection("pytest-iam findings", tables)
        else:
            report.longrepr = f"{report.longrepr}\n{tables}"


def _mask(report: pytest.TestReport) -> None:
    if report.longrepr is not None:
        text = str(report.longrepr)
        masked = redact(text)
        if masked != text:
            report.longrepr = masked
    report.sections = [(title, redact(content)) for title, content in report.sections]


def keyed_account_facts(facts: Dict[str, list]) -> List[Tuple[str, str, str]]:
    """``(account, name, value)`` for the suite properties ``<account>.<name>``, accounts sorted. The account's own
    name is the key, so it is not repeated as a property."""
    return [(account, key, value) for account in sorted(facts) for key, value in facts[account] if key != "account"]


class IamReporter:
    """Tallies control outcomes per account and severity, writes suite properties and the terminal summary."""

    def __init__(self, iam_state: IamSession) -> None:
        self.state = iam_state
        self.outcomes: Dict[str, Dict[str, Dict[str, int]]] = defaultdict(lambda: defaultdict(lambda: defaultdict(int)))
        self.nothing: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
        self.skipped: Dict[str, List[Tuple[str, str]]] = defaultdict(list)
        self.account_ids: Dict[str, str] = {}

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if report.when == "setup" and report.passed:
            return
        if report.when == "teardown":
            return
        props = dict(report.user_properties)
        if "check" not in props or "account" not in props:
            return
        outcome = {"pass": "passed", "fail": "failed", "error": "error", "skipped": "skipped"}.get(props.get("outcome", ""))
        if outcome is None:
            outcome = "passed" if report.passed else "failed"
        account = props["account"]
        self.outcomes[account][outcome][props.get("severity", "info")] += 1
        if props.get("nothing_to_evaluate"):
            self.nothing[account].append((props.get("control", props["check"]), props["nothing_to_evaluate"]))
        if props.get("skip_reason"):
            self.skipped[account].append((props.get("control", props["check"]), props["skip_reason"]))
        if props.get("account_id"):
            self.account_ids[account] = props["account_id"]

    @pytest.hookimpl(optionalhook=True)
    def pytest_testnodedown(self, node: Any, error: Any) -> None:
        """xdist: the accounts a worker collected, for the suite properties the controller writes."""
        facts = getattr(node, "workeroutput", {}).get("pytest_iam_accounts", {})
        for name, pairs in facts.items():
            self.state.account_facts[name] = [tuple(p) for p in pairs]
        usage_error = getattr(node, "workeroutput", {}).get("pytest_iam_usage_error")
        if usage_error:
            self.state.usage_error = usage_error

    @pytest.hookimpl(tryfirst=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        config = session.config
        workeroutput = getattr(config, "workeroutput", None)
        if workeroutput is not None:
            workeroutput["pytest_iam_accounts"] = {k: list(v) for k, v in self.state.account_facts.items()}
            workeroutput["pytest_iam_usage_error"] = self.state.usage_error
            return
        if self.state.usage_error:  # a worker found that the run has nothing it can check
            session.exitstatus = pytest.ExitCode.USAGE_ERROR
            terminal = config.pluginmanager.get_plugin("terminalreporter")
            if terminal is not None:
                terminal.write_line(f"ERROR: {self.state.usage_error}", red=True)
            return
        from _pytest.junitxml import xml_key

        xml = config.stash.get(xml_key, None)
        if xml is None or not self.state.account_facts:
            return
        xml.add_global_property("pytest_iam_version", __version__)
        for name, key, value in keyed_account_facts(self.state.account_facts):
            xml.add_global_property(f"{name}.{key}", value)

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if not self.outcomes:
            return
        terminalreporter.write_sep("=", "pytest-iam summary")
        for account in sorted(self.outcomes):
            counts = {o: sum(self.outcomes[account][o].values()) for o in OUTCOMES}
            facts = dict(self.state.account_facts.get(account, ()))
            ident = self.account_ids.get(account) or facts.get("account_id", "?")
            parts = [f"{counts['passed']} passed", f"{counts['failed']} failed"]
            if counts["error"]:
                parts.append(f"{counts['error']} could not be evaluated")
            if counts["skipped"]:
                parts.append(f"{counts['skipped']} skipped on purpose")
            calls = f", {facts['api_calls']} read-only API calls" if "api_calls" in facts else ""
            terminalreporter.write_line(
                f"{account} ({ident}): {plural(sum(counts.values()), 'check')}, {', '.join(parts)}{calls}")
            for key, value in self.state.account_facts.get(account, ()):
                if key == "collection_error":
                    terminalreporter.write_line(f"  not collected: {value}", yellow=True)
            for outcome in OUTCOMES:
                by_severity = self.outcomes[account][outcome]
                if by_severity:
                    label = OUTCOME_WORDS[outcome]
                    text = ", ".join(f"{sev} {by_severity[sev]}" for sev in SEVERITIES if by_severity.get(sev))
                    terminalreporter.write_line(f"  {label} by severity: {text}", red=outcome == "failed",
                                                yellow=outcome == "error", green=outcome == "passed")
            for control, why in self.nothing.get(account, ()):
                terminalreporter.write_line(f"  nothing to evaluate: {control}: {why}", yellow=True)
            for control, why in self.skipped.get(account, ()):
                terminalreporter.write_line(redact(f"  skipped on purpose: {control}: {why}"), yellow=True)
