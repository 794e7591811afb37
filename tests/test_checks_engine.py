"""The check engine on hand-built inventories: filters, ages, parameters, predicates, waivers, missing facts."""

from __future__ import annotations

import datetime as dt

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_iam.checks import ERROR, FAIL, PASS, WAIVED, CheckDefinitionError, Library, parse_check, run_check
from pytest_iam.inventory import (UTC, AccessKey, Inventory, MfaDevice, Organization, PasswordPolicy, Root, Unread,
                                  User)
from pytest_iam.standards import Control, Waiver, apply_waivers

NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)
ACCT = "111122223333"
LIB = Library.load()
REPORT_DENIED = Unread("credential_report", "iam:GetCredentialReport", "AccessDenied", "iam:GetCredentialReport",
                       "grant iam:GetCredentialReport")


def days_ago(n: float) -> dt.datetime:
    return NOW - dt.timedelta(days=n)


def user(name: str, **kw) -> User:
    return User(name=name, arn=f"arn:aws:iam::{ACCT}:user/{name}", id=f"AIDA{name.upper()}", path="/",
                created=kw.pop("created", days_ago(400)), **kw)


def inventory(**kw) -> Inventory:
    return Inventory(account_name="t", account_id=ACCT, collected_at=NOW, **kw)


def failing(check_id: str, inv: Inventory, **params) -> set:
    result = LIB.run(check_id, inv, params)
    assert not result.errors, result.table()
    return {f.label for f in result.failed}


# --- access keys and credentials ---------------------------------------------------------------------------------------

def key(slot: int, age: float, active: bool = True, used: float | None = None) -> AccessKey:
    return AccessKey(slot=slot, active=active, last_rotated=days_ago(age),
                     last_used=days_ago(used) if used is not None else None)


def test_key_rotation_judges_active_keys_only_and_uses_the_parameter() -> None:
    inv = inventory(users=(
        user("old", access_keys=(key(1, 91),)),
        user("edge", access_keys=(key(1, 90),)),           # exactly 90 days: "at most 90" passes
        user("inactive", access_keys=(key(1, 900, active=False),)),
        user("two", access_keys=(key(1, 10), key(2, 200))),
    ))
    assert failing("iam-access-key-rotation", inv) == {"user/old key 1", "user/two key 2"}
    assert failing("iam-access-key-rotation", inv, max_age_days=30) == {"user/old key 1", "user/edge key 1",
                                                                         "user/two key 2"}


def test_ages_keep_their_fraction_of_a_day() -> None:
    """A key 90.5 days old is older than 90 days: ages are not truncated to whole days."""
    inv = inventory(users=(user("half", access_keys=(key(1, 90.5),)), user("under", access_keys=(key(1, 89.9),))))
    result = LIB.run("iam-access-key-rotation", inv)
    assert [(f.label, f.reason) for f in result.failed] == [("user/half key 1", "active key 1 is 90.5 days old (limit 90)")]
    stale = LIB.run("iam-unused-credentials", inventory(users=(
        user("p", password_enabled=True, password_last_used=days_ago(45.5)),
        user("k", access_keys=(key(1, 300, used=50.25),)),
    )))
    assert {f.label: f.reason for f in stale.failed} == {
        "user/p": "password last used 45.5 days ago (limit 45 days)",
        "user/k": "access key 1 last used 50.2 days ago (limit 45 days)",
    }


def test_unused_credentials_cis_45_days_or_more() -> None:
    inv = inventory(users=(
        user("fresh-never-used", password_enabled=True, password_last_changed=days_ago(10), created=days_ago(10)),
        user("old-never-used", password_enabled=True, password_last_changed=days_ago(60)),
        user("used-45-days-ago", password_enabled=True, password_last_used=days_ago(45)),
        user("used-44-days-ago", password_enabled=True, password_last_used=days_ago(44)),
        user("key-never-used-young", access_keys=(key(1, 20),)),
        user("key-never-used-old", access_keys=(key(1, 50),)),
        user("key-inactive-stale", access_keys=(key(1, 500, active=False, used=400),)),
        user("no-password-stale-fields", password_enabled=False, password_last_used=days_ago(400)),
        user("key-used-45-days-ago", access_keys=(key(1, 300, used=45),)),
        user("key-used-44-days-ago", access_keys=(key(1, 300, used=44),)),
    ))
    assert failing("iam-unused-credentials", inv) == {"user/old-never-used", "user/used-45-days-ago",
                                                       "user/key-never-used-old", "user/key-used-45-days-ago"}


def test_single_active_key_counts_active_keys() -> None:
    inv = inventory(users=(user("a", access_keys=(key(1, 1), key(2, 1, active=False))),
                           user("b", access_keys=(key(1, 1), key(2, 1)))))
    assert failing("iam-user-single-active-key", inv) == {"user/b"}


def test_console_mfa_selects_console_users_only() -> None:
    inv = inventory(users=(user("cli", password_enabled=False), user("web", password_enabled=True),
                           user("webmfa", password_enabled=True, mfa_active=True)))
    result = LIB.run("iam-user-console-mfa", inv)
    assert result.evaluated == 2
    assert {f.label for f in result.failed} == {"user/web"}


