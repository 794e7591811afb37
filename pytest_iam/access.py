"""Effective access questions over an Inventory, answered by the policy engine.

Usage::

    decision = can(inventory, "arn:aws:iam::123456789012:user/bob", "s3:DeleteBucket", "arn:aws:s3:::prod-data")
    decision.allowed, decision.decision, decision.reasons
    for admin in admins(inventory):
        print(admin.principal, admin.how, admin.detail)

``can`` gathers what AWS would evaluate: the principal's identity policies (a user's own and its groups', or a role's),
its permissions boundary, the SCP chain of its account (root, each OU, the account), and the resource's policy when
the inventory holds it (a bucket policy, a role's trust policy).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, List, Mapping, Optional, Tuple

from .inventory import ORG_MEMBER, ORG_NONE, Inventory
from .policy import Decision, Request, evaluate, full_admin, privilege_escalation


class IncompleteFacts(Exception):
    """The inventory lacks a fact the answer depends on (message says which and how to get it)."""


@dataclass(frozen=True)
class Principal:
    arn: str
    kind: str  # user / role
    name: str
    identity_policies: Tuple[Any, ...]
    attached_policy_arns: Tuple[str, ...]
    boundary: Any
    group_names: Tuple[str, ...] = ()
    service_linked: bool = False


def _documents(inventory: Inventory, attached: Any, inline: Any, owner: str) -> Tuple[list, list]:
    docs, arns = [], []
    for ref in attached:
        policy = inventory.policy(ref.arn)
        if policy is None or policy.document is None:
            raise IncompleteFacts(
                f"{owner}: the document of attached policy {ref.arn} is not in the inventory "
                "(GetAccountAuthorizationDetails returns every attached policy; was it collected?)"
            )
        docs.append(policy.document)
        arns.append(ref.arn)
    docs.extend(p.document for p in inline)
    return docs, arns


def _boundary(inventory: Inventory, arn: Optional[str], owner: str) -> Any:
    if not arn:
        return None
    policy = inventory.policy(arn)
    if policy is None or policy.document is None:
        raise IncompleteFacts(f"{owner}: the permissions boundary {arn} is not in the inventory")
    return policy.document


def resolve_principal(inventory: Inventory, arn: str) -> Principal:
    """A user ARN, a role ARN or a role session ARN (``arn:aws:sts::ACCT:assumed-role/NAME/SESSION``)."""
    if ":assumed-role/" in arn:
        role_name = arn.split(":assumed-role/", 1)[1].split("/")[0]
        role = inventory.role(role_name)
        return _role_principal(inventory, role)
    if ":user/" in arn:
        user = inventory.user(arn)
        docs, arns = _documents(inventory, user.attached_policies, user.inline_policies, user.arn)
        for group_name in user.groups:
            group = inventory.group(group_name)
            more_docs, more_arns = _documents(inventory, group.attached_policies, group.inline_policies, group.arn)
            docs += more_docs
            arns += more_arns
        return Principal(user.arn, "user", user.name, tuple(docs), tuple(arns),
                         _boundary(inventory, user.permissions_boundary, user.arn), tuple(user.groups))
    if ":role/" in arn:
        return _role_principal(inventory, inventory.role(arn))
    raise IncompleteFacts(f"{arn}: not a user, role or role-session ARN of account {inventory.account_id}")


def _role_principal(inventory: Inventory, role: Any) -> Principal:
    docs, arns = _documents(inventory, role.attached_policies, role.inline_policies, role.arn)
    return Principal(role.arn, "role", role.name, tuple(docs), tuple(arns),
                     _boundary(inventory, role.permissions_boundary, role.arn), service_linked=role.service_linked)


def scp_levels(inventory: Inventory, ignore_scps: bool = False) -> Optional[List[list]]:
    """The SCP documents of the inventory's account, one list per level; [] when not in an organization."""
    org = inventory.organization
    if ignore_scps or org.status == ORG_NONE:
        return []
    if org.status != ORG_MEMBER:
        raise IncompleteFacts(
            f"the SCPs of account {inventory.account_id} are unknown ({org.reason}); configure organization_reader "
            "for the account, or pass ignore_scps=True to answer for the account's own policies only"
        )
    chain = org.scp_chain(inventory.account_id) or []
    return [[p.content for p in level] for level in chain]


def _resource_policy(inventory: Inventory, action: str, resource: str) -> Any:
    if resource.startswith("arn:aws:s3:::") or resource.startswith(f"arn:{inventory.partition}:s3:::"):
        name = resource.split(":::", 1)[1].split("/", 1)[0]
        for bucket in inventory.buckets:
            if bucket.name == name:
                return bucket.policy
        return None
    if ":role/" in resource and action.lower().startswith("sts:assumerole"):
        try:
            return inventory.role(resource).trust_policy
        except KeyError:
            return None
    return None


def can(inventory: Inventory, principal: str, action: str, resource: str = "*",
        context: Optional[Mapping[str, Any]] = None, ignore_scps: bool = False) -> Decision:
    """Would AWS allow ``principal`` (a user, role or role session of this account, or ``"anonymous"``) to do
    ``action`` on ``resource``?"""
    resource_account = inventory.account_id if resource.startswith("arn:") and ":s3:::" in resource else None
    request = Request(principal=principal, action=action, resource=resource, resource_account=resource_account,
                      context=dict(context or {}))
    if principal == "anonymous":  # an unsigned request: only the resource policy can allow it
        return evaluate(request, resource_policy=_resource_policy(inventory, action, resource))
    who = resolve_principal(inventory, principal)
    return evaluate(
        request,
        identity_policies=list(who.identity_policies),
        resource_policy=_resource_policy(inventory, action, resource),
        permissions_boundary=who.boundary,
        scps=scp_levels(inventory, ignore_scps),
        management_account=inventory.organization.management_account_id,
    )


@dataclass(frozen=True)
class Admin:
    """A principal that is an administrator (``how="full"``) or can make itself one (``how="escalation"``)."""

    principal: str
    how: str
    detail: str
    reasons: Tuple[str, ...]

    @property
    def arn(self) -> str:
        return self.principal

    def __str__(self) -> str:
        return f"{self.principal}: {self.detail}"


def admins(inventory: Inventory, ignore_scps: bool = False) -> Tuple[Admin, ...]:
    """Users and roles that can do ``*`` on ``*`` after boundaries and SCPs, or can grant themselves that."""
    scps = scp_levels(inventory, ignore_scps)
    management = inventory.organization.management_account_id
    found: List[Admin] = []
    arns = [u.arn for u in inventory.users] + [r.arn for r in inventory.roles if not r.service_linked]
    for arn in arns:
        who = resolve_principal(inventory, arn)
        decision = full_admin(arn, list(who.identity_policies), who.boundary, scps, management_account=management)
        if decision.allowed:
            found.append(Admin(arn, "full", "can do every action on every resource",
                               tuple(str(r) for r in decision.reasons)))
            continue
        paths = [p for p in privilege_escalation(arn, list(who.identity_policies), who.boundary, scps,
                                                 who.attached_policy_arns, who.group_names, management)
                 if not p.other_principal]
        if paths:
            found.append(Admin(arn, "escalation", "; ".join(str(p) for p in paths),
                               tuple(s for p in paths for s in p.statements)))
    return tuple(found)
