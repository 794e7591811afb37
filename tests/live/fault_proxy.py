"""A fault-injecting proxy on 127.0.0.1 in front of an emulator: refuse chosen operations, throttle a seeded share.

Usage::

    with FaultProxy(moto_url, refuse={"iam:GetCredentialReport", "s3:GetBucketPolicy"}, throttle=0.3, seed=7) as proxy:
        ...point the accounts file's endpoint_url at proxy.url...
        proxy.refused        # Counter({"iam:GetCredentialReport": 1, "s3:GetBucketPolicy": 3})
        proxy.throttled      # how many requests were answered with a throttling error

Refusals are answered as AWS answers them, so botocore parses them into the same ClientError:

* query APIs (IAM, STS): HTTP 403, ``<ErrorResponse><Error><Code>AccessDenied</Code>...`` (XML);
* S3 and s3control (REST-XML): HTTP 403, ``<Error><Code>AccessDenied</Code><Message>Access Denied</Message>...``;
* JSON APIs (Organizations): HTTP 400, ``x-amzn-ErrorType: AccessDeniedException`` and ``{"__type": ...}``.

Throttling answers ``Throttling`` (query, HTTP 400), ``SlowDown`` (S3, HTTP 503) or ``TooManyRequestsException``
(JSON, HTTP 400): codes botocore's retry handler retries. Operations are named ``service:Operation`` as in IAM
policies' service prefixes (``s3control:GetPublicAccessBlock`` for the account-level block). The proxy serves at most
``limit`` requests (later ones get HTTP 503 and count as overflow) and forwards to a loopback emulator only.
"""

from __future__ import annotations

import json
import random
import re
import threading
import uuid
from collections import Counter
from http.server import BaseHTTPRequestHandler
from typing import Iterable, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

from recording_http import RecordingProxy, operation_of

_SCOPE = re.compile(r"Credential=[^/,\s]+/\d{8}/[^/]+/([^/]+)/aws4_request")
S3CONTROL_PREFIX = "/v20180820/"
# S3 subresources the collectors read, by the query parameter that names them (GET requests).
S3_SUBRESOURCES = {
    "policy": "GetBucketPolicy",
    "publicAccessBlock": "GetPublicAccessBlock",
    "acl": "GetBucketAcl",
    "location": "GetBucketLocation",
    "tagging": "GetBucketTagging",
}
S3CONTROL_OPERATIONS = {("GET", "configuration/publicAccessBlock"): "GetPublicAccessBlock"}

QUERY, REST_XML, JSON = "query", "rest-xml", "json"


def classify(method: str, path: str, headers: object, body: bytes) -> Tuple[str, str]:
    """``(service:Operation, protocol)`` of a request, e.g. ``("s3:GetBucketPolicy", "rest-xml")``."""
    auth = getattr(headers, "get")("Authorization", "") or ""
    match = _SCOPE.search(auth)
    service = match.group(1) if match else "unknown"
    target = getattr(headers, "get")("X-Amz-Target")
    if target:
        return f"{service}:{target.rsplit('.', 1)[-1]}", JSON
    parts = urlsplit(path)
    if parts.path.startswith(S3CONTROL_PREFIX):
        rest = parts.path[len(S3CONTROL_PREFIX):]
        name = S3CONTROL_OPERATIONS.get((method, rest), f"{method} {rest}")
        return f"s3control:{name}", REST_XML
    if service == "s3":
        query = parse_qs(parts.query, keep_blank_values=True)
        bucket = parts.path.strip("/")
        if method == "GET" and not bucket:
            return "s3:ListBuckets", REST_XML
        for key, name in S3_SUBRESOURCES.items():
            if key in query and method == "GET" and "/" not in bucket:
                return f"s3:{name}", REST_XML
        return f"s3:{method} {parts.path}", REST_XML
    return f"{service}:{operation_of(method, path, headers, body)}", QUERY


