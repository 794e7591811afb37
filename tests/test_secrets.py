"""Masking: every shape of AWS credential, and every secret value the run knows, is masked; nothing else is touched."""

from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from pytest_iam.secrets import MASK, redact, remember_secret


@pytest.mark.parametrize("prefix", ["AKIA", "ASIA", "ABIA", "ACCA"])
def test_access_key_ids_are_masked_keeping_their_kind(prefix: str) -> None:
    key = prefix + "QWERTYUIOPASDFGH"
    assert redact(f"Sid {key} in policy") == f"Sid {prefix}{'*' * 16} in policy"


def test_secret_access_keys_are_masked_by_shape_and_by_name() -> None:
    secret = "Qw3rTy7UiOpAsDfGhJkLzXcVbNm1234567890aBc"
    assert secret not in redact(f"found {secret} here")
    assert redact("aws_secret_access_key = abc/def") == "aws_secret_access_key = ***"
    assert redact("SessionToken: FwoGZXIvYXdzE") == "SessionToken: ***"


@pytest.mark.parametrize("text", [
    "3f786850e387550fdab836ed7e6dc881de23001b",  # a lowercase hex digest (sha1)
    "arn:aws:iam::123456789012:role/SomeVeryLongRoleNameThatIsFortyCharsX1",
    "arn:aws:iam::123456789012:policy/AdministratorAccessForTheWholeCompany2",
    "snapshot_sha256 9b74c9897bac770ffc029102a200c5de9b74c9897bac770ffc029102a200c5de",
    "no password policy is set",
])
def test_ordinary_text_is_left_alone(text: str) -> None:
    assert redact(text) == text


def test_values_of_the_credential_environment_are_masked(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-value-from-the-environment")
    assert redact("x token-value-from-the-environment y") == f"x {MASK} y"


def test_a_remembered_secret_is_masked_wherever_it_appears() -> None:
    remember_secret("assumed-role-secret-value-123")
    assert "assumed-role-secret-value-123" not in redact("error: assumed-role-secret-value-123 was refused")


@settings(max_examples=60, deadline=None)
@given(st.text(alphabet="ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789", min_size=16, max_size=16), st.text(max_size=20))
def test_any_access_key_id_is_masked_in_any_text(tail: str, around: str) -> None:
    key = "AKIA" + tail
    text = f"{around} {key} {around}"
    assert key not in redact(text)
