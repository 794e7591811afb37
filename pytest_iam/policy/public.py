"""S3's "meaning of public" for bucket policies: which statements make a policy public, and whether they could write.

Usage: ``is_public(bucket_policy).public``; ``is_public(policy, {"RestrictPublicBuckets": True})``

Below the engine (which asks it about RestrictPublicBuckets) and the analyses (``analyse.py``), which build on it.
"""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from typing import Mapping, Optional

from .model import Document, Policy, Statement, as_policy
from .patterns import glob, has_wildcard

# S3 user guide, "Blocking public access" > "The meaning of public" > bucket policies: the keys whose fixed values make
# a grant to a broad principal non-public, plus the principal keys the doc's first bullet stands for.
RESTRICTING_KEYS = frozenset(k.lower() for k in (
    "aws:SourceIp", "aws:SourceArn", "aws:SourceVpc", "aws:SourceVpce", "aws:SourceOwner", "aws:SourceAccount",
    "s3:x-amz-server-side-encryption-aws-kms-key-id", "aws:userid", "s3:DataAccessPointArn",
    "s3:DataAccessPointAccount", "aws:PrincipalOrgID", "aws:PrincipalAccount", "aws:PrincipalArn",
    "aws:PrincipalOrgPaths",
))
_FIXING_OPERATORS = frozenset(("StringEquals", "StringEqualsIgnoreCase", "StringLike", "ArnEquals", "ArnLike",
                               "IpAddress"))
_NEGATED_FIXING = {"StringNotEquals": "StringEquals", "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
                   "StringNotLike": "StringLike", "ArnNotEquals": "ArnEquals", "ArnNotLike": "ArnLike",
                   "NotIpAddress": "IpAddress"}
# S3 actions that change data, permissions or configuration; a pattern matching any of them is a write.
S3_WRITE_ACTIONS = tuple(f"s3:{name}" for name in (
    "PutObject", "PutObjectAcl", "PutObjectTagging", "PutObjectRetention", "PutObjectLegalHold", "PutObjectVersionAcl",
    "PutObjectVersionTagging", "DeleteObject", "DeleteObjectVersion", "DeleteObjectTagging", "DeleteBucket",
    "DeleteBucketPolicy", "DeleteBucketWebsite", "PutBucketPolicy", "PutBucketAcl", "PutBucketCORS",
    "PutBucketVersioning", "PutBucketWebsite", "PutBucketPublicAccessBlock", "PutBucketTagging", "PutBucketLogging",
    "PutBucketNotification", "PutBucketOwnershipControls", "PutEncryptionConfiguration", "PutLifecycleConfiguration",
    "PutReplicationConfiguration", "PutAccelerateConfiguration", "PutInventoryConfiguration", "PutMetricsConfiguration",
    "PutAnalyticsConfiguration", "PutIntelligentTieringConfiguration", "PutBucketObjectLockConfiguration",
    "PutBucketRequestPayment", "AbortMultipartUpload", "RestoreObject", "ReplicateObject", "ReplicateDelete",
    "ReplicateTags", "CreateBucket", "CreateAccessPoint", "DeleteAccessPoint", "CreateJob", "UpdateJobPriority",
    "BypassGovernanceRetention", "ObjectOwnerOverrideToBucketOwner", "PutAccessPointPolicy", "PutObjectVersionAcl",
))


@dataclass(frozen=True)
class StatementRef:
    """Where a statement lives: the policy label, its index and Sid."""

    policy: str
    index: int
    sid: Optional[str]

    def __str__(self) -> str:
        return f"{self.policy} Sid {self.sid!r}" if self.sid else f"{self.policy} Statement[{self.index}]"


def _ref(policy: Policy, stmt: Statement, label: Optional[str] = None) -> StatementRef:
    return StatementRef(label or policy.name or policy.kind, stmt.index, stmt.sid)


# ---------------------------------------------------------------------------------------------------------------
# is_public

@dataclass(frozen=True)
class PublicAccess:
    """``public``: S3 would call the policy public; ``statements``: the broad, unpinned Allows responsible."""

    public: bool
    statements: tuple
    reasons: tuple
    actions: tuple = ()
    write: bool = False

    def __bool__(self) -> bool:
        return self.public


def _fixed_value(value: object, key: str) -> bool:
    text = str(value)
    if "${" in text:
        return False
    if key == "s3:dataaccesspointarn":
        # the doc allows a wildcard for the access point name as long as the account id is fixed
        parts = text.split(":", 5)
        return len(parts) == 6 and not any(has_wildcard(p) for p in parts[:5]) and parts[5].startswith("accesspoint/")
    return not has_wildcard(text)


_RFC1918 = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


