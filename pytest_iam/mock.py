"""Moto-backed accounts built from scenario files: the embedded ``demo`` account and users' own ``mock:PATH`` ones.

Usage::

    session, endpoint = session_for(AccountSpec(name="demo", scenario=str(demo_scenario_path())))
    # a real boto3 session, talking over HTTP to a moto server on 127.0.0.1 that holds the scenario

The scenario is seeded through ordinary API calls (writable clients exist only for a loopback emulator, see
``pytest_iam.aws.emulator_client``), except its users, whom ``MotoGaps`` writes into the emulator's IAM backend with
the methods the API handlers call (a user takes five or more requests). What moto cannot express is filled by
``MotoGaps`` too, the one small adapter that knows moto's internals: a ``<root_account>`` row in the credential report and a real generation time, the account
summary's root facts, back-dated keys, passwords and last-use times, and root's virtual MFA device. The collectors
never know any of this; they read the emulator exactly as they read AWS.
"""

from __future__ import annotations

import copy
import datetime as dt
import functools
import json
import re
import threading
import zlib
from importlib import resources
from pathlib import Path
from typing import Any, Callable, Dict, Optional, Tuple

import boto3
from cryptography import x509  # imported once, with the module: its curve classes must stay the same objects
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from .aws import DEFAULT_EMULATOR_CREDENTIALS, emulated_account, emulator_client
from .files import FileError, dates_as_text, load_yaml, one_line
from .schemas import validate

DEFAULT_ACCOUNT_ID = "123456789012"  # the emulator's default account
ORGANIZATION_ID_TOKEN = "@organization_id@"
_LOCK = threading.RLock()
_SERVER: Optional[Any] = None
_SEEDED: Dict[str, str] = {}  # scenario path -> account id
_LOADED: Dict[tuple, dict] = {}  # (resolved path, mtime, size) -> the checked scenario


class ScenarioError(FileError):
    """A scenario file that cannot be used; the message names the file and the place."""


def demo_scenario_path() -> Path:
    return Path(str(resources.files("pytest_iam.scenarios").joinpath("demo.yaml")))


def load_scenario(path: str | Path) -> dict:
    """Read, validate and expand a scenario file: anything the emulator would refuse is a one-line ScenarioError here,
    before an emulator starts.

    A run checks a ``mock:PATH`` file at start-up and again wherever the name is resolved, then seeds it: each
    version of a file (its size and modification time) is read and checked once per process, and every caller gets
    a copy of its own."""
    path = Path(path)
    try:
        stat = path.stat()
        key: Optional[tuple] = (str(path.resolve()), stat.st_mtime_ns, stat.st_size)
    except OSError:
        key = None  # load_yaml says what is wrong with it
    with _LOCK:
        loaded = _LOADED.get(key) if key is not None else None
    if loaded is None:
        loaded = prepare_scenario(load_yaml(path, error=ScenarioError), str(path))
        check_scenario(loaded, str(path))
        if key is not None:
            with _LOCK:
                _LOADED[key] = loaded
    return copy.deepcopy(loaded)


def prepare_scenario(data: Any, source: str) -> dict:
    """Scenario data (from YAML or a test's dict) validated against the schema, with its user templates expanded; a
    ScenarioError names ``source`` and the place. YAML reads ``Version: 2012-10-17`` as a date; a scenario means the
    text."""
    data = dates_as_text(data)
    validate("scenario", data, source, error=ScenarioError)
    return expand_templates(data, source)


def with_token(scenario: dict, token: str, value: str) -> dict:
    """``scenario`` with every ``token`` in its texts (``@account_id@``, ``@organization_id@``) replaced by ``value``."""
    text = json.dumps(scenario)
    return json.loads(text.replace(token, value)) if token in text else scenario


def expand_templates(data: dict, source: str = "<scenario>") -> dict:
    """``users: [{template: {count: 3, name: "dev-{i:02d}", ...}}]`` -> three users dev-01..dev-03.

    Each user made from a template remembers it (``_from``: ``users[N].template``), so later errors name the entry."""
    users = []
    for index, entry in enumerate(data.get("users", [])):
        template = entry.get("template")
        if template is None:
            users.append({**entry, "_from": f"users[{index}]"})
            continue
        spec = {k: v for k, v in template.items() if k not in ("count", "start")}
        start = template.get("start", 1)
        where = f"users[{index}].template"
        for i in range(start, start + template["count"]):
            try:
                name = spec["name"].format(i=i)
            except (KeyError, IndexError, ValueError, AttributeError, TypeError) as exc:
                raise ScenarioError(
                    f"{source}: {where}.name: not a template for i=N ({type(exc).__name__}: {one_line(str(exc))}): "
                    f"{spec['name']!r}"
                ) from None
            users.append({**spec, "name": name, "_from": where})
    return {**data, "users": users}


# --- what the emulator would refuse, found before it starts --------------------------------------------------------

_IAM_NAME = re.compile(r"[A-Za-z0-9_+=,.@-]{1,64}")
_ROOT_MFA_DEVICE = "root-account-mfa-device"
_EXAMPLE_ORGANIZATION_ID = "o-exampleorgid"


