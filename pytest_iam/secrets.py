"""Masking of credentials: the one place that knows what a secret looks like.

Usage::

    redact("key AKIAIOSFODNN7EXAMPLE")            # -> "key AKIA****************"
    remember_secret(credentials.secret_key)      # a value seen at run time is masked wherever it appears later

Every text that leaves the plugin (terminal, JUnit XML, snapshots, evidence, assertion messages, collection errors)
passes through ``redact``. It sits at the bottom of the house so that collectors, checks and reporters can all use it.
"""

from __future__ import annotations

import os
import re
import threading
from typing import Set

MASK = "****"

# Shapes of secrets that must never reach a report, a log or a snapshot, whatever a policy or tag contains.
_ACCESS_KEY_ID = re.compile(r"(?<![A-Z0-9])(AKIA|ASIA|ABIA|ACCA)[A-Z0-9]{16}(?![A-Z0-9])")
_NAMED_SECRETS = [
    re.compile(r"(?i)(aws_secret_access_key|secretaccesskey|secret_access_key)(\s*[=:]\s*)\S+"),
    re.compile(r"(?i)(aws_session_token|sessiontoken|session_token)(\s*[=:]\s*)\S+"),
]
# A secret access key is 40 characters of base64; masked when it mixes upper case, lower case and digits (so a
# lowercase hex digest, a name or an ARN is left alone).
_SECRET_KEY_SHAPE = re.compile(r"(?<![A-Za-z0-9/+])[A-Za-z0-9/+]{40}(?![A-Za-z0-9/+=])")

# Environment variables whose values are secrets wherever they appear.
SECRET_ENVIRONMENT = ("AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ACCESS_KEY_ID")

_KNOWN: Set[str] = set()
_LOCK = threading.Lock()


def remember_secret(value: str | None) -> None:
    """Mask ``value`` wherever it appears from now on (credentials a session obtained, for instance)."""
    if value and len(value) >= 8:
        with _LOCK:
            _KNOWN.add(value)


def _secret_key_like(match: "re.Match[str]") -> str:
    token = match.group(0)
    if any(c.islower() for c in token) and any(c.isupper() for c in token) and any(c.isdigit() for c in token):
        return MASK
    return token


def redact(text: str) -> str:
    """Mask anything shaped like an AWS credential, and every secret value known to this run."""
    if not text:
        return text
    with _LOCK:
        known = sorted(_KNOWN, key=len, reverse=True)
    for value in known + [os.environ.get(name, "") for name in SECRET_ENVIRONMENT]:
        if value and len(value) >= 8 and value in text:
            text = text.replace(value, MASK)
    text = _ACCESS_KEY_ID.sub(lambda m: m.group(1) + "*" * 16, text)
    for pattern in _NAMED_SECRETS:
        text = pattern.sub(lambda m: m.group(1) + m.group(2) + "***", text)
    return _SECRET_KEY_SHAPE.sub(_secret_key_like, text)
