"""No silent green: the plugin run as a user runs it, through a proxy that refuses chosen operations or throttles a
seeded share of requests, against a moto server seeded independently. A refused fact makes exactly the controls
that need it errors (JUnit ``<error>``), naming the permission to grant; throttling within the retry budget changes
nothing; and no control ever passes under a fault where it fails without one.

Usage::

    pytest tests/live/test_faults.py

Four runs of the plugin (clean, credential report refused, every bucket policy refused, 30 % throttled), each
bounded by the proxy's request limit and a run timeout.
"""

from __future__ import annotations

from typing import Any, Dict, Iterable, List

import pytest

from fault_proxy import FaultProxy
from junit_results import JUnitReport
from live_support import (  # noqa: F401 (fixtures used by name)
    aws_environment,
    emulated_account,
    library_check_ids,
    moto_endpoint,
    once,
    run_plugin,
)
from seed_independent import UNSERVED_OPERATIONS, SeededWorld, seed

MOTO_ACCOUNT = "510987654321"  # this module's emulated account
REQUEST_LIMIT = 1500  # per run: the seeded world needs about a hundred requests, retries included
THROTTLED_RUN_TIMEOUT = 180  # seconds: botocore's retry backoff after each throttle answer adds up
THROTTLE_SHARE, THROTTLE_SEED = 0.3, 20240601

REPORT_OPERATIONS = ("iam:GenerateCredentialReport", "iam:GetCredentialReport")
# The library checks whose judgement needs the credential report (password, MFA and access-key facts of users).
REPORT_CHECKS = frozenset({"iam-user-console-mfa", "iam-access-key-rotation", "iam-unused-credentials",
                           "iam-user-single-active-key", "iam-no-key-at-console-setup"})
POLICY_CHECK = "s3-no-public-bucket-policy"

RUNS = {
    "clean": dict(refuse=()),
    "report_refused": dict(refuse=REPORT_OPERATIONS),
    "policy_refused": dict(refuse=("s3:GetBucketPolicy",)),
    "throttled": dict(throttle=THROTTLE_SHARE, seed=THROTTLE_SEED),
}


@pytest.fixture(scope="module")
def fault_cache() -> Dict[str, Any]:
    return {}


@pytest.fixture
def runs(fault_cache: Dict[str, Any], moto_endpoint: str, run_plugin: Any) -> Dict[str, Any]:
    """Seed once and run the plugin once per fault (in one setup: no other test runs in between)."""

    def build() -> Dict[str, Any]:
        out: Dict[str, Any] = {}
        with emulated_account(MOTO_ACCOUNT):
            out["world"] = seed(moto_endpoint)
            for name, faults in RUNS.items():
                with FaultProxy(moto_endpoint, limit=REQUEST_LIMIT, **faults) as proxy:
                    timeout = THROTTLED_RUN_TIMEOUT if faults.get("throttle") else 90
                    result, report = run_plugin(proxy.url, timeout=timeout)
                out[name] = {"result": result, "report": report, "proxy": proxy}
        return out

    return once(fault_cache, "the fault runs", build)


def _outcomes(report: JUnitReport) -> Dict[str, str]:
    return {check_id: control.outcome for check_id, control in report.controls.items()}


def _collection_errors(report: JUnitReport) -> List[str]:
    """The run's collection errors besides the emulator's known gap (an API it does not serve, in every run)."""
    return [value for name, value in report.account_properties() if name == "collection_error"
            and not any(operation in value for operation in UNSERVED_OPERATIONS)]


def _text(report: JUnitReport, check_id: str) -> str:
    control = report.controls[check_id]
    return control.message + "\n" + "\n".join(value for _, value in control.properties)


def _changed(runs: Dict[str, Any], name: str, allowed: Iterable[str] = ()) -> Dict[str, tuple]:
    clean, faulty = _outcomes(runs["clean"]["report"]), _outcomes(runs[name]["report"])
    return {c: (clean[c], faulty.get(c)) for c in clean if c not in set(allowed) and clean[c] != faulty.get(c)}


def test_every_run_is_bounded_and_judges_every_library_check(runs: Dict[str, Any]) -> None:
    for name in RUNS:
        proxy: FaultProxy = runs[name]["proxy"]
        assert proxy.overflow == 0 and 0 < len(proxy.requests) <= REQUEST_LIMIT, name
        assert set(runs[name]["report"].controls) == set(library_check_ids()), name


def test_the_clean_run_through_the_proxy_gives_the_seeded_verdicts(runs: Dict[str, Any]) -> None:
    world: SeededWorld = runs["world"]
    report: JUnitReport = runs["clean"]["report"]
    assert not runs["clean"]["proxy"].refused and not runs["clean"]["proxy"].throttled
    assert _collection_errors(report) == []
    for check_id, control in report.controls.items():
        assert control.outcome == world.outcome(check_id), (check_id, control.message[:500])
        assert control.failed_resources == world.expected[check_id], check_id


def test_a_refused_credential_report_makes_exactly_the_report_checks_errors(runs: Dict[str, Any]) -> None:
    report: JUnitReport = runs["report_refused"]["report"]
    assert runs["report_refused"]["proxy"].refused["iam:GenerateCredentialReport"] >= 1
    errors = _collection_errors(report)
    assert any("grant iam:GenerateCredentialReport" in e for e in errors), errors
    for check_id in sorted(REPORT_CHECKS):
        assert report.controls[check_id].outcome == "error", (check_id, report.controls[check_id].message[:500])
        text = _text(report, check_id)
        assert "iam:GenerateCredentialReport" in text or "iam:GetCredentialReport" in text, (check_id, text[:500])
    assert _changed(runs, "report_refused", allowed=REPORT_CHECKS) == {}


def test_refused_bucket_policies_make_the_public_policy_check_an_error_not_a_failure(runs: Dict[str, Any]) -> None:
    report: JUnitReport = runs["policy_refused"]["report"]
    assert runs["policy_refused"]["proxy"].refused["s3:GetBucketPolicy"] >= 1
    control = report.controls[POLICY_CHECK]
    assert control.outcome == "error", control.message[:500]
    assert "s3:GetBucketPolicy" in _text(report, POLICY_CHECK)
    # the other checks that read the bucket policy become errors too (never passes): CIS 2.1.1 and public write
    assert _changed(runs, "policy_refused",
                    allowed={POLICY_CHECK, "s3-deny-insecure-transport", "s3-no-public-write"}) == {}


def test_throttling_within_the_retry_budget_changes_no_verdict(runs: Dict[str, Any]) -> None:
    proxy: FaultProxy = runs["throttled"]["proxy"]
    report: JUnitReport = runs["throttled"]["report"]
    assert sum(proxy.throttled.values()) >= 5, proxy.throttled  # the fault really happened
    assert _collection_errors(report) == []
    assert _changed(runs, "throttled") == {}
    clean = runs["clean"]["report"]
    for check_id, control in report.controls.items():
        assert control.failed_resources == clean.controls[check_id].failed_resources, check_id
        assert control.evaluated == clean.controls[check_id].evaluated, check_id


@pytest.mark.parametrize("name", [n for n in RUNS if n != "clean"])
def test_no_control_passes_under_a_fault_where_it_fails_without_one(runs: Dict[str, Any], name: str) -> None:
    clean, faulty = _outcomes(runs["clean"]["report"]), _outcomes(runs[name]["report"])
    greener = sorted(c for c, outcome in clean.items() if outcome != "passed" and faulty.get(c) == "passed")
    assert greener == []
