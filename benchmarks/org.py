"""Organization benchmark: ``--iam-account=org:NAME`` over 50 member accounts of 200 users each on one moto server.

Usage: ``python benchmarks/org.py [--members 50] [--users 200]`` (a few minutes)

A ``ThreadedMotoServer`` on 127.0.0.1 runs in a child process. The management account (moto's default account)
creates an organization with two OUs and a guardrail SCP, and ``--members`` member accounts with Organizations
``CreateAccount``; each member gets ``--users`` users (keys, passwords, MFA, groups), a password policy and two
buckets, seeded in-process through moto's backends (seeding 10,000 users over HTTP would take minutes). The plugin
then runs as a user runs it: ``pytest --iam-account=org:bench --iam-standard=cis-aws-foundations``, reaching every
member by ``sts:AssumeRole`` into ``OrganizationAccountAccessRole``, once with ``-n 0``, once with ``-n 2`` and
once per shard with ``--iam-shard 1/2`` and ``2/2``. Requests pass through a counting proxy, so the figures say
how many times the organization's root was listed in each run.

Printed per run: wall time, peak RSS (the largest process of the run: pytest, or its biggest xdist worker), the
accounts checked, API calls per account (from the JUnit suite properties; equal for every member of the same
shape) and ``ListRoots`` requests (1 = the organization was read once).
"""

from __future__ import annotations

if __name__ not in ("__main__", "__mp_main__"):
    # Run as a script, this folder comes first on sys.path, where this file would stand in for the ``org`` package
    # the standard library's ``copy`` module probes for (``from org.python.core import ...``, Jython): refuse to be
    # imported, so that probe gets the ImportError it expects and every script here runs.
    raise ImportError("benchmarks/org.py is a script, not a module")

import argparse
import datetime as dt
import http.client
import json
import logging
import multiprocessing
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time
import xml.etree.ElementTree as ET
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any, Dict, List, Optional, Sequence

