"""Tiny HTTP servers on 127.0.0.1 that record every request: a dead-end recorder and a forwarding proxy.

Usage::

    with Recorder() as rec:                      # answers every request with HTTP 400, records it
        ClientFactory(session, endpoint_url=rec.url).client("iam").list_users()
        rec.requests                             # (RecordedRequest(method="POST", operation="ListUsers", ...),)

    with RecordingProxy("http://127.0.0.1:5000") as proxy:   # forwards to the emulator, records each operation
        ...point the accounts file's endpoint_url at proxy.url...
        proxy.operations()                       # ["GetCallerIdentity", "GenerateCredentialReport", "GET /", ...]

Both are bounded: at most ``limit`` requests are served (later ones get HTTP 503 and are counted as overflow), every
upstream call has a timeout, and both bind to 127.0.0.1 only.
"""

from __future__ import annotations

import http.client
import re
import threading
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, List, Optional, Tuple
from urllib.parse import parse_qs, urlsplit

READ_PREFIXES = ("List", "Get", "Describe")
READ_OPERATIONS = frozenset({"GenerateCredentialReport", "GetCallerIdentity"})
READ_METHODS = ("GET", "HEAD")
HOP_BY_HOP = {"connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade", "te", "trailer"}
_CREDENTIAL = re.compile(r"Credential=([^/,\s]+)/")


@dataclass(frozen=True)
class RecordedRequest:
    """What reached the server: enough to name the operation, never a signature or secret."""

    method: str
    path: str
    operation: str
    access_key_id: str

    @property
    def is_read(self) -> bool:
        """A List/Get/Describe call, the credential report or caller identity, or a GET/HEAD of a REST API."""
        if " " in self.operation:  # REST (S3, s3control): "METHOD /path"
            return self.method in READ_METHODS
        return self.operation.startswith(READ_PREFIXES) or self.operation in READ_OPERATIONS


def operation_of(method: str, path: str, headers: Any, body: bytes) -> str:
    """The API operation a request carries: ``X-Amz-Target`` (JSON APIs), ``Action=`` (query APIs), else REST."""
    target = headers.get("X-Amz-Target")
    if target:
        return target.rsplit(".", 1)[-1]
    query = parse_qs(urlsplit(path).query)
    if "Action" in query:
        return query["Action"][0]
    content_type = headers.get("Content-Type", "")
    if body and "x-www-form-urlencoded" in content_type:
        action = parse_qs(body.decode("utf-8", "replace")).get("Action")
        if action:
            return action[0]
    rest = urlsplit(path).path
    if _REST_JSON_OPERATION.fullmatch(rest) and "/account/aws4_request" in headers.get("Authorization", ""):
        return rest[1].upper() + rest[2:]  # the Account API: POST /getAlternateContact is GetAlternateContact
    return f"{method} {rest}"


_REST_JSON_OPERATION = re.compile(r"/[a-z][A-Za-z]+")


class _Server:
    """Common part: a threaded HTTP server on 127.0.0.1:0 with a bounded, locked request log."""

    def __init__(self, limit: int = 5000) -> None:
        self.limit = limit
        self.overflow = 0
        self._lock = threading.Lock()
        self._log: List[RecordedRequest] = []
        self._httpd: Optional[ThreadingHTTPServer] = None
        self._thread: Optional[threading.Thread] = None

    @property
    def url(self) -> str:
        assert self._httpd is not None, "server not started"
        host, port = self._httpd.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> Tuple[RecordedRequest, ...]:
        with self._lock:
            return tuple(self._log)

    def operations(self) -> List[str]:
        return [r.operation for r in self.requests]

    def _admit(self, request: RecordedRequest) -> bool:
        with self._lock:
            if len(self._log) >= self.limit:
                self.overflow += 1
                return False
            self._log.append(request)
            return True

    def respond(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        raise NotImplementedError

    def __enter__(self) -> "_Server":
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else b""
                match = _CREDENTIAL.search(self.headers.get("Authorization", ""))
                record = RecordedRequest(
                    method=self.command,
                    path=self.path,
                    operation=operation_of(self.command, self.path, self.headers, body),
                    access_key_id=match.group(1) if match else "",
                )
                if not outer._admit(record):
                    self._reply(503, [], b"too many requests for the recorder")
                    return
                outer.respond(self, self.command, body)

            def _reply(self, status: int, headers: list, payload: bytes) -> None:
                self.send_response(status)
                for name, value in headers:
                    if name.lower() not in HOP_BY_HOP and name.lower() != "content-length":
                        self.send_header(name, value)
                self.send_header("Content-Length", str(len(payload)))
                self.end_headers()
                if self.command != "HEAD":
                    self.wfile.write(payload)

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

            def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - quiet
                return

        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self._httpd.daemon_threads = True
        self._thread = threading.Thread(target=self._httpd.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
        self._thread.start()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._httpd is not None:
            self._httpd.shutdown()
            self._httpd.server_close()
        if self._thread is not None:
            self._thread.join(timeout=5)


class Recorder(_Server):
    """Records every request and answers it with an AWS-shaped HTTP 400 error (nothing is ever done)."""

    ERROR = (b'<?xml version="1.0"?><ErrorResponse><Error><Type>Sender</Type><Code>RecorderOnly</Code>'
             b"<Message>this endpoint only records requests</Message></Error></ErrorResponse>")

    def respond(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        handler._reply(400, [("Content-Type", "text/xml")], self.ERROR)  # type: ignore[attr-defined]


class RecordingProxy(_Server):
    """Forwards every request to ``upstream`` (an emulator on 127.0.0.1) and records its operation."""

    def __init__(self, upstream: str, limit: int = 5000, timeout: float = 20.0) -> None:
        super().__init__(limit)
        parts = urlsplit(upstream)
        assert parts.hostname in ("127.0.0.1", "localhost"), "the proxy forwards to a loopback emulator only"
        self.upstream_host = parts.hostname
        self.upstream_port = parts.port or 80
        self.timeout = timeout

    def respond(self, handler: BaseHTTPRequestHandler, method: str, body: bytes) -> None:
        conn = http.client.HTTPConnection(self.upstream_host, self.upstream_port, timeout=self.timeout)
        try:
            headers = {k: v for k, v in handler.headers.items() if k.lower() not in HOP_BY_HOP | {"expect"}}
            conn.request(method, handler.path, body=body or None, headers=headers)
            upstream = conn.getresponse()
            payload = upstream.read()
            handler._reply(upstream.status, upstream.getheaders(), payload)  # type: ignore[attr-defined]
        except OSError as exc:
            message = f"upstream unreachable: {type(exc).__name__}".encode()
            handler._reply(502, [], message)  # type: ignore[attr-defined]
        finally:
            conn.close()
