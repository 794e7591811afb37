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


# --- CIS section 1 (IAM) beyond the credential basics, and the engine-decided IAM checks -----------------------------


@reads("password_last_used", "access_keys")
def root_not_used(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
                  days_limit: int = 30) -> Optional[str]:
    """The root user's password and access keys were not used in the last ``days_limit`` days (CIS 1.6: the
    credential report's ``password_last_used`` and ``access_key_N_last_used_date`` of ``<root_account>``)."""
    at = _at(inventory)
    used = []
    password = _age(resource.get("password_last_used"), at)
    if password is not None and password < days_limit:
        used.append(f"the root password was used {days(password)} ago")
    for key in resource.get("access_keys") or []:
        age = _age(key.get("last_used"), at)
        if age is not None and age < days_limit:
            used.append(f"root access key {key['slot']} was used {days(age)} ago")
    return "; ".join(used) + f" (within the last {days(days_limit)})" if used else None


@reads("created", "access_keys", "label")
def no_key_from_setup(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any]) -> Optional[str]:
    """No access key of the user was created on the day the user was (UTC) and never used: CIS 1.10's audit reads
    the credential report for a console user whose key's ``access_key_N_last_used_date`` is N/A and whose key was
    made at the user's initial setup (the console's create-user flow offers one)."""
    created = resource.get("created")
    if created is None:
        raise CheckError(f"{resource['label']}: the user's creation date is unknown")
    day = created.astimezone(dt.timezone.utc).date()
    found = [f"access key {k['slot']} was created with the user ({day}) and never used"
             for k in resource.get("access_keys") or []
             if k.get("last_used") is None and k.get("last_rotated") is not None
             and k["last_rotated"].astimezone(dt.timezone.utc).date() == day]
    return "; ".join(found) or None


def _aws_policy_arn(inventory: Inventory, name: str) -> str:
    return f"arn:{inventory.partition}:iam::aws:policy/{name}"


def _holders(resource: Mapping[str, Any], arn: str) -> list:
    return next((a["attached_to"] for a in resource["managed_policy_attachments"] if a["arn"] == arn), [])


@reads("managed_policy_attachments")
def support_role_exists(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
                        policy: str = "AWSSupportAccess") -> Optional[str]:
    """Some role has the AWS-managed ``policy`` attached (CIS 1.16: ``aws iam list-entities-for-policy
    --policy-arn arn:aws:iam::aws:policy/AWSSupportAccess`` lists a role)."""
    holders = _holders(resource, _aws_policy_arn(inventory, policy))
    if any(":role/" in who for who in holders):
        return None
    if holders:
        return f"{policy} is attached to {', '.join(holders)}, but to no role"
    return f"no role has {policy} attached"


@reads("managed_policy_attachments")
def policy_attached_only_to(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
                            policy: str = "AWSCloudShellFullAccess", allowed: Any = ()) -> Optional[str]:
    """The AWS-managed ``policy`` is attached to no user, group or role outside ``allowed`` (ARNs; ``*`` and ``?``
    match any characters)."""
    from fnmatch import fnmatchcase

    holders = _holders(resource, _aws_policy_arn(inventory, policy))
    outside = [who for who in holders if not any(fnmatchcase(who, pattern) for pattern in allowed or ())]
    return f"{policy} is attached to {', '.join(outside)}" if outside else None


@reads("access_analyzers", "access_analyzer_regions")
def analyzer_in_every_region(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
                             types: Any = ("ACCOUNT", "ORGANIZATION")) -> Optional[str]:
    """Every region of ``access_analyzer_regions`` has an ACTIVE IAM Access Analyzer analyzer of one of ``types``
    (CIS 1.19; Security Hub IAM.28 asks for an external access analyzer: ACCOUNT or ORGANIZATION)."""
    wanted = set(types or ())
    active = {a["region"] for a in resource["access_analyzers"]
              if a["status"] == "ACTIVE" and (not wanted or a["type"] in wanted)}
    missing = [r for r in resource["access_analyzer_regions"] if r not in active]
    if not missing:
        return None
    kinds = " or ".join(sorted(wanted)) if wanted else "any"
    return f"no ACTIVE {kinds} analyzer in {', '.join(missing)}"


