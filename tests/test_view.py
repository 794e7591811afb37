"""The ``iam`` fixture object says what it holds, also when facts could not be read."""

from __future__ import annotations

from pytest_iam.checks import Library
from pytest_iam.inventory import Inventory
from pytest_iam.view import IamView


def test_repr_counts_what_was_read_and_says_what_was_not() -> None:
    view = IamView(Inventory(account_name="prod", account_id="111122223333", users=None, roles=()), Library({}))
    assert repr(view) == "<iam prod (111122223333): users not read, 0 roles>"
