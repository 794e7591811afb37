"""Unit tests of our own checks, on accounts built from scenarios: no AWS account, no --iam-account.

The checks live in team-checks/ (this repository) and in the acme-iam-pack package (installed with pip). Each case is
an account of its own, built in the embedded emulator in about a tenth of a second, so the table can keep growing.
"""

import pytest

ADMIN_GROUP = {"groups": [{"name": "Admins"}, {"name": "Developers"}]}


def admin(name, mfa, console=True, **more):
    signs_in = {"console": {"last_used_days": 1}} if console else {}
    return {"name": name, "groups": ["Admins"], "mfa": mfa, **signs_in, **more}


# --- acme-admins-hardware-mfa (team-checks/) --------------------------------------------------------------------------

@pytest.mark.parametrize("users, failing", [
    pytest.param([admin("alice", "hardware")], [], id="hardware-mfa-passes"),
    pytest.param([admin("bob", "virtual")], ["user/bob"], id="virtual-mfa-fails"),
    pytest.param([admin("bob", "none")], ["user/bob"], id="no-mfa-fails"),
    pytest.param([admin("alice", "hardware"), admin("bob", "virtual")], ["user/bob"], id="only-the-virtual-admin-fails"),
    pytest.param([admin("alice", "hardware"), {"name": "dev", "groups": ["Developers"], "mfa": "none"}], [],
                 id="other-groups-are-not-judged"),
    pytest.param([admin("alice", "hardware", groups=["Developers", "Admins"])], [], id="member-of-two-groups"),
    pytest.param([admin("api", "none", console=False, access_keys=[{"age_days": 5}])], ["user/api"],
                 id="an-admin-without-console-still-needs-mfa"),
    pytest.param([admin(f"ops-{i:02d}", "hardware") for i in range(15)] + [admin("ops-15", "virtual")], ["user/ops-15"],
                 id="one-of-sixteen-admins"),
])
def test_admins_hardware_mfa(iam_scenario, users, failing):
    iam = iam_scenario({**ADMIN_GROUP, "users": users})
    result = iam.check("acme-admins-hardware-mfa")
    assert [f.label for f in result.failed] == failing
    assert bool(result) is not failing
    # a pass is a judgement of every admin, never of nobody
    assert result.evaluated == sum("Admins" in u["groups"] for u in users)


@pytest.mark.parametrize("mfa, reason", [("virtual", "uses a virtual MFA device"), ("none", "no MFA device at all")])
def test_admin_failure_says_why(iam_scenario, mfa, reason):
    result = iam_scenario({**ADMIN_GROUP, "users": [admin("bob", mfa)]}).check("acme-admins-hardware-mfa")
    assert reason in result.failed[0].reason


def test_nobody_in_admins_is_said_out_loud(iam_scenario):
    iam = iam_scenario({**ADMIN_GROUP, "users": [{"name": "dev", "groups": ["Developers"]}]})
    result = iam.check("acme-admins-hardware-mfa")
    assert result.evaluated == 0
    assert result.nothing_to_evaluate == "the one user did not match select (groups contains Admins)"


def test_another_admin_group_by_parameter(iam_scenario):
    iam = iam_scenario({"groups": [{"name": "Ops"}], "users": [admin("carol", "virtual") | {"groups": ["Ops"]}]})
    assert iam.check("acme-admins-hardware-mfa").nothing_to_evaluate   # nobody is in Admins
    assert not iam.check("acme-admins-hardware-mfa", group="Ops")


# --- acme-service-users-no-console (the acme-iam-pack package) ------------------------------------------------------

def test_service_user_with_console_fails(iam_scenario):
    iam = iam_scenario("scenarios/service-users.yaml")
    result = iam.check("acme-service-users-no-console")
    assert [f.label for f in result.failed] == ["user/svc-legacy"]
    passed = iam.check("acme-service-users-no-console", prefix="batch-")   # nobody is named batch-...
    assert passed and passed.evaluated == 3


@pytest.mark.parametrize("user, passes", [
    pytest.param({"name": "svc-deploy", "access_keys": [{"age_days": 3}]}, True, id="keys-only"),
    pytest.param({"name": "svc-report", "console": {"last_used_days": 40}}, False, id="console-used"),
    pytest.param({"name": "svc-old", "console": {}}, False, id="console-never-used"),
    pytest.param({"name": "erin", "console": {"last_used_days": 1}, "mfa": "virtual"}, True, id="a-person"),
    pytest.param({"name": "svc", "console": {"last_used_days": 1}}, True, id="no-dash-no-service-user"),
])
def test_service_users(iam_scenario, user, passes):
    result = iam_scenario({"users": [user]}).check("acme-service-users-no-console")
    assert bool(result) is passes
    assert result.evaluated == 1


# --- our standard's parameters mean what we think --------------------------------------------------------------------

@pytest.mark.parametrize("age_days, passes", [(59, True), (61, False), (400, False)])
def test_key_rotation_at_sixty_days(iam_scenario, age_days, passes):
    """ACME-IAM-04 runs iam-access-key-rotation with max_age_days 60 (iam_baseline.yaml)."""
    iam = iam_scenario({"users": [{"name": "ci", "access_keys": [{"age_days": age_days, "last_used_days": 1}]}]})
    result = iam.check("iam-access-key-rotation", max_age_days=60)
    assert bool(result) is passes and result.evaluated == 1
