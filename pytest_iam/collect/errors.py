"""A thread-safe log of what could not be collected, one line each, never a secret.

Usage::

    errors = ErrorLog()
    try: ...
    except ClientError as exc: errors.add("iam", "GetAccountSummary", exc)
    errors.freeze()   # -> tuple of CollectionError for the Inventory
"""

from __future__ import annotations

import threading
from typing import Any, List

from ..inventory import CollectionError

HINTS = {
    "AccessDenied": "the credentials lack the read-only permission for this call (see the README's policy)",
    "AccessDeniedException": "the credentials lack the read-only permission for this call (see the README's policy)",
    "Throttling": "AWS throttled the call beyond the retry budget (raise settings.max_attempts)",
    "ThrottlingException": "AWS throttled the call beyond the retry budget (raise settings.max_attempts)",
    "TooManyRequestsException": "AWS throttled the call beyond the retry budget (raise settings.max_attempts)",
}


def error_code(exc: Any) -> str:
    return str(getattr(exc, "response", {}).get("Error", {}).get("Code", type(exc).__name__))


class ErrorLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._items: List[CollectionError] = []

    def add(self, service: str, operation: str, exc: BaseException) -> None:
        code = error_code(exc)
        hint = HINTS.get(code)
        detail = str(getattr(exc, "response", {}).get("Error", {}).get("Message", "") or "").splitlines()
        message = code + (f": {detail[0][:200]}" if detail and detail[0] else "") + (f" ({hint})" if hint else "")
        self.add_message(service, operation, message)

    def add_message(self, service: str, operation: str, message: str) -> None:
        with self._lock:
            self._items.append(CollectionError(service=service, operation=operation, message=message))

    def freeze(self) -> tuple:
        with self._lock:
            return tuple(self._items)
