"""Condition operators, compiled at parse time (IAM "Condition operators" and "multivalued context keys" docs).

Usage: ``cond = compile_condition("StringLikeIfExists", "s3:prefix", ["home/*"], place, True)``;
``cond.test(lookup)``

Rules followed:
- the values of one key are OR'ed; keys and operators are AND'ed by the caller;
- a negated operator (``StringNotEquals``, ``NotIpAddress``, ``ArnNotLike``...) matches when the request value equals
  none of the policy values (NOR), and matches when the key is missing;
- a positive operator does not match a missing key; ``...IfExists`` matches a missing key;
- ``ForAnyValue:`` needs at least one request value to match (missing or empty key: no match);
  ``ForAllValues:`` needs every request value to match (missing or empty key: match);
- without a set operator, a multivalued request key matches a positive operator when any of its values matches;
- ``Null`` tests presence: ``true`` matches an absent (or empty) key, ``false`` a present one.
"""

from __future__ import annotations

import base64
import binascii
import ipaddress
import math
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from typing import Callable, Optional

from .errors import PolicyError
from .patterns import Lookup, PatternSet, glob, has_wildcard, template, value_text

# operator -> (family, comparison, negated)
_BASE: dict[str, tuple[str, str, bool]] = {
    "StringEquals": ("string", "eq", False),
    "StringNotEquals": ("string", "eq", True),
    "StringEqualsIgnoreCase": ("string", "eqi", False),
    "StringNotEqualsIgnoreCase": ("string", "eqi", True),
    "StringLike": ("string", "like", False),
    "StringNotLike": ("string", "like", True),
    "NumericEquals": ("numeric", "eq", False),
    "NumericNotEquals": ("numeric", "eq", True),
    "NumericLessThan": ("numeric", "lt", False),
    "NumericLessThanEquals": ("numeric", "le", False),
    "NumericGreaterThan": ("numeric", "gt", False),
    "NumericGreaterThanEquals": ("numeric", "ge", False),
    "DateEquals": ("date", "eq", False),
    "DateNotEquals": ("date", "eq", True),
    "DateLessThan": ("date", "lt", False),
    "DateLessThanEquals": ("date", "le", False),
    "DateGreaterThan": ("date", "gt", False),
    "DateGreaterThanEquals": ("date", "ge", False),
    "Bool": ("bool", "eq", False),
    "BinaryEquals": ("binary", "eq", False),
    "IpAddress": ("ip", "in", False),
    "NotIpAddress": ("ip", "in", True),
    "ArnEquals": ("arn", "like", False),
    "ArnLike": ("arn", "like", False),
    "ArnNotEquals": ("arn", "like", True),
    "ArnNotLike": ("arn", "like", True),
    "Null": ("null", "null", False),
}
_BY_LOWER = {name.lower(): name for name in _BASE}
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "eq": lambda a, b: a == b,
    "lt": lambda a, b: a < b,
    "le": lambda a, b: a <= b,
    "gt": lambda a, b: a > b,
    "ge": lambda a, b: a >= b,
}


@dataclass(frozen=True)
class Operator:
    """A parsed operator name: base operator, set qualifier (``any``/``all``/None) and IfExists."""

    text: str
    base: str
    family: str
    comparison: str
    negated: bool
    qualifier: Optional[str]
    if_exists: bool


@lru_cache(maxsize=1024)
def parse_operator(text: str) -> Optional[Operator]:
    """The Operator named by ``text`` (case-insensitive), or None when it is not an IAM condition operator."""
    if not isinstance(text, str):
        return None
    rest = text
    qualifier = None
    lowered = rest.lower()
    if lowered.startswith("foranyvalue:"):
        qualifier, rest = "any", rest[len("ForAnyValue:"):]
    elif lowered.startswith("forallvalues:"):
        qualifier, rest = "all", rest[len("ForAllValues:"):]
    if_exists = False
    base = _BY_LOWER.get(rest.lower())
    if base is None and rest.lower().endswith("ifexists"):
        base = _BY_LOWER.get(rest[: -len("IfExists")].lower())
        if_exists = base is not None
    if base is None:
        return None
    family, comparison, negated = _BASE[base]
    if family == "null" and (if_exists or qualifier):
        return None
    return Operator(text, base, family, comparison, negated, qualifier, if_exists)


