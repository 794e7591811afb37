"""Differential tests: pytest_iam.policy.evaluate against the independent reference model on a generated corpus.

Usage: ``pytest tests/policy_oracle/test_differential.py -s`` (``-s`` prints the decision mix).
"""
from __future__ import annotations

import collections
import copy
import json

import pytest

from .engine_adapter import engine_decision, engine_result, model_decision
from .generate import corpus as whole_corpus
from .shrink import describe, shrink


@pytest.fixture(scope="module")
def corpus() -> list[dict]:
    return whole_corpus()


@pytest.fixture(scope="module")
def model_answers(corpus) -> list[str]:
    return [model_decision(case) for case in corpus]


def _disagrees(case: dict) -> bool:
    return engine_decision(copy.deepcopy(case)) != model_decision(case)


def test_engine_agrees_with_reference_model_on_generated_corpus(corpus, model_answers):
    groups: dict[tuple[str, str], list[dict]] = collections.defaultdict(list)
    for case, expected in zip(corpus, model_answers):
        got = engine_decision(copy.deepcopy(case))
        if got != expected:
            groups[(got.split(":")[0] if got.startswith("error") else got, expected)].append(case)
    if not groups:
        return
    total = sum(len(cases) for cases in groups.values())
    reports = []
    for (got, expected), cases in sorted(groups.items(), key=lambda item: -len(item[1])):
        small = shrink(cases[0], _disagrees)
        reports.append(f"[{len(cases)} cases: engine {got}, model {expected}] minimal repro -> engine: "
                       f"{engine_decision(copy.deepcopy(small))!r}, reference model: {model_decision(small)!r}\n"
                       f"{describe(small)}")
    pytest.fail(f"{total} of {len(corpus)} cases disagree:\n\n" + "\n\n".join(reports), pytrace=False)


def test_engine_decision_fields_are_consistent(corpus, model_answers):
    """``allowed`` mirrors ``decision``; an explicit deny names at least one reason (the contract's reasons tuple)."""
    checked = 0
    for case, expected in list(zip(corpus, model_answers))[:3000]:
        try:
            result = engine_result(copy.deepcopy(case))
        except Exception:
            continue  # errors are reported by the agreement test
        checked += 1
        assert result.allowed == (result.decision == "allow"), describe(case)
        assert isinstance(result.reasons, tuple), describe(case)
        if result.decision == "explicit_deny":
            assert result.reasons, describe(case)
    assert checked > 2000


def test_corpus_has_a_healthy_mix_of_decisions(model_answers):
    mix = collections.Counter(model_answers)
    total = len(model_answers)
    print("decision mix:", {k: f"{v} ({100 * v / total:.1f}%)" for k, v in sorted(mix.items())})
    for decision in ("allow", "explicit_deny", "implicit_deny"):
        assert mix[decision] >= 0.1 * total, (decision, mix)


def test_corpus_exercises_every_feature(corpus):
    text = "\n".join(json.dumps(case, default=str) for case in corpus)
    operators = ["StringEquals", "StringNotEquals", "StringEqualsIgnoreCase", "StringNotEqualsIgnoreCase",
                 "StringLike", "StringNotLike", "NumericLessThan", "NumericGreaterThanEquals", "NumericNotEquals",
                 "DateLessThan", "DateGreaterThan", "DateNotEquals", "\"Bool\"", "BinaryEquals", "\"IpAddress\"",
                 "NotIpAddress", "ArnLike", "ArnNotLike", "ArnEquals", "\"Null\"", "IfExists\"", "ForAnyValue:",
                 "ForAllValues:", "NotPrincipal", "NotAction", "NotResource", "\"Service\"", "2008-10-17",
                 "${aws:username, ", "${*}", "${?}", "${$}", "assumed-role", "federated-user", "aws-service-role",
                 "\"anonymous\"", "2001:db8", "sts:AssumeRole", ":key/"]
    missing = [needle for needle in operators if needle not in text]
    assert not missing
    kinds = collections.Counter(case["request"]["principal"].split(":")[5].split("/")[0]
                                if case["request"]["principal"].startswith("arn:") else "other"
                                for case in corpus)
    assert {"user", "role", "assumed-role", "root", "federated-user", "other"} <= set(kinds)
    assert sum(1 for case in corpus if case["scps"] and len(case["scps"]) == 3) > 50
    assert sum(1 for case in corpus if case["rcps"]) > 500
    assert sum(1 for case in corpus if case["request"]["context"].get("aws:TagKeys") == []) > 50