def check_scenario(scenario: dict, source: str) -> None:
    """Raise a one-line ScenarioError for names used twice, references to nothing, and documents or values the
    emulator (or AWS) would refuse."""

    def fail(where: str, problem: str) -> None:
        raise ScenarioError(f"{source}: {where}: {problem}")

    def unique(items: list, kind: str, where: str, key: str = "name") -> Dict[str, int]:
        seen: Dict[str, int] = {}
        for index, item in enumerate(items):
            name = item[key]
            if name in seen:
                fail(f"{where}[{index}].{key}", f"{kind} {name!r} is defined twice (also {where}[{seen[name]}])")
            seen[name] = index
        return seen

    def no_repeats(names: list, where: str) -> None:
        for index, name in enumerate(names):
            if name in names[:index]:
                fail(f"{where}[{index}]", f"{name!r} is listed twice")

    policies = unique(scenario.get("policies", []), "policy", "policies")
    groups = unique(scenario.get("groups", []), "group", "groups")
    unique(scenario.get("roles", []), "role", "roles")
    unique(scenario.get("buckets", []), "bucket", "buckets")
    arns = {_policy_arn(p["name"], DEFAULT_ACCOUNT_ID, p.get("path", "/")) for p in scenario.get("policies", [])}

    def policy_refs(refs: list, where: str) -> None:
        no_repeats(refs, where)
        for index, ref in enumerate(refs):
            policy_ref(ref, f"{where}[{index}]")

    def policy_ref(ref: str, where: str) -> None:
        if ref.startswith("arn:"):
            if ref not in arns and not is_aws_managed_policy(ref):
                fail(where, f"no policy with ARN {ref!r} in this scenario (known: {', '.join(sorted(arns)) or 'none'})")
        elif ref not in policies:
            fail(where, f"no policy named {ref!r} in this scenario (known: {', '.join(sorted(policies)) or 'none'})")

    def inline(documents: dict, where: str) -> None:
        for name, document in (documents or {}).items():
            _check_document(document, f"{where}.{name}", "iam", fail)

    for index, policy in enumerate(scenario.get("policies", [])):
        _check_document(policy["document"], f"policies[{index}].document", "iam", fail)
    for index, group in enumerate(scenario.get("groups", [])):
        policy_refs(group.get("attached_policies", []), f"groups[{index}].attached_policies")
        inline(group.get("inline_policies"), f"groups[{index}].inline_policies")

    root_virtual = scenario.get("root", {}).get("mfa") == "virtual"
    seen_users: Dict[str, str] = {}
    for user in scenario.get("users", []):
        where, name = user["_from"], user["name"]
        if not _IAM_NAME.fullmatch(name):
            fail(f"{where}.name", f"{name!r} is not a user name IAM accepts (1-64 of A-Z a-z 0-9 _+=,.@-)")
        if name in seen_users:
            fail(f"{where}.name", f"user {name!r} is defined twice (also {seen_users[name]})")
        seen_users[name] = where
        if root_virtual and name == _ROOT_MFA_DEVICE and user.get("mfa") == "virtual":
            fail(f"{where}.mfa", f"a virtual MFA device named {name!r} is root's (root.mfa: virtual)")
        no_repeats(user.get("groups", []), f"{where}.groups")
        for i, group in enumerate(user.get("groups", [])):
            if group not in groups:
                fail(f"{where}.groups[{i}]", f"no group named {group!r} in this scenario (known: {', '.join(sorted(groups)) or 'none'})")
        policy_refs(user.get("attached_policies", []), f"{where}.attached_policies")
        inline(user.get("inline_policies"), f"{where}.inline_policies")

    for index, role in enumerate(scenario.get("roles", [])):
        where = f"roles[{index}]"
        _check_document(role["trust"], f"{where}.trust", "trust", fail)
        policy_refs(role.get("attached_policies", []), f"{where}.attached_policies")
        inline(role.get("inline_policies"), f"{where}.inline_policies")
        if role.get("boundary"):
            policy_ref(role["boundary"], f"{where}.boundary")

    for index, bucket in enumerate(scenario.get("buckets", [])):
        name = bucket["name"]
        if ".." in name or ".-" in name or "-." in name or re.fullmatch(r"[0-9]+\.[0-9]+\.[0-9]+\.[0-9]+", name):
            fail(f"buckets[{index}].name", f"{name!r} is not a bucket name S3 accepts")
        if bucket.get("region") and bucket["region"] not in _s3_regions():
            fail(f"buckets[{index}].region", f"unknown region {bucket['region']!r}")
        if "policy" in bucket:
            _check_document(bucket["policy"], f"buckets[{index}].policy", "json", fail)

    _check_s3_and_instances(scenario, fail, unique)

    organization = scenario.get("organization")
    if organization:
        _check_organization(organization, fail, unique, no_repeats)


