"""Read-only collectors, one module per service, and the function that builds an account's Inventory.

Usage::

    inventory = collect_inventory(account)   # one pass, every service; errors recorded, never raised
    inventory.unread                         # (Unread("credential_report", "iam:GetCredentialReport", ...), ...)
"""

from __future__ import annotations

from typing import Any

from botocore.exceptions import BotoCoreError, ClientError

from ..inventory import (
    ACCOUNT_ALIASES,
    ACCOUNT_PUBLIC_ACCESS_BLOCK,
    ACCOUNT_SUMMARY,
    AUTHORIZATION_DETAILS,
    BUCKET_LIST,
    CREDENTIAL_REPORT,
    ORG_UNAVAILABLE,
    ORGANIZATION,
    PASSWORD_POLICY,
    SERVER_CERTIFICATES,
    VIRTUAL_MFA_DEVICES,
    Inventory,
    Organization,
    now,
)
from .errors import ErrorLog, error_code, make_unread
from .iam import collect_iam
from .organizations import collect_organization
from .s3 import collect_s3

__all__ = ["collect_inventory"]

# The fields each collector returns: all None (unread) when the collector failed as a whole.
EXPECTED_FIELDS = {
    "iam": ("credential_report_generated_at", "account_summary", "password_policy", "root", "users", "groups", "roles",
            "policies", "server_certificates"),
    "s3": ("account_public_access_block", "buckets"),
}
# The sources each collector reads, with the call that stands for each when the collector failed as a whole.
SOURCES_OF = {
    "iam": {CREDENTIAL_REPORT: ("iam", "GetCredentialReport"), ACCOUNT_SUMMARY: ("iam", "GetAccountSummary"),
            PASSWORD_POLICY: ("iam", "GetAccountPasswordPolicy"),
            VIRTUAL_MFA_DEVICES: ("iam", "ListVirtualMFADevices"),
            AUTHORIZATION_DETAILS: ("iam", "GetAccountAuthorizationDetails"),
            SERVER_CERTIFICATES: ("iam", "ListServerCertificates")},
    "s3": {ACCOUNT_PUBLIC_ACCESS_BLOCK: ("s3control", "GetPublicAccessBlock"), BUCKET_LIST: ("s3", "ListBuckets")},
}


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
        except (ClientError, BotoCoreError) as exc:  # the collectors record their own failures; this is a backstop
            _collector_failed(errors, name, exc, fields)
    reader = account.organization_reader
    try:
        fields["organization"] = collect_organization(
            (reader or account).factory, account_id, errors, own_session=reader is None
        )
    except (ClientError, BotoCoreError) as exc:
        errors.add("organizations", "DescribeOrganization", exc)
        gap = make_unread(ORGANIZATION, "organizations", "DescribeOrganization", error_code(exc))
        errors.add_unread(gap)
        fields["organization"] = Organization(status=ORG_UNAVAILABLE, reason=str(gap))
    try:
        alias = account.alias
    except (ClientError, BotoCoreError) as exc:
        errors.unread(ACCOUNT_ALIASES, "iam", "ListAccountAliases", exc)
        alias = None
    return Inventory(
        account_name=account.name,
        account_id=account_id,
        partition=partition,
        alias=alias,
        caller_arn=account.caller_arn,
        collected_at=started,
        errors=errors.freeze(),
        unread=errors.freeze_unread(),
        **fields,
    )


def _collector_failed(errors: ErrorLog, service: str, exc: BaseException, fields: dict) -> None:
    """Every field the collector did not return is unread (None), each source recorded with the failure's code."""
    errors.add(service, "collect", exc)
    code = error_code(exc)
    for source, (api, operation) in SOURCES_OF[service].items():
        errors.add_unread(make_unread(source, api, operation, code))
    for field in EXPECTED_FIELDS[service]:
        fields.setdefault(field, None)
