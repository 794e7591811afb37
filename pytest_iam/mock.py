"""Moto-backed accounts built from scenario files: the embedded ``demo`` account and users' own ``mock:PATH`` ones.

Usage::

    session, endpoint = session_for(AccountSpec(name="demo", scenario=str(demo_scenario_path())))
    # a real boto3 session, talking over HTTP to a moto server on 127.0.0.1 that holds the scenario

The scenario is seeded through ordinary API calls (writable clients exist only for a loopback emulator, see
``pytest_iam.aws.emulator_client``). What moto cannot express is filled by ``MotoGaps``, the one small adapter that
knows moto's internals: a ``<root_account>`` row in the credential report and a real generation time, the account
summary's root facts, back-dated keys, passwords and last-use times, and root's virtual MFA device. The collectors
never know any of this; they read the emulator exactly as they read AWS.
"""

from __future__ import annotations

import datetime as dt
import json
import threading
import zlib
from importlib import resources
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import boto3

from .aws import emulator_client
from .schemas import validate

DEFAULT_ACCOUNT_ID = "123456789012"  # the emulator's default account
ORGANIZATION_ID_TOKEN = "@organization_id@"
_LOCK = threading.RLock()
_SERVER: Optional[Any] = None
_SEEDED: Dict[str, str] = {}  # scenario path -> account id


class ScenarioError(Exception):
    """A scenario file that cannot be used; the message names the file and the place."""


def demo_scenario_path() -> Path:
    return Path(str(resources.files("pytest_iam.scenarios").joinpath("demo.yaml")))


def load_scenario(path: str | Path) -> dict:
    from .accounts import AccountsError, load_yaml

    try:
        data = load_yaml(Path(path))
    except AccountsError as exc:
        raise ScenarioError(str(exc)) from None
    validate("scenario", data, str(path), error=ScenarioError)
    return expand_templates(data)


def expand_templates(data: dict) -> dict:
    """``users: [{template: {count: 3, name: "dev-{i:02d}", ...}}]`` -> three users dev-01..dev-03."""
    users = []
    for entry in data.get("users", []):
        template = entry.get("template")
        if template is None:
            users.append(entry)
            continue
        spec = {k: v for k, v in template.items() if k not in ("count", "start")}
        start = template.get("start", 1)
        for i in range(start, start + template["count"]):
            users.append({**spec, "name": spec["name"].format(i=i)})
    return {**data, "users": users}


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
            _SERVER = server
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
            seed(scenario, endpoint)
            _SEEDED[key] = DEFAULT_ACCOUNT_ID
    session = boto3.Session(aws_access_key_id="mock", aws_secret_access_key="mock", region_name="us-east-1")
    return session, endpoint


# --- seeding --------------------------------------------------------------------------------------------------------


def _doc(document: Any) -> str:
    return document if isinstance(document, str) else json.dumps(document)


def _policy_arn(ref: str, account_id: str) -> str:
    return ref if ref.startswith("arn:") else f"arn:aws:iam::{account_id}:policy/{ref}"