def _narrow_cidr(value: object) -> bool:
    """S3: aws:SourceIp broader than /8 (IPv4) or /32 (IPv6) is public, RFC 1918 ranges excepted."""
    try:
        network = ipaddress.ip_network(str(value).strip(), strict=False)
    except ValueError:
        return False
    if network.version == 4:
        if network.prefixlen >= 8:
            return True
        return any(network.subnet_of(ipaddress.ip_network(p)) for p in _RFC1918)
    return network.prefixlen >= 32


def _pins(base: str, qualifier: Optional[str], if_exists: bool, key: str, values: tuple) -> bool:
    """A condition pins a grant when a restricting key must equal fixed values and a missing key fails."""
    if key not in RESTRICTING_KEYS or base not in _FIXING_OPERATORS or if_exists or qualifier == "all":
        return False
    if not values:
        return False
    if key == "aws:sourceip":
        return base == "IpAddress" and all(_narrow_cidr(v) for v in values)
    if base == "IpAddress":
        return False
    return all(_fixed_value(v, key) for v in values)


def _pinning_conditions(stmt: Statement) -> list[str]:
    return [f"{c.operator.text} {c.key}" for c in stmt.conditions
            if _pins(c.operator.base, c.operator.qualifier, c.operator.if_exists, c.key, c.values)]


def _broad(stmt: Statement) -> bool:
    if stmt.not_principal is not None:
        return True
    spec = stmt.principal
    return spec is not None and (spec.broad or bool(spec.federated))


def _pattern_covers(wide: str, narrow: str, ignore_case: bool) -> bool:
    """Sound (never over-claiming) test that every string matched by ``narrow`` is matched by ``wide``."""
    if ignore_case:
        wide, narrow = wide.lower(), narrow.lower()
    if wide == "*" or wide == narrow:
        return True
    if wide.endswith("*") and not has_wildcard(wide[:-1]):
        return narrow.startswith(wide[:-1])
    if not has_wildcard(narrow):
        return glob(wide, False).fullmatch(narrow) is not None
    return False


def _deny_pin(deny: Statement, allow: Statement) -> Optional[str]:
    """Whether ``deny`` applies to everyone the Allow admits, on all its actions and resources, unless a restricting
    key has fixed values: then the Allow is reachable only with those values. Returns a reason or None."""
    spec = deny.principal
    if spec is None or not spec.star or deny.action is None or allow.action is None:
        return None
    if not all(any(_pattern_covers(d, a, True) for d in deny.action.patterns) for a in allow.action.patterns):
        return None
    if deny.resource is None or allow.resource is None:
        return None
    if not all(any(_pattern_covers(d, a, False) for d in deny.resource.patterns) for a in allow.resource.patterns):
        return None
    if not deny.conditions:
        return f"{deny.label} denies these actions to everyone without condition"
    if len(deny.conditions) != 1:
        return None
    condition = deny.conditions[0]
    positive = _NEGATED_FIXING.get(condition.operator.base)
    if positive is None or condition.operator.qualifier is not None:
        return None
    if _pins(positive, None, False, condition.key, condition.values):
        return f"{deny.label} denies every request whose {condition.key} is not one of fixed values"
    return None


def _could_write(pattern: str) -> bool:
    matcher = glob(pattern, True)
    return any(matcher.fullmatch(a) for a in S3_WRITE_ACTIONS)


def is_public(policy: Document, block_public_access: Optional[Mapping[str, bool]] = None) -> PublicAccess:
    """Whether S3 would call this bucket policy public ("The meaning of public"), and which statements make it so."""
    parsed = as_policy(policy, "resource")
    denies = [s for s in parsed.statements if s.effect == "Deny"]
    responsible: list[StatementRef] = []
    reasons: list[str] = []
    actions: list[str] = []
    for stmt in parsed.statements:
        if stmt.effect != "Allow" or not _broad(stmt):
            continue
        pinned = _pinning_conditions(stmt)
        if pinned:
            continue
        neutralised = next((r for r in (_deny_pin(d, stmt) for d in denies) if r), None)
        if neutralised:
            continue
        responsible.append(_ref(parsed, stmt, "bucket policy"))
        who = "everyone except the listed principals" if stmt.not_principal is not None else "a broad principal"
        reasons.append(f"{stmt.label} allows {who} with no fixed value of a restricting key "
                       "(S3 'meaning of public')")
        if stmt.action is not None:
            actions += list(stmt.action.patterns)
        else:
            actions.append("NotAction:" + ",".join(stmt.not_action.patterns))  # type: ignore[union-attr]
    write = any(a.startswith("NotAction:") or _could_write(a) for a in actions)
    public = bool(responsible)
    if public and block_public_access and block_public_access.get("RestrictPublicBuckets"):
        reasons.append("RestrictPublicBuckets limits the public policy to AWS service principals and authorized "
                       "users of the bucket owner account: not public")
        public = False
    return PublicAccess(public, tuple(responsible), tuple(reasons), tuple(dict.fromkeys(actions)), write)
