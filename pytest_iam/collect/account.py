"""Read-only collector of account settings: the security contact (CIS 1.2) and IAM Access Analyzer (CIS 1.19).

Usage::

    facts = collect_account(factory, account_id="123456789012", partition="aws", errors=errors,
                            regions=("us-east-1", "eu-west-1"))
    facts["security_contact_registered"]   # True / False, or None when it could not be read
    facts["access_analyzers"]              # every region's analyzers, or None when a region could not be listed

``account:GetAlternateContact`` answers ``ResourceNotFoundException`` when no contact of the type is registered (AWS
Account Management API Reference): that is a fact (False), not a failure. Access Analyzer is regional: its analyzers
are listed in each region of the account's ``regions``; one region that cannot be listed leaves the whole list
unread, since "an analyzer in every region" cannot then be told.
"""

from __future__ import annotations

from typing import Any, Iterable, List, Optional

from ..inventory import ACCESS_ANALYZERS, SECURITY_CONTACT, Analyzer
from .errors import READ_ERRORS, ErrorLog, error_code

NO_CONTACT = "ResourceNotFoundException"


def security_contact_registered(factory: Any, errors: ErrorLog) -> Optional[bool]:
    """Whether a SECURITY alternate contact is registered; None (and the source unread) when it cannot be read."""
    try:
        contact = factory.client("account").get_alternate_contact(AlternateContactType="SECURITY")
    except READ_ERRORS as exc:
        if error_code(exc) == NO_CONTACT:
            return False
        errors.unread(SECURITY_CONTACT, "account", "GetAlternateContact", exc)
        return None
    details = contact.get("AlternateContact") or {}
    return bool(details.get("EmailAddress") or details.get("Name") or details.get("PhoneNumber"))


def list_analyzers(factory: Any, regions: Iterable[str], errors: ErrorLog) -> Optional[tuple]:
    """Every analyzer of every region in ``regions``; None when any region could not be listed."""
    found: List[Analyzer] = []
    complete = True
    for region in regions:
        client = factory.client("accessanalyzer", region)
        try:
            for page in client.get_paginator("list_analyzers").paginate():
                for item in page.get("analyzers", []):
                    found.append(Analyzer(name=item.get("name", ""), arn=item.get("arn", ""), region=region,
                                          type=item.get("type", ""), status=item.get("status", "")))
        except READ_ERRORS as exc:
            errors.unread(ACCESS_ANALYZERS, "accessanalyzer", "ListAnalyzers", exc)
            complete = False
    return tuple(found) if complete else None


def collect_account(factory: Any, account_id: str, partition: str, errors: ErrorLog,
                    regions: Iterable[str] = ()) -> dict:
    """The account settings as inventory fields (keyword arguments for Inventory)."""
    regions = tuple(regions) or (factory.default_region,)
    return {
        "security_contact_registered": security_contact_registered(factory, errors),
        "access_analyzers": list_analyzers(factory, regions, errors),
        "access_analyzer_regions": regions,
    }
