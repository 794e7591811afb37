"""Effective access questions over an Inventory, answered by the policy engine.

Usage::

    decision = can(inventory, "arn:aws:iam::123456789012:user/bob", "s3:DeleteBucket", "arn:aws:s3:::prod-data")
    decision.allowed, decision.decision, decision.reasons
    for admin in admins(inventory):
        print(admin.principal, admin.how, admin.detail)

``can`` gathers what AWS would evaluate: the principal's identity policies (a user's own and its groups', or a role's),
its permissions boundary, the SCP chain of its account (root, each OU, the account), the resource's policy when
the inventory holds it (a bucket policy, a role's trust policy) and, for a bucket, the block-public-access settings
in effect (the most restrictive of the bucket's and the account's). A principal of another account is answered for
this account's side only: its own identity policies and SCPs are not in the inventory and are assumed to allow, as
IAM Access Analyzer does (the decision's reasons say so).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any, List, Mapping, Optional, Tuple

from .inventory import ACCOUNT_PUBLIC_ACCESS_BLOCK, ORG_MEMBER, ORG_NONE, Inventory, PublicAccessBlock
from .policy import Decision, Policy, Reason, Request, evaluate, full_admin, privilege_escalation
from .policy.principals import principal_of


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


def _bucket_name(inventory: Inventory, resource: str) -> Optional[str]:
    if resource.startswith("arn:aws:s3:::") or resource.startswith(f"arn:{inventory.partition}:s3:::"):
        return resource.split(":::", 1)[1].split("/", 1)[0]
    return None


def _bucket(inventory: Inventory, name: str) -> Any:
    """The bucket of this account named ``name``; None when the account has no such bucket."""
    if inventory.buckets is None:
        raise IncompleteFacts(f"the buckets of account {inventory.account_id} could not be listed, so the policy of "
                              f"bucket {name} is unknown")
    try:
        return inventory.bucket(name)  # indexed once per inventory
    except KeyError:
        return None


def _resource_policy(inventory: Inventory, action: str, resource: str) -> Any:
    name = _bucket_name(inventory, resource)
    if name is not None:
        bucket = _bucket(inventory, name)
        if bucket is None:
            return None
        gap = bucket.unread_fields().get("policy")
        if gap:
            raise IncompleteFacts(f"the policy of bucket {name} could not be read ({gap})")
        return bucket.policy
    if ":role/" in resource and action.lower().startswith("sts:assumerole"):
        try:
            return inventory.role(resource).trust_policy
        except KeyError:
            return None
    return None


def _block_public_access(inventory: Inventory, resource: str) -> Optional[dict]:
    """S3 Block Public Access in effect for the bucket: the most restrictive of the bucket's and the account's
    settings (S3 User Guide, "Blocking public access"); None for a resource that is not a bucket of this account."""
    name = _bucket_name(inventory, resource)
    bucket = _bucket(inventory, name) if name is not None else None
    if bucket is None:
        return None
    gap = bucket.unread_fields().get("public_access_block")
    if gap:
        raise IncompleteFacts(f"the block-public-access settings of bucket {name} could not be read ({gap})")
    account_gap = inventory.gap(ACCOUNT_PUBLIC_ACCESS_BLOCK)
    if account_gap is not None:
        raise IncompleteFacts(f"the account's block-public-access settings could not be read ({account_gap})")
    effective = bucket.public_access_block or PublicAccessBlock()
    return effective.merged(inventory.account_public_access_block).as_aws()


def _resource_account_of(inventory: Inventory, resource: str) -> Optional[str]:
    """The account a resource ARN names; this account for its buckets; None for ``*`` and AWS-owned ARNs."""
    if _bucket_name(inventory, resource) is not None:
        return inventory.account_id
    parts = resource.split(":", 5)
    if len(parts) >= 5 and parts[0] == "arn" and parts[4] not in ("", "aws"):
        return parts[4]
    return None


def _other_account(inventory: Inventory, principal: str) -> Optional[str]:
    """The account of ``principal`` when it is an IAM principal of another account (an account id, its root ARN, a
    user, role, role-session or federated-user ARN), else None."""
    who = principal_of(principal)
    if who.is_iam and who.account is not None and who.account != inventory.account_id:
        return who.account
    return None


def _assumed_identity(account: str) -> Policy:
    return Policy.parse(ALLOW_ALL, "identity", name=f"assumed: the identity policies of account {account}")


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


def can(inventory: Inventory, principal: str, action: str, resource: str = "*",
        context: Optional[Mapping[str, Any]] = None, ignore_scps: bool = False,
        rcps: Optional[List[list]] = None) -> Decision:
    """Would AWS allow ``principal`` to do ``action`` on ``resource``?

    ``principal``: a user, role or role session of this account, ``"anonymous"``, or a principal of another account
    (its account id or root ARN, a user, role or role-session ARN) asking for a resource of this account. For the
    latter the answer covers this account's side (the resource or trust policy, block public access, ``rcps``); the
    other account's identity policies and SCPs are assumed to allow, as IAM Access Analyzer does, and the reasons say
    so. ``rcps``: the RCP levels that govern this account's resources; by default the organization's, as collected,
    for a resource of this account (when they were not read, the decision's reasons say they were not applied).
    """
    s3 = _bucket_name(inventory, resource) is not None
    resource_account = inventory.account_id if s3 else None
    other = _other_account(inventory, principal)
    if other is not None:
        owner = _resource_account_of(inventory, resource)
        if owner != inventory.account_id:
            raise IncompleteFacts(
                f"{principal} is of account {other}: only requests on resources of account {inventory.account_id} "
                f"can be answered from its inventory, not on {resource!r}")
        resource_account = inventory.account_id
    request = Request(principal=principal, action=action, resource=resource, resource_account=resource_account,
                      context=dict(context or {}))
    unread_rcps = None
    if rcps is None:
        rcps, unread_rcps = _rcp_levels(inventory, resource)
    decision = _decide(inventory, principal, request, other, ignore_scps, rcps)
    if unread_rcps is not None:
        return Decision(decision.decision, decision.reasons + (unread_rcps,))
    return decision


def _rcp_levels(inventory: Inventory, resource: str) -> Tuple[Optional[List[list]], Optional[Reason]]:
    """The organization's RCP levels for a resource of this account, and a note when they were not read.

    RCPs govern the resources of the member accounts they apply to (Organizations user guide, "Resource control
    policies"); a resource of another account, ``*`` or an AWS-owned ARN is not governed by this account's RCPs."""
    org = inventory.organization
    if org.status != ORG_MEMBER or _resource_account_of(inventory, resource) != inventory.account_id:
        return None, None
    chain = org.rcp_chain(inventory.account_id)
    if chain is None:
        return None, Reason("rcp", None, None, "the organization's RCPs were not read, so none was applied")
    return [[p.content for p in level] for level in chain], None


def _decide(inventory: Inventory, principal: str, request: Request, other: Optional[str], ignore_scps: bool,
            rcps: Optional[List[list]]) -> Decision:
    action, resource = request.action, request.resource
    s3 = _bucket_name(inventory, resource) is not None
    resource_policy = _resource_policy(inventory, action, resource)
    anonymous = principal_of(principal).kind == "anonymous"
    public_access = None
    if s3 and resource_policy is not None and (anonymous or other is not None):
        # RestrictPublicBuckets limits only anonymous and cross-account callers
        public_access = _block_public_access(inventory, resource)
    management = inventory.organization.management_account_id
    if anonymous:  # an unsigned request: only the resource policy can allow it
        return evaluate(request, resource_policy=resource_policy, rcps=rcps, management_account=management,
                        block_public_access=public_access)
    if other is not None:
        decision = evaluate(request, identity_policies=[_assumed_identity(other)], resource_policy=resource_policy,
                            rcps=rcps, management_account=management, block_public_access=public_access)
        note = Reason("identity", None, None,
                      f"{principal} is a principal of account {other}: its identity policies and its SCPs are not "
                      "in this inventory and were assumed to allow (as IAM Access Analyzer does); this account's "
                      "side decided")
        return Decision(decision.decision, decision.reasons + (note,))
    who = resolve_principal(inventory, principal)
    return evaluate(
        request,
        identity_policies=list(who.identity_policies),
        resource_policy=resource_policy,
        permissions_boundary=who.boundary,
        scps=scp_levels(inventory, ignore_scps),
        rcps=rcps,
        management_account=management,
        block_public_access=public_access,
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
    """Users and roles that can do ``*`` on ``*`` after boundaries and SCPs, or can grant themselves that: by a
    path of their own (a policy on themselves, their groups, a new version of their policy) or by taking over an
    administrator (rewrite its trust policy and assume it, give themselves its credentials)."""
    scps = scp_levels(inventory, ignore_scps)
    management = inventory.organization.management_account_id
    if inventory.users is None or inventory.roles is None:
        raise IncompleteFacts(f"the users or roles of account {inventory.account_id} could not be read")
    arns = [u.arn for u in inventory.users] + [r.arn for r in inventory.roles if not r.service_linked]
    principals = {arn: resolve_principal(inventory, arn) for arn in arns}
    # a document shared by many principals (a group's or a managed policy) is parsed once, not once per principal
    parsed: dict = {}

    def parse(doc: Any, kind: str) -> Any:
        if doc is None or isinstance(doc, Policy):
            return doc
        key = (id(doc), kind)
        if key not in parsed:
            try:
                policy = Policy.parse(doc, kind)
            except Exception:  # noqa: BLE001
                policy = doc  # left as it is: the analysis reports it where it always has
            parsed[key] = (policy, doc)  # the document is held so that its id stays its own
        return parsed[key][0]

    principals = {arn: replace(who, identity_policies=tuple(parse(d, "identity") for d in who.identity_policies),
                               boundary=parse(who.boundary, "boundary"))
                  for arn, who in principals.items()}
    scps = [[parse(d, "scp") for d in level or ()] for level in scps] if scps else scps
    full: dict = {}
    for arn, who in principals.items():
        decision = full_admin(arn, list(who.identity_policies), who.boundary, scps, management_account=management)
        if decision.allowed:
            full[arn] = Admin(arn, "full", "can do every action on every resource",
                              tuple(str(r) for r in decision.reasons))
    found: List[Admin] = []
    for arn, who in principals.items():
        if arn in full:
            found.append(full[arn])
            continue
        paths = [p for p in privilege_escalation(arn, list(who.identity_policies), who.boundary, scps,
                                                 who.attached_policy_arns, who.group_names, management,
                                                 admin_targets=list(full))
                 if not p.other_principal or p.target is not None]
        if paths:
            found.append(Admin(arn, "escalation", "; ".join(str(p) for p in paths),
                               tuple(s for p in paths for s in p.statements)))
    return tuple(found)