def seed(scenario: dict, endpoint: str, now: Optional[dt.datetime] = None) -> None:
    """Create the scenario's resources in the emulator behind ``endpoint``."""
    now = now or dt.datetime.now(dt.timezone.utc)
    account_id = DEFAULT_ACCOUNT_ID
    if scenario.get("organization"):
        # the organization id is made by the emulator: documents refer to it as @organization_id@
        org_id = _seed_organization(scenario["organization"], endpoint, account_id)
        scenario = json.loads(json.dumps(scenario).replace(ORGANIZATION_ID_TOKEN, org_id))
    iam = emulator_client("iam", endpoint)
    if scenario.get("alias"):
        iam.create_account_alias(AccountAlias=scenario["alias"])
    if scenario.get("password_policy"):
        iam.update_account_password_policy(**scenario["password_policy"])
    for policy in scenario.get("policies", []):
        iam.create_policy(PolicyName=policy["name"], Path=policy.get("path", "/"), PolicyDocument=_doc(policy["document"]))
    for group in scenario.get("groups", []):
        iam.create_group(GroupName=group["name"])
        for ref in group.get("attached_policies", []):
            iam.attach_group_policy(GroupName=group["name"], PolicyArn=_policy_arn(ref, account_id))
        for name, document in (group.get("inline_policies") or {}).items():
            iam.put_group_policy(GroupName=group["name"], PolicyName=name, PolicyDocument=_doc(document))
    for user in scenario.get("users", []):
        _seed_user(iam, user, account_id)
    for role in scenario.get("roles", []):
        params = dict(RoleName=role["name"], Path=role.get("path", "/"), AssumeRolePolicyDocument=_doc(role["trust"]))
        if role.get("boundary"):
            params["PermissionsBoundary"] = _policy_arn(role["boundary"], account_id)
        iam.create_role(**params)
        for ref in role.get("attached_policies", []):
            iam.attach_role_policy(RoleName=role["name"], PolicyArn=_policy_arn(ref, account_id))
        for name, document in (role.get("inline_policies") or {}).items():
            iam.put_role_policy(RoleName=role["name"], PolicyName=name, PolicyDocument=_doc(document))
    root = scenario.get("root", {})
    if root.get("mfa") == "virtual":
        iam.create_virtual_mfa_device(VirtualMFADeviceName="root-account-mfa-device")
    _seed_s3(scenario, endpoint, account_id)
    MotoGaps(account_id).apply(scenario, now)


def _has_console(user: dict) -> bool:
    """``console: true`` or ``console: {last_used_days: N}`` (an empty mapping: a password never used)."""
    return user.get("console") not in (None, False)


def _seed_user(iam: Any, user: dict, account_id: str) -> None:
    name = user["name"]
    iam.create_user(UserName=name, Path=user.get("path", "/"))
    if _has_console(user):
        iam.create_login_profile(UserName=name, Password="Not-a-real-password-1!")
    for group in user.get("groups", []):
        iam.add_user_to_group(GroupName=group, UserName=name)
    for ref in user.get("attached_policies", []):
        iam.attach_user_policy(UserName=name, PolicyArn=_policy_arn(ref, account_id))
    for policy_name, document in (user.get("inline_policies") or {}).items():
        iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=_doc(document))
    for _ in user.get("access_keys", []):
        iam.create_access_key(UserName=name)
    mfa = user.get("mfa", "none")
    if mfa == "virtual":
        serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
        iam.enable_mfa_device(UserName=name, SerialNumber=serial, AuthenticationCode1="123456", AuthenticationCode2="654321")
    elif mfa == "hardware":
        iam.enable_mfa_device(
            UserName=name, SerialNumber=f"GAHT{zlib.crc32(name.encode()) % 10**8:08d}", AuthenticationCode1="123456",
            AuthenticationCode2="654321",
        )


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
            s3.put_bucket_acl(Bucket=bucket["name"], ACL=bucket["acl"])
    if scenario.get("account_public_access_block"):
        emulator_client("s3control", endpoint).put_public_access_block(
            AccountId=account_id, PublicAccessBlockConfiguration=scenario["account_public_access_block"]
        )


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


# --- the adapter for what moto lacks ---------------------------------------------------------------------------------


class MotoGaps:
    """Fills moto's gaps for one emulated account, from the scenario's own facts.

    * the credential report gets a ``<root_account>`` row (moto has none) and a real generation time;
    * the account summary reports root's MFA and access keys (moto hard-codes both to 0);
    * keys, passwords and users are back-dated (moto stamps everything "now");
    * root's virtual MFA device is assigned to root (moto can only assign to users).
    """

    _installed = False
    _generated: Dict[str, dt.datetime] = {}
    _roots: Dict[str, dict] = {}

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
        if cls._installed:
            return
        from moto.iam.responses import IamResponse

        original = IamResponse.get_credential_report

        def get_credential_report(self: Any) -> Any:
            result = original(self)
            generated = cls._generated.get(self.current_account)
            if generated is not None and hasattr(result, "result"):
                result.result["GeneratedTime"] = generated.strftime("%Y-%m-%dT%H:%M:%SZ")
            return result

        IamResponse.get_credential_report = get_credential_report
        cls._installed = True


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
