"""The corpus must notice a broken rule: seeded faults in the reference model each change some decisions.

Usage: ``pytest tests/policy_oracle/test_corpus_sensitivity.py``. Each fault is patched into the model for one test
(pytest's monkeypatch), then the first 4,000 corpus cases are decided again; a fault the corpus cannot see would mean
the differential test could not see the same fault in the engine.
"""
from __future__ import annotations

from typing import Callable

import pytest

from . import conditions, model, patterns
from .engine_adapter import model_decision
from .generate import CORPUS_SEEDS, generate_cases

SAMPLE = generate_cases(CORPUS_SEEDS[0], 4000)


@pytest.fixture(scope="module")
def baseline() -> list[str]:
    return [model_decision(case) for case in SAMPLE]


def _case_sensitive_actions(mp):
    def action_matches(statement, action):
        key = "Action" if "Action" in statement else "NotAction"
        hit = any(patterns.glob_match(patterns.to_tokens(a), action) for a in model._as_list(statement[key]))
        return hit if key == "Action" else not hit
    mp.setattr(model, "_action_matches", action_matches)


def _no_trust_or_key_rule(mp):
    mp.setattr(model, "_is_trust_or_key_request", lambda request: False)


def _role_grant_needs_identity_allow(mp):
    original = model.resource_statement_principal
    mp.setattr(model, "resource_statement_principal",
               lambda statement, who, boundary=False: model.ACCOUNT
               if original(statement, who, boundary) == model.ROLE else original(statement, who, boundary))


def _account_grant_alone(mp):
    original = model.resource_statement_principal
    mp.setattr(model, "resource_statement_principal",
               lambda statement, who, boundary=False: model.DIRECT
               if original(statement, who, boundary) == model.ACCOUNT else original(statement, who, boundary))


def _no_service_linked_exemption(mp):
    original = model.parse_principal
    mp.setattr(model, "parse_principal",
               lambda principal: model.Who(**{**original(principal).__dict__, "service_linked": False}))


def _first_org_level_only(mp):
    original = model._levels
    mp.setattr(model, "_levels", lambda levels: original(levels)[:1])


def _resource_policy_denies_ignored(mp):
    original = model._scan
    mp.setattr(model, "_scan", lambda docs, request, context, who, boundary=False:
               (False, original(docs, request, context, who, boundary)[1]) if who is not None
               else original(docs, request, context, who, boundary))


def _no_variables(mp):
    mp.setattr(patterns, "VARIABLES_VERSION", "never")


def _like_is_equals(mp):
    mp.setattr(conditions, "_COMPARATORS", {**conditions._COMPARATORS,
                                            "StringLike": conditions._COMPARATORS["StringEquals"]})


def _cidr_prefix_ignored(mp):
    mp.setattr(conditions, "_COMPARATORS", {**conditions._COMPARATORS,
                                            "IpAddress": lambda r, p, c, v: str(r) == str(p).split("/")[0]})


def _if_exists_ignored(mp):
    original = conditions._split
    mp.setattr(conditions, "_split", lambda operator: original(operator)[:2] + (False,))


def _principal_keys_not_filled(mp):
    original = model.build_context
    mp.setattr(model, "build_context",
               lambda request, who, account: {k: v for k, v in original(request, who, account).items()
                                              if k != "aws:principalarn" or k in
                                              {key.lower() for key in (request.get("context") or {})}})


def _rcp_level_needs_allow(mp):
    mp.setattr(model, "rcp_level_lacks_allow", lambda allows: not allows)


def _aws_owned_is_another_account(mp):
    original = model.resource_account_of
    mp.setattr(model, "aws_owned", lambda request: False)
    mp.setattr(model, "resource_account_of", lambda request, who: "aws" if not request.get("resource_account")
               and request["resource"].split(":")[4:5] == ["aws"] else original(request, who))


FAULTS: dict[str, Callable] = {
    "actions compared case-sensitively": _case_sensitive_actions,
    "role trust and KMS key policies not required": _no_trust_or_key_rule,
    "role ARN grants need an identity-policy allow": _role_grant_needs_identity_allow,
    "account principal grants on its own": _account_grant_alone,
    "SCPs applied to service-linked roles": _no_service_linked_exemption,
    "only the first SCP/RCP level checked": _first_org_level_only,
    "resource policy Deny ignored": _resource_policy_denies_ignored,
    "policy variables never substituted": _no_variables,
    "StringLike without wildcards": _like_is_equals,
    "IP address compared without its CIDR prefix": _cidr_prefix_ignored,
    "IfExists suffix ignored": _if_exists_ignored,
    "aws:PrincipalArn not filled in": _principal_keys_not_filled,
    "an RCP level without an Allow denies": _rcp_level_needs_allow,
    "an AWS-owned ARN is another account's": _aws_owned_is_another_account,
}


@pytest.mark.parametrize("fault", sorted(FAULTS))
def test_corpus_detects_seeded_fault(fault, baseline, monkeypatch):
    FAULTS[fault](monkeypatch)
    changed = sum(1 for case, before in zip(SAMPLE, baseline) if model_decision(case) != before)
    assert changed >= 3, f"the corpus does not notice: {fault}"
