"""The typed, immutable snapshot of one account, and its JSON form.

Usage::

    inv = collect_inventory(account)           # pytest_iam.collect
    save_snapshot(inv, "evidence/")             # -> evidence/<account-id>.json
    inv2 = load_snapshot("evidence/123456789012.json")
    assert inv2 == inv

Everything here is plain data: no boto3, no secrets, times in UTC. Policy documents are kept as the JSON-compatible
dicts AWS returned (URL-decoded).

Facts, not defaults: a fact that could not be read is ``None`` (never ``False`` or an empty tuple), and the reason is
recorded as an ``Unread`` (the call, AWS's error code and what to grant): ``Inventory.unread`` for account-wide
sources (the credential report, the authorization details, ...), ``Bucket.unread`` for one bucket's calls.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

SCHEMA_VERSION = 2

UTC = dt.timezone.utc


# Account-wide fact sources, as named in ``Inventory.unread`` (``Unread.source``).
CREDENTIAL_REPORT = "credential_report"
AUTHORIZATION_DETAILS = "authorization_details"
ACCOUNT_SUMMARY = "account_summary"
PASSWORD_POLICY = "password_policy"
VIRTUAL_MFA_DEVICES = "virtual_mfa_devices"
SERVER_CERTIFICATES = "server_certificates"
ACCOUNT_ALIASES = "account_aliases"
ACCOUNT_PUBLIC_ACCESS_BLOCK = "account_public_access_block"
BUCKET_LIST = "bucket_list"
ORGANIZATION = "organization"
SECURITY_CONTACT = "security_contact"  # account:GetAlternateContact (SECURITY)
ACCESS_ANALYZERS = "access_analyzers"  # accessanalyzer:ListAnalyzers, in every region of the account
# EC2 instances are read per region: each region's source is ``ec2_instances:<region>`` (``instances_source``).
EC2_INSTANCES = "ec2_instances"
SOURCES = (CREDENTIAL_REPORT, AUTHORIZATION_DETAILS, ACCOUNT_SUMMARY, PASSWORD_POLICY, VIRTUAL_MFA_DEVICES,
           SERVER_CERTIFICATES, ACCOUNT_ALIASES, ACCOUNT_PUBLIC_ACCESS_BLOCK, BUCKET_LIST, ORGANIZATION,
           SECURITY_CONTACT, ACCESS_ANALYZERS)


@dataclass(frozen=True)
class Unread:
    """A fact that could not be read: the call, AWS's error code, the IAM permission it needs and what to do.

    ``str(gap)`` is one line: ``iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport``.
    ``source`` names what was not read: an account-wide source (``credential_report``, ...) in ``Inventory.unread``,
    or the field of a bucket (``policy``, ``acl_grants``, ``public_access_block``, ``region``) in ``Bucket.unread``.
    """

    source: str
    operation: str  # service:Operation as called, e.g. "s3control:GetPublicAccessBlock"
    code: str  # AWS's error code, e.g. "AccessDenied", "Throttling"
    permission: str  # the IAM permission the call needs, e.g. "s3:GetAccountPublicAccessBlock"
    advice: str  # what to do: "grant <permission>", "raise settings.max_attempts", ...

    def __str__(self) -> str:
        return f"{self.operation}: {self.code}; {self.advice}"


@dataclass(frozen=True)
class AccessKey:
    """One access key slot (1 or 2) of a user or of root, from the credential report."""

    slot: int
    active: bool
    last_rotated: Optional[dt.datetime]
    last_used: Optional[dt.datetime]
    last_used_service: Optional[str] = None
    last_used_region: Optional[str] = None


@dataclass(frozen=True)
class MfaDevice:
    serial: str
    virtual: bool
    enabled: Optional[dt.datetime] = None


@dataclass(frozen=True)
class AttachedPolicy:
    arn: str
    name: str


@dataclass(frozen=True)
class InlinePolicy:
    name: str
    document: Any


@dataclass(frozen=True)
class Tag:
    """One tag of a user or role; the value passed through ``redact`` when collected."""

    key: str
    value: str


@dataclass(frozen=True)
class Analyzer:
    """An IAM Access Analyzer analyzer of one region (``accessanalyzer:ListAnalyzers``)."""

    name: str
    arn: str
    region: str
    type: str  # ACCOUNT, ORGANIZATION, ACCOUNT_UNUSED_ACCESS, ...
    status: str  # ACTIVE, CREATING, DISABLED, FAILED


@dataclass(frozen=True)
class Root:
    """The account's root user. ``source`` says where the facts come from (``credential_report`` or
    ``account_summary``); a fact neither told is None."""

    arn: str
    mfa_active: Optional[bool]
    mfa_devices: Optional[Tuple[MfaDevice, ...]] = ()
    access_keys: Optional[Tuple[AccessKey, ...]] = ()
    password_enabled: Optional[bool] = None
    password_last_used: Optional[dt.datetime] = None
    source: str = "credential_report"

    @property
    def hardware_mfa(self) -> Optional[bool]:
        """True when root has MFA and it is not a virtual device; None when MFA state is unknown."""
        if self.mfa_active is None:
            return None
        if not self.mfa_active:
            return False
        if self.mfa_devices is None:
            return None
        return not any(d.virtual for d in self.mfa_devices)


@dataclass(frozen=True)
class User:
    """An IAM user. The credential facts come from the credential report: None when the report was not read or
    does not list the user (``in_credential_report`` False: created after the report was generated)."""

    name: str
    arn: str
    id: str
    path: str
    created: Optional[dt.datetime]
    password_enabled: Optional[bool] = False
    password_last_used: Optional[dt.datetime] = None
    password_last_changed: Optional[dt.datetime] = None
    mfa_active: Optional[bool] = False
    mfa_devices: Optional[Tuple[MfaDevice, ...]] = ()
    access_keys: Optional[Tuple[AccessKey, ...]] = ()
    groups: Tuple[str, ...] = ()
    attached_policies: Tuple[AttachedPolicy, ...] = ()
    inline_policies: Tuple[InlinePolicy, ...] = ()
    permissions_boundary: Optional[str] = None
    in_credential_report: Optional[bool] = True
    tags: Optional[Tuple[Tag, ...]] = None  # None: not collected (an inventory made before tags were)


@dataclass(frozen=True)
class Group:
    name: str
    arn: str
    id: str
    path: str
    attached_policies: Tuple[AttachedPolicy, ...] = ()
    inline_policies: Tuple[InlinePolicy, ...] = ()


@dataclass(frozen=True)
class Role:
    name: str
    arn: str
    id: str
    path: str
    created: Optional[dt.datetime]
    trust_policy: Any = None
    attached_policies: Tuple[AttachedPolicy, ...] = ()
    inline_policies: Tuple[InlinePolicy, ...] = ()
    permissions_boundary: Optional[str] = None
    last_used: Optional[dt.datetime] = None
    tags: Optional[Tuple[Tag, ...]] = None  # None: not collected (an inventory made before tags were)

    @property
    def service_linked(self) -> bool:
        return self.path.startswith("/aws-service-role/")


@dataclass(frozen=True)
class ManagedPolicy:
    arn: str
    name: str
    path: str
    aws_managed: bool
    default_version_id: Optional[str]
    document: Any
    attachment_count: int = 0
    boundary_usage_count: int = 0


@dataclass(frozen=True)
class PasswordPolicy:
    minimum_password_length: Optional[int] = None
    require_symbols: bool = False
    require_numbers: bool = False
    require_uppercase_characters: bool = False
    require_lowercase_characters: bool = False
    allow_users_to_change_password: bool = False
    expire_passwords: bool = False
    max_password_age: Optional[int] = None
    password_reuse_prevention: Optional[int] = None
    hard_expiry: bool = False


@dataclass(frozen=True)
class ServerCertificate:
    name: str
    arn: str
    expiration: Optional[dt.datetime]
    uploaded: Optional[dt.datetime]


@dataclass(frozen=True)
class PublicAccessBlock:
    block_public_acls: bool = False
    ignore_public_acls: bool = False
    block_public_policy: bool = False
    restrict_public_buckets: bool = False

    def as_aws(self) -> dict:
        return {
            "BlockPublicAcls": self.block_public_acls,
            "IgnorePublicAcls": self.ignore_public_acls,
            "BlockPublicPolicy": self.block_public_policy,
            "RestrictPublicBuckets": self.restrict_public_buckets,
        }

    def merged(self, other: Optional["PublicAccessBlock"]) -> "PublicAccessBlock":
        """The effective settings when both this and ``other`` apply (S3 uses the most restrictive of the two)."""
        if other is None:
            return self
        return PublicAccessBlock(*(a or b for a, b in zip(dataclasses.astuple(self), dataclasses.astuple(other))))


@dataclass(frozen=True)
class Grant:
    grantee_type: str
    permission: str
    grantee: str


@dataclass(frozen=True)
class Bucket:
    """A bucket. ``policy`` None means no bucket policy, ``public_access_block`` None means none is set, unless
    ``unread`` names that field: then it could not be read.

    ``versioning`` is ``Enabled``, ``Suspended`` or ``Off`` (never enabled: S3 answers without a Status) and
    ``mfa_delete`` whether MFA delete is on (``s3:GetBucketVersioning``); None for either: not collected, or not
    read when ``unread`` names it. ``acl_not_read`` says why the ACL was deliberately not read (IgnorePublicAcls was
    in effect, so S3 ignores every public grant): then ``acl_grants`` is None and is not a fact."""

    name: str
    arn: str
    region: Optional[str]
    created: Optional[dt.datetime] = None
    policy: Any = None
    public_access_block: Optional[PublicAccessBlock] = None
    acl_grants: Optional[Tuple[Grant, ...]] = ()
    unread: Tuple[Unread, ...] = ()
    versioning: Optional[str] = None
    mfa_delete: Optional[bool] = None
    acl_not_read: Optional[str] = None

    def unread_fields(self) -> Dict[str, str]:
        """``{field: one-line reason}`` for this bucket's facts that could not be read."""
        return {gap.source: str(gap) for gap in self.unread}


