"""Unit tests of our own checks, on accounts built from scenarios: no AWS account, no --iam-account.

The checks live in team-checks/ (this repository) and in the acme-iam-pack package (installed with pip)."""

import pytest

ADMIN_GROUP = {"groups": [{"name": "Admins"}]}


def admin(name, mfa):
    return {"name": name, "groups": ["Admins"], "console": {"last_used_days": 1}, "mfa": mfa}


def test_admin_with_hardware_mfa_passes(iam_scenario):
    iam = iam_scenario({**ADMIN_GROUP, "users": [admin("alice", "hardware")]})
    assert iam.check("acme-admins-hardware-mfa")


@pytest.mark.parametrize("mfa, reason", [("virtual", "uses a virtual MFA device"), ("none", "no MFA device at all")])
def test_admin_without_hardware_mfa_fails(iam_scenario, mfa, reason):
    iam = iam_scenario({**ADMIN_GROUP, "users": [admin("bob", mfa), {"name": "dev", "mfa": "virtual"}]})
    result = iam.check("acme-admins-hardware-mfa")
    assert not result
    assert [f.label for f in result.failed] == ["user/bob"]       # dev is not an admin: not judged
    assert reason in result.failed[0].reason


def test_another_admin_group_by_parameter(iam_scenario):
    iam = iam_scenario({"groups": [{"name": "Ops"}], "users": [admin("carol", "virtual") | {"groups": ["Ops"]}]})
    assert iam.check("acme-admins-hardware-mfa")                   # not in Admins
    assert not iam.check("acme-admins-hardware-mfa", group="Ops")


def test_service_user_with_console_fails(iam_scenario):
    iam = iam_scenario("scenarios/service-users.yaml")
    result = iam.check("acme-service-users-no-console")
    assert [f.label for f in result.failed] == ["user/svc-legacy"]
    assert iam.check("acme-service-users-no-console", prefix="batch-")   # nobody is named batch-...
