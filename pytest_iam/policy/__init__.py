"""The IAM policy language: parse, match, conditions, evaluate, what S3 calls public, analyse.

Usage: ``from pytest_iam.policy import Policy, PolicyError, Request, Decision, evaluate``
"""

from .errors import PolicyError
from .model import Policy, Statement
from .engine import ALLOW, EXPLICIT_DENY, IMPLICIT_DENY, Decision, Reason, Request, evaluate
from .public import PublicAccess, StatementRef, is_public
from .analyse import (EscalationPath, ExternalGrant, external_access, full_admin, grants_full_admin, open_trust,
                      privilege_escalation)

__all__ = ["Policy", "PolicyError", "Request", "Decision", "Reason", "Statement", "evaluate", "ALLOW",
           "EXPLICIT_DENY", "IMPLICIT_DENY", "PublicAccess", "ExternalGrant", "EscalationPath", "StatementRef",
           "is_public", "external_access", "grants_full_admin", "full_admin", "privilege_escalation",
           "open_trust"]