@dataclass(frozen=True)
class Instance:
    """An EC2 instance that is pending, running, stopping or stopped (``ec2:DescribeInstances``; terminated and
    shutting-down instances are not kept). ``instance_profile_arn`` None: no instance profile is associated."""

    id: str
    arn: str
    region: str
    state: str
    instance_profile_arn: Optional[str] = None
    name: Optional[str] = None  # the Name tag
    launched: Optional[dt.datetime] = None


def instances_source(region: str) -> str:
    """The ``Unread.source`` of one region's instances: ``ec2_instances:eu-west-1``."""
    return f"{EC2_INSTANCES}:{region}"


@dataclass(frozen=True)
class Scp:
    """A service control (or resource control) policy with the target ids it is attached to."""

    id: str
    arn: str
    name: str
    aws_managed: bool
    content: Any
    targets: Tuple[str, ...] = ()


@dataclass(frozen=True)
class OrgUnit:
    id: str
    name: str
    parent_id: Optional[str]


@dataclass(frozen=True)
class OrgAccount:
    id: str
    name: str
    email: str
    status: str
    parent_id: Optional[str]


ORG_MEMBER = "member"
ORG_NONE = "not_in_organization"
ORG_UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class Organization:
    """What is known about the account's organization.

    ``status`` is ``member`` (facts below are complete), ``not_in_organization`` (AWS said so), or ``unavailable``
    (the organization exists or may exist but could not be read; ``reason`` says why). SCP and RCP facts are ``None``
    when they could not be read: never read "no SCPs" into that.
    """

    status: str
    reason: Optional[str] = None
    id: Optional[str] = None
    management_account_id: Optional[str] = None
    root_ids: Tuple[str, ...] = ()
    units: Tuple[OrgUnit, ...] = ()
    accounts: Tuple[OrgAccount, ...] = ()
    scps: Optional[Tuple[Scp, ...]] = None
    scps_enabled: Optional[bool] = None
    rcps: Optional[Tuple[Scp, ...]] = None  # resource control policies; None: not read (e.g. an older snapshot)
    rcps_enabled: Optional[bool] = None

    def parent_chain(self, account_id: str) -> Optional[list]:
        """Target ids from the root down to the account itself: [root, ou, ..., account]; None if unknown."""
        by_account = {a.id: a for a in self.accounts}
        units = {u.id: u for u in self.units}
        if account_id not in by_account:
            return None
        chain = [account_id]
        parent = by_account[account_id].parent_id
        seen = set()
        while parent is not None and parent not in seen:
            seen.add(parent)
            chain.append(parent)
            parent = units[parent].parent_id if parent in units else None
        chain.reverse()
        return chain

    def scp_chain(self, account_id: str) -> Optional[list]:
        """The SCPs that apply at each level, root first: ``[[Scp, ...], ...]``; None when unknown."""
        return self._policy_chain(account_id, self.scps, self.scps_enabled)

    def rcp_chain(self, account_id: str) -> Optional[list]:
        """The RCPs that govern the account's resources at each level, root first; None when unknown."""
        return self._policy_chain(account_id, self.rcps, self.rcps_enabled)

    def _policy_chain(self, account_id: str, policies: Optional[tuple], enabled: Optional[bool]) -> Optional[list]:
        if self.status != ORG_MEMBER or policies is None:
            return None
        chain = self.parent_chain(account_id)
        if chain is None:
            return None
        if enabled is False:
            return []
        return [[p for p in policies if target in p.targets] for target in chain]


