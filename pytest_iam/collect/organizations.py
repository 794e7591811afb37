"""Read-only Organizations collector: the organization, its root/OU/account tree, every SCP with content and targets.

Usage::

    organization = collect_organization(reader_factory, account_id, errors, own_session=True)
    whole = read_organization(management_factory, errors)      # the tree and SCPs, not tied to one account
    organization = organization_for(whole, account_id, errors)  # ``whole``, or unavailable if the account is not in it

SCPs can be listed only from the management account or a delegated administrator. A member account's own session
gets AccessDenied: the facts are then recorded as ``unavailable`` with the reason, never as "no SCPs".
"""

from __future__ import annotations

import json
from typing import Any, Dict, List, Optional

from ..inventory import ORG_MEMBER, ORG_NONE, ORG_UNAVAILABLE, ORGANIZATION, OrgAccount, Organization, OrgUnit, Scp
from .errors import ACCESS_DENIED, READ_ERRORS, ErrorLog, error_code, make_unread, permission_for
from .iam import redact_document

READER_HINT = ("SCPs can be read only from the management account or a delegated administrator: "
               "set organization_reader for this account")

SCP = "SERVICE_CONTROL_POLICY"
RCP = "RESOURCE_CONTROL_POLICY"


def _pages(client: Any, operation: str, key: str, **params: Any) -> list:
    items: list = []
    for page in client.get_paginator(operation).paginate(**params):
        items.extend(page.get(key, []))
    return items


def _type_enabled(roots: list, policy_type: str) -> bool:
    return any(t.get("Type") == policy_type and t.get("Status") == "ENABLED"
               for r in roots for t in r.get("PolicyTypes", []))


def _read_policies(org: Any, policy_type: str, target_ids: List[str]) -> List[Scp]:
    """Every policy of ``policy_type`` with its content (redacted) and the targets it is attached to.

    Attachments are asked for the smaller way: per policy (``ListTargetsForPolicy``) or, when the organization has
    fewer roots, OUs and accounts than policies, per target (``ListPoliciesForTarget``); both give the same pairs."""
    summaries = _pages(org, "list_policies", "Policies", Filter=policy_type)
    per_target: Optional[Dict[str, List[str]]] = None
    if target_ids and len(target_ids) < len(summaries):
        per_target = {summary["Id"]: [] for summary in summaries}
        for target in target_ids:
            for attached in _pages(org, "list_policies_for_target", "Policies", TargetId=target, Filter=policy_type):
                per_target.setdefault(attached["Id"], []).append(target)
    policies = []
    for summary in summaries:
        content = org.describe_policy(PolicyId=summary["Id"])["Policy"]["Content"]
        try:
            content = json.loads(content)
        except ValueError:
            pass  # kept as text: the policy engine reports it as malformed, naming the policy
        content = redact_document(content)
        if per_target is not None:
            targets = per_target[summary["Id"]]
        else:
            targets = [t["TargetId"] for t in _pages(org, "list_targets_for_policy", "Targets", PolicyId=summary["Id"])]
        policies.append(
            Scp(
                id=summary["Id"],
                arn=summary.get("Arn", ""),
                name=summary.get("Name", ""),
                aws_managed=bool(summary.get("AwsManaged")),
                content=content,
                targets=tuple(sorted(targets)),
            )
        )
    return policies


def collect_organization(factory: Any, account_id: str, errors: ErrorLog, own_session: bool = True) -> Organization:
    """The organization as ``account_id`` sees it, read through ``factory`` (the account's own session or a reader)."""
    return organization_for(read_organization(factory, errors, own_session=own_session), account_id, errors)


def read_organization(factory: Any, errors: ErrorLog, own_session: bool = True) -> Organization:
    """The whole organization read through ``factory``: ``member`` with every account, OU and SCP, ``unavailable``
    with the reason, or ``not_in_organization`` (``own_session`` only: AWS said so about the caller's account)."""
    org = factory.client("organizations", "us-east-1")
    try:
        description = org.describe_organization()["Organization"]
    except READ_ERRORS as exc:
        code = error_code(exc)
        if code == "AWSOrganizationsNotInUseException" and own_session:
            return Organization(status=ORG_NONE, reason="AWS says the account is not a member of an organization")
        return Organization(status=ORG_UNAVAILABLE, reason=_unread(errors, "DescribeOrganization", exc))
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
        scps_enabled = _type_enabled(roots, SCP)
        target_ids = [r["Id"] for r in roots] + [u.id for u in units] + [a.id for a in accounts]
        scps = _read_policies(org, SCP, target_ids)
        # RCPs: AWS attaches RCPFullAWSAccess everywhere once the type is enabled; when it is not enabled no RCP
        # applies, so nothing needs listing (Organizations user guide, "Resource control policies").
        rcps_enabled = _type_enabled(roots, RCP)
        rcps = _read_policies(org, RCP, target_ids) if rcps_enabled else []
    except READ_ERRORS as exc:
        operation = getattr(exc, "operation_name", None) or "ListRoots"
        return Organization(status=ORG_UNAVAILABLE, reason=_unread(errors, operation, exc), **base)
    return Organization(
        status=ORG_MEMBER,
        root_ids=tuple(r["Id"] for r in roots),
        units=tuple(sorted(units, key=lambda u: u.id)),
        accounts=tuple(sorted(accounts, key=lambda a: a.id)),
        scps=tuple(sorted(scps, key=lambda p: p.id)),
        scps_enabled=scps_enabled,
        rcps=tuple(sorted(rcps, key=lambda p: p.id)),
        rcps_enabled=rcps_enabled,
        **base,
    )


def organization_for(organization: Organization, account_id: str, errors: ErrorLog) -> Organization:
    """``organization`` as one account's facts: itself when the account is in it, else unavailable with the reason
    (recorded in ``errors``)."""
    if organization.status != ORG_MEMBER or account_id in {a.id for a in organization.accounts}:
        return organization
    base = dict(id=organization.id, management_account_id=organization.management_account_id)
    gap = make_unread(ORGANIZATION, "organizations", "ListAccountsForParent", "AccountNotInOrganization",
                      advice=f"account {account_id} is not in the organization {base['id']} read through the "
                             "organization reader: set organization_reader to a reader of its organization")
    errors.add_message("organizations", "ListAccountsForParent", str(gap))
    errors.add_unread(gap)
    return Organization(status=ORG_UNAVAILABLE, reason=str(gap), **base)


def _unread(errors: ErrorLog, operation: str, exc: BaseException) -> str:
    """Record the organization as unread because ``operation`` failed; returns the one-line reason."""
    errors.add("organizations", operation, exc)
    code = error_code(exc)
    advice = f"grant {permission_for('organizations', operation)}; {READER_HINT}" if code in ACCESS_DENIED else None
    gap = make_unread(ORGANIZATION, "organizations", operation, code, advice=advice)
    errors.add_unread(gap)
    return str(gap)
