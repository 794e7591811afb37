"""Shrinking a failing differential case to a minimal one, and printing it.

Usage: ``small = shrink(case, still_fails)`` where ``still_fails(case) -> bool``; ``describe(small)`` gives a
Python snippet that reproduces it.
"""
from __future__ import annotations

import copy
import json
import pprint
from typing import Any, Callable, Iterator

DOC_FIELDS = ("resource_policy", "permissions_boundary", "session_policy")


def _load(doc: Any) -> dict:
    return json.loads(doc) if isinstance(doc, str) else doc


def _statements(doc: dict) -> list:
    statement = doc["Statement"]
    return statement if isinstance(statement, list) else [statement]


def _doc_variants(doc: Any) -> Iterator[dict]:
    """Smaller versions of one policy document (a dict, never text)."""
    doc = _load(doc)
    statements = _statements(doc)
    if len(statements) > 1:
        for i in range(len(statements)):
            yield {**doc, "Statement": statements[:i] + statements[i + 1:]}
    for i, statement in enumerate(statements):
        for smaller in _statement_variants(statement):
            yield {**doc, "Statement": statements[:i] + [smaller] + statements[i + 1:]}
    if not isinstance(doc["Statement"], list):
        yield {**doc, "Statement": statements}


def _statement_variants(statement: dict) -> Iterator[dict]:
    if "Sid" in statement:
        yield {k: v for k, v in statement.items() if k != "Sid"}
    condition = statement.get("Condition")
    if condition:
        yield {k: v for k, v in statement.items() if k != "Condition"}
        for operator, keys in condition.items():
            if len(condition) > 1:
                yield {**statement, "Condition": {o: k for o, k in condition.items() if o != operator}}
            if len(keys) > 1:
                for key in keys:
                    smaller = {o: dict(k) for o, k in condition.items()}
                    del smaller[operator][key]
                    yield {**statement, "Condition": smaller}
            for key, values in keys.items():
                if isinstance(values, list) and len(values) > 1:
                    for i in range(len(values)):
                        smaller = copy.deepcopy(condition)
                        smaller[operator][key] = values[:i] + values[i + 1:]
                        yield {**statement, "Condition": smaller}
    for element in ("Action", "NotAction", "Resource", "NotResource"):
        values = statement.get(element)
        if isinstance(values, list) and len(values) > 1:
            for i in range(len(values)):
                yield {**statement, element: values[:i] + values[i + 1:]}
    for element in ("Principal", "NotPrincipal"):
        value = statement.get(element)
        if isinstance(value, dict):
            for kind, names in value.items():
                if len(value) > 1:
                    yield {**statement, element: {k: n for k, n in value.items() if k != kind}}
                if isinstance(names, list) and len(names) > 1:
                    for i in range(len(names)):
                        yield {**statement, element: {**value, kind: names[:i] + names[i + 1:]}}


def _case_variants(case: dict) -> Iterator[dict]:
    for field in DOC_FIELDS:
        if case[field] is not None:
            yield {**case, field: None}
    for field in ("scps", "rcps"):
        if case[field]:
            yield {**case, field: None}
    if case["management_account"] is not None:
        yield {**case, "management_account": None}
    if case.get("identity_as_policy_objects"):
        yield {**case, "identity_as_policy_objects": False}
    docs = case["identity_policies"]
    for i in range(len(docs)):
        yield {**case, "identity_policies": docs[:i] + docs[i + 1:]}
    context = case["request"].get("context") or {}
    for key in context:
        yield {**case, "request": {**case["request"], "context": {k: v for k, v in context.items() if k != key}}}
    if case["request"].get("resource_account") is not None:
        yield {**case, "request": {**case["request"], "resource_account": None}}
    for field in ("scps", "rcps"):
        levels = case[field] or []
        for i in range(len(levels)):
            if len(levels) > 1:
                yield {**case, field: levels[:i] + levels[i + 1:]}
            for j in range(len(levels[i])):
                if len(levels[i]) > 1:
                    level = levels[i][:j] + levels[i][j + 1:]
                    yield {**case, field: levels[:i] + [level] + levels[i + 1:]}
                for smaller in _doc_variants(levels[i][j]):
                    level = levels[i][:j] + [smaller] + levels[i][j + 1:]
                    yield {**case, field: levels[:i] + [level] + levels[i + 1:]}
    for field in DOC_FIELDS:
        if case[field] is not None:
            for smaller in _doc_variants(case[field]):
                yield {**case, field: smaller}
    for i, doc in enumerate(docs):
        for smaller in _doc_variants(doc):
            yield {**case, "identity_policies": docs[:i] + [smaller] + docs[i + 1:]}


def shrink(case: dict, still_fails: Callable[[dict], bool], max_rounds: int = 200) -> dict:
    """Greedily take the first smaller variant that still fails, until none does."""
    current = case
    for _ in range(max_rounds):
        for candidate in _case_variants(current):
            if still_fails(candidate):
                current = candidate
                break
        else:
            return current
    return current


def describe(case: dict) -> str:
    """A Python snippet reproducing the case against pytest_iam.policy.evaluate."""
    request = case["request"]
    lines = ["from pytest_iam.policy import Request, evaluate",
             "# identity documents passed as Policy.parse(doc) objects" if case.get("identity_as_policy_objects")
             else "# documents passed as plain dicts (or JSON text)",
             "decision = evaluate(",
             f"    Request(principal={request['principal']!r}, action={request['action']!r},",
             f"            resource={request['resource']!r}, resource_account={request.get('resource_account')!r},",
             f"            context={request.get('context') or {}!r}),"]
    for field in ("identity_policies", "resource_policy", "permissions_boundary", "scps", "rcps",
                  "session_policy", "management_account"):
        text = pprint.pformat(case[field], width=110, sort_dicts=False)
        lines.append(f"    {field}=" + text.replace("\n", "\n" + " " * (len(field) + 5)) + ",")
    lines.append(").decision")
    return "\n".join(lines)
