"""``access.admins`` over many principals sharing a few groups and managed policies: lookups by name or ARN are
indexed once per inventory, shared documents are parsed once, and an administrator is probed only by principals
whose identity policies could allow a path to it. The verdicts are those of the per-principal analysis."""

from pytest_iam.access import admins
from pytest_iam.inventory import AttachedPolicy, Group, InlinePolicy, Inventory, ManagedPolicy, Role, User

ACCT = "111122223333"
V12 = "2012-10-17"


def doc(*statements):
    return {"Version": V12, "Statement": list(statements)}


ADMIN = ManagedPolicy(f"arn:aws:iam::{ACCT}:policy/admin", "admin", "/", False, "v1",
                      doc({"Effect": "Allow", "Action": "*", "Resource": "*"}))
READ = ManagedPolicy(f"arn:aws:iam::{ACCT}:policy/read", "read", "/", False, "v1",
                     doc({"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}))
# helpdesk may reset the console password of users named ops-*: an escalation onto an administrator so named
HELPDESK = doc({"Effect": "Allow", "Action": "iam:UpdateLoginProfile",
                "Resource": f"arn:aws:iam::{ACCT}:user/ops-*"})
SELF_SERVICE = doc({"Effect": "Allow", "Action": "iam:CreateAccessKey",
                    "Resource": "arn:aws:iam::*:user/${aws:username}"})


def group(name, attached=(), inline=()):
    return Group(name, f"arn:aws:iam::{ACCT}:group/{name}", name, "/",
                 tuple(AttachedPolicy(p.arn, p.name) for p in attached),
                 tuple(InlinePolicy(f"p{i}", d) for i, d in enumerate(inline)))


def account(users, helpers=True):
    names = [(f"ops-{i:04d}" if i % 5 == 0 else f"user-{i:04d}") for i in range(users)]
    groups = ("admins", "readers", "helpdesk")
    return Inventory(
        "test", ACCT,
        users=tuple(User(n, f"arn:aws:iam::{ACCT}:user/{n}", n, "/", None, groups=(groups[i % 3],))
                    for i, n in enumerate(names)),
        groups=(group("admins", (ADMIN,)), group("readers", (READ,), (SELF_SERVICE,) if helpers else ()), group("helpdesk", (READ,),
                                                                                          (HELPDESK,) if helpers else ())),
        roles=(Role("break-glass", f"arn:aws:iam::{ACCT}:role/break-glass", "r", "/", None,
                    trust_policy=doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                                      "Action": "sts:AssumeRole"}),
                    attached_policies=(AttachedPolicy(ADMIN.arn, ADMIN.name),)),),
        policies=(ADMIN, READ))


def test_lookups_by_name_or_arn_are_indexed_and_keep_the_first_match():
    inv = account(30)
    assert inv.user("user-0001") is inv.users[1]
    assert inv.user(f"arn:aws:iam::{ACCT}:user/ops-0005") is inv.users[5]
    assert inv.group("readers").name == "readers" and inv.policy(READ.arn) is READ and inv.policy("nope") is None
    twice = Inventory("t", ACCT, users=(inv.users[1], inv.users[1]))
    assert twice.user("user-0001") is inv.users[1]
    try:
        inv.user("nobody")
    except KeyError as err:
        assert "no user 'nobody'" in str(err)
    else:
        raise AssertionError("a missing user is a KeyError")


def test_escalation_onto_named_administrators_is_found_and_self_service_is_not():
    inv = account(60)
    found = {a.principal: a for a in admins(inv, ignore_scps=True)}
    by_group = {u.arn: u.groups[0] for u in inv.users}
    full = {arn for arn, g in by_group.items() if g == "admins"} | {inv.roles[0].arn}
    assert {arn for arn, a in found.items() if a.how == "full"} == full
    helpdesk = {arn for arn, g in by_group.items() if g == "helpdesk"}
    assert {arn for arn, a in found.items() if a.how == "escalation"} == helpdesk
    admin_ops = sorted(arn.rsplit("/", 1)[1] for arn in full if "/ops-" in arn)
    some = found[sorted(helpdesk)[0]].detail
    assert all(f"change the console password of administrator user {n}" in some for n in admin_ops)
    assert "user-" not in some.replace(sorted(helpdesk)[0].rsplit("/", 1)[1], "")
