"""The one place boto3 clients are made: read-only guard, retries, user agent, call counting.

Usage::

    factory = ClientFactory(boto3.Session(profile_name="audit"), endpoint_url=None, max_attempts=8)
    iam = factory.client("iam")
    iam.list_users()                  # counted as ("iam", "ListUsers")
    iam.delete_user(UserName="bob")   # raises ReadOnlyViolation before any request is built or sent
    factory.calls                     # Counter({("iam", "ListUsers"): 1})

The guard is registered on ``before-parameter-build``, the first event of every API call: a refused call never gets
as far as serialising, signing or sending a request.
"""

from __future__ import annotations

import contextlib
import threading
from collections import Counter
from typing import Any, Callable, Iterator, Optional
from urllib.parse import urlsplit, urlunsplit

import boto3
import botocore.credentials
import botocore.session
from botocore.config import Config

from . import __version__
from .secrets import remember_secret

READ_ONLY_PREFIXES = ("List", "Get", "Describe")
ALLOWED_OPERATIONS = frozenset(
    {
        ("iam", "GenerateCredentialReport"),
        ("sts", "GetCallerIdentity"),
        ("sts", "AssumeRole"),
    }
)
# Get*/List* operations that do more than read, or hand out secrets: refused even though their names look harmless.
REFUSED_OPERATIONS = frozenset(
    {
        ("sts", "GetSessionToken"),
        ("sts", "GetFederationToken"),
        ("secretsmanager", "GetSecretValue"),
        ("s3", "GetObject"),
        ("ssm", "GetParameter"),
        ("ssm", "GetParameters"),
        ("ssm", "GetParametersByPath"),
        ("kms", "GetParametersForImport"),
        ("iam", "GetSSHPublicKey"),
    }
)

USER_AGENT = f"pytest-iam/{__version__}"


class ReadOnlyViolation(RuntimeError):
    """An attempt to call an AWS operation that is not on the read-only allowlist."""


def is_read_only(service: str, operation: str) -> bool:
    """True when the operation may be called: a List/Get/Describe call or one of the named read-like calls."""
    if (service, operation) in REFUSED_OPERATIONS:
        return False
    if (service, operation) in ALLOWED_OPERATIONS:
        return True
    return operation.startswith(READ_ONLY_PREFIXES)