ENTRY = "bench"
GUARDRAILS = {"Version": "2012-10-17", "Statement": [{"Effect": "Deny", "Resource": "*", "Action": [
    "organizations:LeaveOrganization", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail"]}]}
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}


# --- the server process ----------------------------------------------------------------------------------------------


def _client(service: str, endpoint: str, account_id: Optional[str] = None) -> Any:
    from pytest_iam.aws import emulator_client

    client = emulator_client(service, endpoint)
    if account_id:
        def to_account(request: Any, **_: Any) -> None:
            request.headers["x-moto-account-id"] = account_id

        client.meta.events.register("before-sign", to_account)
    return client


def seed_member(endpoint: str, account_id: str, users: int, now: dt.datetime) -> None:
    from moto.iam.models import iam_backends

    iam = iam_backends[account_id]["global"]
    iam.update_account_password_policy(
        allow_change_password=True, hard_expiry=False, max_password_age=90, minimum_password_length=14,
        password_reuse_prevention=24, require_lowercase_characters=True, require_numbers=True, require_symbols=True,
        require_uppercase_characters=True)
    policy = iam.create_policy(description="read", path="/", policy_document=json.dumps(READ_ONLY),
                               policy_name="read-only-data", tags=[]).arn
    for group in ("developers", "analysts"):
        iam.create_group(group, "/")
        iam.attach_group_policy(policy, group)
    for i in range(users):
        name = f"user-{i:04d}"
        iam.create_user("us-east-1", name, "/")
        key = iam.create_access_key(name)
        key.create_date = (now - dt.timedelta(days=(i * 7) % 200)).replace(tzinfo=None)
        if i % 4 != 1:
            iam.create_login_profile(name, "Not-a-real-password-1!")
        if i % 4 in (0, 2):
            serial = iam.create_virtual_mfa_device(name, "/").serial_number
            iam.enable_mfa_device(name, serial, "123456", "654321")
        iam.add_user_to_group(("developers", "analysts")[i % 2], name)
    s3 = _client("s3", endpoint, account_id)
    for suffix in ("logs", "data"):
        s3.create_bucket(Bucket=f"{account_id}-{suffix}")


def serve(conn: Any, members: int, users: int) -> None:
    from moto.server import ThreadedMotoServer

    # moto prints a line for every request to a service it lacks (Access Analyzer): keep this process quiet
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)
    os.dup2(devnull, 2)

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    try:
        started = time.perf_counter()
        org = _client("organizations", endpoint)
        org.create_organization(FeatureSet="ALL")
        root = org.list_roots()["Roots"][0]["Id"]
        org.enable_policy_type(RootId=root, PolicyType="SERVICE_CONTROL_POLICY")
        prod = org.create_organizational_unit(ParentId=root, Name="prod")["OrganizationalUnit"]["Id"]
        org.create_organizational_unit(ParentId=root, Name="sandbox")
        scp = org.create_policy(Content=json.dumps(GUARDRAILS), Description="guardrails", Name="guardrails",
                                Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=scp, TargetId=prod)
        now = dt.datetime.now(dt.timezone.utc)
        for i in range(members):
            account_id = org.create_account(Email=f"m{i}@example.com",
                                            AccountName=f"member-{i:02d}")["CreateAccountStatus"]["AccountId"]
            if i % 2 == 0:
                org.move_account(AccountId=account_id, SourceParentId=root, DestinationParentId=prod)
            seed_member(endpoint, account_id, users, now)
        conn.send({"endpoint": endpoint, "seconds": time.perf_counter() - started})
        conn.recv()  # until told to stop
    finally:
        server.stop()
        conn.close()


# --- a counting proxy ------------------------------------------------------------------------------------------------


class CountingProxy:
    """Forwards to the emulator on 127.0.0.1 and counts JSON-API operations (X-Amz-Target)."""

    def __init__(self, upstream: str) -> None:
        self.host, _, port = upstream.split("//", 1)[1].partition(":")
        self.port = int(port)
        self.counts: Counter = Counter()
        self.lock = threading.Lock()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def _handle(self) -> None:
                length = int(self.headers.get("Content-Length") or 0)
                body = self.rfile.read(length) if length else None
                target = self.headers.get("X-Amz-Target")
                if target:
                    with outer.lock:
                        outer.counts[target.rsplit(".", 1)[-1]] += 1
                conn = http.client.HTTPConnection(outer.host, outer.port, timeout=60)
                try:
                    conn.request(self.command, self.path, body=body, headers=dict(self.headers.items()))
                    answer = conn.getresponse()
                    payload = answer.read()
                    self.send_response(answer.status)
                    for name, value in answer.getheaders():
                        if name.lower() not in ("connection", "transfer-encoding", "content-length"):
                            self.send_header(name, value)
                    self.send_header("Content-Length", str(len(payload)))
                    self.end_headers()
                    if self.command != "HEAD":
                        self.wfile.write(payload)
                finally:
                    conn.close()

            do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = _handle

            def log_message(self, *args: Any) -> None:
                return

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.httpd.daemon_threads = True
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.httpd.server_address[1]}"

    def take(self) -> Counter:
        with self.lock:
            counts, self.counts = self.counts, Counter()
        return counts

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()


# --- runs ------------------------------------------------------------------------------------------------------------


def measured(argv: List[str]) -> int:
    """``--child``: run the command, then print the peak RSS of its process tree's largest process (KiB)."""
    code = subprocess.run(argv).returncode
    print(json.dumps({"maxrss_kib": resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss, "exit": code}))
    return 0


def run_plugin(folder: Path, label: str, extra: Sequence[str]) -> Dict[str, Any]:
    xml = folder / f"{label}.xml"
    pytest_args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "-q", "--tb=no", "-rN",
                   "--iam-accounts-file=iam-accounts.yaml", f"--iam-account=org:{ENTRY}",
                   "--iam-standard=cis-aws-foundations", f"--junitxml={xml}", *extra]
    env = dict(os.environ, AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing",
               AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
               NO_PROXY="127.0.0.1,localhost")
    started = time.perf_counter()
    done = subprocess.run([sys.executable, __file__, "--child", "--", *pytest_args], cwd=folder, env=env,
                          capture_output=True, text=True, timeout=3600)
    seconds = time.perf_counter() - started
    figures = json.loads(done.stdout.strip().splitlines()[-1])
    calls: Dict[str, int] = {}
    accounts = set()
    root = ET.parse(xml).getroot()
    for prop in root.iter("property"):
        name = prop.get("name", "")
        if name.endswith(".api_calls"):
            calls[name[: -len(".api_calls")]] = int(prop.get("value") or 0)
        if name == "account":
            accounts.add(prop.get("value"))
    return {"label": label, "seconds": seconds, "maxrss_mib": figures["maxrss_kib"] / 1024, "calls": calls,
            "accounts": accounts}


