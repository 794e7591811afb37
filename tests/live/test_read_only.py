"""pytest-iam never writes: a refused call never leaves the process, and a full run only reads.

(a) Mutating calls through ``ClientFactory`` raise ReadOnlyViolation before any request is sent: the factory points at
a recorder on 127.0.0.1 that logs every request it receives, and it receives none (a read through the same factory
does reach it, so the recorder is not deaf).
(b) A full plugin run over every library check, against a seeded moto server behind a recording proxy: every
operation that reached the emulator is a read.

Usage::

    pytest tests/live/test_read_only.py
"""

from __future__ import annotations

from typing import Any, Dict, Iterator, List, Tuple

import boto3
import botocore.session
import pytest
from botocore.exceptions import ClientError
from hypothesis import given, settings
from hypothesis import strategies as st

from live_support import (  # noqa: F401 (fixtures used by name)
    DUMMY_KEY,
    aws_environment,
    emulated_account,
    library_check_ids,
    moto_endpoint,
    once,
    run_plugin,
)
from pytest_iam.aws import ClientFactory, ReadOnlyViolation, is_read_only
from recording_http import READ_PREFIXES, RecordedRequest, Recorder, RecordingProxy
from seed_independent import seed

MOTO_ACCOUNT = "310987654321"  # this module's emulated account
SERVICES = ("iam", "s3", "s3control", "organizations", "sts")


def _factory(endpoint_url: str) -> ClientFactory:
    session = boto3.Session(aws_access_key_id=DUMMY_KEY, aws_secret_access_key=DUMMY_KEY, region_name="us-east-1")
    return ClientFactory(session, endpoint_url=endpoint_url, max_attempts=1)


@pytest.fixture(scope="module")
def recorder() -> Iterator[Recorder]:
    with Recorder(limit=100) as rec:
        yield rec


@pytest.fixture(scope="module")
def factory(recorder: Recorder) -> ClientFactory:
    return _factory(recorder.url)


# Decided here, independently of the guard: reads by name, plus the calls pytest-iam needs that are not named so.
NAMED_READS = {"GenerateCredentialReport", "GetCallerIdentity", "AssumeRole"}
# Get* calls that read data or mint credentials rather than configuration: a read-only auditor must not make them.
DANGEROUS_GETS = {("s3", "GetObject"), ("sts", "GetSessionToken"), ("sts", "GetFederationToken")}


def _mutating_operations() -> List[Tuple[str, str]]:
    """Every (service, operation) of the services pytest-iam talks to that its guard must refuse."""
    out = []
    for service in SERVICES:
        for op in botocore.session.get_session().get_service_model(service).operation_names:
            if (service, op) in DANGEROUS_GETS or not (op.startswith(READ_PREFIXES) or op in NAMED_READS):
                out.append((service, op))
    return sorted(out)


MUTATING = _mutating_operations()


# --- (a) refused before any request ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "service, method, params",
    [
        ("iam", "delete_user", {"UserName": "alice"}),
        ("s3", "put_bucket_policy", {"Bucket": "seeded-public", "Policy": '{"Version":"2012-10-17","Statement":[]}'}),
        ("organizations", "leave_organization", {}),
        ("s3", "get_object", {"Bucket": "seeded-public", "Key": "secret.txt"}),  # a Get* that reads data: refused
        ("sts", "get_session_token", {}),  # a Get* that hands out credentials: refused
    ],
)
def test_refused_call_raises_before_any_request_leaves(recorder: Recorder, factory: ClientFactory,
                                                       service: str, method: str, params: Dict[str, Any]) -> None:
    before = len(recorder.requests)
    with pytest.raises(ReadOnlyViolation, match="read-only"):
        getattr(factory.client(service), method)(**params)
    assert len(recorder.requests) == before
    assert recorder.overflow == 0


def test_every_mutating_operation_of_the_services_is_refused_without_a_request(recorder: Recorder,
                                                                               factory: ClientFactory) -> None:
    """The guard runs on ``before-parameter-build``: even a call with missing parameters is refused, not sent."""
    assert len(MUTATING) > 200, "the service models should list hundreds of write operations"
    before = len(recorder.requests)
    for service, operation in MUTATING:
        client = factory.client(service)
        with pytest.raises(ReadOnlyViolation):
            getattr(client, _method_name(client, operation))()
    assert len(recorder.requests) == before