def _policy_text(value: object, place: str) -> str:
    if isinstance(value, (dict, list)) or value is None:
        raise PolicyError(place, f"condition value must be a string, number or boolean, not {type(value).__name__}")
    return value_text(value)


@lru_cache(maxsize=4096)
def _number(text: str) -> Optional[float]:
    try:
        number = float(text.strip())
    except (ValueError, AttributeError):
        return None
    return None if math.isnan(number) else number


@lru_cache(maxsize=4096)
def _date(text: str) -> Optional[float]:
    """Seconds since the epoch for an ISO 8601 date/time (UTC when no offset) or an epoch number."""
    text = text.strip()
    number = _number(text)
    if number is not None and "-" not in text[1:]:
        return number
    try:
        moment = datetime.fromisoformat(text.replace("z", "Z").replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=timezone.utc)
    return moment.timestamp()


@lru_cache(maxsize=4096)
def _ip(text: str):
    try:
        if "/" in text:
            return ipaddress.ip_network(text.strip(), strict=False)
        return ipaddress.ip_address(text.strip())
    except ValueError:
        return None


@lru_cache(maxsize=4096)
def _network(text: str):
    try:
        return ipaddress.ip_network(text.strip(), strict=False)
    except ValueError:
        return None


def _binary(text: str) -> bytes:
    try:
        return base64.b64decode(text.strip(), validate=True)
    except (binascii.Error, ValueError):
        return text.strip().encode()


def _request_values(raw: object) -> Optional[list]:
    """The request's values for a key as a list; None when absent. An empty list counts as absent."""
    if raw is None:
        return None
    if isinstance(raw, (list, tuple, set, frozenset)):
        values = [v for v in raw if v is not None]
        return values or None
    return [raw]


_MULTI = (list, tuple, set, frozenset)


def _arn_parts(text: str) -> tuple[str, ...]:
    return tuple(text.split(":", 5))


