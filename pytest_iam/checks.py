"""Declarative checks: load them from YAML, run them against an Inventory, get Findings.

Usage::

    library = Library.load()                         # the shipped checks/ folder (+ plugins' check packs)
    result = library.run("iam-access-key-rotation", inventory, {"max_age_days": 60})
    assert result.passed, result.table()

A check names the resource type it iterates, an optional ``select`` (which resources are judged) and ``require``
(what must hold for each). Both use Cloud-Custodian-style value filters -- ``key`` (JMESPath), ``op``, ``value``,
``value_type: age`` (age in days) -- combined with ``and`` / ``or`` / ``not``, plus named predicates written in
Python (``predicate: name``) for what a filter cannot say. Checks know the Inventory and nothing about boto3.
"""

from __future__ import annotations

import _string  # type: ignore[import-not-found]  # the standard library's own format-field splitter
import datetime as dt
import functools
import re
import string
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Callable, Dict, FrozenSet, Iterable, List, Mapping, Optional, Tuple

import jmespath

from . import fields as declared
from .findings import (ERROR, FAIL, PASS, WAIVED, CheckDefinitionError, CheckError, Finding, declared_reads, did_you_mean,
                       plural, readable, unread_text)
from .files import load_yaml
from .inventory import Inventory, now
from .predicates import BUILTIN_PREDICATES
from .resources import RESOURCE_TYPES, ResourceUnavailable
from .schemas import validate

__all__ = [
    "PASS", "FAIL", "WAIVED", "ERROR", "SEVERITIES", "Check", "CheckDefinitionError", "CheckError", "CheckResult",
    "Finding", "Library", "Parameter", "parse_check", "predicates", "register_predicates", "run_check",
]

SEVERITIES = ("critical", "high", "medium", "low", "info")


# --- results ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class CheckResult:
    """Every finding of one check on one account, and why nothing was judged when nothing was.

    ``outcome`` is ``fail`` when any finding failed, else ``error`` when any could not be evaluated, else ``pass``.
    """

    check: "Check"
    account: str
    account_id: str
    params: Mapping[str, Any]
    findings: Tuple[Finding, ...]
    # None, or why no resource was in the check's scope ("the account has no IAM users", "none of the 12 users matched
    # select (password_enabled eq true)"). Also set when the check declares an empty scope non-compliant: then the
    # result carries one failing finding on the account as well.
    nothing_to_evaluate: Optional[str] = None

    def by_status(self, status: str) -> Tuple[Finding, ...]:
        return tuple(f for f in self.findings if f.status == status)

    @property
    def failed(self) -> Tuple[Finding, ...]:
        return self.by_status(FAIL)

    @property
    def errors(self) -> Tuple[Finding, ...]:
        return self.by_status(ERROR)

    @property
    def waived(self) -> Tuple[Finding, ...]:
        return self.by_status(WAIVED)

    @property
    def outcome(self) -> str:
        """``"fail"`` (something judged is wrong), ``"error"`` (something could not be judged) or ``"pass"``."""
        if self.failed:
            return FAIL
        if self.errors:
            return ERROR
        return PASS

    @property
    def passed(self) -> bool:
        return self.outcome == PASS

    @property
    def evaluated(self) -> int:
        return len(self.findings)

    def failed_resources(self) -> List[str]:
        """Unique ARNs of failing (and unevaluable) resources, sorted."""
        return sorted({f.resource for f in self.findings if f.status in (FAIL, ERROR)})

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        parts = [f"{len(self.failed)} failed"]
        if self.errors:
            parts.append(plural(len(self.errors), "error"))
        parts.append(f"{self.evaluated} evaluated")
        if self.waived:
            parts.append(f"{len(self.waived)} waived")
        line = f"{self.check.id} on {self.account} ({self.account_id}): " + ", ".join(parts)
        if self.nothing_to_evaluate:
            line += f"; nothing to evaluate: {self.nothing_to_evaluate}"
        return line

    def table(self, limit: int = 50) -> str:
        """The summary, then one line per failing, unevaluable or waived finding with its reason."""
        rows = [f for f in self.findings if f.status in (FAIL, ERROR, WAIVED)]
        lines = [self.summary()]
        if not rows:
            return lines[0]
        width = min(max(len(f.label) for f in rows), 60)
        for f in rows[:limit]:
            reason = " ".join(f.reason.split())
            lines.append(f"  {f.status.upper():<6} {f.label:<{width}}  {reason}")
        if len(rows) > limit:
            lines.append(f"  ... and {len(rows) - limit} more")
        return "\n".join(lines)

    def __repr__(self) -> str:
        return self.table()