@dataclass(frozen=True)
class CollectionError:
    """A part of the account that could not be read, in one line: service, operation, what happened."""

    service: str
    operation: str
    message: str

    def __str__(self) -> str:
        return f"{self.service}:{self.operation}: {self.message}"


@dataclass(frozen=True)
class Inventory:
    account_name: str
    account_id: str
    partition: str = "aws"
    alias: Optional[str] = None
    caller_arn: Optional[str] = None
    collected_at: Optional[dt.datetime] = None
    credential_report_generated_at: Optional[dt.datetime] = None
    account_summary: Any = None
    password_policy: Optional[PasswordPolicy] = None
    root: Optional[Root] = None
    users: Optional[Tuple[User, ...]] = ()
    groups: Optional[Tuple[Group, ...]] = ()
    roles: Optional[Tuple[Role, ...]] = ()
    policies: Optional[Tuple[ManagedPolicy, ...]] = ()
    server_certificates: Optional[Tuple[ServerCertificate, ...]] = ()
    # Account settings (CIS 1.2, 1.19). None: not read (``unread`` says why) or not collected. A security contact
    # that is not registered is False (GetAlternateContact answered ResourceNotFoundException: a fact).
    security_contact_registered: Optional[bool] = None
    access_analyzers: Optional[Tuple[Analyzer, ...]] = None
    access_analyzer_regions: Tuple[str, ...] = ()  # the regions whose analyzers were listed
    buckets: Optional[Tuple[Bucket, ...]] = ()
    account_public_access_block: Optional[PublicAccessBlock] = None
    # EC2 instances of the account's regions (CIS 1.17). None: not collected (a snapshot made before they were).
    # ``instance_regions`` are the regions
    # asked; a region that could not be read has an ``ec2_instances:<region>`` record in ``unread``.
    instances: Optional[Tuple[Instance, ...]] = ()
    instance_regions: Tuple[str, ...] = ()
    organization: Organization = field(default_factory=lambda: Organization(status=ORG_UNAVAILABLE, reason="not collected"))
    errors: Tuple[CollectionError, ...] = ()
    unread: Tuple[Unread, ...] = ()
    schema_version: int = SCHEMA_VERSION

    # --- lookups -------------------------------------------------------------------------------------------------
    def gap(self, source: str) -> Optional[Unread]:
        """The record of why the account-wide ``source`` (``CREDENTIAL_REPORT``, ...) was not read; None if it was."""
        for item in self.unread:
            if item.source == source:
                return item
        return None

    def _index(self, kind: str, items: Optional[tuple], *fields: str) -> dict:
        """``{value of any of fields: the first item with it}``, built once per inventory (an inventory is frozen)."""
        key = f"_index_{kind}"
        index = self.__dict__.get(key)
        if index is None:
            index = {}
            for item in items or ():
                for f in fields:
                    index.setdefault(getattr(item, f), item)
            object.__setattr__(self, key, index)
        return index

    def _find(self, items: Optional[tuple], kind: str, key: str, *fields: str) -> Any:
        if items is None:
            raise KeyError(f"the {kind}s of account {self.account_name} ({self.account_id}) could not be read")
        item = self._index(kind, items, *fields).get(key)
        if item is None:
            raise KeyError(f"no {kind} {key!r} in account {self.account_name} ({self.account_id})")
        return item

    def user(self, name_or_arn: str) -> User:
        return self._find(self.users, "user", name_or_arn, "name", "arn")

    def role(self, name_or_arn: str) -> Role:
        return self._find(self.roles, "role", name_or_arn, "name", "arn")

    def group(self, name_or_arn: str) -> Group:
        return self._find(self.groups, "group", name_or_arn, "name", "arn")

    def bucket(self, name: str) -> Bucket:
        return self._find(self.buckets, "bucket", name, "name", "arn")

    def policy(self, arn: str) -> Optional[ManagedPolicy]:
        return self._index("policy", self.policies, "arn").get(arn)

    def errors_for(self, service: str) -> Tuple[CollectionError, ...]:
        return tuple(e for e in self.errors if e.service == service)

    @property
    def root_arn(self) -> str:
        return f"arn:{self.partition}:iam::{self.account_id}:root"

    def sha256(self) -> str:
        """SHA-256 of the snapshot file's bytes (``snapshot_bytes``): the evidence that ties a verdict to what was
        seen, checkable with ``sha256sum`` on the saved file (computed once)."""
        cached = self.__dict__.get("_sha256")
        if cached is None:
            cached = hashlib.sha256(snapshot_bytes(self)).hexdigest()
            object.__setattr__(self, "_sha256", cached)
        return cached


