"""Fixtures for the live-path tests: a moto server on 127.0.0.1, dummy credentials, and a way to run pytest-iam
as a user would (a real pytest process with an accounts file, a standard file and ``--junitxml``).

A plain module rather than a ``conftest.py``: test modules import the fixtures they use, so this folder adds no
second top-level ``conftest`` module to the process.

Usage (in a test module)::

    from live_support import aws_environment, moto_endpoint, run_plugin  # noqa: F401 (fixtures)

    def test_x(moto_endpoint, run_plugin):
        with emulated_account("210987654321"):
            world = seed(moto_endpoint)
            result, report = run_plugin(moto_endpoint, extra=["--iam-save-snapshot", "snap"])
"""

from __future__ import annotations

import logging
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Callable, Dict, Iterator, List, Optional, Tuple

import pytest
import yaml

from junit_results import JUnitReport, read_junit

RUN_TIMEOUT_SECONDS = 60
DUMMY_KEY = "testing"  # the only credential any request of these tests carries


def library_check_ids() -> List[str]:
    """Every check of the shipped library, sorted."""
    from pytest_iam.checks import Library

    return sorted(check.id for check in Library.load())


def standard_of_every_check() -> str:
    """A standard file listing every check of the library with its default parameters."""
    return yaml.safe_dump({"standard": "every-check", "controls": [{"check": c} for c in library_check_ids()]})


@pytest.fixture(scope="module")
def moto_endpoint() -> Iterator[str]:
    """A moto server on 127.0.0.1 (random port) for this module, stopped by its handle at the end."""
    from moto.server import ThreadedMotoServer

    from moto.moto_api._internal import moto_api_backend

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    # The emulator's state is process-wide, and S3 bucket names are global across its accounts: each module starts
    # from an empty emulator, so modules that seed the same world can share a worker process.
    moto_api_backend.reset()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    server._server.app = _NoAccessAnalyzer(server._server.app)
    try:
        host, port = server.get_host_and_port()
        yield f"http://{host}:{port}"
    finally:
        server.stop()
        moto_api_backend.reset()


class _NoAccessAnalyzer:
    """moto implements no IAM Access Analyzer and fails its requests with a 500 (retried, with a traceback): answer
    them as an endpoint that does not know the operation does, ``400 UnknownOperationException``."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        if "/access-analyzer/aws4_request" not in environ.get("HTTP_AUTHORIZATION", ""):
            return self.app(environ, start_response)
        body = b'{"__type": "UnknownOperationException", "message": "not served by this emulator"}'
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                           ("x-amzn-ErrorType", "UnknownOperationException"),
                                           ("Content-Length", str(len(body)))])
        return [body]


@contextmanager
def emulated_account(account_id: str) -> Iterator[None]:
    """Make the in-process emulator answer as ``account_id`` for the duration of the block.

    moto keeps its state per process and per account, and other tests of the same process may use (and reset) the
    default account. Each live module seeds and runs inside its own account, within one fixture setup, so no other
    test can run in between.
    """
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("MOTO_ACCOUNT_ID", account_id)
        yield


def _dummy_aws_environment(mp: pytest.MonkeyPatch, home: Optional[Path]) -> None:
    """Dummy credentials only; no shared config, no profile, no proxy between us and 127.0.0.1."""
    for name in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ROLE_ARN",
                 "AWS_WEB_IDENTITY_TOKEN_FILE", "AWS_ENDPOINT_URL", "HTTP_PROXY", "HTTPS_PROXY", "http_proxy",
                 "https_proxy", "ALL_PROXY", "all_proxy"):
        mp.delenv(name, raising=False)
    mp.setenv("AWS_ACCESS_KEY_ID", DUMMY_KEY)
    mp.setenv("AWS_SECRET_ACCESS_KEY", DUMMY_KEY)
    mp.setenv("AWS_DEFAULT_REGION", "us-east-1")
    mp.setenv("NO_PROXY", "127.0.0.1,localhost")
    mp.setenv("no_proxy", "127.0.0.1,localhost")
    if home is not None:
        mp.setenv("AWS_CONFIG_FILE", str(home / "no-aws-config"))
        mp.setenv("AWS_SHARED_CREDENTIALS_FILE", str(home / "no-aws-credentials"))


@pytest.fixture
def aws_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    _dummy_aws_environment(monkeypatch, tmp_path)


def once(cache: Dict[str, Any], what: str, build: Callable[[], Dict[str, Any]]) -> Dict[str, Any]:
    """Fill ``cache`` (a module-scoped dict) with ``build()`` the first time, within one test's setup so no other test
    runs in between; a failure is remembered and fails every later test of the module with the same reason."""
    if "built" not in cache:
        if "failure" in cache:
            pytest.fail(f"{what} failed in an earlier test: {cache['failure']}")
        try:
            cache.update(build())
        except BaseException as exc:
            cache["failure"] = f"{type(exc).__name__}: {str(exc)[:2000]}"
            raise
        cache["built"] = True
    return cache


RunPlugin = Callable[..., Tuple[Any, JUnitReport]]


@pytest.fixture
def run_plugin(pytester: pytest.Pytester, aws_environment: None) -> RunPlugin:
    """Run pytest-iam in a fresh pytest process, in ``pytester``'s folder, with every library check.

    ``run_plugin(URL, extra=["--iam-save-snapshot", "snap"], profile=None, conftest=None)`` writes
    ``iam-accounts.yaml`` (one account ``live`` at ``endpoint_url: URL``) and ``iam_all.yaml``, runs
    ``pytest iam_all.yaml --iam-account=live --junitxml=...`` and returns the ``RunResult`` and the parsed report.
    ``timeout`` (seconds) bounds the run.
    """
    pytester.makefile(".yaml", iam_all=standard_of_every_check())
    runs = {"n": 0}

    def run(endpoint_url: str, extra: Optional[List[str]] = None, profile: Optional[str] = None,
            conftest: Optional[str] = None, timeout: float = RUN_TIMEOUT_SECONDS) -> Tuple[Any, JUnitReport]:
        runs["n"] += 1
        entry: dict = {"endpoint_url": endpoint_url, "regions": ["us-east-1"]}
        if profile:
            entry["profile"] = profile
        pytester.makefile(".yaml", **{"iam-accounts": yaml.safe_dump({"accounts": {"live": entry}})})
        if conftest is not None:
            pytester.makeconftest(conftest)
        xml = pytester.path / f"evidence-{runs['n']}.xml"
        args = ["-p", "no:cacheprovider", "iam_all.yaml", f"--junitxml={xml}",
                "--iam-account=live", "--iam-accounts-file=iam-accounts.yaml"]
        result = pytester.runpytest_subprocess(*args, *(extra or []), timeout=timeout)
        out, err = result.stdout.str()[-3000:], result.stderr.str()[-2000:]
        assert xml.is_file(), f"no JUnit report was written:\n{out}\n{err}"
        return result, read_junit(xml)

    return run
