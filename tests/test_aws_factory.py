"""The one client factory: user agent, adaptive retries, call counting, the read-only allowlist."""

from __future__ import annotations

import boto3
import pytest
from botocore.awsrequest import AWSResponse

from pytest_iam import __version__
from pytest_iam.aws import ClientFactory, ReadOnlyViolation, emulator_client, is_read_only


class Canned:
    """A botocore before-send handler: records each request and answers it without any network."""

    def __init__(self, status: int = 200, body: bytes = b"") -> None:
        self.requests = []
        self.status = status
        self.body = body

    def __call__(self, request, **_):
        self.requests.append(request)
        return AWSResponse(request.url, self.status, {}, _Raw(self.body))


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


SUMMARY = (b'<GetAccountSummaryResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><GetAccountSummaryResult>'
           b"<SummaryMap><entry><key>Users</key><value>3</value></entry></SummaryMap></GetAccountSummaryResult>"
           b"</GetAccountSummaryResponse>")


def _factory(max_attempts: int = 3) -> ClientFactory:
    session = boto3.Session(aws_access_key_id="AKIDEXAMPLE", aws_secret_access_key="x", region_name="us-east-1")
    return ClientFactory(session, max_attempts=max_attempts)


def test_user_agent_names_the_plugin_and_calls_are_counted() -> None:
    factory = _factory()
    iam = factory.client("iam")
    canned = Canned(body=SUMMARY)
    iam.meta.events.register("before-send.iam", canned)
    assert iam.get_account_summary()["SummaryMap"] == {"Users": 3}
    agent = canned.requests[0].headers["User-Agent"].decode()
    assert f"pytest-iam/{__version__}" in agent
    assert factory.calls == {("iam", "GetAccountSummary"): 1}


def test_throttling_is_retried_with_the_configured_budget() -> None:
    factory = _factory(max_attempts=2)
    iam = factory.client("iam")
    assert iam.meta.config.retries["mode"] == "adaptive"
    throttled = (b'<ErrorResponse><Error><Code>Throttling</Code><Message>Rate exceeded</Message></Error>'
                 b"</ErrorResponse>")
    canned = Canned(status=400, body=throttled)
    iam.meta.events.register("before-send.iam", canned)
    with pytest.raises(iam.exceptions.ClientError, match="Throttling"):
        iam.get_account_summary()
    assert len(canned.requests) == 2        # one call, two attempts in all on the wire
    assert factory.calls == {("iam", "GetAccountSummary"): 1}  # counted once: an API call, not an attempt


@pytest.mark.parametrize("service, operation, expected", [
    ("iam", "ListUsers", True), ("iam", "GetAccountAuthorizationDetails", True),
    ("iam", "GenerateCredentialReport", True), ("sts", "GetCallerIdentity", True), ("sts", "AssumeRole", True),
    ("ec2", "DescribeInstances", True),
    ("iam", "CreateUser", False), ("iam", "DeleteUser", False), ("iam", "UpdateAssumeRolePolicy", False),
    ("iam", "TagUser", False), ("s3", "PutBucketPolicy", False), ("organizations", "LeaveOrganization", False),
    ("sts", "GetSessionToken", False), ("s3", "GetObject", False), ("secretsmanager", "GetSecretValue", False),
    ("iam", "GenerateServiceLastAccessedDetails", False), ("iam", "SimulatePrincipalPolicy", False),
])
def test_the_allowlist(service: str, operation: str, expected: bool) -> None:
    assert is_read_only(service, operation) is expected


def test_a_refused_call_never_reaches_the_wire() -> None:
    factory = _factory()
    iam = factory.client("iam")
    canned = Canned()
    iam.meta.events.register("before-send.iam", canned)
    with pytest.raises(ReadOnlyViolation, match="refused iam:CreateUser"):
        iam.create_user(UserName="x")
    assert canned.requests == [] and factory.calls == {}


@pytest.mark.parametrize("endpoint", ["https://iam.amazonaws.com", "http://10.0.0.5:4566", "http://example.com"])
def test_writable_clients_exist_only_for_a_loopback_emulator(endpoint: str) -> None:
    with pytest.raises(ReadOnlyViolation, match="only for a local emulator"):
        emulator_client("iam", endpoint)