def _check_s3_and_instances(scenario: dict, fail: Any, unique: Any) -> None:
    """MFA delete needs versioning (S3 keeps MFADelete in the versioning configuration); an instance's profile is
    a role of the scenario; instance names are unique and regions known."""
    for index, bucket in enumerate(scenario.get("buckets", [])):
        if bucket.get("mfa_delete") and not bucket.get("versioning"):
            fail(f"buckets[{index}].mfa_delete", "MFA delete is part of the versioning configuration: set versioning too")
    roles = {role["name"] for role in scenario.get("roles", [])}
    unique(scenario.get("instances", []), "instance", "instances")
    for index, instance in enumerate(scenario.get("instances", [])):
        if instance.get("region") and instance["region"] not in _s3_regions():
            fail(f"instances[{index}].region", f"unknown region {instance['region']!r}")
        if instance.get("profile") and instance["profile"] not in roles:
            fail(f"instances[{index}].profile",
                 f"no role named {instance['profile']!r} in this scenario (known: {', '.join(sorted(roles)) or 'none'})")


def _check_organization(org: dict, fail: Any, unique: Any, no_repeats: Any) -> None:
    targets = {"root", "self"}
    for index, unit in enumerate(org.get("units", [])):
        where = f"organization.units[{index}]"
        parent = unit.get("parent", "root")
        if parent != "root" and parent not in targets - {"self"}:
            fail(f"{where}.parent", f"no unit named {parent!r} defined before this one (parents come first)")
        if unit["name"] in targets:
            fail(f"{where}.name", f"{unit['name']!r} is already the name of a unit, or a reserved target (root, self)")
        targets.add(unit["name"])
    units = set(targets) - {"root", "self"}
    unique(org.get("accounts", []), "account", "organization.accounts")
    unique(org.get("accounts", []), "account email", "organization.accounts", key="email")
    for index, acct in enumerate(org.get("accounts", [])):
        where = f"organization.accounts[{index}]"
        if acct["name"] in targets:
            fail(f"{where}.name", f"{acct['name']!r} is already the name of a unit, or a reserved target (root, self)")
        if acct.get("unit") is not None and acct["unit"] not in units:
            fail(f"{where}.unit", f"no unit named {acct['unit']!r} (known: {', '.join(sorted(units)) or 'none'})")
        targets.add(acct["name"])
    unique(org.get("scps", []), "SCP", "organization.scps")
    for index, scp in enumerate(org.get("scps", [])):
        where = f"organization.scps[{index}]"
        _check_document(scp["document"], f"{where}.document", "json", fail)
        no_repeats(scp.get("targets", []), f"{where}.targets")
        for i, target in enumerate(scp.get("targets", [])):
            if target not in targets:
                fail(f"{where}.targets[{i}]", f"no unit or account named {target!r} (known: {', '.join(sorted(targets))})")


def _check_document(document: Any, where: str, kind: str, fail: Any) -> None:
    """A policy document as the emulator will get it: IAM documents through moto's own validator."""
    problem = _document_problem(_doc(document).replace(ORGANIZATION_ID_TOKEN, _EXAMPLE_ORGANIZATION_ID), kind)
    if problem:
        fail(where, problem)


@functools.lru_cache(maxsize=1024)  # a template's documents repeat for every user it makes
def _document_problem(text: str, kind: str) -> str:
    try:
        parsed = json.loads(text)
    except (ValueError, RecursionError) as exc:
        return f"not a JSON policy document ({one_line(str(exc))})"
    if not isinstance(parsed, dict):
        return f"a policy document is a JSON object, not {type(parsed).__name__}"
    if kind == "json":
        return ""
    from moto.iam.exceptions import MalformedPolicyDocument
    from moto.iam.policy_validation import IAMPolicyDocumentValidator, IAMTrustPolicyDocumentValidator

    validator = IAMTrustPolicyDocumentValidator if kind == "trust" else IAMPolicyDocumentValidator
    try:
        validator(text).validate()
    except MalformedPolicyDocument as exc:
        return f"IAM refuses this policy document: {one_line(exc.message)}"
    except Exception as exc:  # the emulator's own validator failing would fail the seeding the same way
        return f"IAM refuses this policy document ({type(exc).__name__}: {one_line(str(exc))})"
    return ""


@functools.lru_cache(maxsize=1)
def _s3_regions() -> frozenset:
    return frozenset(boto3.session.Session().get_available_regions("s3"))


def server_endpoint() -> str:
    """Start (once per process) a moto server on 127.0.0.1 and return its URL."""
    global _SERVER
    with _LOCK:
        if _SERVER is None:
            import logging

            from moto.server import ThreadedMotoServer

            logging.getLogger("werkzeug").setLevel(logging.ERROR)
            _reset_emulator()

            server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
            server.start()
            MotoGaps.answer_unserved_apis(server)
            _SERVER = server
        return running_endpoint()  # type: ignore[return-value]  (running: started above)


def running_endpoint() -> Optional[str]:
    """The URL of the moto server this process started, or None when none is running (nothing is started)."""
    with _LOCK:
        if _SERVER is None:
            return None
        host, port = _SERVER.get_host_and_port()
        return f"http://{host}:{port}"


def stop_server() -> None:
    global _SERVER
    with _LOCK:
        if _SERVER is not None:
            _SERVER.stop()
            _SERVER = None
            _SEEDED.clear()
            _reset_emulator()


