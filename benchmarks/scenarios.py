"""How long the iam_scenario fixture takes: one scenario of 20 users, and 20 scenario tests of 20 users each.

Usage::

    python benchmarks/scenarios.py

The first figure is a single scenario built, seeded and collected in the embedded emulator (after one warm-up that
starts the emulator); the second runs 20 generated pytest tests, each building its own 20-user scenario, in a
subprocess: from the interpreter's start to its exit, and pytest's own figure (the emulator's start included).
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

# run as a script, this folder is first on the path, and its org.py would shadow the standard library's optional
# "org" package that copy.py tries: only the project's own modules are wanted from here on
sys.path[:] = [p for p in sys.path if Path(p or ".").resolve() != Path(__file__).resolve().parent]


def scenario(seed: int, users: int = 20) -> dict:
    return {"users": [{"name": f"user-{seed}-{i:02d}", "console": {"last_used_days": i}, "mfa": "virtual" if i % 2 else "none",
                       "access_keys": [{"age_days": 5 * i + seed, "last_used_days": 1}]} for i in range(users)],
            "buckets": [{"name": f"bench-data-{seed}"}]}


def one_scenario(repeats: int = 5) -> list:
    from pytest_iam import mock
    from pytest_iam.checks import Library
    from pytest_iam.scenario_fixture import ScenarioAccounts

    accounts = ScenarioAccounts(Library.load())
    accounts(scenario(0, 1))  # warm-up: the emulator starts, service models are read
    times = []
    for n in range(repeats):
        started = time.perf_counter()
        view = accounts(scenario(n + 1))
        times.append(time.perf_counter() - started)
        assert len(view.users) == 20 and not view.check("iam-access-key-rotation", max_age_days=30)
    accounts.close()
    mock.stop_server()
    return times


TEST_FILE = '''
import pytest

@pytest.mark.parametrize("n", range(20))
def test_scenario(iam_scenario, n):
    users = [{"name": f"user-{i:02d}", "console": {"last_used_days": i}, "mfa": "virtual" if i % 2 else "none",
              "access_keys": [{"age_days": 5 * i + n, "last_used_days": 1}]} for i in range(20)]
    iam = iam_scenario({"users": users, "buckets": [{"name": "bench-data"}]})
    assert not iam.check("iam-access-key-rotation", max_age_days=30)
'''


def twenty_tests() -> tuple:
    """(wall time of the whole pytest process, pytest's own "20 passed in N s" line)."""
    with tempfile.TemporaryDirectory() as folder:
        Path(folder, "test_bench.py").write_text(TEST_FILE)
        started = time.perf_counter()
        done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "test_bench.py"],
                              cwd=folder, check=True, timeout=300, capture_output=True, text=True)
        return time.perf_counter() - started, done.stdout.strip().splitlines()[-1]


def main() -> None:
    times = one_scenario()
    print(f"one scenario of 20 users (seed + collect): median {statistics.median(times):.2f} s, "
          f"min {min(times):.2f} s, max {max(times):.2f} s over {len(times)}")
    wall, summary = twenty_tests()
    print(f"20 scenario tests of 20 users each, one pytest run: {wall:.1f} s from start to exit ({summary})")


if __name__ == "__main__":
    main()
