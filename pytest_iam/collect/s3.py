"""Read-only S3 collector: buckets (policy, public-access block, ACL grants) and the account's public-access block.

Usage::

    facts = collect_s3(factory, account_id, partition, errors, workers=8)

Bucket calls go to the bucket's region. ``ListBuckets`` returns ``BucketRegion`` on current APIs; otherwise
``GetBucketLocation`` tells it (an empty constraint means us-east-1, ``EU`` means eu-west-1).

Calls per bucket: ``GetPublicAccessBlock``, ``GetBucketPolicy``, ``GetBucketVersioning`` and, only when
IgnorePublicAcls is not in effect for the bucket (its own setting or the account's), ``GetBucketAcl``. With
IgnorePublicAcls on, S3 ignores every public ACL grant of the bucket and its objects (S3 API reference,
``PublicAccessBlockConfiguration``), so the ACL cannot make the bucket public and is not read: the bucket records
why (``Bucket.acl_not_read``). S3 turns all four settings on for every bucket created since April 2023, so three
calls per bucket is the usual count, four for a bucket that ignores no public ACL.
"""

from __future__ import annotations

import dataclasses
from concurrent.futures import ThreadPoolExecutor
from typing import Any, List, Optional

from ..inventory import ACCOUNT_PUBLIC_ACCESS_BLOCK, BUCKET_LIST, Bucket, Grant, PublicAccessBlock, Unread
from .errors import READ_ERRORS, ErrorLog, error_code
from .iam import _aware, clean_document

ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"


def _pab(config: dict) -> PublicAccessBlock:
    return PublicAccessBlock(
        block_public_acls=bool(config.get("BlockPublicAcls")),
        ignore_public_acls=bool(config.get("IgnorePublicAcls")),
        block_public_policy=bool(config.get("BlockPublicPolicy")),
        restrict_public_buckets=bool(config.get("RestrictPublicBuckets")),
    )


def _region(factory: Any, listed: dict, errors: ErrorLog, gaps: List[Unread]) -> Optional[str]:
    region = listed.get("BucketRegion")
    if region:
        return region
    try:
        constraint = factory.client("s3").get_bucket_location(Bucket=listed["Name"]).get("LocationConstraint")
    except READ_ERRORS as exc:
        gaps.append(errors.unread("region", "s3", "GetBucketLocation", exc, account_wide=False))
        return None
    return {None: "us-east-1", "": "us-east-1", "EU": "eu-west-1"}.get(constraint, constraint)


def _bucket(factory: Any, listed: dict, partition: str, errors: ErrorLog,
            account_pab: Optional[PublicAccessBlock] = None) -> Bucket:
    """One bucket's facts; each call that fails leaves its field None and a record in ``Bucket.unread``."""
    name = listed["Name"]
    gaps: List[Unread] = []
    region = _region(factory, listed, errors, gaps)
    s3 = factory.client("s3", region)  # unknown region: the default one (S3 redirects a wrong-region call)

    def optional(field: str, operation: str, call: Any, absent: str) -> Any:
        """The call's result; None when AWS says the thing is not set (``absent``, a fact) or on error (recorded)."""
        try:
            return call()
        except READ_ERRORS as exc:
            if error_code(exc) != absent:
                gaps.append(errors.unread(field, "s3", operation, exc, account_wide=False))
            return None

    config = optional("public_access_block", "GetPublicAccessBlock",
                      lambda: s3.get_public_access_block(Bucket=name)["PublicAccessBlockConfiguration"],
                      "NoSuchPublicAccessBlockConfiguration")
    policy = optional("policy", "GetBucketPolicy",
                      lambda: clean_document(s3.get_bucket_policy(Bucket=name)["Policy"]), "NoSuchBucketPolicy")
    versioning = optional("versioning", "GetBucketVersioning", lambda: s3.get_bucket_versioning(Bucket=name), "")
    acl_not_read = _acls_ignored(config, gaps, account_pab)
    acl = None
    if acl_not_read is None:
        acl = optional("acl_grants", "GetBucketAcl", lambda: s3.get_bucket_acl(Bucket=name), "")
    grants = None
    if acl is not None:
        grants = []
        for grant in acl.get("Grants", []):
            grantee = grant.get("Grantee", {})
            who = grantee.get("URI") or grantee.get("ID") or grantee.get("EmailAddress") or ""
            grants.append(Grant(grantee_type=grantee.get("Type", ""), permission=grant.get("Permission", ""),
                                grantee=who))
    return Bucket(
        name=name,
        arn=f"arn:{partition}:s3:::{name}",
        region=region,
        created=_aware(listed.get("CreationDate")),
        policy=policy,
        public_access_block=_pab(config) if config is not None else None,
        acl_grants=tuple(grants) if grants is not None else None,
        unread=_versioning_gaps(gaps),
        # GetBucketVersioning: no Status when versioning was never enabled, no MFADelete when never configured
        versioning=(versioning.get("Status") or "Off") if versioning is not None else None,
        mfa_delete=versioning.get("MFADelete") == "Enabled" if versioning is not None else None,
        acl_not_read=acl_not_read,
    )


def _versioning_gaps(gaps: List[Unread]) -> tuple:
    """A failed GetBucketVersioning leaves both of its fields unread."""
    out = list(gaps)
    for gap in gaps:
        if gap.source == "versioning":
            out.append(dataclasses.replace(gap, source="mfa_delete"))
    return tuple(out)


def _acls_ignored(config: Optional[dict], gaps: List[Unread], account_pab: Optional[PublicAccessBlock]) -> Optional[str]:
    """Why the bucket's ACL need not be read (IgnorePublicAcls in effect on the bucket or the account), or None."""
    if config is not None and config.get("IgnorePublicAcls"):
        return "IgnorePublicAcls is on for the bucket: S3 ignores its public ACL grants, so the ACL was not read"
    if account_pab is not None and account_pab.ignore_public_acls:
        return "IgnorePublicAcls is on for the account: S3 ignores every public ACL grant, so the ACL was not read"
    return None


def collect_s3(factory: Any, account_id: str, partition: str, errors: ErrorLog, workers: int = 8) -> dict:
    """The account's public-access block and every bucket; ``buckets`` is None when they could not be listed."""
    out: dict = {"buckets": None, "account_public_access_block": None}
    try:
        out["account_public_access_block"] = _pab(
            factory.client("s3control").get_public_access_block(AccountId=account_id)["PublicAccessBlockConfiguration"]
        )
    except READ_ERRORS as exc:
        if error_code(exc) == "NoSuchPublicAccessBlockConfiguration":
            out["account_public_access_block"] = PublicAccessBlock()  # not set: every setting is off, a fact
        else:
            errors.unread(ACCOUNT_PUBLIC_ACCESS_BLOCK, "s3control", "GetPublicAccessBlock", exc)
    try:
        s3 = factory.client("s3")
        listed: list = []
        if s3.can_paginate("list_buckets"):
            for page in s3.get_paginator("list_buckets").paginate():
                listed.extend(page.get("Buckets", []))
        else:
            listed = s3.list_buckets().get("Buckets", [])
    except READ_ERRORS as exc:
        errors.unread(BUCKET_LIST, "s3", "ListBuckets", exc)
        return out
    with ThreadPoolExecutor(max_workers=max(1, workers)) as pool:
        account_pab = out["account_public_access_block"]
        buckets = list(pool.map(lambda b: _bucket(factory, b, partition, errors, account_pab), listed))
    out["buckets"] = tuple(sorted(buckets, key=lambda b: b.name))
    return out