def _reset_emulator() -> None:
    """Forget every emulated resource (the emulator's state is process-wide)."""
    from moto.moto_api._internal import moto_api_backend

    moto_api_backend.reset()


def session_for(spec: Any) -> Tuple[boto3.Session, str]:
    """A boto3 session and endpoint for a mock account, seeding its scenario on first use."""
    endpoint = server_endpoint()
    key = str(Path(spec.scenario).resolve())
    with _LOCK:
        if key not in _SEEDED:
            scenario = load_scenario(spec.scenario)
            if _SEEDED:
                raise ScenarioError(
                    f"{spec.scenario}: only one scenario can be loaded per run (the emulator holds one account)"
                )
            # The run's scenario starts from an empty emulator: whatever earlier seeding in this process left in the
            # default account (scenario tests, another run's account) must never show up as this account's facts.
            # In the default account's block: a scenario account being built in another thread (iam_scenario while
            # the run collects ahead) finishes first, and the seeding signs as the default account, not as that one.
            with emulated_account(DEFAULT_EMULATOR_CREDENTIALS):
                _reset_emulator()
                seed(scenario, endpoint)
            _SEEDED[key] = DEFAULT_ACCOUNT_ID
    session = boto3.Session(**DEFAULT_EMULATOR_CREDENTIALS, region_name="us-east-1")
    return session, endpoint


# --- seeding --------------------------------------------------------------------------------------------------------


def _doc(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _policy_arn(ref: str, account_id: str, path: str = "/") -> str:
    """A policy reference (a name, or an ARN) as an ARN; a named policy's ARN holds its path."""
    return ref if ref.startswith("arn:") else f"arn:aws:iam::{account_id}:policy{path}{ref}"


def _policy_paths(scenario: dict) -> Dict[str, str]:
    return {p["name"]: p.get("path", "/") for p in scenario.get("policies", [])}


def seed(scenario: dict, endpoint: str, now: Optional[dt.datetime] = None, account_id: str = DEFAULT_ACCOUNT_ID,
         public_images: bool = True) -> None:
    """Create the scenario's resources in the emulator behind ``endpoint``; ``public_images=False`` for an account of
    its own, which then holds none of the emulator's public machine images (see ``MotoGaps.without_public_images``)."""
    now = now or dt.datetime.now(dt.timezone.utc)
    gaps = MotoGaps(account_id)
    if not public_images:
        gaps.without_public_images()
    if scenario.get("organization"):
        # the organization id is made by the emulator: documents refer to it as @organization_id@
        org_id = _seed_organization(scenario["organization"], endpoint, account_id)
        scenario = with_token(scenario, ORGANIZATION_ID_TOKEN, org_id)
    iam = emulator_client("iam", endpoint)
    paths = _policy_paths(scenario)
    if scenario.get("alias"):
        iam.create_account_alias(AccountAlias=scenario["alias"])
    if scenario.get("password_policy"):
        iam.update_account_password_policy(**scenario["password_policy"])
    for policy in scenario.get("policies", []):
        iam.create_policy(PolicyName=policy["name"], Path=policy.get("path", "/"), PolicyDocument=_doc(policy["document"]))
    gaps.add_aws_managed_policies(_aws_managed_refs(scenario))
    for group in scenario.get("groups", []):
        iam.create_group(GroupName=group["name"])
        for ref in group.get("attached_policies", []):
            iam.attach_group_policy(GroupName=group["name"], PolicyArn=_policy_arn(ref, account_id, paths.get(ref, "/")))
        for name, document in (group.get("inline_policies") or {}).items():
            iam.put_group_policy(GroupName=group["name"], PolicyName=name, PolicyDocument=_doc(document))
    gaps.add_users(scenario.get("users", []), paths)
    for role in scenario.get("roles", []):
        params = dict(RoleName=role["name"], Path=role.get("path", "/"), AssumeRolePolicyDocument=_doc(role["trust"]))
        if role.get("tags"):
            params["Tags"] = _tag_list(role["tags"])
        if role.get("boundary"):
            params["PermissionsBoundary"] = _policy_arn(role["boundary"], account_id, paths.get(role["boundary"], "/"))
        iam.create_role(**params)
        for ref in role.get("attached_policies", []):
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=_policy_arn(ref, account_id, paths.get(ref, "/")))
        for name, document in (role.get("inline_policies") or {}).items():
            iam.put_role_policy(RoleName=role["name"], PolicyName=name, PolicyDocument=_doc(document))
    root = scenario.get("root", {})
    if root.get("mfa") == "virtual":
        iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    _seed_s3(scenario, endpoint, account_id)
    _seed_account_settings(scenario, endpoint, now, account_id)
    _seed_instances(scenario, endpoint)
    gaps.apply(scenario, now)


def _has_console(user: dict) -> bool:
    """``console: true`` or ``console: {last_used_days: N}`` (an empty mapping: a password never used)."""
    return user.get("console") not in (None, False)


