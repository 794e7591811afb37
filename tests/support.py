"""Helpers for pytest-iam's own tests: reading what a run left behind (JUnit XML, usage errors), and an account
that cannot be reached."""

from __future__ import annotations

import socket
import xml.etree.ElementTree as ET
from pathlib import Path
from typing import Any, Dict

import pytest

REPO = Path(__file__).resolve().parent.parent


def junit_case_list(path: Path) -> list:
    """Every testcase in file order, as ``{"name", "classname", "outcome", "props"}`` (names may repeat across
    standards, so a list rather than a dict); outcome is passed, failed, error or skipped."""
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


def junit_cases(path: Path) -> Dict[str, dict]:
    """{testcase name: {"outcome": passed|failed|error|skipped, "props": {name: value}, "classname": ...}}."""
    return {case.pop("name"): case for case in junit_case_list(path)}


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


def one_line_error(result: Any, *fragments: str) -> str:
    """The run ended with pytest's usage-error exit code and exactly one ``ERROR:`` line holding every fragment."""
    text = result.stdout.str() + "\n" + result.stderr.str()
    assert result.ret == pytest.ExitCode.USAGE_ERROR, text
    assert "Traceback" not in text
    errors = [line for line in text.splitlines() if line.startswith("ERROR:")]
    assert len(errors) == 1, text
    for fragment in fragments:
        assert fragment in errors[0], errors[0]
    return errors[0]


def free_loopback_port() -> int:
    """A port on 127.0.0.1 with nothing listening."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def dead_account(pytester: Any, monkeypatch: Any, path: str = "") -> None:
    """An accounts file whose account ``dead`` points at a loopback port with nothing listening (tried once)."""
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "testing")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "testing")
    pytester.path.joinpath("iam-accounts.yaml").write_text(
        f"accounts:\n  dead:\n    endpoint_url: http://127.0.0.1:{free_loopback_port()}{path}\n    max_attempts: 1\n")


def shipped_control_count(name: str = "cis-aws-foundations") -> int:
    """How many controls a shipped standard holds (the library grows; tests count from the file, not a literal)."""
    from pytest_iam.checks import Library
    from pytest_iam.standards import load_standard, resolve_standard

    return len(load_standard(resolve_standard(name), Library.load()).controls)
