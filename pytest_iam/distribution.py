"""Under pytest-xdist, every item of one account runs on the same worker, so each account is collected once a run.

Usage: ``plugin.py`` answers xdist's ``pytest_xdist_make_scheduler`` with ``AccountScheduling`` for the load-balancing
modes. Items are grouped by the account in their node id (``iam_x.yaml::iam-root-mfa[prod]``,
``test_x.py::test_keys[prod]``, ``test_x.py::test_keys[prod-60]``); an item without an account is a group of its own.
Groups, not items, are what xdist hands out, so the testcases of an account all carry the same ``snapshot_sha256`` and
the API-call count in the summary is the number of requests really sent.
"""

from __future__ import annotations

import re
from typing import Any, Dict, Iterable, Optional, Sequence

from xdist.scheduler import LoadScopeScheduling

_PARAMS = re.compile(r"\[(.*)\]$")


class AccountNames:
    """The run's account names, looked up in node ids (``AccountNames(names).find(nodeid)``).

    pytest joins parameter ids with ``-``; an account name may itself hold ``-``, so the longest name that stands as
    whole ``-``-separated parts of the id wins (the first of the names given, among names of that length). Each
    contiguous run of the id's parts is one set lookup: the cost follows the id's length, not the number of accounts
    (an organization's hundreds)."""

    def __init__(self, accounts: Sequence[str]) -> None:
        self.order = {name: index for index, name in reversed(list(enumerate(accounts)))}

    def find(self, nodeid: str) -> Optional[str]:
        match = _PARAMS.search(nodeid)
        if not match:
            return None
        parts = match.group(1).split("-")
        found = {"-".join(parts[i:j]) for i in range(len(parts)) for j in range(i + 1, len(parts) + 1)} & self.order.keys()
        return min(found, key=lambda name: (-len(name), self.order[name])) if found else None


class AccountScheduling(LoadScopeScheduling):
    """xdist's scope scheduling with one scope per account (and one per item that has no account)."""

    def __init__(self, config: Any, log: Any = None, accounts: Iterable[str] = ()) -> None:
        super().__init__(config, log)
        self.accounts = AccountNames(tuple(accounts))
        self._scopes: Dict[str, str] = {}  # xdist asks again for every test report

    def _split_scope(self, nodeid: str) -> str:
        scope = self._scopes.get(nodeid)
        if scope is None:
            account = self.accounts.find(nodeid)
            scope = self._scopes[nodeid] = f"account:{account}" if account is not None else nodeid
        return scope
