"""The check reference, generated from the library: every check with its parameters, the fields it reads, its
frameworks, rationale and remediation, and the shipped standards that run it.

Usage::

    python -m pytest_iam.reference > docs/checks-reference.md     # the project's test fails when the file is stale
    python -m pytest_iam.reference --check docs/checks-reference.md
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Dict, List, Optional, Sequence

from .checks import SEVERITIES, Check, Library, check_reads
from .fields import resource_type
from .standards import library_standard, load_standard, shipped_standards

HEADER = """\
# Check reference

Generated from the check library by `python -m pytest_iam.reference > docs/checks-reference.md`; do not edit by hand
(the project's tests fail when this file and the library disagree). How checks are written: [checks.md](checks.md);
how standards pick them: [standards.md](standards.md).
"""


def _one_line(text: str) -> str:
    return " ".join(str(text).split())


def _cell(text: str) -> str:
    return _one_line(text).replace("|", "\\|")


def _value(value: object) -> str:
    if value is None:
        return "not set"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_value(v) for v in value) + "]"
    return str(value)


def fields_read(check: Check) -> Optional[List[str]]:
    """The top-level fields a check's ``select`` and ``require`` read, sorted; None when it reads every field."""
    select, require = check_reads(check)
    out: set = set()
    for reads in (*select, *require):
        if reads is None:
            return None
        out |= set(reads)
    return sorted(out)


def standards_using(library: Library) -> Dict[str, List[str]]:
    """check id -> ``["cis-aws-foundations (cis-1.13)", ...]`` for the shipped standards."""
    out: Dict[str, List[str]] = {}
    for name in shipped_standards():
        path = library_standard(name)
        assert path is not None
        standard = load_standard(path, library)
        for control in standard.controls:
            out.setdefault(control.check.id, []).append(f"{standard.name} ({control.id})")
    return out


def render(library: Library) -> str:
    checks = sorted(library.checks.values(), key=lambda c: (c.id,))
    used = standards_using(library)
    lines = [HEADER, "| id | severity | resource | title | frameworks |", "|---|---|---|---|---|"]
    for check in checks:
        lines.append(f"| [`{check.id}`](#{check.id}) | {check.severity} | `{check.resource}` | {_cell(check.title)} | "
                     f"{_cell(check.frameworks_text()) or 'none'} |")
    counts = {sev: sum(1 for c in checks if c.severity == sev) for sev in SEVERITIES}
    lines += ["", f"{len(checks)} checks: " + ", ".join(f"{counts[s]} {s}" for s in SEVERITIES if counts[s]) + ".", ""]
    for check in checks:
        lines += _section(check, used.get(check.id, []))
    return "\n".join(lines).rstrip() + "\n"


def _section(check: Check, standards: Sequence[str]) -> List[str]:
    reads = fields_read(check)
    out = [
        f"## {check.id}",
        "",
        f"**{_one_line(check.title)}**",
        "",
        f"- severity: {check.severity}",
        f"- resource: `{check.resource}` (one finding per {resource_type(check.resource).singular})",
        "- reads: " + ("every field of the resource" if reads is None else
                       (", ".join(f"`{f}`" for f in reads) if reads else "no field (the scope alone)")),
        "- frameworks: " + (_one_line(check.frameworks_text()) or "none"),
        "- in shipped standards: " + (", ".join(standards) or "none"),
    ]
    if check.empty_scope_fails:
        out.append(f"- an empty scope fails: {_one_line(check.empty_scope_fails)}")
    out.append("")
    if check.parameters:
        out += ["| parameter | type | default | meaning |", "|---|---|---|---|"]
        for param in check.parameters:
            kind = f"{param.type} of {param.items}" if param.items else param.type
            if param.minimum is not None:
                kind += f", at least {param.minimum:g}"
            out.append(f"| `{param.name}` | {kind} | `{_cell(_value(param.default))}` | {_cell(param.description)} |")
        out.append("")
    else:
        out += ["No parameters.", ""]
    out += [f"*Rationale.* {_one_line(check.rationale) or 'none given'}", "",
            f"*Remediation.* {_one_line(check.remediation) or 'none given'}", ""]
    return out


def main(argv: Optional[Sequence[str]] = None) -> int:
    args = list(sys.argv[1:] if argv is None else argv)
    text = render(Library.load())
    if args[:1] == ["--check"] and len(args) == 2:
        current = Path(args[1]).read_text(encoding="utf-8") if Path(args[1]).is_file() else ""
        if current != text:
            print(f"{args[1]} is stale: run python -m pytest_iam.reference > {args[1]}")
            return 1
        return 0
    if args:
        print("usage: python -m pytest_iam.reference [--check FILE]", file=sys.stderr)
        return 2
    sys.stdout.write(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
