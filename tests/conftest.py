"""Shared fixtures for pytest-iam's own tests.

Most plugin tests run pytest through ``pytester`` exactly as a user would. Collecting the demo account takes a few
seconds, so ``demo_snapshot`` collects it once per test session and saves a snapshot that later runs can use offline.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from pytest_iam import mock
from pytest_iam.accounts import Account, builtin_spec
from pytest_iam.collect import collect_inventory
from pytest_iam.inventory import Inventory, save_snapshot

try:  # the test extra; the main job (`pytest --iam-standard=...` in this folder) loads this file without it
    from hypothesis import settings
except ImportError:
    settings = None

if settings is not None:
    # CI runs the same examples every time (a red build must be reproducible); developers explore new ones.
    settings.register_profile("ci", derandomize=True, print_blob=True)
    if os.environ.get("CI"):
        settings.load_profile("ci")


@pytest.fixture(scope="session")
def demo_inventory() -> Inventory:
    inventory = collect_inventory(Account(builtin_spec("demo")))
    mock.stop_server()
    return inventory


@pytest.fixture(scope="session")
def demo_snapshot(demo_inventory: Inventory, tmp_path_factory: pytest.TempPathFactory) -> Path:
    directory = tmp_path_factory.mktemp("demo-snapshot")
    return save_snapshot(demo_inventory, directory)
