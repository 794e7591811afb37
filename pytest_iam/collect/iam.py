"""Read-only IAM collector: credential report, authorization details, summary, password policy, MFA, certificates.

Usage::

    facts = collect_iam(factory, account_id="123456789012", partition="aws", errors=errors)

The number of calls does not grow with the number of users: the credential report (generate + get) and the pages of
``GetAccountAuthorizationDetails`` (up to 1,000 entities a page) carry everything per user.

A source that cannot be read leaves its facts None and an ``Unread`` record in ``errors`` (never an empty default).
Policy documents pass through ``redact`` here, so the inventory and its snapshot hold the same, secret-free text.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import time
from typing import Any, Callable, Dict, List, Optional
from urllib.parse import unquote

from ..inventory import (
    ACCOUNT_SUMMARY,
    AUTHORIZATION_DETAILS,
    CREDENTIAL_REPORT,
    PASSWORD_POLICY,
    SERVER_CERTIFICATES,
    UTC,
    VIRTUAL_MFA_DEVICES,
    AccessKey,
    AttachedPolicy,
    Group,
    InlinePolicy,
    ManagedPolicy,
    MfaDevice,
    PasswordPolicy,
    Role,
    Root,
    ServerCertificate,
    Tag,
    User,
)
from ..secrets import redact
from .errors import READ_ERRORS, ErrorLog, error_code, make_unread


ROOT_ROW = "<root_account>"
REPORT_POLL_SECONDS = (0.2, 0.5, 1, 2, 4, 8, 8, 8, 8, 8)  # bounded: about 48 s in all


def parse_report_time(value: Optional[str]) -> Optional[dt.datetime]:
    """Credential-report timestamp -> aware UTC datetime; ``N/A``, ``no_information``, ``not_supported`` -> None."""
    if value is None or value in ("N/A", "no_information", "not_supported", ""):
        return None
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).astimezone(UTC)


def _bool(value: Optional[str]) -> Optional[bool]:
    if value in ("true", "TRUE", "True"):
        return True
    if value in ("false", "FALSE", "False"):
        return False
    return None


def _text(value: Optional[str]) -> Optional[str]:
    return None if value in (None, "", "N/A", "not_supported", "no_information") else value


def parse_credential_report(content: bytes | str) -> Dict[str, dict]:
    """CSV -> {user name or '<root_account>': row}."""
    text = content.decode("utf-8") if isinstance(content, bytes) else content
    return {row["user"]: row for row in csv.DictReader(io.StringIO(text))}


def access_keys_from_row(row: dict) -> tuple:
    keys = []
    for slot in (1, 2):
        prefix = f"access_key_{slot}_"
        rotated = parse_report_time(row.get(prefix + "last_rotated"))
        active = _bool(row.get(prefix + "active")) or False
        if rotated is None and not active:
            continue  # the slot is empty
        keys.append(
            AccessKey(
                slot=slot,
                active=active,
                last_rotated=rotated,
                last_used=parse_report_time(row.get(prefix + "last_used_date")),
                last_used_service=_text(row.get(prefix + "last_used_service")),
                last_used_region=_text(row.get(prefix + "last_used_region")),
            )
        )
    return tuple(keys)


def fetch_credential_report(iam: Any, errors: ErrorLog, sleep: Callable[[float], None] = time.sleep) -> Optional[dict]:
    """Generate (if needed) and fetch the credential report, with bounded polling.

    AWS regenerates a report at most every 4 hours; ``GenerateCredentialReport`` may answer ``LimitExceeded``, in which
    case the existing report is used. Returns ``{"rows": {...}, "generated": datetime}`` or None (the error logged
    and the credential report recorded as unread).
    """
    for delay in (0.0,) + REPORT_POLL_SECONDS:
        if delay:
            sleep(delay)
        try:
            state = iam.generate_credential_report().get("State")
        except READ_ERRORS as exc:
            if error_code(exc) != "LimitExceeded":
                errors.unread(CREDENTIAL_REPORT, "iam", "GenerateCredentialReport", exc)
                return None
            state = "COMPLETE"  # too many requests to generate: a report exists, fetch it
        if state != "COMPLETE":
            continue
        try:
            report = iam.get_credential_report()
        except READ_ERRORS as exc:
            if error_code(exc) in ("ReportInProgress", "ReportNotPresent", "ReportExpired"):
                continue
            errors.unread(CREDENTIAL_REPORT, "iam", "GetCredentialReport", exc)
            return None
        generated = report.get("GeneratedTime")
        if isinstance(generated, dt.datetime):
            generated = generated.astimezone(UTC)
        return {"rows": parse_credential_report(report["Content"]), "generated": generated}
    errors.add_message("iam", "GetCredentialReport", "the credential report was still being generated after ~50 s")
    errors.add_unread(make_unread(CREDENTIAL_REPORT, "iam", "GetCredentialReport", "ReportInProgress",
                                  advice="IAM was still generating the report after about 50 s: run again later"))
    return None


def decode_document(doc: Any) -> Any:
    """Policy documents come as dicts (botocore decodes them) or URL-encoded JSON text; keep text that is not JSON."""
    if isinstance(doc, str):
        for candidate in (doc, unquote(doc)):
            try:
                return json.loads(candidate)
            except ValueError:
                continue
    return doc


def redact_document(doc: Any) -> Any:
    """``doc`` with anything shaped like a secret masked: its JSON text through ``redact``, parsed back."""
    if doc is None:
        return None
    if isinstance(doc, str):
        return redact(doc)
    try:
        text = json.dumps(doc, ensure_ascii=False, sort_keys=False)
    except (TypeError, ValueError):
        return doc
    masked = redact(text)
    if masked == text:
        return doc
    try:
        return json.loads(masked)
    except ValueError:  # a mask swallowed JSON punctuation: mask each string on its own instead
        return _redact_strings(doc)


def _redact_strings(value: Any) -> Any:
    if isinstance(value, str):
        return redact(value)
    if isinstance(value, list):
        return [_redact_strings(v) for v in value]
    if isinstance(value, dict):
        return {redact(str(k)): _redact_strings(v) for k, v in value.items()}
    return value


def clean_document(doc: Any) -> Any:
    """A policy document as the inventory keeps it: decoded (see ``decode_document``) and redacted."""
    return redact_document(decode_document(doc))


def _attached(items: List[dict]) -> tuple:
    return tuple(AttachedPolicy(arn=p["PolicyArn"], name=p["PolicyName"]) for p in items or [])


def _inline(items: List[dict]) -> tuple:
    return tuple(InlinePolicy(name=p["PolicyName"], document=clean_document(p["PolicyDocument"])) for p in items or [])


def _boundary(entity: dict) -> Optional[str]:
    boundary = entity.get("PermissionsBoundary") or {}
    return boundary.get("PermissionsBoundaryArn")


def _tags(entity: dict) -> tuple:
    """A user's or role's tags (the authorization details carry them), values passed through ``redact``: a tag is
    free text, and someone may have put a credential in it."""
    return tuple(Tag(key=str(t.get("Key", "")), value=redact(str(t.get("Value", "")))) for t in entity.get("Tags") or [])


def fetch_authorization_details(iam: Any, errors: ErrorLog) -> Optional[dict]:
    """Every page of GetAccountAuthorizationDetails, merged."""
    merged: Dict[str, list] = {"UserDetailList": [], "GroupDetailList": [], "RoleDetailList": [], "Policies": []}
    try:
        paginator = iam.get_paginator("get_account_authorization_details")
        for page in paginator.paginate(PaginationConfig={"PageSize": 1000}):
            for key in merged:
                merged[key].extend(page.get(key, []))
    except READ_ERRORS as exc:
        errors.unread(AUTHORIZATION_DETAILS, "iam", "GetAccountAuthorizationDetails", exc)
        return None
    return merged


def _paginate(iam: Any, operation: str, key: str, errors: ErrorLog, source: str, **params: Any) -> Optional[list]:
    """Every item of every page; None (and ``source`` recorded as unread) when any page fails."""
    try:
        items: list = []
        for page in iam.get_paginator(operation).paginate(**params):
            items.extend(page.get(key, []))
        return items
    except READ_ERRORS as exc:
        errors.unread(source, "iam", _operation_name(iam, operation), exc)
        return None


def _operation_name(client: Any, method: str) -> str:
    """``list_virtual_mfa_devices`` -> ``ListVirtualMFADevices`` (the API's own spelling, from the client's model)."""
    return client.meta.method_to_api_mapping.get(method, method)


def _default_document(policy: dict) -> Any:
    for version in policy.get("PolicyVersionList", []):
        if version.get("IsDefaultVersion"):
            return clean_document(version.get("Document"))
    return None


def collect_iam(factory: Any, account_id: str, partition: str, errors: ErrorLog) -> dict:
    """All IAM facts of the account as inventory fields (a dict of keyword arguments for Inventory)."""
    iam = factory.client("iam")
    out: dict = {}

    report = fetch_credential_report(iam, errors)
    rows = report["rows"] if report else {}
    out["credential_report_generated_at"] = report["generated"] if report else None

    try:
        out["account_summary"] = dict(iam.get_account_summary()["SummaryMap"])
    except READ_ERRORS as exc:
        errors.unread(ACCOUNT_SUMMARY, "iam", "GetAccountSummary", exc)
        out["account_summary"] = None

    try:
        p = iam.get_account_password_policy()["PasswordPolicy"]
        out["password_policy"] = PasswordPolicy(
            minimum_password_length=p.get("MinimumPasswordLength"),
            require_symbols=bool(p.get("RequireSymbols")),
            require_numbers=bool(p.get("RequireNumbers")),
            require_uppercase_characters=bool(p.get("RequireUppercaseCharacters")),
            require_lowercase_characters=bool(p.get("RequireLowercaseCharacters")),
            allow_users_to_change_password=bool(p.get("AllowUsersToChangePassword")),
            expire_passwords=bool(p.get("ExpirePasswords")),
            max_password_age=p.get("MaxPasswordAge"),
            password_reuse_prevention=p.get("PasswordReusePrevention"),
            hard_expiry=bool(p.get("HardExpiry")),
        )
    except READ_ERRORS as exc:
        if error_code(exc) != "NoSuchEntity":  # NoSuchEntity: no password policy is set, a fact
            errors.unread(PASSWORD_POLICY, "iam", "GetAccountPasswordPolicy", exc)
        out["password_policy"] = None

    # MaxItems defaults to 100 for ListVirtualMFADevices; ask for the maximum (1,000) so pages stay few per account.
    virtual = _paginate(
        iam, "list_virtual_mfa_devices", "VirtualMFADevices", errors, VIRTUAL_MFA_DEVICES,
        AssignmentStatus="Assigned", PaginationConfig={"PageSize": 1000},
    )
    virtual_known = virtual is not None
    virtual_by_user: Dict[str, List[MfaDevice]] = {}
    for device in virtual or []:
        user_arn = (device.get("User") or {}).get("Arn")
        serial = device["SerialNumber"]
        if user_arn is None and serial.endswith(":mfa/root-account-mfa-device"):
            user_arn = f"arn:{partition}:iam::{account_id}:root"
        if user_arn:
            enabled = device.get("EnableDate")
            virtual_by_user.setdefault(user_arn, []).append(
                MfaDevice(serial=serial, virtual=True, enabled=enabled.astimezone(UTC) if enabled else None)
            )

    root_arn = f"arn:{partition}:iam::{account_id}:root"
    root_virtual = virtual_by_user.get(root_arn, []) if virtual_known else None
    out["root"] = _root(rows.get(ROOT_ROW), out["account_summary"], root_virtual, root_arn)

    details = fetch_authorization_details(iam, errors)
    for name in ("users", "groups", "roles", "policies"):
        out[name] = None  # unread unless the details below were read
    if details is not None:
        out["users"] = tuple(
            _user(u, rows.get(u["UserName"]), virtual_by_user, report_read=report is not None,
                  virtual_known=virtual_known)
            for u in details["UserDetailList"]
        )
        out["groups"] = tuple(
            Group(
                name=g["GroupName"],
                arn=g["Arn"],
                id=g["GroupId"],
                path=g.get("Path", "/"),
                attached_policies=_attached(g.get("AttachedManagedPolicies")),
                inline_policies=_inline(g.get("GroupPolicyList")),
            )
            for g in details["GroupDetailList"]
        )
        out["roles"] = tuple(
            Role(
                name=r["RoleName"],
                arn=r["Arn"],
                id=r["RoleId"],
                path=r.get("Path", "/"),
                created=_aware(r.get("CreateDate")),
                trust_policy=clean_document(r.get("AssumeRolePolicyDocument")),
                attached_policies=_attached(r.get("AttachedManagedPolicies")),
                inline_policies=_inline(r.get("RolePolicyList")),
                permissions_boundary=_boundary(r),
                last_used=_aware((r.get("RoleLastUsed") or {}).get("LastUsedDate")),
                tags=_tags(r),
            )
            for r in details["RoleDetailList"]
        )
        out["policies"] = tuple(
            ManagedPolicy(
                arn=p["Arn"],
                name=p.get("PolicyName") or p["Arn"].rsplit("/", 1)[-1],
                path=p.get("Path", "/"),
                aws_managed=p["Arn"].split(":")[4] == "aws",
                default_version_id=p.get("DefaultVersionId"),
                document=_default_document(p),
                attachment_count=int(p.get("AttachmentCount") or 0),
                boundary_usage_count=int(p.get("PermissionsBoundaryUsageCount") or 0),
            )
            for p in details["Policies"]
        )
    certs = _paginate(iam, "list_server_certificates", "ServerCertificateMetadataList", errors, SERVER_CERTIFICATES)
    out["server_certificates"] = None if certs is None else tuple(
        ServerCertificate(
            name=c["ServerCertificateName"],
            arn=c["Arn"],
            expiration=_aware(c.get("Expiration")),
            uploaded=_aware(c.get("UploadDate")),
        )
        for c in certs
    )
    return out


def _aware(value: Any) -> Optional[dt.datetime]:
    if isinstance(value, dt.datetime):
        return value.astimezone(UTC) if value.tzinfo else value.replace(tzinfo=UTC)
    return None


def _root(row: Optional[dict], summary: Optional[dict], virtual: Optional[List[MfaDevice]], arn: str) -> Optional[Root]:
    """Root facts from its credential-report row; from the account summary when the row is not there.

    ``virtual`` is root's virtual MFA devices, None when the list could not be read. A fact no source told is None:
    the summary says whether root has access keys (active or not), not which are active.
    """
    if row is not None:
        mfa_active = _bool(row.get("mfa_active"))
        return Root(
            arn=arn,
            mfa_active=mfa_active,
            mfa_devices=_devices(mfa_active, virtual),
            access_keys=access_keys_from_row(row),
            password_enabled=_bool(row.get("password_enabled")),
            password_last_used=parse_report_time(row.get("password_last_used")),
            source="credential_report",
        )
    if summary is not None and "AccountMFAEnabled" in summary:
        mfa_active = bool(summary.get("AccountMFAEnabled"))
        present = summary.get("AccountAccessKeysPresent")
        return Root(
            arn=arn,
            mfa_active=mfa_active,
            mfa_devices=_devices(mfa_active, virtual),
            access_keys=() if present == 0 else None,
            password_enabled=None,
            password_last_used=None,
            source="account_summary",
        )
    return None


def _devices(mfa_active: Optional[bool], virtual: Optional[List[MfaDevice]]) -> Optional[tuple]:
    """The MFA devices: the virtual ones listed, plus one standing for hardware or FIDO when MFA is on without a
    virtual device. None when that cannot be told (MFA state unknown, or on and the virtual list unread)."""
    if mfa_active is False:
        return ()
    if virtual is None or mfa_active is None:
        return tuple(virtual) if virtual else None
    if not virtual:
        return (MfaDevice(serial="(hardware or FIDO device)", virtual=False),)
    return tuple(virtual)


def _user(detail: dict, row: Optional[dict], virtual_by_user: Dict[str, List[MfaDevice]], report_read: bool = True,
          virtual_known: bool = True) -> User:
    arn = detail["Arn"]
    virtual = virtual_by_user.get(arn, []) if virtual_known else None
    if row is not None:
        mfa_active = _bool(row.get("mfa_active"))
    else:  # not in the report (or no report): a listed virtual device is the one thing known
        mfa_active = True if virtual else None
    # not in the report: a virtual device may be known, a hardware one would not be, so the list is never complete
    devices = _devices(mfa_active, virtual) if row is not None else None
    return User(
        name=detail["UserName"],
        arn=arn,
        id=detail["UserId"],
        path=detail.get("Path", "/"),
        created=_aware(detail.get("CreateDate")),
        password_enabled=_bool(row.get("password_enabled")) if row else None,
        password_last_used=parse_report_time(row.get("password_last_used")) if row else None,
        password_last_changed=parse_report_time(row.get("password_last_changed")) if row else None,
        mfa_active=mfa_active,
        mfa_devices=devices,
        access_keys=access_keys_from_row(row) if row else None,
        groups=tuple(detail.get("GroupList", [])),
        attached_policies=_attached(detail.get("AttachedManagedPolicies")),
        inline_policies=_inline(detail.get("UserPolicyList")),
        permissions_boundary=_boundary(detail),
        in_credential_report=(row is not None) if report_read else None,
        tags=_tags(detail),
    )