def _seed_s3(scenario: dict, endpoint: str, account_id: str) -> None:
    for bucket in scenario.get("buckets", []):
        region = bucket.get("region", "us-east-1")
        s3 = emulator_client("s3", endpoint, region)
        params: dict = {"Bucket": bucket["name"]}
        if region != "us-east-1":
            params["CreateBucketConfiguration"] = {"LocationConstraint": region}
        s3.create_bucket(**params)
        if bucket.get("public_access_block"):
            s3.put_public_access_block(Bucket=bucket["name"], PublicAccessBlockConfiguration=bucket["public_access_block"])
        if bucket.get("policy"):
            s3.put_bucket_policy(Bucket=bucket["name"], Policy=_doc(bucket["policy"]))
        if bucket.get("acl"):
            _put_canned_acl(s3, bucket["name"], bucket["acl"])
        if bucket.get("versioning"):  # MFADelete: moto ignores it when set (MotoGaps reports it)
            s3.put_bucket_versioning(Bucket=bucket["name"], VersioningConfiguration={"Status": bucket["versioning"]})
    if scenario.get("account_public_access_block"):
        emulator_client("s3control", endpoint).put_public_access_block(
            AccountId=account_id, PublicAccessBlockConfiguration=scenario["account_public_access_block"]
        )


# The grants of each canned ACL besides the owner's FULL_CONTROL (S3 User Guide, "Canned ACL"). Moto's
# public-read-write grants AllUsers READ only; writing the grants out gives the ACL that AWS would hold.
_ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
_AUTHENTICATED_USERS = "http://acs.amazonaws.com/groups/global/AuthenticatedUsers"
_CANNED_ACL_GRANTS = {
    "private": (),
    "public-read": ((_ALL_USERS, "READ"),),
    "public-read-write": ((_ALL_USERS, "READ"), (_ALL_USERS, "WRITE")),
    "authenticated-read": ((_AUTHENTICATED_USERS, "READ"),),
}


def _put_canned_acl(s3: Any, bucket: str, acl: str) -> None:
    owner = s3.get_bucket_acl(Bucket=bucket)["Owner"]
    grants = [{"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}]
    grants += [{"Grantee": {"Type": "Group", "URI": uri}, "Permission": permission}
               for uri, permission in _CANNED_ACL_GRANTS[acl]]
    s3.put_bucket_acl(Bucket=bucket, AccessControlPolicy={"Owner": owner, "Grants": grants})


_EMULATOR_IMAGE = "ami-12c6146b"  # one of the images the emulator holds in every region


def _seed_instances(scenario: dict, endpoint: str) -> None:
    """EC2 instances; ``profile: ROLE`` makes an instance profile named ROLE that holds the role."""
    profiles: set = set()
    for instance in scenario.get("instances", []):
        params: dict = {"ImageId": _EMULATOR_IMAGE, "MinCount": 1, "MaxCount": 1, "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": instance["name"]}]}]}
        role = instance.get("profile")
        if role:
            if role not in profiles:
                iam = emulator_client("iam", endpoint)
                iam.create_instance_profile(InstanceProfileName=role)
                iam.add_role_to_instance_profile(InstanceProfileName=role, RoleName=role)
                profiles.add(role)
            params["IamInstanceProfile"] = {"Name": role}
        ec2 = emulator_client("ec2", endpoint, instance.get("region", "us-east-1"))
        instance_id = ec2.run_instances(**params)["Instances"][0]["InstanceId"]
        state = instance.get("state", "running")
        if state == "stopped":
            ec2.stop_instances(InstanceIds=[instance_id])
        elif state == "terminated":
            ec2.terminate_instances(InstanceIds=[instance_id])


def _seed_organization(spec: dict, endpoint: str, account_id: str) -> str:
    org = emulator_client("organizations", endpoint)
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    targets = {"root": root_id, "self": account_id}
    for unit in spec.get("units", []):
        parent = targets[unit.get("parent", "root")]
        targets[unit["name"]] = org.create_organizational_unit(ParentId=parent, Name=unit["name"])["OrganizationalUnit"]["Id"]
    for acct in spec.get("accounts", []):
        status = org.create_account(Email=acct["email"], AccountName=acct["name"])["CreateAccountStatus"]
        new_id = status["AccountId"]
        targets[acct["name"]] = new_id
        if acct.get("unit"):
            org.move_account(AccountId=new_id, SourceParentId=root_id, DestinationParentId=targets[acct["unit"]])
    for scp in spec.get("scps", []):
        policy_id = org.create_policy(
            Content=_doc(scp["document"]), Description=scp.get("description", scp["name"]), Name=scp["name"],
            Type="SERVICE_CONTROL_POLICY",
        )["Policy"]["PolicySummary"]["Id"]
        for target in scp.get("targets", []):
            org.attach_policy(PolicyId=policy_id, TargetId=targets[target])
    return org_id


class UnservedApis:
    """A WSGI wrapper of the emulator: a request signed for a service in ``SERVICES`` is answered
    ``400 UnknownOperationException``; everything else goes to the emulator."""

    SERVICES = frozenset({"access-analyzer"})  # the signing name of IAM Access Analyzer
    _SCOPE = re.compile(r"Credential=[^/,]+/[^/,]+/[^/,]+/([^/,]+)/")

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        scope = self._SCOPE.search(environ.get("HTTP_AUTHORIZATION", ""))
        if scope is None or scope.group(1) not in self.SERVICES:
            return self.app(environ, start_response)
        body = json.dumps({"__type": "UnknownOperationException",
                           "message": f"the emulator does not implement {scope.group(1)}"}).encode()
        start_response("400 Bad Request", [("Content-Type", "application/x-amz-json-1.1"),
                                           ("x-amzn-ErrorType", "UnknownOperationException"),
                                           ("Content-Length", str(len(body)))])
        return [body]


