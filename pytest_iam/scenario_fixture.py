"""``iam_scenario``: unit-test a team's own checks on accounts built from scenarios, with no AWS account at all.

Usage (in a team's tests; no ``--iam-account`` is needed)::

    def test_rotation_flags_an_old_key(iam_scenario):
        iam = iam_scenario({"users": [{"name": "bob", "access_keys": [{"age_days": 400}]}]})
        assert not iam.check("acme-key-rotation")
        assert iam_scenario("scenarios/clean.yaml").check("acme-key-rotation")   # a path: relative to the test file

A scenario has the schema of the demo account (``pytest_iam/schemas/scenario.json``): users with key ages and last
use, groups, roles, policies, buckets with policies, an organization. Each call builds a new account in the embedded
moto server on 127.0.0.1, with an account id of its own, and returns the same ``iam`` view the ``iam`` fixture gives
(``IamView``: ``check``, ``can``, ``admins`` and the inventory's fields). Documents name the account as
``@account_id@`` and the organization as ``@organization_id@``.

Accounts are isolated: each is a separate emulated account, reached with credentials from ``sts:AssumeRole`` into
it (the emulator serves an assumed role's credentials the role's account). Bucket names share one namespace, as in
AWS: a test's buckets are deleted when the test ends, so the next test may use the same names.
"""

from __future__ import annotations

import itertools
import threading
from pathlib import Path
from typing import Any, Dict, NamedTuple, Optional, Tuple, Union

from botocore.exceptions import ClientError

from . import mock
from .accounts import Account, AccountSpec
from .aws import ClientFactory, emulated_account, emulator_client, emulator_session
from .checks import Library
from .files import load_yaml
from .view import IamView

ACCOUNT_ID_TOKEN = "@account_id@"
FIRST_ACCOUNT = 900_000_000_001  # scenario accounts: 900000000001, 900000000002, ... (one process, one emulator)
_NUMBERS = itertools.count(FIRST_ACCOUNT)
_LOCK = threading.Lock()

Scenario = Union[Dict[str, Any], str, Path]


def next_account_id() -> str:
    with _LOCK:
        return f"{next(_NUMBERS):012d}"


def read_scenario(scenario: Scenario, base_dir: Optional[Path] = None, source: str = "scenario") -> tuple:
    """``(expanded scenario, source)``: a dict as given, or a YAML file (relative to ``base_dir`` when it is there),
    validated against the scenario schema; a ScenarioError names the file (or ``source``) and the place."""
    if isinstance(scenario, (str, Path)):
        path = Path(scenario)
        if not path.is_absolute() and base_dir is not None and (base_dir / path).is_file():
            path = base_dir / path
        if not path.is_file():
            raise mock.ScenarioError(f"{scenario}: no scenario file there")
        data = load_yaml(path, error=mock.ScenarioError)
        source = str(path)
    elif isinstance(scenario, dict):
        data = scenario  # copied as it is prepared: the test's dict is never changed
    else:
        raise mock.ScenarioError(f"{source}: a scenario is a mapping or a YAML file's path, not {type(scenario).__name__}")
    expanded = mock.prepare_scenario(data, source)
    # the checks of names and references, with the default account's id in the place of @account_id@
    mock.check_scenario(mock.with_token(expanded, ACCOUNT_ID_TOKEN, mock.DEFAULT_ACCOUNT_ID), source)
    return expanded, source


class BuiltAccount(NamedTuple):
    """A scenario account of a test: where it lives, the credentials it is reached with, the buckets it made."""

    endpoint: str
    credentials: dict
    buckets: Tuple[str, ...]


class ScenarioAccounts:
    """What the ``iam_scenario`` fixture returns: call it with a scenario to get an account's ``iam`` view."""

    def __init__(self, library: Library, base_dir: Optional[Path] = None, label: str = "scenario") -> None:
        self.library = library
        self.base_dir = base_dir
        self.label = label
        self._accounts: Dict[str, BuiltAccount] = {}  # by account id, until the test ends

    def __call__(self, scenario: Scenario, *, name: Optional[str] = None) -> IamView:
        __tracebackhide__ = True
        try:
            expanded, _source = read_scenario(scenario, self.base_dir, self.label)
        except mock.ScenarioError as exc:  # a scenario the test wrote wrongly: one line, naming the place, once
            import pytest

            raise pytest.fail.Exception(str(exc), pytrace=False) from None
        account_id = next_account_id()
        endpoint = mock.server_endpoint()
        credentials = _credentials_for(endpoint, account_id)
        buckets = tuple(b["name"] for b in expanded.get("buckets", []))
        self._accounts[account_id] = BuiltAccount(endpoint, credentials, buckets)
        spec = AccountSpec(name=name or f"scenario-{account_id}", source=self.label)
        account = Account(spec, _factory=_collector_factory(endpoint))
        with emulated_account(credentials):
            mock.seed(mock.with_token(expanded, ACCOUNT_ID_TOKEN, account_id), endpoint, account_id=account_id,
                      public_images=False)
            # a report generated before collection, as in an account whose report is less than 4 hours old: the
            # collector's first GenerateCredentialReport answers COMPLETE and it fetches the report without a wait
            emulator_client("iam", endpoint).generate_credential_report()
            from .collect import collect_inventory

            inventory = collect_inventory(account)
        return IamView(inventory, self.library, account)

    def close(self) -> None:
        """Delete the buckets each scenario made, so later scenarios may use the same bucket names.

        Only where the emulator still serves that scenario's account: something that emptied it since (moto's own
        ``mock_aws`` starting or stopping, the run's mock account being seeded) leaves nothing of ours, and the
        scenario's credentials would then reach the default account, whose buckets are somebody else's."""
        for account_id, built in self._accounts.items():
            if not built.buckets or mock.running_endpoint() != built.endpoint:
                continue
            with emulated_account(built.credentials):
                if emulator_client("sts", built.endpoint).get_caller_identity()["Account"] != account_id:
                    continue
                s3 = emulator_client("s3", built.endpoint)
                for name in built.buckets:
                    try:
                        s3.delete_bucket(Bucket=name)
                    except ClientError as exc:
                        if exc.response.get("Error", {}).get("Code") != "NoSuchBucket":  # the test deleted it itself
                            raise
        self._accounts.clear()


_FACTORIES: Dict[str, ClientFactory] = {}


def _collector_factory(endpoint: str) -> ClientFactory:
    """The read-only clients every scenario account of the process is collected with, one set per emulator: they
    sign as the account being built (``emulated_account``) and refuse to sign outside its block. Their call counts
    are those of every scenario account together; no report shows them."""
    with _LOCK:
        if endpoint not in _FACTORIES:
            _FACTORIES[endpoint] = ClientFactory(emulator_session(default=None), endpoint_url=endpoint, max_attempts=2)
        return _FACTORIES[endpoint]


def _credentials_for(endpoint: str, account_id: str) -> dict:
    """Credentials the emulator serves ``account_id`` to: an assumed role in that account."""
    sts = emulator_client("sts", endpoint)
    creds = sts.assume_role(RoleArn=f"arn:aws:iam::{account_id}:role/pytest-iam-scenario",
                            RoleSessionName="pytest-iam-scenario")["Credentials"]
    return {"aws_access_key_id": creds["AccessKeyId"], "aws_secret_access_key": creds["SecretAccessKey"],
            "aws_session_token": creds["SessionToken"]}
