"""Named predicates: the parts of a rule a value filter cannot say, written in Python.

A predicate takes the resource view, the inventory and the check's parameters (plus its own ``with:`` arguments) and
returns None when the resource passes, or the reason it fails. It raises CheckError when it cannot decide. It declares
the top-level fields of the view it reads with ``@reads(...)``: a resource whose view records one of them as unread is
an error finding and the predicate is not called (a predicate without the declaration is taken to read every field).

Usage in a check file::

    require:
      - predicate: stale_credentials
        with: {max_unused_days: {param: max_unused_days}}
"""

from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Optional

from .findings import CheckError, days, reads
from .inventory import ACCOUNT_PUBLIC_ACCESS_BLOCK, ORG_MEMBER, ORG_NONE, Inventory, PublicAccessBlock


def _age(value: Optional[dt.datetime], at: dt.datetime) -> Optional[float]:
    if value is None:
        return None
    return (at - value).total_seconds() / 86400.0


def _at(inventory: Inventory) -> dt.datetime:
    from .inventory import now

    return inventory.collected_at or now()


@reads("password_enabled", "password_last_used", "password_last_changed", "created", "access_keys")
def stale_credentials(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
                      max_unused_days: int = 45) -> Optional[str]:
    """A password or active key unused for ``max_unused_days`` or more (CIS: "45 days or more").

    A credential never used is stale once it is that old itself (password: since it was set; key: since it was
    created); a younger one that was never used is not stale.
    """
    at = _at(inventory)
    reasons = []
    if resource.get("password_enabled"):
        used = _age(resource.get("password_last_used"), at)
        if used is not None:
            if used >= max_unused_days:
                reasons.append(f"password last used {days(used)} ago")
        else:
            since = _age(resource.get("password_last_changed") or resource.get("created"), at)
            if since is not None and since >= max_unused_days:
                reasons.append(f"password never used in the {days(since)} since it was set")
    for key in resource.get("access_keys", []):
        if not key["active"]:
            continue
        used = _age(key.get("last_used"), at)
        if used is not None:
            if used >= max_unused_days:
                reasons.append(f"access key {key['slot']} last used {days(used)} ago")
        else:
            since = _age(key.get("last_rotated"), at)
            if since is not None and since >= max_unused_days:
                reasons.append(f"access key {key['slot']} never used in the {days(since)} since it was created")
    if reasons:
        return "; ".join(reasons) + f" (limit {days(max_unused_days)})"
    return None


@reads()
def scp_applies(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any]) -> Optional[str]:
    """The account is in an organization and an SCP other than FullAWSAccess applies to it (root, OU or account)."""
    org = inventory.organization
    if org.status == ORG_NONE:
        return "the account is not in an organization: no SCP can apply"
    if org.status != ORG_MEMBER:
        raise CheckError(f"the organization could not be read, so SCPs cannot be judged: {org.reason}")
    if org.management_account_id == inventory.account_id:
        return "this is the organization's management account: SCPs do not restrict it"
    if org.scps_enabled is False:
        return "the SERVICE_CONTROL_POLICY type is not enabled on the organization root"
    chain = org.scp_chain(inventory.account_id) or []
    names = sorted({p.name for level in chain for p in level if not _is_full_access(p)})
    if not names:
        return "only FullAWSAccess applies at every level (root, OUs, account)"
    from .policy import Policy, PolicyError

    problems = []
    for scp in (p for level in chain for p in level if not _is_full_access(p)):
        try:
            Policy.parse(scp.content, "scp")
            return None
        except PolicyError as exc:
            problems.append(f"SCP {scp.name}: {exc}")
    # only unreadable SCPs apply: whether any of them is more than FullAWSAccess cannot be told
    raise CheckError("no SCP that applies is a valid policy: " + "; ".join(problems))


def _is_full_access(scp: Any) -> bool:
    if scp.aws_managed and scp.name == "FullAWSAccess":
        return True
    content = scp.content if isinstance(scp.content, dict) else {}
    statements = content.get("Statement", [])
    statements = [statements] if isinstance(statements, dict) else statements
    return (
        len(statements) == 1
        and statements[0].get("Effect") == "Allow"
        and statements[0].get("Action") in ("*", ["*"])
        and statements[0].get("Resource") in ("*", ["*"])
        and not statements[0].get("Condition")
    )


def _policy_error(exc: Exception, what: str) -> Exception:
    return CheckError(f"{what} is not a valid policy: {exc}")