@reads("trust_policy", "label")
def trust_not_open(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any]) -> Optional[str]:
    """No statement of the role's trust policy lets any AWS principal (``*``) assume the role without a condition
    that pins the caller (the engine's ``open_trust`` analysis)."""
    from .policy import PolicyError, open_trust

    try:
        found = open_trust(resource["trust_policy"])
    except PolicyError as exc:
        raise _policy_error(exc, f"the trust policy of {resource['label']}")
    return "; ".join(reason for _ref, reason in found) or None


def _admins_of(inventory: Inventory) -> tuple:
    """``(admins, note)``: ``access.admins`` of the inventory, computed once per inventory. When the SCPs are
    unknown the answer ignores them and ``note`` says so (SCPs can only take permissions away); when the principals'
    policies are incomplete, ``admins`` is None and ``note`` says why."""
    cached = inventory.__dict__.get("_admins")
    if cached is None:
        from .access import IncompleteFacts, admins

        try:
            if inventory.organization.status in (ORG_MEMBER, ORG_NONE):
                cached = (admins(inventory), None)
            else:
                cached = (admins(inventory, ignore_scps=True),
                          f"the organization could not be read: {inventory.organization.reason}")
        except IncompleteFacts as exc:
            cached = (None, str(exc))
        object.__setattr__(inventory, "_admins", cached)
    return cached


@reads("arn")
def cannot_escalate(resource: Mapping[str, Any], inventory: Inventory, params: Mapping[str, Any],
                    allowed: Any = ()) -> Optional[str]:
    """The principal cannot make itself an administrator (``iam.admins()``'s escalation paths: a policy on itself or
    its groups, a new version of its policy, taking over an administrator), unless its ARN is in ``allowed``
    (``*`` and ``?`` match). Principals that already are full administrators are iam-no-admin-policies' matter."""
    from fnmatch import fnmatchcase

    if any(fnmatchcase(resource["arn"], pattern) for pattern in allowed or ()):
        return None
    found, note = _admins_of(inventory)
    if found is None:
        raise CheckError(f"escalation paths cannot be computed: {note}")
    path = next((a for a in found if a.principal == resource["arn"] and a.how == "escalation"), None)
    if path is None:
        return None
    if note is not None:
        raise CheckError(f"can make itself an administrator unless an SCP denies it, and the SCPs are unknown "
                         f"({note}): {path.detail}")
    return f"can make itself an administrator: {path.detail}"


# --- S3 bucket policies decided by the engine: TLS only (CIS 2.1.1), no public write -------------------------------

# CIS 2.1.1 asks that the bucket policy deny every S3 action over HTTP. The probes: a read and a write on an object,
# a listing and a configuration change on the bucket, by an anonymous caller, a principal of the account (whose
# identity policies allow everything) and one of an unrelated account.
TLS_PROBE_ACTIONS = (("s3:GetObject", "object"), ("s3:PutObject", "object"), ("s3:ListBucket", "bucket"),
                     ("s3:PutBucketPolicy", "bucket"))
