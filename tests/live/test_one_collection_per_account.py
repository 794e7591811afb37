"""One collection per account per run, also with ``-n 2``: every testcase of the account carries the same
``snapshot_sha256``, that is the SHA-256 of the saved snapshot file's bytes, and the summary's API-call count is the
number of requests a recording proxy in front of the emulator really saw."""

from __future__ import annotations

import hashlib
from typing import Any

from live_support import aws_environment, emulated_account, moto_endpoint, run_plugin  # noqa: F401 (fixtures)
from recording_http import RecordingProxy
from seed_independent import seed

MOTO_ACCOUNT = "410987654321"  # this module's emulated account


def test_two_workers_collect_the_account_once(moto_endpoint: str, run_plugin: Any, pytester: Any) -> None:
    with emulated_account(MOTO_ACCOUNT):
        seed(moto_endpoint)  # straight to the emulator: the proxy sees only the plugin's requests
        with RecordingProxy(moto_endpoint, limit=5000, timeout=20) as proxy:
            result, report = run_plugin(proxy.url, extra=["-n", "2", "--iam-save-snapshot", "snap"])
            requests, overflow = proxy.requests, proxy.overflow
    assert overflow == 0
    (snapshot,) = (pytester.path / "snap").glob("*.json")
    file_sha = hashlib.sha256(snapshot.read_bytes()).hexdigest()
    shas = {control.props["snapshot_sha256"] for control in report.controls.values()}
    assert shas == {file_sha}
    suite = dict(report.account_properties("live"))
    assert suite["snapshot_sha256"] == file_sha
    assert int(suite["api_calls"]) == len(requests)
    result.stdout.fnmatch_lines([f"live ({MOTO_ACCOUNT}): * checks, *, {len(requests)} read-only API calls"])
