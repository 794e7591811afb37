"""Shared fixtures for pytest-iam's own tests.

Most plugin tests run pytest through ``pytester`` exactly as a user would. Collecting the demo account takes a few
seconds, so ``demo_snapshot`` collects it once per test session and saves a snapshot that later runs can use offline.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Dict

import pytest

from pytest_iam import mock
from pytest_iam.accounts import Account, builtin_spec
from pytest_iam.collect import collect_inventory
from pytest_iam.inventory import Inventory, save_snapshot

REPO = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="session")
def demo_inventory() -> Inventory:
    inventory = collect_inventory(Account(builtin_spec("demo")))
    mock.stop_server()
    return inventory


@pytest.fixture(scope="session")
def demo_snapshot(demo_inventory: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo-snapshot")
    return save_snapshot(demo_inventory, directory)


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


def suite_properties(path: Path) -> list:
    root = ET.parse(path).getroot()
    suite = root.find("testsuite")
    props = suite.find("properties")
    return [(p.get("name"), p.get("value")) for p in (props if props is not None else [])]
