"""Evaluate one request against every policy that applies, as AWS "Policy evaluation logic" describes.

Usage: ``evaluate(Request("arn:aws:iam::111122223333:user/alice", "s3:GetObject", "arn:aws:s3:::b/k"),
identity_policies=[doc]).allowed``

Order: an explicit Deny anywhere wins (RCPs of the resource's account count by their Deny statements only); then
SCPs of the principal's account (every level needs an Allow); then the resource-based policy and the identity side
(identity policies, permissions boundary, session policy), same-account and cross-account rules.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Iterable, Mapping, NamedTuple, Optional, Sequence

from .model import Document, Policy, Statement, as_policy
from .patterns import Unresolved, resolvable
from .principals import ACCOUNT, DIRECT, ROLE, SERVICE, STAR, Who, principal_of
from .public import is_public


ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "allow", "explicit_deny", "implicit_deny"


@dataclass(frozen=True)
class Request:
    """One request: who (principal), what (action), on what (resource), in whose account, with which context."""

    principal: str
    action: str
    resource: str
    resource_account: Optional[str] = None
    context: Optional[Mapping[str, object]] = None


class Reason(NamedTuple):
    """Why a decision was reached: the policy (kind and index/level), the statement, and a sentence."""

    policy: str
    statement: Optional[str]
    effect: Optional[str]
    message: str

    def __str__(self) -> str:
        where = f"{self.policy} {self.statement}" if self.statement else self.policy
        return f"{where}: {self.message}"


@dataclass(frozen=True)
class Decision:
    """``decision`` is "allow", "explicit_deny" or "implicit_deny"; ``reasons`` says which statements decided."""

    decision: str
    reasons: tuple = ()

    @property
    def allowed(self) -> bool:
        return self.decision == ALLOW

    def __bool__(self) -> bool:
        return self.allowed

    def __str__(self) -> str:
        return self.decision + "".join(f"\n  - {r}" for r in self.reasons)


def _context(given: Optional[Mapping[str, object]], filled: dict):
    """The case-insensitive lookup (lower-case key -> value) of the request context over the filled-in keys."""
    if not given:
        return filled.get
    merged = dict(filled)
    for key, value in given.items():
        merged[str(key).lower()] = value
    return merged.get


def _resource_account(request: Request, who: Who) -> tuple:
    """(the resource's account for the same-account rule, whether AWS owns the resource).

    An ARN whose account field is ``aws`` (AWS managed policies, public hubs) or empty (S3) names no other account:
    the principal's own account stands in, so identity permissions alone decide (IAM User Guide, "IAM
    identifiers": AWS managed policy ARNs carry ``aws`` as the account)."""
    if request.resource_account:
        return request.resource_account, False
    parts = request.resource.split(":", 5)
    if len(parts) >= 5 and parts[0] == "arn" and parts[4]:
        if parts[4] != "aws":
            return parts[4], False
        return who.account, True
    return who.account, False


@lru_cache(maxsize=1024)
def _filled(principal: str, resource_account: Optional[str]) -> dict:
    """The context keys the engine fills in (a cached dict: never mutate it)."""
    return _fill(principal_of(principal), resource_account)


def _fill(who: Who, resource_account: Optional[str]) -> dict:
    filled: dict = {}
    if who.is_iam:
        if who.principal_arn:
            filled["aws:principalarn"] = who.principal_arn
        if who.account:
            filled["aws:principalaccount"] = who.account
        if who.kind == "user" and who.user_name:
            filled["aws:username"] = who.user_name
    if resource_account:
        filled["aws:resourceaccount"] = resource_account
    return filled


def _label(kind: str, index: Optional[int], policy: Policy) -> str:
    text = kind if index is None else f"{kind}[{index}]"
    return f"{text} ({policy.name})" if policy.name else text


def _applies(stmt: Statement, resource: str, lookup) -> bool:
    """Variables, resource and conditions of a statement whose action (and static resource) already match."""
    for key in stmt.required_keys:
        if not resolvable(key, lookup):
            return False  # IAM policy variables doc: an unresolvable variable makes the whole statement not match
    try:
        if stmt.resource_needs_check and not stmt.matches_resource(resource, lookup):
            return False
        for condition in stmt.conditions:
            if not condition.test(lookup):
                return False
    except Unresolved:
        return False
    return True


def _scan_identity(policy: Policy, action_lower: str, resource: str, lookup, where: tuple, allows: list,
                   denies: list) -> bool:
    """Append ``(where, statement)`` for each matching statement of a policy without principals (identity,
    boundary, session, SCP) to ``allows`` or ``denies``; True when an Allow matched."""
    allowed = False
    for stmt in policy.candidates(action_lower, resource):
        if stmt.needs_check:
            if stmt.only_conditions:
                for condition in stmt._conditions or stmt.conditions:
                    if not condition.test(lookup):
                        break
                else:
                    if stmt.is_allow:
                        allows.append((where, stmt))
                        allowed = True
                    else:
                        denies.append((where, stmt))
                continue
            if not _applies(stmt, resource, lookup):
                continue
        if stmt.is_allow:
            allows.append((where, stmt))
            allowed = True
        else:
            denies.append((where, stmt))
    return allowed


def _scan(policy: Policy, action_lower: str, resource: str, lookup, who: Optional[Who] = None,
          has_boundary: bool = False):
    """(allows, denies) of one policy for the request: lists of (statement, principal match or None)."""
    allows: list = []
    denies: list = []
    for stmt in policy.candidates(action_lower, resource):
        strength = None
        if who is not None:
            if stmt.principal is not None:
                strength = stmt.principal.match(who)
                if strength is None:
                    continue
            elif stmt.not_principal is not None:
                # Permissions boundaries doc: a Deny with NotPrincipal always denies an IAM principal that has a
                # permissions boundary, whatever NotPrincipal lists
                if stmt.not_principal.match(who) is not None and not (has_boundary and not stmt.is_allow):
                    continue
                strength = STAR
        if stmt.needs_check:
            if stmt.only_conditions:
                for condition in stmt._conditions or stmt.conditions:
                    if not condition.test(lookup):
                        break
                else:
                    (allows if stmt.is_allow else denies).append((stmt, strength))
                continue
            if not _applies(stmt, resource, lookup):
                continue
        (allows if stmt.is_allow else denies).append((stmt, strength))
    return allows, denies


def _is_trust_or_key(action_lower: str, resource: str) -> bool:
    """Role trust policies and KMS key policies must allow even in the same account (IAM/KMS docs)."""
    if action_lower.startswith("sts:assumerole") and ":role/" in resource:
        return True
    parts = resource.split(":", 5)
    return len(parts) == 6 and parts[2] == "kms" and parts[5].startswith("key/")


def evaluate(request: Request, identity_policies: Iterable[Document] = (), resource_policy: Optional[Document] = None,
             permissions_boundary: Optional[Document] = None, scps: Optional[Sequence[Sequence[Document]]] = None,
             rcps: Optional[Sequence[Sequence[Document]]] = None, session_policy: Optional[Document] = None,
             management_account: Optional[str] = None,
             block_public_access: Optional[Mapping[str, bool]] = None) -> Decision:
    """Decide ``request`` as AWS would, given every policy that applies to it.

    ``block_public_access``: the S3 Block Public Access settings in effect for the bucket (the most restrictive of
    the bucket's and the account's), as ``{"RestrictPublicBuckets": True, ...}``; None = none."""
    who = principal_of(request.principal)
    resource = request.resource
    action_lower = request.action.lower()
    resource_account, aws_owned = _resource_account(request, who)
    # an AWS-owned resource has no account of the caller's to fill in as aws:ResourceAccount
    lookup = _context(request.context, _filled(request.principal, None if aws_owned else resource_account))

    denies: list = []  # (where, statement); where = (kind, index, policy)
    identity_policies = identity_policies or ()

    # identity side (only an authenticated IAM principal has one)
    identity_allows: list = []
    boundary_allows = session_allows = None
    if who.is_iam:
        for i, doc in enumerate(identity_policies):
            policy = doc if type(doc) is Policy and doc.kind == "identity" else as_policy(doc, "identity")
            _scan_identity(policy, action_lower, resource, lookup, ("identity", i, policy), identity_allows, denies)
        if permissions_boundary is not None:
            policy = as_policy(permissions_boundary, "boundary")
            boundary_allows = []
            _scan_identity(policy, action_lower, resource, lookup, ("boundary", None, policy), boundary_allows, denies)
        if session_policy is not None:
            policy = as_policy(session_policy, "session")
            session_allows = []
            _scan_identity(policy, action_lower, resource, lookup, ("session", None, policy), session_allows, denies)

    # resource-based policy
    resource_allows: list = []
    restricted = None
    if resource_policy is not None:
        policy = as_policy(resource_policy, "resource")
        where = ("resource", None, policy)
        allows, found = _scan(policy, action_lower, resource, lookup, who,
                              who.is_iam and permissions_boundary is not None)
        if found:
            denies += [(where, stmt) for stmt, _ in found]
        resource_allows = [(where, s, strength) for s, strength in allows]
        if block_public_access and resource_allows and who.kind != "service" and (
                who.account is None or who.account != resource_account) and \
                block_public_access.get("RestrictPublicBuckets") and _public(policy):
            # S3 API reference, PublicAccessBlockConfiguration, RestrictPublicBuckets: only AWS service principals
            # and authorized users of the bucket owner's account may use a public bucket policy; "public and
            # cross-account access within any public bucket policy, including non-public delegation to specific
            # accounts, is blocked"
            resource_allows = []
            restricted = Reason("resource", None, None, "RestrictPublicBuckets: the bucket policy is public, so it "
                                                        "grants nothing to anonymous or cross-account principals")

    # organization policies
    missing_levels: list[Reason] = []
    # RCPs: only their Deny statements count. Allow is supported only in RCPFullAWSAccess, attached to the root, every
    # OU and every account and not detachable (Organizations user guide, "RCP syntax", "RCP evaluation"), so a level
    # never lacks an Allow. They govern resources of the organization's member accounts: not the management
    # account's, not AWS-owned ones, and not requests of service principals.
    if rcps and who.kind != "service" and not aws_owned and not (
            management_account is not None and resource_account == management_account):
        _rcp_denies(rcps, action_lower, resource, lookup, who, denies)
    scps_apply = bool(scps) and who.is_iam and not _service_linked(who, lookup) and not (
        management_account is not None and who.account == management_account)
    if scps_apply:
        _organization_levels("scp", scps, action_lower, resource, lookup, None, denies, missing_levels)

    if denies:
        return Decision(EXPLICIT_DENY, tuple(
            Reason(_label(*where), stmt.label, "Deny", "explicit Deny matches the request") for where, stmt in denies))
    if missing_levels:
        return Decision(IMPLICIT_DENY, tuple(missing_levels))

    decision = _grant(who, action_lower, resource, resource_account, resource_policy is not None, identity_allows,
                      boundary_allows, session_allows, resource_allows)
    if restricted is not None and not decision.allowed:
        return Decision(decision.decision, decision.reasons + (restricted,))
    return decision


def _public(policy: Policy) -> bool:
    """Whether S3 calls the bucket policy public ("The meaning of public"), kept with the parsed policy."""
    found = policy._memo.get("s3 public")
    if found is None:
        found = policy._memo["s3 public"] = is_public(policy).public
    return found


def _service_linked(who: Who, lookup) -> bool:
    """A service-linked role (path /aws-service-role/) or a session of one; the role path of a session comes from
    its ARN or from an ``aws:PrincipalArn`` the caller gives in the context."""
    if who.service_linked:
        return True
    if who.kind != "session":
        return False
    given = lookup("aws:principalarn")
    return (isinstance(given, str) and ":role/aws-service-role/" in given
            and given.rsplit("/", 1)[-1] == who.role_name)


def _rcp_denies(levels, action_lower: str, resource: str, lookup, who: Who, denies: list) -> None:
    """RCPs: every matching Deny statement, at any level, is explicit; their Allow statements decide nothing."""
    for level, docs in enumerate(levels):
        for i, doc in enumerate(docs or ()):
            policy = as_policy(doc, "rcp")
            _, found = _scan(policy, action_lower, resource, lookup, who)
            for stmt, _ in found:
                denies.append(((f"rcp[level {level}]", i, policy), stmt))


def _organization_levels(kind: str, levels, action_lower: str, resource: str, lookup, who: Optional[Who],
                         denies: list, missing: list) -> None:
    """SCPs: every level (root, OUs, account) needs an applicable Allow; any Deny is explicit."""
    for level, docs in enumerate(levels):
        allowed = False
        for i, doc in enumerate(docs or ()):
            policy = as_policy(doc, kind)
            allows, found = _scan(policy, action_lower, resource, lookup, who)
            for stmt, _ in found:
                denies.append(((f"{kind}[level {level}]", i, policy), stmt))
            allowed = allowed or bool(allows)
        if not allowed:
            missing.append(Reason(f"{kind}[level {level}]", None, None,
                                  f"no {kind.upper()} at this level allows the request (every level needs an Allow)"))


def _allow_reasons(found: list, message: str) -> list[Reason]:
    return [Reason(_label(*item[0]), item[1].label, "Allow", message) for item in found]


def _grant(who: Who, action_lower: str, resource: str, resource_account: Optional[str], has_resource_policy: bool,
           identity_allows: list, boundary_allows, session_allows, resource_allows: list) -> Decision:
    """The allow decision once no Deny applies and organization policies pass."""
    if who.kind == "anonymous":
        granted = [r for r in resource_allows if r[2] == STAR]
        if granted:
            return Decision(ALLOW, tuple(_allow_reasons(granted, "resource policy allows everyone (\"*\")")))
        return Decision(IMPLICIT_DENY, (Reason("resource", None, None,
                                               "anonymous requests need a resource policy Allow to \"*\""),))
    if who.kind == "service":
        granted = [r for r in resource_allows if r[2] == SERVICE]
        if granted:
            return Decision(ALLOW, tuple(_allow_reasons(granted, f"resource policy names service {who.text}")))
        return Decision(IMPLICIT_DENY, (Reason("resource", None, None,
                                               f"no resource policy Allow names the service {who.text}"),))

    root = who.kind == "root"
    identity_ok = bool(identity_allows) or root
    boundary_ok = root or boundary_allows is None or bool(boundary_allows)
    session_ok = root or session_allows is None or bool(session_allows)
    limits_ok = boundary_ok and session_ok
    if resource_allows:
        direct = [r for r in resource_allows if r[2] in (DIRECT, STAR)]
        via_role = [r for r in resource_allows if r[2] == ROLE]
        via_account = [r for r in resource_allows if r[2] == ACCOUNT]
    else:
        direct = via_role = via_account = resource_allows

    def limit_reasons() -> list[Reason]:
        out = []
        if not boundary_ok:
            out.append(Reason("boundary", None, None, "the permissions boundary does not allow the request"))
        if not session_ok:
            out.append(Reason("session", None, None, "the session policy does not allow the request"))
        return out

    def identity_reasons() -> list[Reason]:
        if identity_allows:
            return _allow_reasons(identity_allows, "identity policy allows")
        if root:
            return [Reason("identity", None, "Allow", "the account root user holds every permission in its account")]
        return []

    def limit_allow() -> list[Reason]:
        return (_allow_reasons(boundary_allows or [], "boundary allows")
                + _allow_reasons(session_allows or [], "session policy allows"))

    same_account = who.account is not None and who.account == resource_account

    if same_account:
        if direct:
            return Decision(ALLOW, tuple(_allow_reasons(direct, "resource policy names the principal (same account)")))
        if via_role and limits_ok:
            return Decision(ALLOW, tuple(_allow_reasons(via_role, "resource policy names the role (same account)")
                                         + limit_allow()))
        strict = _is_trust_or_key(action_lower, resource)
        if strict:
            if via_account and identity_ok and limits_ok:
                return Decision(ALLOW, tuple(_allow_reasons(via_account, "resource policy delegates to the account")
                                             + identity_reasons() + limit_allow()))
            reasons = []
            if not resource_allows:
                reasons.append(Reason("resource", None, None, "trust and key policies must allow the principal, "
                                                              "even in the same account"))
            elif not identity_ok:
                reasons.append(Reason("identity", None, None, "the resource policy delegates to the account, "
                                                              "and no identity policy allows"))
            return Decision(IMPLICIT_DENY, tuple(reasons + limit_reasons()))
        if identity_ok and limits_ok:
            return Decision(ALLOW, tuple(identity_reasons() + limit_allow()))
        reasons = [] if identity_ok else [Reason("identity", None, None, "no identity policy allows the request")]
        if via_role and not limits_ok:
            reasons.append(Reason("resource", None, None, "the resource policy names the role, which the boundary "
                                                          "or session policy limits"))
        return Decision(IMPLICIT_DENY, tuple(reasons + limit_reasons()))

    # cross-account: both sides must allow
    reasons = []
    if not identity_ok:
        reasons.append(Reason("identity", None, None,
                              "no identity policy allows the request (cross-account needs both)"))
    reasons += limit_reasons()
    if not resource_allows:
        what = "no resource policy" if not has_resource_policy else "the resource policy does not allow the principal"
        reasons.append(Reason("resource", None, None, f"{what} (cross-account needs both)"))
    if reasons:
        return Decision(IMPLICIT_DENY, tuple(reasons))
    return Decision(ALLOW, tuple(identity_reasons() + limit_allow() +
                                 _allow_reasons(resource_allows,
                                                "resource policy allows the principal (cross-account)")))