# --- the adapter for what moto lacks ---------------------------------------------------------------------------------


_PATCH_MARK = "_pytest_iam_moto_gap"


def _is_patched(method: Any) -> bool:
    """Whether the emulator's response method is already the adapter's. Asked of the class itself, not remembered in
    a flag: a process that imports the emulator's modules afresh (pytest's in-process runs restore ``sys.modules``)
    gets new, unpatched classes."""
    return getattr(method, _PATCH_MARK, False)


def _patch_once(owner: Any, name: str, wrap: Callable[[Any], Any]) -> None:
    """Replace the emulator's ``owner.name`` by ``wrap(original)``, unless the adapter's version is there already."""
    original = getattr(owner, name)
    if _is_patched(original):
        return
    replacement = wrap(original)
    setattr(replacement, _PATCH_MARK, True)
    setattr(owner, name, replacement)


class MotoGaps:
    """Fills moto's gaps for one emulated account, from the scenario's own facts.

    * the credential report gets a ``<root_account>`` row (moto has none) and a real generation time;
    * the account summary reports root's MFA and access keys (moto hard-codes both to 0);
    * keys, passwords and users are back-dated (moto stamps everything "now");
    * root's virtual MFA device is assigned to root (moto can only assign to users);
    * ``GetBucketVersioning`` reports ``MFADelete: Enabled`` for the scenario's ``mfa_delete`` buckets (moto ignores
      MFADelete when it is set, and AWS needs the root user's MFA code to set it);
    * the AWS-managed policies a scenario attaches exist (moto loads all of them, or none; AWS returns the attached
      ones in the authorization details): only those are added, from moto's own copy of their documents;
    * roles are back-dated and their last use set (moto stamps them "now", never used);
    * server certificates report the expiry and upload time in their body (moto answers 2012 for every one).
    """

    _generated: Dict[str, dt.datetime] = {}
    _roots: Dict[str, dict] = {}
    _certificates: Dict[Tuple[str, str], Tuple[dt.datetime, dt.datetime]] = {}  # (account, name) -> (uploaded, expiry)
    _mfa_delete: Dict[str, set] = {}  # account id -> names of its buckets with MFA delete

    def __init__(self, account_id: str) -> None:
        from moto.iam.models import iam_backends

        self.account_id = account_id
        self.backend = iam_backends[account_id]["global"]

    def apply(self, scenario: dict, now: dt.datetime) -> None:
        def ago(days: Optional[float]) -> Optional[dt.datetime]:
            return None if days is None else (now - dt.timedelta(days=days)).replace(tzinfo=None)

        for user in scenario.get("users", []):
            moto_user = self.backend.users[user["name"]]
            created = ago(user.get("created_days", 0))
            moto_user.create_date = created
            if _has_console(user):
                console = user["console"] if isinstance(user["console"], dict) else {}
                moto_user.password_last_used = ago(console.get("last_used_days"))
            for key, spec in zip(moto_user.access_keys, user.get("access_keys", [])):
                key.create_date = ago(spec.get("age_days", 0))
                key.last_used = ago(spec.get("last_used_days"))
                key.status = "Active" if spec.get("active", True) else "Inactive"
        root = scenario.get("root", {})
        MotoGaps._roots[self.account_id] = {"root": root, "now": now}
        summary = self.backend.account_summary
        summary._account_mfa_enabled = 1 if root.get("mfa", "none") != "none" else 0
        summary._account_access_keys_present = 1 if any(k.get("active", True) for k in root.get("access_keys", [])) else 0
        if root.get("mfa") == "virtual":
            device = self.backend.virtual_mfa_devices[f"arn:aws:iam::{self.account_id}:mfa/root-account-mfa-device"]
            device.enable_date = ago(root.get("mfa_days", 365))
            root_arn = f"arn:aws:iam::{self.account_id}:root"
            device.user_attribute = {"Path": "/", "UserName": "root", "UserId": self.account_id, "Arn": root_arn,
                                     "CreateDate": ago(3650)}
        self.backend.get_credential_report = self._report_with_root(self.backend.get_credential_report, now)
        self._install_generated_time()
        self._apply_roles_and_certificates(scenario, now)
        MotoGaps._mfa_delete[self.account_id] = {b["name"] for b in scenario.get("buckets", []) if b.get("mfa_delete")}
        self._install_mfa_delete()

    @classmethod
    def _install_mfa_delete(cls) -> None:
        from moto.s3.responses import S3Response

        def wrap(original: Any) -> Any:
            def get_bucket_versioning(self: Any) -> Any:
                buckets = cls._mfa_delete.get(self.current_account, set())
                if self.bucket_name not in buckets:
                    return original(self)
                from moto.core.responses import ActionResult

                status = self.backend.get_bucket_versioning(self.bucket_name)
                self.data["Action"] = "GetBucketVersioning"
                return self.serialized(ActionResult({"Status": status, "MFADelete": "Enabled"}))

            return get_bucket_versioning

        _patch_once(S3Response, "get_bucket_versioning", wrap)

    @staticmethod
    def answer_unserved_apis(server: Any) -> None:
        """Requests for an API moto does not implement (IAM Access Analyzer) get AWS's answer for an operation the
        endpoint does not know, ``400 UnknownOperationException``, at once: moto fails them with a 500 (which the
        clients retry) and a traceback. The check that needs the API then reports an error naming the permission."""
        server._server.app = UnservedApis(server._server.app)

    def add_aws_managed_policies(self, arns: Any) -> None:
        """Make the AWS-managed policies ``arns`` exist in the emulated account, so they can be attached."""
        from moto.iam.models import AWSManagedPolicy

        data = _aws_managed_data() if arns else {}
        for arn in arns:
            if arn in self.backend.managed_policies:
                continue
            policy = AWSManagedPolicy.from_data(data[arn]["name"], self.account_id, "us-east-1", data[arn])
            self.backend.aws_managed_policies.append(policy)
            self.backend.managed_policies[policy.arn] = policy

    _imageless: set = set()  # accounts whose EC2 regions start without the emulator's public images

    def without_public_images(self) -> None:
        """Let this account's EC2 regions start with no public images. Moto loads about 1,300 (each with a volume and
        a snapshot) into every account and region on its first EC2 request: 50 ms and 12,000 objects a scenario
        account, which nothing pytest-iam reads looks at (instances start from any image id: moto checks images only
        when asked to, with MOTO_ENABLE_AMI_VALIDATION)."""
        MotoGaps._imageless.add(self.account_id)
        self._install_imageless()

    @classmethod
    def _install_imageless(cls) -> None:
        from moto.ec2.models.amis import AmiBackend

        def wrap(original: Any) -> Any:
            def _load_amis(self: Any) -> None:
                if getattr(self, "account_id", None) not in cls._imageless:
                    original(self)

            return _load_amis

        _patch_once(AmiBackend, "_load_amis", wrap)

    def add_users(self, users: list, paths: Dict[str, str]) -> None:
        """Create the scenario's users with their passwords, groups, policies, access keys and MFA devices.

        Written through the emulator's IAM backend, with the very methods its API handlers call (so names, policy
        documents and quotas are validated as over HTTP): the five or more requests a user needs cost about 25 ms
        over HTTP, which made a scenario of a few dozen users take most of a second to build.
        """
        iam = self.backend
        for user in users:
            name = user["name"]
            iam.create_user("us-east-1", name, path=user.get("path", "/"), tags=_tag_list(user.get("tags") or {}))
            if _has_console(user):
                iam.create_login_profile(name, "Not-a-real-password-1!")
            for group in user.get("groups", []):
                iam.add_user_to_group(group, name)
            for ref in user.get("attached_policies", []):
                iam.attach_user_policy(_policy_arn(ref, self.account_id, paths.get(ref, "/")), name)
            for policy_name, document in (user.get("inline_policies") or {}).items():
                iam.put_user_policy(name, policy_name, _doc(document))
            for _ in user.get("access_keys", []):
                iam.create_access_key(name)
            mfa = user.get("mfa", "none")
            if mfa == "virtual":
                serial = iam.create_virtual_mfa_device(name, "/").serial_number
                iam.enable_mfa_device(name, serial, "123456", "654321")
            elif mfa == "hardware":
                iam.enable_mfa_device(name, f"GAHT{zlib.crc32(name.encode()) % 10**8:08d}", "123456", "654321")

    def _apply_roles_and_certificates(self, scenario: dict, now: dt.datetime) -> None:
        by_name = {r.name: r for r in self.backend.roles.values()}
        for role in scenario.get("roles", []):
            moto_role = by_name[role["name"]]
            if role.get("created_days") is not None:
                moto_role.create_date = (now - dt.timedelta(days=role["created_days"])).replace(tzinfo=None)
            if role.get("last_used_days") is not None:
                moto_role.last_used = (now - dt.timedelta(days=role["last_used_days"])).replace(tzinfo=None)
                moto_role.last_used_region = "us-east-1"
        self._install_certificate_dates()

    @classmethod
    def _install_certificate_dates(cls) -> None:
        from moto.iam.responses import IamResponse

        def wrap(original: Any) -> Any:
            def list_server_certificates(self: Any) -> Any:
                result = original(self)
                for item in getattr(result, "result", {}).get("ServerCertificateMetadataList", []):
                    dates = cls._certificates.get((self.current_account, item.get("ServerCertificateName")))
                    if dates is not None:
                        item["UploadDate"], item["Expiration"] = (d.strftime("%Y-%m-%dT%H:%M:%SZ") for d in dates)
                return result

            return list_server_certificates

        _patch_once(IamResponse, "list_server_certificates", wrap)

    def _report_with_root(self, original: Any, now: dt.datetime) -> Any:
        account_id = self.account_id

        def get_credential_report() -> str:
            text = original()
            header, _, rest = text.partition("\n")
            return header + "\n" + root_row(account_id, MotoGaps._roots[account_id]["root"], now) + rest

        MotoGaps._generated[account_id] = now
        return get_credential_report

    @classmethod
    def _install_generated_time(cls) -> None:
        from moto.iam.responses import IamResponse

        def wrap(original: Any) -> Any:
            def get_credential_report(self: Any) -> Any:
                result = original(self)
                generated = cls._generated.get(self.current_account)
                if generated is not None and hasattr(result, "result"):
                    result.result["GeneratedTime"] = generated.strftime("%Y-%m-%dT%H:%M:%SZ")
                return result

            return get_credential_report

        _patch_once(IamResponse, "get_credential_report", wrap)


