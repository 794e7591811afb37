"""Read-only Organizations collector: the organization, its root/OU/account tree, every SCP with content and targets.

Usage::

    organization = collect_organization(reader_factory, account_id, errors, own_session=True)

SCPs can be listed only from the management account or a delegated administrator. A member account's own session
gets AccessDenied: the facts are then recorded as ``unavailable`` with the reason, never as "no SCPs".
"""

from __future__ import annotations

import json
from typing import Any, List

from botocore.exceptions import ClientError

from ..inventory import ORG_MEMBER, ORG_NONE, ORG_UNAVAILABLE, OrgAccount, Organization, OrgUnit, Scp
from .errors import ErrorLog, error_code

SCP = "SERVICE_CONTROL_POLICY"


def _pages(client: Any, operation: str, key: str, **params: Any) -> list:
    items: list = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(page.get(key, []))
    return items


def collect_organization(factory: Any, account_id: str, errors: ErrorLog, own_session: bool = True) -> Organization:
    org = factory.client("organizations", "us-east-1")
    try:
        description = org.describe_organization()["Organization"]
    except ClientError as exc:
        code = error_code(exc)
        if code == "AWSOrganizationsNotInUseException" and own_session:
            return Organization(status=ORG_NONE, reason="AWS says the account is not a member of an organization")
        errors.add("organizations", "DescribeOrganization", exc)
        return Organization(status=ORG_UNAVAILABLE, reason=f"DescribeOrganization: {code}")
    base = dict(id=description["Id"], management_account_id=description.get("MasterAccountId"))
    try:
        roots = _pages(org, "list_roots", "Roots")
        units: List[OrgUnit] = []
        accounts: List[OrgAccount] = []
        pending = [r["Id"] for r in roots]
        while pending:
            parent = pending.pop()
            for unit in _pages(org, "list_organizational_units_for_parent", "OrganizationalUnits", ParentId=parent):
                units.append(OrgUnit(id=unit["Id"], name=unit.get("Name", ""), parent_id=parent))
                pending.append(unit["Id"])
            for acct in _pages(org, "list_accounts_for_parent", "Accounts", ParentId=parent):
                accounts.append(
                    OrgAccount(
                        id=acct["Id"],
                        name=acct.get("Name", ""),
                        email=acct.get("Email", ""),
                        status=acct.get("Status", ""),
                        parent_id=parent,
                    )
                )
        scps_enabled = any(
            t.get("Type") == SCP and t.get("Status") == "ENABLED" for r in roots for t in r.get("PolicyTypes", [])
        )
        scps = []
        for summary in _pages(org, "list_policies", "Policies", Filter=SCP):
            content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
            try:
                content = json.loads(content)
            except ValueError:
                pass  # kept as text: the policy engine reports it as malformed, naming the policy
            targets = _pages(org, "list_targets_for_policy", "Targets", PolicyId=summary["Id"])
            scps.append(
                Scp(
                    id=summary["Id"],
                    arn=summary.get("Arn", ""),
                    name=summary.get("Name", ""),
                    aws_managed=bool(summary.get("AwsManaged")),
                    content=content,
                    targets=tuple(sorted(t["TargetId"] for t in targets)),
                )
            )
    except ClientError as exc:
        errors.add("organizations", exc.operation_name, exc)
        hint = ""
        if error_code(exc) in ("AccessDeniedException", "AccessDenied"):
            hint = (
                "; SCPs can be read only from the management account or a delegated administrator: "
                "set organization_reader for this account"
            )
        return Organization(status=ORG_UNAVAILABLE, reason=f"{exc.operation_name}: {error_code(exc)}{hint}", **base)
    if account_id not in {a.id for a in accounts}:
        return Organization(
            status=ORG_UNAVAILABLE,
            reason=f"account {account_id} is not in the organization {base['id']} read through the organization reader",
            **base,
        )
    return Organization(
        status=ORG_MEMBER,
        root_ids=tuple(r["Id"] for r in roots),
        units=tuple(sorted(units, key=lambda u: u.id)),
        accounts=tuple(sorted(accounts, key=lambda a: a.id)),
        scps=tuple(sorted(scps, key=lambda p: p.id)),
        scps_enabled=scps_enabled,
        **base,
    )
