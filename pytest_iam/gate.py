"""The severity gate: failing controls below a severity are reported, but do not fail the run's exit code.

Usage::

    pytest --iam-account=prod --iam-fail-on=high --junitxml=evidence.xml     # or ini: iam_fail_on = high

A control that fails below the gate stays a failure everywhere a person or an auditor reads it (the terminal, the
JUnit ``<failure>``, the evidence bundle) and carries the property ``gated`` (``below high``); only the exit code
is decided by the gate. A control that could not be evaluated (an error), a failing Python test, and a failure at or
above the gate fail the run as always.
"""

from __future__ import annotations

from collections import Counter
from typing import Any, Generator, List, Tuple

import pytest

from .checks import SEVERITIES
from .findings import did_you_mean

DEFAULT = "info"
GATED = "gated"


def threshold(config: pytest.Config) -> str:
    """The gate's severity from ``--iam-fail-on`` or the ini ``iam_fail_on``; a one-line usage error otherwise."""
    given = config.getoption("iam_fail_on", None)
    where = "--iam-fail-on"
    if not given:
        given = config.getini("iam_fail_on") or DEFAULT
        where = "ini iam_fail_on"
    value = str(given).strip().lower()
    if value not in SEVERITIES:
        hint = did_you_mean(value, SEVERITIES)
        raise pytest.UsageError(f"{where}: {given!r} is not a severity ({', '.join(SEVERITIES)})"
                                + (f"; {hint}" if hint else ""))
    return value


def below(severity: str, gate: str) -> bool:
    """``below("medium", "high")`` is True: a failure of that severity does not fail the run."""
    if severity not in SEVERITIES:
        return False
    return SEVERITIES.index(severity) > SEVERITIES.index(gate)


class SeverityGate:
    """Marks failing controls below the gate where they run; decides the exit code where the run ends."""

    def __init__(self, config: pytest.Config) -> None:
        self.gate = threshold(config)
        self.gated: List[Tuple[str, str, str]] = []  # (account, control, severity)
        self.blocking = 0  # failed reports that the gate does not excuse

    @pytest.hookimpl(wrapper=True)
    def pytest_runtest_makereport(self, item: pytest.Item, call: pytest.CallInfo) -> Generator[None, Any, Any]:
        report = yield
        from .items import ControlItem

        if (self.gate != DEFAULT and isinstance(item, ControlItem) and call.when == "call" and report.failed
                and below(item.control.severity, self.gate)):
            prop = (GATED, f"below {self.gate}")
            item.user_properties.append(prop)
            report.user_properties = list(item.user_properties)
        return report

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        if not report.failed:
            return
        props = dict(report.user_properties)
        if report.when == "call" and props.get(GATED):
            self.gated.append((props.get("account", ""), props.get("control", ""), props.get("severity", "")))
        else:
            self.blocking += 1

    @pytest.hookimpl(trylast=True)
    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if hasattr(session.config, "workerinput"):
            return
        if self.gated and not self.blocking and session.exitstatus == pytest.ExitCode.TESTS_FAILED:
            session.exitstatus = pytest.ExitCode.OK

    def pytest_terminal_summary(self, terminalreporter: Any, exitstatus: int, config: pytest.Config) -> None:
        if not self.gated or hasattr(config, "workerinput"):
            return
        by_severity = Counter(severity for _, _, severity in self.gated)
        text = ", ".join(f"{sev} {by_severity[sev]}" for sev in SEVERITIES if by_severity.get(sev))
        count = len(self.gated)
        verdict = ("the run passes on them" if not self.blocking else
                   f"the run fails on {self.blocking} other failure{'s' if self.blocking != 1 else ''} or error"
                   f"{'s' if self.blocking != 1 else ''}")
        terminalreporter.write_sep("-", f"pytest-iam gate: --iam-fail-on {self.gate}")
        terminalreporter.write_line(
            f"gated: {count} failing control{'s' if count != 1 else ''} below {self.gate} ({text}) reported, not "
            f"failing the exit code; {verdict}", yellow=True)
        for account, control, severity in sorted(self.gated):
            terminalreporter.write_line(f"  gated: {account} {control} ({severity})", yellow=True)