PROBE_ROLE = "role/pytest-iam-probe"
UNRELATED_ACCOUNT = "000000000000"  # no real account has this id
MAX_CONDITION_PROBES = 24
# Keys AWS sets from the request itself, which the caller cannot choose (IAM User Guide, "AWS global condition context
# keys"). A Deny conditioned on any other key (an S3 header such as s3:x-amz-acl) can be side-stepped by the caller.
AWS_SET_KEYS = frozenset(k.lower() for k in (
    "aws:SecureTransport", "aws:SourceIp", "aws:SourceVpc", "aws:SourceVpce", "aws:VpcSourceIp", "aws:PrincipalArn",
    "aws:PrincipalAccount", "aws:PrincipalOrgID", "aws:PrincipalOrgPaths", "aws:PrincipalType", "aws:userid",
    "aws:username", "aws:PrincipalIsAWSService", "aws:PrincipalServiceName", "aws:ViaAWSService",
))
# An anonymous request from the internet, over HTTPS, from a documentation address (RFC 5737): not RFC 1918, not in
# any VPC.
FROM_THE_INTERNET = ({"aws:SecureTransport": "true", "aws:SourceIp": "198.51.100.7"},
                     {"aws:SecureTransport": "true", "aws:SourceIp": "2001:db8::7"})


def _statements(policy: Any) -> list:
    statements = policy.get("Statement", []) if isinstance(policy, dict) else []
    return [statements] if isinstance(statements, dict) else list(statements)


def _condition_values(statements: list) -> list:
    """``(key, value)`` for every fixed value the statements' conditions name (policy variables left out)."""
    out = []
    for statement in statements:
        for block in (statement.get("Condition") or {}).values() if isinstance(statement, dict) else ():
            for key, values in (block or {}).items() if isinstance(block, dict) else ():
                for value in values if isinstance(values, list) else [values]:
                    if isinstance(value, (str, int, float, bool)) and "${" not in str(value):
                        out.append((key, str(value).lower() if isinstance(value, bool) else str(value)))
    return list(dict.fromkeys(out))


@reads("arn", "name", "policy")
def bucket_denies_insecure_transport(resource: Mapping[str, Any], inventory: Inventory,
                                     params: Mapping[str, Any]) -> Optional[str]:
    """The bucket policy explicitly denies every probe request made over HTTP (``aws:SecureTransport`` false), as the
    policy engine decides it; and no value of a key its Deny statements test lifts the deny (a Deny "unless from
    vpce-1" is defeated from vpce-1). A bucket without a policy fails: nothing denies HTTP (CIS 2.1.1; AWS Config
    s3-bucket-ssl-requests-only)."""
    from .policy import EXPLICIT_DENY, PolicyError, Request, evaluate

    policy = resource.get("policy")
    if policy is None:
        return "the bucket has no policy, so nothing denies requests made over HTTP (aws:SecureTransport false)"
    partition, account = inventory.partition, inventory.account_id
    principals = (("anonymous", "an anonymous caller", ()),
                  (f"arn:{partition}:iam::{account}:{PROBE_ROLE}", "a principal of the account", [ALLOW_ALL]),
                  (f"arn:{partition}:iam::{UNRELATED_ACCOUNT}:{PROBE_ROLE}", "a principal of another account",
                   [ALLOW_ALL]))
    denies = [s for s in _statements(policy) if isinstance(s, dict) and s.get("Effect") == "Deny"]
    base = {"aws:SecureTransport": "false"}
    contexts = [(base, "")] + [
        ({**base, key: value}, f" when {key} is {value}")
        for key, value in _condition_values(denies)[:MAX_CONDITION_PROBES] if key.lower() != "aws:securetransport"
    ]
    gaps: dict = {}  # (who, when) -> actions not denied
    for principal, who, identity in principals:
        for action, kind in TLS_PROBE_ACTIONS:
            target = resource["arn"] + ("/pytest-iam-probe" if kind == "object" else "")
            for context, when in contexts:
                try:
                    decision = evaluate(Request(principal=principal, action=action, resource=target,
                                                resource_account=account, context=context),
                                        identity_policies=identity, resource_policy=policy)
                except PolicyError as exc:
                    raise _policy_error(exc, f"the policy of bucket {resource['name']}")
                if decision.decision != EXPLICIT_DENY:
                    gaps.setdefault((who, when), []).append(action)
                    break
    if not gaps:
        return None
    shown = "; ".join(f"{', '.join(actions)} by {who}{when}" for (who, when), actions in gaps.items())
    return f"the bucket policy does not deny requests made over HTTP (aws:SecureTransport false): {shown}"