# --- the check model -------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: Any = None
    description: str = ""
    minimum: Optional[float] = None
    items: Optional[str] = None


@dataclass(frozen=True)
class Check:
    id: str
    title: str
    severity: str
    resource: str
    rationale: str = ""
    remediation: str = ""
    frameworks: Mapping[str, Tuple[str, ...]] = field(default_factory=dict)
    parameters: Tuple[Parameter, ...] = ()
    select: Tuple[Any, ...] = ()
    require: Tuple[Any, ...] = ()
    source: str = "<built-in>"
    empty_scope_fails: Optional[str] = None  # the reason an empty scope is itself non-compliant (a template: {why})
    reads: Optional[Tuple[Tuple[Any, ...], Tuple[Any, ...]]] = field(default=None, compare=False, repr=False)

    def frameworks_text(self) -> str:
        return "; ".join(f"{name} {', '.join(ids)}" for name, ids in sorted(self.frameworks.items()))

    def resolve_params(self, given: Optional[Mapping[str, Any]] = None, where: str = "") -> Dict[str, Any]:
        """Defaults overlaid with ``given``; unknown names and wrong types raise CheckDefinitionError."""
        given = dict(given or {})
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            hint = did_you_mean(unknown[0], known)
            raise CheckDefinitionError(
                f"{where or self.id}: unknown parameter {unknown[0]!r} for check {self.id} "
                f"(known: {', '.join(sorted(known)) or 'none'})" + (f"; {hint}" if hint else "")
            )
        out = {}
        for name, param in known.items():
            value = given.get(name, param.default)
            if value is not None and not _type_ok(param, value):
                raise CheckDefinitionError(
                    f"{where or self.id}: parameter {name!r} of check {self.id} must be {param.type}, got {value!r}"
                )
            if param.minimum is not None and isinstance(value, (int, float)) and value < param.minimum:
                raise CheckDefinitionError(
                    f"{where or self.id}: parameter {name!r} of check {self.id} must be >= {param.minimum}, got {value!r}"
                )
            out[name] = value
        return out


_TYPES: Dict[str, Callable[[Any], bool]] = {
    "integer": lambda v: isinstance(v, int) and not isinstance(v, bool),
    "number": lambda v: isinstance(v, (int, float)) and not isinstance(v, bool),
    "boolean": lambda v: isinstance(v, bool),
    "string": lambda v: isinstance(v, str),
    "array": lambda v: isinstance(v, (list, tuple)),
}


def _type_ok(param: Parameter, value: Any) -> bool:
    if not _TYPES[param.type](value):
        return False
    if param.type == "array" and param.items:
        return all(_TYPES[param.items](v) for v in value)
    return True


def parse_check(data: Any, source: str) -> Check:
    validate("check", data, source, error=CheckDefinitionError)
    params = tuple(
        Parameter(
            name=name,
            type=spec["type"],
            default=spec.get("default"),
            description=spec.get("description", ""),
            minimum=spec.get("minimum"),
            items=(spec.get("items") or {}).get("type"),
        )
        for name, spec in (data.get("parameters") or {}).items()
    )
    check = Check(
        id=data["id"],
        title=data["title"],
        severity=data["severity"],
        resource=data["resource"],
        rationale=data.get("rationale", "").strip(),
        remediation=data.get("remediation", "").strip(),
        frameworks={k: tuple(str(x) for x in v) for k, v in (data.get("frameworks") or {}).items()},
        parameters=params,
        select=tuple(data.get("select") or ()),
        require=tuple(data.get("require") or ()),
        source=source,
        empty_scope_fails=(data.get("empty_scope") or {}).get("fail"),
    )
    if check.resource not in RESOURCE_TYPES or check.resource not in declared.RESOURCE_TYPES:
        known = sorted(declared.RESOURCE_TYPES)
        hint = did_you_mean(check.resource, known) or f"known: {', '.join(known)}"
        raise CheckDefinitionError(f"{source}: resource: unknown resource type {check.resource!r}; {hint}")
    check.resolve_params({}, where=source)  # defaults must match their own types
    for index, condition in enumerate(check.require):
        _lint(condition, f"{source}: require[{index}]", check)
    for index, condition in enumerate(check.select):
        _lint(condition, f"{source}: select[{index}]", check)
    if check.empty_scope_fails is not None:
        _lint_template(check.empty_scope_fails, f"{source}: empty_scope.fail", {"why"}, None)
    return replace(check, reads=check_reads(check))


