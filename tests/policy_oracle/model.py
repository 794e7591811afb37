"""A reference evaluator of AWS IAM policies, written straight from AWS's documented evaluation logic.

Usage::

    reference_evaluate({"principal": "arn:aws:iam::111122223333:user/alice", "action": "s3:GetObject",
                        "resource": "arn:aws:s3:::bucket/key"},
                       identity_policies=[doc], resource_policy=None, permissions_boundary=None,
                       scps=None, rcps=None, session_policy=None, management_account=None)   # -> "allow"

Deliberately plain: every call walks the documents again, nothing is compiled or cached. The steps follow
"Policy evaluation logic" (explicit deny, RCPs, SCPs, resource-based policies, identity-based policies, permissions
boundaries, session policies; RCPs deny only by their Deny statements, "RCP syntax"), "Cross-account policy
evaluation logic", the permissions-boundary table of "Permissions boundaries for IAM entities" (user ARN / role ARN /
role session ARN principals) and the role trust and KMS key policy rules (the resource policy must allow even in the
same account).
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from .conditions import Unresolvable, condition_block_matches, variables_resolve
from .patterns import expand, glob_match, lower_tokens, to_tokens

ALLOW, EXPLICIT_DENY, IMPLICIT_DENY = "allow", "explicit_deny", "implicit_deny"

IDENTITY_KINDS = ("user", "role", "session", "root", "federated")

# strength of a resource-policy principal match, strongest first
DIRECT, ROLE, ACCOUNT, SERVICE = "direct", "role", "account", "service"


@dataclass(frozen=True)
class Who:
    """The requesting principal, taken apart."""

    kind: str  # user | role | session | root | federated | service | anonymous
    arn: str
    account: str | None
    name: str | None  # user name, role name (for a session: its role's name), federated name, service name
    service_linked: bool = False


def parse_principal(principal: str) -> Who:
    """Split a principal string of the request into kind, account and name."""
    if principal == "anonymous":
        return Who("anonymous", principal, None, None)
    if not principal.startswith("arn:"):
        return Who("service", principal, None, principal)
    parts = principal.split(":", 5)
    account, rest = parts[4], parts[5]
    if rest == "root":
        return Who("root", principal, account, None)
    if rest.startswith("user/"):
        return Who("user", principal, account, rest.split("/")[-1])
    if rest.startswith("role/"):
        return Who("role", principal, account, rest.split("/")[-1],
                   service_linked=rest.startswith("role/aws-service-role/"))
    if rest.startswith("assumed-role/"):
        return Who("session", principal, account, rest.split("/")[1])
    if rest.startswith("federated-user/"):
        return Who("federated", principal, account, rest.split("/", 1)[1])
    raise ValueError(f"unknown principal {principal!r}")


def aws_owned(request: dict) -> bool:
    """A resource AWS owns: no account given and the ARN's account field is ``aws`` (an AWS managed policy such as
    ``arn:aws:iam::aws:policy/ReadOnlyAccess``, a public hub); IAM User Guide, "IAM identifiers"."""
    parts = request["resource"].split(":")
    return not request.get("resource_account") and len(parts) > 4 and parts[4] == "aws"


def resource_account_of(request: dict, who: Who) -> str | None:
    """The resource's account: given, else the ARN's account field, else (S3) the principal's account.

    ``aws`` in the account field names no other account, so the principal's account stands in, as for S3: the
    cross-account rule does not apply and identity permissions alone decide."""
    if request.get("resource_account"):
        return request["resource_account"]
    parts = request["resource"].split(":")
    if len(parts) > 4 and parts[4] and parts[4] != "aws":
        return parts[4]
    return who.account


def build_context(request: dict, who: Who, resource_account: str | None) -> dict[str, Any]:
    """Lower-cased context keys; principal and resource-account keys filled when the caller did not give them."""
    context = {key.lower(): value for key, value in (request.get("context") or {}).items()}
    filled: dict[str, Any] = {}
    if who.kind in IDENTITY_KINDS:
        if who.kind == "session":
            filled["aws:principalarn"] = f"arn:aws:iam::{who.account}:role/{who.name}"
        else:
            filled["aws:principalarn"] = who.arn
        filled["aws:principalaccount"] = who.account
    if who.kind == "user":
        filled["aws:username"] = who.name
    if resource_account and not aws_owned(request):  # AWS's own resource: no account of the caller's to give
        filled["aws:resourceaccount"] = resource_account
    for key, value in filled.items():
        context.setdefault(key, value)
    return context


def _document(doc: Any) -> dict:
    if isinstance(doc, str):
        return json.loads(doc)
    return doc


def _statements(doc: dict) -> list[dict]:
    statement = doc.get("Statement", [])
    return statement if isinstance(statement, list) else [statement]


def _as_list(value: Any) -> list:
    return value if isinstance(value, list) else [value]


def _action_matches(statement: dict, action: str) -> bool:
    if "Action" in statement:
        return any(glob_match(lower_tokens(to_tokens(a)), action.lower()) for a in _as_list(statement["Action"]))
    return not any(glob_match(lower_tokens(to_tokens(a)), action.lower()) for a in _as_list(statement["NotAction"]))


def _resource_matches(statement: dict, resource: str, context: dict, version: str | None) -> bool:
    if "Resource" in statement:
        patterns, negate = _as_list(statement["Resource"]), False
    elif "NotResource" in statement:
        patterns, negate = _as_list(statement["NotResource"]), True
    else:
        return True  # role trust policies carry no Resource element
    hit = False
    for pattern in patterns:
        tokens = expand(pattern, context, version)
        if tokens is None:
            raise Unresolvable(pattern)
        if glob_match(tokens, resource):
            hit = True
    return hit != negate


def _variables_resolve(statement: dict, context: dict, version: str | None) -> bool:
    for element in ("Resource", "NotResource"):
        for pattern in _as_list(statement.get(element, [])):
            if expand(pattern, context, version) is None:
                return False
    return variables_resolve(statement.get("Condition", {}), context, version)


def statement_matches(statement: dict, request: dict, context: dict, version: str | None) -> bool:
    """Action, resource and conditions of one statement (principal aside).

    A statement with a policy variable that cannot be resolved does not match (IAM policy elements: Variables and
    tags, "If AWS cannot resolve a variable this might cause the entire statement to be invalid").
    """
    if not _variables_resolve(statement, context, version):
        return False
    if not _action_matches(statement, request["action"]):
        return False
    if not _resource_matches(statement, request["resource"], context, version):
        return False
    return condition_block_matches(statement.get("Condition", {}), context, version)


def _principal_entry_strength(entry: Any, who: Who) -> str | None:
    """How one Principal element names the requester: direct, role, account, service or not at all."""
    if entry == "*":
        return DIRECT
    best: list[str] = []
    for kind, values in entry.items():
        for value in _as_list(values):
            strength = _one_principal(kind, value, who)
            if strength:
                best.append(strength)
    for strength in (DIRECT, SERVICE, ROLE, ACCOUNT):
        if strength in best:
            return strength
    return None


def _one_principal(kind: str, value: str, who: Who) -> str | None:
    if kind == "Service":
        return SERVICE if who.kind == "service" and value == who.name else None
    if kind != "AWS":
        return None  # Federated and CanonicalUser name principals this model never receives
    if value == "*":
        return DIRECT
    if value.isdigit():
        return ACCOUNT if who.kind in IDENTITY_KINDS and who.account == value else None
    parts = value.split(":", 5)
    if len(parts) != 6:
        return None
    account, rest = parts[4], parts[5]
    if rest == "root":
        return ACCOUNT if who.kind in IDENTITY_KINDS and who.account == account else None
    if rest.startswith("role/"):
        if who.kind == "role" and who.arn == value:
            return ROLE
        if who.kind == "session" and who.account == account and rest.split("/")[-1] == who.name:
            return ROLE
        return None
    if who.kind in ("user", "session", "federated") and who.arn == value:
        return DIRECT
    return None


def resource_statement_principal(statement: dict, who: Who, has_boundary: bool = False) -> str | None:
    """Principal strength of a resource-policy statement (NotPrincipal: every principal not listed).

    Permissions boundaries for IAM entities: "The NotPrincipal element with a Deny effect will always deny any IAM
    principal that has a permissions boundary policy attached, regardless of the values specified in the
    NotPrincipal element."
    """
    if "Principal" in statement:
        return _principal_entry_strength(statement["Principal"], who)
    if "NotPrincipal" in statement:
        if has_boundary and statement.get("Effect") == "Deny":
            return DIRECT
        listed = _principal_entry_strength(statement["NotPrincipal"], who)
        return None if listed else DIRECT
    return DIRECT


def _scan(docs: list, request: dict, context: dict, who: Who | None,
          has_boundary: bool = False) -> tuple[bool, set]:
    """(any matching Deny, strengths of matching Allows) over documents; ``who`` set for resource policies."""
    denied, allows = False, set()
    for raw in docs:
        doc = _document(raw)
        version = doc.get("Version")
        for statement in _statements(doc):
            strength = DIRECT
            if who is not None:
                strength = resource_statement_principal(statement, who, has_boundary)
                if strength is None:
                    continue
            if not statement_matches(statement, request, context, version):
                continue
            if statement["Effect"] == "Deny":
                denied = True
            else:
                allows.add(strength)
    return denied, allows


def _levels(levels: Any) -> list[list]:
    return [list(level) if isinstance(level, (list, tuple)) else [level] for level in (levels or [])]


def _is_trust_or_key_request(request: dict) -> bool:
    action, resource = request["action"].lower(), request["resource"]
    trust = action.startswith("sts:assumerole") and ":role/" in resource and resource.startswith("arn:aws:iam::")
    key = resource.startswith("arn:aws:kms:") and ":key/" in resource
    return trust or key


def rcp_level_lacks_allow(allows: set) -> bool:
    """Never: "RCP syntax" says the effect Allow is supported only in RCPFullAWSAccess, which is attached to the root,
    every OU and every account and cannot be detached. So every RCP level allows, whatever else it holds."""
    return False


def reference_evaluate(request: dict, identity_policies: list | None = None, resource_policy: Any = None,
                       permissions_boundary: Any = None, scps: list | None = None, rcps: list | None = None,
                       session_policy: Any = None, management_account: str | None = None) -> str:
    """The decision AWS documents for one request: "allow", "explicit_deny" or "implicit_deny"."""
    who = parse_principal(request["principal"])
    resource_account = resource_account_of(request, who)
    context = build_context(request, who, resource_account)
    identity_bearing = who.kind in IDENTITY_KINDS

    identity_docs = list(identity_policies or []) if identity_bearing else []
    boundary_docs = [permissions_boundary] if identity_bearing and permissions_boundary is not None else []
    session_docs = [session_policy] if identity_bearing and session_policy is not None else []
    resource_docs = [resource_policy] if resource_policy is not None else []
    scp_levels = _levels(scps)
    rcp_levels = _levels(rcps)
    # SCPs: not for the management account, service-linked roles, anonymous or service principals
    scps_apply = bool(scp_levels) and identity_bearing and not who.service_linked \
        and who.account != management_account
    # RCPs: only for resources of member accounts (not the management account's, not AWS-owned ones), not for
    # service principals
    rcps_apply = bool(rcp_levels) and who.kind != "service" and resource_account != management_account \
        and not aws_owned(request)

    identity_deny, identity_allows = _scan(identity_docs, request, context, None)
    boundary_deny, boundary_allows = _scan(boundary_docs, request, context, None)
    session_deny, session_allows = _scan(session_docs, request, context, None)
    resource_deny, resource_allows = _scan(resource_docs, request, context, who, bool(boundary_docs))
    scp_results = [_scan(level, request, context, None) for level in scp_levels] if scps_apply else []
    rcp_results = [_scan(level, request, context, None) for level in rcp_levels] if rcps_apply else []

    # 1. an explicit Deny in any applicable policy wins
    if identity_deny or boundary_deny or session_deny or resource_deny \
            or any(d for d, _ in scp_results) or any(d for d, _ in rcp_results):
        return EXPLICIT_DENY
    # 2. RCPs of the resource's account: only their Deny statements (step 1) count
    if any(rcp_level_lacks_allow(allows) for _, allows in rcp_results):
        return IMPLICIT_DENY
    # 3. SCPs of the principal's account: every level needs an Allow
    if any(not allows for _, allows in scp_results):
        return IMPLICIT_DENY

    # 4. resource-based policy and identity side
    if who.kind == "anonymous":
        return ALLOW if DIRECT in resource_allows else IMPLICIT_DENY
    if who.kind == "service":
        return ALLOW if SERVICE in resource_allows else IMPLICIT_DENY

    boundary_ok = not boundary_docs or bool(boundary_allows)
    session_ok = not session_docs or bool(session_allows)
    identity_allow = who.kind == "root" or bool(identity_allows)
    identity_side = identity_allow and boundary_ok and session_ok
    rp_direct = DIRECT in resource_allows
    rp_role = ROLE in resource_allows
    rp_account = ACCOUNT in resource_allows

    if who.account != resource_account:
        # cross-account: both the identity side and the resource policy must allow
        allowed = identity_side and (rp_direct or rp_role or rp_account)
    elif _is_trust_or_key_request(request):
        # role trust and KMS key policies must allow even in the same account; an account principal delegates to IAM
        allowed = rp_direct or (rp_role and boundary_ok and session_ok) or (rp_account and identity_side)
    else:
        # same account: naming the user / session ARN grants alone; naming the role ARN is limited by an implicit
        # deny in the boundary or session policy; naming the account grants nothing by itself
        allowed = identity_side or rp_direct or (rp_role and boundary_ok and session_ok)
    return ALLOW if allowed else IMPLICIT_DENY
