"""A seeded random generator of IAM evaluation cases for differential testing.

Usage: ``cases = generate_cases(seed=7, count=5000)``; each case is a dict with the keys ``request`` (principal,
action, resource, resource_account, context) and ``identity_policies``, ``resource_policy``,
``permissions_boundary``, ``scps``, ``rcps``, ``session_policy``, ``management_account``.

Values come from small pools so that patterns, conditions and principals actually meet, giving a healthy mix of
allow, explicit deny and implicit deny.
"""
from __future__ import annotations

import json
import random
from typing import Any

A, B, M = "111122223333", "444455556666", "999988887777"

# the differential corpus: these seeds, this many cases each
CORPUS_SEEDS = (20240601, 7, 1312, 99, 4242)
CASES_PER_SEED = 4000

PRINCIPALS = {
    "user": [f"arn:aws:iam::{A}:user/alice", f"arn:aws:iam::{A}:user/eng/bob", f"arn:aws:iam::{B}:user/carol",
             f"arn:aws:iam::{M}:user/admin"],
    "role": [f"arn:aws:iam::{A}:role/deploy", f"arn:aws:iam::{A}:role/app/worker", f"arn:aws:iam::{B}:role/deploy",
             f"arn:aws:iam::{M}:role/OrgAdmin",
             f"arn:aws:iam::{A}:role/aws-service-role/ops.amazonaws.com/AWSServiceRoleForOps"],
    "session": [f"arn:aws:sts::{A}:assumed-role/deploy/s1", f"arn:aws:sts::{A}:assumed-role/worker/s2",
                f"arn:aws:sts::{B}:assumed-role/deploy/s3", f"arn:aws:sts::{M}:assumed-role/OrgAdmin/audit"],
    "root": [f"arn:aws:iam::{A}:root", f"arn:aws:iam::{B}:root"],
    "federated": [f"arn:aws:sts::{A}:federated-user/fed1", f"arn:aws:sts::{B}:federated-user/fed2"],
    "service": ["ec2.amazonaws.com", "lambda.amazonaws.com"],
    "anonymous": ["anonymous"],
}
PRINCIPAL_WEIGHTS = {"user": 5, "role": 3, "session": 4, "root": 1, "federated": 1, "service": 1, "anonymous": 1}

NORMAL_REQUESTS = [
    ("s3:GetObject", "arn:aws:s3:::bucket-a/key1"),
    ("s3:GetObject", "arn:aws:s3:::bucket-a/home/alice/doc.txt"),
    ("s3:PutObject", "arn:aws:s3:::bucket-a/home/bob/x"),
    ("s3:GetObject", "arn:aws:s3:::bucket-a/*"),
    ("s3:ListBucket", "arn:aws:s3:::bucket-a"),
    ("s3:DeleteObject", "arn:aws:s3:::bucket-b/x"),
    ("s3:GetObject", "arn:aws:s3:::Bucket-A/key1"),
    ("ec2:RunInstances", f"arn:aws:ec2:us-east-1:{A}:instance/i-123"),
    ("ec2:TerminateInstances", f"arn:aws:ec2:us-east-1:{B}:instance/i-456"),
    ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{A}:queue1"),
    ("sqs:SendMessage", f"arn:aws:sqs:us-east-1:{B}:queue2"),
    ("iam:PassRole", f"arn:aws:iam::{A}:role/deploy"),
    ("iam:GetUser", f"arn:aws:iam::{A}:user/alice"),
    ("iam:GetPolicy", "arn:aws:iam::aws:policy/ReadOnlyAccess"),  # AWS-owned: "aws" in the account field
]
TRUST_REQUESTS = [
    ("sts:AssumeRole", f"arn:aws:iam::{A}:role/deploy"),
    ("sts:AssumeRole", f"arn:aws:iam::{B}:role/deploy"),
    ("sts:AssumeRoleWithSAML", f"arn:aws:iam::{A}:role/app/worker"),
]
KEY_REQUESTS = [
    ("kms:Decrypt", f"arn:aws:kms:us-east-1:{A}:key/k1"),
    ("kms:Encrypt", f"arn:aws:kms:us-east-1:{B}:key/k2"),
    ("kms:GenerateDataKey", f"arn:aws:kms:us-east-1:{A}:key/k1"),
]

