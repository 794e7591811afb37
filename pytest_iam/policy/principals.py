"""Who is asking (the request principal) and whom a Principal element names.

Usage: ``who = principal_of("arn:aws:sts::111122223333:assumed-role/Admin/alice")``;
``spec = compile_principal({"AWS": "111122223333"}, "Statement[0].Principal")``; ``spec.match(who)`` -> "account"

Matching (IAM "AWS JSON policy elements: Principal"): ``"*"`` and ``{"AWS": "*"}`` match everyone, including
anonymous requests; an account id or ``arn:aws:iam::ACCT:root`` matches every principal of that account; a role ARN
matches the role and its sessions; a user ARN the user; a session or federated-user ARN exactly that principal;
``Service``, ``Federated`` and ``CanonicalUser`` match their own kind. A wildcard inside an ARN is not a wildcard
(AWS does not allow partial wildcards in Principal), so it only matches the identical text.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional

from .errors import PolicyError, string_list

_ACCOUNT = re.compile(r"^\d{12}$")
_IAM_ARN = re.compile(r"^arn:(aws[a-zA-Z-]*):(iam|sts)::(\d{12}|[^:]*):(.*)$")

# match strengths, strongest first; "star" is everyone and counts as naming the principal itself
DIRECT, STAR, ROLE, ACCOUNT, SERVICE = "direct", "star", "role", "account", "service"


@dataclass(frozen=True)
class Who:
    """The request principal, parsed: kind is user, role, session, root, federated_user, service, anonymous or other."""

    text: str
    kind: str
    account: Optional[str] = None
    arn: Optional[str] = None
    role_arn: Optional[str] = None
    role_name: Optional[str] = None
    user_name: Optional[str] = None
    service_linked: bool = False
    is_iam: bool = field(init=False)  # an authenticated AWS identity (not anonymous, not a service principal)

    def __post_init__(self) -> None:
        object.__setattr__(self, "is_iam", self.kind not in ("anonymous", "service"))

    @property
    def principal_arn(self) -> Optional[str]:
        """The value of ``aws:PrincipalArn``: the role's ARN for a role session (IAM condition keys doc)."""
        return self.role_arn if self.kind == "session" else self.arn


@lru_cache(maxsize=4096)
def principal_of(text: str) -> Who:
    """Parse a request principal: IAM user/role/root ARN, STS session or federated-user ARN, service, anonymous."""
    if not isinstance(text, str):
        raise TypeError("principal must be a string")
    if text == "anonymous" or text == "*":
        return Who(text, "anonymous")
    found = _IAM_ARN.match(text)
    if found is None:
        if "." in text and not text.startswith("arn:"):
            return Who(text, "service")
        if _ACCOUNT.match(text):
            return Who(f"arn:aws:iam::{text}:root", "root", text, f"arn:aws:iam::{text}:root")
        return Who(text, "other")
    partition, service, account, rest = found.groups()
    if service == "iam":
        if rest == "root":
            return Who(text, "root", account, text)
        if rest.startswith("user/"):
            return Who(text, "user", account, text, user_name=rest.rsplit("/", 1)[-1])
        if rest.startswith("role/"):
            path_and_name = rest[len("role/"):]
            return Who(text, "role", account, text, text, path_and_name.rsplit("/", 1)[-1],
                       service_linked=path_and_name.startswith("aws-service-role/"))
        return Who(text, "other", account, text)
    if rest.startswith("assumed-role/"):
        pieces = rest[len("assumed-role/"):].split("/")
        if len(pieces) >= 2:
            role_path_and_name = "/".join(pieces[:-1])
            role_arn = f"arn:{partition}:iam::{account}:role/{role_path_and_name}"
            return Who(text, "session", account, text, role_arn, pieces[-2],
                       service_linked=role_path_and_name.startswith("aws-service-role/"))
    if rest.startswith("federated-user/"):
        return Who(text, "federated_user", account, text)
    return Who(text, "other", account, text)


