"""Calling pytest_iam.policy.evaluate and the reference model on one generated case.

Usage: ``engine_decision(case)`` and ``model_decision(case)`` both return "allow", "explicit_deny" or
"implicit_deny" (the engine side returns "error: ..." when it raises). A case with ``identity_as_policy_objects``
hands its identity documents to the engine as parsed ``Policy`` objects (the model always reads plain documents).
"""
from __future__ import annotations

from .model import reference_evaluate

ARGUMENTS = ("identity_policies", "resource_policy", "permissions_boundary", "scps", "rcps", "session_policy",
             "management_account")


def engine_result(case: dict):
    """The engine's full Decision object for a case (raises what the engine raises)."""
    from pytest_iam.policy import Request, evaluate

    request = case["request"]
    arguments = {name: case[name] for name in ARGUMENTS}
    if case.get("identity_as_policy_objects"):
        from pytest_iam.policy import Policy

        arguments["identity_policies"] = [Policy.parse(doc) for doc in arguments["identity_policies"]]
    return evaluate(
        Request(principal=request["principal"], action=request["action"], resource=request["resource"],
                resource_account=request.get("resource_account"), context=request.get("context") or None),
        **arguments,
    )


def engine_decision(case: dict) -> str:
    """The engine's decision for a case."""
    try:
        return engine_result(case).decision
    except Exception as error:  # reported as a disagreement, never hidden
        return f"error: {type(error).__name__}: {error}"


def model_decision(case: dict) -> str:
    """The reference model's decision for a case."""
    return reference_evaluate(case["request"], **{name: case[name] for name in ARGUMENTS})
