"""Questions auditors ask of policies: who outside can get in, who is an administrator (is it public: ``public.py``).

Usage: ``external_access(trust_policy, {"111122223333", "o-abc123"})``;
``grants_full_admin(policy)``; ``full_admin(principal, identity_policies).allowed``;
``privilege_escalation(principal, identity_policies)``
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Iterable, Mapping, Optional, Sequence

from .engine import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Decision, Reason, Request, evaluate
from .model import Document, Policy, Statement, as_policy
from .patterns import has_wildcard
from .principals import principal_of
from .public import StatementRef, _pinning_conditions, _ref


def open_trust(policy: Document) -> tuple:
    """The Allow statements of a role trust policy that let any AWS principal assume the role: ``Principal: "*"`` or
    ``{"AWS": "*"}`` (or a NotPrincipal), an action that can be ``sts:AssumeRole``, and no fixed value of a
    restricting key (aws:PrincipalOrgID, aws:PrincipalAccount, aws:PrincipalArn, aws:SourceAccount, ...) that pins
    who may call. ``sts:ExternalId`` does not pin: anyone who learns the value can present it (IAM User Guide, "The
    confused deputy problem"); IAM Access Analyzer likewise reports such a role as public.

    Returns ``(StatementRef, reason)`` pairs; empty when nobody but named principals can assume the role."""
    parsed = as_policy(policy, "resource")
    found = []
    for stmt in parsed.statements:
        if stmt.effect != "Allow":
            continue
        if stmt.not_principal is None and (stmt.principal is None or not stmt.principal.star):
            continue
        if not stmt.matches_action("sts:assumerole"):  # Action, or NotAction, as the engine matches it
            continue
        if _pinning_conditions(stmt):
            continue
        who = "every principal but the listed ones" if stmt.not_principal is not None else "any AWS principal ('*')"
        found.append((_ref(parsed, stmt, "trust policy"), f"{stmt.label} lets {who} assume the role with no "
                                                         "condition pinning the caller"))
    return tuple(found)


# ---------------------------------------------------------------------------------------------------------------
# external_access

@dataclass(frozen=True)
class ExternalGrant:
    """A principal outside the zone of trust that a resource or trust policy admits."""

    principal: str
    statement: StatementRef
    actions: tuple
    conditions: Mapping
    requires_external_id: bool
    kept_in_organization: bool
    org_ids: tuple = ()


def _condition_values(stmt: Statement, key: str, bases: tuple) -> Optional[tuple]:
    for c in stmt.conditions:
        if c.key == key and c.operator.base in bases and not c.operator.if_exists and c.operator.qualifier != "all":
            return tuple(str(v) for v in c.values)
    return None


def external_access(policy: Document, zone_of_trust: Iterable[str]) -> tuple:
    """Principals outside ``zone_of_trust`` (account ids and/or ``o-...`` organization ids) that the policy admits."""
    parsed = as_policy(policy, "resource")
    zone = set(zone_of_trust)
    accounts = {z for z in zone if not z.startswith("o-")}
    orgs = {z for z in zone if z.startswith("o-")}
    grants: list[ExternalGrant] = []
    for stmt in parsed.statements:
        if stmt.effect != "Allow":
            continue
        org_ids = _condition_values(stmt, "aws:principalorgid", ("StringEquals", "StringEqualsIgnoreCase")) or ()
        in_org = bool(org_ids) and all(o in orgs for o in org_ids) and not any(has_wildcard(o) for o in org_ids)
        pinned_accounts = (_condition_values(stmt, "aws:principalaccount", ("StringEquals",))
                           or _condition_values(stmt, "aws:sourceaccount", ("StringEquals",)))
        pinned_to_zone = bool(pinned_accounts) and all(a in accounts for a in pinned_accounts)
        external_id = _condition_values(stmt, "sts:externalid", ("StringEquals",))
        requires_external_id = bool(external_id) and all(not has_wildcard(v) and "${" not in v for v in external_id)
        actions = stmt.action.patterns if stmt.action is not None else tuple(
            "NotAction:" + a for a in stmt.not_action.patterns)  # type: ignore[union-attr]
        conditions = stmt.document.get("Condition", {})
        outside: list[str] = []
        if stmt.not_principal is not None:
            outside.append("NotPrincipal:" + ",".join(stmt.not_principal.entries()))
        elif stmt.principal is not None:
            spec = stmt.principal
            if spec.star:
                outside.append("*")
            outside += [f"AWS:{a}" for a in sorted(spec.accounts) if a not in accounts]
            for arn in sorted(spec.arns):
                parts = arn.split(":")
                if len(parts) < 5 or parts[4] not in accounts:
                    outside.append(f"AWS:{arn}")
            outside += [f"Federated:{f}" for f in sorted(spec.federated)]
            outside += [f"CanonicalUser:{c}" for c in sorted(spec.canonical)]
        for principal in outside:
            if pinned_to_zone:
                continue
            grants.append(ExternalGrant(principal, _ref(parsed, stmt), tuple(actions), conditions,
                                        requires_external_id, in_org, tuple(org_ids)))
    return tuple(grants)


# ---------------------------------------------------------------------------------------------------------------
# administrators

def _all_actions_on_all(stmt: Statement) -> bool:
    if stmt.action is None or not any(p in ("*", "*:*") for p in stmt.action.patterns):
        return False
    if stmt.resource is None:
        return stmt.not_resource is None  # SCP/trust statements without Resource cover every resource
    return "*" in stmt.resource.patterns


def grants_full_admin(policy: Document, kind: str = "identity") -> tuple:
    """Allow statements granting ``*`` (or ``*:*``) on Resource ``*``: the CIS "full administrative privileges".

    None when an unconditional Deny of the same policy denies every action on every resource: an explicit deny
    overrides any allow (IAM "Policy evaluation logic"), so such a policy grants nothing. A conditional Deny, or one
    of fewer actions or resources, leaves the Allow reported.
    """
    parsed = as_policy(policy, kind)
    if any(s.effect == "Deny" and not s.has_conditions and _all_actions_on_all(s) for s in parsed.statements):
        return ()
    return tuple(_ref(parsed, s) for s in parsed.statements if s.effect == "Allow" and _all_actions_on_all(s))


def _admin_allows(policies: Sequence[Policy], label: str) -> list[Reason]:
    return [Reason(f"{label}[{i}]" if len(policies) > 1 or label == "identity" else label, s.label, "Allow",
                   "allows every action on every resource" + (" (under conditions)" if s.conditions else ""))
            for i, p in enumerate(policies) for s in p.statements if s.effect == "Allow" and _all_actions_on_all(s)]


def _blocking_denies(policies: Sequence[Policy], label: str, notes: list[Reason]) -> list[Reason]:
    out = []
    for i, p in enumerate(policies):
        for s in p.statements:
            if s.effect != "Deny":
                continue
            if s.not_action is not None and "*" in s.not_action.patterns:
                continue  # denies nothing
            if s.conditions:
                notes.append(Reason(f"{label}[{i}]", s.label, "Deny", "conditional Deny ignored: it removes "
                                    "access only when its condition holds, so the principal remains an administrator "
                                    "otherwise"))
                continue
            out.append(Reason(f"{label}[{i}]", s.label, "Deny", "unconditional Deny removes 'every action on every "
                              "resource'"))
    return out


def full_admin(principal: str, identity_policies: Iterable[Document], permissions_boundary: Optional[Document] = None,
               scps: Optional[Sequence[Sequence[Document]]] = None, session_policy: Optional[Document] = None,
               management_account: Optional[str] = None) -> Decision:
    """Can ``principal`` perform every action on every resource, after boundaries, SCPs and denies?

    Conservative for an auditor: an Allow of ``*`` on ``*`` counts even under conditions, a conditional Deny is
    ignored (noted in the reasons), an unconditional Deny of anything removes "every action on every resource", and a
    NotAction Allow is never "every action".
    """
    who = principal_of(principal)
    identity = [as_policy(d, "identity") for d in identity_policies or ()]
    notes: list[Reason] = []
    denies = _blocking_denies(identity, "identity", notes)
    allows = _admin_allows(identity, "identity")
    missing: list[Reason] = []
    if who.kind == "root":
        allows.append(Reason("identity", None, "Allow", "the account root user holds every permission in its account"))
    if not allows:
        missing.append(Reason("identity", None, None, "no identity policy allows every action on every resource"))
    for label, doc, kind in (("boundary", permissions_boundary, "boundary"), ("session", session_policy, "session")):
        if doc is None or who.kind == "root":
            continue
        parsed = [as_policy(doc, kind)]
        denies += _blocking_denies(parsed, label, notes)
        found = _admin_allows(parsed, label)
        allows += found
        if not found:
            missing.append(Reason(label, None, None,
                                  f"the {label} policy does not allow every action on every resource"))
    scps_apply = bool(scps) and not who.service_linked and not (
        management_account is not None and who.account == management_account)
    if scps_apply:
        for level, docs in enumerate(scps or ()):
            parsed = [as_policy(d, "scp") for d in docs or ()]
            denies += _blocking_denies(parsed, f"scp[level {level}]", notes)
            found = _admin_allows(parsed, f"scp[level {level}]")
            allows += found
            if not found:
                missing.append(Reason(f"scp[level {level}]", None, None, "no SCP at this level allows every action "
                                                                          "on every resource"))
    if denies:
        return Decision(EXPLICIT_DENY, tuple(denies + notes))
    if missing:
        return Decision(IMPLICIT_DENY, tuple(missing + notes))
    return Decision(ALLOW, tuple(allows + notes))


# ---------------------------------------------------------------------------------------------------------------
# privilege escalation

@dataclass(frozen=True)
class EscalationPath:
    """One way for a principal to raise its own privileges: the actions, the resource, the statements allowing them."""

    name: str
    actions: tuple
    resource: str
    statements: tuple
    other_principal: bool = False
    target: Optional[str] = None  # the administrator (role or user) the path reaches, when one was given

    def __str__(self) -> str:
        return f"{self.name}: {' + '.join(self.actions)} on {self.resource}"


def privilege_escalation(principal: str, identity_policies: Iterable[Document],
                         permissions_boundary: Optional[Document] = None,
                         scps: Optional[Sequence[Sequence[Document]]] = None, attached_policy_arns: Iterable[str] = (),
                         group_names: Iterable[str] = (), management_account: Optional[str] = None,
                         admin_targets: Iterable[str] = ()) -> tuple:
    """The ways ``principal`` can grant itself administrator rights, each decided with ``evaluate``.

    Resources named ``.../*`` (``role/*``, ``user/*``, ``group/*``) stand for "some other role/user/group": a
    statement allowing the action on ``*`` or on that prefix is reported; grants naming one specific other principal are
    not (pass that principal's ARN instead). ``admin_targets`` are role and user ARNs known to be administrators: the
    paths through another principal are also probed on each, and a path found is reported with ``target`` set.

    Rewriting a trust policy: the principal writes one that names itself (its role, for a role session), and a
    same-account principal named in a trust policy needs no identity permission to assume the role (STS AssumeRole
    API reference; IAM User Guide, "Cross-account policy evaluation logic"). So ``iam:UpdateAssumeRolePolicy`` alone
    is the path; SCPs, boundaries (for a role named by its ARN) and explicit denies still apply to the assume step.
    """
    who = principal_of(principal)
    policies = [as_policy(d, "identity") for d in identity_policies or ()]
    account = who.account or ""
    partition = (who.arn or "arn:aws").split(":")[1] if who.arn else "aws"
    iam = f"arn:{partition}:iam::{account}"
    paths: list[EscalationPath] = []

    rewritten_trust = None
    if who.principal_arn:
        rewritten_trust = Policy.parse({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": who.principal_arn}, "Action": "sts:AssumeRole"}]},
            "trust", name="the rewritten trust policy")

    def allowed(action: str, resource: str) -> Optional[tuple]:
        trust = rewritten_trust if action == "sts:AssumeRole" else None
        decision = evaluate(Request(principal, action, resource, resource_account=account), policies,
                            resource_policy=trust, permissions_boundary=permissions_boundary, scps=scps,
                            management_account=management_account)
        if not decision.allowed:
            return None
        return tuple(str(r) for r in decision.reasons if r.effect == "Allow")

    def check(name: str, actions: tuple, resource: str, other: bool = False, target: Optional[str] = None) -> None:
        found: list = []
        for action in actions:
            reasons = allowed(action, resource)
            if reasons is None:
                return
            found += reasons
        paths.append(EscalationPath(name, actions, resource, tuple(dict.fromkeys(found)), other, target))

    if who.kind == "user":
        check("attach a managed policy to itself", ("iam:AttachUserPolicy",), who.arn or "")
        check("put an inline policy on itself", ("iam:PutUserPolicy",), who.arn or "")
        check("add itself to any group", ("iam:AddUserToGroup",), f"{iam}:group/*")
        for group in group_names:
            group_arn = f"{iam}:group/{group}"
            check(f"put an inline policy on its group {group}", ("iam:PutGroupPolicy",), group_arn)
            check(f"attach a managed policy to its group {group}", ("iam:AttachGroupPolicy",), group_arn)
    if who.kind in ("role", "session") and who.role_arn:
        check("attach a managed policy to its role", ("iam:AttachRolePolicy",), who.role_arn)
        check("put an inline policy on its role", ("iam:PutRolePolicy",), who.role_arn)
    for arn in attached_policy_arns:
        if ":iam::aws:policy/" in arn:
            continue  # AWS managed policies cannot be changed by customers
        check("write a new default version of an attached customer policy", ("iam:CreatePolicyVersion",), arn)
    # (name for some other principal, name for a known administrator, actions, kind of principal)
    other_paths = (
        ("rewrite a role's trust policy and assume it", "rewrite the trust policy of administrator role {} and "
         "assume it", ("iam:UpdateAssumeRolePolicy", "sts:AssumeRole"), "role"),
        ("create access keys for another user", "create access keys for administrator user {}",
         ("iam:CreateAccessKey",), "user"),
        ("create a console password for another user", "create a console password for administrator user {}",
         ("iam:CreateLoginProfile",), "user"),
        ("change another user's console password", "change the console password of administrator user {}",
         ("iam:UpdateLoginProfile",), "user"),
    )
    for name, _, actions, kind in other_paths:
        check(name, actions, f"{iam}:{kind}/*", other=True)
    # A path's first action is never sts:AssumeRole, so it is asked with no resource policy: only an identity Allow
    # can grant it (the root user aside). A path no identity statement allows, whatever the resource, is allowed on
    # no administrator either, and is not probed on each of them; nor is one on an administrator that no identity
    # Allow statement can match (``candidates``: the statements whose Action and static Resource patterns match).
    possible = [(name, actions, kind) for _, name, actions, kind in other_paths
                if who.kind == "root" or any(s.is_allow and s.matches_action(actions[0].lower())
                                             for p in policies for s in p.statements)]
    own = {who.arn, who.role_arn}
    for target in dict.fromkeys(admin_targets) if possible else ():
        if target in own:
            continue
        for name, actions, kind in possible:
            if f":{kind}/" in target and (who.kind == "root" or any(
                    s.is_allow for p in policies for s in p.candidates(actions[0].lower(), target))):
                check(name.format(target.rsplit("/", 1)[-1]), actions, target, other=True, target=target)
    return tuple(paths)