class PrincipalSpec:
    """A compiled Principal/NotPrincipal element (shared between statements: read-only)."""

    __slots__ = ("star", "accounts", "arns", "roles", "services", "federated", "canonical", "broad")

    def __init__(self, star: bool, accounts: frozenset, arns: frozenset, roles: frozenset, services: frozenset,
                 federated: frozenset, canonical: frozenset, broad: bool) -> None:
        self.star = star
        self.accounts = accounts
        self.arns = arns
        self.roles = roles  # (account, role name)
        self.services = services
        self.federated = federated
        self.canonical = canonical
        self.broad = broad  # "*" or an AWS entry holding a wildcard (S3 "meaning of public")

    def match(self, who: Who) -> Optional[str]:
        """The strongest way this element names ``who``, or None when it does not."""
        if who.kind == "anonymous":
            return STAR if self.star else None
        if who.kind == "service":
            if who.text.lower() in self.services or "*" in self.services:
                return SERVICE
            return STAR if self.star else None
        # the entries are alternatives: the strongest way of naming the caller counts
        named_arn = who.arn is not None and who.arn in self.arns
        if named_arn and who.kind != "role":
            return DIRECT
        if who.text in self.federated or who.text in self.canonical:
            return DIRECT
        if self.star:
            return STAR
        if named_arn or (who.role_name is not None and (who.account, who.role_name) in self.roles):
            return ROLE
        if who.account is not None and who.account in self.accounts:
            return DIRECT if who.kind == "root" else ACCOUNT
        return None

    def entries(self) -> tuple[str, ...]:
        """Every named principal as ``KIND:value`` text (for reports)."""
        out = ["*"] if self.star else []
        out += [f"AWS:{a}" for a in sorted(self.accounts)]
        out += [f"AWS:{a}" for a in sorted(self.arns)]
        out += [f"Service:{s}" for s in sorted(self.services)]
        out += [f"Federated:{s}" for s in sorted(self.federated)]
        out += [f"CanonicalUser:{s}" for s in sorted(self.canonical)]
        return tuple(out)


def compile_principal(element: object, place: str) -> PrincipalSpec:
    """Validate and compile a Principal or NotPrincipal element (cached by its content)."""
    if element == "*":
        return _STAR
    if isinstance(element, dict):
        try:
            key = tuple((k, tuple(v) if isinstance(v, list) else v) for k, v in element.items())
            hash(key)
        except TypeError:
            key = None
        if key is not None:
            try:
                return _compile_cached(key)
            except PolicyError as err:
                raise PolicyError(place + err.place, err.problem) from None
    return _compile_principal(element, place)


@lru_cache(maxsize=4096)
def _compile_cached(key: tuple) -> PrincipalSpec:
    return _compile_principal({k: list(v) if isinstance(v, tuple) else v for k, v in key}, "")


def _compile_principal(element: object, place: str) -> PrincipalSpec:
    star = False
    broad = False
    accounts, arns, roles, services, federated, canonical = set(), set(), set(), set(), set(), set()
    if element == "*":
        star = broad = True
    elif isinstance(element, dict) and element:
        for kind, value in element.items():
            where = f"{place}.{kind}"
            names = string_list(value, where)
            if kind == "AWS":
                for name in names:
                    if name == "*":
                        star = broad = True
                    elif _ACCOUNT.match(name):
                        accounts.add(name)
                    else:
                        if "*" in name or "?" in name:
                            broad = True
                        found = _IAM_ARN.match(name)
                        if found and found.group(4) == "root":
                            accounts.add(found.group(3))
                            continue
                        arns.add(name)
                        if found and found.group(2) == "iam" and found.group(4).startswith("role/"):
                            roles.add((found.group(3), found.group(4).rsplit("/", 1)[-1]))
            elif kind == "Service":
                services.update(n.lower() for n in names)
            elif kind == "Federated":
                federated.update(names)
            elif kind == "CanonicalUser":
                canonical.update(names)
            else:
                raise PolicyError(place, f"unknown principal type {kind!r} "
                                         "(expected AWS, Service, Federated or CanonicalUser)")
    else:
        raise PolicyError(place, "must be \"*\" or an object with AWS, Service, Federated or CanonicalUser")
    return PrincipalSpec(star, frozenset(accounts), frozenset(arns), frozenset(roles), frozenset(services),
                         frozenset(federated), frozenset(canonical), broad)


_STAR = _compile_principal("*", "")
