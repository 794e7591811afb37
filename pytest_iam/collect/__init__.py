"""Read-only collectors, one module per service, and the function that builds an account's Inventory.

Usage::

    inventory = collect_inventory(account)   # one pass, every service; errors recorded, never raised
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..inventory import ORG_UNAVAILABLE, Inventory, Organization, now
from .errors import ErrorLog
from .iam import collect_iam
from .organizations import collect_organization
from .s3 import collect_s3

__all__ = ["collect_inventory"]


def collect_inventory(account: Any) -> Inventory:
    """Collect everything the checks need from ``account`` (a pytest_iam.accounts.Account)."""
    errors = ErrorLog()
    started = now()
    account_id = account.id
    partition = account.partition
    fields: dict = {}
    for name, collector in (("iam", collect_iam), ("s3", collect_s3)):
        try:
            fields.update(collector(account.factory, account_id, partition, errors))
        except ClientError as exc:
            errors.add(name, "collect", exc)
        except BotoCoreError as exc:
            errors.add_message(name, "collect", type(exc).__name__)
    reader = account.organization_reader
    try:
        fields["organization"] = collect_organization(
            (reader or account).factory, account_id, errors, own_session=reader is None
        )
    except (ClientError, BotoCoreError) as exc:
        errors.add_message("organizations", "collect", type(exc).__name__)
        fields["organization"] = Organization(status=ORG_UNAVAILABLE, reason=type(exc).__name__)
    try:
        alias = account.alias
    except ClientError as exc:
        errors.add("iam", "ListAccountAliases", exc)
        alias = None
    return Inventory(
        account_name=account.name,
        account_id=account_id,
        partition=partition,
        alias=alias,
        caller_arn=account.caller_arn,
        collected_at=started,
        errors=errors.freeze(),
        **fields,
    )