ACTION_PATTERNS = ["s3:GetObject", "s3:Get*", "s3:?etObject", "s3:*", "S3:GETOBJECT", "s3:PutObject",
                   "s3:ListBucket", "s3:*Object", "ec2:*", "ec2:RunInstances", "sqs:Send*", "iam:PassRole",
                   "iam:Get*", "sts:AssumeRole", "sts:AssumeRole*", "kms:*", "kms:Decrypt", "kms:?ncrypt", "*",
                   "s3:Delete*", "Kms:GenerateDataKey*", "*:Get*", "s3:get*", "s*:*Object", "*"]
RESOURCE_PATTERNS = ["*", "arn:aws:s3:::bucket-a/*", "arn:aws:s3:::bucket-?/*", "arn:aws:s3:::bucket-a",
                     "arn:aws:s3:::*", "arn:aws:s3:::bucket-b/*", "arn:aws:s3:::Bucket-A/*", "arn:aws:*",
                     "arn:aws:s3:::bucket-a/home/*/doc.txt", "arn:aws:s3:::bucket-a/key?",
                     f"arn:aws:ec2:*:{A}:instance/*", "arn:aws:ec2:us-east-1:*:instance/i-123",
                     f"arn:aws:sqs:*:{A}:*", "arn:aws:sqs:us-east-1:*:queue?",
                     f"arn:aws:iam::{A}:role/*", "arn:aws:iam::*:role/deploy",
                     f"arn:aws:iam::{A}:user/${{aws:username}}",
                     f"arn:aws:kms:*:{A}:key/*", "arn:aws:kms:us-east-1:*:key/k?",
                     "arn:aws:s3:::bucket-a/home/${aws:username}/*",
                     "arn:aws:s3:::bucket-a/home/${aws:username, 'alice'}/*",
                     "arn:aws:s3:::bucket-a/home/${aws:PrincipalTag/team, 'bob'}/*",
                     "arn:aws:s3:::bucket-a/${*}", "arn:aws:s3:::bucket-a/key${?}", "arn:aws:s3:::bucket-a/*${$}",
                     "arn:aws:s3:::bucket-a/${aws:userid}", "arn:aws:s3:::bucket-a/home/${AWS:UserName}/*",
                     "arn:aws:s3:::bucket-a/home/${aws:userid, 'alice'}/*", "*bucket-a*", "arn:aws:s3:::*-?/*e*",
                     "arn:aws:*:*:*:*", "arn:aws:s3:::bucket-a/home/*/*", "arn:aws:iam::aws:policy/*"]

# condition keys: name -> (type, request values, policy values)
IPS_REQ = ["10.1.2.3", "10.200.0.5", "192.168.1.10", "2001:db8::1", "2001:db8:1::5", "203.0.113.9",
           "2001:0db8:0000::0001"]
IPS_POL = ["10.0.0.0/8", "10.1.0.0/16", "192.168.1.0/24", "2001:db8::/32", "2001:db8::/48", "10.1.2.3/32",
           "10.1.2.3", "0.0.0.0/0", "::/0", "2001:db8:1::/48", "2001:db8::1"]
DATES_REQ = ["2024-01-01T00:00:00Z", "2024-06-15T12:00:00Z", "2024-06-15T12:00:00.000Z", "2025-01-01T00:00:00Z",
             1718452800, "1704067200"]
DATES_POL = ["2024-01-01T00:00:00Z", "2024-06-01", "2024-06-15T14:00:00+02:00", "2024-06-15T12:00:00Z",
             "2025-01-01T00:00:00Z", 1718452800, "1704067200", "2024-12-31T23:59:59Z"]
