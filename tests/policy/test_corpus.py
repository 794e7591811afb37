"""The documented decision cases, one parametrized test (cases live in corpus.py as data)."""

import pytest

from pytest_iam.policy import Request, evaluate

from .corpus import CASES

_POLICY_KEYS = ("resource_policy", "permissions_boundary", "scps", "rcps", "session_policy", "management_account",
                "block_public_access")


def test_corpus_is_large_and_ids_unique():
    ids = [c["id"] for c in CASES]
    assert len(ids) >= 150
    assert len(set(ids)) == len(ids)
    assert all("__" in i for i in ids), "every id names the documented rule it follows"


@pytest.mark.parametrize("case", CASES, ids=[c["id"] for c in CASES])
def test_documented_decision(case):
    request = Request(case["principal"], case["action"], case["resource"], case["resource_account"], case["context"])
    decision = evaluate(request, case["identity"], **{k: case[k] for k in _POLICY_KEYS if k in case})
    assert decision.decision == case["expect"], str(decision)
    assert decision.allowed == (case["expect"] == "allow")
    assert decision.reasons, "every decision carries its reasons"