# --- root ------------------------------------------------------------------------------------------------------------

def test_root_hardware_mfa_distinguishes_virtual_devices() -> None:
    virtual = Root(arn=f"arn:aws:iam::{ACCT}:root", mfa_active=True,
                   mfa_devices=(MfaDevice(serial=f"arn:aws:iam::{ACCT}:mfa/root-account-mfa-device", virtual=True),))
    hardware = Root(arn=f"arn:aws:iam::{ACCT}:root", mfa_active=True)
    assert failing("iam-root-hardware-mfa", inventory(root=virtual)) == {"root"}
    assert failing("iam-root-hardware-mfa", inventory(root=hardware)) == set()
    assert failing("iam-root-mfa", inventory(root=virtual)) == set()


def test_root_facts_missing_is_an_error_not_a_pass() -> None:
    inv = inventory(root=None, unread=(REPORT_DENIED,))
    result = LIB.run("iam-root-mfa", inv)
    assert not result.passed
    assert [f.status for f in result.findings] == [ERROR]
    assert "AccessDenied" in result.findings[0].reason


# --- password policy -------------------------------------------------------------------------------------------------

def test_password_policy_absent_fails_and_parameters_apply() -> None:
    assert failing("iam-password-policy", inventory(password_policy=None)) == {f"account {ACCT}"}
    good = PasswordPolicy(minimum_password_length=14, password_reuse_prevention=24)
    assert failing("iam-password-policy", inventory(password_policy=good)) == set()
    result = LIB.run("iam-password-policy", inventory(password_policy=good), {"require_symbols": True, "max_age_days": 90})
    assert "symbols are not required" in result.failed[0].reason
    assert "expire within 90 days" in result.failed[0].reason


# --- organizations ---------------------------------------------------------------------------------------------------

def test_unreadable_organization_is_an_error_never_no_scps() -> None:
    inv = inventory(organization=Organization(status="unavailable", reason="ListPolicies: AccessDeniedException"))
    result = LIB.run("org-scps-present", inv)
    assert [f.status for f in result.findings] == [ERROR]
    assert "AccessDenied" in result.findings[0].reason


def test_not_in_an_organization_fails_org_scps_present() -> None:
    inv = inventory(organization=Organization(status="not_in_organization"))
    assert failing("org-scps-present", inv) == {f"account {ACCT}"}


# --- parameters and definitions ----------------------------------------------------------------------------------------

def test_unknown_and_mistyped_parameters_are_refused() -> None:
    with pytest.raises(CheckDefinitionError, match="unknown parameter 'max_age'"):
        LIB.run("iam-access-key-rotation", inventory(), {"max_age": 3})
    with pytest.raises(CheckDefinitionError, match="must be integer"):
        LIB.run("iam-access-key-rotation", inventory(), {"max_age_days": "90"})
    with pytest.raises(CheckDefinitionError, match=">= 1"):
        LIB.run("iam-access-key-rotation", inventory(), {"max_age_days": 0})


def test_every_shipped_check_runs_on_an_empty_inventory() -> None:
    for check in LIB:
        result = run_check(check, inventory(root=Root(arn=f"arn:aws:iam::{ACCT}:root", mfa_active=True),
                                            organization=Organization(status="not_in_organization"),
                                            security_contact_registered=False, access_analyzers=()))
        assert all(f.status in (PASS, FAIL) for f in result.findings), result.table()


# --- waivers ---------------------------------------------------------------------------------------------------------

def test_waivers_apply_until_they_expire() -> None:
    inv = inventory(users=(user("a", access_keys=(key(1, 300),)), user("b", access_keys=(key(1, 300),))))
    check = LIB.get("iam-access-key-rotation")
    control = Control(id="T-1", check=check, params={}, severity="medium", index=0)
    waiver = Waiver(check="iam-access-key-rotation", control=None, resources=(f"arn:aws:iam::{ACCT}:user/a",),
                    reason="vendor", approved_by="sec", expires=dt.date(2026, 6, 30))
    result = run_check(check, inv)
    live = apply_waivers(result, [waiver], control, today=dt.date(2026, 6, 30))
    assert [f.status for f in live.findings] == [WAIVED, FAIL]
    expired = apply_waivers(result, [waiver], control, today=dt.date(2026, 7, 1))
    assert [f.status for f in expired.findings] == [FAIL, FAIL]
    assert "waiver expired 2026-06-30" in expired.findings[0].reason


