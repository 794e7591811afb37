"""Condition operators of the reference model, transcribed from AWS's condition operator tables.

Usage: ``condition_block_matches({"StringEquals": {"aws:username": "alice"}}, context, "2012-10-17")``.

Rules followed (IAM JSON policy elements: Condition operators; Conditions with multiple context keys or values;
Single-valued vs. multivalued context keys):
- operators are AND'ed, keys under one operator are AND'ed, the values of one key are OR'ed; a negated operator
  over several values is a NOR;
- a key missing from the request context makes a positive operator false and a negated one true; ``...IfExists``
  makes a missing key true; ``Null`` tests presence (an empty multivalued key counts as null);
- ``ForAnyValue:`` is false and ``ForAllValues:`` is true on a missing or empty key (with ``IfExists``: true);
  otherwise each request value is tested on its own against the whole list of policy values;
- a multivalued key used without a set operator (AWS says not to): a positive operator holds when any request value
  matches any policy value, a negated operator when none does.
"""
from __future__ import annotations

import datetime
import ipaddress
from typing import Any, Callable

from .patterns import expand, glob_match, scalar_text, tokens_text

NEGATED_TO_POSITIVE = {
    "StringNotEquals": "StringEquals",
    "StringNotEqualsIgnoreCase": "StringEqualsIgnoreCase",
    "StringNotLike": "StringLike",
    "NumericNotEquals": "NumericEquals",
    "DateNotEquals": "DateEquals",
    "NotIpAddress": "IpAddress",
    "ArnNotEquals": "ArnEquals",
    "ArnNotLike": "ArnLike",
}

# operator families whose policy values may hold policy variables
VARIABLE_FAMILIES = ("String", "Arn")


class Unresolvable(Exception):
    """A policy variable in a condition value has no value and no default."""


def condition_block_matches(block: dict, context: dict[str, Any], version: str | None) -> bool:
    """True when every operator and key of a Condition block holds for the request context."""
    for operator, keys in block.items():
        for key, policy_values in keys.items():
            values = policy_values if isinstance(policy_values, list) else [policy_values]
            if not _key_matches(operator, key.lower(), values, context, version):
                return False
    return True


def variables_resolve(block: dict, context: dict[str, Any], version: str | None) -> bool:
    """False when a String*/Arn* condition value holds a policy variable that cannot be resolved."""
    for operator, keys in block.items():
        base = _split(operator)[1]
        if not base.startswith(VARIABLE_FAMILIES):
            continue
        for policy_values in keys.values():
            values = policy_values if isinstance(policy_values, list) else [policy_values]
            for value in values:
                if expand(scalar_text(value), context, version) is None:
                    return False
    return True


def _split(operator: str) -> tuple[str | None, str, bool]:
    qualifier = None
    for prefix in ("ForAnyValue:", "ForAllValues:"):
        if operator.startswith(prefix):
            qualifier = prefix[:-1]
            operator = operator[len(prefix):]
    if_exists = operator.endswith("IfExists")
    if if_exists:
        operator = operator[: -len("IfExists")]
    return qualifier, operator, if_exists


def _key_matches(operator: str, key: str, policy_values: list, context: dict[str, Any], version: str | None) -> bool:
    qualifier, base, if_exists = _split(operator)
    present = key in context
    request_value = context.get(key)

    if base == "Null":
        is_null = (not present) or request_value == [] or request_value == ()
        return any((scalar_text(p).lower() == "true") == is_null for p in policy_values)

    if qualifier is not None:
        request_values = _as_list(request_value) if present else []
        if if_exists and not request_values:
            return True  # IfExists: "If the key is not present, evaluate the condition element as true"
        if qualifier == "ForAnyValue":
            return any(_single_value(base, v, policy_values, context, version) for v in request_values)
        return all(_single_value(base, v, policy_values, context, version) for v in request_values)

    if not present:
        return if_exists or base in NEGATED_TO_POSITIVE
    request_values = _as_list(request_value)
    if not request_values:
        return if_exists or base in NEGATED_TO_POSITIVE
    # a multivalued key without a set operator: a positive operator holds when some request value matches some
    # policy value; a negated operator is its negation (no request value matches any policy value: a NOR)
    if base in NEGATED_TO_POSITIVE:
        positive = NEGATED_TO_POSITIVE[base]
        return not any(_compare(positive, v, p, context, version) for v in request_values for p in policy_values)
    return any(_compare(base, v, p, context, version) for v in request_values for p in policy_values)


def _as_list(value: Any) -> list:
    if isinstance(value, (list, tuple)):
        return list(value)
    return [value]