def _lint(condition: Mapping[str, Any], where: str, check: Check) -> None:
    """Compile JMESPath keys against the declared fields, resolve predicate names, parameter references and reason
    templates now, not at run time."""
    names = {p.name for p in check.parameters}
    rtype = declared.resource_type(check.resource)
    for combinator in ("and", "or", "not"):
        if combinator in condition:
            for i, sub in enumerate(condition[combinator]):
                _lint(sub, f"{where}.{combinator}[{i}]", check)
            _lint_reason(condition, where, check, extra=())
            return
    if "predicate" in condition:
        name = condition["predicate"]
        known = predicates()
        if name not in known:
            hint = did_you_mean(name, known)
            raise CheckDefinitionError(f"{where}.predicate: unknown predicate {name!r} "
                                       f"(known: {', '.join(sorted(known))})" + (f"; {hint}" if hint else ""))
        fields_read = declared_reads(known[name])
        missing = [f for f in fields_read or () if rtype.field(f) is None]
        if missing:
            raise CheckDefinitionError(
                f"{where}.predicate: predicate {name!r} reads {', '.join(repr(m) for m in missing)}, which "
                f"{rtype.plural} do not have; it does not apply to resource type {rtype.name}"
            )
        _lint_reason(condition, where, check, extra=("actual",))
    if "key" in condition:
        try:
            parsed = compile_key(condition["key"])
        except jmespath.exceptions.JMESPathError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckDefinitionError(f"{where}.key: not a JMESPath expression ({first}): {condition['key']!r}") from None
        try:
            key_reads(parsed.parsed, rtype)
        except _KeyProblem as exc:
            shown = "" if str(exc).startswith(repr(condition["key"]) + " ") else f"{condition['key']!r}: "
            raise CheckDefinitionError(f"{where}.key: {shown}{exc}") from None
        _lint_reason(condition, where, check, extra=("actual", "age") if condition.get("value_type") == "age"
                     else ("actual",))
    for ref in _param_refs(condition):
        if not isinstance(ref, str):
            what = "null" if ref is None else f"a {type(ref).__name__}"
            raise CheckDefinitionError(f"{where}: a {{param: ...}} reference must name a parameter, got {what}")
        if ref not in names:
            hint = did_you_mean(ref, names)
            raise CheckDefinitionError(f"{where}: refers to unknown parameter {ref!r} "
                                       f"(known: {', '.join(sorted(names)) or 'none'})" + (f"; {hint}" if hint else ""))
    if condition.get("op") == "regex":
        try:
            re.compile(str(condition.get("value")))
        except re.error as exc:
            raise CheckDefinitionError(f"{where}.value: bad regular expression: {exc}") from None


def _lint_reason(condition: Mapping[str, Any], where: str, check: Check, extra: Tuple[str, ...]) -> None:
    if "reason" in condition:
        _lint_template(condition["reason"], f"{where}.reason", {p.name for p in check.parameters} | set(extra),
                       declared.resource_type(check.resource))


def _lint_template(template: str, where: str, names: set, rtype: Optional[declared.ResourceType]) -> None:
    """Every ``{name}`` of a reason must be a field of the resource type, a parameter, or one of ``names``."""
    try:
        parts = list(string.Formatter().parse(template))
    except ValueError as exc:
        raise CheckDefinitionError(f"{where}: not a valid reason template ({exc}): {template!r}") from None
    known = set(names) | set(rtype.names if rtype else ())
    for _text, field_name, _spec, _conversion in parts:
        if field_name is None:
            continue
        if field_name == "" or field_name.isdigit():
            raise CheckDefinitionError(f"{where}: '{{{field_name}}}' names nothing; write a field or parameter name")
        first, rest = _string.formatter_field_name_split(field_name)
        if first not in known:
            what = f"a field of {rtype.plural} or a parameter" if rtype else "a name this text may use"
            specials = sorted(n for n in names if n in ("actual", "age", "why"))
            hint = did_you_mean(first, known) or (
                f"{', '.join(repr(n) for n in specials)} may be used too" if specials and rtype else
                f"it may use {', '.join(repr(n) for n in specials)}" if specials else "")
            raise CheckDefinitionError(f"{where}: {{{field_name}}} is not {what}" + (f"; {hint}" if hint else ""))
        if rtype is None or first in names:
            continue
        shape = _shape_of(rtype.field(first), first)
        for is_attr, part in rest:
            if is_attr:
                raise CheckDefinitionError(
                    f"{where}: {{{field_name}}}: write {first}[{part}] to read {part!r}, not {first}.{part}")
            try:
                shape = _index_shape(shape, part)
            except _KeyProblem as exc:
                raise CheckDefinitionError(f"{where}: {{{field_name}}}: {exc}") from None