def test_waivers_apply_only_to_the_accounts_they_name() -> None:
    inv = inventory(users=(user("a", access_keys=(key(1, 300),)),))  # account name "t"
    check = LIB.get("iam-access-key-rotation")
    control = Control(id="T-1", check=check, params={}, severity="medium", index=0)
    result = run_check(check, inv)

    def waiver(*accounts: str) -> Waiver:
        return Waiver(check="iam-access-key-rotation", control=None, resources=(f"arn:aws:iam::{ACCT}:user/*",),
                      reason="vendor", approved_by="sec", expires=dt.date(2026, 6, 30), accounts=accounts)

    today = dt.date(2026, 6, 1)
    assert [f.status for f in apply_waivers(result, [waiver("prod")], control, today=today).findings] == [FAIL]
    assert [f.status for f in apply_waivers(result, [waiver("prod", "t")], control, today=today).findings] == [WAIVED]
    assert [f.status for f in apply_waivers(result, [waiver()], control, today=today).findings] == [WAIVED]


# --- block public access -----------------------------------------------------------------------------------------------

PUBLIC_READ = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                                                       "Resource": "arn:aws:s3:::b/*"}]}


def test_the_account_block_public_access_settings_make_a_public_policy_harmless() -> None:
    from pytest_iam.inventory import Bucket, PublicAccessBlock

    bucket = Bucket(name="b", arn="arn:aws:s3:::b", region="us-east-1", policy=PUBLIC_READ)
    assert failing("s3-no-public-bucket-policy", inventory(buckets=(bucket,))) == {"bucket/b"}
    restricted = inventory(buckets=(bucket,), account_public_access_block=PublicAccessBlock(restrict_public_buckets=True))
    assert failing("s3-no-public-bucket-policy", restricted) == set()
    other_setting = inventory(buckets=(bucket,), account_public_access_block=PublicAccessBlock(block_public_acls=True))
    assert failing("s3-no-public-bucket-policy", other_setting) == {"bucket/b"}


# --- hypothesis: the check-file parser accepts or names the problem, never crashes ---------------------------------------

condition = st.fixed_dictionaries(
    {},
    optional={
        "key": st.sampled_from(["mfa_active", "length(access_keys)", "a[", "", "x.y"]),
        "op": st.sampled_from(["eq", "le", "regex", "bogus"]),
        "value": st.one_of(st.integers(), st.text(max_size=5), st.just({"param": "n"}), st.just({"param": "nope"})),
        "predicate": st.sampled_from(["stale_credentials", "nope", "Bad-Name"]),
        "value_type": st.sampled_from(["age", "size", "weight"]),
    },
)


@settings(max_examples=150, deadline=None)
@given(
    resource=st.sampled_from(["users", "roles", "root", "widgets"]),
    severity=st.sampled_from(["high", "low", "urgent"]),
    require=st.lists(condition, max_size=3),
    default=st.one_of(st.integers(-2, 5), st.text(max_size=3)),
)
def test_check_parser_never_crashes(resource, severity, require, default) -> None:
    data = {"id": "team-x", "title": "A check", "severity": severity, "resource": resource, "rationale": "r",
            "remediation": "r", "frameworks": {"t": ["1"]}, "require": require,
            "parameters": {"n": {"type": "integer", "default": default, "description": "n"}}}
    try:
        check = parse_check(data, "team-x.yaml")
    except CheckDefinitionError as exc:
        assert str(exc).startswith("team-x.yaml:")
        assert "\n" not in str(exc)
        return
    result = run_check(check, inventory(users=(user("u"),)))  # a valid check runs
    assert all(f.status in (PASS, FAIL, ERROR) for f in result.findings)


def test_a_malformed_policy_is_an_error_for_that_resource_only() -> None:
    from pytest_iam.inventory import Bucket

    inv = inventory(buckets=(
        Bucket(name="broken", arn="arn:aws:s3:::broken", region="us-east-1",
               policy={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                              "Action": "s3:GetObject", "Resource": "*",
                                                              "Condition": {"StringEqualz": {"a": "b"}}}]}),
        Bucket(name="open", arn="arn:aws:s3:::open", region="us-east-1",
               policy={"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": "*",
                                                              "Action": "s3:GetObject", "Resource": "*"}]}),
        Bucket(name="closed", arn="arn:aws:s3:::closed", region="us-east-1"),
    ))
    result = LIB.run("s3-no-public-bucket-policy", inv)
    status = {f.label: f.status for f in result.findings}
    assert status == {"bucket/broken": ERROR, "bucket/open": FAIL, "bucket/closed": PASS}
    broken = next(f for f in result.findings if f.label == "bucket/broken")
    assert "StringEqualz" in broken.reason and "\n" not in broken.reason


@pytest.mark.parametrize("reference", [None, ["max_age_days"], {"name": "max_age_days"}])
def test_a_param_reference_that_names_no_parameter_is_refused_at_load(reference) -> None:
    data = {"id": "team-x", "title": "A team check", "severity": "low", "resource": "users", "rationale": "r",
            "remediation": "r", "frameworks": {"t": ["1"]},
            "parameters": {"max_age_days": {"type": "integer", "default": 90, "description": "d"}},
            "require": [{"key": "password_enabled", "op": "eq", "value": {"param": reference}}]}
    with pytest.raises(CheckDefinitionError, match=r"team-x.yaml: require\[0\]: a \{param: \.\.\.\} reference must name"):
        parse_check(data, "team-x.yaml")