class CallCounter:
    """Thread-safe count of API calls by (service, operation)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: Counter = Counter()

    def add(self, service: str, operation: str) -> None:
        with self._lock:
            self._counts[(service, operation)] += 1

    def snapshot(self) -> Counter:
        with self._lock:
            return Counter(self._counts)

    def total(self, service: Optional[str] = None) -> int:
        with self._lock:
            return sum(n for (svc, _), n in self._counts.items() if service is None or svc == service)


def _guard(service: str, counter: CallCounter) -> Callable[..., None]:
    def before_parameter_build(model: Any, **_: Any) -> None:
        if not is_read_only(service, model.name):
            raise ReadOnlyViolation(
                f"pytest-iam is read-only: refused {service}:{model.name} before any request was made"
            )
        counter.add(service, model.name)

    return before_parameter_build


def _strip_account_host_prefix(request: Any, **_: Any) -> None:
    """s3control puts ``<account-id>.`` before the host; a custom endpoint (moto, LocalStack) has no such host."""
    parts = urlsplit(request.url)
    host = parts.hostname or ""
    first, _, rest = host.partition(".")
    if first.isdigit() and len(first) == 12 and rest:
        netloc = rest + (f":{parts.port}" if parts.port else "")
        request.url = urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))


class ClientFactory:
    """Makes guarded, counted, retrying clients for one boto3 session."""

    def __init__(
        self,
        session: boto3.Session,
        *,
        endpoint_url: Optional[str] = None,
        max_attempts: int = 8,
        default_region: Optional[str] = None,
        counter: Optional[CallCounter] = None,
    ) -> None:
        self.session = session
        self.endpoint_url = endpoint_url
        self.max_attempts = max_attempts
        self.default_region = default_region or session.region_name or "us-east-1"
        self.counter = counter or CallCounter()
        self._clients: dict = {}
        self._lock = threading.Lock()

    @property
    def calls(self) -> Counter:
        return self.counter.snapshot()

    def config(self) -> Config:
        return Config(
            user_agent_extra=USER_AGENT,
            retries={"mode": "adaptive", "total_max_attempts": self.max_attempts},
            max_pool_connections=16,
            connect_timeout=10,
            read_timeout=60,
        )

    def client(self, service: str, region: Optional[str] = None) -> Any:
        """A client for ``service`` in ``region`` (cached per service and region)."""
        region = region or self.default_region
        key = (service, region)
        with self._lock:
            if key not in self._clients:
                self._clients[key] = self._make(service, region)
            return self._clients[key]

    def _make(self, service: str, region: str) -> Any:
        kwargs: dict = {"region_name": region, "config": self.config()}
        if self.endpoint_url:
            kwargs["endpoint_url"] = self.endpoint_url
        client = self.session.client(service, **kwargs)
        model = client.meta.service_model
        client.meta.events.register_first(f"before-parameter-build.{model.service_id.hyphenize()}",
                                          _guard(model.service_name, self.counter))
        if service == "s3control" and self.endpoint_url:
            client.meta.events.register("before-sign.s3-control", _strip_account_host_prefix)
        return client


def assume_role_session(
    factory: ClientFactory,
    role_arn: str,
    *,
    session_name: str = "pytest-iam",
    external_id: Optional[str] = None,
    duration_seconds: Optional[int] = None,
    region: Optional[str] = None,
    botocore_session: Any = None,
) -> boto3.Session:
    """A session whose credentials come from ``sts:AssumeRole`` through ``factory`` and refresh before they expire.

    Chains work by passing the factory of the previous hop. ``botocore_session`` (a fresh one when None) receives the
    credentials: many sessions can share one data loader, so service models are parsed once.
    """
    sts = factory.client("sts")

    def refresh() -> dict:
        params: dict = {"RoleArn": role_arn, "RoleSessionName": session_name}
        if external_id:
            params["ExternalId"] = external_id
        if duration_seconds:
            params["DurationSeconds"] = duration_seconds
        creds = sts.assume_role(**params)["Credentials"]
        for value in (creds["AccessKeyId"], creds["SecretAccessKey"], creds["SessionToken"]):
            remember_secret(value)  # masked wherever it might later appear (an error message, a report)
        return {
            "access_key": creds["AccessKeyId"],
            "secret_key": creds["SecretAccessKey"],
            "token": creds["SessionToken"],
            "expiry_time": creds["Expiration"].isoformat(),
        }

    credentials = botocore.credentials.DeferredRefreshableCredentials(refresh_using=refresh, method="assume-role")
    botocore_session = botocore_session or botocore.session.get_session()
    botocore_session._credentials = credentials
    return boto3.Session(botocore_session=botocore_session, region_name=region or factory.default_region)



LOOPBACK_HOSTS = ("localhost", "::1")


def is_loopback(endpoint_url: str) -> bool:
    host = urlsplit(endpoint_url).hostname or ""
    return host in LOOPBACK_HOSTS or host.startswith("127.")


_CLIENT_LOCK = threading.Lock()
_ACCOUNT_LOCK = threading.RLock()
_current_account: Optional[dict] = None  # the credentials of the emulated account being worked on, if any
DEFAULT_EMULATOR_CREDENTIALS = {"aws_access_key_id": "mock", "aws_secret_access_key": "mock"}  # its default account


@contextlib.contextmanager
def emulated_account(credentials: dict) -> Iterator[None]:
    """Within this block, emulator clients sign with ``credentials`` (boto3 keyword names): the emulator serves
    the account those credentials belong to (moto: the account of an assumed role, or of an access key it issued).

    The account is the process's, not the thread's: a collector's worker threads sign as it too. One block runs at a
    time (others wait); the same thread may nest them.
    """
    global _current_account
    with _ACCOUNT_LOCK:
        previous, _current_account = _current_account, dict(credentials)
        try:
            yield
        finally:
            _current_account = previous


class NoEmulatedAccount(RuntimeError):
    """A client bound to no default account signed a request outside any ``emulated_account`` block."""


class EmulatedAccountCredentials(botocore.credentials.Credentials):
    """The credentials of whichever account ``emulated_account`` makes current, read each time a request is signed.

    A client of a local emulator holds one of these instead of fixed keys, so one client serves every emulated
    account of the process: a client costs milliseconds and thousands of objects to make (EC2's holds a model of
    hundreds of operations), and a process may build hundreds of scenario accounts. Outside any block, ``default``
    is used, or, when it is None, signing stops with an error rather than reaching some other account.
    """

    def __init__(self, default: Optional[dict] = None) -> None:  # noqa: D107 (no keys of its own to normalise)
        self.default = default
        self.method = "emulated-account"

    def _current(self) -> dict:
        credentials = _current_account or self.default
        if credentials is None:
            raise NoEmulatedAccount("an emulated account's client was used outside its account's block "
                                    "(pytest_iam.aws.emulated_account): it would have reached another account")
        return credentials

    access_key = property(lambda self: self._current()["aws_access_key_id"])
    secret_key = property(lambda self: self._current()["aws_secret_access_key"])
    token = property(lambda self: self._current().get("aws_session_token"))
    account_id = property(lambda self: None)

    def get_frozen_credentials(self) -> botocore.credentials.ReadOnlyCredentials:
        current = self._current()
        return botocore.credentials.ReadOnlyCredentials(current["aws_access_key_id"], current["aws_secret_access_key"],
                                                        current.get("aws_session_token"), None)


_SHARED_LOADER: Any = None


def shared_loader_session() -> botocore.session.Session:
    """A new botocore session on the process's one data loader: service models are parsed once per process, however
    many sessions there are (an organization's members, emulated accounts)."""
    global _SHARED_LOADER
    core = botocore.session.get_session()
    with _CLIENT_LOCK:
        if _SHARED_LOADER is None:
            _SHARED_LOADER = core.get_component("data_loader")
        else:
            core.register_component("data_loader", _SHARED_LOADER)
    return core


def emulator_session(region: str = "us-east-1", default: Optional[dict] = DEFAULT_EMULATOR_CREDENTIALS) -> boto3.Session:
    """A boto3 session for a local emulator that signs as the current emulated account (``emulated_account``;
    ``default`` outside any block, or an error when it is None), on the shared data loader."""
    core = shared_loader_session()
    core._credentials = EmulatedAccountCredentials(default)
    return boto3.Session(botocore_session=core, region_name=region)


_EMULATOR_CLIENTS: "dict[tuple, Any]" = {}  # in order of last use
_EMULATOR_CLIENTS_KEPT = 64


def emulator_client(service: str, endpoint_url: str, region: str = "us-east-1") -> Any:
    """A WRITABLE client, for seeding a local emulator (moto, LocalStack) on a loopback address and nothing else.

    Mock accounts, the test suite and the benchmarks build their worlds with it. It refuses any endpoint that is not
    on 127.0.0.0/8 or localhost, so it can never change a real account. It signs as the current emulated account
    (``emulated_account``), else with the emulator's default keys.
    """
    if not is_loopback(endpoint_url):
        raise ReadOnlyViolation(f"writable clients are only for a local emulator; {endpoint_url!r} is not loopback")
    key = (service, endpoint_url, region)
    with _CLIENT_LOCK:  # a client is costly to make: one per service, region and endpoint
        client = _EMULATOR_CLIENTS.pop(key, None)
        if client is not None:
            _EMULATOR_CLIENTS[key] = client  # the most recently used last
            return client
    client = emulator_session(region).client(
        service, endpoint_url=endpoint_url, region_name=region,
        config=Config(user_agent_extra=USER_AGENT + " seeding", retries={"max_attempts": 2}))
    if service == "s3control":
        client.meta.events.register("before-sign.s3-control", _strip_account_host_prefix)
    with _CLIENT_LOCK:
        _EMULATOR_CLIENTS[key] = client
        while len(_EMULATOR_CLIENTS) > _EMULATOR_CLIENTS_KEPT:
            del _EMULATOR_CLIENTS[next(iter(_EMULATOR_CLIENTS))]
    return client