def _param_refs(node: Any) -> Iterable[str]:
    if isinstance(node, dict):
        if set(node) == {"param"}:
            yield node["param"]
            return
        for value in node.values():
            yield from _param_refs(value)
    elif isinstance(node, list):
        for value in node:
            yield from _param_refs(value)


# --- what a key reads ------------------------------------------------------------------------------------------------


class _KeyProblem(Exception):
    """A key that reads something the resource view does not have."""


@dataclass(frozen=True)
class _Shape:
    """What a JMESPath expression yields, as far as the declared fields say: an object of known fields, a list, a
    scalar, or anything (a policy document, a literal, a function's result)."""

    kind: str  # object / list / scalar / any
    path: str = ""
    fields: Tuple[declared.Field, ...] = ()
    item: Optional["_Shape"] = None
    type: str = ""
    root: bool = False


ANY = _Shape("any")


def _shape_of(f: Optional[declared.Field], path: str) -> _Shape:
    if f is None:
        return ANY
    if f.type == "object":
        return _Shape("object", path, f.fields) if f.fields else ANY
    if f.type == "list":
        item = _Shape("object", path + "[]", f.fields) if f.fields else ANY
        return _Shape("list", path, item=item)
    if f.type == "string list":
        return _Shape("list", path, item=_Shape("scalar", path + "[]", type="string"))
    if f.type == "document":
        return ANY
    return _Shape("scalar", path, type=f.type)


def _root_shape(rtype: declared.ResourceType) -> _Shape:
    return _Shape("object", rtype.plural, rtype.fields, root=True)


def _field_shape(shape: _Shape, name: str) -> _Shape:
    if shape.kind == "any":
        return ANY
    if shape.kind == "object":
        f = next((x for x in shape.fields if x.name == name), None)
        if f is None:
            names = [x.name for x in shape.fields]
            hint = did_you_mean(name, names)
            if name in ("null", "true", "false"):
                hint = f"write `{name}` (in backquotes) for the literal"
            raise _KeyProblem(f"{name!r} is not a field of {shape.path}" + (f"; {hint}" if hint else
                              f" (fields: {', '.join(names)})"))
        return _shape_of(f, name if shape.root else f"{shape.path}.{name}")
    if shape.kind == "list":
        raise _KeyProblem(f"{shape.path} is a list: write {shape.path}[].{name} to read {name!r} of each item")
    raise _KeyProblem(f"{shape.path} is a {shape.type}: it has no field {name!r}")


def _index_shape(shape: _Shape, part: Any) -> _Shape:
    """``shape[part]`` in a reason template: an index into a list, or a field of an object."""
    if isinstance(part, int):
        if shape.kind == "list":
            return shape.item or ANY
        if shape.kind == "any":
            return ANY
        raise _KeyProblem(f"{shape.path} is not a list, so [{part}] reads nothing")
    return _field_shape(shape, str(part))


class _Reads:
    def __init__(self) -> None:
        self.fields: set = set()
        self.everything = False


def key_reads(parsed: Mapping[str, Any], rtype: declared.ResourceType) -> Optional[FrozenSet[str]]:
    """The top-level fields a parsed JMESPath key reads (None: the whole view); raises _KeyProblem for a field or a
    path that the resource type does not declare."""
    reads = _Reads()
    result = _walk(parsed, _root_shape(rtype), reads)
    if result.root:
        reads.everything = True
    return None if reads.everything else frozenset(reads.fields)


