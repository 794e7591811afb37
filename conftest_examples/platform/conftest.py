"""ACME's conftest: ARNs the tests talk about, and a predicate of our own for team checks."""

import pytest


@pytest.fixture(scope="session")
def arn(iam):
    """Build ARNs in the account under test: arn("user/alice"), arn("role/BreakGlass")."""
    return lambda path: f"arn:aws:iam::{iam.account_id}:{path}"


def has_tag(resource, inventory, params, key="owner"):
    """Example predicate: fails resources without a tag (usable from a check file as `predicate: has_tag`)."""
    tags = resource.get("tags") or {}
    return None if key in tags else f"no {key!r} tag"


def pytest_iam_predicates(config):
    return {"has_tag": has_tag}
