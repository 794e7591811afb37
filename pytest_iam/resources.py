"""Resource views: what a check iterates, as plain dicts a JMESPath ``key`` can read.

Usage::

    for user in RESOURCE_TYPES["users"](inventory):
        user["arn"], user["label"], user["password_enabled"], user["access_keys"][0]["last_rotated"]

Every view has ``arn`` (the resource the finding names) and ``label`` (a short human name). Datetimes stay datetimes
(``value_type: age`` turns them into days). A view raises ResourceUnavailable when the facts it needs were not
collected, so a check reports an error instead of a pass.
"""

from __future__ import annotations

import dataclasses
from typing import Any, Callable, Dict, List, Optional

from .inventory import ORG_MEMBER, Inventory


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


def _errors(inventory: Inventory, service: str) -> str:
    errors = inventory.errors_for(service)
    return "; ".join(str(e) for e in errors) if errors else "not collected"


def root(inventory: Inventory) -> List[dict]:
    r = inventory.root
    if r is None:
        raise ResourceUnavailable(
            f"root facts unavailable (no credential report row and no account summary): {_errors(inventory, 'iam')}",
            inventory.root_arn, "root",
        )
    view = as_dict(r)
    view.update(
        label="root",
        hardware_mfa=r.hardware_mfa,
        virtual_mfa=any(d.virtual for d in r.mfa_devices),
        active_access_keys=sum(1 for k in r.access_keys if k.active),
    )
    return [view]


def users(inventory: Inventory) -> List[dict]:
    _require_details(inventory)
    out = []
    for u in inventory.users:
        view = as_dict(u)
        view.update(
            label=f"user/{u.name}",
            active_access_keys=sum(1 for k in u.access_keys if k.active),
            direct_policies=[p.name for p in u.attached_policies] + [p.name for p in u.inline_policies],
        )
        out.append(view)
    return out


def _require_details(inventory: Inventory) -> None:
    if any(e.operation == "GetAccountAuthorizationDetails" for e in inventory.errors):
        raise ResourceUnavailable(f"IAM entities unavailable: {_errors(inventory, 'iam')}", inventory.root_arn, "account")


def access_keys(inventory: Inventory) -> List[dict]:
    out = []
    for u in users(inventory):
        for key in u["access_keys"]:
            out.append({**key, "arn": u["arn"], "label": f"user/{u['name']} key {key['slot']}", "user": u["name"]})
    return out


def groups(inventory: Inventory) -> List[dict]:
    _require_details(inventory)
    return [{**as_dict(g), "label": f"group/{g.name}"} for g in inventory.groups]


def roles(inventory: Inventory) -> List[dict]:
    _require_details(inventory)
    return [{**as_dict(r), "label": f"role/{r.name}", "service_linked": r.service_linked} for r in inventory.roles]


def policies(inventory: Inventory) -> List[dict]:
    """Customer-managed policies and every inline policy (of users, groups and roles)."""
    _require_details(inventory)
    out = [
        {"arn": p.arn, "label": f"policy/{p.name}", "name": p.name, "kind": "managed", "owner": None,
         "document": p.document, "attachment_count": p.attachment_count}
        for p in inventory.policies
        if not p.aws_managed
    ]
    for kind, entities in (("user", inventory.users), ("group", inventory.groups), ("role", inventory.roles)):
        for entity in entities:
            for inline in entity.inline_policies:
                out.append({"arn": entity.arn, "label": f"{kind}/{entity.name} inline {inline.name}", "name": inline.name,
                            "kind": "inline", "owner": entity.arn, "document": inline.document, "attachment_count": 1})
    return out


def buckets(inventory: Inventory) -> List[dict]:
    if not inventory.buckets and any(e.operation == "ListBuckets" for e in inventory.errors):
        raise ResourceUnavailable(f"buckets unavailable: {_errors(inventory, 's3')}", inventory.root_arn, "account")
    return [{**as_dict(b), "label": f"bucket/{b.name}"} for b in inventory.buckets]


def account(inventory: Inventory) -> List[dict]:
    pab = inventory.account_public_access_block
    return [
        {
            "arn": inventory.root_arn,
            "label": f"account {inventory.account_id}",
            "account_id": inventory.account_id,
            "alias": inventory.alias,
            "password_policy": as_dict(inventory.password_policy) if inventory.password_policy else None,
            "password_policy_collected": not any(e.operation == "GetAccountPasswordPolicy" for e in inventory.errors),
            "s3_public_access_block": pab.as_aws() if pab else None,
            "organization_status": inventory.organization.status,
        }
    ]


def org_accounts(inventory: Inventory) -> List[dict]:
    """Every account of the organization but the management account (SCPs do not restrict it)."""
    org = inventory.organization
    if org.status != ORG_MEMBER:
        if org.status == "not_in_organization":
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
    "buckets": buckets,
    "org_accounts": org_accounts,
}