def _walk(node: Mapping[str, Any], shape: _Shape, reads: _Reads) -> _Shape:  # noqa: C901 - one case per node type
    kind = node.get("type")
    children = node.get("children") or []
    if kind == "field":
        if shape.root:
            reads.fields.add(node["value"])
        return _field_shape(shape, node["value"])
    if kind in ("subexpression", "pipe"):
        return _walk(children[1], _walk(children[0], shape, reads), reads)
    if kind == "index_expression":
        left = _walk(children[0], shape, reads)
        if children[1].get("type") == "slice":
            return left
        return _index_shape(left, 0)
    if kind == "flatten":
        inner = _walk(children[0], shape, reads)
        if inner.kind == "list" and inner.item is not None and inner.item.kind == "list":
            return inner.item
        return inner if inner.kind == "list" else ANY
    if kind in ("projection", "filter_projection"):
        left = _walk(children[0], shape, reads)
        item = (left.item or ANY) if left.kind == "list" else ANY
        if kind == "filter_projection":
            _walk(children[2], item, reads)
        right = _walk(children[1], item, reads)
        return _Shape("list", left.path, item=right) if left.kind == "list" else ANY
    if kind == "value_projection":
        _walk(children[0], shape, reads)
        return ANY
    if kind == "function_expression":
        lists = []
        for child in children:
            if child.get("type") != "expref":
                result = _walk(child, shape, reads)
                if result.root:
                    reads.everything = True
                lists.append(result)
        item = next(((r.item or ANY) for r in lists if r.kind == "list"), ANY)
        for child in children:
            if child.get("type") == "expref":
                _walk(child["children"][0], item, reads)
        if node.get("value") in ("length", "to_number", "abs", "ceil", "floor", "sum", "avg"):
            return _Shape("scalar", type="number")
        return ANY
    if kind in ("comparator", "and_expression", "or_expression", "not_expression"):
        for child in children:
            _walk(child, shape, reads)
        return _Shape("scalar", type="boolean")
    if kind in ("current", "identity"):
        return shape
    if kind in ("multi_select_list", "multi_select_dict", "key_val_pair"):
        for child in children:
            _walk(child, shape, reads)
        return ANY
    return ANY  # literals, indexes, slices, exprefs outside a function


def condition_reads(condition: Mapping[str, Any], rtype: declared.ResourceType) -> Optional[FrozenSet[str]]:
    """The top-level fields a condition (with its sub-conditions) reads; None when it reads every field."""
    for combinator in ("and", "or", "not"):
        if combinator in condition:
            out: set = set()
            for sub in condition[combinator]:
                sub_reads = condition_reads(sub, rtype)
                if sub_reads is None:
                    return None
                out |= sub_reads
            return frozenset(out)
    if "predicate" in condition:
        fn = predicates().get(condition["predicate"])
        fields_read = declared_reads(fn) if fn is not None else None
        return None if fields_read is None else frozenset(fields_read)
    if "key" in condition:
        return key_reads(compile_key(condition["key"]).parsed, rtype)
    return frozenset()


# --- evaluating filters ----------------------------------------------------------------------------------------------


@functools.lru_cache(maxsize=1024)
def compile_key(expression: str) -> Any:
    return jmespath.compile(expression)


def _resolve(value: Any, params: Mapping[str, Any]) -> Any:
    if isinstance(value, dict) and set(value) == {"param"}:
        return params[value["param"]]
    if isinstance(value, list):
        return [_resolve(v, params) for v in value]
    return value


def age_days(value: Any, at: dt.datetime) -> Optional[float]:
    if isinstance(value, str):
        value = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    if not isinstance(value, dt.datetime):
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=dt.timezone.utc)
    return (at - value).total_seconds() / 86400.0


def _compare(op: str, actual: Any, expected: Any) -> bool:
    if op in ("eq", "equal"):
        return actual == expected
    if op in ("ne", "not-equal"):
        return actual != expected
    if op in ("in",):
        return actual in expected
    if op in ("not-in", "ni"):
        return actual not in expected
    if op == "contains":
        return actual is not None and expected in actual
    if op == "not-contains":
        return actual is None or expected not in actual
    if op == "regex":
        return actual is not None and re.fullmatch(str(expected), str(actual)) is not None
    if actual is None:
        return False
    try:
        if op in ("gt", "greater-than"):
            return actual > expected
        if op in ("ge", "gte"):
            return actual >= expected
        if op in ("lt", "less-than"):
            return actual < expected
        if op in ("le", "lte"):
            return actual <= expected
    except TypeError:
        return False
    raise CheckError(f"unknown op {op!r}")


