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

import datetime as dt
import difflib
import functools
import re
import string
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Tuple

import jmespath

from .inventory import Inventory, now
from .resources import RESOURCE_TYPES, ResourceUnavailable
from .schemas import validate

SEVERITIES = ("critical", "high", "medium", "low", "info")
PASS, FAIL, WAIVED, ERROR = "pass", "fail", "waived", "error"


class CheckDefinitionError(Exception):
    """A check file that cannot be used (message: file, place, what is wrong)."""


class CheckError(Exception):
    """A check that cannot be evaluated against this inventory (missing facts, bad policy): an error finding."""


# --- results ---------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    """One resource's result for one check."""

    check: str
    resource: str  # an ARN
    label: str  # a short human name
    status: str  # pass / fail / waived / error
    reason: str = ""


@dataclass(frozen=True)
class CheckResult:
    check: "Check"
    account: str
    account_id: str
    params: Mapping[str, Any]
    findings: Tuple[Finding, ...]

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
    def passed(self) -> bool:
        return not self.failed and not self.errors

    @property
    def evaluated(self) -> int:
        return len(self.findings)

    def failed_resources(self) -> List[str]:
        """Unique ARNs of failing (and unevaluable) resources, sorted."""
        return sorted({f.resource for f in self.findings if f.status in (FAIL, ERROR)})

    def __bool__(self) -> bool:
        return self.passed

    def summary(self) -> str:
        parts = [f"{len(self.failed)} failed", f"{self.evaluated} evaluated"]
        if self.errors:
            parts.insert(1, f"{len(self.errors)} errors")
        if self.waived:
            parts.append(f"{len(self.waived)} waived")
        return f"{self.check.id} on {self.account} ({self.account_id}): " + ", ".join(parts)

    def table(self, limit: int = 50) -> str:
        """The failing resources with the reason for each, as an aligned text table."""
        rows = [f for f in self.findings if f.status in (FAIL, ERROR, WAIVED)]
        lines = [self.summary()]
        if not rows:
            return lines[0]
        width = min(max(len(f.label) for f in rows), 60)
        for f in rows[:limit]:
            lines.append(f"  {f.status.upper():<6} {f.label:<{width}}  {f.reason}")
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

    def frameworks_text(self) -> str:
        return "; ".join(f"{name} {', '.join(ids)}" for name, ids in sorted(self.frameworks.items()))

    def resolve_params(self, given: Optional[Mapping[str, Any]] = None, where: str = "") -> Dict[str, Any]:
        """Defaults overlaid with ``given``; unknown names and wrong types raise CheckDefinitionError."""
        given = dict(given or {})
        known = {p.name: p for p in self.parameters}
        unknown = sorted(set(given) - set(known))
        if unknown:
            raise CheckDefinitionError(
                f"{where or self.id}: unknown parameter {unknown[0]!r} for check {self.id} "
                f"(known: {', '.join(sorted(known)) or 'none'})"
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
    )
    if check.resource not in RESOURCE_TYPES:
        raise CheckDefinitionError(
            f"{source}: resource: unknown resource type {check.resource!r} (known: {', '.join(sorted(RESOURCE_TYPES))})"
        )
    check.resolve_params({}, where=source)  # defaults must match their own types
    for index, condition in enumerate(check.require):
        _lint(condition, f"{source}: require[{index}]", check)
    for index, condition in enumerate(check.select):
        _lint(condition, f"{source}: select[{index}]", check)
    return check


def _lint(condition: Mapping[str, Any], where: str, check: Check) -> None:
    """Compile JMESPath keys and regexes, resolve predicate names and parameter references now, not at run time."""
    names = {p.name for p in check.parameters}
    for combinator in ("and", "or", "not"):
        if combinator in condition:
            for i, sub in enumerate(condition[combinator]):
                _lint(sub, f"{where}.{combinator}[{i}]", check)
            return
    if "predicate" in condition:
        if condition["predicate"] not in predicates():
            raise CheckDefinitionError(
                f"{where}.predicate: unknown predicate {condition['predicate']!r} "
                f"(known: {', '.join(sorted(predicates()))})"
            )
    if "key" in condition:
        try:
            compile_key(condition["key"])
        except jmespath.exceptions.JMESPathError as exc:
            first = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise CheckDefinitionError(f"{where}.key: not a JMESPath expression ({first}): {condition['key']!r}") from None
    for ref in _param_refs(condition):
        if ref not in names:
            raise CheckDefinitionError(f"{where}: refers to unknown parameter {ref!r}")
    if condition.get("op") == "regex":
        try:
            re.compile(str(condition.get("value")))
        except re.error as exc:
            raise CheckDefinitionError(f"{where}.value: bad regular expression: {exc}") from None


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