# --- JSON form ------------------------------------------------------------------------------------------------------


def to_jsonable(value: Any) -> Any:
    """Plain JSON data for any inventory value (dataclasses become objects, datetimes ISO-8601 UTC strings)."""
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return {f.name: to_jsonable(getattr(value, f.name)) for f in dataclasses.fields(value)}
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC).isoformat()
    if isinstance(value, (list, tuple)):
        return [to_jsonable(v) for v in value]
    if isinstance(value, dict):
        return {str(k): to_jsonable(v) for k, v in value.items()}
    return value


def dumps(inventory: Inventory) -> str:
    """Compact canonical JSON (sorted keys), for comparisons."""
    return json.dumps(to_jsonable(inventory), sort_keys=True, separators=(",", ":"))


def snapshot_bytes(inventory: Inventory) -> bytes:
    """The canonical snapshot file: exactly the bytes ``save_snapshot`` writes and ``Inventory.sha256`` hashes."""
    return (json.dumps(to_jsonable(inventory), sort_keys=True, indent=1) + "\n").encode("utf-8")


def _from_jsonable(tp: Any, value: Any) -> Any:
    if value is None:
        return None
    origin = typing.get_origin(tp)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(tp) if a is not type(None)]
        return _from_jsonable(args[0], value) if len(args) == 1 else value
    if origin in (tuple, Tuple):
        (item_tp, *_rest) = typing.get_args(tp)
        return tuple(_from_jsonable(item_tp, v) for v in value)
    if tp is dt.datetime:
        return dt.datetime.fromisoformat(value).astimezone(UTC)
    if dataclasses.is_dataclass(tp):
        hints = typing.get_type_hints(tp)
        names = {f.name for f in dataclasses.fields(tp)}
        return tp(**{k: _from_jsonable(hints[k], v) for k, v in value.items() if k in names})
    return value


