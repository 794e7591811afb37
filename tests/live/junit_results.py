"""Read a pytest-iam JUnit XML report back into per-check outcomes and properties.

Usage::

    report = read_junit(path)
    report.controls["iam-root-mfa"].outcome          # "passed" / "failed" / "error" / "skipped"
    report.controls["iam-root-mfa"].failed_resources # frozenset of ARNs
    report.suite_properties                          # ((name, value), ...) of the test suite
    report.account_properties()                      # the one account's suite properties, without "<account>."
"""

from __future__ import annotations

import json
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, FrozenSet, Mapping, Optional, Tuple


@dataclass(frozen=True)
class ControlOutcome:
    """One test case of a standard: its outcome and the properties pytest-iam attached to it."""

    name: str
    outcome: str
    properties: Tuple[Tuple[str, str], ...]
    message: str = ""  # the <failure> / <error> element's message attribute and text

    @property
    def props(self) -> Dict[str, str]:
        return dict(self.properties)

    @property
    def check(self) -> str:
        return self.props["check"]

    @property
    def failed_resources(self) -> FrozenSet[str]:
        return frozenset(json.loads(self.props["failed_resources"]))

    @property
    def evaluated(self) -> int:
        return int(self.props["evaluated"])


@dataclass(frozen=True)
class JUnitReport:
    controls: Mapping[str, ControlOutcome]
    suite_properties: Tuple[Tuple[str, str], ...]

    def account_properties(self, account: Optional[str] = None) -> Tuple[Tuple[str, str], ...]:
        """The suite properties named ``<account>.<name>``, as ``(name, value)``; without ``account``, those of the
        one account the test cases name."""
        if account is None:
            (account,) = {control.props["account"] for control in self.controls.values()}
        prefix = f"{account}."
        return tuple((name[len(prefix):], value) for name, value in self.suite_properties if name.startswith(prefix))


def _outcome(case: ET.Element) -> str:
    for tag in ("failure", "error", "skipped"):
        if case.find(tag) is not None:
            return {"failure": "failed", "error": "error", "skipped": "skipped"}[tag]
    return "passed"


def _message(case: ET.Element) -> str:
    for tag in ("failure", "error"):
        element = case.find(tag)
        if element is not None:
            return f"{element.get('message', '')}\n{element.text or ''}"
    return ""


def read_junit(path: Path) -> JUnitReport:
    """Parse ``path``; test cases are keyed by their ``check`` property (one account per run)."""
    root = ET.parse(path).getroot()
    suite = root if root.tag == "testsuite" else root.find("testsuite")
    assert suite is not None, f"{path}: no testsuite element"
    controls: Dict[str, ControlOutcome] = {}
    for case in suite.iter("testcase"):
        props = tuple((p.get("name", ""), p.get("value", "")) for p in case.iter("property"))
        outcome = ControlOutcome(name=case.get("name", ""), outcome=_outcome(case), properties=props,
                                 message=_message(case))
        key = outcome.props.get("check", outcome.name)
        assert key not in controls, f"{path}: check {key} appears twice"
        controls[key] = outcome
    suite_props = suite.find("properties")
    pairs = tuple((p.get("name", ""), p.get("value", "")) for p in suite_props) if suite_props is not None else ()
    return JUnitReport(controls=controls, suite_properties=pairs)