SPECIAL_VALUES = {
    "absent": lambda v: v is None,
    "present": lambda v: v is not None,
    "empty": lambda v: not v,
    "not-empty": lambda v: bool(v),
}

_EXPECTED = {
    "eq": "expected {}", "equal": "expected {}", "ne": "expected anything but {}", "not-equal": "expected anything but {}",
    "gt": "expected more than {}", "greater-than": "expected more than {}", "ge": "expected at least {}",
    "gte": "expected at least {}", "lt": "expected less than {}", "less-than": "expected less than {}",
    "le": "expected at most {}", "lte": "expected at most {}", "in": "expected one of {}",
    "not-in": "expected none of {}", "ni": "expected none of {}", "contains": "expected it to contain {}",
    "not-contains": "expected it not to contain {}", "regex": "expected it to match {}",
}


def _default_reason(key: str, actual: Any, op: Optional[str], expected: Any) -> str:
    """The failure text of a key condition without a ``reason``: "mfa_active is false, expected true"."""
    if op is None and isinstance(expected, str) and expected in SPECIAL_VALUES:
        return {
            "absent": f"{key} is set ({readable(actual)}), expected it not to be",
            "present": f"{key} is not set",
            "empty": f"{key} is not empty ({readable(actual)})",
            "not-empty": f"{key} is empty",
        }[expected]
    return f"{key} is {readable(actual)}, " + _EXPECTED.get(op or "eq", "expected {}").format(readable(expected))


def describe(condition: Mapping[str, Any], params: Mapping[str, Any]) -> str:
    """A condition in a few words, for "none of the 12 users matched select (password_enabled eq true)"."""
    for combinator in ("and", "or"):
        if combinator in condition:
            return "(" + f" {combinator} ".join(describe(c, params) for c in condition[combinator]) + ")"
    if "not" in condition:
        return "not (" + " or ".join(describe(c, params) for c in condition["not"]) + ")"
    if "predicate" in condition:
        return f"predicate {condition['predicate']}"
    value = _resolve(condition.get("value"), params)
    if "op" not in condition and isinstance(value, str) and value in SPECIAL_VALUES:
        return f"{condition['key']} {value}"
    key = condition["key"] + (" age" if condition.get("value_type") == "age" else "")
    return f"{key} {condition.get('op', 'eq')} {readable(value)}"


@dataclass
class Context:
    inventory: Inventory
    params: Mapping[str, Any]
    at: dt.datetime


def _applies(condition: Mapping[str, Any], ctx: Context) -> bool:
    when = condition.get("when")
    return when is None or bool(_resolve(when, ctx.params))


