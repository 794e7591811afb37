"""Malformed input to every file a person writes, and to snapshots: each parser answers with its own named error, in
one line naming the file, or accepts the file; never another exception, never a multi-line message."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import yaml
from fuzz_inputs import FUZZ, assert_one_line, hostile_yaml, mutated, nasty, write, yaml_text_of
from hypothesis import given
from hypothesis import strategies as st
from support import REPO

from pytest_iam import files, mock
from pytest_iam.accounts import AccountsError, builtin_spec, load_accounts_file
from pytest_iam.checks import CheckDefinitionError, Library, library_dir, parse_check
from pytest_iam.inventory import Inventory, SnapshotError, from_json, load_snapshot, to_jsonable
from pytest_iam.mock import ScenarioError, load_scenario
from pytest_iam.standards import StandardError, load_standard

EXAMPLES = REPO / "conftest_examples" / "platform"
ACCOUNTS_TEXT = (EXAMPLES / "iam-accounts.yaml").read_text()
STANDARD_TEXT = (EXAMPLES / "iam_baseline.yaml").read_text()
DEMO_TEXT = mock.demo_scenario_path().read_text()
SMALL_SCENARIO = {
    "alias": "acme",
    "root": {"mfa": "virtual", "access_keys": [{"active": False, "age_days": 10}]},
    "password_policy": {"MinimumPasswordLength": 14, "RequireSymbols": True},
    "policies": [{"name": "Read", "path": "/team/", "document": {
        "Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Action": "s3:Get*", "Resource": "*"}]}}],
    "groups": [{"name": "Readers", "attached_policies": ["Read"]}],
    "users": [{"name": "alice", "groups": ["Readers"], "console": {"last_used_days": 3}, "mfa": "hardware"},
              {"template": {"count": 2, "name": "dev-{i:02d}", "access_keys": [{"age_days": 5}]}}],
    "roles": [{"name": "Ops", "trust": {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::123456789012:root"}, "Action": "sts:AssumeRole"}]},
        "boundary": "Read"}],
    "buckets": [{"name": "acme-data", "region": "eu-west-1", "acl": "private",
                 "policy": {"Version": "2012-10-17", "Statement": [
                     {"Effect": "Deny", "Principal": "*", "Action": "s3:*", "Resource": "arn:aws:s3:::acme-data/*"}]}}],
    "organization": {"units": [{"name": "Work"}], "accounts": [{"name": "prod", "email": "p@acme.example", "unit": "Work"}],
                     "scps": [{"name": "Guard", "targets": ["Work"], "document": {"Version": "2012-10-17", "Statement": [
                         {"Effect": "Deny", "Action": "organizations:LeaveOrganization", "Resource": "*"}]}}]},
}
LIBRARY = Library.load([EXAMPLES / "team-checks"])
CHECK_FILES = sorted(library_dir().glob("*.yaml"))
CHECK_DATA = [yaml.safe_load(p.read_text()) for p in CHECK_FILES]


@pytest.fixture(scope="module")
def work(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("fuzz")


def _expect(call, error: type, path: Path) -> object:
    try:
        return call()
    except error as exc:
        assert_one_line(exc, path)
        return None


# --- the shared YAML reader --------------------------------------------------------------------------------------


@FUZZ
@given(text=hostile_yaml(DEMO_TEXT) | yaml_text_of(mutated(SMALL_SCENARIO)))
def test_yaml_reader_returns_plain_data_or_one_line(work: Path, text: str) -> None:
    path = write(work / "any.yaml", text)
    data = _expect(lambda: files.load_yaml(path), files.FileError, path)
    assert files.shape_problem(data) == ""
    json.dumps(data, default=str)  # walkable


def test_yaml_reader_refuses_an_alias_bomb_in_linear_time(work: Path) -> None:
    from fuzz_inputs import alias_bomb

    path = write(work / "bomb.yaml", alias_bomb(levels=30, width=10))  # 10**30 values once expanded
    with pytest.raises(files.FileError, match="once aliases are expanded"):
        files.load_yaml(path)


@pytest.mark.parametrize("text, expected", [
    ("a: 2027-02-30\n", {"a": "2027-02-30"}),
    ("a: 2027-01-31\n", {"a": __import__("datetime").date(2027, 1, 31)}),
    ("b: &x [1]\nc: *x\n", {"b": [1], "c": [1]}),
])
def test_yaml_reader_keeps_what_it_can(work: Path, text: str, expected: object) -> None:
    assert files.load_yaml(write(work / "ok.yaml", text)) == expected


# --- accounts files ------------------------------------------------------------------------------------------------


@FUZZ
@given(text=hostile_yaml(ACCOUNTS_TEXT) | yaml_text_of(mutated(yaml.safe_load(ACCOUNTS_TEXT))))
def test_accounts_file(work: Path, text: str) -> None:
    path = write(work / "iam-accounts.yaml", text)
    specs = _expect(lambda: load_accounts_file(path), AccountsError, path)
    if specs is not None:
        assert all(isinstance(name, str) for name in specs)


def test_accounts_file_with_a_loop_of_roles(work: Path) -> None:
    path = write(work / "loop.yaml", "accounts:\n  a: {role_arn: 'arn:aws:iam::111122223333:role/A', source_account: b}\n"
                                     "  b: {role_arn: 'arn:aws:iam::111122223333:role/B', source_account: a}\n")
    with pytest.raises(AccountsError, match=r"accounts\.b\.source_account: the chain of roles loops \(a -> b -> a\)"):
        load_accounts_file(path)


def test_accounts_file_naming_a_bad_scenario(work: Path) -> None:
    write(work / "bad-scenario.yaml", "users: [{name: a, groups: [Nope]}]\n")
    path = write(work / "refs.yaml", f"accounts:\n  a: {{role_arn: 'arn:aws:iam::111122223333:role/A', "
                                     f"source_account: 'mock:{work / 'bad-scenario.yaml'}'}}\n")
    with pytest.raises(AccountsError, match=r"accounts\.a\.source_account: .*bad-scenario.yaml: users\[0\]\.groups\[0\]"):
        load_accounts_file(path)


# --- standards and waivers -----------------------------------------------------------------------------------------


@FUZZ
@given(text=hostile_yaml(STANDARD_TEXT) | yaml_text_of(mutated(yaml.safe_load(STANDARD_TEXT))))
def test_standard_file(work: Path, text: str) -> None:
    path = write(work / "iam_team.yaml", text)
    standard = _expect(lambda: load_standard(path, LIBRARY), StandardError, path)
    if standard is not None:
        for waiver in standard.waivers:
            assert waiver.resources and all(isinstance(a, str) and a for a in waiver.accounts)


# --- check files ----------------------------------------------------------------------------------------------------


@FUZZ
@given(data=st.sampled_from(CHECK_DATA).flatmap(mutated))
def test_check_definition(work: Path, data: object) -> None:
    source = str(work / "team-check.yaml")
    _expect(lambda: parse_check(data, source), CheckDefinitionError, Path(source))


@FUZZ
@given(text=hostile_yaml((library_dir() / "iam-access-key-rotation.yaml").read_text()))
def test_check_file_in_a_library_folder(work: Path, text: str) -> None:
    folder = work / "team-checks"
    path = write(folder / "team-check.yaml", text)
    _expect(lambda: Library.load([folder]), CheckDefinitionError, path)


# --- scenarios ------------------------------------------------------------------------------------------------------


@FUZZ
@given(text=hostile_yaml(DEMO_TEXT) | yaml_text_of(mutated(SMALL_SCENARIO, steps=4)))
def test_scenario_file(work: Path, text: str) -> None:
    path = write(work / "scenario.yaml", text)
    scenario = _expect(lambda: load_scenario(path), ScenarioError, path)
    spec = _expect(lambda: builtin_spec(f"mock:{path}"), AccountsError, path)
    assert (scenario is None) == (spec is None)  # resolving the name refuses exactly what loading refuses
    if scenario is not None:
        json.dumps(scenario)  # what the seeder serialises


def test_the_small_scenario_is_valid(work: Path) -> None:
    scenario = load_scenario(write(work / "small.yaml", yaml.safe_dump(SMALL_SCENARIO)))
    assert [u["name"] for u in scenario["users"]] == ["alice", "dev-01", "dev-02"]


# --- snapshots ------------------------------------------------------------------------------------------------------


SNAPSHOT = to_jsonable(Inventory(account_name="fuzz", account_id="123456789012"))


@FUZZ
@given(data=mutated(SNAPSHOT) | nasty)
def test_snapshot_data(work: Path, data: object) -> None:
    source = work / "snapshot.json"
    _expect(lambda: from_json(data, str(source)), SnapshotError, source)


@FUZZ
@given(text=st.one_of(
    st.text(max_size=200),
    st.sampled_from(["", "[" * 5000 + "]" * 5000, '{"schema_version": NaN}', "\ufeff{}", '{"a": 1e999}']),
    mutated(SNAPSHOT).map(lambda d: json.dumps(d, default=str)),
))
def test_snapshot_file(work: Path, text: str) -> None:
    path = write(work / "snapshot.json", text)
    _expect(lambda: load_snapshot(path), SnapshotError, path)


@pytest.mark.parametrize("content", [b"\xff\xfe{}", b'{"schema_version": 1'])
def test_snapshot_file_bytes(work: Path, content: bytes) -> None:
    path = work / "bytes.json"
    path.write_bytes(content)
    _expect(lambda: load_snapshot(path), SnapshotError, path)


def test_snapshot_path_is_a_folder(work: Path) -> None:
    _expect(lambda: load_snapshot(work), SnapshotError, work)
