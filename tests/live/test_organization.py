"""``--iam-account=org:NAME`` against an organization of 21 member accounts in a moto server, made with Organizations
``CreateAccount``, reached by ``sts:AssumeRole`` and each seeded differently; one member's role cannot be assumed.

One serial run and two ``--iam-shard`` runs with ``-n 2`` share the module's world (through a proxy that records
every request and refuses the locked member's role): every account gets its own verdicts, SCP verdicts included; the
organization is read once per run; each member is assumed (collected) once; the workers' verdicts equal the serial
run's; the shards cover the organization without overlap and their merged bundle verifies.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import xml.etree.ElementTree as ET
from collections import Counter
from pathlib import Path
from typing import Any, Dict, Iterator, List, Tuple

import pytest
import yaml

from live_support import moto_endpoint  # noqa: F401 (fixture)
from org_world import JUDGED, MEMBER_ROLE, OrgWorld, RoleGate, seed_organization

MEMBERS = 21
ENTRY = "acme"
RUN_TIMEOUT_SECONDS = 240
Cases = Dict[Tuple[str, str], Dict[str, Any]]  # (account, check) -> {"outcome", "props", "message"}
# Records, in each pytest process of a run, the most inventories the run's state held while an item ran.
HELD_CONFTEST = """
import os
from pytest_iam.session import state

class Held:  # a plugin of its own: a conftest's item hooks would apply only to items below its folder
    most = 0

    def pytest_runtest_call(self, item):
        self.most = max(self.most, len(state(item.config).inventories))

    def pytest_sessionfinish(self, session):
        with open(f"held-{os.getpid()}.txt", "w") as handle:
            handle.write(str(self.most))

def pytest_configure(config):
    config.pluginmanager.register(Held(), "held-inventories")
"""


@pytest.fixture(scope="module")
def org(moto_endpoint: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Tuple[OrgWorld, RoleGate, Path]]:
    env = {"AWS_ACCESS_KEY_ID": "testing", "AWS_SECRET_ACCESS_KEY": "testing", "AWS_DEFAULT_REGION": "us-east-1"}
    with pytest.MonkeyPatch.context() as mp:
        for name, value in env.items():
            mp.setenv(name, value)
        mp.delenv("MOTO_ACCOUNT_ID", raising=False)
        world = seed_organization(moto_endpoint, members=MEMBERS)
    locked = world.member_ids[3]
    folder = tmp_path_factory.mktemp("org")
    with RoleGate(moto_endpoint, refuse_accounts={locked}) as gate:
        # two attempts: the emulator answers some services with HTTP 500, which would be retried with backoff
        accounts = {"settings": {"max_attempts": 2},
                    "accounts": {ENTRY: {"endpoint_url": gate.url, "regions": ["us-east-1"],
                                         "organization": {"member_role": MEMBER_ROLE}}}}
        (folder / "iam-accounts.yaml").write_text(yaml.safe_dump(accounts))
        (folder / "conftest.py").write_text(HELD_CONFTEST)
        yield world, gate, folder


def _environment(home: Path) -> Dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "MOTO_")) and k.lower() not in (
        "http_proxy", "https_proxy", "all_proxy")}
    env.update(AWS_ACCESS_KEY_ID="testing", AWS_SECRET_ACCESS_KEY="testing", AWS_DEFAULT_REGION="us-east-1",
               AWS_CONFIG_FILE=str(home / "no-aws-config"), AWS_SHARED_CREDENTIALS_FILE=str(home / "no-aws-creds"),
               NO_PROXY="127.0.0.1,localhost", no_proxy="127.0.0.1,localhost")
    env.pop("PYTEST_ADDOPTS", None)
    env.pop("PYTEST_XDIST_WORKER", None)
    return env


def run(folder: Path, gate: RoleGate, label: str, *extra: str) -> Tuple[subprocess.CompletedProcess, Cases, Counter]:
    """One pytest-iam run over org:acme; its outcomes by (account, check) and the requests it sent by operation."""
    before, assumed_before = len(gate.requests), len(gate.assumed)
    xml = folder / f"{label}.xml"
    args = [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", "--iam-accounts-file=iam-accounts.yaml",
            f"--iam-account=org:{ENTRY}", "--iam-standard=cis-aws-foundations", f"--junitxml={xml}", "--tb=no",
            "-rN", *extra]
    done = subprocess.run(args, cwd=folder, env=_environment(folder), capture_output=True, text=True,
                          timeout=RUN_TIMEOUT_SECONDS)
    assert xml.is_file(), f"no JUnit XML:\n{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    sent = Counter(r.operation for r in gate.requests[before:])
    sent.update({f"assumed:{account}": 1 for account in gate.assumed[assumed_before:]})
    return done, read_cases(xml), sent


def read_cases(xml: Path) -> Cases:
    cases: Cases = {}
    for case in ET.parse(xml).getroot().iter("testcase"):
        props = {p.get("name"): p.get("value") for p in case.iter("property")}
        outcome, message = "passed", ""
        for tag, word in (("failure", "failed"), ("error", "error"), ("skipped", "skipped")):
            element = case.find(tag)
            if element is not None:
                outcome, message = word, element.get("message", "")
        key = (props["account"], props["check"])
        assert key not in cases, f"{key} twice"
        cases[key] = {"outcome": outcome, "props": props, "message": message}
    return cases


def _assumed(sent: Counter) -> Dict[str, int]:
    """How many times each account's role was assumed in a run."""
    return {op.split(":", 1)[1]: n for op, n in sent.items() if op.startswith("assumed:")}


