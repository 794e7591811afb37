"""The plugin's own hooks, for check packs, predicates and account sources.

Implement them in a conftest.py or a plugin::

    def pytest_iam_check_paths(config):
        return [Path(__file__).parent / "our-checks"]     # folders of check YAML files

    def pytest_iam_predicates(config):
        return {"has_owner_tag": has_owner_tag}           # named predicates for check files

    def pytest_iam_account_specs(config):
        return {"sandbox": {"profile": "sandbox-audit"}}  # accounts from somewhere other than the accounts file
"""

from __future__ import annotations


def pytest_iam_check_paths(config):  # type: ignore[no-untyped-def]
    """Return folders whose ``*.yaml`` files are added to the check library (check ids must be unique)."""


def pytest_iam_predicates(config):  # type: ignore[no-untyped-def]
    """Return ``{name: callable}``: predicates check files can name with ``predicate: name``."""


def pytest_iam_account_specs(config):  # type: ignore[no-untyped-def]
    """Return ``{name: {field: value}}`` account entries (same fields as the accounts file) to add to the known accounts."""