class SnapshotError(Exception):
    """A snapshot file that cannot be used; the message names the file and the problem."""


def from_json(data: dict, source: str = "<snapshot>") -> Inventory:
    from .schemas import validate

    version = data.get("schema_version") if isinstance(data, dict) else None
    if version != SCHEMA_VERSION:
        raise SnapshotError(
            f"{source}: schema_version {version!r} is not supported (this plugin reads {SCHEMA_VERSION}): "
            "collect the account again with this version"
        )
    validate("snapshot", data, source, error=SnapshotError)
    inventory = _from_jsonable(Inventory, data)
    if "instances" not in data:  # a snapshot made before EC2 instances were collected: not "no instances"
        inventory = dataclasses.replace(inventory, instances=None)
    return inventory


def snapshot_path(directory: str | Path, inventory: Inventory) -> Path:
    return Path(directory) / f"{inventory.account_name.replace(':', '_').replace('/', '_')}-{inventory.account_id}.json"


def save_snapshot(inventory: Inventory, directory: str | Path) -> Path:
    """Write ``inventory`` as JSON into ``directory``; returns the file's path."""
    path = snapshot_path(directory, inventory)
    path.parent.mkdir(parents=True, exist_ok=True)
    data = snapshot_bytes(inventory)
    path.write_bytes(data)
    if "_sha256" not in inventory.__dict__:  # the bytes just written are the ones Inventory.sha256 hashes
        object.__setattr__(inventory, "_sha256", hashlib.sha256(data).hexdigest())
    return path


def load_snapshot(path: str | Path) -> Inventory:
    path = Path(path)
    try:
        data = json.loads(path.read_bytes())
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such snapshot file") from None
    except json.JSONDecodeError as exc:
        raise SnapshotError(f"{path}:{exc.lineno}:{exc.colno}: not JSON: {exc.msg}") from None
    except UnicodeDecodeError:
        raise SnapshotError(f"{path}: not JSON: not UTF-8 text") from None
    except RecursionError:
        raise SnapshotError(f"{path}: not JSON: nested too deeply") from None
    except OSError as exc:
        raise SnapshotError(f"{path}: cannot read: {exc.strerror or type(exc).__name__}") from None
    return from_json(data, str(path))


def now() -> dt.datetime:
    return dt.datetime.now(UTC)