class Condition:
    """One (operator, key, values) triple; ``test(lookup)`` returns bool or raises Unresolved."""

    __slots__ = ("operator", "key", "values", "_match_one", "place", "dynamic", "_null_wanted", "required_keys",
                 "_texts", "_variables", "_memo")

    def __init__(self, operator: Operator, key: str, values: tuple, place: str, variables: bool,
                 texts: Optional[list] = None) -> None:
        self.operator = operator
        self.key = key.lower()
        self.values = values
        self.place = place
        self._variables = variables
        self._texts = texts if texts is not None else [_policy_text(v, place) for v in values]
        self._match_one = None
        self._memo: dict = {}
        self.required_keys, self.dynamic = _variable_keys(operator, self._texts, variables)

    # -- compile ---------------------------------------------------------------------------------------------
    def _build(self, variables: bool) -> Callable[[object, Lookup], bool]:
        op = self.operator
        texts = self._texts
        family = op.family
        if family == "string":
            return self._build_string(texts, op.comparison, variables)
        if family == "arn":
            return self._build_arn(texts, variables)
        if family in ("numeric", "date"):
            convert = _number if family == "numeric" else _date
            targets = []
            for text in texts:
                target = convert(text)
                if target is None:
                    kind = "a number" if family == "numeric" else "a date"
                    raise PolicyError(self.place, f"{op.base} value {text!r} for '{self.key}' is not {kind}")
                targets.append(target)
            compare = _COMPARE[op.comparison]

            def match_ordered(value: object, lookup: Lookup) -> bool:
                if isinstance(value, bool):
                    return False
                got = convert(value_text(value))
                return got is not None and any(compare(got, t) for t in targets)

            return match_ordered
        if family == "bool":
            wanted = {t.strip().lower() for t in texts}

            def match_bool(value: object, lookup: Lookup) -> bool:
                return value_text(value).strip().lower() in wanted

            return match_bool
        if family == "binary":
            wanted_bytes = {_binary(t) for t in texts}

            def match_binary(value: object, lookup: Lookup) -> bool:
                if isinstance(value, (bytes, bytearray)):
                    return bytes(value) in wanted_bytes
                return _binary(value_text(value)) in wanted_bytes

            return match_binary
        if family == "ip":
            networks = []
            for text in texts:
                network = _network(text)
                if network is None:
                    raise PolicyError(self.place,
                                      f"{op.base} value {text!r} for '{self.key}' is not an IP address or CIDR")
                networks.append(network)

            def match_ip(value: object, lookup: Lookup) -> bool:
                got = _ip(value_text(value))
                if got is None:
                    return False
                for network in networks:
                    if network.version != got.version:
                        continue
                    if isinstance(got, (ipaddress.IPv4Network, ipaddress.IPv6Network)):
                        if got.subnet_of(network):
                            return True
                    elif got in network:
                        return True
                return False

            return match_ip
        # null
        wanted_null = set()
        for text in texts:
            lowered = text.strip().lower()
            if lowered not in ("true", "false"):
                raise PolicyError(self.place, f"Null value {text!r} for '{self.key}' must be true or false")
            wanted_null.add(lowered == "true")
        self._null_wanted = wanted_null  # type: ignore[attr-defined]
        return lambda value, lookup: False

    def _build_string(self, texts: list[str], comparison: str, variables: bool):
        templates = [template(t, variables) for t in texts]
        self.dynamic = any(not t.is_static for t in templates)
        self.required_keys = tuple(k for t in templates for k in t.required_keys)
        if comparison == "like":
            if not self.dynamic:
                patterns = PatternSet(tuple(texts), False)
                return lambda value, lookup: patterns.matches(value_text(value))
            return lambda value, lookup: any(t.matches(value_text(value), lookup) for t in templates)
        fold = comparison == "eqi"
        if not self.dynamic:
            wanted = {t.lower() for t in texts} if fold else set(texts)
            if fold:
                return lambda value, lookup: value_text(value).lower() in wanted
            return lambda value, lookup: value_text(value) in wanted

        def match_dynamic(value: object, lookup: Lookup) -> bool:
            got = value_text(value)
            for t in templates:
                expected = t.text_value(lookup)
                if (got.lower() == expected.lower()) if fold else (got == expected):
                    return True
            return False

        return match_dynamic

    def _build_arn(self, texts: list[str], variables: bool):
        templates = [template(t, variables) for t in texts]
        self.dynamic = any(not t.is_static for t in templates)
        self.required_keys = tuple(k for t in templates for k in t.required_keys)

        def match_arn(value: object, lookup: Lookup) -> bool:
            got = value_text(value)
            got_parts = _arn_parts(got)
            for t in templates:
                pattern = t.text_value(lookup) if not t.is_static else t.text
                if _arn_like(pattern, got, got_parts):
                    return True
            return False

        return match_arn

    # -- evaluate --------------------------------------------------------------------------------------------
    def test(self, lookup: Lookup) -> bool:
        """Whether this condition holds for the request seen through ``lookup`` (lower-case key -> value)."""
        match_one = self._match_one
        if match_one is None:
            match_one = self._match_one = self._build(self._variables)
        op = self.operator
        raw = lookup(self.key)
        if type(raw) is str or (raw is not None and not isinstance(raw, _MULTI)):
            # one request value: the common case
            if op.family == "null":
                return False in self._null_wanted  # type: ignore[attr-defined]
            if op.qualifier is None:
                if self.dynamic or type(raw) is not str:
                    return match_one(raw, lookup) != op.negated
                memo = self._memo  # a cache: request value -> match
                hit = memo.get(raw)
                if hit is None:
                    hit = match_one(raw, lookup)
                    if len(memo) < 1024:
                        memo[raw] = hit
                return hit != op.negated
            values = [raw]
        else:
            values = _request_values(raw)
        if op.family == "null":
            return (values is None) in self._null_wanted  # type: ignore[attr-defined]
        if values is None:
            if op.qualifier == "all":
                return True
            if op.if_exists:
                return True
            if op.qualifier == "any":
                return False
            return op.negated
        if op.qualifier is None:
            hit = any(match_one(v, lookup) for v in values)
            return not hit if op.negated else hit
        if op.negated:
            outcomes = (not match_one(v, lookup) for v in values)
        else:
            outcomes = (match_one(v, lookup) for v in values)
        return any(outcomes) if op.qualifier == "any" else all(outcomes)


