"""Parsed, validated, immutable policies (IAM "JSON policy element reference" and "grammar").

Usage: ``policy = Policy.parse('{"Version": "2012-10-17", "Statement": [...]}', kind="identity")``

Parsing checks the whole grammar; patterns and conditions are compiled on first use and kept (compiled regular
expressions are cached by their text), so a document parsed once is matched many times cheaply.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Optional, Union

from .conditions import Condition, check_condition, shared_condition
from .errors import PolicyError, string_list
from .patterns import Template, match_patterns, template
from .principals import PrincipalSpec, compile_principal

KINDS = ("identity", "resource", "boundary", "scp", "rcp", "session", "trust")
VERSIONS = ("2012-10-17", "2008-10-17")
_TOP = ("Version", "Id", "Statement")
_ELEMENTS = ("Sid", "Effect", "Principal", "NotPrincipal", "Action", "NotAction", "Resource", "NotResource",
             "Condition")
_NO_PRINCIPAL_KINDS = ("identity", "boundary", "scp", "session")
_NEEDS_PRINCIPAL_KINDS = ("resource", "trust")
# kinds whose statements may leave out Resource: a resource-based or trust policy then covers the resource it is
# attached to; SCP/RCP statements without it cover every resource
_RESOURCE_OPTIONAL_KINDS = ("resource", "trust", "scp", "rcp")
_VARIABLE_FAMILIES = frozenset(("string", "arn"))  # condition families whose values may hold policy variables


class Element:
    """An Action/NotAction/Resource/NotResource element: ``patterns`` as written, ``dynamic`` variable templates."""

    __slots__ = ("patterns", "dynamic")

    def __init__(self, patterns: tuple[str, ...], dynamic: tuple = ()) -> None:
        self.patterns = patterns
        self.dynamic = dynamic

    def matches(self, text: str) -> bool:
        """Action test (case-insensitive; ``text`` lower-case)."""
        return match_patterns(tuple(p.lower() for p in self.patterns), text, True)


def _split_resources(patterns: tuple[str, ...], variables: bool) -> tuple[tuple[str, ...], tuple[Template, ...]]:
    """Static patterns, and templates of the patterns holding policy variables (2012-10-17 only)."""
    if not variables or ("${" not in patterns[0] if len(patterns) == 1 else "${" not in "".join(patterns)):
        return patterns, ()
    static, dynamic = [], []
    for pattern in patterns:
        if "${" in pattern:
            parsed = template(pattern, True)
            if parsed.is_static:
                static.append(pattern)
            else:
                dynamic.append(parsed)
        else:
            static.append(pattern)
    return tuple(static), tuple(dynamic)


class Statement:
    """One validated statement (treat as read-only; it belongs to its immutable Policy).

    ``index``, ``sid``, ``effect``, ``document`` (the source dict); ``action``/``not_action``,
    ``resource``/``not_resource`` (Element or None); ``principal``/``not_principal`` (PrincipalSpec or None);
    ``conditions`` (compiled on first use); ``required_keys`` (variables without default).
    """

    __slots__ = ("index", "sid", "effect", "document", "principal", "not_principal", "actions", "negated_action",
                 "resources", "negated_resource", "dynamic_resources", "required_keys", "_checked_conditions",
                 "_conditions", "_variables", "is_allow", "has_conditions", "resource_needs_check", "needs_check",
                 "only_conditions")

    def __init__(self, index: int, sid: Optional[str], effect: str, document: dict, principal: Optional[PrincipalSpec],
                 not_principal: Optional[PrincipalSpec],
                 actions: tuple, negated_action: bool, resources: Optional[tuple], negated_resource: bool,
                 dynamic_resources: tuple, checked_conditions: tuple, variables: bool) -> None:
        self.index = index
        self.sid = sid
        self.effect = effect
        self.document = document
        self.principal = principal
        self.not_principal = not_principal
        self.actions = actions  # lower-case
        self.negated_action = negated_action
        self.resources = resources  # static patterns; None when the statement has no Resource element
        self.negated_resource = negated_resource
        self.dynamic_resources = dynamic_resources
        self._checked_conditions = checked_conditions
        self._conditions = None
        self._variables = variables
        keys = [k for t in dynamic_resources for k in t.required_keys] if dynamic_resources else None
        if variables and checked_conditions:
            for operator, key, values, texts in checked_conditions:
                if operator.family in _VARIABLE_FAMILIES:
                    for text in texts:
                        if "${" in text:
                            keys = (keys or []) + list(template(text, True).required_keys)
        self.required_keys = tuple(dict.fromkeys(keys)) if keys else ()
        self.is_allow = effect == "Allow"
        has_conditions = self.has_conditions = bool(checked_conditions)
        # whether matches_resource must still run after the maybe_resource pre-filter
        resource_check = self.resource_needs_check = negated_resource or bool(dynamic_resources)
        self.needs_check = bool(keys) or resource_check or has_conditions
        # conditions without variables to resolve and no resource test left: the fast path of evaluation
        self.only_conditions = has_conditions and not keys and not resource_check

    @property
    def conditions(self) -> tuple[Condition, ...]:
        found = self._conditions
        if found is None:
            found = tuple(shared_condition(operator.text, key, tuple(texts), self._variables)
                          for operator, key, values, texts in self._checked_conditions)
            self._conditions = found
        return found

    def _element(self, name: str) -> Optional[Element]:
        raw = self.document.get(name)
        if raw is None:
            return None
        patterns = tuple(raw) if isinstance(raw, list) else (raw,)
        dynamic = self.dynamic_resources if name in ("Resource", "NotResource") else ()
        return Element(patterns, dynamic)

    @property
    def action(self) -> Optional[Element]:
        return self._element("Action")

    @property
    def not_action(self) -> Optional[Element]:
        return self._element("NotAction")

    @property
    def resource(self) -> Optional[Element]:
        return self._element("Resource")

    @property
    def not_resource(self) -> Optional[Element]:
        return self._element("NotResource")

    @property
    def label(self) -> str:
        """``Sid 'X'`` or ``Statement[i]``."""
        return f"Sid {self.sid!r}" if self.sid else f"Statement[{self.index}]"

    def matches_action(self, action_lower: str) -> bool:
        return match_patterns(self.actions, action_lower, True) != self.negated_action

    def maybe_resource(self, resource: str) -> bool:
        """Cheap pre-filter: False only when the resource certainly does not match (no variables involved)."""
        if self.resources is None or self.negated_resource or self.dynamic_resources:
            return True
        return match_patterns(self.resources, resource, False)

    def matches_resource(self, resource: str, lookup) -> bool:
        """Full resource test (raises Unresolved when a variable cannot be resolved)."""
        if self.resources is None:
            return True  # no Resource element: the resource the policy is attached to, or every resource
        hit = match_patterns(self.resources, resource, False) or any(
            t.matches(resource, lookup) for t in self.dynamic_resources)
        return hit != self.negated_resource


@dataclass(frozen=True, eq=False)
class Policy:
    """A parsed policy: ``document`` (the source dict), ``kind``, ``version``, ``statements``, ``name``."""

    document: dict
    kind: str
    version: Optional[str]
    statements: tuple[Statement, ...]
    name: Optional[str] = None
    source: Optional[str] = None
    _memo: dict = field(default_factory=dict, repr=False, compare=False)

    @property
    def variables(self) -> bool:
        """Policy variables are substituted only in Version 2012-10-17 documents."""
        return self.version == "2012-10-17"

    @classmethod
    def parse(cls, doc: Union[dict, str, bytes, "Policy"], kind: str = "identity", name: Optional[str] = None,
              source: Optional[str] = None) -> "Policy":
        """Validate and compile ``doc`` (dict, JSON text or Policy) as a policy of ``kind``."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
        if isinstance(doc, Policy):
            if doc.kind == kind and (name is None or name == doc.name):
                return doc
            return cls.parse(doc.document, kind, name or doc.name, source or doc.source)
        if isinstance(doc, (str, bytes, bytearray)):
            try:
                doc = json.loads(doc)
            except ValueError as err:
                problem = f"not valid JSON ({err.msg} at line {err.lineno} column {err.colno})"
                raise PolicyError("Policy", problem) from None
        if not isinstance(doc, dict):
            raise PolicyError("Policy", f"must be a JSON object, not {type(doc).__name__}")
        for key in doc:
            if key not in _TOP:
                raise PolicyError("Policy", f"unknown element {key!r} (expected Version, Id, Statement)")
        version = doc.get("Version")
        if version is not None and version not in VERSIONS:
            raise PolicyError("Version", f"{version!r} is not a policy language version (2012-10-17 or 2008-10-17)")
        if "Id" in doc and not isinstance(doc["Id"], str):
            raise PolicyError("Id", "must be a string")
        if "Statement" not in doc:
            raise PolicyError("Policy", "missing Statement")
        raw = doc["Statement"]
        if isinstance(raw, dict):
            raw = [raw]
        elif not isinstance(raw, list):
            raise PolicyError("Statement", "must be an object or a list of objects")
        variables = version == "2012-10-17"
        statements = tuple([_parse_statement(item, i, kind, variables) for i, item in enumerate(raw)])
        policy = object.__new__(cls)  # the frozen dataclass's fields, set at once (parsing is on the hot path)
        policy.__dict__.update(document=doc, kind=kind, version=version, statements=statements, name=name,
                               source=source, _memo={})
        return policy

    def candidates(self, action_lower: str, resource: str) -> tuple[Statement, ...]:
        """Statements whose Action and static Resource patterns match (memoised per policy; a cache only)."""
        key = (action_lower, resource)
        found = self._memo.get(key)
        if found is None:
            found = tuple(s for s in self.statements if s.matches_action(action_lower) and s.maybe_resource(resource))
            if len(self._memo) > 4096:
                self._memo.clear()
            self._memo[key] = found
        return found


