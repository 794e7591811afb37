"""Helpers for reading what a pytest run left behind (JUnit XML)."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict

REPO = Path(__file__).resolve().parent.parent


def junit_cases(path: Path) -> Dict[str, dict]:
    """{testcase name: {"outcome": passed|failed|error|skipped, "props": {name: value}, "classname": ...}}."""
    root = ET.parse(path).getroot()
    cases = {}
    for case in root.iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        cases[case.get("name")] = {"outcome": outcome, "props": props, "classname": case.get("classname")}
    return cases


def junit_case_list(path: Path) -> list:
    """Every testcase in file order, as ``{"name", "classname", "outcome", "props"}`` (names may repeat across
    standards, so a list rather than a dict)."""
    root = ET.parse(path).getroot()
    out = []
    for case in root.iter("testcase"):
        outcome = "passed"
        for tag in ("failure", "error", "skipped"):
            if case.find(tag) is not None:
                outcome = {"failure": "failed"}.get(tag, tag)
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        out.append({"name": case.get("name"), "classname": case.get("classname"), "outcome": outcome, "props": props})
    return out


def suite_properties(path: Path) -> list:
    """Every suite property as ``(name, value)``, in order; an account's facts are named ``<account>.<name>``."""
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    props = suite.find("properties")
    return [(p.get("name"), p.get("value")) for p in (props if props is not None else [])]


def account_suite_properties(path: Path, account: str) -> list:
    """One account's suite properties as ``(name, value)`` with the ``<account>.`` prefix taken off."""
    prefix = f"{account}."
    return [(name[len(prefix):], value) for name, value in suite_properties(path) if name.startswith(prefix)]
