"""The credential report: generation with bounded polling, and the CSV's special values.

Usage: ``pytest tests/test_credential_report.py``

AWS behaviour followed here (IAM User Guide, "Getting credential reports"; IAM API reference for
GenerateCredentialReport / GetCredentialReport):

* GenerateCredentialReport answers STARTED, INPROGRESS or COMPLETE; a report is regenerated at most every 4 hours,
  and a refused generation (LimitExceeded) leaves the existing report readable.
* GetCredentialReport fails with ReportInProgress (404) while a report is being generated.
* In the CSV, ``N/A`` means not applicable: no password, no access key, a key never used. ``no_information`` means a
  password never used, or last used before IAM began tracking it (October 2014). ``not_supported`` means the field
  does not apply (the root user's password_enabled, password_last_changed, password_next_rotation).
* The root user's row is named ``<root_account>``.

Calls go through ``botocore.stub.Stubber`` on a client of the plugin's ClientFactory; ``sleep`` is injected, so the
delays are recorded and nothing really waits.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import string
from typing import Any, Iterator, List, Tuple

import boto3
import pytest
from botocore.stub import Stubber
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_iam.aws import ClientFactory
from pytest_iam.collect.errors import ErrorLog
from pytest_iam.collect.iam import (
    REPORT_POLL_SECONDS,
    ROOT_ROW,
    access_keys_from_row,
    collect_iam,
    fetch_credential_report,
    parse_credential_report,
    parse_report_time,
)

UTC = dt.timezone.utc
ACCOUNT = "111122223333"
GENERATED = dt.datetime(2024, 6, 1, 12, 0, 0, tzinfo=UTC)
COLUMNS = (
    "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,"
    "mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,"
    "access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,"
    "access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,"
    "cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
).split(",")
REPORT = "\n".join([
    ",".join(COLUMNS),
    # root: password fields not_supported, MFA on, no access keys
    f"<root_account>,arn:aws:iam::{ACCOUNT}:root,2019-01-01T00:00:00+00:00,not_supported,2024-05-01T10:00:00+00:00,"
    "not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
    # alice: a password never used (no_information), key 1 used from us-east-1 via s3, key 2 inactive and never used
    f"alice,arn:aws:iam::{ACCOUNT}:user/alice,2023-01-01T00:00:00+00:00,true,no_information,2023-01-02T00:00:00+00:00,"
    "N/A,true,true,2024-02-01T08:30:00+00:00,2024-05-31T23:59:59+00:00,us-east-1,s3,false,2023-03-01T00:00:00+00:00,"
    "N/A,N/A,N/A,false,N/A,false,N/A",
    # bob: no password (N/A), no keys
    f"bob,arn:aws:iam::{ACCOUNT}:user/bob,2023-01-01T00:00:00+00:00,false,N/A,N/A,N/A,false,false,N/A,N/A,N/A,N/A,"
    "false,N/A,N/A,N/A,N/A,false,N/A,false,N/A",
]) + "\n"


@pytest.fixture
def factory() -> ClientFactory:
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name="us-east-1")
    return ClientFactory(session, endpoint_url="http://127.0.0.1:9", max_attempts=1)  # a closed port: no network


@pytest.fixture
def stubbed(factory: ClientFactory) -> Iterator[Tuple[Any, Stubber]]:
    iam = factory.client("iam")
    with Stubber(iam) as stub:
        yield iam, stub
        stub.assert_no_pending_responses()


class Sleeps:
    """An injected ``sleep`` that records the delays asked for."""

    def __init__(self) -> None:
        self.delays: List[float] = []

    def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def report_response(content: str = REPORT) -> dict:
    return {"Content": content.encode(), "ReportFormat": "text/csv", "GeneratedTime": GENERATED}


# --- generation and polling ------------------------------------------------------------------------------------------


def test_started_then_complete_polls_with_the_bounded_delays(stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_response("generate_credential_report", {"State": "STARTED", "Description": "No report exists"}, {})
    stub.add_response("generate_credential_report", {"State": "INPROGRESS"}, {})
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response("get_credential_report", report_response(), {})
    sleeps, errors = Sleeps(), ErrorLog()
    report = fetch_credential_report(iam, errors, sleep=sleeps)
    assert errors.freeze() == ()
    assert report is not None and set(report["rows"]) == {ROOT_ROW, "alice", "bob"}
    assert report["generated"] == GENERATED
    assert sleeps.delays == list(REPORT_POLL_SECONDS[:2])  # no wait before the first call, then the schedule


def test_complete_at_once_does_not_wait(stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response("get_credential_report", report_response(), {})
    sleeps = Sleeps()
    assert fetch_credential_report(iam, ErrorLog(), sleep=sleeps) is not None
    assert sleeps.delays == []


def test_report_in_progress_on_get_is_retried__aws_get_credential_report_404(stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_client_error("get_credential_report", service_error_code="ReportInProgress", http_status_code=404)
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response("get_credential_report", report_response(), {})
    sleeps, errors = Sleeps(), ErrorLog()
    report = fetch_credential_report(iam, errors, sleep=sleeps)
    assert report is not None and "alice" in report["rows"]
    assert errors.freeze() == ()
    assert sleeps.delays == [REPORT_POLL_SECONDS[0]]


def test_limit_exceeded_on_generate_uses_the_existing_report__aws_4_hour_regeneration(
    stubbed: Tuple[Any, Stubber]
) -> None:
    iam, stub = stubbed
    stub.add_client_error("generate_credential_report", service_error_code="LimitExceeded", http_status_code=409)
    stub.add_response("get_credential_report", report_response(), {})
    sleeps, errors = Sleeps(), ErrorLog()
    report = fetch_credential_report(iam, errors, sleep=sleeps)
    assert report is not None and set(report["rows"]) == {ROOT_ROW, "alice", "bob"}
    assert report["generated"] == GENERATED  # the existing report's own time, recorded for the inventory
    assert errors.freeze() == () and sleeps.delays == []


def test_never_complete_gives_up_after_the_bounded_attempts_with_a_clear_error(stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    attempts = 1 + len(REPORT_POLL_SECONDS)
    for _ in range(attempts):
        stub.add_response("generate_credential_report", {"State": "INPROGRESS"}, {})
    sleeps, errors = Sleeps(), ErrorLog()
    assert fetch_credential_report(iam, errors, sleep=sleeps) is None  # one more call would fail: nothing is queued
    assert sleeps.delays == list(REPORT_POLL_SECONDS)
    assert sum(sleeps.delays) < 60
    (error,) = errors.freeze()
    assert (error.service, error.operation) == ("iam", "GetCredentialReport")
    assert "still being generated" in error.message


def test_access_denied_on_generate_is_recorded_at_once(stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_client_error("generate_credential_report", service_error_code="AccessDenied", http_status_code=403)
    sleeps, errors = Sleeps(), ErrorLog()
    assert fetch_credential_report(iam, errors, sleep=sleeps) is None
    assert sleeps.delays == []
    (error,) = errors.freeze()
    assert error.operation == "GenerateCredentialReport" and error.message.startswith("AccessDenied")


def test_generation_is_counted_as_a_read_only_call(factory: ClientFactory, stubbed: Tuple[Any, Stubber]) -> None:
    iam, stub = stubbed
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response("get_credential_report", report_response(), {})
    fetch_credential_report(iam, ErrorLog(), sleep=Sleeps())
    assert factory.calls == {("iam", "GenerateCredentialReport"): 1, ("iam", "GetCredentialReport"): 1}


# --- the CSV's values ------------------------------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["N/A", "no_information", "not_supported", "", None])
def test_special_values_are_not_timestamps__aws_credential_report_format(value: Any) -> None:
    assert parse_report_time(value) is None


def test_timestamps_become_aware_utc() -> None:
    assert parse_report_time("2024-02-01T08:30:00+00:00") == dt.datetime(2024, 2, 1, 8, 30, tzinfo=UTC)
    assert parse_report_time("2024-02-01T08:30:00Z") == dt.datetime(2024, 2, 1, 8, 30, tzinfo=UTC)
    parsed = parse_report_time("2024-02-01T10:30:00+02:00")
    assert parsed == dt.datetime(2024, 2, 1, 8, 30, tzinfo=UTC) and parsed.utcoffset() == dt.timedelta(0)


def test_root_row_is_keyed_by_root_account() -> None:
    rows = parse_credential_report(REPORT.encode())
    assert list(rows) == [ROOT_ROW, "alice", "bob"]
    root = rows[ROOT_ROW]
    assert root["arn"] == f"arn:aws:iam::{ACCOUNT}:root"
    assert root["password_enabled"] == "not_supported"
    assert access_keys_from_row(root) == ()


def test_access_key_slots__na_means_no_key_or_never_used() -> None:
    rows = parse_credential_report(REPORT)
    first, second = access_keys_from_row(rows["alice"])
    assert (first.slot, first.active) == (1, True)
    assert first.last_rotated == dt.datetime(2024, 2, 1, 8, 30, tzinfo=UTC)
    assert first.last_used == dt.datetime(2024, 5, 31, 23, 59, 59, tzinfo=UTC)
    assert (first.last_used_service, first.last_used_region) == ("s3", "us-east-1")
    # an inactive key still exists (it has a rotation date); N/A last use means it was never used
    assert (second.slot, second.active) == (2, False)
    assert second.last_rotated == dt.datetime(2023, 3, 1, tzinfo=UTC)
    assert second.last_used is None and second.last_used_service is None and second.last_used_region is None
    assert access_keys_from_row(rows["bob"]) == ()  # false + N/A in both slots: no key at all


def test_collected_facts__no_information_na_and_not_supported(
    stubbed: Tuple[Any, Stubber], factory: ClientFactory
) -> None:
    """Root and users as collect_iam records them from the report (the root row wins over the account summary)."""
    _, stub = stubbed
    stub.add_response("generate_credential_report", {"State": "COMPLETE"}, {})
    stub.add_response("get_credential_report", report_response(), {})
    summary = {"SummaryMap": {"AccountMFAEnabled": 0, "AccountAccessKeysPresent": 1}}
    stub.add_response("get_account_summary", summary, {})  # root's row in the report wins over these
    stub.add_client_error("get_account_password_policy", service_error_code="NoSuchEntity", http_status_code=404)
    stub.add_response("list_virtual_mfa_devices", {"VirtualMFADevices": [], "IsTruncated": False},
                      {"AssignmentStatus": "Assigned", "MaxItems": 1000})
    created = dt.datetime(2023, 1, 1, tzinfo=UTC)
    users = [{"UserName": n, "UserId": f"AIDA{i:016d}", "Arn": f"arn:aws:iam::{ACCOUNT}:user/{n}", "Path": "/",
              "CreateDate": created} for i, n in enumerate(("alice", "bob", "carol"))]
    stub.add_response("get_account_authorization_details", {"UserDetailList": users, "IsTruncated": False},
                      {"MaxItems": 1000})
    stub.add_response("list_server_certificates", {"ServerCertificateMetadataList": [], "IsTruncated": False}, {})
    errors = ErrorLog()
    facts = collect_iam(factory, ACCOUNT, "aws", errors)
    assert errors.freeze() == ()
    assert facts["credential_report_generated_at"] == GENERATED

    root = facts["root"]
    assert root.source == "credential_report"
    assert root.mfa_active is True and root.access_keys == ()
    assert root.password_enabled is None  # not_supported: neither true nor false
    assert root.password_last_used == dt.datetime(2024, 5, 1, 10, tzinfo=UTC)

    alice, bob, carol = facts["users"]
    assert alice.password_enabled and alice.password_last_used is None  # no_information: never used (or pre-2014)
    assert alice.password_last_changed == dt.datetime(2023, 1, 2, tzinfo=UTC)
    assert alice.mfa_active and [k.active for k in alice.access_keys] == [True, False]
    assert not bob.password_enabled and bob.password_last_used is None and bob.access_keys == ()
    assert bob.in_credential_report
    assert not carol.in_credential_report  # created after the report: not in it, and said so


# --- a round trip through the CSV parser on generated reports ---------------------------------------------------------

IAM_NAME_CHARS = string.ascii_letters + string.digits + "+=,.@_-"  # IAM user names, commas included
SPECIAL = ("N/A", "no_information", "not_supported")
timestamps = st.datetimes(min_value=dt.datetime(2010, 1, 1), max_value=dt.datetime(2030, 12, 31),
                          timezones=st.just(UTC)).map(lambda d: d.replace(microsecond=0))
cells = st.one_of(timestamps.map(lambda d: d.strftime("%Y-%m-%dT%H:%M:%S+00:00")), st.sampled_from(SPECIAL))
booleans = st.sampled_from(["true", "false"])


@st.composite
def key_slot(draw: Any) -> dict:
    present = draw(st.booleans())
    if not present:
        return {"active": "false", "last_rotated": "N/A", "last_used_date": "N/A", "last_used_region": "N/A",
                "last_used_service": "N/A"}
    used = draw(st.booleans())
    return {
        "active": draw(booleans),
        "last_rotated": draw(timestamps).strftime("%Y-%m-%dT%H:%M:%S+00:00"),
        "last_used_date": draw(timestamps).strftime("%Y-%m-%dT%H:%M:%S+00:00") if used else "N/A",
        "last_used_region": draw(st.sampled_from(["us-east-1", "eu-west-1", "N/A"])) if used else "N/A",
        "last_used_service": draw(st.sampled_from(["s3", "iam", "sts", "ec2"])) if used else "N/A",
    }


@st.composite
def report_rows(draw: Any) -> List[dict]:
    names = draw(st.lists(st.text(IAM_NAME_CHARS, min_size=1, max_size=64), min_size=0, max_size=8, unique=True))
    rows = []
    for name in [ROOT_ROW] + names:
        row = {c: draw(cells) for c in COLUMNS}
        row.update(user=name, arn=f"arn:aws:iam::{ACCOUNT}:{'root' if name == ROOT_ROW else 'user/' + name}",
                   password_enabled="not_supported" if name == ROOT_ROW else draw(booleans), mfa_active=draw(booleans))
        for slot in (1, 2):
            for field, value in draw(key_slot()).items():
                row[f"access_key_{slot}_{field}"] = value
        rows.append(row)
    return rows


def to_csv(rows: List[dict]) -> str:
    out = io.StringIO()
    writer = csv.DictWriter(out, fieldnames=COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(rows)
    return out.getvalue()


@settings(max_examples=100, deadline=None)
@given(report_rows())
def test_csv_round_trip_keeps_every_row_and_cell(rows: List[dict]) -> None:
    parsed = parse_credential_report(to_csv(rows).encode())
    assert list(parsed) == [r["user"] for r in rows]
    assert all(parsed[r["user"]] == r for r in rows)


@settings(max_examples=100, deadline=None)
@given(report_rows())
def test_access_keys_follow_the_slots_of_generated_rows(rows: List[dict]) -> None:
    for row in parse_credential_report(to_csv(rows)).values():
        keys = access_keys_from_row(row)
        present = [s for s in (1, 2) if row[f"access_key_{s}_active"] == "true"
                   or row[f"access_key_{s}_last_rotated"] not in SPECIAL]
        assert [k.slot for k in keys] == present
        for key in keys:
            prefix = f"access_key_{key.slot}_"
            assert key.active == (row[prefix + "active"] == "true")
            assert key.last_rotated == parse_report_time(row[prefix + "last_rotated"])
            used = row[prefix + "last_used_date"]
            assert key.last_used == (None if used in SPECIAL else dt.datetime.fromisoformat(used))
            assert key.last_used_service == (None if row[prefix + "last_used_service"] in SPECIAL
                                             else row[prefix + "last_used_service"])


@settings(max_examples=100, deadline=None)
@given(st.datetimes(min_value=dt.datetime(2000, 1, 1), max_value=dt.datetime(2099, 1, 1),
                    timezones=st.sampled_from([UTC, dt.timezone(dt.timedelta(hours=5, minutes=30)),
                                               dt.timezone(dt.timedelta(hours=-8))])))
def test_parse_report_time_keeps_the_instant(moment: dt.datetime) -> None:
    moment = moment.replace(microsecond=0)
    parsed = parse_report_time(moment.isoformat())
    assert parsed == moment and parsed.tzinfo is not None and parsed.utcoffset() == dt.timedelta(0)