KEYS: dict[str, tuple[str, list, list]] = {
    "aws:SourceIp": ("ip", IPS_REQ + [["10.1.2.3"]], IPS_POL),
    "aws:MultiFactorAuthPresent": ("bool", [True, False, "true", "false"], ["true", "false", True, False]),
    "aws:SecureTransport": ("bool", [True, False, "true"], ["true", "false", False]),
    "aws:PrincipalTag/team": ("string", ["red", "blue", "Red", "bob", 5, True, ["red"]],
                              ["red", "blue", "RED", "r*", "b?ue", "5", 5, "true", "${aws:username}",
                               "${AWS:UserName}"]),
    "aws:RequestTag/env": ("string", ["prod", "dev", "Prod", "prod-eu", ""], ["prod", "dev", "PROD", "prod*", "d?v",
                                                                        "${aws:PrincipalTag/team, 'dev'}"]),
    "s3:prefix": ("string", ["home/alice/", "home/bob/", "public/", "home/*/", "public/$", "a,b"],
                  ["home/${aws:username}/", "home/${aws:username}/*", "public/*", "home/${*}/", "home/*",
                   "home/${aws:username, 'bob'}/", "public/", "public/${$}",
                   "${aws:userid, 'a,b'}", "*/"]),
    "aws:username": ("auto-string", ["mallory"], ["alice", "bob", "a*", "Alice", "${aws:PrincipalTag/team}"]),
    "aws:PrincipalArn": ("auto-arn", [f"arn:aws:iam::{A}:role/deploy"],
                         [f"arn:aws:iam::{A}:role/deploy", f"arn:aws:iam::{A}:user/*", "arn:aws:iam::*:role/*",
                          f"arn:aws:iam::{B}:*", f"arn:aws:iam::{A}:root", "arn:aws:sts::*:federated-user/*",
                          f"arn:aws:iam::{A}:user/${{aws:username}}"]),
    "aws:PrincipalAccount": ("auto-string", [B], [A, B, M, "1111*", int(A)]),
    "aws:ResourceAccount": ("auto-string", [A], [A, B, "${aws:PrincipalAccount}"]),
    "aws:SourceArn": ("arn", ["arn:aws:s3:::bucket-a", f"arn:aws:sqs:us-east-1:{A}:queue1",
                              f"arn:aws:sqs:us-east-1:{B}:queue2"],
                      ["arn:aws:s3:::bucket-a", f"arn:aws:sqs:*:{A}:*", "arn:aws:sqs:us-east-1:*:queue?",
                       "arn:aws:s3:::*", "arn:aws:*:*:*:*", "*"]),
    "aws:CurrentTime": ("date", DATES_REQ, DATES_POL),
    "s3:max-keys": ("numeric", [10, 100, "50", 7.5], ["10", "100", 50, "99.5", 7.5, "0"]),
    "aws:TagKeys": ("multi", [[], ["env"], ["env", "team"], ["owner"], ["env", "owner", "team"], ["Env"]],
                    ["env", "team", "own*", "ENV", "t?am"]),
    "aws:CalledVia": ("multi", [[], ["athena.amazonaws.com"], ["athena.amazonaws.com", "glue.amazonaws.com"]],
                      ["athena.amazonaws.com", "glue.*", "*.amazonaws.com"]),
    "kms:EncryptionContext:digest": ("binary", ["QUJD", "REVG"], ["QUJD", "REVG", "QUJDRA=="]),
}
STRING_OPS = ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
              "StringLike", "StringNotLike"]