_ELEMENT_SET = frozenset(_ELEMENTS)


def _parse_statement(item: object, index: int, kind: str, variables: bool) -> Statement:
    if type(item) is not dict:
        if not isinstance(item, dict):
            raise PolicyError(f"Statement[{index}]", "must be an object")
    if not _ELEMENT_SET.issuperset(item):
        unknown = next(key for key in item if key not in _ELEMENT_SET)
        raise PolicyError(f"Statement[{index}]", f"unknown element {unknown!r}")
    get = item.get
    sid = get("Sid")
    if sid is not None and type(sid) is not str:
        raise PolicyError(f"Statement[{index}].Sid", "must be a string")
    effect = get("Effect")
    if effect != "Allow" and effect != "Deny":
        if effect is None:
            raise PolicyError(f"Statement[{index}]", "missing Effect")
        raise PolicyError(f"Statement[{index}].Effect", f"must be \"Allow\" or \"Deny\", not {effect!r}")
    raw = get("Action")
    negated_action = raw is None
    if negated_action:
        raw = get("NotAction")
        if raw is None:
            raise PolicyError(f"Statement[{index}]", "missing Action (or NotAction)")
    elif "NotAction" in item:
        raise PolicyError(f"Statement[{index}]", "has both Action and NotAction")
    actions = _actions(raw, index, "NotAction" if negated_action else "Action")
    resources = None
    dynamic: tuple = ()
    raw = get("Resource")
    negated_resource = raw is None and "NotResource" in item
    if negated_resource:
        raw = item["NotResource"]
    elif raw is not None and "NotResource" in item:
        raise PolicyError(f"Statement[{index}]", "has both Resource and NotResource")
    if raw is not None:
        if type(raw) is str and raw:
            if variables and "${" in raw:
                resources, dynamic = _split_resources((raw,), variables)
            else:
                resources = (raw,)
        else:
            element = "NotResource" if negated_resource else "Resource"
            resources, dynamic = _split_resources(string_list(raw, f"Statement[{index}].{element}"), variables)
    elif kind not in _RESOURCE_OPTIONAL_KINDS:
        raise PolicyError(f"Statement[{index}]", "missing Resource (or NotResource)")
    principal = not_principal = None
    if "Principal" in item or "NotPrincipal" in item:
        if kind in _NO_PRINCIPAL_KINDS:
            element = "Principal" if "Principal" in item else "NotPrincipal"
            raise PolicyError(f"Statement[{index}].{element}", f"not allowed in a {kind} policy")
        if "Principal" in item:
            if "NotPrincipal" in item:
                raise PolicyError(f"Statement[{index}]", "has both Principal and NotPrincipal")
            principal = compile_principal(item["Principal"], f"Statement[{index}].Principal")
        else:
            not_principal = compile_principal(item["NotPrincipal"], f"Statement[{index}].NotPrincipal")
    elif kind in _NEEDS_PRINCIPAL_KINDS:
        raise PolicyError(f"Statement[{index}]", f"missing Principal (required in a {kind} policy)")
    checked: tuple = ()
    block = get("Condition")
    if block is not None:
        if type(block) is not dict:
            raise PolicyError(f"Statement[{index}].Condition", "must be an object of operator -> {key: values}")
        checked = []  # type: ignore[assignment]
        for operator, entries in block.items():
            if type(entries) is not dict:
                raise PolicyError(f"Statement[{index}].Condition", f"{operator!r} must map condition keys to values")
            for key, values in entries.items():
                checked.append(check_condition(operator, key, values, index))  # type: ignore[attr-defined]
    return Statement(index, sid, effect, item, principal, not_principal, actions, negated_action, resources,
                     negated_resource, dynamic, checked, variables)


