"""Seed a moto server with an IAM world whose verdicts are known in advance, using plain boto3 calls only.

This deliberately shares no code with ``pytest_iam.mock``: it is the independent side of the live tests, so a bug in
the plugin's own seeding cannot hide a bug in its collectors or checks.

Usage::

    world = seed("http://127.0.0.1:5000")
    world.expected["iam-user-console-mfa"]   # frozenset of the ARNs that must fail that check
    world.evaluated["iam-user-console-mfa"]  # how many resources the check must judge
    world.vacuous                            # checks the emulator lets go only one way, and why

Moto stamps every key and password "now" and cannot back-date them, has no ``<root_account>`` row in its credential
report, and hard-codes the account summary's root facts (``AccountMFAEnabled=0``, ``AccountAccessKeysPresent=0``).
The checks those gaps make one-sided are listed in ``VACUOUS``; each still judges at least one resource.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Dict, FrozenSet, Mapping
from urllib.parse import urlsplit, urlunsplit

import boto3
from botocore.config import Config

REGION = "us-east-1"
FOREIGN_ACCOUNT = "999988887777"  # outside the account and its organization
VENDOR_ACCOUNT = "444455556666"  # outside too, but made to present sts:ExternalId
FOREIGN_ORG = "o-zz9999zz99"

_FULL_ACCESS = "p-FullAWSAccess"  # the AWS-managed SCP every root, OU and account starts with
GUARDRAIL_ACTIONS = ["organizations:LeaveOrganization", "cloudtrail:StopLogging", "cloudtrail:DeleteTrail"]

VACUOUS: Mapping[str, str] = {
    "iam-access-key-rotation": "every key is minutes old (no back-dating): each active key is judged and passes",
    "iam-unused-credentials": "every password and key is minutes old (no back-dating): each user is judged and passes",
    "iam-root-no-access-keys": "root facts come from the account summary, AccountAccessKeysPresent=0: root passes",
    "iam-root-mfa": "root facts come from the account summary, AccountMFAEnabled=0: root fails",
    "iam-root-hardware-mfa": "root facts come from the account summary, AccountMFAEnabled=0: root fails",
    "s3-mfa-delete": "moto ignores MFADelete when versioning is set: the versioned bucket is judged and fails",
    "iam-expired-server-certificates": "moto reports every server certificate as expired in 2012: the one seeded is "
                                       "expired in its body too, and fails",
}

# Checks the emulator cannot let be judged, with the text their error must carry: moto serves no Access Analyzer,
# and has no <root_account> row in its credential report (root's password use is unknown).
EXPECTED_ERRORS: Mapping[str, str] = {
    "iam-access-analyzer-enabled": "access-analyzer:ListAnalyzers",
    "iam-root-not-used": "password_last_used could not be read",
}
UNSERVED_OPERATIONS = ("accessanalyzer:ListAnalyzers",)  # collection errors the run must record, and no other


@dataclass(frozen=True)
class SeededWorld:
    """What was seeded, and the verdicts every library check must give on it."""

    endpoint_url: str
    account_id: str
    organization_id: str
    expected: Mapping[str, FrozenSet[str]]
    evaluated: Mapping[str, int]
    vacuous: Mapping[str, str] = field(default_factory=lambda: dict(VACUOUS))
    errors: Mapping[str, str] = field(default_factory=lambda: dict(EXPECTED_ERRORS))

    def outcome(self, check_id: str) -> str:
        """``error`` for a check the emulator cannot let be judged, ``passed`` when no resource must fail the check,
        else ``failed``."""
        if check_id in self.errors:
            return "error"
        return "failed" if self.expected[check_id] else "passed"


def clients(endpoint_url: str) -> Dict[str, Any]:
    """Writable boto3 clients for the emulator at ``endpoint_url`` (dummy credentials, no retries)."""
    session = boto3.Session(aws_access_key_id="testing", aws_secret_access_key="testing", region_name=REGION)
    config = Config(retries={"max_attempts": 1}, connect_timeout=5, read_timeout=30)
    made = {
        name: session.client(name, endpoint_url=endpoint_url, region_name=REGION, config=config)
        for name in ("iam", "s3", "s3control", "organizations", "sts", "ec2")
    }
    made["s3control"].meta.events.register("before-sign.s3-control", _drop_account_label)
    return made


def _drop_account_label(request: Any, **_: Any) -> None:
    """s3control sends to ``<account-id>.<endpoint host>``; an emulator on 127.0.0.1 answers only the bare host."""
    parts = urlsplit(request.url)
    label, _, rest = (parts.hostname or "").partition(".")
    if label.isdigit() and rest:
        request.url = urlunsplit((parts.scheme, f"{rest}:{parts.port}" if parts.port else rest, parts.path,
                                  parts.query, parts.fragment))


def _doc(statements: list) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": statements})


def _trust(principal: Any, condition: Any = None) -> str:
    statement: dict = {"Effect": "Allow", "Principal": principal, "Action": "sts:AssumeRole"}
    if condition:
        statement["Condition"] = condition
    return _doc([statement])


def seed(endpoint_url: str) -> SeededWorld:
    """Create the world in the emulator behind ``endpoint_url`` and return the verdicts it must produce."""
    c = clients(endpoint_url)
    account_id = c["sts"].get_caller_identity()["Account"]
    arn = lambda kind, name: f"arn:aws:iam::{account_id}:{kind}/{name}"  # noqa: E731
    root_arn = f"arn:aws:iam::{account_id}:root"

    org_id, org_failing, org_members = _seed_organization(c["organizations"], account_id)
    users = _seed_iam(c["iam"], account_id, org_id)
    roles = _seed_roles(c["iam"], account_id, org_id)
    buckets = _seed_s3(c["s3"], c["s3control"], account_id)
    instances = _seed_instances(c["iam"], c["ec2"], account_id)
    certificates = _seed_certificates(c["iam"])

    expected = {
        "iam-root-mfa": {root_arn},
        "iam-root-hardware-mfa": {root_arn},
        "iam-root-no-access-keys": set(),
        "iam-password-policy": {root_arn},
        "iam-user-console-mfa": {arn("user", n) for n in users["console_no_mfa"]},
        "iam-unused-credentials": set(),
        "iam-user-single-active-key": {arn("user", n) for n in users["two_active_keys"]},
        "iam-access-key-rotation": set(),
        "iam-user-no-direct-policies": {arn("user", n) for n in users["direct_policies"]},
        "iam-no-admin-policies": {arn("policy", "StarOnStar"), arn("group", "Operators")},
        "iam-role-external-trust": {arn("role", n) for n in roles["external"]},
        "s3-account-public-access-block": {root_arn},
        "s3-no-public-bucket-policy": {f"arn:aws:s3:::{b}" for b in buckets["public"]},
        "org-scps-present": {root_arn},  # the management account: SCPs do not restrict it
        "org-scp-guardrails": org_failing,
        # the S3 and EC2 side of CIS v5.0.0, and public ACLs and writes
        "s3-deny-insecure-transport": {f"arn:aws:s3:::{b}" for b in buckets["all"] if b not in buckets["tls_only"]},
        "s3-mfa-delete": {f"arn:aws:s3:::{b}" for b in buckets["versioned"]},
        "s3-bucket-public-access-block": {f"arn:aws:s3:::{b}" for b in buckets["all"] if b not in buckets["all_blocked"]},
        "s3-no-public-acl": {f"arn:aws:s3:::{b}" for b in buckets["public_acl"]},
        "s3-no-public-write": {f"arn:aws:s3:::{b}" for b in buckets["public_write"]},
        "ec2-instance-profile": set(instances["without_profile"]),
        # the rest of CIS v5.0.0 section 1, and the engine-decided IAM checks
        "iam-security-contact": {root_arn},  # no SECURITY contact registered
        "iam-root-not-used": set(),  # an error: see EXPECTED_ERRORS
        "iam-no-key-at-console-setup": {arn("user", n) for n in users["console_with_keys"]},  # made "now", unused
        "iam-support-role": {root_arn},  # no role has AWSSupportAccess
        "iam-expired-server-certificates": {arn("server-certificate", n) for n in certificates},
        "iam-access-analyzer-enabled": set(),  # an error: see EXPECTED_ERRORS
        "iam-no-cloudshell-full-access": set(),
        "iam-no-wildcard-assume-role": {arn("role", n) for n in roles["wildcard"]},
        "iam-privilege-escalation": {arn("user", n) for n in users["escalating"]},
        "iam-unused-roles": set(),  # every role was made minutes ago
    }
    evaluated = {
        "iam-root-mfa": 1,
        "iam-root-hardware-mfa": 1,
        "iam-root-no-access-keys": 1,
        "iam-password-policy": 1,
        "iam-user-console-mfa": len(users["console"]),
        "iam-unused-credentials": len(users["all"]),
        "iam-user-single-active-key": len(users["all"]),
        "iam-access-key-rotation": users["active_keys"],
        "iam-user-no-direct-policies": len(users["all"]),
        "iam-no-admin-policies": users["policies_judged"],
        "iam-role-external-trust": len(roles["all"]),
        "s3-account-public-access-block": 1,
        "s3-no-public-bucket-policy": len(buckets["all"]),
        "org-scps-present": 1,
        "org-scp-guardrails": org_members,
        "s3-deny-insecure-transport": len(buckets["all"]),
        "s3-mfa-delete": len(buckets["versioned"]),
        "s3-bucket-public-access-block": len(buckets["all"]),
        "s3-no-public-acl": len(buckets["all"]),
        "s3-no-public-write": len(buckets["all"]),
        "ec2-instance-profile": instances["judged"],
        "iam-security-contact": 1,
        "iam-root-not-used": 1,
        "iam-no-key-at-console-setup": len(users["console"]),
        "iam-support-role": 1,
        "iam-expired-server-certificates": len(certificates),
        "iam-access-analyzer-enabled": 1,
        "iam-no-cloudshell-full-access": 1,
        "iam-no-wildcard-assume-role": len(roles["all"]),
        "iam-privilege-escalation": len(users["all"]) + len(roles["all"]),
        "iam-unused-roles": len(roles["all"]),
    }
    return SeededWorld(
        endpoint_url=endpoint_url,
        account_id=account_id,
        organization_id=org_id,
        expected={k: frozenset(v) for k, v in expected.items()},
        evaluated=evaluated,
    )


# --- IAM users, groups, policies ------------------------------------------------------------------------------------


def _seed_iam(iam: Any, account_id: str, org_id: str) -> dict:
    policy_arn = lambda name: f"arn:aws:iam::{account_id}:policy/{name}"  # noqa: E731
    iam.update_account_password_policy(MinimumPasswordLength=8, PasswordReusePrevention=3)  # weak on both counts
    iam.create_policy(PolicyName="StarOnStar", PolicyDocument=_doc(
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}]))
    iam.create_policy(PolicyName="ReadBuckets", PolicyDocument=_doc(
        [{"Effect": "Allow", "Action": ["s3:Get*", "s3:List*"], "Resource": "*"}]))
    # "*" on one bucket only, and every action of one service: neither is "*" on "*".
    iam.create_policy(PolicyName="NarrowStar", PolicyDocument=_doc(
        [{"Effect": "Allow", "Action": "*", "Resource": "arn:aws:s3:::only-this-bucket"},
         {"Effect": "Allow", "Action": "logs:*", "Resource": "*"}]))

    iam.create_group(GroupName="Admins")
    iam.attach_group_policy(GroupName="Admins", PolicyArn=policy_arn("StarOnStar"))
    iam.create_group(GroupName="Readers")
    iam.attach_group_policy(GroupName="Readers", PolicyArn=policy_arn("ReadBuckets"))
    iam.put_group_policy(GroupName="Readers", PolicyName="list-only", PolicyDocument=_doc(
        [{"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]))
    iam.create_group(GroupName="Operators")  # an inline "*" on "*": fails iam-no-admin-policies with the group's ARN
    iam.put_group_policy(GroupName="Operators", PolicyName="everything", PolicyDocument=_doc(
        [{"Effect": "Allow", "Action": "*", "Resource": "*"}]))

    users = {
        # name: (console, mfa, [key statuses], groups, attached, inline)
        "alice": (True, "virtual", ["Active"], ["Admins"], [], {}),
        "hank": (True, "hardware", [], ["Readers"], [], {}),
        "bob": (True, None, [], ["Readers"], [], {}),  # console password, no MFA
        "carl": (True, None, ["Active"], ["Operators"], [], {}),  # console password, no MFA
        "svc-none": (False, None, [], ["Readers"], [], {}),
        "svc-one": (False, None, ["Active"], ["Readers"], [], {}),
        "svc-two": (False, None, ["Active", "Active"], ["Readers"], [], {}),  # two active keys
        "svc-rotating": (False, None, ["Inactive", "Active"], ["Readers"], [], {}),  # one inactive: allowed
        "svc-off": (False, "virtual", ["Inactive"], [], [], {}),
        "dora": (False, None, [], [], ["ReadBuckets"], {}),  # a managed policy attached directly
        "ian": (False, None, ["Active"], ["Readers"], [], {"ian-extra": [  # an inline user policy
            {"Effect": "Allow", "Action": "s3:ListAllMyBuckets", "Resource": "*"}]}),
        "nora": (True, "virtual", [], [], ["NarrowStar"], {}),  # direct policy, but not "*" on "*"
        # may write an inline policy on herself: a privilege-escalation path
        "esme": (False, None, [], [], [], {"esme-self": [
            {"Effect": "Allow", "Action": "iam:PutUserPolicy", "Resource": f"arn:aws:iam::{account_id}:user/esme"}]}),
    }
    for name, (console, mfa, keys, groups, attached, inline) in users.items():
        iam.create_user(UserName=name)
        if console:
            iam.create_login_profile(UserName=name, Password="Seeded-only-Passw0rd!")
        for group in groups:
            iam.add_user_to_group(GroupName=group, UserName=name)
        for policy in attached:
            iam.attach_user_policy(UserName=name, PolicyArn=policy_arn(policy))
        for policy_name, statements in inline.items():
            iam.put_user_policy(UserName=name, PolicyName=policy_name, PolicyDocument=_doc(statements))
        for status in keys:
            key_id = iam.create_access_key(UserName=name)["AccessKey"]["AccessKeyId"]
            if status != "Active":
                iam.update_access_key(UserName=name, AccessKeyId=key_id, Status=status)
        if mfa == "virtual":
            serial = iam.create_virtual_mfa_device(VirtualMFADeviceName=name)["VirtualMFADevice"]["SerialNumber"]
            iam.enable_mfa_device(UserName=name, SerialNumber=serial,
                                  AuthenticationCode1="123456", AuthenticationCode2="654321")
        elif mfa == "hardware":  # a hardware TOTP token's serial is not an ARN
            iam.enable_mfa_device(UserName=name, SerialNumber=f"GAHT{sum(map(ord, name)):08d}",
                                  AuthenticationCode1="123456", AuthenticationCode2="654321")
    return {
        "all": list(users),
        "console": [n for n, u in users.items() if u[0]],
        "console_no_mfa": [n for n, u in users.items() if u[0] and not u[1]],
        "two_active_keys": [n for n, u in users.items() if u[2].count("Active") > 1],
        "direct_policies": [n for n, u in users.items() if u[4] or u[5]],
        "active_keys": sum(u[2].count("Active") for u in users.values()),
        "console_with_keys": [n for n, u in users.items() if u[0] and u[2]],
        "escalating": ["esme"],
        # customer-managed policies + every inline policy of users, groups and roles (one role inline, below)
        "policies_judged": 3 + 2 + sum(len(u[5]) for u in users.values()) + 1,
    }


# --- IAM roles ------------------------------------------------------------------------------------------------------


def _seed_roles(iam: Any, account_id: str, org_id: str) -> dict:
    roles = {
        # name: (trust policy, fails iam-role-external-trust)
        "SameAccount": (_trust({"AWS": f"arn:aws:iam::{account_id}:root"}), False),
        "PartnerNoExternalId": (_trust({"AWS": f"arn:aws:iam::{FOREIGN_ACCOUNT}:root"}), True),
        "VendorWithExternalId": (_trust({"AWS": f"arn:aws:iam::{VENDOR_ACCOUNT}:root"},
                                        {"StringEquals": {"sts:ExternalId": "seeded-3f9a"}}), False),
        "AnyoneInOurOrg": (_trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": org_id}}), False),
        "AnyoneInOtherOrg": (_trust({"AWS": "*"}, {"StringEquals": {"aws:PrincipalOrgID": FOREIGN_ORG}}), True),
        "LambdaService": (_trust({"Service": "lambda.amazonaws.com"}), False),
        # "*" with only an ExternalId: passes iam-role-external-trust, fails iam-no-wildcard-assume-role
        "AnyoneWithExternalId": (_trust({"AWS": "*"}, {"StringEquals": {"sts:ExternalId": "seeded-shared"}}), False),
    }
    for name, (trust, _) in roles.items():
        iam.create_role(RoleName=name, AssumeRolePolicyDocument=trust)
    iam.put_role_policy(RoleName="LambdaService", PolicyName="logs", PolicyDocument=_doc(
        [{"Effect": "Allow", "Action": ["logs:CreateLogStream", "logs:PutLogEvents"], "Resource": "*"}]))
    return {"all": list(roles), "external": [n for n, (_, bad) in roles.items() if bad],
            "wildcard": ["AnyoneWithExternalId"]}


def _seed_certificates(iam: Any) -> list:
    """One server certificate, expired in its own body (a self-signed one, made here)."""
    import datetime as dt

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = dt.datetime.now(dt.timezone.utc)
    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "seeded-old.example")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - dt.timedelta(days=400))
            .not_valid_after(now - dt.timedelta(days=35)).sign(key, hashes.SHA256()))
    iam.upload_server_certificate(
        ServerCertificateName="seeded-old", CertificateBody=cert.public_bytes(serialization.Encoding.PEM).decode(),
        PrivateKey=key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                     serialization.NoEncryption()).decode())
    return ["seeded-old"]


# --- S3 -------------------------------------------------------------------------------------------------------------


def _seed_s3(s3: Any, s3control: Any, account_id: str) -> dict:
    def allow_all(bucket: str, condition: Any = None) -> str:
        statement: dict = {"Effect": "Allow", "Principal": "*", "Action": "s3:GetObject",
                           "Resource": f"arn:aws:s3:::{bucket}/*"}
        if condition:
            statement["Condition"] = condition
        return _doc([statement])

    buckets = {
        # name: (policy or None, bucket-level public access block or None, is public)
        "seeded-public": (allow_all("seeded-public"), None, True),
        "seeded-vpce": (allow_all("seeded-vpce", {"StringEquals": {"aws:SourceVpce": "vpce-1a2b3c4d"}}), None, False),
        "seeded-anyip": (allow_all("seeded-anyip", {"IpAddress": {"aws:SourceIp": "0.0.0.0/0"}}), None, True),
        "seeded-nopolicy": (None, None, False),
        # a public policy, but RestrictPublicBuckets limits access to the owner's principals and AWS services
        "seeded-restricted": (allow_all("seeded-restricted"), {"BlockPublicAcls": False, "IgnorePublicAcls": False,
                                                               "BlockPublicPolicy": False,
                                                               "RestrictPublicBuckets": True}, False),
    }
    buckets.update(_more_buckets())
    for name, (policy, pab, _) in buckets.items():
        s3.create_bucket(Bucket=name)
        if policy:
            s3.put_bucket_policy(Bucket=name, Policy=policy)
        if pab:
            s3.put_public_access_block(Bucket=name, PublicAccessBlockConfiguration=pab)
    _acl_and_versioning(s3)
    # Partly on, and set after the bucket policies (BlockPublicPolicy would refuse the public ones). IgnorePublicAcls
    # is off, so the ACLs of buckets without it of their own are honoured.
    s3control.put_public_access_block(AccountId=account_id, PublicAccessBlockConfiguration={
        "BlockPublicAcls": True, "IgnorePublicAcls": False, "BlockPublicPolicy": False, "RestrictPublicBuckets": False})
    return {"all": list(buckets), "public": [n for n, b in buckets.items() if b[2]],
            "tls_only": ["seeded-tls"], "versioned": ["seeded-tls"], "all_blocked": ["seeded-tls"],
            "public_acl": ["seeded-dropbox"], "public_write": ["seeded-dropbox", "seeded-anyone-writes"]}


ALL_USERS = "http://acs.amazonaws.com/groups/global/AllUsers"
ALL_BLOCKED = {"BlockPublicAcls": True, "IgnorePublicAcls": True, "BlockPublicPolicy": True, "RestrictPublicBuckets": True}


def _more_buckets() -> dict:
    """Buckets for TLS, MFA delete, bucket-level Block Public Access, public ACLs and public writes."""
    def arns(bucket: str) -> list:
        return [f"arn:aws:s3:::{bucket}", f"arn:aws:s3:::{bucket}/*"]

    deny_http = {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": arns("seeded-tls"),
                 "Condition": {"Bool": {"aws:SecureTransport": "false"}}}
    return {
        # denies every request over HTTP; all four settings on; versioned without MFA delete
        "seeded-tls": (_doc([deny_http]), ALL_BLOCKED, False),
        # no policy; a public-read-write ACL (its grants written out: AllUsers READ and WRITE)
        "seeded-dropbox": (None, None, False),
        # anyone may put objects: public, and a public write
        "seeded-anyone-writes": (_doc([{"Effect": "Allow", "Principal": "*", "Action": "s3:Put*",
                                        "Resource": "arn:aws:s3:::seeded-anyone-writes/*"}]), None, True),
        # public read and write allowed, but an unconditional Deny of s3:PutObject to everyone: public, no public write
        "seeded-write-denied": (_doc([{"Effect": "Allow", "Principal": "*", "Action": ["s3:GetObject", "s3:PutObject"],
                                       "Resource": "arn:aws:s3:::seeded-write-denied/*"},
                                      {"Effect": "Deny", "Principal": "*", "Action": "s3:PutObject",
                                       "Resource": "arn:aws:s3:::seeded-write-denied/*"}]), None, True),
    }


def _acl_and_versioning(s3: Any) -> None:
    owner = s3.get_bucket_acl(Bucket="seeded-dropbox")["Owner"]
    s3.put_bucket_acl(Bucket="seeded-dropbox", AccessControlPolicy={"Owner": owner, "Grants": [
        {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"},
        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "READ"},
        {"Grantee": {"Type": "Group", "URI": ALL_USERS}, "Permission": "WRITE"}]})
    s3.put_bucket_versioning(Bucket="seeded-tls", VersioningConfiguration={"Status": "Enabled"})


# --- EC2 ------------------------------------------------------------------------------------------------------------


def _seed_instances(iam: Any, ec2: Any, account_id: str) -> dict:
    """One running instance with an instance profile, one stopped without, one terminated without (not judged).

    The profile holds no role: CIS 1.17 audits the association of an instance profile (and a role would change the
    IAM checks' counts of this world)."""
    iam.create_instance_profile(InstanceProfileName="seeded-app")
    image = "ami-12c6146b"  # one of the images moto holds in every region

    def run(name: str, profile: bool) -> str:
        params: dict = {"ImageId": image, "MinCount": 1, "MaxCount": 1, "TagSpecifications": [
            {"ResourceType": "instance", "Tags": [{"Key": "Name", "Value": name}]}]}
        if profile:
            params["IamInstanceProfile"] = {"Name": "seeded-app"}
        return ec2.run_instances(**params)["Instances"][0]["InstanceId"]

    run("seeded-app-1", True)
    stopped = run("seeded-batch-1", False)
    ec2.stop_instances(InstanceIds=[stopped])
    ec2.terminate_instances(InstanceIds=[run("seeded-old-1", False)])
    return {"judged": 2, "without_profile": [f"arn:aws:ec2:{REGION}:{account_id}:instance/{stopped}"]}


# --- Organizations --------------------------------------------------------------------------------------------------


def _seed_organization(org: Any, account_id: str) -> tuple:
    """The caller becomes the management account; member accounts with and without the guardrails.

    Returns the organization id, the set of member-account ARNs that must fail ``org-scp-guardrails`` and the
    number of member accounts.
    """
    org_id = org.create_organization(FeatureSet="ALL")["Organization"]["Id"]
    root_id = org.list_roots()["Roots"][0]["Id"]
    org.enable_policy_type(RootId=root_id, PolicyType="SERVICE_CONTROL_POLICY")
    workloads = org.create_organizational_unit(ParentId=root_id, Name="Workloads")["OrganizationalUnit"]["Id"]
    prod = org.create_organizational_unit(ParentId=workloads, Name="Prod")["OrganizationalUnit"]["Id"]
    sandbox = org.create_organizational_unit(ParentId=root_id, Name="Sandbox")["OrganizationalUnit"]["Id"]

    def policy(name: str, statements: list) -> str:
        return org.create_policy(Name=name, Description=name, Type="SERVICE_CONTROL_POLICY",
                                 Content=_doc(statements))["Policy"]["PolicySummary"]["Id"]

    guardrails = policy("Guardrails", [{"Effect": "Deny", "Action": GUARDRAIL_ACTIONS, "Resource": "*"}])
    leave_only = policy("NoLeaving", [{"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}])
    # Denied in us-east-1 only: the library probes several regions (aws:RequestedRegion), so this is not enough.
    one_region = policy("GuardrailsOneRegion", [{"Effect": "Deny", "Action": GUARDRAIL_ACTIONS, "Resource": "*",
                                                 "Condition": {"StringEquals": {"aws:RequestedRegion": "us-east-1"}}}])
    # Denied to everyone but a named break-glass role: an ordinary principal is still denied.
    break_glass = policy("GuardrailsExceptBreakGlass", [{
        "Effect": "Deny", "Action": GUARDRAIL_ACTIONS, "Resource": "*",
        "Condition": {"ArnNotLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/BreakGlass"}}}])
    # An allow-list SCP replacing FullAWSAccess on an OU: what it does not allow is denied below it, since every level
    # of the chain must allow (AWS SCP evaluation: "an Allow at every level").
    allow_list = policy("AllowComputeOnly", [{"Effect": "Allow", "Action": ["ec2:*", "s3:*"], "Resource": "*"}])
    allow_listed = org.create_organizational_unit(ParentId=root_id, Name="AllowListed")["OrganizationalUnit"]["Id"]
    org.attach_policy(PolicyId=allow_list, TargetId=allow_listed)
    org.detach_policy(PolicyId=_FULL_ACCESS, TargetId=allow_listed)
    org.attach_policy(PolicyId=guardrails, TargetId=workloads)

    members = {
        # name: (parent, SCP attached to the account itself, fails org-scp-guardrails)
        "prod-1": (prod, None, False),  # inherits the guardrails from the Workloads OU
        "sandbox-1": (sandbox, None, True),  # only FullAWSAccess at every level
        "sandbox-2": (sandbox, leave_only, True),  # denies one guardrail action, not all three
        "direct-1": (root_id, guardrails, False),  # attached to the account itself
        "regional-1": (root_id, one_region, True),  # eu-west-1 and ap-southeast-2 still allowed
        "breakglass-1": (root_id, break_glass, False),  # the probe is not the break-glass role
        "allowlisted-1": (allow_listed, None, False),  # no Allow at the OU level for the guardrail actions
    }
    failing = set()
    for name, (parent, scp, fails) in members.items():
        new_id = org.create_account(Email=f"{name}@example.com", AccountName=name)["CreateAccountStatus"]["AccountId"]
        if parent != root_id:
            org.move_account(AccountId=new_id, SourceParentId=root_id, DestinationParentId=parent)
        if scp:
            org.attach_policy(PolicyId=scp, TargetId=new_id)
        if fails:
            failing.add(f"arn:aws:organizations::{account_id}:account/{org_id}/{new_id}")
    return org_id, failing, len(members)