def root_row(account_id: str, root: dict, now: dt.datetime) -> str:
    """The ``<root_account>`` row of a credential report, as AWS writes it."""

    def stamp(days: Optional[float]) -> str:
        return "N/A" if days is None else (now - dt.timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S+00:00")

    keys = root.get("access_keys", [])[:2]
    cells = [
        "<root_account>",
        f"arn:aws:iam::{account_id}:root",
        stamp(3650),
        "not_supported",
        stamp(root.get("password_last_used_days")) if root.get("password_last_used_days") is not None else "no_information",
        "not_supported",
        "not_supported",
        "true" if root.get("mfa", "none") != "none" else "false",
    ]
    for slot in range(2):
        if slot < len(keys):
            key = keys[slot]
            cells += [
                "true" if key.get("active", True) else "false",
                stamp(key.get("age_days", 0)),
                stamp(key.get("last_used_days")),
                "us-east-1" if key.get("last_used_days") is not None else "N/A",
                "iam" if key.get("last_used_days") is not None else "N/A",
            ]
        else:
            cells += ["false", "N/A", "N/A", "N/A", "N/A"]
    cells += ["false", "N/A", "false", "N/A"]
    return ",".join(cells) + "\n"


# --- AWS-managed policies, tags, roles' dates, server certificates, the security contact ------------------------------


def _tag_list(tags: dict) -> list:
    return [{"Key": str(k), "Value": str(v)} for k, v in tags.items()]


def _aws_managed_refs(scenario: dict) -> list:
    """Every AWS-managed policy ARN the scenario attaches or uses as a boundary, in order of first use."""
    refs: list = []
    entities = scenario.get("groups", []) + scenario.get("users", []) + scenario.get("roles", [])
    for entity in entities:
        for ref in entity.get("attached_policies", []) + ([entity["boundary"]] if entity.get("boundary") else []):
            if ref.startswith("arn:aws:iam::aws:policy/") and ref not in refs:
                refs.append(ref)
    return refs


@functools.lru_cache(maxsize=1)
def _aws_managed_data() -> Dict[str, dict]:
    """The AWS-managed policies the emulator ships (name -> data), keyed by ARN."""
    from moto.iam.aws_managed_policies import aws_managed_policies_data

    return {f"arn:aws:iam::aws:policy{d.get('Path', '/')}{name}": {**d, "name": name}
            for name, d in json.loads(aws_managed_policies_data).items()}


def is_aws_managed_policy(ref: str) -> bool:
    """Whether ``ref`` is the ARN of an AWS-managed policy the emulator knows (its data, which is large, is loaded
    only for an ARN of that shape)."""
    return ref.startswith("arn:aws:iam::aws:policy/") and ref in _aws_managed_data()


def _self_signed(name: str, not_before: dt.datetime, not_after: dt.datetime) -> Tuple[str, str]:
    """A self-signed certificate and its key, PEM: IAM reads a server certificate's expiry from its body."""
    key = ec.generate_private_key(ec.SECP256R1())
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"{name}.example")])
    cert = (x509.CertificateBuilder().subject_name(subject).issuer_name(subject).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(not_before).not_valid_after(not_after)
            .sign(key, hashes.SHA256()))
    body = cert.public_bytes(serialization.Encoding.PEM).decode()
    private = key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()).decode()
    return body, private


def _seed_account_settings(scenario: dict, endpoint: str, now: dt.datetime, account_id: str) -> None:
    """The security contact (the emulator serves the Account API) and the server certificates."""
    contact = scenario.get("security_contact")
    if contact:
        emulator_client("account", endpoint).put_alternate_contact(
            AlternateContactType="SECURITY", Name=contact["name"], Title=contact.get("title", "Security"),
            EmailAddress=contact["email"], PhoneNumber=contact.get("phone", "+1-555-0100"))
    iam = emulator_client("iam", endpoint)
    for cert in scenario.get("server_certificates", []):
        uploaded = now - dt.timedelta(days=cert.get("uploaded_days", 365))
        body, key = _self_signed(cert["name"], uploaded - dt.timedelta(days=1),
                                 now + dt.timedelta(days=cert["expires_in_days"]))
        iam.upload_server_certificate(ServerCertificateName=cert["name"], CertificateBody=body, PrivateKey=key)
        MotoGaps._certificates[(account_id, cert["name"])] = (uploaded, now + dt.timedelta(days=cert["expires_in_days"]))

