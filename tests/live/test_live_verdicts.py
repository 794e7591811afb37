"""pytest-iam's verdicts over the live path: a moto server seeded independently, the plugin run as a user runs it
(accounts file with ``endpoint_url``, a standard of every library check, ``--junitxml``), every verdict compared
with the one the seeding script says it must be; then the saved snapshot re-run offline gives the same evidence.

Usage::

    pytest tests/live/test_live_verdicts.py
"""

from __future__ import annotations

import json
import shutil
import socket
from pathlib import Path
from typing import Any, Dict

import pytest

from junit_results import JUnitReport
from live_support import (  # noqa: F401 (fixtures used by name)
    aws_environment,
    emulated_account,
    library_check_ids,
    moto_endpoint,
    once,
    run_plugin,
)
from seed_independent import UNSERVED_OPERATIONS, VACUOUS, SeededWorld, seed

MOTO_ACCOUNT = "210987654321"  # this module's emulated account

# Loaded by the offline run: any botocore session or any socket connection is a failure of "no AWS call at all".
TRIPWIRE_CONFTEST = '''
import socket

import botocore.session


def _no_session(self, *args, **kwargs):
    raise RuntimeError("TRIPWIRE: a botocore session was built")


def _no_connect(self, address):
    raise RuntimeError(f"TRIPWIRE: a connection to {address!r} was attempted")


botocore.session.Session.__init__ = _no_session
socket.socket.connect = _no_connect
socket.socket.connect_ex = _no_connect
'''


def _closed_port() -> int:
    """A port on 127.0.0.1 that nothing listens on (bound, then released)."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="module")
def live_cache() -> Dict[str, Any]:
    return {}


@pytest.fixture
def live(live_cache: Dict[str, Any], moto_endpoint: str, run_plugin: Any,
         tmp_path_factory: pytest.TempPathFactory) -> Dict[str, Any]:
    """Seed the world and run the plugin against it once per module (in one setup: no test runs in between)."""

    def build() -> Dict[str, Any]:
        keep = tmp_path_factory.mktemp("live-run")
        with emulated_account(MOTO_ACCOUNT):
            world = seed(moto_endpoint)
            result, report = run_plugin(moto_endpoint, extra=["--iam-save-snapshot", str(keep / "snapshots")])
        return dict(world=world, result=result, report=report, snapshots=keep / "snapshots")

    return once(live_cache, "the live run", build)


def test_standard_lists_every_library_check_and_each_has_an_expected_verdict(live: Dict[str, Any]) -> None:
    world: SeededWorld = live["world"]
    report: JUnitReport = live["report"]
    assert set(library_check_ids()) == set(world.expected) == set(report.controls)
    assert set(VACUOUS) <= set(world.expected)


@pytest.mark.parametrize("check_id", library_check_ids())
def test_outcome_and_failed_resources_match_the_seeded_world(live: Dict[str, Any], check_id: str) -> None:
    world: SeededWorld = live["world"]
    control = live["report"].controls[check_id]
    assert control.outcome == world.outcome(check_id), control.props
    assert control.failed_resources == world.expected[check_id]
    assert control.evaluated == world.evaluated[check_id]
    assert control.evaluated >= 1, "every check must judge at least one resource of the seeded world"
    props = control.props
    assert props["account"] == "live" and props["account_id"] == world.account_id
    assert props["errors"] == ("1" if check_id in world.errors else "0") and props["waived"] == "0"
    if check_id in world.errors:  # could not be evaluated: the error names what was missing, never a verdict
        assert world.errors[check_id] in control.message, control.message
        assert json.loads(props["error_resources"]) == [f"arn:aws:iam::{world.account_id}:root"]
    assert int(props["failed_resources_count"]) == len(world.expected[check_id])


def test_run_recorded_no_collection_error_and_the_callers_facts(live: Dict[str, Any]) -> None:
    world: SeededWorld = live["world"]
    suite = dict(live["report"].account_properties("live"))
    names = [name for name, _ in live["report"].suite_properties]
    collection_errors = [value for name, value in live["report"].suite_properties if name.endswith("collection_error")]
    assert len(collection_errors) == len(UNSERVED_OPERATIONS), live["report"].suite_properties
    assert all(any(op in error for op in UNSERVED_OPERATIONS) for error in collection_errors), collection_errors
    assert {name.rsplit(".", 1)[0] for name in names if name != "pytest_iam_version"} == {"live"}  # keyed by account
    assert suite["account_id"] == world.account_id
    assert suite["caller_arn"].startswith(f"arn:aws:sts::{world.account_id}:")
    failing = sum(1 for check, c in world.expected.items() if c and check not in world.errors)
    live["result"].assert_outcomes(failed=failing, errors=len(world.errors),
                                   passed=len(world.expected) - failing - len(world.errors))


def test_failure_report_names_each_outside_principal_and_statement(live: Dict[str, Any]) -> None:
    """The terminal report says who can assume a role from outside, in words (not an object's repr)."""
    out = live["result"].stdout.str()
    assert "AWS:999988887777 in resource Statement[0]" in out
    assert "* in resource Statement[0]" in out  # "*" pinned to another organization's id
    assert "ExternalGrant(" not in out


def test_snapshot_rerun_offline_gives_identical_verdicts_and_properties(
    live: Dict[str, Any], run_plugin: Any, tmp_path: Path
) -> None:
    """``--iam-snapshot`` makes no AWS call: no session is built and no socket is opened (a tripwire would say)."""
    snapshots = tmp_path / "snapshots"
    shutil.copytree(live["snapshots"], snapshots)
    assert [p.name for p in snapshots.glob("*.json")], "the live run saved no snapshot"
    dead = f"http://127.0.0.1:{_closed_port()}"
    result, offline = run_plugin(dead, extra=["--iam-snapshot", str(snapshots)], profile="no-such-profile-anywhere",
                                 conftest=TRIPWIRE_CONFTEST)
    assert "TRIPWIRE" not in result.stdout.str() + result.stderr.str()
    online: JUnitReport = live["report"]
    assert set(offline.controls) == set(online.controls)
    for check_id, control in online.controls.items():
        again = offline.controls[check_id]
        assert (again.name, again.outcome) == (control.name, control.outcome)
        assert again.properties == control.properties  # every property, snapshot hash included
    # the suite says the same about the account; only the live run made API calls, and says how many
    assert list(offline.suite_properties) == [p for p in online.suite_properties if p[0] != "live.api_calls"]
    assert "live.api_calls" in dict(online.suite_properties)
    assert "api_calls" not in dict(offline.account_properties("live"))


def test_tripwire_catches_a_live_run_so_its_silence_means_something(
    live: Dict[str, Any], run_plugin: Any
) -> None:
    """Control for the offline test: the same tripwire makes a live run fail on its first AWS session."""
    dead = f"http://127.0.0.1:{_closed_port()}"
    result, report = run_plugin(dead, conftest=TRIPWIRE_CONFTEST)
    assert "TRIPWIRE" in result.stdout.str()
    assert report.controls and all(c.outcome in ("failed", "error") for c in report.controls.values())