def _method_name(client: Any, operation: str) -> str:
    return {v: k for k, v in client.meta.method_to_api_mapping.items()}[operation]


def test_a_read_through_the_same_factory_does_reach_the_recorder(recorder: Recorder, factory: ClientFactory) -> None:
    """Control: the recorder sees what leaves the process, so its silence above means nothing left."""
    before = len(recorder.requests)
    with pytest.raises(ClientError, match="RecorderOnly"):
        factory.client("iam").list_users()
    seen = recorder.requests[before:]
    assert [r.operation for r in seen] == ["ListUsers"]
    assert seen[0].access_key_id == DUMMY_KEY
    assert factory.calls[("iam", "ListUsers")] >= 1


UNCONTACTED = _factory("http://127.0.0.1:9")  # the discard port; nothing is ever sent to it


@settings(max_examples=150, deadline=None)
@given(st.sampled_from(MUTATING), st.dictionaries(st.sampled_from(["UserName", "Bucket", "PolicyArn", "AccountId"]),
                                                  st.text(min_size=1, max_size=20), max_size=3))
def test_refused_operations_are_never_counted_as_calls(operation: Tuple[str, str], params: Dict[str, str]) -> None:
    """Whatever the parameters, a refused operation raises and is not counted (``calls`` is evidence of what ran)."""
    service, name = operation
    client = UNCONTACTED.client(service)
    with pytest.raises(ReadOnlyViolation):
        getattr(client, _method_name(client, name))(**params)
    assert UNCONTACTED.calls == {}


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz", min_size=1, max_size=30))
def test_only_list_get_describe_and_named_reads_are_read_only(name: str) -> None:
    allowed_names = {"GenerateCredentialReport", "GetCallerIdentity", "AssumeRole"}
    if not name.startswith(("List", "Get", "Describe")) and name not in allowed_names:
        assert not is_read_only("iam", name) and not is_read_only("s3", name)


# --- (b) a full run only reads ----------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def proxied_cache() -> Dict[str, Any]:
    return {}


@pytest.fixture
def proxied_run(proxied_cache: Dict[str, Any], moto_endpoint: str, run_plugin: Any) -> Dict[str, Any]:
    """Seed the world directly, then run the plugin through a recording proxy (once per module, in one setup)."""

    def build() -> Dict[str, Any]:
        with emulated_account(MOTO_ACCOUNT):
            world = seed(moto_endpoint)  # straight to the emulator: the proxy sees only the plugin's requests
            with RecordingProxy(moto_endpoint, limit=5000, timeout=20) as proxy:
                result, report = run_plugin(proxy.url)
                requests, overflow = proxy.requests, proxy.overflow
        return dict(world=world, result=result, report=report, requests=requests, overflow=overflow)

    return once(proxied_cache, "the proxied run", build)


def test_full_run_reaches_the_emulator_only_with_reads(proxied_run: Dict[str, Any]) -> None:
    requests: Tuple[RecordedRequest, ...] = proxied_run["requests"]
    assert proxied_run["overflow"] == 0
    writes = sorted({(r.method, r.operation) for r in requests if not r.is_read})
    assert writes == [], writes
    distinct = sorted({r.operation for r in requests})
    print(f"\nfull run: {len(requests)} requests, {len(distinct)} distinct operations, all reads: {distinct}")


def test_full_run_was_really_proxied_and_covered_every_service(proxied_run: Dict[str, Any]) -> None:
    """The proxy saw the collectors' calls (so an empty list of writes is evidence), and the verdicts are right."""
    operations = {r.operation for r in proxied_run["requests"]}
    for expected in ("GetCallerIdentity", "GenerateCredentialReport", "GetCredentialReport",
                     "GetAccountAuthorizationDetails", "GetAccountSummary", "DescribeOrganization", "ListPolicies",
                     "GET /", "GET /v20180820/configuration/publicAccessBlock", "GET /seeded-public"):
        assert expected in operations, sorted(operations)
    world, report = proxied_run["world"], proxied_run["report"]
    assert set(report.controls) == set(library_check_ids())
    for check_id, control in report.controls.items():
        assert control.failed_resources == world.expected[check_id], check_id


def test_full_run_sent_only_the_dummy_credential(proxied_run: Dict[str, Any]) -> None:
    keys = {r.access_key_id for r in proxied_run["requests"]}
    assert keys == {DUMMY_KEY}
