"""Declared resource fields: the views keep to them, the docs list them, and check files are held to them at load."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest

from pytest_iam import fields
from pytest_iam.checks import CheckDefinitionError, Library, parse_check, run_check
from pytest_iam.inventory import (UTC, AccessKey, AttachedPolicy, Bucket, Grant, Group, InlinePolicy, Instance,
                                  Inventory, ManagedPolicy, MfaDevice, Organization, OrgAccount, OrgUnit, PasswordPolicy,
                                  PublicAccessBlock, Role, Root, Scp, Unread, User)
from pytest_iam.inventory import Analyzer, ServerCertificate, Tag
from pytest_iam.resources import RESOURCE_TYPES, ResourceUnavailable

NOW = dt.datetime(2026, 6, 1, tzinfo=UTC)
ACCT = "111122223333"
DOCS = Path(__file__).resolve().parent.parent / "docs" / "checks.md"
DOC = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:GetObject", "Resource": "*"}]}


def full_inventory() -> Inventory:
    """Every resource type with something in every field, so each declared field shows up in some view."""
    key = AccessKey(slot=1, active=True, last_rotated=NOW, last_used=NOW, last_used_service="s3",
                    last_used_region="eu-west-1")
    mfa = MfaDevice(serial=f"arn:aws:iam::{ACCT}:mfa/x", virtual=True, enabled=NOW)
    attached = AttachedPolicy(arn=f"arn:aws:iam::{ACCT}:policy/P", name="P")
    inline = InlinePolicy(name="inline", document=DOC)
    return Inventory(
        account_name="t", account_id=ACCT, collected_at=NOW, alias="t-alias",
        password_policy=PasswordPolicy(minimum_password_length=14, max_password_age=90, password_reuse_prevention=24),
        root=Root(arn=f"arn:aws:iam::{ACCT}:root", mfa_active=True, mfa_devices=(mfa,), access_keys=(key,),
                  password_enabled=True, password_last_used=NOW),
        users=(User(name="u", arn=f"arn:aws:iam::{ACCT}:user/u", id="AIDAU", path="/", created=NOW,
                    password_enabled=True, password_last_used=NOW, password_last_changed=NOW, mfa_active=True,
                    mfa_devices=(mfa,), access_keys=(key,), groups=("g",), attached_policies=(attached,),
                    inline_policies=(inline,), permissions_boundary=attached.arn, tags=(Tag("team", "a"),)),),
        groups=(Group(name="g", arn=f"arn:aws:iam::{ACCT}:group/g", id="AGPAG", path="/",
                      attached_policies=(attached,), inline_policies=(inline,)),),
        roles=(Role(name="r", arn=f"arn:aws:iam::{ACCT}:role/r", id="AROAR", path="/", created=NOW, trust_policy=DOC,
                    attached_policies=(attached,), inline_policies=(inline,), permissions_boundary=attached.arn,
                    last_used=NOW, tags=(Tag("owner", "b"),)),),
        policies=(ManagedPolicy(arn=attached.arn, name="P", path="/", aws_managed=False, default_version_id="v1",
                                document=DOC, attachment_count=1),),
        server_certificates=(ServerCertificate(name="c", arn=f"arn:aws:iam::{ACCT}:server-certificate/c",
                                               expiration=NOW, uploaded=NOW),),
        security_contact_registered=True, access_analyzer_regions=("eu-west-1",),
        access_analyzers=(Analyzer(name="a", arn=f"arn:aws:access-analyzer:eu-west-1:{ACCT}:analyzer/a",
                                   region="eu-west-1", type="ACCOUNT", status="ACTIVE"),),
        buckets=(Bucket(name="b", arn="arn:aws:s3:::b", region="eu-west-1", created=NOW, policy=DOC,
                        public_access_block=PublicAccessBlock(),
                        acl_grants=(Grant(grantee_type="CanonicalUser", permission="READ", grantee="abc"),
                                    Grant(grantee_type="Group", permission="READ",
                                          grantee="http://acs.amazonaws.com/groups/global/AllUsers")),
                        versioning="Enabled", mfa_delete=False),),
        instances=(Instance(id="i-0123456789abcdef0", arn=f"arn:aws:ec2:eu-west-1:{ACCT}:instance/i-0123456789abcdef0",
                            region="eu-west-1", state="running", instance_profile_arn=f"arn:aws:iam::{ACCT}:instance-profile/p",
                            name="web", launched=NOW),),
        instance_regions=("eu-west-1",),
        account_public_access_block=PublicAccessBlock(block_public_acls=True),
        organization=Organization(
            status="member", id="o-abc", management_account_id="999999999999", root_ids=("r-1",),
            units=(OrgUnit(id="ou-1", name="W", parent_id="r-1"),),
            accounts=(OrgAccount(id=ACCT, name="t", email="t@x", status="ACTIVE", parent_id="ou-1"),
                      OrgAccount(id="999999999999", name="m", email="m@x", status="ACTIVE", parent_id="r-1")),
            scps=(Scp(id="p-1", arn="arn:aws:organizations::999999999999:policy/p-1", name="FullAWSAccess",
                      aws_managed=True, content=DOC, targets=("r-1",)),),
            scps_enabled=True),
    )


def unread_inventory() -> Inventory:
    """Facts that could not be read: the views say so with the ``unread`` meta key."""
    gap = Unread("credential_report", "iam:GetCredentialReport", "AccessDenied", "iam:GetCredentialReport",
                 "grant iam:GetCredentialReport")
    denied = Unread("policy", "s3:GetBucketPolicy", "AccessDenied", "s3:GetBucketPolicy", "grant s3:GetBucketPolicy")
    return Inventory(
        account_name="t", account_id=ACCT, collected_at=NOW,
        unread=(gap, Unread("ec2_instances:ap-south-2", "ec2:DescribeInstances", "UnauthorizedOperation",
                            "ec2:DescribeInstances", "grant ec2:DescribeInstances")),
        users=(User(name="u", arn=f"arn:aws:iam::{ACCT}:user/u", id="AIDAU", path="/", created=NOW,
                    password_enabled=None, mfa_active=None, mfa_devices=None, access_keys=None),),
        buckets=(Bucket(name="b", arn="arn:aws:s3:::b", region="eu-west-1", unread=(denied,)),),
        instances=(), instance_regions=("ap-south-2",),  # a region whose instances could not be read
        organization=Organization(status="not_in_organization"),
    )


def _check_views(inventory: Inventory) -> dict:
    seen: dict = {name: set() for name in RESOURCE_TYPES}
    for name, build in RESOURCE_TYPES.items():
        declared = set(fields.resource_type(name).names)
        try:
            views = build(inventory)
        except ResourceUnavailable:  # a type that cannot be listed on this inventory is not this test's subject
            continue
        for view in views:
            keys = set(view) - {fields.UNREAD}
            assert keys <= declared, f"{name}: undeclared view keys {sorted(keys - declared)}"
            for unread_field in view.get(fields.UNREAD, {}):
                assert unread_field in declared, f"{name}: unread names an undeclared field {unread_field!r}"
            seen[name] |= keys
    return seen


def test_every_view_key_is_declared_and_every_declared_field_appears() -> None:
    seen = _check_views(full_inventory())
    _check_views(unread_inventory())
    for name, rtype in fields.RESOURCE_TYPES.items():
        missing = set(rtype.names) - seen[name]
        assert not missing, f"{name}: declared but in no view: {sorted(missing)}"


def test_the_demo_account_views_keep_to_the_declarations(demo_inventory: Inventory) -> None:
    seen = _check_views(demo_inventory)
    assert seen["users"] and seen["roles"] and seen["buckets"] and seen["org_accounts"]


def test_sub_fields_of_the_views_are_declared() -> None:
    inv = full_inventory()
    for name, rtype in fields.RESOURCE_TYPES.items():
        for view in RESOURCE_TYPES[name](inv):
            for f in rtype.fields:
                value = view.get(f.name)
                if f.structured and value:
                    items = value if f.type == "list" else [value]
                    for item in items:
                        assert set(item) == {s.name for s in f.fields}, f"{name}.{f.name}"


def test_the_docs_list_every_declared_field() -> None:
    text = DOCS.read_text()
    for name, rtype in fields.RESOURCE_TYPES.items():
        match = re.search(rf"^### `{name}`.*?(?=^#)", text, re.S | re.M)
        assert match, f"docs/checks.md has no section for {name}"
        for path, f in fields.field_paths(rtype):
            assert f"| `{path}` | {f.type} |" in match.group(0), f"docs/checks.md: {name} does not list {path}"


# --- the loader holds keys and reasons to the declarations -------------------------------------------------------------

def team_check(**overrides) -> dict:
    data = {"id": "team-console-mfa", "title": "Console users have MFA", "severity": "high", "resource": "users",
            "rationale": "r", "remediation": "r", "frameworks": {"team": ["1"]},
            "select": [{"key": "password_enabled", "op": "eq", "value": True}],
            "require": [{"key": "mfa_active", "op": "eq", "value": True, "reason": "console password without MFA"}],
            "parameters": {"limit": {"type": "integer", "default": 1, "description": "a limit"}}}
    data.update(overrides)
    return data


@pytest.mark.parametrize("overrides, message", [
    ({"select": [{"key": "pasword_enabled", "op": "eq", "value": True}]},
     "team.yaml: select[0].key: 'pasword_enabled' is not a field of users; did you mean 'password_enabled'?"),
    ({"require": [{"key": "length(group)", "op": "eq", "value": 0}]},
     "team.yaml: require[0].key: 'length(group)': 'group' is not a field of users; did you mean 'groups'?"),
    ({"resource": "account", "select": [], "require": [{"key": "password_policy.minimum_lenght", "op": "ge", "value": 14}]},
     "'minimum_lenght' is not a field of password_policy; did you mean 'minimum_password_length'?"),
    ({"require": [{"key": "access_keys[].last_rotatd", "value": "present"}]},
     "'last_rotatd' is not a field of access_keys[]; did you mean 'last_rotated'?"),
    ({"require": [{"key": "length(access_keys[?last_used == null])", "op": "eq", "value": 0}]},
     "'null' is not a field of access_keys[]; write `null` (in backquotes) for the literal"),
    ({"require": [{"key": "access_keys.slot", "op": "eq", "value": 1}]},
     "access_keys is a list: write access_keys[].slot to read 'slot' of each item"),
    ({"require": [{"key": "mfa_active.serial", "value": "present"}]},
     "mfa_active is a boolean: it has no field 'serial'"),
    ({"require": [{"key": "mfa_active", "op": "eq", "value": True, "reason": "{nmae} has no MFA"}]},
     "team.yaml: require[0].reason: {nmae} is not a field of users or a parameter; did you mean 'name'?"),
    ({"require": [{"key": "mfa_active", "op": "eq", "value": True, "reason": "{unread}"}]},
     "require[0].reason: {unread} is not a field of users or a parameter"),
    ({"require": [{"key": "mfa_active", "op": "eq", "value": True, "reason": "age {age}"}]},
     "require[0].reason: {age} is not a field of users or a parameter"),
    ({"require": [{"and": [{"key": "mfa_active", "op": "eq", "value": True}], "reason": "{actual}"}]},
     "require[0].reason: {actual} is not a field of users or a parameter"),
    ({"require": [{"key": "mfa_active", "op": "eq", "value": True, "reason": "{mfa_devices[0][serail]}"}]},
     "{mfa_devices[0][serail]}: 'serail' is not a field of mfa_devices[]; did you mean 'serial'?"),
    ({"require": [{"key": "mfa_active", "op": "eq", "value": True, "reason": "{mfa_devices.serial}"}]},
     "write mfa_devices[serial] to read 'serial', not mfa_devices.serial"),
    ({"require": [{"key": "mfa_active", "op": "eq", "value": True, "reason": "{} is off"}]},
     "require[0].reason: '{}' names nothing"),
    ({"require": [{"predicate": "bucket_not_public"}]},
     "require[0].predicate: predicate 'bucket_not_public' reads 'policy', 'public_access_block', which users do not"),
    ({"require": [{"predicate": "stale_credentials", "reason": "{actua}"}]},
     "{actua} is not a field of users or a parameter; did you mean 'actual'?"),
    ({"resource": "userz"}, "team.yaml: resource: unknown resource type 'userz'; did you mean 'users'?"),
    ({"empty_scope": {"fail": "{reason}: none"}}, "team.yaml: empty_scope.fail: {reason} is not a name this text may use"),
])
def test_a_check_that_reads_what_the_view_does_not_have_is_refused_at_load(overrides, message) -> None:
    with pytest.raises(CheckDefinitionError) as caught:
        parse_check(team_check(**overrides), "team.yaml")
    assert message in str(caught.value)
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("key", [
    "password_enabled", "length(access_keys[?active])", "access_keys[].last_rotated", "mfa_devices[0].serial",
    "length(access_keys[?last_used == `null`])", "attached_policies[*].name", "inline_policies[].document.Statement",
    "max_by(access_keys, &slot).last_used", "@.name", "{n: name, g: groups}", "groups[0]",
])
def test_keys_that_read_declared_fields_load(key) -> None:
    parse_check(team_check(require=[{"key": key, "value": "present"}]), "team.yaml")


def test_reason_templates_may_use_fields_parameters_actual_and_age() -> None:
    parse_check(team_check(require=[
        {"key": "created", "value_type": "age", "op": "le", "value": {"param": "limit"},
         "reason": "{name} is {age} days old, {actual} (limit {limit}); first device {mfa_devices[0][serial]}"},
        {"predicate": "stale_credentials", "reason": "{name}: {actual}"},
    ]), "team.yaml")
    parse_check(team_check(resource="account", select=[], require=[
        {"key": "password_policy", "value": "present",
         "reason": "{password_policy[minimum_password_length]} {label}"}]), "team.yaml")


def test_a_misspelt_select_can_no_longer_pass_with_nothing_evaluated() -> None:
    """The bug this guards against: `select: pasword_enabled` read null for everyone, so nothing was judged."""
    with pytest.raises(CheckDefinitionError, match="did you mean 'password_enabled'"):
        parse_check(team_check(select=[{"key": "pasword_enabled", "op": "eq", "value": True}]), "team.yaml")
    check = parse_check(team_check(), "team.yaml")
    inv = Inventory(account_name="t", account_id=ACCT, collected_at=NOW, users=(
        User(name="web", arn=f"arn:aws:iam::{ACCT}:user/web", id="A", path="/", created=NOW, password_enabled=True),))
    result = run_check(check, inv)
    assert result.outcome == "fail" and result.evaluated == 1


def test_the_shipped_library_loads_and_reads_only_declared_fields() -> None:
    library = Library.load()
    for check in library:
        select_reads, require_reads = check.reads
        rtype = fields.resource_type(check.resource)
        for reads in (*select_reads, *require_reads):
            assert reads is not None, f"{check.id}: a condition reads every field"
            assert set(reads) <= set(rtype.names), check.id
