"""Text tables for the terminal: the check library.

Usage::

    print(checks_table(Library.load()))
"""

from __future__ import annotations

from .checks import Library


def checks_table(library: Library) -> str:
    rows = [("ID", "SEVERITY", "RESOURCE", "FRAMEWORKS", "TITLE", "")]
    for check in library:
        params = ", ".join(f"{p.name}={p.default!r}" for p in check.parameters)
        frameworks = "; ".join(f"{k} {','.join(v)}" for k, v in sorted(check.frameworks.items()))
        rows.append((check.id, check.severity, check.resource, frameworks, check.title, params))
    widths = [max(len(r[i]) for r in rows) for i in range(4)]
    lines = []
    for row in rows:
        lines.append("  ".join(cell.ljust(widths[i]) for i, cell in enumerate(row[:4])) + "  " + row[4])
        if row[5]:
            lines.append(" " * (sum(widths) + 8) + "parameters: " + row[5])
    lines.append(f"{len(rows) - 1} checks")
    return "\n".join(lines)
