"""Which account an item's node id names, for xdist's one-scope-per-account scheduling."""

from __future__ import annotations

from typing import Optional, Sequence

from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_iam.distribution import AccountNames

ACCOUNTS = ("audit", "eu", "prod", "prod-eu")


def test_the_longest_name_standing_as_whole_parameter_parts_wins() -> None:
    names = AccountNames(ACCOUNTS)
    assert names.find("iam_x.yaml::iam-root-mfa[prod]") == "prod"
    assert names.find("test_x.py::test_keys[prod-60]") == "prod"
    assert names.find("test_x.py::test_keys[60-prod]") == "prod"
    assert names.find("test_x.py::test_keys[prod-eu]") == "prod-eu"
    assert names.find("test_x.py::test_keys[x-prod-eu-7]") == "prod-eu"
    assert names.find("test_x.py::test_keys[production]") is None  # not a whole part
    assert names.find("test_x.py::test_keys") is None
    assert AccountNames(("a-b", "b-c")).find("t.py::t[a-b-c]") == "a-b"  # same length: the first name given


def _reference(nodeid: str, accounts: Sequence[str]) -> Optional[str]:
    """The rule as first written: names longest first, each tested against the whole id, its ends and its middle."""
    if not nodeid.endswith("]") or "[" not in nodeid:
        return None
    ident = nodeid[nodeid.index("[") + 1:-1]
    for name in sorted(accounts, key=len, reverse=True):
        if ident == name or ident.startswith(name + "-") or ident.endswith("-" + name) or f"-{name}-" in ident:
            return name
    return None


_PART = st.sampled_from(["a", "b", "ab", "prod", "eu", "1"])
_NAME = st.lists(_PART, min_size=1, max_size=3).map("-".join)


@settings(max_examples=150, deadline=None)
@given(accounts=st.lists(_NAME, min_size=1, max_size=6, unique=True), ident=st.lists(_PART, min_size=1, max_size=5))
def test_the_set_lookup_agrees_with_the_rule_as_first_written(accounts, ident) -> None:
    nodeid = f"t.py::t[{'-'.join(ident)}]"
    assert AccountNames(sorted(accounts)).find(nodeid) == _reference(nodeid, sorted(accounts))
