"""Collection benchmark: API calls, wall time and memory of collecting N users from a moto server, then every check.

Usage: ``python benchmarks/collect.py [--users 1000 5000] [--repeat 3] [--tracemalloc]`` (about 25 s by default)

A moto ``ThreadedMotoServer`` on 127.0.0.1 runs in a child process, which seeds each account in-process through
moto's backend objects (seeding 5,000 users one HTTP call at a time would take minutes). Every measured collection
gets a fresh account id, so nothing is cached server-side. This process then collects the account exactly as it
would collect AWS: ``collect_inventory`` on an ``Account(AccountSpec(endpoint_url=...))`` with environment
credentials, every call over HTTP through the plugin's guarded, counted client factory -- and runs every check of
the library on the inventory. Times are medians over ``--repeat`` identical accounts per size.

Because the server lives in another process, the memory figures are the plugin's own: ``ru_maxrss`` of this process
(sizes run in ascending order, so each peak belongs to its size), and with ``--tracemalloc`` the peak of Python
allocations during collection + checks (a further, traced pass; tracing slows Python down, so its times are not
shown).
"""

from __future__ import annotations

import os
import sys

# The script's folder comes first on sys.path and holds org.py, which would shadow the ``org`` module that the
# standard library's copy module probes for (Jython) and break the imports of the spawned server process.
_HERE = os.path.dirname(os.path.abspath(__file__))
sys.path[:] = [p for p in sys.path if os.path.abspath(p or os.curdir) != _HERE]

import argparse
import datetime as dt
import gc
import json
import logging
import multiprocessing
import resource
import statistics
import time
import tracemalloc
from collections import Counter
from dataclasses import dataclass
from typing import Any, Dict, List, Optional, Sequence, Tuple

MOTO_NOTE = (
    "Note: moto does not paginate GetAccountAuthorizationDetails (it ignores MaxItems and answers in one page), so\n"
    "its page count here is 1 whatever N is; on AWS it is ceil(entities / 1000), entities = users + groups + roles +\n"
    "policies. ListVirtualMFADevices does page in moto (at MaxItems, which the collector sets to 1,000).\n"
    "Times are medians over --repeat fresh, identical accounts per size, after a warm-up collection of a\n"
    "10-user account (the first collection of a process loads botocore's service models). Collection time\n"
    "includes one 0.2 s wait: like AWS, moto answers the first GenerateCredentialReport with STARTED."
)

WARM_UP_USERS = 10
GROUPS = ("admins", "developers", "analysts", "operators", "auditors")
READ_ONLY = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]}
EC2_POWER = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Allow", "Action": "ec2:*", "Resource": "*",
     "Condition": {"StringEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}}]}
ALL_ON_ALL = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "*", "Resource": "*"}]}
DENY_IAM = {"Version": "2012-10-17", "Statement": [
    {"Effect": "Deny", "NotAction": ["iam:Get*", "iam:List*"], "Resource": "*",
     "Condition": {"StringNotEquals": {"aws:PrincipalTag/team": "platform"}}}]}


def _trust(principal: dict, condition: Optional[dict] = None) -> str:
    statement: dict = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return json.dumps({"Version": "2012-10-17", "Statement": [statement]})


# --- the server process ----------------------------------------------------------------------------------------------