def evaluate_condition(condition: Mapping[str, Any], resource: Mapping[str, Any], ctx: Context) -> Tuple[bool, str]:
    """(holds, reason-if-not) for one condition against one resource."""
    if not _applies(condition, ctx):
        return True, ""
    if "and" in condition:
        for sub in condition["and"]:
            ok, why = evaluate_condition(sub, resource, ctx)
            if not ok:
                return False, _reason(condition, resource, ctx, {}) or why
        return True, ""
    if "or" in condition:
        reasons = []
        for sub in condition["or"]:
            ok, why = evaluate_condition(sub, resource, ctx)
            if ok:
                return True, ""
            reasons.append(why)
        return False, _reason(condition, resource, ctx, {}) or " and ".join(r for r in reasons if r)
    if "not" in condition:
        for sub in condition["not"]:
            ok, _ = evaluate_condition(sub, resource, ctx)
            if ok:
                return False, _reason(condition, resource, ctx, {}) or f"{describe(sub, ctx.params)} holds"
        return True, ""
    if "predicate" in condition:
        fn = predicates()[condition["predicate"]]
        args = {k: _resolve(v, ctx.params) for k, v in (condition.get("with") or {}).items()}
        why = fn(resource, ctx.inventory, ctx.params, **args)
        if why:
            return False, _reason(condition, resource, ctx, {"actual": why}) or why
        return True, ""
    actual = compile_key(condition["key"]).search(resource)
    expected = _resolve(condition.get("value"), ctx.params)
    extra: Dict[str, Any] = {"actual": actual}
    if condition.get("value_type") == "age":
        actual = age_days(actual, ctx.at)
        extra["age"] = actual
        if actual is None:  # no timestamp: its age cannot be judged, whatever the template says about ages
            return False, f"{condition['key']} is not set, so its age cannot be judged"
    elif condition.get("value_type") == "size":
        if actual is not None and not hasattr(actual, "__len__"):
            raise CheckError(f"{condition['key']} is {readable(actual)}: value_type size needs a list, a string or "
                             "a mapping")
        actual = len(actual) if actual is not None else 0
        extra["actual"] = actual
    if isinstance(expected, str) and expected in SPECIAL_VALUES and "op" not in condition:
        ok = SPECIAL_VALUES[expected](actual)
    else:
        ok = _compare(condition.get("op", "eq"), actual, expected)
    if ok:
        return True, ""
    return False, _reason(condition, resource, ctx, extra) or _default_reason(
        condition["key"], actual, condition.get("op"), expected)


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class _Formatter(string.Formatter):
    """Reason templates: values rendered for people (:func:`readable`); a path into a missing value reads "not set"."""

    def get_field(self, field_name: str, args: Any, kwargs: Any) -> Any:
        try:
            return super().get_field(field_name, args, kwargs)
        except (LookupError, TypeError, AttributeError):
            return None, field_name

    def format_field(self, value: Any, format_spec: str) -> str:
        if not format_spec or value is None or isinstance(value, (bool, list, tuple, dict)):
            return readable(value)
        try:
            return super().format_field(value, format_spec)
        except (TypeError, ValueError):
            return readable(value)


def _reason(condition: Mapping[str, Any], resource: Mapping[str, Any], ctx: Context, extra: Mapping[str, Any]) -> str:
    template = condition.get("reason")
    if not template:
        return ""
    values = _Lenient({**resource, **ctx.params, **extra})
    return _Formatter().vformat(template, (), values)


# --- predicates ------------------------------------------------------------------------------------------------------

Predicate = Callable[..., Optional[str]]
_EXTRA_PREDICATES: Dict[str, Predicate] = {}


def register_predicates(mapping: Mapping[str, Predicate]) -> None:
    """Add named predicates (plugins call this through the ``pytest_iam_predicates`` hook).

    A predicate declares the fields it reads with ``pytest_iam.findings.reads`` (or a ``reads`` attribute); without
    it the predicate is taken to read every field, so any unread fact of a resource makes its finding an error."""
    _EXTRA_PREDICATES.update(mapping)
    predicates.cache_clear()


@functools.lru_cache(maxsize=None)
def predicates() -> Dict[str, Predicate]:
    return {**BUILTIN_PREDICATES, **_EXTRA_PREDICATES}


# --- running ---------------------------------------------------------------------------------------------------------


Reads = Optional[FrozenSet[str]]  # the top-level fields a condition reads; None: every field


def check_reads(check: Check) -> Tuple[Tuple[Reads, ...], Tuple[Reads, ...]]:
    """What each select and each require condition of ``check`` reads (computed once, when the check is loaded)."""
    if check.reads is not None:
        return check.reads
    rtype = declared.resource_type(check.resource)
    return (tuple(condition_reads(c, rtype) for c in check.select),
            tuple(condition_reads(c, rtype) for c in check.require))


def _unread_hits(resource: Mapping[str, Any], conditions: Iterable[Mapping[str, Any]], reads: Iterable[Reads],
                 ctx: Context) -> List[Tuple[str, str]]:
    """(field, reason) for each unread fact of ``resource`` that an applicable condition reads."""
    unread = resource.get(declared.UNREAD) or {}
    if not unread:
        return []
    needed: set = set()
    for condition, fields_read in zip(conditions, reads):
        if not _applies(condition, ctx):
            continue
        if fields_read is None:
            return sorted(unread.items())
        needed |= fields_read
    return sorted((name, reason) for name, reason in unread.items() if name in needed)


def _why_empty(check: Check, rtype: declared.ResourceType, resources: List[Mapping[str, Any]], ctx: Context) -> str:
    if not resources:
        return rtype.empty_reason(ctx.inventory)
    scope = " and ".join(describe(c, ctx.params) for c in check.select if _applies(c, ctx))
    if len(resources) == 1:
        return f"the one {rtype.singular} did not match select ({scope})"
    return f"none of the {len(resources)} {rtype.plural} matched select ({scope})"