OPS_BY_TYPE = {
    "string": STRING_OPS,
    "auto-string": STRING_OPS,
    "arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "StringLike", "StringEquals"],
    "auto-arn": ["ArnEquals", "ArnLike", "ArnNotEquals", "ArnNotLike", "StringLike"],
    "ip": ["IpAddress", "NotIpAddress"],
    "bool": ["Bool"],
    "date": ["DateEquals", "DateNotEquals", "DateLessThan", "DateLessThanEquals", "DateGreaterThan",
             "DateGreaterThanEquals"],
    "numeric": ["NumericEquals", "NumericNotEquals", "NumericLessThan", "NumericLessThanEquals",
                "NumericGreaterThan", "NumericGreaterThanEquals"],
    "binary": ["BinaryEquals"],
    "multi": ["StringEquals", "StringLike", "StringNotEquals", "StringNotLike", "StringEqualsIgnoreCase"],
}
TAGS = ["red", "blue", "Red"]


class CaseGenerator:
    """Builds one random case at a time from a ``random.Random``."""

    def __init__(self, rng: random.Random):
        self.rng = rng

    def pick(self, seq):
        return self.rng.choice(seq)

    def chance(self, p: float) -> bool:
        return self.rng.random() < p

    # ---- requests -------------------------------------------------------------------------------------------
    def principal(self) -> tuple[str, str]:
        kinds = list(PRINCIPAL_WEIGHTS)
        kind = self.rng.choices(kinds, weights=[PRINCIPAL_WEIGHTS[k] for k in kinds])[0]
        return kind, self.pick(PRINCIPALS[kind])

    def context(self) -> dict[str, Any]:
        context: dict[str, Any] = {}
        for key, (kind, request_values, _) in KEYS.items():
            if kind.startswith("auto"):
                if self.chance(0.05):  # a caller-given value overrides the filled one (key names case-insensitive)
                    context[self._recase(key)] = self.pick(request_values)
                continue
            if self.chance(0.55):
                value = self.pick(request_values)
                context[self._recase(key) if self.chance(0.2) else key] = list(value) if isinstance(value, list) \
                    else value
        return context

    def _recase(self, key: str) -> str:
        return self.pick([key.upper(), key.lower(), key])

    def request(self, kind: str, principal: str) -> tuple[dict, str]:
        shape = self.rng.choices(["normal", "trust", "key"], weights=[6, 2, 2])[0]
        if kind in ("service", "anonymous") and shape == "trust" and self.chance(0.5):
            shape = "normal"
        action, resource = self.pick({"normal": NORMAL_REQUESTS, "trust": TRUST_REQUESTS, "key": KEY_REQUESTS}[shape])
        if self.chance(0.15):
            action = self.pick([action.lower(), action.upper(), action[:1].upper() + action[1:]])
        resource_account = None
        if resource.startswith("arn:aws:s3:::"):
            if kind in ("service", "anonymous") or self.chance(0.6):
                resource_account = self.pick([A, A, B, M])
        elif self.chance(0.05):
            resource_account = resource.split(":")[4] if self.chance(0.6) else self.pick([A, B])
        request = {"principal": principal, "action": action, "resource": resource,
                   "resource_account": resource_account, "context": self.context()}
        return request, shape

    # ---- policy elements ---------------------------------------------------------------------------------------
    def _one_or_list(self, items: list):
        if len(items) == 1 and self.chance(0.6):
            return items[0]
        return items

    def actions(self, request_action: str) -> list[str]:
        picks = [self.pick(ACTION_PATTERNS) for _ in range(self.rng.randint(1, 2))]
        if self.chance(0.65):
            picks[0] = request_action if self.chance(0.7) else self.pick(["*", request_action.split(":")[0] + ":*"])
        return picks

    def resources(self, request_resource: str) -> list[str]:
        picks = [self.pick(RESOURCE_PATTERNS) for _ in range(self.rng.randint(1, 2))]
        if self.chance(0.55):
            picks[0] = self.pick([request_resource, "*", request_resource[:-1] + "?", request_resource + "*"])
        return picks

    def condition_value(self, policy_values: list, version: str):
        """A policy value; policies without Version 2012-10-17 mostly avoid variables (literal text there)."""
        value = self.pick(policy_values)
        if version != "2012-10-17" and isinstance(value, str) and "${" in value and self.chance(0.5):
            value = self.pick([v for v in policy_values if not (isinstance(v, str) and "${" in v)] or [value])
        return value

    def condition(self, version: str) -> dict:
        block: dict[str, dict] = {}
        for _ in range(self.rng.randint(1, 2)):
            key = self.pick(list(KEYS))
            kind, _, policy_values = KEYS[key]
            if self.chance(0.1):
                operator = "Null"
                values: Any = self.pick(["true", "false", True])
            else:
                operator = self.pick(OPS_BY_TYPE[kind])
                if kind in ("ip", "bool", "date", "numeric") and self.chance(0.08):
                    operator = self.pick(["StringEquals", "StringLike", "StringNotEquals"])  # strings of any value
                set_operator = not self.chance(0.1) if kind == "multi" else \
                    kind in ("string", "auto-string") and self.chance(0.12)
                if set_operator:
                    operator = self.pick(["ForAnyValue:", "ForAllValues:"]) + operator
                elif self.chance(0.15):
                    operator += "IfExists"
                elif self.chance(0.08):
                    operator = self.pick(["ForAnyValue:", "ForAllValues:"]) + operator
                if operator.startswith("For") and self.chance(0.1):
                    operator += "IfExists"
                count = self.rng.choices([1, 2, 3], weights=[6, 3, 1])[0]
                values = [self.condition_value(policy_values, version) for _ in range(count)]
                values = self._one_or_list(values)
            block.setdefault(operator, {})[self._recase(key) if self.chance(0.1) else key] = values
        return block

    def statement(self, request: dict, effect_allow: float, where: str, friendly: bool = False) -> dict:
        """One statement; ``where`` is identity, resource, trust, key, scp or rcp; a friendly one likely applies."""
        statement: dict[str, Any] = {}
        if self.chance(0.3):
            statement["Sid"] = f"S{self.rng.randint(0, 99)}"
        statement["Effect"] = "Allow" if friendly or self.chance(effect_allow) else "Deny"
        if where in ("resource", "trust", "key"):
            self.principal_element(statement, request, where)
        elif where == "rcp":
            statement["Principal"] = "*"
        actions = self.actions(request["action"])
        if friendly:
            actions[0] = self.pick([request["action"], "*", request["action"].split(":")[0] + ":*"])
        statement["NotAction" if not friendly and self.chance(0.12) else "Action"] = self._one_or_list(actions)
        if where != "trust" or self.chance(0.2):
            resources = self.resources(request["resource"])
            if friendly:
                resources[0] = self.pick([request["resource"], "*"])
            statement["NotResource" if not friendly and self.chance(0.1) else "Resource"] = self._one_or_list(resources)
        return statement

    def principal_element(self, statement: dict, request: dict, where: str) -> None:
        """Principal (or, in a Deny outside role trust policies, NotPrincipal) naming the caller in various ways."""
        principal = request["principal"]
        account = principal.split(":")[4] if principal.startswith("arn:") else self.pick([A, B])
        names: list[str] = []
        if principal.startswith("arn:aws:sts::") and "assumed-role" in principal:
            role = principal.split("/")[1]
            role_arn = f"arn:aws:iam::{account}:role/{'app/' if role == 'worker' else ''}{role}"
            names = [principal, role_arn]
        elif principal.startswith("arn:"):
            names = [principal]
        options = names + [account, f"arn:aws:iam::{account}:root", f"arn:aws:iam::{self.pick([A, B])}:root",
                           self.pick(PRINCIPALS["user"]), self.pick(PRINCIPALS["role"]),
                           self.pick(PRINCIPALS["session"]), "*", self.pick(PRINCIPALS["federated"])]
        roll = self.rng.random()
        # NotPrincipal: Deny only, and not in role trust policies (AWS JSON policy elements: NotPrincipal)
        not_principal = statement["Effect"] == "Deny" and where != "trust" and self.chance(0.2)
        if roll < 0.12 and not not_principal:
            element: Any = "*"
        elif roll < 0.22:
            services = [self.pick(PRINCIPALS["service"])]
            element = {"Service": self._one_or_list(services)}
            if self.chance(0.3):
                element["AWS"] = self.pick(options[:-2] or options)
        elif roll < 0.26:
            element = {self.pick(["Federated", "CanonicalUser"]): self.pick(
                ["cognito-identity.amazonaws.com", "arn:aws:iam::111122223333:saml-provider/idp",
                 "79a59df900b949e55d96a1e698fbacedfd6e09d98eacf8f8d5218e7cd47ef2be"])}
        else:
            picks = [self.pick(options) for _ in range(self.rng.randint(1, 2))]
            if not_principal:
                picks = [p for p in picks if p != "*"] or [account]
            element = {"AWS": self._one_or_list(picks)}
        statement["NotPrincipal" if not_principal else "Principal"] = element

    def document(self, request: dict, where: str, effect_allow: float = 0.85) -> dict | str:
        version = self.rng.choices(["2012-10-17", "2008-10-17", None], weights=[8, 1, 1])[0]
        statements = []
        friendly = self.chance(0.5)
        for index in range(self.rng.randint(1, 3)):
            statement = self.statement(request, effect_allow, where, friendly and index == 0)
            if self.chance(0.35):
                statement["Condition"] = self.condition(version or "")
            statements.append(statement)
        doc: dict[str, Any] = {}
        if version:
            doc["Version"] = version
        doc["Statement"] = statements[0] if len(statements) == 1 and self.chance(0.3) else statements
        if self.chance(0.05):
            return json.dumps(doc)
        return doc

    def org_levels(self, request: dict, where: str) -> list:
        levels = []
        for _ in range(self.rng.randint(1, 3)):
            level = []
            roll = self.rng.random()
            if roll < 0.8:
                full: dict[str, Any] = {"Effect": "Allow", "Action": "*", "Resource": "*"}
                if where == "rcp":
                    full = {"Effect": "Allow", "Principal": "*", "Action": "*", "Resource": "*"}
                level.append({"Version": "2012-10-17", "Statement": [full]})
            if roll >= 0.65 or not level:
                level.append(self.document(request, where, effect_allow=0.6))
            levels.append(level)
        return levels

    # ---- a whole case ------------------------------------------------------------------------------------------
    def case(self) -> dict:
        kind, principal = self.principal()
        request, shape = self.request(kind, principal)
        identity_like = kind in ("user", "role", "session", "federated")
        case: dict[str, Any] = {
            "request": request,
            "identity_policies": [self.document(request, "identity")
                                  for _ in range(self.rng.randint(0, 2))] if identity_like else [],
            "resource_policy": None,
            "permissions_boundary": None,
            "scps": None,
            "rcps": None,
            "session_policy": None,
            "management_account": self.pick([None, M, M, A]),
            "identity_as_policy_objects": self.chance(0.05),
        }
        where = {"normal": "resource", "trust": "trust", "key": "key"}[shape]
        if shape != "normal" or self.chance(0.6) or kind in ("service", "anonymous"):
            if not (shape != "normal" and self.chance(0.08)):
                case["resource_policy"] = self.document(request, where)
        if kind in ("user", "role", "session") and self.chance(0.3):
            case["permissions_boundary"] = self.document(request, "identity")
        if kind in ("session", "federated") and self.chance(0.4):
            case["session_policy"] = self.document(request, "identity")
        if self.chance(0.4):
            case["scps"] = self.org_levels(request, "scp")
        if self.chance(0.3):
            case["rcps"] = self.org_levels(request, "rcp")
        return case


def generate_cases(seed: int, count: int) -> list[dict]:
    """``count`` cases from one seed; the same seed always gives the same cases."""
    generator = CaseGenerator(random.Random(seed))
    return [generator.case() for _ in range(count)]


def corpus() -> list[dict]:
    """The whole differential corpus."""
    return [case for seed in CORPUS_SEEDS for case in generate_cases(seed, CASES_PER_SEED)]