@lru_cache(maxsize=8192)
def _lower(text: str) -> str:
    return text.lower()


def _actions(value: object, index: int, element: str) -> tuple[str, ...]:
    """Validated Action/NotAction patterns, lower-cased for matching."""
    if type(value) is str and value and (value == "*" or ":" in value):
        return (_lower(value),)
    if type(value) is list and value:
        for pattern in value:
            if type(pattern) is not str or (":" not in pattern and pattern != "*"):
                break
        else:
            return tuple(map(_lower, value))
    patterns = string_list(value, f"Statement[{index}].{element}")
    for pattern in patterns:
        if pattern != "*" and ":" not in pattern:
            raise PolicyError(f"Statement[{index}].{element}", f"{pattern!r} is not \"*\" nor \"service:action\"")
    return tuple(map(_lower, patterns))


Document = Union[dict, str, bytes, Policy]


@lru_cache(maxsize=16)  # a small cache: the same JSON texts passed again and again
def _parse_cached(text: str, kind: str) -> Policy:
    return Policy.parse(text, kind)


def as_policy(doc: Document, kind: str) -> Policy:
    """``doc`` as a parsed Policy of ``kind``: a Policy of that kind as it is (a trust policy serves as a resource
    policy), anything else parsed (the last few JSON texts are remembered)."""
    if isinstance(doc, Policy):
        if doc.kind == kind or (kind == "resource" and doc.kind == "trust"):
            return doc
        return Policy.parse(doc, kind)
    if isinstance(doc, (bytes, bytearray)):
        doc = doc.decode()
    if isinstance(doc, str):
        return _parse_cached(doc, kind)
    return Policy.parse(doc, kind)