def _arn_like(pattern: str, got: str, got_parts: tuple[str, ...]) -> bool:
    """ArnEquals/ArnLike: each of the six colon-separated parts is matched on its own, with wildcards."""
    pattern_parts = _arn_parts(pattern)
    if len(pattern_parts) < 6:
        # not an ARN pattern ("*" and the like): match the whole text; a short "arn:..." pattern never matches
        return not pattern.startswith("arn:") and glob(pattern, False).fullmatch(got) is not None
    if len(got_parts) < 6:
        return False
    for want, have in zip(pattern_parts, got_parts):
        if want == have:
            continue
        if not has_wildcard(want) or glob(want, False).fullmatch(have) is None:
            return False
    return True


def _variable_keys(operator: Operator, texts: list, variables: bool) -> tuple[tuple[str, ...], bool]:
    """Keys of the variables without default in string/ARN values, and whether any value holds a variable."""
    if not variables or operator.family not in ("string", "arn") or not any("${" in t for t in texts):
        return (), False
    templates = [template(t, True) for t in texts]
    keys = tuple(k for t in templates for k in t.required_keys)
    return keys, any(not t.is_static for t in templates)


def check_condition(operator_text: str, key: object, raw_values: object, place: "str | int") -> tuple:
    """Validate one condition entry without compiling it: (Operator, key, values, texts) or PolicyError.

    ``place`` names the Condition element for error messages; a statement index stands for
    ``Statement[index].Condition`` (built only when an error is raised).
    """
    operator = parse_operator(operator_text)
    if operator is None:
        raise PolicyError(_where(place), f"unknown operator {operator_text!r}")
    if type(key) is not str or not key:
        raise PolicyError(_where(place), f"{operator_text}: condition key must be a non-empty string")
    values = tuple(raw_values) if type(raw_values) is list else (raw_values,)
    texts = values
    for value in values:
        if type(value) is not str:
            texts = tuple([_policy_text(v, f"{_where(place)}.{operator_text}.{key}") for v in values])
            break
    family = operator.family
    if family == "string" or family == "arn" or family == "bool" or family == "binary":
        return operator, key, values, texts
    where = f"{_where(place)}.{operator_text}.{key}"
    if family == "numeric" or family == "date":
        convert = _number if family == "numeric" else _date
        for text in texts:
            if convert(text) is None:
                kind = "a number" if family == "numeric" else "a date"
                raise PolicyError(where, f"{operator.base} value {text!r} for '{key.lower()}' is not {kind}")
    elif family == "ip":
        for text in texts:
            if _network(text) is None:
                raise PolicyError(where, f"{operator.base} value {text!r} for '{key.lower()}' is not an IP address "
                                         "or CIDR")
    elif family == "null":
        for text in texts:
            if text.strip().lower() not in ("true", "false"):
                raise PolicyError(where, f"Null value {text!r} for '{key.lower()}' must be true or false")
    return operator, key, values, texts


def _where(place: "str | int") -> str:
    return f"Statement[{place}].Condition" if isinstance(place, int) else place


@lru_cache(maxsize=8192)
def shared_condition(operator_text: str, key: str, texts: tuple, variables: bool) -> Condition:
    """A compiled Condition shared by every statement holding the same (already validated) entry; conditions are
    read-only, their matcher and per-value memo are caches."""
    operator = parse_operator(operator_text)
    return Condition(operator, key, texts, f"Condition.{operator_text}.{key}", variables, list(texts))


def compile_condition(operator_text: str, key: str, raw_values: object, place: str, variables: bool) -> Condition:
    """Validate and compile one condition entry; raises PolicyError naming ``place`` for a bad operator or value."""
    operator, key, values, texts = check_condition(operator_text, key, raw_values, place)
    return Condition(operator, key, values, f"{place}.{operator_text}.{key}", variables, texts)