def run_check(check: Check, inventory: Inventory, params: Optional[Mapping[str, Any]] = None,
              at: Optional[dt.datetime] = None) -> CheckResult:
    """Judge every resource of ``check.resource`` in ``inventory``; never raises for bad account data.

    A resource whose view records an unread fact that the check reads is one error finding, never judged on a
    default. When no resource is in scope, the result says why (``nothing_to_evaluate``)."""
    resolved = check.resolve_params(params)
    ctx = Context(inventory=inventory, params=resolved, at=at or inventory.collected_at or now())
    rtype = declared.resource_type(check.resource)
    select_reads, require_reads = check_reads(check)
    findings: List[Finding] = []
    try:
        resources = RESOURCE_TYPES[check.resource](inventory)
    except ResourceUnavailable as exc:
        findings.append(Finding(check.id, exc.arn or inventory.root_arn, exc.label or check.resource, ERROR, str(exc)))
        resources = None
    for resource in resources or ():
        try:
            unread = _unread_hits(resource, check.select, select_reads, ctx)
            if unread:
                findings.append(Finding(check.id, resource["arn"], resource["label"], ERROR, unread_text(unread)))
                continue
            if not all(evaluate_condition(c, resource, ctx)[0] for c in check.select):
                continue
            unread = _unread_hits(resource, check.require, require_reads, ctx)
            if unread:
                findings.append(Finding(check.id, resource["arn"], resource["label"], ERROR, unread_text(unread)))
                continue
            reasons = []
            for condition in check.require:
                ok, why = evaluate_condition(condition, resource, ctx)
                if not ok:
                    reasons.append(why)
            status = FAIL if reasons else PASS
            findings.append(Finding(check.id, resource["arn"], resource["label"], status, "; ".join(reasons)))
        except CheckError as exc:
            findings.append(Finding(check.id, resource["arn"], resource["label"], ERROR, str(exc)))
        except (TypeError, ValueError, KeyError, AttributeError) as exc:  # a rule that does not fit this resource
            findings.append(Finding(check.id, resource["arn"], resource["label"], ERROR,
                                    f"check {check.id} cannot judge this resource: {type(exc).__name__}: {exc}"))
    why_empty = None
    if resources is not None and not findings:
        why_empty = _why_empty(check, rtype, resources, ctx)
        if check.empty_scope_fails is not None:
            reason = _Formatter().vformat(check.empty_scope_fails, (), {"why": why_empty})
            findings.append(Finding(check.id, inventory.root_arn, f"account {inventory.account_id}", FAIL, reason))
    return CheckResult(check=check, account=inventory.account_name, account_id=inventory.account_id,
                       params=resolved, findings=tuple(findings), nothing_to_evaluate=why_empty)


# --- the library -----------------------------------------------------------------------------------------------------


def library_dir() -> Path:
    from importlib import resources

    return Path(str(resources.files("pytest_iam.library")))


class Library:
    """Every known check by id: the shipped library plus check packs added by plugins."""

    def __init__(self, checks: Mapping[str, Check]) -> None:
        self.checks = dict(checks)

    @classmethod
    def load(cls, extra_dirs: Iterable[Path] = ()) -> "Library":
        checks: Dict[str, Check] = {}
        for directory in (library_dir(), *extra_dirs):
            for path in sorted(Path(directory).glob("*.yaml")):
                check = parse_check(load_yaml(path, error=CheckDefinitionError), str(path))
                if check.id in checks:
                    raise CheckDefinitionError(f"{path}: id: check {check.id!r} is already defined in {checks[check.id].source}")
                checks[check.id] = check
        return cls(checks)

    def get(self, check_id: str, where: str = "") -> Check:
        try:
            return self.checks[check_id]
        except KeyError:
            hint = did_you_mean(check_id, self.checks)
            raise CheckDefinitionError(
                f"{where + ': ' if where else ''}unknown check {check_id!r}" + (f"; {hint}" if hint else "")) from None

    def run(self, check_id: str, inventory: Inventory, params: Optional[Mapping[str, Any]] = None) -> CheckResult:
        return run_check(self.get(check_id), inventory, params)

    def __iter__(self):
        return iter(sorted(self.checks.values(), key=lambda c: c.id))