def _aws_error(protocol: str, *, json_type: str, json_status: int, xml_code: str, xml_status: int, query_code: str,
               query_status: int, message: str) -> Tuple[int, list, bytes]:
    """An error answer shaped as the protocol's AWS services write it: JSON (Organizations), REST XML (S3) or the
    query XML of IAM and STS."""
    request_id = str(uuid.uuid4())
    if protocol == JSON:
        payload = json.dumps({"__type": json_type, "Message": message}).encode()
        return json_status, [("Content-Type", "application/x-amz-json-1.1"), ("x-amzn-ErrorType", json_type),
                             ("x-amzn-RequestId", request_id)], payload
    if protocol == REST_XML:
        payload = (f'<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>{xml_code}</Code>'
                   f"<Message>{message}</Message><RequestId>{request_id}</RequestId>"
                   f"<HostId>fault-proxy</HostId></Error>").encode()
        return xml_status, [("Content-Type", "application/xml"), ("x-amz-request-id", request_id)], payload
    payload = (f'<ErrorResponse xmlns="https://iam.amazonaws.com/doc/2010-05-08/"><Error><Type>Sender</Type>'
               f"<Code>{query_code}</Code><Message>{message}</Message></Error>"
               f"<RequestId>{request_id}</RequestId></ErrorResponse>").encode()
    return query_status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], payload


def refusal(protocol: str, operation: str) -> Tuple[int, list, bytes]:
    """An AWS-shaped AccessDenied answer for ``operation`` (``service:Operation``)."""
    text = f"User: arn:aws:iam::000000000000:user/auditor is not authorized to perform: {operation}"
    return _aws_error(protocol, json_type="AccessDeniedException", json_status=400, xml_code="AccessDenied",
                      xml_status=403, query_code="AccessDenied", query_status=403,
                      message="Access Denied" if protocol == REST_XML else text)


def throttling(protocol: str) -> Tuple[int, list, bytes]:
    """An AWS-shaped throttling answer botocore retries."""
    return _aws_error(protocol, json_type="TooManyRequestsException", json_status=400, xml_code="SlowDown",
                      xml_status=503, query_code="Throttling", query_status=400,
                      message="Please reduce your request rate." if protocol == REST_XML else "Rate exceeded")


class FaultProxy(RecordingProxy):
    """Forwards to ``upstream`` except the operations in ``refuse`` (AccessDenied) and a seeded ``throttle`` share."""

    def __init__(self, upstream: str, refuse: Iterable[str] = (), throttle: float = 0.0, seed: int = 0,
                 limit: int = 3000, timeout: float = 20.0, spare: Iterable[str] = ()) -> None:
        super().__init__(upstream, limit=limit, timeout=timeout)
        assert 0.0 <= throttle < 1.0, "a throttle share of 1 would never let a request through"
        self.refuse = frozenset(refuse)
        self.throttle = throttle
        self.spare = frozenset(spare)  # operations never throttled
        self._random = random.Random(seed)
        self._fault_lock = threading.Lock()
        self.refused: Counter = Counter()
        self.throttled: Counter = Counter()
        self.forwarded: Counter = Counter()

    def _throttle_now(self, operation: str) -> bool:
        if not self.throttle or operation in self.spare:
            return False
        with self._fault_lock:
            return self._random.random() < self.throttle

    def respond(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        operation, protocol = classify(method, handler.path, handler.headers, body)
        if operation in self.refuse:
            with self._fault_lock:
                self.refused[operation] += 1
            handler._reply(*refusal(protocol, operation))  # type: ignore[attr-defined]
            return
        if self._throttle_now(operation):
            with self._fault_lock:
                self.throttled[operation] += 1
            handler._reply(*throttling(protocol))  # type: ignore[attr-defined]
            return
        with self._fault_lock:
            self.forwarded[operation] += 1
        super().respond(handler, method, body)

    def operations_seen(self) -> Optional[Counter]:
        with self._fault_lock:
            return self.refused + self.throttled + self.forwarded