def _member_name(world: OrgWorld, account_id: str) -> str:
    safe = re.sub(r"[^A-Za-z0-9_.-]+", "_", world.names[account_id]).strip("_")
    return f"{ENTRY}/{safe}-{account_id}"


@pytest.fixture(scope="module")
def serial(org: Tuple[OrgWorld, RoleGate, Path]) -> Tuple[subprocess.CompletedProcess, Cases, Counter]:
    world, gate, folder = org
    for old in folder.glob("held-*.txt"):
        old.unlink()
    done, cases, sent = run(folder, gate, "serial", "--iam-max-workers=4")
    (held,) = [int(p.read_text()) for p in folder.glob("held-*.txt")]
    sent["held_inventories"] = held
    return done, cases, sent


def test_every_member_gets_its_own_verdicts(org: Any, serial: Any) -> None:
    world, gate, folder = org
    done, cases, sent = serial
    locked = world.member_ids[3]
    accounts = {account for account, _ in cases}
    assert accounts == {_member_name(world, i) for i in world.names}  # every ACTIVE account, management included
    assert len(world.member_ids) == MEMBERS and MEMBERS >= 20
    for account_id in world.member_ids:
        if account_id == locked:
            continue
        name = _member_name(world, account_id)
        for check in JUDGED:
            case = cases[(name, check)]
            assert case["outcome"] == world.expected[(account_id, check)], (name, check, case["message"])
            assert case["props"]["account_id"] == account_id and case["props"]["account"] == name
    # the SCP verdicts are real on member accounts: some pass, some fail, none is an error
    scp = {cases[(_member_name(world, i), "org-scps-present")]["outcome"] for i in world.member_ids if i != locked}
    assert scp == {"passed", "failed"}
    management = _member_name(world, world.management_id)
    assert cases[(management, "org-scps-present")]["outcome"] == "failed"  # SCPs do not restrict it
    assert "the organization could not be read" not in done.stdout
    # the organization was read once; each reachable member was assumed once, the management account never
    assert sent["ListRoots"] == 1 and sent["DescribeOrganization"] == 1
    assert _assumed(sent) == {i: 1 for i in world.member_ids}
    assert f"collected {MEMBERS + 1}/{MEMBERS + 1} accounts, 1 unavailable" in done.stdout
    # memory stays flat: an account's inventory goes after its last item; at most 2 x 4 wait ahead of the items
    assert 1 <= sent["held_inventories"] <= 2 * 4 + 1 < MEMBERS


def test_a_member_whose_role_cannot_be_assumed_errors_alone(org: Any, serial: Any) -> None:
    world, gate, folder = org
    done, cases, sent = serial
    locked = _member_name(world, world.member_ids[3])
    mine = {check: case for (account, check), case in cases.items() if account == locked}
    assert mine and all(case["outcome"] == "error" for case in mine.values())
    for case in mine.values():
        reason = case["props"]["reason"]
        assert "\n" not in reason
        assert f"cannot assume arn:aws:iam::{world.member_ids[3]}:role/{MEMBER_ROLE}: AccessDenied" in reason
        assert case["props"]["account_id"] == world.member_ids[3]
    others = {case["outcome"] for (account, _), case in cases.items() if account != locked}
    assert {"passed", "failed"} <= others


def test_shards_with_two_workers_cover_the_organization_once_and_merge_into_a_bundle_that_verifies(
        org: Any, serial: Any) -> None:
    world, gate, folder = org
    _, serial_cases, _ = serial
    shards: List[Cases] = []
    assumed: Counter = Counter()
    for k in (1, 2):
        done, cases, sent = run(folder, gate, f"shard-{k}", "-n", "2", f"--iam-shard={k}/2", f"--iam-evidence=shard-{k}")
        assert sent["ListRoots"] == 1  # by the controller; the workers got the organization through workerinput
        assumed.update(_assumed(sent))
        shards.append(cases)
    first, second = ({account for account, _ in s} for s in shards)
    assert first and second and not first & second
    assert first | second == {account for account, _ in serial_cases}
    # each account collected once (its role assumed once), and the workers' verdicts are the serial run's
    assert assumed == Counter({i: 1 for i in world.member_ids})
    both = {k: v["outcome"] for s in shards for k, v in s.items()}
    assert both == {k: v["outcome"] for k, v in serial_cases.items()}
    merged = subprocess.run([sys.executable, "-m", "pytest_iam", "merge", "org-bundle", "shard-1", "shard-2"],
                            cwd=folder, capture_output=True, text=True, timeout=120)
    assert merged.returncode == 0, merged.stderr
    verified = subprocess.run([sys.executable, "-m", "pytest_iam", "verify", "org-bundle"], cwd=folder,
                              capture_output=True, text=True, timeout=120)
    assert verified.returncode == 0, verified.stdout
    manifest = json.loads((folder / "org-bundle" / "manifest.json").read_text())
    assert {c["account"] for c in manifest["controls"]} == first | second
    assert set(manifest["accounts"]) == (first | second) - {_member_name(world, world.member_ids[3])}
    words = {"passed": "pass", "failed": "fail", "error": "error"}
    assert {(c["account"], c["check"]): c["outcome"] for c in manifest["controls"]} == {
        key: words[case["outcome"]] for key, case in serial_cases.items()}
    report = (folder / "org-bundle" / "report.html").read_text()
    assert all(account in report for account in first | second)
    junit = read_cases(folder / "org-bundle" / "junit.xml")
    assert {k: v["outcome"] for k, v in junit.items()} == {k: v["outcome"] for k, v in serial_cases.items()}
