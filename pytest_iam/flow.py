"""How accounts flow through a run: grouped items, a bounded collection pool ahead of them, release after the last
item, a progress line, and the organizations handed to xdist workers.

Usage: ``session.py`` registers one ``AccountFlow`` per run. Nothing to call.

- **Order.** With two or more accounts, items are grouped by account (stably: an account's items keep their order,
  and the groups follow each account's first item), so an account's last item comes early and its inventory can go.
- **Pool.** Without xdist, accounts are collected by up to ``--iam-max-workers`` threads (default 8) in the order
  their items will need them, from the end of the first item on (the main thread collects the first account). At most ``2 x workers`` collected inventories are held ahead of the items; a thread
  waits for a slot rather than collect further ahead. An item whose account is not collected yet collects it itself
  (or waits for the thread already collecting it): the pool never decides an outcome, it only saves time.
- **Release.** After an account's last item (its snapshot and evidence records are written at its first item's
  setup), the session forgets the inventory.
- **Progress.** ``collected 37/200 accounts, 2 unavailable`` at most every two seconds while accounts are being
  collected, and once when the last one is; not under ``-q``, not in xdist workers, not for a single account.
- **xdist.** The controller hands each worker the organizations it read (``workerinput``), so workers expand
  ``org:NAME`` to the same sorted ids without reading the organization again. Workers collect their accounts one at
  a time as their items come; use ``-n`` for parallelism there.
"""

from __future__ import annotations

import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, Dict, List, Optional

import pytest

DEFAULT_MAX_WORKERS = 8
PROGRESS_EVERY_SECONDS = 2.0


def item_account(item: pytest.Item) -> Optional[str]:
    """The account an item judges: a control's account, or the ``iam_account`` parameter of a Python test."""
    account = getattr(item, "account", None)
    if isinstance(account, str):
        return account
    callspec = getattr(item, "callspec", None)
    return callspec.params.get("iam_account") if callspec is not None else None


def group_by_account(items: List[pytest.Item]) -> List[pytest.Item]:
    """``items`` with each account's items together, in the order of each account's first item; items without an
    account keep their place relative to the groups."""
    first: Dict[Any, int] = {}
    keys = []
    for index, item in enumerate(items):
        account = item_account(item)
        key = ("account", account) if account is not None else ("item", index)
        first.setdefault(key, index)
        keys.append(key)
    order = sorted(range(len(items)), key=lambda i: (first[keys[i]], i))
    return [items[i] for i in order]


def _import_collectors() -> None:
    import importlib
    import pkgutil

    from . import collect

    for module in pkgutil.iter_modules(collect.__path__):
        importlib.import_module(f"{collect.__name__}.{module.name}")


class CollectionPool:
    """Collects accounts ahead of their items: ``workers`` threads, at most ``window`` inventories held ahead."""

    def __init__(self, iam_state: Any, names: List[str], workers: int, window: int) -> None:
        self.state = iam_state
        self.names = names
        self.slots = threading.BoundedSemaphore(window)
        self.pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="pytest-iam-collect")
        self.lock = threading.Lock()
        self.slotted: set = set()
        self.stopped = threading.Event()
        self.started = False
        self.feeder = threading.Thread(target=self._feed, name="pytest-iam-feeder", daemon=True)

    def start(self) -> None:
        self.started = True
        self.feeder.start()

    def _feed(self) -> None:
        for name in self.names:
            while not self.slots.acquire(timeout=0.2):
                if self.stopped.is_set():
                    return
            if self.stopped.is_set():
                self.slots.release()
                return
            with self.lock:
                if name in self.state.released:  # its items ran before the pool came to it
                    self.slots.release()
                    continue
                self.slotted.add(name)
            self.pool.submit(self._collect, name)

    def _collect(self, name: str) -> None:
        if self.stopped.is_set():
            return
        try:
            self.state.prefetch(name)
        except Exception:  # noqa: BLE001 - an unreachable account is recorded by the session and its items report
            pass  # it; after any other error, the item that needs the account collects it again and reports that

    def released(self, name: str) -> None:
        with self.lock:
            if name in self.slotted:
                self.slotted.discard(name)
                self.slots.release()

    def stop(self) -> None:
        self.stopped.set()
        self.pool.shutdown(wait=False, cancel_futures=True)