@dataclass
class Context:
    inventory: Inventory
    params: Mapping[str, Any]
    at: dt.datetime


def evaluate_condition(condition: Mapping[str, Any], resource: Mapping[str, Any], ctx: Context) -> Tuple[bool, str]:
    """(holds, reason-if-not) for one condition against one resource."""
    when = condition.get("when")
    if when is not None and not _resolve(when, ctx.params):
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
                return False, _reason(condition, resource, ctx, {}) or "a condition that must not hold holds"
        return True, ""
    if "predicate" in condition:
        fn = predicates()[condition["predicate"]]
        args = {k: _resolve(v, ctx.params) for k, v in (condition.get("with") or {}).items()}
        why = fn(resource, ctx.inventory, ctx.params, **args)
        if why:
            return False, why
        return True, ""
    actual = compile_key(condition["key"]).search(resource)
    expected = _resolve(condition.get("value"), ctx.params)
    extra: Dict[str, Any] = {"actual": actual}
    if condition.get("value_type") == "age":
        actual = age_days(actual, ctx.at)
        extra["age"] = actual
        if actual is None:
            return False, _reason(condition, resource, ctx, extra) or f"{condition['key']} is unknown"
    elif condition.get("value_type") == "size":
        if actual is not None and not hasattr(actual, "__len__"):
            raise CheckError(f"{condition['key']} is {actual!r}: value_type size needs a list, a string or a mapping")
        actual = len(actual) if actual is not None else 0
        extra["actual"] = actual
    if isinstance(expected, str) and expected in SPECIAL_VALUES and "op" not in condition:
        ok = SPECIAL_VALUES[expected](actual)
    else:
        ok = _compare(condition.get("op", "eq"), actual, expected)
    if ok:
        return True, ""
    return False, _reason(condition, resource, ctx, extra) or (
        f"{condition['key']} is {actual!r}, expected {condition.get('op', 'eq')} {expected!r}"
    )


class _Lenient(dict):
    def __missing__(self, key: str) -> str:
        return "?"


class _Formatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        try:
            return super().format_field(value, format_spec)
        except (TypeError, ValueError):
            return str(value)


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
    """Add named predicates (plugins call this through the ``pytest_iam_predicates`` hook)."""
    _EXTRA_PREDICATES.update(mapping)
    predicates.cache_clear()


@functools.lru_cache(maxsize=None)
def predicates() -> Dict[str, Predicate]:
    from .predicates import BUILTIN_PREDICATES

    return {**BUILTIN_PREDICATES, **_EXTRA_PREDICATES}


# --- running ---------------------------------------------------------------------------------------------------------


def run_check(check: Check, inventory: Inventory, params: Optional[Mapping[str, Any]] = None,
              at: Optional[dt.datetime] = None) -> CheckResult:
    """Judge every resource of ``check.resource`` in ``inventory``; never raises for bad account data."""
    resolved = check.resolve_params(params)
    ctx = Context(inventory=inventory, params=resolved, at=at or inventory.collected_at or now())
    findings: List[Finding] = []
    try:
        resources = RESOURCE_TYPES[check.resource](inventory)
    except ResourceUnavailable as exc:
        findings.append(Finding(check.id, exc.arn or inventory.root_arn, exc.label or check.resource, ERROR, str(exc)))
        resources = []
    for resource in resources:
        try:
            if not all(evaluate_condition(c, resource, ctx)[0] for c in check.select):
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
    return CheckResult(check=check, account=inventory.account_name, account_id=inventory.account_id,
                       params=resolved, findings=tuple(findings))


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
        from .accounts import AccountsError, load_yaml

        checks: Dict[str, Check] = {}
        for directory in (library_dir(), *extra_dirs):
            for path in sorted(Path(directory).glob("*.yaml")):
                try:
                    data = load_yaml(path)
                except AccountsError as exc:
                    raise CheckDefinitionError(str(exc)) from None
                check = parse_check(data, str(path))
                if check.id in checks:
                    raise CheckDefinitionError(f"{path}: id: check {check.id!r} is already defined in {checks[check.id].source}")
                checks[check.id] = check
        return cls(checks)

    def get(self, check_id: str, where: str = "") -> Check:
        try:
            return self.checks[check_id]
        except KeyError:
            close = difflib.get_close_matches(check_id, sorted(self.checks), n=3, cutoff=0.6)
            hint = f" (did you mean one of: {', '.join(close)})" if close else ""
            raise CheckDefinitionError(f"{where + ': ' if where else ''}unknown check {check_id!r}{hint}") from None

    def run(self, check_id: str, inventory: Inventory, params: Optional[Mapping[str, Any]] = None) -> CheckResult:
        return run_check(self.get(check_id), inventory, params)

    def __iter__(self):
        return iter(sorted(self.checks.values(), key=lambda c: c.id))
