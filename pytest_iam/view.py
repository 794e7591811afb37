"""The ``iam`` fixture: one account's Inventory with the helpers tests use.

Usage (in a test)::

    def test_key_rotation(iam):
        assert iam.check("iam-access-key-rotation", max_age_days=60)     # failure message: a table of resources
        assert not iam.can("arn:aws:iam::123456789012:user/bob", "s3:DeleteBucket", "arn:aws:s3:::prod")
        assert {p.arn for p in iam.admins()} <= {"arn:aws:iam::123456789012:role/BreakGlass"}
        assert len(iam.users) > 0                                         # every Inventory field is here too
"""

from __future__ import annotations

from typing import Any, List

from .checks import CheckResult, Library, run_check
from .inventory import Inventory


class IamView:
    def __init__(self, inventory: Inventory, library: Library, account: Any = None) -> None:
        self.inventory = inventory
        self.library = library
        self.account = account
        self.results: List[CheckResult] = []  # this test's failing iam.check results, shown when an assert fails

    def __getattr__(self, name: str) -> Any:
        return getattr(self.inventory, name)

    def __repr__(self) -> str:
        inv = self.inventory
        def count(items: Any, noun: str) -> str:
            return f"{noun} not read" if items is None else f"{len(items)} {noun}"

        return f"<iam {inv.account_name} ({inv.account_id}): {count(inv.users, 'users')}, {count(inv.roles, 'roles')}>"

    def check(self, check_id: str, **params: Any) -> CheckResult:
        """Run a library check against this account; the result is falsy when anything fails or cannot be judged."""
        result = run_check(self.library.get(check_id), self.inventory, params)
        if not result:
            self.results.append(result)
        return result

    def can(self, principal: str, action: str, resource: str = "*", context: Any = None) -> Any:
        """Would AWS allow ``principal`` to do ``action`` on ``resource``? (a Decision; truthy when allowed)."""
        from .access import can

        return can(self.inventory, principal, action, resource, context)

    def admins(self) -> Any:
        """Principals that can do everything, or can grant themselves that (each with the reason)."""
        from .access import admins

        return admins(self.inventory)