class AccountFlow:
    """The pytest hooks of the account flow; see the module's docstring."""

    def __init__(self, iam_state: Any) -> None:
        self.state = iam_state
        self.config = iam_state.config
        self.is_worker = hasattr(self.config, "workerinput")
        self.last_item: Dict[str, str] = {}
        self.pool: Optional[CollectionPool] = None
        self.total = 0
        self.to_collect: set = set()
        self.done = 0
        self.unavailable = 0
        self.counts_lock = threading.Lock()
        self.last_print = 0.0
        self.printed_final = False
        iam_state.on_collected.append(self._collected)

    # xdist ------------------------------------------------------------------------------------------------------------
    @pytest.hookimpl(optionalhook=True)
    def pytest_configure_node(self, node: Any) -> None:
        """xdist controller: each worker gets the organizations read here, and expands them without a call."""
        if self.state.organizations:
            node.workerinput["pytest_iam_organizations"] = self.state.handover()

    # order and the pool -----------------------------------------------------------------------------------------------
    @pytest.hookimpl(trylast=True)
    def pytest_collection_modifyitems(self, session: pytest.Session, config: pytest.Config,
                                      items: List[pytest.Item]) -> None:
        if len({item_account(i) for i in items} - {None}) > 1:
            items[:] = group_by_account(items)

    def pytest_collection_finish(self, session: pytest.Session) -> None:
        order: List[str] = []
        for item in session.items:
            account = item_account(item)
            if account is None:
                continue
            if account not in self.last_item:
                order.append(account)
            self.last_item[account] = item.nodeid
        self.last_item = {nodeid: account for account, nodeid in self.last_item.items()}
        self.to_collect = {a for a in order if a not in self.state.snapshots}
        self.total = len(self.to_collect)
        if self.is_worker or self.config.option.collectonly or self.total < 2:
            return
        workers = self.config.getoption("iam_max_workers", None) or DEFAULT_MAX_WORKERS
        self.pool = CollectionPool(self.state, [a for a in order if a in self.to_collect], workers, 2 * workers)

    def pytest_runtest_logfinish(self, nodeid: str, location: Any) -> None:
        if self.pool is not None and not self.pool.started and not self.pool.stopped.is_set():
            # Started after the first item, whose account the main thread collected: every module the collection
            # needs is imported by then. Imports (and so compiling) in threads while the main thread parses source
            # for a traceback can fail on CPython 3.11 ("AST constructor recursion depth mismatch").
            _import_collectors()
            self.pool.start()
        account = self.last_item.get(nodeid)
        if account is not None:
            self.state.release(account)
            if self.pool is not None:
                self.pool.released(account)
        self._progress()

    def pytest_sessionfinish(self, session: pytest.Session) -> None:
        if self.pool is not None:
            self.pool.stop()

    # progress ---------------------------------------------------------------------------------------------------------
    def _collected(self, name: str, ok: bool) -> None:
        with self.counts_lock:
            if name in self.to_collect:
                self.done += 1
                self.unavailable += 0 if ok else 1

    def progress_text(self) -> str:
        with self.counts_lock:
            done, unavailable = self.done, self.unavailable
        return f"collected {done}/{self.total} accounts, {unavailable} unavailable"

    def _progress(self) -> None:
        if self.is_worker or self.total < 2 or self.printed_final or self.config.option.verbose < 0:
            return
        now = time.monotonic()
        final = self.done >= self.total
        if not final and now - self.last_print < PROGRESS_EVERY_SECONDS:
            return
        terminal = self.config.pluginmanager.get_plugin("terminalreporter")
        if terminal is None:
            return
        self.last_print = now
        self.printed_final = final
        terminal.write_line(f"pytest-iam: {self.progress_text()}")