def _public_write_policy(policy: Any, responsible: Any) -> dict:
    """The public Allow statements (their conditions dropped: S3 found none restricting) and the Deny statements
    whose conditions test only keys AWS sets; a Deny the caller can side-step is not trusted."""
    indexes = {ref.index for ref in responsible}
    kept = []
    for index, statement in enumerate(_statements(policy)):
        if not isinstance(statement, dict):
            continue
        if statement.get("Effect") == "Deny":
            keys = {key.lower() for block in (statement.get("Condition") or {}).values() if isinstance(block, dict)
                    for key in block}
            if keys <= AWS_SET_KEYS:
                kept.append(statement)
        elif index in indexes:
            kept.append({k: v for k, v in statement.items() if k != "Condition"})
    return {"Version": policy.get("Version", "2012-10-17"), "Statement": kept}


WRITE_GRANTS = ("WRITE", "WRITE_ACP", "FULL_CONTROL")


@reads("arn", "name", "policy", "effective_public_access_block", "public_acl_grants")
def bucket_not_publicly_writable(resource: Mapping[str, Any], inventory: Inventory,
                                 params: Mapping[str, Any]) -> Optional[str]:
    """Nobody outside the account can write to the bucket: no public ACL grant S3 honours gives WRITE, WRITE_ACP or
    FULL_CONTROL, and no public bucket policy (S3's meaning of public, honouring Block Public Access) allows an
    anonymous caller an S3 write action, as the policy engine decides it with the policy's Deny statements."""
    from .policy import PolicyError, Request, evaluate, is_public
    from .policy.public import S3_WRITE_ACTIONS

    reasons = []
    for grant in resource.get("public_acl_grants") or ():
        if grant["permission"] in WRITE_GRANTS:
            group = grant["grantee"].rsplit("/", 1)[-1]
            reasons.append(f"the ACL grants {grant['permission']} to {group}")
    policy = resource.get("policy")
    if policy is not None:
        effective = PublicAccessBlock(**resource["effective_public_access_block"]).as_aws()
        try:
            verdict = is_public(policy, block_public_access=effective)
            written = []
            if verdict.public:
                public_part = _public_write_policy(policy, verdict.statements)
                for action in S3_WRITE_ACTIONS:
                    if any(evaluate(Request(principal="anonymous", action=action, resource=target,
                                            resource_account=inventory.account_id, context=context),
                                    resource_policy=public_part, block_public_access=effective).allowed
                           for target in (resource["arn"], resource["arn"] + "/pytest-iam-probe")
                           for context in FROM_THE_INTERNET):
                        written.append(action)
        except PolicyError as exc:
            raise _policy_error(exc, f"the policy of bucket {resource['name']}")
        if written:
            names = ", ".join(dict.fromkeys(written[:5])) + (f" and {len(written) - 5} more" if len(written) > 5 else "")
            where = ", ".join(str(ref) for ref in verdict.statements)
            reasons.append(f"the bucket policy lets anyone {names} ({where})")
    return "; ".join(reasons) if reasons else None


BUILTIN_PREDICATES = {
    "stale_credentials": stale_credentials,
    "scp_applies": scp_applies,
    "bucket_not_public": bucket_not_public,
    "no_full_admin": no_full_admin,
    "trust_within_zone": trust_within_zone,
    "scp_denies": scp_denies,
    "root_not_used": root_not_used,
    "no_key_from_setup": no_key_from_setup,
    "support_role_exists": support_role_exists,
    "policy_attached_only_to": policy_attached_only_to,
    "analyzer_in_every_region": analyzer_in_every_region,
    "trust_not_open": trust_not_open,
    "cannot_escalate": cannot_escalate,
    "bucket_denies_insecure_transport": bucket_denies_insecure_transport,
    "bucket_not_publicly_writable": bucket_not_publicly_writable,
}
