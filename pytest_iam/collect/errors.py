"""What could not be collected: a thread-safe log of one-line errors, and the ``Unread`` record of each fact source.

Usage::

    errors = ErrorLog()
    try: ...
    except ClientError as exc:
        gap = errors.unread("credential_report", "iam", "GetCredentialReport", exc)
        str(gap)   # "iam:GetCredentialReport: AccessDenied; grant iam:GetCredentialReport"
    errors.freeze()          # -> tuple of CollectionError for Inventory.errors
    errors.freeze_unread()   # -> tuple of account-wide Unread for Inventory.unread

Nothing here ever holds a secret: AWS's messages pass through ``redact``.
"""

from __future__ import annotations

import threading
from typing import Any, List, Optional

from botocore.exceptions import BotoCoreError, ClientError

from ..inventory import CollectionError, Unread
from ..secrets import redact

READ_ERRORS = (ClientError, BotoCoreError)  # what a read can fail with; recorded, never raised

# IAM permissions of the operations the collectors call, where they differ from "<service>:<Operation>"
# (AWS Service Authorization Reference). Organizations and IAM operations are named as their permissions.
PERMISSIONS = {
    ("s3", "ListBuckets"): "s3:ListAllMyBuckets",
    ("s3", "GetBucketLocation"): "s3:GetBucketLocation",
    ("s3", "GetBucketPolicy"): "s3:GetBucketPolicy",
    ("s3", "GetBucketAcl"): "s3:GetBucketAcl",
    ("s3", "GetPublicAccessBlock"): "s3:GetBucketPublicAccessBlock",
    ("s3control", "GetPublicAccessBlock"): "s3:GetAccountPublicAccessBlock",
    # IAM Access Analyzer's actions have the prefix access-analyzer (Service Authorization Reference)
    ("accessanalyzer", "ListAnalyzers"): "access-analyzer:ListAnalyzers",
}

ACCESS_DENIED = frozenset({"AccessDenied", "AccessDeniedException", "UnauthorizedOperation", "AllAccessDisabled"})
THROTTLING = frozenset({
    "Throttling", "ThrottlingException", "ThrottledException", "RequestThrottledException", "TooManyRequestsException",
    "RequestLimitExceeded", "RequestThrottled", "SlowDown", "BandwidthLimitExceeded",
})
NOT_SERVED = frozenset({"404", "NotImplemented", "UnknownOperationException"})  # the endpoint lacks the API itself
RAISE_ATTEMPTS = "raise settings.max_attempts (AWS throttled the call beyond the retry budget)"


def error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


def permission_for(service: str, operation: str) -> str:
    """The IAM permission that allows ``service``'s ``operation``: ``("s3", "ListBuckets")`` -> s3:ListAllMyBuckets."""
    return PERMISSIONS.get((service, operation), f"{service}:{operation}")


def is_throttling(code: str) -> bool:
    return code in THROTTLING or code.startswith("Throttl")


def advice_for(code: str, permission: str) -> str:
    """What a user does about ``code``: grant the permission, raise the retry budget, or look at the endpoint."""
    if code in ACCESS_DENIED:
        return f"grant {permission}"
    if is_throttling(code):
        return RAISE_ATTEMPTS
    if code in NOT_SERVED:
        return f"the endpoint does not serve this API (an emulator may not implement it); on AWS it needs {permission}"
    return f"the call needs {permission}; run again, and check the account's endpoint if this persists"


def make_unread(source: str, service: str, operation: str, code: str, advice: Optional[str] = None) -> Unread:
    permission = permission_for(service, operation)
    return Unread(source=source, operation=f"{service}:{operation}", code=code, permission=permission,
                  advice=advice or advice_for(code, permission))


class ErrorLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: List[CollectionError] = []
        self._unread: List[Unread] = []

    def add(self, service: str, operation: str, exc: BaseException) -> None:
        code = error_code(exc)
        permission = permission_for(service, operation)
        if code in ACCESS_DENIED:
            hint = f"grant {permission}: the credentials lack the read-only permission for this call"
        elif is_throttling(code):
            hint = RAISE_ATTEMPTS
        else:
            hint = ""
        detail = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "") or "").splitlines()
        if not getattr(exc, "response", None) and str(exc):
            detail = str(exc).splitlines()  # a BotoCoreError: its text says what failed (host, timeout)
        message = code + (f": {detail[0][:200]}" if detail and detail[0] else "") + (f" ({hint})" if hint else "")
        self.add_message(service, operation, message)

    def add_message(self, service: str, operation: str, message: str) -> None:
        with self._lock:
            self._items.append(CollectionError(service=service, operation=operation, message=redact(message)))

    def unread(self, source: str, service: str, operation: str, exc: BaseException, account_wide: bool = True) -> Unread:
        """Log ``exc`` and return the Unread record of ``source``; account-wide sources go to ``freeze_unread``."""
        self.add(service, operation, exc)
        gap = make_unread(source, service, operation, error_code(exc))
        if account_wide:
            self.add_unread(gap)
        return gap

    def add_unread(self, gap: Unread) -> None:
        with self._lock:
            if all(g.source != gap.source for g in self._unread):  # the first failure of a source explains it
                self._unread.append(gap)

    def freeze(self) -> tuple:
        with self._lock:
            return tuple(self._items)

    def freeze_unread(self) -> tuple:
        with self._lock:
            return tuple(self._unread)
