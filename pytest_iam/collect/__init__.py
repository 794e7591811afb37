"""Read-only collectors, one module per service, and the function that builds an account's Inventory.

Usage::

    inventory = collect_inventory(account)   # one pass, every service; errors recorded, never raised
    inventory.unread                         # (Unread("credential_report", "iam:GetCredentialReport", ...), ...)
"""

from __future__ import annotations

from typing import Any

from ..inventory import (
    ACCESS_ANALYZERS,
    ACCOUNT_ALIASES,
    ACCOUNT_PUBLIC_ACCESS_BLOCK,
    ACCOUNT_SUMMARY,
    AUTHORIZATION_DETAILS,
    BUCKET_LIST,
    CREDENTIAL_REPORT,
    ORG_UNAVAILABLE,
    ORGANIZATION,
    PASSWORD_POLICY,
    SECURITY_CONTACT,
    SERVER_CERTIFICATES,
    VIRTUAL_MFA_DEVICES,
    Inventory,
    Organization,
    instances_source,
    now,
)
from .account import collect_account
from .errors import READ_ERRORS, ErrorLog, error_code, make_unread
from .iam import collect_iam
from .organizations import collect_organization, organization_for
from .ec2 import collect_ec2
from .s3 import collect_s3

__all__ = ["collect_inventory"]

# The fields each collector returns: all None (unread) when the collector failed as a whole.
EXPECTED_FIELDS = {
    "iam": ("credential_report_generated_at", "account_summary", "password_policy", "root", "users", "groups", "roles",
            "policies", "server_certificates"),
    "s3": ("account_public_access_block", "buckets"),
    "account": ("security_contact_registered", "access_analyzers"),
}
# The sources each collector reads, with the call that stands for each when the collector failed as a whole.
SOURCES_OF = {
    "iam": {CREDENTIAL_REPORT: ("iam", "GetCredentialReport"), ACCOUNT_SUMMARY: ("iam", "GetAccountSummary"),
            PASSWORD_POLICY: ("iam", "GetAccountPasswordPolicy"),
            VIRTUAL_MFA_DEVICES: ("iam", "ListVirtualMFADevices"),
            AUTHORIZATION_DETAILS: ("iam", "GetAccountAuthorizationDetails"),
            SERVER_CERTIFICATES: ("iam", "ListServerCertificates")},
    "s3": {ACCOUNT_PUBLIC_ACCESS_BLOCK: ("s3control", "GetPublicAccessBlock"), BUCKET_LIST: ("s3", "ListBuckets")},
    "account": {SECURITY_CONTACT: ("account", "GetAlternateContact"),
                ACCESS_ANALYZERS: ("accessanalyzer", "ListAnalyzers")},
}


def collect_inventory(account: Any) -> Inventory:
    """Collect everything the checks need from ``account`` (a pytest_iam.accounts.Account)."""
    errors = ErrorLog()
    started = now()
    account_id = account.id
    partition = account.partition
    regions = account.regions  # the accounts file's, else the factory's region
    fields: dict = {}
    for name, collector in (("iam", collect_iam), ("s3", collect_s3)):
        try:
            fields.update(collector(account.factory, account_id, partition, errors))
        except READ_ERRORS as exc:  # the collectors record their own failures; this is a backstop
            _collector_failed(errors, name, exc, fields)
    try:  # account settings: the security contact, and Access Analyzer in each of the account's regions
        fields.update(collect_account(account.factory, account_id, partition, errors, regions))
    except READ_ERRORS as exc:
        _collector_failed(errors, "account", exc, fields)
    fields.update(_collect_instances(account.factory, regions, account_id, partition, errors))
    reader = account.organization_reader
    shared = getattr(account, "shared_organization", None)  # an org: target's member: the organization read once
    try:
        if shared is not None:
            fields["organization"] = organization_for(shared, account_id, errors)
        else:
            fields["organization"] = collect_organization(
                (reader or account).factory, account_id, errors, own_session=reader is None
            )
    except READ_ERRORS as exc:
        gap = errors.unread(ORGANIZATION, "organizations", "DescribeOrganization", exc)
        fields["organization"] = Organization(status=ORG_UNAVAILABLE, reason=str(gap))
    try:
        alias = account.alias
    except READ_ERRORS as exc:
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


def _collect_instances(factory: Any, regions: tuple, account_id: str, partition: str, errors: ErrorLog) -> dict:
    """EC2 instances in each of the account's regions."""
    try:
        return collect_ec2(factory, regions, account_id, partition, errors)
    except READ_ERRORS as exc:  # a backstop: the collector records each region's failure itself
        for region in regions:
            errors.unread(instances_source(region), "ec2", "DescribeInstances", exc)
        return {"instances": (), "instance_regions": regions}


def _collector_failed(errors: ErrorLog, service: str, exc: BaseException, fields: dict) -> None:
    """Every field the collector did not return is unread (None), each source recorded with the failure's code."""
    errors.add(service, "collect", exc)
    code = error_code(exc)
    for source, (api, operation) in SOURCES_OF[service].items():
        errors.add_unread(make_unread(source, api, operation, code))
    for field in EXPECTED_FIELDS[service]:
        fields.setdefault(field, None)