@reads("name", "policy", "public_access_block")
def bucket_not_public(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any]) -> Optional[str]:
    """The bucket policy does not make the bucket public, by S3's documented meaning of public, honouring the
    bucket's and the account's block-public-access settings (S3 applies the most restrictive combination).

    The bucket's own facts (policy, public access block) are declared read: when unread, the engine reports an error.
    The account's settings can only make a bucket less public, so when they could not be read, a bucket that is not
    public by its own settings passes, and one that is raises CheckError with the reason."""
    from .policy import PolicyError, is_public

    policy = resource.get("policy")
    if policy is None:
        return None
    bucket_pab = resource.get("public_access_block")
    account_pab = inventory.account_public_access_block
    effective = PublicAccessBlock(**bucket_pab) if bucket_pab else PublicAccessBlock()
    effective = effective.merged(account_pab)
    try:
        verdict = is_public(policy, block_public_access=effective.as_aws())
    except PolicyError as exc:
        raise _policy_error(exc, f"the policy of bucket {resource['name']}")
    if not verdict.public:
        return None
    account_gap = inventory.gap(ACCOUNT_PUBLIC_ACCESS_BLOCK)
    if account_gap is not None:
        raise CheckError(f"the bucket policy is public unless the account's Block Public Access settings restrict it, "
                         f"and those could not be read ({account_gap})")
    return "public: " + "; ".join(str(r) for r in verdict.reasons) if verdict.reasons else "the bucket policy is public"


@reads("document", "label")
def no_full_admin(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any]) -> Optional[str]:
    """The policy has no Allow statement granting every action on every resource, unless an unconditional Deny of
    every action on every resource in the same policy cancels it (an explicit deny overrides any allow)."""
    from .policy import PolicyError, grants_full_admin

    try:
        statements = grants_full_admin(resource["document"])
    except PolicyError as exc:
        raise _policy_error(exc, resource["label"])
    if not statements:
        return None
    return "grants '*' on '*' in " + ", ".join(str(s) for s in statements)


@reads("service_linked", "trust_policy", "label")
def trust_within_zone(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
                      trusted_accounts: Any = ()) -> Optional[str]:
    """Nobody outside the account, its organization and ``trusted_accounts`` can assume the role, unless the trust
    requires ``sts:ExternalId``."""
    from .policy import PolicyError, external_access

    if resource.get("service_linked"):
        return None
    zone = {inventory.account_id, *[str(a) for a in trusted_accounts or ()]}
    if inventory.organization.id:
        zone.add(inventory.organization.id)
    if inventory.organization.status == ORG_MEMBER:  # the organization's accounts are known: they are inside
        zone.update(a.id for a in inventory.organization.accounts)
    try:
        grants = external_access(resource["trust_policy"], zone)
    except PolicyError as exc:
        raise _policy_error(exc, f"the trust policy of {resource['label']}")
    # aws:PrincipalOrgID pinned to the account's own organization keeps "*" inside the zone (IAM User Guide,
    # "aws:PrincipalOrgID": only principals of accounts in that organization match).
    risky = [g for g in grants if not g.requires_external_id and not g.kept_in_organization]
    if not risky:
        return None
    return "assumable from outside: " + "; ".join(f"{g.principal} in {g.statement}" for g in risky)


@reads("id", "label")
def scp_denies(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
               required_denied_actions: Any = (), regions: Any = ("us-east-1",)) -> Optional[str]:
    """For an ordinary principal of the account (a role that is not service-linked, in a member account), the
    effective SCP chain denies every action in ``required_denied_actions``, in every region of ``regions``: by an
    explicit Deny or by the lack of an Allow at some level (AWS: every level of the chain must allow).

    The probe request carries ``aws:RequestedRegion`` and the probe role as ``aws:PrincipalArn``, so a guardrail that
    exempts a named break-glass role, or that denies only outside some regions, is judged as it would apply."""
    from .policy import PolicyError, Request, evaluate

    org = inventory.organization
    chain = org.scp_chain(resource["id"])
    if chain is None:
        if org.status != ORG_MEMBER:
            raise CheckError(f"the organization could not be read, so SCPs cannot be judged: {org.reason}")
        if org.scps is None:
            raise CheckError(f"the organization's SCPs could not be read: {org.reason or 'not collected'}")
        raise CheckError(f"{resource['label']} is not placed in the organization's tree, so its SCPs are unknown")
    principal = f"arn:{inventory.partition}:iam::{resource['id']}:role/pytest-iam-probe"
    levels = [[p.content for p in level] for level in chain]
    allowed = []
    for action in required_denied_actions:
        for region in regions or ("us-east-1",):
            try:
                decision = evaluate(
                    Request(principal=principal, action=action, resource="*", resource_account=resource["id"],
                            context={"aws:RequestedRegion": region}),
                    identity_policies=[ALLOW_ALL],
                    scps=levels,
                    management_account=org.management_account_id,
                )
            except PolicyError as exc:
                raise CheckError(f"an SCP applying to {resource['label']} is not a valid policy: {exc}") from None
            if decision.allowed:
                allowed.append(f"{action} in {region}")
    if allowed:
        return "SCPs allow " + ", ".join(allowed)
    return None


ALLOW_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}


BUILTIN_PREDICATES = {
    "stale_credentials": stale_credentials,
    "scp_applies": scp_applies,
    "bucket_not_public": bucket_not_public,
    "no_full_admin": no_full_admin,
    "trust_within_zone": trust_within_zone,
    "scp_denies": scp_denies,
}