def _account_client(service: str, endpoint: str, account_id: str) -> Any:
    from pytest_iam.aws import emulator_client

    client = emulator_client(service, endpoint)

    def to_account(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account_id  # moto: the account a request belongs to

    client.meta.events.register("before-sign", to_account)
    return client


def seed_account(endpoint: str, account_id: str, users: int, now: dt.datetime) -> None:
    """Seed one account: ``users`` users through moto's IAM backend; buckets and the organization over HTTP."""
    from moto.iam.models import iam_backends

    def ago(days: Optional[float]) -> Optional[dt.datetime]:
        return None if days is None else (now - dt.timedelta(days=days)).replace(tzinfo=None)

    iam = iam_backends[account_id]["global"]
    iam.update_account_password_policy(
        allow_change_password=True, hard_expiry=False, max_password_age=90, minimum_password_length=14,
        password_reuse_prevention=24, require_lowercase_characters=True, require_numbers=True, require_symbols=True,
        require_uppercase_characters=True,
    )
    policies = {
        name: iam.create_policy(
            description=name, path="/", policy_document=json.dumps(doc), policy_name=name, tags=[]
        ).arn
        for name, doc in (("read-only-data", READ_ONLY), ("ec2-power", EC2_POWER), ("legacy-admin", ALL_ON_ALL),
                          ("deny-iam-writes", DENY_IAM))
    }
    for group in GROUPS:
        iam.create_group(group, "/")
    iam.attach_group_policy(policies["legacy-admin"], "admins")
    iam.attach_group_policy(policies["ec2-power"], "developers")
    iam.attach_group_policy(policies["read-only-data"], "analysts")
    iam.attach_group_policy(policies["read-only-data"], "auditors")
    iam.put_group_policy("operators", "ops", json.dumps(EC2_POWER))
    roles = (
        ("app-server", _trust({"Service": "ec2.amazonaws.com"}), "read-only-data"),
        ("ci-deploy", _trust({"AWS": f"arn:aws:iam::{account_id}:root"}), "ec2-power"),
        ("partner-read", _trust({"AWS": "arn:aws:iam::444455556666:root"},
                                {"StringEquals": {"sts:ExternalId": "partner-7"}}), "read-only-data"),
        ("vendor-admin", _trust({"AWS": "arn:aws:iam::777788889999:root"}), "legacy-admin"),
        ("break-glass", _trust({"AWS": f"arn:aws:iam::{account_id}:root"}), "legacy-admin"),
    )
    for name, trust, policy in roles:
        iam.create_role(role_name=name, assume_role_policy_document=trust, path="/", permissions_boundary=None,
                        description=name, tags=[], max_session_duration=None)
        iam.attach_role_policy(policies[policy], name)
    iam.put_role_policy("app-server", "logs", json.dumps(READ_ONLY))

    for i in range(users):
        name = f"user-{i:05d}"
        user = iam.create_user("us-east-1", name, "/")
        user.create_date = ago(400 - i % 400)
        key = iam.create_access_key(name)
        key.create_date = ago((i * 7) % 400)  # some keys are older than 90 days
        key.last_used = ago(None if i % 9 == 0 else (i * 3) % 120)
        if i % 50 == 0:  # a second, inactive key now and then
            iam.create_access_key(name, status="Inactive").create_date = ago(200)
        console = i % 4 != 1
        if console:
            iam.create_login_profile(name, "Not-a-real-password-1!")
            user.password_last_used = ago(None if i % 13 == 0 else i % 100)
        if not console or i % 4 in (0, 2):  # every user without a password has MFA; 1 in 4 with one has none
            serial = iam.create_virtual_mfa_device(name, "/").serial_number
            iam.enable_mfa_device(name, serial, "123456", "654321")
        iam.add_user_to_group(GROUPS[i % len(GROUPS)], name)
        if i % 10 == 0:
            iam.attach_user_policy(policies["read-only-data"], name)
        if i % 25 == 3:
            iam.put_user_policy(name, "own-bucket", json.dumps(READ_ONLY))

    s3 = _account_client("s3", endpoint, account_id)
    for suffix in ("logs", "data", "backups", "website", "shared"):
        s3.create_bucket(Bucket=f"{account_id}-{suffix}")
    s3.put_public_access_block(Bucket=f"{account_id}-logs", PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True})
    s3.put_bucket_policy(Bucket=f"{account_id}-website", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{account_id}-website/*"}]}))
    s3.put_bucket_policy(Bucket=f"{account_id}-shared", Policy=json.dumps({"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::444455556666:root"}, "Action": "s3:GetObject",
         "Resource": f"arn:aws:s3:::{account_id}-shared/*"}]}))

    org = _account_client("organizations", endpoint, account_id)
    org.create_organization(FeatureSet="ALL")
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    unit = org.create_organizational_unit(ParentId=root_id, Name="workloads")["OrganizationalUnit"]["Id"]
    members = []
    for name in ("workload-prod", "workload-dev"):
        status = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]
        members.append(status["AccountId"])
    org.move_account(AccountId=members[0], SourceParentId=root_id, DestinationParentId=unit)
    for name, doc in (("guardrails", {"Version": "2012-10-17", "Statement": [
            {"Effect": "Deny", "Resource": "*", "Action": [
                "organizations:LeaveOrganization", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail"]}]}),
            ("region-lock", {"Version": "2012-10-17", "Statement": [
                {"Effect": "Deny", "NotAction": ["iam:*", "sts:*"], "Resource": "*",
                 "Condition": {"StringNotEquals": {"aws:RequestedRegion": ["eu-west-1", "us-east-1"]}}}]})):
        policy_id = org.create_policy(Content=json.dumps(doc), Description=name, Name=name,
                                      Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=policy_id, TargetId=root_id if name == "guardrails" else unit)


LARGE_USERS, LARGE_ROLES, LARGE_BUCKETS, LARGE_SCPS = 5000, 2000, 500, 20
PAB_ON = {"BlockPublicAcls": "true", "IgnorePublicAcls": "true", "BlockPublicPolicy": "true",
          "RestrictPublicBuckets": "true"}  # what S3 sets on every bucket created since April 2023


def seed_large(endpoint: str, account_id: str) -> None:
    """On top of ``seed_account``: roles up to LARGE_ROLES, buckets up to LARGE_BUCKETS (a third with a bucket
    policy) and SCPs up to LARGE_SCPS, attached at the root, at two OUs and at accounts. Roles and buckets go
    through moto's backends in-process; the organization over HTTP (a few dozen calls)."""
    from moto.iam.models import iam_backends
    from moto.s3.models import s3_backends

    iam = iam_backends[account_id]["global"]
    read_only = f"arn:aws:iam::{account_id}:policy/read-only-data"
    trusts = (_trust({"Service": "ec2.amazonaws.com"}), _trust({"Service": "lambda.amazonaws.com"}),
              _trust({"AWS": f"arn:aws:iam::{account_id}:root"}),
              _trust({"AWS": "arn:aws:iam::444455556666:root"}, {"StringEquals": {"sts:ExternalId": "partner-7"}}))
    for i in range(LARGE_ROLES - 5):  # seed_account made 5
        name = f"role-{i:05d}"
        iam.create_role(role_name=name, assume_role_policy_document=trusts[i % len(trusts)], path="/service/",
                        permissions_boundary=None, description=name, tags=[], max_session_duration=None)
        iam.attach_role_policy(read_only, name)
        if i % 10 == 0:
            iam.put_role_policy(name, "logs", json.dumps(READ_ONLY))

    s3 = s3_backends[account_id]["aws"]
    for i in range(LARGE_BUCKETS - 5):  # seed_account made 5
        name = f"{account_id}-bucket-{i:04d}"
        s3.create_bucket(name, "us-east-1")
        s3.put_public_access_block(name, PAB_ON)
        if i % 3 == 0:
            s3.put_bucket_policy(name, json.dumps({"Version": "2012-10-17", "Statement": [
                {"Sid": "TlsOnly", "Effect": "Deny", "Principal": "*", "Action": "s3:*",
                 "Resource": [f"arn:aws:s3:::{name}", f"arn:aws:s3:::{name}/*"],
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}]}).encode())

    org = _account_client("organizations", endpoint, account_id)
    root_id = org.list_roots()["Roots"][0]["Id"]
    units = org.list_organizational_units_for_parent(ParentId=root_id)["OrganizationalUnits"]
    sandbox = org.create_organizational_unit(ParentId=root_id, Name="sandbox")["OrganizationalUnit"]["Id"]
    member = org.create_account(Email="sandbox-1@example.com", AccountName="sandbox-1")["CreateAccountStatus"]
    org.move_account(AccountId=member["AccountId"], SourceParentId=root_id, DestinationParentId=sandbox)
    targets = [root_id, units[0]["Id"], sandbox, account_id, member["AccountId"]]
    for i in range(LARGE_SCPS - 2):  # seed_account made 2
        doc = {"Version": "2012-10-17", "Statement": [
            {"Sid": f"Deny{i}", "Effect": "Deny", "Resource": "*",
             "Action": [f"service{i}:Delete*", f"service{i}:Put*"]}]}
        policy_id = org.create_policy(Content=json.dumps(doc), Description=f"scp-{i}", Name=f"scp-{i:02d}",
                                      Type="SERVICE_CONTROL_POLICY")["Policy"]["PolicySummary"]["Id"]
        org.attach_policy(PolicyId=policy_id, TargetId=targets[i % len(targets)])


def serve(conn: Any) -> None:
    """Child process: run the server, seed accounts on request, answer with collection credentials."""
    from moto.iam.models import iam_backends
    from moto.server import ThreadedMotoServer

    logging.getLogger("werkzeug").setLevel(logging.ERROR)
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    from pytest_iam.mock import MotoGaps

    MotoGaps.answer_unserved_apis(server)  # moto serves no Access Analyzer: answered at once, not a retried 500
    host, port = server.get_host_and_port()
    endpoint = f"http://{host}:{port}"
    conn.send(endpoint)
    try:
        while True:
            message = conn.recv()
            if message[0] != "seed":
                break
            _, account_id, users, *large = message
            started = time.perf_counter()
            seed_account(endpoint, account_id, users, dt.datetime.now(dt.timezone.utc))
            if large and large[0]:
                seed_large(endpoint, account_id)
            # A temporary key of the account (as AssumeRole hands out): requests signed with it land in account_id.
            key = iam_backends[account_id]["global"].create_temp_access_key()
            conn.send({"key": key.access_key_id, "secret": key.secret_access_key,
                       "seconds": time.perf_counter() - started})
    finally:
        server.stop()
        conn.close()


# --- the measuring process -------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckFigures:
    check: str
    evaluated: int
    failed: int
    errors: int
    seconds: float


@dataclass(frozen=True)
class Run:
    users: int
    seed_seconds: float
    calls: Counter
    collect_seconds: float
    checks_seconds: float
    checks: Tuple[CheckFigures, ...]
    maxrss_mib: float
    traced_peak_mib: Optional[float]
    collected_users: int
    collection_errors: Tuple[str, ...]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def users_per_second(self) -> float:
        return self.users / self.collect_seconds if self.collect_seconds else float("inf")


def _maxrss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def _environment(credentials: dict) -> None:
    for var in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN"):
        os.environ.pop(var, None)
    os.environ.update(
        AWS_ACCESS_KEY_ID=credentials["key"], AWS_SECRET_ACCESS_KEY=credentials["secret"],
        AWS_DEFAULT_REGION="us-east-1", AWS_CONFIG_FILE=os.devnull, AWS_SHARED_CREDENTIALS_FILE=os.devnull,
        AWS_EC2_METADATA_DISABLED="true",
    )


def collect_and_check(endpoint: str, name: str) -> Tuple[Any, Counter, float, float, Tuple[CheckFigures, ...]]:
    """One collection over HTTP and every check of the library; returns the inventory, calls and timings."""
    from pytest_iam.accounts import Account, AccountSpec
    from pytest_iam.checks import ERROR, FAIL, Library, run_check
    from pytest_iam.collect import collect_inventory

    account = Account(AccountSpec(name=name, endpoint_url=endpoint))
    started = time.perf_counter()
    inventory = collect_inventory(account)
    collected = time.perf_counter()
    figures = []
    for check in Library.load():
        t0 = time.perf_counter()
        result = run_check(check, inventory)
        figures.append(CheckFigures(check.id, result.evaluated, len(result.by_status(FAIL)),
                                    len(result.by_status(ERROR)), time.perf_counter() - t0))
    checked = time.perf_counter()
    return inventory, account.factory.calls, collected - started, checked - collected, tuple(figures)


def _receive(conn: Any, server: Any) -> Any:
    """The server's next answer; an error (not a hang) when the server process has ended."""
    while not conn.poll(0.5):
        if not server.is_alive():
            raise RuntimeError(f"the server process ended (exit code {server.exitcode}); its error is printed above")
    return conn.recv()


def _seed(conn: Any, server: Any, account_id: str, users: int, large: bool = False) -> dict:
    conn.send(("seed", account_id, users, large))
    credentials = _receive(conn, server)
    _environment(credentials)
    return credentials


def measure(conn: Any, server: Any, endpoint: str, users: int, traced: bool, repeat: int, prefix: str = "3") -> Run:
    """Seed ``repeat`` fresh accounts of ``users`` users, collect and check each; median times, peak memory."""
    seeds, collects, checks_total, calls_seen = [], [], [], []
    per_check: Dict[str, List[CheckFigures]] = {}
    inventory = None
    for r in range(repeat):
        account_id = f"{prefix}{r}{users:010d}"  # a fresh account: nothing cached server-side, report not generated
        seeds.append(_seed(conn, server, account_id, users)["seconds"])
        inventory = None
        gc.collect()
        inventory, calls, collect_s, checks_s, figures = collect_and_check(endpoint, f"bench-{account_id}")
        collects.append(collect_s)
        checks_total.append(checks_s)
        calls_seen.append(calls)
        for f in figures:
            per_check.setdefault(f.check, []).append(f)
    maxrss = _maxrss_mib()
    if any(c != calls_seen[0] for c in calls_seen):
        raise RuntimeError(f"N={users}: API calls differ between identical accounts: {calls_seen}")
    peak = None
    if traced:
        inventory = None
        gc.collect()
        tracemalloc.start()
        inventory, *_ = collect_and_check(endpoint, f"bench-{users}-traced")
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
    checks = tuple(
        CheckFigures(check_id, runs[0].evaluated, runs[0].failed, runs[0].errors,
                     statistics.median(f.seconds for f in runs))
        for check_id, runs in per_check.items()
    )
    assert inventory is not None
    return Run(users=users, seed_seconds=statistics.median(seeds), calls=calls_seen[0],
               collect_seconds=statistics.median(collects), checks_seconds=statistics.median(checks_total),
               checks=checks, maxrss_mib=maxrss, traced_peak_mib=peak, collected_users=len(inventory.users or ()),
               collection_errors=tuple(str(e) for e in inventory.errors) + tuple(f"unread {g.source}: {g}"
                                                                                for g in inventory.unread))


# --- the large account, in fresh processes --------------------------------------------------------------------------

BUCKET_OPERATIONS = ("GetBucketLocation", "GetPublicAccessBlock", "GetBucketPolicy", "GetBucketVersioning",
                     "GetBucketAcl")


@dataclass
class LargeRun:
    seed_seconds: float
    calls: Counter
    collect_seconds: float
    checks_seconds: float  # the checks that finished, plus the budget of each that did not
    checks: List[CheckFigures]
    over_budget: List[str]  # checks stopped after --check-budget seconds
    baseline_mib: float  # RSS of the fresh process after its imports
    maxrss_mib: float
    buckets: int
    collected: Dict[str, int]
    collection_errors: Tuple[str, ...]

    @property
    def total_calls(self) -> int:
        return sum(self.calls.values())

    @property
    def bucket_calls(self) -> Counter:
        return Counter({op: n for (svc, op), n in self.calls.items() if svc == "s3" and op in BUCKET_OPERATIONS})


def fresh_child(conn: Any, endpoint: str, credentials: dict, name: str, skip: Sequence[str]) -> None:
    """A fresh process: collect the account, then run every check not in ``skip``, reporting as it goes; a thread
    reports the peak RSS twice a second, so a check stopped by the parent still leaves its memory figure."""
    import threading

    _environment(credentials)
    import pytest_iam.checks  # noqa: F401
    import pytest_iam.collect  # noqa: F401
    from pytest_iam.accounts import Account, AccountSpec
    from pytest_iam.checks import ERROR, FAIL, Library, run_check
    from pytest_iam.collect import collect_inventory

    lock = threading.Lock()

    def send(*message: Any) -> None:
        with lock:
            conn.send(message)

    send("baseline", _maxrss_mib())

    def sample() -> None:
        while True:
            time.sleep(0.5)
            send("rss", _maxrss_mib())

    threading.Thread(target=sample, daemon=True).start()
    account = Account(AccountSpec(name=name, endpoint_url=endpoint))
    started = time.perf_counter()
    inventory = collect_inventory(account)
    send("collected", account.factory.calls, time.perf_counter() - started, len(inventory.buckets or ()),
         {"users": len(inventory.users or ()), "roles": len(inventory.roles or ()),
          "buckets": len(inventory.buckets or ()),
          "SCPs": len(inventory.organization.scps) if inventory.organization else 0},
         tuple(str(e) for e in inventory.errors) + tuple(f"unread {g.source}: {g}" for g in inventory.unread))
    for check in Library.load():
        if check.id in skip:
            continue
        send("start", check.id)
        t0 = time.perf_counter()
        result = run_check(check, inventory)
        send("check", CheckFigures(check.id, result.evaluated, len(result.by_status(FAIL)),
                                   len(result.by_status(ERROR)), time.perf_counter() - t0))
    send("done", _maxrss_mib())


def measure_large(conn: Any, server: Any, endpoint: str, budget: float) -> LargeRun:
    """Seed the large account, then collect and check it in a fresh process. A check still running after
    ``budget`` seconds is stopped with its process, and a new fresh process runs the checks left."""
    account_id = "400000000001"
    credentials = _seed(conn, server, account_id, LARGE_USERS, large=True)
    ctx = multiprocessing.get_context("spawn")
    run: Optional[LargeRun] = None
    skip: List[str] = []
    while True:
        parent, child = ctx.Pipe()
        proc = ctx.Process(target=fresh_child, args=(child, endpoint, credentials, f"bench-{account_id}", skip),
                           daemon=True)
        proc.start()
        child.close()
        running: Optional[str] = None
        deadline = None
        baseline = peak = 0.0
        finished = False
        try:
            while True:
                if not parent.poll(0.2):
                    if deadline is not None and time.perf_counter() > deadline:
                        break
                    if not proc.is_alive():
                        raise RuntimeError(f"the measuring process ended (exit code {proc.exitcode})")
                    continue
                kind, *body = parent.recv()
                if kind == "baseline":
                    baseline = body[0]
                elif kind == "rss":
                    peak = max(peak, body[0])
                elif kind == "collected" and run is None:
                    calls, seconds, buckets, collected, errors = body
                    run = LargeRun(seed_seconds=credentials["seconds"], calls=calls, collect_seconds=seconds,
                                   checks_seconds=0.0, checks=[], over_budget=[], baseline_mib=baseline,
                                   maxrss_mib=0.0, buckets=buckets, collected=collected, collection_errors=errors)
                elif kind == "start":
                    running, deadline = body[0], time.perf_counter() + budget
                elif kind == "check":
                    assert run is not None
                    run.checks.append(body[0])
                    run.checks_seconds += body[0].seconds
                    running = deadline = None
                elif kind == "done":
                    peak = max(peak, body[0])
                    finished = True
                    break
        finally:
            if proc.is_alive():
                proc.terminate()  # our own child, by its handle
            proc.join(timeout=10)
            parent.close()
        assert run is not None
        run.maxrss_mib = max(run.maxrss_mib, peak)
        if finished:
            return run
        assert running is not None
        print(f"  {running} still running after {budget:.0f} s: stopped; the checks left run in a new process",
              file=sys.stderr, flush=True)
        run.over_budget.append(running)
        run.checks_seconds += budget
        skip[:] = [c.check for c in run.checks] + run.over_budget  # the new process runs only the checks left


def _verdict(ok: bool) -> str:
    return "met" if ok else "MISSED"


def report_large(run: LargeRun, budget: float) -> str:
    buckets = run.buckets or 1
    per_bucket = sum(run.bucket_calls.values())
    location = run.bucket_calls.get("GetBucketLocation", 0)
    fixed = run.total_calls - per_bucket
    without_location = run.total_calls - location
    allowed = 3 * run.buckets + 60
    wall = run.collect_seconds + run.checks_seconds
    calls = [[f"{svc}:{op}", n] for (svc, op), n in sorted(run.calls.items())] + [["total", run.total_calls]]
    over = (f" (at least: {', '.join(run.over_budget)} stopped after {budget:.0f} s each)"
            if run.over_budget else "")
    rows = [
        ["collection wall time, s", f"{run.collect_seconds:.1f}", "", ""],
        ["all checks wall time, s" + (" (at least)" if run.over_budget else ""), f"{run.checks_seconds:.1f}",
         "", ""],
        ["collection + all checks, s" + (" (at least)" if run.over_budget else ""), f"{wall:.1f}", "< 15",
         _verdict(wall < 15)],
        ["peak RSS (fresh process), MiB", f"{run.maxrss_mib:.0f}", "< 400", _verdict(run.maxrss_mib < 400)],
        ["  of which its imports, MiB", f"{run.baseline_mib:.0f}", "", ""],
        ["API calls, total (as measured)", run.total_calls, f"<= {allowed:,}", _verdict(run.total_calls <= allowed)],
        ["API calls, total without GetBucketLocation", without_location, f"<= {allowed:,}",
         _verdict(without_location <= allowed)],
        ["per-bucket calls / bucket (as measured)", f"{per_bucket / buckets:.2f}", "<= 3",
         _verdict(per_bucket <= 3 * run.buckets)],
        ["per-bucket calls / bucket without GetBucketLocation", f"{(per_bucket - location) / buckets:.2f}", "<= 3",
         _verdict(per_bucket - location <= 3 * run.buckets)],
        ["calls not per bucket", fixed, "<= 60", _verdict(fixed <= 60)],
    ]
    check_rows = [[c.check, c.evaluated, c.failed, c.errors, f"{c.seconds:.2f}"] for c in run.checks]
    check_rows += [[c, "-", "-", "-", f"> {budget:.0f} (stopped)"] for c in run.over_budget]
    collected = ", ".join(f"{n:,} {what}" for what, n in run.collected.items())
    out = [
        "",
        f"Large account ({collected} collected; {LARGE_BUCKETS - 5} buckets with the public access block S3 sets",
        "by default, a third with a bucket policy; an organization with two OUs and three member accounts).",
        f"Seeded in {run.seed_seconds:.1f} s (not measured); collected and checked in a fresh process{over}.",
        "moto's ListBuckets returns no BucketRegion, so the collector adds one GetBucketLocation per bucket here;",
        "AWS returns the region in ListBuckets, so the figures without GetBucketLocation are the AWS ones.",
        "",
        "API calls by service:operation:",
        _table(["call", "calls"], calls, "lr"),
        "",
        "Figures against targets (2 cores, moto on the same cores):",
        _table(["", "measured", "target", ""], rows, "lrrl"),
        "",
        "Checks (seconds):",
        _table(["check", "evaluated", "failed", "errors", "s"], check_rows, "lrrrr"),
    ]
    if run.collection_errors:
        out += ["", "Collection errors:"] + [f"  {e}" for e in run.collection_errors]
    return "\n".join(out)


# --- output ----------------------------------------------------------------------------------------------------------


def _table(header: Sequence[str], rows: List[Sequence[Any]], align: str) -> str:
    cells = [list(map(str, header))] + [[str(c) for c in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(header))]

    def line(row: List[str]) -> str:
        return "  ".join(c.ljust(w) if a == "l" else c.rjust(w) for c, w, a in zip(row, widths, align))

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(cells[0]), rule] + [line(r) for r in cells[1:]])


def report(runs: List[Run], baseline_mib: float) -> str:
    sizes = [f"N={r.users:,}" for r in runs]
    operations = sorted({op for r in runs for op in r.calls})
    calls = [[f"{svc}:{op}"] + [r.calls.get((svc, op), 0) for r in runs] for svc, op in operations]
    calls.append(["total"] + [r.total_calls for r in runs])
    summary_rows = [
        ["users collected"] + [f"{r.collected_users:,}" for r in runs],
        ["seeding (server, in-process), s"] + [f"{r.seed_seconds:.1f}" for r in runs],
        ["API calls, total"] + [r.total_calls for r in runs],
        ["collection wall time, s"] + [f"{r.collect_seconds:.2f}" for r in runs],
        ["users/s (collection)"] + [f"{r.users_per_second:,.0f}" for r in runs],
        ["checks wall time, s (all checks)"] + [f"{r.checks_seconds:.2f}" for r in runs],
        ["peak RSS of this process, MiB"] + [f"{r.maxrss_mib:.0f}" for r in runs],
        ["  of which above the start, MiB"] + [f"{r.maxrss_mib - baseline_mib:.0f}" for r in runs],
    ]
    if any(r.traced_peak_mib is not None for r in runs):
        summary_rows.append(["tracemalloc peak (collect+checks), MiB"]
                            + [f"{r.traced_peak_mib:.1f}" if r.traced_peak_mib is not None else "-" for r in runs])
    check_ids = [c.check for c in runs[0].checks]
    check_rows = []
    for i, check_id in enumerate(check_ids):
        row: List[Any] = [check_id]
        for r in runs:
            c = r.checks[i]
            row.append(f"{c.evaluated}/{c.failed}/{c.errors}  {c.seconds * 1000:7.1f} ms")
        check_rows.append(row)
    out = [
        MOTO_NOTE,
        "",
        "API calls by service:operation (one collection of the account):",
        _table(["call"] + sizes, calls, "l" + "r" * len(runs)),
        "",
        "Summary:",
        _table([""] + sizes, summary_rows, "l" + "r" * len(runs)),
        "",
        "Checks (evaluated/failed/errors, time):",
        _table(["check"] + sizes, check_rows, "l" + "r" * len(runs)),
    ]
    for r in runs:
        if r.collection_errors:
            out += ["", f"Collection errors at N={r.users:,}:"] + [f"  {e}" for e in r.collection_errors]
    return "\n".join(out)


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, nargs="+", default=[1000, 5000], help="account sizes (default 1000 5000)")
    parser.add_argument("--tracemalloc", action="store_true",
                        help="also report the tracemalloc peak of a second, traced pass per size")
    parser.add_argument("--repeat", type=int, default=3, choices=range(1, 9), metavar="1..8",
                        help="fresh accounts collected per size; times are medians (default 3)")
    parser.add_argument("--large", action="store_true",
                        help=f"also measure a large account ({LARGE_USERS:,} users, {LARGE_ROLES:,} roles, "
                             f"{LARGE_BUCKETS} buckets, {LARGE_SCPS} SCPs) in a fresh process, against targets")
    parser.add_argument("--large-only", action="store_true", help="only the large account (implies --large)")
    parser.add_argument("--check-budget", type=float, default=60.0, metavar="SECONDS",
                        help="large account: stop a check still running after this long (default 60)")
    args = parser.parse_args(argv)
    args.large = args.large or args.large_only
    sizes = [] if args.large_only else sorted(set(args.users))  # ascending: ru_maxrss only grows, so each peak belongs to its size
    if any(n < 1 for n in sizes):
        parser.error("--users: sizes must be at least 1")

    import pytest_iam.collect  # noqa: F401  (imports before the baseline)
    import pytest_iam.checks  # noqa: F401

    baseline = _maxrss_mib()
    ctx = multiprocessing.get_context("spawn")
    parent, child = ctx.Pipe()
    server = ctx.Process(target=serve, args=(child,), daemon=True)
    server.start()
    runs: List[Run] = []
    large: Optional[LargeRun] = None
    try:
        endpoint = _receive(parent, server)
        print(MOTO_NOTE.splitlines()[0] + " ...", file=sys.stderr)
        # Warm-up, not reported: the first collection of a process loads botocore's service models.
        if sizes:
            measure(parent, server, endpoint, WARM_UP_USERS, False, 1, prefix="9")
        for users in sizes:
            print(f"seeding and collecting N={users:,} ...", file=sys.stderr, flush=True)
            runs.append(measure(parent, server, endpoint, users, args.tracemalloc, args.repeat))
        if args.large:
            print("seeding the large account, then collecting and checking it in a fresh process ...",
                  file=sys.stderr, flush=True)
            large = measure_large(parent, server, endpoint, args.check_budget)
        parent.send(("stop",))
    finally:
        server.join(timeout=10)
        if server.is_alive():
            server.terminate()  # our own child, by its handle
            server.join(timeout=5)
    if runs:
        print(report(runs, baseline))
    if large is not None:
        print(report_large(large, args.check_budget))
    return 0


if __name__ == "__main__":
    sys.exit(main())