def _single_value(base: str, request_value: Any, policy_values: list, context: dict, version: str | None) -> bool:
    """One request value against all policy values: OR for a positive operator, NOR for a negated one."""
    if base in NEGATED_TO_POSITIVE:
        positive = NEGATED_TO_POSITIVE[base]
        return not any(_compare(positive, request_value, p, context, version) for p in policy_values)
    return any(_compare(base, request_value, p, context, version) for p in policy_values)


def _compare(base: str, request_value: Any, policy_value: Any, context: dict, version: str | None) -> bool:
    compare = _COMPARATORS.get(base)
    if compare is None:
        raise ValueError(f"unknown condition operator {base!r}")
    return compare(request_value, policy_value, context, version)


def _policy_tokens(policy_value: Any, context: dict, version: str | None):
    tokens = expand(scalar_text(policy_value), context, version)
    if tokens is None:
        raise Unresolvable(scalar_text(policy_value))
    return tokens


def _string_equals(r, p, ctx, ver) -> bool:
    return scalar_text(r) == tokens_text(_policy_tokens(p, ctx, ver))


def _string_equals_ignore_case(r, p, ctx, ver) -> bool:
    return scalar_text(r).lower() == tokens_text(_policy_tokens(p, ctx, ver)).lower()


def _string_like(r, p, ctx, ver) -> bool:
    return glob_match(_policy_tokens(p, ctx, ver), scalar_text(r))


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _numeric(test: Callable[[float, float], bool]):
    def compare(r, p, ctx, ver) -> bool:
        a, b = _number(r), _number(p)
        if a is None or b is None:
            return False
        return test(a, b)
    return compare


def _epoch(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    text = str(value).strip()
    try:
        return float(text)
    except ValueError:
        pass
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.timezone.utc)
    return moment.timestamp()


def _date(test: Callable[[float, float], bool]):
    def compare(r, p, ctx, ver) -> bool:
        a, b = _epoch(r), _epoch(p)
        if a is None or b is None:
            return False
        return test(a, b)
    return compare


def _bool(r, p, ctx, ver) -> bool:
    return scalar_text(r).lower() == scalar_text(p).lower()


def _binary(r, p, ctx, ver) -> bool:
    return scalar_text(r) == scalar_text(p)


def _ip(r, p, ctx, ver) -> bool:
    try:
        address = ipaddress.ip_address(scalar_text(r).strip())
        network = ipaddress.ip_network(scalar_text(p).strip(), strict=False)
    except ValueError:
        return False
    if address.version != network.version:
        return False
    return address in network


def _arn_like(r, p, ctx, ver) -> bool:
    """ArnEquals and ArnLike: the six colon-separated parts are matched one by one, wildcards allowed in each."""
    tokens = _policy_tokens(p, ctx, ver)
    if tokens == [("any", "*")]:
        return True  # a lone "*" matches every ARN, as it does in the Resource element
    value_parts = scalar_text(r).split(":", 5)
    pattern_parts = tokens_text_parts(tokens)
    if len(value_parts) != 6 or len(pattern_parts) != 6:
        return False
    return all(glob_match(pt, vp) for pt, vp in zip(pattern_parts, value_parts))


def tokens_text_parts(tokens) -> list:
    """Split a token list at its first five literal colons (the ARN separators)."""
    parts: list = [[]]
    for token in tokens:
        if token == ("lit", ":") and len(parts) < 6:
            parts.append([])
        else:
            parts[-1].append(token)
    return parts


_COMPARATORS: dict[str, Callable[..., bool]] = {
    "StringEquals": _string_equals,
    "StringEqualsIgnoreCase": _string_equals_ignore_case,
    "StringLike": _string_like,
    "NumericEquals": _numeric(lambda a, b: a == b),
    "NumericLessThan": _numeric(lambda a, b: a < b),
    "NumericLessThanEquals": _numeric(lambda a, b: a <= b),
    "NumericGreaterThan": _numeric(lambda a, b: a > b),
    "NumericGreaterThanEquals": _numeric(lambda a, b: a >= b),
    "DateEquals": _date(lambda a, b: a == b),
    "DateLessThan": _date(lambda a, b: a < b),
    "DateLessThanEquals": _date(lambda a, b: a <= b),
    "DateGreaterThan": _date(lambda a, b: a > b),
    "DateGreaterThanEquals": _date(lambda a, b: a >= b),
    "Bool": _bool,
    "BinaryEquals": _binary,
    "IpAddress": _ip,
    "ArnEquals": _arn_like,
    "ArnLike": _arn_like,
}