def main(argv: Optional[Sequence[str]] = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    if argv[:1] == ["--child"]:
        return measured(argv[2:] if argv[1:2] == ["--"] else argv[1:])
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--members", type=int, default=50)
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--max-workers", type=int, default=8, help="--iam-max-workers for the -n 0 run")
    parser.add_argument("--max-attempts", type=int, default=2,
                        help="settings.max_attempts (default 2: moto answers services it lacks with HTTP 500, which "
                             "botocore would otherwise retry with backoff, and that is not what is measured)")
    args = parser.parse_args(argv)
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(child, args.members, args.users), daemon=True)
    server.start()
    results = []
    proxy = None
    try:
        print(f"seeding {args.members} member accounts of {args.users} users ...", file=sys.stderr, flush=True)
        while not parent.poll(1):
            if not server.is_alive():
                raise RuntimeError(f"the server process ended (exit code {server.exitcode})")
        ready = parent.recv()
        proxy = CountingProxy(ready["endpoint"])
        with tempfile.TemporaryDirectory(prefix="pytest-iam-org-bench-") as scratch:
            folder = Path(scratch)
            (folder / "iam-accounts.yaml").write_text(
                f"settings:\n  max_attempts: {args.max_attempts}\n"
                f"accounts:\n  {ENTRY}:\n    endpoint_url: {proxy.url}\n    regions: [us-east-1]\n"
                f"    organization:\n      member_role: OrganizationAccountAccessRole\n")
            for label, extra in (("-n 0", ["-p", "no:xdist", f"--iam-max-workers={args.max_workers}"]),
                                 ("-n 2", ["-n", "2"]),
                                 ("--iam-shard 1/2", ["--iam-shard=1/2"]),
                                 ("--iam-shard 2/2", ["--iam-shard=2/2"])):
                print(f"running {label} ...", file=sys.stderr, flush=True)
                result = run_plugin(folder, label.replace(" ", "_").replace("/", "of"), extra)
                result["list_roots"] = proxy.take().get("ListRoots", 0)
                result["label"] = label
                results.append(result)
        parent.send("stop")
    finally:
        if proxy is not None:
            proxy.close()
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()  # our own child, by its handle
    print(f"seeding (server, in-process backends + HTTP for the organization and buckets): {ready['seconds']:.1f} s")
    print(f"{'run':<18}{'accounts':>9}{'wall s':>9}{'peak RSS MiB':>14}{'ListRoots':>11}  API calls per account")
    for r in results:
        members = Counter(v for k, v in r["calls"].items() if not k.startswith(f"{ENTRY}/master-"))
        management = [v for k, v in r["calls"].items() if k.startswith(f"{ENTRY}/master-")]
        shape = ", ".join(f"{calls} x{n}" for calls, n in sorted(members.items()))
        extra = f"; management {management[0]}" if management else ""
        print(f"{r['label']:<18}{len(r['calls']):>9}{r['seconds']:>9.1f}{r['maxrss_mib']:>14.0f}"
              f"{r['list_roots']:>11}  members {shape}{extra}")
    shard_accounts = [set(r["calls"]) for r in results if r["label"].startswith("--iam-shard")]
    if len(shard_accounts) == 2:
        overlap = shard_accounts[0] & shard_accounts[1]
        print(f"shards: {len(shard_accounts[0])} + {len(shard_accounts[1])} accounts, overlap {len(overlap)}, "
              f"union equals the -n 0 run: {shard_accounts[0] | shard_accounts[1] == set(results[0]['calls'])}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
