"""Under pytest-xdist, every item of one account runs on the same worker, so each account is collected once a run.

Usage: ``plugin.py`` answers xdist's ``pytest_xdist_make_scheduler`` with ``AccountScheduling`` for the load-balancing
modes. Items are grouped by the account in their node id (``iam_x.yaml::iam-root-mfa[prod]``,
``test_x.py::test_keys[prod]``, ``test_x.py::test_keys[prod-60]``); an item without an account is a group of its own.
Groups, not items, are what xdist hands out, so the testcases of an account all carry the same ``snapshot_sha256`` and
the API-call count in the summary is the number of requests really sent.
"""

from __future__ import annotations

import re
from typing import Any, Iterable, Optional, Sequence

from xdist.scheduler import LoadScopeScheduling

_PARAMS = re.compile(r"\[(.*)\]$")


def account_of(nodeid: str, accounts: Sequence[str]) -> Optional[str]:
    """The account named in the node id's parameter part, or None.

    pytest joins parameter ids with ``-``; an account name may itself hold ``-``, so the longest name that stands
    as whole ``-``-separated parts of the id wins.
    """
    match = _PARAMS.search(nodeid)
    if not match:
        return None
    ident = match.group(1)
    for name in sorted(accounts, key=len, reverse=True):
        if ident == name or ident.startswith(name + "-") or ident.endswith("-" + name) or f"-{name}-" in ident:
            return name
    return None


class AccountScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with one scope per account (and one per item that has no account)."""

    def __init__(self, config: Any, log: Any = None, accounts: Iterable[str] = ()) -> None:
        super().__init__(config, log)
        self.accounts = tuple(accounts)

    def _split_scope(self, nodeid: str) -> str:
        account = account_of(nodeid, self.accounts)
        return f"account:{account}" if account is not None else nodeid
