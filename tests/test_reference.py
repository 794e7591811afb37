"""docs/checks-reference.md is generated from the check library, and every check says why, how to fix, and where
it comes from."""

from __future__ import annotations

from pytest_iam.checks import Library
from pytest_iam.reference import fields_read, main, render
from support import REPO

REFERENCE = REPO / "docs" / "checks-reference.md"


def test_the_reference_matches_the_library() -> None:
    assert REFERENCE.read_text(encoding="utf-8") == render(Library.load()), (
        "docs/checks-reference.md is stale: run python -m pytest_iam.reference > docs/checks-reference.md")


def test_every_check_has_rationale_remediation_and_a_framework() -> None:
    lacking = {check.id: [what for what, ok in (("rationale", check.rationale), ("remediation", check.remediation),
                                                ("frameworks", any(check.frameworks.values()))) if not ok]
               for check in Library.load()}
    assert not {k: v for k, v in lacking.items() if v}


def test_the_reference_lists_parameters_and_fields(capsys) -> None:
    library = Library.load()
    text = render(library)
    for check in library:
        assert f"## {check.id}\n" in text
        for param in check.parameters:
            assert f"| `{param.name}` |" in text
    assert fields_read(library.checks["iam-access-key-rotation"]) == ["active", "last_rotated"]
    assert "- in shipped standards: cis-aws-foundations (cis-1.13)" in text


def test_the_check_mode_names_a_stale_file(tmp_path) -> None:
    stale = tmp_path / "ref.md"
    stale.write_text("old\n")
    assert main(["--check", str(stale)]) == 1
    stale.write_text(render(Library.load()))
    assert main(["--check", str(stale)]) == 0
