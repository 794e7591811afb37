"""Resource views: what a check iterates, as plain dicts a JMESPath ``key`` can read.

Usage::

    for user in RESOURCE_TYPES["users"](inventory):
        user["arn"], user["label"], user["password_enabled"], user["access_keys"][0]["last_rotated"]

Every view has ``arn`` (the resource the finding names) and ``label`` (a short human name). Datetimes stay datetimes
(``value_type: age`` turns them into days).

Facts that were not read are said so, never shown as empty: a view whose fields could not be read carries
``unread``, ``{field: one-line reason}`` for the top-level fields concerned (their values are None), e.g.
``{"password_enabled": "iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport", ...}``; a view
without gaps has no ``unread`` key. A resource type that cannot be listed at all (the authorization details, the
bucket list, the organization) raises ResourceUnavailable with the same one-line reason, so a check reports an
error instead of a pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional

from . import fields as declared
from .inventory import (
    ACCESS_ANALYZERS,
    ACCOUNT_ALIASES,
    ACCOUNT_PUBLIC_ACCESS_BLOCK,
    ACCOUNT_SUMMARY,
    AUTHORIZATION_DETAILS,
    BUCKET_LIST,
    CREDENTIAL_REPORT,
    ORG_MEMBER,
    ORG_NONE,
    PASSWORD_POLICY,
    SECURITY_CONTACT,
    SERVER_CERTIFICATES,
    VIRTUAL_MFA_DEVICES,
    Inventory,
    PublicAccessBlock,
    Root,
    User,
    instances_source,
)

UNREAD = declared.UNREAD  # the view key: {field: reason} of the fields whose facts were not read

# Fields of a user view told by the credential report; of a root view, by the report or the account summary.
USER_REPORT_FIELDS = ("password_enabled", "password_last_used", "password_last_changed", "mfa_active", "mfa_devices",
                      "access_keys", "active_access_keys", "in_credential_report")
# the declared fields (fields.py) but the ARN and label, which a view always has
ROOT_FIELDS = tuple(f.name for f in declared.ROOT_FIELDS if f.name not in ("arn", "label"))
ACCESS_KEY_FIELDS = tuple(f.name for f in declared.ACCESS_KEY_FIELDS)


class ResourceUnavailable(Exception):
    """The facts a resource type needs are missing from the inventory (message says why)."""

    def __init__(self, message: str, arn: Optional[str] = None, label: Optional[str] = None) -> None:
        super().__init__(message)
        self.arn = arn
        self.label = label


def as_dict(obj: Any) -> Dict[str, Any]:
    """A shallow-recursive dict of a dataclass, datetimes kept."""
    out = {}
    for f in dataclasses.fields(obj):
        value = getattr(obj, f.name)
        if dataclasses.is_dataclass(value):
            value = as_dict(value)
        elif isinstance(value, tuple):
            value = [as_dict(v) if dataclasses.is_dataclass(v) else v for v in value]
        out[f.name] = value
    return out


# The calls whose failure, in the error log, means a source was not read (for inventories built without records).
SOURCE_OPERATIONS = {
    CREDENTIAL_REPORT: (("iam", "GenerateCredentialReport"), ("iam", "GetCredentialReport")),
    AUTHORIZATION_DETAILS: (("iam", "GetAccountAuthorizationDetails"),),
    ACCOUNT_SUMMARY: (("iam", "GetAccountSummary"),),
    PASSWORD_POLICY: (("iam", "GetAccountPasswordPolicy"),),
    VIRTUAL_MFA_DEVICES: (("iam", "ListVirtualMFADevices"),),
    BUCKET_LIST: (("s3", "ListBuckets"),),
    ACCOUNT_PUBLIC_ACCESS_BLOCK: (("s3control", "GetPublicAccessBlock"),),
    ACCOUNT_ALIASES: (("iam", "ListAccountAliases"),),
    SERVER_CERTIFICATES: (("iam", "ListServerCertificates"),),
    SECURITY_CONTACT: (("account", "GetAlternateContact"),),
    ACCESS_ANALYZERS: (("accessanalyzer", "ListAnalyzers"),),
}


def _gap(inventory: Inventory, source: str) -> Optional[str]:
    """Why ``source`` was not read, in one line; None when it was read."""
    gap = inventory.gap(source)
    if gap is not None:
        return str(gap)
    calls = SOURCE_OPERATIONS.get(source, ())
    logged = [str(e) for e in inventory.errors if (e.service, e.operation) in calls]
    return "; ".join(logged) if logged else None


def _reason(inventory: Inventory, *sources: str) -> str:
    """The one-line reasons of the unread ``sources``, joined; "not collected" when none is recorded."""
    reasons = [r for r in (_gap(inventory, s) for s in sources) if r is not None]
    return "; ".join(reasons) if reasons else "not collected"


def _mark(view: dict, fields: Any, reason: str) -> None:
    """Say that ``fields`` of ``view`` were not read, and why (a field already marked keeps its first reason)."""
    marks = view.setdefault(UNREAD, {})
    for name in fields:
        marks.setdefault(name, reason)


def _active(keys: Any) -> Optional[int]:
    return None if keys is None else sum(1 for k in keys if k.active)


def root(inventory: Inventory) -> List[dict]:
    r = inventory.root
    if r is None:
        if _gap(inventory, CREDENTIAL_REPORT) is None and _gap(inventory, ACCOUNT_SUMMARY) is None:
            logged = "; ".join(str(e) for e in inventory.errors_for("iam")) or "nothing was recorded about why"
            raise ResourceUnavailable(
                f"root facts unavailable (no credential report row and no account summary): {logged}",
                inventory.root_arn, "root",
            )
        r = Root(arn=inventory.root_arn, mfa_active=None, mfa_devices=None, access_keys=None, source="")
        view = _root_view(r)
        view["source"] = None
        _mark(view, ROOT_FIELDS, _reason(inventory, CREDENTIAL_REPORT, ACCOUNT_SUMMARY))
        return [view]
    view = _root_view(r)
    if r.source == "account_summary":  # the report was unread, or (an emulator) had no <root_account> row
        reason = _gap(inventory, CREDENTIAL_REPORT) or (
            "iam:GetCredentialReport: NoRootAccountRow; the report has no <root_account> row")
        _mark(view, ("password_enabled", "password_last_used"), reason)
        if r.access_keys is None:
            _mark(view, ("access_keys", "active_access_keys"), reason)
    if r.mfa_devices is None:
        _mark(view, ("mfa_devices", "hardware_mfa", "virtual_mfa"), _reason(inventory, VIRTUAL_MFA_DEVICES))
    return [view]


def _root_view(r: Root) -> dict:
    view = as_dict(r)
    view.update(
        label="root",
        hardware_mfa=r.hardware_mfa,
        virtual_mfa=None if r.mfa_devices is None else any(d.virtual for d in r.mfa_devices),
        active_access_keys=_active(r.access_keys),
    )
    return view


def users(inventory: Inventory) -> List[dict]:
    _require_details(inventory)
    report = _gap(inventory, CREDENTIAL_REPORT)
    out = []
    for u in inventory.users or ():
        view = as_dict(u)
        view.update(
            label=f"user/{u.name}",
            active_access_keys=_active(u.access_keys),
            direct_policies=[p.name for p in u.attached_policies] + [p.name for p in u.inline_policies],
        )
        _tags(view, u)
        if report is not None or not u.in_credential_report:
            reason = report if report is not None else _not_in_report(inventory, u)
            _mark(view, [f for f in USER_REPORT_FIELDS if not (f == "mfa_active" and u.mfa_active is True)
                         and not (f == "in_credential_report" and report is None)], reason)
        elif u.mfa_devices is None:
            _mark(view, ("mfa_devices",), _reason(inventory, VIRTUAL_MFA_DEVICES))
        out.append(view)
    return out


def _not_in_report(inventory: Inventory, user: User) -> str:
    generated = inventory.credential_report_generated_at
    when = generated.strftime("%Y-%m-%dT%H:%M:%SZ") if generated else "an earlier time"
    return (f"iam:GetCredentialReport: UserNotInReport; the report was generated at {when}, before user {user.name} "
            "existed: run again once IAM regenerates it (at most every 4 hours)")


def _require_details(inventory: Inventory) -> None:
    if _gap(inventory, AUTHORIZATION_DETAILS) is not None or inventory.users is None:
        raise ResourceUnavailable(f"IAM entities unavailable: {_reason(inventory, AUTHORIZATION_DETAILS)}",
                                  inventory.root_arn, "account")


def access_keys(inventory: Inventory) -> List[dict]:
    """Every access key of every user. A user the credential report does not tell about gives one view whose key
    fields are all unread (the keys cannot be listed); an unread report makes the whole type unavailable."""
    views = users(inventory)
    report = _gap(inventory, CREDENTIAL_REPORT)
    if report is not None:
        raise ResourceUnavailable(f"access keys unavailable: {report}", inventory.root_arn, "account")
    out = []
    for u in views:
        if u["access_keys"] is None:
            unknown = {name: None for name in ACCESS_KEY_FIELDS}
            out.append({**unknown, "arn": u["arn"], "label": f"user/{u['name']} keys", "user": u["name"],
                        UNREAD: {name: u[UNREAD]["access_keys"] for name in ACCESS_KEY_FIELDS}})
            continue
        for key in u["access_keys"]:
            out.append({**key, "arn": u["arn"], "label": f"user/{u['name']} key {key['slot']}", "user": u["name"]})
    return out


def groups(inventory: Inventory) -> List[dict]:
    _require_details(inventory)
    return [{**as_dict(g), "label": f"group/{g.name}"} for g in inventory.groups or ()]


def roles(inventory: Inventory) -> List[dict]:
    _require_details(inventory)
    out = []
    for r in inventory.roles or ():
        view = {**as_dict(r), "label": f"role/{r.name}", "service_linked": r.service_linked}
        _tags(view, r)
        out.append(view)
    return out


TAGS_NOT_COLLECTED = ("tags were not collected (the inventory was made before pytest-iam collected them): collect "
                      "the account again")


def _tags(view: dict, entity: Any) -> None:
    """A user's or role's tags as a mapping key -> value; unread when the inventory does not hold them."""
    if entity.tags is None:
        view["tags"] = None
        _mark(view, ("tags",), TAGS_NOT_COLLECTED)
    else:
        view["tags"] = {t.key: t.value for t in entity.tags}


def attachments(inventory: Inventory) -> Dict[str, List[str]]:
    """``{managed policy ARN: [ARNs of the users, groups and roles it is attached to]}`` (permissions boundaries are
    not attachments)."""
    out: Dict[str, List[str]] = {}
    for entities in (inventory.users, inventory.groups, inventory.roles):
        for entity in entities or ():
            for ref in entity.attached_policies:
                out.setdefault(ref.arn, []).append(entity.arn)
    return out


def policies(inventory: Inventory) -> List[dict]:
    """Customer-managed policies, AWS-managed policies attached to a user, group or role (CIS 1.15 judges those
    too), and every inline policy (of users, groups and roles)."""
    _require_details(inventory)
    attached = attachments(inventory)
    out = [
        {"arn": p.arn, "label": f"policy/{p.name}", "name": p.name, "kind": "managed", "owner": None,
         "document": p.document, "attachment_count": p.attachment_count, "aws_managed": p.aws_managed,
         "attached_to": attached.get(p.arn, [])}
        for p in inventory.policies or ()
        if not p.aws_managed or attached.get(p.arn)
    ]
    listed = {p.arn for p in inventory.policies or ()}
    for arn in sorted(set(attached) - listed):  # attached, but the authorization details did not carry it
        name = arn.rsplit("/", 1)[-1]
        view = {"arn": arn, "label": f"policy/{name}", "name": name, "kind": "managed", "owner": None,
                "document": None, "attachment_count": len(attached[arn]), "aws_managed": arn.split(":")[4:5] == ["aws"],
                "attached_to": attached[arn]}
        _mark(view, ("document",), f"the document of attached policy {arn} is not in the authorization details "
                                   "(iam:GetAccountAuthorizationDetails returns every attached policy: collect again)")
        out.append(view)
    for kind, entities in (("user", inventory.users), ("group", inventory.groups), ("role", inventory.roles)):
        for entity in entities or ():
            for inline in entity.inline_policies:
                out.append({"arn": entity.arn, "label": f"{kind}/{entity.name} inline {inline.name}", "name": inline.name,
                            "kind": "inline", "owner": entity.arn, "document": inline.document, "attachment_count": 1,
                            "aws_managed": False, "attached_to": [entity.arn]})
    return out


def principals(inventory: Inventory) -> List[dict]:
    """Every IAM user and every role that is not service-linked: who could act in the account."""
    _require_details(inventory)
    out = [{"arn": u.arn, "label": f"user/{u.name}", "name": u.name, "kind": "user"} for u in inventory.users or ()]
    out += [{"arn": r.arn, "label": f"role/{r.name}", "name": r.name, "kind": "role"}
            for r in inventory.roles or () if not r.service_linked]
    return out


def server_certificates(inventory: Inventory) -> List[dict]:
    """Every SSL/TLS server certificate stored in IAM (``iam:ListServerCertificates``)."""
    if inventory.server_certificates is None or _gap(inventory, SERVER_CERTIFICATES) is not None:
        raise ResourceUnavailable(f"server certificates unavailable: {_reason(inventory, SERVER_CERTIFICATES)}",
                                  inventory.root_arn, "account")
    return [{**as_dict(c), "label": f"server-certificate/{c.name}"} for c in inventory.server_certificates]


def buckets(inventory: Inventory) -> List[dict]:
    if inventory.buckets is None or _gap(inventory, BUCKET_LIST) is not None:
        raise ResourceUnavailable(f"buckets unavailable: {_reason(inventory, BUCKET_LIST)}", inventory.root_arn,
                                  "account")
    account_gap = _gap(inventory, ACCOUNT_PUBLIC_ACCESS_BLOCK)  # the same for every bucket
    out = []
    for b in inventory.buckets:
        view = {**as_dict(b), "label": f"bucket/{b.name}"}
        view.pop(UNREAD)
        if b.unread:
            view[UNREAD] = b.unread_fields()
        _bucket_effective_facts(inventory, b, view, account_gap)
        out.append(view)
    return out


# --- the S3 settings in effect for a bucket (CIS 2.1.2, 2.1.4, public ACLs) ---------------------------------------

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
PUBLIC_GRANTEES = (ALL_USERS, AUTHENTICATED_USERS)
NOT_COLLECTED = "not collected: the inventory was made before this fact was collected; collect the account again"


def _bucket_effective_facts(inventory: Inventory, bucket: Any, view: dict, account_gap: Optional[str]) -> None:
    """Add ``effective_public_access_block`` and ``public_acl_grants``; say why ``versioning``, ``mfa_delete`` and
    ``acl_grants`` are not facts when they are not."""
    gaps = bucket.unread_fields()
    not_read = view.pop("acl_not_read", None)
    if not_read:
        _mark(view, ("acl_grants",), not_read)
    for name in ("versioning", "mfa_delete"):
        if getattr(bucket, name) is None and name not in gaps:
            _mark(view, (name,), NOT_COLLECTED)
    effective, why = _effective_pab(inventory, bucket, gaps, account_gap)
    view["effective_public_access_block"] = dataclasses.asdict(effective) if effective else None
    if effective is None:
        _mark(view, ("effective_public_access_block",), why)
    view["public_acl_grants"] = None
    if effective is not None and effective.ignore_public_acls:
        view["public_acl_grants"] = []  # S3 ignores every public ACL grant (IgnorePublicAcls)
    elif bucket.acl_grants is not None and not not_read:
        public = [as_dict(g) for g in bucket.acl_grants if g.grantee in PUBLIC_GRANTEES]
        if public and effective is None:
            _mark(view, ("public_acl_grants",), f"whether S3 ignores the public ACL grants is unknown: {why}")
        else:
            view["public_acl_grants"] = public
    else:
        _mark(view, ("public_acl_grants",), gaps.get("acl_grants") or not_read or NOT_COLLECTED)


def _effective_pab(inventory: Inventory, bucket: Any, gaps: Dict[str, str], account_gap: Optional[str]) -> tuple:
    """The settings in effect (each on when the bucket's or the account's is: S3 applies the most restrictive
    combination), or None and why when a side that could decide was not read (``account_gap``: why the account's
    settings were not read, or None)."""
    own = None if "public_access_block" in gaps else (bucket.public_access_block or PublicAccessBlock())
    account_pab = None if account_gap is not None else inventory.account_public_access_block
    all_on = PublicAccessBlock(True, True, True, True)
    if own is not None and account_pab is not None:
        return own.merged(account_pab), None
    if own == all_on or account_pab == all_on:
        return all_on, None
    reasons = [r for r in (gaps.get("public_access_block"),
                           account_gap or (None if account_pab is not None else "the account's settings: not collected"))
               if r]
    return None, "; ".join(reasons)


def instances(inventory: Inventory) -> List[dict]:
    """Every EC2 instance of the account's regions that is not terminated; a region whose instances could not be
    read gives one view, ``instances in REGION``, whose every fact is unread (never an empty region)."""
    if inventory.instances is None:
        raise ResourceUnavailable(f"EC2 instances unavailable: {NOT_COLLECTED}", inventory.root_arn, "account")
    out = []
    for i in inventory.instances:
        view = {**as_dict(i), "label": f"instance/{i.id}" + (f" ({i.name})" if i.name else "") + f" in {i.region}"}
        out.append(view)
    for region in inventory.instance_regions:
        gap = inventory.gap(instances_source(region))
        if gap is None:
            continue
        facts = tuple(f.name for f in declared.INSTANCE_FIELDS if f.name not in ("arn", "label", "region"))
        view = {name: None for name in facts}
        view.update(arn=f"arn:{inventory.partition}:ec2:{region}:{inventory.account_id}:instance/*",
                    label=f"instances in {region}", region=region)
        _mark(view, facts, str(gap))
        out.append(view)
    return out


def account(inventory: Inventory) -> List[dict]:
    pab = inventory.account_public_access_block
    view = {
        "arn": inventory.root_arn,
        "label": f"account {inventory.account_id}",
        "account_id": inventory.account_id,
        "alias": inventory.alias,
        "password_policy": as_dict(inventory.password_policy) if inventory.password_policy else None,
        "password_policy_collected": _gap(inventory, PASSWORD_POLICY) is None,
        "s3_public_access_block": pab.as_aws() if pab else None,
        "organization_status": inventory.organization.status,
    }
    _account_settings(inventory, view)
    for field, source in (("password_policy", PASSWORD_POLICY), ("s3_public_access_block", ACCOUNT_PUBLIC_ACCESS_BLOCK),
                          ("alias", ACCOUNT_ALIASES)):
        reason = _gap(inventory, source)
        if reason is not None:
            _mark(view, (field,), reason)
    org = inventory.organization
    if org.status not in (ORG_MEMBER, ORG_NONE):
        _mark(view, ("organization_status",), org.reason or "the organization was not collected")
    return [view]


def _account_settings(inventory: Inventory, view: dict) -> None:
    """The account view's security contact, Access Analyzer and managed-policy attachment facts (CIS 1.2, 1.19,
    1.16, 1.21), each marked unread when its source was not read (or not collected)."""
    view["security_contact_registered"] = inventory.security_contact_registered
    analyzers = inventory.access_analyzers
    view["access_analyzers"] = None if analyzers is None else [as_dict(a) for a in analyzers]
    view["access_analyzer_regions"] = list(inventory.access_analyzer_regions)
    for field, value, source in (("security_contact_registered", inventory.security_contact_registered,
                                  SECURITY_CONTACT), ("access_analyzers", analyzers, ACCESS_ANALYZERS)):
        reason = _gap(inventory, source)
        if reason is None and value is None:
            reason = f"{field} were not collected (the inventory was made before pytest-iam collected them)"
        if reason is not None:
            _mark(view, (field,), reason)
    details = _gap(inventory, AUTHORIZATION_DETAILS)
    if details is not None or inventory.users is None or inventory.roles is None or inventory.groups is None:
        view["managed_policy_attachments"] = None
        _mark(view, ("managed_policy_attachments",), details or "IAM entities were not collected")
        return
    view["managed_policy_attachments"] = [
        {"arn": arn, "name": arn.rsplit("/", 1)[-1], "aws_managed": arn.split(":")[4:5] == ["aws"], "attached_to": who}
        for arn, who in sorted(attachments(inventory).items())
    ]


def org_accounts(inventory: Inventory) -> List[dict]:
    """Every account of the organization but the management account (SCPs do not restrict it)."""
    org = inventory.organization
    if org.status != ORG_MEMBER:
        if org.status == ORG_NONE:
            return []
        raise ResourceUnavailable(f"organization facts unavailable: {org.reason}", inventory.root_arn, "organization")
    out = []
    for acct in org.accounts:
        if acct.id == org.management_account_id:
            continue
        out.append({
            "arn": f"arn:{inventory.partition}:organizations::{org.management_account_id}:account/{org.id}/{acct.id}",
            "label": f"account {acct.name} ({acct.id})",
            "id": acct.id,
            "name": acct.name,
            "status": acct.status,
        })
    return out


RESOURCE_TYPES: Dict[str, Callable[[Inventory], List[dict]]] = {
    "root": root,
    "account": account,
    "users": users,
    "access_keys": access_keys,
    "groups": groups,
    "roles": roles,
    "policies": policies,
    "principals": principals,
    "server_certificates": server_certificates,
    "buckets": buckets,
    "instances": instances,
    "org_accounts": org_accounts,
}
